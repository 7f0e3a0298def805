"""Survey results exported as CSV (Microsoft Forms, Qualtrics, ServiceNow) -> Survey rows.

Columns are matched to Survey fields by `--map FIELD=COLUMN`, else by name (loosely, and
through the usual names these tools use). Values are normalised the way the tools write
them: US dates (`11/3/2026 2:05 PM`), scores with labels (`4 - Satisfied`), agencies by
name. Every problem is reported at its CSV line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import polars as pl

from . import contract as C
from .problems import UsageError
from .workbook.reader import ROW, RawTable

ALIASES = {
    "response_id": ("id", "responseid", "response", "number", "surveyid"),
    "submitted_on": ("completiontime", "submitted", "submittedat", "enddate", "recordeddate",
                     "syscreatedon", "date", "completed", "timestamp"),
    "agency_id": ("agency", "agencycode", "department"),
    "respondent": ("name", "respondentname", "email", "recipientemail", "takenby", "user"),
    "service_id": ("service", "servicecode"),
    "score": ("rating", "satisfaction", "overallsatisfaction"),
    "comment": ("comments", "feedback", "whatcouldwedobetter"),
}
LABELS = {
    "very dissatisfied": "1", "dissatisfied": "2", "neutral": "3",
    "neither satisfied nor dissatisfied": "3", "satisfied": "4", "very satisfied": "5",
}
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$")
_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T].*)?$")


def parse_maps(pairs: tuple[str, ...]) -> dict[str, str]:
    fields = {C.header_key(c.name): c.name for c in C.SURVEY.columns}
    out = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not column:
            raise UsageError(f"--map {pair!r}: use FIELD=COLUMN, e.g. score=\"How satisfied are you?\"")
        name = fields.get(C.header_key(field))
        if name is None:
            raise UsageError(f"--map {pair!r}: {field!r} is not a Survey column "
                             f"({', '.join(c.name for c in C.SURVEY.columns)})")
        out[name] = column
    return out


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, cells) of each record of a CSV export."""
    data = path.read_bytes()
    if data[:2] == b"PK":
        raise UsageError(f"{path.name} is an Excel workbook; import-survey reads the CSV export "
                         "(in Excel: File > Save As > CSV UTF-8), then run it on the .csv")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", "replace")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    header = next(reader, [])
    rows = []
    start = reader.line_num + 1
    for cells in reader:
        if any(c.strip() for c in cells):
            rows.append((start, cells))
        start = reader.line_num + 1
    return header, rows


def survey_table(path: Path, maps: dict[str, str],
                 agency_names: dict[str, str]) -> RawTable:
    """The CSV as Survey rows of text, located by line, ready for the workbook's checks."""
    header, records = read_rows(path)
    index = _columns(path, header, maps)
    columns: dict[str, list[str | None]] = {name: [] for name in index}
    for _line, cells in records:
        for name, i in index.items():
            value = cells[i].strip() if i < len(cells) and cells[i].strip() else None
            columns[name].append(_normalise(name, value, agency_names))
    frame = pl.DataFrame({**columns, ROW: [line for line, _ in records]},
                         schema={**{n: pl.String for n in columns}, ROW: pl.Int64})
    name = path.name
    raw = RawTable(C.SURVEY, name, frame, locate=lambda column, row: f"{name}:{row or 1}")
    return raw


def _columns(path: Path, header: list[str], maps: dict[str, str]) -> dict[str, int]:
    keys = C.header_positions(header)
    index: dict[str, int] = {}
    for column in C.SURVEY.columns:
        if column.name in maps:
            wanted = maps[column.name]
            if wanted not in header and C.header_key(wanted) not in keys:
                raise UsageError(f"--map {column.name}={wanted!r}: {path.name} has no such column "
                                 f"(columns: {', '.join(header)})")
            index[column.name] = header.index(wanted) if wanted in header else keys[C.header_key(wanted)]
            continue
        for key in (C.header_key(column.name), *ALIASES.get(column.name, ())):
            if key in keys:
                index[column.name] = keys[key]
                break
    missing = [c.name for c in C.SURVEY.required_columns if c.name not in index]
    if missing:
        raise UsageError(f"{path.name}: no column for {', '.join(missing)}; name it with "
                         f"--map FIELD=COLUMN (columns: {', '.join(header)})")
    return index


def _normalise(name: str, value: str | None, agency_names: dict[str, str]) -> str | None:
    if value is None:
        return None
    if name in ("submitted_on", "followed_up_on"):
        return _iso_date(value)
    if name == "score":
        label = LABELS.get(value.casefold())
        if label:
            return label
        m = re.match(r"^([1-5])(\s*[-:(].*)?$", value)
        return m.group(1) if m else value
    if name == "agency_id":
        return agency_names.get(value.casefold(), value)
    return value


def _iso_date(value: str) -> str:
    m = _ISO_DATE.match(value)
    if m:
        return m.group(1)
    m = _US_DATE.match(value)
    if m:
        month, day, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            return value
    return value
