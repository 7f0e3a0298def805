"""Load a workbook's inputs: read every contract table, type it, and check it across tables.

`load_inputs(path)` is the "load → validate" half of every pipeline. It returns the typed
tables and settings with every problem found, errors and warnings together; callers stop
on errors and carry warnings into their logs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from brm_xl.billing.allocations import check_allocations
from brm_xl.billing.budgets import check_budgets
from brm_xl.billing.chargeback import find_rate, rate_lookup
from brm_xl.billing.review import check_decisions
from brm_xl.books import ledger, seal
from brm_xl.contract import tables as C
from brm_xl.contract.inputs import Check, Inputs, Sources, parse_settings
from brm_xl.contract.raw import ROW, RawTable
from brm_xl.contract.validate import (
    LIMIT_PER_CHECK,
    Typed,
    duplicates,
    typed_aggregate,
    typed_table,
    unknown_ids,
)
from brm_xl.pipeline.outputs import CLOSE_SPECS
from brm_xl.problems import Problem
from brm_xl.relationships.plans import check_plans
from brm_xl.sources.files import SOURCES_SPEC, read_text_table, recorded, resolve
from brm_xl.sources.focus import read_focus
from brm_xl.vendors.scorecards import check_vendors
from brm_xl.workbook.reader import WorkbookReader

USAGE_KEYS = ["period", "agency_id", "service_id"]


Progress = Callable[[str], None]


def load_inputs(path: Path, specs: tuple[C.TableSpec, ...] = C.INPUT_TABLES,
                checks: tuple[Check, ...] | None = None,
                previous: tuple[C.TableSpec, ...] = (),
                sources: Sources | None = None,
                progress: Progress = lambda stage: None) -> tuple[Inputs, list[Problem]]:
    """The "load -> validate" half of every pipeline, as named stages; each stage returns
    its problems as data, and all of them are returned together."""
    progress("reading the workbook")
    raws, earlier, settings_rows, problems, logs = read_workbook(path, specs, previous)
    progress("checking each table")
    tables, found = type_tables(raws)
    settings, more = parse_settings(*settings_rows)
    inputs = Inputs(Path(path), tables, settings, earlier)
    problems += found + more
    progress("checking the seals of closed months")
    problems += check_seals(inputs, logs)
    if "Usage" in tables:
        progress("reading usage files and cloud bills")
        inputs.sources, found = recorded(inputs.path, earlier.get("Sources", []),
                                         sources if sources is not None else Sources())
        problems = _read_files(inputs, inputs.sources, problems + found)
    progress("checking across tables")
    for check in checks if checks is not None else CHARGEBACK_CHECKS:
        problems.extend(check(inputs))
    return inputs, problems


def read_workbook(path: Path, specs: tuple[C.TableSpec, ...], previous: tuple[C.TableSpec, ...],
                  ) -> tuple[list[RawTable], dict[str, list[dict[str, Any]]],
                             tuple[str, list[tuple[int, str, str | None]]], list[Problem],
                             dict[str, seal.Table]]:
    """Stage 1: the contract's tables as text (with every cell's address), the earlier rows
    of the logs brm_xl appends to (and of Sources), the Settings rows, and the close
    tables with their cells' addresses (for the seal check)."""
    previous = (*previous, SOURCES_SPEC) if SOURCES_SPEC not in previous else previous
    previous = (*previous, *(spec for spec in CLOSE_SPECS if spec not in previous))
    earlier: dict[str, list[dict[str, Any]]] = {}
    logs: dict[str, seal.Table] = {}
    with WorkbookReader(path) as reader:
        # the large table loads in a thread while the others are read, then is read last
        order = sorted(range(len(specs)), key=lambda i: specs[i] is C.USAGE)
        for i in order[-1:]:
            if specs[i] is C.USAGE:
                reader.prefetch(specs[i])
        read = {i: reader.read(specs[i], typed=True) for i in order}
        raws = [read[i] for i in range(len(specs))]
        for spec in previous:
            if reader.package.table(spec.name) is not None:
                raw = reader.read(spec)
                frame = raw.frame.filter(pl.any_horizontal(pl.exclude(ROW).is_not_null())) \
                    if len(raw.frame.columns) > 1 else raw.frame.clear()
                if spec.name not in SEAL_ONLY:  # those are put back from the seal records
                    earlier[spec.name] = list(frame.drop(ROW).iter_rows(named=True))
                if spec.name in SEALED_TABLES + PINNED_TABLES:
                    logs[spec.name] = seal.Table(None, raw.where, raw.error_cells, frame=frame)
        settings = reader.read_settings()
    return raws, earlier, settings, [p for raw in raws for p in raw.problems], logs


SEALED_TABLES = ("Closes", "PublishedCharges", "PublishedHeadcount", "AuditLog", seal.SEALS)
PINNED_TABLES = ("DisputeLog", "ServiceCredits")
SEAL_ONLY = ("PublishedCharges", "PublishedHeadcount", seal.SEALS)


def check_seals(inputs: Inputs, logs: dict[str, seal.Table]) -> list[Problem]:
    """Stage 2b: every seal of the closed months (brm_xl.books.seal), before anything trusts them."""
    adjustments = where = None
    if inputs.has("Adjustments"):
        table = inputs.tables["Adjustments"]
        adjustments = table.frame.drop_nulls(["period"]).to_dicts()
        where = table.where
    verified = seal.verify(logs, adjustments, where)
    inputs.published = verified
    inputs.pins, found = seal.check_pins(verified, logs)
    verified.problems += found
    if not verified.legacy:
        verified.problems += ledger.compare(
            ledger.folder_of(inputs.path, inputs.settings.ledger_path), verified.book,
            verified.records)
    if verified.legacy and verified.records:
        verified.problems.append(Problem(
            "Closes", f"{len(verified.records)} closes were made before brm_xl sealed its "
            "closes: they will be sealed as they are now at the next refresh or close (an "
            "AuditLog row says so), and an edit made to them before then cannot be detected",
            "unsealed", "warning"))
    return verified.problems


def type_tables(raws: list[RawTable]) -> tuple[dict[str, Typed], list[Problem]]:
    """Stage 2: every cell parsed by its kind; Usage checked and summed in one pass."""
    tables: dict[str, Typed] = {}
    problems: list[Problem] = []
    for raw in raws:
        if raw.spec is C.USAGE:  # checked and summed per key in one pass: it can be huge
            typed, found = typed_aggregate(raw, USAGE_KEYS, "quantity")
        else:
            typed, found = typed_table(raw)
        problems.extend(found)
        tables[raw.spec.name] = typed
    return tables, problems


def _read_files(inputs: Inputs, sources: Sources, problems: list[Problem]) -> list[Problem]:
    """Usage files and FOCUS bills named in Settings or on the command line."""
    settings = inputs.settings
    paths, found = resolve(inputs.path, settings.usage_files, sources.usage, "usage_files",
                           settings.cells.get("usage_files", "Settings"))
    problems = problems + found
    for path in paths:
        raw = read_text_table(path, C.USAGE, lazy=True)
        problems += raw.problems
        if raw.problems:
            continue
        typed, found = typed_aggregate(raw, USAGE_KEYS, "quantity")
        problems += found
        inputs.usage_files.append(typed)
    if inputs.usage_files:  # the workbook's own Usage table becomes optional
        problems = [p for p in problems if not (p.code == "missing-table"
                                                and p.where.startswith("Usage!"))]
    paths, found = resolve(inputs.path, settings.focus_files, sources.focus, "focus_files",
                           settings.cells.get("focus_files", "Settings"))
    problems += found
    if paths:
        inputs.focus, found = read_focus(paths, inputs)
        problems += found
    return problems






# ---- cross-table checks -------------------------------------------------------------

def _keys(inputs: Inputs, table: str, column: str) -> set[str]:
    return set(inputs.frame(table)[column].drop_nulls().to_list())


def check_not_empty(inputs: Inputs) -> list[Problem]:
    """Agencies and RateCard with no rows: a refresh would charge nothing, silently."""
    problems = []
    for name, table in inputs.tables.items():
        spec = table.raw.spec
        if spec.needs_rows and table.raw.found and len(table) == 0 and not table.raw.problems:
            problems.append(Problem(table.raw.where(spec.columns[0].name), f"{name} has no rows, "
                                    f"so there is nothing to bill ({spec.help.rstrip('.').lower()})",
                                    "empty-table"))
    return problems


def check_ids(inputs: Inputs) -> list[Problem]:
    agencies = _keys(inputs, "Agencies", "agency_id")
    services = _keys(inputs, "RateCard", "service_id")
    out: list[Problem] = []
    for part in inputs.usage_parts() if "Usage" in inputs.tables else []:
        if agencies:
            out.extend(unknown_ids(part, "agency_id", agencies, "Agencies"))
        if services:
            out.extend(unknown_ids(part, "service_id", services, "RateCard"))
    for table, column, known, master in (
        ("Headcount", "agency_id", agencies, "Agencies"),
        ("Adjustments", "agency_id", agencies, "Agencies"),
        ("Adjustments", "service_id", services, "RateCard"),
        ("CostPools", "service_id", services, "RateCard"),
        ("StandaloneCosts", "service_id", services, "RateCard"),
        ("Survey", "agency_id", agencies, "Agencies"),
        ("Survey", "service_id", services, "RateCard"),
        ("Engagements", "agency_id", agencies, "Agencies"),
        ("Outcomes", "agency_id", agencies, "Agencies"),
        ("Assessments", "agency_id", agencies, "Agencies"),
        ("AccountPlans", "agency_id", agencies, "Agencies"),
        ("CommsPlan", "agency_id", agencies, "Agencies"),
        ("Stakeholders", "agency_id", agencies, "Agencies"),
    ):
        if table in inputs.tables and inputs.tables[table].raw.found and known:
            out.extend(unknown_ids(inputs.tables[table], column, known, master))
    return out


def check_rates(inputs: Inputs) -> list[Problem]:
    """effective_to is not before effective_from, and no two rows of a service overlap."""
    table = inputs.tables["RateCard"]
    out = []
    rows = table.frame.drop_nulls(["service_id", "effective_from"]).sort(
        "service_id", "effective_from", ROW).iter_rows(named=True)
    previous: dict[str, Any] = {}
    for rec in rows:
        start, end = rec["effective_from"], rec["effective_to"]
        if end is not None and end < start:
            out.append(Problem(table.where("effective_to", rec[ROW]),
                               f"effective_to {end} is before effective_from {start}",
                               "bad-range"))
        before = previous.get(rec["service_id"])
        if before is not None and (before["effective_to"] is None or before["effective_to"] >= start):
            until = before["effective_to"] or "open-ended"
            out.append(Problem(
                table.where("effective_from", rec[ROW]),
                f"rate for {rec['service_id_text']} from {start} overlaps row {before[ROW]} "
                f"({before['effective_from']} to {until}); end the earlier rate first",
                "rate-overlap",
            ))
        previous[rec["service_id"]] = rec
    return out


def check_rate_coverage(inputs: Inputs) -> list[Problem]:
    """Every month with usage has a rate for its service."""
    rates = rate_lookup(inputs.frame("RateCard"))
    out: list[Problem] = []
    for usage in inputs.usage_parts():
        out.extend(_rate_coverage(usage, rates))
    return out


def _rate_coverage(usage: Typed, rates: dict[str, list[dict[str, Any]]]) -> list[Problem]:
    pairs = usage.frame.select("service_id", "period").drop_nulls().unique()
    missing = [
        (s, p) for s, p in pairs.iter_rows()
        if s in rates and find_rate(rates[s], p) is None
    ]
    if not missing:
        return []
    bad = usage.frame.join(
        pl.DataFrame(missing, schema=["service_id", "period"], orient="row"),
        on=["service_id", "period"],
    ).sort(ROW)
    out = []
    for rec in bad.head(LIMIT_PER_CHECK).iter_rows(named=True):
        spans = ", ".join(f"{r['effective_from']} to {r['effective_to'] or 'open-ended'}"
                          for r in rates[rec["service_id"]])
        out.append(Problem(
            usage.where("period", rec[ROW]),
            f"no RateCard rate for {rec['service_id_text']} covers {rec['period']} "
            f"(rates run {spans})",
            "no-rate",
        ))
    if bad.height > LIMIT_PER_CHECK:
        out.append(Problem(usage.where("period"),
                           f"{bad.height - LIMIT_PER_CHECK} more usage rows with no rate",
                           "more"))
    return out






def check_duplicates(inputs: Inputs) -> list[Problem]:
    out = duplicates(inputs.tables["Headcount"], ["period", "agency_id"],
                     "headcount for {} is given more than once")
    if inputs.has("StandaloneCosts"):
        out += duplicates(inputs.tables["StandaloneCosts"], ["service_id", "component"],
                          "standalone cost {} is given more than once")
    return out


def check_vendor_tables(inputs: Inputs) -> list[Problem]:
    return check_vendors(inputs)


def check_budget_tables(inputs: Inputs) -> list[Problem]:
    return check_budgets(inputs)


def check_plan_tables(inputs: Inputs) -> list[Problem]:
    return check_plans(inputs)


def check_allocation_tables(inputs: Inputs) -> list[Problem]:
    return check_allocations(inputs) + check_decisions(inputs)


CHARGEBACK_CHECKS: tuple[Check, ...] = (check_not_empty, check_ids, check_rates, check_rate_coverage,
                                        check_duplicates, check_vendor_tables, check_budget_tables,
                                        check_plan_tables, check_allocation_tables)
