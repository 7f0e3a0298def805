"""Workbooks as other programs save them: Strict Open XML, old LibreOffice content types,
duplicate number formats, a stylesheet in a prefixed namespace, a defined name that takes
an output table's name, sheet parts named in capitals."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from brm_xl.refresh import refresh
from brm_xl.workbook.package import NS_MAIN, Package

from .helpers import digest, minimal_book, output_rows, write_book
from .test_hardening import _rezip

AS_OF = dt.date(2026, 10, 1)


def cli(*args):
    import sys

    return subprocess.run([sys.executable, "-m", "brm_xl", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def parts(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


STRICT = {b"http://schemas.openxmlformats.org/spreadsheetml/2006/main":
          b"http://purl.oclc.org/ooxml/spreadsheetml/main",
          b"http://schemas.openxmlformats.org/officeDocument/2006/relationships":
          b"http://purl.oclc.org/ooxml/officeDocument/relationships"}


def test_strict_open_xml_is_read_and_a_write_is_refused_with_a_sentence(tmp_path):
    base = write_book(tmp_path / "base.xlsx", minimal_book())

    def strict(name, data):
        for a, b in STRICT.items():
            data = data.replace(a, b)
        return data

    path = _rezip(base, tmp_path / "strict.xlsx", strict)
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
