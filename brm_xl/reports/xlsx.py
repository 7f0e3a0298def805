"""The bill of IT as a workbook for an agency's finance staff: native number formats, totals
as live formulas, a native chart. Every text cell is written as text, never a formula."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from brm_xl.relationships.maturity import level_label
from brm_xl.reports.charts import said
from brm_xl.reports.data import AgencyReport, Bill, Portfolio, VendorReport
from brm_xl.reports.palette import BLUE, MUTED
from brm_xl.workbook.cells import XLSXWRITER_OPTIONS


def bill_workbook(report: AgencyReport) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, XLSXWRITER_OPTIONS)
    book.set_properties({"title": f"Bill of IT: {report.agency.agency_name}, {report.period.title}",
                         "company": report.organization})
    f = _formats(book)
    sheet = book.add_worksheet("Bill of IT")
    agency, bill = report.agency, report.bill
    currency = report.currency
    sheet.write_string(0, 0, f"Bill of IT: {agency.agency_name} ({agency.agency_id})",
                       f["title"])
    sheet.write_string(1, 0, f"{report.period.title}, {report.organization}. "
                       f"Amounts in {currency}.", f["note"])
    headers = ["Tower", "Service", "Service name", "Unit", "Quantity", "Rate", "Amount"]
    sheet.write_row(3, 0, headers, f["head"])
    row = 4
    first = row
    for tower, lines, _total in bill.towers:
        for line in lines:
            sheet.write_string(row, 0, tower or "")
            sheet.write_string(row, 1, line.service_id or "")
            sheet.write_string(row, 2, line.service_name or "")
            sheet.write_string(row, 3, line.unit or "")
            whole = line.quantity == line.quantity.to_integral_value()
            sheet.write_number(row, 4, float(line.quantity), f["count" if whole else "qty"])
            sheet.write_number(row, 5, float(line.rate), f["rate"])
            sheet.write_number(row, 6, float(line.amount), f["money"])
            row += 1
    last = row - 1
    _as_table(sheet, 3, first, last, headers, "Charges")
    usage_total = _sum_cell(sheet, row, 6, first, last, bill.usage_total, f)
    sheet.write_string(row, 0, "Charges for services", f["total_label"])
    row += 2
    totals = [usage_total]
    if bill.allocations:  # shared costs, in the same amount column (G)
        cell, row = _reasoned(sheet, row, f, "Allocations", "Shared costs allocated",
                              ["Allocation month", "Shared cost", "How the share is worked out"],
                              [(a.period, a.service_name, a.reason, a.amount)
                               for a in bill.allocations], bill.allocations_total)
        totals.append(cell)
    cell, row = _reasoned(sheet, row, f, "Adjustments", "Adjustments",
                          ["Adjustment month", "Service", "Reason"],
                          [(a.period, a.service_id, a.reason, a.amount) for a in bill.adjustments],
                          bill.adjustments_total)
    totals.append(cell)
    for held in bill.held:  # shown, not summed: billed in a later month
        sheet.write_string(row, 0, f"Held for review ({held.period}), billed in "
                                   f"{held.billed_in}: {held.service_name or held.service_id}, "
                                   f"{held.amount:,.2f}", f["note"])
        row += 1
    row += 1 if bill.held else 0
    sheet.write_string(row, 0, "Total charged", f["total_label"])
    sheet.write_formula(row, 6, "=" + "+".join(totals), f["grand"],
                        float(bill.total))
    _tower_summary(book, sheet, bill, first, last, f)
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 14)
    sheet.set_column(2, 2, 38)
    sheet.set_column(3, 3, 16)
    sheet.set_column(4, 6, 15)
    sheet.set_column(8, 8, 22)
    sheet.set_column(9, 9, 15)
    sheet.freeze_panes(4, 0)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    book.close()
    return out.getvalue()


def portfolio_workbook(report: Portfolio) -> bytes:
    """The portfolio for finance: one native Excel table (filters on every column, so a BRM
    manager can show only their agencies), money and percentages as numbers with formats."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, XLSXWRITER_OPTIONS)
    book.set_properties({"title": f"Agency portfolio {report.period.label}",
                         "company": report.organization})
    f = _formats(book)
    pct = book.add_format({"num_format": "0.0"})
    sheet = book.add_worksheet("Portfolio")
    sheet.write_string(0, 0, f"Agency portfolio, {report.period.title}", f["title"])
    sheet.write_string(1, 0, f"{report.organization}. Amounts in {report.currency}; change "
                       "and CSAT in percent. Sorted by health, most at risk first.", f["note"])
    columns = [("Agency id", None, 12), ("Agency", None, 40), ("BRM manager", None, 20),
               ("Charges", f["money"], 15), ("Cost per user", f["money"], 13),
               ("Change %", pct, 10), ("Net value", f["money"], 15), ("CSAT %", pct, 9),
               ("Health", None, 10), ("Why", None, 70), ("Days since contact", f["count"], 12)]
    if report.has_practice:
        columns += [("Maturity ours", None, 18), ("Maturity theirs", None, 18),
                    ("Plans realised %", pct, 10), ("Overdue touchpoints", f["count"], 12)]
    first = 3
    for j, (_name, fmt, width) in enumerate(columns):
        sheet.set_column(j, j, width, fmt)
    for i, row in enumerate(report.rows, first + 1):
        values = [row.agency_id, row.agency_name, row.brm_manager, row.charges,
                  row.cost_per_user, row.change_pct, row.net_value, row.csat, row.health,
                  row.reasons, row.days_since_contact]
        if report.has_practice:
            values += [level_label(row.maturity_office) if row.maturity_office else None,
                       level_label(row.maturity_agency) if row.maturity_agency else None,
                       row.realised_pct, row.touchpoints_overdue]
        for j, value in enumerate(values):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(i, j, value)
            else:
                sheet.write_number(i, j, float(value), columns[j][1])
    last = first + max(1, len(report.rows))
    sheet.add_table(first, 0, last, len(columns) - 1, {
        "name": "Portfolio", "style": "Table Style Medium 2",
        "columns": [{"header": name} for name, _fmt, _width in columns]})
    sheet.freeze_panes(first + 1, 2)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    book.close()
    return out.getvalue()


def vendor_workbook(report: VendorReport) -> bytes:
    """The vendor's service levels for the review: one native table, a row per level and
    month of the last twelve, numbers as numbers."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, XLSXWRITER_OPTIONS)
    book.set_properties({"title": f"{report.vendor_name}: service levels, {report.period.title}",
                         "company": report.organization})
    f = _formats(book)
    sheet = book.add_worksheet("Service levels")
    sheet.write_string(0, 0, f"{report.vendor_name}: service levels, {report.period.title}",
                       f["title"])
    sheet.write_string(1, 0, f"{report.organization}. Grade {report.grade or '-'}, score "
                       f"{report.score if report.score is not None else '-'}.", f["note"])
    headers = ["Service level", "Kind", "Unit", "Better", "Minimum", "Expected", "Weight",
               "Month", "Actual", "Status", "Outcome"]
    first = 3
    row = first + 1
    for level in report.levels:
        for m in level.trend:
            if m.status == "missing":
                continue
            values: list[Any] = [level.name, level.kind, level.unit or "", level.direction,
                                 level.minimum, level.expected, level.weight, m.period,
                                 m.actual, m.status, level.outcome or ""]
            for j, value in enumerate(values):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(row, j, value)
                else:
                    sheet.write_number(row, j, float(value))
            row += 1
    sheet.add_table(first, 0, max(row - 1, first + 1), len(headers) - 1, {
        "name": "ServiceLevels", "style": "Table Style Medium 2",
        "columns": [{"header": h} for h in headers]})
    for j, width in enumerate([34, 9, 9, 8, 10, 10, 8, 9, 10, 11, 50]):
        sheet.set_column(j, j, width)
    sheet.freeze_panes(first + 1, 1)
    book.close()
    return out.getvalue()


def _reasoned(sheet: Any, row: int, f: dict[str, Any], name: str, label: str,
              first_headers: list[str], lines: list[tuple[str, str | None, str | None, Decimal]],
              total: Decimal) -> tuple[str, int]:
    """A table of lines with a reason (allocations, adjustments) in the columns of the
    charges above, so every amount is in one column (G); its total's cell and the next row."""
    headers = [*first_headers, "Unit", "Quantity", "Rate", "Amount"]
    sheet.write_row(row, 0, headers, f["head"])
    head = row
    row += 1
    for period, what, reason, amount in lines:
        sheet.write_string(row, 0, period)
        sheet.write_string(row, 1, what or "")
        sheet.write_string(row, 2, reason or "")
        sheet.write_number(row, 6, float(amount), f["money"])
        row += 1
    _as_table(sheet, head, head + 1, row - 1, headers, name)
    cell = _sum_cell(sheet, row, 6, head + 1, row - 1, total, f)
    sheet.write_string(row, 0, label, f["total_label"])
    return cell, row + 2


def _sum_cell(sheet: Any, row: int, col: int, first: int, last: int, value: Decimal,
              f: dict[str, Any]) -> str:
    cell = xl_rowcol_to_cell(row, col)
    if last >= first:
        span = f"{xl_rowcol_to_cell(first, col)}:{xl_rowcol_to_cell(last, col)}"
        sheet.write_formula(row, col, f"=SUM({span})", f["total"], float(value))
    else:
        sheet.write_number(row, col, 0, f["total"])
    return cell


def _tower_summary(book: Any, sheet: Any, bill: Bill, first: int, last: int,
                   f: dict[str, Any]) -> None:
    """Charges by tower as exact-match SUMPRODUCT formulas, and a column chart of them.
    (SUMIF would read a tower named `*` or `>0` as criteria and sum every line.)"""
    sheet.write_row(3, 8, ["Tower", "Amount"], f["head"])
    towers = bill.towers
    for i, (tower, _lines, total) in enumerate(towers):
        r = 4 + i
        sheet.write_string(r, 8, tower or "")
        towers_range = f"$A${first + 1}:$A${last + 1}"
        amounts = f"$G${first + 1}:$G${last + 1}"
        sheet.write_formula(r, 9, f"=SUMPRODUCT(--({towers_range}=I{r + 1}),{amounts})",
                            f["money"], float(total))
    if not towers:
        return
    _as_table(sheet, 3, 4, 3 + len(towers), ["Tower", "Amount"], "Towers", first_col=8)
    chart = book.add_chart({"type": "column"})
    chart.add_series({
        "name": "Charges by tower",
        "categories": ["Bill of IT", 4, 8, 3 + len(towers), 8],
        "values": ["Bill of IT", 4, 9, 3 + len(towers), 9],
        "fill": {"color": BLUE},
    })
    chart.set_title({"name": "Charges by tower"})
    chart.set_legend({"none": True})
    chart.set_y_axis({"num_format": "#,##0"})
    # its alternative text, from its data (charts.said), as every chart of every format
    words = said("Column chart of charges by tower", ["Tower", "Amount"],
                 [[tower or "", total] for tower, _lines, total in towers])["text"]
    sheet.insert_chart(5 + len(towers), 8, chart, {"x_scale": 1.1, "y_scale": 1.0,
                                                   "description": words})


def _as_table(sheet: Any, header: int, first: int, last: int, headers: list[str], name: str,
              first_col: int = 0) -> None:
    """Rows already written made an Excel table (its header, filters, a name a screen
    reader announces); none when it has no rows."""
    if last < first:
        return
    sheet.add_table(header, first_col, last, first_col + len(headers) - 1, {
        "name": name, "style": "Table Style Light 9", "autofilter": False,
        "columns": [{"header": h} for h in headers]})


def _formats(book: Any) -> dict[str, Any]:
    money = "#,##0.00_);(#,##0.00)"
    return {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "note": book.add_format({"italic": True, "font_color": MUTED}),
        "head": book.add_format({"bold": True, "bottom": 1, "bg_color": "#DDEBF7"}),
        "count": book.add_format({"num_format": "#,##0"}),
        "qty": book.add_format({"num_format": "#,##0.0##"}),
        "rate": book.add_format({"num_format": "#,##0.0000"}),
        "money": book.add_format({"num_format": money}),
        "total": book.add_format({"num_format": money, "bold": True, "top": 1}),
        "grand": book.add_format({"num_format": money, "bold": True, "top": 1, "bottom": 6}),
        "total_label": book.add_format({"bold": True}),
    }
