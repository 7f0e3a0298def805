"""The office's ledger, written: each close, reopen and journal appended (only the shell's
jobs call this; the read stage compares with `brm_xl.books.ledger`, read-only).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from brm_xl.books.ledger import LEDGER_FILE, SCHEMA
from brm_xl.contract.history import Record
from brm_xl.problems import Problem


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
