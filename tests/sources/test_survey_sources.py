"""Survey exports exactly as each tool writes them (tests/samples/surveys), imported whole."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import xlsxwriter

from brm_xl.contract.tables import SURVEY
from brm_xl.pipeline.read import load_inputs
from tests.helpers import (
    AGENCY_HEADERS,
    TESTS,
    Block,
    cli_in_process,
    digest,
    minimal_book,
    output_rows,
    write_book,
)
from tests.relationships.test_relationships import SURVEY_HEADERS

SAMPLES = TESTS / "samples" / "surveys"


def cli(*args):
    return cli_in_process(*args)


def book(tmp_path, settings=()):
    b = minimal_book(
        Agencies=Block("Agencies", AGENCY_HEADERS, [
            ("DOT", "Department of Transportation", "Head DOT", "head@dot.example", "Pat Manager",
             "pat@cio.example", 30),
            ("DOR", "Department of Revenue", "Head DOR", "head@dor.example", "Pat Manager",
             "pat@cio.example", 30)]),
        Survey=Block("Survey", SURVEY_HEADERS, []))
    # the samples are US exports whose days are all 12 or less: the office said month first
    given = list(settings)
    b.settings = given if any(k == "survey_date_order" for k, _ in given) else \
        [("survey_date_order", "mdy"), *given]
    return write_book(tmp_path / "brm.xlsx", b)


def responses(path):
    inputs, _ = load_inputs(path, specs=(SURVEY,), checks=())
    return [(r["response_id_text"], r["submitted_on"], r["agency_id"], r["respondent"], r["score"],
             r["comment"]) for r in inputs.frame("Survey").sort("_row").to_dicts()]


def imported(path, sample, *args):
    done = cli("import-survey", path, sample, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def suggested_maps(stderr: str) -> list[str]:
    """The --map lines a first try printed, as arguments."""
    out = []
    for field, column in re.findall(r'--map (\w+)="([^"]+)"', stderr):
        out += ["--map", f"{field}={column}"]
    return out


def test_microsoft_forms_saved_by_excel_two_digit_years_cp1252(tmp_path):
    path = book(tmp_path)
    out = imported(path, SAMPLES / "forms_saved_by_excel.csv")
    assert "read as a Microsoft Forms export, each id with the day it was submitted" in out
    assert responses(path) == [
        ("1@2026-11-04", dt.date(2026, 11, 4), "DOT", "Ann Lee", 4, "Faster password resets"),
        ("2@2026-11-04", dt.date(2026, 11, 4), "DOR", "Bo Ray", 1,
         "Tickets closed without a fix, twice"),
        ("3@2026-11-05", dt.date(2026, 11, 5), "DOT", "Cy Poe", 5, None)]


def forms_xlsx(path: Path) -> Path:
    """The .xlsx Forms downloads: Sheet1, datetime cells, the ID as a number."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Sheet1")
    when = wb.add_format({"num_format": "m/d/yy h:mm:ss"})
    ws.write_row(0, 0, ["ID", "Start time", "Completion time", "Email", "Name",
                        "Which agency do you work for?", "How satisfied are you with the service?",
                        "What could we do better?"])
    for i, (agency, score, comment) in enumerate(
            [("Department of Revenue", "2 - Dissatisfied", "Slow"),
             ("Department of Transportation", "5 - Very satisfied", "")], 1):
        ws.write_number(i, 0, i)
        ws.write_datetime(i, 1, dt.datetime(2026, 12, 1, 9, i), when)
        ws.write_datetime(i, 2, dt.datetime(2026, 12, 1, 9, 10 + i), when)
        ws.write_string(i, 3, "anonymous")
        ws.write_row(i, 5, [agency, score] + ([comment] if comment else []))
    wb.close()
    return path


@pytest.mark.slow
def test_forms_xlsx_download_and_a_sequence_of_forms_loses_nothing(tmp_path):
    path = book(tmp_path)
    imported(path, SAMPLES / "forms_saved_by_excel.csv")
    # the next quarter's form numbers its responses from 1 again: all of them are added
    out = imported(path, SAMPLES / "forms_q2_anonymous.csv")
    assert "added 2 response(s)" in out
    download = forms_xlsx(tmp_path / "IT satisfaction December(1-2).xlsx")
    out = imported(path, download)
    assert "each id with the day it was submitted" in out and "added 2" in out
    rows = responses(path)
    assert len(rows) == 7
    assert rows[3] == ("1@2027-01-12", dt.date(2027, 1, 12), "DOR", None, 2,
                       "Nobody called back")
    assert rows[5][:5] == ("1@2026-12-01", dt.date(2026, 12, 1), "DOR", None, 2)
    # the same files again (and a later download of the same form) add nothing
    for again in (SAMPLES / "forms_saved_by_excel.csv", SAMPLES / "forms_q2_anonymous.csv"):
        assert "added 0 response(s)" in imported(path, again)
    later = shutil.copy(download, tmp_path / "IT satisfaction December(1-3).xlsx")
    assert "added 0 response(s)" in imported(path, later)
    assert len(responses(path)) == 7
    # the low scores are there to call back
    refreshed = cli("refresh", path, "--as-of", "2027-02-01")
    assert refreshed.returncode == 0, refreshed.stderr


def test_a_reused_id_with_other_answers_is_a_conflict_not_a_skip(tmp_path):
    path = book(tmp_path)
    imported(path, SAMPLES / "forms_q2_anonymous.csv")
    before = digest(path)
    # the same form downloaded again after a respondent changed an answer: response 1 of the
    # same day, another score; never skipped silently, never added twice
    changed = tmp_path / "forms_q2_again.csv"
    changed.write_bytes((SAMPLES / "forms_q2_anonymous.csv").read_bytes().replace(
        b"2 - Dissatisfied", b"4 - Satisfied"))
    done = cli("import-survey", path, changed)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "forms_q2_again.csv:2: response_id 1@2027-01-12 is already at Survey!A2 with other " \
           "answers (score '2' there, '4' here)" in done.stderr, done.stderr
    assert digest(path) == before


def test_the_same_responses_under_other_names_are_imported_once(tmp_path):
    """A re-download, a copy saved under another name, a copy from an earlier version's
    import (ids qualified by the file's name): the same five responses, once."""
    path = book(tmp_path)
    imported(path, SAMPLES / "forms_saved_by_excel.csv")
    for name in ("IT survey(1-3).csv", "IT survey - Copy.csv", "forms export.csv"):
        copy = Path(shutil.copy(SAMPLES / "forms_saved_by_excel.csv", tmp_path / name))
        assert "added 0 response(s)" in imported(path, copy)
    assert len(responses(path)) == 3
    refreshed = cli("refresh", path, "--as-of", "2026-11-10")
    assert refreshed.returncode == 0, refreshed.stderr
    follow = output_rows(path, "FollowUps")
    assert len(follow) == 1  # Bo Ray's 1, once


def test_qualtrics_three_header_rows_and_its_default_scale(tmp_path):
    path = book(tmp_path)
    sample = SAMPLES / "qualtrics_choice_text.csv"
    first = cli("import-survey", path, sample)
    # the question columns are Q1..Q3; Q1 is found by its question text (row 2), Q2's
    # text is nobody's alias: the first try says exactly what to add
    assert first.returncode == 2 and "read as a Qualtrics export" in first.stderr
    maps = suggested_maps(first.stderr)
    assert maps == ["--map", "score=Q2"]
    out = imported(path, sample, *maps, "--map", "comment=Is there anything we could do better?")
    assert "read as a Qualtrics export;" in out and "added 3" in out
    assert responses(path) == [
        ("R_1QfAbCdEf0gHiJk", dt.date(2026, 11, 4), "DOT", "ann.lee@dot.example", 5, None),
        ("R_2RgBcDeFg1hIjKl", dt.date(2026, 11, 4), "DOR", "bo.ray@dor.example", 2,
         "Tickets closed without a fix, twice"),
        ("R_3ShCdEfGh2iJkLm", dt.date(2026, 11, 5), "DOT", None, 3, None)]


def test_qualtrics_numeric_utf16_tsv_with_agency_choice_aliases(tmp_path):
    sample = SAMPLES / "qualtrics_numeric_utf16.tsv"
    path = book(tmp_path)
    before = digest(path)
    done = cli("import-survey", path, sample, "--map", "agency_id=Q1", "--map", "score=Q2")
    # choice numbers are not agencies until Settings says which is which
    assert done.returncode == 1 and "qualtrics_numeric_utf16.tsv:4: agency_id '1' is not in Agencies" in done.stderr
    assert digest(path) == before
    path = book(tmp_path, settings=[("agency_alias:1", "DOT"), ("agency_alias:2", "dor")])
    out = imported(path, sample, "--map", "agency_id=Which agency do you work for?",
                   "--map", "score=Q2", "--map", "comment=Q3")
    assert "added 2" in out
    assert responses(path) == [
        ("R_4TiDeFgHi3jKlMn", dt.date(2026, 11, 6), "DOT", "dee@dot.example", 5, "Great"),
        ("R_5UjEfGhIj4kLmNo", dt.date(2026, 11, 6), "DOR", "eve@dor.example", 2, "Slow")]


def test_surveymonkey_two_header_rows(tmp_path):
    path = book(tmp_path)
    out = imported(path, SAMPLES / "surveymonkey_expanded.csv")
    assert "read as a SurveyMonkey export;" in out and "added 2" in out
    assert responses(path) == [
        ("114202637788", dt.date(2026, 11, 4), "DOT", "ann.lee@dot.example", 5, None),
        ("114202638899", dt.date(2026, 11, 4), "DOR", "bo.ray@dor.example", 2,
         "Tickets closed without a fix")]


def test_google_forms_gets_stable_ids(tmp_path):
    path = book(tmp_path)
    out = imported(path, SAMPLES / "google_forms.csv")
    assert "read as a Google Forms export;" in out and "added 2" in out
    rows = responses(path)
    assert [r[1:5] for r in rows] == [(dt.date(2026, 11, 4), "DOT", "ann.lee@dot.example", 4),
                                      (dt.date(2026, 11, 4), "DOR", "bo.ray@dor.example", 2)]
    assert all(re.fullmatch(r"G-[0-9A-F]{10}", r[0]) for r in rows) and rows[0][0] != rows[1][0]
    assert "added 0 response(s)" in imported(path, SAMPLES / "google_forms.csv")


def test_servicenow_one_row_per_answer_is_one_response_per_instance(tmp_path):
    path = book(tmp_path)
    out = imported(path, SAMPLES / "servicenow_asmt_metric_result.csv")
    assert "read as a ServiceNow export;" in out and "added 2" in out
    assert responses(path) == [
        ("AINST0010001", dt.date(2026, 11, 4), "DOT", "ann.lee", 4, "Faster password resets"),
        ("AINST0010002", dt.date(2026, 11, 4), "DOR", "bo.ray", 1, None)]


def test_another_scale_is_refused_with_a_sentence_unless_settings_maps_it(tmp_path):
    path = book(tmp_path)
    sample = SAMPLES / "nps_0_to_10.csv"
    done = cli("import-survey", path, sample, "--map", "score=How likely are you to recommend us?")
    assert done.returncode == 1
    assert ("nps_0_to_10.csv:1: 'How likely are you to recommend us?' holds 7, 9 (scores run 3 "
            "to 9), outside the 1 to 5 scale Survey uses") in done.stderr
    assert "survey_score_map, e.g. 0-6=1, 7-8=3, 9-10=5" in done.stderr
    path = book(tmp_path, settings=[("survey_score_map", "0-6=1, 7-8=3, 9-10=5")])
    imported(path, sample, "--map", "score=How likely are you to recommend us?")
    assert [r[4] for r in responses(path)] == [5, 1, 3]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_plain_csv_in_every_encoding_and_separator(tmp_path, encoding):
    path = book(tmp_path)
    text = ("Response ID;Submitted;Agency;Name;Score;Comment\r\n"
            "C1;2026-11-04;Department of Transportation;Renée Dupré;Somewhat satisfied;Très bien\r\n")
    sample = tmp_path / "plain.csv"
    sample.write_bytes(text.encode(encoding))
    imported(path, sample)
    assert responses(path) == [("C1", dt.date(2026, 11, 4), "DOT", "Renée Dupré", 4, "Très bien")]


def test_a_column_not_imported_is_said_and_a_comment_column_suggested(tmp_path):
    """Qualtrics with a second free-text question ("Any other comments?", Q4): the only
    comment on a score-1 response is never dropped without a word."""
    path = book(tmp_path)
    done = cli("import-survey", path, SAMPLES / "qualtrics_extra_comment.csv", "--map", "score=Q2")
    assert done.returncode == 0, done.stderr
    assert "not imported: 'StartDate' (Start Date)" in done.stderr
    assert "'Q4' (Any other comments?)" in done.stderr
    assert '--map comment="Q4"' in done.stderr


def test_dates_are_never_guessed(tmp_path):
    """Google Forms from an en-GB sheet: 3, 4 and 6 November are day first; a file whose
    days are all 12 or less asks once; a file with a day above 12 decides by itself."""
    path = book(tmp_path, settings=())
    gb = tmp_path / "google_en_gb.csv"
    gb.write_text("Timestamp,Email Address,Which agency do you work for?,"
                  "How satisfied are you with the service?,Comments\n"
                  "03/11/2026 09:15:02,ann.lee@dot.example,Department of Transportation,4,\n"
                  "04/11/2026 10:01:44,bo.ray@dor.example,Department of Revenue,2,Slow\n"
                  "06/11/2026 16:20:09,cy.poe@dot.example,Department of Transportation,5,\n")
    plain = write_book(tmp_path / "plain.xlsx", minimal_book(
        Agencies=Block("Agencies", AGENCY_HEADERS, [
            ("DOT", "Department of Transportation", "H", "h@dot.example", "P", "p@cio.example", 30),
            ("DOR", "Department of Revenue", "H", "h@dor.example", "P", "p@cio.example", 30)]),
        Survey=Block("Survey", SURVEY_HEADERS, [])))
    before = digest(plain)
    asked = cli("import-survey", plain, gb)
    assert asked.returncode == 2 and "could be month first or day first" in asked.stderr
    assert "--date-order dmy" in asked.stderr and digest(plain) == before
    imported(plain, gb, "--date-order", "dmy")
    assert [r[1] for r in responses(plain)] == [dt.date(2026, 11, 3), dt.date(2026, 11, 4),
                                                dt.date(2026, 11, 6)]
    # one day above 12 decides for the whole file; a contrary answer is refused
    later = tmp_path / "google_en_gb_later.csv"
    later.write_text(gb.read_text().replace("06/11/2026", "16/11/2026"))
    wrong = cli("import-survey", path, later, "--date-order", "mdy")
    assert wrong.returncode == 2 and "are day first" in wrong.stderr
    out = imported(plain, later)
    assert "added 1 response(s)" in out
    assert dt.date(2026, 11, 16) in [r[1] for r in responses(plain)]


def test_forms_saved_by_a_european_excel_semicolons_and_dotted_dates(tmp_path):
    # dotted dates are day first wherever written: they decide, whatever the office's
    # answer for its US (slashed) exports says
    path = book(tmp_path, settings=[("survey_date_order", "mdy"),
                                    ("survey_date_order:Microsoft Forms", "mdy")])
    out = imported(path, SAMPLES / "forms_european_excel.csv")
    assert "added 2 response(s)" in out
    assert [(r[0], r[1], r[2]) for r in responses(path)] == [
        ("1@2026-11-03", dt.date(2026, 11, 3), "DOR"), ("2@2026-11-04", dt.date(2026, 11, 4), "DOT")]


def test_surveymonkey_with_its_second_header_row_deleted_loses_no_response(tmp_path):
    whole = book(tmp_path)
    out = imported(whole, SAMPLES / "surveymonkey_expanded.csv")
    lines = (SAMPLES / "surveymonkey_expanded.csv").read_bytes().splitlines(keepends=True)
    trimmed = tmp_path / "surveymonkey_one_header.csv"
    trimmed.write_bytes(b"".join([lines[0], *lines[2:]]))  # the second header row deleted
    (tmp_path / "other").mkdir()
    path = book(tmp_path / "other")
    out = imported(path, trimmed)
    assert [r[0] for r in responses(path)] == [r[0] for r in responses(whole)]
    n = len(responses(whole))
    assert f"{n} response(s) read: added {n} response(s)" in out


def test_an_unknown_agency_gets_the_nearest_names_and_a_score_in_stars_reads(tmp_path):
    path = book(tmp_path)
    export = tmp_path / "agencies.csv"
    export.write_text("Response ID,Submitted,Agency,Name,Score\n"
                      "1,2026-11-03,Dept of Revenue,Ann,5 stars\n"
                      "2,2026-11-04,Department of Transportation,Bo,4\n")
    done = cli("import-survey", path, export)
    assert done.returncode == 1
    assert "agencies.csv:2: agency_id 'Dept of Revenue' is not in Agencies; nearest: Department " \
           "of Revenue (DOR). If it is DOR, add a Settings row agency_alias:Dept of Revenue = DOR" \
           in done.stderr
    assert "score" not in done.stderr  # "5 stars" is a 5
    (tmp_path / "aliased").mkdir()
    aliased = book(tmp_path / "aliased", settings=[("agency_alias:Dept of Revenue", "DOR")])
    imported(aliased, export)
    assert [(r[2], r[4]) for r in responses(aliased)] == [("DOR", 5), ("DOT", 4)]


def test_servicenow_keeps_the_department_column_that_names_the_agency(tmp_path):
    """asmt_metric_result with the user's department beside each answer and no Agency
    metric: the department survives the grouping into responses and names the agency."""
    path = book(tmp_path)
    out = imported(path, SAMPLES / "servicenow_with_department.csv", "--map",
                   "score=Overall satisfaction")
    assert "2 response(s) read: added 2" in out
    assert [(r[0], r[2], r[4], r[5]) for r in responses(path)] == [
        ("AINST0020001", "DOR", 2, "Laptops late, again"), ("AINST0020002", "DOT", 5, None)]


def test_qualtrics_legacy_export_second_row_names_the_columns(tmp_path):
    """The legacy exporter numbers the columns (V1 .., Q1 ..) and names them in row 2: no
    row is deleted by hand, and no response is read as a header."""
    path = book(tmp_path)
    out = imported(path, SAMPLES / "qualtrics_legacy.csv", "--map", "score=Q2", "--map",
                   "comment=Q3")
    assert "read as a Qualtrics export" in out and "2 response(s) read: added 2" in out
    assert [(r[0], r[1], r[2], r[4], r[5]) for r in responses(path)] == [
        ("R_1QfAbCdEf0gHiJk", dt.date(2026, 11, 4), "DOT", 5, None),
        ("R_2RgBcDeFg1hIjKl", dt.date(2026, 11, 4), "DOR", 2, "Tickets closed without a fix, twice")]


def _survey_book(tmp_path, settings=(), source=True):
    headers = SURVEY_HEADERS + (["source"] if source else [])
    b = minimal_book(
        Agencies=Block("Agencies", AGENCY_HEADERS, [
            ("DOT", "Department of Transportation", "H", "h@dot.example", "P", "p@cio.example", 30),
            ("DOR", "Department of Revenue", "H", "h@dor.example", "P", "p@cio.example", 30),
            ("DHS", "Department of Health", "H", "h@dhs.example", "P", "p@cio.example", 30)]),
        Survey=Block("Survey", headers, []))
    b.settings = list(settings)
    return write_book(tmp_path / "brm.xlsx", b)


def settings_rows(path):
    inputs, _ = load_inputs(path, specs=(SURVEY,), checks=())
    return inputs.settings.extra


def test_each_response_keeps_its_file_and_a_repeat_says_which_file_had_it(tmp_path):
    path = _survey_book(tmp_path, settings=[("survey_date_order", "mdy")])
    first = imported(path, SAMPLES / "google_forms.csv")
    assert "added 2" in first
    assert [r["source"] for r in output_rows(path, "Survey")] == ["google_forms.csv"] * 2
    copy = Path(shutil.copy(SAMPLES / "google_forms.csv", tmp_path / "responses (1).csv"))
    again = imported(path, copy)
    assert "added 0 response(s)" in again and "2 already there (2 from google_forms.csv)" in again
    # a table made before the column: imported all the same, with a line saying how to keep it
    (tmp_path / "old").mkdir()
    old = _survey_book(tmp_path / "old", settings=[("survey_date_order", "mdy")], source=False)
    done = cli("import-survey", old, SAMPLES / "google_forms.csv")
    assert done.returncode == 0 and "Survey has no source column" in done.stderr


def test_a_date_order_given_once_is_kept_for_that_tool(tmp_path):
    path = _survey_book(tmp_path)
    asked = cli("import-survey", path, SAMPLES / "google_forms.csv")
    assert asked.returncode == 2 and "survey_date_order:Google Forms" in asked.stderr
    out = imported(path, SAMPLES / "google_forms.csv", "--date-order", "mdy")
    assert "kept in Settings: survey_date_order:Google Forms = mdy" in out
    assert settings_rows(path)["survey_date_order:Google Forms"] == "mdy"
    # next month's export from the same tool needs no answer; another tool still asks
    nxt = tmp_path / "google_december.csv"
    nxt.write_text((SAMPLES / "google_forms.csv").read_text().replace("11/4/2026", "12/2/2026"))
    out = imported(path, nxt)
    assert "added 2" in out and "kept in Settings" not in out
    assert dt.date(2026, 12, 2) in [r[1] for r in responses(path)]
    forms = cli("import-survey", path, SAMPLES / "forms_saved_by_excel.csv")
    assert forms.returncode == 2 and "survey_date_order:Microsoft Forms" in forms.stderr


def test_an_alias_given_on_the_command_line_is_kept_in_settings_in_the_same_write(tmp_path):
    path = _survey_book(tmp_path, settings=[("survey_date_order", "mdy")])
    export = tmp_path / "hs.csv"
    export.write_text("Response ID,Submitted,Agency,Name,Score\n"
                      "1,2026-11-03,Health Services,Ann,5\n"
                      "2,2026-11-04,Department of Transportation,Bo,4\n")
    refused = cli("import-survey", path, export)
    assert refused.returncode == 1 and '--alias "Health Services"=' in refused.stderr
    wrong = cli("import-survey", path, export, "--alias", "Health Services=DXX")
    assert wrong.returncode == 2 and "DXX is not an agency_id in Agencies" in wrong.stderr
    out = imported(path, export, "--alias", '"Health Services"=dhs')
    assert "kept in Settings: agency_alias:Health Services = DHS" in out
    assert [(r[2], r[4]) for r in responses(path)] == [("DHS", 5), ("DOT", 4)]
    assert settings_rows(path)["agency_alias:Health Services"] == "DHS"
    later = tmp_path / "hs2.csv"
    later.write_text(export.read_text().replace("2026-11-03", "2026-12-03"))
    assert "added 1" in imported(path, later)  # the alias kept: no option needed


def test_bad_rows_stop_the_import_unless_skipped_and_the_counts_add_up(tmp_path):
    path = _survey_book(tmp_path, settings=[("survey_date_order", "mdy")])
    export = tmp_path / "scores.csv"
    export.write_text("Response ID,Submitted,Agency,Name,Score\n"
                      "1,2026-11-03,DOT,Ann,5\n"
                      "2,2026-11-04,DOT,Bo,great\n"
                      "3,2026-11-04,DOR,Cy,2\n")
    before = digest(path)
    done = cli("import-survey", path, export)
    assert done.returncode == 1 and digest(path) == before
    assert "scores.csv:3: score" in done.stderr
    assert "1 of 3 row(s) cannot be imported as they are" in done.stderr
    assert "--skip-bad-rows to import the other 2" in done.stderr
    done = cli("import-survey", path, export, "--skip-bad-rows")
    assert done.returncode == 0, done.stderr
    assert "3 response(s) read: added 2 response(s)" in done.stdout
    assert "0 already there, 1 skipped as wrong" in done.stdout
    assert "scores.csv:3: skipped (--skip-bad-rows): score" in done.stderr
    assert [r[0] for r in responses(path)] == ["1", "3"]


def test_a_conflict_over_a_comment_the_first_import_missed_says_what_to_do(tmp_path):
    path = _survey_book(tmp_path)
    sample = SAMPLES / "qualtrics_extra_comment.csv"
    imported(path, sample, "--map", "score=Q2", "--map", "comment=Q3")
    done = cli("import-survey", path, sample, "--map", "score=Q2", "--map", "comment=Q4")
    assert done.returncode == 1
    assert "the import that added it did not take its comment: type it into that row, or " \
           "delete the row and import again" in done.stderr
    assert "--form LABEL" not in done.stderr.split("R_1QfAbCdEf0gHiJk")[1].split("\n")[0]


def test_a_row_the_file_holds_twice_is_one_response_repeated(tmp_path):
    path = _survey_book(tmp_path, settings=[("survey_date_order", "mdy")])
    lines = (SAMPLES / "google_forms.csv").read_text().splitlines(keepends=True)
    doubled = tmp_path / "google_doubled.csv"
    doubled.write_text("".join([*lines, lines[1]]))  # a row pasted twice
    out = imported(path, doubled)
    assert "3 response(s) read: added 2 response(s)" in out and "1 repeated in the file" in out
    assert len(responses(path)) == 2


def test_the_qualtrics_legacy_export_suggests_its_question_columns(tmp_path):
    path = book(tmp_path)
    done = cli("import-survey", path, SAMPLES / "qualtrics_legacy.csv")
    assert done.returncode == 2
    assert '--map score="Q2"' in done.stderr and "Finished" not in suggested_maps(done.stderr)
    done = cli("import-survey", path, SAMPLES / "qualtrics_legacy.csv", "--map", "score=Q2")
    # both free-text questions are named; the one asking for comments holds one word
    assert "'Q3' (Is there anything we could do better?) and 'Q4' (Any other comments?) " \
        "read like comments" in done.stderr
    assert '--map comment="Q4"' in done.stderr and "ResponseSet\"" not in done.stderr


def test_an_alias_with_a_word_like_secret_is_kept_and_read_and_a_settings_table_grows(tmp_path):
    path = _survey_book(tmp_path, settings=[("survey_date_order", "mdy")])
    export = tmp_path / "sos.csv"
    export.write_text("Response ID,Submitted,Agency,Name,Score\n1,2026-11-03,Secretary of State,Ann,5\n")
    imported(path, export, "--alias", "Secretary of State=DHS")
    assert settings_rows(path)["agency_alias:Secretary of State"] == "DHS"  # not dropped
    later = tmp_path / "sos2.csv"
    later.write_text(export.read_text().replace("2026-11-03", "2026-12-03"))
    assert "added 1" in imported(path, later)  # the kept alias reads it, no option needed

    # Settings as an Excel table headed Setting | Value: the row goes below it, and it grows
    def settings_table(wb, sheets):
        ws = wb.add_worksheet("Settings")
        ws.write_row(0, 0, ["Setting", "Value"])
        ws.write_row(1, 0, ["survey_date_order", "mdy"])
        ws.add_table(0, 0, 1, 1, {"name": "Settings", "header_row": True,
                                  "columns": [{"header": "Setting"}, {"header": "Value"}]})
    b = minimal_book(Agencies=Block("Agencies", AGENCY_HEADERS, [
        ("DHS", "Department of Health", "H", "h@dhs.example", "P", "p@cio.example", 30)]),
        Survey=Block("Survey", SURVEY_HEADERS + ["source"], []))
    (tmp_path / "t").mkdir()
    tabled = write_book(tmp_path / "t" / "brm.xlsx", b, extra=settings_table)
    imported(tabled, export, "--alias", "Secretary of State=DHS")
    assert settings_rows(tabled)["agency_alias:Secretary of State"] == "DHS"
    import openpyxl

    assert openpyxl.load_workbook(tabled)["Settings"].tables["Settings"].ref == "A1:B3"
