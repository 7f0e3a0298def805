"""Rates, budgets and the close cycle's dates (issue 20, defects 14 to 16): each figure worked
out by hand in the comments beside it, never taken from the engine."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal as D

from brm_xl.pipeline.model import build_model
from tests.helpers import Block, headcount, minimal_book, output_rows, usage, write_book

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
    from tests.vendors.test_vendors import vendor_book

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


# ---- rates (defect 14) -------------------------------------------------------------------

def rate_book(path, services, usage_rows, pools, settings=()):
    """services: (service_id, rate); usage_rows: (period, agency, service, quantity);
    pools: (period, service, cost). Headcount 10 for each agency and month with usage."""
    from tests.helpers import rate_card

    b = minimal_book(
        RateCard=rate_card(*[(sid, rate, "2026-01", None) for sid, rate in services]),
        Usage=usage(*usage_rows),
        Headcount=headcount(*sorted({(p, a, 10) for p, a, _, _ in usage_rows})),
        CostPools=Block("CostPools", ["period", "service_id", "cost"], pools))
    b.settings = list(settings)
    return write_book(path, b)


def proposals(path):
    return {r["service_id"]: r for r in output_rows(path, "RateProposal")}


FY27_FIVE = ("2026-07", "2026-08", "2026-09", "2026-10", "2026-11")
FY27_THREE = FY27_FIVE[:3]


def test_units_are_annualised_over_the_services_own_months_of_use(tmp_path):
    # EMAIL: five months of use (DOT 100, DOR 50 a month), cost pools in only three (600 a
    # month, exactly what 150 mailboxes at $4.00 charge, so nothing to carry forward).
    # cost 1,800 over 3 months -> 7,200 a year; units 750 over 5 months -> 1,800 a year;
    # 7,200 / 1,800 = 4.00 (annualising units over the 3 cost months gave 3,000 and 2.40).
    # HOST: cost pools of 500 in three months and no usage at all: listed, no proposal.
    path = rate_book(
        tmp_path / "b.xlsx", [("EMAIL", D("4.00")), ("HOST", D("10.00"))],
        [(m, a, "EMAIL", q) for m in FY27_FIVE for a, q in (("DOT", 100), ("DOR", 50))],
        [(m, "EMAIL", D("600.00")) for m in FY27_THREE] + [(m, "HOST", D("500.00")) for m in FY27_THREE])
    done = cli("rates", path, "--fy", "FY2028")
    assert done.returncode == 0, done.stderr
    assert "EMAIL: $4.00 -> $4.00 (+0.0%)" in done.stdout
    assert "HOST: $10.00 -> no proposal (cost 6,000.00 a year, no usage)" in done.stdout
    # the warning names HOST at its first cost pool row (CostPools rows 2-4 are EMAIL's)
    assert ("warning: CostPools!B5: HOST had 1,500.00 of cost pools in FY2027 but no usage"
            in done.stderr)
    rows = proposals(path)
    email, host = rows["EMAIL"], rows["HOST"]
    assert (D(email["proposed_rate"]), D(email["projected_cost"]), D(email["projected_units"]),
            D(email["carry_forward"])) == (D("4"), D("7200"), D("1800"), D("0"))
    assert (email["cost_months"], email["usage_months"]) == ("3", "5")
    # HOST: 1,500 over 3 months -> 6,000 a year; charged nothing against 1,500: -1,500 carried
    assert host["proposed_rate"] is None and host["change_pct"] is None
    assert (D(host["projected_cost"]), D(host["carry_forward"]), D(host["projected_units"])) == (
        D("6000"), D("-1500"), D("0"))
    effects = {r["agency_id"]: (D(r["current_annual"]), D(r["proposed_annual"]))
               for r in output_rows(path, "RateEffect")}
    # DOT 100 x 12 = 1,200 mailboxes a year x 4.00 both ways (was 2,000 x 4.00 = 8,000
    # against 2,000 x 2.40 = 4,800); DOR 600 x 4.00 = 2,400
    assert effects == {"DOT": (D("4800"), D("4800")), "DOR": (D("2400"), D("2400"))}


def test_four_decimals_by_default_and_the_roundings_effect_on_recovery(tmp_path):
    from brm_xl.app.rates import write_proposal

    # GB at $0.0450: DOT 100,000 GB a month for three months; cost pools 4,428.00 a month.
    # charged 3 x 4,500 = 13,500 against 13,284: 216 over-recovered, carried forward.
    # (4 x 13,284 - 216) / 1,200,000 GB a year = 52,920 / 1,200,000 = 0.0441 exactly.
    rows = [(m, "DOT", "GB", 100000) for m in FY27_THREE]
    pools = [(m, "GB", D("4428.00")) for m in FY27_THREE]
    path = rate_book(tmp_path / "b.xlsx", [("GB", D("0.0450"))], rows, pools)
    (gb,) = write_proposal(path, "FY2028").proposals
    assert (gb.proposed_rate, gb.change_pct) == (D("0.0441"), D("-2.0"))
    # 1,200,000 x 0.0441 = 52,920.00: the rate recovers the cost exactly
    assert (gb.projected_recovery, gb.rounding_effect, gb.recovery_pct) == (
        D("52920.00"), D("0.00"), D("100.0"))
    # an office that asks for 2 places sees what it costs: 0.04 x 1,200,000 = 48,000.00,
    # 4,920.00 short of 52,920 (48,000 / 52,920 = 90.7% recovered)
    two = rate_book(tmp_path / "two.xlsx", [("GB", D("0.0450"))], rows, pools,
                    settings=[("rate_decimals", 2)])
    (gb,) = write_proposal(two, "FY2028").proposals
    assert (gb.proposed_rate, gb.projected_recovery, gb.rounding_effect, gb.recovery_pct) == (
        D("0.04"), D("48000.00"), D("-4920.00"), D("90.7"))
    shown = proposals(two)["GB"]
    assert (D(shown["rounding_effect"]), D(shown["recovery_pct"])) == (D("-4920"), D("90.7"))


def test_a_small_change_is_not_shown_as_no_change(tmp_path):
    # current 7.0700; DOT 1,000 units a month for three months; cost 7,071.60 a month:
    # charged 21,210 against 21,214.80, 4.80 under-recovered;
    # (4 x 21,214.80 + 4.80) / 12,000 = 84,864 / 12,000 = 7.0720: +0.002 / 7.07 = +0.0283%
    path = rate_book(tmp_path / "b.xlsx", [("APP", D("7.0700"))],
                     [(m, "DOT", "APP", 1000) for m in FY27_THREE],
                     [(m, "APP", D("7071.60")) for m in FY27_THREE])
    done = cli("rates", path, "--fy", "FY2028")
    assert done.returncode == 0, done.stderr
    assert "APP: $7.07 -> $7.072 (+0.0283%)" in done.stdout, done.stdout
    assert D(proposals(path)["APP"]["change_pct"]) == D("0.0283")


def test_the_proposal_and_the_effect_add_up(tmp_path):
    from brm_xl.app.rates import write_proposal

    # 7 months of use, 5 of cost pools: each agency's line and the service's recovery are
    # the same rounded lines, so RateEffect's proposed bills add up to the projected recovery
    months = ("2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12", "2027-01")
    path = rate_book(tmp_path / "b.xlsx", [("EMAIL", D("4.00")), ("NET", D("12.50"))],
                     [(m, a, s, q) for m in months for a, s, q in (
                         ("DOT", "EMAIL", 101), ("DOR", "EMAIL", 37), ("DOT", "NET", 3),
                         ("DOR", "NET", 7))],
                     [(m, s, c) for m in months[:5] for s, c in (("EMAIL", D("533.17")),
                                                                   ("NET", D("140.00")))])
    found = write_proposal(path, "FY2028")
    assert {p.service_id: (p.cost_months, p.usage_months) for p in found.proposals} == {
        "EMAIL": (5, 7), "NET": (5, 7)}
    # EMAIL: 138 a month -> 1,656 a year; NET: 10 a month -> 120 a year
    assert {p.service_id: p.projected_units for p in found.proposals} == {
        "EMAIL": D("1656.00"), "NET": D("120.00")}
    assert sum(e.proposed_annual for e in found.effects) == sum(
        p.projected_recovery for p in found.proposals if p.projected_recovery is not None)


# ---- budgets (defect 15) -----------------------------------------------------------------

BUDGET_HEADERS = ["fiscal_year", "agency_id", "tower", "amount"]


def budget_book(path, budgets, agencies=("DOT", "DOR", "DOL")):
    """EMAIL at $4.00 with headcount each month from July; DOT 100 mailboxes a month from
    July to October 2026, DOR 50 and DOL 25 only from September (their first bills)."""
    from tests.helpers import agencies as agency_block

    rows = [(m, "DOT", "EMAIL", 100) for m in ("2026-07", "2026-08", "2026-09", "2026-10")]
    rows += [(m, a, "EMAIL", q) for m in ("2026-09", "2026-10") for a, q in (("DOR", 50), ("DOL", 25))]
    return write_book(path, minimal_book(
        Agencies=agency_block(*agencies),
        Usage=usage(*rows),
        Headcount=headcount(*[(m, a, 10) for m in ("2026-07", "2026-08", "2026-09", "2026-10")
                              for a in agencies]),
        Budgets=Block("Budgets", BUDGET_HEADERS, budgets)))


def summary_of(path, period):
    rows = output_rows(path, "AgencySummary")
    return {r["agency_id"]: tuple(None if r[c] is None else D(r[c])
                                  for c in ("fy_budget", "fy_to_date", "fy_projected"))
            for r in rows if r["period"].startswith(period)}


def test_a_total_and_its_towers_are_one_budget(tmp_path):
    path = budget_book(tmp_path / "b.xlsx", [
        ("FY2027", "DOT", None, D("350000.00")),  # the total, and the towers that make it up
        ("FY2027", "DOT", "End User", D("200000.00")),
        ("FY2027", "DOT", "Network", D("100000.00")),
        ("FY2027", "DOT", "Security & Compliance", D("50000.00")),
        ("FY2027", "DOR", "End User", D("3000.00")),  # towers alone: they are the budget
        ("FY2027", "DOR", "Network", D("1000.00")),
    ])
    assert cli("check", path).returncode == 0
    done = cli("refresh", path, "--as-of", "2026-11-01")
    assert done.returncode == 0, done.stderr
    october = summary_of(path, "2026-10")
    # DOT: 350,000 (not 700,000); 4 months of 400 = 1,600 to date, 1,600 / 4 x 12 = 4,800
    assert october["DOT"] == (D("350000"), D("1600"), D("4800"))
    # DOR: 3,000 + 1,000; billed 200 in September and October only: 400 / 2 x 12 = 2,400
    # (not 400 / 4 x 12 = 1,200, with July and August counted as zeros)
    assert october["DOR"] == (D("4000"), D("400"), D("2400"))
    # DOL has no budget: nothing projected against one (100 a month to date, 200)
    assert october["DOL"] == (None, D("200"), None)
    # and in September, DOR's first bill: 200 / 1 x 12
    assert summary_of(path, "2026-09")["DOR"] == (D("4000"), D("200"), D("2400"))


def test_towers_that_do_not_add_up_to_the_total_are_an_error(tmp_path):
    path = budget_book(tmp_path / "b.xlsx", [
        ("FY2027", "DOT", "End User", D("200000.00")),
        ("FY2027", "DOT", "Network", D("100000.00")),
        ("FY2027", "DOR", None, D("5000.00")),  # agrees with its towers
        ("FY2027", "DOR", "End User", D("5000.00")),
        ("FY2027", "DOT", None, D("350000.00")),  # row 6: 50,000 more than its towers
        ("FY2O27", "DOL", None, D("1000.00")),  # row 7: a letter O, not a zero
        ("FY2027", "DOX", None, D("1000.00")),  # row 8: no such agency
    ])
    done = cli("check", path)
    assert done.returncode == 1, done.stderr
    assert ("Budgets!D6: DOT's FY2027 budget is 350,000.00, but its tower rows add up to "
            "300,000.00 (200,000.00 End User + 100,000.00 Network)") in done.stderr
    assert "Budgets!A7: fiscal_year 'FY2O27' is not a fiscal year" in done.stderr
    assert "Budgets!B8: agency_id 'DOX' is not in Agencies" in done.stderr
    assert "DOR" not in done.stderr
    assert cli("refresh", path, "--as-of", "2026-11-01").returncode == 1  # nothing written
