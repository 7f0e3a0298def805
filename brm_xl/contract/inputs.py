"""The loaded inputs every computation receives: the typed tables, the Settings, the files
named beyond them, and what the read stage found in the workbook's history.

Built by the read stage (`brm_xl.pipeline.read.load_inputs`); the computations below it
take an `Inputs` and never read a file themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from brm_xl.contract import kinds
from brm_xl.contract import tables as C
from brm_xl.contract.history import Pins, Verified
from brm_xl.contract.validate import Typed, shown
from brm_xl.problems import Problem


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
    review_change_pct: Any = _default("review_change_pct")
    review_min_amount: Any = _default("review_min_amount")
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
    focus: Any = None  # brm_xl.sources.focus.FocusBill when FOCUS files are given
    # what the closed books published and where each credit went on a bill, as the read
    # stage's seal check found them (brm_xl.books.seal): the computations' history
    published: Verified = field(default_factory=lambda: Verified([], []))
    pins: Pins = field(default_factory=Pins)
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


@dataclass(frozen=True)
class Sources:
    """Files named on the command line, added to those in Settings."""

    usage: tuple[Path, ...] = ()
    focus: tuple[Path, ...] = ()
    refreshing: bool = False  # a refresh reads a recorded file that changed (and records it anew)
    newest: bool = False  # two exports of one FOCUS bill that disagree: charge the later one

    def names_files(self) -> bool:
        return bool(self.usage or self.focus)
