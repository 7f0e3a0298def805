"""The BRM practice: maturity rated by both sides, account plans and the value they
realised, the communications plan kept, governance forums and the stakeholder map. Every
expected figure is worked out by hand in the comments beside it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from brm_xl.app.refresh import check, refresh
from brm_xl.problems import DataProblems
from tests.helpers import Block, agencies, digest, minimal_book, output_rows, write_book

D1 = dt.date
AS_OF = D1(2026, 10, 5)
ENGAGEMENT_HEADERS = ["date", "agency_id", "brm_manager", "channel", "topic", "attendees",
                      "notes", "action_item", "action_owner", "action_due", "action_done_on",
                      "touchpoint"]
ASSESSMENT_HEADERS = ["agency_id", "assessed_on", "assessed_by", "maturity", "notes"]
PLAN_HEADERS = ["plan_id", "agency_id", "outcome_id", "fiscal_year", "goal", "initiative",
                "planned_value", "value_kind", "owner", "due", "status"]
VALUE_HEADERS = ["plan_id", "period", "realised_value", "evidence"]
COMMS_HEADERS = ["agency_id", "touchpoint", "every_days", "starts_on"]
FORUM_HEADERS = ["forum_id", "name", "purpose", "every_days", "members"]
STAKEHOLDER_HEADERS = ["agency_id", "name", "role", "influence", "support", "next_step"]


def met(day, agency, channel, touchpoint=None, attendees=None, action=None, due=None):
    return (day, agency, "Pat Manager", channel, "Review", attendees, None, action,
            "Pat" if action else None, due, None, touchpoint)


def practice_book(**overrides):
    blocks = dict(
        Agencies=agencies("DOT", "DOR", "DOA"),
        Engagements=Block("Engagements", ENGAGEMENT_HEADERS, [
            met(D1(2026, 3, 2), "DOT", "In person - individual", "Strategic planning",
                "Head DOT; Pat Manager"),
            met(D1(2026, 6, 20), "DOT", "Virtual meeting", "quarterly  Business review",
                "Jo Roe, head dot"),
            # a meeting of the GOV forum, logged against DOT: a contact of DOT and of DOR
            met(D1(2026, 9, 10), "DOT", "In person - group", "gov", "Head DOT; Head DOR",
                "Draft charter", D1(2026, 9, 30)),
        ]),
        Assessments=Block("Assessments", ASSESSMENT_HEADERS, [
            ("DOT", D1(2025, 10, 1), "office", 5, None),
            ("DOT", D1(2025, 10, 1), "agency", 3, None),
            ("DOT", D1(2026, 9, 1), "office", 4, "after the outage"),
            ("DOT", D1(2026, 9, 1), "Agency", 1, "typed wrong"),
            ("DOT", D1(2026, 9, 1), "agency", 2, "the later row of the day stands"),
            ("DOT", D1(2026, 11, 1), "office", 1, "after the day judged"),
            ("dor", D1(2026, 6, 1), "office", 3, "one side only"),
        ]),
        AccountPlans=Block("AccountPlans", PLAN_HEADERS, [
            ("P1", "DOT", None, "FY2027", "Faster permits", "Permit portal", D("100000.00"),
             "savings", "Pat", D1(2026, 9, 30), "in progress"),
            ("P2", "DOT", None, "fy2027", "Lower hosting cost", "Cloud move", D("30000.00"),
             "cost avoided", "Pat", D1(2026, 6, 30), "delivered"),
            ("P3", "DOT", None, "FY2027", "Skilled staff", "Training", 0, "time saved", None,
             D1(2027, 3, 31), "planned"),
            ("P4", "DOR", None, "FY2027", "Fewer walk-ins", "Kiosk", D("5000.00"), "savings",
             None, D1(2026, 8, 31), "dropped"),
            ("P5", "DOR", None, "FY2027", "Quicker answers", "Help desk", D("8000.00"),
             "savings", None, D1(2026, 12, 31), "planned"),
        ]),
        ValueRealised=Block("ValueRealised", VALUE_HEADERS, [
            ("P1", "2026-08", D("20000.00"), "invoice"),
            ("P1", "2026-10", D("5000.50"), None),
            ("P1", "2026-11", D("9999.00"), "after the month judged"),
            ("p2", "2026-09", D("12345.67"), "after its due date: still realised"),
            ("P5", "2026-10", D("1000.00"), None),
        ]),
        CommsPlan=Block("CommsPlan", COMMS_HEADERS, [
            ("DOT", "Quarterly business review", 90, D1(2026, 1, 1)),
            ("DOT", "Strategic planning", 365, D1(2026, 1, 1)),
            ("DOT", "Budget review", 30, D1(2026, 10, 1)),
            ("DOR", "Budget review", 30, D1(2026, 9, 1)),
            ("DOR", "GOV", 60, D1(2026, 1, 1)),
        ]),
        Forums=Block("Forums", FORUM_HEADERS, [
            ("GOV", "Technology governance board", "strategic", 60, "DOT; DOR; NETCO; CIO"),
            ("OPS", "Operations forum", "tactical", 30, "DOR; Service desk lead"),
        ]),
        Stakeholders=Block("Stakeholders", STAKEHOLDER_HEADERS, [
            ("DOT", "Head  DOT", "Commissioner", "high", "champion", "Invite to planning"),
            ("DOT", "Jo Roe", "CFO", "medium", "neutral", None),
            ("DOT", "Big Boss", "Deputy", "high", "sceptic", "Meet in person"),
            ("DOR", "Head DOR", "Director", "high", "supporter", None),
        ]),
    )
    blocks.update(overrides)
    return minimal_book(**blocks)


def refreshed(tmp_path, **overrides):
    path = write_book(tmp_path / "b.xlsx", practice_book(**overrides))
    refresh(path, as_of=AS_OF)
    return path


def test_maturity_of_both_sides_the_later_row_of_a_day_and_one_side_only(tmp_path):
    rows = {r["agency_id"]: r for r in output_rows(refreshed(tmp_path), "Relationships")}
    dot, dor, doa = rows["DOT"], rows["DOR"], rows["DOA"]
    # DOT's office: 5 (2025-10-01), then 4 (2026-09-01); its 1 of 2026-11-01 is after the
    # day judged. DOT's agency: 3, then on 2026-09-01 a 1 and, in a later row, a 2: the 2.
    assert (dot["maturity_office"], dot["maturity_agency"]) == ("4", "2")
    assert (dot["maturity_gap"], dot["maturity_change"]) == ("2", "-1")  # 4 - 2; 4 - 5
    # DOR: one office rating, none by the agency: no gap, no change (no earlier rating)
    assert (dor["maturity_office"], dor["maturity_agency"]) == ("3", None)
    assert (dor["maturity_gap"], dor["maturity_change"]) == (None, None)
    # DOA: no assessment at all, and nothing else recorded: not rated
    assert (doa["maturity_office"], doa["maturity_agency"], doa["health"]) == (None, None,
                                                                                "Not rated")


def test_touchpoints_planned_overdue_and_the_last_strategic_planning(tmp_path):
    rows = {r["agency_id"]: r for r in output_rows(refreshed(tmp_path), "Relationships")}
    dot, dor = rows["DOT"], rows["DOR"]
    # DOT: the business review last held 2026-06-20 (typed in other case and spacing), due
    # again 90 days on, 2026-09-18: overdue on 2026-10-05. Strategic planning held
    # 2026-03-02, due 2027-03-02. The budget review starts 2026-10-01, due 2026-10-31.
    assert (dot["touchpoints_planned"], dot["touchpoints_overdue"]) == ("3", "1")
    assert dot["last_strategic_planning"].startswith("2026-03-02")
    # DOR: its budget review was never held, so it counts from starts_on 2026-09-01: due
    # 2026-10-01, overdue. Its GOV touchpoint was kept by the forum's meeting on 2026-09-10
    # (logged against DOT), due 2026-11-09.
    assert (dor["touchpoints_planned"], dor["touchpoints_overdue"]) == ("2", "1")
    assert dor["last_strategic_planning"] is None


def test_a_forum_meeting_is_a_contact_of_every_member_agency_once(tmp_path):
    path = refreshed(tmp_path)
    rows = {r["agency_id"]: r for r in output_rows(path, "Relationships")}
    # the GOV meeting of 2026-09-10, in person, logged against DOT: DOR's only contact
    assert rows["DOR"]["last_contact"].startswith("2026-09-10")
    assert rows["DOR"]["days_since_contact"] == "25" and rows["DOR"]["cadence_met"] == "true"
    assert rows["DOR"]["days_since_in_person"] == "25"
    assert rows["DOR"]["in_person_share_90d"] == "100"  # 1 of its 1 contact since 2026-07-08
    # its action stays with DOT, the agency it was logged against
    assert (rows["DOR"]["open_actions"], rows["DOT"]["overdue_actions"]) == ("0", "1")
    summary = {r["agency_id"]: r for r in output_rows(path, "AgencySummary")}
    # DOT logged it and is a member too: one engagement, not two
    assert (summary["DOT"]["engagements"], summary["DOT"]["in_person"]) == ("1", "1")
    assert (summary["DOR"]["engagements"], summary["DOR"]["in_person"]) == ("1", "1")
    assert summary["DOR"]["last_contact"].startswith("2026-09-10")


def test_health_reasons_in_words_one_concern_each(tmp_path):
    rows = {r["agency_id"]: r for r in output_rows(refreshed(tmp_path), "Relationships")}
    assert rows["DOT"]["health"] == "At risk"
    assert rows["DOT"]["reasons"] == (
        "1 overdue action; "
        "you rate yourselves Trusted advisor; Agency DOT rates you Order taker; "
        "maturity fell (your rating from Strategic partner to Trusted advisor; Agency DOT's "
        "from Service provider to Order taker); "
        "1 overdue touchpoint (Quarterly business review); "
        "1 overdue plan (Permit portal, due 2026-09-30); "
        "high-influence stakeholder Big Boss never met")
    # DOR's Head DOR (high influence) was at the forum 25 days ago, within its 30: met
    assert (rows["DOR"]["health"], rows["DOR"]["reasons"]) == (
        "Watch", "1 overdue touchpoint (Budget review)")


def test_value_realisation_one_row_per_plan(tmp_path):
    rows = output_rows(refreshed(tmp_path), "ValueRealisation")
    got = [(r["plan_id"], r["agency_id"], r["fiscal_year"], r["planned_value"],
            r["realised_to_date"], r["realised_pct"], r["status"], r["due"][:10], r["overdue"])
           for r in rows]
    assert got == [
        # 20,000.00 (Aug) + 5,000.50 (Oct); November's 9,999.00 is after the month judged;
        # 25,000.50 / 100,000.00 = 25.0005% -> 25.0; due 2026-09-30, in progress: overdue
        ("P1", "DOT", "FY2027", "100000", "25000.5", "25", "in progress", "2026-09-30", "true"),
        # realised in September, after its June due date: it counts; 12,345.67 / 30,000.00
        # = 41.152% -> 41.2; delivered, so never overdue
        ("P2", "DOT", "FY2027", "30000", "12345.67", "41.2", "delivered", "2026-06-30", "false"),
        # nothing planned in money: realised_pct blank
        ("P3", "DOT", "FY2027", "0", "0", None, "planned", "2027-03-31", "false"),
        # no realised value at all: 0.00 and 0.0%; dropped, so not overdue
        ("P4", "DOR", "FY2027", "5000", "0", "0", "dropped", "2026-08-31", "false"),
        ("P5", "DOR", "FY2027", "8000", "1000", "12.5", "planned", "2026-12-31", "false"),
    ]


def test_bad_brm_input_named_at_its_cell_all_at_once_nothing_written(tmp_path):
    book = practice_book(
        Assessments=Block("Assessments", ASSESSMENT_HEADERS, [
            ("DOT", D1(2026, 9, 1), "office", 6, None),
            ("DOT", D1(2026, 9, 1), "vendor", 3, None),
            ("DXX", D1(2026, 9, 1), "agency", 3, None),
        ]),
        AccountPlans=Block("AccountPlans", PLAN_HEADERS, [
            ("P1", "DOT", None, "FY2027", "Goal", "Portal", D("-5.00"), "savings", None,
             D1(2026, 9, 30), "planned"),
            ("p1", "DOT", None, "2027", "Goal", "Again", D("5.00"), "savings", None,
             D1(2026, 9, 30), "planned"),
        ]),
        ValueRealised=Block("ValueRealised", VALUE_HEADERS, [("P9", "2026-09", D("1.00"), None)]),
        CommsPlan=Block("CommsPlan", COMMS_HEADERS, [("DXX", "Review", 30, D1(2026, 1, 1))]),
        Stakeholders=Block("Stakeholders", STAKEHOLDER_HEADERS, [
            ("DXX", "Someone", None, "high", None, None)]),
    )
    path = write_book(tmp_path / "b.xlsx", book)
    before = digest(path)
    _, problems = check(path)
    assert sorted(str(p) for p in problems if p.is_error) == sorted([
        "Assessments!D2: maturity '6' is not a whole number from 1 to 5",
        "Assessments!C3: assessed_by 'vendor' is not one of: office, agency",
        "Assessments!A4: agency_id 'DXX' is not in Agencies",
        "AccountPlans!G2: planned_value '-5' is negative; it must be 0 or more",
        "AccountPlans!A3: plan_id 'p1' appears more than once (first at row 2)",
        "AccountPlans!D3: fiscal_year '2027' is not a fiscal year; write it as FY2027",
        "ValueRealised!A2: plan_id 'P9' is not in AccountPlans",
        "CommsPlan!A2: agency_id 'DXX' is not in Agencies",
        "Stakeholders!A2: agency_id 'DXX' is not in Agencies",
    ])
    with pytest.raises(DataProblems) as raised:
        refresh(path, as_of=AS_OF)
    assert len([p for p in raised.value.problems if p.is_error]) == 9
    assert digest(path) == before


def test_a_communications_plan_alone_rates_the_relationship(tmp_path):
    """No survey and no contact yet, but a plan of touchpoints: the BRM manager has started,
    so the agency is rated (not `Not rated`), and the touchpoint never held is late."""
    path = write_book(tmp_path / "b.xlsx", minimal_book(
        CommsPlan=Block("CommsPlan", COMMS_HEADERS, [("DOR", "Quarterly business review", 90,
                                                       D1(2026, 6, 1))])))
    refresh(path, as_of=AS_OF)
    rows = {r["agency_id"]: r for r in output_rows(path, "Relationships")}
    # starts_on 2026-06-01 + 90 days = 2026-08-30, before 2026-10-05: overdue
    assert (rows["DOR"]["health"], rows["DOR"]["reasons"]) == (
        "At risk", "no contact recorded; no in-person meeting recorded; "
        "1 overdue touchpoint (Quarterly business review)")
    assert (rows["DOR"]["touchpoints_planned"], rows["DOR"]["touchpoints_overdue"]) == ("1", "1")
    assert rows["DOT"]["health"] == "Not rated"
