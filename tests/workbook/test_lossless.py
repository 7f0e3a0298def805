"""Refresh writes its tables and loses nothing else: macros, buttons, charts, pictures,
textboxes, sparklines, x14 data bars, validation, comments, names. Writes are atomic."""

from __future__ import annotations

import datetime as dt
import shutil
import struct
import subprocess
import zipfile
import zlib
from decimal import Decimal as D
from pathlib import Path

import openpyxl
import pytest
import xlwings

from brm_xl.app.refresh import refresh
from brm_xl.problems import WorkbookError
from brm_xl.workbook import guard
from brm_xl.workbook.package import Package
from tests.helpers import Block, digest, minimal_book, output_rows, parts, write_book

WORKBOOK_LEVEL = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                  "xl/styles.xml"}


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 4 for _ in range(4))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def vba_project(tmp_path: Path) -> Path:
    """The vbaProject.bin that `xlwings quickstart --standalone` ships in its template."""
    source = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    with zipfile.ZipFile(source) as z:
        target = tmp_path / "vbaProject.bin"
        target.write_bytes(z.read("xl/vbaProject.bin"))
    return target


@pytest.fixture
def rich_workbook(tmp_path) -> Path:
    png = tmp_path / "logo.png"
    png.write_bytes(tiny_png())
    vba = vba_project(tmp_path)

    def extras(wb, sheets):
        wb.add_vba_project(str(vba))
        wb.set_vba_name("ThisWorkbook")
        dash = wb.add_worksheet("Dashboard")
        dash.set_vba_name("Sheet99")
        for i, v in enumerate([3, 5, 2, 8, 6]):
            dash.write_number(i, 0, v)
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"values": "=Dashboard!$A$1:$A$5", "name": "Trend"})
        dash.insert_chart("D2", chart)
        dash.insert_image("L2", str(png))
        dash.insert_textbox("D20", "Refresh with the button", {"width": 240, "height": 60})
        dash.add_sparkline("B1", {"range": "Dashboard!A1:A5"})
        dash.conditional_format("A1:A5", {"type": "data_bar", "data_bar_2010": True,
                                           "bar_solid": True, "bar_border_color": "#123456"})
        dash.data_validation("C1", {"validate": "list", "source": ["Yes", "No"]})
        dash.write_comment("A1", "Keep this comment")
        dash.insert_button("H20", {"macro": "SampleCall", "caption": "Refresh"})
        dash.write_formula("A7", "=SUM(A1:A5)", None, 24)
        wb.define_name("TrendValues", "=Dashboard!$A$1:$A$5")

    adjustments = Block("Adjustments", ["period", "agency_id", "service_id", "amount", "reason"],
                        [("2026-09", "DOT", None, D("-10.00"), "=HYPERLINK(\"http://evil\")"),
                         ("2026-09", "DOR", None, D("1.00"), "@SUM(1)"),
                         ("2026-09", "DOR", None, D("1.00"), "+1"),
                         ("2026-09", "DOR", None, D("1.00"), "-1 credit")])
    return write_book(tmp_path / "rich.xlsm", minimal_book(Adjustments=adjustments), extras)


def test_refresh_twice_keeps_every_part_it_does_not_own(rich_workbook):
    before = parts(rich_workbook)
    with zipfile.ZipFile(rich_workbook) as z:
        raw_before = {i.filename: (i.CRC, i.compress_size) for i in z.infolist()}
    refresh(rich_workbook, as_of=dt.date(2026, 10, 1), now=dt.datetime(2026, 10, 1, 9, 0))
    first = parts(rich_workbook)
    with Package(rich_workbook) as pkg:
        first_sheets = [s.name for s in pkg.sheets]
    first_tables = {t: output_rows(rich_workbook, t) for t in ("Charges", "AgencySummary")}
    refresh(rich_workbook, as_of=dt.date(2026, 10, 1), now=dt.datetime(2026, 10, 2, 9, 0))
    second = parts(rich_workbook)
    with zipfile.ZipFile(rich_workbook) as z:
        raw_after = {i.filename: (i.CRC, i.compress_size) for i in z.infolist()}

    kept = set(before) - WORKBOOK_LEVEL
    for name in kept:
        assert second[name] == before[name], f"{name} changed"
        assert raw_after[name] == raw_before[name], f"{name} was recompressed"
    for expected in ("xl/vbaProject.bin", "xl/drawings/drawing1.xml", "xl/media/image1.png",
                     "xl/drawings/vmlDrawing1.vml", "xl/comments1.xml"):
        assert expected in second
    dash = next(p for n, p in before.items() if n.startswith("xl/worksheets/") and b"x14:sparkline" in p)
    assert b"x14:dataBar" in dash and b"x14:sparklineGroups" in dash and b"dataValidation" in dash
    # the second refresh adds no sheets, tables or styles: only the log grows
    assert set(second) == set(first)
    assert second["xl/styles.xml"] == first["xl/styles.xml"]
    assert second["xl/workbook.xml"] == first["xl/workbook.xml"]
    with Package(rich_workbook) as pkg:
        names = [s.name for s in pkg.sheets]
    assert names == first_sheets
    assert names[-3:] == ["Charges", "AgencySummary", "RefreshLog"]
    assert {t: output_rows(rich_workbook, t) for t in first_tables} == first_tables
    workbook = second["xl/workbook.xml"]
    assert b'name="TrendValues"' in workbook and b"codeName=\"ThisWorkbook\"" in workbook
    types = second["[Content_Types].xml"]
    assert b"application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types
    assert b"vbaProject" in types
    assert len(output_rows(rich_workbook, "RefreshLog")) == 2


def test_styles_keep_every_original_entry(rich_workbook):
    before = parts(rich_workbook)["xl/styles.xml"]
    refresh(rich_workbook, as_of=dt.date(2026, 10, 1))
    after = parts(rich_workbook)["xl/styles.xml"]
    from lxml import etree

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    old, new = etree.fromstring(before), etree.fromstring(after)
    for path in ("m:fonts", "m:fills", "m:borders", "m:cellStyleXfs", "m:dxfs", "m:cellStyles"):
        a, b = old.find(path, ns), new.find(path, ns)
        assert (a is None and b is None) or etree.tostring(a) == etree.tostring(b), path
    old_xfs = old.find("m:cellXfs", ns)
    new_xfs = new.find("m:cellXfs", ns)
    assert [etree.tostring(x) for x in new_xfs][:len(old_xfs)] == [etree.tostring(x) for x in old_xfs]


@pytest.mark.filterwarnings("ignore:.*extension is not supported:UserWarning")
def test_text_never_becomes_a_formula_and_formats_are_set(rich_workbook):
    refresh(rich_workbook, as_of=dt.date(2026, 10, 1))
    book = openpyxl.load_workbook(rich_workbook)  # inspection only; never saved
    sheet = book["Charges"]
    reasons = [sheet.cell(row=r, column=11).value for r in range(2, sheet.max_row + 1)]
    assert {"=HYPERLINK(\"http://evil\")", "@SUM(1)", "+1", "-1 credit"} <= set(reasons)
    for r in range(2, sheet.max_row + 1):
        cell = sheet.cell(row=r, column=11)
        assert cell.data_type in ("s", "n") and cell.data_type != "f"
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["period", "agency_id", "service_id"]
    amount = sheet.cell(row=2, column=9)
    assert amount.number_format == "#,##0.00_);(#,##0.00)"
    assert sheet.cell(row=2, column=1).number_format == "yyyy-mm"
    assert sheet.cell(row=2, column=1).value == dt.datetime(2026, 9, 1)
    assert "Charges" in sheet.tables
    assert book["AgencySummary"].tables["AgencySummary"].ref.startswith("A1:W")
    raw = parts(rich_workbook)
    charges_xml = next(v for k, v in raw.items() if k.startswith("xl/worksheets/")
                       and b"HYPERLINK" in v)
    assert b"<f>" not in charges_xml


def test_failed_write_leaves_the_workbook_byte_for_byte(rich_workbook, monkeypatch):
    before = digest(rich_workbook)

    def explode(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(guard.os, "fsync", explode)  # half the file is written, then the disk fills
    with pytest.raises(WorkbookError, match="rich.xlsm was not changed: writing failed"):
        refresh(rich_workbook, as_of=dt.date(2026, 10, 1))
    assert digest(rich_workbook) == before
    assert sorted(p.name for p in rich_workbook.parent.iterdir() if p.name.startswith(".~")) == []


@pytest.mark.libreoffice
def test_libreoffice_opens_the_refreshed_workbook(rich_workbook, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed; .ci/run installs libreoffice-calc-nogui")
    refresh(rich_workbook, as_of=dt.date(2026, 10, 1))
    refresh(rich_workbook, as_of=dt.date(2026, 10, 1))
    out = tmp_path / "lo"
    profile = tmp_path / "profile"
    done = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
         "--outdir", str(out), str(rich_workbook)],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    charges = (out / "rich-Charges.csv").read_text().splitlines()
    assert charges[0].startswith(
        "period,agency_id,service_id,service_name,tower,unit,quantity,rate,amount,list_amount,reason")
    assert any(line.endswith('"=HYPERLINK(""http://evil"")"') for line in charges)
    summary = (out / "rich-AgencySummary.csv").read_text().splitlines()
    assert len(summary) == 3
    assert (out / "rich-Dashboard.csv").read_text().splitlines()[0].startswith("3")


def add_calc_chain(path: Path, chain: str) -> None:
    """Give a workbook a calcChain.xml part (XlsxWriter writes none), as Excel would."""
    with zipfile.ZipFile(path) as z:
        items = {i.filename: z.read(i.filename) for i in z.infolist()}
    items["xl/calcChain.xml"] = chain.encode()
    items["[Content_Types].xml"] = items["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/calcChain.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>')
    items["xl/_rels/workbook.xml.rels"] = items["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items.items():
            z.writestr(name, data)


def test_calc_chain_keeps_other_sheets_and_drops_rewritten_ones(tmp_path):
    def charges_sheet(wb, sheets):
        ws = wb.add_worksheet("Charges")  # an old output sheet with a formula on it
        ws.add_table("A1:A2", {"name": "Charges", "columns": [{"header": "x"}]})
        ws.write_formula("A2", "=1+1", None, 2)
        other = wb.add_worksheet("Notes")
        other.write_formula("A1", "=2+2", None, 4)
        other.write_formula("A2", "=3+3", None, 6)

    path = write_book(tmp_path / "c.xlsx", minimal_book(), charges_sheet)
    with Package(path) as pkg:
        ids = {s.name: s.sheet_id for s in pkg.sheets}
    add_calc_chain(path, '<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                   f'2006/main"><c r="A2" i="{ids["Charges"]}"/><c r="A1" i="{ids["Notes"]}"/>'
                   '<c r="A2"/></calcChain>')
    refresh(path, as_of=dt.date(2026, 10, 1))
    chain = parts(path)["xl/calcChain.xml"].decode()
    assert f'i="{ids["Charges"]}"' not in chain
    assert chain.count(f'i="{ids["Notes"]}"') == 2  # the entry that inherited its sheet says so


def test_an_output_table_sharing_its_sheet_is_refused_before_writing(tmp_path):
    def shared(wb, sheets):
        ws = wb.add_worksheet("Out")
        ws.add_table("A1:B2", {"name": "Charges", "columns": [{"header": "a"}, {"header": "b"}]})
        ws.add_table("D1:E2", {"name": "MyNotes", "columns": [{"header": "x"}, {"header": "y"}]})

    path = write_book(tmp_path / "s.xlsx", minimal_book(), shared)
    before = digest(path)
    with pytest.raises(WorkbookError, match="shares sheet Out with table MyNotes"):
        refresh(path, as_of=dt.date(2026, 10, 1))
    assert digest(path) == before


def test_rows_of_an_output_sheet_are_cut_before_parsing():
    from brm_xl.workbook.writer import without_rows

    xml = (b'<worksheet xmlns="m"><dimension ref="A1:B3"/><sheetData><row r="1"><c r="A1"/></row>'
           b'</sheetData><tableParts count="1"/></worksheet>')
    assert without_rows(xml) == (b'<worksheet xmlns="m"><dimension ref="A1:B3"/><sheetData/>'
                                 b'<tableParts count="1"/></worksheet>')
    prefixed = b'<x:worksheet xmlns:x="m"><x:sheetData><x:row/></x:sheetData></x:worksheet>'
    assert without_rows(prefixed) == b'<x:worksheet xmlns:x="m"><x:sheetData/></x:worksheet>'
    empty = b'<worksheet><sheetData/></worksheet>'
    assert without_rows(empty) == empty
