"""Budgets: what each agency budgeted for shared IT in a fiscal year, against what it has
been charged so far and a straight-line projection to the year's end.

The projection is the year to date divided by the months of the year elapsed (through the
month, counted from the fiscal year's start), times 12, rounded half up to cents.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .periods import fiscal_year_of, month_index

CENT = Decimal("0.01")


def budgets_of(inputs: Any) -> dict[tuple[str, str], Decimal]:
    """(FY label, agency) -> budget (tower rows added up)."""
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    if inputs.has("Budgets"):
        for fy, agency, amount in inputs.frame("Budgets").select(
                "fiscal_year", "agency_id", "amount").iter_rows():
            out[(str(fy).strip().upper(), agency)] += amount
    return out


def budget_columns(inputs: Any, summary: list[Any]) -> dict[tuple[str, str], tuple[Any, Any, Any]]:
    """(period, agency) -> (fy_budget, fy_to_date, fy_projected); empty without Budgets."""
    if not inputs.has("Budgets"):
        return {}
    start = inputs.settings.fiscal_year_start_month
    budgets = budgets_of(inputs)
    charged: dict[tuple[str, str], Decimal] = {(r.period, r.agency_id): r.charges for r in summary}
    out = {}
    for (period, agency) in charged:
        fy = fiscal_year_of(period, start)
        elapsed = month_index(period) - fy.first + 1
        to_date = sum((charged.get((m, agency), Decimal(0)) for m in fy.months
                       if month_index(m) <= month_index(period)), Decimal("0.00"))
        projected = (to_date * 12 / elapsed).quantize(CENT, ROUND_HALF_UP)
        out[(period, agency)] = (budgets.get((fy.label, agency)), to_date, projected)
    return out
