"""The refresh pipeline, top to bottom: load -> validate -> compute -> write.

One function a newcomer can read. The CLI, the Excel macros and the tests all call it.
"""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import __version__, outputs, relationships
from .chargeback import Chargeback, as_money, compute
from .inputs import Inputs, load_inputs
from .model import build_model
from .problems import Problem, errors
from .sources import Sources
from .workbook.package import Package
from .workbook.cells import OutputTable
from .workbook.writer import PackageEdit

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
    """Load and validate only; returns every problem found (errors and warnings)."""
    inputs, problems = load_inputs(Path(path), sources=sources)
    if not errors(problems):
        problems = problems + compute(inputs).warnings
    return inputs, problems


def refresh(path: Path, as_of: dt.date | None = None, now: dt.datetime | None = None,
            user: str | None = None, progress: Progress = lambda step: None,
            sources: Sources | None = None) -> RefreshResult:
    """Recompute every output table of the workbook at `path` and write them back.

    Raises DataProblems (and writes nothing) when the inputs break the contract.
    """
    path = Path(path)
    progress("reading, checking and computing")
    result, tables = refresh_tables(path, as_of, now, user, sources)
    progress("writing output tables")
    write_tables(path, tables)
    return result


def refresh_tables(path: Path, as_of: dt.date | None = None, now: dt.datetime | None = None,
                   user: str | None = None, sources: Sources | None = None,
                   ) -> tuple[RefreshResult, list[OutputTable]]:
    """Every output table of a refresh, computed but not written (Excel writes them itself)."""
    now = now or dt.datetime.now().replace(microsecond=0)
    as_of = as_of or now.date()
    model = build_model(Path(path), as_of, previous=(outputs.REFRESH_LOG_SPEC,), sources=sources)
    inputs, result, view, found_warnings = model.inputs, model.chargeback, model.view, model.warnings
    tables = outputs.refresh_tables(result, view, inputs.focus)
    total = as_money(int(result.charges["cents"].sum()))
    entry = (now, user or _user(), __version__, as_of, _row_counts(inputs), total,
             len(found_warnings))
    tables.append(outputs.refresh_log(inputs.previous.get("RefreshLog", []), entry))
    summary = RefreshResult(Path(path), inputs, result, view, found_warnings,
                            {t.name: len(t.rows) for t in tables})
    return summary, tables


def write_tables(path: Path, tables: list[OutputTable]) -> None:
    """Write output tables into the workbook file, losing nothing else, atomically."""
    with Package(path) as package:
        edit = PackageEdit(package)
        for table in tables:
            edit.put_table(table)
        edit.commit(path)


def _row_counts(inputs: Inputs) -> str:
    return "; ".join(f"{name} {count:,}" for name, count in inputs.row_counts().items())


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some service accounts
        return "unknown"
