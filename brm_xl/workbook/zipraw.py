"""Rewrite a zip package, copying unchanged entries' compressed bytes as they are.

A refresh changes a handful of parts; the rest (a 20 MB usage sheet, the VBA project,
pictures) is copied byte for byte without inflating or deflating it. That keeps every
part we do not own exactly as it was, and it is fast.
"""

from __future__ import annotations

import os
import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from brm_xl.problems import WorkbookError

_EOCD = b"PK\x05\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_DESCRIPTOR = b"PK\x07\x08"
_CENTRAL_FMT = struct.Struct("<4s6H3L5H2L")  # 46 bytes
_LOCAL_FMT = struct.Struct("<4s5H3L2H")  # 30 bytes
_EOCD_FMT = struct.Struct("<4s4H2LH")  # 22 bytes


# Bounds on what a package may unpack to: a real 1,000,000-row usage sheet is about 200 MB
# of XML at a ratio near 10; a zip bomb reaches ratios in the thousands.
MAX_PART_BYTES = 2 << 30
MAX_TOTAL_BYTES = 4 << 30
MAX_RATIO = 150
RATIO_FLOOR_BYTES = 16 << 20  # parts smaller than this may compress as well as they like
MAX_ENTRIES = 65_000


@dataclass
class Entry:
    name: str
    central: bytes  # the central directory record, name, extra and comment included
    local_offset: int
    span: int  # local header + data + data descriptor
    crc: int = 0
    method: int = 8
    data_offset: int = 0
    compressed: int = 0
    size: int = 0


def read_entries(data: memoryview) -> list[Entry]:
    """The package's entries, checked: every record where it says, nothing overlapping,
    nothing encrypted, nothing unpacking to more than the bounds above."""
    if len(data) < 22:
        raise WorkbookError("not a zip package (too short)")
    tail = len(data) - min(len(data), 65557)
    end = bytes(data[tail:]).rfind(_EOCD)
    if end < 0:
        raise WorkbookError("not a zip package (no end of central directory)")
    eocd = _EOCD_FMT.unpack_from(data, tail + end)
    count, offset = eocd[4], eocd[6]
    if count == 0xFFFF or offset == 0xFFFFFFFF:
        raise WorkbookError("zip64 packages (over 4 GB) are not supported")
    if count > MAX_ENTRIES:
        raise WorkbookError(f"the package holds {count:,} parts; a workbook has far fewer")
    entries, pos, total = [], offset, 0
    try:
        for _ in range(count):
            entry = _entry(data, pos)
            total += entry.size
            entries.append(entry)
            pos += len(entry.central)
    except struct.error:
        raise WorkbookError("damaged zip package (a record runs past the end of the file)") from None
    if total > MAX_TOTAL_BYTES:
        raise WorkbookError(f"the package would unpack to {total / 2**30:.1f} GB, more than a "
                            f"workbook can hold (a zip bomb?); it was not read")
    _no_overlaps(entries)
    return entries


def _entry(data: memoryview, pos: int) -> Entry:
    rec = _CENTRAL_FMT.unpack_from(data, pos)
    if rec[0] != _CENTRAL:
        raise WorkbookError("damaged zip central directory")
    flags, method, crc, comp_size, size = rec[3], rec[4], rec[7], rec[8], rec[9]
    name_len, extra_len, comment_len, local = rec[10], rec[11], rec[12], rec[16]
    record_len = 46 + name_len + extra_len + comment_len
    raw_name = bytes(data[pos + 46:pos + 46 + name_len])
    name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
    if flags & 0x1:
        raise WorkbookError(f"part {name} is encrypted; save the workbook without a password")
    if method not in (0, 8):
        raise WorkbookError(f"part {name} uses zip compression method {method}, which Excel "
                            "does not write; save the workbook from Excel again")
    if size > MAX_PART_BYTES or (size > RATIO_FLOOR_BYTES and size > MAX_RATIO * max(comp_size, 1)):
        raise WorkbookError(f"part {name} would unpack to {size / 2**20:,.0f} MB from "
                            f"{comp_size / 2**20:,.1f} MB (a zip bomb?); it was not read")
    lrec = _LOCAL_FMT.unpack_from(data, local)
    if lrec[0] != _LOCAL or bytes(data[local + 30:local + 30 + lrec[9]]) != raw_name:
        raise WorkbookError(f"damaged zip package: the entry of part {name} is not where the "
                            "directory says")
    data_offset = local + 30 + lrec[9] + lrec[10]
    data_end = data_offset + comp_size
    if flags & 0x8:
        data_end += 16 if bytes(data[data_end:data_end + 4]) == _DESCRIPTOR else 12
    if data_end > len(data):
        raise WorkbookError(f"damaged zip package: part {name} runs past the end of the file")
    return Entry(name, bytes(data[pos:pos + record_len]), local, data_end - local, crc, method,
                 data_offset, comp_size, size)


def _no_overlaps(entries: list[Entry]) -> None:
    """Entries that share bytes are how the worst zip bombs multiply; no tool writes them."""
    spans = sorted((e.local_offset, e.local_offset + e.span, e.name) for e in entries)
    for (_, end, name), (start, _, other) in zip(spans, spans[1:]):
        if start < end:
            raise WorkbookError(f"damaged zip package: parts {name} and {other} overlap")


def damaged_parts(data: memoryview, entries: list[Entry], names: set[str] | None = None) -> list[str]:
    """Parts (of `names`, default all) whose content does not unpack to its size and CRC."""
    bad = []
    for e in entries:
        if names is not None and e.name not in names:
            continue
        raw: memoryview = data[e.data_offset:e.data_offset + e.compressed]
        try:
            if e.method == 0:
                content_crc, size = zlib.crc32(raw), len(raw)
            else:
                content_crc, size = _inflate_crc(raw, e.size)
        except zlib.error:
            bad.append(e.name)
            continue
        if size != e.size or content_crc != e.crc:
            bad.append(e.name)
    return bad


def _inflate_crc(raw: memoryview, limit: int) -> tuple[int, int]:
    """CRC and size of a deflated part, never unpacking much more than `limit` bytes."""
    inflater = zlib.decompressobj(-15)
    crc = size = 0
    for pos in range(0, len(raw), 1 << 16):
        pending: bytes | memoryview = raw[pos:pos + (1 << 16)]
        while pending:
            chunk = inflater.decompress(pending, 1 << 20)
            crc, size = zlib.crc32(chunk, crc), size + len(chunk)
            if size > limit or inflater.eof:
                return crc, size
            pending = inflater.unconsumed_tail
    return crc, size


def _dos_time(now: float) -> tuple[int, int]:
    t = time.localtime(now)
    return (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2), \
        ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday


# a large part is deflated in pieces of this size, in threads (zlib works outside the
# GIL); the pieces, each flushed to a byte boundary, make one deflate stream, as pigz
# makes it. Fixed, not by the number of cores, so a machine's output is every machine's.
DEFLATE_PIECE = 8 << 20


def _deflate(content: bytes, level: int) -> tuple[bytes, int]:
    """The raw deflate stream of `content` and its CRC-32."""
    if len(content) <= DEFLATE_PIECE:
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)
        return packer.compress(content) + packer.flush(), zlib.crc32(content)
    view = memoryview(content)
    pieces = [view[i:i + DEFLATE_PIECE] for i in range(0, len(content), DEFLATE_PIECE)]

    def pack(k: int) -> bytes:
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)
        return packer.compress(pieces[k]) + packer.flush(
            zlib.Z_FINISH if k == len(pieces) - 1 else zlib.Z_SYNC_FLUSH)

    with ThreadPoolExecutor(min(len(pieces), os.cpu_count() or 1)) as pool:
        crc = pool.submit(zlib.crc32, content)
        packed = b"".join(pool.map(pack, range(len(pieces))))
        return packed, crc.result()


def _new_entry(name: str, content: bytes, offset: int, when: tuple[int, int]) -> tuple[bytes, bytes]:
    packed, crc = _deflate(content, 1 if len(content) > 8_000_000 else 6)
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
        blob: bytes | memoryview
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
