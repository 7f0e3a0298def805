"""The Excel layer on Linux: worksheet function bodies on real workbooks, xlwings' UDF
metadata, the template's VBA against what xlwings generates, the macros on files."""

from __future__ import annotations

import datetime as dt
import importlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile

import openpyxl
import pytest
import xlwings
from hypothesis import given, settings
from hypothesis import strategies as st
from oletools.olevba import VBA_Parser

from brm_xl.excel import cache, macros, vba_gen
from brm_xl.excel.template_build import TEMPLATE, build
from tests.helpers import ROOT, minimal_book, output_rows, parts, usage, write_book
from tests.relationships.test_relationships import relationship_book
from tests.reports.test_reports import report_book


@pytest.fixture(scope="module")
def fx():
    return vba_gen.functions_module()


@pytest.fixture
def book(tmp_path):
    cache.forget()
    return write_book(tmp_path / "b.xlsx", report_book())


def test_every_function_on_a_real_workbook(fx, book):
    p = str(book)
    assert fx.BRM_RATE("email", "2026-09", p) == 4.0
    assert fx.BRM_CHARGES("DOT", "2026-09", None, p) == 27.5
    assert fx.BRM_CHARGES("dot", "2026-08..2026-09", "EMAIL", p) == 40.0 + 27.5
    assert fx.BRM_COST_PER_USER("DOT", "2026-09", p) == 2.75
    assert fx.BRM_COST_PER_USER("DOT", dt.datetime(2026, 9, 14), p) == 2.75
    assert fx.BRM_STATEWIDE_COST_PER_USER("2026-09", p) == 3.17
    assert fx.BRM_NET_VALUE("DOT", "2026-09", p) == 20.0
    assert fx.BRM_CSAT("DOT", "2026-09", p) == pytest.approx(66.7)
    assert fx.BRM_OPEN_FOLLOW_UPS("DOT", p) == 1
    assert fx.BRM_LAST_CONTACT("DOT", None, p) <= dt.date.today()
    assert fx.BRM_LAST_CONTACT("DOT", "in person", p) == dt.date(2026, 10, 2)
    assert fx.BRM_LAST_CONTACT("DOT", "Phone", p) == dt.date(2026, 9, 9)
    assert fx.BRM_HEALTH("DOT", p) in ("Healthy", "Watch", "At risk")
    bill = fx.BRM_BILL("DOT", "2026-09", p)
    assert bill[0] == ["Tower", "Service", "Service name", "Unit", "Quantity", "Rate", "Amount"]
    assert bill[1][:4] == ["End User", "EMAIL", "Service EMAIL", "unit-month"]
    assert bill[-1][0] == "Total" and bill[-1][-1] == fx.BRM_CHARGES("DOT", "2026-09", None, p)
    assert bill[-2][0] == "Adjustment" and bill[-2][-1] == -12.5


def test_problems_come_back_as_text_in_the_cell(fx, book, tmp_path):
    p = str(book)
    assert fx.BRM_CHARGES("DXX", "2026-09", None, p) == "#BRM: unknown agency 'DXX'"
    assert fx.BRM_RATE("NOPE", "2026-09", p) == "#BRM: unknown service 'NOPE'"
    assert fx.BRM_CSAT("DOT", "June", p).startswith("#BRM: 'June' is not a period")
    assert fx.BRM_LAST_CONTACT("DOT", "Zoom", p).startswith("#BRM: unknown channel 'Zoom'")
    assert fx.BRM_RATE("EMAIL", "2020-01", p) == "#BRM: no rate for EMAIL in 2020-01"
    broken = write_book(tmp_path / "bad.xlsx", minimal_book(Usage=usage(("2026-09", "DOT", "EMAIL", "x"))))
    assert fx.BRM_CHARGES("DOT", "2026-09", None, str(broken)) == (
        "#BRM: the workbook has 1 problem(s), e.g. Usage!D2: quantity 'x' is not a number; run Check")
    assert fx.BRM_HEALTH("DOT", str(tmp_path / "missing.xlsx")) == "#BRM: save the workbook first"


def test_ids_and_periods_as_excel_passes_them(fx, tmp_path):
    from tests.helpers import agencies, headcount

    cache.forget()
    book = minimal_book(Agencies=agencies("410", "DOT"),
                        Usage=usage(("2026-09", "410", "EMAIL", 10), ("2026-09", "DOT", "EMAIL", 5)),
                        Headcount=headcount(("2026-09", "410", 10), ("2026-09", "DOT", 5)))
    p = str(write_book(tmp_path / "n.xlsx", book))
    assert fx.BRM_CHARGES(410.0, "2026-09", None, p) == 40.0  # Excel's number for id 410
    assert fx.BRM_CHARGES("410", "2026-09", None, p) == 40.0
    serial = (dt.date(2026, 9, 30) - dt.date(1899, 12, 30)).days  # =EOMONTH(...) or =DATE(...)
    assert fx.BRM_CHARGES("DOT", float(serial), None, p) == 20.0
    assert fx.BRM_CHARGES("DOT", dt.datetime(2026, 9, 1), None, p) == 20.0
    assert fx.BRM_CHARGES("DOT", "FY2027", None, p) == 20.0
    assert fx.BRM_CHARGES(None, "2026-09", None, p) == "#BRM: the agency is blank; give its id"
    assert fx.BRM_CHARGES("DOT", "", None, p).startswith("#BRM: the period is blank")
    assert fx.BRM_CHARGES(410.5, "2026-09", None, p) == "#BRM: unknown agency '410.5'"


def test_a_problem_is_an_excel_error_value_and_brm_why_says_why(fx, book, monkeypatch):
    import sys
    import types

    class VARIANT:  # pywin32's, as Excel receives it
        def __init__(self, vt, value):
            self.vt, self.value = vt, value

    client = types.ModuleType("win32com.client")
    client.VARIANT = VARIANT
    com = types.ModuleType("pythoncom")
    com.VT_ERROR = 10
    monkeypatch.setitem(sys.modules, "win32com.client", client)
    monkeypatch.setitem(sys.modules, "pythoncom", com)

    class Range:  # the calling cell, as xlwings passes it
        def __init__(self, address):
            self.address = address
            self.sheet = types.SimpleNamespace(name="Sheet1", book=types.SimpleNamespace(
                fullname=str(book)))

    value = fx.BRM_CHARGES("DXX", "2026-09", None, Range("$B$4"))
    assert (value.vt, value.value) == (10, 2042)  # #N/A: a SUM over it is an error too
    assert fx.BRM_WHY(Range("$B$4"), Range("$C$4")) == "unknown agency 'DXX'"
    assert fx.BRM_CHARGES("DOT", "2026-09", None, Range("$B$4")) == 27.5
    assert fx.BRM_WHY(Range("$B$4"), Range("$C$4")) == "no BRM problem recorded for that cell"


def test_the_model_is_read_once_until_the_file_changes(fx, book, monkeypatch):
    built = []
    real = cache.build_model
    monkeypatch.setattr(cache, "build_model", lambda *a: built.append(a) or real(*a))
    p = str(book)
    fx.BRM_CHARGES("DOT", "2026-09", None, p)
    fx.BRM_CSAT("DOT", "2026-09", p)
    assert len(built) == 1
    macros.refresh(path=p, as_of=dt.date(2026, 10, 1))  # a refresh writes the file
    fx.BRM_CHARGES("DOT", "2026-09", None, p)
    assert len(built) == 2


def test_xlwings_metadata(fx):
    names = {f.__name__: f.__xlfunc__ for f in fx.FUNCTIONS}
    assert sorted(names) == sorted([
        "BRM_RATE", "BRM_CHARGES", "BRM_COST_PER_USER", "BRM_STATEWIDE_COST_PER_USER",
        "BRM_NET_VALUE", "BRM_CSAT", "BRM_OPEN_FOLLOW_UPS", "BRM_LAST_CONTACT", "BRM_HEALTH",
        "BRM_MATURITY", "BRM_VALUE_REALISED", "BRM_BILL", "BRM_VENDOR_GRADE", "BRM_SL_ACTUAL",
        "BRM_CREDITS", "BRM_WHY"])
    for name, meta in names.items():
        assert meta["category"] == "BRM"
        assert meta["ret"]["doc"] and not meta["ret"]["doc"].startswith("Python function")
        for arg in meta["args"]:
            if arg["name"] != "caller":
                assert not arg["doc"].startswith("Positional argument"), (name, arg["name"])
    optional = {n: [a["name"] for a in m["args"] if "optional" in a and a["name"] != "caller"]
                for n, m in names.items()}
    assert optional["BRM_CHARGES"] == ["service"] and optional["BRM_LAST_CONTACT"] == ["channel"]
    assert optional["BRM_MATURITY"] == ["side"]
    # a 2-D answer spills natively on Excel 365; expand= would write a legacy array over
    # the neighbouring cells without asking
    assert all("expand" not in m["ret"]["options"] for m in names.values())
    assert all(m["volatile"] for m in names.values())  # they follow the data (see functions)


def template_modules(path=TEMPLATE):
    parser = VBA_Parser(str(path))
    return {name.rsplit(".", 1)[0]: code.replace("\r\n", "\n")
            for _f, _s, name, code in parser.extract_macros()}


def test_template_vba_matches_what_xlwings_generates_now():
    modules = template_modules()
    assert modules["xlwings_udfs"] == vba_gen.udf_wrappers(), \
        "the template's UDF wrappers are stale: run python workbooks/build_template.py"
    assert modules["BrmSetup"] == vba_gen.registration()
    assert modules["BrmMacros"] == (ROOT / "workbooks/vba/BrmMacros.bas").read_text()
    assert "Workbook_Open" in modules["ThisWorkbook"]


def test_every_runpython_call_names_an_importable_callable():
    ours = {n: code for n, code in template_modules().items() if n != "xlwings"}  # xlwings' own
    calls = re.findall(r'RunPython "([^"]+)"', "\n".join(ours.values()))
    assert len(calls) == 6  # the six buttons
    for call in calls:
        m = re.fullmatch(r"import ([\w.]+) as (\w+); \2\.(\w+)\(\)", call)
        assert m, call
        assert callable(getattr(importlib.import_module(m.group(1)), m.group(3)))


def test_xlwings_conf_and_version_pin():
    book = openpyxl.load_workbook(TEMPLATE)
    conf = {r[0].value: r[1].value for r in book["xlwings.conf"].iter_rows() if r[0].value}
    for module in conf["UDF Modules"].split(";"):
        importlib.import_module(module)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pin = next(d for d in pyproject["project"]["dependencies"] if d.startswith("xlwings"))
    assert pin == f"xlwings=={xlwings.__version__}"
    declared = re.search(r"'Version: ([\d.]+)", template_modules()["xlwings"]).group(1)
    assert declared == xlwings.__version__
    assert [s.title for s in book.worksheets][-1] == "xlwings.conf"


def test_template_builds_reproducibly_from_the_sources(tmp_path):
    a, b = build(tmp_path / "a.xlsm"), build(tmp_path / "b.xlsm")
    assert a.read_bytes() == b.read_bytes()
    assert template_modules(a) == template_modules(TEMPLATE)
    with zipfile.ZipFile(a) as z:
        assert "xl/vbaProject.bin" in z.namelist()
        buttons = z.read("xl/drawings/vmlDrawing1.vml").decode()
    for macro in ("BrmRefresh", "BrmCheck", "BrmReports", "BrmEmailDrafts", "BrmSendEmails"):
        assert f"[0]!{macro}" in buttons


@pytest.mark.libreoffice
def test_libreoffice_opens_the_template(tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed; .ci/run installs libreoffice-calc-nogui")
    done = subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path / 'p'}", "--headless",
                           "--convert-to", "pdf", "--outdir", str(tmp_path), str(TEMPLATE)],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and (tmp_path / "brm_template.pdf").stat().st_size > 1000


def test_new_xlsm_starts_from_the_template_and_refreshes(tmp_path):
    path = tmp_path / "mine.xlsm"
    assert subprocess.run([sys.executable, "-m", "brm_xl", "new", str(path)]).returncode == 0
    assert template_modules(path)["BrmMacros"] == template_modules()["BrmMacros"]
    setup = subprocess.run([sys.executable, "-m", "brm_xl", "excel-setup"], capture_output=True,
                           text=True)
    assert setup.returncode == 0 and "xlwings.conf" in setup.stdout


def test_macros_run_headless_on_a_path(tmp_path, monkeypatch):
    path = write_book(tmp_path / "b.xlsx", relationship_book())
    result = macros.refresh(path=path, as_of=dt.date(2026, 10, 1))
    assert result.tables["Charges"] == 3
    assert macros.check(path=path) == [] and output_rows(path, "Problems") == []
    written = macros.make_reports(path=path, period="2026-09")
    assert {w.path.suffix for w in written} == {".html", ".pdf", ".xlsx"}
    told = []
    monkeypatch.setattr(macros.FileTarget, "tell", lambda self, text: told.append(text))
    assert macros.make_email_drafts(path=path, period="2026-09") is None
    assert told[-1].startswith("1 problem(s); nothing was written:\nSettings: sender_email")


def test_check_lists_problems_with_links_to_their_cells(tmp_path):
    path = write_book(tmp_path / "bad.xlsx", minimal_book(
        Usage=usage(("2026-09", "DOT", "EMAIL", "ten"), ("2026-09", "DXX", "EMAIL", 1))))
    problems = macros.check(path=path)
    assert [str(p) for p in problems] == ["Usage!D2: quantity 'ten' is not a number",
                                          "Usage!B3: agency_id 'DXX' is not in Agencies"]
    rows = output_rows(path, "Problems")
    assert [(r["where"], r["severity"]) for r in rows] == [("Usage!D2", "error"), ("Usage!B3", "error")]
    sheet = openpyxl.load_workbook(path)["Problems"]
    assert [(c.coordinate, c.hyperlink.location) for c in (sheet["A2"], sheet["A3"])] == [
        ("A2", "'Usage'!D2"), ("A3", "'Usage'!B3")]
    again = macros.check(path=path)  # twice: one Problems table, links not doubled
    sheets = [v for k, v in parts(path).items() if k.startswith("xl/worksheets/") and b"<hyperlink " in v]
    assert len(again) == 2 and [s.count(b"<hyperlink ") for s in sheets] == [2]


def test_refresh_macro_reports_problems_instead_of_raising(tmp_path, monkeypatch):
    path = write_book(tmp_path / "bad.xlsx", minimal_book(Usage=usage(("2026-09", "DOT", "EMAIL", "x"))))
    messages = []
    monkeypatch.setattr(macros.FileTarget, "tell", lambda self, text: messages.append(text))
    assert macros.refresh(path=path) is None
    assert messages == ["1 problem(s); nothing was written:\nUsage!D2: quantity 'x' is not a "
                        "number\n\nRun Check to list them with links."]


def test_send_emails_asks_first(tmp_path):
    book = report_book()
    book.settings = [("sender_email", "brm@cio.example"), ("smtp_host", "127.0.0.1"),
                     ("smtp_port", 1)]
    path = write_book(tmp_path / "b.xlsx", book)
    assert macros.send_emails(path=path, period="2026-09", answer=False) == []
    assert output_rows_or_none(path, "Deliveries") is None


def output_rows_or_none(path, table):
    try:
        return output_rows(path, table)
    except AssertionError:
        return None



class FakeRange:
    """Just enough of xlwings' Range to run the thin Excel layer without Excel."""

    def __init__(self, sheet, row, col, rows=1, cols=1):
        self.sheet, self.row, self.col, self.rows, self.cols = sheet, row, col, rows, cols

    def resize(self, rows, cols):
        return FakeRange(self.sheet, self.row, self.col, rows, cols)

    @property
    def value(self):
        return self.sheet.cells.get((self.row, self.col))

    @value.setter
    def value(self, data):
        rows = data if isinstance(data, list) and data and isinstance(data[0], list) else [data]
        for i, row in enumerate(rows):
            for j, v in enumerate(row if isinstance(row, list) else [row]):
                self.sheet.cells[(self.row + i, self.col + j)] = v

    @property
    def number_format(self):
        return self.sheet.formats.get(self.col)

    @number_format.setter
    def number_format(self, code):
        self.sheet.formats[self.col] = code

    def add_hyperlink(self, address, text_to_display=None):
        self.sheet.links[(self.row, self.col)] = (address, text_to_display)

    def clear_contents(self):
        for key in [k for k in self.sheet.cells if self.row <= k[0] < self.row + self.rows]:
            del self.sheet.cells[key]


class FakeTable:
    def __init__(self, area, name):
        self.name, self.area = name, area

    @property
    def data_body_range(self):
        return FakeRange(self.area.sheet, 2, 1, self.area.rows - 1, self.area.cols)

    def resize(self, area):
        self.area = area


class FakeTables(list):
    def add(self, area, name):
        self.append(FakeTable(area, name))


class FakeSheet:
    def __init__(self, name):
        self.name, self.cells, self.formats, self.links = name, {}, {}, {}
        self.tables = FakeTables()

    def range(self, cell):
        return FakeRange(self, *cell)


class FakeSheets(list):
    def __getitem__(self, key):
        return next(s for s in self if s.name == key) if isinstance(key, str) else list.__getitem__(self, key)

    def add(self, name, after=None):
        self.append(FakeSheet(name))
        return self[-1]


class FakeBook:
    def __init__(self, path):
        self.fullname, self.sheets, self.saved = str(path), FakeSheets([FakeSheet("Instructions")]), 0
        self.app = type("App", (), {"screen_updating": True, "alerts": [], "calculated": 0,
                                    "alert": lambda s, text, title=None, buttons="ok": s.alerts.append(text) or "yes",
                                    "calculate": lambda s: setattr(s, "calculated", s.calculated + 1)})()

    def save(self):
        self.saved += 1


def test_the_excel_layer_writes_tables_text_as_text_and_links(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book(
        Usage=usage(("2026-09", "DOT", "EMAIL", 1), ("2026-09", "DXX", "EMAIL", 1))))
    book = FakeBook(path)
    problems = macros.check(book=book)
    sheet = book.sheets["Problems"]
    assert [t.name for t in sheet.tables] == ["Problems"]
    assert sheet.cells[(1, 1)] == "where" and sheet.cells[(2, 1)] == "Usage!B3"
    assert sheet.links[(2, 1)] == ("#'Usage'!B3", "Usage!B3")
    assert sheet.formats[1] == "@" and book.saved >= 2 and problems
    assert book.app.alerts[-1].startswith("1 problem(s) and 0 warning(s)")
    good = write_book(tmp_path / "g.xlsx", minimal_book())
    book = FakeBook(good)
    result = macros.refresh(book=book, as_of=dt.date(2026, 10, 1))
    charges = book.sheets["Charges"]
    assert result.tables["Charges"] == 2 and charges.formats[1] == "yyyy-mm"
    assert charges.cells[(2, 1)] == dt.datetime(2026, 9, 1) and charges.cells[(2, 9)] == 200.0
    assert charges.formats[11] == "@"  # reasons: text, never a formula
    assert book.app.alerts[-1].startswith("Refreshed: Charges 2")
    assert book.app.calculated >= 1  # the BRM cells recalculate after the tables are written
    macros.refresh(book=book, as_of=dt.date(2026, 10, 1))  # again: the same table, resized
    assert [t.name for t in charges.tables] == ["Charges"]


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=9000) | st.builds(os.urandom, st.integers(3600, 12000)))
def test_the_vba_compressor_round_trips_any_bytes(data):
    from oletools.olevba import decompress_stream

    from brm_xl.excel.vbaproject import compress

    back = bytes(decompress_stream(bytearray(compress(data))))
    assert back[:len(data)] == data and not back[len(data):].strip(b"\x00")


def test_sheets_a_refresh_adds_to_a_macro_workbook_get_code_names(tmp_path):
    from tests.workbook.test_hardening import _rezip

    base = write_book(tmp_path / "base.xlsx", minimal_book())

    def macro_book(name, data):  # code names on the user's sheets, as Excel writes them
        found = re.match(r"xl/worksheets/sheet(\d+)\.xml$", name)
        if found:
            n = int(found.group(1))
            return re.sub(rb"(<worksheet\b[^>]*>)", rb'\1<sheetPr codeName="Sheet' +
                          str(n * 2).encode() + b'"/>', data, count=1)
        return data

    path = _rezip(base, tmp_path / "m.xlsm", macro_book)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("xl/vbaProject.bin", b"not read by the writer")
    before = parts(path)
    used = set(re.findall(rb'codeName="([^"]+)"', b"".join(before.values())))
    assert used == {b"Sheet2", b"Sheet4", b"Sheet6", b"Sheet8"}
    macros.refresh(path=path, as_of=dt.date(2026, 10, 1))
    after = parts(path)
    new = [k for k in after if k.startswith("xl/worksheets/sheet") and k not in before]
    names = [re.search(rb'<sheetPr codeName="([^"]+)"/>', after[k]).group(1) for k in new]
    assert len(names) == len(new) >= 2  # Charges, AgencySummary, ...
    assert len(set(names)) == len(names) and not set(names) & used
    assert set(names) <= {b"Sheet1", b"Sheet3", b"Sheet5", b"Sheet7", b"Sheet9", b"Sheet10"}
    plain = write_book(tmp_path / "p.xlsx", minimal_book())
    macros.refresh(path=plain, as_of=dt.date(2026, 10, 1))
    assert b"codeName" not in b"".join(parts(plain).values())  # no VBA project: no code names


def test_the_template_opens_clean_and_leaves_xlwings_settings_alone():
    from brm_xl.excel.template_build import XLWINGS_CONF

    assert {k for k, _ in XLWINGS_CONF} == {"UDF Modules", "Debug UDFs", "Use UDF Server",
                                           "Show Console"}
    modules = template_modules()
    workbook = modules["ThisWorkbook"]
    assert "wasSaved = ThisWorkbook.Saved" in workbook and "ThisWorkbook.Saved = wasSaved" in workbook
    assert "On Error GoTo Failed" in workbook and "MsgBox" in workbook
    assert "Workbook_AfterSave" in workbook and "Application.Calculate" in workbook
    assert "On Error Resume Next" not in modules["BrmSetup"]
    book = openpyxl.load_workbook(TEMPLATE)
    conf = {row[0].value for row in book["xlwings.conf"].iter_rows()}
    assert not conf & {"Interpreter_Win", "Interpreter_Mac", "PYTHONPATH"}


def test_excel_setup_says_what_needs_windows_and_checks_the_rest(tmp_path):
    from brm_xl.excel import setup

    lines = [c.line() for c in setup.checks(windows=False)]
    assert lines[0].startswith("[ok] xlwings") and lines[1] == "[ok] PDF reports (Typst)"
    assert sum(line.startswith("[needs Windows]") for line in lines) == 5
    marked = tmp_path / "from-email.xlsm"
    marked.write_bytes(b"PK")
    (tmp_path / "from-email.xlsm:Zone.Identifier").write_text("[ZoneTransfer]\nZoneId=3\n")
    check = setup._mark_of_the_web(marked)
    assert check.status == "to do" and "Unblock" in check.advice
    assert setup._mark_of_the_web(tmp_path / "plain.xlsm").status == "ok"
    done = subprocess.run([sys.executable, "-m", "brm_xl", "excel-setup"], capture_output=True,
                          text=True)
    assert done.returncode == 0 and "[needs Windows] pywin32" in done.stdout


def test_maturity_and_value_realised_as_of_today(fx, tmp_path):
    from tests.relationships.test_practice import practice_book

    cache.forget()
    p = str(write_book(tmp_path / "p.xlsx", practice_book()))
    # judged today (after 2026-11-01): DOT's office rated it 1 that day; its agency's 2
    # (of two rows on 2026-09-01, the later one); DOR's agency never rated it: blank
    assert fx.BRM_MATURITY("DOT", None, p) == 1
    assert fx.BRM_MATURITY("dot", "Agency", p) == 2
    assert fx.BRM_MATURITY("DOR", "office", p) == 3
    assert fx.BRM_MATURITY("DOR", "agency", p) == ""
    assert fx.BRM_MATURITY("DOA", None, p) == ""
    assert fx.BRM_MATURITY("DOT", "vendor", p) == "#BRM: unknown side 'vendor' (office or agency)"
    # DOT's FY2027 plans: P1 20,000.00 + 5,000.50 + 9,999.00 (November, known today),
    # P2 12,345.67, P3 nothing: 47,345.17; DOR's P5 1,000.00 (P4 realised nothing)
    assert fx.BRM_VALUE_REALISED("DOT", "FY2027", p) == 47345.17
    assert fx.BRM_VALUE_REALISED("DOR", "fy2027", p) == 1000.0
    assert fx.BRM_VALUE_REALISED("DOT", "FY2026", p) == 0.0
    assert fx.BRM_VALUE_REALISED("DOT", "2026-09", p) == \
        "#BRM: '2026-09' is not a fiscal year (FY2027)"
