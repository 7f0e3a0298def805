"""The output tables refresh writes, declared once: names, columns and number formats."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, get_args, get_type_hints

from .chargeback import Chargeback, ChargeLine, RecoveryRow
from .contract import text_spec
from .delivery.journal import Entry
from .disputes import DisputeRow
from .engagement import Relationship
from .focus import Unallocated
from .periods import EXCEL_EPOCH
from .rates import RateEffect, RateProposal
from .relationships import AgencyMonth, RelationshipView
from .satisfaction import FollowUp
from .vendors import CreditRow, ScorecardRow
from .workbook.cells import OutColumn, OutputTable


class RefreshEntry(NamedTuple):
    """One RefreshLog row: who refreshed, when, with what, and the total charged."""

    refreshed_at: dt.datetime
    refreshed_by: str
    tool_version: str
    as_of: dt.date
    input_rows: str
    charges_total: Decimal
    warnings: int


_BY_TYPE = {str: "text", int: "int", bool: "bool", dt.date: "date", dt.datetime: "datetime"}


def columns_of(record: type, **formats: str) -> tuple[OutColumn, ...]:
    """An output table's columns: the record's fields, in order, each with the format
    named here or (for text, whole numbers, dates and flags) the one its type implies.
    A table's rows are that record's tuples, so a column cannot be matched to another
    field; a format for a field the record lacks, or a field with no format, fails at
    import."""
    hints = get_type_hints(record)
    names = ([f.name for f in dataclasses.fields(record)] if dataclasses.is_dataclass(record)
             else list(record._fields))  # type: ignore[attr-defined]
    unknown = set(formats) - set(names)
    if unknown:
        raise TypeError(f"{record.__name__} has no field(s) {sorted(unknown)}")
    columns = []
    for name in names:
        kinds = [t for t in get_args(hints[name]) if t is not type(None)] or [hints[name]]
        fmt = formats.get(name) or (_BY_TYPE.get(kinds[0]) if len(kinds) == 1 else None)
        if fmt is None:
            raise TypeError(f"{record.__name__}.{name} needs a format")
        columns.append(OutColumn(name, fmt))
    return tuple(columns)


CHARGES = columns_of(ChargeLine, period="month", agency_id="id", service_id="id",
                     quantity="quantity", rate="rate", amount="money")
AGENCY_SUMMARY = columns_of(
    AgencyMonth, period="month", agency_id="id", charges="money", cost_per_user="money",
    prior_cost_per_user="money", change_pct="pct", statewide_cost_per_user="money",
    standalone_cost="money", net_value="money", avg_score="decimal2", csat_pct="pct",
    fy_budget="money", fy_to_date="money", fy_projected="money")
FOLLOW_UPS = columns_of(FollowUp, response_id="id", agency_id="id")
RELATIONSHIPS = columns_of(Relationship, agency_id="id", in_person_share_90d="pct",
                           csat_3m="pct", csat_prior_3m="pct")
RECOVERY = columns_of(RecoveryRow, period="month", service_id="id", cost="money",
                      charged="money", variance="money", recovery_pct="pct")
REFRESH_LOG = columns_of(RefreshEntry, charges_total="money")
UNALLOCATED = columns_of(Unallocated, period="month", cost="money")
DELIVERIES = columns_of(Entry, agency_id="id")
SCORECARD = columns_of(ScorecardRow, period="month", vendor_id="id", score="decimal2",
                       credits="money")
SERVICE_CREDITS = columns_of(CreditRow, period="month", vendor_id="id", contract_id="id",
                             sl_id="id", actual="quantity", minimum="quantity", credit="money",
                             agency_id="id", share="money")
RATE_PROPOSAL = columns_of(RateProposal, service_id="id", current_rate="rate",
                           proposed_rate="rate", change_pct="pct_fine", projected_cost="money",
                           carry_forward="money", projected_units="quantity",
                           projected_recovery="money", rounding_effect="money",
                           recovery_pct="pct")
RATE_EFFECT = columns_of(RateEffect, agency_id="id", current_annual="money",
                         proposed_annual="money", change="money")
DISPUTE_LOG = columns_of(DisputeRow, dispute_id="id", agency_id="id", service_id="id",
                         amount="money", credit="money")  # period, credited_in: text


class CloseEntry(NamedTuple):
    """One Closes row: a month closed (its bills published) or reopened, by whom and why."""

    period: str
    status: str  # closed, reopened
    closed_at: dt.datetime
    closed_by: str
    reason: str | None
    lines: int
    charges_total: Decimal
    checksum: str


class PublishedCharge(NamedTuple):
    period: str
    closed_at: dt.datetime
    agency_id: str
    service_id: str | None  # blank: adjustments not tied to a service
    amount: Decimal


class PublishedUsers(NamedTuple):
    period: str
    closed_at: dt.datetime
    agency_id: str
    users: int | None


class AuditEntry(NamedTuple):
    """One AuditLog row: a close, a reopen, a journal, a send..., never rewritten."""

    at: dt.datetime
    by: str
    action: str
    period: str
    before: str | None
    after: str | None


CLOSES = columns_of(CloseEntry, charges_total="money")  # period as text, like Deliveries
PUBLISHED_CHARGES = columns_of(PublishedCharge, agency_id="id",
                               service_id="id", amount="money")
PUBLISHED_USERS = columns_of(PublishedUsers, agency_id="id")
AUDIT_LOG = columns_of(AuditEntry, period="text")
REFRESH_LOG_SPEC = text_spec("RefreshLog", [c.name for c in REFRESH_LOG])
CLOSE_SPECS = tuple(text_spec(name, [c.name for c in columns]) for name, columns in (
    ("Closes", CLOSES), ("PublishedCharges", PUBLISHED_CHARGES),
    ("PublishedHeadcount", PUBLISHED_USERS), ("AuditLog", AUDIT_LOG),
    ("DisputeLog", DISPUTE_LOG), ("ServiceCredits", SERVICE_CREDITS)))
# (read by every command: the published bills, and the months credits were put on bills)


def audit_table(inputs: Any, *entries: AuditEntry) -> OutputTable:
    """AuditLog with its earlier rows as they were and `entries` added."""
    return OutputTable("AuditLog", AUDIT_LOG,
                       previous_rows(AUDIT_LOG, inputs.previous.get("AuditLog", [])) + list(entries))


class MonthClose(NamedTuple):
    """What one month's close (or reopen) records."""

    period: str
    lines: dict[tuple[str, str], Decimal]
    users: dict[str, int | None]
    total: Decimal
    checksum: str


def closing_tables(inputs: Any, months: list[MonthClose], now: dt.datetime, user: str,
                   status: str, reason: str | None) -> list[OutputTable]:
    """The four close tables, earlier rows as they were and these closes (or reopens) added."""
    previous = inputs.previous

    def table(name: str, columns: tuple[OutColumn, ...], new: list[Any]) -> OutputTable:
        return OutputTable(name, columns, previous_rows(columns, previous.get(name, [])) + new)

    entries, charges, users, audit = [], [], [], []
    for m in months:
        entries.append(CloseEntry(m.period, status, now, user, reason, len(m.lines), m.total,
                                  m.checksum))
        charges += [PublishedCharge(m.period, now, a, s or None, v)
                    for (a, s), v in sorted(m.lines.items())]
        users += [PublishedUsers(m.period, now, a, u) for a, u in sorted(m.users.items())]
        audit.append(AuditEntry(
            now, user, "close" if status == "closed" else "reopen", m.period,
            None if status == "closed" else "closed",
            f"{len(m.lines)} lines, {m.total:.2f}, checksum {m.checksum}" if status == "closed"
            else f"reopened: {reason}"))
    return [table("Closes", CLOSES, entries),
            table("PublishedCharges", PUBLISHED_CHARGES, charges),
            table("PublishedHeadcount", PUBLISHED_USERS, users),
            table("AuditLog", AUDIT_LOG, audit)]
DELIVERIES_SPEC = text_spec("Deliveries", [c.name for c in DELIVERIES])


def refresh_tables(result: Chargeback, view: RelationshipView,
                   focus: Any = None) -> list[OutputTable]:
    tables = [
        OutputTable("Charges", CHARGES, result.charges),
        OutputTable("AgencySummary", AGENCY_SUMMARY, view.summary),
    ]
    if result.recovery is not None:
        tables.append(OutputTable("Recovery", RECOVERY, result.recovery))
    if focus is not None:
        tables.append(OutputTable("Unallocated", UNALLOCATED, focus.unallocated))
    if view.follow_ups is not None:
        tables.append(OutputTable("FollowUps", FOLLOW_UPS, view.follow_ups))
    if view.relationships is not None:
        tables.append(OutputTable("Relationships", RELATIONSHIPS, view.relationships))
    if result.disputes is not None:
        tables.append(OutputTable("DisputeLog", DISPUTE_LOG, result.disputes))
    if result.scorecard is not None:
        tables.append(OutputTable("Scorecard", SCORECARD, result.scorecard))
    if result.scorecard is not None or result.service_credits is not None:
        tables.append(OutputTable("ServiceCredits", SERVICE_CREDITS, result.service_credits or []))
    return tables


def previous_rows(columns: tuple[OutColumn, ...],
                  previous: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """An appended log's earlier rows, typed again as they were written."""
    return [tuple(_typed(c.fmt, old.get(c.name)) for c in columns) for old in previous]


def refresh_log(previous: Sequence[dict[str, Any]], entry: RefreshEntry) -> OutputTable:
    """RefreshLog is appended to, never rewritten: earlier rows come back as they were."""
    return OutputTable("RefreshLog", REFRESH_LOG, previous_rows(REFRESH_LOG, previous) + [entry])


def _typed(fmt: str, text: Any) -> Any:
    """A log cell read back as text, typed again; a date cell someone formatted General
    reads as its serial number (46321.5) and comes back as the date it is."""
    if text is None:
        return None
    try:
        if fmt in ("datetime", "date") and _SERIAL.match(str(text)):
            when = EXCEL_EPOCH + dt.timedelta(days=float(str(text)))
            return when.replace(microsecond=0) if fmt == "datetime" else when.date()
        if fmt == "datetime":
            return dt.datetime.fromisoformat(str(text))
        if fmt == "date":
            return dt.date.fromisoformat(str(text)[:10])
        if fmt == "money":
            return Decimal(str(text))
        if fmt == "int":
            return int(Decimal(str(text)))
    except (ValueError, InvalidOperation, OverflowError):
        pass
    return str(text)


_SERIAL = re.compile(r"^\d{1,6}(\.\d+)?$")
