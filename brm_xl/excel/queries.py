"""Answers to one-cell questions (a rate, an agency's charges, its CSAT), fast.

The Excel worksheet functions are thin shells over these. An `Index` is built once per
model (dictionaries keyed by agency and month), so a question costs a few dictionary
lookups; periods are parsed once and remembered.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

import polars as pl

from brm_xl.billing.chargeback import find_rate, rate_lookup
from brm_xl.contract.kinds import choice_key
from brm_xl.contract.money import as_money
from brm_xl.contract.periods import Period, excel_date, parse_period
from brm_xl.contract.tables import CHANNELS
from brm_xl.pipeline.model import Model
from brm_xl.problems import QueryError
from brm_xl.relationships.contacts import contacts as contacts_of
from brm_xl.relationships.engagement import IN_PERSON
from brm_xl.relationships.satisfaction import csat, known_by
from brm_xl.reports import data


@lru_cache(maxsize=512)
def excel_id(value: Any, what: str) -> str:
    """An id as Excel hands it over: text as typed, or a number Excel made of it (410 comes
    as 410.0 and is id 410, as refresh reads the cell); upper-case for matching."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise QueryError(f"the {what} is blank; give its id")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().upper()


def excel_serial_month(value: float) -> str:
    """A number as a period: a year (2026 -> '2026', which parse_period refuses) or, above
    that, an Excel date serial, as DATE(), EOMONTH() and TODAY() pass a date to a function."""
    if isinstance(value, float) and not value.is_integer() and value < 10000:
        return str(value)
    number = int(value)
    if number < 10000:
        return str(number)
    return excel_date(number).strftime("%Y-%m")


def period_of(value: str, fiscal_start: int) -> Period:
    return parse_period(value, fiscal_start)


@dataclass
class Index:
    """The lookups each question needs; those beyond a month's charges and rates are
    built when first asked for, so the first call on opening a workbook waits only for
    what it asks."""

    model: Model
    agencies: dict[str, str]  # upper-case id -> id as typed
    services: dict[str, str]
    rates: dict[str, list[dict[str, Any]]]
    charges: dict[tuple[str, str], int]  # (agency, month) -> cents
    fiscal_start: int
    _headlines: dict[tuple[str, str], data.Headline] = field(default_factory=dict)

    @classmethod
    def build(cls, model: Model) -> Index:
        inputs = model.inputs
        agencies, services = model.names["agency"], model.names["service"]
        totals = model.chargeback.charges.group_by("agency_id", "period").agg(
            pl.col("cents").sum())
        charges = {(agency, period): cents for agency, period, cents in totals.iter_rows()}
        return cls(model, agencies, services, rate_lookup(inputs.frame("RateCard")), charges,
                   inputs.settings.fiscal_year_start_month)

    @functools.cached_property
    def service_charges(self) -> dict[tuple[str, str, str], int]:
        """(agency, month, service) -> cents."""
        by_service: dict[tuple[str, str, str], int] = defaultdict(int)
        for agency, period, service, amount in self.model.chargeback.charges.select(
                "agency_id", "period", "service_id", "cents").iter_rows():
            if service:
                by_service[(agency, period, service.upper())] += amount
        return by_service

    @functools.cached_property
    def summary(self) -> dict[tuple[str, str], Any]:
        return {(r.agency_id, r.period): r for r in self.model.chargeback.summary}

    @functools.cached_property
    def scores(self) -> dict[tuple[str, str], list[int]]:
        model, inputs = self.model, self.model.inputs
        scores: dict[tuple[str, str], list[int]] = defaultdict(list)
        if inputs.has("Survey"):
            for r in known_by(inputs.frame("Survey").select(
                    "agency_id", "submitted_on", "score").to_dicts(), model.as_of):
                scores[(self.agencies.get(r["agency_id"], r["agency_id"]),
                        r["submitted_on"].strftime("%Y-%m"))].append(r["score"])
        return scores

    @functools.cached_property
    def contacts(self) -> dict[str, list[tuple[dt.date, str]]]:
        model, inputs = self.model, self.model.inputs
        contacts: dict[str, list[tuple[dt.date, str]]] = defaultdict(list)
        for r in known_by(contacts_of(inputs), model.as_of, "date"):  # forum meetings too
            contacts[r["agency"]].append((r["date"], r["channel"]))
        return contacts

    @functools.cached_property
    def relations(self) -> dict[str, Any]:
        return {r.agency_id: r for r in self.model.view.relationships or []}

    @functools.cached_property
    def follow_ups(self) -> dict[str, int]:
        follow_ups: dict[str, int] = defaultdict(int)
        for f in self.model.view.follow_ups or []:
            follow_ups[f.agency_id] += 1
        return follow_ups

    # -- arguments ---------------------------------------------------------------------
    def agency(self, value: Any) -> str:
        key = excel_id(value, "agency")
        if key not in self.agencies:
            raise QueryError(f"unknown agency '{key}'")
        return self.agencies[key]

    def service(self, value: Any) -> str:
        key = excel_id(value, "service")
        if key not in self.services:
            raise QueryError(f"unknown service '{key}'")
        return key

    def period(self, value: Any) -> Period:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise QueryError("the period is blank; give a month (2026-06 or a date), FY2026, "
                             "FY2026-Q4 or 2026-01..2026-06")
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.strftime("%Y-%m")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = excel_serial_month(value)
        try:
            return period_of(str(value).strip(), self.fiscal_start)
        except Exception:
            raise QueryError(f"'{value}' is not a period (2026-06, FY2026, FY2026-Q4 or "
                             "2026-01..2026-06)") from None

    # -- questions -----------------------------------------------------------------------
    def rate(self, service: Any, period: Any) -> Decimal:
        sid, p = self.service(service), self.period(period)
        found = find_rate(self.rates.get(sid, []), p.end)
        if found is None:
            raise QueryError(f"no rate for {self.services[sid]} in {p.end}")
        return found["rate"].normalize()

    def charges_for(self, agency: Any, period: Any, service: Any = None) -> Decimal:
        a, p = self.agency(agency), self.period(period)
        if service in (None, ""):
            return as_money(sum(self.charges.get((a, m), 0) for m in p.months))
        sid = self.service(service)
        return as_money(sum(self.service_charges.get((a, m, sid), 0) for m in p.months))

    def headline(self, agency: Any, period: Any) -> data.Headline:
        """The value report's headline figures: the one home of every period figure, asked
        once per (agency, period) and then answered from memory."""
        a, p = self.agency(agency), self.period(period)
        key = (a, p.label)
        if key not in self._headlines:
            self._headlines[key] = data.headline(self.model, a, p)
        return self._headlines[key]

    def cost_per_user(self, agency: Any, period: Any) -> Decimal | None:
        return self.headline(agency, period).cost_per_user

    def statewide(self, period: Any) -> Decimal | None:
        return data.statewide_cost_per_user(self.model, self.period(period))

    def net_value(self, agency: Any, period: Any) -> Decimal | None:
        return self.headline(agency, period).net_value

    def csat(self, agency: Any, period: Any) -> Decimal | None:
        a, p = self.agency(agency), self.period(period)
        return csat([s for m in p.months for s in self.scores.get((a, m), [])])

    def open_follow_ups(self, agency: Any) -> int:
        return self.follow_ups.get(self.agency(agency), 0)

    def last_contact(self, agency: Any, channel: Any = None) -> dt.date | None:
        a = self.agency(agency)
        wanted = None
        if channel not in (None, ""):
            key = choice_key(str(channel))
            if key == "in person":
                wanted = set(IN_PERSON)
            else:
                match = [c for c in CHANNELS if choice_key(c) == key]
                if not match:
                    raise QueryError(f"unknown channel '{channel}' (one of: {', '.join(CHANNELS)},"
                                     " or In person)")
                wanted = set(match)
        days = [d for d, c in self.contacts.get(a, []) if d <= self.model.as_of
                and (wanted is None or c in wanted)]
        return max(days) if days else None

    def health(self, agency: Any) -> str:
        found = self.health_of(agency)
        return found.health if found else "no survey or engagement data"

    def health_of(self, agency: Any) -> Any:
        return self.relations.get(self.agency(agency))

    # -- the BRM practice ------------------------------------------------------------------
    def maturity(self, agency: Any, side: Any = None) -> int | None:
        """A side's latest maturity rating (1 Ad hoc .. 5 Strategic partner) as of the
        model's day: the office's (default) or the agency's; blank where it has none."""
        a = self.agency(agency)
        wanted = "office" if side in (None, "") else str(side).strip().casefold()
        if wanted not in ("office", "agency"):
            raise QueryError(f"unknown side '{side}' (office or agency)")
        found = self.relations.get(a)
        if found is None:
            return None
        return found.maturity_office if wanted == "office" else found.maturity_agency

    def value_realised(self, agency: Any, fiscal_year: Any) -> Decimal:
        """What the agency's plans of a fiscal year have realised to date (ValueRealisation)."""
        a = self.agency(agency)
        fy = str(fiscal_year or "").strip().upper()
        if self.period(fy).kind != "fiscal year":
            raise QueryError(f"'{fiscal_year}' is not a fiscal year (FY2027)")
        return sum((r.realised_to_date for r in self.model.view.value or []
                    if r.agency_id == a and r.fiscal_year == fy), Decimal("0.00"))

    # -- vendors ---------------------------------------------------------------------------
    def _vendor(self, value: Any) -> str:
        key = excel_id(value, "vendor")
        known = {r.vendor_id.upper() for r in self.model.chargeback.scorecard or []}
        if key not in known:
            raise QueryError(f"unknown vendor '{key}' (or no service level results for it)")
        return key

    def vendor_grade(self, vendor: Any, period: Any) -> str:
        """The grade of the period's last month with results."""
        v, p = self._vendor(vendor), self.period(period)
        rows = [r for r in self.model.chargeback.scorecard or []
                if r.vendor_id.upper() == v and r.period in p and r.grade]
        if not rows:
            raise QueryError(f"no graded month for vendor '{v}' in {p.label}")
        return max(rows, key=lambda r: r.period).grade

    def sl_actual(self, sl_id: Any, period: Any) -> Decimal:
        key, p = excel_id(sl_id, "service level"), self.period(period)
        if not self.model.inputs.has("SLResults"):
            raise QueryError("the workbook has no SLResults table")
        frame = self.model.inputs.frame("SLResults")
        found = [r for r in frame.iter_rows(named=True) if r["sl_id"] == key and r["period"] == p.end]
        if not found or found[0]["actual"] is None:
            raise QueryError(f"no result for service level '{key}' in {p.end}")
        return Decimal(found[0]["actual"])

    def credits(self, who: Any, period: Any) -> Decimal:
        """Service credits in the period: an agency's shares, or all a vendor owes."""
        key, p = excel_id(who, "agency or vendor"), self.period(period)
        rows = [c for c in self.model.chargeback.service_credits or [] if c.period in p]
        if key in self.agencies:
            return sum((c.share for c in rows if c.agency_id == key), Decimal("0.00"))
        vendors = {r.vendor_id.upper() for r in self.model.chargeback.scorecard or []}
        if key in vendors:
            return sum((c.share for c in rows if c.vendor_id.upper() == key), Decimal("0.00"))
        raise QueryError(f"unknown agency or vendor '{key}'")

    def bill(self, agency: Any, period: Any) -> list[list[Any]]:
        a, p = self.agency(agency), self.period(period)
        b = data.bill(self.model, a, p)
        rows: list[list[Any]] = [["Tower", "Service", "Service name", "Unit", "Quantity", "Rate",
                                  "Amount"]]
        for tower, lines, _total in b.towers:
            for line in lines:
                rows.append([tower, line.service_id, line.service_name, line.unit,
                             line.quantity, line.rate, line.amount])
        for adj in b.adjustments:
            rows.append(["Adjustment", adj.service_id or "", adj.reason, "", None, None,
                         adj.amount])
        rows.append(["Total", "", "", "", None, None, b.total])
        return rows
