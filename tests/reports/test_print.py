"""The reports an agency head and a CIO read: tagged PDF from Typst, charts that read, the
office's working view kept to the office, the portfolio, multi-month bills, and nothing to
do said as such."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from decimal import Decimal as D

import openpyxl
import pytest
from pypdf import PdfReader

from brm_xl.contract.periods import parse_period
from brm_xl.pipeline.model import build_model
from brm_xl.problems import BrmError
from brm_xl.reports import charts, data
from brm_xl.reports.render import environment, render_all, render_html, signed_pct
from brm_xl.reports.run import make_reports
from brm_xl.reports.typst_pdf import escape
from tests.helpers import write_book
from tests.reports.test_reports import AS_OF, report_book


def cli(*args):
    return subprocess.run([sys.executable, "-m", "brm_xl", *map(str, args)], capture_output=True,
                          text=True, timeout=180)


def pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def is_tagged(content: bytes) -> bool:
    root = PdfReader(io.BytesIO(content)).trailer["/Root"]
    return bool(root.get("/MarkInfo", {}).get("/Marked")) and "/StructTreeRoot" in root


def test_pdf_is_tagged_and_needs_no_pango(tmp_path):
    model = build_model(write_book(tmp_path / "b.xlsx", report_book()), AS_OF)
    period = parse_period("2026-09")
    env = environment()
    agency = render_all(env, data.agency_report(model, "DOT", period), ["pdf"])["pdf"]
    portfolio = render_all(env, data.portfolio(model, period), ["pdf"])["pdf"]
    assert is_tagged(agency) and is_tagged(portfolio)
    reader = PdfReader(io.BytesIO(agency))
    assert reader.metadata.title == "Value of IT: Agency DOT, September 2026"
    assert 2 <= len(reader.pages) <= 3
    with open("/proc/self/maps") as maps:  # the print engine loads no Pango or GObject
        loaded = maps.read()
    assert "libpango" not in loaded and "libgobject" not in loaded


def test_workbook_text_never_becomes_typst_markup(tmp_path):
    hostile = '#read("/etc/passwd") *bold* $x^2$ <label> @ref [link](x) // not a comment _x_'
    assert escape(hostile).count("\\#") == 1 and "\\$" in escape(hostile)
    book = report_book()
    for block in book.blocks:
        if block.name == "Adjustments":
            block.rows = [("2026-09", "DOT", "EMAIL", D("-12.50"), hostile)]
    model = build_model(write_book(tmp_path / "b.xlsx", book), AS_OF)
    pdf = render_all(environment(), data.agency_report(model, "DOT", parse_period("2026-09")),
                     ["pdf"])["pdf"]
    text = " ".join(pdf_text(pdf).split())
    assert '#read("/etc/passwd")' in text and "*bold*" in text and "$x^2$" in text
    assert "root:" not in text


def test_the_trend_axis_fits_the_data_and_lines_are_labelled():
    chart = charts.lines(["Sep", "Oct"], {"Your agency": [D("171.20"), D("169.11")],
                                          "Statewide": [D("166.80"), D("166.80")]})
    ticks = [t["value"] for t in chart["ticks"]]
    assert ticks[0] >= 160 and ticks[-1] <= 175  # not $0 to $200
    ys = [s["dots"][-1][1] for s in chart["series"]]
    assert abs(ys[0] - ys[1]) > 30  # the two lines are drawn apart
    assert [s["name"] for s in chart["series"]] == ["Your agency", "Statewide"]
    assert chart["series"][0]["color"] != chart["series"][1]["color"]
    assert chart["series"][1]["dash"]  # told apart without colour too
    labels = [s["label_y"] for s in chart["series"]]
    assert abs(labels[0] - labels[1]) >= 13  # direct labels never overlap
    close = charts.lines(["Oct"], {"Your agency": [D("170.00")], "Statewide": [D("170.10")]})
    a, b = (s["label_y"] for s in close["series"])
    assert abs(a - b) >= 13


def test_a_month_without_responses_is_no_data_not_zero():
    chart = charts.columns(["Aug", "Sep"], [None, D("0")])
    assert chart["bars"][0]["no_data"] and not chart["bars"][1]["no_data"]
    assert chart["bars"][1]["h"] == 0
    assert all(b["y"] - 4 >= 11 for b in charts.columns(["x"], [D("100")])["bars"])  # label fits


def test_no_negative_zero():
    assert signed_pct(D("-0.04")) == "0.0%" and signed_pct(D("-0.06")) == "-0.1%"
    assert signed_pct(D("1.25")) == "+1.3%"


def test_the_working_view_stays_with_the_office_unless_settings_says(tmp_path):
    model = build_model(write_book(tmp_path / "b.xlsx", report_book()), AS_OF)
    report = data.agency_report(model, "DOT", parse_period("2026-09"))
    assert report.engagement is not None and report.engagement.health
    rendered = render_all(environment(), report, ["html", "pdf"])
    for text in (rendered["html"].decode(), pdf_text(rendered["pdf"])):
        assert "Relationship health" not in text and "Low scores followed up" not in text
    book = report_book()
    book.settings = list(book.settings) + [("show_health_to_agencies", "yes")]
    model = build_model(write_book(tmp_path / "c.xlsx", book), AS_OF)
    report = data.agency_report(model, "DOT", parse_period("2026-09"))
    assert report.internal
    html = render_html(environment(), report)
    assert "Relationship health" in html and "Low scores followed up" in html


def test_portfolio_by_severity_with_reasons_and_an_xlsx_table(tmp_path):
    path = write_book(tmp_path / "b.xlsx", report_book())
    model = build_model(path, AS_OF)
    portfolio = data.portfolio(model, parse_period("2026-09"))
    order = [data.SEVERITY[r.health] for r in portfolio.rows]
    assert order == sorted(order)
    assert all(r.reasons for r in portfolio.rows if r.health)
    written = make_reports(path, "2026-09", portfolio=True, model=model)
    assert sorted(w.path.suffix for w in written) == [".html", ".pdf", ".xlsx"]
    xlsx = next(w.path for w in written if w.path.suffix == ".xlsx")
    sheet = openpyxl.load_workbook(xlsx)["Portfolio"]
    (table,) = sheet.tables.values()
    assert table.name == "Portfolio" and table.autoFilter is not None
    assert sheet["A4"].value == "Agency id" and sheet["J4"].value == "Why"
    assert isinstance(sheet["D5"].value, float) and sheet["D5"].number_format.startswith("#,##0.00")
    html = next(w.path for w in written if w.path.suffix == ".html").read_text()
    assert 'aria-sort="ascending"><button type="button">Health</button>' in html and "screen-only" in html
    pdf = next(w.path for w in written if w.path.suffix == ".pdf").read_bytes()
    assert "Click a column heading" not in pdf_text(pdf)


def test_a_repriced_service_says_which_months_each_rate_covers(tmp_path):
    book = report_book()
    months = ["2026-07", "2026-08", "2026-09"]
    for block in book.blocks:
        if block.name == "RateCard":
            block.rows = [("EMAIL", "Service EMAIL", "End User", "unit-month", D("4.00"), "2026-01",
                           "2026-07"), ("EMAIL", "Service EMAIL", "End User", "unit-month",
                                        D("4.50"), "2026-08", None)]
        if block.name == "Usage":
            block.rows = [(m, a, "EMAIL", 10) for m in months for a in ("DOT", "DOR")]
        if block.name == "Headcount":
            block.rows = [(m, a, 10) for m in months for a in ("DOT", "DOR")]
    model = build_model(write_book(tmp_path / "b.xlsx", book), AS_OF)
    bill = data.bill(model, "DOT", parse_period("2026-07..2026-09"))
    (tower,) = bill.towers
    assert [(line.rate, line.months) for line in tower.lines] == [
        (D("4"), "Jul 2026"), (D("4.5"), "Aug 2026 to Sep 2026")]
    html = render_html(environment(), data.agency_report(model, "DOT", parse_period("2026-07..2026-09")))
    assert "(EMAIL, Jul 2026)" in html


@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
def test_nothing_to_report_is_a_sentence_and_exit_1(tmp_path):
    path = write_book(tmp_path / "b.xlsx", report_book())
    done = cli("report", path, "--period", "2030-01")
    assert done.returncode == 1
    assert "nothing to report for January 2030: no agency has charges, usage or headcount " \
           "in it; the workbook holds" in done.stderr
    done = cli("email", path, "--period", "2030-01")
    assert done.returncode == 1 and "nothing to report for January 2030" in done.stderr
    with pytest.raises(BrmError):
        make_reports(path, "2026-09", manager="Nobody Here")
    done = cli("report", path, "--period", "2026-09", "--manager", "pat manager", "--format", "html")
    assert done.returncode == 0, done.stderr


@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
def test_email_chart_inline_reply_to_the_manager_and_every_address_problem_at_once(tmp_path):
    book = report_book()
    book.settings = list(book.settings) + [("sender_email", "brm@cio.example")]
    for block in book.blocks:
        if block.name == "Agencies":
            rows = [list(r) for r in block.rows]
            rows[0][3] = "not-an-address"  # DOT's head
            block.rows = [tuple(r) for r in rows]
    path = write_book(tmp_path / "b.xlsx", book)
    out = tmp_path / "drafts"
    done = cli("email", path, "--period", "2026-09", "--out", out)
    assert done.returncode == 1, done.stderr
    assert "Wrote 1 draft(s)" in done.stdout
    assert "Agencies!D2: head_email 'not-an-address' is not an email address for DOT" in done.stderr
    (draft,) = out.glob("*.eml")
    import email
    from email import policy

    message = email.message_from_bytes(draft.read_bytes(), policy=policy.default)
    assert message["Reply-To"] == "Pat Manager <pat@cio.example>"
    png = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert png.get_content_disposition() == "inline"
    # sending never goes ahead on a partial batch, nor unasked without a terminal
    done = cli("email", path, "--period", "2026-09", "--send", "--smtp-host", "127.0.0.1")
    assert done.returncode == 1 and "not an email address for DOT" in done.stderr
    good = report_book()
    good.settings = list(good.settings) + [("sender_email", "brm@cio.example")]
    fixed = write_book(tmp_path / "ok.xlsx", good)
    done = subprocess.run([sys.executable, "-m", "brm_xl", "email", str(fixed), "--period", "2026-09",
                           "--send", "--smtp-host", "127.0.0.1"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 2 and "--send asks before it sends" in done.stderr


def test_portfolio_xlsx_writes_no_formula_from_a_name(tmp_path):
    book = report_book()
    for block in book.blocks:
        if block.name == "Agencies":
            rows = [list(r) for r in block.rows]
            rows[0][1] = '=HYPERLINK("http://evil","x")'
            block.rows = [tuple(r) for r in rows]
    path = write_book(tmp_path / "b.xlsx", book)
    written = make_reports(path, "2026-09", portfolio=True, formats=["xlsx"])
    with zipfile.ZipFile(written[0].path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # the name is a text cell, never a formula
    cell = openpyxl.load_workbook(written[0].path)["Portfolio"]["B5"]
    assert cell.value == '=HYPERLINK("http://evil","x")' and cell.data_type == "s"
