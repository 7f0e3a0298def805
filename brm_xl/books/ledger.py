"""The office's ledger: each close, reopen and journal, appended to a file outside the
workbook, and compared with the workbook on every load.

A workbook travels by email and can be rewritten whole, hidden seal records included; a
record kept somewhere else cannot be rewritten with it. Where the office names a folder
on its share (environment variable `BRM_XL_LEDGER`, set on the office's PCs, which a
workbook cannot turn off; else Settings `ledger_path`), brm_xl keeps
`brm_xl_ledger.sqlite` there: SQLite, the embedded default, one row per close, reopen and
journal of each workbook (by the book id its seal records carry), with triggers that
refuse UPDATE and DELETE. SQLite's locking is unreliable on some network file systems
(SMB shares with opportunistic locks, some NFS mounts): writes are short transactions,
and a ledger that cannot be opened is a warning, never a reason to stop a close.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from brm_xl.books.seal import short
from brm_xl.contract.history import Record
from brm_xl.problems import Problem

LEDGER_ENV = "BRM_XL_LEDGER"
LEDGER_FILE = "brm_xl_ledger.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    book TEXT NOT NULL, kind TEXT NOT NULL, seq INTEGER NOT NULL, period TEXT NOT NULL,
    seal TEXT NOT NULL, at TEXT NOT NULL, detail TEXT NOT NULL,
    PRIMARY KEY (book, kind, seq, seal));
CREATE TRIGGER IF NOT EXISTS no_update BEFORE UPDATE ON entries
    BEGIN SELECT RAISE(ABORT, 'the brm_xl ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS no_delete BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'the brm_xl ledger is append-only'); END;
"""


def folder_of(workbook: Path, setting: str | None) -> Path | None:
    """The ledger's folder: BRM_XL_LEDGER, else Settings ledger_path (relative to the
    workbook's folder); None where the office keeps no ledger."""
    named = os.environ.get(LEDGER_ENV) or setting
    if not named:
        return None
    path = Path(named).expanduser()
    return path if path.is_absolute() else Path(workbook).parent / path


def _open(folder: Path) -> sqlite3.Connection:
    if not folder.is_dir():
        raise OSError(f"the ledger folder {folder} does not exist")
    con = sqlite3.connect(folder / LEDGER_FILE, timeout=30, isolation_level=None)
    con.executescript(SCHEMA)
    return con


def append(folder: Path | None, records: list[Record],
           journals: list[dict[str, Any]] | None = None) -> Problem | None:
    """Add the closes, reopens and journals the ledger does not hold yet; a warning (never
    an error) when the ledger cannot be written."""
    if folder is None:
        return None
    try:
        con = _open(folder)
        with con:
            con.execute("BEGIN IMMEDIATE")
            for r in records:
                con.execute("INSERT OR IGNORE INTO entries VALUES (?,?,?,?,?,?,?)",
                            (r.book, r.status, r.seq, r.period, r.seal, r.closed_at,
                             f"{r.lines} lines, {r.total}" if r.status == "closed" else r.reason))
            for j in journals or []:
                con.execute("INSERT OR IGNORE INTO entries VALUES (?,?,?,?,?,?,?)",
                            (j["book"], "journal", 0, j["period"], j["sha256"], j["at"],
                             f"{j['file']} seal {j['seal']}"))
        con.close()
    except (OSError, sqlite3.Error) as exc:
        return Problem("Settings", f"the ledger in {folder} could not be written ({exc}); the "
                       "close was recorded in the workbook, and the ledger is brought up to "
                       "date at the next close", "ledger", "warning")
    return None


def compare(folder: Path | None, book: str, records: list[Record]) -> list[Problem]:
    """Every close and reopen the ledger holds for this workbook, against its records."""
    if folder is None or not book:
        return []
    if not (folder / LEDGER_FILE).is_file():
        return [] if folder.is_dir() else [Problem(
            "Settings", f"the ledger folder {folder} cannot be reached, so the closes were not "
            "compared with it", "ledger", "warning")]
    try:
        con = _open(folder)
        rows = con.execute("SELECT kind, seq, period, seal FROM entries WHERE book = ? AND "
                           "kind != 'journal' ORDER BY seq", (book,)).fetchall()
        con.close()
    except (OSError, sqlite3.Error) as exc:
        return [Problem("Settings", f"the ledger in {folder} cannot be read ({exc})", "ledger",
                        "warning")]
    by_seq = {r.seq: r for r in records}
    problems = []
    for kind, seq, period, seal in rows:
        mine = by_seq.get(seq)
        if mine is None:
            problems.append(Problem("Closes", f"the ledger in {folder} records close #{seq} "
                                    f"({kind} {period}, seal {short(seal)}), which this workbook "
                                    "no longer holds: its closes were rewritten or it is an older "
                                    "copy", "ledger-differs"))
        elif mine.seal != seal:
            problems.append(Problem("Closes", f"close #{seq} ({period}) is sealed {short(mine.seal)} "
                                    f"in the workbook but {short(seal)} in the ledger in {folder}: "
                                    "what was published has been rewritten since", "ledger-differs"))
    return problems
