"""Allocations: pools spread by users, spend, fixed shares or a named driver, to the cent;
bad pool tables named at their cells, all at once, with the workbook left as it was."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from brm_xl.app.refresh import refresh
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

POOL_HEADERS = ["pool_id", "name", "service_id", "tower", "monthly_amount", "effective_from",
                "effective_to", "driver", "agencies"]


def pools(*rows):
    return Block("Allocations", POOL_HEADERS, rows)


def shares(*rows):
    return Block("AllocationShares", ["pool_id", "agency_id", "share"], rows)


def drivers(*rows):
    return Block("Drivers", ["period", "agency_id", "driver", "value"], rows)


MONTHS = ("2026-07", "2026-08", "2026-09")


def book(**blocks):
    """Four agencies, one service; AGR joins in 2026-08 and DOR has 0 users."""
    base = minimal_book(
        Agencies=agencies("AGR", "DOC", "DOR", "DOT"),
        RateCard=rate_card(("EMAIL", D("4.00"), "2026-01", None),
                           ("DESK", D("10.00"), "2026-01", None)),
        Usage=usage(*[(m, a, "EMAIL", 100) for m in MONTHS for a in ("DOC", "DOT")],
                    *[(m, "AGR", "EMAIL", 50) for m in MONTHS[1:]]),
        Headcount=headcount(*[(m, a, 100) for m in MONTHS for a in ("DOC", "DOT")],
                            *[(m, "DOR", 0) for m in MONTHS],
                            *[(m, "AGR", 100) for m in MONTHS[1:]]),
        Adjustments=Block("Adjustments", ["period", "agency_id", "service_id", "amount", "reason"],
                          [("2026-07", "DOT", None, 5000, "One-time project")]))
    base.blocks += list(blocks.values())
    return base


def rows(path, table):
    """An output table's rows, months as YYYY-MM."""
    return [{**r, "period": r["period"][:7]} for r in output_rows(path, table)]


def allocation_lines(path):
    return [r for r in rows(path, "Charges") if (r["reason"] or "").startswith("Allocation")]


def test_a_pool_is_split_half_up_with_the_remainder_cent_to_the_largest_share(tmp_path):
    path = write_book(tmp_path / "b.xlsx", book(Allocations=pools(
        ("SEC", "Enterprise security", None, "Security", D("1000.00"), "2026-07", "2026-08",
         "users", None),
        ("SEC", "Enterprise security", None, "Security", D("1200.00"), "2026-09", None, "Users",
         None))))
    result = refresh(path, as_of=dt.date(2026, 9, 30))
    lines = allocation_lines(path)
    got = {(r["period"], r["agency_id"]): (r["quantity"], r["amount"], r["reason"]) for r in lines}
    # July: DOC and DOT 100 users each, DOR 0 users (no share), AGR not yet billed
    # shared by two, the total would tell each agency the other's users: it is left out
    assert got[("2026-07", "DOC")] == (
        "100", "500", "Allocation: Enterprise security by users (shared with 1 other agency)")
    assert ("2026-07", "DOR") not in got and ("2026-07", "AGR") not in got
    # August: 1000.00 over three equal shares is 333.333..: the first id takes the cent
    assert [got[("2026-08", a)][1] for a in ("AGR", "DOC", "DOT")] == ["333.34", "333.33", "333.33"]
    # September: the pool's second row, its new amount (the reason keeps the driver as typed)
    assert sum(D(got[("2026-09", a)][1]) for a in ("AGR", "DOC", "DOT")) == D("1200.00")
    assert got[("2026-09", "DOT")][2] == "Allocation: Enterprise security by Users (100 of 300)"
    for month, amount in (("2026-07", "1000"), ("2026-08", "1000"), ("2026-09", "1200")):
        assert sum(D(r["amount"]) for r in lines if r["period"] == month) == D(amount)
    line = next(r for r in lines if r["agency_id"] == "DOC")
    assert (line["service_id"], line["service_name"], line["tower"], line["unit"], line["rate"]) \
        == ("SEC", "Enterprise security", "Security", "users", None)
    summary = {(r["period"], r["agency_id"]): D(r["charges"])
               for r in rows(path, "AgencySummary")}
    assert summary[("2026-08", "AGR")] == D("200.00") + D("333.34")
    # Recovery: a pool with no service of its own costs what it bills
    recovery = {(r["period"], r["service_id"]): r for r in rows(path, "Recovery")}
    assert (recovery[("2026-09", "SEC")]["cost"], recovery[("2026-09", "SEC")]["charged"]) \
        == ("1200", "1200")
    # AGR joins in August: no users in July, no share then, and a warning; DOR's 0 users: none
    assert [str(w) for w in result.warnings if "pool SEC" in w.message] == [
        "Allocations!H2: AGR is in pool SEC's scope but has no Headcount users for 2026-07, so "
        "it gets no share of it then"]


def test_spend_fixed_and_named_drivers(tmp_path):
    path = write_book(tmp_path / "b.xlsx", book(
        Allocations=pools(
            ("CIO", "CIO office", None, "Governance", D("100.00"), "2026-07", "2026-07",
             "spend", "DOC; dot"),
            ("GIS", "GIS licence", "DESK", "Application", D("1234.50"), "2026-07", "2026-07",
             "fixed", None),
            ("ERP", "ERP programme", None, "Application", D("600.00"), "2026-07", "2026-07",
             "FTE", None)),
        AllocationShares=shares(("GIS", "DOC", D("33.5")), ("GIS", "DOT", D("33.5")),
                                ("GIS", "DOR", D("33"))),
        Drivers=drivers(("2026-07", "DOC", "fte", 70), ("2026-07", "DOT", "Fte", 40),
                        ("2026-07", "AGR", "fte", 20), ("2026-07", "DOR", "fte", 0))))
    result = refresh(path, as_of=dt.date(2026, 7, 31))
    got = {(r["service_id"], r["agency_id"]): r for r in allocation_lines(path)}
    # spend: the priced usage of the month (400 each), never DOT's 5,000 adjustment
    assert got[("CIO", "DOC")]["amount"] == "50"
    assert got[("CIO", "DOC")]["reason"] == \
        "Allocation: CIO office by spend (shared with 1 other agency)"
    # fixed: 1234.50 x 33.5% = 413.5575 each, 33% = 407.385: +0.01 -0.01 ... the lines add up
    gis = {a: D(got[("DESK", a)]["amount"]) for a in ("DOC", "DOT", "DOR")}
    assert gis == {"DOC": D("413.55"), "DOT": D("413.56"), "DOR": D("407.39")}
    assert got[("DESK", "DOC")]["unit"] == "share %"
    assert got[("DESK", "DOC")]["reason"] == "Allocation: GIS licence by fixed share (33.5 of 100)"
    # a named driver, matched ignoring case; DOR's 0 fte: no share. 600 x 70/130 = 323.077,
    # 40/130 = 184.615, 20/130 = 92.308: 323.08 + 184.62 + 92.31 is a cent over, taken from
    # the largest share
    erp = {a: D(got[("ERP", a)]["amount"]) for a in ("AGR", "DOC", "DOT")}
    assert erp == {"AGR": D("92.31"), "DOC": D("323.07"), "DOT": D("184.62")}
    assert ("ERP", "DOR") not in got
    assert not [w for w in result.warnings if "ERP" in w.message]


def test_the_cents_left_over_go_a_cent_each_to_the_largest_shares(tmp_path):
    """1,000.50 over 100 equal users is 10.005 each: half up, 10.01 a hundred times is 50
    cents too many, taken a cent each from the first 50 agencies (never 50 cents from one);
    0.03 over 6 is 0.005 each: 0.01 six times, 3 cents too many, none below 0.00."""
    from brm_xl.billing.allocations import Pool, _split

    pool = Pool("P", "P", "Pool", None, "T", 100050, "2026-07", None, "users", "users", None, 1)
    lines = _split(pool, "2026-07", {f"A{i:03d}": D(100) for i in range(100)})
    amounts = [line[8] for line in lines]
    assert sum(amounts) == D("1000.50")
    assert amounts[:50] == [D("10.00")] * 50 and amounts[50:] == [D("10.01")] * 50
    small = _split(pool.__class__(*[3 if f == "cents" else getattr(pool, f)
                                    for f in pool.__dataclass_fields__]),
                   "2026-07", {f"A{i}": D(1) for i in range(6)})
    assert [line[8] for line in small] == [D("0.00")] * 3 + [D("0.01")] * 3


def test_bad_pool_tables_are_named_at_their_cells_all_at_once(tmp_path):
    path = write_book(tmp_path / "b.xlsx", book(
        Allocations=pools(
            ("SEC", "Security", None, "Security", D("100"), "2026-07", None, "users", None),
            ("SEC", "Security", None, "Security", D("120"), "2026-09", None, "users", None),
            ("GIS", "GIS", "NOPE", "Application", D("10"), "2026-07", None, "fixed", "DOC; XYZ"),
            ("ERP", "ERP", None, "Application", D("10"), "2026-07", None, "headcount", None),
            ("EMAIL", "Email pool", None, "End User", D("10"), "2026-07", None, "spend", None),
            ("HR", "HR system", None, "Application", D("10"), "2026-07", None, "fte", None)),
        AllocationShares=shares(("GIS", "DOC", 60), ("GIS", "DOT", 30), ("NOPOOL", "XYZ", 100)),
        Drivers=drivers(("2026-08", "DOC", "fte", 10), ("2026-08", "DOC", "Users", 5))))
    before = digest(path)
    done = cli_in_process("refresh", str(path), "--as-of", "2026-09-30")
    assert done.returncode == 1
    out = done.stdout + done.stderr
    for line in (
        "Drivers!C3: driver 'Users' is one brm_xl works out itself (users, spend, fixed); give "
        "your driver another name",
        "Allocations!F3: pool SEC from 2026-09 overlaps row 2 (2026-07 to open-ended); end the "
        "earlier row first",
        "Allocations!C4: service_id 'NOPE' is not in RateCard",
        "Allocations!I4: agencies names 'XYZ', which is not in Agencies",
        "Allocations!H5: driver 'headcount' is not users, spend or fixed, and no Drivers row "
        "names it",
        "Allocations!A6: pool_id EMAIL is also a RateCard service",
        "AllocationShares!C2: the shares of pool GIS add up to 90, not 100",
        "AllocationShares!A4: pool_id 'NOPOOL' is not in Allocations",
        "AllocationShares!B4: agency_id 'XYZ' is not in Agencies",
    ):
        assert line in out, line
    assert "Traceback" not in out
    assert digest(path) == before


def test_a_month_the_driver_cannot_split_is_an_error_at_the_pool(tmp_path):
    path = write_book(tmp_path / "b.xlsx", book(
        Allocations=pools(
            ("HR", "HR system", None, "Application", D("10"), "2026-07", "2026-08", "fte", None),
            ("ONE", "Only DOR", None, "Application", D("10"), "2026-07", "2026-07", "users",
             "DOR")),
        Drivers=drivers(("2026-08", "DOC", "fte", 10))))
    before = digest(path)
    done = cli_in_process("refresh", str(path), "--as-of", "2026-09-30")
    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert ("Allocations!H2: pool HR is split by fte, but Drivers has no fte rows for 2026-07; "
            "add them, or end the pool (effective_to) before that month") in out
    assert ("Allocations!H3: pool ONE's driver users totals 0 over its agencies in 2026-07, so "
            "its 10.00 cannot be split") in out
    assert digest(path) == before


def test_allocations_post_to_the_pools_gl_account_in_the_journal(tmp_path):
    gl = Block("GLAccounts", ["kind", "id", "fund", "department", "account"], [
        ("Agency", "DOC", "1000", None, "5310"), ("Agency", "DOT", "1010", None, "5310"),
        ("Agency", "DOR", "1020", None, "5310"), ("Agency", "AGR", "1030", None, "5310"),
        ("Service", "EMAIL", "7200", None, "4101"), ("Service", "SEC", "7200", None, "4400"),
        ("Adjustments", None, "7200", None, "4199")])
    path = write_book(tmp_path / "b.xlsx", book(GLAccounts=gl, Allocations=pools(
        ("SEC", "Security", None, "Security", D("1000.00"), "2026-07", None, "users", None))))
    assert cli_in_process("close", str(path), "--period", "2026-07").returncode == 0
    done = cli_in_process("journal", str(path), "--period", "2026-07")
    assert done.returncode == 0, done.stdout + done.stderr
    journal = next(tmp_path.glob("**/2026-07_journal_*.csv")).read_text()
    sec = [line for line in journal.splitlines() if ',"SEC",' in line]
    assert len(sec) == 4 and all("500.00" in line for line in sec)  # DOC, DOT: debit + credit
    assert sum(',"4400",,500.00,' in line for line in sec) == 2  # credited to the pool's account


def test_rate_setting_counts_usage_units_never_a_driver_value(tmp_path):
    from brm_xl.billing.rates import _base_units
    from brm_xl.contract.periods import parse_period
    from brm_xl.pipeline.model import build_model

    path = write_book(tmp_path / "b.xlsx", book(
        Allocations=pools(("GIS", "GIS licence", "EMAIL", "App", D("1000"), "2026-07",
                           "2026-07", "fixed", None)),
        AllocationShares=shares(("GIS", "DOC", 50), ("GIS", "DOT", 50))))
    model = build_model(path, dt.date(2026, 7, 31))
    units, _ = _base_units(model.chargeback, parse_period("2026-07"))
    assert {a: int(q) for a, q in units["EMAIL"].items()} == {"DOC": 100, "DOT": 100}
