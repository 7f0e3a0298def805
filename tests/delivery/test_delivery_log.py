"""The delivery journal: the last word on each message, and a line cut by a kill."""

from __future__ import annotations

import datetime as dt

from brm_xl.delivery.journal import UNKNOWN_ERROR, Journal


def test_the_journal_gives_the_last_word_and_survives_a_cut_line(tmp_path):
    book = tmp_path / "b.xlsx"
    journal = Journal(book)
    journal.write("sending", "2026-09", "DOT", "a@x", None, "<1@x>")
    journal.write("sent", "2026-09", "DOT", "a@x", None, "<1@x>", dt.datetime(2026, 10, 1, 9))
    journal.write("sending", "2026-09", "DOR", "b@x", "c@x", "<2@x>")
    with open(journal.path, "a") as fh:
        fh.write('{"state": "sent", "message_id": "<2@x')  # the kill cut this line short
    entries = {e.agency_id: e for e in journal.entries()}
    assert entries["DOT"].status == "sent" and entries["DOT"].sent_at == dt.datetime(2026, 10, 1, 9)
    assert entries["DOR"].status == "unknown" and entries["DOR"].error == UNKNOWN_ERROR
    journal.settle(["<1@x>"])
    assert journal.path.exists()  # DOR is not recorded yet
    journal.settle(["<1@x>", "<2@x>"])
    assert not journal.path.exists()
