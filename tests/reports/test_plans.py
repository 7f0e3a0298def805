"""The BRM practice in reports: the agency report's "What we planned together", the
portfolio's maturity, realised share, overdue touchpoints and forums, and the account plan
per agency (`report --plans`) in HTML, tagged PDF and XLSX; `log --touchpoint`."""

from __future__ import annotations

import io
import re

import openpyxl
import pypdf

from brm_xl.contract.periods import parse_period
from brm_xl.contract.tables import ENGAGEMENTS
from brm_xl.pipeline.model import build_model
from brm_xl.pipeline.read import load_inputs
from brm_xl.reports import data
from brm_xl.reports.account import account_plan
from brm_xl.reports.render import environment, render_all
from tests.helpers import Block, cli_in_process, minimal_book, write_book
from tests.relationships.test_practice import AS_OF, ENGAGEMENT_HEADERS, practice_book

SEPTEMBER = parse_period("2026-09")


def model_of(tmp_path, book=None, settings=()):
    book = book or practice_book()
    book.settings = settings
    return build_model(write_book(tmp_path / "b.xlsx", book), AS_OF)


def text_of(html: bytes) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html.decode()).replace("&amp;", "&").split())


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
                    .split())


def test_the_agency_report_says_what_we_planned_together_and_no_rating(tmp_path):
    model = model_of(tmp_path)
    report = data.agency_report(model, "DOT", SEPTEMBER)
    # FY2027's plans (the period's fiscal year), by due date
    assert [(p.plan_id, str(p.planned), str(p.realised), str(p.realised_pct), p.overdue)
            for p in report.plans] == [
        ("P2", "30000.00", "12345.67", "41.2", False),
        ("P1", "100000.00", "25000.50", "25.0", True),
        ("P3", "0.00", "0.00", "None", False)]
    files = render_all(environment(), report, ["html", "pdf"])
    html, pdf = text_of(files["html"]), pdf_text(files["pdf"])
    for said in ("What we planned together", "Permit portal", "Faster permits", "$100,000.00",
                 "$25,000.50", "25.0%", "2026-09-30 (overdue)", "Cloud move", "41.2%"):
        assert said in html, ("html", said)
        assert said in pdf, ("pdf", said)
    # the office's own ratings stay out of an agency head's report...
    assert "Trusted advisor" not in html and "Trusted advisor" not in pdf
    # ...unless Settings say so
    shown = data.agency_report(model_of(tmp_path, settings=[("show_health_to_agencies", "yes")]),
                               "DOT", SEPTEMBER)
    html = text_of(render_all(environment(), shown, ["html"])["html"])
    assert "we rate it 4 Trusted advisor ; you rate it 2 Order taker" in html


def test_a_workbook_without_account_plans_has_no_plans_section(tmp_path):
    model = build_model(write_book(tmp_path / "b.xlsx", minimal_book()), AS_OF)
    report = data.agency_report(model, "DOT", SEPTEMBER)
    assert report.plans is None
    assert "What we planned together" not in text_of(render_all(environment(), report,
                                                                ["html"])["html"])


def test_the_portfolio_gains_maturity_realised_share_touchpoints_and_late_forums(tmp_path):
    model = model_of(tmp_path)
    folio = data.portfolio(model, SEPTEMBER)
    rows = {r.agency_id: r for r in folio.rows}
    assert (rows["DOT"].maturity_office, rows["DOT"].maturity_agency) == (4, 2)
    assert (rows["DOR"].maturity_office, rows["DOR"].maturity_agency) == (3, None)
    # DOT's FY2027 plans: (25,000.50 + 12,345.67 + 0) / (100,000 + 30,000 + 0) = 28.727%
    assert str(rows["DOT"].realised_pct) == "28.7"
    # DOR's: the dropped kiosk is left out: 1,000 / 8,000 = 12.5%
    assert str(rows["DOR"].realised_pct) == "12.5"
    assert (rows["DOT"].touchpoints_overdue, rows["DOR"].touchpoints_overdue) == (1, 1)
    # OPS never met: listed; GOV met on 2026-09-10, within its 60 days: not
    assert [f.forum_id for f in folio.forums] == ["OPS"]
    files = render_all(environment(), folio, ["html", "pdf", "xlsx"])
    html, pdf = text_of(files["html"]), pdf_text(files["pdf"])
    for said in ("4 Trusted advisor / 2 Order taker", "3 Service provider / \u2013", "28.7%",
                 "Forums not met on time", "Operations forum", "never met"):
        assert said in html, ("html", said)
        assert said in pdf, ("pdf", said)
    sheet = openpyxl.load_workbook(io.BytesIO(files["xlsx"]))["Portfolio"]
    header = [c.value for c in sheet[4]]
    dot = next(row for row in sheet.iter_rows(min_row=5, values_only=True) if row[0] == "DOT")
    assert dot[header.index("Maturity ours")] == "4 Trusted advisor"
    assert dot[header.index("Plans realised %")] == 28.7
    assert dot[header.index("Overdue touchpoints")] == 1


def test_the_account_plan_in_html_pdf_and_xlsx(tmp_path):
    model = model_of(tmp_path)
    plan = account_plan(model, "DOR", SEPTEMBER)
    assert (plan.health, plan.reasons) == ("Watch", "1 overdue touchpoint (Budget review)")
    # every DOR plan, the dropped one too; the share leaves it out: 1,000 / 8,000
    assert [p.plan_id for p in plan.plans] == ["P4", "P5"]
    assert (str(plan.planned_total), str(plan.realised_total), str(plan.realised_pct)) == (
        "8000.00", "1000.00", "12.5")
    assert [(t.touchpoint, t.last_held, str(t.due_on), t.overdue) for t in plan.touchpoints] == [
        ("Budget review", None, "2026-10-01", True),
        ("GOV", AS_OF.replace(month=9, day=10), "2026-11-09", False)]
    assert [(s.name, str(s.last_met), s.days_since, s.overdue) for s in plan.stakeholders] == [
        ("Head DOR", "2026-09-10", 25, False)]
    assert [f.forum_id for f in plan.forums] == ["GOV", "OPS"]
    dot = account_plan(model, "DOT", SEPTEMBER)
    assert [(s.name, s.overdue) for s in dot.stakeholders] == [
        ("Head  DOT", False), ("Jo Roe", False), ("Big Boss", True)]
    assert [(side, r.level) for side, r in dot.maturity.history] == [
        ("office", 5), ("agency", 3), ("office", 4), ("agency", 2)]
    files = render_all(environment(), dot, ["html", "pdf", "xlsx"])
    html, pdf = text_of(files["html"]), pdf_text(files["pdf"])
    for said in ("Account plan: Agency DOT", "4 Trusted advisor", "2 Order taker",
                 "Permit portal", "$25,000.50", "Big Boss", "never met", "Quarterly business review",
                 "Technology governance board", "March 2, 2026", "the later row of the day stands"):
        assert said in html, ("html", said)
        assert said in pdf, ("pdf", said)
    assert "the later row of the day stands" in html and "typed wrong" not in html
    info = pypdf.PdfReader(io.BytesIO(files["pdf"]))
    assert info.metadata.title == "Account plan: Agency DOT, as of October 5, 2026"
    book = openpyxl.load_workbook(io.BytesIO(files["xlsx"]))
    sheet = book["Account plan"]
    assert sorted(sheet.tables) == ["Plans", "Stakeholders", "Touchpoints"]
    cells = {c.value for row in sheet.iter_rows() for c in row if c.value is not None}
    assert {"P1", "Permit portal", 100000, 25000.5, 25, "Big Boss"} <= cells


def test_report_plans_writes_one_account_plan_per_agency(tmp_path):
    path = write_book(tmp_path / "b.xlsx", practice_book())
    done = cli_in_process("report", path, "--period", "2026-09", "--plans", "--as-of",
                          AS_OF.isoformat(), "--format", "html,xlsx")
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "reports" / "2026-09"
    assert sorted(p.name for p in folder.iterdir()) == [
        "2026-09_DOR_account_plan.html", "2026-09_DOR_account_plan.xlsx",
        "2026-09_DOT_account_plan.html", "2026-09_DOT_account_plan.xlsx"]
    both = cli_in_process("report", path, "--period", "2026-09", "--plans", "--portfolio")
    assert both.returncode == 2 and "choose one" in both.stderr


def test_log_keeps_its_touchpoint(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book(
        Engagements=Block("Engagements", ENGAGEMENT_HEADERS, [])))
    done = cli_in_process("log", path, "--agency", "DOT", "--channel", "Virtual meeting",
                          "--topic", "Q2 review", "--date", "2026-10-01", "--touchpoint",
                          "Quarterly business review")
    assert done.returncode == 0, done.stderr
    inputs, _ = load_inputs(path, specs=(ENGAGEMENTS,), checks=())
    (row,) = inputs.frame("Engagements").to_dicts()
    assert row["touchpoint"] == "Quarterly business review"
    # a table made before the touchpoint column: said, and nothing written
    old = write_book(tmp_path / "old.xlsx", minimal_book(Engagements=Block(
        "Engagements", ENGAGEMENT_HEADERS[:-1], [])))
    refused = cli_in_process("log", old, "--agency", "DOT", "--channel", "Phone", "--topic",
                             "x", "--touchpoint", "GOV")
    assert refused.returncode == 1
    assert "Engagements has no column for touchpoint; add it and retry" in refused.stderr
