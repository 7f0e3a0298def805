"""Review before the statement: sharp changes, new services and unallocated cloud cost are
flagged; a close refuses a month with an undecided flag; a held line waits for the next
open month; and FOCUS list prices give each agency what the state's agreements saved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from brm_xl.app.refresh import refresh
from brm_xl.contract.periods import parse_period
from brm_xl.pipeline.model import build_model
from brm_xl.reports.data import agency_report
from brm_xl.reports.render import environment, render_html
from tests.helpers import (
    Block,
    agencies,
    cli_in_process,
    digest,
    headcount,
    minimal_book,
    output_rows,
    rate_card,
    usage,
    write_book,
)

DECISION_HEADERS = ["period", "agency_id", "service_id", "decision", "decided_by", "decided_on",
                    "note"]


def decisions(*rows):
    return Block("ReviewDecisions", DECISION_HEADERS,
                 [(p, a, s, d, "Finance Clerk", dt.date(2026, 10, 5), None) for p, a, s, d in rows])


def book(*decided, settings=()):
    """DOT's email triples in September (+200%, +800.00); DOC adds the desk (new, 1,500.00);
    DOR changes a little; AGR's first billed month is September."""
    base = minimal_book(
        Agencies=agencies("AGR", "DOC", "DOR", "DOT"),
        RateCard=rate_card(("EMAIL", D("4.00"), "2026-01", None),
                           ("DESK", D("15.00"), "2026-01", None)),
        Usage=usage(("2026-08", "DOT", "EMAIL", 100), ("2026-09", "DOT", "EMAIL", 300),
                    ("2026-08", "DOC", "EMAIL", 100), ("2026-09", "DOC", "EMAIL", 100),
                    ("2026-09", "DOC", "DESK", 100),
                    ("2026-08", "DOR", "EMAIL", 500), ("2026-09", "DOR", "EMAIL", 520),
                    ("2026-09", "AGR", "DESK", 1000)),
        Headcount=headcount(*[(m, a, 100) for m in ("2026-08", "2026-09")
                              for a in ("AGR", "DOC", "DOR", "DOT")]))
    if decided:
        base.blocks.append(decisions(*decided))
    base.settings = [("review_min_amount", 500), *settings]
    return base


def review_rows(path):
    return [(r["period"][:7], r["agency_id"], r["service_id"], r["amount"], r["prior_amount"],
             r["change_pct"], r["reason"], r["decision"]) for r in output_rows(path, "Review")]


def test_sharp_changes_and_new_services_are_flagged_for_review(tmp_path):
    path = write_book(tmp_path / "b.xlsx", book(("2026-09", "DOR", "EMAIL", "approve")))
    result = refresh(path, as_of=dt.date(2026, 9, 30))
    assert review_rows(path) == [
        ("2026-09", "DOC", "DESK", "1500", None, None, "new to DOC since 2026-08", None),
        ("2026-09", "DOT", "EMAIL", "1200", "400", "200", "changed +200.0% since 2026-08", None),
    ]  # DOR: +4%; AGR: its first billed month (a 15,000.00 desk bill) flags nothing
    assert ("ReviewDecisions!D2: 2026-09 DOR EMAIL was never flagged for review, so this "
            "decision changes nothing") in [str(w) for w in result.warnings]


def test_close_refuses_an_undecided_flag_and_a_held_line_waits_for_the_next_open_month(tmp_path):
    path = write_book(tmp_path / "b.xlsx", book(("2026-09", "DOT", "EMAIL", "hold")))
    before = digest(path)
    done = cli_in_process("close", str(path), "--period", "2026-09")
    assert done.returncode == 1
    assert ("ReviewDecisions: 2026-09 DOC DESK 1,500.00 (new to DOC since 2026-08) is flagged "
            "for review and has no decision; add a ReviewDecisions row (approve, or hold to bill "
            "it in a later month)") in done.stdout + done.stderr
    assert "DOT EMAIL" not in done.stdout + done.stderr  # decided: held
    assert digest(path) == before

    path = write_book(tmp_path / "b.xlsx", book(("2026-09", "DOT", "EMAIL", "hold"),
                                                ("2026-09", "DOC", "DESK", "approve")))
    done = cli_in_process("close", str(path), "--period", "2026-09")
    assert done.returncode == 0, done.stdout + done.stderr
    charges = [(r["period"][:7], r["agency_id"], r["service_id"], r["amount"], r["reason"])
               for r in output_rows(path, "Charges") if r["agency_id"] == "DOT"]
    assert charges == [
        ("2026-08", "DOT", "EMAIL", "400", None),
        ("2026-10", "DOT", "EMAIL", "1200", "held for review in 2026-09, billed in 2026-10")]
    published = [(r["agency_id"], r["service_id"]) for r in output_rows(path, "PublishedCharges")]
    assert ("DOC", "DESK") in published and ("DOT", "EMAIL") not in published
    assert output_rows(path, "Review") == []  # the closed month's flags leave Review
    # the agency's report of the month says where its line went
    model = build_model(path, dt.date(2026, 9, 30))
    bill = agency_report(model, "DOT", parse_period("2026-09")).bill
    assert [(h.service_id, h.amount, h.billed_in) for h in bill.held] == [
        ("EMAIL", D("1200.00"), "2026-10")]
    assert bill.total == D("0.00")
    later = agency_report(model, "DOT", parse_period("2026-10")).bill
    assert [(a.amount, a.reason) for a in later.adjustments] == [
        (D("1200.00"), "held for review in 2026-09, billed in 2026-10")]


def test_review_settings_move_the_line(tmp_path):
    path = write_book(tmp_path / "b.xlsx", book(settings=[("review_change_pct", 250)]))
    refresh(path, as_of=dt.date(2026, 9, 30))
    assert [r[:3] for r in review_rows(path)] == [("2026-09", "DOC", "DESK")]  # +200% < 250%


FOCUS = ("BillingAccountId,BillingPeriodStart,ChargePeriodStart,ChargeCategory,ServiceName,"
         "ServiceCategory,SubAccountId,SubAccountName,ProviderName,BillingCurrency,EffectiveCost,"
         "ListCost")


def test_list_price_beside_the_bill_and_what_the_agreements_saved(tmp_path):
    rows = [
        # DOT's EC2: two rows, both with a list price; S3: one row without one (blank)
        "A1,2026-09-01T00:00:00Z,2026-09-01T00:00:00Z,Usage,Amazon EC2,Compute,111,dot,AWS,USD,"
        "100.00,130.005",
        "A1,2026-09-01T00:00:00Z,2026-09-01T00:00:00Z,Usage,Amazon EC2,Compute,111,dot,AWS,USD,"
        "50.00,65.00",
        "A1,2026-09-01T00:00:00Z,2026-09-01T00:00:00Z,Usage,Amazon S3,Storage,111,dot,AWS,USD,"
        "20.00,",
        "A1,2026-09-01T00:00:00Z,2026-09-01T00:00:00Z,Usage,Amazon S3,Storage,111,dot,AWS,USD,"
        "5.00,6.00",
        # a sub-account no agency has: 2,000.00 unallocated, flagged above the minimum
        "A1,2026-09-01T00:00:00Z,2026-09-01T00:00:00Z,Usage,Amazon EC2,Compute,999,lab,AWS,USD,"
        "2000.00,2600.00",
    ]
    (tmp_path / "aws.csv").write_text("\n".join([FOCUS, *rows]) + "\n")
    base = minimal_book(FocusMap=Block("FocusMap", ["sub_account_id", "sub_account_name",
                                                    "agency_id"], [("111", None, "DOT")]))
    base.settings = [("focus_files", "aws.csv"), ("focus_surcharge_pct", 2)]
    path = write_book(tmp_path / "b.xlsx", base)
    refresh(path, as_of=dt.date(2026, 9, 30))
    cloud = {r["service_name"]: r for r in output_rows(path, "Charges") if r["agency_id"] == "DOT"
             and r["unit"] == "USD of cloud cost"}
    assert (cloud["Amazon EC2"]["amount"], cloud["Amazon EC2"]["list_amount"]) == ("153", "195.01")
    assert cloud["Amazon S3"]["list_amount"] is None  # one row of the line had no list price
    assert output_rows(path, "Charges")[0]["list_amount"] is None  # usage: no list price
    summary = {r["agency_id"]: r for r in output_rows(path, "AgencySummary")}
    assert (summary["DOT"]["list_cost"], summary["DOT"]["discount"]) == ("195.01", "42.01")
    assert (summary["DOR"]["list_cost"], summary["DOR"]["discount"]) == (None, None)
    assert [(r["agency_id"], r["service_id"], r["amount"]) for r in output_rows(path, "Review")] \
        == [("UNALLOCATED", "Amazon EC2", "2000")]
    model = build_model(path, dt.date(2026, 9, 30))
    report = agency_report(model, "DOT", parse_period("2026-09"))
    assert (report.value.list_cost, report.value.saved) == (D("195.01"), D("42.01"))
    html = render_html(environment(), report)
    assert ("For your cloud services, at list price you would have paid <strong>$195.01</strong>; "
            "the state's agreements saved you <strong>$42.01</strong>.") in html.replace("&#39;", "'")


def test_a_held_line_stays_in_the_month_it_went_to_once_that_month_closes(tmp_path):
    months = ("2026-08", "2026-09", "2026-10", "2026-11")
    base = minimal_book(
        Agencies=agencies("DOC", "DOT"),
        RateCard=rate_card(("EMAIL", D("4.00"), "2026-01", None)),
        Usage=usage(("2026-08", "DOT", "EMAIL", 100), ("2026-09", "DOT", "EMAIL", 300),
                    ("2026-10", "DOT", "EMAIL", 300), ("2026-11", "DOT", "EMAIL", 300),
                    *[(m, "DOC", "EMAIL", 100) for m in months]),
        Headcount=headcount(*[(m, a, 100) for m in months for a in ("DOC", "DOT")]))
    base.blocks.append(decisions(("2026-09", "DOT", "EMAIL", "hold")))
    base.settings = [("review_min_amount", 500)]
    path = write_book(tmp_path / "b.xlsx", base)
    for month in ("2026-09", "2026-10"):
        done = cli_in_process("close", str(path), "--period", month)
        assert done.returncode == 0, done.stdout + done.stderr
    done = cli_in_process("refresh", str(path), "--as-of", "2026-11-30")
    assert done.returncode == 0, done.stdout + done.stderr
    held = [(r["period"][:7], r["amount"]) for r in output_rows(path, "Charges")
            if r["agency_id"] == "DOT" and r["reason"]]
    assert held == [("2026-10", "1200")]  # where 2026-10's close published it


def test_the_previous_billed_month_is_the_last_with_a_service_and_a_range_report_counts_held_lines(
        tmp_path):
    base = minimal_book(
        Agencies=agencies("DOT", "DOR"),
        Usage=usage(("2026-07", "DOT", "EMAIL", 300), ("2026-09", "DOT", "EMAIL", 300),
                    ("2026-07", "DOR", "EMAIL", 100), ("2026-08", "DOR", "EMAIL", 400),
                    ("2026-09", "DOR", "EMAIL", 400)),
        Headcount=headcount(*[(m, a, 100) for m in ("2026-07", "2026-08", "2026-09")
                              for a in ("DOT", "DOR")]),
        Adjustments=Block("Adjustments", ["period", "agency_id", "service_id", "amount", "reason"],
                          [("2026-08", "DOT", None, 10, "Project fee")]))
    base.blocks.append(decisions(("2026-08", "DOR", "EMAIL", "hold")))
    base.settings = [("review_min_amount", 500)]
    path = write_book(tmp_path / "b.xlsx", base)
    refresh(path, as_of=dt.date(2026, 9, 30))
    # DOT's August fee is not a month of email: September compares with July, unchanged
    assert [r[:3] for r in review_rows(path)] == [("2026-08", "DOR", "EMAIL")]
    model = build_model(path, dt.date(2026, 9, 30))
    summer = agency_report(model, "DOR", parse_period("2026-07..2026-09")).bill
    assert summer.total == D("3600.00") and summer.held == ()  # held and billed inside
    august = agency_report(model, "DOR", parse_period("2026-08")).bill
    assert [h.billed_in for h in august.held] == ["2026-09"] and august.total == D("0.00")
