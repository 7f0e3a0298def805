"""The xlsx/xlsm package at the part level: sheets, tables and relationships.

Reads only what brm_xl needs to find tables and write its own parts; never loads the
workbook into an object model, so nothing it does not understand can be lost.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from brm_xl.problems import WorkbookError
from brm_xl.workbook import zipraw

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_WORKSHEET = NS_R + "/worksheet"
REL_TABLE = NS_R + "/table"
REL_STYLES = NS_R + "/styles"
REL_CALC_CHAIN = NS_R + "/calcChain"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_TABLE = "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"
CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
CT_RELS = "application/vnd.openxmlformats-package.relationships+xml"

_CELL_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
# What reading a damaged zip entry can raise (a version no reader supports: NotImplementedError)
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, KeyError)
XML_PARSER = etree.XMLParser(remove_blank_text=False, resolve_entities=False, huge_tree=True)


# Strict Open XML (ISO 29500 Strict, "Strict Open XML Spreadsheet" in Excel's Save As) names
# the same elements under other namespaces; they are read as the transitional ones
STRICT = {
    b"http://purl.oclc.org/ooxml/spreadsheetml/main": NS_MAIN.encode(),
    b"http://purl.oclc.org/ooxml/officeDocument/relationships": NS_R.encode(),
}


def q(tag: str, ns: str = NS_MAIN) -> str:
    return f"{{{ns}}}{tag}"


def col_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def split_cell(ref: str) -> tuple[int, int]:
    """'B3' -> (row 3, column index 1)."""
    m = _CELL_RE.match(ref)
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(m.group(2)), col_index(m.group(1))


def split_range(ref: str) -> tuple[int, int, int, int]:
    """'B3:F20' -> (first_row, first_col, last_row, last_col), rows 1-based, cols 0-based."""
    first, _, last = ref.partition(":")
    r1, c1 = split_cell(first)
    r2, c2 = split_cell(last or first)
    return r1, c1, r2, c2


def range_ref(r1: int, c1: int, r2: int, c2: int) -> str:
    return f"{col_letter(c1)}{r1}:{col_letter(c2)}{r2}"


def parse_xml(data: bytes, part: str = "") -> etree._Element:
    try:
        return etree.fromstring(data, XML_PARSER)
    except etree.XMLSyntaxError as exc:
        where = f"part {part}" if part else "a part"
        raise WorkbookError(f"{where} of the package is damaged XML ({exc}); open the workbook "
                            "in Excel, let it repair the file, save it and run again") from None


def to_xml(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve(source_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


@dataclass(frozen=True)
class Sheet:
    name: str
    sheet_id: int
    rid: str
    part: str


@dataclass(frozen=True)
class Table:
    name: str
    sheet: Sheet
    part: str
    ref: str
    columns: tuple[str, ...]
    header_rows: int
    totals_rows: int
    table_id: int

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        return split_range(self.ref)


class Package:
    """An opened xlsx/xlsm file: names of its parts, its sheets and its tables."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.data = memoryview(self.path.read_bytes())
            self.entries = zipraw.read_entries(self.data)
            self.zip = zipfile.ZipFile(io.BytesIO(self.data))
            self.names = set(self.zip.namelist())
            self.strict = b"purl.oclc.org/ooxml" in self._raw("_rels/.rels")
            self.workbook_part = self._workbook_part()
            self.workbook_rels = self.read_rels(self.workbook_part)
            self.sheets = self._sheets()
            self.tables = self._tables()
        except WorkbookError as exc:
            text = str(exc)
            if text.startswith(("not a zip", "damaged")):
                text = (f"not a readable .xlsx/.xlsm workbook ({text}); save it from Excel as an "
                        "Excel Workbook and try again")
            raise WorkbookError(f"{self.path.name}: {text}") from None
        except (*ZIP_ERRORS, OSError, etree.XMLSyntaxError, ValueError,
                zlib.error, EOFError, UnicodeError) as exc:
            raise WorkbookError(
                f"{self.path.name}: not a readable .xlsx/.xlsm workbook ({exc}); "
                "save it from Excel as an Excel Workbook and try again"
            ) from exc

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, part: str) -> bytes:
        data = self._raw(part)
        if self.strict and part.endswith((".xml", ".rels")):
            for strict, transitional in STRICT.items():
                data = data.replace(strict, transitional)
        return data

    def _raw(self, part: str) -> bytes:
        try:
            return self.zip.read(part)
        except KeyError:
            raise WorkbookError(f"{self.path.name}: part {part} is missing from the package; "
                                "save the workbook from Excel again") from None
        except ZIP_ERRORS as exc:
            raise WorkbookError(f"{self.path.name}: part {part} is damaged ({exc}); open the "
                                "workbook in Excel, let it repair the file, save it and run "
                                "again") from None

    def xml(self, part: str) -> etree._Element:
        return parse_xml(self.read(part), part)

    def read_rels(self, part: str) -> list[tuple[str, str, str, str]]:
        """(Id, Type, resolved target, TargetMode) of a part's relationships."""
        path = rels_path(part)
        if path not in self.names:
            return []
        root = self.xml(path)
        out = []
        for rel in root.iter(q("Relationship", NS_PKG_REL)):
            mode = rel.get("TargetMode", "Internal")
            target = rel.get("Target", "")
            if mode != "External":
                target = resolve(part, target)
            out.append((rel.get("Id", ""), rel.get("Type", ""), target, mode))
        return out

    def _workbook_part(self) -> str:
        for _, rtype, target, _ in self.read_rels(""):
            if rtype.endswith("/officeDocument"):
                return target
        raise WorkbookError(f"{self.path.name}: no workbook part found; is it an Excel file?")

    def _sheets(self) -> list[Sheet]:
        root = self.xml(self.workbook_part)
        targets = {rid: target for rid, rtype, target, _ in self.workbook_rels}
        sheets = []
        for el in root.iter(q("sheet")):
            rid = el.get(q("id", NS_R), "")
            part = targets.get(rid, "")
            sheets.append(Sheet(el.get("name", ""), int(el.get("sheetId", "0")), rid, part))
        return sheets

    def _tables(self) -> dict[str, Table]:
        tables: dict[str, Table] = {}
        for sheet in self.sheets:
            if sheet.part not in self.names:
                continue
            for _, rtype, target, _ in self.read_rels(sheet.part):
                if rtype == REL_TABLE and target in self.names:
                    table = self._table(sheet, target)
                    tables[table.name.casefold()] = table
        return tables

    def _table(self, sheet: Sheet, part: str) -> Table:
        root = self.xml(part)
        columns = tuple(c.get("name", "") for c in root.iter(q("tableColumn")))
        name = root.get("displayName") or root.get("name", "")
        ref = root.get("ref", "A1")
        try:
            r1, c1, r2, c2 = split_range(ref)
        except ValueError:
            raise WorkbookError(f"table {name} on sheet {sheet.name} has the range {ref!r}, "
                                "which is not a cell range; save the workbook from Excel again"
                                ) from None
        if r2 < r1 or c2 < c1 or (c2 - c1 + 1) != len(columns):
            raise WorkbookError(f"table {name} on sheet {sheet.name}: its range {ref} does not "
                                f"match its {len(columns)} columns; save the workbook from Excel "
                                "again")
        return Table(
            name=name,
            sheet=sheet,
            part=part,
            ref=ref,
            columns=columns,
            header_rows=int(root.get("headerRowCount", "1")),
            totals_rows=int(root.get("totalsRowCount", "0")),
            table_id=int(root.get("id", "0")),
        )

    def sheet(self, name: str) -> Sheet | None:
        key = name.casefold()
        return next((s for s in self.sheets if s.name.casefold() == key), None)

    def table(self, name: str) -> Table | None:
        return self.tables.get(name.casefold())

    def defined_name(self, name: str) -> str | None:
        """A defined name (Name Manager) spelled like `name`, ignoring case, if any."""
        wanted = name.casefold()
        for el in self.xml(self.workbook_part).iter(q("definedName")):
            if el.get("name", "").casefold() == wanted:
                return el.get("name")
        return None

    def first_filled_row(self, sheet: Sheet) -> tuple[int, list[int]] | None:
        """Row number and filled column indexes of a sheet's first non-empty row.

        Streams the sheet's XML and stops at that row, so a million-row sheet costs
        no more than a small one.
        """
        try:
            return self._first_filled_row(sheet)
        except (etree.XMLSyntaxError, ValueError, *ZIP_ERRORS) as exc:
            raise WorkbookError(f"{self.path.name}: sheet {sheet.name} is damaged ({exc}); open "
                                "the workbook in Excel, let it repair the file, save it and run "
                                "again") from None

    def used_range(self, sheet: Sheet) -> tuple[int, int, int, int] | None:
        """The cells a sheet really spans: measured from its cells when the part is small
        (a stray far cell costs nothing to find there), else as its `<dimension>` says
        (read from the part's first bytes only); None when neither says."""
        try:
            if self.zip.getinfo(sheet.part).file_size <= SCAN_BYTES:
                return _extent(self.zip.read(sheet.part))
            with self.zip.open(sheet.part) as stream:
                head = stream.read(4096)
        except ZIP_ERRORS as exc:
            raise WorkbookError(f"{self.path.name}: sheet {sheet.name} is damaged ({exc}); open "
                                "the workbook in Excel, let it repair the file, save it and run "
                                "again") from None
        found = _DIMENSION.search(head)
        if not found:
            return None
        try:
            return split_range(found.group(1).decode("ascii", "replace"))
        except ValueError:
            return None

    def surely_within(self, sheet: Sheet, cells: int) -> bool:
        """True when a small part's cells surely span at most `cells` cells (used_range
        would say so), known from a few searches instead of listing every cell; False
        when it may be more, or the part is large or cannot be read (ask used_range)."""
        try:
            if self.zip.getinfo(sheet.part).file_size > SCAN_BYTES:
                return False
            return _within(self.zip.read(sheet.part), cells)
        except ZIP_ERRORS:
            return False

    def trimmed_sheet(self, sheet: Sheet, c1: int, c2: int, last_row: int | None) -> bytes:
        """The sheet's XML with only the cells in columns c1..c2 (and rows up to last_row):
        how a sheet with stray cells far beyond its table is read by the table's range."""
        try:
            return self._trimmed_sheet(sheet, c1, c2, last_row)
        except (etree.XMLSyntaxError, ValueError, *ZIP_ERRORS) as exc:
            raise WorkbookError(f"{self.path.name}: sheet {sheet.name} is damaged ({exc}); open "
                                "the workbook in Excel, let it repair the file, save it and run "
                                "again") from None

    def _trimmed_sheet(self, sheet: Sheet, c1: int, c2: int, last_row: int | None) -> bytes:
        out = []
        namespace = NS_MAIN
        with self.zip.open(sheet.part) as stream:
            # any namespace: a Strict Open XML sheet names its rows in its own
            for _, row in etree.iterparse(stream, tag="{*}row", huge_tree=True):
                namespace = etree.QName(row).namespace or NS_MAIN
                number = int(row.get("r") or 0)
                if last_row is not None and number > last_row:
                    break
                for position, c in enumerate(list(row)):
                    ref = c.get("r")
                    col = split_cell(ref)[1] if ref else position
                    if not c1 <= col <= c2:
                        row.remove(c)
                row.set("spans", f"{c1 + 1}:{c2 + 1}")
                out.append(etree.tostring(row))
                row.clear()
        head = b'<worksheet xmlns="' + namespace.encode() + b'"><sheetData>'
        return b"".join([head, *out, b"</sheetData></worksheet>"])

    def _first_filled_row(self, sheet: Sheet) -> tuple[int, list[int]] | None:
        with self.zip.open(sheet.part) as stream:
            number = 0
            # any namespace: a Strict Open XML sheet names its rows in its own
            for _, row in etree.iterparse(stream, tag="{*}row", huge_tree=True):
                number = int(row.get("r") or number + 1)  # r may be left out: the next row
                cols = []
                for position, c in enumerate(row.iter("{*}c")):
                    if _has_value(c):
                        cols.append(split_cell(c.get("r"))[1] if c.get("r") else position)
                if cols:
                    return number, cols
                row.clear()
        return None


SCAN_BYTES = 16 << 20
_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Z]{1,3})(\d+)\"")


def _extent(xml: bytes) -> tuple[int, int, int, int] | None:
    """(first row, first col, last row, last col) of the cells in a sheet's XML."""
    rows, cols = set(), set()
    for letters, number in _CELL_REF.findall(xml):
        cols.add(letters)
        rows.add(number)
    if not rows:
        return None
    numbers = [int(r) for r in rows]
    indexes = [col_index(c.decode()) for c in cols]
    return min(numbers), min(indexes), max(numbers), max(indexes)


def _within(xml: bytes, cells: int) -> bool:
    """Whether every cell reference `_extent` finds lies within columns A to Z (ZZ, ZZZ)
    and rows short enough that those bounds hold at most `cells` cells: searched for as
    any r="..." with two (three) letters, or more digits, which finds those of the cells
    and perhaps more, never fewer."""
    columns = 26
    if _TWO_LETTERS.search(xml):
        columns = 18278 if _THREE_LETTERS.search(xml) else 702
    digits = len(str(cells // columns)) - 1  # rows below 10**digits fit
    return digits > 0 and not re.search(rb'r="[A-Z]{0,3}\d{%d}' % (digits + 1), xml)


_TWO_LETTERS = re.compile(rb'r="[A-Z]{2}\d')
_THREE_LETTERS = re.compile(rb'r="[A-Z]{3}\d')
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([^\"]*)\"")


def _has_value(cell: etree._Element) -> bool:
    for child in cell:
        if (isinstance(child.tag, str) and etree.QName(child).localname in ("v", "is")
                and "".join(child.itertext()).strip()):
            return True
    return False
