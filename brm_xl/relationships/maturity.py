"""Relationship maturity, rated by both sides on the BRM Institute's Business Relationship
Maturity Model: 1 Ad hoc, 2 Order taker, 3 Service provider, 4 Trusted advisor,
5 Strategic partner. The gap between the two views is itself a finding.

Each side's rating is its latest assessment on or before the day judged; of two on one
day, the later row in the table (a correction) stands and the earlier one is set aside,
so a side's previous rating is its rating on an earlier day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, NamedTuple

from brm_xl.contract.tables import MATURITY_LEVELS

GAP_CONCERN = 2  # a gap of two levels or more, either way, is a concern


def level_name(level: int | None) -> str:
    """`Trusted advisor` for 4; an en dash where there is no rating."""
    return MATURITY_LEVELS[level - 1] if level else "\u2013"


def level_label(level: int | None) -> str:
    """`4 Trusted advisor`: the number and the name, wherever a level is shown."""
    return f"{level} {MATURITY_LEVELS[level - 1]}" if level else "\u2013"


class Rating(NamedTuple):
    on: dt.date
    level: int
    notes: str | None


class Maturity(NamedTuple):
    office: int | None
    agency: int | None
    gap: int | None  # office minus agency
    change: int | None  # the office's latest minus its previous
    office_before: int | None
    agency_before: int | None
    history: tuple[tuple[str, Rating], ...]  # (side, rating) by day: one per side and day


NO_MATURITY = Maturity(None, None, None, None, None, None, ())


def ratings(rows: Iterable[dict[str, Any]], side: str, as_of: dt.date) -> list[Rating]:
    """One side's ratings up to `as_of`, one per day (the later row of a day), by day."""
    by_day: dict[dt.date, Rating] = {}
    for r in sorted((r for r in rows if r["assessed_by"] == side and r["assessed_on"] <= as_of),
                    key=lambda r: (r["assessed_on"], r["_row"])):
        by_day[r["assessed_on"]] = Rating(r["assessed_on"], r["maturity"], r.get("notes"))
    return [by_day[d] for d in sorted(by_day)]


def maturity(rows: list[dict[str, Any]], as_of: dt.date) -> Maturity:
    """Both sides' latest ratings as of `as_of`, their gap and the office's change."""
    office, agency = ratings(rows, "office", as_of), ratings(rows, "agency", as_of)
    o = office[-1].level if office else None
    a = agency[-1].level if agency else None
    o_before = office[-2].level if len(office) > 1 else None
    a_before = agency[-2].level if len(agency) > 1 else None
    history = sorted([("office", r) for r in office] + [("agency", r) for r in agency],
                     key=lambda item: (item[1].on, item[0] != "office"))
    return Maturity(o, a, o - a if o and a else None,
                    o - o_before if o and o_before else None, o_before, a_before,
                    tuple(history))


def possessive(name: str) -> str:
    """`Agency DOT's`, `Department of Corrections'`."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def concerns(m: Maturity, agency_name: str) -> list[str]:
    """At most two concerns: a gap of two levels or more either way, and a falling rating
    (either side's latest below its previous), in words with the levels' names."""
    out = []
    if m.gap is not None and abs(m.gap) >= GAP_CONCERN:
        out.append(f"you rate yourselves {level_name(m.office)}; {agency_name} rates you "
                   f"{level_name(m.agency)}")
    fell = []
    if m.office and m.office_before and m.office < m.office_before:
        fell.append(f"your rating from {level_name(m.office_before)} to {level_name(m.office)}")
    if m.agency and m.agency_before and m.agency < m.agency_before:
        fell.append(f"{possessive(agency_name)} from {level_name(m.agency_before)} to "
                    f"{level_name(m.agency)}")
    if fell:
        out.append(f"maturity fell ({'; '.join(fell)})")
    return out
