"""Who a contact counts for: the agency it is logged against and, for a meeting of a
governance forum (an engagement whose `touchpoint` is a Forums `forum_id`), every member
agency, once each.

The one rule by which every count of contacts works (AgencySummary's engagements and last
contact, Relationships' cadence, in-person share and touchpoints, the reports, the BRM_*
functions): each takes its contacts from `contacts(inputs)`. The actions agreed at a
meeting stay with the agency the row is logged against (`own`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from brm_xl.billing.chargeback import display_names
from brm_xl.contract.inputs import Inputs
from brm_xl.relationships.satisfaction import known_by


def key(text: object) -> str:
    """Touchpoints, forums and names compare ignoring case and spacing."""
    return " ".join(str(text or "").split()).casefold()


def name_key(text: object) -> str:
    """A person's name ignoring case and every space (`Angela  Brooks` = `angela brooks`)."""
    return re.sub(r"\s+", "", str(text or "")).casefold()


def attendees_of(text: object) -> set[str]:
    """The names an engagement's `attendees` holds, separated by `;` or `,`, as name keys."""
    return {name_key(part) for part in re.split(r"[;,]", str(text or "")) if part.strip()}


def members(text: object) -> list[str]:
    """A forum's members as written (agency ids, vendor ids, office roles), separated by `;`."""
    return [part.strip() for part in str(text or "").split(";") if part.strip()]


def forum_agencies(inputs: Inputs) -> dict[str, list[str]]:
    """forum_id (upper case) -> its member agencies (upper-case ids, in the order listed);
    a member that is not an agency id is a vendor or a role and counts for no agency."""
    if not inputs.has("Forums"):
        return {}
    agencies = set(inputs.frame("Agencies")["agency_id"].to_list())
    out: dict[str, list[str]] = {}
    for forum, text in inputs.frame("Forums").select("forum_id", "members").iter_rows():
        ids = [m.upper() for m in members(text)]
        out[forum] = list(dict.fromkeys(m for m in ids if m in agencies))
    return out


def forum_names(inputs: Inputs) -> dict[str, str]:
    if not inputs.has("Forums"):
        return {}
    return dict(inputs.frame("Forums").select("forum_id", "name").iter_rows())


def contacts(inputs: Inputs) -> list[dict[str, Any]]:
    """Every Engagements row as a contact of its agency (`agency`, as Agencies spells it),
    and each forum meeting again as a contact of every other member agency (`own` False).
    `forum` is the meeting's forum_id (None for other contacts); `touchpoints` the keys it
    keeps: its touchpoint and, for a forum meeting, the forum's name."""
    if "contacts" in inputs.memo:
        return list(inputs.memo["contacts"])
    out: list[dict[str, Any]] = []
    if inputs.has("Engagements"):
        names = display_names(inputs)["agency"]
        forums = forum_agencies(inputs)
        titles = forum_names(inputs)
        for row in inputs.frame("Engagements").sort("_row").iter_rows(named=True):
            touch = str(row.get("touchpoint") or "").strip().upper()
            forum = touch if touch in forums else None
            kept = {key(row.get("touchpoint"))} - {""}
            if forum is not None:
                kept.add(key(titles.get(forum)))
            own = row["agency_id"]
            for agency in [own, *(a for a in forums.get(forum or "", []) if a != own)]:
                out.append({**row, "agency": names.get(agency, row["agency_id_text"]),
                            "own": agency == own, "forum": forum,
                            "touchpoints": frozenset(kept)})
    inputs.memo["contacts"] = out
    return list(out)


def of_agency(inputs: Inputs, agency: str, as_of: dt.date) -> list[dict[str, Any]]:
    """One agency's contacts (as Agencies spells it) known by `as_of`, forum meetings too."""
    return known_by([c for c in contacts(inputs) if c["agency"] == agency], as_of, "date")
