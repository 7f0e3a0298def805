"""Workbooks as other programs save them: Strict Open XML, old LibreOffice content types,
duplicate number formats, a stylesheet in a prefixed namespace, a defined name that takes
an output table's name, sheet parts named in capitals, parts outside xl/, Excel 4.0 macro
and dialog sheets; and check's row counts."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from brm_xl.app.refresh import check, refresh, refresh_tables
from brm_xl.workbook.package import NS_MAIN, Package
from tests.helpers import (
    Block,
    cli_in_process,
    digest,
    minimal_book,
    output_rows,
    rate_card,
    usage,
    write_book,
)
from tests.workbook.test_hardening import _rezip

AS_OF = dt.date(2026, 10, 1)


def cli(*args):
    return cli_in_process(*args)


def parts(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


# Strict Open XML as Excel (Microsoft 365) writes it, as in a file Excel saved as "Strict
# Open XML Spreadsheet" (calamine's tests/strict_iso_paths.xlsx): every namespace and
# relationship type of SpreadsheetML, DrawingML (the theme) and the extended properties under
# purl.oclc.org/ooxml, extended-properties renamed extendedProperties, conformance="strict"
# on <workbook>; the package parts (content types, the core properties) stay as they were
STRICT = [
    (b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties",
     b"http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties"),
    (b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
     b"http://purl.oclc.org/ooxml/spreadsheetml/main"),
    (b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
     b"http://purl.oclc.org/ooxml/officeDocument/relationships"),
    (b"http://schemas.openxmlformats.org/drawingml/2006/main",
     b"http://purl.oclc.org/ooxml/drawingml/main"),
    (b"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
     b"http://purl.oclc.org/ooxml/officeDocument/extendedProperties"),
    (b"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes",
     b"http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes"),
]


def excel_strict(src: Path, dst: Path) -> Path:
    """`src` as Excel saves it as Strict Open XML, dates included: a date cell holds its ISO
    8601 text (t="d"), not a serial number."""
    with zipfile.ZipFile(src) as z:
        styles = etree.fromstring(z.read("xl/styles.xml"))
    m = f"{{{NS_MAIN}}}"
    codes = {f.get("numFmtId"): f.get("formatCode", "") for f in styles.iter(m + "numFmt")}
    dated = [str(i) for i, xf in enumerate(styles.find(m + "cellXfs"))
             if re.search("[ymd]", codes.get(xf.get("numFmtId"), ""))]

    def iso(found):
        day = dt.datetime(1899, 12, 30) + dt.timedelta(days=float(found.group(2)))
        return found.group(1) + b' t="d"><v>' + day.isoformat().encode() + b"</v>"

    def change(name, data):
        if name.startswith("xl/worksheets/sheet") and dated:
            styled = "|".join(dated).encode()
            data = re.sub(rb'(<c r="[A-Z]+\d+" s="(?:' + styled + rb')")><v>([0-9.]+)</v>', iso,
                          data)
        for a, b in STRICT:
            data = data.replace(a, b)
        if name == "xl/workbook.xml":
            data = data.replace(b"<workbook ", b'<workbook conformance="strict" ', 1)
        return data

    return _rezip(src, dst, change)


def test_strict_open_xml_is_read_and_a_write_is_refused_with_a_sentence(tmp_path):
    base = write_book(tmp_path / "base.xlsx", minimal_book())
    path = excel_strict(base, tmp_path / "strict.xlsx")
    # every table is found, as in the transitional file: reports are made from it
    done = cli("report", path, "--period", "2026-09", "--format", "html")
    assert done.returncode == 0, done.stderr
    before = digest(path)
    done = cli("check", path)  # what a refresh would meet, and only that
    assert done.returncode == 1 and "saved as Strict Open XML" in done.stderr
    assert "problem(s)" in done.stderr and "1 problem" in done.stderr
    done = cli("refresh", path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "saved as Strict Open XML: brm_xl reads it" in done.stderr
    assert "Save As > Excel Workbook" in done.stderr and digest(path) == before


NOW = dt.datetime(2026, 10, 1, 9, 0)


def computed(path: Path) -> dict[str, list]:
    """Every output table a refresh of `path` would write, as rows (nothing is written)."""
    _, tables = refresh_tables(path, as_of=AS_OF, now=NOW, user="tester")
    return {t.name: [list(r) for r in (t.rows.rows() if hasattr(t.rows, "rows") else t.rows)]
            for t in tables}


def test_a_strict_file_of_plain_sheets_and_iso_dates_reads_as_the_transitional_one(tmp_path):
    # plain ranges (no Excel tables): the sheets are found by their first filled row,
    # which Strict names in its own namespace; dates are ISO 8601 text, not serial numbers
    book = minimal_book(
        RateCard=rate_card(("EMAIL", Decimal("4.00"), dt.date(2026, 1, 1), None)),
        Usage=usage((dt.date(2026, 9, 1), "DOT", "EMAIL", 100),
                    (dt.date(2026, 9, 1), "DOR", "EMAIL", 50)))
    for block in book.blocks:
        block.as_table = False
    base = write_book(tmp_path / "base.xlsx", book)
    path = excel_strict(base, tmp_path / "strict.xlsx")
    with zipfile.ZipFile(path) as z:
        assert b't="d"><v>2026-09-01T00:00:00</v>' in z.read("xl/worksheets/sheet3.xml")
        assert b'conformance="strict"' in z.read("xl/workbook.xml")
    inputs, problems = check(path)  # every sheet read; the only problem is the write
    assert ["Strict Open XML" in p.message for p in problems if p.is_error] == [True]
    assert inputs.row_counts() == {"Agencies": 2, "RateCard": 1, "Usage": 2, "Headcount": 2}
    assert computed(path) == computed(base)
    before = digest(path)
    with pytest.raises(Exception, match="saved as Strict Open XML"):
        refresh(path, as_of=AS_OF)
    assert digest(path) == before


def relocate(src: Path, dst: Path, move, absolute: bool = False) -> Path:
    """`src` with its parts renamed by `move` (a part name to its new one), every
    relationship pointing at the new names, relative (../ where needed) or absolute."""
    with zipfile.ZipFile(src) as z:
        files = {n: z.read(n) for n in z.namelist()}
    out = {}
    for name, data in files.items():
        if name.endswith(".rels"):
            folder, rels = posixpath.split(name)
            source = posixpath.join(posixpath.dirname(folder), rels[:-len(".rels")])
            root = etree.fromstring(data)
            for rel in root:
                target = rel.get("Target")
                old = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                    posixpath.join(posixpath.dirname(source), target))
                new = move(old)
                rel.set("Target", "/" + new if absolute or not source else posixpath.relpath(
                    new, posixpath.dirname(move(source)) or "."))
            data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            if source:
                folder, base = posixpath.split(move(source))
                name = posixpath.join(folder, "_rels", base + ".rels")
        elif name == "[Content_Types].xml":
            data = re.sub(rb'PartName="/([^"]+)"', lambda m: b'PartName="/' + move(
                m.group(1).decode()).encode() + b'"', data)
        else:
            name = move(name)
        out[name] = data
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in out.items():
            z.writestr(name, data)
    return dst


def _elsewhere(part: str) -> str:
    """The workbook and its parts in book/, the sheets and their tables in data/."""
    for old, new in (("xl/worksheets/", "data/"), ("xl/tables/", "data/tables/"),
                     ("xl/", "book/")):
        if part.startswith(old):
            return new + part[len(old):]
    return part


@pytest.mark.parametrize("absolute", [False, True], ids=["relative", "absolute"])
def test_parts_outside_xl_are_found_by_their_relationships_refresh_after_refresh(
        tmp_path, absolute):
    base = write_book(tmp_path / "base.xlsx", minimal_book())
    path = relocate(base, tmp_path / "moved.xlsx", _elsewhere, absolute)
    original = parts(path)
    assert not any(n.startswith("xl/") for n in original)
    refresh(path, as_of=AS_OF)
    first = parts(path)
    refresh(path, as_of=AS_OF)  # reads its own output again
    second = parts(path)
    # nothing lost: every part of the file is still there, the input sheets as they were
    assert set(original) <= set(first) and set(first) <= set(second)
    for name in original:
        if name.startswith("data/"):
            assert second[name] == original[name], name
    # new parts beside workbook.xml, where its relationships lead
    assert not any(n.startswith("xl/") for n in second), sorted(second)
    with Package(path) as package:
        assert all(s.part in package.names for s in package.sheets)
        assert package.table("Charges").part.startswith("book/tables/")
    assert {r["agency_id"] for r in output_rows(path, "AgencySummary")} == {"DOT", "DOR"}
    assert output_rows(path, "Charges") == output_rows(refreshed_copy(base, tmp_path), "Charges")


def refreshed_copy(src: Path, tmp_path: Path) -> Path:
    copy = tmp_path / ("plain_" + src.name)
    shutil.copyfile(src, copy)
    refresh(copy, as_of=AS_OF)
    return copy


MACRO_SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<xm:macrosheet xmlns="'
    b'http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.'
    b'openxmlformats.org/officeDocument/2006/relationships" xmlns:xm="http://schemas.microsoft'
    b'.com/office/excel/2006/main"><dimension ref="A1:A2"/><sheetViews><sheetView '
    b'workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/><sheetData>'
    b'<row r="1"><c r="A1" t="b"><f>ALERT("Refresh first")</f><v>1</v></c></row><row r="2">'
    b'<c r="A2" t="e"><f>RETURN()</f><v>#N/A</v></c></row></sheetData><pageMargins left="0.7" '
    b'right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></xm:macrosheet>')
DIALOG_SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<dialogsheet xmlns="http://'
    b'schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats'
    b'.org/officeDocument/2006/relationships"><sheetPr/><sheetViews><sheetView '
    b'workbookViewId="0"/></sheetViews><pageMargins left="0.7" right="0.7" top="0.75" '
    b'bottom="0.75" header="0.3" footer="0.3"/></dialogsheet>')


def excel_xlsm_with_old_sheets(src: Path, dst: Path) -> Path:
    """`src` as an Excel .xlsm with an Excel 4.0 macro sheet and a dialog sheet, each with its
    content type and relationship type as Excel writes them, and Agencies's state="show"."""
    r = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"

    def change(name, data):
        if name == "[Content_Types].xml":
            data = data.replace(
                b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
            data = data.replace(b"</Types>", (
                b'<Override PartName="/xl/macrosheets/sheet1.xml" ContentType="application/'
                b'vnd.ms-excel.macrosheet+xml"/><Override PartName="/xl/dialogsheets/sheet1.xml"'
                b' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
                b'dialogsheet+xml"/></Types>'))
        elif name == "xl/_rels/workbook.xml.rels":
            data = data.replace(b"</Relationships>", (
                b'<Relationship Id="rId90" Type="http://schemas.microsoft.com/office/2006/'
                b'relationships/xlMacrosheet" Target="macrosheets/sheet1.xml"/>'
                b'<Relationship Id="rId91" Type="' + r + b'/dialogsheet" '
                b'Target="dialogsheets/sheet1.xml"/></Relationships>'))
        elif name == "xl/workbook.xml":
            data = data.replace(b'<sheet name="Agencies"', b'<sheet name="Agencies" state="show"')
            data = data.replace(b"</sheets>", (
                b'<sheet name="Macro1" sheetId="90" r:id="rId90"/><sheet name="Dialog1" '
                b'sheetId="91" state="hidden" r:id="rId91"/></sheets>'))
        return data

    _rezip(src, dst, change)
    with zipfile.ZipFile(dst, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/macrosheets/sheet1.xml", MACRO_SHEET)
        z.writestr("xl/dialogsheets/sheet1.xml", DIALOG_SHEET)
    return dst


def test_an_xlsm_with_a_macro_sheet_a_dialog_sheet_and_state_show_is_read_and_kept(tmp_path):
    base = write_book(tmp_path / "base.xlsx", minimal_book())
    path = excel_xlsm_with_old_sheets(base, tmp_path / "macros.xlsm")
    assert b"macroEnabled.main+xml" in parts(path)["[Content_Types].xml"]
    inputs, problems = check(path)
    assert not [p for p in problems if p.is_error], problems
    assert inputs.row_counts()["Agencies"] == 2
    before = parts(path)
    refresh(path, as_of=AS_OF)
    refresh(path, as_of=AS_OF)
    after = parts(path)
    for name in ("xl/macrosheets/sheet1.xml", "xl/dialogsheets/sheet1.xml",
                 "xl/worksheets/sheet1.xml"):
        assert after[name] == before[name], name
    workbook = after["xl/workbook.xml"]
    assert b'<sheet name="Macro1" sheetId="90" r:id="rId90"/>' in workbook
    assert b'name="Agencies" state="show"' in workbook  # the user's file, as it was
    assert b"xlMacrosheet" in after["xl/_rels/workbook.xml.rels"]
    assert {r["agency_id"] for r in output_rows(path, "AgencySummary")} == {"DOT", "DOR"}


U = ["period", "agency_id", "service_id", "quantity"]
# seven usage rows, two of them for one month, agency and service (summed, but two rows)
SEVEN = [("2026-09", "DOT", "EMAIL", 1), ("2026-09", "DOR", "EMAIL", 2),
         ("2026-08", "DOT", "EMAIL", 3), ("2026-09", "DOT", "EMAIL", 4),
         ("2026-07", "DOR", "EMAIL", 5), ("2026-06", "DOT", "EMAIL", 6),
         ("2026-05", "DOR", "EMAIL", 7)]


def _totals_row(wb, sheets):
    ws = wb.add_worksheet("Usage")
    ws.write_row(3, 1, U)
    for i, row in enumerate(SEVEN):
        ws.write_row(4 + i, 1, row)
    ws.add_table(3, 1, 4 + len(SEVEN), 4, {"name": "Usage", "total_row": True, "columns": [
        {"header": "period", "total_string": "Total"}, {"header": "agency_id"},
        {"header": "service_id"}, {"header": "quantity", "total_function": "sum"}]})


def _row_beyond(wb, sheets):
    sheets["Usage"].write_row(12, 0, ["2026-04", "DOR", "EMAIL", 9])  # not in the table


@pytest.mark.parametrize("usage_block, extra", [
    (Block("Usage", U, SEVEN), None),
    (Block("Usage", U, SEVEN, at="C5"), None),
    (Block("Usage", U, SEVEN[:3] + [(None,) * 4] + SEVEN[3:]), None),
    (Block("Usage", U, SEVEN, as_table=False), None),
    (Block("Usage", U, SEVEN[:3] + [(None,) * 4] + SEVEN[3:], as_table=False, at="B3"), None),
    (Block("Usage", U, SEVEN), _row_beyond),
    (None, _totals_row),
], ids=["table", "table-lower", "blank-inside", "plain", "plain-lower-blank", "row-beyond",
        "totals-row"])
def test_check_counts_every_usage_row(tmp_path, usage_block, extra):
    book = minimal_book(Usage=usage_block or usage())
    if usage_block is None:
        book.blocks = [b for b in book.blocks if b.name != "Usage"]
    path = write_book(tmp_path / "u.xlsx", book, extra)
    inputs, problems = check(path)
    assert not [p for p in problems if p.is_error], problems
    assert inputs.row_counts()["Usage"] == 7


def test_check_says_seven_usage_rows_where_two_share_a_key(tmp_path):
    path = write_book(tmp_path / "u.xlsx", minimal_book(Usage=Block("Usage", U, SEVEN)))
    done = cli("check", path)
    assert done.returncode == 0, done.stderr
    assert "Usage 7," in done.stdout


def old_libreoffice(src: Path, dst: Path) -> Path:
    """LibreOffice 3.4 to 5.1: no Default for .rels; each .rels part has an Override."""
    def change(name, data):
        if name != "[Content_Types].xml":
            return data
        data = re.sub(rb'<Default Extension="rels"[^>]*/>', b"", data)
        rels = b"".join(
            b'<Override PartName="/' + n.encode() + b'" ContentType="application/'
            b'vnd.openxmlformats-package.relationships+xml"/>'
            for n in zipfile.ZipFile(src).namelist() if n.endswith(".rels"))
        return data.replace(b"</Types>", rels + b"</Types>")
    return _rezip(src, dst, change)


def content_type_of(types: bytes, part: str) -> str | None:
    override = re.search(rb'<Override PartName="/' + re.escape(part.encode()) + rb'" ContentType="([^"]+)"', types)
    if override:
        return override.group(1).decode()
    ext = part.rsplit(".", 1)[-1]
    default = re.search(rb'<Default Extension="' + ext.encode() + rb'" ContentType="([^"]+)"', types)
    return default.group(1).decode() if default else None


def test_every_new_part_has_a_content_type_in_an_old_libreoffice_file(tmp_path):
    path = old_libreoffice(write_book(tmp_path / "base.xlsx", minimal_book()), tmp_path / "lo.xlsx")
    before = parts(path)
    refresh(path, as_of=AS_OF)
    after = parts(path)
    types = after["[Content_Types].xml"]
    new = [n for n in after if n not in before]
    assert any(n.endswith(".rels") for n in new)
    assert all(content_type_of(types, n) for n in new), [n for n in new if not content_type_of(types, n)]


def test_duplicate_number_format_codes_never_lend_their_ids(tmp_path):
    base = write_book(tmp_path / "base.xlsx", minimal_book())

    def styles(name, data):
        if name != "xl/styles.xml":
            return data
        # two formats with one code (Excel keeps both when files are merged); the user's
        # TRUE/FALSE column is styled with the second
        fmts = (b'<numFmts count="2"><numFmt numFmtId="164" formatCode="0.0"/>'
                b'<numFmt numFmtId="170" formatCode="0.0"/></numFmts>')
        data = re.sub(rb"<numFmts.*?</numFmts>", b"", data, flags=re.S)
        return data.replace(b"<fonts", fmts + b"<fonts", 1)

    path = _rezip(base, tmp_path / "dup.xlsx", styles)
    refresh(path, as_of=AS_OF)
    xml = parts(path)["xl/styles.xml"].decode()
    ids = re.findall(r'numFmtId="(\d+)" formatCode="([^"]*)"', xml)
    assert len({i for i, _ in ids}) == len(ids), ids  # no id twice
    assert ("170", "0.0") in ids and ("164", "0.0") in ids  # the user's own, unchanged


def test_a_stylesheet_in_a_prefixed_namespace_gets_valid_style_indexes(tmp_path):
    base = write_book(tmp_path / "base.xlsx", minimal_book())

    def prefixed(name, data):
        if name != "xl/styles.xml":
            return data
        data = data.replace(b'<styleSheet xmlns="', b'<x:styleSheet xmlns:x="')
        data = re.sub(rb"<(/?)(?!\?|x:)([A-Za-z]+)", rb"<\1x:\2", data)
        return data

    path = _rezip(base, tmp_path / "hancom.xlsx", prefixed)
    refresh(path, as_of=AS_OF)
    assert {r["agency_id"] for r in output_rows(path, "AgencySummary")} == {"DOT", "DOR"}
    files = parts(path)
    styles = etree.fromstring(files["xl/styles.xml"])
    assert {etree.QName(e).namespace for e in styles.iter()} == {NS_MAIN}  # one namespace
    codes = {f.get("numFmtId"): f.get("formatCode") for f in styles.iter(f"{{{NS_MAIN}}}numFmt")}
    xfs = styles.find(f"{{{NS_MAIN}}}cellXfs").findall(f"{{{NS_MAIN}}}xf")
    with Package(path) as package:
        sheet = files[package.table("AgencySummary").sheet.part]
    style = {c.get("r"): int(c.get("s", "0")) for c in etree.fromstring(sheet).iter(f"{{{NS_MAIN}}}c")}
    # every index is in range, and the charges cell (E2) is styled as money
    assert max(style.values()) < len(xfs)
    assert codes[xfs[style["E2"]].get("numFmtId")] == "#,##0.00_);(#,##0.00)"


def test_a_defined_name_like_an_output_table_is_refused_before_writing(tmp_path):
    def name(wb, sheets):
        wb.define_name("Charges", "=Agencies!$A$1:$A$3")
    path = write_book(tmp_path / "b.xlsx", minimal_book(), name)
    before = digest(path)
    done = cli("refresh", path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "defined name 'Charges' (Formulas > Name Manager)" in done.stderr
    assert digest(path) == before


def test_capitalised_sheet_part_names_are_never_shadowed(tmp_path):
    base = write_book(tmp_path / "base.xlsx", minimal_book())
    rename = {f"xl/worksheets/sheet{i}.xml": f"xl/worksheets/Sheet{i}.xml" for i in range(1, 6)}
    rename |= {f"xl/worksheets/_rels/sheet{i}.xml.rels": f"xl/worksheets/_rels/Sheet{i}.xml.rels"
               for i in range(1, 6)}

    def capitals(name, data):
        for old, new in rename.items():
            short_old, short_new = old.split("/")[-1].encode(), new.split("/")[-1].encode()
            if name.endswith((".rels", "[Content_Types].xml")):
                data = data.replace(b"/" + short_old, b"/" + short_new).replace(
                    b'"worksheets/' + short_old, b'"worksheets/' + short_new)
        return data

    src = _rezip(base, tmp_path / "caps0.xlsx", capitals)
    path = tmp_path / "caps.xlsx"
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for n in z.namelist():
            out.writestr(rename.get(n, n), z.read(n))
    assert cli("check", path).returncode == 0
    before = parts(path)
    refresh(path, as_of=AS_OF)
    after = parts(path)
    lowered = [n.casefold() for n in after]
    assert len(lowered) == len(set(lowered)), sorted(after)
    workbook_level = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                      "xl/styles.xml", "docProps/app.xml"}
    changed = {n for n in before if after.get(n) != before[n]} - workbook_level
    assert changed == set(), changed


@pytest.mark.libreoffice
def test_libreoffice_opens_the_refreshed_old_libreoffice_file(tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed; .ci/run installs libreoffice-calc-nogui")
    path = old_libreoffice(write_book(tmp_path / "base.xlsx", minimal_book()), tmp_path / "lo.xlsx")
    refresh(path, as_of=AS_OF)
    out = tmp_path / "out"
    done = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
         "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
         "--outdir", str(out), str(path)], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    charges = (out / "lo-Charges.csv").read_text().splitlines()
    assert charges[0].startswith("period,agency_id,service_id") and len(charges) == 3
