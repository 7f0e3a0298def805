"""What a person can ask brm_xl to do, one function each.

The CLI, the Excel buttons and the demo parse their arguments, call one of these and
print what it returns; none of them builds a model or decides a file name itself.

- `refresh`, `check` (brm_xl.app.refresh): recompute and write the output tables, or find
  every problem a refresh would meet.
- `make_reports`: value reports for agency heads, or the CIO's portfolio.
- `make_all_reports`: both, for a period or the buttons' default, from one model.
- `draft_emails`: one `.eml` draft per agency head.
- `plan_emails`: who would get what (a dry run).
- `send_emails`: deliver by SMTP what has not been sent, logging every message.
- `import_survey`, `log_contact` (brm_xl.app.additions): add rows to Survey and Engagements.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brm_xl.app.additions import import_survey, log_contact
from brm_xl.app.refresh import check, refresh
from brm_xl.contract.inputs import Sources
from brm_xl.delivery import run as delivery
from brm_xl.delivery.smtp import Result
from brm_xl.filenames import outbox_folder
from brm_xl.pipeline.model import Model, model_for_period
from brm_xl.reports.run import Written, default_period, make_reports
from brm_xl.workbook.cells import OutputTable
from brm_xl.workbook.guard import locked

__all__ = ["Sending", "SmtpOptions", "check", "draft_emails", "import_survey", "log_contact",
           "make_all_reports", "make_reports", "plan_emails", "refresh", "send_emails"]


def make_all_reports(path: Path, period: str | None = None, as_of: dt.date | None = None,
                     model: Model | None = None) -> tuple[str, list[Written], list[Written]]:
    """Every agency's reports and the portfolio for `period` (None: Settings report_period,
    else the latest month with charges), from one model: (period, agency files, portfolio)."""
    model = model or model_for_period(Path(path), period, as_of, default=default_period)
    chosen = period or default_period(model)
    agencies = make_reports(path, chosen, model=model)
    portfolio = make_reports(path, chosen, portfolio=True, model=model)
    return chosen, agencies, portfolio


def draft_emails(path: Path, period: str | None, agencies: Iterable[str] = (),
                 as_of: dt.date | None = None, attach_xlsx: bool = False,
                 out: Path | None = None, when: dt.datetime | None = None,
                 model: Model | None = None, sources: Sources | None = None,
                 rendered: dict[str, dict[str, bytes]] | None = None,
                 progress: Callable[[int, int], None] = lambda done, total: None,
                 ) -> tuple[delivery.Batch, list[Path]]:
    """One `.eml` draft per agency head (X-Unsent, for Outlook) into `out` (default
    outbox/<period>/ beside the workbook); `rendered` reuses reports already made."""
    batch = delivery.prepare(Path(path), period, tuple(agencies), as_of,
                             model=model, sources=sources)
    when = when or dt.datetime.now().astimezone().replace(microsecond=0)
    messages = delivery.build(batch, attach_xlsx, when, progress, rendered=rendered)
    folder = out or outbox_folder(Path(path), batch.period.label)
    return batch, delivery.write_drafts(batch, messages, folder)


def plan_emails(path: Path, period: str | None, agencies: Iterable[str] = (),
                as_of: dt.date | None = None, sending: bool = False, resend: bool = False,
                sources: Sources | None = None) -> tuple[delivery.Batch, list[dict[str, Any]]]:
    """Who would get what, building and sending nothing; `sending` leaves out what the
    Deliveries log says was sent (or may have been) unless `resend`."""
    batch = delivery.prepare(Path(path), period, tuple(agencies), as_of,
                             resend, only_unsent=sending, sources=sources)
    return batch, delivery.describe(batch)


@dataclass(frozen=True)
class SmtpOptions:
    """What the person chose; each None falls back to Settings (smtp_host, smtp_port)."""
    host: str | None = None
    port: int | None = None
    user: str | None = None
    tls: bool = True


@dataclass
class Sending:
    """What a send did: the batch it planned and one result per message handed over."""
    batch: delivery.Batch
    results: list[Result] = field(default_factory=list)
    declined: bool = False  # the person said no when asked

    @property
    def sent(self) -> int:
        return sum(r.status == "sent" for r in self.results)

    @property
    def drafted(self) -> int:
        return sum(r.status == "drafted" for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.sent - self.drafted

    @property
    def left(self) -> int:
        """Messages planned but never handed over (a batch that ended early), and those a
        stopped run may or may not have sent."""
        if self.declined:
            return 0
        return len(self.batch.agencies) - len(self.results) + len(self.batch.unknown)

    @property
    def complete(self) -> bool:
        return not self.declined and not self.failed and not self.left


def send_emails(path: Path, period: str | None, agencies: Iterable[str] = (), *,
                as_of: dt.date | None = None, resend: bool = False, attach_xlsx: bool = False,
                smtp: SmtpOptions = SmtpOptions(), sources: Sources | None = None,
                confirm: Callable[[delivery.Batch, delivery.Transport], bool] = lambda b, c: True,
                on_result: Callable[[Result], None] = lambda r: None,
                write: Callable[[list[OutputTable]], None] | None = None,
                when: dt.datetime | None = None, mailbox_drafts: bool = False,
                say: Callable[[str], None] = lambda text: None, interactive: bool = True,
                progress: Callable[[int, int], None] = lambda done, total: None) -> Sending:
    """Send each agency head its report (SMTP or Microsoft Graph, Settings
    `mail_transport`), or with `mailbox_drafts` save each as a draft in the Graph mailbox;
    log every message in Deliveries.

    The workbook file is held from reading the log to writing it, so two sends at once
    cannot both send; `write` is for a workbook Excel holds open (the Deliveries table
    goes in through Excel, which holds the file). A message the log or a stopped run's
    journal has as sent, or perhaps sent, is not sent again unless `resend`; nor is one
    whose draft is in the mailbox. `confirm` sees the batch (even one with nothing left
    to send) and the transport before anything is built; False sends nothing. The
    transport is checked (the server, STARTTLS, the sign-in) before any message is built,
    and a batch with nothing left builds nothing. `say` shows a device sign-in's
    instructions; `progress` counts messages handed over.
    """
    path = Path(path)
    hold = locked(path) if write is None else contextlib.nullcontext()
    with hold as held:
        batch = delivery.prepare(path, period, tuple(agencies), as_of,
                                 resend, only_unsent=True, sources=sources)
        route = delivery.transport(batch.model, smtp.host, smtp.port, smtp.user, smtp.tls,
                                   mailbox_drafts, say, interactive)
        if not confirm(batch, route):
            return Sending(batch, declined=True)
        try:
            if batch.agencies:
                route.check()
            when = when or dt.datetime.now().astimezone().replace(microsecond=0)
            messages = delivery.build(batch, attach_xlsx, when) if batch.agencies else []
            done = [0]

            def counted(result: Result) -> None:
                done[0] += 1
                progress(done[0], len(messages))
                on_result(result)
            # with no messages this still writes a stopped run's journal into Deliveries
            results = delivery.send(batch, messages, route, on_result=counted, write=write,
                                    held=held)
        finally:
            route.close()
        return Sending(batch, results)
