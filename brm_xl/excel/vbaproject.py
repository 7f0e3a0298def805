"""Build a vbaProject.bin from VBA source text: [MS-OVBA] inside a [MS-CFB] compound file.

The template workbook's macros live in the repository as text (`workbooks/vba/`); this
module turns them into the binary VBA project an .xlsm carries. It writes source only (no
compiled p-code: `_VBA_PROJECT` declares version 0xFFFF), so Excel compiles the project
when it opens the workbook.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field

# ---- [MS-OVBA] 2.4.1 compression ------------------------------------------------------

CHUNK = 4096


def compress(data: bytes) -> bytes:
    """The MS-OVBA compressed container of `data`."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), CHUNK):
        out += _chunk(data[start:start + CHUNK])
    return bytes(out)


def _chunk(raw: bytes) -> bytes:
    body = bytearray()
    pos = 0
    while pos < len(raw):
        flags_at = len(body)
        body.append(0)
        flags = 0
        for bit in range(8):
            if pos >= len(raw):
                break
            offset, length = _match(raw, pos)
            if length >= 3:
                bits = _offset_bits(pos)
                token = ((offset - 1) << (16 - bits)) | (length - 3)
                body += struct.pack("<H", token)
                flags |= 1 << bit
                pos += length
            else:
                body.append(raw[pos])
                pos += 1
        body[flags_at] = flags
    if len(body) > CHUNK:
        # incompressible (the size field holds at most 4,096 bytes of body): stored raw,
        # which is always 4,096 bytes; a final partial chunk is padded with NULs, as
        # [MS-OVBA] 2.4.1.3.10 does
        return struct.pack("<H", (CHUNK - 1) | (0b011 << 12)) + raw.ljust(CHUNK, b"\x00")
    return struct.pack("<H", (len(body) + 2 - 3) | (0b011 << 12) | 0x8000) + bytes(body)


def _offset_bits(pos: int) -> int:
    bits = max((pos - 1).bit_length(), 4)
    return min(bits, 12)


def _match(raw: bytes, pos: int) -> tuple[int, int]:
    """Longest earlier match for raw[pos:], as the copy tokens at `pos` can express it."""
    if pos == 0:
        return 0, 0
    bits = _offset_bits(pos)
    max_length = (0xFFFF >> bits) + 3
    max_offset = 1 << bits
    best_len, best_off = 0, 0
    end = min(len(raw), pos + max_length)
    start = max(0, pos - max_offset)
    first = raw[pos:pos + 3]
    if len(first) < 3:
        return 0, 0
    candidate = raw.rfind(first, start, pos + 2)
    while candidate >= start:
        if candidate < pos:
            length = 3
            while pos + length < end and raw[candidate + length] == raw[pos + length]:
                length += 1
            if length > best_len:
                best_len, best_off = length, pos - candidate
                if length == end - pos:
                    break
        candidate = raw.rfind(first, start, candidate + 2) if candidate > start else -1
        if candidate >= 0 and pos - candidate > max_offset:
            break
    return best_off, best_len


# ---- [MS-OVBA] 2.3.4.2 the dir stream -------------------------------------------------

@dataclass(frozen=True)
class Module:
    name: str
    source: str  # the module's text, Attribute lines included
    kind: str  # "document", "module" (procedural) or "class"

    @property
    def code(self) -> bytes:
        text = self.source.replace("\r\n", "\n").replace("\n", "\r\n")
        return text.encode("cp1252")


def _rec(record_id: int, data: bytes) -> bytes:
    return struct.pack("<HI", record_id, len(data)) + data


def _text_rec(record_id: int, text: str, unicode_id: int | None) -> bytes:
    out = _rec(record_id, text.encode("cp1252"))
    if unicode_id is not None:
        out += _rec(unicode_id, text.encode("utf-16-le"))
    return out


STDOLE = ("stdole", "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#"
          "C:\\Windows\\System32\\stdole2.tlb#OLE Automation")


def dir_stream(modules: list[Module], project: str = "VBAProject") -> bytes:
    info = b"".join([
        _rec(0x0001, struct.pack("<I", 1)),  # SysKind: Win32
        _rec(0x0002, struct.pack("<I", 0x0409)),  # LCID
        _rec(0x0014, struct.pack("<I", 0x0409)),  # LCID invoke
        _rec(0x0003, struct.pack("<H", 1252)),  # code page
        _rec(0x0004, project.encode("cp1252")),
        _text_rec(0x0005, "", 0x0040),  # doc string
        _text_rec(0x0006, "", 0x003D),  # help file
        _rec(0x0007, struct.pack("<I", 0)),  # help context
        _rec(0x0008, struct.pack("<I", 0)),  # lib flags
        struct.pack("<HIIH", 0x0009, 4, 1, 0),  # version: the size field says 4, six bytes follow
        _text_rec(0x000C, "", 0x003C),  # constants
    ])
    name, libid = STDOLE
    refs = (_text_rec(0x0016, name, 0x003E)
            + struct.pack("<HI", 0x000D, 4 + len(libid) + 6) + struct.pack("<I", len(libid))
            + libid.encode("cp1252") + struct.pack("<IH", 0, 0))
    mods = _rec(0x000F, struct.pack("<H", len(modules))) + _rec(0x0013, struct.pack("<H", 0xFFFF))
    for m in modules:
        mods += (_text_rec(0x0019, m.name, None) + _rec(0x0047, m.name.encode("utf-16-le"))
                 + _text_rec(0x001A, m.name, 0x0032) + _text_rec(0x001C, "", 0x0048)
                 + _rec(0x0031, struct.pack("<I", 0)) + _rec(0x001E, struct.pack("<I", 0))
                 + _rec(0x002C, struct.pack("<H", 0xFFFF))
                 + _rec(0x0021 if m.kind == "module" else 0x0022, b"")
                 + _rec(0x002B, b""))
    return info + refs + mods + _rec(0x0010, b"")


def project_stream(modules: list[Module], protection: dict[str, str], project_id: str) -> bytes:
    lines = [f'ID="{project_id}"']
    for m in modules:
        lines.append({"document": f"Document={m.name}/&H00000000", "module": f"Module={m.name}",
                      "class": f"Class={m.name}"}[m.kind])
    lines += ['Name="VBAProject"', 'HelpContextID="0"', 'VersionCompatible32="393222000"',
              f'CMG="{protection["CMG"]}"', f'DPB="{protection["DPB"]}"',
              f'GC="{protection["GC"]}"', "", "[Host Extender Info]",
              "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000", "",
              "[Workspace]"]
    lines += [f"{m.name}=0, 0, 0, 0, C" for m in modules]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def projectwm_stream(modules: list[Module]) -> bytes:
    return b"".join(m.name.encode("cp1252") + b"\x00" + m.name.encode("utf-16-le") + b"\x00\x00"
                    for m in modules) + b"\x00\x00"


def vba_project(modules: list[Module], protection: dict[str, str],
                project_id: str | None = None) -> bytes:
    """vbaProject.bin holding `modules`; `protection` gives the CMG, DPB and GC values that
    belong with `project_id` (they are encrypted with a key taken from it)."""
    project_id = project_id or "{" + str(uuid.uuid4()).upper() + "}"
    vba = Storage("VBA", [
        Stream("dir", compress(dir_stream(modules))),
        Stream("_VBA_PROJECT", struct.pack("<HHBH", 0x61CC, 0xFFFF, 0, 0)),
        *[Stream(m.name, compress(m.code)) for m in modules],
    ])
    root = Storage("Root Entry", [
        Stream("PROJECT", project_stream(modules, protection, project_id)),
        Stream("PROJECTwm", projectwm_stream(modules)),
        vba,
    ])
    return write_cfb(root)


# ---- [MS-CFB] a compound file writer (version 3, 512-byte sectors) ------------------

SECTOR, MINI, CUTOFF = 512, 64, 4096
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


@dataclass
class Stream:
    name: str
    data: bytes


@dataclass
class Storage:
    name: str
    children: list[Stream | Storage] = field(default_factory=list)


def _key(name: str) -> tuple[int, str]:
    return len(name), name.upper()


def write_cfb(root: Storage) -> bytes:
    entries: list[dict] = []

    def add(node: Stream | Storage) -> int:
        index = len(entries)
        entry = {"node": node, "left": NOSTREAM, "right": NOSTREAM, "child": NOSTREAM,
                 "start": END, "size": 0}
        entries.append(entry)
        if isinstance(node, Storage):
            ids = [add(child) for child in sorted(node.children, key=lambda c: _key(c.name))]
            entry["child"] = _tree(entries, ids)
        return index

    add(root)
    mini = bytearray()
    minifat: list[int] = []
    big: list[tuple[dict, bytes]] = []
    for entry in entries:
        node = entry["node"]
        if isinstance(node, Stream):
            entry["size"] = len(node.data)
            if len(node.data) < CUTOFF:
                if node.data:
                    first = len(mini) // MINI
                    count = -(-len(node.data) // MINI)
                    entry["start"] = first
                    minifat += list(range(first + 1, first + count)) + [END]
                    mini += node.data + b"\x00" * (count * MINI - len(node.data))
            else:
                big.append((entry, node.data))
    sectors: list[bytes] = []
    fat: list[int] = []

    def place(data: bytes) -> int:
        count = -(-len(data) // SECTOR)
        first = len(sectors)
        for i in range(count):
            sectors.append(data[i * SECTOR:(i + 1) * SECTOR].ljust(SECTOR, b"\x00"))
        fat.extend(list(range(first + 1, first + count)) + [END])
        return first

    for entry, data in big:
        entry["start"] = place(data)
    entries[0]["size"] = len(mini)
    entries[0]["start"] = place(bytes(mini)) if mini else END
    minifat_start = place(struct.pack(f"<{len(minifat)}I", *minifat)) if minifat else END
    minifat_count = -(-len(minifat) * 4 // SECTOR)
    directory = b"".join(_dir_entry(e) for e in entries)
    directory += _empty_entry() * (-len(entries) % 4)
    dir_start = place(directory)
    fat_count = 1
    while (len(sectors) + fat_count) > fat_count * (SECTOR // 4):
        fat_count += 1
    fat_start = len(sectors)
    fat.extend([FATSECT] * fat_count)
    fat.extend([FREE] * (fat_count * SECTOR // 4 - len(fat)))
    table = struct.pack(f"<{len(fat)}I", *fat)
    for i in range(fat_count):
        sectors.append(table[i * SECTOR:(i + 1) * SECTOR])
    difat = list(range(fat_start, fat_start + fat_count)) + [FREE] * (109 - fat_count)
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
              + struct.pack("<HHHHH", 0x003E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
              + struct.pack("<IIIIIIIII", 0, fat_count, dir_start, 0, CUTOFF, minifat_start,
                            minifat_count, END, 0)
              + struct.pack("<109I", *difat))
    return header + b"".join(sectors)


def _tree(entries: list[dict], ids: list[int]) -> int:
    """A balanced binary tree of siblings (by CFB name order); returns its root."""
    if not ids:
        return NOSTREAM
    middle = len(ids) // 2
    root = ids[middle]
    entries[root]["left"] = _tree(entries, ids[:middle])
    entries[root]["right"] = _tree(entries, ids[middle + 1:])
    return root


def _dir_entry(entry: dict) -> bytes:
    node = entry["node"]
    name = node.name.encode("utf-16-le")[:62]
    kind = 5 if node.name == "Root Entry" else 1 if isinstance(node, Storage) else 2
    return (name.ljust(64, b"\x00") + struct.pack("<HBB", len(name) + 2, kind, 1)
            + struct.pack("<III", entry["left"], entry["right"], entry["child"])
            + b"\x00" * 16 + struct.pack("<I", 0) + b"\x00" * 16
            + struct.pack("<IQ", entry["start"], entry["size"]))


def _empty_entry() -> bytes:
    return b"\x00" * 64 + struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", NOSTREAM, NOSTREAM,
                                                                      NOSTREAM) \
        + b"\x00" * 36 + struct.pack("<IQ", 0, 0)
