"""Issue 11: one figure, one home; each test failed before the fix."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from brm_xl.pipeline.model import build_model
from brm_xl.pipeline.read import load_inputs
from tests.helpers import Block, minimal_book, usage, write_book


def test_a_service_charged_without_a_cost_pool_has_a_blank_cost_not_zero(tmp_path):
    b = minimal_book(Usage=usage(("2026-09", "DOT", "EMAIL", 100), ("2026-09", "DOR", "VM", 2)))
    b.blocks[1].rows = [("EMAIL", "Email", "End User", "mailbox-month", D("4.00"), "2026-01", None),
                        ("VM", "VM", "Compute", "VM-month", D("100"), "2026-01", None)]
    b.blocks.append(Block("CostPools", ["period", "service_id", "cost"], [("2026-09", "EMAIL", 390)]))
    model = build_model(write_book(tmp_path / "b.xlsx", b), dt.date(2026, 10, 1))
    rows = {r.service_id: r for r in model.chargeback.recovery}
    assert rows["EMAIL"].cost == D("390.00") and rows["EMAIL"].variance == D("10.00")
    assert rows["VM"].cost is None and rows["VM"].variance is None
    assert rows["VM"].recovery_pct is None and rows["VM"].charged == D("200.00")
    assert [str(w) for w in model.warnings if w.code == "no-cost-pool"] == [
        "CostPools: no cost pool for VM in 2026-09, though it was charged that month; its cost, "
        "variance and recovery are left blank"]


def test_one_excel_error_cell_is_one_problem(tmp_path):
    def na(wb, sheets):
        sheets["Usage"].write_formula("D3", "=NA()", None, "#N/A")

    path = write_book(tmp_path / "b.xlsx", minimal_book(), na)
    _, problems = load_inputs(path)
    assert [str(p) for p in problems if p.is_error] == [
        "Usage!D3: quantity holds an Excel error (#N/A); fix the formula or type a value"]


def test_the_value_section_and_the_headline_give_one_net_value(tmp_path):
    from brm_xl.contract.periods import parse_period
    from brm_xl.reports import data

    b = minimal_book()
    b.blocks += [
        Block("Adjustments", ["period", "agency_id", "service_id", "amount", "reason"],
              [("2026-09", "DOT", "EMAIL", D("25.00"), "licence true-up")]),
        Block("StandaloneCosts", ["service_id", "component", "unit_cost"],
              [("EMAIL", "Staff", D("6.00")), ("EMAIL", "Electricity", D("1.25"))]),
    ]
    model = build_model(write_book(tmp_path / "b.xlsx", b), dt.date(2026, 10, 1))
    report = data.agency_report(model, "DOT", parse_period("2026-09", 7))
    summary = next(r for r in model.view.summary if r.agency_id == "DOT")
    assert summary.charges == D("425.00") and summary.net_value == D("300.00")
    assert report.headline.paid == report.value.charged == summary.charges
    assert report.headline.net_value == report.value.net_value == summary.net_value


def test_a_late_response_counts_nowhere_until_it_has_happened(tmp_path):
    from brm_xl.contract.periods import parse_period
    from brm_xl.excel.queries import Index
    from brm_xl.reports import data

    b = minimal_book()
    b.blocks.append(Block("Survey", ["response_id", "submitted_on", "agency_id", "respondent",
                                     "score", "followed_up_on"],
                          [("R1", dt.date(2026, 9, 20), "DOT", "Ann", 2, None)]))
    path = write_book(tmp_path / "b.xlsx", b)
    for as_of, expected in ((dt.date(2026, 9, 15), 0), (dt.date(2026, 9, 25), 1)):
        model = build_model(path, as_of)
        summary = next(r for r in model.view.summary if r.agency_id == "DOT")
        report = data.agency_report(model, "DOT", parse_period("2026-09", 7))
        index = Index.build(model)
        relation = next(r for r in model.view.relationships if r.agency_id == "DOT")
        assert summary.open_follow_ups == expected, as_of
        assert len(model.view.follow_ups) == expected, as_of
        assert report.satisfaction.follow_ups_open == expected, as_of
        assert relation.open_follow_ups == expected, as_of
        assert index.open_follow_ups("DOT") == expected, as_of
        assert summary.responses == report.satisfaction.responses == expected, as_of


def test_a_partial_fiscal_year_is_compared_with_the_same_months(tmp_path):
    from brm_xl.contract.periods import parse_period
    from brm_xl.reports import data

    months = [f"{y}-{m:02d}" for y, m in [(2025, 7), (2025, 8), (2025, 9), (2025, 10), (2025, 11),
                                           (2026, 7), (2026, 8)]]
    b = minimal_book(Usage=usage(*[(m, "DOT", "EMAIL", 100 + i) for i, m in enumerate(months)]),
                     Headcount=Block("Headcount", ["period", "agency_id", "users"],
                                     [(m, "DOT", 100) for m in months]))
    b.blocks[1].rows = [("EMAIL", "Email", "End User", "mailbox-month", D("4.00"), "2025-01", None)]
    model = build_model(write_book(tmp_path / "b.xlsx", b), dt.date(2026, 9, 1))
    head = data.agency_report(model, "DOT", parse_period("FY2027", 7)).headline
    assert head.paid == D(4 * (105 + 106))
    assert head.prior_paid == D(4 * (100 + 101))  # July and August 2025 only, not all FY2026
    assert head.comparison == ("FY2027 so far (July 2026 to August 2026) against the same "
                                  "months of FY2026")
    head = data.agency_report(model, "DOT", parse_period("FY2026", 7)).headline
    assert head.comparison == ("FY2026 holds data for July 2025 to November 2025 only; "
                                  "compared with the same months of FY2025; FY2025 holds no data "
                                  "for those months")
    assert head.prior_paid is None


@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
def test_usage_files_given_to_refresh_belong_to_the_workbook(tmp_path):
    import subprocess
    import sys

    import openpyxl

    from brm_xl.excel import cache
    from brm_xl.excel.queries import Index
    from tests.helpers import output_rows

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "brm_xl", *map(str, args)],
                              capture_output=True, text=True, timeout=300)

    path = write_book(tmp_path / "b.xlsx", minimal_book())
    extra = tmp_path / "extra.csv"
    extra.write_text("period,agency_id,service_id,quantity\n2026-09,DOT,EMAIL,50\n")
    assert cli("refresh", path, "--usage", extra, "--as-of", "2026-10-01").returncode == 0
    charged = {r["agency_id"]: D(r["charges"]) for r in output_rows(path, "AgencySummary")}
    assert charged["DOT"] == D("600")  # 100 in the sheet, 50 in the file, at $4
    assert [(r["kind"], r["path"]) for r in output_rows(path, "Sources")] == [("usage", "extra.csv")]
    done = cli("report", path, "--period", "2026-09", "--format", "xlsx", "--agency", "DOT")
    assert done.returncode == 0, done.stderr
    bill = openpyxl.load_workbook(tmp_path / "reports" / "2026-09" / "2026-09_DOT_value_report.xlsx")
    sheet = bill["Bill of IT"]
    total = next(c for row in sheet.iter_rows() for c in row if c.value == "Total charged")
    cached = openpyxl.load_workbook(tmp_path / "reports" / "2026-09" / "2026-09_DOT_value_report.xlsx",
                                    data_only=True)["Bill of IT"]
    assert D(str(cached.cell(total.row, 7).value)) == charged["DOT"]
    cache.forget()
    assert Index.build(build_model(path, dt.date(2026, 10, 1))).charges[("DOT", "2026-09")] == 60000
    extra.write_text("period,agency_id,service_id,quantity\n2026-09,DOT,EMAIL,70\n")
    done = cli("report", path, "--period", "2026-09")
    assert done.returncode == 1
    assert "Sources!B2: extra.csv has changed since the last refresh used it" in done.stderr
    assert cli("refresh", path).returncode == 0  # the recorded file, read again
    assert {r["agency_id"]: D(r["charges"]) for r in output_rows(path, "AgencySummary")}["DOT"] == D("680")


def test_the_python_api_gives_every_table_and_figure_as_dataframes(tmp_path):
    import brm_xl

    b = minimal_book()
    b.blocks.append(Block("Adjustments", ["period", "agency_id", "service_id", "amount", "reason"],
                          [("2026-09", "DOT", "EMAIL", D("-12.50"), "credit")]))
    wb = brm_xl.load(write_book(tmp_path / "b.xlsx", b), as_of="2026-10-01")
    assert {"Agencies", "RateCard", "Usage", "Headcount", "Adjustments"} <= set(wb.inputs)
    assert {"Charges", "AgencySummary", "RefreshLog"} <= set(wb.outputs)
    charges = wb.table("Charges")
    assert list(charges.columns)[:3] == ["period", "agency_id", "service_id"]
    assert sum(charges["amount"]) == D("587.50") and isinstance(charges["amount"][0], D)
    summary = wb.table("agencysummary").set_index("agency_id")
    figures = wb.figures("2026-09").set_index("agency_id")
    for agency in ("DOT", "DOR"):
        assert figures.loc[agency, "paid"] == summary.loc[agency, "charges"]
        assert figures.loc[agency, "cost_per_user"] == summary.loc[agency, "cost_per_user"]
    assert wb.table("Usage")["quantity"].sum() == D("150")


def test_every_consumer_gives_the_same_figure_for_every_agency_and_period(tmp_path):
    """AgencySummary, the agency report, the portfolio row, the email and each BRM_*
    answer, for a workbook with adjustments, a usage file, a partial fiscal year and a
    response that arrives after --as-of."""

    from brm_xl.app.refresh import refresh
    from brm_xl.contract.inputs import Sources
    from brm_xl.contract.periods import parse_period
    from brm_xl.delivery import run as delivery
    from brm_xl.excel.queries import Index
    from brm_xl.reports import data
    from brm_xl.reports.render import money
    from tests.helpers import headcount, output_rows, rate_card

    months = ["2025-08", "2025-09", "2026-07", "2026-08", "2026-09"]
    b = minimal_book(
        RateCard=rate_card(("EMAIL", D("4.00"), "2025-01", None), ("VM", D("117.35"), "2025-01", None)),
        Usage=usage(*[(m, a, "EMAIL", 10 * (i + 1) + j) for i, m in enumerate(months)
                      for j, a in enumerate(["DOT", "DOR"])]),
        Headcount=headcount(*[(m, a, 40 + j) for m in months for j, a in enumerate(["DOT", "DOR"])]))
    b.blocks += [
        Block("Adjustments", ["period", "agency_id", "service_id", "amount", "reason"],
              [("2026-09", "DOT", "EMAIL", D("-7.77"), "credit"), ("2025-09", "DOR", None, D("3.10"), "fee")]),
        Block("StandaloneCosts", ["service_id", "component", "unit_cost"], [("EMAIL", "Staff", D("5.5"))]),
        Block("Survey", ["response_id", "submitted_on", "agency_id", "respondent", "score"],
              [("R1", dt.date(2026, 9, 3), "DOT", "A", 5), ("R2", dt.date(2026, 9, 9), "DOT", "B", 2),
               ("R3", dt.date(2026, 9, 29), "DOR", "C", 1)]),  # R3 is after --as-of
    ]
    b.settings = [("sender_email", "brm@cio.example")]
    path = write_book(tmp_path / "b.xlsx", b)
    extra = tmp_path / "vm.csv"
    extra.write_text("period,agency_id,service_id,quantity\n2026-08,DOT,VM,3\n2026-09,DOR,VM,1.5\n")
    as_of = dt.date(2026, 9, 20)
    refresh(path, as_of=as_of, sources=Sources((extra,)))
    sheet = output_rows(path, "AgencySummary")
    model = build_model(path, as_of)
    index = Index.build(model)
    for label in ("2026-09", "2026-08", "FY2027", "FY2027-Q1", "FY2026", "2025-08..2026-09"):
        period = parse_period(label, 7)
        portfolio = {r.agency_id: r for r in data.portfolio(model, period).rows}
        batch = delivery.Batch(model, period, list(portfolio))
        pdfs = {a: {"pdf": b"%PDF-1.7 (not rendered here)"} for a in portfolio}
        messages = {o.agency_id: o for o in delivery.build(batch, False, dt.datetime(2026, 9, 20, 9),
                                                           rendered=pdfs)}
        for agency in ("DOT", "DOR"):
            rows = [r for r in sheet if r["agency_id"] == agency and r["period"] in period]
            charged = sum((D(r["charges"]) for r in rows), D(0))
            report = data.agency_report(model, agency, period)
            head = report.headline
            assert head.paid == charged == portfolio[agency].charges, (label, agency)
            assert index.charges_for(agency, label) == charged, (label, agency)
            assert index.cost_per_user(agency, label) == head.cost_per_user == \
                portfolio[agency].cost_per_user, (label, agency)
            assert index.net_value(agency, label) == head.net_value == \
                report.value.net_value == portfolio[agency].net_value, (label, agency)
            assert index.csat(agency, label) == report.satisfaction.csat == \
                portfolio[agency].csat, (label, agency)
            text = messages[agency].message.get_body(("plain",)).get_content()
            assert f"You paid {money(charged)}." in text, (label, agency)
    assert index.open_follow_ups("DOR") == 0 and index.open_follow_ups("DOT") == 1
