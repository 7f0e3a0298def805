"""The output tables refresh writes, declared once: names, columns and number formats."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, Sequence

from .chargeback import Chargeback
from .contract import TableSpec, Column, TEXT
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
    "standalone_cost:money net_value:money"
)
RECOVERY = _cols("period:month service_id:id cost:money charged:money variance:money recovery_pct:pct")
REFRESH_LOG = _cols(
    "refreshed_at:datetime refreshed_by:text tool_version:text as_of:date input_rows:text "
    "charges_total:money warnings:int"
)
REFRESH_LOG_SPEC = TableSpec(
    "RefreshLog", tuple(Column(c.name, TEXT, required=False) for c in REFRESH_LOG), required=False,
)


def chargeback_tables(result: Chargeback) -> list[OutputTable]:
    tables = [
        OutputTable("Charges", CHARGES, result.charges),
        OutputTable("AgencySummary", AGENCY_SUMMARY, result.summary),
    ]
    if result.recovery is not None:
        tables.append(OutputTable("Recovery", RECOVERY, result.recovery))
    return tables


def refresh_log(previous: Sequence[dict[str, Any]], entry: Sequence[Any]) -> OutputTable:
    """RefreshLog is appended to, never rewritten: earlier rows come back as they were."""
    rows = [tuple(_typed(c.fmt, old.get(c.name)) for c in REFRESH_LOG) for old in previous]
    rows.append(tuple(entry))
    return OutputTable("RefreshLog", REFRESH_LOG, rows)


def _typed(fmt: str, text: Any) -> Any:
    if text is None:
        return None
    try:
        if fmt == "datetime":
            return dt.datetime.fromisoformat(str(text))
        if fmt == "date":
            return dt.date.fromisoformat(str(text)[:10])
        if fmt == "money":
            return Decimal(str(text))
        if fmt == "int":
            return int(Decimal(str(text)))
    except (ValueError, InvalidOperation):
        pass
    return str(text)
