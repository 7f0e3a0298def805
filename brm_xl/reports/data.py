"""What a value-of-IT report says, as plain data: one agency's figures and statewide aggregates.

Pure functions over a `Model`. An agency's report is built only from that agency's rows
and from statewide totals, so nothing of another agency can reach it; the portfolio
report (for the CIO) is the one view across agencies.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

import polars as pl

from ..chargeback import ZERO, as_money, cents, tenths
from ..contract import CHANNELS
from ..engagement import IN_PERSON
from ..model import Model
from ..periods import Comparison, Period, comparison, month_of
from ..satisfaction import average, csat, is_open, known_by


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


def headline(model: Model, agency: str, period: Period) -> dict[str, Any]:
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
    return {
        "paid": paid,
        "prior_paid": sum((r.charges for r in prior_rows), ZERO) if prior_rows else None,
        "cost_per_user": cpu,
        "prior_cost_per_user": prior_cpu,
        "change_pct": pct_change(cpu, prior_cpu),
        "statewide_cost_per_user": statewide,
        "vs_statewide_pct": pct_change(cpu, statewide),
        "standalone": standalone,
        "net_value": standalone - paid if standalone is not None else None,
        "users": round(sum(users) / len(users)) if users else None,
        "months": len(period.months),
        "comparison": compared.note,
    }


def value(model: Model, agency: str, period: Period, head: dict[str, Any]) -> dict[str, Any]:
    """Standalone cost by component; what was charged and the net value are the headline's
    (AgencySummary's charges, adjustments included, and net_value), never a second sum."""
    lines = model.chargeback.value_lines.filter(
        (pl.col("agency_id") == agency) & pl.col("period").is_in(period.months))
    by_component: dict[str, int] = defaultdict(int)
    for component, amount in lines.select("component", "cents").iter_rows():
        by_component[component] += amount
    components = sorted(((c, as_money(v)) for c, v in by_component.items()),
                        key=lambda item: -item[1])
    return {
        "components": components,
        "standalone": head["standalone"] if head["standalone"] is not None else ZERO,
        "charged": head["paid"],
        "net_value": head["net_value"],
    }


def bill(model: Model, agency: str, period: Period) -> dict[str, Any]:
    charges = model.chargeback.charges.filter(
        (pl.col("agency_id") == agency) & pl.col("period").is_in(period.months))
    usage = charges.filter(pl.col("quantity").is_not_null())
    grouped = usage.group_by("tower", "service_id", "service_name", "unit", "rate").agg(
        pl.col("quantity").sum(), pl.col("cents").sum()).sort("tower", "service_id", "rate")
    towers: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in grouped.iter_rows(named=True):
        towers[row["tower"]].append({**row, "amount": as_money(row["cents"]),
                                     "quantity": row["quantity"].normalize(),
                                     "rate": row["rate"].normalize()})
    adjustments = [
        {"period": r["period"], "service_id": r["service_id"], "amount": r["amount"],
         "reason": r["reason"]}
        for r in charges.filter(pl.col("quantity").is_null()).iter_rows(named=True)
    ]
    tower_totals = [(t, sum((line["amount"] for line in lines), ZERO)) for t, lines in towers.items()]
    usage_total = sum((t for _, t in tower_totals), ZERO)
    adjust_total = sum((a["amount"] for a in adjustments), ZERO)
    return {"towers": [(t, towers[t], total) for t, total in tower_totals],
            "adjustments": adjustments, "usage_total": usage_total,
            "adjustments_total": adjust_total, "total": usage_total + adjust_total}


def trend(model: Model, agency: str, period: Period, months: int = 12) -> list[dict[str, Any]]:
    """Cost per user by month for the 12 months ending with the period, and the statewide line."""
    wanted = [month_of(i) for i in range(period.last - months + 1, period.last + 1)]
    mine = {r.period: r.cost_per_user for r in model.chargeback.summary if r.agency_id == agency}
    statewide: dict[str, Decimal | None] = {}
    for r in model.chargeback.summary:
        statewide.setdefault(r.period, r.statewide_cost_per_user)
    return [{"period": p, "agency": mine.get(p), "statewide": statewide.get(p)} for p in wanted]


def rows_of(model: Model, table: str, agency: str) -> list[dict[str, Any]]:
    """One agency's rows of an input table, in workbook order (filtered before they become
    Python objects: a report needs a few dozen of thousands)."""
    if not model.inputs.has(table):
        return []
    frame = model.inputs.frame(table)
    return frame.filter(pl.col("agency_id") == agency.upper()).sort("_row").to_dicts()


def satisfaction(model: Model, agency: str, period: Period) -> dict[str, Any] | None:
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
    return {
        "responses": len(scores),
        "average": average(scores) if scores else None,
        "csat": csat(scores),
        "trend": [{"period": m, "csat": csat(by_month.get(m, [])),
                   "responses": len(by_month.get(m, []))} for m in months],
        "follow_ups_closed": sum(1 for r in low if not is_open(r, below)),
        "follow_ups_open": sum(1 for r in low if is_open(r, below)),
        "below": below,
        "comments": [r["comment"] for r in sorted(inside, key=lambda r: r["submitted_on"],
                                                    reverse=True) if r["comment"]][:3],
    }


def engagement(model: Model, agency: str, period: Period) -> dict[str, Any] | None:
    if not model.inputs.has("Engagements") and model.view.relationships is None:
        return None
    contacts = known_by(rows_of(model, "Engagements", agency), model.as_of, "date")
    inside = [e for e in contacts if e["date"].strftime("%Y-%m") in period]
    met = [e["date"] for e in contacts if e["channel"] in IN_PERSON]
    actions = sorted((e for e in contacts if e["action_item"] and e["action_done_on"] is None),
                     key=lambda e: (e["action_due"] or dt.date.max))
    health = next((r for r in model.view.relationships or [] if r.agency_id == agency), None)
    return {
        "by_channel": [(c, sum(1 for e in inside if e["channel"] == c)) for c in CHANNELS],
        "contacts": len(inside),
        "last_in_person": max(met) if met else None,
        "open_actions": [{"item": e["action_item"], "owner": e["action_owner"],
                          "due": e["action_due"],
                          "overdue": bool(e["action_due"] and e["action_due"] < model.as_of)}
                         for e in actions[:6]],
        "open_action_count": len(actions),
        "health": health.health if health else None,
        "reasons": health.reasons if health else None,
    }


def outcomes(model: Model, agency: str) -> list[dict[str, Any]]:
    return rows_of(model, "Outcomes", agency)


def agency_report(model: Model, agency: str, period: Period) -> dict[str, Any]:
    """Everything one agency's value report shows, and nothing of any other agency."""
    record = agency_record(model, agency)
    settings = model.inputs.settings
    head = headline(model, agency, period)
    return {
        "kind": "agency",
        "organization": settings.organization,
        "currency": settings.currency,
        "period": period,
        "as_of": model.as_of,
        "agency": {k: record[k] for k in ("agency_name", "head_name", "head_email",
                                         "brm_manager", "brm_email")}
        | {"agency_id": agency},
        "headline": head,
        "value": value(model, agency, period, head),
        "bill": bill(model, agency, period),
        "trend": trend(model, agency, period),
        "satisfaction": satisfaction(model, agency, period),
        "engagement": engagement(model, agency, period),
        "outcomes": outcomes(model, agency),
    }


def portfolio(model: Model, period: Period) -> dict[str, Any]:
    """The CIO's view: one row per agency."""
    health = {r.agency_id: r for r in model.view.relationships or []}
    rows = []
    for agency in agency_ids(model, period):
        h = headline(model, agency, period)
        sat = satisfaction(model, agency, period)
        rel = health.get(agency)
        rows.append({
            "agency_id": agency, "agency_name": agency_record(model, agency)["agency_name"],
            "brm_manager": agency_record(model, agency)["brm_manager"],
            "charges": h["paid"], "cost_per_user": h["cost_per_user"],
            "change_pct": h["change_pct"], "net_value": h["net_value"],
            "csat": sat["csat"] if sat else None,
            "health": rel.health if rel else None,
            "days_since_contact": rel.days_since_contact if rel else None,
        })
    total = sum((r["charges"] for r in rows), ZERO)
    nets = [r["net_value"] for r in rows if r["net_value"] is not None]
    return {
        "kind": "portfolio", "organization": model.inputs.settings.organization,
        "currency": model.inputs.settings.currency, "period": period, "as_of": model.as_of,
        "rows": rows, "total": total, "net_value": sum(nets, ZERO) if nets else None,
        "statewide_cost_per_user": statewide_cost_per_user(model, period),
        "at_risk": sum(1 for r in rows if r["health"] == "At risk"),
    }
