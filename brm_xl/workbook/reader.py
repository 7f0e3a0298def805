"""Find the contract's tables in a workbook and read them fast, as text, with cell addresses.

Each table is an Excel table of that name anywhere in the workbook or, failing that, a
sheet of that name whose first non-empty row holds the headers. Cells are read with
fastexcel (calamine, in Rust) as strings, so one vectorised parser per kind decides what
each cell means, and every value keeps the Excel row it came from. An input table may be
read typed instead (`read(spec, typed=True)`): a number column whose every cell is a
number comes back as floats and a month or date column of Excel dates as datetimes, which
`validate` turns into exactly what the text of those cells would give; a table with any
other cell in such a column is read as text.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import fastexcel
import polars as pl
from lxml import etree

from brm_xl.contract import tables as C
from brm_xl.contract.raw import ROW, RawTable, quote_sheet
from brm_xl.contract.tables import TableSpec, header_key, header_positions
from brm_xl.problems import Problem, WorkbookError
from brm_xl.workbook import zipraw
from brm_xl.workbook.package import NS_PKG_REL, NS_R, Package, col_letter, q, rels_path, to_xml

# calamine builds the whole used range of a sheet in memory (about 32 bytes a cell), so a
# sheet whose used range is larger than this is read by its table's range instead
MAX_CELLS = 40_000_000






class WorkbookReader:
    """Opens a workbook once and reads any number of contract tables from it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.package = Package(self.path)
        self._trimmed: dict[tuple[str, int, int, int | None], Any] = {}
        # typed loads under way in a thread (`prefetch`), by load_sheet's arguments
        self._prefetched: dict[tuple[str, int, str, int | None], Future[Any]] = {}
        self._threads: ThreadPoolExecutor | None = None
        self._within: dict[str, bool] = {}  # Package.surely_within of each sheet part asked
        self._quiet = _Unlogged()
        try:
            # the bytes fastexcel reads: the file, or a copy laid out as calamine finds parts
            self.readable: bytes | memoryview = self.package.data
            view = calamine_view(self.package)
            if view is not None:

                copy = io.BytesIO()
                zipraw.rewrite(self.package.data, copy, *view)
                self.readable = copy.getvalue()
            self.excel = fastexcel.read_excel(bytes(self.readable))
        except Exception as exc:  # fastexcel raises its own error types
            self.package.close()

            damaged = zipraw.damaged_parts(self.package.data, self.package.entries)
            if damaged:
                raise WorkbookError(
                    f"{self.path.name}: part {damaged[0]} is damaged (its content does not match "
                    "its checksum); open the workbook in Excel, let it repair the file, save it "
                    "and run again") from None
            raise WorkbookError(f"{self.path.name}: cannot be read ({_first(exc)}); save it from "
                                "Excel as an Excel Workbook and try again") from None

    def close(self) -> None:
        if self._threads is not None:  # a load never taken: done before the reader goes
            self._threads.shutdown(wait=True, cancel_futures=True)
            self._threads = None
        if self._prefetched:
            self._prefetched.clear()
            _DTYPE_LOG.removeFilter(self._quiet)
        self.package.close()

    def __enter__(self) -> WorkbookReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, spec: TableSpec, typed: bool = False) -> RawTable:
        """The table as text; with `typed`, its number, month and date columns as floats and
        datetimes where every cell of the column is one (see the module's docstring)."""
        found = self._where(spec)
        if isinstance(found, RawTable):
            return found
        return self._load(spec, *found, typed)

    def prefetch(self, spec: TableSpec) -> None:
        """Start the typed load of a table's cells (`read(spec, typed=True)`) in a thread,
        with a fastexcel reader of its own: fastexcel lets go of the GIL while it reads a
        sheet, so a large sheet (Usage) is read while the other tables are; `read` takes
        what the thread loaded. Nothing starts for a table that is missing or read from a
        trimmed copy of its sheet (`_excel_for`)."""
        try:
            found = self._where(spec)
            if isinstance(found, RawTable):
                return
            sheet, header_row, c1, c2, _, n_rows = found
            last_row = header_row + n_rows if n_rows is not None else None
            if self._excel_for(sheet, c1, c2, last_row) is not self.excel:
                return
        except WorkbookError:  # raised again when the table is read, in its turn
            return
        key = (sheet, header_row - 1, _columns(c1, c2), n_rows)
        if key in self._prefetched:
            return
        if self._threads is None:
            # one thread: the main thread reads the other tables meanwhile
            self._threads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="brm_xl-read")
        if not self._prefetched:
            _DTYPE_LOG.addFilter(self._quiet)  # as `_typed_frame` does, for the thread's loads
        self._prefetched[key] = self._threads.submit(_typed_load, self.readable, *key)

    def _prefetched_load(self, key: tuple[str, int, str, int | None]) -> Any:
        """What `prefetch` loaded by these arguments (its exception raised), or None."""
        future = self._prefetched.pop(key, None)
        if future is None:
            return None
        if not self._prefetched:
            future.exception()  # the thread done: its log records have passed the filter
            _DTYPE_LOG.removeFilter(self._quiet)
        return future.result()

    def _where(self, spec: TableSpec) -> RawTable | tuple[str, int, int, int, list[str] | None,
                                                          int | None]:
        """Where a table's cells are: (sheet, header row, first and last column, headers
        (of an Excel table), rows (of an Excel table)), or the RawTable of a missing one."""
        table = self.package.table(spec.name)
        if table is not None:
            r1, c1, r2, c2 = table.bounds
            header_row = r1 if table.header_rows else r1 - 1
            n_rows = max(0, r2 - header_row - table.totals_rows)
            return table.sheet.name, header_row, c1, c2, list(table.columns), n_rows
        sheet = self.package.sheet(spec.name)
        if sheet is None:
            return self._missing(spec)
        first = self.package.first_filled_row(sheet)
        if first is None:
            return self._missing(spec, sheet.name, empty=True)
        header_row, cols = first
        return sheet.name, header_row, min(cols), max(cols), None, None

    def read_settings(self) -> tuple[str, list[tuple[int, str, str | None]]]:
        """The Settings sheet's name and its (row, key, value) rows, as text."""
        table = self.package.table("Settings")
        sheet = table.sheet if table else self.package.sheet("Settings")
        if sheet is None:
            return "Settings", []
        try:
            frame = self._excel_for(sheet.name, 0, 1, None).load_sheet(
                sheet.name, header_row=None, skip_rows=0, use_columns="A:B", dtypes="string",
            ).to_polars()
        except Exception as exc:
            raise WorkbookError(f"{self.path.name}: sheet {sheet.name} cannot be read "
                                f"({_first(exc)})") from None
        assert isinstance(frame, pl.DataFrame)
        if frame.width < 2:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("value"))
        rows = [
            (i + 1, key, value)
            for i, (key, value) in enumerate(frame.select(frame.columns[:2]).iter_rows())
            if key is not None
        ]
        return sheet.name, rows

    def _missing(self, spec: TableSpec, sheet: str | None = None, empty: bool = False) -> RawTable:
        frame = pl.DataFrame({ROW: pl.Series([], dtype=pl.Int64)})
        raw = RawTable(spec, sheet or spec.name, frame, found=False)
        if spec.required:
            wanted = ", ".join(c.name for c in spec.required_columns)
            what = (
                f"sheet {sheet} is empty" if empty
                else f"no Excel table or sheet named {spec.name}"
            )
            raw.problems.append(
                Problem(f"{quote_sheet(raw.sheet)}!A1",
                        f"{what}; it needs a header row with {wanted}", "missing-table")
            )
        return raw

    def _load(
        self, spec: TableSpec, sheet: str, header_row: int, c1: int, c2: int,
        headers: list[str] | None, n_rows: int | None, typed: bool = False,
    ) -> RawTable:
        use = _columns(c1, c2)
        last_row = header_row + n_rows if n_rows is not None else None
        excel = self._excel_for(sheet, c1, c2, last_row)
        found_typed = self._typed_frame(excel, spec, sheet, header_row - 1, use, n_rows,
                                        header_row, headers) if typed else None
        if found_typed is not None:
            frame, cell_errors = found_typed
        else:
            frame, cell_errors = self._frame(excel, sheet, header_row - 1, use, n_rows, header_row)
        headers = _headers(frame.columns[:-1]) if headers is None else headers
        raw = RawTable(spec, sheet, frame, header_row=header_row)
        by_key = header_positions(headers)
        renamed: dict[str, str] = {}
        for column in spec.columns:
            found = by_key.get(header_key(column.name))
            if found is None:
                if column.required:
                    raw.problems.append(Problem(
                        f"{quote_sheet(sheet)}!{col_letter(c1)}{header_row}",
                        f"{spec.name} has no column '{column.name}' (headers found: "
                        f"{', '.join(h for h in headers if h) or 'none'})",
                        "missing-column",
                    ))
                continue
            renamed[frame.columns[found]] = column.name
            raw.letters[column.name] = col_letter(c1 + found)
        keep = list(renamed) + [ROW]
        raw.frame = frame.select(keep).rename(renamed)
        raw.problems.extend(_cell_errors(raw, frame, renamed, cell_errors))
        return raw

    def _excel_for(self, sheet_name: str, c1: int, c2: int, last_row: int | None) -> Any:
        """The reader for a sheet: the workbook's own, or, when the sheet's used range is far
        larger than the cells wanted (a stray cell at XFD1048576), a copy of the workbook
        whose sheet holds only the wanted columns and rows."""
        sheet = self.package.sheet(sheet_name)
        if sheet is not None:
            within = self._within.get(sheet.part)
            if within is None:
                within = self._within[sheet.part] = self.package.surely_within(sheet, MAX_CELLS)
            if within:
                return self.excel
        used = self.package.used_range(sheet) if sheet is not None else None
        if sheet is None or used is None or _cells(used) <= MAX_CELLS:
            return self.excel
        r1, _, r2, _ = used
        wanted = (r1, c1, last_row or r2, c2)
        if _cells(wanted) > MAX_CELLS:
            raise WorkbookError(
                f"{self.path.name}: sheet {sheet.name} reaches {col_letter(used[3])}{r2}, "
                f"{_cells(wanted):,} cells in the columns brm_xl reads, more than it can hold "
                "in memory; move the usage into a CSV or Parquet file (Settings usage_files)")
        key = (sheet.part, c1, c2, last_row)
        if key not in self._trimmed:

            out = io.BytesIO()
            zipraw.rewrite(self.readable, out, {sheet.part: self.package.trimmed_sheet(
                sheet, c1, c2, last_row)}, set(), {})
            try:
                self._trimmed[key] = fastexcel.read_excel(out.getvalue())
            except Exception as exc:
                raise WorkbookError(f"{self.path.name}: cannot be read ({_first(exc)}); save it from "
                                "Excel as an Excel Workbook and try again") from None
        return self._trimmed[key]

    def _typed_frame(
        self, excel: Any, spec: TableSpec, sheet: str, header_row: int, use: str,
        n_rows: int | None, first_row: int, headers: list[str] | None,
    ) -> tuple[pl.DataFrame, list[Any]] | None:
        """The cells as `_frame` gives them, but each number, month or date column of the
        spec whose every cell is a number (an Excel date) as floats (datetimes): what
        fastexcel infers from every row when it may not mix kinds in a column. None when
        any column of the spec holds anything else (text in a number column, a number in
        an id column, an empty column, a TRUE, an error other than #N/A and its kin, which
        fastexcel would make a number or blank): the caller reads the text then."""
        quiet = _Unlogged()  # an empty column is text: fastexcel logs that it guessed so
        _DTYPE_LOG.addFilter(quiet)
        try:
            loaded = self._prefetched_load((sheet, header_row, use, n_rows)) \
                if excel is self.excel else None
            if loaded is None:
                loaded = _typed_load(excel, sheet, header_row, use, n_rows)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                batch, cell_errors = loaded.to_arrow_with_errors()
            frame = pl.from_arrow(batch)
        except Exception:  # mixed kinds in a column, #NAME? and the like: read as text
            return None
        finally:
            _DTYPE_LOG.removeFilter(quiet)
        assert isinstance(frame, pl.DataFrame)
        errors = getattr(cell_errors, "errors", None) or []
        if any(not _EXCEL_ERROR_CELL.match(str(err.detail)) for err in errors):
            return None  # a cell fastexcel could not make the column's type (a word, "NA")
        by_key = header_positions(_headers(frame.columns) if headers is None else headers)
        for column in spec.columns:
            found = by_key.get(header_key(column.name))
            if found is None or found >= frame.width:
                continue
            series = frame.to_series(found)
            if series.dtype == pl.String:
                continue
            if series.dtype == pl.Float64 and column.kind in TYPED_NUMBERS:
                if series.is_nan().any() or series.is_infinite().any():
                    return None  # "nan" typed as text, read as a float
            elif isinstance(series.dtype, pl.Datetime) and column.kind in (C.MONTH, C.DATE):
                if not series.drop_nulls().dt.year().is_between(1900, 2999).all():
                    return None  # the text says what is wrong with such a date
            else:
                return None
        strings = [c for c, dtype in frame.schema.items() if dtype == pl.String]
        return _numbered(frame, strings, first_row), errors

    def _frame(
        self, excel: Any, sheet: str, header_row: int | None, use: str, n_rows: int | None,
        first_row: int,
    ) -> tuple[pl.DataFrame, list[Any]]:
        """The cells as text, with each row's number, and fastexcel's list of error cells."""
        try:
            loaded = excel.load_sheet(
                sheet, header_row=header_row, use_columns=use, n_rows=n_rows,
                dtypes="string",
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                batch, cell_errors = loaded.to_arrow_with_errors()
            frame = pl.from_arrow(batch)
        except Exception as exc:  # fastexcel's own errors: unreadable sheet XML and the like
            raise WorkbookError(f"{self.path.name}: sheet {sheet} cannot be read ({_first(exc)}); "
                                "open the workbook in Excel, let it repair the file, save it "
                                "and run again") from None
        assert isinstance(frame, pl.DataFrame)
        return _numbered(frame, frame.columns, first_row), getattr(cell_errors, "errors", None) or []


def _columns(c1: int, c2: int) -> str:
    """fastexcel's use_columns for columns c1..c2 (0 is A)."""
    return col_letter(c1) if c1 == c2 else f"{col_letter(c1)}:{col_letter(c2)}"


def _typed_load(excel: Any, sheet: str, header_row: int, use: str, n_rows: int | None) -> Any:
    """A sheet's cells loaded typed (`_typed_frame`), by a fastexcel reader or from the
    bytes of a workbook (in `prefetch`'s thread, a reader of its own)."""
    if isinstance(excel, (bytes, memoryview)):
        excel = fastexcel.read_excel(bytes(excel))
    return excel.load_sheet(sheet, header_row=header_row, use_columns=use, n_rows=n_rows,
                            schema_sample_rows=None, dtype_coercion="strict")



def _numbered(frame: pl.DataFrame, texts: list[str], first_row: int) -> pl.DataFrame:
    """Text cells of only spaces as blank (fastexcel's own whitespace_as_null costs 40%
    more), and each row's Excel row number (`_row`)."""
    frame = frame.with_columns(
        pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c)).alias(c)
        for c in texts
    )
    return frame.with_columns(
        pl.int_range(first_row + 1, first_row + 1 + frame.height, dtype=pl.Int64).alias(ROW)
    )


# What calamine (fastexcel's reader) reads of a package, and how it finds it: the workbook
# part named workbook.xml, beside it _rels/workbook.xml.rels, sharedStrings.xml and
# styles.xml by those names, each sheet at the folder of workbook.xml joined to its Target
# as written (a Target with ../ is not resolved), of one of these kinds and states
_CALAMINE_KINDS = ("worksheet", "chartsheet", "dialogsheet")
_CALAMINE_STATES = (None, "visible", "hidden", "veryHidden")
_VIEW = "brm_xl_read"


def calamine_view(package: Package) -> tuple[dict[str, bytes], set[str], dict[str, bytes]] | None:
    """None when calamine finds every part where the relationships put it; else the parts to
    replace and add (zipraw.rewrite) for a copy, read only, in which it does: the workbook,
    its relationships (every Target absolute), shared strings and styles under one new
    folder, Excel 4.0 macro sheets left out of the sheet list (brm_xl reads none, and
    calamine refuses the whole file for one) and a state it does not know ("show") read
    as visible. The file itself is never changed by this."""
    workbook = package.workbook_part
    folder = posixpath.dirname(workbook)
    base = folder + "/" if folder else ""
    targets = {rid: target for rid, _, target, mode in package.workbook_rels
               if mode != "External"}
    kinds = {rid: rtype.rsplit("/", 1)[-1] for rid, rtype, _, _ in package.workbook_rels}
    written: dict[str, str] = {}
    rels = rels_path(workbook)
    if rels in package.names:
        for rel in package.xml(rels).iter(q("Relationship", NS_PKG_REL)):
            written[rel.get("Id", "")] = rel.get("Target", "")
    root = package.xml(workbook)
    needed = posixpath.basename(workbook) != "workbook.xml"
    sheets = root.find(q("sheets"))
    for el in list(sheets) if sheets is not None else []:
        rid = el.get(q("id", NS_R), "")
        target = written.get(rid, "")
        found = target[1:] if target.startswith("/") else base + target
        if found != targets.get(rid, found):
            needed = True
        if kinds.get(rid) not in _CALAMINE_KINDS:
            needed = True
            sheets.remove(el)
        elif el.get("state") not in _CALAMINE_STATES:
            needed = True
            el.set("state", "visible")
    shared = {}
    for kind in ("sharedStrings", "styles"):
        part = next((t for rid, t in targets.items() if kinds.get(rid) == kind), None)
        if part is not None and part in package.names:
            shared[kind] = part
            needed |= part != base + kind + ".xml"
    if not needed:
        return None
    rels_root = etree.Element(q("Relationships", NS_PKG_REL), nsmap={None: NS_PKG_REL})
    for rid, rtype, target, mode in package.workbook_rels:
        etree.SubElement(rels_root, q("Relationship", NS_PKG_REL), Id=rid, Type=rtype,
                         Target=target if mode == "External" else "/" + target,
                         **({"TargetMode": mode} if mode == "External" else {}))
    top = (f'<Relationships xmlns="{NS_PKG_REL}"><Relationship Id="rId1" '
           f'Type="{NS_R}/officeDocument" Target="/{_VIEW}/workbook.xml"/></Relationships>')
    add = {f"{_VIEW}/workbook.xml": to_xml(root),
           f"{_VIEW}/_rels/workbook.xml.rels": to_xml(rels_root)}
    for kind, part in shared.items():
        add[f"{_VIEW}/{kind}.xml"] = package.read(part)
    return {"_rels/.rels": top.encode()}, set(), add


# kinds a typed read may give as floats: those `kinds` parses as a number
TYPED_NUMBERS = (C.MONEY, C.SIGNED_MONEY, C.RATE, C.UNIT_COST, C.QUANTITY, C.SIGNED_QUANTITY,
                 C.COUNT, C.SCORE)
# how fastexcel names an Excel error cell it read as blank (#N/A, #DIV/0! and their kin)
_EXCEL_ERROR_CELL = re.compile(r"^Expected \w+ but got 'Error\(\w+\)'$")


_DTYPE_LOG = logging.getLogger("fastexcel.types.dtype")


class _Unlogged(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def _headers(columns: list[str]) -> list[str]:
    """A sheet's header row, as fastexcel named its columns."""
    return [("" if n.startswith("__UNNAMED__") else n) for n in columns]


def _first(exc: BaseException) -> str:
    """The first line of a native reader's message, without its "calamine error:" prefix."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text.removeprefix("calamine error: ")[:300]


def _cells(bounds: tuple[int, int, int, int]) -> int:
    r1, c1, r2, c2 = bounds
    return max(0, r2 - r1 + 1) * max(0, c2 - c1 + 1)


def _cell_errors(raw: RawTable, frame: pl.DataFrame, renamed: dict[str, str],
                 errors: list[Any]) -> list[Problem]:
    out = []
    for err in errors[:200]:
        row_off, col = err.offset_position
        source = frame.columns[col] if col < frame.width else None
        column = renamed.get(source or "")
        if column is None:
            continue
        detail = _excel_error_name(str(err.detail))
        raw.error_cells.add((column, raw.header_row + 1 + row_off))
        out.append(Problem(
            raw.where(column, raw.header_row + 1 + row_off),
            f"{column} holds an Excel error ({detail}); fix the formula or type a value",
            "excel-error",
        ))
    return out


_EXCEL_ERRORS = {
    "div0": "#DIV/0!", "na": "#N/A", "value": "#VALUE!", "ref": "#REF!", "name": "#NAME?",
    "num": "#NUM!", "null": "#NULL!", "gettingdata": "#GETTING_DATA",
}


def _excel_error_name(detail: str) -> str:
    """fastexcel says "Expected string but got 'Error(Div0)'"; Excel users know #DIV/0!."""
    inner = detail.rsplit("Error(", 1)[-1].split(")", 1)[0].casefold()
    return _EXCEL_ERRORS.get(inner, "an error value")
