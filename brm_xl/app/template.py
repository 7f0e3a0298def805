"""Build a new workbook on the contract: every input table, dropdowns, an Instructions sheet.

Used by `brm-xl new` (empty tables) and `brm-xl demo` (tables filled with demo data).
Written with XlsxWriter, which creates a fresh file; user workbooks are never rebuilt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from brm_xl.contract import tables as C
from brm_xl.workbook.cells import XLSXWRITER_OPTIONS
from brm_xl.workbook.guard import write_atomic

_FORMATS = {
    C.MONTH: "yyyy-mm", C.DATE: "yyyy-mm-dd", C.MONEY: "#,##0.00", C.SIGNED_MONEY: "#,##0.00",
    C.RATE: "#,##0.00##", C.UNIT_COST: "#,##0.00##", C.QUANTITY: "#,##0.##", C.COUNT: "#,##0",
    C.SCORE: "0",
}
_WIDTHS = {C.TEXT: 28, C.EMAIL: 28, C.ID: 12}

def instructions(macros: bool, specs: Sequence[C.TableSpec] = C.INPUT_TABLES,
                 ) -> list[tuple[str, str]]:
    """The Instructions sheet, made from the contract (every input table, every output,
    the monthly steps), in the words of the file it is in: buttons in a macro workbook
    (.xlsm), commands in a plain one (.xlsx)."""
    def act(button: str, command: str) -> str:
        return f"press {button} (or run {command})" if macros else f"run {command}"
    reports = act("Reports", "`brm-xl report FILE --period YYYY-MM`")
    steps = [
        f"1. Paste the month's usage and headcount (or name usage files), then "
        f"{act('Refresh', '`brm-xl refresh FILE`')}. Problems are listed as Sheet!Cell: "
        "what is wrong, all at once; nothing is written until they are fixed.",
        f"2. Check the bills, then {act('Close month', '`brm-xl close FILE --period YYYY-MM`')}"
        ": the month's bills are sealed as published; a later change goes through "
        "Adjustments in an open month.",
        "3. Post the journal to the ledger: `brm-xl journal FILE --period YYYY-MM`.",
        f"4. {reports[:1].upper()}{reports[1:]} and "
        f"{act('Email drafts', '`brm-xl email FILE --period YYYY-MM`')} for the agency heads.",
        "5. Import survey exports (`brm-xl import-survey FILE EXPORT`) and log contacts "
        "(`brm-xl log FILE ...`); call back everyone who scores below 4.",
        "6. Once a year: `brm-xl rates FILE` proposes rates that recover each service's cost.",
    ]
    rows: list[tuple[str, str]] = [("brm_xl chargeback workbook", "title"),
                                   ("Each month", "head"), *[(t, "") for t in steps],
                                   ("", ""), ("Input tables (you keep these)", "head")]
    for spec in specs:
        required = ", ".join(c.name for c in spec.columns if c.required)
        rows.append((f"{spec.name}: {spec.help}" + (f" Needs: {required}." if required else ""),
                     ""))
    rows.append(("Settings: options as key | value rows (organization, currency, "
                 "fiscal_year_start_month, sender_email, ...). Never put a password or a "
                 "secret here: brm_xl ignores them.", ""))
    rows += [("", ""), ("Output tables (brm_xl writes these; do not type in them)", "head")]
    rows += [(f"{name}: {what}.", "") for name, what in C.OUTPUT_TABLES.items()]
    rows += [("", ""), ("Months may be typed as 2026-09 or as any Excel date in that month. "
                        "Ids compare ignoring case.", "")]
    return rows


Extras = Callable[[Any, dict[str, Any]], None]


def build_workbook(path: Path, rows: dict[str, Sequence[Sequence[Any]]] | None = None,
                   settings: Sequence[tuple[str, Any]] = (),
                   specs: Sequence[C.TableSpec] = C.INPUT_TABLES,
                   extras: Extras | None = None) -> None:
    """Write a new contract workbook to `path` (atomically), with `rows` per table if given.

    `extras(book, sheets)` may add to the XlsxWriter book before it is closed (the
    template adds its VBA project, buttons and xlwings.conf sheet)."""
    rows = rows or {}
    write_atomic(Path(path), lambda out: _write(out, rows, settings, specs, extras))


def _write(out: Any, rows: dict[str, Sequence[Sequence[Any]]],
           settings: Sequence[tuple[str, Any]], specs: Sequence[C.TableSpec],
           extras: Extras | None = None) -> None:
    book = xlsxwriter.Workbook(out, XLSXWRITER_OPTIONS)
    book.set_properties({"created": dt.datetime(2026, 1, 1), "author": "brm_xl"})
    fmt = {kind: book.add_format({"num_format": code}) for kind, code in _FORMATS.items()}
    fmt["as_text"] = book.add_format({"num_format": "@"})
    macros = extras is not None  # the .xlsm template adds its VBA and buttons through extras
    sheets = {"Instructions": _instructions(book, macros, specs)}
    for spec in specs:
        sheets[spec.name] = _table_sheet(book, spec, rows.get(spec.name, ()), fmt)
    sheet = book.add_worksheet("Settings")
    sheet.write_row(0, 0, ["key", "value"], book.add_format({"bold": True}))
    values = dict(settings)
    for i, (key, (_kind, default)) in enumerate(C.SETTINGS_DEFAULTS.items(), 1):
        sheet.write_string(i, 0, key)
        value = values.get(key, default)
        if value is not None:
            _write_value(sheet, i, 1, value, None)
    sheet.set_column(0, 0, 26)
    sheet.set_column(1, 1, 36)
    sheets["Settings"] = sheet
    if extras is not None:
        extras(book, sheets)
    book.close()


def _instructions(book: Any, macros: bool, specs: Sequence[C.TableSpec]) -> Any:
    sheet = book.add_worksheet("Instructions")
    wrap = {"text_wrap": True, "valign": "top"}
    styles = {"title": book.add_format({"bold": True, "font_size": 16}),
              "head": book.add_format({"bold": True, "font_size": 12, **wrap}),
              "": book.add_format(wrap)}
    rows = instructions(macros, specs)
    for i, (text, style) in enumerate(rows):
        sheet.write_string(i, 0, text, styles[style])
        # a wrapped row is as tall as its lines (not every program grows it on opening)
        lines = max(1, -(-len(text) // 80))
        if lines > 1 or style == "title":
            sheet.set_row(i, 22 if style == "title" else 15 * lines)
    # one column that wraps: printed one page wide on A4 or Letter, portrait
    sheet.set_column(0, 0, 75)
    sheet.fit_to_pages(1, 0)
    sheet.set_portrait()
    sheet.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    sheet.print_area(0, 0, len(rows) - 1, 0)
    return sheet


def _table_sheet(book: Any, spec: C.TableSpec, data: Sequence[Sequence[Any]],
                 fmt: dict[str, Any]) -> Any:
    sheet = book.add_worksheet(spec.name)
    n = max(1, len(data))
    columns = []
    for j, column in enumerate(spec.columns):
        cell = fmt["as_text"] if column.as_text else fmt.get(column.kind)
        columns.append({"header": column.name, "format": cell})
        sheet.set_column(j, j, max(_WIDTHS.get(column.kind, 13), len(column.name) + 3), cell)
    sheet.add_table(0, 0, n, len(spec.columns) - 1,
                    {"name": spec.name, "columns": columns, "style": "Table Style Medium 2"})
    for i, record in enumerate(data, 1):
        for j, value in enumerate(record):
            if value is not None:
                _write_value(sheet, i, j, value, fmt.get(spec.columns[j].kind))
    sheet.freeze_panes(1, 0)
    _dropdowns(sheet, spec, n)
    return sheet


def _dropdowns(sheet: Any, spec: C.TableSpec, n: int) -> None:
    """Agency and service ids pick from the Agencies and RateCard tables."""
    sources = {"agency_id": "Agencies[agency_id]", "service_id": "RateCard[service_id]"}
    if spec.name in ("Agencies", "RateCard"):
        return
    for j, column in enumerate(spec.columns):
        if column.name in sources:
            sheet.data_validation(1, j, max(n, 1) + 500, j, {
                "validate": "list", "source": f'=INDIRECT("{sources[column.name]}")',
                "ignore_blank": True, "error_type": "warning",
                "error_title": f"Unknown {column.name}",
                "error_message": f"Pick a {column.name} from the "
                                 f"{sources[column.name].split('[')[0]} table.",
            })
        elif column.choices:
            sheet.data_validation(1, j, max(n, 1) + 500, j, {
                "validate": "list", "source": list(column.choices), "ignore_blank": True,
            })


def _write_value(sheet: Any, row: int, col: int, value: Any, cell_format: Any) -> None:
    if isinstance(value, str):
        sheet.write_string(row, col, value, cell_format)
    elif isinstance(value, (dt.datetime, dt.date)):
        sheet.write_datetime(row, col, value, cell_format)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value, cell_format)
    elif isinstance(value, (int, float, Decimal)):
        sheet.write_number(row, col, float(value), cell_format)
    else:
        sheet.write_string(row, col, str(value), cell_format)
