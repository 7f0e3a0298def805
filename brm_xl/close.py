"""The monthly close: publish a month's bills and keep them as published.

`close` checks the workbook, then records the month in four tables it appends to (never
rewrites): **Closes** (each close and reopen: who, when, why, the total and a checksum),
**PublishedCharges** (each agency's charges per service for the month, as billed),
**PublishedHeadcount** (the users its cost per user was figured on) and **AuditLog**.
From then on every command that computes the model (refresh, check, report, email, the
BRM functions) compares the month with what was published; an input that no longer
agrees (a usage row, a rate, a headcount) is an error at its cell, saying the month is
closed and that a correction goes through Adjustments in an open month. `reopen` needs a
reason and is logged; a reopened month is computed from its inputs again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from .chargeback import Chargeback, as_money
from .inputs import Inputs
from .problems import DataProblems, Problem, UsageError, errors
from .users import current_user
from .workbook.cells import OutputTable
from .workbook.guard import locked


@dataclass(frozen=True)
class Closed:
    period: str
    at: str
    by: str
    charges: dict[tuple[str, str], Decimal]  # (agency, service) -> amount as published
    users: dict[str, int | None]


def closed_months(inputs: Inputs) -> dict[str, Closed]:
    """Months whose last Closes row says closed, with what was published then (read once
    per load: the chargeback, disputes, vendor credits and the check all ask)."""
    if "closed" in inputs.memo:
        return inputs.memo["closed"]
    last: dict[str, dict[str, Any]] = {}
    for row in inputs.previous.get("Closes", []):
        last[str(row.get("period"))] = row
    current = {(p, str(r.get("closed_at"))) for p, r in last.items() if r.get("status") == "closed"}
    charges: dict[str, dict[tuple[str, str], Decimal]] = defaultdict(dict)
    for r in inputs.previous.get("PublishedCharges", []):
        period = str(r.get("period"))
        if (period, str(r.get("closed_at"))) in current:
            charges[period][(str(r["agency_id"]), str(r.get("service_id") or ""))] = \
                Decimal(str(r["amount"]))
    users: dict[str, dict[str, int | None]] = defaultdict(dict)
    for r in inputs.previous.get("PublishedHeadcount", []):
        period = str(r.get("period"))
        if (period, str(r.get("closed_at"))) in current:
            users[period][str(r["agency_id"])] = int(Decimal(str(r["users"]))) if r.get("users") else None
    out = {p: Closed(p, str(last[p].get("closed_at")), str(last[p].get("closed_by") or ""),
                     charges[p], users[p]) for p, _ in current}
    inputs.memo["closed"] = out
    return out


def month_charges(result: Chargeback, period: str) -> dict[tuple[str, str], Decimal]:
    frame = result.charges.filter(pl.col("period") == period).group_by(
        "agency_id", "service_id").agg(pl.col("cents").sum())
    return {(a, s or ""): as_money(c) for a, s, c in frame.iter_rows()}


def month_users(result: Chargeback, period: str) -> dict[str, int | None]:
    return {r.agency_id: r.users for r in result.summary if r.period == period}


def closed_problems(inputs: Inputs, result: Chargeback) -> list[Problem]:
    """Every input cell that would change a closed month's published bills or users."""
    problems: list[Problem] = []
    for period, closed in sorted(closed_months(inputs).items()):
        now = month_charges(result, period)
        said = (f"{period} was closed on {closed.at[:10]}" + (f" by {closed.by}" if closed.by else "")
                + "; its bills stand as published, so put a correction through Adjustments "
                "in an open month (or reopen the month)")
        changed = sorted(k for k in set(now) | set(closed.charges)
                         if now.get(k, Decimal(0)) != closed.charges.get(k, Decimal(0)))
        for agency, service in changed:
            before, after = closed.charges.get((agency, service), Decimal(0)), \
                now.get((agency, service), Decimal(0))
            what = f"{agency} {service or 'adjustments'} was billed {before:.2f}, would now be {after:.2f}"
            problems += [Problem(where, f"{what}: {said}", "closed-month")
                         for where in _cells(inputs, period, agency, service)] or [
                Problem("Closes", f"{what}: {said}", "closed-month")]
        users = month_users(result, period)
        for agency in sorted(a for a in closed.users if users.get(a) != closed.users[a]):
            where = _row_cell(inputs, "Headcount", "users", period=period, agency_id=agency)
            problems.append(Problem(where or "Headcount", f"{agency}'s users for {period} were "
                                    f"{closed.users[agency]}, would now be {users.get(agency)}: "
                                    f"{said}", "closed-month"))
    return problems


def _cells(inputs: Inputs, period: str, agency: str, service: str) -> list[str]:
    """The cells behind one (agency, service) line of a month: its usage and its rate."""
    cells = []
    usage = _row_cell(inputs, "Usage", "quantity", period=period, agency_id=agency,
                      service_id=service)
    if usage:
        cells.append(usage)
    if inputs.has("RateCard") and service:
        for r in inputs.frame("RateCard").filter(pl.col("service_id") == service).iter_rows(named=True):
            if r["effective_from"] <= period and (r["effective_to"] is None or period <= r["effective_to"]):
                cells.append(inputs.tables["RateCard"].where("rate", r["_row"]))
    if not service and inputs.has("Adjustments"):
        adj = _row_cell(inputs, "Adjustments", "amount", period=period, agency_id=agency)
        if adj:
            cells.append(adj)
    return cells


def _row_cell(inputs: Inputs, table: str, column: str, **match: str) -> str | None:
    if not inputs.has(table):
        return None
    frame = inputs.frame(table)
    for key, value in match.items():
        if key not in frame.columns:
            return None
        frame = frame.filter(pl.col(key) == value)
    if frame.height == 0:
        return None
    return inputs.tables[table].where(column, int(frame.select(pl.col("_row").min()).item()))


def _checksum(lines: dict[tuple[str, str], Decimal], users: dict[str, int | None]) -> str:
    text = "\n".join(f"{a}\t{s}\t{v}" for (a, s), v in sorted(lines.items()))
    text += "\n" + "\n".join(f"{a}\t{u}" for a, u in sorted(users.items()))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass
class CloseResult:
    period: str  # the month, or the first to last closed
    months: int
    lines: int
    total: Decimal
    checksum: str


def close(path: Path, period: str, user: str | None = None,
          now: dt.datetime | None = None,
          write: Callable[[list[OutputTable]], None] | None = None) -> CloseResult:
    """Check the workbook and publish `period`'s bills (see the module docstring). A range
    or fiscal year closes each of its months with charges that is not closed yet, in one
    write; a single month that is closed already is refused."""
    from .inputs import load_inputs
    from .model import model_of
    from .outputs import CLOSE_SPECS, MonthClose, closing_tables
    from .periods import parse_period

    now = now or dt.datetime.now().replace(microsecond=0)
    user = user or current_user()
    # `write`: Excel holds the open workbook, and the tables go in through it
    with (locked(Path(path)) if write is None else contextlib.nullcontext()) as held:
        inputs, problems = load_inputs(Path(path), previous=CLOSE_SPECS)
        if errors(problems):
            raise DataProblems(problems)
        model = model_of(inputs, problems, now.date())
        wanted = parse_period(period, inputs.settings.fiscal_year_start_month).months
        done = closed_months(inputs)
        if len(wanted) == 1 and wanted[0] in done:
            raise UsageError(f"{wanted[0]} is closed already; reopen it first to close it again")
        months = []
        for month in wanted:
            lines = month_charges(model.chargeback, month)
            if month in done or not lines:
                continue
            users = month_users(model.chargeback, month)
            months.append(MonthClose(month, lines, users, sum(lines.values(), Decimal(0)),
                                     _checksum(lines, users)))
        if not months:
            raise UsageError(f"nothing to close in {period}: no month with charges that is "
                             "not closed already")
        tables = closing_tables(inputs, months, now, user, "closed", None)
        if write is not None:
            write(tables)
        else:
            _write(held, tables)
    label = months[0].period if len(months) == 1 else f"{months[0].period}..{months[-1].period}"
    return CloseResult(label, len(months), sum(len(m.lines) for m in months),
                       sum((m.total for m in months), Decimal(0)),
                       months[-1].checksum if len(months) == 1 else "")


def reopen(path: Path, period: str, reason: str, user: str | None = None,
           now: dt.datetime | None = None) -> None:
    from .inputs import load_inputs
    from .outputs import CLOSE_SPECS, MonthClose, closing_tables

    if not reason or not reason.strip():
        raise UsageError("reopening a month needs a reason (--reason), kept in the AuditLog")
    now = now or dt.datetime.now().replace(microsecond=0)
    with locked(Path(path)) as held:
        inputs, _ = load_inputs(held.path, specs=(), checks=(), previous=CLOSE_SPECS)
        month = _month(period)
        if month not in closed_months(inputs):
            raise UsageError(f"{month} is not closed")
        tables = closing_tables(inputs, [MonthClose(month, {}, {}, Decimal(0), "")], now,
                                user or current_user(), "reopened", reason.strip())
        _write(held, tables)


def _month(period: str) -> str:
    from .periods import parse_period

    parsed = parse_period(period)
    if len(parsed.months) != 1:
        raise UsageError(f"--period {period!r}: a close is one month, e.g. 2026-10")
    return parsed.months[0]


def _write(held: Any, tables: list[OutputTable]) -> None:
    from .refresh import write_tables

    write_tables(held, tables)


