"""Every chargeback rule of the contract, on small workbooks written inline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from brm_xl.app.refresh import refresh
from brm_xl.billing.chargeback import compute, previous_month
from brm_xl.contract.money import cents
from brm_xl.pipeline.read import load_inputs
from brm_xl.problems import errors, warnings
from tests.helpers import (
    Block,
    headcount,
    minimal_book,
    output_rows,
    rate_card,
    usage,
    write_book,
)


def run(tmp_path, book):
    path = write_book(tmp_path / "book.xlsx", book)
    inputs, problems = load_inputs(path)
    assert not errors(problems), [str(p) for p in problems]
    return compute(inputs, dt.date(2026, 11, 15)), problems


@pytest.mark.parametrize("value, expected", [
    ("0.125", "0.13"), ("0.135", "0.14"), ("21.735", "21.74"), ("2.675", "2.68"),
    ("1.005", "1.01"), ("-0.125", "-0.13"), ("0.124999", "0.12"),
])
def test_cents_round_half_up(value, expected):
    assert cents(D(value)) == D(expected)


def test_three_point_one_oh_five_times_seven_is_21_74():
    assert cents(D("3.105") * 7) == D("21.74")


def test_amount_is_quantity_times_rate_rounded_half_up(tmp_path):
    book = minimal_book(
        RateCard=rate_card(("EMAIL", D("3.105"), "2026-01", None)),
        Usage=usage(("2026-09", "DOT", "EMAIL", 7)),
        Headcount=headcount(("2026-09", "DOT", 7)),
    )
    result, _ = run(tmp_path, book)
    (line,) = result.charge_lines()
    assert (line.quantity, line.rate, line.amount) == (D(7), D("3.105"), D("21.74"))


def test_duplicate_usage_keys_are_summed_before_pricing(tmp_path):
    # three rows of 0.125 GB at $1.00: priced per row they would round to 0.13 x 3 = 0.39
    book = minimal_book(
        RateCard=rate_card(("EMAIL", D("1.00"), "2026-01", None)),
        Usage=usage(("2026-09", "DOT", "EMAIL", 0.125), ("2026-09", "dot", "email", 0.125),
                    (dt.date(2026, 9, 20), "DOT", "EMAIL ", 0.125)),
    )
    result, _ = run(tmp_path, book)
    (line,) = result.charge_lines()
    assert line.quantity == D("0.375") and line.amount == D("0.38")
    assert line.agency_id == "DOT" and line.service_id == "EMAIL"


def test_rate_change_mid_year_prices_each_month_by_its_rate(tmp_path):
    book = minimal_book(
        RateCard=rate_card(("EMAIL", D("4.00"), "2025-07", "2025-12"),
                           ("EMAIL", D("4.25"), dt.date(2026, 1, 1), None)),
        Usage=usage(("2025-12", "DOT", "EMAIL", 10), ("2026-01", "DOT", "EMAIL", 10)),
        Headcount=headcount(("2025-12", "DOT", 10), ("2026-01", "DOT", 10)),
    )
    result, _ = run(tmp_path, book)
    assert [(c.period, c.rate, c.amount) for c in result.charge_lines()] == [
        ("2025-12", D("4"), D("40.00")), ("2026-01", D("4.25"), D("42.50"))]


def test_months_as_text_and_as_dates_first_and_mid_month(tmp_path):
    book = minimal_book(
        Usage=usage(("2026-09", "DOT", "EMAIL", 1), (dt.date(2026, 9, 1), "DOT", "EMAIL", 2),
                    (dt.date(2026, 9, 17), "DOT", "EMAIL", 4)),
        Headcount=headcount((dt.date(2026, 9, 30), "DOT", 7)),
    )
    result, _ = run(tmp_path, book)
    (line,) = result.charge_lines()
    assert line.period == "2026-09" and line.quantity == 7
    assert result.summary[0].users == 7


def test_cost_per_user_prior_change_and_statewide(tmp_path):
    book = minimal_book(
        Usage=usage(("2026-08", "DOT", "EMAIL", 100), ("2026-09", "DOT", "EMAIL", 110),
                    ("2026-09", "DOR", "EMAIL", 30)),
        Headcount=headcount(("2026-08", "DOT", 300), ("2026-09", "DOT", 300),
                            ("2026-09", "DOR", 7)),
    )
    result, _ = run(tmp_path, book)
    by = {(r.period, r.agency_id): r for r in result.summary}
    aug, sep, dor = by[("2026-08", "DOT")], by[("2026-09", "DOT")], by[("2026-09", "DOR")]
    assert aug.cost_per_user == D("1.33")  # 400 / 300 = 1.333..
    assert sep.cost_per_user == D("1.47") and sep.prior_cost_per_user == D("1.33")
    assert sep.change_pct == D("10.5")  # (1.47 / 1.33 - 1) x 100 = 10.526..
    assert dor.cost_per_user == D("17.14")  # 120 / 7
    assert sep.statewide_cost_per_user == D("1.82")  # (440 + 120) / 307 = 1.824..
    assert aug.change_pct is None and aug.prior_cost_per_user is None


def test_missing_headcount_and_zero_users_leave_cost_per_user_blank_with_warnings(tmp_path):
    book = minimal_book(Headcount=headcount(("2026-09", "DOR", 0)))
    result, problems = run(tmp_path, book)
    by = {r.agency_id: r for r in result.summary}
    assert by["DOT"].users is None and by["DOT"].cost_per_user is None
    assert by["DOR"].users == 0 and by["DOR"].cost_per_user is None
    assert by["DOT"].statewide_cost_per_user is None  # no agency has users that month
    messages = [str(w) for w in result.warnings]
    assert "Headcount: no users for DOT in 2026-09; its cost per user is left blank" in messages
    assert "Headcount!C2: users is 0 for DOR in 2026-09; its cost per user is left blank" in messages


def test_adjustments_become_charge_lines_and_count_in_totals(tmp_path):
    adjustments = Block("Adjustments", ["period", "agency_id", "service_id", "amount", "reason"], [
        ("2026-09", "DOT", "EMAIL", D("-40.00"), "Credit: disputed mailboxes"),
        ("2026-09", "dor", None, D("12.34"), "=HYPERLINK(\"http://x\")"),
    ])
    result, _ = run(tmp_path, minimal_book(Adjustments=adjustments))
    adj = [c for c in result.charge_lines() if c.quantity is None]
    assert [(a.agency_id, a.service_id, a.amount, a.reason) for a in adj] == [
        ("DOR", None, D("12.34"), "=HYPERLINK(\"http://x\")"),
        ("DOT", "EMAIL", D("-40.00"), "Credit: disputed mailboxes")]
    by = {r.agency_id: r for r in result.summary}
    assert by["DOT"].charges == D("360.00") and by["DOR"].charges == D("212.34")


def test_standalone_cost_and_net_value(tmp_path):
    standalone = Block("StandaloneCosts", ["service_id", "component", "unit_cost"], [
        ("EMAIL", "Hardware refresh", D("1.1050")), ("EMAIL", "Staff", D("2.40"))])
    result, _ = run(tmp_path, minimal_book(StandaloneCosts=standalone))
    by = {r.agency_id: r for r in result.summary}
    # DOT: 100 x 1.105 = 110.50, 100 x 2.40 = 240.00 -> 350.50; charged 400.00
    assert by["DOT"].standalone_cost == D("350.50") and by["DOT"].net_value == D("-49.50")
    dot = result.value_lines.filter(agency_id="DOT")
    assert sum(dot["amount"].to_list()) == D("350.50") and dot["cents"].to_list() == [11050, 24000]


def test_net_value_blank_without_standalone_costs(tmp_path):
    result, _ = run(tmp_path, minimal_book())
    assert all(r.standalone_cost is None and r.net_value is None for r in result.summary)
    assert result.recovery is None


def test_recovery_against_cost_pools(tmp_path):
    pools = Block("CostPools", ["period", "service_id", "cost"], [
        ("2026-09", "EMAIL", D("500.00")), ("2026-09", "EMAIL", D("100.00"))])
    result, _ = run(tmp_path, minimal_book(CostPools=pools))
    (row,) = result.recovery
    assert (row.cost, row.charged, row.variance, row.recovery_pct) == (
        D("600.00"), D("600.00"), D("0.00"), D("100.0"))


def test_totals_cross_foot_through_refresh(tmp_path):
    path = write_book(tmp_path / "book.xlsx", minimal_book())
    refresh(path, as_of=dt.date(2026, 10, 1))
    charges = output_rows(path, "Charges")
    summary = output_rows(path, "AgencySummary")
    assert sum(D(c["amount"]) for c in charges) == sum(D(s["charges"]) for s in summary)
    assert [c["amount"] for c in charges] == ["200", "400"]


def test_previous_month_crosses_the_year():
    assert previous_month("2026-01") == "2025-12" and previous_month("2026-10") == "2026-09"


def test_table_on_another_sheet_away_from_a1_and_plain_sheet(tmp_path):
    book = minimal_book(
        Usage=Block("Usage", ["Period", "Agency ID", "service-id", "QUANTITY"],
                    [("2026-09", "dot", "email", 5)], sheet="Monthly data", at="B3"),
        Headcount=Block("Headcount", ["period", "agency_id", "users"], [("2026-09", "DOT", 5)],
                        at="C4", as_table=False),
    )
    result, problems = run(tmp_path, book)
    assert [(c.agency_id, c.amount) for c in result.charge_lines()] == [("DOT", D("20.00"))]
    assert result.summary[0].cost_per_user == D("4.00")
    assert not warnings(problems)


def test_binary_noise_in_large_numbers_reads_as_excel_shows_it(tmp_path):
    # 9340639.7 is stored as 9340639.699999999...; Excel shows 15 significant digits
    pools = Block("CostPools", ["period", "service_id", "cost"], [("2026-09", "EMAIL", 9340639.7)])
    result, problems = run(tmp_path, minimal_book(CostPools=pools))
    assert result.recovery[0].cost == D("9340639.70")
