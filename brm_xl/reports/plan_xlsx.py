"""An agency's account plan as a workbook for the BRM manager: one sheet, an Excel table
each for the initiatives, the stakeholder map and the communications plan, numbers and
dates as such. Every text cell is written as text, never a formula."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import xlsxwriter

from brm_xl.relationships.maturity import level_label
from brm_xl.reports.account import AccountPlan
from brm_xl.reports.palette import MUTED
from brm_xl.workbook.cells import XLSXWRITER_OPTIONS


def plan_workbook(report: AccountPlan) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, XLSXWRITER_OPTIONS)
    book.set_properties({"title": f"Account plan: {report.agency_name}, as of {report.as_of}",
                         "company": report.organization})
    f = {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "note": book.add_format({"italic": True, "font_color": MUTED}),
        "head": book.add_format({"bold": True}),
        "money": book.add_format({"num_format": "#,##0.00_);(#,##0.00)"}),
        "pct": book.add_format({"num_format": "0.0"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "count": book.add_format({"num_format": "#,##0"}),
    }
    sheet = book.add_worksheet("Account plan")
    m = report.maturity
    sheet.write_string(0, 0, f"Account plan: {report.agency_name} ({report.agency_id})", f["title"])
    sheet.write_string(1, 0, f"{report.organization}. As of {report.as_of}; amounts in "
                       f"{report.currency}, shares in percent. Health {report.health or '-'}: "
                       f"{report.reasons or ''}", f["note"])
    sheet.write_string(2, 0, f"Maturity: our rating {level_label(m.office)}, their rating "
                       f"{level_label(m.agency)} (1 Ad hoc to 5 Strategic partner).", f["note"])
    row = 4
    row = _table(sheet, row, "Plans", f, [
        ("Plan", None), ("Fiscal year", None), ("Goal", None),
        ("Initiative", None), ("Value kind", None), ("Owner", None),
        ("Planned value", f["money"]), ("Realised to date", f["money"]),
        ("Realised %", f["pct"]), ("Status", None), ("Due", f["date"]),
        ("Overdue", None)],
        [[p.plan_id, p.fiscal_year, p.goal, p.initiative, p.value_kind, p.owner, p.planned,
          p.realised, p.realised_pct, p.status, p.due, "yes" if p.overdue else "no"]
         for p in report.plans])
    row = _table(sheet, row, "Stakeholders", f, [
        ("Name", None), ("Role", None), ("Influence", None), ("Support", None),
        ("Last met", f["date"]), ("Days since", f["count"]),
        ("Next step", None), ("Overdue", None)],
        [[s.name, s.role, s.influence, s.support, s.last_met, s.days_since, s.next_step,
          "yes" if s.overdue else "no"] for s in report.stakeholders])
    _table(sheet, row, "Touchpoints", f, [
        ("Touchpoint", None), ("Every days", f["count"]), ("Starts on", f["date"]),
        ("Last held", f["date"]), ("Next due", f["date"]), ("Overdue", None)],
        [[t.touchpoint, t.every_days, t.starts_on, t.last_held, t.due_on,
          "yes" if t.overdue else "no"] for t in report.touchpoints])
    for j, width in enumerate([22, 14, 34, 30, 13, 18, 15, 15, 11, 12, 12, 9]):
        sheet.set_column(j, j, width)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    book.close()
    return out.getvalue()


def _table(sheet: Any, row: int, name: str, f: dict[str, Any],
           columns: Sequence[tuple[str, Any]], rows: list[list[Any]]) -> int:
    """A titled Excel table from `row` down (a table needs a row: an empty one says so);
    returns the row below it, with a blank row between."""
    sheet.write_string(row, 0, name, f["head"])
    first = row + 1
    for i, values in enumerate(rows, first + 1):
        for j, value in enumerate(values):
            fmt = columns[j][1]
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(i, j, value)
            elif isinstance(value, dt.date):
                sheet.write_datetime(i, j, dt.datetime(value.year, value.month, value.day), fmt)
            elif isinstance(value, (int, Decimal)):
                sheet.write_number(i, j, float(value), fmt)
    if not rows:
        sheet.write_string(first + 1, 0, f"no {name.lower()} recorded yet")
    last = first + max(1, len(rows))
    sheet.add_table(first, 0, last, len(columns) - 1, {
        "name": name, "style": "Table Style Medium 2",
        "columns": [{"header": header} for header, _fmt in columns]})
    return last + 2
