"""Reports every agency head can read (issue 23): PDF/UA-1 and displayed titles in every
PDF, and what an agency's report says as the period and the audience decide."""

from __future__ import annotations

import re

import pypdf

from .helpers import cli_in_process, minimal_book, write_book
from .test_limits import office_book


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
