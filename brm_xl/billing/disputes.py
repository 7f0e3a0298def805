"""Disputes: an agency questions a bill; accepted, it becomes a credit in an open month.

A dispute raised more than Settings `dispute_window_cycles` invoice cycles (months) after
the month it questions is flagged (Texas, 1 TAC 215.11, allows 4). An Accepted dispute
credits `credit` (default its `amount`) as an adjustment line, with the dispute id and
reason, in the first month not closed at or after the month it was resolved; once a
credit has a month (DisputeLog `credited_in`), it stays there, so closing that month
later does not move it. A closed month is never credited.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, NamedTuple

import polars as pl

from brm_xl.contract.periods import first_open, month_index
from brm_xl.contract.raw import ROW
from brm_xl.problems import Problem


class DisputeRow(NamedTuple):
    """One DisputeLog row: a dispute's age, whether it was in time, what it did to bills."""

    dispute_id: str
    agency_id: str
    period: str
    service_id: str | None
    amount: Decimal
    status: str
    raised_on: dt.date
    cycles_after: int
    in_window: bool
    age_days: int
    credited_in: str | None
    credit: Decimal | None


def cycles_after(period: str, raised_on: dt.date) -> int:
    """Invoice cycles (months) from the billed month to the month the dispute was raised."""
    return month_index(raised_on.strftime("%Y-%m")) - month_index(period)


def dispute_log(inputs: Any, closed: set[str], as_of: dt.date) -> tuple[list[DisputeRow], list[Problem]]:
    if not inputs.has("Disputes"):
        return [], []
    window = inputs.settings.dispute_window_cycles

    pinned = inputs.pins.disputes  # sealed with a closed month, or the last refresh's
    table = inputs.tables["Disputes"]
    rows, problems = [], []
    for d in table.frame.sort(ROW).iter_rows(named=True):
        cycles = cycles_after(d["period"], d["raised_on"])
        inside = cycles <= window
        if not inside:
            problems.append(Problem(table.where("raised_on", d[ROW]),
                                    f"dispute {d['dispute_id_text']} was raised {cycles} invoice "
                                    f"cycles after {d['period']}, outside the {window}-cycle "
                                    "window (Settings dispute_window_cycles)", "late-dispute",
                                    "warning"))
        credited_in = credit = None
        if d["status"] == "Accepted":
            credit = d["credit"] if d["credit"] is not None else d["amount"]
            credited_in = pinned.get(d["dispute_id"]) or first_open(
                (d["resolved_on"] or as_of).strftime("%Y-%m"), closed)
        end = d["resolved_on"] or as_of
        rows.append(DisputeRow(d["dispute_id_text"], d["agency_id_text"], d["period"],
                               d["service_id_text"], d["amount"], d["status"], d["raised_on"],
                               cycles, inside, (end - d["raised_on"]).days, credited_in, credit))
    return rows, problems


def credit_adjustments(log: list[DisputeRow]) -> pl.DataFrame:
    """Accepted disputes as Adjustments rows (negative: credits)."""
    rows = [(r.credited_in, r.agency_id.upper(), r.service_id.upper() if r.service_id else None,
             -abs(r.credit), f"Dispute {r.dispute_id} ({r.period}) accepted", -(i + 1))
            for i, r in enumerate(log) if r.credited_in and r.credit]
    return pl.DataFrame(rows, schema={"period": pl.String, "agency_id": pl.String,
                                      "service_id": pl.String, "amount": pl.Decimal(38, 2),
                                      "reason": pl.String, ROW: pl.Int64}, orient="row")
