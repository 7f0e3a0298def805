"""Issue 10: each defect found by trying brm_xl as an attacker, a careless user and a
crashing machine would, with the test that failed before the fix."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from decimal import Decimal as D
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from brm_xl.app.refresh import refresh
from brm_xl.delivery.journal import Journal, journal_path
from brm_xl.problems import WorkbookError
from brm_xl.workbook import guard
from tests.conftest import Recorder
from tests.delivery.test_email import book
from tests.helpers import (
    AGENCY_HEADERS,
    Block,
    digest,
    headcount,
    minimal_book,
    output_rows,
    rate_card,
    usage,
    write_book,
)


def cli(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "brm_xl", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env={**os.environ, **(env or {})})


def no_traceback(done):
    text = done.stdout + done.stderr
    assert "Traceback" not in text and "internal error" not in text and "stack backtrace" not in text
    assert done.returncode in (0, 1, 2)


# ---- 1. no code runs from a template folder ------------------------------------------

ESCAPES = {
    "mro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "globals": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "charts": "{{ charts.lines.__globals__ }}",
    "format": "{{ '{0.__class__}'.format(r) }}",
    "attr": "{{ r | attr('__class__') }}",
    "mutate": "{% set x = r.agency.update({'agency_name': 'owned'}) %}{{ x }}",
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_office_templates_run_sandboxed(tmp_path, name):
    office = tmp_path / "office"
    office.mkdir()
    (office / "agency_report.html.j2").write_text(ESCAPES[name])
    path = write_book(tmp_path / "b.xlsx", _with_settings(minimal_book(),
                                                          [("report_templates", "office")]))
    done = cli("report", path, "--period", "2026-09", "--format", "html", "--agency", "DOT")
    no_traceback(done)
    assert done.returncode == 1
    assert "report template agency_report.html.j2" in done.stderr
    written = list((tmp_path / "reports").rglob("*.html")) if (tmp_path / "reports").exists() else []
    assert all("uid=" not in p.read_text() and "owned" not in p.read_text() for p in written)


def test_a_template_cannot_read_a_file_outside_its_folder(tmp_path):
    office = tmp_path / "office"
    office.mkdir()
    (office / "agency_report.html.j2").write_text("{% include 'secret.txt' %}")
    (tmp_path / "secret.txt").write_text("the CIO's salary")
    os.symlink(tmp_path / "secret.txt", office / "secret.txt")
    path = write_book(tmp_path / "b.xlsx", _with_settings(minimal_book(),
                                                          [("report_templates", "office")]))
    done = cli("report", path, "--period", "2026-09", "--format", "html", "--agency", "DOT")
    no_traceback(done)
    assert done.returncode == 1 and "secret.txt" in done.stderr
    assert "salary" not in done.stderr + done.stdout
    outside = _with_settings(minimal_book(), [("report_templates", "../elsewhere")])
    (tmp_path / "sub").mkdir()
    (tmp_path / "elsewhere").mkdir()
    done = cli("report", write_book(tmp_path / "sub" / "b.xlsx", outside), "--period", "2026-09")
    assert done.returncode == 2 and "points outside the folder" in done.stderr


def _with_settings(b, settings):
    b.settings = list(settings)
    return b


# ---- 2. one agency's report never overwrites another's ------------------------------

@pytest.mark.slow
def test_colliding_ids_get_distinct_files_and_each_email_its_own_report(tmp_path):
    heads = {"DOA/OTS": ("Otto Ots", "otto@ots.example"), "DOA-OTS": ("Dana Dash", "dana@dash.example")}
    path = book(tmp_path, heads)
    done = cli("report", path, "--period", "2026-09", "--format", "html,pdf")
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in (tmp_path / "reports" / "2026-09").iterdir())
    assert len(files) == 4 and len({f.casefold() for f in files}) == 4
    assert "2026-09_DOA-OTS_value_report.pdf" in files  # the id that is safe keeps its name
    done = cli("email", path, "--period", "2026-09")
    assert done.returncode == 0, done.stderr
    drafts = list((tmp_path / "outbox" / "2026-09").glob("*.eml"))
    assert len(drafts) == 2
    for draft in drafts:
        message = email.message_from_bytes(draft.read_bytes(), policy=email.policy.default)
        head = str(message["To"])
        pdf = next(p for p in message.iter_attachments() if p.get_content_type() == "application/pdf")
        text = PdfReader(__import__("io").BytesIO(pdf.get_content())).pages[0].extract_text()
        mine = "Doa/Ots" if "otto" in head else "Doa-Ots"
        other = "Doa-Ots" if mine == "Doa/Ots" else "Doa/Ots"
        assert mine in text and other not in text


# ---- 3. one writer at a time, no lost update ------------------------------------------

@pytest.mark.slow
def test_two_logs_and_two_refreshes_at_once_lose_nothing(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    assert cli("refresh", path, "--as-of", "2026-10-01").returncode == 0
    runs = [subprocess.Popen([sys.executable, "-m", "brm_xl", "log", str(path), "--agency", a,
                              "--channel", "Phone", "--topic", f"call {i}", "--date", "2026-10-02"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for i, a in enumerate(["DOT", "DOR", "DOT", "DOR"])]
    runs += [subprocess.Popen([sys.executable, "-m", "brm_xl", "refresh", str(path), "--as-of",
                               "2026-10-03"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    for run in runs:
        assert run.wait(timeout=240) == 0, run.stderr.read()
    topics = sorted(r["topic"] for r in output_rows(path, "Engagements"))
    assert topics == ["call 0", "call 1", "call 2", "call 3"]
    assert len(output_rows(path, "RefreshLog")) == 3


def test_a_workbook_changed_while_brm_xl_works_is_not_overwritten(tmp_path, monkeypatch):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    from brm_xl.app import refresh as refresh_module

    real = refresh_module.refresh_tables

    def meanwhile(*args, **kwargs):
        found = real(*args, **kwargs)
        path.write_bytes(path.read_bytes() + b"")  # same bytes: not a change
        other = write_book(tmp_path / "other.xlsx", minimal_book(Usage=usage(("2026-09", "DOT", "EMAIL", 1))))
        path.write_bytes(other.read_bytes())  # Excel saved the workbook meanwhile
        return found

    monkeypatch.setattr(refresh_module, "refresh_tables", meanwhile)
    with pytest.raises(WorkbookError, match="changed by another program"):
        refresh(path, as_of=dt.date(2026, 10, 1))
    assert digest(path) == digest(tmp_path / "other.xlsx")


@pytest.mark.parametrize("lock", ["~$b.xlsx", ".~lock.b.xlsx#"])
def test_excel_and_libreoffice_locks_are_respected(tmp_path, lock):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    (tmp_path / lock).write_bytes(b",Dana Finance,host,01.12.2026 10:00,file:///;" if lock.startswith(".")
                                  else b"\x04Dana" + b" " * 50)
    before = digest(path)
    done = cli("refresh", path)
    assert done.returncode == 1 and "Dana" in done.stderr and "close it there" in done.stderr
    assert digest(path) == before


def test_writes_keep_link_mode_owner_and_hard_links_and_refuse_read_only(tmp_path):
    real = write_book(tmp_path / "real.xlsx", minimal_book())
    os.chmod(real, 0o640)
    link = tmp_path / "link.xlsx"
    link.symlink_to(real)
    hard = tmp_path / "hard.xlsx"
    os.link(real, hard)
    assert cli("refresh", link).returncode == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert os.stat(real).st_nlink == 2 and os.stat(real).st_ino == os.stat(hard).st_ino
    assert output_rows(hard, "Charges")
    assert oct(os.stat(real).st_mode & 0o777) == oct(0o640)
    os.chmod(real, 0o444)
    before = digest(real)
    done = cli("refresh", real)
    assert done.returncode == 1 and "read-only" in done.stderr and digest(real) == before


def test_an_interrupted_in_place_write_is_finished_by_the_next_run(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    new = write_book(tmp_path / "new.xlsx", minimal_book(Usage=usage(("2026-09", "DOT", "EMAIL", 7))))
    guard.pending_file(path).write_bytes(new.read_bytes())  # the copy was complete, the write not
    path.write_bytes(path.read_bytes()[:100])  # killed halfway through the in-place write
    assert cli("refresh", path).returncode == 0
    assert not guard.pending_file(path).exists()
    assert [r["quantity"] for r in output_rows(path, "Charges")] == ["7"]


def test_a_killed_refresh_leaves_no_temporary_files_after_the_next_run(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    stale = tmp_path / f".~b.xlsx.{2**22 + 7}.deadbeef.tmp"
    stale.write_bytes(b"x" * 5_000_000)
    legacy = tmp_path / ".~b.abc123.tmp"
    legacy.write_bytes(b"x")
    assert cli("refresh", path).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.xlsx"]


def test_sigterm_during_refresh_removes_its_temporary_file(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    before = digest(path)
    code = ("import sys, time, signal, os\n"
            "from brm_xl.workbook import guard\n"
            "flag = sys.argv[2]\n"
            "def slow(fd):\n"
            "    open(flag, 'w').close(); time.sleep(30)\n"
            "guard.os.fsync = slow\n"
            "from brm_xl.cli import main\n"
            "sys.argv = ['brm-xl', 'refresh', sys.argv[1]]\n"
            "main()\n")
    flag = tmp_path.parent / f"{tmp_path.name}.writing"
    run = subprocess.Popen([sys.executable, "-c", code, str(path), str(flag)],
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    code, err = run.wait(timeout=60), run.stderr.read()
    assert code == 128 + signal.SIGTERM and "Stopped by SIGTERM" in err, err
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.xlsx"]


# ---- 4. bounded, checked reading of the package ----------------------------------------

def _rezip(src: Path, dst: Path, change) -> Path:
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            out.writestr(info.filename, change(info.filename, z.read(info)))
    return dst


@pytest.mark.slow
def test_a_zip_bomb_is_refused_without_unpacking_it(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    bomb = _rezip(path, tmp_path / "bomb.xlsx", lambda n, d: d + b" " * (400 << 20)
                  if n.endswith("sheet1.xml") else d)
    assert bomb.stat().st_size < 2_000_000
    done = cli("check", bomb)
    no_traceback(done)
    assert done.returncode == 1 and "zip bomb" in done.stderr


def test_a_part_with_a_bad_crc_is_not_copied_into_the_result(tmp_path):
    def extra(wb, sheets):
        wb.add_worksheet("Notes").write_string("A1", "keep me " * 50)

    path = write_book(tmp_path / "b.xlsx", minimal_book(), extra)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = next(i for i in z.infolist() if z.read(i).count(b"keep me") == 50)
    at = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))
    before = digest(path)
    for command in ("check", "refresh"):
        done = cli(command, path)
        no_traceback(done)
        assert done.returncode == 1 and "damaged" in done.stderr, done.stderr
    assert digest(path) == before


def test_a_stray_cell_far_away_is_read_by_the_tables_range(tmp_path):
    def stray(wb, sheets):
        sheets["Usage"].write_string(1048575, 16383, "stray")

    path = write_book(tmp_path / "b.xlsx", minimal_book(), stray)
    done = cli("refresh", path)
    assert done.returncode == 0, done.stderr
    assert sorted(r["agency_id"] for r in output_rows(path, "Charges")) == ["DOR", "DOT"]


@pytest.mark.slow
def test_a_native_abort_is_a_sentence(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    # too big to scan, lying about its extent: calamine will try to allocate 512 GB
    filler = "".join(f'<row r="{i}"><c r="Z{i}"><v>{i}</v></c></row>' for i in range(4, 700_000))
    far = ('<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')
    bad = _rezip(path, tmp_path / "abort.xlsx", lambda n, d: d.replace(
        b"</sheetData>", (filler + far).encode() + b"</sheetData>")
        if n == "xl/worksheets/sheet3.xml" else d)
    done = cli("check", bad, env={"BRM_XL_MEMORY_LIMIT_GB": "6"})
    assert done.returncode == 1, done.stderr
    assert "Nothing was written" in done.stderr and "stack backtrace" not in done.stderr


# ---- 5 and 6. paths from a workbook stay in its folder ------------------------------------

@pytest.mark.slow
def test_usage_files_named_in_a_workbook_stay_beside_it(tmp_path):
    (tmp_path / "sub").mkdir()
    secret = tmp_path / "secret.csv"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    for pattern in ("../secret.csv", str(secret), "../*.csv"):
        b = _with_settings(minimal_book(), [("usage_files", pattern)])
        path = write_book(tmp_path / "sub" / "b.xlsx", b)
        done = cli("refresh", path)
        assert done.returncode == 1 and "points outside the folder" in done.stderr
        assert "root:x" not in done.stderr
    (tmp_path / "sub" / "link.csv").symlink_to(secret)
    b = _with_settings(minimal_book(), [("usage_files", "*.csv")])
    done = cli("refresh", write_book(tmp_path / "sub" / "b.xlsx", b))
    assert done.returncode == 1 and "points outside" in done.stderr and "root:x" not in done.stderr
    done = cli("refresh", write_book(tmp_path / "sub" / "c.xlsx", minimal_book()), "--usage", secret)
    assert done.returncode == 1 and "secret.csv" in done.stderr  # named on the command line: read


# ---- 7. no user text as formula criteria -------------------------------------------------

def test_tower_totals_match_tower_names_exactly(tmp_path):
    from brm_xl.pipeline.model import build_model
    from brm_xl.reports.run import make_reports

    rates = Block("RateCard", ["service_id", "service_name", "tower", "unit", "rate",
                               "effective_from", "effective_to"],
                  [("A", "a", "*", "u", D("1"), "2026-01", None),
                   ("B", "b", ">0", "u", D("2"), "2026-01", None),
                   ("C", "c", "Compute", "u", D("3"), "2026-01", None)])
    b = minimal_book(RateCard=rates, Usage=usage(("2026-09", "DOT", "A", 1), ("2026-09", "DOT", "B", 1),
                                                 ("2026-09", "DOT", "C", 1)))
    path = write_book(tmp_path / "b.xlsx", b)
    written = make_reports(path, "2026-09", ["DOT"], ["xlsx"], model=build_model(path, dt.date(2026, 10, 1)))
    sheet = openpyxl.load_workbook(written[0].path)["Bill of IT"]
    formulas = [c.value for row in sheet.iter_rows() for c in row
                if isinstance(c.value, str) and c.value.startswith("=")]
    assert formulas and not any("SUMIF" in f for f in formulas)
    towers = [sheet.cell(r, 9).value for r in range(5, 8)]
    assert sorted(towers) == sorted(["*", ">0", "Compute"])
    for r in range(5, 8):  # each total compares the tower column with its own cell, exactly
        formula = sheet.cell(r, 10).value
        assert formula.startswith("=SUMPRODUCT(--(") and f"=I{r})," in formula


# ---- 8 and 9. user mistakes are sentences, never "internal error" --------------------------

def _mutated(src: Path, dst: Path, part: str, fn) -> Path:
    return _rezip(src, dst, lambda n, d: fn(d) if n == part else d)


@pytest.mark.slow  # about 30 command runs; .ci/run runs the slow tests
def test_user_mistakes_get_a_sentence_and_exit_1_or_2(tmp_path):
    base = write_book(tmp_path / "base.xlsx", minimal_book())
    cases = {
        "empty Agencies": (write_book(tmp_path / "a.xlsx", minimal_book(
            Agencies=Block("Agencies", AGENCY_HEADERS, []))), [], "Agencies has no rows"),
        "empty RateCard": (write_book(tmp_path / "r.xlsx", minimal_book(
            RateCard=rate_card())), [], "RateCard has no rows"),
        "an id as a quantity": (write_book(tmp_path / "q.xlsx", minimal_book(
            Usage=usage(("2026-09", "DOT", "EMAIL", 2e16)))), [], "Usage!D2: quantity"),
        "a glob matching nothing": (write_book(tmp_path / "g.xlsx", _with_settings(
            minimal_book(), [("usage_files", "none/*.csv")])), [], "Settings!B1: usage_files"),
        "an empty usage file": (base, ["--usage", tmp_path / "empty.csv"], "empty.csv:1: the file is empty"),
        "not Parquet": (base, ["--usage", tmp_path / "bad.parquet"], "is not a Parquet file"),
        "malformed XML": (_mutated(base, tmp_path / "x.xlsx", "xl/worksheets/sheet3.xml",
                                   lambda d: d[:len(d) // 2]), [], "sheet Usage cannot be read"),
        "a cell reference": (_mutated(base, tmp_path / "c.xlsx", "xl/worksheets/sheet3.xml",
                                      lambda d: d.replace(b'r="B2"', b'r="B2x"')), [], "Usage"),
        "a table range": (_mutated(base, tmp_path / "t.xlsx", "xl/tables/table3.xml",
                                   lambda d: d.replace(b'ref="A1:D3"', b'ref="A1:D"')), [],
                          "is not a cell range"),
    }
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "bad.parquet").write_text("period,agency_id\n")
    for name, (path, extra, expected) in cases.items():
        before = digest(path)
        for command in ("check", "refresh"):
            done = cli(command, path, *extra)
            no_traceback(done)
            assert done.returncode == 1, (name, done.stderr)
            assert expected in done.stderr, (name, done.stderr)
        assert digest(path) == before, name
    done = cli("new", tmp_path / "no" / "such" / "x.xlsx")
    no_traceback(done)
    assert done.returncode == 1 and "does not exist" in done.stderr
    # a workbook that is not a survey export (the first sheet is Agencies) is read, and
    # says what it lacks
    forms = write_book(tmp_path / "forms.xlsx", minimal_book())
    done = cli("import-survey", base, forms)
    no_traceback(done)
    assert done.returncode == 2 and "forms.xlsx (read as a generic export) has no column for " \
        "response_id, submitted_on, score" in done.stderr


def test_a_damaged_zip_entry_is_a_sentence(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet3.xml")
    at = info.header_offset + 30 + len(info.filename) + 5
    raw[at:at + 20] = bytes(20)
    path.write_bytes(bytes(raw))
    for command in ("check", "refresh"):
        done = cli(command, path)
        no_traceback(done)
        assert done.returncode == 1 and "damaged" in done.stderr


def test_refresh_log_dates_formatted_general_come_back_as_dates(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    assert cli("refresh", path, "--as-of", "2026-10-01").returncode == 0
    general_dates(path)  # a user reformatted the date cells: they now read as 46296.5
    assert output_rows(path, "RefreshLog")[0]["refreshed_at"].startswith("46")
    done = cli("refresh", path, "--as-of", "2026-10-02")
    assert done.returncode == 0, done.stderr
    log = output_rows(path, "RefreshLog")
    assert len(log) == 2 and log[0]["as_of"].startswith("2026-10-01")


def general_dates(path: Path) -> None:
    """Format every date and date-time cell of the workbook as General, as a user might."""
    changed = _rezip(path, path.with_suffix(".tmp.xlsx"), lambda n, d: d.replace(
        b'formatCode="yyyy-mm-dd hh:mm:ss"', b'formatCode="General"').replace(
        b'formatCode="yyyy-mm-dd"', b'formatCode="General"') if n == "xl/styles.xml" else d)
    path.write_bytes(changed.read_bytes())
    changed.unlink()


def test_a_users_own_sheet_named_like_an_output_is_not_replaced(tmp_path):
    def own(wb, sheets):
        wb.add_worksheet("Relationships").write_string("A1", "my notes on agency heads")

    b = minimal_book()
    b.blocks.append(Block("Engagements", ["date", "agency_id", "brm_manager", "channel", "topic"],
                          [("2026-09-03", "DOT", "Pat", "Phone", "bill")]))
    path = write_book(tmp_path / "b.xlsx", b, own)
    before = digest(path)
    for command in ("check", "refresh"):
        done = cli(command, path)
        assert done.returncode == 1 and "sheet Relationships holds data of its own" in done.stderr
    assert digest(path) == before


# ---- 11. plain text is not HTML-escaped --------------------------------------------------

def test_email_subject_and_text_body_are_plain_text(tmp_path):
    b = minimal_book(Agencies=Block("Agencies", AGENCY_HEADERS, [
        ("FW", "Fish & Wildlife", "Pat O'Neil", "pat@fw.example", "Governor's Office", "g@cio.example", 30)]),
        Usage=usage(("2026-09", "FW", "EMAIL", 3)), Headcount=headcount(("2026-09", "FW", 3)))
    b.settings = [("sender_email", "brm@cio.example"), ("organization", "Governor's Office")]
    path = write_book(tmp_path / "p.xlsx", b)
    assert cli("email", path, "--period", "2026-09").returncode == 0
    draft = next((tmp_path / "outbox" / "2026-09").glob("*.eml"))
    message = email.message_from_bytes(draft.read_bytes(), policy=email.policy.default)
    assert message["Subject"].strip().startswith("Governor's Office: the value of shared IT to Fish & Wildlife")
    text = message.get_body(("plain",)).get_content()
    assert "Fish & Wildlife" in text and "&amp;" not in text and "&#39;" not in text
    html = message.get_body(("html",)).get_content()
    assert "Fish &amp; Wildlife" in html


# ---- 4 (issue item 5). crash-safe delivery -------------------------------------------------

def test_a_journal_left_by_a_killed_send_is_recorded_and_not_sent_twice(tmp_path, smtp):
    recorder = Recorder()
    port = smtp(recorder)
    path = book(tmp_path)
    journal = Journal(path)
    journal.write("sending", "2026-09", "ZEBRA", "zoe@zebra.example", None, "<a@x>")
    journal.write("sent", "2026-09", "ZEBRA", "zoe@zebra.example", None, "<a@x>",
                  dt.datetime(2026, 10, 1, 9, 0))
    journal.write("sending", "2026-09", "QUOKKA", "quinn@quokka.example", None, "<b@x>")
    done = cli("email", path, "--period", "2026-09", "--send", "--yes", "--no-tls", "--smtp-port", port)
    assert done.returncode == 1, done.stderr  # QUOKKA needs a person to check
    assert "QUOKKA: a run that was stopped may or may not have sent this" in done.stderr
    assert [m[1] for m in recorder.messages] == [["otto@ots.example", "brm.d@cio.example"]]
    rows = {r["agency_id"]: r for r in output_rows(path, "Deliveries")}
    assert rows["ZEBRA"]["status"] == "sent" and rows["QUOKKA"]["status"] == "unknown"
    assert rows["DOA/OTS"]["status"] == "sent"
    assert not journal_path(path).exists()  # everything it knew is in Deliveries now
    again = cli("email", path, "--period", "2026-09", "--send", "--yes", "--no-tls", "--smtp-port", port)
    assert len(recorder.messages) == 1 and "QUOKKA" in again.stderr


def test_a_deliveries_date_formatted_general_still_logs(tmp_path, smtp):
    recorder = Recorder()
    port = smtp(recorder)
    path = book(tmp_path)
    assert cli("email", path, "--period", "2026-09", "--send", "--yes", "--no-tls", "--smtp-port", port,
               "--agency", "ZEBRA").returncode == 0
    general_dates(path)
    assert output_rows(path, "Deliveries")[0]["sent_at"][:1] == "4"  # a serial number now
    done = cli("email", path, "--period", "2026-09", "--send", "--yes", "--no-tls", "--smtp-port", port)
    assert done.returncode == 0, done.stderr
    rows = output_rows(path, "Deliveries")
    assert sorted(r["agency_id"] for r in rows) == ["DOA/OTS", "QUOKKA", "ZEBRA"]
    assert len(recorder.messages) == 3


@pytest.mark.slow
def test_kill_9_during_send_never_duplicates(tmp_path, smtp):
    """A short version of benchmarks/kill_send.py: kill -9 mid-batch, run again."""
    heads = {f"AG{i}": (f"Head {i}", f"head{i}@ag{i}.example") for i in range(6)}
    for trial in range(2):
        recorder = SlowRecorder(0.3)
        port = smtp(recorder)
        folder = tmp_path / f"t{trial}"
        folder.mkdir()
        path = book(folder, heads)
        run = subprocess.Popen([sys.executable, "-m", "brm_xl", "email", str(path), "--period",
                                "2026-09", "--send", "--yes", "--no-tls", "--smtp-port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
        deadline = time.monotonic() + 120
        while len(recorder.messages) < 2 + trial and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        again = cli("email", path, "--period", "2026-09", "--send", "--yes", "--no-tls", "--smtp-port", port)
        assert again.returncode in (0, 1), again.stderr
        got = [m[1][0] for m in recorder.messages]
        assert len(got) == len(set(got)), "a message was sent twice"
        rows = {r["to"]: r["status"] for r in output_rows(path, "Deliveries")}
        assert all(rows.get(to) in ("sent", "unknown") for to in got), (got, rows)
        assert set(rows) == {h[1] for h in heads.values()}


class SlowRecorder(Recorder):
    def __init__(self, delay):
        super().__init__()
        self.delay = delay
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def test_the_folder_is_flushed_after_the_rename(tmp_path, monkeypatch):
    flushed = []
    real = guard._sync_folder
    monkeypatch.setattr(guard, "_sync_folder", lambda folder: (flushed.append(folder), real(folder)))
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    refresh(path, as_of=dt.date(2026, 10, 1))
    assert flushed == [tmp_path]
