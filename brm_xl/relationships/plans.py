"""Account plans and the value they realised: value discovery and realisation, which the
NASCIO brief puts at the centre of BRM.

Each AccountPlans row is an initiative serving one of the agency's goals, with the value it
should deliver in a fiscal year. `realised_to_date` adds up its ValueRealised rows up to the
month of the day judged (value recorded after the due date counts: it was realised);
`realised_pct` is that over `planned_value`, in percent to one decimal, blank where
nothing was planned in money. A plan is overdue when its due date is before the day
judged and it is neither delivered nor dropped.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any, NamedTuple

from brm_xl.billing.chargeback import ZERO, cents, display_names, tenths
from brm_xl.contract.inputs import Inputs
from brm_xl.contract.periods import parse_period
from brm_xl.contract.raw import ROW
from brm_xl.contract.validate import unknown_ids
from brm_xl.problems import BrmError, Problem

CLOSED = ("delivered", "dropped")


class ValueRow(NamedTuple):
    """One ValueRealisation row: an account plan's initiative and what it realised."""

    plan_id: str
    agency_id: str
    fiscal_year: str
    initiative: str
    planned_value: Decimal
    realised_to_date: Decimal
    realised_pct: Decimal | None
    status: str
    due: dt.date | None
    overdue: bool


def pct_of(part: Decimal, whole: Decimal) -> Decimal | None:
    return tenths(part * 100 / whole) if whole else None


def value_realisation(inputs: Inputs, as_of: dt.date) -> list[ValueRow] | None:
    """One row per AccountPlans row, in the table's order; None without AccountPlans."""
    if not inputs.has("AccountPlans"):
        return None
    month = as_of.strftime("%Y-%m")
    realised: dict[str, Decimal] = defaultdict(lambda: ZERO)
    if inputs.has("ValueRealised"):
        for plan, period, amount in inputs.frame("ValueRealised").select(
                "plan_id", "period", "realised_value").iter_rows():
            if plan is not None and period is not None and amount is not None and period <= month:
                realised[plan] += cents(Decimal(amount))
    names = display_names(inputs)["agency"]
    out = []
    for r in inputs.frame("AccountPlans").sort(ROW).iter_rows(named=True):
        planned = cents(Decimal(r["planned_value"]))
        done = cents(realised[r["plan_id"]])
        out.append(ValueRow(
            r["plan_id_text"], names.get(r["agency_id"], r["agency_id_text"]),
            str(r["fiscal_year"]).strip().upper(), r["initiative"], planned, done,
            pct_of(done, planned), r["status"], r["due"],
            r["due"] is not None and r["due"] < as_of and r["status"] not in CLOSED))
    return out


def concerns(rows: list[ValueRow]) -> list[str]:
    """One concern at most: the agency's overdue plans, by initiative."""
    late = [r for r in rows if r.overdue]
    if not late:
        return []
    if len(late) == 1:
        return [f"1 overdue plan ({late[0].initiative}, due {late[0].due})"]
    return [f"{len(late)} overdue plans ({', '.join(r.initiative for r in late)})"]


def realised_share(rows: list[ValueRow]) -> Decimal | None:
    """What the plans still being pursued or delivered (not dropped) realised of what they
    planned, in percent; None where they planned nothing."""
    kept = [r for r in rows if r.status != "dropped"]
    return pct_of(sum((r.realised_to_date for r in kept), ZERO),
                  sum((r.planned_value for r in kept), ZERO))


def check_plans(inputs: Inputs) -> list[Problem]:
    """A fiscal year not written as one, and value realised for a plan that is not in
    AccountPlans: each an error at its cell."""
    problems: list[Problem] = []
    if inputs.has("AccountPlans"):
        table = inputs.tables["AccountPlans"]
        start = inputs.settings.fiscal_year_start_month
        for fy, row in table.frame.drop_nulls("fiscal_year").select("fiscal_year",
                                                                    ROW).iter_rows():
            if _fiscal_kind(str(fy), start) != "fiscal year":
                problems.append(Problem(table.where("fiscal_year", row), f"fiscal_year '{fy}' "
                                        "is not a fiscal year; write it as FY2027",
                                        "bad-fiscal-year"))
    if inputs.has("ValueRealised"):
        known = set(inputs.frame("AccountPlans")["plan_id"].drop_nulls().to_list()) \
            if inputs.has("AccountPlans") else set()
        problems += unknown_ids(inputs.tables["ValueRealised"], "plan_id", known, "AccountPlans")
    return problems


def _fiscal_kind(text: str, start: int) -> str:
    try:
        return parse_period(text, start).kind
    except BrmError:
        return ""


def plans_of(rows: list[ValueRow] | None, agency: str) -> list[ValueRow]:
    return [r for r in rows or [] if r.agency_id == agency]


def realised_by_month(inputs: Inputs, plan_ids: set[str], as_of: dt.date,
                      ) -> list[dict[str, Any]]:
    """The ValueRealised rows of some plans up to the month of `as_of`, by month."""
    if not inputs.has("ValueRealised"):
        return []
    month = as_of.strftime("%Y-%m")
    rows = [r for r in inputs.frame("ValueRealised").sort(ROW).iter_rows(named=True)
            if r["plan_id"] in plan_ids and r["period"] is not None and r["period"] <= month]
    return sorted(rows, key=lambda r: (r["period"], r[ROW]))
