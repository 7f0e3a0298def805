"""The output tables refresh writes, declared once: names, columns and number formats."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from .chargeback import Chargeback
from .contract import text_spec
from .relationships import RelationshipView
from .workbook.cells import OutColumn, OutputTable


def _cols(spec: str) -> tuple[OutColumn, ...]:
    """'period:month agency_id:id ...' -> columns."""
    return tuple(OutColumn(*item.split(":")) for item in spec.split())


CHARGES = _cols(
    "period:month agency_id:id service_id:id service_name:text tower:text unit:text "
    "quantity:quantity rate:rate amount:money reason:text"
)
AGENCY_SUMMARY = _cols(
    "period:month agency_id:id agency_name:text users:int charges:money cost_per_user:money "
    "prior_cost_per_user:money change_pct:pct statewide_cost_per_user:money "
    "standalone_cost:money net_value:money responses:int avg_score:decimal2 csat_pct:pct "
    "open_follow_ups:int engagements:int in_person:int last_contact:date"
)
FOLLOW_UPS = _cols(
    "response_id:id agency_id:id respondent:text score:int comment:text submitted_on:date "
    "due_on:date overdue:bool brm_manager:text"
)
RELATIONSHIPS = _cols(
    "agency_id:id agency_name:text brm_manager:text contact_cadence_days:int last_contact:date "
    "days_since_contact:int cadence_met:bool last_in_person:date days_since_in_person:int "
    "in_person_share_90d:pct open_actions:int overdue_actions:int csat_3m:pct "
    "csat_prior_3m:pct open_follow_ups:int overdue_follow_ups:int health:text reasons:text"
)
RECOVERY = _cols("period:month service_id:id cost:money charged:money variance:money recovery_pct:pct")
REFRESH_LOG = _cols(
    "refreshed_at:datetime refreshed_by:text tool_version:text as_of:date input_rows:text "
    "charges_total:money warnings:int"
)
UNALLOCATED = _cols(
    "period:month provider:text service_name:text sub_account_id:text sub_account_name:text "
    "charge_category:text cost:money reason:text"
)
DELIVERIES = _cols(
    "period:text agency_id:id to:text cc:text message_id:text status:text sent_at:datetime "
    "error:text"
)


REFRESH_LOG_SPEC = text_spec("RefreshLog", [c.name for c in REFRESH_LOG])
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
        rows = [(p, prov, svc, sid, sname, cat, cost.normalize(), why)
                for p, prov, svc, sid, sname, cat, why, cost in focus.unallocated]
        tables.append(OutputTable("Unallocated", UNALLOCATED, rows))
    if view.follow_ups is not None:
        tables.append(OutputTable("FollowUps", FOLLOW_UPS, view.follow_ups))
    if view.relationships is not None:
        tables.append(OutputTable("Relationships", RELATIONSHIPS, view.relationships))
    return tables


def previous_rows(columns: tuple[OutColumn, ...],
                  previous: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """An appended log's earlier rows, typed again as they were written."""
    return [tuple(_typed(c.fmt, old.get(c.name)) for c in columns) for old in previous]


def refresh_log(previous: Sequence[dict[str, Any]], entry: Sequence[Any]) -> OutputTable:
    """RefreshLog is appended to, never rewritten: earlier rows come back as they were."""
    return OutputTable("RefreshLog", REFRESH_LOG, previous_rows(REFRESH_LOG, previous) + [tuple(entry)])


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


EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_SERIAL = re.compile(r"^\d{1,6}(\.\d+)?$")
