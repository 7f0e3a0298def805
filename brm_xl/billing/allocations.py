"""Allocations: costs billed regardless of use, spread over the agencies by a driver.

A pool (Allocations) bills `monthly_amount` each month it is in force, for the months the
workbook bills (a month with priced usage or cloud lines) up to the as-of month. Each month
it is split over the agencies in scope (the `agencies` listed, else all; for fixed
shares, those given one) pro rata to the driver: `users` (Headcount),
`spend` (the agency's priced usage and cloud lines of the month), `fixed` (the shares in
AllocationShares) or a driver named in Drivers (e.g. `fte`). Each part is rounded half up
to cents; the remainder cents go to the largest share (ties: the first agency id), so a
pool's lines add up to its amount exactly. Each part is a Charges line with the driver
value as its quantity, no rate, and a reason that shows the arithmetic.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from brm_xl.contract import tables as C
from brm_xl.contract.inputs import Inputs
from brm_xl.contract.kinds import DECIMAL
from brm_xl.contract.money import MONEY, as_money
from brm_xl.contract.raw import ROW
from brm_xl.contract.validate import Typed, duplicates, unknown_ids
from brm_xl.problems import Problem

# the unit an allocation line's quantity is counted in
UNITS = {"users": "users", "spend": "spend", "fixed": "share %"}
REASON = "Allocation: {name} by {driver} ({value} of {total})"


@dataclass(frozen=True)
class Pool:
    """One Allocations row."""

    pool_id: str  # upper-case key
    pool_text: str  # as typed
    name: str
    service_id: str | None  # upper-case key
    tower: str
    cents: int
    start: str
    end: str | None
    driver: str  # users, spend, fixed, or a Drivers name (case folded)
    driver_text: str
    agencies: tuple[str, ...] | None  # upper-case keys; None: all
    row: int

    def months(self, billed: list[str], last: str) -> list[str]:
        return [m for m in billed
                if self.start <= m <= last and (self.end is None or m <= self.end)]


def driver_key(text: object) -> str:
    """Driver names match ignoring case and surrounding spaces."""
    return str(text or "").strip().casefold()


def agency_list(text: object) -> list[tuple[str, str]]:
    """`DOT; dmv` -> [(DOT, DOT), (DMV, dmv)]: each id's key and its text."""
    return [(part.strip().upper(), part.strip()) for part in str(text or "").split(";")
            if part.strip()]


def pools(inputs: Inputs) -> list[Pool]:
    """The Allocations rows as pools, read once per inputs (the checks, the split, Recovery
    and the close's cells all ask)."""
    if "pools" not in inputs.memo:
        inputs.memo["pools"] = _pools(inputs) if inputs.has("Allocations") else []
    return list(inputs.memo["pools"])


def _pools(inputs: Inputs) -> list[Pool]:
    out = []
    texts: dict[str, str] = {}  # a pool is billed under the id as its first row types it
    for rec in inputs.frame("Allocations").drop_nulls(
            ["pool_id", "monthly_amount", "effective_from", "driver"]).sort(ROW).iter_rows(named=True):
        scope = tuple(key for key, _ in agency_list(rec["agencies"])) or None
        text = texts.setdefault(rec["pool_id"], rec["pool_id_text"])
        out.append(Pool(rec["pool_id"], text, rec["name"] or text,
                        rec["service_id"], rec["tower"] or "", int(rec["monthly_amount"] * 100),
                        rec["effective_from"], rec["effective_to"], driver_key(rec["driver"]),
                        str(rec["driver"]).strip(), scope, rec[ROW]))
    return out


def allocation_lines(inputs: Inputs, priced: pl.DataFrame, last_month: str,
                     ) -> tuple[pl.DataFrame, list[Problem]]:
    """Every pool's Charges lines (keyed by upper-case ids, as the other lines are before
    their display names) and the problems found splitting them: a month whose driver
    totals 0, or a named driver with no Drivers rows for a month, is an error at the
    pool's driver cell; an agency in scope with no driver value that month, a warning."""
    schema: dict[str, Any] = {
        "period": pl.String, "agency_id": pl.String, "service_id": pl.String,
        "service_name": pl.String, "tower": pl.String, "unit": pl.String,
        "quantity": DECIMAL, "rate": DECIMAL, "amount": MONEY, "list_amount": MONEY,
        "reason": pl.String, "cents": pl.Int64}
    found = pools(inputs)
    if not found:
        return pl.DataFrame(schema=schema), []
    table = inputs.tables["Allocations"]
    billed = sorted(set(priced["period"].to_list()))
    everyone = sorted(inputs.frame("Agencies")["agency_id"].to_list())
    values = _driver_values(inputs, priced)
    rows: list[tuple[Any, ...]] = []
    problems: list[Problem] = []
    missing: dict[tuple[int, str], list[str]] = defaultdict(list)
    for pool in found:
        by_agency = values.get(pool.driver if pool.driver != "fixed" else "fixed:" + pool.pool_id,
                               {})
        # a pool of fixed shares is spread over the agencies given a share
        among = everyone if pool.driver != "fixed" else sorted(by_agency.get("", {}))
        scope = [a for a in among if pool.agencies is None or a in pool.agencies]
        if pool.driver not in C.DRIVER_WORDS and pool.driver not in values:
            continue  # a driver no Drivers row names: an error of the checks already
        for month in pool.months(billed, last_month):
            got = by_agency.get(month if pool.driver != "fixed" else "", {})
            if pool.driver not in ("spend", "fixed") and not got:
                problems.append(Problem(
                    table.where("driver", pool.row),
                    f"pool {pool.pool_text} is split by {pool.driver_text}, but "
                    + ("Headcount has no users" if pool.driver == "users" else
                       f"Drivers has no {pool.driver_text} rows") + f" for {month}; add them, "
                    "or end the pool (effective_to) before that month", "no-driver"))
                continue
            shares = {}
            for agency in scope:
                value = got.get(agency)
                if value is None and pool.driver != "spend":
                    missing[(pool.row, agency)].append(month)
                elif value is not None and value > 0:
                    shares[agency] = value
            if not shares:
                problems.append(Problem(
                    table.where("driver", pool.row),
                    f"pool {pool.pool_text}'s driver {pool.driver_text} totals 0 over its "
                    f"agencies in {month}, so its {as_money(pool.cents):,.2f} cannot be split",
                    "zero-driver"))
                continue
            rows += _split(pool, month, shares)
    names = dict(inputs.frame("Agencies").select("agency_id", "agency_id_text").iter_rows())
    for (row, agency), months in sorted(missing.items()):
        pool = next(p for p in found if p.row == row)
        what = {"users": "Headcount users", "fixed": "AllocationShares share"}.get(
            pool.driver, f"Drivers {pool.driver_text} value")
        problems.append(Problem(
            table.where("driver", row),
            f"{names.get(agency, agency)} is in pool {pool.pool_text}'s scope but has no {what} "
            f"for {_months(months)}, so it gets no share of it then", "no-share", "warning"))
    return pl.DataFrame(rows, schema=schema, orient="row"), problems


def _split(pool: Pool, month: str, shares: dict[str, Decimal]) -> list[tuple[Any, ...]]:
    """`pool.cents` pro rata to `shares`, half up per agency; the remainder to the largest."""
    total = sum(shares.values(), Decimal(0))
    # exactly, in integers: driver values have at most 9 decimals (the reader's precision)
    scaled = {a: int(v.scaleb(9)) for a, v in shares.items()}
    whole = sum(scaled.values())
    parts = {a: (2 * pool.cents * v + whole) // (2 * whole) for a, v in scaled.items()}
    # the cents rounding left over (or took too many), a cent each to the largest shares
    # (ties: the first agency id): no part is more than a cent from its exact share
    left = pool.cents - sum(parts.values())
    for agency in sorted(shares, key=lambda a: (-shares[a], a))[:abs(left)]:
        parts[agency] += 1 if left > 0 else -1
    service = pool.service_id or pool.pool_text
    unit = UNITS.get(pool.driver, pool.driver_text)
    driver = "fixed share" if pool.driver == "fixed" else pool.driver_text
    money = pool.driver == "spend"
    of_total = _figure(total, money)
    return [(month, agency, service, pool.name, pool.tower, unit, shares[agency].normalize(),
             None, as_money(parts[agency]), None,
             _reason(pool, driver, len(shares), _figure(shares[agency], money), of_total),
             parts[agency])
            for agency in sorted(shares)]


def _reason(pool: Pool, driver: str, sharing: int, value: str, total: str) -> str:
    """The line's arithmetic; shared by fewer than three agencies, the total would tell
    each the other's figure, so it is left out."""
    if sharing < PRIVATE_BELOW:
        return f"Allocation: {pool.name} by {driver} (shared with {sharing - 1} other " \
               f"agenc{'y' if sharing == 2 else 'ies'})"
    return REASON.format(name=pool.name, driver=driver, value=value, total=total)


PRIVATE_BELOW = 3  # agencies sharing a month below which a line does not show the total


def _figure(value: Decimal, money: bool) -> str:
    return f"{value:,.2f}" if money else f"{value.normalize():,f}"


def _months(months: list[str]) -> str:
    return months[0] if len(months) == 1 else f"{len(months)} months, {months[0]} to {months[-1]}"


def _driver_values(inputs: Inputs, priced: pl.DataFrame,
                   ) -> dict[str, dict[str, dict[str, Decimal]]]:
    """driver -> month -> agency -> value ('fixed:<pool>' -> '' -> agency -> share)."""
    out: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    for period, agency, users in inputs.frame("Headcount").drop_nulls(
            ["period", "agency_id", "users"]).select("period", "agency_id", "users").iter_rows():
        out["users"][period][agency] = Decimal(users)
    spend = priced.group_by("period", "agency_id").agg(pl.col("cents").sum())
    for period, agency, cents in spend.iter_rows():
        out["spend"][period][agency] = as_money(cents)
    if inputs.has("AllocationShares"):
        for pool, agency, share in inputs.frame("AllocationShares").drop_nulls(
                ["pool_id", "agency_id", "share"]).select("pool_id", "agency_id", "share").iter_rows():
            out["fixed:" + pool][""][agency] = share
    if inputs.has("Drivers"):
        for period, agency, name, value in inputs.frame("Drivers").drop_nulls(
                ["period", "agency_id", "driver", "value"]).select(
                "period", "agency_id", "driver", "value").iter_rows():
            out[driver_key(name)][period][agency] = value
    return out


def check_allocations(inputs: Inputs) -> list[Problem]:
    """Allocations, AllocationShares and Drivers, each problem at its cell: an unknown
    agency, service or pool; months out of order or overlapping for one pool; a driver
    that is none of users, spend, fixed or a Drivers name; shares not adding up to 100."""
    if not any(inputs.has(t) for t in ("Allocations", "AllocationShares", "Drivers")):
        return []
    agencies = set(inputs.frame("Agencies")["agency_id"].to_list())
    services = set(inputs.frame("RateCard")["service_id"].to_list())
    problems: list[Problem] = []
    named = {driver_key(n) for n in inputs.frame("Drivers")["driver"].to_list()} \
        if inputs.has("Drivers") else set()
    found = pools(inputs)
    ids = {p.pool_id for p in found}
    if inputs.has("Allocations"):
        table = inputs.tables["Allocations"]
        problems += unknown_ids(table, "service_id", services, "RateCard")
        problems += _pool_problems(table, found, agencies, services, named, inputs)
    if inputs.has("AllocationShares"):
        shares = inputs.tables["AllocationShares"]
        problems += _share_problems(shares, ids, agencies, found)
    if inputs.has("Drivers"):
        drivers = inputs.tables["Drivers"]
        problems += unknown_ids(drivers, "agency_id", agencies, "Agencies")
        keyed = Typed(drivers.raw, drivers.frame.with_columns(
            pl.col("driver").map_elements(driver_key, return_dtype=pl.String).alias("_driver")))
        problems += duplicates(keyed, ["period", "agency_id", "_driver"],
                               "the driver value for {} is given more than once")
        for row, name in keyed.frame.filter(pl.col("_driver").is_in(list(C.DRIVER_WORDS))).select(
                ROW, "driver").head(1).iter_rows():
            problems.append(Problem(drivers.where("driver", row),
                                    f"driver '{name}' is one brm_xl works out itself (users, "
                                    "spend, fixed); give your driver another name", "driver-name"))
    return problems


def _pool_problems(table: Typed, found: list[Pool], agencies: set[str], services: set[str],
                   named: set[str], inputs: Inputs) -> list[Problem]:
    problems = []
    shared = set(inputs.frame("AllocationShares")["pool_id"].to_list()) \
        if inputs.has("AllocationShares") else set()
    by_pool: dict[str, list[Pool]] = defaultdict(list)
    text = {r[ROW]: r["agencies"] for r in table.frame.select(ROW, "agencies").iter_rows(named=True)}
    for pool in found:
        if pool.end is not None and pool.end < pool.start:
            problems.append(Problem(table.where("effective_to", pool.row),
                                    f"effective_to {pool.end} is before effective_from "
                                    f"{pool.start}", "bad-range"))
        for before in by_pool[pool.pool_id]:
            if before.start <= (pool.end or "9999-99") and pool.start <= (before.end or "9999-99"):
                problems.append(Problem(
                    table.where("effective_from", pool.row),
                    f"pool {pool.pool_text} from {pool.start} overlaps row {before.row} "
                    f"({before.start} to {before.end or 'open-ended'}); end the earlier row first",
                    "pool-overlap"))
                break
        by_pool[pool.pool_id].append(pool)
        if pool.service_id is None and pool.pool_id in services:
            problems.append(Problem(
                table.where("pool_id", pool.row),
                f"pool_id {pool.pool_text} is also a RateCard service; give it as service_id "
                "if the pool recovers that service's cost, or name the pool apart", "pool-id"))
        if pool.driver not in C.DRIVER_WORDS and pool.driver not in named:
            problems.append(Problem(
                table.where("driver", pool.row),
                f"driver '{pool.driver_text}' is not users, spend or fixed, and no Drivers row "
                f"names it", "unknown-driver"))
        if pool.driver == "fixed" and pool.pool_id not in shared:
            problems.append(Problem(
                table.where("driver", pool.row),
                f"pool {pool.pool_text} is split by fixed shares, but AllocationShares has no "
                "rows for it", "no-shares"))
        for key, typed in agency_list(text.get(pool.row)):
            if key not in agencies:
                problems.append(Problem(table.where("agencies", pool.row),
                                        f"agencies names '{typed}', which is not in Agencies",
                                        "unknown-id"))
    return problems


def _share_problems(shares: Typed, ids: set[str], agencies: set[str],
                    found: list[Pool]) -> list[Problem]:
    problems = unknown_ids(shares, "agency_id", agencies, "Agencies")
    problems += unknown_ids(shares, "pool_id", ids, "Allocations") if ids else []
    problems += duplicates(shares, ["pool_id", "agency_id"],
                           "the share of {} is given more than once")
    totals: dict[str, tuple[Decimal, int, str]] = {}
    for pool, text, share, row in shares.frame.drop_nulls(["pool_id", "share"]).sort(ROW).select(
            "pool_id", "pool_id_text", "share", ROW).iter_rows():
        total, first, _ = totals.get(pool, (Decimal(0), row, text))
        totals[pool] = (total + share, first, text)
    for pool, (total, row, text) in sorted(totals.items()):
        if pool in ids and total != 100:
            problems.append(Problem(
                shares.where("share", row),
                f"the shares of pool {text} add up to {total.normalize():f}, not 100",
                "shares-total"))
    return problems


def pool_costs(inputs: Inputs, lines: pl.DataFrame) -> dict[tuple[str, str], Decimal]:
    """(period, pool_id) -> what a pool with no service of its own billed: Recovery's cost
    for it (its monthly amount, which its lines add up to)."""
    own = {p.pool_text for p in pools(inputs) if p.service_id is None}
    return {(period, pool): as_money(c) for period, pool, c in lines.filter(
        pl.col("service_id").is_in(sorted(own))).group_by("period", "service_id").agg(
        pl.col("cents").sum()).iter_rows()}
