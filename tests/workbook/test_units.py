"""Unit tests of the small core modules: file names, period comparisons, the delivery
journal, the zip checks and the write guard."""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from decimal import Decimal

import pytest

from brm_xl.contract.periods import comparison, month_list, parse_period
from brm_xl.delivery.journal import UNKNOWN_ERROR, Journal
from brm_xl.filenames import agency_stems, report_file, safe_name
from brm_xl.problems import WorkbookError
from brm_xl.workbook import guard, zipraw


def test_agency_stems_are_unique_ignoring_case_and_stable():
    stems = agency_stems(["DOT", "DOA/OTS", "DOA-OTS", "doa ots"])
    assert stems["DOT"] == "DOT" and stems["DOA-OTS"] == "DOA-OTS"
    assert len({s.casefold() for s in stems.values()}) == 4
    assert agency_stems(["DOA/OTS", "DOA-OTS"])["DOA/OTS"] == stems["DOA/OTS"]  # stable
    assert agency_stems(["DOA/OTS"])["DOA/OTS"] == "DOA-OTS"  # no clash: the plain safe name
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert report_file("FY2027-Q1", None, "pdf") == "FY2027-Q1_portfolio.pdf"
    assert report_file("2026-01..2026-06", "DOT", "xlsx") == "2026-01-2026-06_DOT_value_report.xlsx"


def test_comparison_takes_the_same_months_and_says_so():
    fy = parse_period("FY2027", 7)
    have = {"2025-07", "2025-08", "2026-07", "2026-08"}
    c = comparison(fy, have, "2026-09")
    assert c.months == ["2026-07", "2026-08"] and c.prior_months == ["2025-07", "2025-08"]
    assert c.note == "FY2027 so far (July 2026 to August 2026) against the same months of FY2026"
    month = parse_period("2026-08", 7)
    assert comparison(month, have, "2026-09").note is None
    assert month_list(["2026-01", "2026-02", "2026-03", "2026-05"]) == \
        "January 2026 to March 2026, May 2026"


def test_the_journal_gives_the_last_word_and_survives_a_cut_line(tmp_path):
    book = tmp_path / "b.xlsx"
    journal = Journal(book)
    journal.write("sending", "2026-09", "DOT", "a@x", None, "<1@x>")
    journal.write("sent", "2026-09", "DOT", "a@x", None, "<1@x>", dt.datetime(2026, 10, 1, 9))
    journal.write("sending", "2026-09", "DOR", "b@x", "c@x", "<2@x>")
    with open(journal.path, "a") as fh:
        fh.write('{"state": "sent", "message_id": "<2@x')  # the kill cut this line short
    entries = {e.agency_id: e for e in journal.entries()}
    assert entries["DOT"].status == "sent" and entries["DOT"].sent_at == dt.datetime(2026, 10, 1, 9)
    assert entries["DOR"].status == "unknown" and entries["DOR"].error == UNKNOWN_ERROR
    journal.settle(["<1@x>"])
    assert journal.path.exists()  # DOR is not recorded yet
    journal.settle(["<1@x>", "<2@x>"])
    assert not journal.path.exists()


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts.items():
            z.writestr(name, content)
    return out.getvalue()


def test_zip_checks_refuse_bombs_and_find_damaged_parts():
    good = _zip({"a.xml": b"<a/>" * 1000, "b.xml": b"<b/>"})
    entries = zipraw.read_entries(memoryview(good))
    assert [e.name for e in entries] == ["a.xml", "b.xml"]
    assert zipraw.damaged_parts(memoryview(good), entries) == []
    bomb = _zip({"sheet.xml": b" " * (200 << 20)})
    with pytest.raises(WorkbookError, match="zip bomb"):
        zipraw.read_entries(memoryview(bomb))
    bad = bytearray(good)
    e = entries[0]
    bad[e.data_offset + e.compressed // 2] ^= 0xFF
    assert zipraw.damaged_parts(memoryview(bytes(bad)), entries) == ["a.xml"]
    with pytest.raises(WorkbookError, match="not a zip package"):
        zipraw.read_entries(memoryview(b"PK\x03\x04 junk"))


def test_write_atomic_keeps_mode_and_refuses_a_changed_file(tmp_path):
    path = tmp_path / "w.xlsx"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)
    with guard.locked(path) as held:
        guard.write_bytes_atomic(path, b"new", held)
    assert path.read_bytes() == b"new" and os.stat(path).st_mode & 0o777 == 0o600
    with guard.locked(path) as held:
        path.write_bytes(b"someone else")
        with pytest.raises(WorkbookError, match="changed by another program"):
            guard.write_bytes_atomic(path, b"mine", held)
    assert path.read_bytes() == b"someone else"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.xlsx"]


def test_a_folder_that_cannot_be_written_is_a_sentence(tmp_path, monkeypatch):
    path = tmp_path / "w.xlsx"
    path.write_bytes(b"old")
    real_open = os.open

    def refuse(name, *args, **kwargs):
        if str(name).endswith(".brm-xl.lock"):
            raise PermissionError(13, "Permission denied")
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(guard.os, "open", refuse)
    with pytest.raises(WorkbookError, match="cannot write in the folder of w.xlsx"):
        with guard.locked(path):
            pass


def test_one_header_rule_for_reading_and_appending():
    from brm_xl.contract.tables import header_positions

    assert header_positions(["Agency ID", "agency_id", "Score"]) == {"agencyid": 0, "score": 2}


def test_output_columns_are_the_record_fields_in_order():
    from typing import NamedTuple

    from brm_xl.pipeline import outputs
    from brm_xl.relationships.view import AgencyMonth

    assert [c.name for c in outputs.AGENCY_SUMMARY] == list(AgencyMonth._fields)
    assert [c.name for c in outputs.UNALLOCATED] == list(outputs.Unallocated._fields)

    class Row(NamedTuple):
        when: dt.date
        amount: Decimal
        note: str | None

    assert [(c.name, c.fmt) for c in outputs.columns_of(Row, amount="money")] == [
        ("when", "date"), ("amount", "money"), ("note", "text")]
    with pytest.raises(TypeError, match=r"Row.amount needs a format"):
        outputs.columns_of(Row)
    with pytest.raises(TypeError, match=r"no field\(s\) \['amont'\]"):
        outputs.columns_of(Row, amount="money", amont="money")
