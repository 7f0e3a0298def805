"""Usage from CSV and Parquet files beside the workbook, and FOCUS cloud bills."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal as D

import polars as pl
import pytest

from brm_xl.app.refresh import refresh
from brm_xl.contract.inputs import Sources
from brm_xl.pipeline.read import load_inputs
from brm_xl.problems import DataProblems, errors
from tests.helpers import Block, digest, minimal_book, output_rows, write_book


def test_usage_files_combine_with_the_sheet(tmp_path):
    csv = tmp_path / "usage-2026-09.csv"
    csv.write_text("Period,Agency ID,service_id,Quantity\n2026-09,dot,EMAIL,10\n2026-09,DOR,email,2.5\n")
    pl.DataFrame({"period": [dt.date(2026, 9, 14)], "agency_id": ["DOT"], "service_id": ["EMAIL"],
                  "quantity": [5.0]}).write_parquet(tmp_path / "more.parquet")
    book = minimal_book()
    book.settings = [("usage_files", "*.parquet")]
    path = write_book(tmp_path / "b.xlsx", book)
    result = refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(usage=(csv,)))
    charges = {(r["agency_id"], r["quantity"]) for r in output_rows(path, "Charges")}
    # sheet: DOT 100 and DOR 50; files: DOT 10 + 5, DOR 2.5 -> summed per key before pricing
    assert charges == {("DOT", "115"), ("DOR", "52.5")}
    assert result.tables["Charges"] == 2
    log = output_rows(path, "RefreshLog")[0]["input_rows"]
    assert "usage-2026-09.csv 2" in log and "more.parquet 1" in log


def test_usage_files_alone_need_no_usage_sheet(tmp_path):
    csv = tmp_path / "u.csv"
    csv.write_text("period,agency_id,service_id,quantity\n2026-09,DOT,EMAIL,3\n")
    book = minimal_book()
    book.blocks = [b for b in book.blocks if b.name != "Usage"]
    path = write_book(tmp_path / "b.xlsx", book)
    refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(usage=(csv,)))
    assert [r["amount"] for r in output_rows(path, "Charges")] == ["12"]


def test_bad_rows_in_usage_files_are_named_by_file_and_line(tmp_path):
    csv = tmp_path / "usage.csv"
    csv.write_text("period,agency_id,service_id,quantity\n2026-09,DOT,EMAIL,1\n"
                   "2026-13,DOT,EMAIL,1\n2026-09,DXX,EMAIL,ten\n2026-09,DOT,NOPE,1\n")
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    before = digest(path)
    with pytest.raises(DataProblems) as caught:
        refresh(path, sources=Sources(usage=(csv,)))
    assert sorted(str(p) for p in errors(caught.value.problems)) == sorted([
        "usage.csv:3: period '2026-13' is not a month; type YYYY-MM (e.g. 2026-09) or an Excel date",
        "usage.csv:4: quantity 'ten' is not a number",
        "usage.csv:4: agency_id 'DXX' is not in Agencies",
        "usage.csv:5: service_id 'NOPE' is not in RateCard",
    ])
    assert digest(path) == before
    missing = tmp_path / "cols.csv"
    missing.write_text("period,agency\n2026-09,DOT\n")
    _, problems = load_inputs(path, sources=Sources(usage=(missing,)))
    assert ("cols.csv:1: the header lacks the columns agency_id, service_id, quantity; a usage "
            "file's first line names the columns period, agency_id, service_id, quantity"
            ) in [str(p) for p in problems]


def test_settings_glob_that_matches_nothing_is_a_problem(tmp_path):
    book = minimal_book()
    book.settings = [("usage_files", "exports/*.csv")]
    path = write_book(tmp_path / "b.xlsx", book)
    _, problems = load_inputs(path)
    assert ("Settings!B1: usage_files 'exports/*.csv' matches no file in the folder of b.xlsx; "
            "check the name, or remove the setting") in [str(p) for p in problems]


FOCUS_HEADER = ("BilledCost,EffectiveCost,ListCost,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,"
                "ServiceName,ServiceCategory,SubAccountId,SubAccountName,ProviderName,BillingCurrency,Tags")


def focus_csv(path, rows):
    lines = [FOCUS_HEADER]
    for billed, effective, category, start, service, sub_id, sub_name, tags in rows:
        lines.append(",".join([billed, effective, "0", category, start, "2026-10-01T00:00:00Z",
                               service, "Compute", sub_id, sub_name, "Amazon Web Services", "USD",
                               '"' + json.dumps(tags).replace('"', '""') + '"']))
    path.write_text("\n".join(lines) + "\n")
    return path


def focus_book(**settings):
    book = minimal_book(FocusMap=Block("FocusMap", ["sub_account_id", "sub_account_name", "agency_id"],
                                       [("111122223333", None, "DOR"), (None, "Health prod", "DOR")]))
    book.settings = [("focus_agency_tag", "agency"), ("focus_surcharge_pct", 3)] + list(settings.items())
    return book


def test_focus_bill_by_tag_and_sub_account_with_surcharge_credits_and_unallocated(tmp_path):
    bill = focus_csv(tmp_path / "aws-focus.csv", [
        ("100.00", "90.125", "Usage", "2026-09-01T00:00:00Z", "Amazon EC2", "999", "x", {"agency": "dot"}),
        ("10.00", "10.00", "Usage", "2026-09-01T00:00:00Z", "Amazon EC2", "999", "x", {"agency": "DOT"}),
        ("-5.00", "-5.00", "Credit", "2026-09-01T00:00:00Z", "Amazon EC2", "999", "x", {"agency": "DOT"}),
        ("40.00", "40.00", "Usage", "2026-09-01T00:00:00Z", "Amazon S3", "111122223333", "y", {}),
        ("7.50", "7.50", "Usage", "2026-09-01T00:00:00Z", "Amazon S3", "555", "Health prod", {}),
        ("3.00", "3.00", "Usage", "2026-09-01T00:00:00Z", "Amazon S3", "777", "sandbox", {}),
        ("2.00", "2.00", "Tax", "2026-09-01T00:00:00Z", "Amazon S3", "777", "sandbox", {"agency": "XYZ"}),
    ])
    path = write_book(tmp_path / "b.xlsx", focus_book())
    refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(bill,)))
    cloud = {(r["agency_id"], r["service_name"]): r for r in output_rows(path, "Charges")
             if r["unit"] == "USD of cloud cost"}
    ec2 = cloud[("DOT", "Amazon EC2")]
    assert (ec2["quantity"], ec2["rate"], ec2["amount"]) == ("100.125", "1.03", "103.13")
    credit = cloud[("DOT", "Amazon EC2 (Credit)")]
    assert (credit["amount"], credit["reason"]) == ("-5.15", "Amazon Web Services credit")
    assert cloud[("DOR", "Amazon S3")]["quantity"] == "47.5"  # by id and by name
    assert cloud[("DOR", "Amazon S3")]["amount"] == "48.93"  # 47.50 x 1.03 = 48.925
    loose = output_rows(path, "Unallocated")
    assert [(r["sub_account_name"], r["charge_category"], r["cost"], r["reason"]) for r in loose] == [
        ("sandbox", "Tax", "2", "agency 'XYZ' is not in Agencies"),
        ("sandbox", "Usage", "3", "no agency tag and no FocusMap entry")]
    recovery = {r["service_id"]: r for r in output_rows(path, "Recovery")}
    # cost counts the unallocated rows; charged only what reached an agency
    assert (recovery["Amazon S3"]["cost"], recovery["Amazon S3"]["charged"]) == ("52.5", "48.93")
    assert recovery["Amazon EC2"]["cost"] == "95.13"  # 100.125 - 5.00 (EffectiveCost, rounded)
    summary = {r["agency_id"]: r for r in output_rows(path, "AgencySummary")}
    assert D(summary["DOT"]["charges"]) == D("400") + D("103.13") - D("5.15")


def test_focus_billed_cost_and_bad_rows(tmp_path):
    bill = focus_csv(tmp_path / "f.csv", [
        ("100.00", "90.00", "Usage", "2026-09-01T00:00:00Z", "Amazon EC2", "1", "x", {"agency": "DOT"}),
        ("abc", "1", "Usage", "2026-09-01", "Amazon EC2", "1", "x", {"agency": "DOT"}),
        ("1", "1", "Refund", "not a date", "Amazon EC2", "1", "x", {"agency": "DOT"}),
    ])
    path = write_book(tmp_path / "b.xlsx", focus_book(focus_cost_column="BilledCost"))
    _, problems = load_inputs(path, sources=Sources(focus=(bill,)))
    assert sorted(str(p) for p in errors(problems)) == sorted([
        "f.csv:3: BilledCost 'abc' is not a number",
        "f.csv:4: ChargePeriodStart 'not a date' is not a FOCUS date (2024-09-01T00:00:00Z): if the "
        "file was opened and saved in Excel, which rewrites dates, use the file as the provider "
        "exported it",
        "f.csv:4: ChargeCategory 'Refund' is not one of: Usage, Purchase, Tax, Credit, Adjustment",
    ])


def test_cli_refresh_with_usage_and_focus_files(tmp_path):
    csv = tmp_path / "u.csv"
    csv.write_text("period,agency_id,service_id,quantity\n2026-09,DOT,EMAIL,1\n")
    bill = focus_csv(tmp_path / "f.csv", [("1", "1", "Usage", "2026-09-01", "Amazon EC2", "1", "x",
                                           {"agency": "DOT"})])
    path = write_book(tmp_path / "b.xlsx", focus_book())
    done = subprocess.run([sys.executable, "-m", "brm_xl", "refresh", str(path), "--usage", str(csv),
                           "--focus", str(bill), "--as-of", "2026-10-01"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Unallocated 0 rows" in done.stdout and "Charges 3 rows" in done.stdout
