"""Rate setting, what-if: next fiscal year's rate per service so that rate x projected use
= full cost (Utah's rule), with this year's over or under recovery carried forward.

For each service with a cost pool in the base year (the fiscal year before the one being
set): projected cost = the base year's cost pools, annualised over the months that have a
pool for it; carry-forward = what those months charged beyond their cost (an over-recovery
lowers next year's rate, an under-recovery raises it); projected units = the base year's
units, annualised over the months of the service's own usage, times (1 + usage growth).
Proposed rate = (projected cost - carry-forward) / projected units, rounded half up to
Settings `rate_decimals` places; projected recovery = each agency's projected units at that
rate, each to cents, and the rounding's effect is what that recovers beyond (or short of)
the cost to recover. A service with cost and no usage has no rate that recovers it: it is
listed with no proposal, and a warning. Each agency's annual bill is its projected units at
the proposed rates against the current ones. Nothing in RateCard changes: the proposal goes
to the RateProposal and RateEffect tables.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

import polars as pl

from brm_xl.billing.chargeback import (
    USAGE_LINE,
    Chargeback,
    display_names,
    find_rate,
    recovery_rows,
)
from brm_xl.contract.inputs import Inputs
from brm_xl.contract.money import cents, tenths
from brm_xl.contract.periods import Period, parse_period
from brm_xl.contract.raw import ROW
from brm_xl.problems import Problem, UsageError


class RateProposal(NamedTuple):
    service_id: str
    current_rate: Decimal | None
    proposed_rate: Decimal | None  # None: cost pools but no usage, so no rate recovers it
    change_pct: Decimal | None
    projected_cost: Decimal
    carry_forward: Decimal  # the base year's charges beyond cost (negative: under-recovered)
    projected_units: Decimal
    projected_recovery: Decimal | None  # projected units at the proposed (rounded) rate
    rounding_effect: Decimal | None  # projected_recovery - (projected_cost - carry_forward)
    recovery_pct: Decimal | None  # projected_recovery / (projected_cost - carry_forward) x 100
    cost_months: int  # base-year months with a cost pool for the service
    usage_months: int  # base-year months with usage of the service


class RateEffect(NamedTuple):
    agency_id: str
    current_annual: Decimal
    proposed_annual: Decimal
    change: Decimal


class RatePlan(NamedTuple):
    proposals: list[RateProposal]
    effects: list[RateEffect]
    warnings: list[Problem]




def plan(inputs: Inputs, result: Chargeback, fiscal_year: str,
         growth_pct: Decimal = Decimal(0)) -> RatePlan:
    """The proposal for `fiscal_year` from computed inputs (see the module docstring)."""
    target, base = _years(inputs, fiscal_year)
    cost, charged, cost_months = _base_costs(inputs, result, base)
    units, usage_months = _base_units(result, base)
    factor = 1 + growth_pct / 100
    places = Decimal(1).scaleb(-inputs.settings.rate_decimals)
    current_rates = _current_rates(inputs, base)
    proposals, warnings = [], []
    annual: dict[str, dict[str, Decimal]] = {}  # service -> agency -> projected units
    for service in sorted(cost):
        n = len(usage_months[service])
        annual[service] = {a: q * 12 / n * factor for a, q in units[service].items()} if n else {}
        projected_units = sum(annual[service].values(), Decimal(0))
        projected_cost = cents(cost[service] * 12 / len(cost_months[service]))
        carry = charged[service] - cost[service]
        current = current_rates.get(service)
        proposed = recovered = effect = pct = change = None
        if projected_units > 0:
            proposed = ((projected_cost - carry) / projected_units).quantize(places, ROUND_HALF_UP)
            recovered = sum((cents(q * proposed) for q in annual[service].values()), Decimal(0))
            effect = recovered - (projected_cost - carry)
            pct = tenths(recovered / (projected_cost - carry) * 100) \
                if projected_cost - carry else None
            change = change_pct(proposed, current) if current else None
        else:
            warnings.append(_no_usage(inputs, service, cost[service], base))
        proposals.append(RateProposal(
            service, current, proposed, change, projected_cost, carry,
            projected_units.quantize(Decimal("0.01"), ROUND_HALF_UP), recovered, effect, pct,
            len(cost_months[service]), n))
    new_rate = {p.service_id: p.proposed_rate for p in proposals if p.proposed_rate is not None}
    return RatePlan(proposals, _effects(annual, new_rate, current_rates), warnings)


def change_pct(proposed: Decimal, current: Decimal) -> Decimal:
    """(proposed / current - 1) x 100 to 1 decimal; a change too small for that (0.0283%)
    to three significant figures, never shown as no change at all."""
    raw = (proposed / current - 1) * 100
    shown = tenths(raw)
    if shown == 0 and raw != 0:
        shown = raw.quantize(Decimal(1).scaleb(raw.adjusted() - 2), ROUND_HALF_UP).normalize()
    return shown


def _years(inputs: Inputs, fiscal_year: str) -> tuple[Period, Period]:
    """The fiscal year being set, and the base year before it (the one with the figures)."""
    start = inputs.settings.fiscal_year_start_month
    target = parse_period(fiscal_year, start)
    if target.kind != "fiscal year":
        raise UsageError(f"--fy {fiscal_year!r}: name a fiscal year, e.g. FY2028")
    if not inputs.has("CostPools"):
        raise UsageError("rate setting needs the CostPools table: rates are set to recover cost")
    return target, parse_period(f"FY{int(target.label[2:]) - 1}", start)


def _base_costs(inputs: Inputs, result: Chargeback, base: Period,
                ) -> tuple[dict[str, Decimal], dict[str, Decimal], dict[str, set[str]]]:
    """Per service: the base year's cost, what the months with that cost charged, and
    those months."""
    recovery, _ = recovery_rows(inputs, result.charges, display_names(inputs))
    cost: dict[str, Decimal] = defaultdict(Decimal)
    charged: dict[str, Decimal] = defaultdict(Decimal)
    months: dict[str, set[str]] = defaultdict(set)
    for r in recovery:
        if r.period in base and r.service_id and r.cost is not None:
            cost[r.service_id] += r.cost
            charged[r.service_id] += r.charged
            months[r.service_id].add(r.period)
    if not cost:
        raise UsageError(f"no cost pools in {base.label}, the year the next year's rates are "
                         "set from")
    return cost, charged, months


def _base_units(result: Chargeback, base: Period,
                ) -> tuple[dict[str, dict[str, Decimal]], dict[str, set[str]]]:
    """Per service: each agency's units in the base year, and the months with usage."""
    usage = result.charges.filter(pl.col("period").is_in(base.months) & USAGE_LINE)
    units: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    months: dict[str, set[str]] = defaultdict(set)
    for period, agency, service, quantity in usage.select(
            "period", "agency_id", "service_id", "quantity").iter_rows():
        units[service][agency] += quantity
        months[service].add(period)
    return units, months


def _current_rates(inputs: Inputs, base: Period) -> dict[str, Decimal]:
    """Each service's rate in force at the base year's end."""
    shown = display_names(inputs)["service"]
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in inputs.frame("RateCard").iter_rows(named=True):
        rows[shown.get(row["service_id"], row["service_id"])].append(row)
    out = {}
    for service, service_rows in rows.items():
        found = find_rate(service_rows, base.end)
        if found is not None:
            out[service] = found["rate"]
    return out


def _effects(annual: dict[str, dict[str, Decimal]], new_rate: dict[str, Decimal],
             old_rate: dict[str, Decimal]) -> list[RateEffect]:
    """Each agency's projected annual bill at current and proposed rates, line by line to
    cents, over the services that have a proposal."""
    effect: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for service, rate in new_rate.items():
        for agency, quantity in annual[service].items():
            effect[agency][0] += cents(quantity * old_rate.get(service, Decimal(0)))
            effect[agency][1] += cents(quantity * rate)
    return [RateEffect(a, old, new, new - old) for a, (old, new) in sorted(effect.items())]


def _no_usage(inputs: Inputs, service: str, cost: Decimal, base: Period) -> Problem:
    """A service with cost pools and no usage in the base year: no rate recovers its cost."""
    pools = inputs.tables["CostPools"]
    rows: list[int] = pools.frame.filter((pl.col("service_id") == service.upper())
                                         & pl.col("period").is_in(base.months))[ROW].to_list()
    where = pools.where("service_id", min(rows)) if rows else "CostPools"
    return Problem(where, f"{service} had {cost:,.2f} of cost pools in {base.label} but no usage, "
                   "so no rate can recover that cost; RateProposal lists it with no proposed "
                   "rate", "no-usage", "warning")


