"""Rewrite a zip package, copying unchanged entries' compressed bytes as they are.

A refresh changes a handful of parts; the rest (a 20 MB usage sheet, the VBA project,
pictures) is copied byte for byte without inflating or deflating it. That keeps every
part we do not own exactly as it was, and it is fast.
"""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from ..problems import WorkbookError

_EOCD = b"PK\x05\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_DESCRIPTOR = b"PK\x07\x08"
_CENTRAL_FMT = struct.Struct("<4s6H3L5H2L")  # 46 bytes
_LOCAL_FMT = struct.Struct("<4s5H3L2H")  # 30 bytes
_EOCD_FMT = struct.Struct("<4s4H2LH")  # 22 bytes


@dataclass
class Entry:
    name: str
    central: bytes  # the central directory record, name, extra and comment included
    local_offset: int
    span: int  # local header + data + data descriptor


def read_entries(data: memoryview) -> list[Entry]:
    end = bytes(data[-65557:]).rfind(_EOCD)
    if end < 0:
        raise WorkbookError("not a zip package (no end of central directory)")
    eocd = _EOCD_FMT.unpack_from(data, len(data) - min(len(data), 65557) + end)
    count, offset = eocd[4], eocd[6]
    if count == 0xFFFF or offset == 0xFFFFFFFF:
        raise WorkbookError("zip64 packages (over 4 GB) are not supported")
    entries, pos = [], offset
    for _ in range(count):
        rec = _CENTRAL_FMT.unpack_from(data, pos)
        if rec[0] != _CENTRAL:
            raise WorkbookError("damaged zip central directory")
        flags, comp_size = rec[3], rec[8]
        name_len, extra_len, comment_len, local = rec[10], rec[11], rec[12], rec[16]
        record_len = 46 + name_len + extra_len + comment_len
        name = bytes(data[pos + 46:pos + 46 + name_len]).decode("utf-8" if flags & 0x800 else "cp437")
        lrec = _LOCAL_FMT.unpack_from(data, local)
        data_end = local + 30 + lrec[9] + lrec[10] + comp_size
        if flags & 0x8:
            data_end += 16 if bytes(data[data_end:data_end + 4]) == _DESCRIPTOR else 12
        entries.append(Entry(name, bytes(data[pos:pos + record_len]), local, data_end - local))
        pos += record_len
    return entries


def _dos_time(now: float) -> tuple[int, int]:
    t = time.localtime(now)
    return (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2), \
        ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday


def _new_entry(name: str, content: bytes, offset: int, when: tuple[int, int]) -> tuple[bytes, bytes]:
    level = 1 if len(content) > 8_000_000 else 6
    packer = zlib.compressobj(level, zlib.DEFLATED, -15)
    packed = packer.compress(content) + packer.flush()
    crc = zlib.crc32(content)
    raw_name = name.encode("utf-8")
    flags = 0x800 if not name.isascii() else 0
    local = _LOCAL_FMT.pack(_LOCAL, 20, flags, 8, when[0], when[1], crc, len(packed),
                            len(content), len(raw_name), 0) + raw_name
    central = _CENTRAL_FMT.pack(_CENTRAL, 20, 20, flags, 8, when[0], when[1], crc, len(packed),
                                len(content), len(raw_name), 0, 0, 0, 0, 0, offset) + raw_name
    return local + packed, central


def rewrite(source: bytes | memoryview, out: BinaryIO, replace: dict[str, bytes],
            remove: set[str], add: dict[str, bytes]) -> None:
    """Write `source` to `out` with some parts replaced, removed or added (added go last)."""
    data = memoryview(source)
    entries = read_entries(data)
    when = _dos_time(time.time())
    centrals: list[bytes] = []
    offset = 0
    for entry in entries:
        if entry.name in remove:
            continue
        if entry.name in replace:
            blob, central = _new_entry(entry.name, replace[entry.name], offset, when)
        else:
            blob = data[entry.local_offset:entry.local_offset + entry.span]
            central = entry.central[:42] + struct.pack("<L", offset) + entry.central[46:]
        out.write(blob)
        centrals.append(central)
        offset += len(blob)
    for name, content in add.items():
        blob, central = _new_entry(name, content, offset, when)
        out.write(blob)
        centrals.append(central)
        offset += len(blob)
    directory = b"".join(centrals)
    if offset > 0xFFFFFFFF or len(centrals) >= 0xFFFF:
        raise WorkbookError("the workbook would exceed 4 GB; split the usage into files")
    out.write(directory)
    out.write(_EOCD_FMT.pack(_EOCD, 0, 0, len(centrals), len(centrals), len(directory), offset, 0))
