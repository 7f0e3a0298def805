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

from brm_xl.billing.chargeback import display_names
from brm_xl.contract import tables as C
from brm_xl.contract.raw import ROW, RawTable
from brm_xl.contract.validate import typed_table, unknown_ids
from brm_xl.pipeline.read import check_ids, load_inputs
from brm_xl.problems import DataProblems, Problem, errors
from brm_xl.workbook.append import append_rows, append_settings
from brm_xl.workbook.guard import Held, locked
from brm_xl.workbook.package import Package
from brm_xl.workbook.writer import PackageEdit


@dataclass
class Added:
    added: int
    skipped: int  # already there, with the same answers (or repeated in the file)
    warnings: list[Problem]
    source: str | None = None  # the tool an import was read as ("Qualtrics", ...)
    form: str | None = None  # the form label its ids were qualified with
    read: int = 0  # rows read: added + already there + repeated in the file + bad
    repeated: int = 0  # rows the file held twice (the same response), added once
    bad: int = 0  # rows left out with --skip-bad-rows, each listed in warnings
    already_from: dict[str, int] = dataclasses.field(default_factory=dict)  # earlier file -> rows
    settings: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # rows kept


# `brm-xl log` names its options after the Engagements columns they fill
LOG_OPTIONS = {"date": "date", "agency_id": "agency", "brm_manager": "manager",
               "channel": "channel", "topic": "topic", "attendees": "attendees", "notes": "notes",
               "action_item": "action", "action_owner": "owner", "action_due": "due",
               "action_done_on": "done", "touchpoint": "touchpoint"}


def log_contact(path: Path, values: dict[str, str | None]) -> Added:
    """Append one contact (Engagements columns -> text); a blank brm_manager is the
    agency's own from Agencies. Problems are located at the option that gave the value."""
    frame = pl.DataFrame({**{k: [v or None] for k, v in values.items()}, ROW: [1]},
                         schema={**{k: pl.String for k in values}, ROW: pl.Int64})
    raw = RawTable(C.ENGAGEMENTS, "log", frame,
                   locate=lambda column, row: f"--{LOG_OPTIONS.get(column, column)}")
    return add_rows(path, raw, default_manager=True)


def import_survey(path: Path, export: Path, maps: dict[str, str],
                  form: str | None = None, date_order: str | None = None,
                  aliases: dict[str, str] | None = None, skip_bad_rows: bool = False) -> Added:
    """Append a survey export's new responses to the Survey table (see brm_xl.sources.surveys).
    `aliases` (name in the export -> agency id) are kept in Settings as `agency_alias:`
    rows, and a date order the person had to give as `survey_date_order:TOOL`, in the same
    write as the responses."""
    from brm_xl.sources.surveys import matching, survey_table

    inputs, _ = load_inputs(path, specs=(C.AGENCIES,), checks=())
    agencies = inputs.frame("Agencies")
    extra = dict(inputs.settings.extra)
    keep: list[tuple[str, str]] = []
    for name, agency in (aliases or {}).items():
        agency = _known_agency(name, agency, agencies)
        key = f"{C.AGENCY_ALIAS_PREFIX}{' '.join(name.split())}"
        kept = {k.casefold(): v for k, v in extra.items()}
        if kept.get(key.casefold(), "").strip().casefold() != agency.casefold():
            keep.append((key, agency))
        extra[key] = agency
    match = matching([(a, n) for a, n in agencies.select(
        "agency_id_text", "agency_name").iter_rows()], extra,
        inputs.settings.survey_score_map, inputs.settings.survey_date_order)
    rows = survey_table(export, maps, match, form, date_order)
    added = add_rows(path, rows.raw, key="response_id", same=SURVEY_ANSWERS,
                     identity=response_identity, skip_bad=skip_bad_rows,
                     settings=keep + rows.settings)
    added.source, added.form = rows.source, rows.form
    return added


def _known_agency(name: str, agency: str, agencies: pl.DataFrame) -> str:
    """The agency id an --alias names, as Agencies types it; else a sentence."""
    from brm_xl.problems import UsageError

    ids = {str(a).casefold(): str(a) for a in agencies["agency_id_text"].to_list()}
    found = ids.get(agency.strip().casefold())
    if found is None:
        raise UsageError(f"--alias {name!r}={agency}: {agency} is not an agency_id in Agencies "
                         f"(ids: {', '.join(sorted(ids.values())[:12])})")
    return found


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
             identity: Callable[[pl.DataFrame], pl.Expr] | None = None,
             skip_bad: bool = False, settings: list[tuple[str, str]] | None = None) -> Added:
    """Append the rows of `raw` (text, as from a sheet) to the workbook table `raw.spec`.

    A row whose `key` (e.g. response_id) the table already holds is skipped when its
    `same` columns agree (adding the same file twice adds nothing); when they differ it
    is a conflict, listed with both rows, and nothing is written. A row with a wrong value
    stops the import, unless `skip_bad` leaves it out (listed, counted). `settings` rows
    are added to Settings in the same write.
    """
    with locked(Path(path)) as held:
        return _add_rows(held, raw, key, default_manager, same, identity, skip_bad,
                         list(settings or []))


def _add_rows(held: Held, raw: RawTable, key: str | None, default_manager: bool,
              same: tuple[str, ...] = (),
              identity: Callable[[pl.DataFrame], pl.Expr] | None = None,
              skip_bad: bool = False, settings: list[tuple[str, str]] | None = None) -> Added:
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
    twice = 0
    if key is not None:  # a row the file holds twice, every value the same: one response
        values = [c for c in raw.frame.columns if c != ROW]
        height = raw.frame.height
        raw.frame = raw.frame.unique(values, keep="first", maintain_order=True).sort(ROW)
        twice = height - raw.frame.height
    typed, found = typed_table(raw)
    problems = list(raw.problems) + found
    agencies = set(inputs.frame("Agencies")["agency_id"].to_list())
    services = set(inputs.frame("RateCard")["service_id"].to_list())
    problems += _with_suggestions(unknown_ids(typed, "agency_id", agencies, "Agencies"),
                                  inputs.frame("Agencies"), spec.name == C.SURVEY.name)
    if "service_id" in typed.frame.columns:
        problems += unknown_ids(typed, "service_id", services, "RateCard")
    frame = typed.frame
    before, repeated = frame.height + twice, twice
    problems, bad = _bad_rows(raw, frame, problems, skip_bad)
    if errors(problems):
        raise DataProblems(problems)
    frame = frame.filter(~pl.col(ROW).is_in(sorted(bad)))
    already_from: dict[str, int] = {}
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
        if have and existing is not None and "source" in existing.frame.columns:
            came = dict(existing.frame.select(ident, "source").iter_rows())
            for ident_value in frame.filter(pl.col(ident).is_in(sorted(have)))[ident].to_list():
                earlier = came.get(ident_value) or "an earlier import"
                already_from[earlier] = already_from.get(earlier, 0) + 1
        frame = frame.filter(~pl.col(ident).is_in(sorted(have)))
        fresh = frame.height
        frame = frame.unique(ident, keep="first", maintain_order=True)
        repeated += fresh - frame.height
    rows = _rows(frame, spec, inputs)
    settings = settings or []
    notes = [p for p in problems if not p.is_error]
    if rows or settings:
        last = _last_filled_row(inputs.tables[spec.name].raw.frame) if inputs.has(spec.name) else None
        with Package(path) as package:
            rows, note = _without_unlisted(package, spec, rows)
            notes += note
            edit = PackageEdit(package)
            blocked = (append_rows(edit, spec, rows, last) if rows else []) or \
                append_settings(edit, settings)
            if blocked:
                held.check_unchanged()  # saved meanwhile (Excel): say so, not "move what is below"
                raise DataProblems(blocked)
            edit.commit(held)
    return Added(len(rows), before - len(rows) - len(bad), notes, read=before,
                 repeated=repeated, bad=len(bad), already_from=already_from, settings=settings)


def _without_unlisted(package: Package, spec: C.TableSpec, rows: list[tuple[Any, ...]],
                      ) -> tuple[list[tuple[Any, ...]], list[Problem]]:
    """A table made before Survey had a `source` column takes its rows without it, and
    says how to keep it."""
    table = package.table(spec.name)
    names = [c.name for c in spec.columns]
    if table is None or "source" not in names or \
            C.header_key("source") in C.header_positions(list(table.columns)):
        return rows, []
    at = names.index("source")
    kept = [tuple(None if i == at else v for i, v in enumerate(row)) for row in rows]
    return kept, [Problem(f"{table.sheet.name}!{table.ref.split(':')[0]}", f"{spec.name} has no "
                          "source column, so the file each response came from is not recorded; "
                          "add a column headed source to the table to keep it", "no-source",
                          "warning")]


def _bad_rows(raw: RawTable, frame: pl.DataFrame, problems: list[Problem],
              skip: bool) -> tuple[list[Problem], set[int]]:
    """Rows with a wrong value. With `skip` they are left out and each problem becomes a
    warning saying so; without, one more line says how many the rest would be."""
    at = {raw.where("", r): r for r in frame[ROW].to_list()}
    bad = {at[p.where] for p in problems if p.is_error and p.where in at}
    if not bad:
        return problems, set()
    listed_all = not any(p.code == "more" for p in problems)
    if skip and listed_all:
        return [Problem(p.where, f"skipped (--skip-bad-rows): {p.message}", p.code, "warning")
                if p.is_error and p.where in at else p for p in problems], bad
    rest = frame.height - len(bad)
    if not rest:
        return problems, bad  # no row would import: nothing to skip them for
    if skip:
        return problems + [Problem(raw.sheet, "too many rows are wrong to skip them one by one "
                                   "(not all are listed); correct the export and import it again",
                                   "skip-bad-rows")], bad
    return problems + [Problem(raw.sheet, f"{len(bad)} of {frame.height} row(s) cannot be "
                               "imported as they are (above); correct them in the export, or "
                               f"run again with --skip-bad-rows to import the other {rest} and "
                               "list these as skipped", "skip-bad-rows")], bad


def _with_suggestions(problems: list[Problem], agencies: pl.DataFrame,
                      survey: bool = False) -> list[Problem]:
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
                    f"agency_alias:{text} = {names[best]} and run again" +
                    (f' (or import with --alias "{text}"={names[best]}, which adds it)'
                     if survey else ""))
        else:
            hint = (f"; add a Settings row agency_alias:{text} = AGENCY_ID naming its agency" +
                    (f' (or import with --alias "{text}"=AGENCY_ID)' if survey else ""))
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
            ident = rec[shown + '_text'] if shown + '_text' in rec else rec[shown]
            blank_there = [c for c, a, b in zip(columns, before, answers) if a != b and a is None]
            if len(blank_there) == sum(a != b for a, b in zip(before, answers)):
                fix = (f"the import that added it did not take its {', '.join(blank_there)}: "
                       f"type {'them' if len(blank_there) > 1 else 'it'} into that row, or "
                       "delete the row and import again")
            else:
                fix = ("if it is the same response, a column is mapped otherwise than when it "
                       "was added: check this import's --map FIELD=COLUMN (and the columns it "
                       "lists as not imported); if it is another form's response, numbered "
                       "from 1 on the same day, import it with --form LABEL")
            out.append(Problem(here, f"{shown} {ident} is already at {where} with other answers "
                               f"({differ}); {fix}", "conflict"))
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
