"""The thin layer over an open Excel workbook (xlwings). Not run on the build machines:
everything it calls is tested headless; what only Excel can confirm is in the README's
hand-check list."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from brm_xl.workbook.cells import FORMATS, OutputTable

TEXT_FORMAT = "@"


class BookTarget:
    """An open xlwings Book: saved before the engine reads it, written through COM."""

    open_in_excel = True  # Excel holds the file; tables go in through Excel

    def __init__(self, book: Any):
        self.book = book
        self.answer = False

    @property
    def path(self) -> Path:
        return Path(self.book.fullname)

    def save(self) -> None:
        self.book.save()

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Excel holds the open book; it is written through COM, not as a file."""
        yield

    def tell(self, text: str) -> None:
        self.book.app.alert(text, title="brm_xl")

    def confirm(self, text: str) -> bool:
        return self.book.app.alert(text, title="brm_xl", buttons="yes_no") == "yes"

    def write(self, tables: list[OutputTable]) -> None:
        app = self.book.app
        app.screen_updating = False
        try:
            for table in tables:
                write_table(self.book, table)
            self.book.save()
            # the BRM functions read the saved file: recalculate so every BRM cell shows
            # the figures just written (they are volatile, and the cache sees the new save)
            app.calculate()
        finally:
            app.screen_updating = True


def excel_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


def write_table(book: Any, table: OutputTable) -> None:
    """Replace an output table's rows in the open book (a sheet and table of its name)."""
    names = [s.name for s in book.sheets]
    sheet = book.sheets[table.name] if table.name in names else \
        book.sheets.add(table.name, after=book.sheets[len(names) - 1])
    rows = [[excel_value(_month(v, c.fmt)) for v, c in zip(row, table.columns)]
            for row in plain_rows(table)]
    width = len(table.columns)
    existing = next((t for t in sheet.tables if t.name == table.name), None)
    if existing is not None and existing.data_body_range is not None:
        existing.data_body_range.clear_contents()
    top = sheet.range((1, 1))
    area = top.resize(max(2, len(rows) + 1), width)
    for j, out in enumerate(table.columns):  # text stays text: "=..." is never a formula
        code = FORMATS[out.fmt][0]
        body = sheet.range((2, j + 1)).resize(max(1, len(rows)), 1)
        body.number_format = TEXT_FORMAT if out.fmt in ("text", "id") else (code or "General")
    top.resize(1, width).value = [c.name for c in table.columns]
    if rows:
        sheet.range((2, 1)).value = rows
    if existing is None:
        sheet.tables.add(area, name=table.name)
        if table.hidden:  # BrmSeals: shown to VBA only (xlSheetVeryHidden = 2)
            sheet.api.Visible = 2
    else:
        existing.resize(area)
    for column, targets in (table.links or {}).items():
        j = [c.name for c in table.columns].index(column)
        for i, target in enumerate(targets):
            if target:
                cell = sheet.range((i + 2, j + 1))
                cell.add_hyperlink(f"#{target}", text_to_display=str(cell.value))


def plain_rows(table: OutputTable) -> list[Any]:
    """The table's rows as Python values (Decimal, date, str), whatever holds them."""
    if isinstance(table.rows, pl.DataFrame):
        return list(table.rows.select([c.name for c in table.columns]).iter_rows())
    return [tuple(row) for row in table.rows]


def _month(value: Any, fmt: str) -> Any:
    if fmt == "month" and isinstance(value, str) and len(value) >= 7:
        return dt.datetime(int(value[:4]), int(value[5:7]), 1)
    return value
