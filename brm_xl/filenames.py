"""Every file and folder name brm_xl writes, in one place.

Names come from ids typed in a workbook, so they are made safe (`DOA/OTS` -> `DOA-OTS`,
`../x` -> `x`) and kept unique: two agencies whose safe names would be the same (`DOA/OTS`
and `DOA-OTS`) get distinct names, so one agency's report can never overwrite, or be
attached in place of, another's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def safe_name(text: str) -> str:
    """A file-name-safe form of an id or period: DOA/OTS -> DOA-OTS, ../x -> x."""
    return _UNSAFE.sub("-", text).strip("-") or "unnamed"


def agency_stems(agency_ids: Iterable[str]) -> dict[str, str]:
    """A unique file-name part per agency id (ignoring case, as file systems on Windows and
    macOS do). An id that is already safe keeps its name; an id whose safe name collides
    with another's gets a short fingerprint of the id itself, so the name is the same on
    every run, whichever agencies a run covers."""
    ids = list(dict.fromkeys(agency_ids))
    groups: dict[str, list[str]] = {}
    for agency in ids:
        groups.setdefault(safe_name(agency).casefold(), []).append(agency)
    stems = {}
    for agency in ids:
        base = safe_name(agency)
        clash = len(groups[base.casefold()]) > 1
        stems[agency] = base if not clash or base == agency else f"{base}-{_fingerprint(agency)}"
    return stems


def _fingerprint(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:6]


def report_file(period_label: str, stem: str | None, ext: str) -> str:
    """`2026-09_DOT_value_report.pdf`; the portfolio (stem None): `2026-09_portfolio.html`."""
    period = safe_name(period_label)
    return f"{period}_{stem}_value_report.{ext}" if stem else f"{period}_portfolio.{ext}"


def plan_file(period_label: str, stem: str, ext: str) -> str:
    """`2026-10_DOT_account_plan.pdf`: an agency's account plan (`report --plans`)."""
    return f"{safe_name(period_label)}_{stem}_account_plan.{ext}"


def vendor_report_file(period_label: str, vendor_id: str, ext: str) -> str:
    """`2026-10_vendor_NETCO_scorecard.pdf`."""
    return f"{safe_name(period_label)}_vendor_{safe_name(vendor_id)}_scorecard.{ext}"


def reports_folder(workbook: Path, period_label: str) -> Path:
    return Path(workbook).parent / "reports" / safe_name(period_label)


def outbox_folder(workbook: Path, period_label: str) -> Path:
    return Path(workbook).parent / "outbox" / safe_name(period_label)


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".xltx", ".xltm", ".ods")


def journal_file(period: str, seal_short: str, reversal: bool = False) -> str:
    """`2026-10_journal_3fa9c01b2e77.csv`; the reversal of an earlier close's journal:
    `2026-10_journal_reversal_3fa9c01b2e77.csv` (each close's seal in its journal's name,
    so a journal of a re-closed month never takes the first one's name)."""
    kind = "journal_reversal" if reversal else "journal"
    return f"{safe_name(period)}_{kind}_{safe_name(seal_short)}.csv"


def companion_file(journal: Path) -> Path:
    """The seal file beside a journal: `2026-10_journal_3fa9c01b2e77.csv.seal.json`."""
    return journal.with_name(journal.name + ".seal.json")
