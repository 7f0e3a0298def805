"""Reporting periods as people write them: a month, a fiscal year, a fiscal quarter, a range.

`2026-06`, `FY2026` (July 2025 to June 2026 when the fiscal year starts in July),
`FY2026-Q4` (April to June 2026), `2026-01..2026-06`. Each period knows its months and the
period of the same length just before it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from brm_xl.problems import UsageError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_FY = re.compile(r"^FY(\d{4})$", re.IGNORECASE)
_FQ = re.compile(r"^FY(\d{4})-Q([1-4])$", re.IGNORECASE)


def month_index(period: str) -> int:
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def month_of(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class Period:
    label: str  # as the user wrote it, normalised: 2026-06, FY2026, FY2026-Q4, 2026-01..2026-06
    first: int  # month index (year * 12 + month - 1)
    last: int
    kind: str  # month, fiscal year, fiscal quarter, range

    @property
    def months(self) -> list[str]:
        return [month_of(i) for i in range(self.first, self.last + 1)]

    @property
    def start(self) -> str:
        return month_of(self.first)

    @property
    def end(self) -> str:
        return month_of(self.last)

    def __contains__(self, period: str) -> bool:
        return self.first <= month_index(period) <= self.last

    def prior(self) -> Period:
        size = self.last - self.first + 1
        first, last = self.first - size, self.first - 1
        if self.kind == "month":
            label = month_of(first)
        elif self.kind == "fiscal year":
            label = f"FY{int(self.label[2:6]) - 1}"
        elif self.kind == "fiscal quarter":
            label = _prior_quarter(self.label)
        else:
            label = f"{month_of(first)}..{month_of(last)}"
        return Period(label, first, last, self.kind)

    @property
    def title(self) -> str:
        """How a report heading names the period."""
        import calendar

        if self.kind == "month":
            return f"{calendar.month_name[int(self.start[5:])]} {self.start[:4]}"
        if self.kind in ("fiscal year", "fiscal quarter"):
            return self.label.replace("-", " ")
        return f"{self.start} to {self.end}"


def _prior_quarter(label: str) -> str:
    year, quarter = int(label[2:6]), int(label[-1])
    return f"FY{year - 1}-Q4" if quarter == 1 else f"FY{year}-Q{quarter - 1}"


def parse_period(text: str, fiscal_start: int = 7) -> Period:
    """Read a period; raises UsageError with the forms it accepts."""
    value = text.strip()
    if m := _MONTH.match(value):
        i = _index(int(m.group(1)), int(m.group(2)), text)
        return Period(value, i, i, "month")
    if m := _FY.match(value):
        first = _fy_start(int(m.group(1)), fiscal_start)
        return Period(f"FY{m.group(1)}", first, first + 11, "fiscal year")
    if m := _FQ.match(value):
        first = _fy_start(int(m.group(1)), fiscal_start) + 3 * (int(m.group(2)) - 1)
        return Period(f"FY{m.group(1)}-Q{m.group(2)}", first, first + 2, "fiscal quarter")
    if ".." in value:
        a, _, b = value.partition("..")
        ma, mb = _MONTH.match(a.strip()), _MONTH.match(b.strip())
        if ma and mb:
            first = _index(int(ma.group(1)), int(ma.group(2)), text)
            last = _index(int(mb.group(1)), int(mb.group(2)), text)
            if last < first:
                raise UsageError(f"period {text!r} ends before it starts")
            return Period(f"{a.strip()}..{b.strip()}", first, last, "range")
    raise UsageError(f"period {text!r} is not a month (2026-06), a fiscal year (FY2026), a "
                     "fiscal quarter (FY2026-Q4) or a range (2026-01..2026-06)")


def _index(year: int, month: int, text: str) -> int:
    if not 1 <= month <= 12:
        raise UsageError(f"period {text!r}: month {month} does not exist")
    return year * 12 + month - 1


EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # Excel's day 0 (serial dates count from it)


def excel_date(serial: float) -> dt.date:
    """The day an Excel date serial names (46321 -> 2026-10-26)."""
    return (EXCEL_EPOCH + dt.timedelta(days=int(serial))).date()


def month_end(period: str) -> dt.date:
    """The last day of a month ('2026-02' -> 2026-02-28)."""
    year, month = int(period[:4]), int(period[5:7])
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def first_open(month: str, closed: set[str]) -> str:
    """The first month at or after `month` that is not closed (where a credit may go)."""
    index = month_index(month)
    while month_of(index) in closed:
        index += 1
    return month_of(index)


def fiscal_year_of(month: str, start_month: int = 7) -> Period:
    """The fiscal year a month falls in (2026-09 with a July start: FY2027)."""
    index = month_index(month)
    year = int(month[:4]) + (1 if start_month > 1 and int(month[5:7]) >= start_month else 0)
    first = _fy_start(year, start_month)
    assert first <= index <= first + 11
    return Period(f"FY{year}", first, first + 11, "fiscal year")


def _fy_start(fiscal_year: int, start_month: int) -> int:
    """FY2026 with a July start begins in July 2025; with a January start, January 2026."""
    year = fiscal_year - 1 if start_month > 1 else fiscal_year
    return year * 12 + start_month - 1


@dataclass(frozen=True)
class Comparison:
    """What a period is compared with: the months of it that hold data, and the same months
    one period earlier, with the words that say so when that is not simply "the period
    before" (a fiscal year so far, months missing)."""

    months: list[str]
    prior_months: list[str]
    note: str | None


def comparison(period: Period, have: set[str], today: str | None = None) -> Comparison:
    """`have`: the months the workbook holds data for; `today`: the month of --as-of."""
    size = period.last - period.first + 1
    covered = [m for m in period.months if m in have]
    prior = [month_of(month_index(m) - size) for m in covered]
    before = period.prior()
    notes = []
    missing = [m for m in period.months if m not in have]
    if covered and missing:
        trailing = all(month_index(m) > month_index(covered[-1]) for m in missing)
        if trailing and today is not None and month_index(period.end) >= month_index(today):
            notes.append(f"{period.title} so far ({month_span(covered)}) against the same months "
                         f"of {before.title}")
        else:
            notes.append(f"{period.title} holds data for {month_list(covered)} only; compared "
                         f"with the same months of {before.title}")
    absent = [m for m in prior if m not in have]
    if prior and absent:
        notes.append(f"{before.title} holds no data for those months" if len(absent) == len(prior)
                     else f"{before.title} has no data for {month_list(absent)}")
    return Comparison(covered, prior, "; ".join(notes) or None)


def month_name(period: str) -> str:
    import calendar

    return f"{calendar.month_name[int(period[5:7])]} {period[:4]}"


def month_span(months: list[str]) -> str:
    return month_name(months[0]) if len(months) == 1 else \
        f"{month_name(months[0])} to {month_name(months[-1])}"


def month_list(months: list[str]) -> str:
    """Consecutive months as spans: "July 2025 to February 2026, April 2026"."""
    runs: list[list[str]] = []
    for m in months:
        if runs and month_index(m) == month_index(runs[-1][-1]) + 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    return ", ".join(month_span(run) for run in runs)


def judged_on(period: Period, today: dt.date) -> dt.date:
    """The day a period's report is judged on when no --as-of is given: its last day, or
    today while it is not over (an October report shows October's world: no November
    meeting, no action overdue in November)."""
    year, month = map(int, month_of(period.last).split("-"))
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    return min(last, today)
