"""The command line end to end: new, check, refresh, demo; exit codes and output."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal as D

import openpyxl
import pytest

from brm_xl.contract.tables import INPUT_TABLES
from brm_xl.workbook.package import Package
from tests.helpers import minimal_book, output_rows, write_book


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "brm_xl", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_new_makes_a_contract_workbook_that_checks_clean(tmp_path):
    path = tmp_path / "chargeback.xlsx"
    done = cli("new", path)
    assert done.returncode == 0, done.stderr
    with Package(path) as pkg:
        assert [s.name for s in pkg.sheets][0] == "Instructions"
        for spec in INPUT_TABLES:
            table = pkg.table(spec.name)
            assert table is not None and list(table.columns) == [c.name for c in spec.columns]
    book = openpyxl.load_workbook(path)
    sources = {dv.formula1 for dv in book["Usage"].data_validations.dataValidation}
    assert sources == {'INDIRECT("Agencies[agency_id]")', 'INDIRECT("RateCard[service_id]")'}
    check = cli("check", path)  # a blank workbook bills nothing: said at each empty table
    assert check.returncode == 1
    assert "Agencies!A1: Agencies has no rows, so there is nothing to bill" in check.stderr
    assert "RateCard!A1: RateCard has no rows" in check.stderr
    assert cli("new", path).returncode == 2  # exists: needs --force
    assert cli("new", path, "--force").returncode == 0


def test_refresh_json_and_as_of(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    done = cli("refresh", path, "--as-of", "2026-10-01", "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["ok"] is True
    assert payload["tables"] == {"Charges": 2, "AgencySummary": 2, "RefreshLog": 1}
    log = output_rows(path, "RefreshLog")
    assert log[0]["as_of"].startswith("2026-10-01") and log[0]["charges_total"] == "600"


@pytest.mark.slow
def test_demo_writes_and_refreshes_a_recognisable_workbook(tmp_path):
    done = cli("demo", tmp_path / "demo")
    assert done.returncode == 0, done.stderr
    assert "Refreshed it: Charges" in done.stdout
    path = tmp_path / "demo" / "chargeback-demo.xlsx"
    summary = output_rows(path, "AgencySummary")
    agencies = {r["agency_id"] for r in summary}
    assert len(agencies) == 25 and "DOA/OTS" in agencies
    users = [int(r["users"]) for r in summary if r["period"].startswith("2026-10")]
    assert min(users) <= 60 and max(users) >= 19000
    charges = output_rows(path, "Charges")
    email = {(r["period"][:7], r["rate"]) for r in charges
             if r["service_id"] == "EMAIL-STD" and r["quantity"]}
    assert {rate for _, rate in email} == {"4"}
    m365 = {r["rate"] for r in charges if r["service_id"] == "M365-G3"}
    assert m365 == {"32.75", "34.1"}  # the mid-year rate change
    assert any(r["reason"] for r in charges)
    recovery = output_rows(path, "Recovery")
    # (a line held for review is charged a month after its cost: the demo holds SageMaker)
    by_service = [r for r in recovery if r["service_id"] and r["service_id"] != "Amazon SageMaker"]
    assert by_service and all(70 < float(r["recovery_pct"]) < 130 for r in by_service)
    # adjustments tied to no service are recovery without a cost pool: a blank percentage
    unassigned = [r for r in recovery if not r["service_id"]]
    assert unassigned and all(r["recovery_pct"] is None and r["cost"] is None for r in unassigned)
    total = sum(D(r["amount"]) for r in charges)
    assert total == sum(D(r["charges"]) for r in summary)
    health = {r["agency_id"]: r for r in output_rows(path, "Relationships")}
    assert {r["health"] for r in health.values()} == {"Healthy", "Watch", "At risk"}
    assert "no in-person contact" in health["DOC"]["reasons"] and health["DOC"]["health"] == "At risk"
    follow_ups = output_rows(path, "FollowUps")
    assert follow_ups and all(int(f["score"]) < 4 for f in follow_ups)
    months = {r["period"][:7] for r in summary if r["responses"] not in (None, "0")}
    assert len(months) >= 20  # survey responses across the 24 months
    assert "Relationships as of 2026-11-15:" in done.stdout and "at risk:" in done.stdout
    # the monthly close: 24 months published, the latest month's journal balanced
    closes = output_rows(path, "Closes")
    assert len(closes) == 24 and {r["status"] for r in closes} == {"closed"}
    import csv

    rows = list(csv.DictReader(next((tmp_path / "demo").glob("2026-10_journal_*.csv")).open()))
    net: dict[str, D] = {}
    for r in rows:
        net[r["agency_id"]] = net.get(r["agency_id"], D(0)) + D(r["debit"] or 0) - D(r["credit"] or 0)
    assert len(net) == 25 and set(net.values()) == {D("0.00")}  # every agency to the cent
    debits = sum(D(r["debit"] or 0) for r in rows)
    assert debits == sum(D(r["credit"] or 0) for r in rows)
    published = [D(r["amount"]) for r in output_rows(path, "PublishedCharges")
                 if r["period"] == "2026-10"]
    assert debits == sum(abs(a) for a in published)  # one debit and one credit a line
    assert sum(published) == sum(D(r["charges"]) for r in summary
                                 if r["period"].startswith("2026-10"))  # as billed
    disputes = {r["dispute_id"]: r for r in output_rows(path, "DisputeLog")}
    assert disputes["DSP-001"]["credited_in"] == "2026-10" and disputes["DSP-003"]["in_window"] == "false"
    again = cli("demo", tmp_path / "demo")  # a second run replaces the demo cleanly
    assert again.returncode == 0
