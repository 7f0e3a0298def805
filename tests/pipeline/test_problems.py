"""Bad input gets a clear answer: every problem at its real cell, all at once, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal as D

import pytest

from brm_xl.app.refresh import check, refresh
from brm_xl.problems import DataProblems, errors
from tests.helpers import (
    AGENCY_HEADERS,
    Block,
    digest,
    headcount,
    minimal_book,
    rate_card,
    usage,
    write_book,
)


def problems_of(tmp_path, book):
    path = write_book(tmp_path / "bad.xlsx", book)
    _, found = check(path)
    return [str(p) for p in errors(found)]


def test_every_kind_of_cell_error_is_named_at_its_cell(tmp_path):
    def div_zero(wb, sheets):
        sheets["Monthly"].write_formula("E8", "=1/0", None, "#DIV/0!")

    book = minimal_book(
        Agencies=Block("Agencies", AGENCY_HEADERS, [
            ("DOT", "Transportation", "Robert", "robert@dot.example", "Pat", "pat@x.example", 30),
            ("dot", "Duplicate", "X", "not-an-email", "Pat", "pat@x.example", 7.5),
        ]),
        RateCard=rate_card(("EMAIL", D("4.00"), "2026-01", "2026-06"),
                           ("EMAIL", D("4.50"), "2026-06", None),
                           ("VM", D("0"), "2026-01", None),
                           ("GB", D("0.12345"), "2026-03", "2026-01")),
        Usage=Block("Usage", ["period", "agency_id", "service_id", "quantity"], [
            ("2026-09", "DOT", "EMAIL", "ten"),
            ("2026-13", "DOT", "EMAIL", 1),
            ("2026-09", "DXX", "EMAIL", 1),
            ("2026-09", "DOT", "NOPE", 1),
            ("2026-09", "DOT", None, 1),
            ("2026-09", "DOT", "EMAIL", -2),
            ("2025-12", "DOT", "EMAIL", 3),
        ], sheet="Monthly", at="B3"),
        Headcount=headcount(("2026-09", "DOT", 10), ("2026-09", "dot", 11)),
        Adjustments=Block("Adjustments", ["period", "agency_id", "service_id", "amount", "reason"],
                          [("2026-09", "DOT", None, D("12.345"), None)]),
    )
    book.settings = [("fiscal_year_start_month", 13), ("smtp_password", "hunter2")]
    path = write_book(tmp_path / "bad.xlsx", book, extra=div_zero)
    _, problems = check(path)
    found = [str(p) for p in errors(problems)]
    expected = [
        "Agencies!G3: contact_cadence_days '7.5' is not a whole number, 0 or more",
        "Agencies!A3: agency_id 'dot' appears more than once (first at row 2)",
        "RateCard!E4: rate '0' must be more than 0",
        "RateCard!E5: rate '0.12345' has more than 4 decimal places; round it (=ROUND(..., 4))",
        "Monthly!E8: quantity holds an Excel error (#DIV/0!); fix the formula or type a value",
        "Monthly!B5: period '2026-13' is not a month; type YYYY-MM (e.g. 2026-09) or an Excel date",
        "Monthly!D8: service_id is blank; every Usage row needs a service_id",
        "Monthly!E4: quantity 'ten' is not a number",
        "Monthly!E9: quantity '-2' is negative; it must be 0 or more",
        "Adjustments!D2: amount '12.345' has more than 2 decimal places; round it (=ROUND(..., 2))",
        "Adjustments!E2: reason is blank; every Adjustments row needs a reason",
        "Settings!B1: fiscal_year_start_month '13' must be a month number from 1 to 12",
        "Monthly!C6: agency_id 'DXX' is not in Agencies",
        "Monthly!D7: service_id 'NOPE' is not in RateCard",
        "RateCard!G5: effective_to 2026-01 is before effective_from 2026-03",
        "RateCard!F3: rate for EMAIL from 2026-06 overlaps row 2 (2026-01 to 2026-06); "
        "end the earlier rate first",
        "Monthly!B10: no RateCard rate for EMAIL covers 2025-12 (rates run 2026-01 to 2026-06, "
        "2026-06 to open-ended)",
        "Headcount!A3: headcount for 2026-09 dot is given more than once (first at row 2)",
    ]
    assert sorted(found) == sorted(expected)
    warning = [str(p) for p in problems if not p.is_error]
    assert any(w.startswith("Settings!A2: 'smtp_password' is ignored") for w in warning)
    # a malformed address stops only the email to it, not the bill
    assert ("Agencies!D3: head_email 'not-an-email' is not an email address; no report is "
            "emailed to it") in warning


def test_missing_tables_and_columns(tmp_path):
    book = minimal_book(Usage=Block("Usage", ["period", "agency", "service_id", "qty"],
                                    [("2026-09", "DOT", "EMAIL", 1)], at="C2"))
    book.blocks = [b for b in book.blocks if b.name != "Headcount"]
    found = problems_of(tmp_path, book)
    assert "Headcount!A1: no Excel table or sheet named Headcount; it needs a header row with " \
           "period, agency_id, users" in found
    assert "Usage!C2: Usage has no column 'agency_id' (headers found: period, agency, " \
           "service_id, qty)" in found
    assert "Usage!C2: Usage has no column 'quantity' (headers found: period, agency, " \
           "service_id, qty)" in found


def test_blank_rows_are_skipped_and_half_filled_rows_are_errors(tmp_path):
    book = minimal_book(Usage=usage(("2026-09", "DOT", "EMAIL", 1), (None, None, None, None),
                                    ("2026-09", None, None, None), ("2026-09", "DOT", "EMAIL", 2)))
    found = problems_of(tmp_path, book)
    assert found == ["Usage!B4: agency_id is blank; every Usage row needs a agency_id",
                     "Usage!C4: service_id is blank; every Usage row needs a service_id",
                     "Usage!D4: quantity is blank; every Usage row needs a quantity"]


def test_refresh_with_errors_writes_nothing(tmp_path):
    path = write_book(tmp_path / "bad.xlsx",
                      minimal_book(Usage=usage(("2026-09", "DOT", "EMAIL", "ten"))))
    before = digest(path)
    with pytest.raises(DataProblems) as caught:
        refresh(path)
    assert [str(p) for p in caught.value.problems] == ["Usage!D2: quantity 'ten' is not a number"]
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xlsx"]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "brm_xl", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_cli_refresh_bad_data_exit_1_lists_problems_no_traceback(tmp_path):
    rows = [("2026-09", "DOT", "EMAIL", "x")] * 60
    path = write_book(tmp_path / "bad.xlsx", minimal_book(Usage=usage(*rows)))
    before = digest(path)
    done = cli("refresh", path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert "60 problem(s) found; nothing was written:" in done.stderr
    assert "  Usage!D2: quantity 'x' is not a number" in done.stderr
    assert "  ... and 10 more" in done.stderr
    assert digest(path) == before


def test_cli_check_json(tmp_path):
    path = write_book(tmp_path / "bad.xlsx", minimal_book(Usage=usage(("2026-09", "DXX", "EMAIL", 1))))
    done = cli("check", path, "--json")
    assert done.returncode == 1
    payload = json.loads(done.stdout)
    assert payload["ok"] is False
    assert payload["errors"] == [{"where": "Usage!B2", "message": "agency_id 'DXX' is not in Agencies",
                                  "code": "unknown-id", "severity": "error"}]


def test_cli_not_a_workbook_and_usage_errors(tmp_path):
    junk = tmp_path / "junk.xlsx"
    junk.write_text("not a zip")
    done = cli("refresh", junk)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "junk.xlsx: not a readable .xlsx/.xlsm workbook" in done.stderr
    assert cli("refresh", tmp_path / "missing.xlsx").returncode == 2
    assert cli("refresh", junk, "--as-of", "yesterday").returncode == 2
    assert cli("frobnicate").returncode == 2
