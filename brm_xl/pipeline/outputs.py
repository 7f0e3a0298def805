"""The output tables refresh writes, declared once: names, columns and number formats."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, get_args, get_type_hints

from brm_xl.billing.chargeback import Chargeback, ChargeLine, RecoveryRow
from brm_xl.billing.disputes import DisputeRow
from brm_xl.billing.rates import RateEffect, RateProposal
from brm_xl.billing.review import ReviewRow
from brm_xl.books.seal import AUDIT_FIELDS, SEALS, SERIAL, audit_link, encode, new_book_id
from brm_xl.contract.history import Record
from brm_xl.contract.periods import EXCEL_EPOCH
from brm_xl.contract.tables import text_spec
from brm_xl.relationships.engagement import Relationship
from brm_xl.relationships.plans import ValueRow
from brm_xl.relationships.satisfaction import FollowUp
from brm_xl.relationships.view import AgencyMonth, RelationshipView
from brm_xl.sources.focus import Unallocated
from brm_xl.vendors.scorecards import CreditRow, ScorecardRow
from brm_xl.workbook.cells import OutColumn, OutputTable


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
                     quantity="quantity", rate="rate", amount="money", list_amount="money")
AGENCY_SUMMARY = columns_of(
    AgencyMonth, period="month", agency_id="id", charges="money", cost_per_user="money",
    prior_cost_per_user="money", change_pct="pct", statewide_cost_per_user="money",
    standalone_cost="money", net_value="money", list_cost="money", discount="money",
    avg_score="decimal2", csat_pct="pct",
    fy_budget="money", fy_to_date="money", fy_projected="money")
FOLLOW_UPS = columns_of(FollowUp, response_id="id", agency_id="id")
RELATIONSHIPS = columns_of(Relationship, agency_id="id", in_person_share_90d="pct",
                           csat_3m="pct", csat_prior_3m="pct")
VALUE_REALISATION = columns_of(ValueRow, plan_id="id", agency_id="id", planned_value="money",
                               realised_to_date="money", realised_pct="pct")
REVIEW = columns_of(ReviewRow, period="month", agency_id="id", service_id="id", amount="money",
                    prior_amount="money", change_pct="pct")
RECOVERY = columns_of(RecoveryRow, period="month", service_id="id", cost="money",
                      charged="money", variance="money", recovery_pct="pct")
REFRESH_LOG = columns_of(RefreshEntry, charges_total="money")
UNALLOCATED = columns_of(Unallocated, period="month", cost="money")
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
    """One Closes row: a month closed (its bills published) or reopened, by whom and why,
    with the seal of its record (brm_xl.books.seal) and its place in the chain."""

    period: str
    status: str  # closed, reopened
    closed_at: dt.datetime
    closed_by: str
    reason: str | None
    lines: int
    charges_total: Decimal
    seal: str
    seq: int


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
    """What one AuditLog row records: a close, a reopen, a journal, a send..."""

    at: dt.datetime
    by: str
    action: str
    period: str
    before: str | None
    after: str | None


class AuditRow(NamedTuple):
    """An AuditLog row as written: the entry, its sequence number and its chain value (a
    digest of the row and the one before it, brm_xl.books.seal.audit_link)."""

    at: dt.datetime
    by: str
    action: str
    period: str
    before: str | None
    after: str | None
    seq: int
    chain: str


class SealRow(NamedTuple):
    """One cell's worth of a seal record on the very hidden BrmSeals sheet."""

    seq: int
    period: str
    status: str
    seal: str
    part: int
    data: str


CLOSES = columns_of(CloseEntry, charges_total="money")  # period as text, like Deliveries
PUBLISHED_CHARGES = columns_of(PublishedCharge, agency_id="id",
                               service_id="id", amount="money")
PUBLISHED_USERS = columns_of(PublishedUsers, agency_id="id")
AUDIT_LOG = columns_of(AuditRow, period="text")
SEAL_ROWS = columns_of(SealRow, period="text")
REFRESH_LOG_SPEC = text_spec("RefreshLog", [c.name for c in REFRESH_LOG])
CLOSE_SPECS = tuple(text_spec(name, [c.name for c in columns]) for name, columns in (
    ("Closes", CLOSES), ("PublishedCharges", PUBLISHED_CHARGES),
    ("PublishedHeadcount", PUBLISHED_USERS), ("AuditLog", AUDIT_LOG),
    ("DisputeLog", DISPUTE_LOG), ("ServiceCredits", SERVICE_CREDITS), (SEALS, SEAL_ROWS)))
# (read by every command: the published bills, the seals, and the months credits were put on)


def audit_rows(previous: Sequence[dict[str, Any]], entries: Sequence[AuditEntry],
               ) -> list[AuditRow]:
    """AuditLog's earlier rows in their order (by sequence number; rows from before the
    chain, in the order found), chained, and `entries` added at the end."""
    rows = list(previous)
    try:
        rows.sort(key=lambda r: int(Decimal(str(r.get("seq")))))
    except (InvalidOperation, ValueError, TypeError):
        pass  # rows from before the chain (no sequence numbers yet): kept as found
    rows += [e._asdict() for e in entries]
    out, chain = [], ""
    for seq, row in enumerate(rows, start=1):
        chain = audit_link(chain, seq, {k: _audit_text(row.get(k)) for k in AUDIT_FIELDS})
        typed = [_typed(c.fmt, row.get(c.name)) for c in AUDIT_LOG[:6]]
        out.append(AuditRow._make([*typed, seq, chain]))
    return out


def _audit_text(value: Any) -> Any:
    return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value


def seal_book(inputs: Any, entries: Sequence[AuditEntry], new: Sequence[Record] = (),
              now: dt.datetime | None = None, user: str = "") -> list[OutputTable]:
    """The tables a write adds to the books: AuditLog with `entries`, and, where there are
    new seal records (a close, a reopen) or closes not sealed yet, every close table.
    Each new record is chained to the last, with the AuditLog's head before it."""
    verified = inputs.published
    previous = inputs.previous.get("AuditLog", [])
    unsealed = (verified.legacy and bool(verified.records)) or (
        not verified.audit_ok and bool(previous))
    if not new and not unsealed:  # AuditLog and BrmSeals (kept very hidden), nothing else
        if not entries and not verified.records:
            return []
        audit = audit_rows(previous, entries)
        return book_tables(verified.records, audit, published=False, audit_log=bool(entries))
    now = now or dt.datetime.now().replace(microsecond=0)
    before = audit_rows(previous, entries)
    # the AuditLog's length once this write lands: a later truncation is noticed
    head = [len(before) + int(unsealed) + len(new), before[-1].chain if before else ""]
    records = list(verified.records)
    book = verified.book or new_book_id()
    more = list(entries)
    if unsealed:
        more.append(AuditEntry(now, user, "seal", "", None, (
            f"{len(records)} closes made before brm_xl sealed its closes, and the AuditLog, "
            "sealed as found; an edit made before now cannot be detected")))
    last = records[-1].seal if records else ""
    for r in new:
        r.seq, r.book, r.audit = len(records) + 1, book, head
        last = r.sealed(last).seal
        records.append(r)
        more.append(AuditEntry(now, user, "close" if r.status == "closed" else "reopen",
                               r.period, None if r.status == "closed" else "closed",
                               f"{r.lines} lines, {Decimal(r.total):.2f}, seal {r.seal}"
                               if r.status == "closed" else f"reopened: {r.reason}"))
    return book_tables(records, audit_rows(previous, more))


def book_tables(records: Sequence[Record], audit: Sequence[AuditRow], published: bool = True,
                audit_log: bool = True) -> list[OutputTable]:
    """Closes, PublishedCharges, PublishedHeadcount and BrmSeals as the seal records say,
    and AuditLog: what every close and reopen writes (the visible tables are put back as
    they were published, whatever was edited since). A write that adds no record writes
    BrmSeals (and AuditLog) only: `published` False builds no published row."""
    closes: list[CloseEntry] = []
    charges: list[PublishedCharge] = []
    users: list[PublishedUsers] = []
    seals: list[SealRow] = []
    for r in records:
        seals += [SealRow(*row) for row in encode(r)]
        if not published:
            continue
        at = dt.datetime.fromisoformat(r.closed_at)
        closes.append(CloseEntry(r.period, r.status, at, r.closed_by, r.reason or None,
                                 r.lines if r.status == "closed" else 0,
                                 Decimal(r.total) if r.status == "closed" else Decimal("0.00"),
                                 r.seal, r.seq))
        if r.status == "closed":
            charges += [PublishedCharge(r.period, at, a, s or None, Decimal(v))
                        for a, s, v in r.charges]
            users += [PublishedUsers(r.period, at, a, int(u) if u != "" else None)
                      for a, u in r.users]
    if audit:  # the AuditLog's length and last chain value: nothing deleted from its end
        seals.append(SealRow(0, "", "audit", audit[-1].chain, len(audit), ""))
    tables = [OutputTable("Closes", CLOSES, closes),
              OutputTable("PublishedCharges", PUBLISHED_CHARGES, charges),
              OutputTable("PublishedHeadcount", PUBLISHED_USERS, users)] if published else []
    if audit_log:
        tables.append(OutputTable("AuditLog", AUDIT_LOG, list(audit)))
    return [*tables, OutputTable(SEALS, SEAL_ROWS, seals, hidden=True)]


def refresh_tables(result: Chargeback, view: RelationshipView,
                   focus: Any = None) -> list[OutputTable]:
    tables = [
        OutputTable("Charges", CHARGES, result.charges),
        OutputTable("AgencySummary", AGENCY_SUMMARY, view.summary),
    ]
    if result.review is not None:
        tables.append(OutputTable("Review", REVIEW, result.review))
    if result.recovery is not None:
        tables.append(OutputTable("Recovery", RECOVERY, result.recovery))
    if focus is not None:
        tables.append(OutputTable("Unallocated", UNALLOCATED, focus.unallocated))
    if view.follow_ups is not None:
        tables.append(OutputTable("FollowUps", FOLLOW_UPS, view.follow_ups))
    if view.relationships is not None:
        tables.append(OutputTable("Relationships", RELATIONSHIPS, view.relationships))
    if view.value is not None:
        tables.append(OutputTable("ValueRealisation", VALUE_REALISATION, view.value))
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
        if fmt in ("datetime", "date") and SERIAL.match(str(text)):
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


