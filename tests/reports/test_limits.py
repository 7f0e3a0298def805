"""Issue 20, defects 17 and 18: office templates bounded in time and output size, and the
smaller defects (the debug traceback, a foreign file's lines, a foreign Sources path, a save
by another program during `log`). Each test failed before its fix."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from brm_xl.problems import TemplateError, WorkbookError
from brm_xl.reports.limits import render_template
from brm_xl.reports.render import environment
from tests.helpers import Block, digest, minimal_book, output_rows, write_book

HOSTILE = {
    "loops": "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
    "size": "{{ 'x' * 300000000 }}",
}
REFUSED = {"loops": "loop steps", "size": "larger than 50 MB"}
ACCOUNTS = Block("GLAccounts", ["kind", "id", "fund", "department", "account"], [
    ("Agency", "DOT", "0100", "DOT-IT", "5300"), ("Agency", "DOR", "0200", "DOR-IT", "5300"),
    ("Service", "EMAIL", "9100", "OCIO", "4100")])
ENGAGEMENT_HEADERS = ["date", "agency_id", "brm_manager", "channel", "topic", "attendees",
                      "notes", "action_item", "action_owner", "action_due", "action_done_on"]


def cli(*args, env=None, timeout=120):
    """The command as a user runs it; the timeout is a guard against a hang, not a measure."""
    return subprocess.run([sys.executable, "-m", "brm_xl", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def office_book(tmp_path, template, text, settings=()):
    office = tmp_path / "office"
    office.mkdir(exist_ok=True)
    (office / template).write_text(text)
    book = minimal_book(GLAccounts=ACCOUNTS)
    book.settings = [("report_templates", "office"), ("journal_template", f"office/{template}"),
                     *settings]
    return write_book(tmp_path / "b.xlsx", book)


# ---- A. templates bounded in time and size ------------------------------------------------

@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_report_template_is_refused_and_writes_nothing(tmp_path, kind):
    path = office_book(tmp_path, "agency_report.html.j2", HOSTILE[kind])
    done = cli("report", path, "--period", "2026-09", "--format", "html,pdf")
    assert done.returncode == 1, done.stderr
    assert "report template agency_report.html.j2 was stopped" in done.stderr
    assert REFUSED[kind] in done.stderr and "nothing was written" in done.stderr
    assert "Traceback" not in done.stderr
    folder = tmp_path / "reports"
    assert not folder.exists() or not [p for p in folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_journal_template_writes_no_journal_and_no_audit_row(tmp_path, kind):
    path = office_book(tmp_path, "erp.csv.j2", HOSTILE[kind])
    assert cli("close", path, "--period", "2026-09").returncode == 0
    before = digest(path)
    done = cli("journal", path, "--period", "2026-09")
    assert done.returncode == 1, done.stderr
    assert "journal template erp.csv.j2 was stopped" in done.stderr and REFUSED[kind] in done.stderr
    assert not list(tmp_path.glob("2026-09_journal*"))  # no journal, no seal file
    assert digest(path) == before
    assert [r["action"] for r in output_rows(path, "AuditLog")] == ["close"]


def test_a_hostile_email_template_makes_no_draft(tmp_path):
    office = tmp_path / "office" / "email"
    office.mkdir(parents=True)
    (office / "body.txt.j2").write_text(HOSTILE["size"])
    book = minimal_book()
    book.settings = [("report_templates", "office"), ("sender_email", "brm@cio.example")]
    path = write_book(tmp_path / "b.xlsx", book)
    done = cli("email", path, "--period", "2026-09", "--out", tmp_path / "outbox")
    assert done.returncode == 1, done.stderr
    assert "email template email/body.txt.j2 was stopped" in done.stderr
    assert not list(tmp_path.rglob("*.eml"))


def test_settings_may_lower_the_limits_never_raise_them(tmp_path):
    text = "{{ 'x' * 2000000 }}"  # 2 MB: within the default 50 MB
    path = office_book(tmp_path, "erp.csv.j2", text, [("template_max_mb", 1)])
    assert cli("close", path, "--period", "2026-09").returncode == 0
    done = cli("journal", path, "--period", "2026-09")
    assert done.returncode == 1 and "larger than 1 MB" in done.stderr
    assert "Settings template_max_mb" in done.stderr

    from brm_xl.contract.inputs import parse_settings

    settings, problems = parse_settings("Settings", [(1, "template_seconds", "600"),
                                                     (2, "template max mb", "10")])
    assert (settings.template_seconds, settings.template_max_mb) == (30, 10)
    assert [str(p) for p in problems] == [
        "Settings!B1: template_seconds 600 is above the most brm_xl allows (30); 30 is used "
        "(a Setting may lower this limit, not raise it)"]
    assert problems[0].severity == "warning"
    _, problems = parse_settings("Settings", [(1, "template_seconds", "0")])
    assert [p.severity for p in problems] == ["error"]


def test_the_time_limit_is_checked_while_a_template_renders(tmp_path):
    from brm_xl.reports.limits import TemplateLimits

    (tmp_path / "slow.txt.j2").write_text(HOSTILE["loops"])
    env = environment(tmp_path, TemplateLimits(seconds=1, steps=10**12))
    with pytest.raises(TemplateError, match="ran longer than 1 second, the time limit"):
        render_template(env, "slow.txt.j2")


@pytest.mark.parametrize("text", [
    "{{ 'x'|center(300000000) }}", "{{ 'x'.ljust(300000000) }}", "{{ '%300000000s' % 'x' }}",
    "{{ '{:>300000000}'.format('x') }}", "{{ ('a\\n' * 1000000)|indent(1000) }}",
    "{{ ([1] * 1000000) * 100 }}", "{{ ('x' * 1000000)|replace('x', 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy') }}",
    "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s }}",
    "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    "{% for x in [1, 2] recursive %}{{ loop([1, 2, 3]) }}{% endfor %}",
    "{{ 9 ** (9 ** 9) }}",
])
def test_other_ways_to_grow_or_loop_are_bounded(tmp_path, text):
    (tmp_path / "t.txt.j2").write_text(text)
    with pytest.raises(TemplateError, match="was stopped"):
        render_template(environment(tmp_path), "t.txt.j2")


def test_ordinary_template_code_renders_as_before(tmp_path):
    (tmp_path / "t.txt.j2").write_text(
        "{% for i in range(3) %}{{ i }}{% if loop.last %}.{% endif %}{% endfor %}"
        "{% for x in [] %}no{% else %}none{% endfor %} {{ 'ab' * 2 }} {{ '%5.1f' % 2.25 }} "
        "{{ 2 ** 10 }} {{ 'a' ~ 1 }} {{ 'x'|center(5) }}|{{ [1, 2] + [3] }}")
    assert render_template(environment(tmp_path), "t.txt.j2") == \
        "012.none abab   2.2 1024 a1   x  |[1, 2, 3]"


# ---- B. the smaller defects ---------------------------------------------------------------

def test_debug_shows_the_traceback_of_an_internal_error():
    code = ("import brm_xl.cli as c\n"
            "def boom(**kwargs): raise ZeroDivisionError('boom')\n"
            "c.cli.main = boom\nc.main()\n")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60, env={**os.environ, "BRM_XL_DEBUG": "1"})
    assert shown.returncode == 3
    assert "Traceback (most recent call last)" in shown.stderr and "ZeroDivisionError: boom" in shown.stderr
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if k != "BRM_XL_DEBUG"})
    assert quiet.returncode == 3 and "Traceback" not in quiet.stderr
    assert "internal error: ZeroDivisionError: boom" in quiet.stderr


def test_a_file_that_is_not_a_usage_file_is_never_quoted(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin\n")
    done = cli("refresh", path, "--usage", secret)
    assert done.returncode == 1
    assert "root" not in done.stderr and "bash" not in done.stderr
    assert "passwd:1: this is not a usage file: its first line does not name the columns " \
        "period, agency_id, service_id, quantity" in done.stderr
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("period,period,qty,,\n2026-09,DOT,3,,\n")
    done = cli("check", path, "--usage", wrong)
    assert done.returncode == 1
    assert "_duplicated_" not in done.stderr and "qty" not in done.stderr
    assert "wrong.csv:1: the header lacks the columns agency_id, service_id, quantity" in done.stderr


def test_a_sources_row_pointing_outside_the_folder_is_not_read_nor_advised(tmp_path):
    from brm_xl.contract.inputs import Sources
    from brm_xl.sources.files import recorded

    path = write_book(tmp_path / "b.xlsx", minimal_book())
    sources, problems = recorded(path, [{"kind": "usage", "path": "/etc/passwd"}], Sources())
    assert sources.usage == ()
    (problem,) = problems
    assert str(problem).startswith("Sources!B2: /etc/passwd is outside the folder of b.xlsx, so "
                                   "brm_xl will not read it")
    assert "--usage /etc/passwd" not in problem.message and "name it again" not in problem.message


def test_a_save_by_another_program_during_log_says_what_happened(tmp_path, monkeypatch):
    from brm_xl.app import additions

    values = {"date": "2026-11-10", "agency_id": "DOT", "brm_manager": None, "channel": "Phone",
              "topic": "rates", "attendees": None, "notes": None, "action_item": None,
              "action_owner": None, "action_due": None, "action_done_on": None}
    path = write_book(tmp_path / "b.xlsx", minimal_book(
        Engagements=Block("Engagements", ENGAGEMENT_HEADERS, [])))
    saved = tmp_path / "saved.xlsx"  # the same workbook as another user saved it meanwhile
    shutil.copy(path, saved)
    additions.log_contact(saved, {**values, "topic": "their contact"})
    real_package = additions.Package

    def excel_saves_first(target):
        shutil.copy(saved, target)
        return real_package(target)

    monkeypatch.setattr(additions, "Package", excel_saves_first)
    with pytest.raises(WorkbookError) as caught:
        additions.log_contact(path, values)
    message = str(caught.value)
    assert "was changed by another program while brm_xl was working; nothing was written. " \
        "Run the command again" in message
    assert "below the table" not in message
    assert digest(path) == digest(saved)  # their save stands; ours was not written over it


def test_an_error_in_a_templates_own_code_is_a_sentence(tmp_path):
    path = office_book(tmp_path, "erp.csv.j2", "{{ 1 / 0 }}")
    assert cli("close", path, "--period", "2026-09").returncode == 0
    done = cli("journal", path, "--period", "2026-09")
    assert done.returncode == 1 and "internal error" not in done.stderr, done.stderr
    assert "ZeroDivisionError in the template's own code" in done.stderr
