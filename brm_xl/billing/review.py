"""Review before the statement: charges that moved sharply are flagged, and decided on.

An agency's charge for a service (the month's total of its lines for that service) is
flagged when it changed against the agency's previous billed month by more than Settings
`review_change_pct` percent and by more than `review_min_amount` (its previous billed
month: the last with a line for a service); a service new to the agency since that month is flagged above `review_min_amount` (an agency's first billed
month flags nothing); cloud cost no agency was found for (Unallocated) is flagged above
`review_min_amount` under the agency UNALLOCATED. Flags are worked out from the month's
lines as computed, before any hold.

ReviewDecisions records what finance decided: `approve` leaves the line where it is; `hold`
takes every line of that agency and service out of the month and bills it in the first
later month that is not closed, with a reason saying so. `brm_xl.app.close` refuses a
month with a flag that has no decision (`undecided`).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any, NamedTuple

import polars as pl

from brm_xl.contract import tables as C
from brm_xl.contract.inputs import Inputs
from brm_xl.contract.money import as_money, cents, tenths
from brm_xl.contract.periods import first_open, month_index, month_of
from brm_xl.contract.raw import ROW
from brm_xl.contract.validate import duplicates
from brm_xl.problems import Problem


class ReviewRow(NamedTuple):
    """One Review row: a month's charge finance approves or holds before it is billed."""

    period: str
    agency_id: str
    service_id: str
    amount: Decimal
    prior_amount: Decimal | None
    change_pct: Decimal | None
    reason: str
    decision: str | None  # approve, hold, or blank: not decided yet


class Decision(NamedTuple):
    decision: str
    decided_by: str | None
    row: int


def flags(charges: pl.DataFrame, unallocated: list[Any], change_pct: Decimal,
          min_amount: Decimal) -> list[ReviewRow]:
    """Every month's flags, before decisions (see the module docstring)."""
    limit = int(min_amount * 100)
    scaled = change_pct * 10_000  # the percent in ten-thousandths (exact: a Decimal)
    lines = charges.filter(pl.col("service_id").is_not_null()).with_columns(
        pl.col("agency_id").str.to_uppercase().alias("_a"),
        pl.col("service_id").str.to_uppercase().alias("_s"))
    totals = lines.group_by("period", "_a", "_s").agg(
        pl.col("agency_id").first(), pl.col("service_id").first(), pl.col("cents").sum())
    # each agency's previous billed month (the last before it with a line for a service)
    months = totals.select("_a", "period").unique().sort("_a", "period").with_columns(
        pl.col("period").shift(1).over("_a").alias("_before"))
    prior = totals.select(pl.col("period").alias("_before"), "_a", "_s",
                          pl.col("cents").alias("_prior"))
    # one query narrows 65,000 totals to the few that moved by more than the amount (or
    # are new above it); the percent is then checked exactly, in integers
    moved = totals.join(months, on=["_a", "period"]).filter(pl.col("_before").is_not_null()) \
        .join(prior, on=["_before", "_a", "_s"], how="left").filter(
        pl.when(pl.col("_prior").is_null()).then(pl.col("cents") > limit)
        .otherwise((pl.col("cents") - pl.col("_prior")).abs() > limit))
    out = []
    for period, agency, service, total, before, was in moved.select(
            "period", "agency_id", "service_id", "cents", "_before", "_prior").iter_rows():
        if was is None:
            out.append(ReviewRow(period, agency, service, as_money(total), None, None,
                                 f"new to {agency} since {before}", None))
            continue
        change = total - was
        if was and abs(change) * 1_000_000 <= scaled * abs(was):
            continue
        pct = tenths(Decimal(change) / abs(was) * 100) if was else None
        said = f"{pct:+}%" if pct is not None else f"from {as_money(was):,.2f}"
        out.append(ReviewRow(period, agency, service, as_money(total), as_money(was), pct,
                             f"changed {said} since {before}", None))
    loose: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in unallocated:
        loose[(row.period, row.service_name or "")] += row.cost
    for (period, service), cost in loose.items():
        if cents(cost) > min_amount:
            out.append(ReviewRow(period, C.UNALLOCATED_AGENCY, service, cents(cost), None, None,
                                 "cloud cost no agency was found for (Unallocated)", None))
    return sorted(out, key=lambda r: (r.period, r.agency_id.upper(), r.service_id.upper()))


def decisions(inputs: Inputs) -> dict[tuple[str, str, str], Decision]:
    """(period, AGENCY, SERVICE) -> the decision recorded for it."""
    if not inputs.has("ReviewDecisions"):
        return {}
    out: dict[tuple[str, str, str], Decision] = {}
    for rec in inputs.frame("ReviewDecisions").drop_nulls(
            ["period", "agency_id", "service_id", "decision"]).sort(ROW).iter_rows(named=True):
        out.setdefault((rec["period"], rec["agency_id"].upper(), rec["service_id"].upper()),
                       Decision(rec["decision"], rec["decided_by"], rec[ROW]))
    return out


def review(inputs: Inputs, charges: pl.DataFrame,
           ) -> tuple[pl.DataFrame, list[ReviewRow], list[Problem]]:
    """The charges with held lines moved on, every month's flags with their decisions, and
    a warning for each decision of a line that was never flagged."""
    settings = inputs.settings
    found = flags(charges, inputs.focus.unallocated if inputs.focus is not None else [],
                  Decimal(str(settings.review_change_pct)),
                  Decimal(str(settings.review_min_amount)))
    decided = decisions(inputs)
    rows = [r._replace(decision=decided[key].decision) if key in decided else r
            for r in found for key in [_key(r)]]
    flagged = {_key(r) for r in found}
    problems = []
    for key, decision in sorted(decided.items(), key=lambda kv: kv[1].row):
        if key not in flagged:
            problems.append(Problem(
                inputs.tables["ReviewDecisions"].where("decision", decision.row),
                f"{key[0]} {key[1]} {key[2]} was never flagged for review, so this decision "
                "changes nothing", "not-flagged", "warning"))
        elif key[1] == C.UNALLOCATED_AGENCY and decision.decision == "hold":
            problems.append(Problem(
                inputs.tables["ReviewDecisions"].where("decision", decision.row),
                f"{key[0]} {key[2]}: cloud cost no agency was found for is billed to no one, "
                "so holding it moves nothing; give its sub-account an agency in FocusMap",
                "hold-unallocated", "warning"))
    held = sorted(k for k, d in decided.items() if d.decision == "hold" and k in flagged
                  and k[1] != C.UNALLOCATED_AGENCY)
    return _moved(charges, held, inputs.published.closed()), rows, problems


def _key(row: ReviewRow) -> tuple[str, str, str]:
    return row.period, row.agency_id.upper(), row.service_id.upper()


def billed_in(month: str, closed: dict[str, Any]) -> str:
    """Where a line held in `month` is billed: the first later month not closed when
    `month` itself was closed (or, while it is open, now). Fixed by the close history, so
    closing the month it went to later keeps it there, as published."""
    record = closed.get(month)
    before = {p for p, r in closed.items() if record is None or r.seq < record.seq}
    return first_open(month_of(month_index(month) + 1), before)


def _moved(charges: pl.DataFrame, held: list[tuple[str, str, str]],
           closed: dict[str, Any]) -> pl.DataFrame:
    if not held:
        return charges.with_columns(pl.lit(None, pl.String).alias(HELD_FROM))
    keys = pl.DataFrame(held, schema=["period", "_a", "_s"], orient="row").with_columns(
        pl.lit(True).alias("_held"))
    marked = charges.with_columns(pl.col("agency_id").str.to_uppercase().alias("_a"),
                                  pl.col("service_id").str.to_uppercase().alias("_s")).join(
        keys, on=["period", "_a", "_s"], how="left", maintain_order="left")
    to = {m: billed_in(m, closed) for m, _, _ in held}
    note = pl.format("held for review in {}, billed in {}", pl.col("period"),
                     pl.col("period").replace_strict(to, default=None))
    moved = marked.filter(pl.col("_held").fill_null(False)).with_columns(
        pl.col("period").alias("_from")).with_columns(
        pl.when(pl.col("reason").is_null()).then(note)
        .otherwise(pl.format("{}; {}", pl.col("reason"), note)).alias("reason"),
        pl.col("period").replace_strict(to, default=None).alias("period"))
    kept = marked.filter(~pl.col("_held").fill_null(False))
    return pl.concat([kept.with_columns(pl.lit(None, pl.String).alias(HELD_FROM)),
                      moved.with_columns(pl.col("_from").alias(HELD_FROM)).drop("_from")],
                     how="vertical_relaxed").drop("_a", "_s", "_held")


HELD_FROM = "held_from"  # the month a line was held out of (charges' own column, not shown)


def held_lines(charges: pl.DataFrame, agency: str, months: list[str]) -> pl.DataFrame:
    """The lines of `agency` held out of `months` (they are billed in a later month)."""
    if HELD_FROM not in charges.columns:
        return charges.clear()
    return charges.filter((pl.col("agency_id") == agency) & pl.col(HELD_FROM).is_in(months))


def undecided(rows: list[ReviewRow], months: list[str]) -> list[Problem]:
    """A close's refusal: every flag of `months` with no decision, one line each."""
    out = []
    for r in rows:
        if r.period in months and r.decision is None:
            was = f", was {r.prior_amount:,.2f}" if r.prior_amount is not None else ""
            out.append(Problem(
                "ReviewDecisions",
                f"{r.period} {r.agency_id} {r.service_id} {r.amount:,.2f} ({r.reason}{was}) "
                "is flagged for review and has no decision; add a ReviewDecisions row "
                "(approve, or hold to bill it in a later month)", "undecided"))
    return out


def check_decisions(inputs: Inputs) -> list[Problem]:
    if not inputs.has("ReviewDecisions"):
        return []
    return duplicates(inputs.tables["ReviewDecisions"], ["period", "agency_id", "service_id"],
                      "a decision for {} is given more than once")
