"""Cloud bills in FOCUS (FinOps Open Cost and Usage Specification 1.0 to 1.3), read and allocated.

Each row goes to an agency through a tag (Settings `focus_agency_tag`, read from the JSON
in `Tags`) or the FocusMap table (SubAccountId or SubAccountName to agency_id). The office
charges `EffectiveCost` (or `BilledCost`, Settings `focus_cost_column`) plus its admin
surcharge (`focus_surcharge_pct`), as Charges lines: quantity = the cloud cost, rate =
1 + surcharge, amount = their product to the cent. Credits, taxes and adjustments
(`ChargeCategory`) stay lines of their own. Rows that reach no agency go to the
Unallocated table with their cost and count in Recovery: nothing is dropped. The lines
are priced into Charges by `brm_xl.billing.chargeback.charge_lines`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from brm_xl.contract import kinds
from brm_xl.contract import tables as C
from brm_xl.contract.periods import first_open
from brm_xl.contract.raw import ROW
from brm_xl.contract.tables import Column, TableSpec, header_key, header_positions
from brm_xl.contract.validate import typed_aggregate
from brm_xl.problems import Problem
from brm_xl.sources.files import as_text, file_facts, read_text_table, scan_file

CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")


def focus_spec(cost_column: str) -> TableSpec:
    return TableSpec("FOCUS", (
        Column("ChargePeriodStart", C.MONTH),
        Column(cost_column, C.SIGNED_QUANTITY),
        Column("ChargeCategory", C.CHOICE, choices=CATEGORIES),
        Column("ServiceName", C.TEXT),
        Column("ServiceCategory", C.TEXT, required=False),
        Column("SubAccountId", C.TEXT, required=False),
        Column("SubAccountName", C.TEXT, required=False),
        Column("Tags", C.TEXT, required=False),
        Column("ProviderName", C.TEXT, required=False),
        Column("ServiceProviderName", C.TEXT, required=False),
        Column("BillingCurrency", C.TEXT, required=False),
        Column("BillingAccountId", C.TEXT, required=False),
        Column("BillingPeriodStart", C.MONTH, required=False),
        Column("ChargeClass", C.TEXT, required=False),
        Column(LIST_COST, C.SIGNED_QUANTITY, required=False),
    ))


LIST_COST = "ListCost"  # what the line costs at the provider's public price
NO_LIST = "_no_list"  # rows of a sum without a ListCost: its list price is blank


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
    # (period, agency key, service, tower, category, provider, cost, corrects, list cost)
    lines: list[tuple[Any, ...]]
    unallocated: list[Unallocated]
    cost: dict[tuple[str, str], Decimal]  # provider cost per (period, service)
    rows: int
    surcharge_pct: Decimal


def read_focus(paths: list[Path], inputs: Any) -> tuple[FocusBill, list[Problem]]:
    """Every file streamed once: checked row by row and summed per month, category, service,
    sub-account, tags, provider and currency (a bill of millions of rows becomes a few
    thousand sums); then each sum goes to its agency, in the workbook's currency."""
    settings = inputs.settings
    cost_column = settings.focus_cost_column or "EffectiveCost"
    spec = focus_spec(cost_column)
    tag = settings.focus_agency_tag
    seen: dict[str, int] = defaultdict(int)
    paths, problems = _distinct(paths)
    delivered: list[tuple[Path, pl.DataFrame]] = []
    for path in paths:
        frame, found = _read_one(path, spec, cost_column, tag, seen, inputs)
        problems += found
        if frame is not None:
            delivered.append((path, frame))
    # a row two files both hold (a later snapshot of the month, a bill downloaded again)
    # is charged once: those files are read again without the rows charged from another
    skips, conflicts, found = _shared_rows(delivered, cost_column)
    problems += found
    for i, (path, _) in enumerate(delivered):
        if path in skips:
            again, _found = _read_one(path, spec, cost_column, tag, None, inputs, *skips[path])
            assert again is not None  # it was read once without a problem
            delivered[i] = (path, again)

    frames, found = _once(delivered, conflicts, inputs.sources.newest,
                          set(inputs.published.closed()))
    problems += found
    rows = sum(int(f["_lines"].sum()) for f in frames if f.height)
    pct = Decimal(str(settings.focus_surcharge_pct or 0))
    bill = FocusBill([], [], defaultdict(Decimal), rows, pct)
    if not frames or any(p.is_error for p in problems):
        return bill, problems
    frame = pl.concat(frames, how="diagonal_relaxed")
    agency, found = _agency(frame, inputs, seen)
    problems += found
    frame = frame.with_columns(agency)
    _aggregate(_corrections(frame, inputs), bill)
    return bill, problems


def _read_one(path: Path, spec: TableSpec, cost_column: str, tag: str | None,
              seen: dict[str, int] | None, inputs: Any, skip: dict[int, int] | None = None,
              only: set[str] | None = None) -> tuple[pl.DataFrame | None, list[Problem]]:
    """One bill checked row by row and summed (None when a row is wrong: the problems say
    where). `skip`: rows (by `_row_digest`) charged from another file, and how many of each."""
    problems: list[Problem] = []
    raw = read_text_table(path, spec, lazy=True, keep=("Tags",),
                          rows=None if skip is None else _without(skip, only))
    schema = raw.frame.collect_schema()
    present = [c.name for c in spec.columns if c.name in schema.names()]
    if "Tags" in present:
        tags = as_text(pl.col("Tags"), schema["Tags"])
        if seen is not None:
            _count_keys(raw.frame.select(tags.alias("Tags")), seen)
        # the agency's tag value, found in the streaming pass: sums per agency, not per
        # distinct set of tags (a resource's Name tag would make every row a sum)
        value = (nested_tag_value(pl.col("Tags"), schema["Tags"], tag)
                 if _nested(schema["Tags"]) else tag_value(tags, tag)) if tag else None
        raw.frame = raw.frame.with_columns(
            value.alias("Tags") if value is not None else pl.lit(None, pl.String).alias("Tags"))
    keys = [c for c in present if c not in (cost_column, LIST_COST)]
    typed, found = typed_aggregate(raw, keys, cost_column, count="_lines",
                                   also=LIST_COST if LIST_COST in present else None,
                                   missing=NO_LIST)
    problems += raw.problems + [_focus_advice(p) for p in found]
    if any(p.is_error for p in raw.problems + found):
        return None, problems
    frame = _complete(typed.frame, spec).rename({cost_column: "cost",
                                                 "ChargePeriodStart": "period"})
    if NO_LIST not in frame.columns:  # no ListCost column: no row has a list price
        frame = frame.with_columns(pl.col("_lines").alias(NO_LIST),
                                   pl.lit(None, pl.Decimal(38, 18)).alias(LIST_COST))
    frame, found = _in_currency(frame, raw, inputs)
    return frame, problems + found


def _distinct(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    """The files, each content once: the same bill under another name (downloaded again,
    copied) is read once, with a warning naming both."""
    first: dict[str, Path] = {}
    out, problems = [], []
    for path in paths:
        digest = file_facts(path)[2]
        if digest in first:
            problems.append(Problem(path.name, f"holds the same bytes as {first[digest].name}: "
                                    "the bill is read once", "same-file", "warning"))
            continue
        first[digest] = path
        out.append(path)
    return out, problems


# What a row charges for is every column but its amounts: two files whose rows agree on
# all of these and not on the amounts restate the bill (they disagree)
_AMOUNT = re.compile(r"(?i)(cost|quantity|price)$")


def _row_digest(schema: Any, amounts: bool = True, only: set[str] | None = None) -> pl.Expr:
    """A row's digest over its columns as text (`amounts` False: all but the amounts;
    `only`: the header keys every file of the bill has, so a column one export adds does
    not make its rows new), the same for the same row in a CSV written by another tool.
    Times keep their full precision: two hours of one resource are two rows."""
    names = sorted((n for n in schema.names() if n != ROW and (amounts or not _AMOUNT.search(n))
                    and (only is None or header_key(n) in only)),
                   key=header_key)  # the columns by name: another tool's column order is the same row
    def text(n: str) -> pl.Expr:
        if schema[n] == pl.Date or isinstance(schema[n], pl.Datetime):
            return pl.col(n).cast(pl.String)
        return as_text(pl.col(n), schema[n])
    return pl.concat_str([pl.lit(header_key(n)) for n in names] +
                         [text(n).fill_null("") for n in names] or
                         [pl.lit("")], separator="\x1f").hash(seed=7)


def _without(skip: dict[int, int], only: set[str] | None = None) -> Any:
    """The rows of a file left once the first `skip[digest]` copies of each row are set
    aside (charged from another file)."""
    def where(scan: pl.LazyFrame) -> pl.LazyFrame:
        digest = _row_digest(scan.collect_schema(), only=only)
        counts = pl.DataFrame({"_d": list(skip), "_skip": list(skip.values())},
                              schema={"_d": pl.UInt64, "_skip": pl.Int64})
        return (scan.with_columns(digest.alias("_d"))
                .with_columns(pl.int_range(pl.len()).over("_d").alias("_nth"))
                .join(counts.lazy(), on="_d", how="left")
                .filter(pl.col("_nth") >= pl.col("_skip").fill_null(0))
                .sort("_row").drop("_d", "_nth", "_skip"))
    return where


def _columns_of(path: Path) -> set[str]:
    return {header_key(n) for n in scan_file(path).collect_schema().names()}


def _digests(path: Path, cost_column: str, only: set[str] | None = None) -> pl.DataFrame:
    """Each distinct row of a bill: its billing account and period (read as the bill's
    checks read them), its digests with and without amounts, how many times the file
    holds it and its cost (text)."""
    scan = scan_file(path)
    schema = scan.collect_schema()
    names = schema.names()
    by_key = {key: names[i] for key, i in header_positions(names).items()}

    def text(name: str) -> pl.Expr:
        source = by_key.get(header_key(name))
        if source is None:
            return pl.lit(None, pl.String)
        return as_text(pl.col(source), schema[source]).str.strip_chars()
    month, _why = kinds.parse(C.MONTH, text("BillingPeriodStart"))
    return scan.select(
        text("BillingAccountId").alias("account"), month.cast(pl.String).alias("period"),
        _row_digest(schema, only=only).alias("_d"),
        _row_digest(schema, amounts=False, only=only).alias("_k"),
        text(cost_column).alias("_cost"),
    ).group_by("account", "period", "_d", "_k").agg(
        pl.len().cast(pl.Int64).alias("n"), pl.col("_cost").first()).collect(engine="streaming")


def _bills(frame: pl.DataFrame) -> pl.DataFrame:
    """Each billing account's bill for each billing period a file holds: its rows and cost."""
    if not {"BillingAccountId", "BillingPeriodStart"} <= set(frame.columns) or not frame.height:
        return pl.DataFrame()
    return frame.filter(
        pl.col("BillingAccountId").is_not_null() & pl.col("BillingPeriodStart").is_not_null()
    ).group_by("BillingAccountId", "BillingPeriodStart", maintain_order=True).agg(
        pl.col("_lines").sum(), pl.col("cost").sum())


def _groups(delivered: list[tuple[Path, pl.DataFrame]]) -> dict[tuple[str, str], list[Path]]:
    """The files holding each billing account's bill for each billing period."""
    cover: dict[tuple[str, str], list[Path]] = defaultdict(list)
    for path, frame in delivered:
        for account, period, _lines, _cost in _bills(frame).iter_rows():
            cover[(account, period)].append(path)
    return cover


def _shared_rows(delivered: list[tuple[Path, pl.DataFrame]], cost_column: str,
                 ) -> tuple[dict[Path, tuple[dict[int, int], set[str]]], set[tuple[str, str]],
                            list[Problem]]:
    """Rows that two files of one bill both hold, equal in every column, charged from the
    first file given: for each later file, the rows to set aside, with a warning naming the
    files and the total set aside. Files that hold other rows of the bill (partitions of
    one export, the days a later snapshot adds) are charged in full. A bill whose files
    hold one charge with different amounts (a restated snapshot) is left whole, for `_once`."""
    shared = {key: files for key, files in _groups(delivered).items() if len(files) > 1}
    if not shared:
        return {}, set(), []
    order = {path: i for i, (path, _) in enumerate(delivered)}
    involved = sorted({p for files in shared.values() for p in files}, key=order.__getitem__)
    common = set.intersection(*(_columns_of(p) for p in involved))
    rows = pl.concat([_digests(p, cost_column, common).with_columns(pl.lit(order[p]).alias("file"))
                      for p in involved])
    skips: dict[Path, dict[int, int]] = defaultdict(dict)
    conflicts: set[tuple[str, str]] = set()
    problems: list[Problem] = []
    for (account, period), files in sorted(shared.items()):
        group = rows.filter((pl.col("account") == account) & (pl.col("period") == period[:7])
                            & pl.col("file").is_in([order[f] for f in files]))
        if _restated(group, [order[f] for f in files]):
            conflicts.add((account, period))
            continue
        group = group.sort("file").with_columns(
            pl.col("n").cum_max().shift(1).over("_d").fill_null(0).alias("before"))
        group = group.with_columns(pl.min_horizontal("n", "before").alias("skip"))
        for index, part in group.filter(pl.col("skip") > 0).group_by("file", maintain_order=True):
            path = delivered[int(index[0])][0]
            skips[path].update(zip(part["_d"].to_list(), part["skip"].to_list()))
            total = sum((_amount(c) * k for c, k in part.select("_cost", "skip").iter_rows()),
                        Decimal(0))
            count = int(part["skip"].sum())
            mine = int(group.filter(pl.col("file") == index[0])["n"].sum())
            others = ", ".join(f.name for f in files if order[f] < index[0])
            if count == mine:
                problems.append(Problem(path.name, f"holds the same bill of billing account "
                                        f"{account} for {period} as {others} ({count} rows, "
                                        f"{total.normalize():f}): charged once", "same-bill",
                                        "warning"))
            else:
                problems.append(Problem(path.name, f"holds {count} rows of billing account "
                                        f"{account}'s bill for {period} that {others} also "
                                        f"holds ({total.normalize():f} set aside): charged once; "
                                        f"its other {mine - count} rows are charged",
                                        "same-rows", "warning"))
    return {p: (d, common) for p, d in skips.items()}, conflicts, problems


def _restated(group: pl.DataFrame, files: list[int]) -> bool:
    """Whether the files restate one charge (all its columns but the amounts): for some
    charge, neither file holds every row the other holds for it (a row changed its
    amount, or went). A later snapshot that only adds rows, new days or another line of a
    charge, restates nothing."""
    counts = group.pivot("file", index=["_k", "_d"], values="n", aggregate_function="sum")
    names = {f: str(f) for f in files}
    for f in files:
        if names[f] not in counts.columns:
            counts = counts.with_columns(pl.lit(0, pl.Int64).alias(names[f]))
    counts = counts.fill_null(0)
    for i, a in enumerate(files):
        for b in files[i + 1:]:
            ca, cb = pl.col(names[a]), pl.col(names[b])
            shared = counts.group_by("_k").agg(
                (ca > 0).any().alias("in_a"), (cb > 0).any().alias("in_b"),
                (ca <= cb).all().alias("a_in_b"), (ca >= cb).all().alias("b_in_a"))
            if shared.filter(pl.col("in_a") & pl.col("in_b") & ~pl.col("a_in_b")
                             & ~pl.col("b_in_a")).height:
                return True
    return False


def _amount(text: str | None) -> Decimal:
    try:
        return Decimal(text or 0)
    except ArithmeticError:
        return Decimal(0)  # a wrong amount is an error of its own, at its line


def _once(delivered: list[tuple[Path, pl.DataFrame]], conflicts: set[tuple[str, str]],
          newest: bool, closed: set[str]) -> tuple[list[pl.DataFrame], list[Problem]]:
    """A bill whose files disagree (one charge, other amounts: a provider's new snapshot of
    the period restating it) is refused, unless `newest` takes the later export (by the
    file's time); for a closed period the earliest export stays as published and what the
    later one adds is a correction (charged in the first open month, see `_corrections`)."""
    problems: list[Problem] = []
    cover: dict[tuple[str, str], list[tuple[Path, int, Decimal, float]]] = defaultdict(list)
    for path, frame in delivered:
        for account, period, lines, cost in _bills(frame).iter_rows():
            if (account, period) in conflicts:
                cover[(account, period)].append((path, int(lines), cost, path.stat().st_mtime))
    drop: dict[Path, set[tuple[str, str]]] = defaultdict(set)
    restate: dict[Path, set[tuple[str, str, Path]]] = defaultdict(set)
    for (account, period), files in sorted(cover.items()):
        names = ", ".join(f[0].name for f in files)
        if not newest:
            told = "; ".join(f"{f[0].name}: {f[1]} rows, {f[2].normalize():f}" for f in files)
            held_by = (" and ".join(f[0].name for f in files) + " both hold") if len(files) == 2 \
                else f"{names} all hold"
            problems.append(Problem(files[0][0].name, f"{held_by} billing account "
                                    f"{account}'s bill for {period} and they disagree ({told}); "
                                    "give only one, or add --newest to charge the latest export",
                                    "bill-twice"))
            continue
        keep = max(files, key=lambda f: f[3])
        if period in closed:  # published as the earliest export: the rest is a correction
            first = min(files, key=lambda f: f[3])
            for path, _, _, _ in files:
                if path not in (first[0], keep[0]):
                    drop[path].add((account, period))
            restate[keep[0]].add((account, period, first[0]))
            problems.append(Problem(keep[0].name, f"is the latest export (by its file time) of "
                                    f"billing account {account}'s bill for {period}, which is "
                                    f"closed: what it adds to {first[0].name} is charged as a "
                                    "correction in the first open month (--newest)",
                                    "newest-bill", "warning"))
            continue
        for path, _, _, _ in files:
            if path != keep[0]:
                drop[path].add((account, period))
        problems.append(Problem(keep[0].name, f"is the latest export (by its file time) of "
                                f"billing account {account}'s bill for {period} among {names}: "
                                "charged from it alone (--newest)", "newest-bill", "warning"))
    key = pl.concat_str([pl.col("BillingAccountId"), pl.col("BillingPeriodStart")],
                        separator="\x00")
    by_path = dict(delivered)
    frames = []
    for path, frame in delivered:
        gone = set(drop.get(path, set()))
        for account, period, earliest in restate.get(path, set()):
            gone.add((account, period))
            pair = key == f"{account}\x00{period}"
            columns = [c for c in frame.columns if c not in ("cost", "_lines", LIST_COST, NO_LIST)]
            later, earlier = frame.filter(pair), by_path[earliest].filter(pair)
            diff = pl.concat([later, earlier.with_columns(-pl.col("cost"), -pl.col(LIST_COST))],
                             how="diagonal_relaxed").group_by(columns, maintain_order=True).agg(
                pl.col("cost").sum(), pl.col("_lines").sum(), pl.col(LIST_COST).sum(),
                pl.col(NO_LIST).sum()).filter(pl.col("cost") != 0)
            frames.append(diff.with_columns(pl.lit("Correction").alias("ChargeClass"),
                                            pl.lit(0, pl.Int64).alias("_lines"))
                          .select(frame.columns))
        if gone:
            frame = frame.filter(~key.is_in([f"{a}\x00{p}" for a, p in gone]).fill_null(True))
        frames.append(frame)
    return frames, problems


def _corrections(frame: pl.DataFrame, inputs: Any) -> pl.DataFrame:
    """A row restating a prior period (ChargeClass Correction) is charged in the month it
    restates while that month is open, else in the month of the bill that carries it
    (`BillingPeriodStart`), with a reason naming the month it corrects: never into a
    month closed before it came. The bill's month is fixed by the bill, so closing that
    month later keeps the correction where it was published (a month worked out from
    which months are open would move on at every close). A bill whose own month was
    closed before it came is named as a change to that month, with the way through."""
    if "ChargeClass" not in frame.columns:
        return frame.with_columns(pl.lit(None, pl.String).alias("corrects"))

    closed = set(inputs.published.closed())
    is_correction = pl.col("ChargeClass").str.strip_chars().str.to_lowercase() == "correction"
    bill = pl.col("BillingPeriodStart") if "BillingPeriodStart" in frame.columns else \
        pl.lit(None, pl.String)
    pairs = frame.filter(is_correction).select(
        "period", bill.alias("_bill")).unique().iter_rows()
    moved = {f"{m}\x00{b or ''}": (m if m not in closed else
                                    b if b and b > m else first_open(m, closed))
             for m, b in pairs if m}
    key = pl.concat_str([pl.col("period"), bill.fill_null("")], separator="\x00")
    return frame.with_columns(
        pl.when(is_correction).then(pl.col("period")).otherwise(None).alias("corrects"),
        pl.when(is_correction).then(key.replace_strict(
            moved, default=pl.col("period"), return_dtype=pl.String)).otherwise(pl.col("period"))
        .alias("period"))


def _complete(frame: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    return frame.with_columns(pl.lit(None, dtype=pl.String).alias(c.name) for c in spec.columns
                              if c.name not in frame.columns)


def _focus_advice(problem: Problem) -> Problem:
    """A date Excel rewrote (9/9/2024) is fixed at the source, not by typing a month."""
    if "ChargePeriodStart" in problem.message and "is not a month" in problem.message:
        text = problem.message.split(" is not a month")[0]
        return Problem(problem.where, f"{text} is not a FOCUS date (2024-09-01T00:00:00Z): if "
                       "the file was opened and saved in Excel, which rewrites dates, use the "
                       "file as the provider exported it", problem.code, problem.severity)
    return problem


def _in_currency(frame: pl.DataFrame, raw: Any, inputs: Any) -> tuple[pl.DataFrame, list[Problem]]:
    """Costs billed in another currency, at the month's ExchangeRates rate; without one, a
    sentence: a EUR bill is never charged as dollars."""
    currency = inputs.settings.currency.strip().upper()
    billed = pl.col("BillingCurrency").str.strip_chars().str.to_uppercase()
    other = frame.filter(billed.is_not_null() & (billed != currency))
    if other.height == 0:
        return frame, []
    rates: dict[tuple[str, str], Decimal] = {}
    if inputs.has("ExchangeRates"):
        for period, code, rate in inputs.frame("ExchangeRates").select(
                "period", "currency", "rate").iter_rows():
            rates[(period, str(code).strip().upper())] = rate
    problems = []
    needed = other.group_by(billed.alias("code"), "period").agg(pl.col("_row").min()).sort(
        "code", "period")
    for code, period, row in needed.iter_rows():
        if (period, code) not in rates or not rates[(period, code)] > 0:
            problems.append(Problem(
                raw.where("BillingCurrency", row),
                f"BillingCurrency {code} for {period}, but this workbook charges in {currency}; "
                f"add an ExchangeRates row (period {period}, currency {code}, rate = {currency} "
                f"per 1 {code}), or set Settings currency if the whole workbook is in {code}",
                "other-currency"))
    if problems:
        return frame, problems
    converted = []
    for rec in frame.iter_rows(named=True):
        code = (rec["BillingCurrency"] or currency).strip().upper()
        if code != currency:
            rec["cost"] = rec["cost"] * rates[(rec["period"], code)]
            if rec.get(LIST_COST) is not None:
                rec[LIST_COST] = rec[LIST_COST] * rates[(rec["period"], code)]
        converted.append(rec)
    schema: dict[str, Any] = dict(frame.schema)
    schema.update({c: pl.Decimal(38, 18) for c in ("cost", LIST_COST) if c in frame.columns})
    return pl.DataFrame(converted, schema=schema), []


def tag_pairs(text: str | None) -> list[tuple[str, str]]:
    """(key, value) pairs of a Tags cell in any of the ways bills write them: a JSON object,
    a JSON array of {"key": .., "value": ..} (a Parquet map or GCP labels), or Azure's
    `"key": "value","key2": "value2"` without braces."""
    if not text or not text.strip():
        return []
    body = text.strip()
    for candidate in (body, "{" + body + "}"):
        try:
            parsed = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            return [(str(k), "" if v is None else str(v)) for k, v in parsed.items()]
        if isinstance(parsed, list):
            pairs = []
            for item in parsed:
                if isinstance(item, dict):
                    low = {str(k).casefold(): v for k, v in item.items()}
                    if "key" in low:
                        pairs.append((str(low["key"]), "" if low.get("value") is None
                                      else str(low.get("value"))))
            return pairs
    return []


def tag_key(key: str) -> str:
    """Tag keys match ignoring case and a provider's prefix: `user:Agency` (AWS) and
    `CostCenter.agency` (an OCI defined tag) are `agency`."""
    return re.split(r"[:.]", key.strip())[-1].strip().casefold()


def tag_value(tags: pl.Expr, key: str) -> pl.Expr:
    """The value of tag `key` (matched as `tag_key` does) in a Tags cell written any of the
    ways `tag_pairs` reads, as a vectorised expression for the streaming pass."""
    name = re.escape(tag_key(key))
    prefix = r'(?:[^"]*[:.])?'
    as_object = rf'(?i)"{prefix}{name}"\s*:\s*"([^"]*)"'
    key_first = rf'(?i)"key"\s*:\s*"{prefix}{name}"\s*,\s*"value"\s*:\s*"([^"]*)"'
    value_first = rf'(?i)"value"\s*:\s*"([^"]*)"\s*,\s*"key"\s*:\s*"{prefix}{name}"'
    found = pl.coalesce([tags.str.extract(p, 1) for p in (key_first, value_first, as_object)])
    found = found.str.strip_chars().str.to_uppercase()
    return pl.when(found == "").then(None).otherwise(found)


def _nested(dtype: Any) -> bool:
    return isinstance(dtype, pl.Map) or (isinstance(dtype, pl.List)
                                          and isinstance(dtype.inner, pl.Struct))


def nested_tag_value(tags: pl.Expr, dtype: Any, key: str) -> pl.Expr:
    """`tag_value` for Tags kept in Parquet's own types (a map, or a list of key/value
    structs), read from the structure itself: no JSON text is made for millions of rows."""
    entries = tags.map.entries() if isinstance(dtype, pl.Map) else tags
    inner = dtype.inner if isinstance(dtype, pl.List) else None
    fields = {f.name.casefold(): f.name for f in inner.fields} if isinstance(inner, pl.Struct) \
        else {"key": "key", "value": "value"}
    if "key" not in fields or "value" not in fields:
        return pl.lit(None, pl.String)
    element = pl.element()
    name = element.struct.field(fields["key"]).cast(pl.String).str.strip_chars() \
        .str.to_lowercase().str.replace(r"^.*[:.]", "")
    found = entries.list.eval(element.filter(name == tag_key(key)).struct.field(
        fields["value"]).cast(pl.String)).list.first()
    found = found.str.strip_chars().str.to_uppercase()
    return pl.when(found == "").then(None).otherwise(found)


def _count_keys(frame: Any, seen: dict[str, int], sample: int = 20_000) -> None:
    """The tag keys of the bill's first rows, to name when the configured key is not one."""
    try:
        texts = frame.select("Tags").head(sample).collect()["Tags"].drop_nulls().to_list()
    except pl.exceptions.PolarsError:
        return  # the streaming pass names what is wrong with the file
    for text in set(texts):
        for key, _value in tag_pairs(text):
            seen[key] += 1


def _agency(frame: pl.DataFrame, inputs: Any,
            seen: dict[str, int]) -> tuple[list[pl.Expr], list[Problem]]:
    """The agency of each row: its tag, else FocusMap by sub-account id, else by name."""
    known = set(inputs.frame("Agencies")["agency_id"].to_list())
    candidates = []
    problems = []
    tag = inputs.settings.focus_agency_tag
    if tag and "Tags" in frame.columns:  # Tags holds the tag's value (read_focus)
        if frame["Tags"].is_null().all():
            keys = ", ".join(sorted(seen, key=lambda k: (-seen[k], k))[:12]) or "none"
            problems.append(Problem(
                inputs.settings.cells.get("focus_agency_tag", "Settings"),
                f"focus_agency_tag '{tag}' matches no tag in the FOCUS bills, so no cost is "
                f"allocated by tag (tag keys seen: {keys})", "tag-not-seen", "warning"))
        candidates.append(pl.col("Tags"))
    if inputs.has("FocusMap"):
        mapping = inputs.frame("FocusMap")
        by_id = {account_key(str(k)): v for k, v in mapping.select("sub_account_id", "agency_id")
                 .drop_nulls().iter_rows()}
        by_name = {str(k).strip().casefold(): v for k, v in mapping.select(
            "sub_account_name", "agency_id").drop_nulls().iter_rows()}
        if "SubAccountId" in frame.columns and by_id:
            ids = pl.col("SubAccountId").str.strip_chars()
            digits = ids.str.contains(r"^\d+$")
            account = pl.when(digits).then(ids.str.strip_chars_start("0")).otherwise(ids)
            candidates.append(account.replace_strict(by_id, default=None, return_dtype=pl.String))
        if "SubAccountName" in frame.columns and by_name:
            candidates.append(pl.col("SubAccountName").str.strip_chars().str.to_lowercase()
                              .replace_strict(by_name, default=None, return_dtype=pl.String))
    found = pl.coalesce(candidates) if candidates else pl.lit(None, dtype=pl.String)
    ok = found.is_in(sorted(known))
    reason = (pl.when(found.is_null()).then(pl.lit("no agency tag and no FocusMap entry"))
              .when(~ok).then(pl.concat_str([pl.lit("agency '"), found,
                                             pl.lit("' is not in Agencies")]))
              .otherwise(None))
    return [pl.when(ok).then(found).otherwise(None).alias("agency"),
            reason.alias("unallocated")], problems


def account_key(text: str) -> str:
    """An account id as matched: an all-digit id without its leading zeros (Excel keeps
    012345678901 as the number 12345678901)."""
    text = text.strip()
    return text.lstrip("0") if text.isdigit() else text


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
    listed = pl.col(LIST_COST) if LIST_COST in frame.columns else pl.lit(None, pl.Decimal(38, 18))
    allocated = frame.filter(pl.col("agency").is_not_null()).group_by(
        "period", "agency", "ServiceName", "tower", "ChargeCategory", "provider", "corrects").agg(
        pl.col("cost").sum(), listed.sum().alias("list"), pl.col(NO_LIST).sum()).sort(
        "period", "agency", "ServiceName", "ChargeCategory", "corrects", nulls_last=False)
    for period, agency, service, tower, category, provider, corrects, cost, list_cost, \
            unlisted in allocated.iter_rows():
        # a list price only where every row of the sum gave one
        bill.lines.append((period, agency, service, tower, category, provider, cost, corrects,
                           list_cost if not unlisted else None))
        bill.cost[(period, service)] += cost
    loose = frame.filter(pl.col("agency").is_null()).group_by(
        "period", "provider", "ServiceName", "SubAccountId", "SubAccountName", "ChargeCategory",
        "unallocated").agg(pl.col("cost").sum()).sort("period", "ServiceName", "ChargeCategory")
    for period, provider, service, sub_id, sub_name, category, why, cost in loose.iter_rows():
        bill.unallocated.append(Unallocated(period, provider, service, sub_id, sub_name,
                                            category, cost.normalize(), why))
        bill.cost[(period, service)] += cost




