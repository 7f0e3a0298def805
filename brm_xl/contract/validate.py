"""Check one table against its spec, collecting every problem (pandera's lazy mode, for cells).

`typed_table` turns a `RawTable` of text into typed columns and the problems found, each
at its cell. Id columns come back upper-cased (ids compare case-insensitively); the text as
typed stays in `<column>_text` for ids, so outputs can show what the user wrote.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

import polars as pl

from brm_xl.contract import kinds
from brm_xl.contract import tables as C
from brm_xl.contract.raw import ROW, RawTable
from brm_xl.problems import Problem

LIMIT_PER_CHECK = 100

_DTYPES: dict[str, Any] = {
    C.DATE: pl.Date, C.COUNT: pl.Int64, C.SCORE: pl.Int64, C.MONEY: kinds.DECIMAL,
    C.SIGNED_MONEY: kinds.DECIMAL, C.RATE: kinds.DECIMAL, C.UNIT_COST: kinds.DECIMAL, C.QUANTITY: kinds.DECIMAL,
}


@dataclass
class Typed:
    """A validated table: typed `frame` (one row per non-blank input row) and where it lives."""

    raw: RawTable
    frame: pl.DataFrame
    lines: int | None = None  # non-blank input rows, when `frame` holds sums of them

    @property
    def name(self) -> str:
        return self.raw.spec.name

    @property
    def rows(self) -> int:
        """The non-blank rows read: `lines` for a table summed per key (two Usage rows of
        one month, agency and service are one sum but two rows), else the frame's height."""
        return self.frame.height if self.lines is None else self.lines

    def where(self, column: str, row: int | None = None) -> str:
        return self.raw.where(column, row)

    def __len__(self) -> int:
        return self.frame.height


def shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def typed_table(raw: RawTable) -> tuple[Typed, list[Problem]]:
    spec = raw.spec
    frame, present, values, reasons = _prepare(raw, _with_floats(raw, raw.frame, fifteen=True))
    checked = frame.with_columns(reasons)
    problems = []
    # one pass says which columns have a problem at all; only those are looked at cell by cell
    flagged = checked.select([pl.col("_why_" + c.name).is_not_null().any() for c in present]) \
        .row(0) if present else ()
    for column, any_bad in zip(present, flagged):
        if any_bad:
            problems.extend(_column_problems(raw, checked, column.name))
    typed = _complete(spec, checked.select(*values, ROW))
    for key in spec.unique:
        problems.extend(duplicates(Typed(raw, typed), [key], f"{key} '{{}}' appears more than once"))
    return Typed(raw, typed), problems


def typed_aggregate(raw: RawTable, keys: list[str], total: str,
                    count: str | None = None, also: str | None = None,
                    missing: str | None = None) -> tuple[Typed, list[Problem]]:
    """Like `typed_table` for a file too big to hold typed: checks every row and sums `total`
    per `keys` in one streaming pass, keeping only the bad rows and the sums. Each sum keeps
    the first line of its key (`_row`), so later checks still name a line; `count` names a
    column for the number of lines in each sum; `also` a second column summed (with
    `count`), and `missing` a column for the number of its lines where `also` is blank."""
    lazy = _with_floats(raw, raw.frame, fifteen=False).lazy() \
        if isinstance(raw.frame, pl.DataFrame) else raw.frame
    frame, present, values, reasons = _prepare(raw, lazy)
    checked = frame.with_columns(reasons)
    whys = [pl.col("_why_" + c.name) for c in present]
    bad = pl.any_horizontal([w.is_not_null() for w in whys]) if whys else pl.lit(False)
    key_whys = [pl.col("_why_" + k).is_not_null() for k in keys if k in {c.name for c in present}]
    keys_ok = ~pl.any_horizontal(key_whys) if key_whys else pl.lit(True)
    names = [c.name for c in present]
    plans = [
        checked.filter(bad).select(ROW, *names, *whys).head(LIMIT_PER_CHECK * max(1, len(names))),
        # the bad rows, and every non-blank row (summed into a key's line or not)
        checked.select(bad.sum().alias("bad"), pl.len().alias("lines")),
    ]
    summable = set(keys) <= set(names)  # else a key column is missing, reported already
    texts = [k + "_text" for k in keys if k + "_text" in _names(values)]
    if summable and count is None and "_value_" + total in frame.collect_schema().names():
        plans.append(_sums_of_floats(frame, keys, total, values, reasons, keys_ok, texts))
    elif summable:
        second = [pl.col(also).sum(), pl.col(also).is_null().sum().alias(missing or "_missing")] \
            if also else []
        plans.append(checked.filter(keys_ok).select(*values, ROW).group_by(keys).agg(
            pl.col(total).sum(), pl.col(ROW).min(), *([pl.len().alias(count)] if count else []),
            *second, *[pl.col(t).first() for t in texts]))
    try:
        # a sheet is in memory already: its plans run faster in memory than streamed
        if isinstance(raw.frame, pl.DataFrame):
            shown_rows, counts, *rest = pl.collect_all(plans, engine="in-memory")
        else:
            shown_rows, counts, *rest = pl.collect_all(plans, engine="streaming")
    except pl.exceptions.PolarsError as exc:  # a file damaged part way down
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        empty = pl.DataFrame({ROW: pl.Series([], dtype=pl.Int64)})
        return Typed(raw, _complete(raw.spec, empty)), [Problem(
            raw.where(names[0] if names else "", None), f"cannot be read to the end ({first}); "
            "export the file again", "unreadable-file")]
    sums = rest[0] if rest else pl.DataFrame({ROW: pl.Series([], dtype=pl.Int64)})
    problems = []
    for column in present:
        problems.extend(_column_problems(raw, shown_rows, column.name, count=False,
                                         fifteen=False))
    unseen = counts["bad"].item() - shown_rows.height  # bad rows beyond those fetched and shown
    if unseen > 0:
        problems.append(Problem(raw.where(names[0] if names else "", None),
                                f"{unseen:,} more rows with problems", "more"))
    return Typed(raw, _complete(raw.spec, sums), lines=counts["lines"].item()), problems


def _sums_of_floats(frame: pl.LazyFrame, keys: list[str], total: str, values: list[pl.Expr],
                    reasons: list[pl.Expr], keys_ok: pl.Expr, texts: list[str]) -> pl.LazyFrame:
    """The sums of `typed_aggregate` when `total` was read as floats (parsed already, as
    `_value_<total>`): summed first per distinct cells of the other columns (a million
    rows hold about a hundred thousand), whose keys are then parsed and checked once
    each and summed again per key, each key's text as typed that of its first row."""
    others = [c for c in frame.collect_schema().names()
              if c not in (ROW, total, "_value_" + total, "_reason_" + total)]
    whys = {"_why_" + k for k in keys}
    wanted = set(keys) | set(texts)
    first = frame.group_by(others).agg(pl.col("_value_" + total).sum(), pl.col(ROW).min())
    return (first.with_columns(r for r in reasons if r.meta.output_name() in whys)
            .filter(keys_ok)
            .select(*(v for v in values if v.meta.output_name() in wanted),
                    pl.col("_value_" + total).alias(total), ROW)
            .group_by(keys).agg(pl.col(total).sum(), pl.col(ROW).min(),
                                *[pl.col(t).sort_by(ROW).first() for t in texts]))


def _names(exprs: list[pl.Expr]) -> set[str]:
    return {e.meta.output_name() for e in exprs}


def _prepare(raw: RawTable, frame: Any) -> tuple[Any, list[C.Column], list[pl.Expr], list[pl.Expr]]:
    """Skip blank rows, and build each column's typed value and reason (the checks)."""
    spec = raw.spec
    present = [c for c in spec.columns if c.name in frame.collect_schema().names()]
    required = [c.name for c in spec.required_columns if c in present]
    if required:
        frame = frame.filter(~pl.all_horizontal([pl.col(n).is_null() for n in required]))
    values, reasons = [], []
    schema = frame.collect_schema()
    for column in present:
        dtype = schema[column.name]
        if "_value_" + column.name in schema:  # read as floats: parsed already (_with_floats)
            value, reason = pl.col("_value_" + column.name), pl.col("_reason_" + column.name)
        elif isinstance(dtype, pl.Datetime):  # Excel dates (reader's typed read)
            value = pl.col(column.name).dt.strftime("%Y-%m") if column.kind == C.MONTH \
                else pl.col(column.name).dt.date()
            reason = pl.lit(None, dtype=pl.String)
            if not isinstance(frame, pl.DataFrame) or frame.height > SMALL:
                frame, value, reason = _parse_unique(frame, column.name, value, reason)
        else:
            if column.kind in _NUMBERS and isinstance(frame, pl.DataFrame):
                frame = excel_precision(frame, column.name)
            value, reason = kinds.parse(column.kind, pl.col(column.name), column.choices)
            if column.kind in _BY_UNIQUE:
                frame, value, reason = _parse_unique(frame, column.name, value, reason)
        if column.required:
            reason = pl.when(pl.col(column.name).is_null()).then(
                pl.lit(f"is blank; every {spec.name} row needs a {column.name}")
            ).otherwise(reason)
        if column.default is not None:
            value = value.fill_null(pl.lit(column.default))
        if column.kind == C.ID:
            values.append(pl.col(column.name).str.strip_chars().alias(column.name + "_text"))
            value = value.str.to_uppercase()
        values.append(value.alias(column.name))
        reasons.append(reason.alias("_why_" + column.name))
    return frame, present, values, reasons


def _complete(spec: C.TableSpec, typed: pl.DataFrame) -> pl.DataFrame:
    """Every contract column present, optional ones missing from the table as defaults."""
    for column in spec.columns:
        if column.name not in typed.columns:
            dtype = _DTYPES.get(column.kind, pl.String)
            typed = typed.with_columns(pl.lit(column.default, dtype=dtype).alias(column.name))
        if column.kind == C.ID and column.name + "_text" not in typed.columns:
            typed = typed.with_columns(pl.lit(None, dtype=pl.String).alias(column.name + "_text"))
    return typed


_BY_UNIQUE = (C.MONTH, C.DATE, C.CHOICE)
# rows up to which a date column is turned into months or days cell by cell: fewer
# queries than finding its distinct dates and joining what they give back to the rows
SMALL = 10_000
_NUMBERS = (C.MONEY, C.SIGNED_MONEY, C.RATE, C.UNIT_COST, C.QUANTITY, C.COUNT, C.SCORE)


def _with_floats(raw: RawTable, frame: pl.DataFrame, fifteen: bool) -> pl.DataFrame:
    """Each number column the reader gave as floats, parsed: `_value_<column>` and
    `_reason_<column>`, exactly what the text of its cells would give (with `fifteen`, cut
    to 15 digits as `excel_precision` cuts the text)."""
    added = []
    for column in raw.spec.columns:
        if column.name in frame.columns and frame.schema[column.name] == pl.Float64:
            cut = fifteen and column.kind in _NUMBERS
            value, reason = kinds.parse_floats(
                column.kind, frame[column.name], functools.partial(_float_text, cut),
                16 if cut else None)
            added += [value.alias("_value_" + column.name),
                      reason.alias("_reason_" + column.name)]
    return frame.with_columns(added) if added else frame


def _float_text(fifteen: bool, value: float) -> str:
    """A float cell's text as the text read gives it (and `excel_precision` cuts it)."""
    text = kinds.float_text(value)
    return _fifteen_digits(text) if fifteen and len(text) > 16 else text


def excel_precision(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """Numbers to Excel's 15 significant digits: 9340639.699999999 (binary noise in the
    file) reads as 9340639.7, which is what the cell shows in Excel."""
    column = frame[name]
    long = column.str.len_chars().fill_null(0) > 16
    if not long.any():
        return frame
    where = long.arg_true()
    fixed = [_fifteen_digits(text) for text in column.gather(where).to_list()]
    return frame.with_columns(column.scatter(where, fixed))


def _fifteen_digits(text: str) -> str:
    try:
        with localcontext() as ctx:
            ctx.prec = 15
            value = +Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return text
    if not value.is_finite() or abs(value) >= 10**20:
        return text
    plain = format(value, "f")
    return plain.rstrip("0").rstrip(".") if "." in plain else plain  # costly to parse, and a million rows hold a few dozen values


def _parse_unique(frame: Any, name: str, value: pl.Expr,
                  reason: pl.Expr) -> tuple[Any, pl.Expr, pl.Expr]:
    """Parse each distinct text once and join the result back to every row."""
    distinct = frame.select(pl.col(name).unique())
    if isinstance(distinct, pl.LazyFrame):
        distinct = distinct.collect(engine="streaming")
    parsed = distinct.with_columns(value.alias("_value_" + name), reason.alias("_reason_" + name))
    if isinstance(frame, pl.LazyFrame):
        frame = frame.join(parsed.lazy(), on=name, how="left", nulls_equal=True)
    else:
        frame = frame.join(parsed, on=name, how="left", nulls_equal=True, maintain_order="left")
    return frame, pl.col("_value_" + name), pl.col("_reason_" + name)


def _column_problems(raw: RawTable, checked: pl.DataFrame, name: str,
                     count: bool = True, fifteen: bool = True) -> list[Problem]:
    why = "_why_" + name
    bad = checked.filter(pl.col(why).is_not_null())
    out = []
    if raw.error_cells:  # an Excel error (#N/A) reads as blank; it is reported once, as itself
        skip = [row for column, row in raw.error_cells if column == name]
        bad = bad.filter(~pl.col(ROW).is_in(skip))
    column = next((c for c in raw.spec.columns if c.name == name), None)
    # a malformed address stops nothing but the email to it (delivery.address_problems)
    soft = column is not None and column.kind == C.EMAIL and not column.required
    for row, text, reason in bad.select(ROW, name, why).head(LIMIT_PER_CHECK).iter_rows():
        if isinstance(text, float):  # read as a float: shown as its cell's text
            text = _float_text(fifteen and column is not None and column.kind in _NUMBERS, text)
        what = f"{name} {reason}" if text is None else f"{name} '{shown(text)}' {reason}"
        if soft:
            out.append(Problem(raw.where(name, row), what + "; no report is emailed to it",
                               "bad-email", "warning"))
        else:
            out.append(Problem(raw.where(name, row), what, "bad-value"))
    if count and bad.height > LIMIT_PER_CHECK:
        out.append(_more(raw, name, bad.height - LIMIT_PER_CHECK))
    return out


def _more(raw: RawTable, column: str, count: int) -> Problem:
    return Problem(f"{raw.where(column)}", f"{count} more {column} cells with problems", "more")


def duplicates(table: Typed, keys: list[str], message: str) -> list[Problem]:
    """Rows whose `keys` repeat an earlier row's, reported at the later row's first key cell."""
    frame = table.frame.drop_nulls(keys)
    dup = frame.filter(pl.struct(keys).is_duplicated())
    if dup.is_empty():
        return []
    first_row = dup.group_by(keys).agg(pl.col(ROW).min().alias("_first"))
    later = dup.join(first_row, on=keys).filter(pl.col(ROW) != pl.col("_first")).sort(ROW)
    out = []
    for rec in later.head(LIMIT_PER_CHECK).iter_rows(named=True):
        label = " ".join(str(rec.get(k + "_text") or rec[k]) for k in keys)
        out.append(Problem(
            table.where(keys[0], rec[ROW]),
            message.format(label) + f" (first at row {rec['_first']})",
            "duplicate",
        ))
    if later.height > LIMIT_PER_CHECK:
        out.append(_more(table.raw, keys[0], later.height - LIMIT_PER_CHECK))
    return out


def unknown_ids(table: Typed, column: str, known: set[str], master: str) -> list[Problem]:
    """Ids in `column` that the master table does not list."""
    frame = table.frame
    bad = frame.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(sorted(known)))
    out = []
    for row, text in bad.select(ROW, column + "_text").head(LIMIT_PER_CHECK).iter_rows():
        out.append(Problem(
            table.where(column, row), f"{column} '{shown(text)}' is not in {master}", "unknown-id",
        ))
    if bad.height > LIMIT_PER_CHECK:
        out.append(_more(table.raw, column, bad.height - LIMIT_PER_CHECK))
    return out
