"""Small workbooks written inline in tests: tables as (headers, rows), placed anywhere."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_cell_to_rowcol

TESTS = Path(__file__).parent  # tests/: samples, golden files, the harnesses
ROOT = TESTS.parent  # the repository: README, .ci


@dataclass
class Block:
    """A table to write: on `sheet` at `at`, as an Excel table named `name` or as a plain range."""

    name: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]] = ()
    sheet: str | None = None
    at: str = "A1"
    as_table: bool = True


@dataclass
class Book:
    blocks: list[Block] = field(default_factory=list)
    settings: Sequence[tuple[str, Any]] = ()

    def add(self, *blocks: Block) -> Book:
        self.blocks.extend(blocks)
        return self


def write_book(path: Path, book: Book, extra: Any = None) -> Path:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                         "strings_to_urls": False})
    month = wb.add_format({"num_format": "yyyy-mm"})
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    sheets: dict[str, Any] = {}
    for block in book.blocks:
        name = block.sheet or block.name
        ws = sheets.get(name) or sheets.setdefault(name, wb.add_worksheet(name))
        r0, c0 = xl_cell_to_rowcol(block.at)
        for j, h in enumerate(block.headers):
            ws.write_string(r0, c0 + j, h)
        for i, row in enumerate(block.rows, 1):
            for j, v in enumerate(row):
                write_value(ws, r0 + i, c0 + j, v, month, date)
        if block.as_table:
            ws.add_table(r0, c0, r0 + max(1, len(block.rows)), c0 + len(block.headers) - 1, {
                "name": block.name, "header_row": True,
                "columns": [{"header": h} for h in block.headers],
            })
    if book.settings:
        ws = wb.add_worksheet("Settings")
        for i, (k, v) in enumerate(book.settings):
            ws.write_string(i, 0, k)
            write_value(ws, i, 1, v, month, date)
    if extra is not None:
        extra(wb, sheets)
    wb.close()
    return path


def write_value(ws: Any, r: int, c: int, v: Any, month: Any, date: Any) -> None:
    if v is None:
        return
    if isinstance(v, str):
        ws.write_string(r, c, v)
    elif isinstance(v, dt.datetime):
        ws.write_datetime(r, c, v, date)
    elif isinstance(v, dt.date):
        ws.write_datetime(r, c, dt.datetime(v.year, v.month, v.day), month if v.day == 1 else date)
    elif isinstance(v, Decimal):
        ws.write_number(r, c, float(v))
    elif isinstance(v, bool):
        ws.write_boolean(r, c, v)
    else:
        ws.write_number(r, c, v)


AGENCY_HEADERS = ["agency_id", "agency_name", "head_name", "head_email", "brm_manager",
                  "brm_email", "contact_cadence_days"]
RATE_HEADERS = ["service_id", "service_name", "tower", "unit", "rate", "effective_from",
                "effective_to"]


def agencies(*ids: str) -> Block:
    return Block("Agencies", AGENCY_HEADERS, [
        (a, f"Agency {a}", f"Head {a}", f"head@{a.lower()}.example", "Pat Manager",
         "pat@cio.example", 30) for a in ids])


def rate_card(*rows: Sequence[Any]) -> Block:
    return Block("RateCard", RATE_HEADERS, [
        (sid, f"Service {sid}", "End User", "unit-month", rate, start, end)
        for sid, rate, start, end in rows])


def usage(*rows: Sequence[Any]) -> Block:
    return Block("Usage", ["period", "agency_id", "service_id", "quantity"], rows)


def headcount(*rows: Sequence[Any]) -> Block:
    return Block("Headcount", ["period", "agency_id", "users"], rows)


def minimal_book(**overrides: Block) -> Book:
    """Two agencies, one service at $4.00, one month of usage and headcount."""
    blocks = {
        "Agencies": agencies("DOT", "DOR"),
        "RateCard": rate_card(("EMAIL", Decimal("4.00"), "2026-01", None)),
        "Usage": usage(("2026-09", "DOT", "EMAIL", 100), ("2026-09", "DOR", "EMAIL", 50)),
        "Headcount": headcount(("2026-09", "DOT", 100), ("2026-09", "DOR", 40)),
    }
    blocks.update(overrides)
    return Book(list(blocks.values()))


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def output_rows(path: Path, table: str) -> list[dict[str, Any]]:
    """An output table read back with the engine's own reader, as text."""
    from brm_xl.contract.tables import TEXT, Column, TableSpec
    from brm_xl.workbook.reader import WorkbookReader

    with WorkbookReader(path) as reader:
        found = reader.package.table(table)
        assert found is not None, f"no table {table}"
        spec = TableSpec(table, tuple(Column(c, TEXT, required=False) for c in found.columns))
        frame = reader.read(spec).frame.drop("_row")
    return list(frame.iter_rows(named=True))


def cli_in_process(*args: object) -> subprocess.CompletedProcess[str]:
    """`brm-xl ARGS` run in this process (the command line's own error handling, without
    the supervised child and a new interpreter): for the many quick commands a test of
    imports makes. A test of what the process does (signals, a kill, exit without a
    traceback from a crash) runs the real `python -m brm_xl` instead."""
    import sys

    from click.testing import CliRunner

    from brm_xl.cli import _main

    argv = ["brm-xl", *map(str, args)]
    runner = CliRunner()
    with runner.isolation() as streams:
        saved, sys.argv = sys.argv, argv
        try:
            code = _main() or 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.argv = saved
        out, err = streams[0].getvalue(), streams[1].getvalue()
    return subprocess.CompletedProcess(argv, code, out.decode("utf-8", "replace"),
                                       err.decode("utf-8", "replace"))
