"""Output tables and their cells as SpreadsheetML text, written fast and safely.

Text is always an inline string, never a formula: a comment that starts with `=`, `+`,
`-` or `@` stays text in Excel and LibreOffice. Characters XML cannot carry are dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from brm_xl.workbook.package import col_letter

# format name -> (Excel number format code or None for General, column width)
FORMATS: dict[str, tuple[str | None, float]] = {
    "text": (None, 16),
    "id": (None, 12),
    "month": ("yyyy-mm", 10),
    "date": ("yyyy-mm-dd", 12),
    "datetime": ("yyyy-mm-dd hh:mm:ss", 20),
    "money": ("#,##0.00_);(#,##0.00)", 14),
    "rate": ("#,##0.0000_);(#,##0.0000)", 12),
    "quantity": (None, 12),
    "int": ("#,##0", 10),
    "pct": ('0.0"%"', 10),
    "pct_fine": ('0.0###"%"', 10),  # a change too small for one decimal shows (0.0283%)
    "decimal2": ("0.00", 10),
    "bool": (None, 9),
}


# columns of long text get room to be read
WIDE = {"comment": 60, "reasons": 90, "reason": 55, "agency_name": 42, "service_name": 34,
        "input_rows": 80, "respondent": 28, "brm_manager": 20, "follow_up_note": 40}


@dataclass(frozen=True)
class OutColumn:
    name: str
    fmt: str = "text"

    @property
    def width(self) -> float:
        return WIDE.get(self.name) or max(FORMATS[self.fmt][1], len(self.name) + 3)


@dataclass
class OutputTable:
    """A table refresh writes: its name (also its sheet's), columns and rows of values."""

    name: str
    columns: tuple[OutColumn, ...]
    rows: Sequence[Sequence[Any]] | pl.DataFrame
    links: dict[str, Sequence[str | None]] | None = None  # column -> in-workbook targets
    hidden: bool = False  # a new sheet for it is "very hidden" (Excel shows it only to VBA)


_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BAD_XML_RUST = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"

# xlsxwriter's options for every workbook brm_xl builds whole (reports, `brm-xl new`, the
# demo): workbook text stays text, never a formula, a number or a link
XLSXWRITER_OPTIONS = {"in_memory": True, "strings_to_formulas": False,
                      "strings_to_numbers": False, "strings_to_urls": False}

MAX_TEXT = 32767


def escape(text: str) -> str:
    text = _BAD_XML.sub("", text)[:MAX_TEXT]
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def text_cell(ref: str, value: Any, style: int) -> str:
    text = escape(str(value))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{text}</t></is></c>'


_NUMBER = r"^-?\d+(\.\d+)?$"


def frame_of(table: OutputTable) -> pl.DataFrame:
    """The table's rows as a frame: text, numbers-as-text, dates, booleans by column format."""
    rows = table.rows
    if isinstance(rows, pl.DataFrame):
        return rows.select([c.name for c in table.columns])
    columns = {}
    for j, column in enumerate(table.columns):
        values = [row[j] for row in rows]
        typed = _TYPED.get(column.fmt)
        if typed is not None:
            kind, dtype = typed
            if all(v is None or isinstance(v, kind) for v in values):
                columns[column.name] = pl.Series(values, dtype=dtype)
            else:  # a log row someone retyped: kept as the text it is, never dropped
                columns[column.name] = pl.Series([None if v is None else str(v) for v in values],
                                                 dtype=pl.String)
        elif column.fmt in _TEXT_FORMATS:
            columns[column.name] = pl.Series([None if v is None else str(v) for v in values],
                                             dtype=pl.String)
        else:
            columns[column.name] = pl.Series(
                [None if v is None else _number_text(v) for v in values], dtype=pl.String)
    return pl.DataFrame(columns, schema={c: s.dtype for c, s in columns.items()})


_TEXT_FORMATS = ("text", "id", "month")
_TYPED: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "date": (dt.date, pl.Date), "datetime": (dt.datetime, pl.Datetime("us")),
    "bool": (bool, pl.Boolean)}


def _number_text(value: Any) -> str:
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _text_body(value: pl.Expr) -> pl.Expr:
    """What follows `<t` in a text cell: the space attribute and the escaped text."""
    clean = (value.str.replace_all(_BAD_XML_RUST, "").str.slice(0, MAX_TEXT)
             .str.replace_all("&", "&amp;", literal=True)
             .str.replace_all("<", "&lt;", literal=True)
             .str.replace_all(">", "&gt;", literal=True))
    space = pl.when(value != value.str.strip_chars()).then(pl.lit(' xml:space="preserve"')) \
        .otherwise(pl.lit(""))
    return pl.concat_str([space, pl.lit(">"), clean])


def _text_expr(value: pl.Expr, ref: pl.Expr, style: int, body: pl.Expr | None = None) -> pl.Expr:
    s = f' s="{style}"' if style else ""
    return pl.concat_str([pl.lit('<c r="'), ref, pl.lit(f'"{s} t="inlineStr"><is><t'),
                          _text_body(value) if body is None else body,
                          pl.lit("</t></is></c>")])


def _bodies(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """A text column of few distinct values with each cell's `_text_body` worked out once
    per value, as `_body_<name>`."""
    distinct = frame[name].drop_nulls().unique()
    if len(distinct) * 4 >= frame.height:
        return frame
    bodies = pl.DataFrame({"v": distinct}).select(_text_body(pl.col("v")).alias("v"))["v"]
    return frame.with_columns(pl.col(name).replace_strict(
        distinct, bodies, default=None, return_dtype=pl.String).alias("_body_" + name))


def _value_expr(number: pl.Expr, ref: pl.Expr, style: int, kind: str = "") -> pl.Expr:
    s = f' s="{style}"' if style else ""
    return pl.concat_str([pl.lit('<c r="'), ref, pl.lit(f'"{s}{kind}><v>'), number,
                          pl.lit("</v></c>")])


def _cell_expr(name: str, fmt: str, dtype: pl.DataType, letter: str, row: pl.Expr,
               style: int, body: pl.Expr | None = None) -> pl.Expr:
    col = pl.col(name)
    ref = pl.concat_str([pl.lit(letter), row])
    if fmt == "month" and dtype == pl.String:
        days = (pl.concat_str([col.str.slice(0, 7), pl.lit("-01")]).str.to_date("%Y-%m-%d",
                                                                                  strict=False)
                - pl.date(1899, 12, 30)).dt.total_days()
        cell = pl.when(days.is_not_null()).then(_value_expr(days.cast(pl.String), ref, style)) \
            .otherwise(_text_expr(col, ref, 0))
    elif fmt in ("text", "id") or dtype == pl.String and fmt not in _NUMERIC:
        cell = _text_expr(col.cast(pl.String), ref, style, body)
    elif dtype == pl.Boolean:
        cell = _value_expr(col.cast(pl.Int8).cast(pl.String), ref, style, ' t="b"')
    elif dtype == pl.Date or fmt in ("month", "date") and dtype != pl.String:
        days = (col.cast(pl.Date) - pl.date(1899, 12, 30)).dt.total_days()
        cell = _value_expr(days.cast(pl.String), ref, style)
    elif isinstance(dtype, pl.Datetime):
        micros = (col - pl.datetime(1899, 12, 30)).dt.total_microseconds()
        cell = _value_expr((micros / 86_400_000_000).round(8).cast(pl.String), ref, style)
    elif isinstance(dtype, pl.Decimal) and dtype.scale:
        # a decimal's text is always -?digits.digits: trailing zeros (and a bare point)
        # off, it is a number, so the text branch below is never taken
        text = col.cast(pl.String).str.strip_chars_end("0").str.strip_chars_end(".")
        cell = _value_expr(text, ref, style)
    else:
        text = col.cast(pl.String)
        if not dtype.is_integer():
            text = text.str.replace(r"(\.\d*?)0+$", "${1}").str.replace(r"\.$", "")
        cell = pl.when(text.str.contains(_NUMBER)).then(_value_expr(text, ref, style)) \
            .otherwise(_text_expr(text, ref, 0))
    return pl.when(col.is_null()).then(pl.lit("")).otherwise(cell)


_NUMERIC = ("money", "rate", "quantity", "int", "pct", "pct_fine", "decimal2")


def sheet_data(table: OutputTable, styles: dict[str, int], first_row: int = 1,
               first_col: int = 0, header: bool = True) -> bytes:
    """The <sheetData> children as UTF-8, built column-wise: a header row, then the rows."""
    letters = [col_letter(first_col + i) for i in range(len(table.columns))]
    head = b""
    if header:
        names = "".join(text_cell(f"{letters[i]}{first_row}", c.name, 0)
                        for i, c in enumerate(table.columns))
        head = f'<row r="{first_row}">{names}</row>'.encode()
    else:
        first_row -= 1
    frame = frame_of(table)
    if frame.height == 0:
        return head
    row = pl.int_range(first_row + 1, first_row + 1 + frame.height).cast(pl.String)
    schema = frame.schema
    for c in table.columns:
        if schema[c.name] == pl.String and c.fmt != "month" and (
                c.fmt in ("text", "id") or c.fmt not in _NUMERIC):  # _cell_expr's text cells
            frame = _bodies(frame, c.name)
    cells = [
        _cell_expr(c.name, c.fmt, schema[c.name], letter, row, styles.get(c.fmt, 0),
                   pl.col("_body_" + c.name) if "_body_" + c.name in frame.columns else None)
        for c, letter in zip(table.columns, letters)
    ]
    rows = frame.select(
        pl.concat_str([pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>")])
        .str.join("").cast(pl.Binary).alias("xml")
    )
    return head + rows.item()


def table_range(table: OutputTable, first_row: int = 1, first_col: int = 0) -> str:
    last_row = first_row + max(1, len(table.rows))  # a table keeps one (blank) data row
    return f"{col_letter(first_col)}{first_row}:{col_letter(first_col + len(table.columns) - 1)}{last_row}"
