"""The refresh pipeline, top to bottom: load -> validate -> compute -> write.

One function a newcomer can read. The CLI, the Excel macros and the tests all call it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from brm_xl.billing.chargeback import Chargeback
from brm_xl.contract.history import Record
from brm_xl.contract.inputs import Inputs, Sources
from brm_xl.contract.money import as_money
from brm_xl.pipeline import outputs
from brm_xl.pipeline.model import Model, build_model, model_of
from brm_xl.pipeline.read import load_inputs
from brm_xl.problems import Problem, WorkbookError, errors
from brm_xl.relationships import view as relationships
from brm_xl.sources.files import SOURCES, recorded_rows
from brm_xl.users import current_user
from brm_xl.version import __version__
from brm_xl.workbook.cells import OutputTable
from brm_xl.workbook.guard import Held, locked
from brm_xl.workbook.package import Package
from brm_xl.workbook.writer import PackageEdit

Progress = Callable[[str], None]


@dataclass
class RefreshResult:
    path: Path
    inputs: Inputs
    chargeback: Chargeback
    relationships: relationships.RelationshipView
    warnings: list[Problem]
    tables: dict[str, int]


def check(path: Path, sources: Sources | None = None) -> tuple[Inputs, list[Problem]]:
    """Everything refresh does but the final write; returns every problem found (errors
    and warnings). A problem refresh would meet while writing (a damaged part, an output
    sheet that is not brm_xl's) is found here too."""
    inputs, problems = load_inputs(Path(path), previous=(outputs.REFRESH_LOG_SPEC,),
                                   sources=refreshing(sources))
    if errors(problems):
        return inputs, problems
    model = model_of(inputs, problems, dt.date.today())
    try:
        build_package(Path(path), tables_of(model, dt.datetime.now(), None)[1])
    except WorkbookError as exc:
        return inputs, model.warnings + [Problem(Path(path).name, str(exc), "package")]
    return inputs, model.warnings


def refresh(path: Path, as_of: dt.date | None = None, now: dt.datetime | None = None,
            user: str | None = None, progress: Progress = lambda step: None,
            sources: Sources | None = None) -> RefreshResult:
    """Recompute every output table of the workbook at `path` and write them back.

    Raises DataProblems (and writes nothing) when the inputs break the contract.
    """
    with locked(Path(path)) as held:
        result, tables = refresh_tables(held.path, as_of, now, user, sources, progress)
        progress("writing the output tables")
        write_tables(held, tables)
    return result


def refresh_tables(path: Path, as_of: dt.date | None = None, now: dt.datetime | None = None,
                   user: str | None = None, sources: Sources | None = None,
                   progress: Progress = lambda stage: None,
                   ) -> tuple[RefreshResult, list[OutputTable]]:
    """Every output table of a refresh, computed but not written (Excel writes them itself)."""
    now = now or dt.datetime.now().replace(microsecond=0)
    model = build_model(Path(path), as_of or now.date(), previous=(outputs.REFRESH_LOG_SPEC,),
                        sources=refreshing(sources), progress=progress)
    return tables_of(model, now, user)


def tables_of(model: Model, now: dt.datetime, user: str | None,
              new: Sequence[Record] = ()) -> tuple[RefreshResult, list[OutputTable]]:
    """The output tables of a computed model, RefreshLog's new row stamped `now`; with
    `new` seal records (a close), the close tables too, in the same write."""
    inputs, result, view, found_warnings = model.inputs, model.chargeback, model.view, model.warnings
    as_of = model.as_of
    closing = {r.period for r in new if r.status == "closed"}
    if closing and result.review is not None:  # a month closed leaves Review with it
        result = dataclasses.replace(result, review=[r for r in result.review
                                                     if r.period not in closing])
    tables = outputs.refresh_tables(result, view, inputs.focus)
    total = as_money(int(result.charges["cents"].sum()))
    entry = outputs.RefreshEntry(now, user or current_user(), __version__, as_of, _row_counts(inputs),
                                 total, len(found_warnings))
    tables.append(outputs.refresh_log(inputs.previous.get("RefreshLog", []), entry))
    changes = dispute_changes(model, now, entry.refreshed_by)
    tables += outputs.seal_book(inputs, changes, new, now, entry.refreshed_by)
    if inputs.sources.names_files() or inputs.previous.get("Sources"):
        tables.append(OutputTable("Sources", SOURCES,
                                  recorded_rows(inputs.path, inputs.sources)))
    summary = RefreshResult(inputs.path, inputs, result, view, found_warnings,
                            {t.name: len(t.rows) for t in tables})
    return summary, tables


def dispute_changes(model: Model, now: dt.datetime, user: str) -> list[outputs.AuditEntry]:
    """A dispute whose status is not the one the last refresh logged: an AuditLog row."""
    before = {str(r.get("dispute_id")).upper(): str(r.get("status"))
              for r in model.inputs.previous.get("DisputeLog", [])}
    out = []
    for d in model.chargeback.disputes or []:
        old = before.get(d.dispute_id.upper())
        if old != d.status:
            credit = f", credited {d.credit:.2f} in {d.credited_in}" if d.credited_in else ""
            out.append(outputs.AuditEntry(now, user, "dispute", d.period, old,
                                          f"{d.dispute_id} {d.status}{credit}"))
    return out


def refreshing(sources: Sources | None) -> Sources:
    """A refresh reads the files it is given, or those the last refresh recorded, as they
    are now (and records them anew): it is how a changed usage file is taken in."""
    return dataclasses.replace(sources if sources is not None else Sources(), refreshing=True)


def write_tables(held: Held, tables: list[OutputTable]) -> None:
    """Write output tables into the held workbook file, losing nothing else, atomically."""
    with Package(held.path) as package:
        _edited(package, tables).commit(held)


def build_package(path: Path, tables: list[OutputTable]) -> bytes:
    """The workbook as refresh would write it, not written (check's last step)."""
    with Package(path) as package:
        return _edited(package, tables).build()


def _edited(package: Package, tables: list[OutputTable]) -> PackageEdit:
    edit = PackageEdit(package)
    for table in tables:
        edit.put_table(table)
    return edit


def _row_counts(inputs: Inputs) -> str:
    return "; ".join(f"{name} {count:,}" for name, count in inputs.row_counts().items())

