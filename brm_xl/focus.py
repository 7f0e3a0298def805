"""Cloud bills in FOCUS (FinOps Open Cost and Usage Specification 1.0 to 1.3), charged on.

Each row goes to an agency through a tag (Settings `focus_agency_tag`, read from the JSON
in `Tags`) or the FocusMap table (SubAccountId or SubAccountName to agency_id). The office
charges `EffectiveCost` (or `BilledCost`, Settings `focus_cost_column`) plus its admin
surcharge (`focus_surcharge_pct`), as Charges lines: quantity = the cloud cost, rate =
1 + surcharge, amount = their product to the cent. Credits, taxes and adjustments
(`ChargeCategory`) stay lines of their own. Rows that reach no agency go to the
Unallocated table with their cost and count in Recovery: nothing is dropped.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from . import contract as C
from . import kinds
from .contract import Column, TableSpec
from .problems import Problem
from .sources import read_text_table
from .validate import typed_table

CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")


def focus_spec(cost_column: str) -> TableSpec:
    return TableSpec("FOCUS", (
        Column("ChargePeriodStart", C.TEXT),
        Column(cost_column, C.TEXT),
        Column("ChargeCategory", C.CHOICE, choices=CATEGORIES),
        Column("ServiceName", C.TEXT),
        Column("ServiceCategory", C.TEXT, required=False),
        Column("SubAccountId", C.TEXT, required=False),
        Column("SubAccountName", C.TEXT, required=False),
        Column("Tags", C.TEXT, required=False),
        Column("ProviderName", C.TEXT, required=False),
        Column("ServiceProviderName", C.TEXT, required=False),
        Column("BillingCurrency", C.TEXT, required=False),
    ))


class Unallocated(NamedTuple):
    """FOCUS cost no agency could be found for: one Unallocated row."""

    period: str
    provider: str | None
    service_name: str | None
    sub_account_id: str | None
    sub_account_name: str | None
    charge_category: str | None
    cost: Decimal
    reason: str


@dataclass
class FocusBill:
    lines: list[tuple[Any, ...]]  # (period, agency key, service, name, tower, cost, category)
    unallocated: list[Unallocated]
    cost: dict[tuple[str, str], Decimal]  # provider cost per (period, service)
    rows: int
    surcharge_pct: Decimal


def read_focus(paths: list[Path], inputs: Any) -> tuple[FocusBill, list[Problem]]:
    settings = inputs.settings
    cost_column = settings.focus_cost_column or "EffectiveCost"
    spec = focus_spec(cost_column)
    problems: list[Problem] = []
    frames = []
    for path in paths:
        raw = read_text_table(path, spec)
        typed, found = typed_table(raw)
        problems += raw.problems + found
        frame = typed.frame.rename({cost_column: "cost_text"})
        checked, found = _values(frame, raw)
        problems += found
        frames.append(checked)
    pct = Decimal(str(settings.focus_surcharge_pct or 0))
    bill = FocusBill([], [], defaultdict(Decimal), 0, pct)
    if not frames or any(p.is_error for p in problems):
        return bill, problems
    frame = pl.concat(frames, how="diagonal_relaxed")
    bill.rows = frame.height
    agency = _agency(frame, inputs)
    frame = frame.with_columns(agency)
    _aggregate(frame, bill)
    return bill, problems


def _values(frame: pl.DataFrame, raw: Any) -> tuple[pl.DataFrame, list[Problem]]:
    """The month of ChargePeriodStart and the cost, exactly; problems at file:line."""
    month, why_month = kinds.parse(C.MONTH, pl.col("ChargePeriodStart").str.slice(0, 10))
    cost, why_cost = kinds.parse(C.SIGNED_QUANTITY, pl.col("cost_text"))
    checked = frame.with_columns(month.alias("period"), cost.alias("cost"),
                                 why_month.alias("_why_month"), why_cost.alias("_why_cost"))
    problems = []
    for column, why, label in (("ChargePeriodStart", "_why_month", "ChargePeriodStart"),
                               ("cost_text", "_why_cost", "cost")):
        bad = checked.filter(pl.col(why).is_not_null()).head(100)
        for row, text, reason in bad.select("_row", column, why).iter_rows():
            problems.append(Problem(raw.where(column, row), f"{label} '{text}' {reason}",
                                    "bad-value"))
    return checked.drop("_why_month", "_why_cost"), problems


def _agency(frame: pl.DataFrame, inputs: Any) -> list[pl.Expr]:
    """The agency of each row: its tag, else FocusMap by sub-account id, else by name."""
    known = set(inputs.frame("Agencies")["agency_id"].to_list())
    candidates = []
    tag = inputs.settings.focus_agency_tag
    if tag and "Tags" in frame.columns:
        path = "$['" + tag.replace("'", "") + "']"
        candidates.append(pl.col("Tags").str.json_path_match(path).str.strip_chars()
                          .str.to_uppercase())
    if inputs.has("FocusMap"):
        mapping = inputs.frame("FocusMap")
        by_id = {str(k).strip(): v for k, v in mapping.select("sub_account_id", "agency_id")
                 .drop_nulls().iter_rows()}
        by_name = {str(k).strip().casefold(): v for k, v in mapping.select(
            "sub_account_name", "agency_id").drop_nulls().iter_rows()}
        if "SubAccountId" in frame.columns and by_id:
            candidates.append(pl.col("SubAccountId").str.strip_chars()
                              .replace_strict(by_id, default=None, return_dtype=pl.String))
        if "SubAccountName" in frame.columns and by_name:
            candidates.append(pl.col("SubAccountName").str.strip_chars().str.to_lowercase()
                              .replace_strict(by_name, default=None, return_dtype=pl.String))
    found = pl.coalesce(candidates) if candidates else pl.lit(None, dtype=pl.String)
    ok = found.is_in(sorted(known))
    reason = (pl.when(found.is_null()).then(pl.lit("no agency tag and no FocusMap entry"))
              .when(~ok).then(pl.concat_str([pl.lit("agency '"), found,
                                             pl.lit("' is not in Agencies")]))
              .otherwise(None))
    return [pl.when(ok).then(found).otherwise(None).alias("agency"), reason.alias("unallocated")]


def _aggregate(frame: pl.DataFrame, bill: FocusBill) -> None:
    provider = pl.coalesce([pl.col(c) for c in ("ServiceProviderName", "ProviderName")
                            if c in frame.columns] or [pl.lit("")])
    frame = frame.with_columns(
        provider.fill_null("").alias("provider"),
        (pl.col("ServiceCategory") if "ServiceCategory" in frame.columns
         else pl.lit(None, dtype=pl.String)).fill_null("Cloud").alias("tower"),
        *[(pl.col(c) if c in frame.columns else pl.lit(None, dtype=pl.String)).alias(c)
          for c in ("SubAccountId", "SubAccountName")],
    )
    allocated = frame.filter(pl.col("agency").is_not_null()).group_by(
        "period", "agency", "ServiceName", "tower", "ChargeCategory", "provider").agg(
        pl.col("cost").sum()).sort("period", "agency", "ServiceName", "ChargeCategory")
    for period, agency, service, tower, category, provider, cost in allocated.iter_rows():
        bill.lines.append((period, agency, service, tower, category, provider, cost))
        bill.cost[(period, service)] += cost
    loose = frame.filter(pl.col("agency").is_null()).group_by(
        "period", "provider", "ServiceName", "SubAccountId", "SubAccountName", "ChargeCategory",
        "unallocated").agg(pl.col("cost").sum()).sort("period", "ServiceName", "ChargeCategory")
    for period, provider, service, sub_id, sub_name, category, why, cost in loose.iter_rows():
        bill.unallocated.append(Unallocated(period, provider, service, sub_id, sub_name,
                                            category, cost.normalize(), why))
        bill.cost[(period, service)] += cost


def charge_amount(cost: Decimal, pct: Decimal) -> Decimal:
    """Cloud cost plus the surcharge, half up to cents (credits round away from zero too)."""
    return (cost * (100 + pct) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)


def charge_lines(bill: FocusBill, currency: str) -> pl.DataFrame:
    """The allocated cloud cost as Charges lines (see the module docstring)."""
    from .chargeback import CHARGE_COLUMNS, MONEY

    rate = (100 + bill.surcharge_pct) / 100
    rows = []
    for period, agency, service, tower, category, provider, cost in bill.lines:
        amount = charge_amount(cost, bill.surcharge_pct)
        name = service if category == "Usage" else f"{service} ({category})"
        reason = None if category == "Usage" else f"{provider or 'Cloud'} {category.lower()}"
        rows.append((period, agency, service, name, tower, f"{currency} of cloud cost",
                     cost.normalize(), rate.normalize(), amount, reason, int(amount * 100)))
    schema: dict[str, Any] = {"period": pl.String, "agency_id": pl.String, "service_id": pl.String,
              "service_name": pl.String, "tower": pl.String, "unit": pl.String,
              "quantity": kinds.DECIMAL, "rate": kinds.DECIMAL, "amount": MONEY,
              "reason": pl.String, "cents": pl.Int64}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.select([*CHARGE_COLUMNS, "cents"])
