"""File names: one per agency, unique ignoring case, stable."""

from __future__ import annotations

from brm_xl.filenames import agency_stems, report_file, safe_name


def test_agency_stems_are_unique_ignoring_case_and_stable():
    stems = agency_stems(["DOT", "DOA/OTS", "DOA-OTS", "doa ots"])
    assert stems["DOT"] == "DOT" and stems["DOA-OTS"] == "DOA-OTS"
    assert len({s.casefold() for s in stems.values()}) == 4
    assert agency_stems(["DOA/OTS", "DOA-OTS"])["DOA/OTS"] == stems["DOA/OTS"]  # stable
    assert agency_stems(["DOA/OTS"])["DOA/OTS"] == "DOA-OTS"  # no clash: the plain safe name
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert report_file("FY2027-Q1", None, "pdf") == "FY2027-Q1_portfolio.pdf"
    assert report_file("2026-01..2026-06", "DOT", "xlsx") == "2026-01-2026-06_DOT_value_report.xlsx"
