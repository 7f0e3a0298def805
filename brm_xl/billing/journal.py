"""The general ledger journal of a closed month, for the state's ERP.

Built only from a verified publication: the month's seal record (brm_xl.books.seal), never a
recomputation and never the visible PublishedCharges rows as they stand. For each agency
and service a debit to the agency's account and a credit to the service's revenue account
(a credit line, negative, the other way round), so every agency's lines balance to the
cent and so does the whole journal; no plug line is ever added. Accounts are the
GLAccounts rows sealed with the close (today's table only for a close sealed before it
existed, and said so). The layout is `report_templates/journal/journal.csv.j2`, or an
office's own (Settings `journal_template`), rendered in the same sandbox as the reports.

A reversal (`reversal=True`) is the same lines the other way round, built from an earlier
close's sealed record; writing the journals, their companion seal files and AuditLog rows
is the job of `brm_xl.app.journal`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from brm_xl.books.seal import short
from brm_xl.contract.history import Record
from brm_xl.contract.inputs import Inputs
from brm_xl.contract.periods import month_end
from brm_xl.problems import DataProblems, Problem

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
    net: Decimal = Decimal("0.00")  # the month's charges, net of credits
    credit_lines: Decimal = Decimal("0.00")  # credits on the bills, booked the other way
    seal: str = ""
    reversal: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> str:
        """Debits against the month's net charges, explained."""
        what = "reversal of the" if self.reversal else "the"
        text = (f"{what} {self.period} journal: {len(self.lines)} lines, debits "
                f"{self.debits:,.2f} = credits {self.credits:,.2f}")
        if self.credit_lines:
            billed = self.net + self.credit_lines
            text += (f": the month's net charges of {self.net:,.2f} are {billed:,.2f} billed "
                     f"less {self.credit_lines:,.2f} of credits, and each credit line is booked "
                     "the other way round (a debit to revenue, a credit to the agency), so the "
                     f"debits are {billed:,.2f} + {self.credit_lines:,.2f}")
        return text


def cell(value: Any) -> str:
    """A CSV text field: quoted, and never a formula in Excel (a leading = + - @ is kept
    as text with an apostrophe)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        text = "'" + text
    return '"' + text.replace('"', '""') + '"'


def posting_date(inputs: Inputs, record: Record, today: dt.date) -> dt.date:
    """Settings journal_date: `month end` (the closed month's last day, the default),
    `close date` (the day it was closed) or `run date`."""
    choice = re.sub(r"[\s_-]+", " ", inputs.settings.journal_date.strip().casefold())
    if choice == "close date":
        return dt.date.fromisoformat(record.closed_at[:10])
    if choice == "run date":
        return today
    if choice != "month end":
        where = inputs.settings.cells.get("journal_date", "Settings")
        raise DataProblems([Problem(where, f"journal_date '{inputs.settings.journal_date}' is "
                                    "not month end, close date or run date", "bad-setting")])
    return month_end(record.period)


def build_journal(inputs: Inputs, record: Record, when: dt.date,
                  reversal: bool = False) -> Journal:
    """The journal of one sealed close (or its reversal: every line the other way)."""
    month = record.period
    notes: list[str] = []
    rows = record.gl
    if not rows and inputs.has("GLAccounts"):
        rows = [[str(r["kind"]), r["id"] or "", str(r["fund"]), r["department"] or "",
                 str(r["account"])] for r in inputs.frame("GLAccounts").to_dicts()]
        notes.append(f"{month} was closed before its GL accounts were sealed; today's "
                     "GLAccounts were used")
    accounts = {(kind, key): {"fund": fund, "department": dept, "account": account}
                for kind, key, fund, dept, account in rows}
    charges = record.charges_map()
    missing: list[Problem] = []
    where = "GLAccounts" if inputs.has("GLAccounts") or rows else "GLAccounts (no such table)"
    for agency in sorted({a for a, _ in charges}):
        if ("Agency", agency.upper()) not in accounts and ("Agency", agency) not in accounts:
            missing.append(Problem(where, f"no GL account for agency {agency}; add a GLAccounts "
                                   f"row (kind Agency, id {agency}, fund, department, account)"
                                   + _sealed_note(record), "no-account"))
    for service in sorted({s for _, s in charges}):
        key = ("Service", service.upper()) if service else ("Adjustments", "")
        if key not in accounts and ("Service", service) not in accounts:
            what = f"service {service}" if service else "adjustments not tied to a service"
            missing.append(Problem(where, f"no GL revenue account for {what}; add a GLAccounts "
                                   f"row (kind {key[0]}{', id ' + service if service else ''}, "
                                   "fund, account)" + _sealed_note(record), "no-account"))
    if missing:
        raise DataProblems(missing)

    def account(kind: str, key: str) -> dict[str, str]:
        return accounts.get((kind, key.upper())) or accounts[(kind, key)]

    lines: list[JournalLine] = []
    debits = credits = credit_lines = Decimal("0.00")
    for (agency, service), amount in sorted(charges.items()):
        if amount == 0:
            continue
        payer = account("Agency", agency)
        earner = account("Service", service) if service else accounts[("Adjustments", "")]
        what = (f"Reversal of IT chargeback {month} (seal {short(record.seal)}): "
                if reversal else f"IT chargeback {month}: ") + \
            f"{service or 'adjustments'} for {agency}"
        size = f"{abs(amount):.2f}"
        first, second = (payer, earner) if (amount > 0) != reversal else (earner, payer)
        for acct, debit in ((first, True), (second, False)):
            lines.append(JournalLine(len(lines) + 1, acct["fund"], acct["department"],
                                     acct["account"], size if debit else "",
                                     "" if debit else size, agency, service, what))
        debits += abs(amount)
        credits += abs(amount)
        if amount < 0:
            credit_lines += abs(amount)
    assert debits == credits  # by construction: a debit and a credit of one amount a line
    return Journal(month, when.isoformat(), tuple(lines), debits, credits,
                   Decimal(record.total), credit_lines, record.seal, reversal, tuple(notes))


def _sealed_note(record: Record) -> str:
    return (" (the accounts are those sealed when the month was closed; reopen and close it "
            "again to take new ones)") if record.gl else ""
















