"""The office's ledger: each close, reopen and journal, appended to a file outside the
workbook (`brm_xl.books.ledger_writer`), and compared with the workbook on every load.

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






def compare(folder: Path | None, book: str, records: list[Record]) -> list[Problem]:
    """Every close and reopen the ledger holds for this workbook, against its records."""
    if folder is None or not book:
        return []
    if not (folder / LEDGER_FILE).is_file():
        return [] if folder.is_dir() else [Problem(
            "Settings", f"the ledger folder {folder} cannot be reached, so the closes were not "
            "compared with it", "ledger", "warning")]
    try:
        # read-only: a check never creates, migrates or locks the ledger for writing
        con = sqlite3.connect((folder / LEDGER_FILE).resolve().as_uri() + "?mode=ro",
                              uri=True, timeout=30)
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
