"""The monthly close, as a computation: what a month publishes, and how a closed month holds.

Closing a month (the job is `brm_xl.app.close`) writes the refresh's tables, so the
credits and disputes the month includes are pinned to it, and the month's seal record
(brm_xl.books.seal, built here by `record_of`): **Closes**, **PublishedCharges**,
**PublishedHeadcount**, **AuditLog** and the very hidden **BrmSeals**. From then on every
command that loads the workbook checks the seals first, and every command that computes
the model compares the month with what was published (`closed_problems`): an input that
no longer agrees (a usage row, a rate, a headcount, an adjustment dated in the month) is
an error at its cell, one line a cell. A reopen needs a reason, is a record in the chain
and puts the close tables back as they were published, recording what it found changed.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from decimal import Decimal
from typing import Any

import polars as pl

from brm_xl.billing.allocations import pools
from brm_xl.billing.chargeback import USAGE_LINE, Chargeback
from brm_xl.books.seal import adjustment_key, when_text
from brm_xl.contract.history import Record
from brm_xl.contract.inputs import Inputs
from brm_xl.contract.kinds import plain
from brm_xl.contract.money import as_money
from brm_xl.contract.raw import ROW
from brm_xl.problems import Problem


class ByMonth:
    """A chargeback's figures per month, each computed in one pass when first asked for (a
    check of 24 closed months asks for every month's users and statewide figures, and for
    the lines, rates and quantities of a month only where they may have changed)."""

    def __init__(self, result: Chargeback):
        self.result = result
        self.summary: dict[str, list[Any]] = defaultdict(list)
        for row in result.summary:
            self.summary[row.period].append(row)

    @functools.cached_property
    def charges(self) -> dict[str, dict[tuple[str, str], Decimal]]:
        out: dict[str, dict[tuple[str, str], Decimal]] = defaultdict(dict)
        for p, a, s, c in self.result.charges.group_by("period", "agency_id", "service_id").agg(
                pl.col("cents").sum()).iter_rows():
            out[p][(a, s or "")] = as_money(c)
        return out

    @functools.cached_property
    def rates(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = defaultdict(dict)
        for p, s, r in self._priced.select("period", "service_id", "rate").unique(
                ["period", "service_id"], keep="first", maintain_order=True).iter_rows():
            out[p][str(s).upper()] = plain(r)
        return out

    @functools.cached_property
    def quantities(self) -> dict[str, dict[tuple[str, str], str]]:
        out: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
        for p, a, s, q in self._priced.group_by("period", "agency_id", "service_id").agg(
                pl.col("quantity").sum()).iter_rows():
            out[p][(str(a).upper(), str(s).upper())] = plain(q)
        return out

    @functools.cached_property
    def _priced(self) -> pl.DataFrame:
        return self.result.charges.filter(USAGE_LINE)


def changed_months(result: Chargeback, records: dict[str, Record]) -> set[str]:
    """The closed months whose lines (in cents) or billed quantities differ from the sealed
    ones, found column-wise: only those are compared line by line."""
    if not records:
        return set()
    up = pl.col("a").str.to_uppercase(), pl.col("s").fill_null("").str.to_uppercase()
    then = pl.DataFrame({
        "p": [p for p, r in records.items() for _ in r.charges],
        "a": [a for r in records.values() for a, _, _ in r.charges],
        "s": [s for r in records.values() for _, s, _ in r.charges],
        "then": [int(Decimal(v) * 100) for r in records.values() for _, _, v in r.charges]},
        schema={"p": pl.String, "a": pl.String, "s": pl.String, "then": pl.Int64}).with_columns(*up)
    now = result.charges.filter(pl.col("period").is_in(list(records))).select(
        pl.col("period").alias("p"), pl.col("agency_id").alias("a"),
        pl.col("service_id").alias("s"), "cents").with_columns(*up).group_by("p", "a", "s").agg(
        pl.col("cents").sum().alias("now"))
    both = then.join(now, on=["p", "a", "s"], how="full", coalesce=True).filter(
        pl.col("then").fill_null(0) != pl.col("now").fill_null(0))
    changed = set(both["p"].to_list())
    sealed_q = [(p, a, s, q) for p, r in records.items() for a, s, q in r.quantities]
    if sealed_q:
        number = pl.Decimal(38, 9)
        then_q = pl.DataFrame(sealed_q, schema=["p", "a", "s", "q"], orient="row").with_columns(
            pl.col("q").cast(number, strict=False))
        now_q = result.charges.filter(pl.col("period").is_in(list(records))
                                      & pl.col("rate").is_not_null()).select(
            pl.col("period").alias("p"), pl.col("agency_id").str.to_uppercase().alias("a"),
            pl.col("service_id").str.to_uppercase().alias("s"), "quantity").group_by(
            "p", "a", "s").agg(pl.col("quantity").sum().cast(number).alias("now"))
        diff = then_q.join(now_q, on=["p", "a", "s"], how="full", coalesce=True).filter(
            ~pl.col("q").eq_missing(pl.col("now")))
        changed |= set(diff["p"].to_list())
    rates = by_month(result).rates  # a few hundred: a rate changed to the same cents too
    changed |= {p for p, r in records.items() if r.rates and
                {s: v for s, v in r.rates} != rates.get(p, {})}
    return {p for p in changed if p is not None}


_LAST: list[tuple[Chargeback, ByMonth]] = []


def by_month(result: Chargeback) -> ByMonth:
    if not _LAST or _LAST[0][0] is not result:
        _LAST[:] = [(result, ByMonth(result))]
    return _LAST[0][1]


def month_charges(result: Chargeback, period: str) -> dict[tuple[str, str], Decimal]:
    return by_month(result).charges.get(period, {})


def month_usage(result: Chargeback, period: str) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """The rate each service was billed at in the month, and each agency's quantity of it
    (upper-case ids; priced usage lines only)."""
    months = by_month(result)
    return months.rates.get(period, {}), months.quantities.get(period, {})


def month_users(result: Chargeback, period: str) -> dict[str, int | None]:
    return {r.agency_id: r.users for r in by_month(result).summary.get(period, [])}


def statewide(result: Chargeback, period: str) -> dict[str, str]:
    rows = by_month(result).summary.get(period, [])
    cpu = next((r.statewide_cost_per_user for r in rows if r.statewide_cost_per_user is not None),
               None)
    return {"charges": f"{sum((r.charges for r in rows), Decimal('0.00')):.2f}",
            "users": str(sum(r.users or 0 for r in rows)),
            "cost_per_user": f"{cpu:.2f}" if cpu is not None else ""}


def closed_problems(inputs: Inputs, result: Chargeback) -> list[Problem]:
    """Every input cell that would change a closed month's published bills, users, rates,
    quantities, credits or statewide figures: one problem a cell, however many published
    lines it changes. A month whose seal is broken is left to the seal's problems (named
    at the edited cell), never blamed on inputs nobody changed."""
    broken = inputs.published.broken
    at_cell: dict[str, list[str]] = defaultdict(list)
    said_of: dict[str, str] = {}
    unplaced: list[Problem] = []

    def blame(where: str, what: str, said: str, again: bool = True) -> None:
        if not again and where in at_cell:  # the same edit, seen from another figure
            return
        at_cell[where].append(what)
        said_of[where] = said

    sealed = {p: r for p, r in inputs.published.closed().items() if p not in broken}
    changed = changed_months(result, sealed)
    for period, closed in sorted(sealed.items()):
        said = (f"{closed.label}; its bills stand as published, so put a correction through "
                "Adjustments in an open month (or reopen the month)")
        placed = len(at_cell)
        month_unplaced: list[Problem] = []
        now = {(a.upper(), s.upper()): v for (a, s), v in month_charges(result, period).items()} \
            if period in changed else {}
        now_usage = month_usage(result, period) if period in changed else ({}, {})
        sealed_usage = ({s: r for s, r in closed.rates},
                        {(a, s): q for a, s, q in closed.quantities}) \
            if period in changed else ({}, {})
        then = {(a.upper(), s.upper()): v for (a, s), v in closed.charges_map().items()} \
            if period in changed else {}
        for key in sorted(k for k in set(now) | set(then)
                          if now.get(k, Decimal(0)) != then.get(k, Decimal(0))):
            agency, service = key
            what = (f"{agency} {service or 'adjustments'} was billed "
                    f"{then.get(key, Decimal(0)):,.2f}, would now be {now.get(key, Decimal(0)):,.2f}")
            cells = _cells(inputs, period, agency, service, sealed_usage, now_usage)
            for where in cells:
                blame(where, what, said)
            if not cells:
                month_unplaced.append(Problem("Closes", f"{what}: {said}", "closed-month"))
        if sealed_usage[0]:  # the same amount from another rate and quantity is a change too
            for service in sorted(set(sealed_usage[0]) | set(now_usage[0])):
                was, now_rate = sealed_usage[0].get(service), now_usage[0].get(service)
                if was != now_rate:
                    for where in _rate_cells(inputs, period, service):
                        blame(where, f"{service} was billed at {was} a unit, would now be "
                                     f"{now_rate}", said, again=False)
            for key in sorted(set(sealed_usage[1]) | set(now_usage[1])):
                was, qty = sealed_usage[1].get(key), now_usage[1].get(key)
                if was != qty:
                    cell = _row_cell(inputs, "Usage", "quantity", period=period,
                                     agency_id=key[0], service_id=key[1])
                    if cell:
                        blame(cell, f"{key[0]} {key[1]} was billed for {was or 0} units, would "
                                    f"now be {qty or 0}", said, again=False)
        for where, what in _credit_cells(inputs, result, closed):
            blame(where, what, said, again=False)
        users = {a.upper(): u for a, u in month_users(result, period).items()}
        if inputs.has("Headcount"):  # an agency with users but no bill counts statewide
            for agency, count in inputs.frame("Headcount").filter(
                    pl.col("period") == period).select("agency_id", "users").iter_rows():
                users.setdefault(str(agency).upper(), count)
        published = {a.upper(): u for a, u in closed.users_map().items()}
        for agency in sorted(a for a in set(users) | set(published)
                             if users.get(a) != published.get(a)):
            where = _row_cell(inputs, "Headcount", "users", period=period, agency_id=agency) \
                or "Headcount"
            had = published.get(agency, "not published") if agency in published else "none"
            blame(where, f"{agency}'s users for {period} were {had}, would now be "
                         f"{users.get(agency)}", said)
        figure, now_figure = closed.statewide.get("cost_per_user"), \
            statewide(result, period)["cost_per_user"]
        if figure and now_figure != figure:
            month_unplaced.append(Problem(
                "Headcount", f"the statewide cost per user of {period} was published as "
                f"{Decimal(figure):,.2f} and would now be {now_figure or 'blank'}: {said}",
                "closed-month"))
        if len(at_cell) == placed:  # nothing named at a cell: say what changed, once a line
            unplaced += month_unplaced
    problems = []
    for where, whats in at_cell.items():
        more = f" (and {len(whats) - 1} more published lines)" if len(whats) > 1 else ""
        problems.append(Problem(where, f"{whats[0]}{more}: {said_of[where]}", "closed-month"))
    return problems + unplaced


def _credit_cells(inputs: Inputs, result: Chargeback, closed: Record) -> list[tuple[str, str]]:
    """The Disputes row of each dispute credit sealed with the month that is no longer on
    its bills, or credited now that was not (a status or credit retyped)."""
    if not inputs.has("Disputes"):
        return []
    then = {d.upper(): c for d, c in closed.disputes}
    now = {d.dispute_id.upper(): f"{d.credit:.2f}" for d in result.disputes or []
           if d.credited_in == closed.period and d.credit}
    out = []
    for dispute in sorted(set(then) | set(now)):
        if then.get(dispute) != now.get(dispute):
            where = _row_cell(inputs, "Disputes", "status", dispute_id=dispute) or "Disputes"
            out.append((where, f"dispute {dispute} was credited {then.get(dispute) or 'nothing'} "
                               f"on the bills of {closed.period}, would now be "
                               f"{now.get(dispute) or 'nothing'}"))
    return out


def _cells(inputs: Inputs, period: str, agency: str, service: str,
           sealed: tuple[dict[str, str], dict[tuple[str, str], str]],
           now: tuple[dict[str, str], dict[tuple[str, str], str]]) -> list[str]:
    """The cells behind one (agency, service) line of a month that changed: its usage, its
    rate, or (a close sealed before rates and quantities were) both."""
    known = bool(sealed[0])
    rate_changed = not known or sealed[0].get(service) != now[0].get(service)
    usage_changed = not known or sealed[1].get((agency, service)) != now[1].get((agency, service))
    cells = []
    usage = _row_cell(inputs, "Usage", "quantity", period=period, agency_id=agency,
                      service_id=service) if usage_changed else None
    if usage:
        cells.append(usage)
    if service and rate_changed:
        cells += _rate_cells(inputs, period, service)
    if service and not cells:  # an allocation's amount, or a review decision, behind it
        cells += _pool_cells(inputs, period, service) + _decision_cells(inputs, period, agency,
                                                                        service)
    return cells


def _pool_cells(inputs: Inputs, period: str, service: str) -> list[str]:
    """The Allocations monthly_amount cells of the pools billed as `service` in `period`."""
    if not inputs.has("Allocations"):
        return []
    return [inputs.tables["Allocations"].where("monthly_amount", p.row) for p in pools(inputs)
            if service.upper() in ((p.service_id or "").upper(), p.pool_id.upper())
            and p.start <= period and (p.end is None or period <= p.end)]


def _decision_cells(inputs: Inputs, period: str, agency: str, service: str) -> list[str]:
    """The ReviewDecisions cells that hold (or held) the agency's service in or before
    `period`: a decision changed after the month closed moves its line in or out."""
    if not inputs.has("ReviewDecisions"):
        return []
    frame = inputs.frame("ReviewDecisions").filter(
        (pl.col("agency_id").str.to_uppercase() == agency.upper())
        & (pl.col("service_id").str.to_uppercase() == service.upper())
        & (pl.col("period") <= period))
    return [inputs.tables["ReviewDecisions"].where("decision", r) for r in frame[ROW]]


def _rate_cells(inputs: Inputs, period: str, service: str) -> list[str]:
    """The RateCard rate cells that price `service` in `period`."""
    if not inputs.has("RateCard"):
        return []
    return [inputs.tables["RateCard"].where("rate", r["_row"]) for r in inputs.frame(
        "RateCard").filter(pl.col("service_id") == service).iter_rows(named=True)
        if r["effective_from"] <= period and (r["effective_to"] is None
                                              or period <= r["effective_to"])]


def _row_cell(inputs: Inputs, table: str, column: str, **match: str) -> str | None:
    if not inputs.has(table):
        return None
    frame = inputs.frame(table)
    for key, value in match.items():
        if key not in frame.columns:
            return None
        frame = frame.filter(pl.col(key) == value)
    if frame.height == 0 or "_row" not in frame.columns:
        return None
    return inputs.tables[table].where(column, int(frame.select(pl.col("_row").min()).item()))


def record_of(inputs: Inputs, result: Chargeback, period: str, now: dt.datetime,
              user: str) -> Record:
    """The seal record of closing `period` as the chargeback computes it now (unsealed:
    seq, book, chain and seal are set when it joins the chain,
    brm_xl.pipeline.outputs.seal_book)."""
    lines = month_charges(result, period)
    users = month_users(result, period)
    adjustments = sorted(list(adjustment_key(r)) for r in inputs.frame("Adjustments").filter(
        pl.col("period") == period).to_dicts()) if inputs.has("Adjustments") else []
    disputes = sorted([d.dispute_id, f"{d.credit:.2f}"] for d in result.disputes or []
                      if d.credited_in == period and d.credit)
    credits = sorted([c.sl_id, c.period, c.agency_id, f"{c.share:.2f}"]
                     for c in result.service_credits or [] if c.credited_in == period)
    gl = sorted([str(r["kind"]), r["id"] or "", str(r["fund"]), r["department"] or "",
                 str(r["account"])] for r in inputs.frame("GLAccounts").to_dicts()) \
        if inputs.has("GLAccounts") else []
    rates, quantities = month_usage(result, period)
    return Record(0, "", period, "closed", when_text(now.isoformat()), user, "",
                  rates=sorted([s, r] for s, r in rates.items()),
                  quantities=sorted([a, s, q] for (a, s), q in quantities.items()),
                  charges=sorted([a, s, f"{v:.2f}"] for (a, s), v in lines.items()),
                  users=sorted([a, "" if u is None else str(u)] for a, u in users.items()),
                  statewide=statewide(result, period), adjustments=adjustments,
                  disputes=disputes, credits=credits, gl=gl)















