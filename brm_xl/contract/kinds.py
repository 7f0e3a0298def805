"""Kinds of value a cell may hold, parsed column-wise from text.

Cells arrive as text (Excel dates as `YYYY-MM-DD HH:MM:SS`, numbers in plain decimal
notation). Each kind turns a text column into typed values plus a reason for every cell
it cannot accept, as polars expressions, so a million rows cost one vectorised pass.
Money stays exact: text is cast straight to a fixed-point decimal, never through float.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import polars as pl

from brm_xl.contract import tables as C

DECIMAL = pl.Decimal(38, 9)
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
# quantities may come in scientific notation (1.6E-06: CSV exports of sub-cent cloud cost)
_SCIENTIFIC = r"^[+-]?(\d+(\.\d*)?|\.\d+)[eE][+-]?\d{1,2}$"
_EXPONENT_KINDS = (C.QUANTITY, C.SIGNED_QUANTITY)
_MONTH = (r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
          r"(?:Z|[+-]\d{2}:?\d{2})?)?$")
EMAIL_PATTERN = _EMAIL = r"^[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+\.[A-Za-z]{2,}$"
_DECIMALS = {C.MONEY: 2, C.SIGNED_MONEY: 2, C.RATE: 4, C.UNIT_COST: 4}
# No quantity, rate or amount on a state's bill reaches a trillion: a number that does is an
# id, a phone number or a date pasted into the wrong column
TOO_LARGE = 10**12


def parse(kind: str, text: pl.Expr, choices: tuple[str, ...] = ()) -> tuple[pl.Expr, pl.Expr]:
    """(typed value, reason) for a text column; reason is null where the cell is fine or blank."""
    text = text.str.strip_chars()
    value, reason = _choice(text, choices) if kind == C.CHOICE else _parse(kind, text)
    return value, pl.when(text.is_null()).then(None).otherwise(reason)


def choice_key(text: str) -> str:
    return " ".join(text.replace("-", " - ").split()).casefold()


def _choice(text: pl.Expr, choices: tuple[str, ...]) -> tuple[pl.Expr, pl.Expr]:
    """One of `choices`, ignoring case and spacing ('in person-group' = 'In person - group')."""
    key = (text.str.replace_all("-", " - ", literal=True).str.replace_all(r"\s+", " ")
           .str.strip_chars().str.to_lowercase())
    value = key.replace_strict({choice_key(c): c for c in choices}, default=None,
                               return_dtype=pl.String)
    allowed = ", ".join(choices)
    return value, pl.when(value.is_null()).then(pl.lit(f"is not one of: {allowed}"))


def _parse(kind: str, text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    if kind in (C.ID, C.TEXT):
        return text, pl.lit(None, dtype=pl.String)
    if kind == C.EMAIL:
        ok = text.str.contains(_EMAIL)
        return text, pl.when(ok).then(None).otherwise(pl.lit("is not an email address"))
    if kind == C.MONTH:
        return _month(text)
    if kind == C.DATE:
        return _date(text)
    if kind in (C.COUNT, C.SCORE):
        return _whole(kind, text)
    return _number(kind, text)


def _number(kind: str, text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    plain = text.str.strip_prefix("+")
    is_number = text.str.contains(_NUMBER)
    if kind in _EXPONENT_KINDS:
        is_number = is_number | text.str.contains(_SCIENTIFIC)
    value = pl.when(is_number).then(plain.cast(DECIMAL, strict=False))
    places = plain.str.extract(r"\.(\d*?)0*$", 1).str.len_chars().fill_null(0)
    digits = plain.str.replace(r"^-", "").str.replace(r"\..*$", "").str.len_chars()
    return value, _number_reason(kind, is_number, value, places, digits)


def _number_reason(kind: str, is_number: pl.Expr, value: pl.Expr, places: pl.Expr,
                   digits: pl.Expr) -> pl.Expr:
    """Why a number cell is refused, from whether its text is a number, its value, its
    decimal places and the digits before its point."""
    reason: Any = pl.when(~is_number).then(pl.lit("is not a number"))
    reason = reason.when(digits > len(str(TOO_LARGE)) - 1).then(
        pl.lit(f"is too large for this column ({TOO_LARGE:,} or more); is an id or a date "
               "pasted here?"))
    if kind in _EXPONENT_KINDS:  # 1E+15 is short text for a large number
        reason = reason.when(value.is_null() | (value.abs() >= TOO_LARGE)).then(
            pl.lit(f"is too large for this column ({TOO_LARGE:,} or more); is an id or a date "
                   "pasted here?"))
    if kind == C.RATE:
        reason = reason.when(value <= 0).then(pl.lit("must be more than 0"))
    elif kind not in (C.SIGNED_MONEY, C.SIGNED_QUANTITY):
        reason = reason.when(value < 0).then(pl.lit("is negative; it must be 0 or more"))
    if kind in _DECIMALS:
        limit = _DECIMALS[kind]
        reason = reason.when(places > limit).then(
            pl.lit(f"has more than {limit} decimal places; round it (=ROUND(..., {limit}))")
        )
    return reason.otherwise(None)


def _whole(kind: str, text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    whole = text.str.contains(r"^\+?\d{1,15}(\.0*)?$")
    value = pl.when(whole).then(text.str.extract(r"^\+?(\d+)", 1).cast(pl.Int64, strict=False))
    return value, _whole_reason(kind, whole, value)


def _whole_reason(kind: str, whole: pl.Expr, value: pl.Expr) -> pl.Expr:
    if kind == C.SCORE:
        ok = whole & value.is_between(1, 5)
        return pl.when(ok).then(None).otherwise(pl.lit("is not a whole number from 1 to 5"))
    return pl.when(whole).then(None).otherwise(pl.lit("is not a whole number, 0 or more"))


def float_text(value: float) -> str:
    """The text fastexcel reads for a number cell: at most nine decimals, trailing zeros
    dropped (Rust's `{:.9}`, correctly rounded, ties to even, as Python's `.9f` is)."""
    return format(value, ".9f").rstrip("0").rstrip(".")


_EXACT_BELOW = 2.0**23  # below it a float's ulp is under 1e-9: its nine-decimal text is exact


def parse_floats(kind: str, numbers: pl.Series, text_of: Callable[[float], str],
                 max_len: int | None = None) -> tuple[pl.Series, pl.Series]:
    """(typed value, reason) for a column of floats, exactly as `parse` gives them for the
    text `text_of(x)` of each (`float_text`, or that cut to 15 digits). Most floats are
    the nearest float to a number of at most nine decimals below 2**23: that number is
    their text, and is worked out column-wise, in one query; any other (binary noise, a
    large number, a text longer than `max_len`) is written out by `text_of` and parsed as
    text."""
    x = pl.col("x")
    # a column, not a literal: polars divides by a literal as a product with its
    # reciprocal, which is not exact
    billion = pl.repeat(1e9, len(numbers), dtype=pl.Float64, eager=True)
    query = pl.DataFrame({"x": numbers, "billion": billion}).lazy()
    for stage in _float_plan(kind, max_len):
        query = query.with_columns(*stage)
    found = query.with_columns(
        (~pl.col("exact") & x.is_not_null()).alias("other"),
        pl.when(x.is_null()).then(None).otherwise(pl.col("value")).alias("value_or_null"),
        pl.when(x.is_null()).then(None).otherwise(pl.col("reason")).alias("reason_or_null"),
    ).collect()
    if not found["other"].any():
        return found["value_or_null"], found["reason_or_null"]
    exact, values, reasons = found["exact"], found["value"], found["reason"]
    others = numbers.filter(found["other"]).unique()
    texts = pl.DataFrame({"x": others, "t": [text_of(x) for x in others.to_list()]})
    typed, why = parse(kind, pl.col("t"))
    parsed = pl.DataFrame({"x": numbers}).join(
        texts.select("x", typed.alias("v"), why.alias("r")), on="x", how="left",
        maintain_order="left")
    values = pl.select(pl.when(exact).then(values).otherwise(parsed["v"])).to_series()
    reasons = pl.select(pl.when(exact).then(reasons).otherwise(parsed["r"])).to_series()
    nulls = numbers.is_null()
    return (pl.select(pl.when(nulls).then(None).otherwise(values)).to_series(),
            pl.select(pl.when(nulls).then(None).otherwise(reasons)).to_series())


@functools.cache
def _float_plan(kind: str, max_len: int | None) -> tuple[tuple[pl.Expr, ...], ...]:
    """`parse_floats`' column-wise work as stages of columns, each from the columns before:
    from `x` (the floats) and `billion` (1e9 in every row) to `exact` (the float is the
    nearest to a number of at most nine decimals, short enough), `value` and `reason`
    (right where `exact`). Built once for each kind: building the expressions, or a query
    working out one large expression, costs more than a small table's work."""
    size = pl.col("x").abs()
    scaled = (size * 1e9).round()
    exact = (size < _EXACT_BELOW) & ((scaled / pl.col("billion")) == size)
    neg = (pl.col("x") < 0) | ((pl.col("x") == 0) & ((1.0 / pl.col("x")) < 0))  # -0.0 is "-0"
    nanos = scaled.cast(pl.Int64, strict=False)
    # decimal places and digits before the point, for the checks that need them (as text:
    # a few kernels, where counting them with arithmetic takes dozens)
    places = pl.col("frac").cast(pl.String).str.zfill(9).str.strip_chars_end("0") \
        .str.len_chars().cast(pl.Int32)
    digits = pl.col("whole").cast(pl.String).str.len_chars().cast(pl.Int32)
    exact_expr = pl.col("exact")
    if max_len is not None:
        length = (pl.col("neg").cast(pl.Int32) + pl.col("digits")
                  + pl.when(pl.col("places") > 0).then(pl.col("places") + 1).otherwise(0))
        exact_expr = exact_expr & (length <= max_len)
    if kind in (C.COUNT, C.SCORE):
        whole = ~pl.col("neg") & (pl.col("frac") == 0)
        value: pl.Expr = pl.when(whole).then(pl.col("whole"))
        reason = _whole_reason(kind, pl.col("is_whole"), pl.col("value"))
        values: tuple[pl.Expr, ...] = (whole.alias("is_whole"), value.alias("value"))
    else:
        signed = pl.when(pl.col("neg")).then(-pl.col("nanos")).otherwise(pl.col("nanos"))
        value = signed.cast(pl.Decimal(38, 0)) * pl.lit(Decimal("0.000000001"), dtype=DECIMAL)
        # digits: a float below 2**23 has at most 7 before its point, never too many for
        # the column (TOO_LARGE); places: only the kinds with a limit on them check them
        reason = _number_reason(kind, pl.lit(True), pl.col("value"), pl.col("places")
                                if kind in _DECIMALS else pl.lit(0), pl.lit(1))
        values = (value.alias("value"),)
    counted = (places.alias("places"), digits.alias("digits")) if max_len is not None else \
        (places.alias("places"),) if kind in _DECIMALS and kind not in (C.COUNT, C.SCORE) else ()
    return ((exact.alias("exact"), neg.alias("neg"), nanos.alias("nanos")),
            ((pl.col("nanos") // 10**9).alias("whole"), (pl.col("nanos") % 10**9).alias("frac")),
            *((counted,) if counted else ()),
            values,
            (exact_expr.fill_null(False).alias("exact"), reason.alias("reason")))


def _ymd(text: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    parts = text.str.extract_groups(_MONTH)
    year = parts.struct.field("1").cast(pl.Int32, strict=False)
    month = parts.struct.field("2").cast(pl.Int32, strict=False)
    day = parts.struct.field("3").cast(pl.Int32, strict=False)
    return year, month, day


def _month(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    year, month, day = _ymd(text)
    as_date = pl.date(year, month, day.fill_null(1))
    ok = year.is_between(1900, 2999) & month.is_between(1, 12) & _real_day(year, month, day)
    value = pl.when(ok).then(as_date.dt.strftime("%Y-%m"))
    reason = pl.when(ok).then(None).otherwise(
        pl.lit("is not a month; type YYYY-MM (e.g. 2026-09) or an Excel date"))
    return value, reason


def _date(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    year, month, day = _ymd(text)
    ok = (
        year.is_between(1900, 2999) & month.is_between(1, 12) & day.is_not_null()
        & _real_day(year, month, day)
    )
    value = pl.when(ok).then(pl.date(year, month, day))
    reason = pl.when(ok).then(None).otherwise(
        pl.lit("is not a date; type YYYY-MM-DD (e.g. 2026-09-15) or an Excel date"))
    return value, reason


def _real_day(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    """Day is blank, or exists in that month (no 31 June)."""
    safe_month = pl.when(month.is_between(1, 12)).then(month).otherwise(1)
    safe_year = pl.when(year.is_between(1900, 2999)).then(year).otherwise(2000)
    first = pl.date(safe_year, safe_month, 1)
    days = first.dt.month_end().dt.day()
    return day.is_null() | day.is_between(1, days)


def plain(value: Any) -> str:
    """A number as its shortest plain text: 40.000 -> 40, 0.0441 -> 0.0441 (no exponent)."""
    return format(Decimal(str(value)).normalize(), "f")
