"""Edits of a workbook at package level, as Excel saves them: a cell retyped (a number, or
text kept in the shared-string table), a cell cleared, a row deleted (the rows below move
up and the table shrinks), rows sorted. No digest is ever recomputed: these are what a
person in Excel can do, and the seal must notice each one."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from lxml import etree

from brm_xl.workbook.package import col_letter

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RNS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
Q = f"{{{NS}}}"


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _save(path: Path, parts: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def _sheet_part(parts: dict[str, bytes], sheet: str) -> str:
    wb = etree.fromstring(parts["xl/workbook.xml"])
    rels = etree.fromstring(parts["xl/_rels/workbook.xml.rels"])
    rid = next(s.get(f"{{{RNS}}}id") for s in wb.iter(f"{Q}sheet") if s.get("name") == sheet)
    target = next(r.get("Target") for r in rels if r.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


def _table_part(parts: dict[str, bytes], name: str) -> str | None:
    for part, data in parts.items():
        if part.startswith("xl/tables/") and part.endswith(".xml"):
            if etree.fromstring(data).get("name") == name:
                return part
    return None


def cell_ref(path: Path, sheet: str, column: str, row_index: int) -> str:
    """The cell of `column` (a header) in the table's `row_index`th data row (1-based)."""
    parts = _parts(path)
    table = etree.fromstring(parts[_table_part(parts, sheet)])
    first = table.get("ref").split(":")[0]
    col0 = _col(re.match(r"[A-Z]+", first).group())
    row0 = int(re.search(r"\d+", first).group())
    names = [c.get("name") for c in table.iter(f"{Q}tableColumn")]
    return f"{col_letter(col0 + names.index(column))}{row0 + row_index}"


def _col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def set_cell(path: Path, sheet: str, ref: str, value: object) -> None:
    """Type `value` into `ref` as Excel saves it: a number as <v>, text in sharedStrings,
    None clears the cell (Delete key)."""
    parts = _parts(path)
    part = _sheet_part(parts, sheet)
    root = etree.fromstring(parts[part])
    row_no = int(re.search(r"\d+", ref).group())
    data = root.find(f"{Q}sheetData")
    row = next((r for r in data if r.get("r") == str(row_no)), None)
    if row is None:
        row = etree.SubElement(data, f"{Q}row", r=str(row_no))
    c = next((c for c in row if c.get("r") == ref), None)
    if c is None:
        c = etree.SubElement(row, f"{Q}c", r=ref)
        cells = sorted(row, key=lambda e: _col(re.match(r"[A-Z]+", e.get("r")).group()))
        row[:] = cells
    style = c.get("s")
    c.clear()
    c.set("r", ref)
    if style:
        c.set("s", style)
    if value is None:
        pass
    elif isinstance(value, (int, float)):
        etree.SubElement(c, f"{Q}v").text = repr(value) if isinstance(value, float) else str(value)
    else:
        c.set("t", "s")
        etree.SubElement(c, f"{Q}v").text = str(_shared(parts, str(value)))
    parts[part] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    _save(path, parts)


def _shared(parts: dict[str, bytes], text: str) -> int:
    name = "xl/sharedStrings.xml"
    if name not in parts:
        parts[name] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                       f'<sst xmlns="{NS}" count="0" uniqueCount="0"/>').encode()
        ct = parts["[Content_Types].xml"].decode()
        ct = ct.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="'
                        'application/vnd.openxmlformats-officedocument.spreadsheetml.'
                        'sharedStrings+xml"/></Types>')
        parts["[Content_Types].xml"] = ct.encode()
        rels = parts["xl/_rels/workbook.xml.rels"].decode()
        rels = rels.replace("</Relationships>", '<Relationship Id="rIdSST99" Type="http://schemas.'
                            'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                            'Target="sharedStrings.xml"/></Relationships>')
        parts["xl/_rels/workbook.xml.rels"] = rels.encode()
    sst = etree.fromstring(parts[name])
    si = etree.SubElement(sst, f"{Q}si")
    etree.SubElement(si, f"{Q}t").text = text
    n = len(sst) - 1
    sst.set("count", str(len(sst)))
    sst.set("uniqueCount", str(len(sst)))
    parts[name] = etree.tostring(sst, xml_declaration=True, encoding="UTF-8", standalone=True)
    return n


def delete_row(path: Path, table_name: str, row_index: int) -> None:
    """Delete the table's `row_index`th data row as Excel does: rows below move up one and
    the table's range shrinks by one row."""
    parts = _parts(path)
    tpart = _table_part(parts, table_name)
    table = etree.fromstring(parts[tpart])
    a, b = table.get("ref").split(":")
    row0 = int(re.search(r"\d+", a).group())
    gone = row0 + row_index
    rels_name = next(p for p in parts if p.startswith("xl/worksheets/_rels/") and
                     tpart.split("/")[-1].encode() in parts[p])
    part = "xl/worksheets/" + rels_name.split("/")[-1][:-5]
    root = etree.fromstring(parts[part])
    data = root.find(f"{Q}sheetData")
    for row in list(data):
        r = int(row.get("r"))
        if r == gone:
            data.remove(row)
        elif r > gone:
            row.set("r", str(r - 1))
            for c in row:
                c.set("r", re.sub(r"\d+", str(r - 1), c.get("r")))
    end_row = int(re.search(r"\d+", b).group()) - 1
    table.set("ref", f"{a}:{re.sub(r'[0-9]+', str(end_row), b)}")
    auto = table.find(f"{Q}autoFilter")
    if auto is not None:
        auto.set("ref", table.get("ref"))
    dim = root.find(f"{Q}dimension")
    if dim is not None:
        dim.getparent().remove(dim)
    parts[tpart] = etree.tostring(table, xml_declaration=True, encoding="UTF-8", standalone=True)
    parts[part] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    _save(path, parts)


def sort_rows(path: Path, table_name: str, reverse: bool = True) -> None:
    """Sort a table's data rows (here: reverse their order), as Data > Sort does."""
    parts = _parts(path)
    tpart = _table_part(parts, table_name)
    table = etree.fromstring(parts[tpart])
    a, b = table.get("ref").split(":")
    first, last = int(re.search(r"\d+", a).group()) + 1, int(re.search(r"\d+", b).group())
    rels_name = next(p for p in parts if p.startswith("xl/worksheets/_rels/") and
                     tpart.split("/")[-1].encode() in parts[p])
    part = "xl/worksheets/" + rels_name.split("/")[-1][:-5]
    root = etree.fromstring(parts[part])
    data = root.find(f"{Q}sheetData")
    body = [r for r in data if first <= int(r.get("r")) <= last]
    numbers = [int(r.get("r")) for r in body]
    for row, new in zip(body, reversed(numbers) if reverse else numbers):
        row.set("r", str(new))
        for c in row:
            c.set("r", re.sub(r"\d+", str(new), c.get("r")))
    data[:] = sorted(data, key=lambda r: int(r.get("r")))
    parts[part] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    _save(path, parts)


def add_row(path: Path, table_name: str, values: list[object]) -> str:
    """Type a new row just below the table, as Excel does when the table grows to take it;
    returns the new row's number."""
    parts = _parts(path)
    tpart = _table_part(parts, table_name)
    table = etree.fromstring(parts[tpart])
    a, b = table.get("ref").split(":")
    new = int(re.search(r"\d+", b).group()) + 1
    table.set("ref", f"{a}:{re.sub(r'[0-9]+', str(new), b)}")
    auto = table.find(f"{Q}autoFilter")
    if auto is not None:
        auto.set("ref", table.get("ref"))
    parts[tpart] = etree.tostring(table, xml_declaration=True, encoding="UTF-8", standalone=True)
    _save(path, parts)
    col0 = _col(re.match(r"[A-Z]+", a).group())
    sheet = next(s for s in _sheet_names(path) if _table_on(path, s, tpart))
    for i, value in enumerate(values):
        if value is not None:
            set_cell(path, sheet, f"{col_letter(col0 + i)}{new}", value)
    return str(new)


def _sheet_names(path: Path) -> list[str]:
    wb = etree.fromstring(_parts(path)["xl/workbook.xml"])
    return [s.get("name") for s in wb.iter(f"{Q}sheet")]


def _table_on(path: Path, sheet: str, tpart: str) -> bool:
    parts = _parts(path)
    part = _sheet_part(parts, sheet)
    rels = "xl/worksheets/_rels/" + part.split("/")[-1] + ".rels"
    return rels in parts and tpart.split("/")[-1].encode() in parts[rels]
