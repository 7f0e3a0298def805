"""Budgets: what each agency budgeted for shared IT in a fiscal year, against what it has
been charged so far and a straight-line projection to the year's end.

An agency's budget for a year is its total row (tower blank) where it has one, else its
tower rows added up. Tower rows beside a total row are the total's parts, never added to
it: they must add up to it, or the total's amount cell is an error. The projection is the
year to date over the agency's own months in the year (from its first bill in the year
through the month; months before it are not zeros), times 12, rounded half up to cents;
blank where the agency has no budget for the year or no bill in it yet.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any, NamedTuple

from brm_xl.contract.inputs import Inputs
from brm_xl.contract.money import cents
from brm_xl.contract.periods import fiscal_year_of, month_index, parse_period
from brm_xl.contract.raw import ROW
from brm_xl.contract.validate import unknown_ids
from brm_xl.problems import BrmError, Problem


class BudgetRows(NamedTuple):
    """One agency's rows for one fiscal year: (sheet row, amount, tower) each."""

    totals: list[tuple[int, Decimal]]
    towers: list[tuple[int, Decimal, str]]


def budget_rows(inputs: Inputs) -> dict[tuple[str, str], BudgetRows]:
    """(FY label, agency id) -> its total rows and tower rows."""
    out: dict[tuple[str, str], BudgetRows] = defaultdict(lambda: BudgetRows([], []))
    frame = inputs.frame("Budgets").drop_nulls(["fiscal_year", "agency_id", "amount"])
    for fy, agency, amount, tower, row in frame.select(
            "fiscal_year", "agency_id", "amount", "tower", ROW).iter_rows():
        rows = out[(str(fy).strip().upper(), agency)]
        if tower is None or not str(tower).strip():
            rows.totals.append((row, amount))
        else:
            rows.towers.append((row, amount, str(tower).strip()))
    return out


def budgets_of(inputs: Inputs) -> dict[tuple[str, str], Decimal]:
    """(FY label, agency) -> budget: the total row, else the tower rows added up."""
    if not inputs.has("Budgets"):
        return {}
    return {key: sum((a for _, a in rows.totals), Decimal(0)) if rows.totals
            else sum((a for _, a, _ in rows.towers), Decimal(0))
            for key, rows in budget_rows(inputs).items()}


def check_budgets(inputs: Inputs) -> list[Problem]:
    """Towers that do not add up to their total, a fiscal year that is not one, an agency
    that is not in Agencies: each an error at its cell."""
    if not inputs.has("Budgets"):
        return []
    table = inputs.tables["Budgets"]
    problems = unknown_ids(table, "agency_id", set(inputs.frame("Agencies")["agency_id"]),
                           "Agencies")
    start = inputs.settings.fiscal_year_start_month
    for fy, row in table.frame.drop_nulls("fiscal_year").select("fiscal_year", ROW).iter_rows():
        try:
            kind = parse_period(str(fy), start).kind
        except BrmError:
            kind = ""
        if kind != "fiscal year":
            problems.append(Problem(table.where("fiscal_year", row), f"fiscal_year '{fy}' is "
                                    "not a fiscal year; write it as FY2027", "bad-fiscal-year"))
    for (fy, agency), rows in sorted(budget_rows(inputs).items()):
        total = sum((a for _, a in rows.totals), Decimal(0))
        towers = sum((a for _, a, _ in rows.towers), Decimal(0))
        if rows.totals and rows.towers and total != towers:
            parts = " + ".join(f"{a:,.2f} {t}" for _, a, t in rows.towers)
            problems.append(Problem(
                table.where("amount", rows.totals[0][0]),
                f"{agency}'s {fy} budget is {total:,.2f}, but its tower rows add up to "
                f"{towers:,.2f} ({parts}); towers are the total's parts: make them add up to "
                "it, or keep the total or the towers only", "budget-towers"))
    return problems


def budget_columns(inputs: Inputs, summary: list[Any]) -> dict[tuple[str, str], tuple[Any, Any, Any]]:
    """(period, agency) -> (fy_budget, fy_to_date, fy_projected); empty without Budgets."""
    if not inputs.has("Budgets"):
        return {}
    start = inputs.settings.fiscal_year_start_month
    budgets = budgets_of(inputs)
    charged: dict[tuple[str, str], Decimal] = {(r.period, r.agency_id): r.charges for r in summary}
    first_bill: dict[tuple[str, str], int] = {}  # (FY, agency) -> its first month with a bill
    for (period, agency), amount in sorted(charged.items()):
        if amount:
            first_bill.setdefault((fiscal_year_of(period, start).label, agency), month_index(period))
    out = {}
    for (period, agency) in charged:
        fy = fiscal_year_of(period, start)
        to_date = sum((charged.get((m, agency), Decimal(0)) for m in fy.months
                       if month_index(m) <= month_index(period)), Decimal("0.00"))
        budget = budgets.get((fy.label, agency.upper()))
        first = first_bill.get((fy.label, agency))
        projected = None
        if budget is not None and first is not None and first <= month_index(period):
            months = month_index(period) - first + 1
            projected = cents(to_date * 12 / months)
        out[(period, agency)] = (budget, to_date, projected)
    return out
