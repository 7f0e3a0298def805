"""Load a workbook's inputs: read every contract table, type it, and check it across tables.

`load_inputs(path)` is the "load → validate" half of every pipeline. It returns the typed
tables and settings with every problem found, errors and warnings together; callers stop
on errors and carry warnings into their logs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from . import contract as C
from . import seal
from .problems import Problem
from .sources import SOURCES_SPEC, Sources, read_text_table, recorded, resolve
from .validate import (
    LIMIT_PER_CHECK,
    Typed,
    duplicates,
    shown,
    typed_aggregate,
    typed_table,
    unknown_ids,
)
from .workbook.reader import ROW, RawTable, WorkbookReader


def _default(key: str) -> Any:
    return C.SETTINGS_DEFAULTS[key][1]


@dataclass(frozen=True)
class Settings:
    """The Settings sheet, typed; every default is the contract's (contract.SETTINGS_DEFAULTS)."""

    organization: str = _default("organization")
    currency: str = _default("currency")
    fiscal_year_start_month: int = _default("fiscal_year_start_month")
    follow_up_below: int = _default("follow_up_below")
    follow_up_days: int = _default("follow_up_days")
    sender_name: str | None = _default("sender_name")
    sender_email: str | None = _default("sender_email")
    reply_to: str | None = _default("reply_to")
    smtp_host: str | None = _default("smtp_host")
    smtp_port: int = _default("smtp_port")
    mail_transport: str = _default("mail_transport")
    smtp_auth: str = _default("smtp_auth")
    smtp_oauth_scope: str = _default("smtp_oauth_scope")
    graph_tenant_id: str | None = _default("graph_tenant_id")
    graph_client_id: str | None = _default("graph_client_id")
    graph_mailbox: str | None = _default("graph_mailbox")
    graph_authority_host: str = _default("graph_authority_host")
    graph_endpoint: str = _default("graph_endpoint")
    in_person_within_days: int = _default("in_person_within_days")
    csat_target_pct: int = _default("csat_target_pct")
    csat_drop_points: int = _default("csat_drop_points")
    csat_min_responses: int = _default("csat_min_responses")
    report_templates: str | None = _default("report_templates")
    report_period: str | None = _default("report_period")
    show_health_to_agencies: bool = _default("show_health_to_agencies")
    show_internal_to_agencies: bool = _default("show_internal_to_agencies")
    usage_files: str | None = _default("usage_files")
    focus_files: str | None = _default("focus_files")
    focus_agency_tag: str | None = _default("focus_agency_tag")
    focus_cost_column: str = _default("focus_cost_column")
    focus_surcharge_pct: Any = _default("focus_surcharge_pct")
    survey_score_map: str | None = _default("survey_score_map")
    survey_date_order: str | None = _default("survey_date_order")
    journal_template: str | None = _default("journal_template")
    journal_date: str = _default("journal_date")
    ledger_path: str | None = _default("ledger_path")
    dispute_window_cycles: int = _default("dispute_window_cycles")
    rate_decimals: int = _default("rate_decimals")
    vendor_grades: str = _default("vendor_grades")
    pass_through_credits: bool = _default("pass_through_credits")
    template_seconds: int = _default("template_seconds")
    template_max_mb: int = _default("template_max_mb")
    extra: dict[str, str] = field(default_factory=dict)
    cells: dict[str, str] = field(default_factory=dict)  # key -> the cell holding its value


assert {f for f in Settings.__dataclass_fields__ if f not in ("extra", "cells")} == set(
    C.SETTINGS_DEFAULTS), "Settings and contract.SETTINGS_DEFAULTS must name the same keys"


@dataclass
class Inputs:
    path: Path
    tables: dict[str, Typed]
    settings: Settings
    previous: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    usage_files: list[Typed] = field(default_factory=list)
    sources: Sources = field(default_factory=lambda: Sources())  # the files beyond Settings
    focus: Any = None  # brm_xl.focus.FocusBill when FOCUS files are given
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # derived once

    def frame(self, name: str) -> pl.DataFrame:
        if name == "Usage" and self.usage_files:
            return pl.concat([t.frame for t in self.usage_parts()], how="diagonal_relaxed")
        return self.tables[name].frame

    def usage_parts(self) -> list[Typed]:
        """The Usage table of the workbook (if any) and each usage file."""
        sheet = [self.tables["Usage"]] if self.tables["Usage"].raw.found else []
        return sheet + self.usage_files

    def has(self, name: str) -> bool:
        return name in self.tables and self.tables[name].raw.found

    def row_counts(self) -> dict[str, int]:
        counts = {name: t.rows for name, t in self.tables.items() if t.raw.found}
        for part in self.usage_files:
            counts[part.raw.sheet] = part.rows
        if self.focus is not None:
            counts["FOCUS"] = self.focus.rows
        return counts


Check = Callable[["Inputs"], list[Problem]]
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
    from .outputs import CLOSE_SPECS  # a closed month's published bills, for every command

    previous = (*previous, SOURCES_SPEC) if SOURCES_SPEC not in previous else previous
    previous = (*previous, *(spec for spec in CLOSE_SPECS if spec not in previous))
    earlier: dict[str, list[dict[str, Any]]] = {}
    logs: dict[str, seal.Table] = {}
    with WorkbookReader(path) as reader:
        raws = [reader.read(spec, typed=True) for spec in specs]
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
    """Stage 2b: every seal of the closed months (brm_xl.seal), before anything trusts them."""
    adjustments = where = None
    if inputs.has("Adjustments"):
        table = inputs.tables["Adjustments"]
        adjustments = table.frame.drop_nulls(["period"]).to_dicts()
        where = table.where
    verified = seal.verify(logs, adjustments, where)
    inputs.memo["verified"] = verified
    inputs.memo["pins"], found = seal.check_pins(verified, logs)
    verified.problems += found
    if not verified.legacy:
        from . import ledger

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
        from .focus import read_focus

        inputs.focus, found = read_focus(paths, inputs)
        problems += found
    return problems


def parse_settings(sheet: str, rows: list[tuple[int, str, str | None]]) -> tuple[Settings, list[Problem]]:
    known = {C.header_key(k): k for k in C.SETTINGS_DEFAULTS}
    values: dict[str, Any] = {}
    extra: dict[str, str] = {}
    cells: dict[str, str] = {}
    problems = []
    for row, key, value in rows:
        hkey = C.header_key(key)
        # an alias or a tool's date order names a thing, not a secret ("Secretary of State")
        named = str(key).strip().casefold().startswith(
            (C.AGENCY_ALIAS_PREFIX, C.SURVEY_DATE_ORDER_PREFIX))
        if not named and any(word in hkey for word in C.SECRET_WORDS):
            problems.append(Problem(
                f"{sheet}!A{row}",
                f"'{shown(key)}' is ignored: brm_xl never reads a password or secret from a "
                "workbook (use the BRM_SMTP_PASSWORD environment variable); delete this row",
                "secret-in-workbook", "warning",
            ))
            continue
        if hkey not in known:
            if hkey in ("key", "setting", "name"):
                continue  # a header row
            extra[str(key).strip()] = value or ""
            continue
        name = known[hkey]
        cells[name] = f"{sheet}!B{row}"
        parsed, error = _setting_value(name, value)
        if error:
            problems.append(Problem(f"{sheet}!B{row}", f"{name} {error}", "bad-setting"))
        elif name in C.CEILINGS and parsed is not None and parsed > _default(name):
            problems.append(Problem(f"{sheet}!B{row}", f"{name} {parsed} is above the most "
                                    f"brm_xl allows ({_default(name)}); {_default(name)} is used "
                                    "(a Setting may lower this limit, not raise it)",
                                    "above-ceiling", "warning"))
            values[name] = _default(name)
        elif parsed is not None:
            values[name] = parsed
    return Settings(**values, extra=extra, cells=cells), problems


def _setting_value(name: str, value: str | None) -> tuple[Any, str | None]:
    from . import kinds

    if value is None:
        return None, None
    kind = C.SETTINGS_DEFAULTS[name][0]
    if kind == C.FLAG:
        flag = C.FLAG_WORDS.get(str(value).strip().casefold())
        return (flag, None) if flag is not None else (
            None, f"'{shown(value)}' is not yes or no")
    frame = pl.DataFrame({"v": [value]}).select(*(e.alias(n) for e, n in zip(
        kinds.parse(kind, pl.col("v")), ("value", "why"))))
    parsed, why = frame.row(0)
    if why:
        return None, f"'{shown(value)}' {why}"
    if name == "fiscal_year_start_month" and not 1 <= parsed <= 12:
        return None, f"'{value}' must be a month number from 1 to 12"
    if name in C.CEILINGS and parsed < 1:
        return None, f"'{value}' must be at least 1"
    if name == "survey_date_order" and str(parsed).strip().casefold() not in ("mdy", "dmy"):
        return None, f"'{shown(value)}' is not mdy (month first) or dmy (day first)"
    if name == "survey_date_order":
        return str(parsed).strip().casefold(), None
    choices = {"mail_transport": C.MAIL_TRANSPORTS, "smtp_auth": C.SMTP_AUTHS}.get(name)
    if choices is not None:
        if str(parsed).strip().casefold() not in choices:
            return None, f"'{shown(value)}' is not one of {', '.join(choices)}"
        return str(parsed).strip().casefold(), None
    if name in ("graph_authority_host", "graph_endpoint", "smtp_oauth_scope"):
        text = str(parsed).strip()
        if not re.match(r"^https://[A-Za-z0-9.-]+(:\d+)?(/[^\s]*)?$", text):
            return None, f"'{shown(value)}' is not an https:// address"
        return text.rstrip("/") if name != "smtp_oauth_scope" else text, None
    if name == "smtp_port" and not 1 <= parsed <= 65535:
        return None, f"'{value}' is not a port number"
    return parsed, None


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


def rate_lookup(rate_card: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for rec in rate_card.drop_nulls(["service_id", "effective_from", "rate"]).sort(
            "effective_from").iter_rows(named=True):
        out.setdefault(rec["service_id"], []).append(rec)
    return out


def find_rate(rows: list[dict[str, Any]], period: str) -> dict[str, Any] | None:
    for rec in rows:
        if rec["effective_from"] <= period and (rec["effective_to"] is None or period <= rec["effective_to"]):
            return rec
    return None


def check_duplicates(inputs: Inputs) -> list[Problem]:
    out = duplicates(inputs.tables["Headcount"], ["period", "agency_id"],
                     "headcount for {} is given more than once")
    if inputs.has("StandaloneCosts"):
        out += duplicates(inputs.tables["StandaloneCosts"], ["service_id", "component"],
                          "standalone cost {} is given more than once")
    return out


def check_vendor_tables(inputs: Inputs) -> list[Problem]:
    from .vendors import check_vendors

    return check_vendors(inputs)


def check_budget_tables(inputs: Inputs) -> list[Problem]:
    from .budgets import check_budgets

    return check_budgets(inputs)


CHARGEBACK_CHECKS: tuple[Check, ...] = (check_not_empty, check_ids, check_rates, check_rate_coverage,
                                        check_duplicates, check_vendor_tables, check_budget_tables)
