"""BRM worksheet functions for Excel (xlwings UDFs, category "BRM").

Each function is a shell: it finds the calling workbook, takes its cached model, and asks
`brm_xl.excel.queries.Index` one question. A problem makes the cell Excel's #N/A error, so a
SUM over it is an error too, never a silently short total; `=BRM_WHY(A1)` gives the
sentence for the cell A1 (`unknown agency 'DXX'`). No traceback ever reaches a cell.

The functions are volatile: Excel asks again on every recalculation, which costs a
dictionary lookup (the model is cached per saved version of the file, by modification
time and size), so after a save, the Refresh button (which writes the output tables and
recalculates) or a new day, every BRM cell shows the current figure.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from brm_xl.excel._decorators import arg, func
from brm_xl.excel.cache import index_for

PERIOD_DOC = "A month (2026-06 or a date), fiscal year (FY2026), fiscal quarter (FY2026-Q4) " \
             "or range (2026-01..2026-06)"
AGENCY_DOC = "Agency id from the Agencies table, e.g. DOT"


def workbook_path(caller: Any) -> str:
    """The calling workbook's file: an xlwings Range (in Excel) or a path (headless)."""
    if isinstance(caller, (str, os.PathLike)):
        return os.fspath(caller)
    book = caller.sheet.book
    return book.fullname


# the sentence behind each cell's #N/A, for BRM_WHY: (workbook, sheet, cell) -> text
WHY: dict[tuple[str, str, str], str] = {}
XL_ERROR_NA = 2042  # Excel's #N/A as a COM error code (xlErrNA)


def excel_error(message: str) -> Any:
    """Excel's #N/A: a COM error VARIANT where pywin32 is there (in Excel); elsewhere the
    readable text, for headless callers and the tests' stand-ins."""
    try:
        import pythoncom
        from win32com.client import VARIANT
    except ImportError:
        return f"#BRM: {message}"
    return VARIANT(pythoncom.VT_ERROR, XL_ERROR_NA)


def _where(caller: Any) -> tuple[str, str, str] | None:
    try:
        return (caller.sheet.book.fullname, caller.sheet.name, caller.address)
    except AttributeError:  # a path (headless): no cell to remember
        return None


def answer(caller: Any, question: Callable[[Any], Any]) -> Any:
    """Ask the calling workbook's index; turn the answer into Excel values."""
    where = _where(caller)
    try:
        value = cell_value(question(index_for(workbook_path(caller))))
    except Exception as exc:  # an Excel error value in the cell, never raised into Excel
        message = _message(exc)
        if where is not None:
            WHY[where] = message
        return excel_error(message)
    if where is not None:
        WHY.pop(where, None)
    return value


def _message(exc: Exception) -> str:
    problems = getattr(exc, "problems", None)
    if problems:
        first = next((p for p in problems if p.is_error), problems[0])
        return f"the workbook has {len(problems)} problem(s), e.g. {first}; run Check"
    if isinstance(exc, FileNotFoundError):
        return "save the workbook first"
    return str(exc) or type(exc).__name__


def cell_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [[cell_value(v) for v in row] if isinstance(row, list) else cell_value(row)
                for row in value]
    if value is None:
        return ""
    return value


# No type hints on the functions themselves: xlwings would take them as converters.


@func(category="BRM", volatile=True)
@arg("service", doc="Service id from the RateCard table, e.g. EMAIL-STD")
@arg("period", doc=PERIOD_DOC + "; the rate in force in its last month")
def BRM_RATE(service, period, caller):
    """Price per unit of a service in a period, from the RateCard."""
    return answer(caller, lambda ix: ix.rate(service, period))


@func(category="BRM", volatile=True)
@arg("agency", doc=AGENCY_DOC)
@arg("period", doc=PERIOD_DOC)
@arg("service", doc="Optional: only this service id")
def BRM_CHARGES(agency, period, service=None, caller=None):
    """What an agency was charged in a period (usage and adjustments), to the cent."""
    return answer(caller, lambda ix: ix.charges_for(agency, period, service))


@func(category="BRM", volatile=True)
@arg("agency", doc=AGENCY_DOC)
@arg("period", doc=PERIOD_DOC)
def BRM_COST_PER_USER(agency, period, caller):
    """An agency's charges per user per month in a period."""
    return answer(caller, lambda ix: ix.cost_per_user(agency, period))


@func(category="BRM", volatile=True)
@arg("period", doc=PERIOD_DOC)
def BRM_STATEWIDE_COST_PER_USER(period, caller):
    """Charges per user per month across all agencies with headcount."""
    return answer(caller, lambda ix: ix.statewide(period))


@func(category="BRM", volatile=True)
@arg("agency", doc=AGENCY_DOC)
@arg("period", doc=PERIOD_DOC)
def BRM_NET_VALUE(agency, period, caller):
    """What running the services alone would have cost the agency, less its charges."""
    return answer(caller, lambda ix: ix.net_value(agency, period))


@func(category="BRM", volatile=True)
@arg("agency", doc=AGENCY_DOC)
@arg("period", doc=PERIOD_DOC)
def BRM_CSAT(agency, period, caller):
    """Share of an agency's survey responses scoring 4 or 5 in a period, in percent."""
    return answer(caller, lambda ix: ix.csat(agency, period))


@func(category="BRM", volatile=True)
@arg("agency", doc=AGENCY_DOC)
def BRM_OPEN_FOLLOW_UPS(agency, caller):
    """Low scores from the agency that nobody has followed up yet."""
    return answer(caller, lambda ix: ix.open_follow_ups(agency))


@func(category="BRM", volatile=True)
@arg("agency", doc=AGENCY_DOC)
@arg("channel", doc="Optional: In person, In person - group, Virtual meeting, Phone or Email")
def BRM_LAST_CONTACT(agency, channel=None, caller=None):
    """The date of the last logged contact with the agency (of a channel, if given)."""
    return answer(caller, lambda ix: ix.last_contact(agency, channel))


@func(category="BRM", volatile=True)
@arg("agency", doc=AGENCY_DOC)
def BRM_HEALTH(agency, caller):
    """The relationship's health today: Healthy, Watch, At risk, or Not rated (no contact and no survey response recorded yet)."""
    return answer(caller, lambda ix: ix.health(agency))


@func(category="BRM", volatile=True)
@arg("agency", doc=AGENCY_DOC)
@arg("side", doc="Optional: office (default, the CIO's office's rating) or agency (the "
                 "agency's own)")
def BRM_MATURITY(agency, side=None, caller=None):
    """The relationship's maturity as one side rates it today: 1 Ad hoc, 2 Order taker, 3 Service provider, 4 Trusted advisor, 5 Strategic partner (blank: not rated)."""
    return answer(caller, lambda ix: ix.maturity(agency, side))


@func(category="BRM", volatile=True)
@arg("agency", doc=AGENCY_DOC)
@arg("fiscal_year", doc="A fiscal year, e.g. FY2027")
def BRM_VALUE_REALISED(agency, fiscal_year, caller):
    """What the agency's account plans of a fiscal year have realised to date, to the cent."""
    return answer(caller, lambda ix: ix.value_realised(agency, fiscal_year))


@func(category="BRM", volatile=True)
@arg("agency", doc=AGENCY_DOC)
@arg("period", doc=PERIOD_DOC)
def BRM_BILL(agency, period, caller):
    """The agency's bill of IT for a period, with headers: a 2-D array, which Excel 365
    spills into the cells below and beside (older Excel: enter it as an array formula
    over a range, Ctrl+Shift+Enter)."""
    return answer(caller, lambda ix: ix.bill(agency, period))


@func(category="BRM", volatile=True)
@arg("vendor", doc="Vendor id from the Vendors table")
@arg("period", doc=PERIOD_DOC + "; the grade of its last month with results")
def BRM_VENDOR_GRADE(vendor, period, caller):
    """A vendor's scorecard grade, A to F (no better than C under an open corrective action)."""
    return answer(caller, lambda ix: ix.vendor_grade(vendor, period))


@func(category="BRM", volatile=True)
@arg("sl_id", doc="Service level id from the ServiceLevels table")
@arg("period", doc=PERIOD_DOC + "; its last month")
def BRM_SL_ACTUAL(sl_id, period, caller):
    """A service level's measured result in a month (SLResults)."""
    return answer(caller, lambda ix: ix.sl_actual(sl_id, period))


@func(category="BRM", volatile=True)
@arg("who", doc="An agency id (its credits received) or a vendor id (all it owes)")
@arg("period", doc=PERIOD_DOC)
def BRM_CREDITS(who, period, caller):
    """Service credits from missed critical service levels in a period."""
    return answer(caller, lambda ix: ix.credits(who, period))


@func(category="BRM", volatile=True)
@arg("cell", "range", doc="A cell holding a BRM function that shows #N/A")
def BRM_WHY(cell, caller):
    """Why a BRM function's cell shows #N/A, as a sentence."""
    try:
        where = (cell.sheet.book.fullname, cell.sheet.name, cell.address)
    except AttributeError:
        return "give a cell, e.g. =BRM_WHY(B4)"
    return WHY.get(where, "no BRM problem recorded for that cell")


FUNCTIONS = [BRM_RATE, BRM_CHARGES, BRM_COST_PER_USER, BRM_STATEWIDE_COST_PER_USER, BRM_NET_VALUE,
             BRM_CSAT, BRM_OPEN_FOLLOW_UPS, BRM_LAST_CONTACT, BRM_HEALTH, BRM_MATURITY,
             BRM_VALUE_REALISED, BRM_BILL,
             BRM_VENDOR_GRADE, BRM_SL_ACTUAL, BRM_CREDITS, BRM_WHY]

__all__ = [f.__name__ for f in FUNCTIONS]
