"""Unit tests for the core modules, one function at a time: cell kinds, money, survey
figures, chart geometry, header text, cell text and log cells read back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import polars as pl
import pytest

from brm_xl.billing.chargeback import as_money, cents, previous_month, product_cents, tenths
from brm_xl.contract import kinds
from brm_xl.contract import tables as C
from brm_xl.delivery.messages import address, one_line
from brm_xl.pipeline.outputs import _typed
from brm_xl.relationships.satisfaction import average, csat, follow_ups, is_open, known_by
from brm_xl.reports.charts import nice_max, stacked_comparison
from brm_xl.workbook.cells import MAX_TEXT, escape, text_cell


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


def test_money_rounds_half_up_to_cents_and_products_are_exact():
    assert cents(D("0.125")) == D("0.13") and cents(D("21.735")) == D("21.74")
    assert cents(D("-0.125")) == D("-0.13") and tenths(D("-31.25")) == D("-31.3")
    assert as_money(-1250) == D("-12.50") and str(as_money(5)) == "0.05"
    assert previous_month("2026-01") == "2025-12" and previous_month("2026-10") == "2026-09"
    frame = pl.DataFrame({"q": [D("3"), D("0.5"), D("1234567.891")], "p": [D("0.0417"), D("0.25"), D("0.0001")]},
                         schema={"q": pl.Decimal(38, 9), "p": pl.Decimal(38, 9)})
    got = frame.select(product_cents(pl.col("q"), pl.col("p"))).to_series().to_list()
    # 0.1251 -> 13 cents; 0.125 -> 13 cents (half up); 123.4567891 -> 12346 cents
    assert got == [13, 13, 12346]


def test_survey_figures_and_the_follow_up_rule():
    assert average([5, 4, 4]) == D("4.33") and average([1, 2]) == D("1.50")
    assert csat([]) is None and csat([5, 4, 3]) == D("66.7") and csat([1]) == D("0.0")
    day = dt.date(2026, 9, 15)
    rows = [{"submitted_on": dt.date(2026, 9, 15), "score": 2, "followed_up_on": None},
            {"submitted_on": dt.date(2026, 9, 16), "score": 1, "followed_up_on": None}]
    assert known_by(rows, day) == rows[:1]  # a response submitted later does not exist yet
    assert is_open(rows[0], 4) and not is_open({**rows[0], "score": 4}, 4)
    assert not is_open({**rows[0], "followed_up_on": day}, 4)
    responses = [
        {"response_id_text": "R2", "agency": "DOT", "respondent": "b", "score": 3, "comment": None,
         "submitted_on": dt.date(2026, 9, 1), "followed_up_on": None},
        {"response_id_text": "R1", "agency": "DOR", "respondent": "a", "score": 1, "comment": "x",
         "submitted_on": dt.date(2026, 9, 10), "followed_up_on": None},
        {"response_id_text": "R3", "agency": "DOT", "respondent": "c", "score": 5, "comment": None,
         "submitted_on": dt.date(2026, 9, 2), "followed_up_on": None},
    ]
    found = follow_ups(responses, {"DOT": "Pat"}, below=4, days=5, as_of=dt.date(2026, 9, 12))
    assert [(f.response_id, f.overdue, f.brm_manager) for f in found] == [
        ("R2", True, "Pat"), ("R1", False, None)]  # overdue first; R3 scored 5
    assert found[0].due_on == dt.date(2026, 9, 6)


def test_chart_geometry():
    assert [nice_max(v) for v in (0, 0.4, 1, 7, 12, 180, 2400, 26000)] == [
        1.0, 1, 1, 10, 20, 200, 2500, 50000]
    chart = stacked_comparison([("Hosting", D("60")), ("Security", D("40"))], D("50"))
    plot = chart["width"] - 110 - 48
    assert [s["w"] for s in chart["segments"]] == [round(60 * plot / 100, 1), round(40 * plot / 100, 1)]
    assert chart["charged_w"] == round(50 * plot / 100, 1) and chart["total"] == 100.0
    assert chart["ticks"][-1]["value"] == 100.0


def test_header_text_cannot_add_a_header():
    assert one_line("Pat\r\nBcc: all@x.example") == "Pat Bcc: all@x.example"
    assert one_line(None) == ""
    head = address("Lee\nBcc: x@y.example", "lee@agency.example")
    assert "\n" not in str(head) and head.addr_spec == "lee@agency.example"


def test_cell_text_is_escaped_trimmed_and_never_a_formula():
    assert escape("a<b>&\x00\x1f c") == "a&lt;b&gt;&amp; c"
    assert len(escape("x" * (MAX_TEXT + 10))) == MAX_TEXT
    cell = text_cell("B2", "=HYPERLINK(\"http://evil\")", 3)
    assert cell.startswith('<c r="B2" s="3" t="inlineStr">') and "<f>" not in cell
    assert 'xml:space="preserve"' in text_cell("A1", " padded ", 0)


def test_log_cells_read_back_as_the_values_they_were():
    assert _typed("datetime", "46321.5") == dt.datetime(2026, 10, 26, 12, 0)
    assert _typed("date", "2026-10-27T09:00:00") == dt.date(2026, 10, 27)
    assert _typed("money", "12.50") == D("12.50") and _typed("int", "3.0") == 3
    assert _typed("money", "n/a") == "n/a" and _typed("date", None) is None


@pytest.mark.parametrize("kind", [C.COUNT, C.QUANTITY])
def test_counts_and_quantities_refuse_negatives(kind):
    assert parsed(kind, ["-1"])[0][1] in ("is negative; it must be 0 or more",
                                           "is not a whole number, 0 or more")
