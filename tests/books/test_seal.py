"""The books hold: a closed month stays as published, provably (brm_xl.books.seal); every edit of
the closed books made as Excel saves it is named at its cell; the journal is built from a
verified publication only; the close publishes exactly what refresh computes."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import subprocess
from decimal import Decimal as D
from pathlib import Path

import pytest

from brm_xl.app.close import close, reopen
from brm_xl.app.journal import write_journal
from brm_xl.app.refresh import check, refresh
from brm_xl.problems import DataProblems, StateError, UsageError, errors
from tests.helpers import (
    Block,
    agencies,
    cli_in_process,
    digest,
    headcount,
    minimal_book,
    output_rows,
    rate_card,
    usage,
    write_book,
)
from tests.tamper import add_row, cell_ref, delete_row, set_cell, sort_rows

NOW = dt.datetime(2026, 10, 3, 9, 30)
GL = Block("GLAccounts", ["kind", "id", "fund", "department", "account"], [
    ("Agency", "DOT", "100", "D-DOT", "5100"), ("Agency", "DOR", "100", "D-DOR", "5100"),
    ("Agency", "DHS", "100", "D-DHS", "5100"),
    ("Service", "EMAIL", "600", "", "4100"), ("Service", "NET", "600", "", "4200"),
    ("Adjustments", None, "600", "", "4900")])
DISPUTE_HEADERS = ["dispute_id", "agency_id", "period", "service_id", "amount", "reason",
                   "raised_on", "status", "resolved_on", "resolution", "credit"]


def cli(*args):
    return cli_in_process(*args)


def build(path: Path, dispute_status: str = "Open", extra_adjustment: bool = False) -> Path:
    adjustments = [("2026-09", "DOT", "EMAIL", D("-25.00"), "Outage credit")]
    if extra_adjustment:
        adjustments.append(("2026-09", "DOR", None, D("0.00"), "late entry"))
    return write_book(path, minimal_book(
        Agencies=agencies("DOT", "DOR", "DHS"),
        RateCard=rate_card(("EMAIL", D("4.00"), "2026-01", None), ("NET", D("10.00"), "2026-01", None)),
        Usage=usage(("2026-09", "DOT", "EMAIL", 100), ("2026-09", "DOR", "EMAIL", 50),
                    ("2026-09", "DOT", "NET", 40), ("2026-10", "DOT", "EMAIL", 100),
                    ("2026-10", "DOR", "EMAIL", 50)),
        Headcount=headcount(("2026-09", "DOT", 100), ("2026-09", "DOR", 40),
                            ("2026-10", "DOT", 100), ("2026-10", "DOR", 40)),
        Adjustments=Block("Adjustments", ["period", "agency_id", "service_id", "amount", "reason"],
                          adjustments),
        GLAccounts=GL,
        Disputes=Block("Disputes", DISPUTE_HEADERS, [
            ("D-1", "DOR", "2026-09", "EMAIL", D("30.00"), "double billed",
             dt.date(2026, 9, 20), dispute_status,
             dt.date(2026, 9, 28) if dispute_status == "Accepted" else None, None, None)]),
    ))


@pytest.fixture
def closed(tmp_path):
    """A workbook refreshed and with 2026-09 closed."""
    path = build(tmp_path / "books.xlsx")
    refresh(path, as_of=dt.date(2026, 10, 3), now=NOW)
    close(path, "2026-09", user="clerk", now=NOW)
    return path


def problems_of(path: Path) -> list[str]:
    try:
        _, found = check(path)
    except DataProblems as exc:
        found = exc.problems
    return [str(p) for p in errors(found)]


def test_a_clean_close_verifies_and_sorting_is_not_a_change(closed):
    assert problems_of(closed) == []
    published = {(r["agency_id"], r["service_id"]): D(r["amount"])
                 for r in output_rows(closed, "PublishedCharges")}
    # 400 - 25 adjustment on DOT EMAIL goes to the adjustments line (no service: its own)
    assert published[("DOT", "EMAIL")] in (D("400"), D("375"))
    sort_rows(closed, "PublishedCharges")
    sort_rows(closed, "AuditLog")
    assert problems_of(closed) == []


def test_closes_row_deleted_blanked_or_retyped_is_a_broken_seal_never_a_reopen(closed, tmp_path):
    for edit in ("delete", "blank period", "retype status"):
        path = tmp_path / f"{edit}.xlsx"
        shutil.copy(closed, path)
        if edit == "delete":
            delete_row(path, "Closes", 1)
        elif edit == "blank period":
            set_cell(path, "Closes", cell_ref(path, "Closes", "period", 1), None)
        else:
            set_cell(path, "Closes", cell_ref(path, "Closes", "status", 1), "reopened")
        found = problems_of(path)
        assert found and all(p.startswith(("Closes", "'Closes'")) for p in found), (edit, found)
        before = digest(path)
        done = cli("refresh", path, "--as-of", "2026-10-03")
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert digest(path) == before
    # the message for the retyped status names the published value and the value now
    assert any("'closed' was recorded when 2026-09 was closed on 2026-10-03; it now reads "
               "'reopened'" in p for p in found)


def test_a_forged_amount_is_named_at_its_published_cell_with_both_values(closed):
    ref = cell_ref(closed, "PublishedCharges", "amount", 1)
    row = output_rows(closed, "PublishedCharges")[0]
    set_cell(closed, "PublishedCharges", ref, float(D(row["amount"]) * 10))
    found = problems_of(closed)
    assert len(found) == 1, found  # one edit, one problem, at the edited cell (not Usage)
    assert found[0].startswith(f"PublishedCharges!{ref}: {D(row['amount']):,.2f} was published "
                               f"for {row['agency_id']}")
    assert "it now reads" in found[0] and "Usage" not in found[0]


def test_the_seal_itself_and_the_totals_are_checked(closed, tmp_path):
    for column, value in (("seal", "0" * 64), ("charges_total", 1), ("closed_at", 46300.5)):
        path = tmp_path / f"{column}.xlsx"
        shutil.copy(closed, path)
        ref = cell_ref(path, "Closes", column, 1)
        set_cell(path, "Closes", ref, value)
        found = problems_of(path)
        assert len(found) == 1 and found[0].startswith(f"Closes!{ref}:"), (column, found)


def test_published_headcount_deleted_and_a_new_agencys_headcount_are_caught(closed, tmp_path):
    path = tmp_path / "users.xlsx"
    shutil.copy(closed, path)
    delete_row(path, "PublishedHeadcount", 1)
    found = problems_of(path)
    assert len(found) == 1 and "is missing" in found[0], found
    # a new agency's headcount in the closed month would change the statewide figure
    path = tmp_path / "new_agency.xlsx"
    shutil.copy(closed, path)
    add_row(path, "Headcount", ["2026-09", "DHS", 5000])
    found = problems_of(path)
    assert any("DHS's users for 2026-09 were none, would now be 5000" in p for p in found), found


def test_audit_log_rewritten_or_deleted_is_caught(closed, tmp_path):
    path = tmp_path / "rewritten.xlsx"
    shutil.copy(closed, path)
    set_cell(path, "AuditLog", cell_ref(path, "AuditLog", "by", 1), "someone else")
    found = problems_of(path)
    assert any("AuditLog row 1 was changed after it was written" in p for p in found), found
    path = tmp_path / "deleted.xlsx"
    shutil.copy(closed, path)
    delete_row(path, "AuditLog", 1)
    assert problems_of(path), "a deleted AuditLog row passed"


def test_one_rate_edit_is_one_problem_at_the_rate(closed):
    ref = "E2"  # EMAIL's rate
    set_cell(closed, "RateCard", ref, 4.5)
    found = problems_of(closed)
    assert len(found) == 1 and found[0].startswith(f"RateCard!{ref}:"), found
    assert "more published lines" in found[0]


def test_bad_cells_in_published_tables_are_sentences(closed, tmp_path):
    for value in ("abc", None, "1e308"):
        path = tmp_path / f"bad{value}.xlsx"
        shutil.copy(closed, path)
        set_cell(path, "PublishedCharges", cell_ref(path, "PublishedCharges", "amount", 2), value)
        done = cli("check", path)
        assert done.returncode == 1, done.stderr
        assert "internal error" not in done.stderr and "PublishedCharges!" in done.stderr


def test_journal_refuses_an_unverified_publication_and_writes_nothing(closed, tmp_path):
    write_journal(closed, "2026-09", now=NOW)  # the honest one
    edits = {
        "edited": lambda p: set_cell(p, "PublishedCharges", cell_ref(p, "PublishedCharges",
                                                                     "amount", 1), 1.0),
        "deleted": lambda p: delete_row(p, "PublishedCharges", 1),
        "moved a day": lambda p: set_cell(p, "Closes", cell_ref(p, "Closes", "closed_at", 1),
                                          "2026-10-04 09:30:00"),
        "huge": lambda p: set_cell(p, "PublishedCharges", cell_ref(p, "PublishedCharges",
                                                                   "amount", 1), 1e308),
    }
    for name, edit in edits.items():
        folder = tmp_path / name
        folder.mkdir()
        path = folder / "books.xlsx"
        shutil.copy(closed, path)
        edit(path)
        before = digest(path)
        done = cli("journal", path, "--period", "2026-09", "--force")
        assert done.returncode == 1, (name, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert "PublishedCharges!" in done.stderr or "Closes!" in done.stderr, done.stderr
        assert digest(path) == before and not list(folder.glob("*.csv")), name


def test_journal_out_never_a_workbook_nor_over_a_file(closed, tmp_path):
    other = tmp_path / "other.xlsx"
    shutil.copy(closed, other)
    before = digest(closed), digest(other)
    for out in (closed, other, tmp_path / "new.xlsm"):
        done = cli("journal", closed, "--period", "2026-09", "--out", out)
        assert done.returncode in (1, 2) and "workbook" in done.stderr, done.stderr
    assert (digest(closed), digest(other)) == before
    existing = tmp_path / "erp.csv"
    existing.write_text("posted\n")
    done = cli("journal", closed, "--period", "2026-09", "--out", existing)
    assert done.returncode == 1 and existing.read_text() == "posted\n"
    done = cli("journal", closed, "--period", "2026-09", "--out", existing, "--force")
    assert done.returncode == 0 and existing.read_text().startswith("journal_date")


def test_journal_posting_date_summary_and_sealed_accounts(closed):
    set_cell(closed, "GLAccounts", "E5", "9999")  # EMAIL revenue moved after the close
    run = write_journal(closed, "2026-09", now=NOW)
    journal = run.written[-1].journal
    assert journal.date == "2026-09-30"  # the closed month's last day, not the run's
    assert {line.account for line in journal.lines if line.service_id == "EMAIL"} >= {"4100"}
    assert "9999" not in {line.account for line in journal.lines}
    net = sum(D(r["amount"]) for r in output_rows(closed, "PublishedCharges"))
    assert journal.net == net
    assert journal.debits == net + 2 * journal.credit_lines
    assert f"{net:,.2f}" in journal.summary
    companion = json.loads((run.written[-1].path.parent /
                            (run.written[-1].path.name + ".seal.json")).read_text())
    assert companion["seal"] == journal.seal and companion["period"] == "2026-09"
    again = cli("journal", closed, "--period", "2026-09")
    assert again.returncode == 1 and "written already" in again.stderr


def test_reclose_writes_a_reversal_then_the_new_journal(closed):
    first = write_journal(closed, "2026-09", now=NOW).written
    reopen(closed, "2026-09", "rate revised", user="clerk", now=NOW + dt.timedelta(hours=1))
    set_cell(closed, "RateCard", "E2", 5)
    refresh(closed, as_of=dt.date(2026, 10, 3), now=NOW + dt.timedelta(hours=2))
    close(closed, "2026-09", user="clerk", now=NOW + dt.timedelta(hours=3))
    second = write_journal(closed, "2026-09", now=NOW + dt.timedelta(hours=4)).written
    assert [w.journal.reversal for w in second] == [True, False]
    names = {first[0].path.name, second[0].path.name, second[1].path.name}
    assert len(names) == 3
    assert second[0].journal.seal == first[0].journal.seal
    assert second[0].journal.debits == first[0].journal.debits
    # the reversal swaps every line: what was a debit is a credit
    def entries(lines, swap=False):
        return sorted((line.account, line.agency_id, line.service_id,
                       line.credit if swap else line.debit, line.debit if swap else line.credit)
                      for line in lines)
    assert entries(second[0].journal.lines) == entries(first[0].journal.lines, swap=True)
    third = write_journal(closed, "2026-09", now=NOW + dt.timedelta(hours=5), force=True).written
    assert [w.journal.reversal for w in third] == [False]  # reversed once only


def test_a_journal_written_but_not_logged_is_recorded_by_the_next_run(closed, tmp_path):
    before = tmp_path / "before.xlsx"
    shutil.copy(closed, before)
    run = write_journal(closed, "2026-09", now=NOW)
    # killed after the CSV landed and before the AuditLog row: the workbook as it was
    shutil.copy(before, closed)
    assert [r["action"] for r in output_rows(closed, "AuditLog")].count("journal") == 0
    done = cli("journal", closed, "--period", "2026-09")
    assert done.returncode == 0, done.stderr
    assert "found written but not logged" in done.stdout
    logged = [r for r in output_rows(closed, "AuditLog") if r["action"] == "journal"]
    assert len(logged) == 1 and run.written[-1].path.name in logged[0]["after"]
    assert len(list(closed.parent.glob("*_journal_*.csv"))) == 1  # not written twice


def test_realistic_order_refresh_accept_close_then_refresh_agrees(tmp_path):
    path = build(tmp_path / "books.xlsx")
    refresh(path, as_of=dt.date(2026, 10, 3), now=NOW)
    # the clerk marks the dispute Accepted in the refreshed workbook (its Disputes sheet)
    set_cell(path, "Disputes", "H2", "Accepted")
    set_cell(path, "Disputes", "I2", "2026-09-28")
    close(path, "2026-09", user="clerk", now=NOW)
    assert problems_of(path) == []
    refresh(path, as_of=dt.date(2026, 10, 3), now=NOW + dt.timedelta(hours=1))
    credited = {r["dispute_id"]: r["credited_in"] for r in output_rows(path, "DisputeLog")}
    assert credited == {"D-1": "2026-09"}
    published = sum(D(r["amount"]) for r in output_rows(path, "PublishedCharges"))
    assert published == D("400") + D("200") + D("400") - D("25") - D("30")


def test_adjustments_in_a_closed_month_are_refused_zero_included(closed):
    add_row(closed, "Adjustments", ["2026-09", "DOR", None, 0, "late entry"])
    found = problems_of(closed)
    assert len(found) == 1 and found[0].startswith("Adjustments!D3: an adjustment dated 2026-09"), found


def test_workbook_states_exit_1(closed):
    done = cli("close", closed, "--period", "2026-09")
    assert done.returncode == 1 and "closed already" in done.stderr
    done = cli("journal", closed, "--period", "2026-10")
    assert done.returncode == 1 and "not closed" in done.stderr
    with pytest.raises(StateError):
        close(closed, "2026-09")
    with pytest.raises(UsageError):
        reopen(closed, "2026-09", " ")


def test_reopen_works_on_a_broken_seal_records_the_finding_and_puts_it_back(closed):
    ref = cell_ref(closed, "PublishedCharges", "amount", 1)
    set_cell(closed, "PublishedCharges", ref, 1.0)
    with pytest.raises(DataProblems):
        close(closed, "2026-10")
    done = reopen(closed, "2026-09", "forged amount found", user="clerk")
    assert len(done.findings) == 1 and ref in done.findings[0].where
    assert problems_of(closed) == []
    actions = [r["action"] for r in output_rows(closed, "AuditLog")]
    assert actions[-2:] == ["finding", "reopen"]


def _without_seal_sheet(source: Path, target: Path) -> None:
    import zipfile

    from lxml import etree
    with zipfile.ZipFile(source) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    wb = etree.fromstring(parts["xl/workbook.xml"])
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    sheets = wb.find("m:sheets", ns)
    for s in list(sheets):
        if s.get("name") == "BrmSeals":
            sheets.remove(s)
    parts["xl/workbook.xml"] = etree.tostring(wb)
    with zipfile.ZipFile(target, "w") as z:
        for n, d in parts.items():
            z.writestr(n, d)


def test_deleting_the_seal_sheet_is_a_broken_seal_never_a_workbook_from_before(closed, tmp_path):
    path = tmp_path / "no_seals.xlsx"
    _without_seal_sheet(closed, path)
    found = problems_of(path)
    assert len(found) == 1 and found[0].startswith("BrmSeals: the seal records"), found
    done = cli("refresh", path, "--as-of", "2026-10-03")
    assert done.returncode == 1


def test_a_workbook_closed_before_seals_is_sealed_as_found(closed, tmp_path):
    """As the last version wrote it: no BrmSeals sheet, no seq, chain or seal values."""
    old = tmp_path / "old.xlsx"
    _without_seal_sheet(closed, old)
    for table, columns in (("Closes", ("seal", "seq")), ("AuditLog", ("seq", "chain"))):
        for n in range(1, len(output_rows(old, table)) + 1):
            for column in columns:
                set_cell(old, table, cell_ref(old, table, column, n), None)
    for n, row in enumerate(output_rows(old, "AuditLog"), start=1):
        if row["action"] == "close":
            set_cell(old, "AuditLog", cell_ref(old, "AuditLog", "after", n), "3 lines, checksum 0a")
    _, found = check(old)
    assert not errors(found)
    assert any(p.code == "unsealed" for p in found)
    refresh(old, as_of=dt.date(2026, 10, 3), now=NOW + dt.timedelta(hours=1))
    assert [r["action"] for r in output_rows(old, "AuditLog")][-1] == "seal"
    _, found = check(old)
    assert not any(p.code == "unsealed" for p in found) and not errors(found)
    # and from then on it is sealed like any other: an edit is named at its cell
    ref = cell_ref(old, "PublishedCharges", "amount", 1)
    set_cell(old, "PublishedCharges", ref, 99999.0)
    assert any(p.startswith(f"PublishedCharges!{ref}:") for p in problems_of(old))


TAMPER = {  # table: (columns an edit may hit, data rows of the closed month)
    "PublishedCharges": (["period", "closed_at", "agency_id", "service_id", "amount"], None),
    "PublishedHeadcount": (["period", "closed_at", "agency_id", "users"], None),
    "Closes": (["period", "status", "closed_at", "closed_by", "lines", "charges_total", "seal",
                "seq"], None),
    "AuditLog": (["at", "by", "action", "period", "after", "seq", "chain"], None),
    "BrmSeals": (["seq", "seal", "data"], None),
    "Usage": (["period", "agency_id", "service_id", "quantity"], 3),
    "Headcount": (["period", "agency_id", "users"], 2),
    "RateCard": (["rate", "effective_from"], 2),
    "Adjustments": (["period", "agency_id", "amount"], 1),
}


@pytest.mark.slow  # many whole-workbook checks; .ci/run runs the slow tests
def test_tamper_campaign_no_edit_passes_silently(closed, tmp_path):
    """40 seeded edits of the closed books and of the inputs behind the closed month, as
    Excel saves them (a value retyped as text or a number, a cell cleared, a row deleted):
    every one is noticed."""
    rng = random.Random(20)
    tables = list(TAMPER)
    silent = []
    for n in range(40):
        table = tables[n % len(tables)]
        columns, rows = TAMPER[table]
        path = tmp_path / f"t{n}.xlsx"
        shutil.copy(closed, path)
        row = rng.randint(1, rows or len(output_rows(closed, table)))
        kind = rng.choice(["retype", "number", "blank", "delete"])
        column = rng.choice(columns)
        if kind == "delete":
            delete_row(path, table, row)
        else:
            value = {"retype": "X" + str(rng.randint(1, 99)), "number": rng.randint(1, 9999),
                     "blank": None}[kind]
            set_cell(path, table, cell_ref(path, table, column, row), value)
        if not problems_of(path):
            silent.append((table, kind, column, row))
    assert silent == []


def forge(path: Path, amount: str) -> None:
    """A forgery with this program's source at hand: the first close's first amount changed
    and every seal, and the visible tables, recomputed to agree."""
    from brm_xl.app.refresh import write_tables
    from brm_xl.pipeline.outputs import audit_rows, book_tables
    from brm_xl.pipeline.read import load_inputs
    from brm_xl.workbook.guard import locked

    inputs, _ = load_inputs(path, checks=())
    records = inputs.published.records
    records[0].charges[0][2] = amount
    previous = ""
    for r in records:
        previous = r.sealed(previous).seal
    with locked(path) as held:
        write_tables(held, book_tables(records, audit_rows(inputs.previous["AuditLog"], [])))


@pytest.mark.slow  # many whole-workbook checks; .ci/run runs the slow tests
def test_a_recomputed_forgery_is_caught_by_verify_and_the_ledger(closed, tmp_path, monkeypatch):
    ledger = tmp_path / "share"
    ledger.mkdir()
    monkeypatch.setenv("BRM_XL_LEDGER", str(ledger))
    path = build(tmp_path / "ledgered.xlsx")
    refresh(path, as_of=dt.date(2026, 10, 3), now=NOW)
    close(path, "2026-09", user="clerk", now=NOW)
    journal = write_journal(path, "2026-09", now=NOW).written[-1].path
    assert problems_of(path) == []
    forge(path, "1.00")
    # the seals agree with themselves: only the evidence outside the workbook can tell
    from brm_xl.app.verify import verify

    found = problems_of(path)
    assert any("in the ledger" in p for p in found), found
    monkeypatch.delenv("BRM_XL_LEDGER")
    assert not any("broken-seal" == p.code for p in verify(path).problems)
    done = verify(path, [journal])
    codes = {p.code for p in done.problems if p.is_error}
    assert "journal-differs" in codes and "broken-seal" not in codes, done.problems
    done = cli("verify", path, "--journal", journal)
    assert done.returncode == 1 and "the workbook's closed books were rewritten" in done.stderr


@pytest.mark.libreoffice
def test_a_closed_workbook_saved_by_libreoffice_still_verifies(closed, tmp_path):
    """Another spreadsheet program's save (LibreOffice, converting xlsx to xlsx) keeps the
    seals: the very hidden sheet's text, the timestamps as serials, numbers as numbers."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed; .ci/run installs libreoffice-calc-nogui")
    out = tmp_path / "saved"
    done = subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path / 'p'}", "--headless",
                           "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out),
                           str(closed)], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    saved = out / closed.name
    assert problems_of(saved) == []
    refresh(saved, as_of=dt.date(2026, 10, 3), now=NOW + dt.timedelta(hours=1))
    import zipfile
    with zipfile.ZipFile(saved) as z:  # LibreOffice saves it "hidden": very hidden again
        workbook = z.read("xl/workbook.xml").decode()
    import re as _re
    state = _re.search(r'<sheet [^>]*name="BrmSeals"[^>]*>', workbook).group()
    assert 'state="veryHidden"' in state, state
    assert problems_of(saved) == []
    ref = cell_ref(saved, "PublishedCharges", "amount", 1)
    set_cell(saved, "PublishedCharges", ref, 123456.0)
    assert any(p.startswith(f"PublishedCharges!{ref}:") for p in problems_of(saved))


def test_bad_cells_in_the_credit_pins_and_service_levels_are_sentences(tmp_path):
    """DisputeLog and ServiceCredits credited_in (the month a credit went on a bill), and
    ServiceLevels' numbers: text, blank, a moved month; never an internal error."""
    path = build(tmp_path / "books.xlsx", dispute_status="Accepted")
    refresh(path, as_of=dt.date(2026, 10, 3), now=NOW)
    close(path, "2026-09", user="clerk", now=NOW)
    ref = cell_ref(path, "DisputeLog", "credited_in", 1)
    for value, said in (("abc", "'abc' is not a month"),
                        ("2026-10", "this credit was on the bills of 2026-09")):
        edited = tmp_path / f"pin-{value}.xlsx"
        shutil.copy(path, edited)
        set_cell(edited, "DisputeLog", ref, value)
        found = problems_of(edited)
        assert len(found) == 1 and found[0].startswith(f"DisputeLog!{ref}: ") and said in found[0], found
    levels = write_book(tmp_path / "levels.xlsx", minimal_book(
        ServiceLevels=Block("ServiceLevels", ["sl_id", "contract_id", "name", "kind", "unit",
                                              "direction", "minimum", "expected", "weight"],
                            [("SL-1", "C-1", "Uptime", "critical", "%", "higher", "abc", 99.9,
                              100), ("SL-2", "C-2", "Speed", "key", "s", "lower", None, 2, 100)])))
    done = cli("check", levels)
    assert done.returncode == 1 and "internal error" not in done.stderr, done.stderr
    assert "ServiceLevels!G2: minimum 'abc' is not a number" in done.stderr
    assert "ServiceLevels!G3: minimum is blank" in done.stderr


def test_realistic_order_with_a_service_credit(tmp_path):
    """Refresh; the month's missed critical service level is entered; close: the credit is
    on the published bills and pinned there, and the next refresh agrees."""
    vendor_blocks = dict(
        Vendors=Block("Vendors", ["vendor_id", "vendor_name", "vendor_manager", "vendor_email"],
                      [("NETCO", "NetCo", "Sam", "sam@netco.example")]),
        Contracts=Block("Contracts", ["contract_id", "vendor_id", "contract_name", "start", "end",
                                      "annual_value", "services"],
                        [("C-NET", "NETCO", "Network", dt.date(2026, 1, 1), None, D("1000"),
                          "EMAIL")]),
        ServiceLevels=Block("ServiceLevels", ["sl_id", "contract_id", "name", "kind", "unit",
                                              "direction", "minimum", "expected", "weight",
                                              "credit_pct"],
                            [("SL-UP", "C-NET", "Availability", "critical", "%", "higher",
                              D("99.5"), D("99.9"), 100, D("10"))]),
        SLResults=Block("SLResults", ["period", "sl_id", "actual", "excluded"],
                        [("2026-08", "SL-UP", D("99.95"), None)]))
    path = write_book(tmp_path / "books.xlsx", minimal_book(**vendor_blocks))
    refresh(path, as_of=dt.date(2026, 10, 3), now=NOW)
    add_row(path, "SLResults", ["2026-09", "SL-UP", 98.0, None])  # missed in September
    close(path, "2026-09", user="clerk", now=NOW)
    assert problems_of(path) == []
    refresh(path, as_of=dt.date(2026, 10, 3), now=NOW + dt.timedelta(hours=1))
    credits = output_rows(path, "ServiceCredits")
    assert {(r["agency_id"], r["credited_in"]) for r in credits} == {("DOT", "2026-09"),
                                                                    ("DOR", "2026-09")}
    published = sum(D(r["amount"]) for r in output_rows(path, "PublishedCharges"))
    assert published == D("600") - D("60.00")  # 10% of the month's EMAIL charges, credited


def test_review_findings_each_edit_is_named_once(closed, tmp_path):
    """A second read of the seal found these; each now gives one line at the edited cell."""
    def one(edit, starts):
        path = tmp_path / f"e{len(list(tmp_path.glob('e*.xlsx')))}.xlsx"
        shutil.copy(closed, path)
        edit(path)
        found = problems_of(path)
        assert len(found) == 1 and found[0].startswith(starts), (starts, found)

    one(lambda p: set_cell(p, "Adjustments", "E2", "something else"), "Adjustments!E2: ")
    one(lambda p: set_cell(p, "Closes", cell_ref(p, "Closes", "seq", 1), 7),
        f"Closes!{cell_ref(closed, 'Closes', 'seq', 1)}: '1' was recorded")
    row = next(n for n, r in enumerate(output_rows(closed, "PublishedCharges"), start=1)
               if r["agency_id"] == "DOR")
    one(lambda p: set_cell(p, "PublishedCharges", cell_ref(p, "PublishedCharges", "agency_id", row),
                           "DOT"),
        f"PublishedCharges!{cell_ref(closed, 'PublishedCharges', 'agency_id', row)}: 'DOR' was")
    one(lambda p: add_row(p, "AuditLog", [None, "me", "close", "2026-09", None, "fake"]),
        "AuditLog!")


def test_review_findings_silent_changes_are_caught(closed, tmp_path):
    # the last AuditLog row (after the last close) deleted
    path = tmp_path / "tail.xlsx"
    shutil.copy(closed, path)
    write_journal(path, "2026-09", now=NOW)
    delete_row(path, "AuditLog", len(output_rows(path, "AuditLog")))
    assert any("AuditLog held" in p for p in problems_of(path)), problems_of(path)
    # the same amount from another rate and quantity: both edited cells named
    path = tmp_path / "rate_qty.xlsx"
    shutil.copy(closed, path)
    set_cell(path, "Usage", "D4", 20)  # DOT NET 40 -> 20
    set_cell(path, "RateCard", "E3", 20)  # NET 10.00 -> 20.00
    found = problems_of(path)
    assert sorted(p.split(":")[0] for p in found) == ["RateCard!E3", "Usage!D4"], found
    # a dispute's credit taken off a closed month's bills: named at the dispute
    path = tmp_path / "dispute.xlsx"
    build(path, dispute_status="Accepted")
    refresh(path, as_of=dt.date(2026, 10, 3), now=NOW)
    close(path, "2026-09", user="clerk", now=NOW)
    set_cell(path, "Disputes", "H2", "Open")
    found = problems_of(path)
    assert len(found) == 1 and found[0].startswith("Disputes!H2: dispute D-1 was credited"), found


def test_review_findings_journal_and_recovery(closed, tmp_path):
    first = cli("journal", closed, "--period", "2026-09", "--out", tmp_path / "my journal.csv")
    assert first.returncode == 0, first.stderr
    again = cli("journal", closed, "--period", "2026-09")  # the same close, another name
    assert again.returncode == 1 and "written already, as my journal.csv" in again.stderr
    assert "found written" not in again.stdout
    assert [r["action"] for r in output_rows(closed, "AuditLog")].count("journal") == 1
    # reopen, the clerk's way out, works on an audit row whose date was retyped
    set_cell(closed, "AuditLog", cell_ref(closed, "AuditLog", "at", 1), "yesterday")
    done = cli("reopen", closed, "--period", "2026-09", "--reason", "audit row retyped")
    assert done.returncode == 0 and "internal error" not in done.stderr, done.stderr
    assert problems_of(closed) == []


def test_comparing_with_the_ledger_reads_it_and_never_writes_it(tmp_path):
    """The read stage only reads the ledger: a check leaves its file as it was, and a
    folder without one stays without one (only a close or a journal writes it)."""
    from brm_xl.books import ledger, ledger_writer
    from brm_xl.contract.history import Record

    empty = tmp_path / "empty"
    empty.mkdir()
    assert ledger.compare(empty, "book1", []) == []
    assert list(empty.iterdir()) == []  # no ledger created by looking for one
    share = tmp_path / "share"
    share.mkdir()
    record = Record(1, "book1", "2026-09", "closed", "2026-10-03 09:00:00", "clerk", "",
                    charges=[["DOT", "EMAIL", "40.00"]]).sealed("")
    assert ledger_writer.append(share, [record]) is None
    file = share / ledger.LEDGER_FILE
    before = (file.read_bytes(), file.stat().st_mtime_ns)
    assert ledger.compare(share, "book1", [record]) == []
    other = Record(1, "book1", "2026-09", "closed", "2026-10-03 09:00:00", "clerk", "",
                   charges=[["DOT", "EMAIL", "1.00"]]).sealed("")
    assert [p.code for p in ledger.compare(share, "book1", [other])] == ["ledger-differs"]
    assert (file.read_bytes(), file.stat().st_mtime_ns) == before
    assert sorted(p.name for p in share.iterdir()) == [ledger.LEDGER_FILE]  # no journal files
