"""Satisfaction and engagement joined to the chargeback: FollowUps, Relationships and the
survey and contact columns of AgencySummary. Pure; `as_of` decides what is overdue."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from brm_xl.billing.budgets import budget_columns
from brm_xl.billing.chargeback import SummaryRow, display_names
from brm_xl.contract.inputs import Inputs, Settings
from brm_xl.contract.periods import month_end
from brm_xl.contract.tables import BRM_TABLES
from brm_xl.relationships import comms, engagement, plans, satisfaction
from brm_xl.relationships.contacts import contacts as contacts_of
from brm_xl.relationships.engagement import HealthRules, Practice, Relationship
from brm_xl.relationships.plans import ValueRow
from brm_xl.relationships.satisfaction import FollowUp


class AgencyMonth(NamedTuple):
    """One AgencySummary row: the chargeback columns (as SummaryRow), then the survey and
    contact columns."""

    period: str
    agency_id: str
    agency_name: str
    users: int | None
    charges: Decimal
    cost_per_user: Decimal | None
    prior_cost_per_user: Decimal | None
    change_pct: Decimal | None
    statewide_cost_per_user: Decimal | None
    standalone_cost: Decimal | None
    net_value: Decimal | None
    list_cost: Decimal | None
    discount: Decimal | None
    responses: int | None
    avg_score: Decimal | None
    csat_pct: Decimal | None
    open_follow_ups: int | None
    engagements: int | None
    in_person: int | None
    last_contact: dt.date | None
    fy_budget: Decimal | None  # the agency's budget for the month's fiscal year (Budgets)
    fy_to_date: Decimal | None  # charged in the fiscal year up to and including the month
    fy_projected: Decimal | None  # fy_to_date straight-lined to the year's 12 months


assert AgencyMonth._fields[:len(SummaryRow._fields)] == SummaryRow._fields


@dataclass
class RelationshipView:
    follow_ups: list[FollowUp] | None  # None: the workbook keeps no Survey
    relationships: list[Relationship] | None  # None: no Survey, Engagements or BRM table
    summary: list[AgencyMonth]
    value: list[ValueRow] | None = None  # ValueRealisation; None: no AccountPlans
    forums: list[comms.Forum] | None = None  # None: no Forums


def rules_from(inputs: Inputs) -> HealthRules:
    return rules_from_settings(inputs.settings)


def rules_from_settings(s: Settings) -> HealthRules:
    return HealthRules(s.in_person_within_days, s.csat_target_pct, s.csat_drop_points,
                       s.csat_min_responses, s.follow_up_below, s.follow_up_days)


def _records(inputs: Inputs, table: str, names: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    if not inputs.has(table):
        return []
    out = []
    for r in inputs.frame(table).iter_rows(named=True):
        r["agency"] = names["agency"].get(r["agency_id"], r["agency_id_text"])
        out.append(r)
    return out


def compute(inputs: Inputs, summary: list[SummaryRow], as_of: dt.date) -> RelationshipView:
    names = display_names(inputs)
    rules = rules_from(inputs)
    responses = satisfaction.known_by(_records(inputs, "Survey", names), as_of)
    contacts = satisfaction.known_by(contacts_of(inputs), as_of, "date")
    has_survey, has_contacts = inputs.has("Survey"), inputs.has("Engagements")
    value = plans.value_realisation(inputs, as_of)
    agencies = list(inputs.frame("Agencies").iter_rows(named=True))
    managers = {a["agency_id_text"]: a["brm_manager"] for a in agencies}
    follow_ups = (satisfaction.follow_ups(responses, managers, rules.follow_up_below,
                                          rules.follow_up_days, as_of) if has_survey else None)
    relationships = None
    if has_survey or has_contacts or any(inputs.has(t.name) for t in BRM_TABLES):
        by_agency = _by_agency(contacts, lambda e: e["agency"])
        answered = _by_agency(responses, lambda r: r["agency"])
        relationships = [
            engagement.relationship(
                a, by_agency.get(a["agency_id_text"], []), answered.get(a["agency_id_text"], []),
                rules, as_of, practice_of(inputs, a, value))
            for a in agencies
        ]
    surveys = satisfaction.by_month(responses)
    meetings = engagement.by_month(contacts)
    open_months = _sorted_by_agency(
        (r["agency"], r["submitted_on"].strftime("%Y-%m")) for r in responses
        if satisfaction.is_open(r, rules.follow_up_below))
    contact_days = _sorted_by_agency((e["agency"], e["date"]) for e in contacts)

    budget = budget_columns(inputs, summary)
    rows = []
    for row in summary:
        key = (row.period, row.agency_id)
        month = surveys.get(key)
        count = meetings.get(key, (0, 0))
        rows.append(AgencyMonth(
            *row,
            (month.responses if month else 0) if has_survey else None,
            month.avg_score if month else None,
            month.csat_pct if month else None,
            bisect_right(open_months.get(row.agency_id, []), row.period)
            if has_survey else None,
            count[0] if has_contacts else None,
            count[1] if has_contacts else None,
            _latest(contact_days.get(row.agency_id, []), month_end(row.period)),
            *budget.get(key, (None, None, None)),
        ))
    forums = (comms.forums(inputs.frame("Forums").iter_rows(named=True), contacts, as_of)
              if inputs.has("Forums") else None)
    return RelationshipView(follow_ups, relationships, rows, value, forums)


def table_rows(inputs: Inputs, table: str, agency: str) -> list[dict[str, Any]]:
    """One agency's rows (agency upper case) of an input table, in workbook order."""
    if not inputs.has(table):
        return []
    frame = inputs.frame(table)
    return frame.filter(frame["agency_id"] == agency.upper()).sort("_row").to_dicts()


def practice_of(inputs: Inputs, agency: dict[str, Any], value: list[ValueRow] | None,
                ) -> Practice:
    """An agency's BRM records (`agency`: its Agencies row), for its health."""
    key = agency["agency_id"]
    return Practice(table_rows(inputs, "Assessments", key),
                    plans.plans_of(value, agency["agency_id_text"]),
                    table_rows(inputs, "CommsPlan", key),
                    table_rows(inputs, "Stakeholders", key))


def _by_agency(rows: list[dict[str, Any]], agency: Any) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(agency(r), []).append(r)
    return out


def _sorted_by_agency(pairs: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for agency, value in pairs:
        out.setdefault(agency, []).append(value)
    return {agency: sorted(values) for agency, values in out.items()}


def _latest(days: list[dt.date], until: dt.date) -> dt.date | None:
    """The last of sorted `days` on or before `until`."""
    i = bisect_right(days, until)
    return days[i - 1] if i else None
