"""Value-of-IT reports: periods, golden HTML, PDF text, XLSX cells, privacy, escaping, CLI."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import subprocess
import sys
import zipfile
from decimal import Decimal as D

import openpyxl
import pytest
from pypdf import PdfReader

from brm_xl import __version__
from brm_xl.contract.periods import parse_period
from brm_xl.filenames import safe_name
from brm_xl.pipeline.model import build_model
from brm_xl.problems import UsageError
from brm_xl.reports import data
from brm_xl.reports.render import environment, render_all, render_html
from brm_xl.reports.run import make_reports
from tests.helpers import (
    TESTS,
    Block,
    agencies,
    headcount,
    minimal_book,
    rate_card,
    usage,
    write_book,
)
from tests.relationships.test_relationships import relationship_book

GOLDEN = TESTS / "golden"
AS_OF = dt.date(2026, 10, 1)


def test_periods():
    assert parse_period("2026-06").months == ["2026-06"]
    fy = parse_period("FY2026")
    assert (fy.start, fy.end, fy.prior().label) == ("2025-07", "2026-06", "FY2025")
    assert parse_period("fy2026", fiscal_start=1).months[0] == "2026-01"
    q4 = parse_period("FY2026-Q4")
    assert (q4.start, q4.end, q4.prior().label) == ("2026-04", "2026-06", "FY2026-Q3")
    assert parse_period("FY2026-Q1").prior().label == "FY2025-Q4"
    r = parse_period("2026-01..2026-06")
    assert (len(r.months), r.prior().label) == (6, "2025-07..2025-12")
    assert parse_period("2026-01").prior().label == "2025-12"
    for bad in ("2026-13", "FY26", "2026-06..2026-01", "June"):
        with pytest.raises(UsageError):
            parse_period(bad)


def test_safe_file_names():
    assert safe_name("DOA/OTS") == "DOA-OTS"
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert safe_name("2026-01..2026-06") == "2026-01-2026-06"
    assert safe_name("..") == "unnamed"


def report_book(**extra):
    standalone = Block("StandaloneCosts", ["service_id", "component", "unit_cost"],
                       [("EMAIL", "Hardware refresh", D("1.50")), ("EMAIL", "Staff", D("3.25"))])
    adjustments = Block("Adjustments", ["period", "agency_id", "service_id", "amount", "reason"],
                        [("2026-09", "DOT", "EMAIL", D("-12.50"), "Credit: <b>disputed</b> mailboxes")])
    outcomes = Block("Outcomes", ["agency_id", "initiative", "outcome", "measure", "baseline",
                                  "target", "actual", "status", "as_of"],
                     [("DOT", "Mailbox migration", "Everyone on one tenant", "Mailboxes moved",
                       "0", "100", "100", "Achieved", dt.date(2026, 9, 30))])
    return relationship_book(StandaloneCosts=standalone, Adjustments=adjustments,
                             Outcomes=outcomes, **extra)


def normalise(html: str) -> str:
    html = re.sub(r"Prepared [A-Z][a-z]+ \d+, \d{4}", "Prepared DATE", html)
    return html.replace(__version__, "VERSION")


def test_golden_html(tmp_path):
    """The DOT report of a small fixed workbook, byte for byte; BRM_UPDATE_GOLDEN=1 rewrites it."""
    path = write_book(tmp_path / "b.xlsx", report_book())
    model = build_model(path, AS_OF)
    report = data.agency_report(model, "DOT", parse_period("2026-09"))
    html = normalise(render_html(environment(), report))
    golden = GOLDEN / "dot_2026-09.html"
    if os.environ.get("BRM_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(html)
    assert html == golden.read_text(), "report HTML changed; rerun with BRM_UPDATE_GOLDEN=1 " \
        "if the change is intended, and look at the result"


def test_report_figures_pdf_text_and_xlsx(tmp_path):
    path = write_book(tmp_path / "b.xlsx", report_book())
    model = build_model(path, AS_OF)
    report = data.agency_report(model, "DOT", parse_period("2026-09"))
    h = report.headline
    # DOT in September: 10 mailboxes x $4.00 = 40.00, less a 12.50 credit
    assert (h.paid, h.cost_per_user, h.prior_cost_per_user) == (D("27.50"), D("2.75"), D("4.00"))
    assert h.change_pct == D("-31.3") and h.standalone == D("47.50")
    assert h.net_value == D("20.00") and h.statewide_cost_per_user == D("3.17")
    rendered = render_all(environment(), report, ["html", "pdf", "xlsx"])
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(rendered["pdf"])).pages)
    for expected in ("The value of shared IT to Agency DOT", "Your bill of IT", "$27.50",
                     "Credit: <b>disputed</b> mailboxes", "Mailbox migration", "Pat Manager"):
        assert expected in text
    assert len(PdfReader(io.BytesIO(rendered["pdf"])).pages) <= 3
    book = openpyxl.load_workbook(io.BytesIO(rendered["xlsx"]))
    sheet = book["Bill of IT"]
    cells = {c.coordinate: c for row in sheet.iter_rows() for c in row if c.value is not None}
    assert cells["C5"].value == "Service EMAIL" and cells["E5"].value == 10
    assert cells["G5"].value == 40 and cells["G5"].number_format == "#,##0.00_);(#,##0.00)"
    assert cells["G6"].value == "=SUM(G5:G5)"
    reasons = [c for c in cells.values() if c.value == "Credit: <b>disputed</b> mailboxes"]
    assert reasons and reasons[0].data_type == "s"
    total = next(c for c in cells.values() if c.value == "Total charged")
    assert str(sheet.cell(row=total.row, column=7).value).startswith("=G6+G")
    assert sheet["J5"].value.startswith("=SUMPRODUCT(--(") and sheet["J5"].value.count("=I5")
    with zipfile.ZipFile(io.BytesIO(rendered["xlsx"])) as z:
        assert "xl/charts/chart1.xml" in z.namelist()


def test_sections_without_data_say_so(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    model = build_model(path, AS_OF)
    html = render_html(environment(), data.agency_report(model, "DOR", parse_period("2026-09")))
    for sentence in ("No standalone costs are on record", "No adjustments in September 2026",
                     "Satisfaction surveys are not yet recorded", "Contacts with your agency are "
                     "not yet logged", "No outcomes are recorded"):
        assert sentence in html
    assert "<table>\n  <thead><tr><th>Cost of running it yourself" not in html


def test_workbook_text_is_escaped(tmp_path):
    evil = "<img src=x onerror=alert(1)>"
    book = report_book()
    path = write_book(tmp_path / "b.xlsx", book)
    model = build_model(path, AS_OF)
    model.inputs.tables["Survey"].frame = model.inputs.frame("Survey").with_columns(
        comment=model.inputs.frame("Survey")["comment"].fill_null(evil))
    html = render_html(environment(), data.agency_report(model, "DOT", parse_period("2026-09")))
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and evil not in html
    assert "Credit: &lt;b&gt;disputed&lt;/b&gt; mailboxes" in html


NAMES = {"ZEBRA": "Zebra Crossing Authority", "QUOKKA": "Quokka Licensing Board",
         "NARWHAL": "Narwhal Harbour Office"}


def privacy_book():
    ags = agencies(*NAMES)
    ags.rows = [(a, NAMES[a], f"Head of {NAMES[a]}", f"head@{a.lower()}.example", f"Manager {a}",
                 f"{a.lower()}@cio.example", 30) for a in NAMES]
    # distinctive quantities give each agency charges no other agency has
    return minimal_book(
        Agencies=ags,
        RateCard=rate_card(("EMAIL", D("4.00"), "2026-01", None)),
        Usage=usage(("2026-09", "ZEBRA", "EMAIL", 1111), ("2026-09", "QUOKKA", "EMAIL", 2222),
                    ("2026-09", "NARWHAL", "EMAIL", 3333)),
        Headcount=headcount(("2026-09", "ZEBRA", 101), ("2026-09", "QUOKKA", 202),
                            ("2026-09", "NARWHAL", 303)),
    )


def test_no_report_carries_another_agencys_name_or_figures(tmp_path):
    path = write_book(tmp_path / "p.xlsx", privacy_book())
    written = make_reports(path, "2026-09", out=tmp_path / "out", as_of=AS_OF, workers=1)
    figures = {"ZEBRA": ["4,444", "1,111", "Manager ZEBRA"], "QUOKKA": ["8,888", "2,222", "Manager QUOKKA"],
               "NARWHAL": ["13,332", "3,333", "Manager NARWHAL"]}
    assert len(written) == 9
    for w in written:
        content = w.path.read_bytes()
        if w.extension == "pdf":
            text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
        elif w.extension == "xlsx":
            sheet = openpyxl.load_workbook(io.BytesIO(content))["Bill of IT"]
            text = " ".join(f"{c.value:,}" if isinstance(c.value, (int, float)) else str(c.value)
                            for row in sheet.iter_rows() for c in row if c.value is not None)
        else:
            text = content.decode()
        assert NAMES[w.agency] in text or w.extension == "xlsx" and w.agency in text
        for other, name in NAMES.items():
            if other == w.agency:
                continue
            assert name not in text and other not in text, (w.path.name, other)
            for figure in figures[other]:
                assert figure not in text, (w.path.name, figure)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "brm_xl", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
def test_cli_report_default_folder_safe_names_and_portfolio(tmp_path):
    book = report_book()
    book.blocks[0].rows = list(book.blocks[0].rows) + [
        ("DOA/OTS", "Office of Technology Services", "Ann", "ann@ots.example", "Pat Manager",
         "pat@cio.example", 30)]
    book.blocks[2].rows = list(book.blocks[2].rows) + [("2026-09", "DOA/OTS", "EMAIL", 3)]
    path = write_book(tmp_path / "b.xlsx", book)
    done = cli("report", path, "--period", "2026-09", "--as-of", "2026-10-01")
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "reports" / "2026-09"
    names = sorted(p.name for p in folder.iterdir())
    assert "2026-09_DOA-OTS_value_report.pdf" in names and "2026-09_DOT_value_report.xlsx" in names
    assert len(names) == 9
    done = cli("report", path, "--period", "FY2027-Q1", "--portfolio", "--format", "html,pdf",
               "--as-of", "2026-10-01")
    assert done.returncode == 0, done.stderr
    portfolio = tmp_path / "reports" / "FY2027-Q1" / "FY2027-Q1_portfolio.pdf"
    assert len(PdfReader(portfolio).pages) == 1
    html = (tmp_path / "reports" / "FY2027-Q1" / "FY2027-Q1_portfolio.html").read_text()
    assert "Office of Technology Services" in html and 'data-type="num"' in html
    assert cli("report", path, "--period", "2026-13").returncode == 2
    assert cli("report", path, "--period", "2026-09", "--format", "docx").returncode == 2
    assert cli("report", path, "--period", "2026-09", "--agency", "NOPE").returncode == 2


def test_office_templates_override_one_section(tmp_path):
    office = tmp_path / "our_templates" / "sections"
    office.mkdir(parents=True)
    (office / "contact.html.j2").write_text("<section><h2>Talk to us</h2>{{ r.agency.brm_manager }}</section>")
    book = report_book()
    book.settings = [("report_templates", "our_templates")]
    path = write_book(tmp_path / "b.xlsx", book)
    written = make_reports(path, "2026-09", agencies=["DOT"], formats=["html"],
                           out=tmp_path / "o", as_of=AS_OF, workers=1)
    html = written[0].path.read_text()
    assert "<h2>Talk to us</h2>Pat Manager" in html and "Your bill of IT" in html


def test_money_is_shown_half_up_in_whole_dollars_too():
    from brm_xl.reports.render import money

    assert money(D("25000.50"), whole=True) == "$25,001"  # not half even ($25,000)
    assert money(D("24999.49"), whole=True) == "$24,999"
    assert money(D("-0.50"), whole=True) == "($1)"
    assert money(D("1234.56")) == "$1,234.56" and money(D("-2.5")) == "($2.50)"
