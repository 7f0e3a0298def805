"""Rate setting, what-if: next fiscal year's rate per service so that rate x projected use
= full cost (Utah's rule), with this year's over or under recovery carried forward.

For each service with a cost pool in the base year (the fiscal year before the one being
set): projected cost = the base year's cost pools, annualised from the months that have
them; carry-forward = what the base year charged beyond its cost (an over-recovery lowers
next year's rate, an under-recovery raises it); projected units = the base year's units,
annualised, times (1 + usage growth). Proposed rate = (projected cost - carry-forward) /
projected units, rounded half up to Settings `rate_decimals` places. Each agency's annual
bill is its projected units at the proposed rates against the current ones. Nothing in
RateCard changes: the proposal goes to the RateProposal and RateEffect tables.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from .chargeback import display_names, recovery_rows
from .inputs import find_rate
from .periods import parse_period
from .problems import UsageError


class RateProposal(NamedTuple):
    service_id: str
    current_rate: Decimal | None
    proposed_rate: Decimal
    change_pct: Decimal | None
    projected_cost: Decimal
    carry_forward: Decimal  # the base year's charges beyond cost (negative: under-recovered)
    projected_units: Decimal
    base_months: int


class RateEffect(NamedTuple):
    agency_id: str
    current_annual: Decimal
    proposed_annual: Decimal
    change: Decimal


def propose(path: Path, fiscal_year: str, growth_pct: Decimal = Decimal(0),
            ) -> tuple[list[RateProposal], list[RateEffect]]:
    import datetime as dt

    from .model import build_model

    model = build_model(Path(path), dt.date.today())
    inputs, result = model.inputs, model.chargeback
    start = inputs.settings.fiscal_year_start_month
    target = parse_period(fiscal_year, start)
    if target.kind != "fiscal year":
        raise UsageError(f"--fy {fiscal_year!r}: name a fiscal year, e.g. FY2028")
    base = parse_period(f"FY{int(target.label[2:]) - 1}", start)
    if not inputs.has("CostPools"):
        raise UsageError("rate setting needs the CostPools table: rates are set to recover cost")
    places = Decimal(1).scaleb(-inputs.settings.rate_decimals)
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
        raise UsageError(f"no cost pools in {base.label}, the year {target.label}'s rates are "
                         "set from")
    usage = result.charges.filter(pl.col("period").is_in(base.months)
                                  & pl.col("quantity").is_not_null())
    units: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for agency, service, quantity in usage.select("agency_id", "service_id", "quantity").iter_rows():
        units[(agency, service)] += quantity
    factor = 1 + growth_pct / 100
    shown = display_names(inputs)["service"]
    rates_by_service: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in inputs.frame("RateCard").iter_rows(named=True):
        rates_by_service[shown.get(row["service_id"], row["service_id"])].append(row)
    proposals, new_rate, old_rate = [], {}, {}
    for service in sorted(cost):
        n = len(months[service])
        service_units = sum((q for (_, s), q in units.items() if s == service), Decimal(0))
        projected_units = service_units * 12 / n * factor
        projected_cost = (cost[service] * 12 / n).quantize(Decimal("0.01"), ROUND_HALF_UP)
        carry = charged[service] - cost[service]
        if projected_units <= 0:
            continue
        proposed = ((projected_cost - carry) / projected_units).quantize(places, ROUND_HALF_UP)
        current_row = find_rate(rates_by_service.get(service, []), base.end)
        current = current_row["rate"] if current_row else None
        change = ((proposed / current - 1) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP) \
            if current else None
        proposals.append(RateProposal(service, current, proposed, change, projected_cost,
                                      carry, projected_units.quantize(Decimal("0.01")), n))
        new_rate[service], old_rate[service] = proposed, current or Decimal(0)
    effect: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for (agency, service), quantity in units.items():
        if service in new_rate:
            n = len(months[service])
            annual = quantity * 12 / n * factor
            effect[agency][0] += (annual * old_rate[service]).quantize(Decimal("0.01"), ROUND_HALF_UP)
            effect[agency][1] += (annual * new_rate[service]).quantize(Decimal("0.01"), ROUND_HALF_UP)
    effects = [RateEffect(a, old, new, new - old) for a, (old, new) in sorted(effect.items())]
    return proposals, effects


def write_proposal(path: Path, fiscal_year: str, growth_pct: Decimal = Decimal(0),
                   ) -> tuple[list[RateProposal], list[RateEffect]]:
    from .outputs import RATE_EFFECT, RATE_PROPOSAL
    from .refresh import write_tables
    from .workbook.cells import OutputTable
    from .workbook.guard import locked

    with locked(Path(path)) as held:
        proposals, effects = propose(held.path, fiscal_year, growth_pct)
        write_tables(held, [OutputTable("RateProposal", RATE_PROPOSAL, proposals),
                            OutputTable("RateEffect", RATE_EFFECT, effects)])
    return proposals, effects
