"""Satisfaction and engagement: validation, AgencySummary columns, FollowUps, Relationships."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from brm_xl.app.refresh import check, refresh
from brm_xl.contract.inputs import Settings
from brm_xl.problems import DataProblems
from brm_xl.relationships.engagement import relationship
from brm_xl.relationships.view import rules_from_settings
from tests.helpers import Block, digest, minimal_book, output_rows, write_book

SURVEY_HEADERS = ["response_id", "submitted_on", "agency_id", "respondent", "service_id", "score",
                  "comment", "followed_up_on", "follow_up_note"]
ENGAGEMENT_HEADERS = ["date", "agency_id", "brm_manager", "channel", "topic", "attendees", "notes",
                      "action_item", "action_owner", "action_due", "action_done_on"]
D1 = dt.date


def survey(*rows):
    return Block("Survey", SURVEY_HEADERS, rows)


def engagements(*rows):
    return Block("Engagements", ENGAGEMENT_HEADERS, rows)


def contact(day, agency="DOT", channel="In person - individual", action=None, due=None, done=None):
    return (day, agency, "Pat Manager", channel, "Quarterly review", None, None, action,
            "Pat" if action else None, due, done)


def test_survey_and_engagement_problems_at_their_cells(tmp_path):
    book = minimal_book(
        Survey=survey(("R1", D1(2026, 9, 3), "DOT", "Ann", None, 6, None, None, None),
                      ("r1", D1(2026, 9, 4), "DXX", "Bob", "EMAIL", 4, None, None, None),
                      ("R3", "2026-09-31", "DOR", "Cy", "NOPE", 3.5, None, None, None)),
        Engagements=engagements(contact(D1(2026, 9, 1), channel="Zoom"),
                                contact(D1(2026, 9, 2), channel=" in person-GROUP ")),
    )
    path = write_book(tmp_path / "b.xlsx", book)
    _, problems = check(path)
    found = sorted(str(p) for p in problems if p.is_error)
    assert found == sorted([
        "Survey!F2: score '6' is not a whole number from 1 to 5",
        "Survey!A3: response_id 'r1' appears more than once (first at row 2)",
        "Survey!C3: agency_id 'DXX' is not in Agencies",
        "Survey!B4: submitted_on '2026-09-31' is not a date; type YYYY-MM-DD (e.g. 2026-09-15) "
        "or an Excel date",
        "Survey!E4: service_id 'NOPE' is not in RateCard",
        "Survey!F4: score '3.5' is not a whole number from 1 to 5",
        "Engagements!D2: channel 'Zoom' is not one of: In person - individual, In person - group, "
        "Virtual meeting, Phone, Email",
    ])


def relationship_book(**extra):
    return minimal_book(
        Usage=Block("Usage", ["period", "agency_id", "service_id", "quantity"],
                    [("2026-08", "DOT", "EMAIL", 10), ("2026-09", "DOT", "EMAIL", 10),
                     ("2026-09", "DOR", "EMAIL", 5)]),
        Headcount=Block("Headcount", ["period", "agency_id", "users"],
                        [("2026-08", "DOT", 10), ("2026-09", "DOT", 10), ("2026-09", "DOR", 5)]),
        Survey=survey(
            ("R1", D1(2026, 8, 20), "DOT", "Ann", None, 2, "=1+1 is wrong", None, None),
            ("R2", D1(2026, 9, 3), "DOT", "Bob", "EMAIL", 5, None, None, None),
            ("R3", D1(2026, 9, 10), "dot", "Cy", None, 3, "slow", D1(2026, 9, 12), "called"),
            ("R4", D1(2026, 9, 25), "DOT", "Di", None, 4, None, None, None),
            ("R5", D1(2026, 9, 28), "DOR", "Ed", None, 1, "@bad", None, None),
        ),
        Engagements=engagements(
            contact(D1(2026, 8, 5), "DOT", "In person - group"),
            contact(D1(2026, 9, 9), "DOT", "Phone", "Send rate sheet", D1(2026, 9, 20)),
            contact(D1(2026, 9, 15), "DOT", "Email"),
            contact(D1(2026, 10, 2), "DOT", "In person - individual"),
        ),
        **extra,
    )


def test_agency_summary_survey_and_contact_columns(tmp_path):
    path = write_book(tmp_path / "b.xlsx", relationship_book())
    refresh(path, as_of=D1(2026, 10, 1))
    rows = {(r["period"][:7], r["agency_id"]): r for r in output_rows(path, "AgencySummary")}
    aug, sep, dor = rows[("2026-08", "DOT")], rows[("2026-09", "DOT")], rows[("2026-09", "DOR")]
    assert (aug["responses"], aug["avg_score"], aug["csat_pct"]) == ("1", "2", "0")
    assert (sep["responses"], sep["avg_score"], sep["csat_pct"]) == ("3", "4", "66.7")
    assert aug["open_follow_ups"] == "1" and sep["open_follow_ups"] == "1"
    assert dor["open_follow_ups"] == "1" and dor["engagements"] == "0"
    assert (aug["engagements"], aug["in_person"]) == ("1", "1")
    assert (sep["engagements"], sep["in_person"]) == ("2", "0")
    assert sep["last_contact"].startswith("2026-09-15") and dor["last_contact"] is None


def test_follow_ups_overdue_first_then_due_date_as_of(tmp_path):
    path = write_book(tmp_path / "b.xlsx", relationship_book())
    refresh(path, as_of=D1(2026, 10, 1))
    rows = output_rows(path, "FollowUps")
    assert [(r["response_id"], r["overdue"], r["due_on"][:10]) for r in rows] == [
        ("R1", "true", "2026-08-27"), ("R5", "false", "2026-10-05")]
    assert rows[0]["comment"] == "=1+1 is wrong" and rows[1]["comment"] == "@bad"
    assert rows[0]["brm_manager"] == "Pat Manager"
    refresh(path, as_of=D1(2026, 10, 6))
    assert [r["overdue"] for r in output_rows(path, "FollowUps")] == ["true", "true"]


def test_relationships_table_as_of(tmp_path):
    path = write_book(tmp_path / "b.xlsx", relationship_book())
    refresh(path, as_of=D1(2026, 10, 1))
    rows = {r["agency_id"]: r for r in output_rows(path, "Relationships")}
    dot, dor = rows["DOT"], rows["DOR"]
    assert dot["days_since_contact"] == "16" and dot["cadence_met"] == "true"
    assert dot["days_since_in_person"] == "57" and dot["in_person_share_90d"] == "33.3"
    assert (dot["open_actions"], dot["overdue_actions"]) == ("1", "1")
    assert dot["open_follow_ups"] == "1" and dot["csat_3m"] == "50"
    assert dot["health"] == "At risk"  # two concerns
    assert dot["reasons"] == ("1 overdue action; 1 overdue follow-up; too few responses to "
                              "judge CSAT (4 of 5 in 90 days)")
    assert dor["health"] == "At risk"
    assert dor["reasons"] == ("no contact recorded; no in-person meeting recorded; too few "
                              "responses to judge CSAT (1 of 5 in 90 days)")


RULES = rules_from_settings(Settings())
AGENCY = {"agency_id_text": "DOT", "agency_name": "Transportation", "brm_manager": "Pat",
          "contact_cadence_days": 30}


def meet(day, channel="In person - group", **kw):
    return {"date": day, "channel": channel, "action_item": kw.get("action"),
            "action_due": kw.get("due"), "action_done_on": kw.get("done")}


def answer(day, score, followed=None):
    return {"submitted_on": day, "score": score, "followed_up_on": followed}


def test_health_rules_one_by_one():
    as_of = D1(2026, 10, 1)
    healthy = relationship(AGENCY, [meet(D1(2026, 9, 20))], [answer(D1(2026, 9, 1), 5)] * 5,
                           RULES, as_of)
    assert (healthy.health, healthy.reasons) == ("Healthy", "no concerns")
    # healthy only because there is too little to judge by: it says so
    thin = relationship(AGENCY, [meet(D1(2026, 9, 20))], [answer(D1(2026, 9, 1), 3, D1(2026, 9, 2))] * 3,
                        RULES, as_of)
    assert (thin.health, thin.reasons) == ("Healthy", "too few responses to judge CSAT (3 of 5 "
                                           "in 90 days)")
    lapsed = relationship(AGENCY, [meet(D1(2026, 6, 1))], [], RULES, as_of)
    assert lapsed.health == "At risk"
    assert lapsed.reasons == "no contact for 122 days (plan: every 30); no in-person contact for 122 days"
    remote = relationship(AGENCY, [meet(D1(2026, 9, 28), "Email"), meet(D1(2026, 5, 1))], [],
                          RULES, as_of)
    assert (remote.health, remote.reasons) == ("Watch", "no in-person contact for 153 days")
    low = relationship(AGENCY, [meet(D1(2026, 9, 28))],
                       [answer(D1(2026, 9, 1), s, D1(2026, 9, 2)) for s in (2, 3, 4, 5, 5)]
                       + [answer(D1(2026, 6, 1), 5)] * 5, RULES, as_of)
    assert low.csat_3m == D("60.0") and low.csat_prior_3m == D("100.0")
    assert (low.health, low.reasons) == ("Watch", "CSAT 60.0% over 90 days (target 80%, down 40.0 points)")
    few = relationship(AGENCY, [meet(D1(2026, 9, 28))], [answer(D1(2026, 9, 1), 1, D1(2026, 9, 2))],
                       RULES, as_of)
    assert few.health == "Healthy"  # one response is too few to judge CSAT
    future = relationship(AGENCY, [meet(D1(2026, 12, 1))], [], RULES, as_of)
    assert future.last_contact is None  # contacts after as_of do not count


def test_refresh_without_survey_or_engagements_writes_neither_table(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book())
    result = refresh(path, as_of=D1(2026, 10, 1))
    assert "FollowUps" not in result.tables and "Relationships" not in result.tables
    summary = output_rows(path, "AgencySummary")
    assert all(r["responses"] is None and r["engagements"] is None for r in summary)


def test_refresh_with_errors_in_survey_writes_nothing(tmp_path):
    path = write_book(tmp_path / "b.xlsx", minimal_book(
        Survey=survey(("R1", D1(2026, 9, 3), "DOT", "Ann", None, 9, None, None, None))))
    before = digest(path)
    with pytest.raises(DataProblems) as caught:
        refresh(path)
    assert [str(p) for p in caught.value.problems] == [
        "Survey!F2: score '9' is not a whole number from 1 to 5"]
    assert digest(path) == before
