"""The workbook's buttons: refresh, check, reports, email drafts, send emails.

Each macro runs on the calling Excel workbook (through xlwings' RunPython) or, given a
path, on a workbook file, so the same code runs headless and in the tests. In Excel the
workbook is open and locked, so the book is saved first, the engine reads the saved
file, and the output tables are written into the open book through xlwings; on a file,
the lossless part-level writer does the writing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from brm_xl.app.refresh import check as run_check
from brm_xl.app.refresh import refresh_tables, write_tables
from brm_xl.excel import cache
from brm_xl.problems import BrmError, DataProblems, Problem, errors, summarize
from brm_xl.workbook.cells import OutColumn, OutputTable
from brm_xl.workbook.guard import Held, locked

PROBLEMS = (OutColumn("where", "text"), OutColumn("problem", "text"),
            OutColumn("severity", "text"), OutColumn("code", "text"))


class FileTarget:
    """A workbook file: written with the part-level writer; messages are collected."""

    open_in_excel = False  # the engine holds the file itself while it reads and writes

    def __init__(self, path: str | Path, answer: bool = False):
        self.path = Path(path)
        self.messages: list[str] = []
        self.answer = answer
        self._held: Held | None = None

    def save(self) -> None:
        """A file on disk is already saved."""

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Hold the file from before it is read until after it is written."""
        with locked(self.path) as held:
            self._held = held
            try:
                yield
            finally:
                self._held = None

    def write(self, tables: list[OutputTable]) -> None:
        if self._held is not None:
            write_tables(self._held, tables)
        else:
            with locked(self.path) as held:
                write_tables(held, tables)

    def tell(self, text: str) -> None:
        self.messages.append(text)

    def confirm(self, text: str) -> bool:
        self.messages.append(text)
        return self.answer


def _target(book: Any = None, path: str | Path | None = None) -> Any:
    if path is not None:
        return FileTarget(path)
    if book is None:
        import xlwings as xw

        book = xw.Book.caller()
    from brm_xl.excel.xlbook import BookTarget

    return BookTarget(book)


def _guarded(target: Any, action: Any) -> Any:
    """Run a macro's body; problems become a message box, never a traceback in Excel."""
    try:
        return action()
    except DataProblems as exc:
        lines = summarize(errors(exc.problems), 15)
        target.tell(f"{len(errors(exc.problems))} problem(s); nothing was written:\n"
                    + "\n".join(lines) + "\n\nRun Check to list them with links.")
    except BrmError as exc:
        target.tell(str(exc))
    return None


def refresh(book: Any = None, path: str | Path | None = None, as_of: dt.date | None = None) -> Any:
    """Refresh button: recompute the output tables and write them into the workbook."""
    target = _target(book, path)

    def run() -> Any:
        target.save()
        with target.session():
            result, tables = refresh_tables(target.path, as_of)
            target.write(tables)
        cache.forget(target.path)
        counts = ", ".join(f"{n} {c:,}" for n, c in result.tables.items())
        warned = f"\n{len(result.warnings)} warning(s): run Check to see them." if result.warnings else ""
        target.tell(f"Refreshed: {counts}.{warned}")
        return result

    return _guarded(target, run)


def problems_table(problems: list[Problem]) -> OutputTable:
    rows = [(str(p.where), p.message, p.severity, p.code) for p in problems]
    links = [_location(p.where) for p in problems]
    return OutputTable("Problems", PROBLEMS, rows, links={"where": links})


def _location(where: str) -> str | None:
    """'Usage!D14' -> an in-workbook link target; None where there is no cell to go to."""
    if "!" not in where:
        return None
    sheet, _, cell = where.rpartition("!")
    sheet = sheet.strip("'").replace("'", "''")
    return f"'{sheet}'!{cell}" if cell[:1].isalpha() else None


def check(book: Any = None, path: str | Path | None = None) -> list[Problem] | None:
    """Check button: list every problem in a Problems sheet, each linked to its cell."""
    target = _target(book, path)

    def run() -> list[Problem]:
        target.save()
        with target.session():
            _inputs, problems = run_check(target.path)
            target.write([problems_table(problems)])
        bad = errors(problems)
        target.tell(f"{len(bad)} problem(s) and {len(problems) - len(bad)} warning(s): see the "
                    "Problems sheet." if problems else "No problems found.")
        return problems

    return _guarded(target, run)


def make_reports(book: Any = None, path: str | Path | None = None,
                 period: str | None = None) -> Any:
    """Reports button: value reports for every agency (Settings report_period, else the
    latest month), and the CIO's portfolio."""
    from brm_xl.app.usecases import make_all_reports

    target = _target(book, path)

    def run() -> Any:
        target.save()
        chosen, written, portfolio = make_all_reports(target.path, period)
        written += portfolio
        folder = written[0].path.parent if written else target.path.parent
        target.tell(f"Wrote {len(written)} report file(s) for {chosen} into {folder}")
        return written

    return _guarded(target, run)


def make_email_drafts(book: Any = None, path: str | Path | None = None,
                      period: str | None = None) -> Any:
    """Email drafts button: one draft per agency head, to review and send from Outlook:
    in classic Outlook's Drafts (Settings mail_transport outlook), in the Microsoft 365
    mailbox (graph), else as .eml files beside the workbook."""
    from brm_xl.app.usecases import draft_emails, send_emails
    from brm_xl.pipeline.model import build_model

    target = _target(book, path)

    def run() -> Any:
        target.save()
        transport = build_model(target.path, dt.date.today()).inputs.settings.mail_transport
        if transport in ("outlook", "graph"):
            outcome = send_emails(target.path, period, mailbox_drafts=True, say=target.tell,
                                  write=target.write if target.open_in_excel else None)
            where = "classic Outlook's Drafts" if transport == "outlook" else "the mailbox's Drafts"
            target.tell(f"Saved {outcome.drafted} draft(s) for {outcome.batch.period.label} in "
                        f"{where}" + (f"; {outcome.failed} failed, see the Deliveries sheet"
                                      if outcome.failed else ""))
            return outcome.results
        batch, drafts = draft_emails(target.path, period)
        folder = drafts[0].parent if drafts else target.path.parent
        target.tell(f"Wrote {len(drafts)} email draft(s) for {batch.period.label} into {folder}")
        return drafts

    return _guarded(target, run)


def close_month(book: Any = None, path: str | Path | None = None, period: str | None = None,
                answer: bool | None = None) -> Any:
    """Close month button: asks first, then publishes the month's bills (Settings
    report_period, else the latest month with charges)."""
    from brm_xl.app.close import close
    from brm_xl.pipeline.model import build_model
    from brm_xl.reports.run import default_period

    target = _target(book, path)
    if answer is not None:
        target.answer = answer

    def run() -> Any:
        target.save()
        chosen = period or default_period(build_model(target.path, dt.date.today()))
        if not target.confirm(f"Close {chosen}? Its bills will stand as published: a later "
                              "change goes through Adjustments in an open month."):
            target.tell("Nothing was closed.")
            return None
        if target.open_in_excel:
            done = close(target.path, chosen, write=target.write)
        else:
            done = close(target.path, chosen)
        cache.forget(target.path)
        target.tell(f"Closed {done.period}: {done.lines} bill lines, {done.total:,.2f} in all. "
                    "See the Closes and AuditLog sheets.")
        return done

    return _guarded(target, run)


def send_emails(book: Any = None, path: str | Path | None = None, period: str | None = None,
                answer: bool | None = None) -> Any:
    """Send emails button: asks first, then sends by SMTP (Settings smtp_host) and logs."""
    from brm_xl.app.usecases import send_emails

    target = _target(book, path)
    if answer is not None:
        target.answer = answer

    def ask(batch: Any, config: Any) -> bool:
        chosen = batch.period.label
        if batch.unknown:
            target.tell(f"A send that was stopped may or may not have delivered the report for "
                        f"{', '.join(batch.unknown)} ({chosen}): check with the recipients. It is "
                        "listed as 'unknown' in Deliveries and is not sent again from here.")
        if not batch.agencies:
            return True  # nothing to ask about; a stopped run's journal is still logged
        return bool(target.confirm(f"Send {len(batch.agencies)} value report email(s) for "
                                   f"{chosen} through {config.describe()}?"))

    def run() -> Any:
        target.save()
        outcome = send_emails(target.path, period, confirm=ask, say=target.tell,
                              write=target.write if target.open_in_excel else None)
        if outcome.declined:
            target.tell("Nothing was sent.")
        elif not outcome.batch.agencies:
            target.tell(f"Every report for {outcome.batch.period.label} has been sent already.")
        else:
            target.tell(f"Sent {outcome.sent} of {len(outcome.batch.agencies)}; see the "
                        "Deliveries sheet.")
        return outcome.results

    return _guarded(target, run)
