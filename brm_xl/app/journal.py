"""`brm-xl journal`, the job: write a closed month's journal for the ERP, rendered from the
journal template in the reports' sandbox; the lines are `brm_xl.billing.journal`.

Each journal carries its close's seal: in its file name (`2026-10_journal_<seal>.csv`) and
in a companion file (`<journal>.seal.json`: the full seal, the journal's own digest, its
totals), which `brm-xl verify --journal` checks against the workbook. After a month is
reopened and closed again, the next journal run first writes a reversing journal of what
was posted (from the earlier close's sealed record), then the new one, so an ERP that
imported the first never posts the month twice. The CSV, its companion and the AuditLog
row are written under the workbook's lock; a journal found written but not logged (a run
killed in between) is recorded by the next run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brm_xl.app.close import _ledger, _month
from brm_xl.app.refresh import write_tables
from brm_xl.billing.journal import (
    Journal,
    build_journal,
    cell,
    posting_date,
)
from brm_xl.books.seal import short
from brm_xl.contract import tables as C
from brm_xl.contract.inputs import Inputs
from brm_xl.filenames import WORKBOOK_SUFFIXES, companion_file, journal_file
from brm_xl.pipeline.outputs import AuditEntry, seal_book
from brm_xl.pipeline.read import load_inputs
from brm_xl.problems import DataProblems, StateError, UsageError, errors
from brm_xl.reports.limits import TemplateLimits, render_template
from brm_xl.reports.render import environment
from brm_xl.reports.run import office_folder
from brm_xl.users import current_user
from brm_xl.workbook.guard import locked, write_bytes_atomic


@dataclass
class Written:
    path: Path
    journal: Journal


@dataclass
class JournalRun:
    written: list[Written]  # a reversal first, where one was due, then the journal
    found: list[str]  # journals found written but not logged, now recorded


def _render(inputs: Inputs, journal: Journal) -> bytes:
    env = environment(office_folder(inputs, inputs.settings.journal_template,
                                    "journal_template"),
                      TemplateLimits.from_settings(inputs.settings), "journal template")
    env.filters["cell"] = cell
    name = Path(inputs.settings.journal_template).name if inputs.settings.journal_template \
        else "journal/journal.csv.j2"
    return render_template(env, name, j=journal, lines=journal.lines).encode("utf-8")


def _companion(journal: Journal, body: bytes, book: str, name: str) -> bytes:
    return json.dumps({
        "brm_xl": "journal", "book": book, "period": journal.period, "file": name,
        "reversal": journal.reversal, "seal": journal.seal, "posting_date": journal.date,
        "lines": len(journal.lines), "debits": f"{journal.debits:.2f}",
        "credits": f"{journal.credits:.2f}", "net_charges": f"{journal.net:.2f}",
        "sha256": hashlib.sha256(body).hexdigest()}, indent=2).encode("utf-8") + b"\n"


def _posted(inputs: Inputs) -> list[dict[str, str]]:
    """The journals AuditLog records: period, seal, kind, file."""
    out = []
    for row in inputs.previous.get("AuditLog", []):
        if str(row.get("action")) in ("journal", "journal reversal"):
            after = str(row.get("after") or "")
            seal = re.search(r"seal ([0-9a-f]{8,64})", after)
            file = re.search(r", file (.+?)(?: \(found written by a run.*)?$", after)
            out.append({"period": str(row.get("period")), "action": str(row.get("action")),
                        "seal": seal.group(1) if seal else "",
                        "file": file.group(1) if file else ""})
    return out


def _unlogged(inputs: Inputs, folder: Path, posted: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Companion files of this workbook's journals in `folder` that AuditLog never recorded."""
    book = inputs.published.book
    logged = {p["file"] for p in posted}
    found = []
    for path in sorted(folder.glob("*.seal.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("brm_xl") == "journal" and \
                data.get("book") == book and data.get("file") not in logged and \
                (folder / str(data.get("file"))).is_file():
            found.append(data)
    return found


def _check_out(workbook: Path, out: Path, force: bool) -> None:
    if out.suffix.casefold() in WORKBOOK_SUFFIXES:
        raise UsageError(f"--out {out.name}: a journal is a CSV file, never a workbook; name a "
                         ".csv file")
    if out.exists() and out.resolve() == workbook.resolve():
        raise UsageError(f"--out {out.name} is the workbook itself")
    if out.exists() and not force:
        raise StateError(f"{out} exists; a journal is never written over another file "
                         "without --force (an ERP may have imported it)")


def write_journal(path: Path, period: str, out: Path | None = None, force: bool = False,
                  now: dt.datetime | None = None, user: str | None = None) -> JournalRun:
    """Write the closed month's journal (and first a reversal of what an earlier close of
    the month posted), each with its companion seal file and its AuditLog row, under the
    workbook's lock (see the module docstring)."""
    path = Path(path)
    month = _month(period)
    now = now or dt.datetime.now().replace(microsecond=0)
    user = user or current_user()
    if out is not None:
        _check_out(path, Path(out), force)
    with locked(path) as held:
        # the seals, and the two tables a journal needs (not Usage: a journal never prices)
        inputs, problems = load_inputs(held.path, specs=(C.ADJUSTMENTS, C.GL_ACCOUNTS),
                                       checks=())
        if errors(problems):
            raise DataProblems(problems)
        record = inputs.published.closed().get(month)
        if record is None:
            raise StateError(f"{month} is not closed: a journal is written for a closed month "
                             f"only (brm-xl close WORKBOOK --period {month})")
        folder = Path(out).parent if out is not None else path.parent
        posted = _posted(inputs)
        unlogged = _unlogged(inputs, folder, posted)
        entries = [AuditEntry(now, user, "journal reversal" if f["reversal"] else "journal",
                              f["period"], None,
                              f"{f['lines']} lines, debits {f['debits']} = credits "
                              f"{f['credits']}, seal {f['seal']}, file {f['file']} (found written "
                              "by a run that stopped before logging it)") for f in unlogged]
        posted += [{"period": f["period"], "action": "journal reversal" if f["reversal"]
                    else "journal", "seal": f["seal"], "file": f["file"]} for f in unlogged]
        jobs: list[tuple[Path, Journal]] = []
        mine = [p for p in posted if p["period"] == month]
        reversed_seals = {p["seal"] for p in mine if p["action"] == "journal reversal"}
        by_seal = {r.seal: r for r in inputs.published.records}
        when = posting_date(inputs, record, now.date())
        for p in mine:
            old = by_seal.get(p["seal"]) or next(
                (r for s, r in by_seal.items() if p["seal"] and s.startswith(p["seal"])), None)
            if p["action"] == "journal" and old is not None and old.seal != record.seal and \
                    old.seal not in reversed_seals and short(old.seal) not in reversed_seals:
                reversed_seals.add(old.seal)
                jobs.append((folder / journal_file(month, short(old.seal), reversal=True),
                             build_journal(inputs, old, when, reversal=True)))
        target = Path(out) if out is not None else folder / journal_file(month, short(record.seal))
        if out is None and target.exists() and not force:
            if any(f["file"] == target.name for f in unlogged):  # written, now logged
                write_tables(held, seal_book(inputs, entries, (), now, user))
                return JournalRun([], [e.after or "" for e in entries])
        logged = [p for p in mine if p["action"] == "journal" and p["seal"] in
                  (record.seal, short(record.seal))]
        if logged and not force:
            if entries:  # what was found unlogged is recorded all the same
                write_tables(held, seal_book(inputs, entries, (), now, user))
            raise StateError(f"the {month} journal of this close was written already, as "
                             f"{logged[-1]['file']} (logged in AuditLog; an ERP may have "
                             "imported it); use --force to write it again")
        if out is None and target.exists() and not force:
            raise StateError(f"the {month} journal of this close was written already: {target} "
                             "(an ERP may have imported it); use --force to write it again")
        jobs.append((target, build_journal(inputs, record, when)))
        written, ledgered = [], []
        bodies = [_render(inputs, journal) for _, journal in jobs]  # all, before any is written
        for (where, journal), body in zip(jobs, bodies):
            companion = _companion(journal, body, inputs.published.book, where.name)
            # the seal file first: a run killed between the two leaves a seal file with no
            # journal (written again next time), never a journal nobody can account for
            write_bytes_atomic(companion_file(where), companion)
            write_bytes_atomic(where, body)
            ledgered.append({**json.loads(companion), "at": now.isoformat(sep=" ")})
            entries.append(AuditEntry(
                now, user, "journal reversal" if journal.reversal else "journal", month, None,
                f"{len(journal.lines)} lines, debits {journal.debits:.2f} = credits "
                f"{journal.credits:.2f}, seal {journal.seal}, file {where.name}"))
            written.append(Written(where, journal))
        write_tables(held, seal_book(inputs, entries, (), now, user))
        _ledger(inputs, inputs.published.records, ledgered)
    return JournalRun(written, [e.after or "" for e in entries if "found written" in (e.after or "")])
