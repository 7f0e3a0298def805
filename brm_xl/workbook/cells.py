"""Output tables and their cells as SpreadsheetML text, written fast and safely.

Text is always an inline string, never a formula: a comment that starts with `=`, `+`,
`-` or `@` stays text in Excel and LibreOffice. Characters XML cannot carry are dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterable, Sequence

from .package import col_letter

# format name -> (Excel number format code or None for General, column width)
FORMATS: dict[str, tuple[str | None, float]] = {
    "text": (None, 16),
    "id": (None, 12),
    "month": ("yyyy-mm", 10),
    "date": ("yyyy-mm-dd", 12),
    "datetime": ("yyyy-mm-dd hh:mm:ss", 20),
    "money": ("#,##0.00_);(#,##0.00)", 14),
    "rate": ("#,##0.0000_);(#,##0.0000)", 12),
    "quantity": ("#,##0.#########", 12),
    "int": ("#,##0", 10),
    "pct": ('0.0"%"', 10),
    "decimal2": ("0.00", 10),
    "bool": (None, 9),
}


@dataclass(frozen=True)
class OutColumn:
    name: str
    fmt: str = "text"


@dataclass
class OutputTable:
    """A table refresh writes: its name (also its sheet's), columns and rows of values."""

    name: str
    columns: tuple[OutColumn, ...]
    rows: Sequence[Sequence[Any]]


_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EPOCH = dt.date(1899, 12, 30)
MAX_TEXT = 32767


def escape(text: str) -> str:
    text = _BAD_XML.sub("", text)[:MAX_TEXT]
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def text_cell(ref: str, value: Any, style: int) -> str:
    text = escape(str(value))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def serial(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        delta = value - dt.datetime(1899, 12, 30)
        return repr(round(delta.days + delta.seconds / 86400, 8))
    return str((value - _EPOCH).days)


def _month_serial(value: str) -> str:
    return str((dt.date(int(value[:4]), int(value[5:7]), 1) - _EPOCH).days)


def _number_text(value: Any) -> str:
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def cell_writer(fmt: str, style: int) -> Callable[[str, Any], str]:
    """A function (cell ref, value) -> <c> element text for one column's format."""
    s = f' s="{style}"' if style else ""
    if fmt in ("text", "id"):
        return lambda ref, v: text_cell(ref, v, style)
    if fmt == "bool":
        return lambda ref, v: f'<c r="{ref}"{s} t="b"><v>{1 if v else 0}</v></c>'
    if fmt == "month":
        months: dict[str, str] = {}

        def month(ref: str, v: Any) -> str:
            if isinstance(v, str):
                num = months.get(v) or months.setdefault(v, _month_serial(v))
            else:
                num = serial(v)
            return f'<c r="{ref}"{s}><v>{num}</v></c>'
        return month
    if fmt in ("date", "datetime"):
        return lambda ref, v: f'<c r="{ref}"{s}><v>{serial(v)}</v></c>'

    def number(ref: str, v: Any) -> str:
        if isinstance(v, str):
            return text_cell(ref, v, style)
        return f'<c r="{ref}"{s}><v>{_number_text(v)}</v></c>'
    return number


def sheet_data(table: OutputTable, styles: dict[str, int], first_row: int = 1,
               first_col: int = 0) -> Iterable[str]:
    """The <sheetData> children: a header row, then one row per table row."""
    letters = [col_letter(first_col + i) for i in range(len(table.columns))]
    header = "".join(text_cell(f"{letters[i]}{first_row}", c.name, 0)
                     for i, c in enumerate(table.columns))
    yield f'<row r="{first_row}">{header}</row>'
    writers = [cell_writer(c.fmt, styles.get(c.fmt, 0)) for c in table.columns]
    columns = list(zip(letters, writers))
    r = first_row
    for values in table.rows:
        r += 1
        cells = "".join(
            w(f"{letter}{r}", v) for (letter, w), v in zip(columns, values) if v is not None
        )
        yield f'<row r="{r}">{cells}</row>'


def table_range(table: OutputTable, first_row: int = 1, first_col: int = 0) -> str:
    last_row = first_row + max(1, len(table.rows))  # a table keeps one (blank) data row
    return f"{col_letter(first_col)}{first_row}:{col_letter(first_col + len(table.columns) - 1)}{last_row}"
