"""Add rows to an input table from outside the workbook: a survey export, a logged contact.

The pipeline: load (the master tables and the target) -> check the new rows as the
workbook's own rows are checked, each problem at its CSV line or option -> drop rows
already there -> append with the lossless writer. Any error: nothing is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from . import contract as C
from .chargeback import display_names
from .inputs import check_ids, load_inputs
from .problems import DataProblems, Problem, errors
from .validate import typed_table, unknown_ids
from .workbook.append import append_rows
from .workbook.guard import Held, locked
from .workbook.package import Package
from .workbook.reader import ROW, RawTable
from .workbook.writer import PackageEdit


@dataclass
class Added:
    added: int
    skipped: int  # already there, with the same answers (or repeated in the file)
    warnings: list[Problem]
    source: str | None = None  # the tool an import was read as ("Qualtrics", ...)
    form: str | None = None  # the form label its ids were qualified with
    read: int = 0  # rows read: added + already there + repeated in the file
    repeated: int = 0  # rows the file held twice (the same response), added once


# `brm-xl log` names its options after the Engagements columns they fill
LOG_OPTIONS = {"date": "date", "agency_id": "agency", "brm_manager": "manager",
               "channel": "channel", "topic": "topic", "attendees": "attendees", "notes": "notes",
               "action_item": "action", "action_owner": "owner", "action_due": "due",
               "action_done_on": "done"}


def log_contact(path: Path, values: dict[str, str | None]) -> Added:
    """Append one contact (Engagements columns -> text); a blank brm_manager is the
    agency's own from Agencies. Problems are located at the option that gave the value."""
    frame = pl.DataFrame({**{k: [v or None] for k, v in values.items()}, ROW: [1]},
                         schema={**{k: pl.String for k in values}, ROW: pl.Int64})
    raw = RawTable(C.ENGAGEMENTS, "log", frame,
                   locate=lambda column, row: f"--{LOG_OPTIONS.get(column, column)}")
    return add_rows(path, raw, default_manager=True)


def import_survey(path: Path, export: Path, maps: dict[str, str],
                  form: str | None = None, date_order: str | None = None) -> Added:
    """Append a survey export's new responses to the Survey table (see survey_import)."""
    from .survey_import import matching, survey_table

    inputs, _ = load_inputs(path, specs=(C.AGENCIES,), checks=())
    match = matching([(a, n) for a, n in inputs.frame("Agencies").select(
        "agency_id_text", "agency_name").iter_rows()], inputs.settings.extra,
        inputs.settings.survey_score_map, inputs.settings.survey_date_order)
    rows = survey_table(export, maps, match, form, date_order)
    added = add_rows(path, rows.raw, key="response_id", same=SURVEY_ANSWERS,
                     identity=response_identity)
    added.source, added.form = rows.source, rows.form
    return added


# A response already in Survey is the same response when these agree; followed_up_on and
# follow_up_note are the BRM manager's own, written after the import.
SURVEY_ANSWERS = ("submitted_on", "agency_id", "respondent", "service_id", "score", "comment")


def response_identity(frame: pl.DataFrame) -> pl.Expr:
    """A response is the tool's own id with its submission day, whatever file it came in:
    `7@2026-11-04` (this version), `Q2#7` (a form label, --form) and `forms#7` (a label
    taken from a file name before) are all response 7 of that day."""
    base = pl.col("response_id").str.replace(r"^.*#", "").str.replace(r"@\d{4}-\d{2}-\d{2}$", "")
    day = pl.col("submitted_on").cast(pl.String) if "submitted_on" in frame.columns \
        else pl.lit("")
    return pl.concat_str([base, day.fill_null("")], separator="\x1f")


def add_rows(path: Path, raw: RawTable, key: str | None = None,
             default_manager: bool = False, same: tuple[str, ...] = (),
             identity: Callable[[pl.DataFrame], pl.Expr] | None = None) -> Added:
    """Append the rows of `raw` (text, as from a sheet) to the workbook table `raw.spec`.

    A row whose `key` (e.g. response_id) the table already holds is skipped when its
    `same` columns agree (adding the same file twice adds nothing); when they differ it
    is a conflict, listed with both rows, and nothing is written.
    """
    with locked(Path(path)) as held:
        return _add_rows(held, raw, key, default_manager, same, identity)


def _add_rows(held: Held, raw: RawTable, key: str | None, default_manager: bool,
              same: tuple[str, ...] = (),
              identity: Callable[[pl.DataFrame], pl.Expr] | None = None) -> Added:
    spec, path = raw.spec, held.path
    inputs, problems = load_inputs(path, specs=(C.AGENCIES, C.RATE_CARD, spec), checks=(check_ids,))
    if errors(problems):
        raise DataProblems(problems)
    if default_manager and "brm_manager" in raw.frame.columns:  # the agency's own manager
        managers = inputs.frame("Agencies").select(
            pl.col("agency_id").alias("_agency"), pl.col("brm_manager").alias("_manager"))
        raw.frame = raw.frame.with_columns(pl.col("agency_id").str.strip_chars().str.to_uppercase()
                                           .alias("_agency")).join(
            managers, on="_agency", how="left").with_columns(
            pl.coalesce("brm_manager", "_manager").alias("brm_manager")).drop(
            "_agency", "_manager")
    typed, found = typed_table(raw)
    problems = list(raw.problems) + found
    agencies = set(inputs.frame("Agencies")["agency_id"].to_list())
    services = set(inputs.frame("RateCard")["service_id"].to_list())
    problems += _with_suggestions(unknown_ids(typed, "agency_id", agencies, "Agencies"),
                                  inputs.frame("Agencies"))
    if "service_id" in typed.frame.columns:
        problems += unknown_ids(typed, "service_id", services, "RateCard")
    if errors(problems):
        raise DataProblems(problems)
    frame = typed.frame
    before, repeated = frame.height, 0
    if key is not None:
        existing = inputs.tables[spec.name] if inputs.has(spec.name) else None
        ident = key
        if identity is not None:  # rows are the same by what they are, not by their key
            ident = "_identity"
            frame = frame.with_columns(identity(frame).alias(ident))
            if existing is not None:
                existing = dataclasses.replace(existing, frame=existing.frame.with_columns(
                    identity(existing.frame).alias(ident)))
        conflicts = _conflicts(raw, frame, existing, ident, same, key)
        if conflicts:
            raise DataProblems(conflicts)
        have = set(existing.frame[ident].drop_nulls().to_list()) if existing is not None else set()
        frame = frame.filter(~pl.col(ident).is_in(sorted(have)))
        fresh = frame.height
        frame = frame.unique(ident, keep="first", maintain_order=True)
        repeated = fresh - frame.height
    rows = _rows(frame, spec, inputs)
    if rows:
        last = _last_filled_row(inputs.tables[spec.name].raw.frame) if inputs.has(spec.name) else None
        with Package(path) as package:
            edit = PackageEdit(package)
            blocked = append_rows(edit, spec, rows, last)
            if blocked:
                held.check_unchanged()  # saved meanwhile (Excel): say so, not "move what is below"
                raise DataProblems(blocked)
            edit.commit(held)
    return Added(len(rows), before - len(rows), [p for p in problems if not p.is_error],
                 read=before, repeated=repeated)


def _with_suggestions(problems: list[Problem], agencies: pl.DataFrame) -> list[Problem]:
    """An unknown agency with the nearest ids and names, and how to teach brm_xl the name
    an export uses (a Settings alias row)."""
    import difflib
    import re

    names = {str(a): str(a) for a in agencies["agency_id_text"].to_list()}
    names.update({str(n): str(a) for a, n in agencies.select("agency_id_text", "agency_name")
                  .iter_rows() if n})
    out = []
    for p in problems:
        found = re.search(r"agency_id '(.+)' is not in Agencies", p.message)
        if not found:
            out.append(p)
            continue
        text = found.group(1)
        near = difflib.get_close_matches(text.casefold(), [n.casefold() for n in names], 3, 0.5)
        by_fold = {n.casefold(): n for n in names}
        hint = ""
        if near:
            best = by_fold[near[0]]
            shown = ", ".join(f"{by_fold[n]} ({names[by_fold[n]]})" for n in near)
            hint = (f"; nearest: {shown}. If it is {names[best]}, add a Settings row "
                    f"agency_alias:{text} = {names[best]} and run again")
        else:
            hint = f"; add a Settings row agency_alias:{text} = AGENCY_ID naming its agency"
        out.append(Problem(p.where, p.message + hint, p.code, p.severity))
    return out


def _conflicts(raw: RawTable, new: pl.DataFrame, existing: Any, key: str,
               same: tuple[str, ...], shown_key: str | None = None) -> list[Problem]:
    """Rows whose key is already taken (in the table, or earlier in the same file) by a
    row with other answers: never skipped silently."""
    columns = [c for c in same if c in new.columns]
    if not columns:
        return []
    out: list[Problem] = []
    seen: dict[Any, tuple[Any, str]] = {}
    shown = shown_key or key
    if existing is not None:
        for rec in existing.frame.select(key, ROW, *[c for c in columns if c in existing.frame.columns]).iter_rows(named=True):
            seen.setdefault(rec[key], (tuple(rec.get(c) for c in columns),
                                       existing.where(shown, rec[ROW])))
    for rec in new.sort(ROW).iter_rows(named=True):
        answers = tuple(rec.get(c) for c in columns)
        here = raw.where(shown, rec[ROW])
        if rec[key] in seen and seen[rec[key]][0] != answers:
            before, where = seen[rec[key]]
            differ = ", ".join(f"{c} {_shown(a)} there, {_shown(b)} here"
                               for c, a, b in zip(columns, before, answers) if a != b)
            out.append(Problem(here, f"{shown} {rec[shown + '_text'] if shown + '_text' in rec else rec[shown]} "
                               f"is already at {where} with other answers ({differ}); a "
                               "different form that numbers its responses from 1 too? Import "
                               "it with --form LABEL to keep both", "conflict"))
        seen.setdefault(rec[key], (answers, here))
    return out


def _shown(value: Any) -> str:
    return "blank" if value is None else repr(str(value))


def _rows(frame: pl.DataFrame, spec: C.TableSpec, inputs: Any) -> list[tuple[Any, ...]]:
    """Typed rows in the table's column order, ids as the master tables spell them."""
    names = display_names(inputs)
    agency, service = names["agency"], names["service"]
    out = []
    for rec in frame.sort(ROW).iter_rows(named=True):
        row = []
        for column in spec.columns:
            value = rec.get(column.name)
            if column.name == "agency_id" and value is not None:
                value = agency.get(value, value)
            elif column.name == "service_id" and value is not None:
                value = service.get(value, value)
            elif column.kind == C.ID and value is not None:
                value = rec.get(column.name + "_text", value)
            row.append(value)
        out.append(tuple(row))
    return out


def _last_filled_row(frame: pl.DataFrame) -> int | None:
    values = [c for c in frame.columns if c != ROW]
    filled = frame.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in values])) \
        if values else frame.clear()
    return int(filled.select(pl.col(ROW).max()).item()) if filled.height else None
