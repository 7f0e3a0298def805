"""Vendor scorecards and service credits: grades, the cap under a corrective action, months
missed in a row, exclusions, credits passed through to the cent, bad input at its cell."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal as D

from brm_xl.vendors.scorecards import grade_of, split, status_of
from tests.helpers import Block, digest, headcount, minimal_book, output_rows, usage, write_book

MONTHS = ("2026-07", "2026-08", "2026-09")
SL_HEADERS = ["sl_id", "contract_id", "name", "kind", "unit", "direction", "minimum", "expected",
              "weight", "credit_pct", "outcome"]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "brm_xl", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def vendor_book(path, levels=None, results=None, actions=(), services="EMAIL", settings=()):
    levels = levels if levels is not None else [
        ("AVAIL", "C1", "Email availability", "critical", "%", "higher", D("99.5"), D("99.9"),
         60, 10, "Staff can email citizens"),
        ("RESP", "C1", "Incident response", "key", "hours", "lower", D("4"), D("2"), 40, None,
         None)]
    results = results if results is not None else [
        ("2026-07", "AVAIL", D("99.95"), None), ("2026-07", "RESP", D("3"), None),
        ("2026-08", "AVAIL", D("99.0"), None), ("2026-08", "RESP", D("1.5"), None),
        ("2026-09", "AVAIL", D("98.0"), None), ("2026-09", "RESP", D("9"), "Storm outage (force majeure)")]
    b = minimal_book(
        Usage=usage(*[(m, a, "EMAIL", q) for m in MONTHS for a, q in (("DOT", 100), ("DOR", 50))]),
        Headcount=headcount(*[(m, a, 10) for m in MONTHS for a in ("DOT", "DOR")]),
        Vendors=Block("Vendors", ["vendor_id", "vendor_name", "vendor_manager", "vendor_email"],
                      [("V1", "Acme Mail Co", "Sam Vendor", "sam@acme.example")]),
        Contracts=Block("Contracts", ["contract_id", "vendor_id", "contract_name", "start", "end",
                                      "annual_value", "services"],
                        [("C1", "V1", "Hosted email", dt.date(2026, 1, 1), None, D("100000"), services)]),
        ServiceLevels=Block("ServiceLevels", SL_HEADERS, levels),
        SLResults=Block("SLResults", ["period", "sl_id", "actual", "excluded"], results),
        CorrectiveActions=Block("CorrectiveActions", ["cap_id", "vendor_id", "opened_on", "issue",
                                                      "root_cause", "action", "owner", "due_on",
                                                      "closed_on"], list(actions)))
    b.settings = list(settings)
    return write_book(path, b)


def test_rules_one_by_one():
    assert grade_of(D("90"), "A=90; B=80; C=70; D=60", False) == "A"
    assert grade_of(D("89.9"), "A=90; B=80; C=70; D=60", False) == "B"
    assert grade_of(D("59.9"), "A=90; B=80; C=70; D=60", False) == "F"
    assert grade_of(D("95"), "A=90; B=80; C=70; D=60", True) == "C"  # capped under a CAP
    assert grade_of(D("65"), "A=90; B=80; C=70; D=60", True) == "D"  # the cap lowers only
    assert status_of(D("99.9"), D("99.5"), D("99.9"), "higher") == "met"
    assert status_of(D("99.6"), D("99.5"), D("99.9"), "higher") == "at minimum"
    assert status_of(D("3"), D("4"), D("2"), "lower") == "at minimum"
    assert status_of(D("5"), D("4"), D("2"), "lower") == "missed"
    parts = split(D("10.00"), {"A": D(1), "B": D(1), "C": D(1)})
    assert sum(parts.values()) == D("10.00") and sorted(parts.values()) == [D("3.33"), D("3.33"), D("3.34")]


def test_scorecard_credits_and_pass_through(tmp_path):
    path = vendor_book(tmp_path / "b.xlsx", actions=[
        ("CAP-1", "V1", dt.date(2026, 7, 10), "Slow incident response", None, "Add night shift",
         "Sam Vendor", dt.date(2026, 7, 31), dt.date(2026, 8, 5))])
    done = cli("refresh", path, "--as-of", "2026-10-01")
    assert done.returncode == 0, done.stderr
    card = {r["period"][:7]: r for r in output_rows(path, "Scorecard")}
    july, august, september = card["2026-07"], card["2026-08"], card["2026-09"]
    # July: availability met (60), response at minimum (3/4 of 40): 90 -> A, capped at C
    assert (july["met"], july["at_minimum"], july["score"], july["grade"]) == ("1", "1", "90", "C")
    assert july["reasons"].startswith("below expected: Incident response")
    assert "1 open corrective action; grade capped at C" in july["reasons"]  # due 31 July
    # August: availability missed, response met: 40 -> F; the CAP closed on 5 August
    assert (august["missed"], august["score"], august["grade"], august["open_actions"]) == (
        "1", "40", "F", "0")
    # September: missed again (2 months in a row); response excluded counts for nothing
    assert (september["excluded"], september["score"]) == ("1", "0")
    assert "missed Email availability (critical), 2 months in a row" in september["reasons"]
    credits = output_rows(path, "ServiceCredits")
    august_credits = {r["agency_id"]: D(r["share"]) for r in credits if r["period"].startswith("2026-08")}
    # 10% of August's priced email charges: (400 + 200) x 10% = 60.00, pro rata 40 / 20
    assert august_credits == {"DOT": D("40"), "DOR": D("20")}
    assert {D(r["credit"]) for r in credits} == {D("60")}
    lines = [(r["period"][:7], r["agency_id"], D(r["amount"])) for r in output_rows(path, "Charges")
             if (r["reason"] or "").startswith("Service credit: Email availability")]
    assert sorted(lines) == [("2026-08", "DOR", D("-20")), ("2026-08", "DOT", D("-40")),
                             ("2026-09", "DOR", D("-20")), ("2026-09", "DOT", D("-40"))]
    # the agency's bill names the vendor, never the office's contract id
    reasons = {r["reason"] for r in output_rows(path, "Charges")
               if (r["reason"] or "").startswith("Service credit")}
    assert reasons == {"Service credit: Email availability missed in 2026-08 (Acme Mail Co)",
                       "Service credit: Email availability missed in 2026-09 (Acme Mail Co)"}
    summary = {(r["period"][:7], r["agency_id"]): D(r["charges"]) for r in output_rows(path, "AgencySummary")}
    assert summary[("2026-08", "DOT")] == D("360")  # the credit is on the agency's bill
    from brm_xl.excel import cache, vba_gen

    cache.forget()
    fx = vba_gen.functions_module()
    assert fx.BRM_VENDOR_GRADE("V1", "2026-07", str(path)) == "C"
    assert fx.BRM_SL_ACTUAL("AVAIL", "2026-08", str(path)) == 99.0
    assert fx.BRM_CREDITS("DOT", "FY2027", str(path)) == 80.0
    assert fx.BRM_CREDITS("V1", "2026-08", str(path)) == 60.0


def test_credits_stay_off_bills_when_pass_through_is_off(tmp_path):
    path = vendor_book(tmp_path / "b.xlsx", settings=[("pass_through_credits", "no")])
    assert cli("refresh", path, "--as-of", "2026-10-01").returncode == 0
    credits = output_rows(path, "ServiceCredits")
    assert credits and all(r["credited_in"] is None for r in credits)  # reported, not billed
    assert not any((r["reason"] or "").startswith("Service credit")
                   for r in output_rows(path, "Charges"))


def test_bad_vendor_input_is_named_at_its_cells(tmp_path):
    levels = [
        ("AVAIL", "C1", "Email availability", "critical", "%", "higher", D("99.9"), D("99.5"),
         60, 150, None),
        ("RESP", "C1", "Incident response", "key", "hours", "lower", D("4"), D("2"), 30, None, None)]
    results = [("2026-07", "AVAIL", D("99.95"), None), ("2026-07", "NOPE", D("1"), None)]
    path = vendor_book(tmp_path / "b.xlsx", levels, results, services="EMAIL; CLOUD")
    before = digest(path)
    done = cli("refresh", path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    for expected in (
            "ServiceLevels!G2: minimum 99.9 is better than expected 99.5 for a higher-is-better "
            "level AVAIL; swap them",
            "ServiceLevels!J2: credit_pct 150 is not a percentage from 0 to 100",
            "ServiceLevels!I2: the weights of contract C1's service levels add up to 90, not 100",
            "SLResults!B3: sl_id 'NOPE' is not in ServiceLevels",
            "Contracts!G2: service 'CLOUD' of contract C1 is not in RateCard"):
        assert expected in done.stderr, expected
    assert digest(path) == before


def test_the_agency_report_and_the_portfolio_show_the_vendors(tmp_path):
    from brm_xl.contract.periods import parse_period
    from brm_xl.pipeline.model import build_model
    from brm_xl.reports import data
    from brm_xl.reports.render import environment, render_all

    path = vendor_book(tmp_path / "b.xlsx")
    model = build_model(path, dt.date(2026, 10, 1))
    period = parse_period("2026-08")
    report = data.agency_report(model, "DOT", period)
    (line,) = report.vendors
    assert (line.vendor_name, line.grade, line.credits, line.services) == (
        "Acme Mail Co", "F", D("40.00"), "EMAIL")
    assert line.change == D("-50")  # 90 in July, 40 in August
    rendered = render_all(environment(), report, ["html", "pdf"])
    assert "The vendors behind your services" in rendered["html"].decode()
    assert "Acme Mail Co" in rendered["html"].decode()
    import io

    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(rendered["pdf"])).pages)
    assert "Acme Mail Co" in text and "$40.00" in text
    portfolio = data.portfolio(model, period)
    assert [(v.vendor_id, v.credits) for v in portfolio.vendors] == [("V1", D("60.00"))]


def test_a_credit_stays_in_its_month_when_that_month_is_closed(tmp_path):
    path = vendor_book(tmp_path / "b.xlsx")
    assert cli("refresh", path, "--as-of", "2026-10-01").returncode == 0
    assert cli("close", path, "--period", "2026-07..2026-09").returncode == 0
    done = cli("refresh", path, "--as-of", "2026-10-01")
    assert done.returncode == 0, done.stderr  # the closed months' credits did not move
    months = {r["credited_in"] for r in output_rows(path, "ServiceCredits")}
    assert months == {"2026-08", "2026-09"}


def test_the_vendor_scorecard_report(tmp_path):
    import io

    import openpyxl
    from pypdf import PdfReader

    path = vendor_book(tmp_path / "b.xlsx", actions=[
        ("CAP-1", "V1", dt.date(2026, 8, 20), "Availability below minimum", None, "New mail relays",
         "Sam Vendor", dt.date(2026, 9, 15), None)])
    done = cli("report", path, "--period", "2026-07..2026-09", "--vendors", "--as-of", "2026-10-01")
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "reports" / "2026-07-2026-09"
    html = (folder / "2026-07-2026-09_vendor_V1_scorecard.html").read_text()
    for expected in ("Vendor scorecard: Acme Mail Co", "Email availability", "Staff can email citizens",
                     "CAP-1", "$120.00"):
        assert expected in html, expected
    pdf = (folder / "2026-07-2026-09_vendor_V1_scorecard.pdf").read_bytes()
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.trailer["/Root"]["/MarkInfo"]["/Marked"] and "Acme Mail Co" in reader.pages[0].extract_text()
    sheet = openpyxl.load_workbook(folder / "2026-07-2026-09_vendor_V1_scorecard.xlsx")["Service levels"]
    (table,) = sheet.tables.values()
    assert table.name == "ServiceLevels" and sheet["A5"].value == "Email availability"
    none = cli("report", vendor_book(tmp_path / "n.xlsx", results=[]), "--period", "2026-08", "--vendors")
    assert none.returncode == 1 and "no vendor has service level results" in none.stderr
