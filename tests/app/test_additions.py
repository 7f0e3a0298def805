"""Survey import and the engagement log: rows appended losslessly, checked first."""

from __future__ import annotations

import datetime as dt

from brm_xl.contract.tables import ENGAGEMENTS, SURVEY
from brm_xl.pipeline.read import load_inputs
from tests.helpers import Block, cli_in_process, digest, minimal_book, parts, write_book
from tests.relationships.test_relationships import ENGAGEMENT_HEADERS, SURVEY_HEADERS

FORMS_CSV = """ID,Start time,Completion time,Email,Name,Which agency do you work for?,How satisfied are you?,Comments
101,11/3/2026 14:01:10,11/3/2026 14:05:22,ann@dot.example,Ann Lee,Agency DOT,4 - Satisfied,Fast service
102,11/4/2026 9:00:00,11/4/2026 9:02:13,bob@dor.example,Bob Roe,DOR,Very dissatisfied,"=HYPERLINK(""http://x"")"
103,11/5/2026 10:00:00,11/5/2026 10:03:00,cy@dot.example,Cy Poe,dot,5,"Line one
line two"
"""


def cli(*args):
    return cli_in_process(*args)


def survey_rows(path):
    inputs, problems = load_inputs(path, specs=(SURVEY,) + (), checks=())
    return inputs.frame("Survey").sort("_row").to_dicts()


def book_with_survey(tmp_path, rows=()):
    def dashboard(wb, sheets):
        ws = wb.add_worksheet("Dashboard")
        ws.write_formula("A1", "=COUNTA(Survey[response_id])")
        ws.insert_textbox("C3", "Survey dashboard")
    b = minimal_book(Survey=Block("Survey", SURVEY_HEADERS, rows, at="B2"))
    b.settings = [("survey_date_order", "mdy")]  # the exports here are US, days all <= 12
    return write_book(tmp_path / "brm.xlsx", b, dashboard)


def test_import_forms_export_then_again_adds_nothing(tmp_path):
    path = book_with_survey(tmp_path, [("R1", dt.date(2026, 10, 1), "DOT", "Old", None, 5, None,
                                        None, None)])
    csv = tmp_path / "forms.csv"
    csv.write_text(FORMS_CSV)
    before = parts(path)
    done = cli("import-survey", path, csv, "--map", "agency_id=Which agency do you work for?",
               "--map", "score=How satisfied are you?", "--map", "submitted_on=Completion time",
               "--map", "respondent=Name")
    assert done.returncode == 0, done.stderr
    assert "added 3 response(s)" in done.stdout and "0 already there" in done.stdout
    assert "read as a Microsoft Forms export, each id with the day it was submitted" in done.stdout
    rows = survey_rows(path)
    assert [(r["response_id_text"], r["submitted_on"], r["agency_id"], r["score"]) for r in rows] == [
        ("R1", dt.date(2026, 10, 1), "DOT", 5), ("101@2026-11-03", dt.date(2026, 11, 3), "DOT", 4),
        ("102@2026-11-04", dt.date(2026, 11, 4), "DOR", 1), ("103@2026-11-05", dt.date(2026, 11, 5), "DOT", 5)]
    assert rows[2]["comment"] == '=HYPERLINK("http://x")' and rows[3]["comment"] == "Line one\nline two"
    after = parts(path)
    changed = {n for n in before if before[n] != after.get(n)}
    assert changed <= {"xl/worksheets/sheet5.xml", "xl/tables/table5.xml", "xl/styles.xml"}
    assert b"<f>" not in after["xl/worksheets/sheet5.xml"].split(b"HYPERLINK")[0][-200:]
    again = cli("import-survey", path, csv, "--map", "agency_id=Which agency do you work for?",
                "--map", "score=How satisfied are you?", "--map", "respondent=Name")
    assert again.returncode == 0 and "added 0 response(s)" in again.stdout
    assert len(survey_rows(path)) == 4


def test_bad_rows_are_named_by_csv_line_and_nothing_is_written(tmp_path):
    path = book_with_survey(tmp_path)
    csv = tmp_path / "bad.csv"
    csv.write_text("Response ID,Submitted,Agency,Name,Score\n"
                   "1,2026-11-03,DOT,Ann,7\n"
                   "2,13/45/2026,DOT,Bob,4\n"
                   "3,2026-11-05,Dept of Nowhere,Cy,4\n")
    before = digest(path)
    done = cli("import-survey", path, csv)
    assert done.returncode == 1
    assert "bad.csv:2: score '7' is not a whole number from 1 to 5" in done.stderr
    assert "bad.csv:1: 'Score' holds 7 (scores run 4 to 7), outside the 1 to 5" in done.stderr
    assert "bad.csv:3: submitted_on '13/45/2026' is not a date" in done.stderr
    assert "bad.csv:4: agency_id 'Dept of Nowhere' is not in Agencies" in done.stderr
    assert digest(path) == before and "Traceback" not in done.stderr


def test_import_usage_errors_exit_2(tmp_path):
    path = book_with_survey(tmp_path)
    csv = tmp_path / "x.csv"
    csv.write_text("Foo,Bar\n1,2\n")
    done = cli("import-survey", path, csv)
    assert done.returncode == 2 and "no column for response_id" in done.stderr
    assert cli("import-survey", path, csv, "--map", "nonsense=Foo").returncode == 2
    assert cli("import-survey", path, csv, "--map", "score=Missing").returncode == 2


def test_import_creates_the_survey_table_when_missing(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    csv = tmp_path / "s.csv"
    csv.write_text("response_id,submitted_on,agency_id,respondent,score\nA1,2026-11-02,DOR,Dee,3\n")
    assert cli("import-survey", path, csv).returncode == 0
    rows = survey_rows(path)
    assert [(r["response_id_text"], r["score"]) for r in rows] == [("A1", 3)]
    refreshed = cli("refresh", path, "--as-of", "2026-11-20")
    assert refreshed.returncode == 0 and "FollowUps 1 rows" in refreshed.stdout


def test_import_into_a_new_workbook_fills_its_blank_row(tmp_path):
    path = tmp_path / "new.xlsx"
    assert cli("new", path).returncode == 0
    done = cli("log", path, "--agency", "DOT", "--channel", "Phone", "--topic", "x")
    assert done.returncode == 1 and "--agency: agency_id 'DOT' is not in Agencies" in done.stderr


def test_table_that_cannot_grow_is_refused(tmp_path):
    def below(wb, sheets):
        sheets["Survey"].write_string("C6", "notes typed under the table")
    path = write_book(tmp_path / "b.xlsx", minimal_book(
        Survey=Block("Survey", SURVEY_HEADERS, [("R1", dt.date(2026, 10, 1), "DOT", "Old", None,
                                                 5, None, None, None)])), below)
    csv = tmp_path / "s.csv"
    csv.write_text("response_id,submitted_on,agency_id,respondent,score\n"
                   + "".join(f"A{i},2026-11-02,DOR,Dee,3\n" for i in range(5)))
    before = digest(path)
    done = cli("import-survey", path, csv)
    assert done.returncode == 1
    assert "Survey!C6: holds a value, and the Survey table must grow into rows 3 to 7" in done.stderr
    assert digest(path) == before


def test_log_appends_one_engagement(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book(
        Engagements=Block("Engagements", ENGAGEMENT_HEADERS, [])))
    done = cli("log", path, "--agency", "dor", "--channel", "in person - GROUP", "--topic",
               "FY27 rate preview", "--date", "2026-11-10", "--action", "Send rates",
               "--owner", "Pat", "--due", "2026-11-20")
    assert done.returncode == 0, done.stderr
    inputs, problems = load_inputs(path, specs=(ENGAGEMENTS,), checks=())
    (row,) = inputs.frame("Engagements").to_dicts()
    assert (row["date"], row["agency_id"], row["channel"], row["brm_manager"]) == (
        dt.date(2026, 11, 10), "DOR", "In person - group", "Pat Manager")
    assert row["action_due"] == dt.date(2026, 11, 20)
    bad = cli("log", path, "--agency", "DOT", "--channel", "Zoom", "--topic", "x",
              "--date", "2026-11-31")
    assert bad.returncode == 1
    assert "--channel: channel 'Zoom' is not one of: In person - individual" in bad.stderr
    assert "--date: date '2026-11-31' is not a date" in bad.stderr
    assert cli("log", path, "--agency", "DOT", "--channel", "Phone", "--topic", "x",
               "--due", "2026-11-20").returncode == 2


def test_responses_imported_by_an_earlier_version_are_known_by_their_id_and_day(tmp_path):
    """Before, a Forms response's id carried the file's name (`forms#101`); the same
    response from a file of another name is the same response: 101 of 2026-11-03."""
    path = book_with_survey(tmp_path, [("forms#101", dt.date(2026, 11, 3), "DOT", "Ann Lee", None,
                                        4, "Fast service", None, None)])
    csv = tmp_path / "IT survey (2).csv"
    csv.write_text(FORMS_CSV)
    done = cli("import-survey", path, csv, "--map", "agency_id=Which agency do you work for?",
               "--map", "score=How satisfied are you?", "--map", "submitted_on=Completion time",
               "--map", "respondent=Name")
    assert done.returncode == 0, done.stderr
    assert "added 2 response(s)" in done.stdout and "1 already there" in done.stdout
    assert [r["response_id_text"] for r in survey_rows(path)] == [
        "forms#101", "102@2026-11-04", "103@2026-11-05"]
