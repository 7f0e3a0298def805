"""The general ledger journal of a closed month, for the state's ERP.

From the month's published bills (PublishedCharges, never a recomputation): for each
agency and service a debit to the agency's account and a credit to the service's revenue
account (a credit line, negative, the other way round), so every agency's lines balance
to the cent and so does the whole journal; no plug line is ever added. Accounts come from
the GLAccounts table; every agency or service without one is named at once. The layout is
`report_templates/journal/journal.csv.j2` (CSV), or an office's own (Settings
`journal_template`), rendered in the same sandbox as the reports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .close import closed_months
from .inputs import load_inputs
from .problems import DataProblems, Problem, UsageError
from .users import current_user
from .workbook.guard import locked, write_bytes_atomic

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class JournalLine:
    line: int
    fund: str
    department: str
    account: str
    debit: str  # "123.45" or ""
    credit: str
    agency_id: str
    service_id: str
    description: str


@dataclass(frozen=True)
class Journal:
    period: str
    date: str
    lines: tuple[JournalLine, ...]
    debits: Decimal
    credits: Decimal


def cell(value: Any) -> str:
    """A CSV text field: quoted, and never a formula in Excel (a leading = + - @ is kept
    as text with an apostrophe)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        text = "'" + text
    return '"' + text.replace('"', '""') + '"'


def build_journal(path: Path, period: str) -> Journal:
    from .close import _month

    month = _month(period)
    inputs, problems = load_inputs(Path(path), checks=())
    if any(p.is_error for p in problems):
        raise DataProblems(problems)
    closed = closed_months(inputs).get(month)
    if closed is None:
        raise UsageError(f"{month} is not closed: a journal is written for a closed month "
                         "only (brm-xl close --period " + month + ")")
    accounts: dict[tuple[str, str], dict[str, Any]] = {}
    if inputs.has("GLAccounts"):
        for row in inputs.frame("GLAccounts").iter_rows(named=True):
            accounts[(row["kind"], row["id"] or "")] = row
    missing: list[Problem] = []
    where = "GLAccounts" if inputs.has("GLAccounts") else "GLAccounts (no such table)"
    agencies = sorted({a for a, _ in closed.charges})
    services = sorted({s for _, s in closed.charges})
    for agency in agencies:
        if ("Agency", agency) not in accounts:
            missing.append(Problem(where, f"no GL account for agency {agency}; add a GLAccounts "
                                   f"row (kind Agency, id {agency}, fund, department, account)",
                                   "no-account"))
    for service in services:
        key = ("Service", service) if service else ("Adjustments", "")
        if key not in accounts:
            what = f"service {service}" if service else "adjustments not tied to a service"
            missing.append(Problem(where, f"no GL revenue account for {what}; add a GLAccounts "
                                   f"row (kind {key[0]}{', id ' + service if service else ''}, "
                                   "fund, account)", "no-account"))
    if missing:
        raise DataProblems(missing)
    lines: list[JournalLine] = []
    debits = credits = Decimal("0.00")
    for (agency, service), amount in sorted(closed.charges.items()):
        if amount == 0:
            continue
        payer = accounts[("Agency", agency)]
        earner = accounts[("Service", service) if service else ("Adjustments", "")]
        what = f"IT chargeback {month}: {service or 'adjustments'} for {agency}"
        size = f"{abs(amount):.2f}"
        first, second = (payer, earner) if amount > 0 else (earner, payer)
        for account, debit in ((first, True), (second, False)):
            lines.append(JournalLine(len(lines) + 1, account["fund"], account["department"] or "",
                                     account["account"], size if debit else "",
                                     "" if debit else size, agency, service, what))
        debits += abs(amount)
        credits += abs(amount)
    assert debits == credits  # by construction: a debit and a credit of one amount a line
    return Journal(month, dt.date.today().isoformat(), tuple(lines), debits, credits)


def write_journal(path: Path, period: str, out: Path | None = None) -> tuple[Path, Journal]:
    from .outputs import CLOSE_SPECS, AuditEntry, audit_table
    from .refresh import write_tables
    from .reports.limits import TemplateLimits
    from .reports.render import environment, render_template
    from .reports.run import office_folder

    path = Path(path)
    journal = build_journal(path, period)
    inputs, _ = load_inputs(path, specs=(), checks=(), previous=CLOSE_SPECS)
    env = environment(office_folder(inputs, inputs.settings.journal_template,
                                    "journal_template"),
                      TemplateLimits.from_settings(inputs.settings), "journal template")
    env.filters["cell"] = cell
    name = Path(inputs.settings.journal_template).name if inputs.settings.journal_template \
        else "journal/journal.csv.j2"
    text = render_template(env, name, j=journal, lines=journal.lines)
    target = out or path.with_name(f"{journal.period}_journal.csv")
    write_bytes_atomic(target, text.encode("utf-8"))
    with locked(path) as held:
        inputs, _ = load_inputs(held.path, specs=(), checks=(), previous=CLOSE_SPECS)
        entry = AuditEntry(dt.datetime.now().replace(microsecond=0), current_user(), "journal",
                           journal.period, None, f"{len(journal.lines)} lines, debits "
                           f"{journal.debits:.2f} = credits {journal.credits:.2f}, {target.name}")
        write_tables(held, [audit_table(inputs, entry)])
    return target, journal

