"""Append rows to an input table (Survey, Engagements) without touching anything else.

The table grows in place: its new rows are merged into the sheet's XML below its last
filled row, its `ref` is extended, and every other part is copied as it was. A table that
would grow into cells already holding something is refused, naming the cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lxml import etree

from brm_xl.contract.tables import SETTINGS_ROWS, TableSpec, header_key, header_positions
from brm_xl.problems import Problem
from brm_xl.workbook.cells import OutColumn, OutputTable, sheet_data
from brm_xl.workbook.package import NS_MAIN, col_letter, parse_xml, q, split_cell, split_range
from brm_xl.workbook.writer import PackageEdit

_KIND_FORMAT = {"date": "date", "month": "month", "count": "int", "score": "int",
                "money": "money", "signed_money": "money", "rate": "rate",
                "unit_cost": "rate", "quantity": "quantity"}


def out_columns(spec: TableSpec) -> tuple[OutColumn, ...]:
    return tuple(OutColumn(c.name, _KIND_FORMAT.get(c.kind, "text")) for c in spec.columns)


def append_rows(edit: PackageEdit, spec: TableSpec, rows: Sequence[Sequence[Any]],
                last_filled_row: int | None) -> list[Problem]:
    """Add `rows` (in spec column order) after the table's last filled row.

    Returns problems (and changes nothing) when the table cannot grow where it is.
    """
    table = edit.pkg.table(spec.name)
    if table is None and edit.pkg.sheet(spec.name) is None:
        edit.put_table(OutputTable(spec.name, out_columns(spec), rows))
        return []
    if table is not None:
        sheet = table.sheet
        r1, c1, r2, c2 = table.bounds
        headers = list(table.columns)
    else:
        plain = edit.pkg.sheet(spec.name)
        assert plain is not None
        sheet = plain
        first = edit.pkg.first_filled_row(sheet)
        r1, cols = first if first else (1, [0])
        c1, c2, r2 = min(cols), max(cols), r1
        headers = _header_texts(edit, sheet.part, r1, c1, c2)
    positions = header_positions(headers)
    missing = [c.name for c in spec.columns
               if header_key(c.name) not in positions and any(
                   row[j] is not None for row in rows for j in [spec.columns.index(c)])]
    if missing:
        return [Problem(f"{sheet.name}!{col_letter(c1)}{r1}",
                        f"{spec.name} has no column for {', '.join(missing)}; add it and retry",
                        "missing-column")]
    start = (last_filled_row or r1) + 1
    end = start + len(rows) - 1
    width = c2 - c1 + 1
    placed = [[None] * width for _ in rows]
    for j, column in enumerate(spec.columns):
        i = positions.get(header_key(column.name))
        if i is not None:
            for k, row in enumerate(rows):
                placed[k][i] = row[j]
    formats = {i: _KIND_FORMAT.get(c.kind, "text") for c in spec.columns
               if (i := positions.get(header_key(c.name))) is not None}
    columns = tuple(OutColumn(f"c{i}", formats.get(i, "text")) for i in range(width))
    root = edit.tree(sheet.part)
    blocked = _occupied(root, start, end, c1, c2)
    if blocked:
        return [Problem(f"{sheet.name}!{blocked}", f"holds a value, and the {spec.name} table "
                        f"must grow into rows {start} to {end}; move what is below the table",
                        "table-blocked")]
    new_rows = sheet_data(OutputTable(spec.name, columns, placed), edit.styles, start, c1,
                          header=False)
    _merge_rows(root, new_rows)
    _extend_dimension(root, end, c2)
    edit.mark_dirty(sheet.part)
    if table is not None and end > r2:
        _grow(edit, table, end)
    return []


def _grow(edit: PackageEdit, table: Any, end: int) -> None:
    """A table's ref (and its filter's) extended down to row `end`."""
    r1, c1, _r2, c2 = table.bounds
    ref = f"{col_letter(c1)}{r1}:{col_letter(c2)}{end}"
    table_root = edit.tree(table.part)
    table_root.set("ref", ref)
    auto = table_root.find(q("autoFilter"))
    if auto is not None:
        auto.set("ref", ref)
    edit.mark_dirty(table.part)


def _header_texts(edit: PackageEdit, part: str, row: int, c1: int, c2: int) -> list[str]:
    texts = [""] * (c2 - c1 + 1)
    strings = _shared_strings(edit)
    for r in edit.tree(part).iter(q("row")):
        if int(r.get("r", "0")) != row:
            continue
        for c in r.iter(q("c")):
            _, col = split_cell(c.get("r", "A1"))
            if c1 <= col <= c2:
                texts[col - c1] = _cell_text(c, strings)
    return texts


def _shared_strings(edit: PackageEdit) -> list[str]:
    part = next((t for _, rtype, t, _ in edit.pkg.workbook_rels
                 if rtype.endswith("/sharedStrings")), None)
    if part is None or not edit.exists(part):
        return []
    root = parse_xml(edit.read(part))
    return ["".join(si.itertext()) for si in root.iter(q("si"))]


def _cell_text(cell: etree._Element, strings: list[str]) -> str:
    if cell.get("t") == "inlineStr":
        return "".join(cell.find(q("is")).itertext()) if cell.find(q("is")) is not None else ""
    v = cell.find(q("v"))
    if v is None or v.text is None:
        return ""
    return strings[int(v.text)] if cell.get("t") == "s" else v.text


def _occupied(root: etree._Element, start: int, end: int, c1: int, c2: int) -> str | None:
    data = root.find(q("sheetData"))
    for r in data.iter(q("row")):
        n = int(r.get("r", "0"))
        if start <= n <= end:
            for c in r.iter(q("c")):
                _, col = split_cell(c.get("r", "A1"))
                if c1 <= col <= c2 and any(ch.tag in (q("v"), q("is"), q("f")) for ch in c):
                    return c.get("r")
    return None


def _merge_rows(root: etree._Element, new_rows: bytes) -> None:
    data = root.find(q("sheetData"))
    fragment = parse_xml(b'<sheetData xmlns="' + NS_MAIN.encode() + b'">' + new_rows +
                         b"</sheetData>")
    existing = {int(r.get("r", "0")): r for r in data.iter(q("row"))}
    for new in list(fragment):
        n = int(new.get("r"))
        row = existing.get(n)
        if row is None:
            after = [r for k, r in existing.items() if k < n]
            if after:
                max(after, key=lambda r: int(r.get("r"))).addnext(new)
            else:
                data.insert(0, new)
            existing[n] = new
            continue
        for cell in list(new):
            _, col = split_cell(cell.get("r"))
            old = next((c for c in row if split_cell(c.get("r", "A1"))[1] == col), None)
            if old is not None:
                row.replace(old, cell)
                continue
            later = next((c for c in row if split_cell(c.get("r", "A1"))[1] > col), None)
            if later is not None:
                later.addprevious(cell)
            else:
                row.append(cell)
        row.attrib.pop("spans", None)


def _extend_dimension(root: etree._Element, last_row: int, last_col: int) -> None:
    dim = root.find(q("dimension"))
    if dim is None:
        return
    try:
        r1, c1, r2, c2 = split_range(dim.get("ref", "A1"))
    except ValueError:
        return
    dim.set("ref", f"{col_letter(c1)}{r1}:{col_letter(max(c2, last_col))}{max(r2, last_row)}")


def append_settings(edit: PackageEdit, pairs: Sequence[tuple[str, str]]) -> list[Problem]:
    """Add `key = value` rows below the last filled row of the Settings sheet (columns A
    and B, as Settings is read), in the same write as the rows they came with; a Settings
    table grows with them."""
    if not pairs:
        return []

    table = edit.pkg.table("Settings")
    sheet = table.sheet if table is not None else edit.pkg.sheet("Settings")
    if sheet is None:
        edit.put_table(OutputTable("Settings", out_columns(SETTINGS_ROWS), pairs))
        return []
    root = edit.tree(sheet.part)
    # columns A and B, as Settings is read, whatever a table there is headed; below the
    # table when there is one (its ref grows), else below the last key
    start = (table.bounds[2] if table is not None else (_last_row(root, 0, 1) or 0)) + 1
    end = start + len(pairs) - 1
    blocked = _occupied(root, start, end, 0, 1)
    if blocked:  # a filled cell beyond a gap is read as a setting too: never overwritten
        return [Problem(f"{sheet.name}!{blocked}", "holds a value where brm_xl would add "
                        "Settings rows; move it and retry", "table-blocked")]
    table_rows = OutputTable("Settings", tuple(OutColumn(f"c{i}", "text") for i in range(2)),
                             [list(p) for p in pairs])
    _merge_rows(root, sheet_data(table_rows, edit.styles, start, 0, header=False))
    _extend_dimension(root, end, 1)
    edit.mark_dirty(sheet.part)
    if table is not None:
        _grow(edit, table, end)
    return []


def _last_row(root: etree._Element, c1: int, c2: int) -> int | None:
    """The last row with a value in columns c1..c2."""
    last = None
    data = root.find(q("sheetData"))
    for r in data.iter(q("row")) if data is not None else ():
        for c in r.iter(q("c")):
            _, col = split_cell(c.get("r", "A1"))
            if c1 <= col <= c2 and any(ch.tag in (q("v"), q("is"), q("f")) for ch in c):
                last = max(last or 0, int(r.get("r", "0")))
    return last
