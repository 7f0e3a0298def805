"""The chargeback engine: rate card x usage -> charges, cost per user, value and recovery.

Pure functions over validated inputs; no files, no clock. Money is Decimal, each line
rounded half up to cents, and every total is a sum of rounded lines, so Charges,
AgencySummary and Recovery cross-foot to the cent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

import polars as pl

from .inputs import Inputs, find_rate, rate_lookup
from .problems import Problem
from .workbook.reader import ROW

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    """Round half up to cents: 0.125 -> 0.13, 21.735 -> 21.74 (not banker's rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def tenths(value: Decimal) -> Decimal:
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def previous_month(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


class ChargeLine(NamedTuple):
    period: str
    agency_id: str
    service_id: str | None
    service_name: str | None
    tower: str | None
    unit: str | None
    quantity: Decimal | None
    rate: Decimal | None
    amount: Decimal
    reason: str | None


class SummaryRow(NamedTuple):
    period: str
    agency_id: str
    agency_name: str
    users: int | None
    charges: Decimal
    cost_per_user: Decimal | None
    prior_cost_per_user: Decimal | None
    change_pct: Decimal | None
    statewide_cost_per_user: Decimal | None
    standalone_cost: Decimal | None
    net_value: Decimal | None


class RecoveryRow(NamedTuple):
    period: str
    service_id: str | None
    cost: Decimal
    charged: Decimal
    variance: Decimal
    recovery_pct: Decimal | None


class ValueLine(NamedTuple):
    """What one agency would have paid alone for one service component in one month."""

    period: str
    agency_id: str
    service_id: str
    component: str
    amount: Decimal


@dataclass
class Chargeback:
    charges: list[ChargeLine]
    summary: list[SummaryRow]
    recovery: list[RecoveryRow] | None
    value_lines: list[ValueLine]
    warnings: list[Problem] = field(default_factory=list)


def compute(inputs: Inputs) -> Chargeback:
    """All chargeback outputs from validated inputs."""
    names = _display_names(inputs)
    usage = aggregate_usage(inputs.frame("Usage"))
    charges = price_usage(usage, rate_lookup(inputs.frame("RateCard")), names)
    charges += adjustment_lines(inputs, names)
    charges.sort(key=lambda c: (c.period, c.agency_id, c.quantity is None, c.service_id or ""))
    value_lines = standalone_lines(usage, inputs, names)
    summary, warnings = agency_summary(inputs, charges, value_lines, names)
    recovery = recovery_rows(inputs, charges, names) if inputs.has("CostPools") else None
    return Chargeback(charges, summary, recovery, value_lines, warnings)


def _display_names(inputs: Inputs) -> dict[str, dict[str, Any]]:
    """Ids as users typed them in the master tables, keyed by their upper-case form."""
    agencies = {r["agency_id"]: r for r in inputs.frame("Agencies").iter_rows(named=True)}
    services: dict[str, str] = {}
    for key, text in inputs.frame("RateCard").select("service_id", "service_id_text").iter_rows():
        services.setdefault(key, text)
    return {"agency": {k: r["agency_id_text"] for k, r in agencies.items()},
            "agency_name": {k: r["agency_name"] for k, r in agencies.items()},
            "service": services}


def aggregate_usage(usage: pl.DataFrame) -> pl.DataFrame:
    """Sum quantities per (period, agency_id, service_id), exactly (fixed-point decimal)."""
    return (
        usage.lazy()
        .group_by("period", "agency_id", "service_id")
        .agg(pl.col("quantity").sum())
        .sort("period", "agency_id", "service_id")
        .collect()
    )


def price_usage(usage: pl.DataFrame, rates: dict[str, list[dict[str, Any]]],
                names: dict[str, dict[str, Any]]) -> list[ChargeLine]:
    agency, service = names["agency"], names["service"]
    cache: dict[tuple[str, str], dict[str, Any]] = {}
    lines = []
    for period, agency_id, service_id, quantity in usage.iter_rows():
        key = (service_id, period)
        rate = cache.get(key)
        if rate is None:
            rate = cache[key] = find_rate(rates[service_id], period) or {}
        quantity = quantity.normalize() if quantity else Decimal(0)
        lines.append(ChargeLine(
            period, agency[agency_id], service[service_id], rate["service_name"], rate["tower"],
            rate["unit"], quantity, rate["rate"].normalize(), cents(quantity * rate["rate"]), None,
        ))
    return lines


def adjustment_lines(inputs: Inputs, names: dict[str, dict[str, Any]]) -> list[ChargeLine]:
    if not inputs.has("Adjustments"):
        return []
    rates = rate_lookup(inputs.frame("RateCard"))
    lines = []
    for rec in inputs.frame("Adjustments").sort(ROW).iter_rows(named=True):
        sid = rec["service_id"]
        rate = (find_rate(rates.get(sid, []), rec["period"]) or {}) if sid else {}
        lines.append(ChargeLine(
            rec["period"], names["agency"][rec["agency_id"]],
            names["service"].get(sid) if sid else None,
            rate.get("service_name"), rate.get("tower"), rate.get("unit"),
            None, None, cents(rec["amount"]), rec["reason"],
        ))
    return lines


def standalone_lines(usage: pl.DataFrame, inputs: Inputs,
                     names: dict[str, dict[str, Any]]) -> list[ValueLine]:
    """quantity x unit_cost per (usage line, component), each rounded to cents."""
    if not inputs.has("StandaloneCosts"):
        return []
    components: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for sid, component, unit_cost in inputs.frame("StandaloneCosts").sort(ROW).select(
            "service_id", "component", "unit_cost").iter_rows():
        components[sid].append((component, unit_cost))
    lines = []
    for period, agency_id, service_id, quantity in usage.iter_rows():
        for component, unit_cost in components.get(service_id, ()):
            lines.append(ValueLine(period, names["agency"][agency_id], names["service"][service_id],
                                   component, cents(quantity * unit_cost)))
    return lines


def agency_summary(inputs: Inputs, charges: list[ChargeLine], value_lines: list[ValueLine],
                   names: dict[str, dict[str, Any]]) -> tuple[list[SummaryRow], list[Problem]]:
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in charges:
        totals[(line.period, line.agency_id)] += line.amount
    standalone: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for v in value_lines:
        standalone[(v.period, v.agency_id)] += v.amount
    headcount = inputs.tables["Headcount"]
    users: dict[tuple[str, str], tuple[int, int]] = {}
    for period, agency_id, count, row in headcount.frame.select(
            "period", "agency_id", "users", ROW).iter_rows():
        users[(period, names["agency"][agency_id])] = (count, row)
    keys = sorted(set(totals) | set(users))
    statewide = _statewide(keys, totals, users)
    cpu: dict[tuple[str, str], Decimal | None] = {}
    warnings = []
    for key in keys:
        count = users.get(key, (None, None))[0]
        cpu[key] = cents(totals[key] / count) if count else None
        warnings.extend(_headcount_warning(headcount, key, users.get(key), totals.get(key)))
    name_by_display = {names["agency"][k]: n for k, n in names["agency_name"].items()}
    rows = []
    for period, agency_id in keys:
        key = (period, agency_id)
        prior = cpu.get((previous_month(period), agency_id))
        change = (tenths((cpu[key] / prior - 1) * 100) if cpu[key] is not None and prior
                  else None)
        alone = cents(standalone[key]) if key in standalone else None
        rows.append(SummaryRow(
            period, agency_id, name_by_display.get(agency_id, ""), users.get(key, (None,))[0],
            cents(totals[key]), cpu[key], prior, change, statewide.get(period), alone,
            alone - totals[key] if alone is not None else None,
        ))
    return rows, warnings


def _statewide(keys: list[tuple[str, str]], totals: dict[tuple[str, str], Decimal],
               users: dict[tuple[str, str], tuple[int, int]]) -> dict[str, Decimal]:
    charged: dict[str, Decimal] = defaultdict(Decimal)
    people: dict[str, int] = defaultdict(int)
    for key in keys:
        count = users.get(key, (None,))[0]
        if count:
            charged[key[0]] += totals.get(key, ZERO)
            people[key[0]] += count
    return {p: cents(charged[p] / people[p]) for p in people if people[p]}


def _headcount_warning(headcount: Any, key: tuple[str, str], found: tuple[int, int] | None,
                       total: Decimal | None) -> list[Problem]:
    period, agency = key
    if found is None:
        return [Problem(headcount.raw.sheet,
                        f"no users for {agency} in {period}; its cost per user is left blank",
                        "no-headcount", "warning")]
    if found[0] == 0 and total:
        return [Problem(headcount.where("users", found[1]),
                        f"users is 0 for {agency} in {period}; its cost per user is left blank",
                        "zero-users", "warning")]
    return []


def recovery_rows(inputs: Inputs, charges: list[ChargeLine],
                  names: dict[str, dict[str, Any]]) -> list[RecoveryRow]:
    """Cost against charges per service, for every month that has cost pools."""
    cost: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    for period, sid, amount in inputs.frame("CostPools").select(
            "period", "service_id", "cost").iter_rows():
        cost[(period, names["service"][sid])] += amount
    periods = {p for p, _ in cost}
    charged: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    for line in charges:
        if line.period in periods:
            charged[(line.period, line.service_id)] += line.amount
    rows = []
    for key in sorted(set(cost) | set(charged), key=lambda k: (k[0], k[1] is None, k[1] or "")):
        c, ch = cents(cost[key]), cents(charged[key])
        rows.append(RecoveryRow(key[0], key[1], c, ch, ch - c,
                                tenths(ch / c * 100) if c else None))
    return rows
