"""The chargeback engine: rate card x usage -> charges, cost per user, value and recovery.

Pure functions over validated inputs; no files, no clock. Money is exact: quantities and
rates are fixed-point decimals, each line is rounded half up to cents in integer
arithmetic (no binary floats anywhere), and every total is a sum of rounded lines, so
Charges, AgencySummary and Recovery cross-foot to the cent. The per-line work runs
column-wise in polars, so a million usage rows cost well under a second.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

import polars as pl

from brm_xl.billing import disputes
from brm_xl.billing.allocations import allocation_lines, pool_costs
from brm_xl.billing.review import review
from brm_xl.contract.inputs import Inputs
from brm_xl.contract.kinds import DECIMAL
from brm_xl.contract.money import CENT, MONEY, ZERO, as_money, cents, tenths
from brm_xl.contract.raw import ROW
from brm_xl.contract.validate import Typed
from brm_xl.problems import Problem, errors
from brm_xl.problems import warnings as warnings_of
from brm_xl.sources.focus import FocusBill
from brm_xl.vendors import scorecards


def previous_month(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def product_cents(quantity: pl.Expr, price: pl.Expr) -> pl.Expr:
    """quantity x price rounded half up to whole cents, exactly (both >= 0, 9 decimals)."""
    q = (quantity * 1_000_000_000).cast(pl.Int128)
    p = (price * 1_000_000_000).cast(pl.Int128)
    return ((q * p + 5 * 10**15) // 10**16).cast(pl.Int64)


def cents_to_money(cents_col: pl.Expr) -> pl.Expr:
    """Whole cents (Int64) as an exact decimal with two places: the cents times 0.01,
    a product of decimals, which polars works out exactly in integers."""
    return cents_col.cast(pl.Decimal(38, 0)) * pl.lit(CENT, dtype=MONEY)


def sorted_by(frame: pl.DataFrame, by: list[pl.Expr], nulls_last: bool = False,
              maintain_order: bool = False) -> pl.DataFrame:
    """`frame.sort(by)`, the same order, fast: each text key as its rank among the key's
    distinct values (a sorted Enum), the keys folded into one integer, which sorts far
    faster than several text columns. Any other kind of key, or too many distinct
    values to fold, sorts as polars does."""
    keys = frame.select(by)
    folded = pl.Series("_key", [0] * frame.height, dtype=pl.UInt64)
    span = 1
    for key in keys.get_columns():
        if key.dtype == pl.String:
            values = key.drop_nulls().unique().sort()
            code, size = key.cast(pl.Enum(values.to_list())).to_physical().cast(pl.UInt64), len(values)
        elif key.dtype == pl.Boolean:
            code, size = key.cast(pl.UInt64), 2
        else:
            return frame.sort(by, nulls_last=nulls_last, maintain_order=maintain_order)
        if key.null_count():
            code = code.fill_null(size) if nulls_last else (code + 1).fill_null(0)
            size += 1
        span *= max(size, 1)
        if span >= 2**63:
            return frame.sort(by, nulls_last=nulls_last, maintain_order=maintain_order)
        folded = folded * max(size, 1) + code
    return frame.with_columns(folded).sort("_key", maintain_order=maintain_order).drop("_key")


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
    list_amount: Decimal | None  # a cloud line's cost at list price (FOCUS ListCost)
    reason: str | None


CHARGE_COLUMNS = list(ChargeLine._fields)
# the kinds of line, by the columns they fill: usage and cloud lines have a rate; an
# allocation has a quantity (its driver value) and no rate; an adjustment has neither
USAGE_LINE = pl.col("rate").is_not_null()
ALLOCATION_LINE = pl.col("rate").is_null() & pl.col("quantity").is_not_null()
BLANK_LIST = pl.lit(None, dtype=MONEY).alias("list_amount")  # a line with no list price


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
    list_cost: Decimal | None  # what the lines with a list price would cost at it
    discount: Decimal | None  # list_cost minus what those lines are charged


class RecoveryRow(NamedTuple):
    period: str
    service_id: str | None
    cost: Decimal | None  # None: no cost pool for it that month (unknown, not zero)
    charged: Decimal
    variance: Decimal | None
    recovery_pct: Decimal | None


@dataclass
class Chargeback:
    charges: pl.DataFrame  # CHARGE_COLUMNS + cents (Int64)
    summary: list[SummaryRow]
    recovery: list[RecoveryRow] | None
    value_of: Callable[[], pl.DataFrame]  # `value_lines`, worked out when first asked for
    warnings: list[Problem] = field(default_factory=list)
    disputes: list[Any] | None = None  # DisputeLog rows (brm_xl.billing.disputes), if any
    scorecard: list[Any] | None = None  # Scorecard rows (brm_xl.vendors.scorecards), if any
    service_credits: list[Any] | None = None  # ServiceCredits rows, if any
    # the Review flags of months not closed (billing.review); None: nothing was ever flagged
    # and no decision recorded (no Review table)
    review: list[Any] | None = None
    flags: list[Any] = field(default_factory=list)  # every month's flags, with decisions
    problems: list[Problem] = field(default_factory=list)  # errors found computing

    @functools.cached_property
    def value_lines(self) -> pl.DataFrame:
        """period, agency_id, service_id, component, amount, cents: each usage line's
        standalone cost by component (`standalone_lines`), sorted. Worked out when a report
        first asks: the summary needs only their sums (`standalone_cents`), and a refresh
        or a worksheet function nothing more."""
        return self.value_of()

    def charge_lines(self) -> list[ChargeLine]:
        return [ChargeLine(*row) for row in self.charges.select(CHARGE_COLUMNS).iter_rows()]


def vendor_performance(inputs: Inputs, priced: pl.DataFrame, as_of: dt.date,
                       ) -> tuple[list[Any], list[Any]]:
    """Vendor scorecards and service credits (brm_xl.vendors.scorecards), from the priced usage;
    corrective actions open and overdue as of `as_of`."""
    if not inputs.has("ServiceLevels"):
        return [], []

    return scorecards.compute(inputs, priced, set(inputs.published.closed()), as_of)


def dispute_credits(inputs: Inputs, as_of: dt.date,
                    ) -> tuple[list[Any] | None, pl.DataFrame | None, list[Problem]]:
    """The DisputeLog (ages counted to `as_of`), and accepted disputes as adjustment lines
    in open months (brm_xl.billing.disputes)."""
    if not inputs.has("Disputes"):
        return None, None, []

    log, problems = disputes.dispute_log(inputs, set(inputs.published.closed()), as_of)
    return log, disputes.credit_adjustments(log), problems


def compute(inputs: Inputs, as_of: dt.date) -> Chargeback:
    """All chargeback outputs from validated inputs; `as_of` is the command's day (disputes'
    ages, vendors' open corrective actions), never the clock."""
    names = display_names(inputs)
    usage = aggregate_usage(inputs.frame("Usage"))
    adjustments = inputs.frame("Adjustments") if inputs.has("Adjustments") else None
    dispute_rows, dispute_lines, dispute_warnings = dispute_credits(inputs, as_of)
    if dispute_lines is not None and dispute_lines.height:
        columns = ["period", "agency_id", "service_id", "amount", "reason", ROW]
        adjustments = pl.concat([adjustments.select(columns), dispute_lines.select(columns)],
                                how="vertical_relaxed") if adjustments is not None else dispute_lines
    rates = rate_frame(inputs, usage, adjustments)
    priced = price_usage(usage, rates)
    parts = [priced, adjustment_lines(adjustments, rates)]
    scorecard, service_credits = vendor_performance(inputs, priced, as_of)
    if service_credits and inputs.settings.pass_through_credits:
        vendors = {str(v).upper(): n for v, n in inputs.frame("Vendors").select(
            "vendor_id", "vendor_name").iter_rows()} if inputs.has("Vendors") else {}
        parts.append(adjustment_lines(scorecards.credit_adjustments(
            service_credits, {k: n or k for k, n in vendors.items()}), rates))
    cloud = charge_lines(inputs.focus, inputs.settings.currency) \
        if inputs.focus is not None else priced.clear()
    parts.append(cloud)
    # allocations are split by what the month's usage and cloud lines (`spend`) came to
    pools, found = allocation_lines(inputs, pl.concat([priced, cloud]).filter(USAGE_LINE),
                                    f"{as_of:%Y-%m}")
    parts.append(pools)
    charges = pl.concat(parts, how="vertical_relaxed")
    charges, flags, decided = review(inputs, _with_display(charges, names))
    charges = sorted_by(charges, [
        pl.col("period"), pl.col("agency_id"), pl.col("quantity").is_null(), pl.col("service_id")],
        nulls_last=True, maintain_order=True)
    summary, warnings = agency_summary(inputs, charges, standalone_cents(usage, inputs, names),
                                       names)
    recovery = None
    if inputs.has("CostPools") or inputs.focus is not None or pools.height:
        recovery, unpooled = recovery_rows(inputs, charges, names, pool_costs(inputs, pools))
        warnings += unpooled
    warnings += dispute_warnings + warnings_of(found) + decided
    closed = set(inputs.published.closed())
    shown = [f for f in flags if f.period not in closed] \
        if flags or inputs.has("ReviewDecisions") else None
    return Chargeback(charges, summary, recovery,
                      lambda: _with_display(standalone_lines(usage, inputs), names), warnings,
                      dispute_rows, scorecard or None, service_credits or None, shown, flags,
                      errors(found))


def display_names(inputs: Inputs) -> dict[str, dict[str, str]]:
    """Ids as users typed them in the master tables, keyed by their upper-case form."""
    agencies = inputs.frame("Agencies")
    services: dict[str, str] = {}
    for key, text in inputs.frame("RateCard").select("service_id", "service_id_text").iter_rows():
        services.setdefault(key, text)
    return {
        "agency": dict(agencies.select("agency_id", "agency_id_text").iter_rows()),
        "agency_name": dict(agencies.select("agency_id", "agency_name").iter_rows()),
        "service": services,
    }


def _with_display(frame: pl.DataFrame, names: dict[str, dict[str, str]]) -> pl.DataFrame:
    return frame.with_columns(
        pl.col("agency_id").replace_strict(names["agency"], default=pl.col("agency_id")),
        pl.col("service_id").replace_strict(names["service"], default=pl.col("service_id")),
    )


def aggregate_usage(usage: pl.DataFrame) -> pl.DataFrame:
    """Sum quantities per (period, agency_id, service_id), exactly (fixed-point decimal)."""
    return usage.group_by("period", "agency_id", "service_id").agg(pl.col("quantity").sum())


def rate_frame(inputs: Inputs, usage: pl.DataFrame,
               adjustments: pl.DataFrame | None) -> pl.DataFrame:
    """The rate row in force for each (service_id, period) that usage or adjustments name."""
    rates = rate_lookup(inputs.frame("RateCard"))
    pairs = usage.select("service_id", "period")
    if adjustments is not None:
        pairs = pl.concat([pairs, adjustments.select("service_id", "period").drop_nulls()])
    rows = []
    for sid, period in pairs.unique().iter_rows():
        rec = find_rate(rates.get(sid, []), period)
        if rec is not None:
            rows.append((sid, period, rec["service_name"], rec["tower"], rec["unit"], rec["rate"]))
    return pl.DataFrame(rows, orient="row", schema={
        "service_id": pl.String, "period": pl.String, "service_name": pl.String,
        "tower": pl.String, "unit": pl.String, "rate": DECIMAL})


def price_usage(usage: pl.DataFrame, rates: pl.DataFrame) -> pl.DataFrame:
    priced = usage.join(rates, on=["service_id", "period"], how="left")
    return priced.with_columns(
        product_cents(pl.col("quantity"), pl.col("rate")).alias("cents"),
        pl.lit(None, dtype=pl.String).alias("reason"), BLANK_LIST,
    ).with_columns(cents_to_money(pl.col("cents")).alias("amount")).select([*CHARGE_COLUMNS, "cents"])


def adjustment_lines(adjustments: pl.DataFrame | None, rates: pl.DataFrame) -> pl.DataFrame:
    if adjustments is None or adjustments.is_empty():
        return pl.DataFrame(schema={**{c: pl.String for c in CHARGE_COLUMNS},
                                    "quantity": DECIMAL, "rate": DECIMAL, "amount": MONEY,
                                    "list_amount": MONEY, "cents": pl.Int64}
                            ).select([*CHARGE_COLUMNS, "cents"])
    lines = adjustments.sort(ROW).join(
        rates.drop("rate"), on=["service_id", "period"], how="left", maintain_order="left")
    return lines.with_columns(
        (pl.col("amount") * 100).cast(pl.Int64).alias("cents"),
        pl.lit(None, dtype=DECIMAL).alias("quantity"),
        pl.lit(None, dtype=DECIMAL).alias("rate"), BLANK_LIST,
    ).with_columns(cents_to_money(pl.col("cents")).alias("amount")).select([*CHARGE_COLUMNS, "cents"])


def standalone_lines(usage: pl.DataFrame, inputs: Inputs) -> pl.DataFrame:
    """quantity x unit_cost per (usage line, component), each rounded to cents."""
    schema: dict[str, Any] = {"period": pl.String, "agency_id": pl.String,
                              "service_id": pl.String, "component": pl.String, "amount": MONEY,
                              "cents": pl.Int64}
    if not inputs.has("StandaloneCosts"):
        return pl.DataFrame(schema=schema)
    components = inputs.frame("StandaloneCosts").select("service_id", "component", "unit_cost")
    # in order of (period, agency_id, service_id, component): the usage lines (one per
    # period, agency and service) sorted, each joined to its service's components sorted,
    # is that order, and costs far less than sorting the lines (several per usage line)
    lines = sorted_by(usage, [pl.col("period"), pl.col("agency_id"), pl.col("service_id")]).join(
        sorted_by(components, [pl.col("service_id"), pl.col("component")]), on="service_id",
        how="inner", maintain_order="left_right")
    return lines.with_columns(
        product_cents(pl.col("quantity"), pl.col("unit_cost")).alias("cents"),
    ).with_columns(cents_to_money(pl.col("cents")).alias("amount")).select(list(schema))


def standalone_cents(usage: pl.DataFrame, inputs: Inputs, names: dict[str, dict[str, str]],
                     ) -> dict[tuple[str, str], int]:
    """The cents of `standalone_lines` summed per (period, agency_id as typed), from the
    lines unsorted (their sums are the same in any order)."""
    if not inputs.has("StandaloneCosts"):
        return {}
    components = inputs.frame("StandaloneCosts").select("service_id", "component", "unit_cost")
    sums = usage.lazy().join(components.lazy(), on="service_id", how="inner").group_by(
        "period", "agency_id").agg(product_cents(pl.col("quantity"), pl.col("unit_cost")).sum())
    agencies = names["agency"]
    return {(period, agencies.get(agency, agency)): total
            for period, agency, total in sums.collect().iter_rows()}


def _sums(frame: pl.DataFrame, keys: list[str]) -> dict[Any, int]:
    grouped = frame.group_by(keys).agg(pl.col("cents").sum())
    return {tuple(row[:-1]): row[-1] for row in grouped.iter_rows()}


def agency_summary(inputs: Inputs, charges: pl.DataFrame, standalone: dict[tuple[str, str], int],
                   names: dict[str, dict[str, str]]) -> tuple[list[SummaryRow], list[Problem]]:
    totals = _sums(charges, ["period", "agency_id"])
    listed = {(p, a): (as_money(lc), as_money(lc - c)) for p, a, lc, c in charges.filter(
        pl.col("list_amount").is_not_null()).group_by("period", "agency_id").agg(
        (pl.col("list_amount") * 100).cast(pl.Int64).sum(), pl.col("cents").sum()).iter_rows()}
    headcount = inputs.tables["Headcount"]
    users: dict[tuple[str, str], tuple[Any, Any]] = {}
    for period, agency_id, count, row in headcount.frame.select(
            "period", "agency_id", "users", ROW).iter_rows():
        users[(period, names["agency"][agency_id])] = (count, row)
    keys = sorted(set(totals) | set(users))
    money = {key: as_money(totals.get(key, 0)) for key in keys}
    statewide = _statewide(keys, money, users)
    cpu: dict[Any, Decimal | None] = {}
    warnings = []
    for key in keys:
        count = users.get(key, (None, None))[0]
        cpu[key] = cents(money[key] / count) if count else None
        warnings.extend(_headcount_warning(headcount, key, users.get(key), totals.get(key)))
    name_by_display = {names["agency"][k]: n for k, n in names["agency_name"].items()}
    rows = []
    for key in keys:
        period, agency_id = key
        prior = cpu.get((previous_month(period), agency_id))
        now = cpu[key]
        change = tenths((now / prior - 1) * 100) if now is not None and prior else None
        alone = as_money(standalone[key]) if key in standalone else None
        rows.append(SummaryRow(
            period, agency_id, name_by_display.get(agency_id, ""), users.get(key, (None,))[0],
            money[key], cpu[key], prior, change, statewide.get(period), alone,
            alone - money[key] if alone is not None else None, *listed.get(key, (None, None)),
        ))
    return rows, warnings


def _statewide(keys: list[tuple[str, str]], money: dict[tuple[str, str], Decimal],
               users: dict[tuple[str, str], tuple[int, int]]) -> dict[str, Decimal]:
    charged: dict[str, Decimal] = defaultdict(Decimal)
    people: dict[str, int] = defaultdict(int)
    for key in keys:
        count = users.get(key, (None,))[0]
        if count:
            charged[key[0]] += money[key]
            people[key[0]] += count
    return {p: cents(charged[p] / people[p]) for p in people if people[p]}


def _headcount_warning(headcount: Typed, key: tuple[str, str], found: tuple[int, int] | None,
                       total: int | None) -> list[Problem]:
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


def recovery_rows(inputs: Inputs, charges: pl.DataFrame, names: dict[str, dict[str, str]],
                  pools: dict[tuple[str, str], Decimal] | None = None,
                  ) -> tuple[list[RecoveryRow], list[Problem]]:
    """Cost against charges per service, for every month that has cost pools. A service
    charged in such a month without a pool of its own has an unknown cost: its cost,
    variance and recovery are blank, with a warning (a cost of 0 would read as a service
    recovered a hundred times over)."""
    cost: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    if inputs.has("CostPools"):
        for period, sid, amount in inputs.frame("CostPools").select(
                "period", "service_id", "cost").iter_rows():
            cost[(period, names["service"][sid])] += amount
    if inputs.focus is not None:  # what the cloud providers billed, allocated or not
        for key, amount in inputs.focus.cost.items():
            cost[key] += amount
    for key, amount in (pools or {}).items():  # a pool of its own: its amount is its cost
        cost[key] += amount
    periods = sorted({p for p, _ in cost})
    charged = {key: as_money(c) for key, c in _sums(
        charges.filter(pl.col("period").is_in(periods)), ["period", "service_id"]).items()}
    rows, unpooled = [], []
    for key in sorted(set(cost) | set(charged), key=lambda k: (k[0], k[1] is None, k[1] or "")):
        ch = charged.get(key, ZERO)
        if key not in cost:
            rows.append(RecoveryRow(key[0], key[1], None, ch, None, None))
            if key[1] is not None and inputs.has("CostPools"):
                unpooled.append(Problem(
                    "CostPools", f"no cost pool for {key[1]} in {key[0]}, though it was charged "
                    "that month; its cost, variance and recovery are left blank", "no-cost-pool",
                    "warning"))
            continue
        c = cents(cost[key])
        rows.append(RecoveryRow(key[0], key[1], c, ch, ch - c, tenths(ch / c * 100) if c else None))
    return rows, unpooled


def rate_lookup(rate_card: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for rec in rate_card.drop_nulls(["service_id", "effective_from", "rate"]).sort(
            "effective_from").iter_rows(named=True):
        out.setdefault(rec["service_id"], []).append(rec)
    return out


def find_rate(rows: list[dict[str, Any]], period: str) -> dict[str, Any] | None:
    for rec in rows:
        if rec["effective_from"] <= period and (rec["effective_to"] is None or period <= rec["effective_to"]):
            return rec
    return None


def charge_amount(cost: Decimal, pct: Decimal) -> Decimal:
    """Cloud cost plus the surcharge, half up to cents (credits round away from zero too)."""
    return (cost * (100 + pct) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)


def charge_lines(bill: FocusBill, currency: str) -> pl.DataFrame:
    """The allocated cloud cost as Charges lines (see the module docstring)."""
    rate = (100 + bill.surcharge_pct) / 100
    rows = []
    for period, agency, service, tower, category, provider, cost, corrects, listed in bill.lines:
        amount = charge_amount(cost, bill.surcharge_pct)
        name = service if category == "Usage" else f"{service} ({category})"
        reason = None if category == "Usage" else f"{provider or 'Cloud'} {category.lower()}"
        if corrects:
            name = f"{service} (correction of {corrects})"
            reason = f"{provider or 'Cloud'} correction restating {corrects}" + (
                f", charged in {period} since {corrects} is closed" if period != corrects else "")
        rows.append((period, agency, service, name, tower, f"{currency} of cloud cost",
                     cost.normalize(), rate.normalize(), amount,
                     cents(listed) if listed is not None else None, reason, int(amount * 100)))
    schema: dict[str, Any] = {"period": pl.String, "agency_id": pl.String, "service_id": pl.String,
              "service_name": pl.String, "tower": pl.String, "unit": pl.String,
              "quantity": DECIMAL, "rate": DECIMAL, "amount": MONEY,
              "list_amount": MONEY, "reason": pl.String, "cents": pl.Int64}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.select([*CHARGE_COLUMNS, "cents"])
