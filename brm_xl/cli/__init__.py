"""`brm-xl`: the command line, a thin shell over the pipelines.

Exit codes: 0 done, 1 the workbook has problems (listed on stderr, nothing written),
2 the command was called wrongly. No traceback reaches the user.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from brm_xl.cli.supervisor import Stopped
from brm_xl.problems import BrmError, DataProblems, Problem, UsageError, errors, summarize, warnings
from brm_xl.version import __version__

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="brm-xl")
def cli() -> None:
    """Chargeback and business relationship management in Excel workbooks."""


def main() -> None:
    """Console entry point: run the CLI (in a supervised child process, see
    `brm_xl.cli.supervisor`) and turn any failure into a message and an exit code."""
    from brm_xl.cli.supervisor import supervised

    sys.exit(supervised(_main))


def _main() -> int:
    try:
        cli.main(standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("Interrupted; nothing was left half-written.", err=True)
        sys.exit(130)
    except Stopped as exc:
        click.echo(f"Stopped by {exc}; nothing was left half-written.", err=True)
        sys.exit(128 + exc.signum)
    except MemoryError:
        click.echo("error: not enough memory to read these files; move large usage into a CSV "
                   "or Parquet file (Settings usage_files). Nothing was written.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except BrmError as exc:  # raised outside a command's own handling
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except BaseException as exc:  # a fault of ours: say so plainly, never a traceback
        if os.environ.get("BRM_XL_DEBUG"):
            import traceback

            traceback.print_exc()  # printed here: a supervised child ends in os._exit, which
            # would drop an exception raised on
            sys.stderr.flush()
            sys.exit(3)
        if type(exc).__name__ == "PanicException":  # a native reader gave up on a file
            click.echo(f"error: a file could not be read: {str(exc).splitlines()[0][:300]}. "
                       "Open it in Excel, save it again and retry. Nothing was written.", err=True)
            sys.exit(1)
        click.echo(f"internal error: {type(exc).__name__}: {exc}\n"
                   "Nothing was written. Please report this; set BRM_XL_DEBUG=1 for details.",
                   err=True)
        sys.exit(3)
    return 0


def _report(problems: list[Problem], as_json: bool, extra: dict[str, Any] | None = None) -> int:
    """Print problems (stderr, or JSON on stdout); return the exit code."""
    bad = errors(problems)
    if as_json:
        payload = {"ok": not bad, "errors": [p.as_dict() for p in bad],
                   "warnings": [p.as_dict() for p in warnings(problems)], **(extra or {})}
        click.echo(json.dumps(payload, indent=2, default=_json_default))
    else:
        if bad:
            click.echo(f"{len(bad)} problem(s) found; nothing was written:", err=True)
            for line in summarize(bad):
                click.echo(f"  {line}", err=True)
        for line in summarize(warnings(problems), 10):
            click.echo(f"warning: {line}", err=True)
    return 1 if bad else 0


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, Path)):
        return str(value)
    raise TypeError(type(value).__name__)


def _run(as_json: bool, action: Callable[[], dict[str, Any] | None]) -> None:
    try:
        extra = action()
    except DataProblems as exc:
        sys.exit(_report(exc.problems, as_json))
    except UsageError as exc:  # the command was called wrongly: exit 2, as click does
        raise click.UsageError(str(exc)) from None
    except BrmError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "errors": [
                {"where": "", "message": str(exc), "code": type(exc).__name__,
                 "severity": "error"}]}, indent=2))
        else:
            click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if as_json and extra is not None:
        click.echo(json.dumps({"ok": True, **extra}, indent=2, default=_json_default))


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date; use YYYY-MM-DD") from None


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
def new(path: Path, force: bool) -> None:
    """Create a blank workbook on the contract at PATH (.xlsm: with the Excel buttons and
    BRM functions, from the template; .xlsx: tables only)."""
    from brm_xl.app.template import build_workbook

    if path.exists() and not force:
        raise click.UsageError(f"{path} exists; use --force to replace it")
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm"):
        raise click.UsageError("PATH must end in .xlsm (with macros) or .xlsx")
    from brm_xl.workbook.guard import locked, write_bytes_atomic

    def create() -> None:
        if suffix == ".xlsm":
            from brm_xl.excel.template_build import template_path

            write_bytes_atomic(path, template_path().read_bytes())
        else:
            build_workbook(path)

    def replace() -> None:  # --force over a workbook someone may be refreshing: wait for them
        with locked(path):
            create()

    _run(False, replace if path.exists() else create)
    click.echo(f"Created {path}: fill in Agencies, RateCard, Usage and Headcount, "
               f"then press Refresh in Excel or run: brm-xl refresh {path}")


def _file_options(command: Any) -> Any:
    command = click.option(
        "--newest", is_flag=True, expose_value=False,
        callback=lambda ctx, param, value: ctx.meta.__setitem__("newest", value),
        help="Two exports of one FOCUS bill (billing account and period) that disagree: "
             "charge the later one (by file time).")(command)
    command = click.option("--focus", "focus", multiple=True, type=EXISTING_FILE,
                           help="A FOCUS cloud bill (CSV or Parquet) to charge on (repeatable).")(command)
    return click.option("--usage", "usage", multiple=True, type=EXISTING_FILE,
                        help="A usage file (CSV or Parquet, the Usage columns) (repeatable).")(command)


def _sources(usage: tuple[Path, ...], focus: tuple[Path, ...]) -> Any:
    from brm_xl.contract.inputs import Sources

    newest = bool(click.get_current_context().meta.get("newest"))
    return Sources(tuple(usage), tuple(focus), newest=newest)


@cli.command()
@click.argument("path", type=EXISTING_FILE)
@click.option("--json", "as_json", is_flag=True, help="Print problems as JSON on stdout.")
@_file_options
def check(path: Path, as_json: bool, usage: tuple[Path, ...], focus: tuple[Path, ...]) -> None:
    """Check the workbook at PATH against the contract; write nothing."""
    from brm_xl.app.refresh import check as run_check

    def action() -> None:
        inputs, problems = run_check(path, _sources(usage, focus))
        code = _report(problems, as_json, {"rows": inputs.row_counts()})
        if code == 0 and not as_json:
            counts = ", ".join(f"{n} {c:,}" for n, c in inputs.row_counts().items())
            click.echo(f"{path.name}: no problems ({counts})")
        sys.exit(code)

    _run(as_json, action)


@cli.command()
@click.argument("path", type=EXISTING_FILE)
@click.option("--as-of", callback=_date, help="The day that decides what is overdue "
              "(YYYY-MM-DD; default today).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON on stdout.")
@_file_options
def refresh(path: Path, as_of: dt.date | None, as_json: bool, usage: tuple[Path, ...],
            focus: tuple[Path, ...]) -> None:
    """Recompute the output tables of the workbook at PATH and write them back."""
    from brm_xl.app.refresh import refresh as run_refresh

    def action() -> dict[str, Any]:
        with _progress(not as_json) as step:
            result = run_refresh(path, as_of=as_of, progress=step,
                                 sources=_sources(usage, focus))
        if as_json:
            return {"tables": result.tables,
                    "warnings": [w.as_dict() for w in result.warnings]}
        _report(result.warnings, False)
        tables = ", ".join(f"{name} {rows:,} rows" for name, rows in result.tables.items())
        click.echo(f"Refreshed {path}: {tables}")
        return {}

    _run(as_json, action)


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--as-of", callback=_date, help="The demo's today (YYYY-MM-DD).")
def demo(directory: Path | None, as_of: dt.date | None) -> None:
    """Write a demo workbook for a state CIO's office into DIRECTORY and refresh it."""
    from brm_xl.app.demo import run_demo

    directory = directory or Path("brm-xl-demo")

    def action() -> None:
        for line in run_demo(directory, as_of=as_of):
            click.echo(line)

    _run(False, action)


@cli.command("excel-setup")
@click.argument("workbook", required=False, type=EXISTING_FILE)
def excel_setup(workbook: Path | None) -> None:
    """Explain (and check what can be checked of) the per-machine steps for Excel; with a
    WORKBOOK, also whether Windows blocks its macros (Mark of the Web)."""
    from brm_xl.excel.setup import steps

    for line in steps(workbook):
        click.echo(line)


class _progress:
    """A progress bar over refresh's stages (named as the pipeline names them: reading the
    workbook, checking each table, ..., writing the output tables), only on a terminal."""

    STAGES = 7

    def __init__(self, show: bool, label: str = "Rendering reports"):
        self.show = show and sys.stderr.isatty()
        self.label = label
        self.bar: Any = None

    def __enter__(self) -> Callable[[str], None]:
        if self.show:
            self.bar = click.progressbar(length=self.STAGES, label="Refreshing", file=sys.stderr,
                                         show_eta=False)
            self.bar.__enter__()
        return self.step

    def step(self, label: str) -> None:
        if self.bar is not None:
            self.bar.label = label.ljust(28)
            self.bar.update(1)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


@cli.command("close")
@click.argument("workbook", type=EXISTING_FILE)
@click.option("--period", required=True, help="The month to close, e.g. 2026-10 (a range or "
              "fiscal year closes each of its open months).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def close_month(workbook: Path, period: str, as_json: bool) -> None:
    """Publish a month's bills: compute them as refresh does, then seal the month."""
    from brm_xl.app.close import close

    def action() -> dict[str, Any]:
        done = close(workbook, period)
        months = f" ({done.months} months)" if done.months > 1 else ""
        _say(as_json, f"Closed {done.period}{months}: {done.lines} bill lines, "
                      f"{done.total:,.2f} in all; seal {done.seal} (keep it: brm-xl verify "
                      f"checks the workbook against it); recorded in Closes, PublishedCharges, "
                      f"PublishedHeadcount and AuditLog of {workbook.name}")
        return {"period": done.period, "lines": done.lines, "total": str(done.total),
                "seal": done.seal}

    _run(as_json, action)


@cli.command("reopen")
@click.argument("workbook", type=EXISTING_FILE)
@click.option("--period", required=True, help="The closed month to reopen, e.g. 2026-10.")
@click.option("--reason", required=True, help="Why (kept in the AuditLog).")
def reopen_month(workbook: Path, period: str, reason: str) -> None:
    """Reopen a closed month, with a reason; its bills are computed from the inputs again."""
    from brm_xl.app.close import reopen

    def action() -> None:
        done = reopen(workbook, period, reason)
        click.echo(f"Reopened {done.period} of {workbook.name}; logged in AuditLog")
        if done.findings:
            click.echo(f"{len(done.findings)} edits of the closed books were found, recorded in "
                       "AuditLog and put back as published:")
            for line in summarize(done.findings):
                click.echo(f"  {line}")

    _run(False, action)


@cli.command("journal")
@click.argument("workbook", type=EXISTING_FILE)
@click.option("--period", required=True, help="The closed month, e.g. 2026-10.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="The journal file (default <period>_journal_<seal>.csv beside the workbook).")
@click.option("--force", is_flag=True, help="Write over a journal file that exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def journal(workbook: Path, period: str, out: Path | None, force: bool, as_json: bool) -> None:
    """Write a closed month's GL journal (debits to agencies, credits to service revenue)."""
    from brm_xl.app.journal import write_journal

    def action() -> dict[str, Any]:
        done = write_journal(workbook, period, out, force=force)
        for found in done.found:
            _say(as_json, f"Recorded in AuditLog a journal found written but not logged: {found}")
        for w in done.written:
            _say(as_json, f"Wrote {w.journal.summary}, into {w.path} (seal {w.journal.seal}, "
                          f"posting date {w.journal.date})")
            for note in w.journal.notes:
                _say(as_json, f"  note: {note}")
        if not done.written:
            return {"path": None, "found": done.found, "written": []}
        last = done.written[-1]
        return {"path": str(last.path), "lines": len(last.journal.lines),
                "debits": str(last.journal.debits), "credits": str(last.journal.credits),
                "seal": last.journal.seal,
                "written": [{"path": str(w.path), "reversal": w.journal.reversal,
                             "seal": w.journal.seal} for w in done.written]}

    _run(as_json, action)


@cli.command("verify")
@click.argument("workbook", type=EXISTING_FILE)
@click.option("--journal", "journals", multiple=True, type=EXISTING_FILE,
              help="A journal file brm_xl wrote (repeatable); its .seal.json must be beside it.")
@click.option("--sent", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder of the messages sent (.eml), e.g. outbox/2026-10.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def verify(workbook: Path, journals: tuple[Path, ...], sent: Path | None, as_json: bool) -> None:
    """Check the closed books: every seal, the ledger, journals and messages already sent."""
    from brm_xl.app.verify import verify as run

    def action() -> None:
        done = run(workbook, list(journals), sent)
        if not as_json:
            for line in done.checked:
                click.echo(f"checked: {line}")
        code = _report(done.problems, as_json, {"checked": done.checked})
        if code == 0 and not as_json:
            click.echo(f"{workbook.name}: the closed books are as published")
        sys.exit(code)

    _run(as_json, action)


@cli.command("rates")
@click.argument("workbook", type=EXISTING_FILE)
@click.option("--fy", "fiscal_year", required=True, help="The fiscal year to set rates for, e.g. FY2028.")
@click.option("--usage-growth", default="0%", show_default=True,
              help="Expected change in use, e.g. 3% (or -2%).")
@click.option("--json", "as_json", is_flag=True, help="Print the proposal as JSON.")
def rates(workbook: Path, fiscal_year: str, usage_growth: str, as_json: bool) -> None:
    """Propose next year's rates (cost / projected use, last year's over or under recovery
    carried forward) into RateProposal and RateEffect; RateCard is not changed."""
    from brm_xl.app.rates import write_proposal
    from brm_xl.reports.render import rate as shown_rate

    def action() -> dict[str, Any]:
        try:
            growth = Decimal(usage_growth.strip().rstrip("%"))
        except ArithmeticError:
            raise click.UsageError(f"--usage-growth {usage_growth!r}: a percentage, e.g. 3%") from None
        try:
            found = write_proposal(workbook, fiscal_year, growth)
        except UsageError as exc:
            raise click.UsageError(str(exc)) from None
        for p in found.proposals:
            if p.proposed_rate is None:
                _say(as_json, f"{p.service_id}: {shown_rate(p.current_rate)} -> no proposal "
                              f"(cost {p.projected_cost:,.2f} a year, no usage)")
                continue
            change = f" ({p.change_pct:+}%)" if p.change_pct is not None else ""
            rounding = f"; rounding {p.rounding_effect:+,.2f} a year" if p.rounding_effect else ""
            _say(as_json, f"{p.service_id}: {shown_rate(p.current_rate)} -> "
                          f"{shown_rate(p.proposed_rate)}{change}{rounding}")
        if not as_json:
            _report(found.warnings, False)
        _say(as_json, f"Wrote RateProposal ({len(found.proposals)} services) and RateEffect "
                      f"({len(found.effects)} agencies) into {workbook.name}; RateCard is unchanged")
        return {"services": len(found.proposals), "agencies": len(found.effects),
                "warnings": [w.as_dict() for w in found.warnings]}

    _run(as_json, action)


@cli.command("import-survey")
@click.argument("workbook", type=EXISTING_FILE)
@click.argument("export", metavar="EXPORT", type=EXISTING_FILE)
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN",
              help='Which export column holds a Survey field, e.g. --map score="How satisfied are you?"')
@click.option("--form", metavar="LABEL", help="The form these responses answered, for two forms "
              "that number their responses from 1 and were answered on the same day (ids are "
              "otherwise the tool's own with the day submitted; never the file's name).")
@click.option("--date-order", type=click.Choice(["mdy", "dmy"]), default=None,
              help="Whether the export's dates are month first (mdy) or day first (dmy), where "
                   "they cannot tell (every day 12 or less).")
@click.option("--alias", "aliases", multiple=True, metavar='"NAME"=AGENCY_ID',
              help='Another name an agency goes by in the export, e.g. --alias "Human '
                   'Services"=DHS; kept in Settings (agency_alias rows) for later imports.')
@click.option("--skip-bad-rows", is_flag=True,
              help="Import the rows that are right and list the others as skipped, instead "
                   "of stopping at a row with a wrong value.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON on stdout.")
def import_survey(workbook: Path, export: Path, maps: tuple[str, ...], form: str | None,
                  date_order: str | None, aliases: tuple[str, ...], skip_bad_rows: bool,
                  as_json: bool) -> None:
    """Append new survey responses from an export (CSV or XLSX from Microsoft Forms,
    Qualtrics, SurveyMonkey, Google Forms or ServiceNow) to the Survey table."""
    from brm_xl.app.additions import import_survey as run_import
    from brm_xl.sources.surveys import parse_aliases, parse_maps

    def action() -> dict[str, Any]:
        try:
            result = run_import(workbook, export, parse_maps(maps), form, date_order,
                                parse_aliases(aliases), skip_bad_rows)
        except UsageError as exc:
            raise click.UsageError(str(exc)) from None
        if not as_json:
            labelled = f", ids qualified by form {result.form!r}" if result.form else ""
            if result.source == "Microsoft Forms":
                labelled += ", each id with the day it was submitted"
            repeated = f", {result.repeated} repeated in the file" if result.repeated else ""
            came = ", ".join(f"{n} from {f}" for f, n in sorted(result.already_from.items()))
            came = f" ({came})" if came else ""
            bad = f", {result.bad} skipped as wrong (listed below)" if result.bad else ""
            click.echo(f"{export.name}: read as a {result.source} export{labelled}; "
                       f"{result.read} response(s) read: added {result.added} response(s) to "
                       f"{workbook.name}; {result.skipped - result.repeated} already there"
                       f"{came}{repeated}{bad}")
            for key, value in result.settings:
                click.echo(f"kept in Settings: {key} = {value}")
            for line in summarize(result.warnings, 10):
                click.echo(f"warning: {line}", err=True)
        return {"read": result.read, "added": result.added, "skipped": result.skipped,
                "repeated": result.repeated, "bad": result.bad,
                "already_from": result.already_from,
                "settings": [list(p) for p in result.settings], "source": result.source,
                "form": result.form, "warnings": [p.as_dict() for p in result.warnings]}

    _run(as_json, action)


@cli.command()
@click.argument("workbook", type=EXISTING_FILE)
@click.option("--agency", required=True, help="Agency id, e.g. DOT.")
@click.option("--channel", required=True,
              help="In person - individual, In person - group, Virtual meeting, Phone or Email.")
@click.option("--topic", required=True, help="What the contact was about.")
@click.option("--date", "date_", help="When (YYYY-MM-DD; default today).")
@click.option("--manager", help="BRM manager (default: the agency's, from Agencies).")
@click.option("--attendees", help="Who took part.")
@click.option("--notes", help="Notes.")
@click.option("--action", help="An action agreed.")
@click.option("--owner", help="Who owns the action.")
@click.option("--due", help="When the action is due (YYYY-MM-DD).")
@click.option("--touchpoint", help="The CommsPlan touchpoint it keeps (e.g. \"Quarterly business "
              "review\"), or a forum_id: a meeting of that forum.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON on stdout.")
def log(workbook: Path, agency: str, channel: str, topic: str, date_: str | None,
        manager: str | None, attendees: str | None, notes: str | None, action: str | None,
        owner: str | None, due: str | None, touchpoint: str | None, as_json: bool) -> None:
    """Append one contact with an agency to the Engagements table."""
    from brm_xl.app.additions import log_contact

    def run_log() -> dict[str, Any]:
        if (owner or due) and not action:
            raise click.UsageError("--owner and --due describe an --action; give the action too")
        values = {"date": date_ or dt.date.today().isoformat(), "agency_id": agency,
                  "brm_manager": manager, "channel": channel, "topic": topic,
                  "attendees": attendees, "notes": notes, "action_item": action,
                  "action_owner": owner, "action_due": due, "action_done_on": None,
                  "touchpoint": touchpoint}
        log_contact(workbook, values)
        if not as_json:
            click.echo(f"Logged {channel} with {agency} on {values['date']} in {workbook.name}")
        return {"added": 1}

    _run(as_json, run_log)


@cli.command()
@click.argument("workbook", type=EXISTING_FILE)
@click.option("--period", required=True,
              help="A month (2026-06), fiscal year (FY2026), fiscal quarter (FY2026-Q4) or range "
                   "(2026-01..2026-06).")
@click.option("--agency", "agencies", multiple=True, metavar="ID",
              help="Only this agency (repeatable); default every agency with data in the period.")
@click.option("--format", "formats", default="html,pdf,xlsx", show_default=True,
              help="Comma-separated formats.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the reports (default reports/<period>/ beside the workbook).")
@click.option("--portfolio", is_flag=True, help="The CIO's one-page portfolio of all agencies.")
@click.option("--manager", metavar="NAME", help="Only the agencies this BRM manager holds "
              "(Agencies brm_manager).")
@click.option("--vendors", is_flag=True, help="One scorecard per vendor instead (the quarterly "
              "business review pack).")
@click.option("--plans", is_flag=True, help="One account plan per agency instead (maturity, "
              "initiatives and value realised, stakeholders, touchpoints, forums).")
@click.option("--as-of", callback=_date, help="The day health and overdue actions are judged "
              "(YYYY-MM-DD; default the period's last day, or today while it is not over).")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@_file_options
def report(workbook: Path, period: str, agencies: tuple[str, ...], formats: str,
           out: Path | None, portfolio: bool, manager: str | None, vendors: bool,
           plans: bool, as_of: dt.date | None,
           as_json: bool, usage: tuple[Path, ...], focus: tuple[Path, ...]) -> None:
    """Write value-of-IT reports (HTML, PDF, XLSX) for agency heads, or the portfolio."""
    from brm_xl.reports.run import make_reports, parse_formats

    def action() -> dict[str, Any]:
        try:
            wanted = parse_formats(formats)
            bar = _ReportBar(not as_json)
            written = make_reports(workbook, period, agencies, wanted, out, portfolio,
                                   as_of, progress=bar.update,
                                   sources=_sources(usage, focus), manager=manager,
                                   vendors=vendors, plans=plans)
            bar.close()
        except UsageError as exc:
            raise click.UsageError(str(exc)) from None
        if not as_json:
            folders = sorted({str(w.path.parent) for w in written})
            reports = len({w.agency for w in written})
            click.echo(f"Wrote {len(written)} file(s) for {reports} report(s) into "
                       f"{', '.join(folders)}")
            for w in written[:12]:
                click.echo(f"  {w.path.name}")
            if len(written) > 12:
                click.echo(f"  ... and {len(written) - 12} more")
        return {"written": [str(w.path) for w in written]}

    _run(as_json, action)


class _ReportBar:
    """A progress bar over rendered reports, shown only on a terminal."""

    def __init__(self, show: bool, label: str = "Rendering reports"):
        self.show = show and sys.stderr.isatty()
        self.label = label
        self.bar: Any = None

    def update(self, done: int, total: int) -> None:
        if not self.show or total < 2:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@cli.command()
@click.argument("workbook", type=EXISTING_FILE)
@click.option("--period", required=True, help="Month, FY, FY quarter or range, as for report.")
@click.option("--agency", "agencies", multiple=True, metavar="ID", help="Only this agency "
              "(repeatable); default every agency with data in the period.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for drafts (default outbox/<period>/ beside the workbook).")
@click.option("--attach-xlsx", is_flag=True, help="Attach the bill of IT workbook too.")
@click.option("--send", "do_send", is_flag=True, help="Deliver (Settings mail_transport: SMTP "
              "or Microsoft Graph) instead of writing drafts.")
@click.option("--mailbox-drafts", is_flag=True, help="Save each message as a draft in the "
              "Microsoft 365 mailbox (mail_transport graph) or classic Outlook (outlook), to "
              "read over and send from Outlook; nothing is sent.")
@click.option("--dry-run", is_flag=True, help="List who would get what; build and send nothing.")
@click.option("--resend", is_flag=True, help="Send again to agencies already sent for the period.")
@click.option("--yes", is_flag=True, help="Send without asking (for scheduled runs); --send "
              "otherwise asks in the terminal first.")
@click.option("--smtp-host", help="Mail server (default Settings smtp_host).")
@click.option("--smtp-port", type=int, help="Port (default Settings smtp_port, 587).")
@click.option("--smtp-user", envvar="BRM_SMTP_USER", help="Login (or BRM_SMTP_USER); the "
              "password comes from BRM_SMTP_PASSWORD or the system keyring.")
@click.option("--no-tls", is_flag=True, help="Send without STARTTLS (trusted internal relays only).")
@click.option("--as-of", callback=_date, help="The day health is judged (default the period's last "
              "day, or today while it is not over).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@_file_options
def email(workbook: Path, period: str, agencies: tuple[str, ...], out: Path | None,
          attach_xlsx: bool, do_send: bool, mailbox_drafts: bool, dry_run: bool, resend: bool,
          yes: bool,
          smtp_host: str | None,
          smtp_port: int | None, smtp_user: str | None, no_tls: bool, as_of: dt.date | None,
          as_json: bool, usage: tuple[Path, ...], focus: tuple[Path, ...]) -> None:
    """Email each agency head its value report: drafts to review by default, or --send."""
    from brm_xl.app.usecases import SmtpOptions, draft_emails, plan_emails, send_emails

    def announce(batch: Any) -> None:
        for skipped in batch.skipped:
            _say(as_json, f"{skipped}: already sent for {batch.period.label} (--resend to send again)")
        for unknown in batch.unknown:
            click.echo(f"{unknown}: a run that was stopped may or may not have sent this for "
                       f"{batch.period.label} (status unknown in Deliveries); check with the "
                       "recipient, and use --resend to send it again", err=True)
        for drafted in batch.drafted:
            if mailbox_drafts:
                _say(as_json, f"{drafted}: its draft for {batch.period.label} is in the mailbox "
                              "already (--resend to draft again)")
            else:
                click.echo(f"warning: {drafted}: its draft for {batch.period.label} is in the "
                           "mailbox's Drafts and may already have gone from Outlook; check Sent "
                           "Items, and use --resend to send it from here", err=True)

    def action() -> dict[str, Any]:
        try:
            if do_send and mailbox_drafts:
                raise UsageError("--send and --mailbox-drafts: choose one (drafts are sent "
                                 "from Outlook)")
            if dry_run:
                return dry(*plan_emails(workbook, period, agencies, as_of,
                                        do_send or mailbox_drafts, resend,
                                        _sources(usage, focus)))
            if not do_send and not mailbox_drafts:
                bar = _ReportBar(not as_json, "Drafting")
                try:
                    batch, paths = draft_emails(workbook, period, agencies, as_of, attach_xlsx,
                                                out, sources=_sources(usage, focus),
                                                progress=bar.update)
                finally:
                    bar.close()
                folder = paths[0].parent if paths else out or workbook.parent
                _say(as_json, f"Wrote {len(paths)} draft(s) to review and send into {folder}")
                if batch.refused:
                    if not as_json:
                        click.echo(f"{len(batch.refused)} agency head(s) got no draft; fix "
                                   "these and run again:", err=True)
                        for line in summarize(batch.refused):
                            click.echo(f"  {line}", err=True)
                    else:
                        click.echo(json.dumps({"ok": False, "drafts": [str(p) for p in paths],
                                               "errors": [p.as_dict() for p in batch.refused]}))
                    sys.exit(1)
                return {"drafts": [str(p) for p in paths]}
            bar = _ReportBar(not as_json, "Saving drafts" if mailbox_drafts else "Sending")
            try:
                outcome = send_emails(
                    workbook, period, agencies, as_of=as_of, resend=resend,
                    attach_xlsx=attach_xlsx,
                    smtp=SmtpOptions(smtp_host, smtp_port, smtp_user, not no_tls),
                    sources=_sources(usage, focus), confirm=go, mailbox_drafts=mailbox_drafts,
                    say=lambda text: click.echo(text, err=True),
                    interactive=sys.stdin.isatty(), progress=bar.update,
                    on_result=lambda r: None if bar.bar is not None else _say(
                        as_json, f"{r.outgoing.agency_id}: {r.status}"
                        + (f" ({r.error})" if r.error else "")))
            finally:
                bar.close()
        except UsageError as exc:
            raise click.UsageError(str(exc)) from None
        for r in outcome.results:
            if r.status not in ("sent", "drafted") and bar.show:
                click.echo(f"{r.outgoing.agency_id}: {r.status} ({r.error})", err=True)
        done = (f"Saved {outcome.drafted} draft(s) in the mailbox" if mailbox_drafts
                else f"Sent {outcome.sent}")
        logged = (f"logged in the Deliveries table of {workbook.name}" if outcome.results
                  else "nothing to log")
        _say(as_json, f"{done}, failed {outcome.failed}"
                      + (f", not attempted {outcome.left}" if outcome.left else "")
                      + f"; {logged}")
        if not outcome.complete:
            if as_json:
                click.echo(json.dumps({"ok": False, "sent": outcome.sent,
                                       "failed": outcome.failed, "left": outcome.left}))
            sys.exit(1)
        return {"sent": outcome.sent, "drafted": outcome.drafted}

    def dry(batch: Any, plan: list[dict[str, Any]]) -> dict[str, Any]:
        announce(batch)
        for item in plan:
            _say(as_json, f"{item['agency_id']}: to {item['to']}, cc {item['cc'] or '-'}, "
                          f"attach {item['report']}")
        return {"would_send" if do_send else "would_draft": plan, "skipped": batch.skipped}

    def go(batch: Any, config: Any) -> bool:
        announce(batch)
        if not config.tls:
            click.echo("warning: sending WITHOUT TLS; use --no-tls only for a trusted internal "
                       "relay", err=True)
        if yes or not batch.agencies or mailbox_drafts:  # a draft sends nothing: no question
            return True
        if not sys.stdin.isatty():
            raise UsageError("--send asks before it sends: run it in a terminal, or add --yes "
                             "for a scheduled run")
        return click.confirm(f"Send {len(batch.agencies)} value report email(s) for "
                             f"{batch.period.label} through {config.describe()}?")

    _run(as_json, action)


def _say(as_json: bool, line: str) -> None:
    if not as_json:
        click.echo(line)
