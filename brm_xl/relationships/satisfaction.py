"""Satisfaction: CSAT per agency and month, and the follow-up queue for low scores.

NASCIO's finding: a CIO who personally reaches out to anyone rating a service below 4 of
5 builds trust. Every such response without a `followed_up_on` date is a follow-up, due
`follow_up_days` after it was submitted. Pure functions; `as_of` is a parameter.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

CSAT_FROM = 4  # CSAT counts scores of 4 and 5 on the 5-point scale


class FollowUp(NamedTuple):
    response_id: str
    agency_id: str
    respondent: str | None  # None: anonymous
    score: int
    comment: str | None
    submitted_on: dt.date
    due_on: dt.date
    overdue: bool
    brm_manager: str | None


class SurveyMonth(NamedTuple):
    responses: int
    avg_score: Decimal
    csat_pct: Decimal


def average(scores: list[int]) -> Decimal:
    return (Decimal(sum(scores)) / len(scores)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def csat(scores: list[int]) -> Decimal | None:
    """Share of scores of 4 or 5, in percent to one decimal; None without responses."""
    if not scores:
        return None
    happy = sum(1 for s in scores if s >= CSAT_FROM)
    return (Decimal(100 * happy) / len(scores)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def known_by(rows: Iterable[dict[str, Any]], as_of: dt.date,
             column: str = "submitted_on") -> list[dict[str, Any]]:
    """The responses (or contacts, column "date") that had happened by `as_of`: the one rule
    by which every table, report and function counts them. Later ones do not exist yet."""
    return [r for r in rows if r[column] <= as_of]


def is_open(response: dict[str, Any], below: int) -> bool:
    """A low score nobody has followed up (of responses already `known_by` the day)."""
    return response["score"] < below and response["followed_up_on"] is None


def follow_ups(responses: Iterable[dict[str, Any]], managers: dict[str, str | None],
               below: int, days: int, as_of: dt.date) -> list[FollowUp]:
    """Low scores nobody has reached out about: overdue first, then by due date."""
    out = []
    for r in known_by(responses, as_of):
        if not is_open(r, below):
            continue
        due = r["submitted_on"] + dt.timedelta(days=days)
        out.append(FollowUp(r["response_id_text"], r["agency"], r["respondent"], r["score"],
                            r["comment"], r["submitted_on"], due, as_of > due,
                            managers.get(r["agency"])))
    out.sort(key=lambda f: (not f.overdue, f.due_on, f.response_id))
    return out


def by_month(responses: Iterable[dict[str, Any]]) -> dict[tuple[str, str], SurveyMonth]:
    """responses, mean score and CSAT per (period, agency) of submission."""
    scores: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r in responses:
        scores[(r["submitted_on"].strftime("%Y-%m"), r["agency"])].append(r["score"])
    return {key: SurveyMonth(len(s), average(s), csat(s) or Decimal(0)) for key, s in scores.items()}
