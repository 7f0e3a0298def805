"""Survey exports, exactly as the survey tools write them -> Survey rows.

The pipeline: decode the file (CSV or XLSX; UTF-8 with or without BOM, UTF-16,
Windows-1252; comma, semicolon or tab) -> recognise the tool from its headers (Microsoft
Forms, Qualtrics, SurveyMonkey, Google Forms, ServiceNow, or a plain CSV) and undo its
layout (extra header rows, one row per answer) -> match columns to Survey fields
(`--map FIELD=COLUMN`, else by the names these tools use) -> normalise each value (dates
as each tool writes them, scores on the common 5-point scales, agencies by id, name or
Settings alias) -> rows of text, each located at its line in the export, for the
workbook's own checks.

A response's identity is the tool's own id with the day it was submitted, never the file's
name: where the tool numbers responses per form (Microsoft Forms counts 1, 2, 3 in every
form) the id is written `7@2026-11-04`, so a new form's response 1 is a new response and a
re-download of this one is not (brm_xl.app.additions.response_identity matches them).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import polars as pl

from brm_xl.contract import tables as C
from brm_xl.contract.periods import excel_date
from brm_xl.contract.raw import ROW, RawTable
from brm_xl.problems import Problem, UsageError

# Survey field -> header keys (contract.header_key) the tools use for it, best first
ALIASES = {
    "response_id": ("responseid", "respondentid", "id", "response", "number", "instance",
                    "surveyid"),
    "submitted_on": ("completiontime", "recordeddate", "enddate", "submitted", "submittedat",
                     "timestamp", "syscreatedon", "created", "taken", "date", "completed"),
    "agency_id": ("agency", "agencycode", "agencyid", "department", "userdepartment",
                  "callerdepartment", "whichagencydoyouworkfor",
                  "whatagencyareyoufrom", "agencyname"),
    "respondent": ("name", "respondentname", "recipientemail", "emailaddress", "email",
                   "respondent", "assignedto", "user", "takenby"),
    "service_id": ("service", "servicecode", "serviceid"),
    "score": ("score", "rating", "satisfaction", "overallsatisfaction",
              "howsatisfiedareyou", "howsatisfiedareyouwiththeservice",
              "overallhowsatisfiedareyou", "overallhowsatisfiedareyouwiththeservice"),
    "comment": ("comments", "comment", "feedback", "whatcouldwedobetter", "anythingelse"),
}

# Word scales, casefolded with spaces collapsed -> 1..5
WORDS = {
    "extremely satisfied": 5, "very satisfied": 5, "completely satisfied": 5,
    "satisfied": 4, "somewhat satisfied": 4, "mostly satisfied": 4,
    "neither satisfied nor dissatisfied": 3, "neither satisfied or dissatisfied": 3,
    "neutral": 3, "neither": 3,
    "somewhat dissatisfied": 2, "dissatisfied": 2, "mostly dissatisfied": 2,
    "very dissatisfied": 1, "extremely dissatisfied": 1, "completely dissatisfied": 1,
    "strongly agree": 5, "agree": 4, "somewhat agree": 4,
    "neither agree nor disagree": 3, "somewhat disagree": 2, "disagree": 2,
    "strongly disagree": 1,
    "excellent": 5, "very good": 4, "good": 3, "fair": 2, "poor": 1,
}
SCORE_MAP_SETTING = "survey_score_map"  # the Settings key (contract.SETTINGS_DEFAULTS)
assert SCORE_MAP_SETTING in C.SETTINGS_DEFAULTS

_DATE_US = re.compile(  # 11/4/2026 2:15 PM, 4.11.2026 14:15 (either order: see _date_order)
    r"^(\d{1,2})[/.](\d{1,2})[/.](\d{2}|\d{4})(?:,?[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$")
DATE_ORDERS = ("mdy", "dmy")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")
_DATE_SERIAL = re.compile(r"^\d{5}(\.\d+)?$")
_LEADING_SCORE = re.compile(
    r"^\(?(\d{1,2})\)?(?:\s*[-:.)–]\s*\S.*|\s*(?:stars?|points?|/\s*5|out of 5))?$")
_NUMBER = re.compile(r"^\d{1,2}(\.0+)?$")


@dataclass
class Export:
    """An export as its tool laid it out, undone: one header and one record per response."""

    source: str  # "Microsoft Forms", "Qualtrics", ... or "generic"
    header: list[str]
    records: list[tuple[int, list[str]]]  # (line or row in the file, cells)
    labels: dict[int, str] = field(default_factory=dict)  # column -> question text (Qualtrics)
    per_form_ids: bool = False  # ids restart at 1 in every form
    derived_ids: bool = False  # the tool has no id column; ids are made from the answers
    unit: str = "line"  # what the location counts: "line" of a CSV, "row" of a sheet


def parse_maps(pairs: tuple[str, ...]) -> dict[str, str]:
    fields = {C.header_key(c.name): c.name for c in C.SURVEY.columns}
    out = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not column:
            raise UsageError(f"--map {pair!r}: use FIELD=COLUMN, e.g. score=\"How satisfied are you?\"")
        known = fields.get(C.header_key(name))
        if known is None:
            raise UsageError(f"--map {pair!r}: {name!r} is not a Survey column "
                             f"({', '.join(c.name for c in C.SURVEY.columns)})")
        out[known] = column
    return out


# ---- reading: bytes -> rows of text ---------------------------------------------------


def parse_aliases(pairs: tuple[str, ...]) -> dict[str, str]:
    """`--alias "Human Services"=DHS` pairs: the name an export uses -> an agency id."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, agency = pair.rpartition("=")
        name = name.strip().strip('"').strip("'").strip()
        if not sep or not name or not agency.strip():
            raise UsageError(f'--alias {pair!r}: write it as --alias "NAME"=AGENCY_ID, e.g. '
                             '--alias "Human Services"=DHS')
        out[name] = agency.strip()
    return out


def decode(data: bytes) -> str:
    """The export's text, whichever of the encodings survey tools and Excel write."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    if data[:3] == b"\xef\xbb\xbf":
        return data[3:].decode("utf-8", "replace")
    head = data[:2000]
    if head and head.count(0) > len(head) // 4:  # UTF-16 without a byte order mark
        return data.decode("utf-16-le" if head[1:2] == b"\x00" else "utf-16-be", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel_tab if sample.count("\t") > sample.count(",") else csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    rows, start = [], 1
    for cells in reader:
        rows.append((start, [c.replace("\x00", "") for c in cells]))
        start = reader.line_num + 1
    return rows


def _xlsx_rows(path: Path) -> list[tuple[int, list[str]]]:
    import fastexcel

    try:
        reader = fastexcel.read_excel(path.read_bytes())
        sheet = reader.load_sheet(0, header_row=None, dtypes="string")
        frame = pl.from_arrow(sheet.to_arrow())
    except Exception as exc:
        raise UsageError(f"{path.name} cannot be read as a workbook ({str(exc).splitlines()[0][:200]}); "
                         "download the export again, or save it as CSV") from None
    assert isinstance(frame, pl.DataFrame)
    return [(i, ["" if v is None else str(v) for v in row])
            for i, row in enumerate(frame.iter_rows(), 1)]


def read_export(path: Path) -> Export:
    """The export with its tool's layout undone (see the module's docstring)."""
    data = path.read_bytes()
    is_book = data[:2] == b"PK"
    rows = _xlsx_rows(path) if is_book else _csv_rows(decode(data))
    rows = [(n, cells) for n, cells in rows if any(c.strip() for c in cells)]
    if not rows:
        raise UsageError(f"{path.name} holds no rows")
    (_, header), body = rows[0], rows[1:]
    header = [h.strip() for h in header]
    keys = {C.header_key(h) for h in header}
    unit = "row" if is_book else "line"
    if {"responseid", "recordeddate"} <= keys or {"responseid", "startdate", "enddate"} <= keys:
        return _qualtrics(header, body, unit)
    if {"v1", "v2", "v8"} <= keys and body and "responseid" in {C.header_key(c) for c in body[0][1]}:
        return _qualtrics_legacy(header, body, unit)
    if {"respondentid", "collectorid"} <= keys:
        return _surveymonkey(header, body, unit)
    if "instance" in keys and "metric" in keys and keys & {"actualvalue", "stringvalue", "value"}:
        return _servicenow(header, body, unit)
    if {"id", "starttime", "completiontime"} <= keys:
        return Export("Microsoft Forms", header, body, per_form_ids=True, unit=unit)
    if header and C.header_key(header[0]) == "timestamp" and not keys & {"id", "responseid"}:
        return Export("Google Forms", header, body, derived_ids=True, unit=unit)
    return Export("generic", header, body, unit=unit)


def _qualtrics(header: list[str], body: list[tuple[int, list[str]]], unit: str) -> Export:
    """Row 2 is each question's text, row 3 its {"ImportId": ...}: labels, not responses."""
    labels: dict[int, str] = {}
    skip = 0
    for _, cells in body[:2]:
        first = next((c for c in cells if c.strip()), "")
        if first.startswith('{"ImportId"') or first.startswith("{'ImportId'"):
            skip += 1
        elif skip == 0 and C.header_key(first) in ("startdate", "responseid"):
            labels = {i: c.strip() for i, c in enumerate(cells) if c.strip()}
            skip += 1
    return Export("Qualtrics", header, body[skip:], labels=labels, unit=unit)


def _qualtrics_legacy(header: list[str], body: list[tuple[int, list[str]]],
                      unit: str) -> Export:
    """The legacy exporter: row 1 numbers the columns (`V1` .. `V10`, `Q1` ..), row 2 names
    them (`ResponseID`, `StartDate` .., then each question's text). The V columns take
    their names; a question keeps its number, its text a label `--map` may use."""
    names = body[0][1]
    merged, labels = [], {}
    for i, top in enumerate(header):
        below = names[i].strip() if i < len(names) else ""
        if re.fullmatch(r"V\d+", top) and below:
            merged.append(below)
        else:
            merged.append(top or below)
            if below and below != top:
                labels[i] = below
    return Export("Qualtrics", merged, body[1:], labels=labels, unit=unit)


def _surveymonkey(header: list[str], body: list[tuple[int, list[str]]], unit: str) -> Export:
    """Row 2 names each answer column under its question (`Response`, an option's text,
    `Open-Ended Response`); a question's later columns have a blank top header."""
    if not body:
        return Export("SurveyMonkey", header, body, unit=unit)
    sub = body[0][1]
    if sub and sub[0].strip():  # a respondent's id: the second header row was deleted, and
        return Export("SurveyMonkey", header, body, unit=unit)  # no response is a header
    merged, question = [], ""
    for i, top in enumerate(header):
        question = top or question
        below = sub[i].strip() if i < len(sub) else ""
        if not below or C.header_key(below) in ("response", "openendedresponse"):
            merged.append(question)
        else:
            merged.append(f"{question} - {below}" if question else below)
    return Export("SurveyMonkey", merged, body[1:], unit=unit)


def _servicenow(header: list[str], body: list[tuple[int, list[str]]], unit: str) -> Export:
    """`asmt_metric_result`: one row per answered question. Grouped into one record per
    survey instance; each metric (question) becomes a column of its answer."""
    keys = C.header_positions(header)

    def col(*names: str) -> int | None:
        return next((keys[n] for n in names if n in keys), None)

    inst, metric = col("instance"), col("metric")
    actual, text_value = col("actualvalue", "value"), col("stringvalue")
    user, created = col("user", "assignedto", "takenby"), col("syscreatedon", "created", "updated", "sysupdatedon")
    assert inst is not None and metric is not None

    def cell(cells: list[str], i: int | None) -> str:
        return cells[i].strip() if i is not None and i < len(cells) else ""

    used = {inst, metric, actual, text_value, user, created}
    others = [(i, h) for i, h in enumerate(header) if i not in used and h.strip()]
    grouped: dict[str, dict[str, str]] = {}
    first_line: dict[str, int] = {}
    questions: list[str] = []
    for line, cells in body:
        key = cell(cells, inst)
        if not key:
            continue
        rec = grouped.setdefault(key, {"Instance": key})
        first_line.setdefault(key, line)
        for i, h in others:  # the columns beside the answers (department, user's agency...)
            if cell(cells, i) and not rec.get(h):
                rec[h] = cell(cells, i)
        name = cell(cells, metric)
        answer = cell(cells, text_value) or cell(cells, actual)
        if name:
            if name not in questions:
                questions.append(name)
            rec[name] = answer
        if cell(cells, user):
            rec["User"] = cell(cells, user)
        when = cell(cells, created)
        if when and when > rec.get("Created", ""):
            rec["Created"] = when
    merged = ["Instance", "Created", "User", *[h for _, h in others if h not in questions],
              *questions]
    records = [(first_line[k], [rec.get(h, "") for h in merged]) for k, rec in grouped.items()]
    return Export("ServiceNow", merged, records, unit=unit)


# ---- columns: which export column fills which Survey field ---------------------------


def _key(text: str) -> str:
    """Headers and question texts match ignoring case, spaces and punctuation."""
    return re.sub(r"[\W_]+", "", str(text)).casefold()


def _columns(path: Path, export: Export, maps: dict[str, str],
             match: Matching) -> dict[str, int]:
    header = export.header
    keys: dict[str, int] = {}
    for i, text in enumerate(header):
        keys.setdefault(_key(text), i)
    label_keys: dict[str, int] = {}
    for i, text in export.labels.items():
        label_keys.setdefault(_key(text), i)
    index: dict[str, int] = {}
    for column in C.SURVEY.columns:
        if column.name == "source":  # the import's own record of the file
            continue
        if column.name in maps:
            wanted = maps[column.name]
            found = (header.index(wanted) if wanted in header else
                     keys.get(_key(wanted), label_keys.get(_key(wanted))))
            if found is None:
                raise UsageError(f"--map {column.name}={wanted!r}: {path.name} has no such column "
                                 f"(columns: {', '.join(h for h in header if h)})")
            index[column.name] = found
            continue
        for key in (_key(column.name), *ALIASES.get(column.name, ())):
            found = keys.get(key, label_keys.get(key))
            if found is not None and found not in index.values():
                index[column.name] = found
                break
    needed = [c.name for c in C.SURVEY.required_columns
              if c.name not in index and not (c.name == "response_id" and export.derived_ids)]
    if needed:
        raise UsageError(_map_advice(path, export, needed, index, match))
    return index


def _map_advice(path: Path, export: Export, needed: list[str], index: dict[str, int],
                match: Matching) -> str:
    """Which --map lines to add, guessed from the values (never applied unasked)."""
    lines = []
    taken = set(index.values())
    for name in needed:
        guess = _guess(export, name, taken, match)
        if guess is not None:
            taken.add(guess)
            lines.append(f'  --map {name}="{export.header[guess]}"')
    shown = ", ".join(h for h in export.header if h)
    return (f"{path.name} (read as a {export.source} export) has no column for "
            f"{', '.join(needed)}. " + (
                "Run again adding:\n" + "\n".join(lines) + "\n(guessed from the answers; "
                "check them) " if len(lines) == len(needed) else
                "Name each with --map FIELD=COLUMN. ") + f"Columns: {shown}")


def _guess(export: Export, name: str, taken: set[int], match: Matching) -> int | None:
    values = [[cells[i].strip() for _, cells in export.records[:200] if i < len(cells)
               and cells[i].strip()] for i in range(len(export.header))]
    best, best_share = None, 0.0
    for i, seen in enumerate(values):
        if i in taken or not seen or not export.header[i] or \
                C.header_key(export.header[i]) in _BOOKKEEPING:  # a tool's own column
            continue
        if name == "score":
            share = sum(1 for v in seen if _score(v, match.scores) is not None) / len(seen)
        elif name == "submitted_on":
            share = sum(1 for v in seen if _iso_date(v) != v) / len(seen)
        elif name == "agency_id":
            share = sum(1 for v in seen if _agency(v, match) != v
                        or v.casefold() in match.agencies) / len(seen)
        else:
            share = 0.0
        if share > best_share:
            best, best_share = i, share
    return best if best_share >= 0.5 else None


# ---- values ---------------------------------------------------------------------------


def score_map(text: str | None) -> dict[str, int]:
    """Settings survey_score_map ('0-6=1, 7-8=3, 9-10=5' or 'Good=4; Bad=2') -> value -> 1..5."""
    out: dict[str, int] = {}
    for item in re.split(r"[,;]", text or ""):
        left, sep, right = item.partition("=")
        if not sep:
            continue
        try:
            score = int(right.strip())
        except ValueError:
            raise UsageError(f"Settings {SCORE_MAP_SETTING}: {item.strip()!r} must map to a "
                             "whole score from 1 to 5") from None
        if not 1 <= score <= 5:
            raise UsageError(f"Settings {SCORE_MAP_SETTING}: {item.strip()!r} maps outside 1 to 5")
        span = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", left)
        if span:
            for n in range(int(span.group(1)), int(span.group(2)) + 1):
                out[str(n)] = score
        else:
            out[" ".join(left.split()).casefold()] = score
    return out


def _score(value: str, mapped: dict[str, int]) -> int | None:
    """1..5 from a number, a labelled number (`4 - Satisfied`) or a word scale; None if
    it is none of those (the workbook's own check then names the cell)."""
    words = " ".join(value.split()).casefold()
    number = words[:-2] if re.fullmatch(r"\d+\.0+", words) else words
    if mapped:
        if number in mapped:
            return mapped[number]
        lead = _LEADING_SCORE.match(words)
        if lead and lead.group(1) in mapped:
            return mapped[lead.group(1)]
    if words in WORDS:
        return WORDS[words]
    lead = _LEADING_SCORE.match(words)
    if lead and 1 <= int(lead.group(1)) <= 5:
        return int(lead.group(1))
    tail = re.sub(r"^\d+\s*[-:.)–]\s*", "", words)  # "5 - Very satisfied" read by its words too
    return WORDS.get(tail)


def _iso_date(value: str, order: str = "mdy") -> str:
    """ISO text from the ways tools and Excel write a moment: 2026-11-04 14:15:39,
    11/4/2026 2:15:39 PM, 11/4/26 14:15 (Forms saved through Excel), 4.11.2026 (a European
    Excel), an Excel serial; `order` says which of a slashed date's first two numbers is the
    month (decided for the whole file by _date_order, never guessed)."""
    m = _DATE_ISO.match(value)
    if m:
        return _checked(int(m.group(1)), int(m.group(2)), int(m.group(3)), value)
    m = _DATE_US.match(value)
    if m:
        year = int(m.group(3))
        if len(m.group(3)) == 2:
            year += 2000
        first, second = int(m.group(1)), int(m.group(2))
        month, day = (first, second) if order == "mdy" else (second, first)
        return _checked(year, month, day, value)
    if _DATE_SERIAL.match(value):
        return excel_date(float(value)).isoformat()
    return value


def _checked(year: int, month: int, day: int, value: str) -> str:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return value


@dataclass
class Matching:
    """How agencies and scores are recognised: the workbook's Agencies and Settings."""

    agencies: dict[str, str]  # casefolded id, name or alias -> the id as Agencies types it
    scores: dict[str, int]  # Settings survey_score_map
    date_order: str | None = None  # Settings survey_date_order: mdy or dmy
    tool_orders: dict[str, str] = field(default_factory=dict)  # tool -> mdy/dmy, as kept


def matching(agency_rows: list[tuple[str, str | None]], extra: dict[str, str],
             scale: str | None = None, date_order: str | None = None) -> Matching:
    """From (agency id, agency name) pairs, Settings' `agency_alias:TEXT` = ID rows and
    its survey_score_map."""
    agencies: dict[str, str] = {}
    ids = {a.casefold(): a for a, _ in agency_rows}
    for agency, name in agency_rows:
        agencies[agency.casefold()] = agency
        if name:
            agencies.setdefault(" ".join(name.split()).casefold(), agency)
    for key, value in extra.items():
        if key.casefold().startswith(C.AGENCY_ALIAS_PREFIX) and value:
            alias = " ".join(key[len(C.AGENCY_ALIAS_PREFIX):].split()).casefold()
            agencies[alias] = ids.get(value.strip().casefold(), value.strip())
    orders = {key[len(C.SURVEY_DATE_ORDER_PREFIX):].strip().casefold(): value.strip().casefold()
              for key, value in extra.items()
              if key.casefold().startswith(C.SURVEY_DATE_ORDER_PREFIX) and
              value.strip().casefold() in DATE_ORDERS}
    return Matching(agencies, score_map(scale), date_order, orders)


def _agency(value: str, match: Matching) -> str:
    plain = " ".join(value.split()).casefold()
    if plain in match.agencies:
        return match.agencies[plain]
    bare = re.sub(r"^(agency|department|dept\.?|office)\s+(of\s+)?", "", plain)
    return match.agencies.get(bare, value)


# ---- the whole import -----------------------------------------------------------------


@dataclass
class SurveyRows:
    raw: RawTable
    source: str
    form: str | None  # the form label ids were qualified with, if any
    settings: list[tuple[str, str]] = field(default_factory=list)  # rows to keep in Settings


def form_label(path: Path, export: Export, form: str | None) -> str | None:
    """What qualifies a response id beyond its submission day: --form, else nothing (the
    file's name never does: a re-download or a copy saved through Excel is the same
    responses under another name)."""
    return " ".join(form.split()) if form else None


def _date_order(path: Path, export: Export, index: dict[str, int],
                given: str | None, kept: str | None = None) -> tuple[str, bool]:
    """Month first or day first, decided from all of a file's dates: a first number above
    12 says day first, a second above 12 month first. Where every date could be either
    (every day 12 or less), the person says which (--date-order, or Settings
    survey_date_order): never a silent swap. Says too whether the dates left it to the
    person (so their answer is worth keeping)."""
    seen, day_first, month_first, example = False, False, False, None
    for name in ("submitted_on", "followed_up_on"):
        i = index.get(name)
        if i is None:
            continue
        for _, cells in export.records:
            m = _DATE_US.match(cells[i].strip()) if i < len(cells) else None
            if not m:
                continue
            year = int(m.group(3)) + (2000 if len(m.group(3)) == 2 else 0)
            a, b = int(m.group(1)), int(m.group(2))
            as_mdy, as_dmy = _is_date(year, a, b), _is_date(year, b, a)
            if "." in cells[i]:  # 4.11.2026: dotted dates are day first wherever written
                as_mdy = False
            if as_mdy or as_dmy:  # a date neither way is named at its cell by the checks
                seen = True
                example = example or cells[i].strip()
                month_first |= as_mdy and not as_dmy
                day_first |= as_dmy and not as_mdy
    if not seen:
        return given or kept or "mdy", False  # ISO dates or date cells: nothing to decide
    if day_first and month_first:
        raise UsageError(f"{path.name}: its dates mix month-first and day-first forms (e.g. "
                         f"{example!r}); export it again with one date format")
    found = "dmy" if day_first else "mdy" if month_first else None
    if found and given and given != found:
        raise UsageError(f"{path.name}: its dates are {_ORDER_WORDS[found]} (e.g. {example!r}), "
                         f"not {_ORDER_WORDS[given]} as --date-order says")
    if found:  # the dates decide; an answer kept for the tool is for files that cannot
        return found, False
    if given:
        return given, True
    if kept:
        return kept, False
    raise UsageError(f"{path.name}: its dates (e.g. {example!r}) could be month first or day "
                     "first, and every day in it is 12 or less, so brm_xl cannot tell which; run "
                     "again with --date-order mdy (month first, as US exports write them) or "
                     f"--date-order dmy (day first); the answer is kept in Settings "
                     f"({C.SURVEY_DATE_ORDER_PREFIX}{export.source}) for this tool's next exports")


_ORDER_WORDS = {"mdy": "month first", "dmy": "day first"}


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def survey_table(path: Path, maps: dict[str, str], match: Matching | dict[str, str],
                 form: str | None = None, date_order: str | None = None) -> SurveyRows:
    """The export as Survey rows of text, located at their lines, ready for the checks."""
    if not isinstance(match, Matching):  # agency name -> id, as older callers pass
        match = Matching({k.casefold(): v for k, v in match.items()}, {})
    export = read_export(path)
    index = _columns(path, export, maps, match)
    label = form_label(path, export, form)
    kept = match.tool_orders.get(export.source.casefold()) or match.date_order
    order, asked = _date_order(path, export, index, date_order, kept)
    keep = [(f"{C.SURVEY_DATE_ORDER_PREFIX}{export.source}", order)] \
        if asked and date_order and date_order != kept else []
    columns: dict[str, list[str | None]] = {c.name: [] for c in C.SURVEY.columns
                                            if c.name in index}
    columns.setdefault("response_id", [])
    for _line, cells in export.records:
        values = {name: (cells[i].strip() or None) if i < len(cells) else None
                  for name, i in index.items()}
        for name in columns:
            value = values.get(name)
            if name == "response_id":
                value = _response_id(export, values, cells, label, order)
            columns[name].append(_normalise(name, value, match, order) if name != "response_id"
                                 else value)
    columns["source"] = [path.name] * len(export.records)  # the file each response came in
    frame = pl.DataFrame({**columns, ROW: [line for line, _ in export.records]},
                         schema={**{n: pl.String for n in columns}, ROW: pl.Int64})
    name = path.name
    prefix = f"{name}:" if export.unit == "line" else f"{name}:row "
    raw = RawTable(C.SURVEY, name, frame, locate=lambda column, row: f"{prefix}{row or 1}")
    raw.problems.extend(_other_scale(export, index.get("score"), match, f"{prefix}1"))
    raw.problems.extend(_not_imported(export, index, f"{prefix}1"))
    return SurveyRows(raw, export.source, label, keep)


# the tools' own bookkeeping columns, never answers (listed all the same, in one line)
_BOOKKEEPING = {"starttime", "startdate", "enddate", "status", "ipaddress", "progress",
                "durationinseconds", "finished", "distributionchannel", "userlanguage",
                "recipientlastname", "recipientfirstname", "externalreference",
                "locationlatitude", "locationlongitude", "collectorid", "lastmodifieddate",
                "email", "emailaddress", "customdata1", "lastmodifiedtime",
                "responseset", "externaldatareference", "locationaccuracy"}  # the legacy V columns


_COMMENT_WORDS = re.compile(r"(?i)comment|anything else|suggestion|feedback|could we do|"
                            r"do better|improve")


def _not_imported(export: Export, index: dict[str, int], where: str) -> list[Problem]:
    """Nothing ignored without a word: every column not imported, in one warning, and a
    free-text column that reads like comments suggested as `--map comment=...`."""
    used = set(index.values())
    left = [i for i, h in enumerate(export.header) if h and i not in used]
    if not left:
        return []
    def named(i: int) -> str:
        label = export.labels.get(i)
        return repr(export.header[i]) + (f" ({label})" if label and label != export.header[i]
                                         else "")
    out = [Problem(where, "not imported: " + ", ".join(named(i) for i in left),
                   "not-imported", "warning")]
    if "comment" not in index:
        found = []
        for i in left:
            if C.header_key(export.header[i]) in _BOOKKEEPING:
                continue
            texts = [cells[i].strip() for _, cells in export.records
                     if i < len(cells) and cells[i].strip()]
            words = [t for t in texts if " " in t and not _NUMBER.match(t)
                     and _iso_date(t) == t and "@" not in t]
            # a question that asks for comments holds them, however short ("fine")
            asks = _COMMENT_WORDS.search(f"{export.header[i]} {export.labels.get(i, '')}")
            free = [t for t in texts if not _NUMBER.match(t) and _iso_date(t) == t]
            if (words and len(words) >= len(texts) / 2) or (asks and free):
                found.append(i)
        if found:
            out.append(Problem(where, " and ".join(named(i) for i in found) + (
                " read" if len(found) > 1 else " reads") + " like comments and "
                f"{'are' if len(found) > 1 else 'is'} not imported; to keep them, run again "
                f"with --map comment=\"{export.header[found[-1]]}\" (one column: Survey has "
                "one comment)", "comment-not-imported", "warning"))
    return out


def _response_id(export: Export, values: dict[str, str | None], cells: list[str],
                 label: str | None, order: str) -> str | None:
    """The tool's own id; where the tool numbers responses per form (Microsoft Forms: 1, 2,
    3 in every form) with the day it was submitted (`7@2026-11-04`), so next quarter's
    response 7 is another response and a re-download of this one is not."""
    rid = values.get("response_id")
    if rid and export.per_form_ids and values.get("submitted_on"):
        try:
            rid = f"{rid}@{_iso_date(values['submitted_on'] or '', order)}"
        except ValueError:
            pass  # the date is reported at its cell by the checks
    if export.derived_ids and not rid:
        # Google Forms: no id column; the moment and who answered name a response (and,
        # for an anonymous one, its answers), the same on every download
        seed = values.get("submitted_on") or ""
        who = values.get("respondent") or "\x1f".join(c.strip() for c in cells)
        digest = hashlib.blake2b(f"{seed}\x1e{who}".encode(), digest_size=5).hexdigest()
        rid = f"G-{digest.upper()}"
    if rid and label:
        return f"{label}#{rid}"
    return rid


def _normalise(name: str, value: str | None, match: Matching, order: str = "mdy") -> str | None:
    if value is None:
        return None
    if name in ("submitted_on", "followed_up_on"):
        return _iso_date(value, order)
    if name == "score":
        score = _score(value, match.scores)
        return str(score) if score is not None else value
    if name == "agency_id":
        return _agency(value, match)
    if name == "respondent" and value.casefold() == "anonymous":
        return None  # Forms writes "anonymous" for an anonymous form
    return value


def _other_scale(export: Export, column: int | None, match: Matching,
                 where: str) -> list[Problem]:
    """Numbers outside 1 to 5 (a 0-10 NPS or a 1-7 scale, or a slip): each row is named by
    the checks; this says once how to convert another scale."""
    if column is None or match.scores:
        return []
    numbers = set()
    for _, cells in export.records:
        text = cells[column].strip() if column < len(cells) else ""
        if _NUMBER.match(text):
            numbers.add(int(Decimal(text)))
    outside = sorted(n for n in numbers if not 1 <= n <= 5)
    if not outside:
        return []
    high = max(numbers)
    example = "0-6=1, 7-8=3, 9-10=5" if high > 7 else "1-2=1, 3=2, 4=3, 5-6=4, 7=5"
    return [Problem(where, f"{export.header[column]!r} holds {', '.join(map(str, outside[:5]))} "
                    f"(scores run {min(numbers)} to {high}), outside the 1 to 5 scale Survey "
                    "uses; if the survey asks on another scale, say how it becomes 1 to 5 "
                    f"with a Settings row {SCORE_MAP_SETTING}, e.g. {example}", "other-scale")]
