"""The close and the reopen of a month, as jobs: under the workbook's lock, compute the
model as refresh does, seal what each month publishes (`brm_xl.billing.close.record_of`),
write the close tables in one write and append to the office's ledger. What a close
publishes and how a closed month then holds are `brm_xl.billing.close`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from brm_xl.app.refresh import refreshing, tables_of, write_tables
from brm_xl.billing.close import (
    month_charges,
    record_of,
)
from brm_xl.billing.review import undecided
from brm_xl.books import ledger, ledger_writer
from brm_xl.books.seal import when_text
from brm_xl.contract.history import Record
from brm_xl.contract.inputs import Inputs
from brm_xl.contract.periods import parse_period
from brm_xl.pipeline.model import build_model
from brm_xl.pipeline.outputs import REFRESH_LOG_SPEC, AuditEntry, seal_book
from brm_xl.pipeline.read import load_inputs
from brm_xl.problems import DataProblems, Problem, StateError, UsageError, errors, summarize
from brm_xl.users import current_user
from brm_xl.workbook.cells import OutputTable
from brm_xl.workbook.guard import locked


@dataclass
class CloseResult:
    period: str  # the month, or the first to last closed
    months: int
    lines: int
    total: Decimal
    seal: str  # the last month's seal: printed, in AuditLog, on its journal


def close(path: Path, period: str, user: str | None = None,
          now: dt.datetime | None = None,
          write: Callable[[list[OutputTable]], None] | None = None) -> CloseResult:
    """Publish `period`'s bills as refresh computes them now, sealed (see the module
    docstring). A range or fiscal year closes each of its months with charges that is not
    closed yet, in one write; a single month that is closed already is refused (exit 1)."""
    now = now or dt.datetime.now().replace(microsecond=0)
    user = user or current_user()
    # `write`: Excel holds the open workbook, and the tables go in through it
    with (locked(Path(path)) if write is None else contextlib.nullcontext()) as held:
        model = build_model(held.path if held is not None else Path(path), now.date(),
                            previous=(REFRESH_LOG_SPEC,), sources=refreshing(None))
        inputs = model.inputs
        wanted = parse_period(period, inputs.settings.fiscal_year_start_month).months
        done = inputs.published.closed()
        if len(wanted) == 1 and wanted[0] in done:
            raise StateError(f"{wanted[0]} is closed already (since "
                             f"{done[wanted[0]].closed_at[:10]}); reopen it first to close it "
                             "again")
        months = [m for m in wanted if m not in done and month_charges(model.chargeback, m)]
        refused = undecided(model.chargeback.flags, months)
        if refused:  # review before the statement: every flag decided first
            raise DataProblems(refused)
        records = [record_of(inputs, model.chargeback, m, now, user) for m in months]
        if not records:
            raise StateError(f"nothing to close in {period}: no month with charges that is "
                             "not closed already")
        _, tables = tables_of(model, now, user, new=records)
        if write is not None:
            write(tables)
        else:
            _write(held, tables)
        _ledger(inputs, inputs.published.records + records)
    label = records[0].period if len(records) == 1 else f"{records[0].period}..{records[-1].period}"
    return CloseResult(label, len(records), sum(r.lines for r in records),
                       sum((Decimal(r.total) for r in records), Decimal(0)), records[-1].seal)


@dataclass
class Reopened:
    period: str
    findings: list[Problem]  # what the seal check found changed (recorded, and put back)


def reopen(path: Path, period: str, reason: str, user: str | None = None,
           now: dt.datetime | None = None) -> Reopened:
    """Reopen a closed month with a reason: a record in the chain. It works on a workbook
    whose seal is broken (that is how a clerk recovers): what the check found is recorded
    in AuditLog, and the close tables are put back as they were published."""
    if not reason or not reason.strip():
        raise UsageError("reopening a month needs a reason (--reason), kept in the AuditLog")
    now = now or dt.datetime.now().replace(microsecond=0)
    user = user or current_user()
    with locked(Path(path)) as held:
        inputs, problems = load_inputs(held.path, specs=(), checks=())
        month = _month(period)
        verified = inputs.published
        if any(p.where.startswith("BrmSeals") for p in verified.problems):
            raise DataProblems([p for p in verified.problems if p.where.startswith("BrmSeals")]
                               + [Problem("BrmSeals", "the seal records themselves were changed, "
                                          "so what was published cannot be put back from them; "
                                          "restore the workbook from a copy, or compare it with "
                                          "the ledger and journals (brm-xl verify)", "broken-seal")])
        if month not in inputs.published.closed():
            raise StateError(f"{month} is not closed")
        findings = errors(verified.problems)
        entries = []
        if findings:
            entries.append(AuditEntry(now, user, "finding", month, None, (
                f"{len(findings)} edits found and put back at reopen: "
                + "; ".join(summarize(findings, 20)))[:32000]))
        record = Record(0, "", month, "reopened", when_text(now.isoformat()), user,
                        reason.strip())
        _write(held, seal_book(inputs, entries, [record], now, user))
        _ledger(inputs, verified.records + [record])
    return Reopened(month, findings)


def _ledger(inputs: Inputs, records: list[Record], journals: list[dict[str, Any]] | None = None,
            ) -> Problem | None:
    """Append to the office's ledger (brm_xl.books.ledger_writer), where it keeps one."""
    return ledger_writer.append(ledger.folder_of(inputs.path, inputs.settings.ledger_path), records,
                         journals)


def _month(period: str) -> str:
    parsed = parse_period(period)
    if len(parsed.months) != 1:
        raise UsageError(f"--period {period!r}: a close is one month, e.g. 2026-10")
    return parsed.months[0]


def _write(held: Any, tables: list[OutputTable]) -> None:
    write_tables(held, tables)
