"""What the BRM practice shows in reports: the agency's plans ("What we planned together"),
the portfolio's maturity, realised share and forums, and the account plan a BRM manager
takes to an agency's quarterly review (`brm-xl report --plans`).

Pure functions over a `Model`; the figures are the Relationships and ValueRealisation
rows (`relationships.view`), never a second computation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import polars as pl

from brm_xl.billing.chargeback import ZERO, cents
from brm_xl.contract.periods import Period, fiscal_year_of
from brm_xl.pipeline.model import Model
from brm_xl.relationships import comms, maturity, plans
from brm_xl.relationships.comms import Forum, Stakeholder, Touchpoint
from brm_xl.relationships.contacts import of_agency as contacts_of_agency
from brm_xl.relationships.maturity import Maturity
from brm_xl.relationships.plans import CLOSED, ValueRow


@dataclass(frozen=True)
class PlanLine:
    """An account plan's initiative as a report shows it."""

    plan_id: str
    fiscal_year: str
    goal: str
    initiative: str
    value_kind: str | None
    owner: str | None
    planned: Decimal
    realised: Decimal
    realised_pct: Decimal | None
    status: str
    due: dt.date | None
    overdue: bool


@dataclass(frozen=True)
class Realised:
    period: str
    initiative: str
    amount: Decimal
    evidence: str | None


@dataclass(frozen=True)
class AccountPlan:
    """One agency's account plan for the BRM manager's quarterly review: maturity rated by
    both sides, goals and initiatives with the value they realised, the stakeholder map,
    the communications plan kept and the forums it sits on (the office's working view)."""

    kind: ClassVar[str] = "account_plan"
    organization: str
    currency: str
    period: Period
    as_of: dt.date
    agency_id: str
    agency_name: str
    head_name: str | None
    brm_manager: str | None
    brm_email: str | None
    cadence: int
    health: str | None
    reasons: str | None
    maturity: Maturity
    plans: tuple[PlanLine, ...]
    planned_total: Decimal
    realised_total: Decimal
    realised_pct: Decimal | None  # of the plans not dropped
    realised: tuple[Realised, ...]  # month by month, up to the day judged
    stakeholders: tuple[Stakeholder, ...]
    touchpoints: tuple[Touchpoint, ...]
    last_strategic_planning: dt.date | None
    forums: tuple[Forum, ...]


def value_rows(model: Model, agency: str) -> list[ValueRow]:
    return plans.plans_of(model.view.value, agency)


def plan_lines(model: Model, agency: str, period: Period | None = None) -> tuple[PlanLine, ...]:
    """The agency's plans, by fiscal year and due date; with a period, those of its fiscal
    year and later, and earlier ones still open (a plan delivered or dropped in an earlier
    year is history)."""
    if not model.inputs.has("AccountPlans"):
        return ()
    frame = model.inputs.frame("AccountPlans")
    extra = {r["plan_id_text"]: r for r in frame.filter(
        pl.col("agency_id") == agency.upper()).to_dicts()}
    fy = fiscal_year_of(period.end, model.inputs.settings.fiscal_year_start_month).label \
        if period else None
    lines = []
    for r in value_rows(model, agency):
        if fy and r.fiscal_year < fy and r.status in CLOSED:
            continue
        row = extra.get(r.plan_id, {})
        lines.append(PlanLine(r.plan_id, r.fiscal_year, row.get("goal") or "", r.initiative,
                              row.get("value_kind"), row.get("owner"), r.planned_value,
                              r.realised_to_date, r.realised_pct, r.status, r.due, r.overdue))
    return tuple(sorted(lines, key=lambda p: (p.fiscal_year, p.due or dt.date.max)))


def realised_share(model: Model, agency: str, period: Period) -> Decimal | None:
    """The portfolio's figure: what the agency's plans of the period's fiscal year (not
    dropped) realised of what they planned, in percent."""
    fy = fiscal_year_of(period.end, model.inputs.settings.fiscal_year_start_month).label
    return plans.realised_share([r for r in value_rows(model, agency) if r.fiscal_year == fy])


def maturity_of(model: Model, agency: str) -> Maturity:
    rows = [r for r in model.inputs.frame("Assessments").to_dicts()
            if r["agency_id"] == agency.upper()] if model.inputs.has("Assessments") else []
    return maturity.maturity(rows, model.as_of)


def forums_overdue(model: Model) -> tuple[Forum, ...]:
    """The forums not met within their every_days: the portfolio lists them."""
    return tuple(f for f in model.view.forums or [] if f.overdue)


def _rows(model: Model, table: str, agency: str) -> list[dict[str, Any]]:
    if not model.inputs.has(table):
        return []
    return model.inputs.frame(table).filter(pl.col("agency_id") == agency.upper()).to_dicts()


def account_plan(model: Model, agency: str, period: Period) -> AccountPlan:
    """Everything one agency's account plan shows."""
    record = next(r for r in model.inputs.frame("Agencies").iter_rows(named=True)
                  if r["agency_id_text"] == agency)
    settings = model.inputs.settings
    health = next((r for r in model.view.relationships or [] if r.agency_id == agency), None)
    contacts = contacts_of_agency(model.inputs, agency, model.as_of)
    lines = plan_lines(model, agency)
    kept = [p for p in lines if p.status != "dropped"]
    planned = sum((p.planned for p in kept), ZERO)
    realised = sum((p.realised for p in kept), ZERO)
    names = {p.plan_id.upper(): p.initiative for p in lines}
    months = tuple(Realised(r["period"], names.get(r["plan_id"], r["plan_id_text"]),
                            cents(r["realised_value"]), r["evidence"])
                   for r in plans.realised_by_month(model.inputs, set(names), model.as_of))
    cadence = record["contact_cadence_days"]
    return AccountPlan(
        organization=settings.organization, currency=settings.currency, period=period,
        as_of=model.as_of, agency_id=agency, agency_name=record["agency_name"],
        head_name=record["head_name"], brm_manager=record["brm_manager"],
        brm_email=record["brm_email"], cadence=cadence,
        health=health.health if health else None, reasons=health.reasons if health else None,
        maturity=maturity_of(model, agency), plans=lines, planned_total=planned,
        realised_total=realised, realised_pct=plans.pct_of(realised, planned),
        realised=months,
        stakeholders=tuple(comms.stakeholders(_rows(model, "Stakeholders", agency), contacts,
                                              cadence, model.as_of)),
        touchpoints=tuple(comms.touchpoints(_rows(model, "CommsPlan", agency), contacts,
                                            model.as_of)),
        last_strategic_planning=comms.last_strategic_planning(contacts),
        forums=tuple(comms.forums_of(model.view.forums or [], agency)),
    )
