"""The delivery journal: what happened to each message, on disk before the workbook knows.

The Deliveries table is written once a batch ends; a batch can end by a kill, a reboot or
a closed laptop lid. So each message is journaled beside the workbook, flushed to disk,
*before* it is handed to the mail server ("sending") and again after ("sent" or
"failed"). The next run reads the journal first: a message the server accepted is
recorded in Deliveries and never sent again; a message left "sending" may or may not
have gone out, so it is recorded as `unknown` and listed for the user to check, and is
not sent again unless asked (`--resend`). Once Deliveries holds everything the journal
says, the journal is removed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from brm_xl.contract.tables import text_spec
from brm_xl.pipeline.outputs import columns_of
from brm_xl.problems import DeliveryError

UNKNOWN_ERROR = ("the run stopped while this message was with the mail server, so whether it "
                 "went out is not known; check the recipient's mailbox or the server's log, "
                 "and send it again with --resend if it did not arrive")


def journal_path(workbook: Path) -> Path:
    return workbook.with_name(f".~{workbook.name}.brm-deliveries.jsonl")


@dataclass(frozen=True)
class Entry:
    """The last word on one message: its Deliveries row."""

    period: str
    agency_id: str
    to: str
    cc: str | None
    message_id: str
    status: str  # sent, failed, unknown, drafted (a draft in the sending mailbox)
    sent_at: dt.datetime | None
    error: str | None
    answer: str | None = None  # the server's word: Graph's request id, the draft's id

    def row(self) -> tuple[object, ...]:
        """Its Deliveries row: the fields in order (the table's columns are these fields)."""
        return dataclasses.astuple(self)


class Journal:
    """Appends one flushed line per event; reads back the last word on every message."""

    def __init__(self, workbook: Path):
        self.path = journal_path(workbook)

    def write(self, state: str, period: str, agency_id: str, to: str, cc: str | None,
              message_id: str, at: dt.datetime | None = None, error: str | None = None,
              answer: str | None = None) -> None:
        line = json.dumps({"state": state, "period": period, "agency_id": agency_id, "to": to,
                           "cc": cc, "message_id": message_id,
                           "at": at.isoformat() if at else None, "error": error,
                           "answer": answer})
        try:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:  # no journal, no send: a message must never go unrecorded
            raise DeliveryError(f"cannot write the delivery journal {self.path.name} beside the "
                                f"workbook ({exc.strerror}); nothing more was sent") from None

    def entries(self) -> list[Entry]:
        """Each journaled message's outcome; one left at "sending" is `unknown`."""
        last: dict[str, dict[str, object]] = {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        for line in lines:
            try:
                event = json.loads(line)
                last[str(event["message_id"])] = event
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by the kill that ended the run
        out = []
        for message_id, e in last.items():
            status = {"sent": "sent", "failed": "failed", "drafted": "drafted"}.get(
                str(e.get("state")), "unknown")
            at = e.get("at")
            cc = str(e["cc"]) if e.get("cc") else None
            error = str(e["error"]) if e.get("error") else None
            out.append(Entry(str(e.get("period")), str(e.get("agency_id")), str(e.get("to")),
                             cc, message_id, status,
                             dt.datetime.fromisoformat(str(at)) if at and status in
                             ("sent", "drafted") else None,
                             (error or UNKNOWN_ERROR) if status == "unknown" else error,
                             str(e["answer"]) if e.get("answer") else None))
        return out

    def settle(self, recorded: Iterable[str]) -> None:
        """Remove the journal once every message in it is recorded in Deliveries."""
        if all(e.message_id in set(recorded) for e in self.entries()):
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


DELIVERIES = columns_of(Entry, agency_id="id")


DELIVERIES_SPEC = text_spec("Deliveries", [c.name for c in DELIVERIES])
