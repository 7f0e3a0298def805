"""FOCUS bills as the providers publish them (tests/samples/focus, and Parquet built here
with the nested types AWS and GCP write): every dollar charged or unallocated with a
reason, or a sentence; never money in the wrong place with exit 0."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from brm_xl.app.refresh import refresh
from brm_xl.contract.inputs import Sources
from brm_xl.problems import DataProblems, errors, warnings
from brm_xl.sources.focus import account_key, tag_key, tag_pairs
from tests.helpers import TESTS, Block, digest, minimal_book, output_rows, write_book

SAMPLES = TESTS / "samples" / "focus"


def book(tmp_path, focus_map=(), rates=(), **settings):
    blocks = {}
    if focus_map:
        blocks["FocusMap"] = Block("FocusMap", ["sub_account_id", "sub_account_name", "agency_id"],
                                   list(focus_map))
    if rates:
        blocks["ExchangeRates"] = Block("ExchangeRates", ["period", "currency", "rate"], list(rates))
    b = minimal_book(**blocks)
    b.settings = list(({"focus_agency_tag": "agency"} | settings).items())
    return write_book(tmp_path / "b.xlsx", b)


def cloud_lines(path):
    return {(r["agency_id"], r["service_name"]): D(r["amount"]) for r in output_rows(path, "Charges")
            if r["unit"].endswith("of cloud cost")}


def unallocated(path):
    try:
        return [(r["service_name"], D(r["cost"]), r["reason"]) for r in output_rows(path, "Unallocated")]
    except AssertionError:
        return []


def test_aws_csv_scientific_costs_prefixed_tag_keys_and_zero_padded_accounts(tmp_path):
    # DOR's account is typed into FocusMap as a number: Excel drops its leading zero
    path = book(tmp_path, focus_map=[(43210987654, None, "DOR")])
    bill = shutil.copy(SAMPLES / "aws_focus_1.0.csv", tmp_path)
    result = refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(Path(bill),)))
    assert not errors(result.warnings)
    lines = cloud_lines(path)
    # user:Agency matches Settings' agency; 0.0832 + 0.0000016 + credit
    assert lines[("DOT", "Amazon Elastic Compute Cloud")] == D("0.08")
    assert lines[("DOT", "Amazon Elastic Compute Cloud (Credit)")] == D("-0.05")
    assert lines[("DOT", "Amazon Simple Storage Service")] == D("0.00")  # 0.0000016, exactly
    assert lines[("DOR", "Amazon Simple Storage Service")] == D("0.00")  # by the padded id
    assert unallocated(path) == []
    recovery = {r["service_id"]: r for r in output_rows(path, "Recovery")}
    assert D(recovery["Amazon Simple Storage Service"]["cost"]) == D("0.00")
    charges = [r for r in output_rows(path, "Charges") if r["service_name"] == "Amazon Simple Storage Service"]
    assert sorted(D(r["quantity"]) for r in charges) == [D("0.0000016"), D("0.0000024")]


def parquet_bill(path: Path, tags_type: str) -> Path:
    """FOCUS as Parquet: costs as doubles, Tags as AWS's map or GCP's list of key/values."""
    pair = pa.struct([("key", pa.string()), ("value", pa.string())])
    if tags_type == "map":
        tags = pa.array([[("user:agency", "dot")], [("user:agency", "DOR"), ("env", "prod")], []],
                        type=pa.map_(pa.string(), pa.string()))
    else:
        tags = pa.array([[{"key": "agency", "value": "dot"}],
                         [{"key": "Agency", "value": "DOR"}], None], type=pa.list_(pair))
    start = pa.array([dt.datetime(2026, 9, 1, tzinfo=dt.UTC)] * 3, type=pa.timestamp("us", tz="UTC"))
    table = pa.table({
        "BilledCost": pa.array([10.125, 1.6e-06, 3.0]),
        "EffectiveCost": pa.array([10.125, 1.6e-06, 3.0]),
        "BillingCurrency": ["USD"] * 3,
        "ChargeCategory": ["Usage"] * 3,
        "ChargePeriodStart": start,
        "ServiceName": ["Compute Engine", "Cloud Storage", "BigQuery"],
        "ServiceCategory": ["Compute", "Storage", "Analytics"],
        "SubAccountId": ["p-1", "p-2", "p-3"],
        "SubAccountName": ["dot-prod", "dor-prod", "sandbox"],
        "ProviderName": ["Google Cloud"] * 3,
        "Tags": tags,
    })
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize("tags_type", ["map", "list"])
def test_parquet_nested_tags_and_double_costs(tmp_path, tags_type):
    path = book(tmp_path)
    bill = parquet_bill(tmp_path / f"focus-{tags_type}.parquet", tags_type)
    refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(bill,)))
    assert cloud_lines(path) == {("DOT", "Compute Engine"): D("10.13"),
                                 ("DOR", "Cloud Storage"): D("0.00")}
    assert unallocated(path) == [("BigQuery", D("3"), "no agency tag and no FocusMap entry")]
    charges = {r["service_name"]: D(r["quantity"]) for r in output_rows(path, "Charges")
               if r["unit"].endswith("cloud cost")}
    assert charges["Cloud Storage"] == D("0.0000016")  # the double's shortest repr, exactly


def test_azure_text_tags(tmp_path):
    path = book(tmp_path)
    bill = shutil.copy(SAMPLES / "azure_focus_1.0.csv", tmp_path)
    refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(Path(bill),)))
    assert cloud_lines(path) == {("DOR", "Virtual Machines"): D("12.50")}


def test_a_tag_key_no_row_has_is_a_warning_naming_the_keys_seen(tmp_path):
    path = book(tmp_path, focus_agency_tag="cost-center")
    bill = shutil.copy(SAMPLES / "aws_focus_1.0.csv", tmp_path)
    result = refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(Path(bill),)))
    (warned,) = [w for w in warnings(result.warnings) if w.code == "tag-not-seen"]
    assert warned.message == ("focus_agency_tag 'cost-center' matches no tag in the FOCUS bills, "
                              "so no cost is allocated by tag (tag keys seen: user:Agency, "
                              "aws:createdBy)")
    assert str(warned.where) == "Settings!B1"
    # nothing is lost: every dollar is in Unallocated with its reason
    total = sum(cost for _, cost, _ in unallocated(path))
    assert total == D("0.0832") + D("0.0000016") + D("0.0000024") - D("0.05")


def test_a_bill_in_another_currency_needs_a_rate(tmp_path):
    path = book(tmp_path)
    bill = shutil.copy(SAMPLES / "gcp_focus_eur.csv", tmp_path)
    before = digest(path)
    done = subprocess.run([sys.executable, "-m", "brm_xl", "refresh", str(path), "--focus",
                           str(bill), "--as-of", "2026-10-01"], capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert ("gcp_focus_eur.csv:2: BillingCurrency EUR for 2026-09, but this workbook charges in "
            "USD; add an ExchangeRates row (period 2026-09, currency EUR, rate = USD per 1 EUR)"
            in done.stderr)
    assert digest(path) == before
    path = book(tmp_path, rates=[("2026-09", "EUR", D("1.0825"))])
    refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(Path(bill),)))
    assert cloud_lines(path) == {("DOT", "Compute Engine"): D("108.25")}


def test_a_bill_saved_through_excel_gets_advice_for_a_bill(tmp_path):
    path = book(tmp_path)
    bill = shutil.copy(SAMPLES / "aws_saved_by_excel.csv", tmp_path)
    done = subprocess.run([sys.executable, "-m", "brm_xl", "check", str(path), "--focus",
                           str(bill)], capture_output=True, text=True)
    assert done.returncode == 1
    assert ("aws_saved_by_excel.csv:2: ChargePeriodStart '9/3/2026 0:00' is not a FOCUS date "
            "(2024-09-01T00:00:00Z): if the file was opened and saved in Excel" in done.stderr)
    assert "type YYYY-MM" not in done.stderr


def test_tag_and_account_rules():
    assert tag_pairs('{"Agency": "DOT"}') == [("Agency", "DOT")]
    assert tag_pairs('[{"Key": "agency", "Value": "DOR"}]') == [("agency", "DOR")]
    assert tag_pairs('"agency": "DOT","env": "prod"') == [("agency", "DOT"), ("env", "prod")]
    assert tag_pairs("not tags") == [] and tag_pairs(None) == []
    assert tag_key("user:Agency") == tag_key(" agency ") == "agency"
    assert account_key("012345678901") == account_key("12345678901") == "12345678901"
    assert account_key("dot-prod") == "dot-prod"


def _rewritten(source: Path, target: Path, change=None, crlf: bool = False) -> Path:
    """The sample written again as another export of it would be (rows kept or changed)."""
    import csv

    with open(source, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if change:
        rows = change(rows)
    with open(target, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\r\n" if crlf else "\n")
        writer.writeheader()
        writer.writerows(rows)
    return target


def test_a_bill_delivered_twice_is_charged_once(tmp_path):
    path = book(tmp_path, focus_map=[(43210987654, None, "DOR")])
    first = Path(shutil.copy(SAMPLES / "aws_focus_1.0.csv", tmp_path / "export-1.csv"))
    once = refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(first,)))
    expected = cloud_lines(path)
    # the same bytes under another name (downloaded again), and the same rows written again
    # by another tool (CRLF line ends): charged once, each with a warning naming both
    again = Path(shutil.copy(first, tmp_path / "export-1 (1).csv"))
    rewritten = _rewritten(first, tmp_path / "export-1-saved.csv", crlf=True)
    # and written by a tool that orders the columns its own way (reversed)
    reordered = _rewritten(first, tmp_path / "export-1-reordered.csv",
                           lambda rows: [dict(reversed(list(r.items()))) for r in rows])
    twice = refresh(path, as_of=dt.date(2026, 10, 1),
                    sources=Sources(focus=(first, again, rewritten, reordered)))
    assert cloud_lines(path) == expected and not errors(twice.warnings)
    said = [str(p) for p in warnings(twice.warnings)]
    assert any("export-1 (1).csv: holds the same bytes as export-1.csv" in p for p in said), said
    for name in ("export-1-saved.csv", "export-1-reordered.csv"):
        assert any(p.startswith(f"{name}: holds the same bill of billing account "
                                "999988887777 for 2026-09 as export-1.csv") for p in said), said
    assert once.inputs.focus.rows == twice.inputs.focus.rows


def test_two_exports_of_one_bill_that_disagree_need_newest(tmp_path):
    import os

    path = book(tmp_path, focus_map=[(43210987654, None, "DOR")])
    first = Path(shutil.copy(SAMPLES / "aws_focus_1.0.csv", tmp_path / "snapshot-0903.csv"))

    def more(rows):  # a later snapshot of the month: the EC2 hour billed again
        rows[0] = {**rows[0], "BilledCost": "0.1664", "EffectiveCost": "0.1664"}
        return rows
    later = _rewritten(first, tmp_path / "snapshot-0910.csv", more)
    os.utime(first, (1_790_000_000, 1_790_000_000))
    os.utime(later, (1_790_600_000, 1_790_600_000))
    before = digest(path)
    done = subprocess.run([sys.executable, "-m", "brm_xl", "refresh", str(path), "--focus",
                           str(first), "--focus", str(later)], capture_output=True, text=True)
    assert done.returncode == 1 and digest(path) == before
    assert "snapshot-0903.csv and snapshot-0910.csv both hold billing account 999988887777's bill " \
           "for 2026-09 and they disagree" in done.stderr and "--newest" in done.stderr
    done = subprocess.run([sys.executable, "-m", "brm_xl", "refresh", str(path), "--focus",
                           str(first), "--focus", str(later), "--newest"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "snapshot-0910.csv: is the latest export" in done.stderr
    assert cloud_lines(path)[("DOT", "Amazon Elastic Compute Cloud")] == D("0.17")  # 0.1664


def test_a_correction_restating_a_closed_month_goes_to_the_first_open_month(tmp_path):
    from brm_xl.app.close import close

    path = book(tmp_path, focus_map=[(43210987654, None, "DOR")])
    bill = Path(shutil.copy(SAMPLES / "aws_focus_1.0.csv", tmp_path / "bill.csv"))
    refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(bill,)))
    close(path, "2026-09")

    def corrected(rows):  # October's bill restates a September EC2 hour
        row = {**rows[0], "ChargeClass": "Correction", "BilledCost": "-0.0400",
               "EffectiveCost": "-0.0400", "BillingPeriodStart": "2026-10-01T00:00:00Z",
               "BillingPeriodEnd": "2026-11-01T00:00:00Z"}
        return [row]
    october = _rewritten(bill, tmp_path / "bill-2026-10.csv", corrected)
    done = refresh(path, as_of=dt.date(2026, 11, 1), sources=Sources(focus=(bill, october)))
    assert not errors(done.warnings)
    lines = [r for r in output_rows(path, "Charges") if "correction" in (r["service_name"] or "")]
    assert [(r["period"][:7], r["agency_id"], D(r["amount"])) for r in lines] == [
        ("2026-10", "DOT", D("-0.04"))]
    assert "correction restating 2026-09, charged in 2026-10 since 2026-09 is closed" in \
        lines[0]["reason"]
    # October closed with the correction on its bill: it stays there, and the books hold
    close(path, "2026-10")
    done = refresh(path, as_of=dt.date(2026, 12, 1), sources=Sources(focus=(bill, october)))
    assert not errors(done.warnings)
    again = [(r["period"][:7], D(r["amount"])) for r in output_rows(path, "Charges")
             if "correction" in (r["service_name"] or "")]
    assert again == [("2026-10", D("-0.04"))]


def test_a_later_export_of_a_closed_month_is_charged_as_a_correction(tmp_path):
    import os

    from brm_xl.app.close import close

    path = book(tmp_path, focus_map=[(43210987654, None, "DOR")])
    first = Path(shutil.copy(SAMPLES / "aws_focus_1.0.csv", tmp_path / "snapshot-0903.csv"))
    refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(first,)))
    close(path, "2026-09")

    def more(rows):
        rows[0] = {**rows[0], "BilledCost": "0.1664", "EffectiveCost": "0.1664"}
        return rows
    later = _rewritten(first, tmp_path / "snapshot-1002.csv", more)
    os.utime(first, (1_790_000_000, 1_790_000_000))
    os.utime(later, (1_790_600_000, 1_790_600_000))
    done = refresh(path, as_of=dt.date(2026, 11, 1),
                   sources=Sources(focus=(first, later), newest=True))
    assert not errors(done.warnings)
    assert any("which is closed: what it adds to snapshot-0903.csv is charged as a correction"
               in str(p) for p in done.warnings)
    lines = [(r["period"][:7], r["agency_id"], D(r["amount"])) for r in output_rows(path, "Charges")
             if "correction" in (r["service_name"] or "")]
    assert lines == [("2026-10", "DOT", D("0.08"))]  # 0.1664 - 0.0832, in the first open month


def _split(tmp_path, *parts):
    """Files of the sample's rows, each holding the rows named by a slice."""
    return [_rewritten(SAMPLES / "aws_focus_1.0.csv", tmp_path / name, lambda rows, s=s: rows[s])
            for name, s in parts]


def test_a_bill_in_partitions_is_charged_in_full(tmp_path):
    # Azure and AWS split a large export into parts: each part's rows are charged
    path = book(tmp_path, focus_map=[(43210987654, None, "DOR")])
    whole = Path(shutil.copy(SAMPLES / "aws_focus_1.0.csv", tmp_path / "whole.csv"))
    refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(whole,)))
    expected = cloud_lines(path)
    parts = _split(tmp_path, ("part_0_0001.csv", slice(0, 2)), ("part_1_0001.csv", slice(2, 4)))
    done = refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=tuple(parts)))
    assert not errors(done.warnings) and cloud_lines(path) == expected
    assert not [p for p in warnings(done.warnings) if "part_" in str(p)]


def test_rows_two_snapshots_both_hold_are_charged_once_and_the_rest_charged(tmp_path):
    path = book(tmp_path, focus_map=[(43210987654, None, "DOR")])
    whole = Path(shutil.copy(SAMPLES / "aws_focus_1.0.csv", tmp_path / "whole.csv"))
    refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(whole,)))
    expected = cloud_lines(path)
    # the snapshot of the 3rd, then the snapshot of the 10th that adds the 4th's rows
    early, later = _split(tmp_path, ("snap-0903.csv", slice(0, 2)), ("snap-0910.csv", slice(0, 4)))
    done = refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(early, later)))
    assert not errors(done.warnings) and cloud_lines(path) == expected
    said = [str(p) for p in warnings(done.warnings)]
    assert ("snap-0910.csv: holds 2 rows of billing account 999988887777's bill for 2026-09 "
            "that snap-0903.csv also holds (0.0832016 set aside): charged once; its other 2 "
            "rows are charged") in said, said
    # given the other way round, the early snapshot is the one set aside, whole
    done = refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(later, early)))
    assert cloud_lines(path) == expected
    assert any(p.startswith("snap-0903.csv: holds the same bill of billing account 999988887777 "
                            "for 2026-09 as snap-0910.csv (2 rows, 0.0832016)")
               for p in map(str, done.warnings)), done.warnings


def test_a_row_a_file_holds_twice_is_charged_twice_and_a_snapshot_that_only_adds_agrees(tmp_path):
    path = book(tmp_path, focus_map=[(43210987654, None, "DOR")])
    twice = _split(tmp_path, ("one.csv", slice(0, 1)))[0]
    _rewritten(twice, twice, lambda rows: rows * 2)  # two equal EC2 hours in one file
    refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(twice,)))
    assert cloud_lines(path)[("DOT", "Amazon Elastic Compute Cloud")] == D("0.17")  # 0.1664
    # an earlier snapshot with the hour once: the later one only adds the second
    once = _rewritten(twice, tmp_path / "one-early.csv", lambda rows: rows[:1])
    done = refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(once, twice)))
    assert not errors(done.warnings)
    assert cloud_lines(path)[("DOT", "Amazon Elastic Compute Cloud")] == D("0.17")
    # a snapshot where the hour changed its amount restates it: refused
    other = _rewritten(twice, tmp_path / "one-restated.csv", lambda rows: [
        {**rows[0], "BilledCost": "0.0900", "EffectiveCost": "0.0900"}])
    with pytest.raises(DataProblems) as raised:
        refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(once, other)))
    assert "one-early.csv and one-restated.csv both hold billing account 999988887777's bill " \
        "for 2026-09 and they disagree" in str(raised.value.problems)


def test_a_later_snapshot_with_another_column_or_month_spelling_is_not_charged_twice(tmp_path):
    path = book(tmp_path, focus_map=[(43210987654, None, "DOR")])
    first = Path(shutil.copy(SAMPLES / "aws_focus_1.0.csv", tmp_path / "snap-0903.csv"))
    refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(first,)))
    expected = cloud_lines(path)
    # the provider adds a column between snapshots (FOCUS 1.0 to 1.1), or writes the
    # month without its zero: the same rows, charged once
    wider = _rewritten(first, tmp_path / "snap-0910.csv",
                       lambda rows: [{**r, "x_ServiceCode": ""} for r in rows])
    bare = _rewritten(first, tmp_path / "bare-0903.csv", lambda rows: [
        {**r, "BillingPeriodStart": "2026-9-01T00:00:00Z"} for r in rows])
    bare_again = _rewritten(bare, tmp_path / "bare-0910.csv",
                            lambda rows: [dict(reversed(list(r.items()))) for r in rows])
    for given in ((first, wider), (bare, bare_again)):
        done = refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=given))
        assert cloud_lines(path) == expected, given[1].name
        assert any("holds the same bill" in str(p) for p in done.warnings), given[1].name


def test_hourly_parquet_parts_are_charged_in_full(tmp_path):
    def part(name, hours):
        stamp = pa.timestamp("us", tz="UTC")
        n = len(hours)

        def at(h):
            return dt.datetime(2026, 9, 3, h, tzinfo=dt.UTC)
        pq.write_table(pa.table({
            "BilledCost": [0.0832] * n, "EffectiveCost": [0.0832] * n,
            "BillingAccountId": ["999988887777"] * n, "BillingCurrency": ["USD"] * n,
            "BillingPeriodStart": pa.array([dt.datetime(2026, 9, 1, tzinfo=dt.UTC)] * n,
                                           type=stamp),
            "ChargeCategory": ["Usage"] * n,
            "ChargePeriodStart": pa.array([at(h) for h in hours], type=stamp),
            "ServiceName": ["Amazon EC2"] * n, "SubAccountId": ["012345678901"] * n,
            "ProviderName": ["AWS"] * n, "ResourceId": ["i-0abc"] * n,
            "Tags": pa.array([[("user:agency", "DOT")]] * n,
                             type=pa.map_(pa.string(), pa.string())),
        }), tmp_path / name)
        return tmp_path / name
    path = book(tmp_path)
    refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(part("all.parquet",
                                                                          [0, 1, 2, 3]),)))
    whole = cloud_lines(path)
    refresh(path, as_of=dt.date(2026, 10, 1), sources=Sources(focus=(
        part("part-00000.parquet", [0, 1]), part("part-00001.parquet", [2, 3]))))
    assert cloud_lines(path) == whole == {("DOT", "Amazon EC2"): D("0.33")}
