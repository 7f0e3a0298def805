"""Cell kinds, one at a time: what each parses, and what it says is wrong."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import polars as pl
import pytest

from brm_xl.contract import kinds
from brm_xl.contract import tables as C


def parsed(kind: str, texts: list[str | None], choices: tuple[str, ...] = ()) -> list[tuple]:
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    value, reason = kinds.parse(kind, pl.col("t"), choices)
    out = frame.select(value.alias("v"), reason.alias("r"))
    return list(out.iter_rows())


def test_money_kinds_take_exact_decimals_and_say_what_is_wrong():
    rows = parsed(C.MONEY, ["12.50", " +3 ", "1.234", "-1", "abc", "1e3", None, "1000000000000", "999999999999"])
    assert rows[0] == (D("12.50"), None) and rows[1] == (D("3"), None)
    assert "more than 2 decimal places" in rows[2][1]
    assert rows[3][1] == "is negative; it must be 0 or more"
    assert rows[4][1] == rows[5][1] == "is not a number"  # no exponents: 1e3 is not money
    assert rows[6] == (None, None)  # blank is not a kind problem (required is checked apart)
    assert "too large" in rows[7][1] and rows[8] == (D("999999999999"), None)
    assert parsed(C.SIGNED_MONEY, ["-12.50"]) == [(D("-12.50"), None)]
    assert parsed(C.RATE, ["0"])[0][1] == "must be more than 0"


def test_months_dates_scores_and_choices():
    months = parsed(C.MONTH, ["2026-09", "2026-9-01", "2026-09-15 00:00:00", "2026-13", "2026-06-31"])
    assert [v for v, _ in months[:3]] == ["2026-09", "2026-09", "2026-09"]
    assert months[3][1].startswith("is not a month") and months[4][1].startswith("is not a month")
    dates = parsed(C.DATE, ["2026-02-28", "2026-02-29", "2026-09"])
    assert dates[0] == (dt.date(2026, 2, 28), None)
    assert dates[1][1].startswith("is not a date") and dates[2][1].startswith("is not a date")
    scores = parsed(C.SCORE, ["5", "4.0", "0", "6", "3.5"])
    assert [v for v, r in scores if r is None] == [5, 4]
    assert all(r == "is not a whole number from 1 to 5" for _, r in scores[2:])
    channels = ("In person - group", "Email")
    got = parsed(C.CHOICE, ["in person-group", "EMAIL", "Fax"], channels)
    assert [v for v, _ in got] == ["In person - group", "Email", None]
    assert got[2][1] == "is not one of: In person - group, Email"
    assert kinds.choice_key("  In  Person-Group ") == "in person - group"














@pytest.mark.parametrize("kind", [C.COUNT, C.QUANTITY])
def test_counts_and_quantities_refuse_negatives(kind):
    assert parsed(kind, ["-1"])[0][1] in ("is negative; it must be 0 or more",
                                           "is not a whole number, 0 or more")
