"""The email pipeline: load -> check addresses -> render each agency's report -> build its
message -> write drafts, or send and log every delivery in the workbook.

Drafts (`.eml` with `X-Unsent: 1`) are the default: Outlook opens each as an unsent
message the BRM manager can read over and send. `--send` delivers by SMTP and records each
message in the `Deliveries` table; a message already sent for the period is not sent again
unless asked, so a batch cut short by a refused recipient or a dropped connection is
finished by running the same command again.
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brm_xl.contract.inputs import Sources
from brm_xl.contract.kinds import EMAIL_PATTERN
from brm_xl.contract.periods import Period, parse_period
from brm_xl.delivery.graph import GraphConfig, GraphMail
from brm_xl.delivery.graph import send_all as graph_send_all
from brm_xl.delivery.journal import DELIVERIES, DELIVERIES_SPEC, Journal
from brm_xl.delivery.messages import Outgoing, address, build_message
from brm_xl.delivery.outlook import save_drafts
from brm_xl.delivery.signin import App, SignIn, trusted
from brm_xl.delivery.smtp import Result, SmtpConfig, connect, send_all
from brm_xl.filenames import report_file
from brm_xl.pipeline.model import Model, model_for_period
from brm_xl.pipeline.outputs import AuditEntry, previous_rows, seal_book
from brm_xl.problems import BrmError, DataProblems, Problem, UsageError
from brm_xl.reports import data
from brm_xl.reports.limits import TemplateLimits
from brm_xl.reports.render import environment
from brm_xl.reports.run import default_period, nothing_in, office_templates, plan, render_jobs
from brm_xl.users import current_user
from brm_xl.workbook.cells import OutputTable
from brm_xl.workbook.guard import Held, write_bytes_atomic
from brm_xl.workbook.package import Package
from brm_xl.workbook.writer import PackageEdit


@dataclass
class Batch:
    model: Model
    period: Period
    agencies: list[str]
    skipped: list[str] = field(default_factory=list)  # already sent for the period
    unknown: list[str] = field(default_factory=list)  # a stopped run may or may not have sent
    refused: list[Problem] = field(default_factory=list)  # agencies left out: no good address
    drafted: list[str] = field(default_factory=list)  # a draft is in the mailbox already


def prepare(path: Path, period_text: str | None, agencies: tuple[str, ...],
            as_of: dt.date | None, resend: bool = False, only_unsent: bool = False,
            model: Model | None = None, sources: Sources | None = None) -> Batch:
    """The batch for a period (None: the buttons' default), judged on `as_of` or else the
    period's last day; `model` saves reading the workbook again when the caller has it (it
    must carry the Deliveries log to skip sent)."""
    model = model or model_for_period(path, period_text, as_of, previous=(DELIVERIES_SPEC,),
                                      sources=sources, default=default_period)
    period = parse_period(period_text or default_period(model),
                          model.inputs.settings.fiscal_year_start_month)
    chosen = plan(model, period, agencies)
    if not chosen:
        raise BrmError(nothing_in(model, period))
    found = address_problems(model, chosen)
    problems = [p for _, p in found]
    if any(agency is None for agency, _ in found) or (problems and only_unsent):
        raise DataProblems(problems)  # sending: every address is right first, or none is sent
    refused = {agency for agency, _ in found}
    batch = Batch(model, period, [a for a in chosen if a not in refused], refused=problems)
    if only_unsent and not resend:
        status = delivered(model)

        def state(agency: str) -> str | None:
            return status.get((period.label, agency))
        batch.skipped = [a for a in chosen if state(a) == "sent"]
        batch.unknown = [a for a in chosen if state(a) == "unknown"]
        batch.drafted = [a for a in chosen if state(a) == "drafted"]
        batch.agencies = [a for a in chosen if state(a) is None]
    return batch


_RANK = {"sent": 3, "unknown": 2, "drafted": 1}  # the strongest word on an agency counts


def delivered(model: Model) -> dict[tuple[str, str], str]:
    """(period, agency) -> "sent", "unknown" or "drafted", from the Deliveries log and the
    journal of a run that was stopped before it could write the log; none is sent (or
    drafted) again without --resend."""
    status: dict[tuple[str, str], str] = {}
    rows = [(str(r.get("period")), str(r.get("agency_id")), str(r.get("status")))
            for r in model.inputs.previous.get("Deliveries", [])]
    rows += [(e.period, e.agency_id, e.status) for e in Journal(model.inputs.path).entries()]
    for period, agency, state in rows:
        if _RANK.get(state, 0) > _RANK.get(status.get((period, agency), ""), 0):
            status[(period, agency)] = state
    return status


def address_problems(model: Model, agencies: list[str]) -> list[tuple[str | None, Problem]]:
    """Every address a message needs, checked at once before anything is built or sent:
    (the agency it stops, or None for all of them, the problem at its cell)."""
    problems: list[tuple[str | None, Problem]] = []
    settings = model.inputs.settings
    if not settings.sender_email:
        problems.append((None, Problem("Settings", "sender_email is not set; add a sender_email "
                                       "row (the address the reports come from)", "no-sender")))
    table = model.inputs.tables["Agencies"]
    for row in table.frame.iter_rows(named=True):
        agency = row["agency_id_text"]
        if agency not in agencies:
            continue
        if not row["head_email"]:
            problems.append((agency, Problem(table.where("head_email", row["_row"]),
                                             f"head_email is blank for {agency}; the report "
                                             "has no one to go to", "no-address")))
            continue
        for column in ("head_email", "brm_email"):
            value = row[column]
            if value and not re.match(EMAIL_PATTERN, str(value).strip()):
                problems.append((agency, Problem(
                    table.where(column, row["_row"]), f"{column} '{value}' is not an email "
                    f"address for {agency}; fix it to email this agency", "no-address")))
                break
    return problems


def build(batch: Batch, attach_xlsx: bool, when: dt.datetime,
          progress: Callable[[int, int], None] = lambda d, t: None,
          rendered: dict[str, dict[str, bytes]] | None = None) -> list[Outgoing]:
    """One message per agency; `rendered` (agency -> {ext: bytes}) reuses reports already
    made instead of rendering them again."""
    model, settings = batch.model, batch.model.inputs.settings
    office = office_templates(model)
    limits = TemplateLimits.from_settings(settings)
    env = environment(office, limits, "email template")
    sender = address(settings.sender_name or settings.organization, settings.sender_email or "")
    jobs = [(a, data.agency_report(model, a, batch.period)) for a in batch.agencies]
    formats = ["pdf", "xlsx"] if attach_xlsx else ["pdf"]
    made = rendered
    files: Iterable[dict[str, bytes]]
    if made is None or any(ext not in made.get(a, {}) for a, _ in jobs for ext in formats):
        # each message is built as its report comes back from the workers, while they
        # render the next ones
        files = render_jobs(jobs, formats, office, progress, None, limits)
    else:
        files = (made[a] for a, _ in jobs)
    try:
        return [build_message(env, report, {ext: done[ext] for ext in formats}, sender,
                              settings.reply_to, when, model.file_stems[agency])
                for (agency, report), done in zip(jobs, files)]
    finally:  # an email template refused: the workers stop now, not at the process's exit
        close = getattr(files, "close", None)
        if close is not None:
            close()


def write_drafts(batch: Batch, messages: list[Outgoing], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for outgoing in messages:
        outgoing.message["X-Unsent"] = "1"
        target = folder / report_file(batch.period.label, outgoing.stem, "eml")
        content = outgoing.message.as_bytes()
        write_bytes_atomic(target, content)
        paths.append(target)
    return paths


@dataclass
class Transport:
    """How this run's messages go: SMTP (password, XOAUTH2 or none), or Microsoft Graph
    (sent, or saved as drafts in the mailbox)."""

    smtp: SmtpConfig | None = None
    graph: GraphMail | None = None
    drafts: bool = False  # Graph: drafts in the mailbox, nothing sent
    outlook: bool = False  # drafts in classic Outlook (Windows)
    _server: smtplib.SMTP | None = None  # the connection the check made, used to send

    @property
    def tls(self) -> bool:
        return self.smtp.tls if self.smtp is not None else True

    def describe(self) -> str:
        if self.outlook:
            return "classic Outlook (Drafts)"
        if self.graph is not None:
            return f"Microsoft Graph ({self.graph.config.where})"
        assert self.smtp is not None
        return f"{self.smtp.host}:{self.smtp.port}"

    def check(self) -> None:
        """Fail fast, before any message is built: the server answers, offers STARTTLS and
        takes the login; or Graph's sign-in gives a token."""
        if self.outlook:
            return
        if self.graph is not None:
            self.graph.check()
            return
        assert self.smtp is not None
        self._server = connect(self.smtp)  # kept for the send: one login a run

    def close(self) -> None:
        """The checked connection, if nothing used it (the build stopped)."""
        server, self._server = self._server, None
        if server is not None:
            try:
                server.quit()
            except (smtplib.SMTPException, OSError):
                server.close()

    def send_all(self, messages: list[Outgoing], now: Callable[[], dt.datetime],
                 record: Callable[[Result], None], before: Callable[[Outgoing], None]) -> None:
        if self.outlook:
            save_drafts(messages, now, record, before)
        elif self.graph is not None:
            graph_send_all(messages, self.graph, now, record, before, drafts=self.drafts)
        else:
            assert self.smtp is not None
            server, self._server = self._server, None
            send_all(messages, self.smtp, now, record, before, server)


def send(batch: Batch, messages: list[Outgoing], config: SmtpConfig | Transport,
         now: Callable[[], dt.datetime] = lambda: dt.datetime.now().replace(microsecond=0),
         on_result: Callable[[Result], None] = lambda r: None,
         write: Callable[[list[OutputTable]], None] | None = None,
         held: Held | None = None) -> list[Result]:
    """Send, and whatever happens, write what happened to the Deliveries table (to the held
    workbook file, or through `write` when Excel holds the workbook open).

    Each message is journaled before and after it is handed to the server (see
    `journal`), so a run killed at any moment sends nothing twice when run again.
    """
    transport = config if isinstance(config, Transport) else Transport(smtp=config)
    journal = Journal(batch.model.inputs.path)
    period = batch.period.label
    results: list[Result] = []
    if write is None:
        _write_deliveries(batch, journal, held, dry_run=True)  # the log can be written

    def before(o: Outgoing) -> None:
        journal.write("sending", period, o.agency_id, o.to, o.cc, o.message_id)

    def record(result: Result) -> None:
        o = result.outgoing
        journal.write(result.status, period, o.agency_id, o.to, o.cc, o.message_id,
                      result.sent_at, result.error, result.answer)
        results.append(result)
        on_result(result)

    try:
        if messages:
            transport.send_all(messages, now, record, before)
    finally:
        _write_deliveries(batch, journal, held, write)
    return results


def _write_deliveries(batch: Batch, journal: Journal, held: Held | None,
                      write: Callable[[list[OutputTable]], None] | None = None,
                      dry_run: bool = False) -> None:
    """Deliveries: its earlier rows as they were, then every journaled message it lacks."""
    previous = batch.model.inputs.previous.get("Deliveries", [])
    logged = {str(r.get("message_id")) for r in previous}
    new = [e for e in journal.entries() if e.message_id not in logged]
    if not new and not dry_run:
        journal.settle(logged)
        return
    table = OutputTable("Deliveries", DELIVERIES,
                        previous_rows(DELIVERIES, previous) + [e.row() for e in new])
    tables = [table]
    if new and not dry_run:
        sent = sum(e.status == "sent" for e in new)
        drafted = sum(e.status == "drafted" for e in new)
        told = f"{sent} sent" + (f", {drafted} drafted in the mailbox" if drafted else "")
        tables += seal_book(batch.model.inputs, [AuditEntry(
            dt.datetime.now().replace(microsecond=0), current_user(), "send", batch.period.label, None,
            f"{told}, {len(new) - sent - drafted} failed or unknown")])
    if write is not None:
        write(tables)
    else:
        if held is None:
            raise UsageError("sending needs the workbook held: call send inside guard.locked")
        with Package(held.path) as package:
            edit = PackageEdit(package)
            for each in tables:
                edit.put_table(each)
            if dry_run:
                edit.build()
                return
            edit.commit(held)
    journal.settle(logged | {e.message_id for e in new})



def smtp_config(model: Model, host: str | None, port: int | None, user: str | None,
                tls: bool, say: Callable[[str], None] = lambda text: None,
                interactive: bool = True) -> SmtpConfig:
    settings = model.inputs.settings
    host = host or settings.smtp_host
    if not host:
        raise UsageError("no SMTP server: set smtp_host in Settings or pass --smtp-host")
    if settings.smtp_auth == "oauth2":  # XOAUTH2 as the office mailbox: never a password
        app = office_app(model, "smtp_auth oauth2")
        trusted(host, "smtp_host")  # the token goes there
        return SmtpConfig(host, port or settings.smtp_port, tls, settings.graph_mailbox or user,
                          oauth=SignIn(app, settings.smtp_oauth_scope, model.inputs.path, say,
                                       interactive))
    if settings.smtp_auth == "none":
        user = None
    return SmtpConfig(host, port or settings.smtp_port, tls, user)


def office_app(model: Model, needs: str) -> App:
    """The office's app registration from Settings; a sentence naming what is missing."""
    settings = model.inputs.settings
    missing = [k for k in ("graph_tenant_id", "graph_client_id") if not getattr(settings, k)]
    if missing:
        raise UsageError(f"{needs} needs the office's Microsoft 365 app: set "
                         f"{' and '.join(missing)} in Settings (README \"Email\")")
    assert settings.graph_tenant_id and settings.graph_client_id
    trusted(settings.graph_authority_host, "graph_authority_host")  # the secret goes there
    return App(settings.graph_tenant_id.strip(), settings.graph_client_id.strip(),
               settings.graph_authority_host, (settings.graph_mailbox or "").strip() or None)


def transport(model: Model, host: str | None = None, port: int | None = None,
              user: str | None = None, tls: bool = True, drafts: bool = False,
              say: Callable[[str], None] = lambda text: None,
              interactive: bool = True) -> Transport:
    """This run's transport from Settings `mail_transport` (and the options given)."""
    settings = model.inputs.settings
    if settings.mail_transport == "outlook":
        if not drafts:
            raise UsageError("mail_transport outlook makes drafts in classic Outlook, to send "
                             "from there; use the Email drafts button (or --mailbox-drafts), "
                             "or set mail_transport to graph or smtp to send from brm_xl")
        return Transport(drafts=True, outlook=True)
    if settings.mail_transport == "graph" or drafts:
        if settings.mail_transport != "graph":
            raise UsageError("--mailbox-drafts saves drafts in a Microsoft 365 mailbox through "
                             "Graph: set mail_transport to graph in Settings (README \"Email\")")
        app = office_app(model, "mail_transport graph")
        trusted(settings.graph_endpoint, "graph_endpoint")  # the token goes there
        signin = SignIn(app, f"{settings.graph_endpoint}/.default", model.inputs.path, say,
                        interactive)
        return Transport(graph=GraphMail(GraphConfig(settings.graph_endpoint, app.mailbox),
                                         signin), drafts=drafts)
    return Transport(smtp=smtp_config(model, host, port, user, tls, say, interactive))


def describe(batch: Batch) -> list[dict[str, Any]]:
    """Who would get what (for --dry-run)."""
    agencies = {r["agency_id_text"]: r for r in batch.model.inputs.frame("Agencies").iter_rows(named=True)}
    return [{"agency_id": a, "to": agencies[a]["head_email"], "cc": agencies[a]["brm_email"],
             "report": report_file(batch.period.label, batch.model.file_stems[a], "pdf")}
            for a in batch.agencies]

