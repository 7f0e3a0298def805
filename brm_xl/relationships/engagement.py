"""Engagement and relationship health, as of a given day.

NASCIO found in-person individual and group meetings far more effective than email or
phone, and a communications plan (a contact cadence per agency, planned touchpoints) with
follow-through on actions to build trust. Health is a count of plain-worded concerns: none
is Healthy, one is Watch, two or more is At risk; the concerns themselves are the reasons.
The BRM practice adds its own: the two sides' maturity ratings apart or falling
(`maturity`), overdue touchpoints and unmet high-influence stakeholders (`comms`),
overdue account plans (`plans`). One rule, here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from brm_xl.relationships import comms, maturity, plans
from brm_xl.relationships.plans import ValueRow
from brm_xl.relationships.satisfaction import csat, is_open, known_by

IN_PERSON = ("In person - individual", "In person - group")
WINDOW_DAYS = 90


@dataclass(frozen=True)
class HealthRules:
    """Thresholds, from Settings (see README "Relationship health"); their defaults are the
    contract's (contract.tables.SETTINGS_DEFAULTS), through `relationships.view.rules_from`."""

    in_person_within_days: int
    csat_target_pct: int
    csat_drop_points: int
    csat_min_responses: int
    follow_up_below: int
    follow_up_days: int


class Relationship(NamedTuple):
    agency_id: str
    agency_name: str
    brm_manager: str | None
    contact_cadence_days: int
    last_contact: dt.date | None
    days_since_contact: int | None
    cadence_met: bool
    last_in_person: dt.date | None
    days_since_in_person: int | None
    in_person_share_90d: Decimal | None
    open_actions: int
    overdue_actions: int
    csat_3m: Decimal | None
    csat_prior_3m: Decimal | None
    open_follow_ups: int
    overdue_follow_ups: int
    health: str
    reasons: str
    maturity_office: int | None  # the latest assessment of each side on or before as_of
    maturity_agency: int | None
    maturity_gap: int | None  # office minus agency
    maturity_change: int | None  # the office's latest minus its previous
    touchpoints_planned: int
    touchpoints_overdue: int
    last_strategic_planning: dt.date | None


@dataclass(frozen=True)
class Practice:
    """An agency's BRM records beside its contacts and responses: its Assessments,
    account plans (as ValueRealisation rows), CommsPlan and Stakeholders rows."""

    assessments: list[dict[str, Any]] = field(default_factory=list)
    plans: list[ValueRow] = field(default_factory=list)
    comms_plan: list[dict[str, Any]] = field(default_factory=list)
    stakeholders: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.assessments or self.plans or self.comms_plan or self.stakeholders)


def by_month(engagements: Iterable[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, int]]:
    """(engagements, in person) per (period, agency)."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for e in engagements:
        c = counts[(e["date"].strftime("%Y-%m"), e["agency"])]
        c[0] += 1
        c[1] += e["channel"] in IN_PERSON
    return {k: (v[0], v[1]) for k, v in counts.items()}


def _csat_concern(now: Decimal | None, prior: Decimal | None, n_now: int, n_prior: int,
                  rules: HealthRules) -> list[str]:
    """One concern at most: CSAT under target, or falling; judged on enough responses."""
    if now is None or n_now < rules.csat_min_responses:
        return []
    drop = prior - now if prior is not None and n_prior >= rules.csat_min_responses else None
    fell = drop is not None and drop >= rules.csat_drop_points
    if now < rules.csat_target_pct:
        extra = f", down {drop} points" if fell else ""
        return [f"CSAT {now}% over {WINDOW_DAYS} days (target {rules.csat_target_pct}%{extra})"]
    if fell:
        return [f"CSAT down {drop} points to {now}% over {WINDOW_DAYS} days"]
    return []


# An agency with no contact and no survey response recorded is not judged at all
NOT_RATED = "Not rated"
NOT_RATED_REASON = "no surveys or contacts recorded yet"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def relationship(agency: dict[str, Any], engagements: list[dict[str, Any]],
                 responses: list[dict[str, Any]], rules: HealthRules,
                 as_of: dt.date, practice: Practice | None = None) -> Relationship:
    """The agency's health as of `as_of`: one rating rule over every concern.
    `engagements` are its contacts (`relationships.contacts`: forum meetings included)."""
    practice = practice or Practice()
    past = known_by(engagements, as_of, "date")
    met = [e["date"] for e in past if e["channel"] in IN_PERSON]
    last = max((e["date"] for e in past), default=None)
    last_met = max(met, default=None)
    since = (as_of - last).days if last else None
    since_met = (as_of - last_met).days if last_met else None
    cadence = agency["contact_cadence_days"]
    window = as_of - dt.timedelta(days=WINDOW_DAYS - 1)
    recent = [e for e in past if e["date"] >= window]
    share = (Decimal(100 * sum(e["channel"] in IN_PERSON for e in recent)) / len(recent)
             ).quantize(Decimal("0.1"), ROUND_HALF_UP) if recent else None
    actions = [e for e in past if e["action_item"] and e["action_done_on"] is None
               and e.get("own", True)]
    overdue_actions = [e for e in actions if e["action_due"] and e["action_due"] < as_of]
    answered = known_by(responses, as_of)
    now = [r["score"] for r in answered if r["submitted_on"] >= window]
    prior_start = window - dt.timedelta(days=WINDOW_DAYS)
    prior = [r["score"] for r in answered if prior_start <= r["submitted_on"] < window]
    csat_now, csat_prior = csat(now), csat(prior)
    open_ups = [r for r in answered if is_open(r, rules.follow_up_below)]
    late_ups = [r for r in open_ups
                if as_of > r["submitted_on"] + dt.timedelta(days=rules.follow_up_days)]

    concerns = []
    if last is None:
        concerns.append("no contact recorded")
    elif since > cadence:
        concerns.append(f"no contact for {since} days (plan: every {cadence})")
    if last_met is None:
        concerns.append("no in-person meeting recorded")
    elif since_met is not None and since_met > rules.in_person_within_days:
        concerns.append(f"no in-person contact for {since_met} days")
    if overdue_actions:
        concerns.append(_plural(len(overdue_actions), "overdue action"))
    if late_ups:
        concerns.append(_plural(len(late_ups), "overdue follow-up"))
    concerns.extend(_csat_concern(csat_now, csat_prior, len(now), len(prior), rules))
    rated = maturity.maturity(practice.assessments, as_of)
    concerns.extend(maturity.concerns(rated, agency["agency_name"]))
    points = comms.touchpoints(practice.comms_plan, past, as_of)
    concerns.extend(comms.touchpoint_concern(points))
    concerns.extend(plans.concerns(practice.plans))
    concerns.extend(comms.stakeholder_concern(
        comms.stakeholders(practice.stakeholders, past, cadence, as_of), cadence))
    health = "Healthy" if not concerns else "Watch" if len(concerns) == 1 else "At risk"
    if not past and not answered and not practice:  # nothing to judge by: chargeback only
        health, concerns = NOT_RATED, [NOT_RATED_REASON]
    notes = list(concerns)
    if 0 < len(now) < rules.csat_min_responses:
        # a rating can look healthy only because there is too little to judge by: say so
        notes.append(f"too few responses to judge CSAT ({len(now)} of "
                     f"{rules.csat_min_responses} in {WINDOW_DAYS} days)")
    return Relationship(
        agency["agency_id_text"], agency["agency_name"], agency["brm_manager"], cadence,
        last, since, since is not None and since <= cadence, last_met, since_met, share,
        len(actions), len(overdue_actions), csat_now, csat_prior, len(open_ups), len(late_ups),
        health, "; ".join(notes) if notes else "no concerns",
        rated.office, rated.agency, rated.gap, rated.change, len(points),
        sum(p.overdue for p in points), comms.last_strategic_planning(past),
    )
