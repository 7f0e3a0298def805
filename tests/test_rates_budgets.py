"""Rates, budgets and the close cycle's dates (issue 20, defects 14 to 16): each figure worked
out by hand in the comments beside it, never taken from the engine."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal as D

from brm_xl.model import build_model

from .helpers import Block, headcount, minimal_book, output_rows, usage, write_book

DISPUTE_HEADERS = ["dispute_id", "agency_id", "period", "service_id", "amount", "reason",
                   "raised_on", "status", "resolved_on", "resolution", "credit"]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "brm_xl", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


# ---- dates follow --as-of (defect 16) ---------------------------------------------------

def dispute_book(path):
    months = ("2026-09", "2026-10")
    return write_book(path, minimal_book(
        Usage=usage(*[(m, a, "EMAIL", q) for m in months for a, q in (("DOT", 100), ("DOR", 50))]),
        Headcount=headcount(*[(m, a, 10) for m in months for a in ("DOT", "DOR")]),
        Disputes=Block("Disputes", DISPUTE_HEADERS, [
            ("D1", "DOT", "2026-09", "EMAIL", D("40.00"), "Billed twice", dt.date(2026, 10, 3),
             "Open", None, None, None),
            ("D2", "DOR", "2026-09", "EMAIL", D("10.00"), "Wrong count", dt.date(2026, 10, 1),
             "Accepted", None, None, None)])))


def test_dispute_ages_and_credits_follow_as_of(tmp_path):
    path = dispute_book(tmp_path / "b.xlsx")
    done = cli("refresh", path, "--as-of", "2026-10-15")
    assert done.returncode == 0, done.stderr
    log = {r["dispute_id"]: r for r in output_rows(path, "DisputeLog")}
    # raised 2026-10-03, open on 2026-10-15: 12 days (the clock would give 61 on 2026-12-03)
    assert log["D1"]["age_days"] == "12"
    # accepted with no resolved_on: credited in the month of --as-of, not of today
    assert (log["D2"]["age_days"], log["D2"]["credited_in"]) == ("14", "2026-10")
    later = build_model(path, dt.date(2026, 11, 2)).chargeback.disputes
    assert {d.dispute_id: d.age_days for d in later} == {"D1": 30, "D2": 32}
    # once on a bill, the credit stays in October (DisputeLog credited_in), whatever the day
    assert [d.credited_in for d in later if d.dispute_id == "D2"] == ["2026-10"]


def test_vendor_corrective_actions_follow_as_of(tmp_path):
    from .test_vendors import vendor_book

    path = vendor_book(tmp_path / "b.xlsx", actions=[
        ("CAP-1", "V1", dt.date(2026, 9, 1), "Slow incident response", None, "Add night shift",
         "Sam Vendor", dt.date(2026, 9, 10), dt.date(2026, 9, 20))])

    def september(as_of):
        cards = build_model(path, as_of).chargeback.scorecard
        row = next(r for r in cards if r.period == "2026-09")
        return row.open_actions, row.overdue_actions

    assert september(dt.date(2026, 9, 5)) == (1, 0)  # opened, not due until the 10th
    assert september(dt.date(2026, 9, 15)) == (1, 1)  # past due, still open
    assert september(dt.date(2026, 10, 1)) == (0, 0)  # closed on the 20th, by the month's end
