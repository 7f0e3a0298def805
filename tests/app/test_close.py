"""The monthly close: a closed month's bills stand as published; an input that would change
them is refused at its cell; an open month still follows its inputs; reopen is logged."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tests.helpers import (
    cli_in_process,
    digest,
    headcount,
    minimal_book,
    output_rows,
    rate_card,
    usage,
    write_book,
)


def cli(*args):
    return cli_in_process(*args)


def book(path, rate=D("4.00"), dot_october=100, users=100):
    return write_book(path, minimal_book(
        RateCard=rate_card(("EMAIL", rate, "2026-01", None)),
        Usage=usage(("2026-09", "DOT", "EMAIL", 100), ("2026-09", "DOR", "EMAIL", 50),
                    ("2026-10", "DOT", "EMAIL", dot_october), ("2026-10", "DOR", "EMAIL", 50)),
        Headcount=headcount(("2026-09", "DOT", users), ("2026-09", "DOR", 40),
                            ("2026-10", "DOT", 100), ("2026-10", "DOR", 40))))


def edited(path, tmp_path, **change):
    """The same workbook with inputs edited (as a user would in Excel), keeping the close
    tables the close wrote (copied across by their rows)."""
    import zipfile

    fresh = book(tmp_path / "edit.xlsx", **change)
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(fresh) as new:
        keep = {n: old.read(n) for n in old.namelist()}
        for name in new.namelist():  # the input sheets, as edited
            if name.startswith("xl/worksheets/sheet") and int(name[19:-4]) <= 4:
                keep[name] = new.read(name)
    out = tmp_path / "edited.xlsx"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in keep.items():
            z.writestr(name, data)
    return out


def test_a_closed_month_stands_as_published(tmp_path):
    path = book(tmp_path / "b.xlsx")
    assert cli("refresh", path, "--as-of", "2026-11-05").returncode == 0
    done = cli("close", path, "--period", "2026-09")
    assert done.returncode == 0, done.stderr
    assert "Closed 2026-09: 2 bill lines, 600.00 in all" in done.stdout
    closes = output_rows(path, "Closes")
    assert [(r["period"], r["status"], r["lines"], r["charges_total"]) for r in closes] == [
        ("2026-09", "closed", "2", "600")]
    published = {(r["agency_id"], r["service_id"]): r["amount"]
                 for r in output_rows(path, "PublishedCharges")}
    assert published == {("DOT", "EMAIL"): "400", ("DOR", "EMAIL"): "200"}
    assert [r["action"] for r in output_rows(path, "AuditLog")] == ["close"]
    again = cli("close", path, "--period", "2026-09")
    assert again.returncode == 1 and "closed already" in again.stderr

    # an October edit: October is open, so the refresh takes it
    october = edited(path, tmp_path, dot_october=120)
    done = cli("refresh", october, "--as-of", "2026-11-05")
    assert done.returncode == 0, done.stderr
    charges = {(r["period"][:7], r["agency_id"]): D(r["amount"])
               for r in output_rows(october, "Charges")}
    assert charges[("2026-10", "DOT")] == D("480") and charges[("2026-09", "DOT")] == D("400")

    # a new rate and a changed headcount would change September: refused, at their cells
    changed = edited(path, tmp_path, rate=D("4.50"), users=90)
    before = digest(changed)
    done = cli("refresh", changed, "--as-of", "2026-11-05")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    # one edit, one problem: the rate's cell, not the usage rows nobody changed
    assert "RateCard!E2: DOR EMAIL was billed 200.00, would now be 225.00 (and 1 more " \
        "published lines): 2026-09 was closed" in done.stderr
    assert "Usage!" not in done.stderr
    assert "Headcount!C2: DOT's users for 2026-09 were 100, would now be 90" in done.stderr
    assert "put a correction through Adjustments in an open month" in done.stderr
    assert digest(changed) == before
    report = cli("report", changed, "--period", "2026-09", "--format", "html")
    assert report.returncode == 1 and "2026-09 was closed" in report.stderr

    # reopened (with a reason, logged), the month follows its inputs again
    assert cli("reopen", changed, "--period", "2026-09", "--reason", "").returncode == 2
    done = cli("reopen", changed, "--period", "2026-09", "--reason", "rate corrected by council")
    assert done.returncode == 0, done.stderr
    assert cli("refresh", changed, "--as-of", "2026-11-05").returncode == 0
    log = output_rows(changed, "AuditLog")
    assert [r["action"] for r in log] == ["close", "reopen"]
    assert log[-1]["after"] == "reopened: rate corrected by council"
    assert [r["status"] for r in output_rows(changed, "Closes")] == ["closed", "reopened"]


def test_the_journal_of_a_closed_month_balances_and_names_missing_accounts(tmp_path):
    import csv

    from brm_xl.billing.journal import cell
    from tests.helpers import Block

    accounts = Block("GLAccounts", ["kind", "id", "fund", "department", "account"], [
        ("Agency", "DOT", "0100", "DOT-IT", "5300"), ("Service", "EMAIL", "9100", "OCIO", "4100")])
    path = write_book(tmp_path / "b.xlsx", minimal_book(
        Adjustments=Block("Adjustments", ["period", "agency_id", "service_id", "amount", "reason"],
                          [("2026-09", "DOT", "EMAIL", D("-12.50"), "=credit")])))
    assert cli("journal", path, "--period", "2026-09").returncode == 1  # not closed yet
    assert cli("close", path, "--period", "2026-09").returncode == 0
    done = cli("journal", path, "--period", "2026-09")
    assert done.returncode == 1
    assert "no GL account for agency DOR" in done.stderr and "no GL account for agency DOT" in done.stderr
    assert "no GL revenue account for service EMAIL" in done.stderr  # all at once
    path2 = write_book(tmp_path / "c.xlsx", minimal_book(GLAccounts=Block(
        "GLAccounts", accounts.headers, accounts.rows + [("Agency", "DOR", "0200", "DOR-IT", "5300")])))
    assert cli("close", path2, "--period", "2026-09").returncode == 0
    done = cli("journal", path2, "--period", "2026-09")
    assert done.returncode == 0, done.stderr
    assert "debits 600.00 = credits 600.00" in done.stdout
    rows = list(csv.DictReader(next(tmp_path.glob("2026-09_journal_*.csv")).open()))
    assert len(rows) == 4
    by_agency: dict[str, D] = {}
    for r in rows:
        by_agency[r["agency_id"]] = by_agency.get(r["agency_id"], D(0)) + D(r["debit"] or 0) - D(r["credit"] or 0)
    assert by_agency == {"DOT": D(0), "DOR": D(0)}  # each agency balances to the cent
    dot = [r for r in rows if r["agency_id"] == "DOT"]
    assert (dot[0]["fund"], dot[0]["account"], dot[0]["debit"]) == ("0100", "5300", "400.00")
    assert (dot[1]["fund"], dot[1]["account"], dot[1]["credit"]) == ("9100", "4100", "400.00")
    assert [r["action"] for r in output_rows(path2, "AuditLog")] == ["close", "journal"]
    assert cell("=SUM(A1)") == "\"'=SUM(A1)\"" and cell('a "b"') == '"a ""b"""'


@pytest.mark.slow
def test_an_accepted_dispute_is_credited_in_the_next_open_month(tmp_path):
    import datetime as dt

    from tests.helpers import Block

    def with_disputes(path, rows, accounts=True):
        blocks = dict(Disputes=Block("Disputes", [
            "dispute_id", "agency_id", "period", "service_id", "amount", "reason", "raised_on",
            "status", "resolved_on", "resolution", "credit"], rows))
        if accounts:
            blocks["GLAccounts"] = Block("GLAccounts", ["kind", "id", "fund", "department", "account"], [
                ("Agency", "DOT", "0100", None, "5300"), ("Agency", "DOR", "0200", None, "5300"),
                ("Service", "EMAIL", "9100", None, "4100"), ("Adjustments", None, "9100", None, "4190")])
        b = minimal_book(**blocks)
        months = ["2026-09", "2026-10"]
        for block in b.blocks:
            if block.name == "Usage":
                block.rows = [(m, a, "EMAIL", q) for m in months for a, q in (("DOT", 100), ("DOR", 50))]
            if block.name == "Headcount":
                block.rows = [(m, a, 10) for m in months for a in ("DOT", "DOR")]
        return write_book(path, b)

    disputes = [
        ("D1", "DOT", "2026-09", "EMAIL", D("40.00"), "Mailboxes billed twice", dt.date(2026, 10, 3),
         "Accepted", dt.date(2026, 10, 10), "Duplicate confirmed", D("40.00")),
        ("D2", "DOR", "2026-03", None, D("10.00"), "Old question", dt.date(2026, 10, 3),
         "Open", None, None, None),
    ]
    path = with_disputes(tmp_path / "b.xlsx", disputes)
    assert cli("refresh", path, "--as-of", "2026-10-15").returncode == 0
    assert cli("close", path, "--period", "2026-09").returncode == 0
    done = cli("refresh", path, "--as-of", "2026-10-15")
    assert done.returncode == 0, done.stderr
    assert "dispute D2 was raised 7 invoice cycles after 2026-03, outside the 4-cycle window" in done.stderr
    charges = [r for r in output_rows(path, "Charges") if r["reason"] and "D1" in r["reason"]]
    assert [(r["period"][:7], r["agency_id"], D(r["amount"])) for r in charges] == [
        ("2026-10", "DOT", D("-40"))]  # October, the first open month; September stands
    audit = [(r["action"], r["after"]) for r in output_rows(path, "AuditLog")]
    assert ("dispute", "D1 Accepted, credited 40.00 in 2026-10") in audit  # the first refresh
    assert [a for a, _ in audit].count("dispute") == 2  # D1 and D2 once, not every refresh
    log = {r["dispute_id"]: r for r in output_rows(path, "DisputeLog")}
    assert (log["D1"]["credited_in"], log["D1"]["in_window"]) == ("2026-10", "true")
    assert log["D2"]["in_window"] == "false" and log["D2"]["credited_in"] is None
    report = cli("report", path, "--period", "2026-10", "--agency", "DOT", "--format", "html")
    assert report.returncode == 0, report.stderr
    html = next((tmp_path / "reports" / "2026-10").glob("*DOT*.html")).read_text()
    assert "Dispute D1 (2026-09) accepted" in html and "Mailboxes billed twice" in html
    assert cli("close", path, "--period", "2026-10").returncode == 0
    done = cli("journal", path, "--period", "2026-10")
    assert done.returncode == 0, done.stderr
    journal = next(tmp_path.glob("2026-10_journal_*.csv")).read_text()
    assert "360.00" in journal  # DOT's October EMAIL 400 less the 40 credit, net
    # closing October later does not move the credit
    assert cli("refresh", path, "--as-of", "2026-11-15").returncode == 0


def test_budgets_year_to_date_and_projection(tmp_path):
    from brm_xl.contract.periods import parse_period
    from brm_xl.pipeline.model import build_model
    from brm_xl.reports import data
    from tests.helpers import Block

    b = minimal_book(Budgets=Block("Budgets", ["fiscal_year", "agency_id", "amount", "tower"], [
        ("FY2027", "DOT", D("3000.00"), "End User"), ("FY2027", "DOT", D("1000.00"), "Network"),
        ("FY2027", "DOR", D("5000.00"), None)]))
    for block in b.blocks:
        if block.name == "Usage":  # July to September 2026: DOT 100 mailboxes a month at $4
            block.rows = [(m, a, "EMAIL", q) for m in ("2026-07", "2026-08", "2026-09")
                          for a, q in (("DOT", 100), ("DOR", 50))]
        if block.name == "Headcount":
            block.rows = [(m, a, 10) for m in ("2026-07", "2026-08", "2026-09") for a in ("DOT", "DOR")]
    path = write_book(tmp_path / "b.xlsx", b)
    assert cli("refresh", path, "--as-of", "2026-10-01").returncode == 0
    row = next(r for r in output_rows(path, "AgencySummary")
               if r["period"].startswith("2026-09") and r["agency_id"] == "DOT")
    # 3 months of $400 = $1,200 to date; 1,200 / 3 x 12 = 4,800 against a 4,000 budget
    assert (D(row["fy_budget"]), D(row["fy_to_date"]), D(row["fy_projected"])) == (
        D("4000"), D("1200"), D("4800"))
    import datetime as dt

    model = build_model(path, dt.date(2026, 10, 1))
    head = data.headline(model, "DOT", parse_period("2026-09"))
    assert head.budget is not None and head.budget.over and head.budget.fiscal_year == "FY2027"
    rows = {r.agency_id: r for r in data.portfolio(model, parse_period("2026-09")).rows}
    assert rows["DOT"].over_budget is True and rows["DOR"].over_budget is False


def test_rates_what_if_recovers_cost_with_the_carry_forward(tmp_path):
    from tests.helpers import Block

    months = ("2026-07", "2026-08", "2026-09")
    b = minimal_book(CostPools=Block("CostPools", ["period", "service_id", "cost"],
                                     [(m, "EMAIL", D("500.00")) for m in months]))
    for block in b.blocks:
        if block.name == "Usage":
            block.rows = [(m, a, "EMAIL", q) for m in months for a, q in (("DOT", 100), ("DOR", 50))]
        if block.name == "Headcount":
            block.rows = [(m, a, 10) for m in months for a in ("DOT", "DOR")]
    path = write_book(tmp_path / "b.xlsx", b)
    rate_card_before = digest(path)
    done = cli("rates", path, "--fy", "FY2028")
    assert done.returncode == 0, done.stderr
    # cost 1,500 and charged 1,800 in three months: 300 over-recovered, carried forward;
    # (6,000 a year - 300) / 1,800 units a year = 3.16666.. -> 3.1667 (rate_decimals 4)
    assert "EMAIL: $4.00 -> $3.1667 (-20.8%)" in done.stdout
    (proposal,) = output_rows(path, "RateProposal")
    assert (proposal["projected_cost"], proposal["carry_forward"], proposal["projected_units"]) == (
        "6000", "300", "1800")
    effects = {r["agency_id"]: (D(r["current_annual"]), D(r["proposed_annual"]))
               for r in output_rows(path, "RateEffect")}
    # 1,200 x 3.1667 = 3,800.04 and 600 x 3.1667 = 1,900.02
    assert effects == {"DOT": (D("4800"), D("3800.04")), "DOR": (D("2400"), D("1900.02"))}
    rates_now = output_rows(path, "RateProposal")
    assert rates_now and digest(path) != rate_card_before  # written beside, RateCard untouched
    from brm_xl.pipeline.read import load_inputs

    inputs, _ = load_inputs(path)
    assert inputs.frame("RateCard")["rate"].to_list() == [D("4.00")]
    grown = cli("rates", path, "--fy", "FY2028", "--usage-growth", "20%")
    assert grown.returncode == 0 and "EMAIL: $4.00 -> $2.6389" in grown.stdout  # 5,700 / 2,160


def test_the_close_month_button_asks_first(tmp_path):
    from brm_xl.excel import macros

    path = book(tmp_path / "b.xlsx")
    before = digest(path)
    assert macros.close_month(path=path, period="2026-09", answer=False) is None
    assert digest(path) == before
    done = macros.close_month(path=path, period="2026-09", answer=True)
    assert done.period == "2026-09" and done.lines == 2
    assert [r["status"] for r in output_rows(path, "Closes")] == ["closed"]
    assert macros.close_month(path=path, period="2026-09", answer=True) is None  # said, not raised


def test_closing_a_workbook_with_problems_writes_nothing_and_lists_them(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book(
        Usage=usage(("2026-09", "DOT", "EMAIL", "ten"), ("2026-09", "DXX", "EMAIL", 1))))
    before = digest(path)
    done = cli("close", path, "--period", "2026-09")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "Usage!D2: quantity 'ten' is not a number" in done.stderr
    assert "Usage!B3: agency_id 'DXX' is not in Agencies" in done.stderr
    assert digest(path) == before
