"""What a value-of-IT report says, as plain data: one agency's figures and statewide aggregates.

Pure functions over a `Model`. An agency's report is built only from that agency's rows
and from statewide totals, so nothing of another agency can reach it; the portfolio
report (for the CIO) is the one view across agencies.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple

import polars as pl

from brm_xl.billing.chargeback import ALLOCATION_LINE, USAGE_LINE
from brm_xl.billing.review import HELD_FROM, held_lines
from brm_xl.contract.money import ZERO, as_money, cents, tenths
from brm_xl.contract.periods import Comparison, Period, comparison, fiscal_year_of, month_of
from brm_xl.contract.tables import BRM_TABLES, CHANNELS
from brm_xl.pipeline.model import Model
from brm_xl.relationships.comms import Forum
from brm_xl.relationships.contacts import of_agency as contacts_of_agency
from brm_xl.relationships.engagement import IN_PERSON
from brm_xl.relationships.maturity import Maturity
from brm_xl.relationships.satisfaction import average, csat, is_open, known_by
from brm_xl.reports import account
from brm_xl.reports.account import AccountPlan, PlanLine
from brm_xl.vendors.scorecards import services_of, status_of

# The report model: what templates, the bill workbook, emails, the API and the worksheet
# functions read. Frozen records of plain values (they also travel to render workers).

@dataclass(frozen=True)
class AgencyContact:
    agency_id: str
    agency_name: str
    head_name: str | None
    head_email: str | None
    brm_manager: str | None
    brm_email: str | None


@dataclass(frozen=True)
class Budget:
    fiscal_year: str
    amount: Decimal
    to_date: Decimal
    projected: Decimal

    @property
    def over(self) -> bool:
        return self.projected > self.amount


@dataclass(frozen=True)
class Headline:
    """An agency's period figures: what it paid (AgencySummary's charges, adjustments
    included), cost per user against last period and statewide, and the value."""

    paid: Decimal
    prior_paid: Decimal | None
    cost_per_user: Decimal | None
    prior_cost_per_user: Decimal | None
    change_pct: Decimal | None
    statewide_cost_per_user: Decimal | None
    vs_statewide_pct: Decimal | None
    standalone: Decimal | None
    net_value: Decimal | None
    users: int | None
    months: int
    comparison: str | None  # says which months were compared when the period is partial
    budget: Budget | None = None  # the fiscal year's budget, to date and projected


class Component(NamedTuple):
    name: str
    amount: Decimal


@dataclass(frozen=True)
class Value:
    components: tuple[Component, ...]  # standalone cost by component, largest first
    standalone: Decimal
    charged: Decimal
    net_value: Decimal | None
    # the cloud lines with a provider's list price: what they would cost at it, and what
    # the state's agreements saved on them (AgencySummary's list_cost and discount)
    list_cost: Decimal | None = None
    saved: Decimal | None = None


@dataclass(frozen=True)
class BillLine:
    service_id: str | None
    service_name: str | None
    unit: str | None
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    months: str | None = None  # the months this rate covers, when the period has several


class TowerBill(NamedTuple):
    tower: str | None
    lines: tuple[BillLine, ...]
    total: Decimal


@dataclass(frozen=True)
class Adjustment:
    period: str
    service_id: str | None
    amount: Decimal
    reason: str | None


@dataclass(frozen=True)
class Allocation:
    """A share of a cost pool billed regardless of use (Allocations)."""

    period: str
    service_name: str | None
    amount: Decimal
    reason: str | None


@dataclass(frozen=True)
class HeldLine:
    """A line taken out of its month for review, and the month it is billed in."""

    period: str
    service_id: str | None
    service_name: str | None
    amount: Decimal
    billed_in: str


@dataclass(frozen=True)
class Bill:
    towers: tuple[TowerBill, ...]
    adjustments: tuple[Adjustment, ...]  # adjustments, and lines billed after a review hold
    usage_total: Decimal
    adjustments_total: Decimal
    total: Decimal
    allocations: tuple[Allocation, ...] = ()
    allocations_total: Decimal = ZERO
    held: tuple[HeldLine, ...] = ()  # held out of the period for review: billed later


@dataclass(frozen=True)
class TrendPoint:
    period: str
    agency: Decimal | None
    statewide: Decimal | None


@dataclass(frozen=True)
class SurveyPoint:
    period: str
    csat: Decimal | None
    responses: int


@dataclass(frozen=True)
class Satisfaction:
    responses: int
    average: Decimal | None
    csat: Decimal | None
    trend: tuple[SurveyPoint, ...]
    follow_ups_closed: int
    follow_ups_open: int
    below: int
    comments: tuple[str, ...]


class ChannelCount(NamedTuple):
    channel: str
    contacts: int


@dataclass(frozen=True)
class OpenAction:
    item: str
    owner: str | None
    due: dt.date | None
    overdue: bool


@dataclass(frozen=True)
class Engagement:
    by_channel: tuple[ChannelCount, ...]
    contacts: int
    last_in_person: dt.date | None
    open_actions: tuple[OpenAction, ...]  # the six due soonest
    open_action_count: int
    health: str | None
    reasons: str | None


@dataclass(frozen=True)
class Outcome:
    initiative: str
    outcome: str | None
    measure: str | None
    baseline: str | None
    target: str | None
    actual: str | None
    status: str
    as_of: dt.date | None


@dataclass(frozen=True)
class VendorLine:
    """A vendor as the agency report and the portfolio show it, for a period."""

    vendor_id: str
    vendor_name: str
    services: str  # the services of the contract(s) behind it, as billed
    grade: str | None  # the period's last month with results
    score: Decimal | None
    change: Decimal | None  # score against the month before (points)
    credits: Decimal  # in the period: the agency's shares (agency report) or all (portfolio)
    open_actions: int
    reasons: str  # the office's: service levels and corrective actions
    stood_out: str = ""  # the agency's: what its report says (no corrective actions)


def agency_reasons(reasons: str) -> str:
    """What an agency head is told of a vendor: its service levels, never the office's
    corrective actions with it (one rule, for every format of the agency's report)."""
    parts = [p for p in reasons.split("; ") if "corrective action" not in p
             and not p.startswith("grade capped")]
    return "; ".join(parts) or "all service levels met"


@dataclass(frozen=True)
class Dispute:
    dispute_id: str
    period: str
    service_id: str | None
    amount: Decimal
    reason: str
    raised_on: dt.date
    status: str
    resolution: str | None
    credited_in: str | None


@dataclass(frozen=True)
class ReportHead:
    """What every report carries: who sends it, the currency, the period and the day."""

    organization: str
    currency: str
    period: Period
    as_of: dt.date


@dataclass(frozen=True)
class AgencyReport(ReportHead):
    kind: ClassVar[str] = "agency"
    agency: AgencyContact
    headline: Headline
    value: Value
    bill: Bill
    trend: tuple[TrendPoint, ...]
    satisfaction: Satisfaction | None
    engagement: Engagement | None
    outcomes: tuple[Outcome, ...]
    disputes: tuple[Dispute, ...] = ()  # the agency's disputes, open and resolved
    vendors: tuple[VendorLine, ...] = ()  # the vendors behind the services it used
    # The two audiences, declared once: an agency head sees its own figures, statewide
    # aggregates, its vendors' grades, its own credits and what stood out. Beyond that:
    internal: bool = False  # the office's working view (health, follow-ups): Settings
    #                         show_health_to_agencies
    office_view: bool = False  # the office's own details (vendors' corrective actions,
    #                            scores and changes, the tool's version): Settings
    #                            show_internal_to_agencies
    seal: str = ""  # the seal of the close of a one-month period, once it is closed
    plans: tuple[PlanLine, ...] | None = None  # what we planned together; None: no AccountPlans
    maturity: Maturity | None = None  # both sides' ratings: the office's view (internal)


@dataclass(frozen=True)
class PortfolioRow:
    agency_id: str
    agency_name: str
    brm_manager: str | None
    charges: Decimal
    cost_per_user: Decimal | None
    change_pct: Decimal | None
    net_value: Decimal | None
    csat: Decimal | None
    health: str | None
    reasons: str | None
    days_since_contact: int | None
    over_budget: bool | None = None  # projected over the fiscal year's budget
    maturity_office: int | None = None
    maturity_agency: int | None = None
    realised_pct: Decimal | None = None  # the fiscal year's plans: realised of planned
    touchpoints_overdue: int | None = None


# Health by severity, for sorting the portfolio: what needs the CIO first
SEVERITY = {"At risk": 0, "Watch": 1, "Healthy": 2, "Not rated": 3, None: 4}


@dataclass(frozen=True)
class Portfolio(ReportHead):
    kind: ClassVar[str] = "portfolio"
    rows: tuple[PortfolioRow, ...]
    total: Decimal
    net_value: Decimal | None
    statewide_cost_per_user: Decimal | None
    at_risk: int
    vendors: tuple[VendorLine, ...] = ()
    forums: tuple[Forum, ...] = ()  # the forums not met within their every_days
    has_practice: bool = False  # the workbook keeps BRM tables: show their columns


@dataclass(frozen=True)
class LevelMonth:
    period: str
    actual: Decimal | None
    status: str  # met, at minimum, missed, excluded, missing


@dataclass(frozen=True)
class VendorLevel:
    sl_id: str
    name: str
    kind: str
    unit: str | None
    direction: str
    minimum: Decimal
    expected: Decimal
    weight: Decimal
    outcome: str | None
    latest: LevelMonth | None
    trend: tuple[LevelMonth, ...]  # the 12 months ending with the period
    missed_in_period: int


@dataclass(frozen=True)
class VendorAction:
    cap_id: str
    opened_on: dt.date
    issue: str
    action: str | None
    owner: str | None
    due_on: dt.date | None
    closed_on: dt.date | None
    overdue: bool


@dataclass(frozen=True)
class VendorReport(ReportHead):
    """The quarterly business review pack for one vendor."""

    kind: ClassVar[str] = "vendor"
    vendor_id: str
    vendor_name: str
    vendor_manager: str | None
    contracts: str
    services: str
    grade: str | None
    score: Decimal | None
    reasons: str
    scores: tuple[tuple[str, Decimal | None, str | None], ...]  # (month, score, grade)
    levels: tuple[VendorLevel, ...]
    credits: Decimal
    credit_lines: tuple[tuple[str, str, Decimal], ...]  # (month, level, credit)
    actions: tuple[VendorAction, ...]
    csat: Decimal | None  # agencies' satisfaction with the vendor's services, in the period
    responses: int


Report = AgencyReport | Portfolio | VendorReport | AccountPlan


def vendor_ids(model: Model, period: Period) -> list[str]:
    return sorted({c.vendor_id for c in model.chargeback.scorecard or [] if c.period in period})


def vendor_report(model: Model, vendor: str, period: Period) -> VendorReport:
    """Everything a vendor's review shows: its levels, scores, credits and actions."""
    inputs, settings = model.inputs, model.inputs.settings
    key = vendor.upper()
    record = next(r for r in inputs.frame("Vendors").iter_rows(named=True) if r["vendor_id"] == key)
    contracts = [c for c in inputs.frame("Contracts").iter_rows(named=True) if c["vendor_id"] == key]
    ids = {c["contract_id"] for c in contracts}
    services = sorted({s for c in contracts for s in services_of(c["services"])})
    cards = sorted((c for c in model.chargeback.scorecard or [] if c.vendor_id.upper() == key),
                   key=lambda c: c.period)
    inside = [c for c in cards if c.period in period]
    last = inside[-1] if inside else None
    months = [month_of(i) for i in range(period.last - 11, period.last + 1)]
    results: dict[tuple[str, str], dict[str, Any]] = {
        (r["sl_id"], r["period"]): r for r in inputs.frame("SLResults").iter_rows(named=True)}
    levels = []
    for lv in inputs.frame("ServiceLevels").sort("_row").iter_rows(named=True):
        if lv["contract_id"] not in ids:
            continue

        def month(m: str, lv: dict[str, Any] = lv) -> LevelMonth:
            r = results.get((lv["sl_id"], m))
            if r is None:
                return LevelMonth(m, None, "missing")
            state = "excluded" if r["excluded"] else status_of(
                r["actual"], lv["minimum"], lv["expected"], lv["direction"])
            return LevelMonth(m, r["actual"], state)

        trend = tuple(month(m) for m in months)
        inside_months = [t for t in trend if t.period in period and t.status != "missing"]
        levels.append(VendorLevel(lv["sl_id_text"], lv["name"], lv["kind"], lv["unit"],
                                  lv["direction"], lv["minimum"], lv["expected"], lv["weight"],
                                  lv["outcome"], inside_months[-1] if inside_months else None,
                                  trend, sum(t.status == "missed" for t in inside_months)))
    credit_rows = [c for c in model.chargeback.service_credits or []
                   if c.vendor_id.upper() == key and c.period in period]
    lines: dict[tuple[str, str], Decimal] = {}
    for c in credit_rows:
        lines[(c.period, c.sl_name)] = c.credit
    actions = tuple(VendorAction(a["cap_id_text"], a["opened_on"], a["issue"], a["action"],
                                 a["owner"], a["due_on"], a["closed_on"],
                                 bool(a["due_on"] and not a["closed_on"] and a["due_on"] < model.as_of))
                    for a in (inputs.frame("CorrectiveActions").sort("opened_on").iter_rows(named=True)
                              if inputs.has("CorrectiveActions") else [])
                    if a["vendor_id"] == key)
    scores: list[int] = []
    if inputs.has("Survey") and "service_id" in inputs.frame("Survey").columns:
        scores = [r["score"] for r in known_by(inputs.frame("Survey").to_dicts(), model.as_of)
                  if r["service_id"] in services and r["submitted_on"].strftime("%Y-%m") in period]
    return VendorReport(
        organization=settings.organization, currency=settings.currency, period=period,
        as_of=model.as_of, vendor_id=record["vendor_id_text"], vendor_name=record["vendor_name"],
        vendor_manager=record["vendor_manager"],
        contracts=", ".join(c["contract_name"] for c in contracts), services=", ".join(services),
        grade=last.grade if last else None, score=last.score if last else None,
        reasons=last.reasons if last else "no results in the period",
        scores=tuple((c.period, c.score, c.grade) for c in cards if c.period in months),
        levels=tuple(levels), credits=sum(lines.values(), Decimal("0.00")),
        credit_lines=tuple((p, n, v) for (p, n), v in sorted(lines.items())),
        actions=actions, csat=csat(scores), responses=len(scores))


def pct_change(now: Decimal | None, before: Decimal | None) -> Decimal | None:
    if now is None or not before:
        return None
    return tenths((now / before - 1) * 100)


def cost_per_user_of(rows: list[Any]) -> Decimal | None:
    """Charges per user per month over the months that have users."""
    counted = [r for r in rows if r.users]
    users = sum(r.users for r in counted)
    return cents(sum((r.charges for r in counted), ZERO) / users) if users else None


def _summary_in(model: Model, agency: str | None, period: Period) -> list[Any]:
    return [r for r in model.chargeback.summary
            if r.period in period and (agency is None or r.agency_id == agency)]


def statewide_cost_per_user(model: Model, period: Period) -> Decimal | None:
    return cost_per_user_of(_summary_in(model, None, period))


def managed_by(model: Model, manager: str) -> set[str]:
    """The agencies a BRM manager holds (Agencies brm_manager, ignoring case and spacing)."""
    wanted = " ".join(manager.split()).casefold()
    return {a for a, m in model.inputs.frame("Agencies").select(
        "agency_id_text", "brm_manager").iter_rows() if m and " ".join(m.split()).casefold() == wanted}


def agency_ids(model: Model, period: Period) -> list[str]:
    """Agencies with charges, usage or headcount in the period, in Agencies order."""
    present = {r.agency_id for r in _summary_in(model, None, period)}
    ordered = [a for a in model.inputs.frame("Agencies")["agency_id_text"].to_list()]
    return [a for a in ordered if a in present]


def agency_record(model: Model, agency: str) -> dict[str, Any]:
    for row in model.inputs.frame("Agencies").iter_rows(named=True):
        if row["agency_id_text"] == agency:
            return row
    raise KeyError(agency)


def comparison_of(model: Model, period: Period) -> Comparison:
    """The months of `period` that hold data and the same months a period earlier."""
    return comparison(period, {r.period for r in model.chargeback.summary},
                      model.as_of.strftime("%Y-%m"))


def headline(model: Model, agency: str, period: Period) -> Headline:
    rows = _summary_in(model, agency, period)
    compared = comparison_of(model, period)
    prior_rows = [r for r in model.chargeback.summary
                  if r.agency_id == agency and r.period in compared.prior_months]
    paid = sum((r.charges for r in rows), ZERO)
    cpu, prior_cpu = cost_per_user_of(rows), cost_per_user_of(prior_rows)
    statewide = statewide_cost_per_user(model, period)
    alone = [r.standalone_cost for r in rows if r.standalone_cost is not None]
    standalone = sum(alone, ZERO) if alone else None
    users = [r.users for r in rows if r.users]
    return Headline(
        paid=paid,
        prior_paid=sum((r.charges for r in prior_rows), ZERO) if prior_rows else None,
        cost_per_user=cpu,
        prior_cost_per_user=prior_cpu,
        change_pct=pct_change(cpu, prior_cpu),
        statewide_cost_per_user=statewide,
        vs_statewide_pct=pct_change(cpu, statewide),
        standalone=standalone,
        net_value=standalone - paid if standalone is not None else None,
        users=round(sum(users) / len(users)) if users else None,
        months=len(period.months),
        comparison=compared.note,
        budget=budget_of(model, agency, period),
    )


def budget_of(model: Model, agency: str, period: Period) -> Budget | None:
    """The budget of the fiscal year the period ends in, from AgencySummary's columns for
    the period's last month with charges (the one home of the projection)."""
    rows = [r for r in model.view.summary if r.agency_id == agency and r.period in period
            and r.fy_budget is not None and r.fy_projected is not None]
    if not rows:
        return None
    last = max(rows, key=lambda r: r.period)
    fy = fiscal_year_of(last.period, model.inputs.settings.fiscal_year_start_month)
    assert last.fy_budget is not None and last.fy_to_date is not None \
        and last.fy_projected is not None  # set together (budgets.budget_columns)
    return Budget(fy.label, last.fy_budget, last.fy_to_date, last.fy_projected)


def value(model: Model, agency: str, period: Period, head: Headline) -> Value:
    """Standalone cost by component; what was charged and the net value are the headline's
    (AgencySummary's charges, adjustments included, and net_value), never a second sum."""
    lines = model.chargeback.value_lines.filter(
        (pl.col("agency_id") == agency) & pl.col("period").is_in(period.months))
    by_component: dict[str, int] = defaultdict(int)
    for component, amount in lines.select("component", "cents").iter_rows():
        by_component[component] += amount
    components = sorted((Component(c, as_money(v)) for c, v in by_component.items()),
                        key=lambda item: -item.amount)
    listed = [r for r in _summary_in(model, agency, period) if r.list_cost is not None]
    return Value(tuple(components),
                 head.standalone if head.standalone is not None else ZERO,
                 head.paid, head.net_value,
                 sum((r.list_cost for r in listed), ZERO) if listed else None,
                 sum((r.discount for r in listed), ZERO) if listed else None)


def bill(model: Model, agency: str, period: Period) -> Bill:
    """Charges by tower and service; over several months, one line per rate in time order,
    each saying which months it covers (a service repriced mid-year has two lines)."""
    every = model.chargeback.charges
    charges = every.filter((pl.col("agency_id") == agency) & pl.col("period").is_in(period.months))
    carried = pl.col(HELD_FROM).is_not_null()
    usage = charges.filter(USAGE_LINE & ~carried)
    grouped = usage.group_by("tower", "service_id", "service_name", "unit", "rate").agg(
        pl.col("quantity").sum(), pl.col("cents").sum(), pl.col("period").unique().sort(),
        pl.col("period").min().alias("first")).sort("tower", "service_id", "first")
    towers: dict[str | None, list[BillLine]] = defaultdict(list)
    billed = sorted(set(usage["period"].to_list()))
    for row in grouped.iter_rows(named=True):
        # the months are named where a line does not cover every month billed (a rate
        # that changed, a service started part way)
        span = month_span(row["period"]) if row["period"] != billed else None
        towers[row["tower"]].append(BillLine(
            row["service_id"], row["service_name"], row["unit"], row["quantity"].normalize(),
            row["rate"].normalize(), as_money(row["cents"]), span))
    pooled = ALLOCATION_LINE & ~carried
    adjustments = tuple(
        Adjustment(r["period"], r["service_id"], r["amount"], r["reason"])
        for r in charges.filter(~pooled & (pl.col("quantity").is_null() | carried))
        .iter_rows(named=True))
    allocations = tuple(
        Allocation(r["period"], r["service_name"], r["amount"], r["reason"])
        for r in charges.filter(pooled).iter_rows(named=True))
    held = tuple(
        HeldLine(r[HELD_FROM], r["service_id"], r["service_name"], r["amount"], r["period"])
        for r in held_lines(every, agency, period.months).iter_rows(named=True)
        if r["period"] not in period.months)  # held and billed within the period: in its total
    tower_bills = tuple(TowerBill(t, tuple(lines), sum((line.amount for line in lines), ZERO))
                        for t, lines in towers.items())
    usage_total = sum((t.total for t in tower_bills), ZERO)
    adjust_total = sum((a.amount for a in adjustments), ZERO)
    pool_total = sum((a.amount for a in allocations), ZERO)
    return Bill(tower_bills, adjustments, usage_total, adjust_total,
                usage_total + pool_total + adjust_total, allocations, pool_total, held)


def month_span(months: list[str]) -> str:
    """'Jul 2025 to Dec 2025', or 'Jul 2025' alone; gaps listed: 'Jul 2025, Sep 2025'."""
    import calendar

    def label(m: str) -> str:
        return f"{calendar.month_abbr[int(m[5:7])]} {m[:4]}"

    index = [int(m[:4]) * 12 + int(m[5:7]) for m in months]
    if len(months) == 1:
        return label(months[0])
    if index == list(range(index[0], index[0] + len(index))):
        return f"{label(months[0])} to {label(months[-1])}"
    return ", ".join(label(m) for m in months)


def trend(model: Model, agency: str, period: Period, months: int = 12) -> tuple[TrendPoint, ...]:
    """Cost per user by month for the 12 months ending with the period, and the statewide line."""
    wanted = [month_of(i) for i in range(period.last - months + 1, period.last + 1)]
    mine = {r.period: r.cost_per_user for r in model.chargeback.summary if r.agency_id == agency}
    statewide: dict[str, Decimal | None] = {}
    for r in model.chargeback.summary:
        statewide.setdefault(r.period, r.statewide_cost_per_user)
    return tuple(TrendPoint(p, mine.get(p), statewide.get(p)) for p in wanted)


def rows_of(model: Model, table: str, agency: str) -> list[dict[str, Any]]:
    """One agency's rows of an input table, in workbook order (filtered before they become
    Python objects: a report needs a few dozen of thousands)."""
    if not model.inputs.has(table):
        return []
    frame = model.inputs.frame(table)
    return frame.filter(pl.col("agency_id") == agency.upper()).sort("_row").to_dicts()


def satisfaction(model: Model, agency: str, period: Period) -> Satisfaction | None:
    if not model.inputs.has("Survey"):
        return None
    below = model.inputs.settings.follow_up_below
    rows = known_by(rows_of(model, "Survey", agency), model.as_of)
    inside = [r for r in rows if r["submitted_on"].strftime("%Y-%m") in period]
    scores = [r["score"] for r in inside]
    low = [r for r in inside if r["score"] < below]
    months = [month_of(i) for i in range(period.last - 11, period.last + 1)]
    by_month: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        by_month[r["submitted_on"].strftime("%Y-%m")].append(r["score"])
    return Satisfaction(
        responses=len(scores),
        average=average(scores) if scores else None,
        csat=csat(scores),
        trend=tuple(SurveyPoint(m, csat(by_month.get(m, [])), len(by_month.get(m, [])))
                    for m in months),
        follow_ups_closed=sum(1 for r in low if not is_open(r, below)),
        follow_ups_open=sum(1 for r in low if is_open(r, below)),
        below=below,
        comments=tuple(r["comment"] for r in sorted(inside, key=lambda r: r["submitted_on"],
                                                      reverse=True) if r["comment"])[:3],
    )


def engagement(model: Model, agency: str, period: Period) -> Engagement | None:
    if not model.inputs.has("Engagements") and model.view.relationships is None:
        return None
    contacts = contacts_of_agency(model.inputs, agency, model.as_of)
    inside = [e for e in contacts if e["date"].strftime("%Y-%m") in period]
    met = [e["date"] for e in contacts if e["channel"] in IN_PERSON]
    actions = sorted((e for e in contacts if e["action_item"] and e["action_done_on"] is None
                      and e["own"]),
                     key=lambda e: (e["action_due"] or dt.date.max))
    health = next((r for r in model.view.relationships or [] if r.agency_id == agency), None)
    return Engagement(
        by_channel=tuple(ChannelCount(c, sum(1 for e in inside if e["channel"] == c))
                         for c in CHANNELS),
        contacts=len(inside),
        last_in_person=max(met) if met else None,
        open_actions=tuple(OpenAction(e["action_item"], e["action_owner"], e["action_due"],
                                      bool(e["action_due"] and e["action_due"] < model.as_of))
                           for e in actions[:6]),
        open_action_count=len(actions),
        health=health.health if health else None,
        reasons=health.reasons if health else None,
    )


def outcomes(model: Model, agency: str) -> tuple[Outcome, ...]:
    return tuple(Outcome(r["initiative"], r.get("outcome"), r.get("measure"), r.get("baseline"),
                         r.get("target"), r.get("actual"), r["status"], r.get("as_of"))
                 for r in rows_of(model, "Outcomes", agency))


def vendor_lines(model: Model, period: Period, agency: str | None = None) -> tuple[VendorLine, ...]:
    """Vendors' standing in the period: every vendor (agency None), or only those whose
    contracts deliver services the agency was billed for, with only its own credits."""
    cards = model.chargeback.scorecard or []
    if not cards:
        return ()
    contracts = model.inputs.frame("Contracts").to_dicts() if model.inputs.has("Contracts") else []
    used: set[str] | None = None
    if agency is not None:
        used = set(model.chargeback.charges.filter(
            (pl.col("agency_id") == agency) & pl.col("period").is_in(period.months)
            & USAGE_LINE)["service_id"].str.to_uppercase().to_list())
    credits = [c for c in model.chargeback.service_credits or [] if c.period in period
               and (agency is None or c.agency_id == agency.upper())]
    out = []
    for vendor in sorted({c.vendor_id for c in cards}):
        mine = sorted((c for c in cards if c.vendor_id == vendor), key=lambda c: c.period)
        services = sorted({s for k in contracts if k["vendor_id"] == vendor.upper()
                           for s in services_of(k["services"])})
        if used is not None and not set(services) & used:
            continue
        inside = [c for c in mine if c.period in period]
        if not inside:
            continue
        last = inside[-1]
        before = [c for c in mine if c.period < last.period and c.score is not None]
        change = last.score - before[-1].score if before and last.score is not None else None
        shown = [s for s in services if used is None or s in used]
        out.append(VendorLine(vendor, last.vendor_name, ", ".join(shown), last.grade, last.score,
                              change, sum((c.share for c in credits if c.vendor_id == vendor),
                                          Decimal("0.00")), last.open_actions, last.reasons,
                              agency_reasons(last.reasons)))
    return tuple(out)


def disputes(model: Model, agency: str) -> tuple[Dispute, ...]:
    logged = {r.dispute_id: r for r in model.chargeback.disputes or []}
    out = []
    for r in rows_of(model, "Disputes", agency):
        log = logged.get(r["dispute_id_text"])
        out.append(Dispute(r["dispute_id_text"], r["period"], r["service_id_text"], r["amount"],
                           r["reason"], r["raised_on"], r["status"], r["resolution"],
                           log.credited_in if log else None))
    return tuple(out)


def agency_report(model: Model, agency: str, period: Period) -> AgencyReport:
    """Everything one agency's value report shows, and nothing of any other agency."""
    record = agency_record(model, agency)
    settings = model.inputs.settings
    head = headline(model, agency, period)
    return AgencyReport(
        organization=settings.organization,
        currency=settings.currency,
        period=period,
        as_of=model.as_of,
        agency=AgencyContact(agency, record["agency_name"], record["head_name"],
                             record["head_email"], record["brm_manager"], record["brm_email"]),
        headline=head,
        value=value(model, agency, period, head),
        bill=bill(model, agency, period),
        trend=trend(model, agency, period),
        satisfaction=satisfaction(model, agency, period),
        engagement=engagement(model, agency, period),
        outcomes=outcomes(model, agency),
        disputes=disputes(model, agency),
        vendors=vendor_lines(model, period, agency),
        internal=settings.show_health_to_agencies,
        office_view=settings.show_internal_to_agencies,
        seal=_seal_of(model, period),
        plans=account.plan_lines(model, agency, period)
        if model.inputs.has("AccountPlans") else None,
        maturity=account.maturity_of(model, agency) if model.inputs.has("Assessments") else None,
    )


def _seal_of(model: Model, period: Period) -> str:

    if len(period.months) != 1:
        return ""
    record = model.inputs.published.closed().get(period.months[0])
    return record.seal if record else ""


def portfolio(model: Model, period: Period, agencies: list[str] | None = None) -> Portfolio:
    """The CIO's view: one row per agency (of `agencies`, default all with data)."""
    health = {r.agency_id: r for r in model.view.relationships or []}
    rows = []
    for agency in agencies if agencies is not None else agency_ids(model, period):
        h = headline(model, agency, period)
        sat = satisfaction(model, agency, period)
        rel = health.get(agency)
        record = agency_record(model, agency)
        rows.append(PortfolioRow(
            agency_id=agency, agency_name=record["agency_name"],
            brm_manager=record["brm_manager"], charges=h.paid,
            cost_per_user=h.cost_per_user, change_pct=h.change_pct, net_value=h.net_value,
            csat=sat.csat if sat else None,
            health=rel.health if rel else None,
            reasons=rel.reasons if rel else None,
            days_since_contact=rel.days_since_contact if rel else None,
            over_budget=h.budget.over if h.budget else None,
            maturity_office=rel.maturity_office if rel else None,
            maturity_agency=rel.maturity_agency if rel else None,
            realised_pct=account.realised_share(model, agency, period),
            touchpoints_overdue=rel.touchpoints_overdue if rel else None,
        ))
    rows.sort(key=lambda row: (SEVERITY.get(row.health, 3), -row.charges))
    nets = [r.net_value for r in rows if r.net_value is not None]
    settings = model.inputs.settings
    return Portfolio(
        organization=settings.organization, currency=settings.currency, period=period,
        as_of=model.as_of, rows=tuple(rows), total=sum((r.charges for r in rows), ZERO),
        net_value=sum(nets, ZERO) if nets else None,
        statewide_cost_per_user=statewide_cost_per_user(model, period),
        at_risk=sum(1 for r in rows if r.health == "At risk"),
        vendors=vendor_lines(model, period),
        forums=account.forums_overdue(model),
        has_practice=any(model.inputs.has(t.name) for t in BRM_TABLES),
    )
