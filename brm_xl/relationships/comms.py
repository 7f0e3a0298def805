"""The communications plan kept: planned touchpoints and whether they happened, the
governance forums and when they last met, and the stakeholder map with when each person
was last met. Pure functions of contacts (`relationships.contacts`) and `as_of`.

A CommsPlan row is overdue when its last contact with that touchpoint (or, never held,
its `starts_on`) is more than `every_days` before the day judged. A contact keeps a
touchpoint when its `touchpoint` says so, ignoring case and spacing; a forum meeting also
keeps the touchpoint named like its forum. A forum not met within its `every_days` (or
never met) is overdue. A stakeholder's last contact is the latest contact whose
`attendees` names them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, NamedTuple

from brm_xl.relationships.contacts import attendees_of, key, members, name_key

STRATEGIC_PLANNING = "Strategic planning"


class Touchpoint(NamedTuple):
    touchpoint: str
    every_days: int
    starts_on: dt.date
    last_held: dt.date | None
    due_on: dt.date  # the last held (or starts_on) + every_days
    overdue: bool


class Forum(NamedTuple):
    forum_id: str
    name: str
    purpose: str
    every_days: int
    members: str  # as written, `;` separated
    last_met: dt.date | None
    overdue: bool


class Stakeholder(NamedTuple):
    name: str
    role: str | None
    influence: str
    support: str | None
    next_step: str | None
    last_met: dt.date | None
    days_since: int | None
    overdue: bool  # high influence and not met within the agency's contact cadence


def kept(contact: dict[str, Any]) -> frozenset[str]:
    """The touchpoints a contact keeps (`relationships.contacts` names them)."""
    found = contact.get("touchpoints")
    return found if found is not None else frozenset({key(contact.get("touchpoint"))})


def last_with(contacts: Iterable[dict[str, Any]], touchpoint: str) -> dt.date | None:
    wanted = key(touchpoint)
    return max((c["date"] for c in contacts if wanted in kept(c)), default=None)


def touchpoints(plan: Iterable[dict[str, Any]], contacts: list[dict[str, Any]],
                as_of: dt.date) -> list[Touchpoint]:
    """The agency's CommsPlan rows, each with its last contact and whether it is overdue
    (`contacts`: the agency's, already known by `as_of`)."""
    out = []
    for row in sorted(plan, key=lambda r: r["_row"]):
        last = last_with(contacts, row["touchpoint"])
        due = (last or row["starts_on"]) + dt.timedelta(days=row["every_days"])
        out.append(Touchpoint(row["touchpoint"], row["every_days"], row["starts_on"], last,
                              due, as_of > due))
    return out


def last_strategic_planning(contacts: Iterable[dict[str, Any]]) -> dt.date | None:
    return last_with(contacts, STRATEGIC_PLANNING)


def forums(rows: Iterable[dict[str, Any]], contacts: Iterable[dict[str, Any]],
           as_of: dt.date) -> list[Forum]:
    """Every forum with its last meeting known by `as_of` (a contact logged with its
    forum_id as touchpoint) and whether it is overdue."""
    met: dict[str, dt.date] = {}
    for c in contacts:
        if c.get("forum") and c["date"] <= as_of:
            met[c["forum"]] = max(c["date"], met.get(c["forum"], c["date"]))
    out = []
    for r in sorted(rows, key=lambda r: r["_row"]):
        last = met.get(r["forum_id"])
        overdue = last is None or (as_of - last).days > r["every_days"]
        out.append(Forum(r["forum_id_text"], r["name"], r["purpose"], r["every_days"],
                         "; ".join(members(r["members"])), last, overdue))
    return out


def forums_of(all_forums: Iterable[Forum], agency: str) -> list[Forum]:
    """The forums an agency is a member of."""
    return [f for f in all_forums if agency.upper() in {m.upper() for m in members(f.members)}]


def stakeholders(rows: Iterable[dict[str, Any]], contacts: list[dict[str, Any]],
                 cadence: int, as_of: dt.date) -> list[Stakeholder]:
    """The agency's stakeholder map, each person with their last contact (`contacts`: the
    agency's, already known by `as_of`)."""
    named = [(c["date"], attendees_of(c.get("attendees"))) for c in contacts]
    out = []
    for r in sorted(rows, key=lambda r: r["_row"]):
        who = name_key(r["name"])
        last = max((day for day, names in named if who in names), default=None)
        since = (as_of - last).days if last else None
        overdue = r["influence"] == "high" and (since is None or since > cadence)
        out.append(Stakeholder(r["name"], r.get("role"), r["influence"], r.get("support"),
                               r.get("next_step"), last, since, overdue))
    return out


def touchpoint_concern(points: list[Touchpoint]) -> list[str]:
    late = [p.touchpoint for p in points if p.overdue]
    if not late:
        return []
    noun = "overdue touchpoint" if len(late) == 1 else "overdue touchpoints"
    return [f"{len(late)} {noun} ({', '.join(late)})"]


def stakeholder_concern(people: list[Stakeholder], cadence: int) -> list[str]:
    late = [p for p in people if p.overdue]
    if not late:
        return []
    if len(late) == 1:
        p = late[0]
        when = "never met" if p.last_met is None else \
            f"not met for {p.days_since} days (plan: every {cadence})"
        return [f"high-influence stakeholder {p.name} {when}"]
    return [f"{len(late)} high-influence stakeholders not met within {cadence} days "
            f"({', '.join(p.name for p in late)})"]
