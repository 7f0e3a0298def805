"""The seal on the books: what each close published, chained to every close before it.

Pure functions over tables already read: no files, no clock.

A close (and a reopen) is a **seal record**: the month, who, when, why, and everything the
close published or relied on (each agency's charges per service, the users its cost per
user was figured on, the statewide figures, the Adjustments rows dated in the month, the
dispute and service credits put on its bills, the GL accounts its journal posts to, the
AuditLog's chain value at that moment) with the seal of the record before it. The seal
is a BLAKE2b digest of all that, so one changed character anywhere in a record, or a
record removed from the middle, breaks every seal after it.

The records are kept in the workbook on a sheet Excel does not show (`BrmSeals`,
"very hidden"), compressed, one or a few cells a close; the visible tables (Closes,
PublishedCharges, PublishedHeadcount) are compared with them on every load, so an edit
is named at its cell with the value that was published. AuditLog rows carry a sequence
number and a chain value of their own (each row's digest includes the one before), so
sorting a sheet is not a change and rewriting or deleting a row is.

What this proves, and what it does not: any edit made in Excel (or any program that edits
cells) to a closed month's published rows, its Closes row, its Adjustments, the sealed
records or the AuditLog is found and named. Someone who rewrites the hidden records and
recomputes every digest (a deliberate forgery with this program's source at hand) makes
a workbook that is consistent with itself; that is caught only outside the workbook: by
`brm-xl verify` against the journals and reports already sent, which carry the seal, and
by the office's ledger (brm_xl.books.ledger).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import re
import secrets
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from brm_xl.contract.history import Pins, Record, Verified, digest
from brm_xl.contract.periods import EXCEL_EPOCH
from brm_xl.problems import Problem

SEALS = "BrmSeals"  # the very hidden sheet (and Excel table) holding the seal records
CHUNK = 30_000  # characters of a record per cell (Excel holds 32,767)
MAX_MONEY = Decimal("1e13")  # a bill line of ten trillion dollars is a typing error
SHORT = 12  # hex digits of a seal shown to people and put in file names




def short(seal: str) -> str:
    return seal[:SHORT]


def new_book_id() -> str:
    return secrets.token_hex(8)


# ---- canonical values: a cell as brm_xl wrote it, as Excel or LibreOffice saved it --------

class Unreadable(ValueError):
    """A cell that cannot be the kind of value its column holds; its message says why."""


def money_text(value: Any) -> str:
    """'4030', '4030.0', 4030.00, '4.03E3' -> '4030.00'; text, blanks and absurd sizes refused."""
    if value is None or str(value).strip() == "":
        raise Unreadable("is blank")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise Unreadable(f"'{_clip(value)}' is not an amount") from None
    if not amount.is_finite() or abs(amount) >= MAX_MONEY:
        raise Unreadable(f"'{_clip(value)}' is not a plausible amount")
    return f"{amount.quantize(Decimal('0.01')):.2f}"


def count_text(value: Any, blank: bool = False) -> str:
    if value is None or str(value).strip() == "":
        if blank:
            return ""
        raise Unreadable("is blank")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise Unreadable(f"'{_clip(value)}' is not a whole number") from None
    if not number.is_finite() or number != number.to_integral_value() or abs(number) > 10**12:
        raise Unreadable(f"'{_clip(value)}' is not a whole number")
    return str(int(number))


SERIAL = re.compile(r"^\d{1,6}(\.\d+)?$")  # a date or time as Excel keeps it: days since 1899-12-30


def when_text(value: Any) -> str:
    """A timestamp to the second, however the cell holds it (ISO text, a serial number)."""
    if value is None or str(value).strip() == "":
        raise Unreadable("is blank")
    return _when(str(value).strip())


@functools.lru_cache(maxsize=4096)  # a close's rows share one timestamp
def _when(text: str) -> str:
    value = text
    try:
        if SERIAL.match(text):
            when = EXCEL_EPOCH + dt.timedelta(seconds=round(float(text) * 86400))
        else:
            when = dt.datetime.fromisoformat(text)
            if when.microsecond:
                when = (when + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
    except (ValueError, OverflowError):
        raise Unreadable(f"'{_clip(value)}' is not a date and time") from None
    return when.replace(tzinfo=None).isoformat(sep=" ")


def text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _clip(value: Any) -> str:
    shown = str(value).replace("\n", " ")
    return shown if len(shown) <= 40 else shown[:37] + "..."


def shown_money(text_value: str) -> str:
    return f"{Decimal(text_value):,.2f}"


# ---- records ---------------------------------------------------------------------------



_PACKED: dict[str, str] = {}  # seal -> the text it was read as (a sealed record never changes)


def encode(record: Record) -> list[tuple[int, str, str, str, int, str]]:
    """BrmSeals rows for one record: (seq, period, status, seal, part, data)."""
    packed = _PACKED.get(record.seal) if record.seal and digest(record.body()) == record.seal \
        else None
    if packed is None:
        packed = base64.b64encode(zlib.compress(json.dumps(
            record.__dict__, sort_keys=True, separators=(",", ":")).encode("utf-8"), 6)).decode()
    parts = [packed[i:i + CHUNK] for i in range(0, len(packed), CHUNK)] or [""]
    return [(record.seq, record.period, record.status, record.seal, n + 1, part)
            for n, part in enumerate(parts)]


def decode(rows: Sequence[dict[str, Any]], where: Any) -> tuple[list[Record], list[Problem]]:
    """The seal records from BrmSeals rows (each row's `_row` for naming its cell)."""
    by_seq: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_seq[text(row.get("seq"))].append(row)
    records, problems = [], []
    for seq, parts in sorted(by_seq.items(), key=lambda kv: _int(kv[0])):
        parts.sort(key=lambda r: _int(text(r.get("part"))))
        packed = "".join(text(r.get("data")) for r in parts)
        try:
            data = json.loads(zlib.decompress(base64.b64decode(packed, validate=True)))
            record = Record(**data)
        except (ValueError, TypeError, zlib.error):
            problems.append(Problem(where("data", parts[0].get("_row")),
                                    f"the seal record of close #{seq} cannot be read: the "
                                    "hidden BrmSeals sheet was edited or damaged", "broken-seal"))
            continue
        for row in parts:  # each cell's label says which record it holds
            for column, value in (("seq", str(record.seq)), ("period", record.period),
                                  ("status", record.status), ("seal", record.seal)):
                if not _same("int" if column == "seq" else "text", row.get(column), value):
                    problems.append(Problem(where(column, row.get("_row")),
                                            f"'{value}' was written here with close "
                                            f"#{record.seq}: the hidden BrmSeals sheet was "
                                            "edited", "broken-seal"))
        if len(_PACKED) > 10_000:
            _PACKED.clear()
        _PACKED[record.seal] = packed
        records.append(record)
    return records, problems


def _int(value: str) -> int:
    try:
        return int(Decimal(value))
    except (InvalidOperation, ValueError):
        return 10**9


# ---- the AuditLog chain ------------------------------------------------------------------

AUDIT_FIELDS = ("at", "by", "action", "period", "before", "after")


def audit_link(previous: str, seq: int, row: dict[str, Any]) -> str:
    try:
        at = when_text(row.get("at")) if text(row.get("at")) else ""
    except Unreadable:
        at = "\x00" + text(row.get("at"))  # never the value a row was written with
    values = [at] + [text(row.get(f)) for f in AUDIT_FIELDS[1:]]
    return digest([previous, seq, *values], size=16)


# ---- verification ------------------------------------------------------------------------



class Table:
    """One log table as read: its rows (text, with `_row`) and how to name a cell. Built
    from rows, or from the reader's frame (rows are then made only when asked for)."""

    def __init__(self, rows: list[dict[str, Any]] | None, where: Any,
                 error_cells: Iterable[Any] = (), frame: pl.DataFrame | None = None):
        self._rows = rows
        self.frame = frame
        self.where = where
        self.errors = set(error_cells)

    @property
    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            self._rows = list(self.frame.iter_rows(named=True)) if self.frame is not None else []
        return self._rows

    def now(self, column: str, row: dict[str, Any]) -> str:
        if (column, row.get("_row")) in self.errors:
            return "an Excel error value"
        value = text(row.get(column))
        return f"'{_clip(value)}'" if value else "blank"


def verify(tables: dict[str, Table], adjustments: list[dict[str, Any]] | None,
           adjustment_where: Any = None) -> Verified:
    """Check every seal of a workbook (see the module docstring). `tables`: Closes,
    PublishedCharges, PublishedHeadcount, AuditLog, BrmSeals as read; `adjustments`: the
    Adjustments input rows (typed: period, agency_id, service_id, amount, reason, _row)."""
    empty = Table([], lambda c, r=None: "?")
    seals = tables.get(SEALS, empty)
    closes = tables.get("Closes", empty)
    heads = [r for r in seals.rows if text(r.get("status")) == "audit"]
    records, problems = decode([r for r in seals.rows if text(r.get("status")) != "audit"],
                               seals.where)
    audit = tables.get("AuditLog", empty)
    head, audit_problems, audit_ok = _audit_chain(audit)
    if not records and heads:  # sealed, with no close yet: the AuditLog's length only
        verified = Verified([], problems, audit_head=head, audit_ok=audit_ok)
        verified.problems += audit_problems
        if closes.rows:
            verified.problems.append(Problem(closes.where("period"), "Closes has rows but the "
                                             "hidden BrmSeals sheet holds no seal for them: a "
                                             "month is closed only by brm-xl close",
                                             "broken-seal"))
        _audit_reached(verified, audit, heads)
        return verified
    if not records and _sealed_once(closes, audit):
        return Verified([], problems + [Problem(
            SEALS, "the seal records of this workbook's closes are missing (the hidden "
            "BrmSeals sheet was deleted or emptied), so what was published cannot be "
            "checked; restore the workbook from a copy, or compare it with the ledger and "
            "journals (brm-xl verify)", "broken-seal")], audit_head=head, audit_ok=audit_ok)
    if not records:
        verified = _legacy(tables, problems, adjustments or [])
        verified.audit_head, verified.audit_ok = head, audit_ok
        verified.problems += audit_problems if audit_ok else []
        return verified
    verified = Verified(records, problems, book=records[0].book, audit_head=head,
                        audit_ok=audit_ok)
    verified.problems += audit_problems
    if not audit_ok and audit.rows:
        verified.problems.append(Problem(audit.where("seq"), "AuditLog rows have lost their "
                                         "sequence number and chain value (a column was "
                                         "deleted or blanked)", "broken-seal"))
    _chain(verified)
    _closes_rows(verified, closes)
    _published(verified, tables.get("PublishedCharges", empty), "charges")
    _published(verified, tables.get("PublishedHeadcount", empty), "users")
    if adjustments is not None:
        _adjustments(verified, adjustments, adjustment_where)
    _audit_reached(verified, audit, heads)
    return verified


_SEALED = re.compile(r"seal [0-9a-f]{64}")


def _sealed_once(closes: Table, audit: Table) -> bool:
    """Whether brm_xl ever sealed this workbook's closes (so no seal records is a deletion,
    never a workbook from before seals)."""
    return any(text(r.get("seal")) or text(r.get("seq")) for r in closes.rows) or any(
        text(r.get("chain")) or _SEALED.search(text(r.get("after"))) for r in audit.rows)


def _chain(v: Verified) -> None:
    previous = ""
    for n, r in enumerate(v.records, start=1):
        if r.seq != n:
            v.problems.append(Problem(SEALS, f"close #{n} is missing from the seal records (the "
                                      f"next is #{r.seq}): the hidden BrmSeals sheet was edited",
                                      "broken-seal"))
            v.broken.add(r.period)
        if r.previous != previous or digest(r.body()) != r.seal or r.book != v.book:
            v.problems.append(Problem(SEALS, f"the seal of close #{r.seq} ({r.period}) does not "
                                      "match what it seals: the hidden BrmSeals sheet was edited",
                                      "broken-seal"))
            v.broken.add(r.period)
        previous = r.seal


CLOSES_FIELDS = ("period", "status", "closed_at", "closed_by", "reason", "lines",
                 "charges_total", "seal")


def close_values(r: Record) -> dict[str, str]:
    return {"seq": str(r.seq), "period": r.period, "status": r.status,
            "closed_at": r.closed_at, "closed_by": r.closed_by, "reason": r.reason,
            "lines": str(r.lines) if r.status == "closed" else "0",
            "charges_total": r.total if r.status == "closed" else "0.00", "seal": r.seal}


def _canon(kind: str, value: Any) -> str:
    if kind == "money":
        return money_text(value)
    if kind == "int":
        return count_text(value)
    if kind == "count?":
        return count_text(value, blank=True)
    if kind == "when":
        return when_text(value)
    return text(value)


CLOSES_KINDS = {"seq": "int", "period": "text", "status": "text", "closed_at": "when",
                "closed_by": "text", "reason": "text", "lines": "int",
                "charges_total": "money", "seal": "text"}


def _closes_rows(v: Verified, closes: Table) -> None:
    by_seq: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in closes.rows:
        try:
            by_seq[count_text(row.get("seq"))].append(row)
        except Unreadable:
            by_seq[""].append(row)
    known = {str(r.seq) for r in v.records}
    by_seal = {text(row.get("seal")): (seq, row) for seq, rows in by_seq.items()
               if seq not in known for row in rows}
    for r in v.records:
        rows = by_seq.pop(str(r.seq), [])
        said = _said(r)
        if not rows and r.seal in by_seal:  # its row, with the sequence number retyped
            seq, row = by_seal.pop(r.seal)
            by_seq[seq] = [x for x in by_seq.get(seq, []) if x is not row]
            v.problems.append(Problem(closes.where("seq", row.get("_row")),
                                      f"'{r.seq}' was recorded when {said}; it now reads "
                                      f"{closes.now('seq', row)}", "broken-seal"))
            v.broken.add(r.period)
            rows = [row]
            expected = close_values(r)
            for column in CLOSES_FIELDS:
                if not _same(CLOSES_KINDS[column], row.get(column), expected[column]):
                    v.problems.append(Problem(
                        closes.where(column, row.get("_row")),
                        f"{_show(column, expected[column])} was recorded when {said}; it now "
                        f"reads {closes.now(column, row)}", "broken-seal"))
            continue
        if not rows:
            v.problems.append(Problem(
                closes.where("period"), f"the Closes row of close #{r.seq} is missing ({said}); "
                "a month is reopened only by brm-xl reopen, with a reason, never by deleting "
                "its row", "broken-seal"))
            v.broken.add(r.period)
            continue
        row = rows[0]
        expected = close_values(r)
        for column in CLOSES_FIELDS:
            if not _same(CLOSES_KINDS[column], row.get(column), expected[column]):
                v.problems.append(Problem(
                    closes.where(column, row.get("_row")),
                    f"{_show(column, expected[column])} was recorded when {said}; it now reads "
                    f"{closes.now(column, row)} (only brm-xl reopen reopens a month)",
                    "broken-seal"))
                v.broken.add(r.period)
        for extra in rows[1:]:
            v.problems.append(Problem(closes.where("seq", extra.get("_row")),
                                      f"a second Closes row for close #{r.seq}, which brm_xl did "
                                      "not write; delete it", "broken-seal"))
    for rows in by_seq.values():
        for row in rows:
            v.problems.append(Problem(
                closes.where("period", row.get("_row")),
                f"a Closes row brm_xl did not write (period {closes.now('period', row)}, no seal "
                "of its own): a month is closed only by brm-xl close; delete this row",
                "broken-seal"))


def _same(kind: str, value: Any, expected: str) -> bool:
    if kind == "money" and value is not None:  # the common case, without rounding: fast
        try:
            amount = Decimal(str(value))
            if amount.is_finite() and abs(amount) < MAX_MONEY:  # a double's noise, not cents
                return abs(amount - Decimal(expected)) < Decimal("0.000001")
        except InvalidOperation:
            return False
    try:
        return _canon(kind, value) == expected
    except Unreadable:
        return False


def _show(column: str, value: str) -> str:
    if column in ("amount", "charges_total"):
        return shown_money(value)
    return f"'{value}'" if value else "blank"


def _said(r: Record) -> str:
    return f"{r.period} was closed on {r.closed_at[:10]}" if r.status == "closed" else \
        f"{r.period} was reopened on {r.closed_at[:10]}"


PUBLISHED = {
    "charges": ("amount", "money", lambda a, s: f"{a} {s or 'adjustments'}"),
    "users": ("users", "count?", lambda a, s: f"{a}'s users"),
}


def _published(v: Verified, table: Table, what: str) -> None:
    """Every visible row of PublishedCharges (or PublishedHeadcount) against the records:
    an edited cell is one problem at that cell; a deleted or added row one problem."""
    value_col, kind, name = PUBLISHED[what]
    expected: dict[tuple[str, str, str, str], tuple[Record, str]] = {}
    for r in v.records:
        if r.status != "closed":
            continue
        for line in (r.charges if what == "charges" else r.users):
            agency, service, value = (line[0], line[1], line[2]) if what == "charges" else \
                (line[0], "", line[1])
            expected[(r.period, r.closed_at, agency.upper(), service.upper())] = (r, value)
    if table.frame is not None and expected:  # the rows as published, matched column-wise
        agreed, keys = _agreed(table.frame, expected, value_col, kind, what)
        rows = list(table.frame.filter(~pl.col("_row").is_in(list(agreed))).iter_rows(named=True))
        for key in keys:
            del expected[key]
    else:
        rows = table.rows
    keyed: list[tuple[tuple[str, str, str, str], dict[str, Any]]] = []
    unmatched: list[dict[str, Any]] = []
    for row in rows:
        try:
            keyed.append(((text(row.get("period")), when_text(row.get("closed_at")),
                           text(row.get("agency_id")).upper(),
                           text(row.get("service_id")).upper()), row))
        except Unreadable:
            unmatched.append(row)
    later = []
    for key, row in keyed:  # first the rows exactly as published (a key twice: the right one)
        found = expected.get(key)
        if found is not None and _same(kind, row.get(value_col), found[1]):
            del expected[key]
        else:
            later.append((key, row))
    for key, row in later:
        found = expected.pop(key, None)
        if found is None:
            unmatched.append(row)
            continue
        r, value = found
        v.problems.append(Problem(
            table.where(value_col, row.get("_row")),
            f"{_value(kind, value)} was published for {name(key[2], key[3])} when "
            f"{_said(r)}; it now reads {table.now(value_col, row)}", "broken-seal"))
        v.broken.add(r.period)
    # rows whose key was edited: pair each with the published row it differs from in one cell
    left = dict(expected)
    columns = ["period", "closed_at", "agency_id"] + (["service_id"] if what == "charges"
                                                       else []) + [value_col]
    index: dict[tuple[str, tuple[str, ...]], list[Any]] = defaultdict(list)
    for key, (_, value) in left.items():
        fields = dict(zip(("period", "closed_at", "agency_id", "service_id"), key))
        fields[value_col] = value
        for c in columns:
            index[(c, tuple(fields[o] for o in columns if o != c))].append(key)
    for row in unmatched:
        fields = _canon_row(row, value_col, kind)
        pair = None
        for c in columns:
            for key in index.get((c, tuple(fields[o] for o in columns if o != c)), []):
                if key in left:
                    pair = key, c
                    break
            if pair:
                break
        if pair is not None:
            key, column = pair
            r, value = left.pop(key)
            was = {"period": key[0], "closed_at": key[1], "agency_id": key[2],
                   "service_id": key[3], value_col: value}[column]
            v.problems.append(Problem(
                table.where(column, row.get("_row")),
                f"{_show(column, was) if column != value_col else _value(kind, was)} was "
                f"published in this row when {_said(r)}; it now reads {table.now(column, row)}",
                "broken-seal"))
            v.broken.add(r.period)
            continue
        v.problems.append(Problem(
            table.where("period", row.get("_row")),
            f"a row that no close published ({table.now('period', row)}, "
            f"{table.now('agency_id', row)}): delete it; a correction goes through Adjustments "
            "in an open month", "broken-seal"))
        v.broken.add(text(row.get("period")))
    for key, (r, value) in sorted(left.items()):
        v.problems.append(Problem(
            table.where("period"),
            f"the row publishing {_value(kind, value)} for {name(key[2], key[3])} when "
            f"{_said(r)} is missing", "broken-seal"))
        v.broken.add(r.period)


def _agreed(frame: pl.DataFrame, expected: dict[tuple[str, str, str, str], tuple[Record, str]],
            value_col: str, kind: str, what: str) -> tuple[set[int], list[Any]]:
    """The visible rows (by `_row`) that are exactly as published, found column-wise, and
    their keys: only the others are looked at one by one (a 100-agency workbook's two years
    of closes are 96,000 rows, checked on every load)."""
    columns = ["period", "closed_at", "agency_id", value_col] + (
        ["service_id"] if what == "charges" else [])
    if any(c not in frame.columns for c in columns) or frame.height == 0:
        return set(), []
    stamps: dict[str, str | None] = {}
    for stamp in frame["closed_at"].drop_nulls().unique().to_list():
        try:
            stamps[stamp] = when_text(stamp)
        except Unreadable:
            stamps[stamp] = None
    number = pl.Decimal(38, 2) if kind == "money" else pl.Int64
    service = pl.col("service_id") if what == "charges" else pl.lit(None, pl.String)
    seen = frame.select(
        pl.col("_row"), pl.col("period").str.strip_chars().alias("p"),
        pl.col("closed_at").replace_strict(stamps, default=None, return_dtype=pl.String).alias("c"),
        pl.col("agency_id").str.strip_chars().str.to_uppercase().alias("a"),
        service.fill_null("").str.strip_chars().str.to_uppercase().alias("s"),
        pl.col(value_col).str.strip_chars().cast(number, strict=False).alias("v"),
        pl.col(value_col).is_null().alias("blank"))
    seen = seen.filter(pl.len().over("p", "c", "a", "s") == 1)  # a key twice: one by one
    keys = list(expected)
    values = [e[1] for e in expected.values()]
    published = pl.DataFrame({
        "p": [k[0] for k in keys], "c": [k[1] for k in keys], "a": [k[2] for k in keys],
        "s": [k[3] for k in keys],
        "want": pl.Series([Decimal(x) if x != "" else None for x in values], dtype=number)
        if kind == "money" else pl.Series([int(x) if x != "" else None for x in values],
                                          dtype=pl.Int64)})
    both = seen.join(published, on=["p", "c", "a", "s"], how="inner").filter(
        pl.when(pl.col("want").is_null()).then(pl.col("blank"))
        .otherwise(pl.col("v").eq_missing(pl.col("want")) & pl.col("v").is_not_null()))
    return set(both["_row"].to_list()), list(both.select("p", "c", "a", "s").iter_rows())


def _value(kind: str, value: str) -> str:
    if kind == "money":
        return shown_money(value)
    return value if value else "blank"


def _canon_row(row: dict[str, Any], value_col: str, kind: str) -> dict[str, str]:
    """A visible row's cells as the records hold them; a cell that cannot be read gets a
    value no record holds (it is then the cell that differs)."""
    def canon(k: str, value: Any) -> str:
        try:
            return _canon(k, value)
        except Unreadable:
            return "\x00unreadable"
    return {"period": text(row.get("period")), "closed_at": canon("when", row.get("closed_at")),
            "agency_id": text(row.get("agency_id")).upper(),
            "service_id": text(row.get("service_id")).upper(),
            value_col: canon(kind, row.get(value_col))}


ADJUSTMENT_COLUMNS = ("agency_id", "service_id", "amount", "reason")


def _adjustments(v: Verified, rows: list[dict[str, Any]], where: Any) -> None:
    """Adjustments dated in a closed month: exactly those sealed with it. An edited cell of
    a sealed row is one problem at that cell; a new row one problem at its amount."""
    closed = v.closed()
    sealed: dict[str, Counter[tuple[str, str, str, str]]] = {
        p: Counter(tuple(a) for a in r.adjustments) for p, r in closed.items()}  # type: ignore[misc]
    extra = []
    for row in sorted(rows, key=lambda r: r.get("_row") or 0):
        period = row.get("period")
        if period not in closed:
            continue
        key = adjustment_key(row)
        if sealed[period][key] > 0:
            sealed[period][key] -= 1
        else:
            extra.append((period, key, row))
    for period, key, row in extra:
        r = closed[period]
        left = sealed[period]
        pair = next(((old, i) for old, n in left.items() if n > 0 for i in range(4)
                     if all(old[j] == key[j] for j in range(4) if j != i)), None)
        if pair is not None:
            old, i = pair
            left[old] -= 1
            column = ADJUSTMENT_COLUMNS[i]
            was = shown_money(old[i]) if column == "amount" else (f"'{old[i]}'" if old[i] else "blank")
            v.problems.append(Problem(
                where(column, row.get("_row")) if where else "Adjustments",
                f"{was} was on the bills of this adjustment when {_said(r)}; it now reads "
                f"{shown_money(key[i]) if column == 'amount' else repr(key[i])}; its bills stand "
                "as published, so date a correction in an open month", "closed-month"))
            continue
        v.problems.append(Problem(
            where("amount", row.get("_row")) if where else "Adjustments",
            f"an adjustment dated {period} ({shown_money(key[2])}), which {_said(r)[8:]}; its "
            "bills stand as published, so date the correction in an open month",
            "closed-month"))
    for period, left in sealed.items():
        for (agency, service, amount, _reason), n in left.items():
            if n > 0:
                r = closed[period]
                v.problems.append(Problem(
                    where("period") if where else "Adjustments",
                    f"the adjustment of {shown_money(amount)} for {agency} "
                    f"{service or ''} dated {period} was on the bills when {_said(r)}, and its "
                    "row is missing or changed; put it back as it was", "closed-month"))


def adjustment_key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    return (text(row.get("agency_id")).upper(), text(row.get("service_id")).upper(),
            f"{Decimal(str(row.get('amount') or 0)):.2f}", text(row.get("reason")))


def _audit_chain(audit: Table) -> tuple[tuple[int, str], list[Problem], bool]:
    """The AuditLog's head (last sequence number and chain value) and every broken link."""
    problems: list[Problem] = []
    rows = []
    if audit.rows and not any(text(r.get("seq")) or text(r.get("chain")) for r in audit.rows):
        return (0, ""), [], False  # rows from before the chain: sealed as found
    for row in audit.rows:
        try:
            rows.append((int(count_text(row.get("seq"))), row))
        except Unreadable:
            problems.append(Problem(audit.where("seq", row.get("_row")),
                                    f"{audit.now('seq', row)} is not a sequence number: this "
                                    "AuditLog row was edited, or typed in by hand (brm_xl writes "
                                    "every row of the audit trail)", "broken-seal"))
    rows.sort(key=lambda pair: pair[0])
    chain = ""
    expected = 1
    for seq, row in rows:
        if seq != expected:
            problems.append(Problem(audit.where("seq", row.get("_row")),
                                    f"AuditLog rows {expected} to {seq - 1} are missing (rows "
                                    "are never deleted from the audit trail)" if seq > expected
                                    else f"AuditLog row {seq} appears twice", "broken-seal"))
            expected = seq
        try:
            link = audit_link(chain, seq, row)
        except Unreadable:
            link = ""
        if link != text(row.get("chain")):
            problems.append(Problem(audit.where("chain", row.get("_row")),
                                    f"AuditLog row {seq} was changed after it was written (its "
                                    "chain value no longer matches what it records)",
                                    "broken-seal"))
        chain = text(row.get("chain"))
        expected = seq + 1
    return ((rows[-1][0], chain) if rows else (0, "")), problems, True


def _audit_reached(v: Verified, audit: Table, heads: list[dict[str, Any]]) -> None:
    """AuditLog holds every row it held at the last write (BrmSeals' audit row: its length
    and last chain value), so no row is deleted from its end either."""
    if not heads:
        v.problems.append(Problem(SEALS, "the AuditLog's length is missing from the hidden "
                                  "BrmSeals sheet, so rows deleted from its end could not be "
                                  "found: the hidden sheet was edited", "broken-seal"))
        return
    head = heads[0]
    for column, value in (("seq", "0"), ("period", ""), ("data", "")):
        if not _same("int" if column == "seq" else "text", head.get(column), value):
            v.problems.append(Problem(f"{SEALS}!{column}", "the AuditLog's length row of the "
                                      "hidden BrmSeals sheet was edited", "broken-seal"))
    if len(heads) > 1:
        v.problems.append(Problem(SEALS, "the hidden BrmSeals sheet has more than one AuditLog "
                                  "length row: it was edited", "broken-seal"))
    try:
        count = int(count_text(head.get("part")))
    except Unreadable:
        count = -1
    chains = {int(count_text(r.get("seq"))): text(r.get("chain")) for r in audit.rows
              if text(r.get("seq")).isdigit()}
    if count < 0 or (count and chains.get(count) != text(head.get("seal"))):
        v.problems.append(Problem(audit.where("seq"), f"AuditLog held {max(count, 0)} rows at "
                                  f"the last write; it now holds {v.audit_head[0]}, and its row "
                                  f"{max(count, 0)} is not the one written then (rows are never "
                                  "deleted from the audit trail)", "broken-seal"))


def _legacy(tables: dict[str, Table], problems: list[Problem],
            adjustments: list[dict[str, Any]]) -> Verified:
    """Closes with no seal records (closed before seals): the records as found, to be
    sealed at the next write; a cell that cannot be read is a sentence at its cell."""
    empty = Table([], lambda c, r=None: "?")
    closes = tables.get("Closes", empty)
    if not closes.rows:
        return Verified([], problems)
    book = new_book_id()
    records: list[Record] = []
    for row in closes.rows:
        values: dict[str, str] = {}
        for column in ("period", "status", "closed_at", "closed_by", "reason"):
            try:
                values[column] = _canon(CLOSES_KINDS[column], row.get(column))
            except Unreadable as exc:
                problems.append(Problem(closes.where(column, row.get("_row")),
                                        f"{exc}; brm_xl wrote a value here when the month was "
                                        "closed", "bad-log-cell"))
        if len(values) < 5 or values["status"] not in ("closed", "reopened"):
            if len(values) == 5:
                problems.append(Problem(closes.where("status", row.get("_row")),
                                        f"'{values['status']}' is not closed or reopened",
                                        "bad-log-cell"))
            continue
        records.append(Record(len(records) + 1, book, values["period"], values["status"],
                              values["closed_at"], values["closed_by"], values["reason"],
                              found=True))
    for name, what in (("PublishedCharges", "charges"), ("PublishedHeadcount", "users")):
        table = tables.get(name, empty)
        value_col, kind, _ = PUBLISHED[what]
        index = {(r.period, r.closed_at): r for r in records if r.status == "closed"}
        for row in table.rows:
            try:
                key = (text(row.get("period")), when_text(row.get("closed_at")))
                value = _canon(kind, row.get(value_col))
            except Unreadable as exc:
                column = value_col if text(row.get("closed_at")) else "closed_at"
                problems.append(Problem(table.where(column, row.get("_row")),
                                        f"{exc}; brm_xl wrote a value here when the month was "
                                        "closed", "bad-log-cell"))
                continue
            r = index.get(key)
            if r is None:
                continue
            line = [text(row.get("agency_id")), text(row.get("service_id")), value] \
                if what == "charges" else [text(row.get("agency_id")), value]
            (r.charges if what == "charges" else r.users).append(line)
    previous = ""
    for r in records:
        r.charges.sort()
        r.users.sort()
        r.adjustments = sorted(list(adjustment_key(a)) for a in adjustments
                               if a.get("period") == r.period) if r.status == "closed" else []
        previous = r.sealed(previous).seal
    return Verified(records, problems, legacy=True, book=book)






# ---- the months credits went on bills ------------------------------------------------------

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")




def check_pins(verified: Verified, logs: dict[str, Table]) -> tuple[Pins, list[Problem]]:
    """The pins, and a problem at every DisputeLog or ServiceCredits cell that is not a
    month, or moves a credit into or out of a closed month."""
    pins, problems = Pins(), []
    closed = verified.closed()
    for period, r in closed.items():
        for dispute, _ in r.disputes:
            pins.disputes[dispute.upper()] = period
        for sl, month, agency, _ in r.credits:
            pins.credits[(sl.upper(), month[:7], agency.upper())] = period
    for name in ("DisputeLog", "ServiceCredits"):
        table = logs.get(name)
        if table is None:
            continue
        sealed = pins.disputes if name == "DisputeLog" else pins.credits
        for row in table.rows:
            pinned = text(row.get("credited_in"))
            if not pinned:
                continue
            key: Any = text(row.get("dispute_id")).upper() if name == "DisputeLog" else (
                text(row.get("sl_id")).upper(), text(row.get("period"))[:7],
                text(row.get("agency_id")).upper())
            where = table.where("credited_in", row.get("_row"))
            if not _MONTH.match(pinned):
                problems.append(Problem(where, f"'{_clip(pinned)}' is not a month: brm_xl wrote "
                                        "the month this credit went on a bill here; clear the "
                                        "cell and refresh to find it again", "bad-log-cell"))
                continue
            was = sealed.get(key)
            if was is not None and was != pinned:
                problems.append(Problem(where, f"this credit was on the bills of {was} when "
                                        f"{_said(closed[was])}; it now reads '{pinned}'",
                                        "broken-seal"))
            elif was is None and pinned in closed and not closed[pinned].found:
                what = "dispute id" if name == "DisputeLog" else "service level, month or agency"
                problems.append(Problem(where, f"no credit of this row's {what} was on the bills "
                                        f"of {pinned} when {_said(closed[pinned])}: the row was "
                                        "edited; put it back as brm_xl wrote it (a closed month "
                                        "is never credited afterwards)", "broken-seal"))
            elif was is None:
                sealed[key] = pinned
    return pins, problems


