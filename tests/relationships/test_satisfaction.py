"""Satisfaction, one function at a time: averages, CSAT, and the follow-up rule by date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from brm_xl.relationships.satisfaction import average, csat, follow_ups, is_open, known_by


def test_survey_figures_and_the_follow_up_rule():
    assert average([5, 4, 4]) == D("4.33") and average([1, 2]) == D("1.50")
    assert csat([]) is None and csat([5, 4, 3]) == D("66.7") and csat([1]) == D("0.0")
    day = dt.date(2026, 9, 15)
    rows = [{"submitted_on": dt.date(2026, 9, 15), "score": 2, "followed_up_on": None},
            {"submitted_on": dt.date(2026, 9, 16), "score": 1, "followed_up_on": None}]
    assert known_by(rows, day) == rows[:1]  # a response submitted later does not exist yet
    assert is_open(rows[0], 4) and not is_open({**rows[0], "score": 4}, 4)
    assert not is_open({**rows[0], "followed_up_on": day}, 4)
    responses = [
        {"response_id_text": "R2", "agency": "DOT", "respondent": "b", "score": 3, "comment": None,
         "submitted_on": dt.date(2026, 9, 1), "followed_up_on": None},
        {"response_id_text": "R1", "agency": "DOR", "respondent": "a", "score": 1, "comment": "x",
         "submitted_on": dt.date(2026, 9, 10), "followed_up_on": None},
        {"response_id_text": "R3", "agency": "DOT", "respondent": "c", "score": 5, "comment": None,
         "submitted_on": dt.date(2026, 9, 2), "followed_up_on": None},
    ]
    found = follow_ups(responses, {"DOT": "Pat"}, below=4, days=5, as_of=dt.date(2026, 9, 12))
    assert [(f.response_id, f.overdue, f.brm_manager) for f in found] == [
        ("R2", True, "Pat"), ("R1", False, None)]  # overdue first; R3 scored 5
    assert found[0].due_on == dt.date(2026, 9, 6)
