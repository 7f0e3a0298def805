"""Reports every agency head can read (issue 23): PDF/UA-1 and displayed titles in every
PDF, and what an agency's report says as the period and the audience decide."""

from __future__ import annotations

import re

import pypdf

from tests.helpers import cli_in_process, minimal_book, write_book
from tests.reports.test_limits import office_book


def _pdf_ua(path) -> tuple[bool, bool]:
    data = path.read_bytes()
    reader = pypdf.PdfReader(path)
    prefs = reader.trailer["/Root"].get("/ViewerPreferences") or {}
    return bool(re.search(rb"pdfuaid:part>\s*1\s*<", data)), bool(prefs.get("/DisplayDocTitle"))


def test_every_pdf_is_pdf_ua_1_and_shows_its_title(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    for extra in ((), ("--portfolio",)):
        done = cli_in_process("report", path, "--period", "2026-09", "--format", "pdf", *extra)
        assert done.returncode == 0, done.stderr
    pdfs = sorted((tmp_path / "reports").rglob("*.pdf"))
    assert len(pdfs) >= 3  # the agencies and the portfolio
    for pdf in pdfs:
        assert _pdf_ua(pdf) == (True, True), pdf.name


def test_an_office_template_that_breaks_pdf_ua_is_refused_with_typsts_reason(tmp_path):
    path = office_book(tmp_path, "agency_report.typ.j2", "Hello, no title")
    done = cli_in_process("report", path, "--period", "2026-09", "--format", "pdf")
    assert done.returncode == 1
    assert "breaks PDF/UA-1" in done.stderr and "missing document title" in done.stderr
    assert not list(tmp_path.rglob("*.pdf"))


def test_a_past_periods_report_is_judged_on_its_last_day(tmp_path):
    import datetime as dt

    from brm_xl.pipeline.model import model_for_period
    from tests.relationships.test_relationships import contact, engagements

    book = minimal_book(Engagements=engagements(
        contact(dt.date(2026, 9, 10), action="Send the roadmap", due=dt.date(2026, 10, 20)),
        contact(dt.date(2026, 11, 5))))  # a November meeting, after the September report
    path = write_book(tmp_path / "b.xlsx", book)
    assert model_for_period(path, "2026-09", None).as_of == dt.date(2026, 9, 30)
    assert model_for_period(path, "FY2027-Q1", None).as_of == dt.date(2026, 9, 30)
    assert model_for_period(path, "2026-09", dt.date(2026, 12, 1)).as_of == dt.date(2026, 12, 1)
    today = dt.date.today()
    assert model_for_period(path, today.strftime("%Y-%m"), None).as_of == today
    done = cli_in_process("report", path, "--period", "2026-09", "--format", "html",
                          "--agency", "DOT")
    assert done.returncode == 0, done.stderr
    html = next((tmp_path / "reports").rglob("*DOT*.html")).read_text()
    assert "2026-11-05" not in html and "Nov 5" not in html  # not a meeting of September's
    due = re.search(r'<td class="num ([^"]*)">2026-10-20</td>', html)
    assert due is not None and "bad" not in due.group(1)  # not overdue on 30 September


def test_an_agency_report_tells_one_vendor_story_in_html_and_pdf_and_nothing_internal(tmp_path):
    """Grade B with an at-minimum level and an open corrective action: both formats say
    "below expected", neither says the corrective action, which the portfolio keeps."""
    import datetime as dt
    import io
    from decimal import Decimal as D

    from brm_xl.contract.periods import parse_period
    from brm_xl.pipeline.model import build_model
    from brm_xl.reports import data
    from brm_xl.reports.render import environment, render_all
    from tests.vendors.test_vendors import vendor_book

    results = [("2026-08", "AVAIL", D("99.95"), None), ("2026-08", "RESP", D("4"), None)]
    actions = [("CAP1", "V1", dt.date(2026, 8, 2), "Slow tickets", None, "Add staff", "Sam",
                dt.date(2026, 12, 1), None)]
    path = vendor_book(tmp_path / "b.xlsx", results=results, actions=actions)
    model = build_model(path, dt.date(2026, 8, 31))
    period = parse_period("2026-08")
    report = data.agency_report(model, "DOT", period)
    (line,) = report.vendors
    assert "corrective action" in line.reasons  # the office's own word
    assert line.stood_out == "below expected: Incident response"
    rendered = render_all(environment(), report, ["html", "pdf"])
    html = rendered["html"].decode()
    text = " ".join("".join(p.extract_text() for p in pypdf.PdfReader(
        io.BytesIO(rendered["pdf"])).pages).split())
    for shown in (html, text):
        assert "below expected: Incident response" in shown
        assert "corrective action" not in shown and "met its service levels" not in shown
        assert "C1" not in re.sub(r"<[^>]+>", " ", shown).split()  # no contract id
    assert "Open actions" not in html  # the office's columns stay in the portfolio
    portfolio = render_all(environment(), data.portfolio(model, period), ["html"])["html"]
    assert b"open corrective action" in portfolio


def test_the_palette_meets_wcag_aa():
    from brm_xl.reports import palette

    for name in ("ink", "navy", "muted", "good", "watch", "bad", "statewide"):
        assert palette.contrast(palette.COLORS[name]) >= 4.5, name  # text on white
    for badge in (palette.GOOD, palette.WATCH, palette.BAD):
        assert palette.contrast("#ffffff", badge) >= 4.5  # a badge's white text
    for mark in (*palette.SERIES, *palette.LINES, palette.BLUE):
        assert palette.contrast(mark) >= 3  # chart marks against the page
    assert palette.contrast("#7f7f7f") < 4.5 and palette.contrast("#bf9000") < 3  # the old


def test_the_email_says_its_chart_in_words_and_its_money_one_way(tmp_path):
    import datetime as dt
    import email
    import email.policy

    from brm_xl.app.usecases import draft_emails
    from tests.delivery.test_email import book

    path = book(tmp_path)
    _, drafts = draft_emails(path, "2026-09", ["ZEBRA"], as_of=dt.date(2026, 10, 1))
    message = email.message_from_bytes(drafts[0].read_bytes(), policy=email.policy.default)
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    alt = re.search(r'<img [^>]*alt="([^"]+)"', html).group(1)
    assert alt.startswith("Line chart of cost per user per month") and "bars" not in alt.lower()
    assert re.search(r"Sep 2026: \$\d", alt)  # the figures, month by month
    paid = re.search(r"You paid (\$[\d,]+\.\d\d)", text).group(1)
    assert paid in html  # to the cent in both parts
    assert "<h1" in html and "<h2" in html and 'name="viewport"' in html


def test_a_chargeback_only_workbook_is_not_rated_and_sorts_after_healthy(tmp_path):
    import datetime as dt

    from brm_xl.contract.periods import parse_period
    from brm_xl.pipeline.model import build_model
    from brm_xl.reports import data
    from tests.relationships.test_relationships import contact, engagements, survey

    # the tables a new workbook has, with nothing in them yet
    path = write_book(tmp_path / "b.xlsx", minimal_book(Engagements=engagements(),
                                                        Survey=survey()))
    model = build_model(path, dt.date(2026, 9, 30))
    health = {r.agency_id: (r.health, r.reasons) for r in model.view.relationships}
    assert set(health.values()) == {("Not rated", "no surveys or contacts recorded yet")}
    (tmp_path / "met").mkdir()
    met = write_book(tmp_path / "met" / "b.xlsx", minimal_book(Engagements=engagements(
        contact(dt.date(2026, 9, 20)))))  # DOT met in person; DOR never contacted
    model = build_model(met, dt.date(2026, 9, 30))
    rows = data.portfolio(model, parse_period("2026-09")).rows
    assert [(r.agency_id, r.health) for r in rows] == [("DOT", "Healthy"), ("DOR", "Not rated")]


def test_every_chart_says_its_figures_in_html_and_pdf(tmp_path):
    import datetime as dt

    from brm_xl.contract.periods import parse_period
    from brm_xl.pipeline.model import build_model
    from brm_xl.reports import data
    from brm_xl.reports.render import environment, render_all
    from brm_xl.reports.typst_pdf import render_typst
    from tests.reports.test_reports import AS_OF, report_book
    from tests.vendors.test_vendors import vendor_book

    path = write_book(tmp_path / "b.xlsx", report_book())
    model = build_model(path, AS_OF)
    report = data.agency_report(model, "DOT", parse_period("2026-09"))
    html = render_all(environment(), report, ["html"])["html"].decode()
    labels = re.findall(r'role="img" aria-label="([^"]+)"', html)
    assert len(labels) >= 3 and all(": " in label for label in labels)  # figures, not a title
    assert html.count('<details class="figures">') >= 2  # trend and satisfaction tables
    assert "bars" not in " ".join(labels).lower()  # the trend is two lines
    source = render_typst(environment(), report, dt.date(2026, 10, 1))
    alts = re.findall(r'alt: "([^"]+)"', source)
    assert alts and all(": " in alt for alt in alts)
    # a vendor scorecard names its own chart, not the satisfaction chart
    vendor_model = build_model(vendor_book(tmp_path / "v.xlsx"), dt.date(2026, 10, 1))
    card = data.vendor_report(vendor_model, "V1", parse_period("2026-09"))
    page = render_all(environment(), card, ["html"])["html"].decode()
    assert 'aria-label="Weighted service level score by month, 0 to 100.' in page
    assert "Share of responses" not in page


def test_the_bill_of_it_xlsx_has_excel_tables_chart_alt_text_and_titles(tmp_path):
    import datetime as dt
    import zipfile

    import openpyxl

    from brm_xl.pipeline.model import build_model
    from brm_xl.reports.run import make_reports
    from tests.vendors.test_vendors import vendor_book

    path = write_book(tmp_path / "b.xlsx", minimal_book())
    written = make_reports(path, "2026-09", ["DOT"], ["xlsx"],
                           model=build_model(path, dt.date(2026, 10, 1)))
    book = openpyxl.load_workbook(written[0].path)
    sheet = book["Bill of IT"]
    assert {"Charges", "Towers"} <= set(sheet.tables)
    assert book.properties.title == "Bill of IT: Agency DOT, September 2026"  # whose
    with zipfile.ZipFile(written[0].path) as z:
        drawing = next(z.read(n) for n in z.namelist() if n.startswith("xl/drawings/drawing"))
    assert b'descr="Column chart of charges by tower. ' in drawing
    vendor_path = vendor_book(tmp_path / "v.xlsx")
    cards = make_reports(vendor_path, "2026-09", formats=["xlsx"], vendors=True,
                         model=build_model(vendor_path, dt.date(2026, 10, 1)))
    assert openpyxl.load_workbook(cards[0].path).properties.title == \
        "Acme Mail Co: service levels, September 2026"


def test_month_labels_never_run_into_each_other():
    from decimal import Decimal as D

    from brm_xl.reports import charts

    labels = [f"M{i:02d}" for i in range(24)]
    c = charts.lines(labels, {"Your agency": [D(i) for i in range(24)]})
    xs = [x["x"] for x in c["xlabels"]]
    assert all(b - a >= 40 for a, b in zip(xs, xs[1:]))
    assert c["xlabels"][-1]["label"] == "M23"  # the latest month is always named


def test_the_instructions_sheet_is_made_from_the_contract_in_the_files_words(tmp_path):
    import openpyxl

    from brm_xl.app.template import build_workbook, instructions
    from brm_xl.contract import tables as C

    plain = [text for text, _ in instructions(macros=False)]
    for spec in C.INPUT_TABLES:
        assert any(t.startswith(f"{spec.name}: ") for t in plain), spec.name
    for name in C.OUTPUT_TABLES:
        assert any(t.startswith(f"{name}: ") for t in plain), name
    words = " ".join(plain)
    assert "press" not in words and "brm-xl close" in words and "brm-xl journal" in words
    assert "press Refresh" in " ".join(t for t, _ in instructions(macros=True))
    path = tmp_path / "new.xlsx"
    build_workbook(path)
    sheet = openpyxl.load_workbook(path)["Instructions"]
    # one page wide (fitToWidth defaults to 1), as many pages down as it needs
    assert sheet.page_setup.fitToHeight == 0 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet["A3"].alignment.wrap_text
    assert "`brm-xl report FILE --period YYYY-MM`" in words


def test_the_office_details_reach_an_agency_only_when_settings_say_so(tmp_path):
    import datetime as dt
    from decimal import Decimal as D

    from brm_xl.contract.periods import parse_period
    from brm_xl.pipeline.model import build_model
    from brm_xl.reports import data
    from brm_xl.reports.render import environment, render_all
    from tests.vendors.test_vendors import vendor_book

    results = [("2026-08", "AVAIL", D("99.95"), None), ("2026-08", "RESP", D("4"), None)]
    actions = [("CAP1", "V1", dt.date(2026, 8, 2), "Slow tickets", None, "Add staff", "Sam",
                dt.date(2026, 12, 1), None)]
    for shown in (False, True):
        folder = tmp_path / str(shown)
        folder.mkdir()
        path = vendor_book(folder / "b.xlsx", results=results, actions=actions,
                           settings=[("show_internal_to_agencies", shown)])
        report = data.agency_report(build_model(path, dt.date(2026, 8, 31)), "DOT",
                                    parse_period("2026-08"))
        html = render_all(environment(), report, ["html"])["html"].decode()
        assert ("open corrective action" in html) is shown
        assert ("with brm_xl" in html) is shown


def test_one_view_model_tells_the_same_story_in_html_pdf_xlsx_and_email(tmp_path):
    """Every section's figures and words, from the one view model, appear alike in each
    format an agency head gets."""
    import datetime as dt
    import email
    import email.policy
    import io

    import openpyxl

    from brm_xl.app import demo
    from brm_xl.app.template import build_workbook
    from brm_xl.contract.periods import parse_period
    from brm_xl.delivery.messages import build_message
    from brm_xl.delivery.run import address
    from brm_xl.pipeline.model import build_model
    from brm_xl.reports import data
    from brm_xl.reports.render import environment, money, render_all

    path = tmp_path / "demo.xlsx"
    build_workbook(path, demo.demo_rows(), demo.DEMO_SETTINGS)
    model = build_model(path, demo.AS_OF)
    report = data.agency_report(model, "DOT", parse_period("2026-10"))
    files = render_all(environment(), report, ["html", "pdf", "xlsx"])
    html = " ".join(re.sub(r"<[^>]+>", " ", files["html"].decode()).replace("&amp;", "&").split())
    pdf = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(
        io.BytesIO(files["pdf"])).pages).split())
    h, c = report.headline, report.currency
    said = [money(h.paid, c), money(h.cost_per_user, c), money(h.statewide_cost_per_user, c),
            money(h.net_value, c, whole=True)]
    for _tower, lines, total in report.bill.towers:
        said += [money(total, c)] + [money(line.amount, c) for line in lines]
    said += [v.vendor_name for v in report.vendors] + [v.stood_out for v in report.vendors]
    said += [money(v.credits, c) for v in report.vendors]
    if report.satisfaction and report.satisfaction.responses:
        said.append(f"{report.satisfaction.average} / 5")
    said += [o.initiative for o in report.outcomes]
    said += [p.initiative for p in report.plans or ()] + [money(p.realised, c)
                                                         for p in report.plans or ()]
    assert report.plans and len(said) > 15
    for text in said:
        assert text in html, ("html", text)
        assert text in pdf, ("pdf", text)
    sheet = openpyxl.load_workbook(io.BytesIO(files["xlsx"]))["Bill of IT"]
    amounts = {round(c.value, 2) for row in sheet.iter_rows() for c in row
               if isinstance(c.value, int | float) and not isinstance(c.value, bool)}
    for _tower, lines, _total in report.bill.towers:
        assert {round(float(line.amount), 2) for line in lines} <= amounts
    env = environment()
    message = build_message(env, report, {"pdf": files["pdf"]}, address("CIO", "brm@cio.example"),
                            None, dt.datetime(2026, 11, 15, 9, 0), "DOT").message
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    for part in ("html", "plain"):
        body = parsed.get_body((part,)).get_content()
        for text in said[:3]:  # the headline: paid, cost per user, statewide
            assert text in body, (part, text)


def test_overdue_is_said_in_words_and_months_in_full(tmp_path):
    import datetime as dt
    from decimal import Decimal as D

    from brm_xl.reports import charts
    from tests.relationships.test_relationships import contact, engagements

    book = minimal_book(Engagements=engagements(
        contact(dt.date(2026, 9, 10), action="Send the roadmap", due=dt.date(2026, 9, 20))))
    path = write_book(tmp_path / "b.xlsx", book)
    done = cli_in_process("report", path, "--period", "2026-09", "--format", "html,pdf",
                          "--agency", "DOT")
    assert done.returncode == 0, done.stderr
    html = next((tmp_path / "reports").rglob("*DOT*.html")).read_text()
    assert "2026-09-20 (overdue)" in html  # not by colour alone
    pdf = next((tmp_path / "reports").rglob("*DOT*.pdf"))
    assert "(overdue)" in " ".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages)
    c = charts.columns(["Nov 25"], [D("50")], name="Satisfied (%)")
    assert "Nov 2025: 50" in c["text"] and c["figures"]["rows"][0][0] == "Nov 2025"
