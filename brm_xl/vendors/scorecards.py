"""Vendor performance: monthly scorecards against contracted service levels, and the
service credits a missed critical level earns, passed through to the agencies billed.

A month's result for a service level is **met** (at or better than `expected`), **at
minimum** (at or better than `minimum`, short of expected) or **missed** (worse than
`minimum`), better meaning higher or lower by `direction`; an excluded month (a reason in
`excluded`) counts for nothing. The weighted score is the sum of the weights of met levels
plus three quarters of the weights of those at minimum (contractually acceptable, short of
what was promised), over the weights of the levels that counted, in percent. The grade is the first of Settings `vendor_grades` (A=90; B=80; C=70; D=60)
the score reaches, else F, and no better than C while the vendor has an open corrective
action (Texas' Vendor Performance Tracking System caps it so).

A missed critical level with a `credit_pct` earns a credit: that percent of the month's
priced Charges lines (usage, not adjustments) for the contract's services, half up to the
cent. It is passed through to the agencies those lines billed, pro rata to their priced
charges, each share half up to the cent and the remainder to the largest share, so the
shares add up to the credit exactly; with Settings `pass_through_credits` on, each share
is an adjustment line on the agency's bill in the month of the miss (the first open month,
if that one is closed).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any, NamedTuple

import polars as pl

from brm_xl.contract.inputs import Inputs
from brm_xl.contract.kinds import plain
from brm_xl.contract.money import cents, tenths
from brm_xl.contract.periods import first_open, month_end, month_index, month_of
from brm_xl.contract.raw import ROW
from brm_xl.problems import Problem

AT_MINIMUM = Decimal("0.75")  # the share of its weight a level earns at minimum


class ScorecardRow(NamedTuple):
    """One Scorecard row: a vendor's month."""

    period: str
    vendor_id: str
    vendor_name: str
    levels: int
    met: int
    at_minimum: int
    missed: int
    excluded: int
    score: Decimal | None
    grade: str | None
    open_actions: int
    overdue_actions: int
    credits: Decimal
    reasons: str


class CreditRow(NamedTuple):
    """One ServiceCredits row: a missed critical level's credit, and one agency's share."""

    period: str
    vendor_id: str
    contract_id: str
    sl_id: str
    sl_name: str
    actual: Decimal | None
    minimum: Decimal
    credit: Decimal  # the whole credit for the level and month
    agency_id: str
    share: Decimal  # this agency's part (the shares add up to credit)
    credited_in: str | None  # the month it is on the agency's bill, if passed through


def grade_of(score: Decimal | None, thresholds: str, capped: bool) -> str | None:
    """A to F by the thresholds ('A=90; B=80; C=70; D=60'), no better than C when capped."""
    if score is None:
        return None
    grade = "F"
    for letter, floor in _thresholds(thresholds):
        if score >= floor:
            grade = letter
            break
    if capped and grade in ("A", "B"):
        return "C"
    return grade


def _thresholds(text: str) -> list[tuple[str, Decimal]]:
    out = []
    for item in re.split(r"[;,]", text or ""):
        letter, sep, floor = item.partition("=")
        if sep:
            out.append((letter.strip().upper(), Decimal(floor.strip())))
    return sorted(out, key=lambda t: -t[1])


def status_of(actual: Decimal | None, minimum: Decimal, expected: Decimal, direction: str) -> str:
    if actual is None:
        return "missing"
    better = (lambda a, b: a >= b) if direction == "higher" else (lambda a, b: a <= b)
    if better(actual, expected):
        return "met"
    if better(actual, minimum):
        return "at minimum"
    return "missed"


def split(credit: Decimal, weights: dict[str, Decimal]) -> dict[str, Decimal]:
    """`credit` in parts pro rata to `weights`, half up to cents, the remainder to the
    largest part, so the parts add up to `credit` exactly."""
    total = sum(weights.values(), Decimal(0))
    if not total:
        return {}
    parts = {k: cents(credit * w / total) for k, w in weights.items()}
    largest = max(sorted(parts), key=lambda k: weights[k])
    parts[largest] += credit - sum(parts.values(), Decimal(0))
    return parts


def services_of(text: str | None) -> list[str]:
    return [s.strip().upper() for s in re.split(r"[;,]", text or "") if s.strip()]


def check_vendors(inputs: Inputs) -> list[Problem]:
    """Bad vendor input at its cell, all at once (a check across tables)."""
    if not inputs.has("ServiceLevels"):
        return []
    problems = []
    levels = inputs.tables["ServiceLevels"]
    frame = levels.frame
    weights: dict[str, Decimal] = defaultdict(Decimal)
    first: dict[str, int] = {}
    for r in frame.sort(ROW).iter_rows(named=True):
        weights[r["contract_id"]] += r["weight"] or 0
        first.setdefault(r["contract_id"], r[ROW])
        if None in (r["minimum"], r["expected"], r["direction"]):
            continue  # a blank or bad cell: already a problem at that cell
        worse = r["minimum"] > r["expected"] if r["direction"] == "higher" else \
            r["minimum"] < r["expected"]
        if worse:
            problems.append(Problem(levels.where("minimum", r[ROW]),
                                    f"minimum {plain(r['minimum'])} is better than expected "
                                    f"{plain(r['expected'])} for a {r['direction']}-is-better level "
                                    f"{r['sl_id_text']}; swap them", "bad-level"))
        if r["credit_pct"] is not None and not 0 <= r["credit_pct"] <= 100:
            problems.append(Problem(levels.where("credit_pct", r[ROW]),
                                    f"credit_pct {plain(r['credit_pct'])} is not a percentage from 0 "
                                    "to 100", "bad-level"))
    for contract, total in weights.items():
        if total != 100:
            problems.append(Problem(levels.where("weight", first[contract]),
                                    f"the weights of contract {contract}'s service levels add "
                                    f"up to {plain(total)}, not 100", "bad-weights"))
    known = set(frame["sl_id"].to_list())
    if inputs.has("SLResults"):
        results = inputs.tables["SLResults"]
        for r in results.frame.sort(ROW).iter_rows(named=True):
            if r["sl_id"] not in known:
                problems.append(Problem(results.where("sl_id", r[ROW]),
                                        f"sl_id '{r['sl_id_text']}' is not in ServiceLevels",
                                        "unknown-id"))
    if inputs.has("Contracts"):
        contracts = inputs.tables["Contracts"]
        services = set(inputs.frame("RateCard")["service_id"].to_list())
        for r in contracts.frame.sort(ROW).iter_rows(named=True):
            for service in services_of(r["services"]):
                if service not in services:
                    problems.append(Problem(contracts.where("services", r[ROW]),
                                            f"service '{service}' of contract "
                                            f"{r['contract_id_text']} is not in RateCard",
                                            "unknown-id"))
    return problems


def compute(inputs: Inputs, usage_lines: pl.DataFrame, closed: set[str], as_of: dt.date,
            ) -> tuple[list[ScorecardRow], list[CreditRow]]:
    """Scorecards and credits (see the module docstring). `usage_lines`: priced Charges
    lines (period, agency_id, service_id, cents) with ids upper-case."""
    if not inputs.has("ServiceLevels") or not inputs.has("SLResults"):
        return [], []
    vendors = {r["vendor_id"]: r for r in inputs.frame("Vendors").iter_rows(named=True)} \
        if inputs.has("Vendors") else {}
    contracts = {r["contract_id"]: r for r in inputs.frame("Contracts").iter_rows(named=True)} \
        if inputs.has("Contracts") else {}
    levels = {r["sl_id"]: r for r in inputs.frame("ServiceLevels").iter_rows(named=True)}
    billed = _Billed(usage_lines)
    results = sorted(inputs.frame("SLResults").iter_rows(named=True),
                     key=lambda r: (r["sl_id"], r["period"]))
    missed_months: dict[str, set[str]] = defaultdict(set)
    by_vendor_month: dict[tuple[str, str], list[tuple[dict[str, Any], dict[str, Any], str]]] = \
        defaultdict(list)
    credits: list[CreditRow] = []
    # a credit once on a bill stays in that month (ServiceCredits credited_in), so closing
    # the month does not move it

    pinned = inputs.pins.credits  # sealed with a closed month, or the last refresh's
    for r in results:
        level = levels.get(r["sl_id"])
        if level is None:
            continue
        contract = contracts.get(level["contract_id"], {})
        vendor = contract.get("vendor_id") or "?"
        state = "excluded" if r["excluded"] else status_of(
            r["actual"], level["minimum"], level["expected"], level["direction"])
        if state == "missed":
            missed_months[r["sl_id"]].add(r["period"])
        by_vendor_month[(vendor, r["period"])].append((r, level, state))
        if state == "missed" and level["kind"] == "critical" and level["credit_pct"]:
            services = services_of(contract.get("services"))
            shares: dict[str, Decimal] = defaultdict(Decimal)
            for service in services:
                for agency, billed_cents in billed.of(r["period"], service).items():
                    shares[agency] += Decimal(billed_cents) / 100
            base = sum(shares.values(), Decimal(0))
            credit = cents(base * level["credit_pct"] / 100)
            if credit:
                month = first_open(r["period"], closed)
                pass_on = inputs.settings.pass_through_credits
                for agency, part in sorted(split(credit, shares).items()):
                    on_bill = pinned.get((r["sl_id"], r["period"], agency), month)
                    credits.append(CreditRow(r["period"], vendor, level["contract_id_text"],
                                             level["sl_id_text"], level["name"], r["actual"],
                                             level["minimum"], credit, agency, part,
                                             on_bill if pass_on else None))
    actions = inputs.frame("CorrectiveActions").to_dicts() if inputs.has("CorrectiveActions") else []
    scorecard = []
    thresholds = inputs.settings.vendor_grades
    for (vendor, period), rows in sorted(by_vendor_month.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        end = month_end(period)
        counted = [(r, level, s) for r, level, s in rows if s in ("met", "at minimum", "missed")]
        weight = sum((level["weight"] for _, level, _ in counted), Decimal(0))
        earned = sum((level["weight"] * (1 if s == "met" else AT_MINIMUM)
                      for _, level, s in counted if s != "missed"), Decimal(0))
        score = tenths(earned * 100 / weight) if weight else None
        seen = min(end, as_of)  # the month's end, or --as-of within it: never the clock
        mine = [a for a in actions if a["vendor_id"] == vendor and a["opened_on"] <= seen
                and (a["closed_on"] is None or a["closed_on"] > seen)]
        overdue = [a for a in mine if a["due_on"] and a["due_on"] < seen]
        grade = grade_of(score, thresholds, bool(mine))
        reasons = []
        short = [level["name"] for _, level, s in rows if s == "at minimum"]
        if short:
            reasons.append("below expected: " + ", ".join(short))
        for r, level, s in rows:
            if s == "missed":
                run = _run_length(missed_months[r["sl_id"]], period)
                reasons.append(f"missed {level['name']} ({level['kind']})"
                               + (f", {run} months in a row" if run > 1 else ""))
        if mine:
            reasons.append(f"{len(mine)} open corrective action{'s' if len(mine) > 1 else ''}"
                           + (f" ({len(overdue)} overdue)" if overdue else "")
                           + ("; grade capped at C" if grade == "C" and score is not None
                              and grade_of(score, thresholds, False) in ("A", "B") else ""))
        month_credits = sum((c.share for c in credits if c.vendor_id == vendor and c.period == period),
                            Decimal("0.00"))
        vendor_row = vendors.get(vendor, {})
        scorecard.append(ScorecardRow(
            period, vendor_row.get("vendor_id_text") or vendor,
            vendor_row.get("vendor_name") or vendor, len(rows),
            sum(s == "met" for _, _, s in rows), sum(s == "at minimum" for _, _, s in rows),
            sum(s == "missed" for _, _, s in rows), sum(s == "excluded" for _, _, s in rows),
            score, grade, len(mine), len(overdue), month_credits,
            "; ".join(reasons) if reasons else "all service levels met"))
    return scorecard, credits


def credit_adjustments(credits: list[CreditRow], names: dict[str, str] | None = None,
                       ) -> pl.DataFrame:
    """Each agency's share of a passed-through credit as an Adjustments row. Its reason is
    the agency's to read: the vendor by name and the service level missed, never the
    office's contract id (`names`: vendor id -> name, as Vendors types it)."""
    names = names or {}
    rows = [(c.credited_in, c.agency_id, None, -c.share,
             f"Service credit: {c.sl_name} missed in {c.period} "
             f"({names.get(c.vendor_id, c.vendor_id)})", -(10_000 + i))
            for i, c in enumerate(credits) if c.credited_in and c.share]
    return pl.DataFrame(rows, schema={"period": pl.String, "agency_id": pl.String,
                                      "service_id": pl.String, "amount": pl.Decimal(38, 2),
                                      "reason": pl.String, ROW: pl.Int64}, orient="row")


class _Billed:
    """Each agency's billed cents for a (month, service), worked out only for those a
    credit is shared by (a few), not for every usage line (tens of thousands)."""

    def __init__(self, usage_lines: pl.DataFrame):
        self.lines = usage_lines.select("period", "agency_id", "service_id", "cents")
        self.found: dict[tuple[str, str], dict[str, int]] = {}

    def of(self, period: str, service: str) -> dict[str, int]:
        key = (period, service)
        if key not in self.found:
            billed: dict[str, int] = defaultdict(int)
            for agency, line_cents in self.lines.filter(
                    (pl.col("period") == period) & (pl.col("service_id") == service)).select(
                    "agency_id", "cents").iter_rows():
                billed[agency] += line_cents
            self.found[key] = billed
        return self.found[key]


def _run_length(missed: set[str], period: str) -> int:
    n, index = 0, month_index(period)
    while month_of(index - n) in missed:
        n += 1
    return n


