"""Everything computed from one workbook: load -> validate -> compute, once.

Reports, emails and the Excel worksheet functions all read from a `Model`; refresh writes
it back. Raises DataProblems (listing every error) when the inputs break the contract.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from brm_xl.billing.chargeback import Chargeback, compute, display_names
from brm_xl.billing.close import closed_problems
from brm_xl.contract.inputs import Inputs, Sources
from brm_xl.contract.periods import judged_on, parse_period
from brm_xl.contract.tables import TableSpec
from brm_xl.filenames import agency_stems
from brm_xl.pipeline.read import load_inputs
from brm_xl.problems import DataProblems, Problem, errors, warnings
from brm_xl.relationships import view as relationships


@dataclass
class Model:
    inputs: Inputs
    chargeback: Chargeback
    as_of: dt.date
    warnings: list[Problem]

    @functools.cached_property
    def view(self) -> relationships.RelationshipView:
        """Satisfaction and engagement (relationships.compute): worked out by `model_of`,
        or, for a model built `lazy`, when first asked for (a worksheet function about
        charges never waits for them)."""
        return relationships.compute(self.inputs, self.chargeback.summary, self.as_of)

    @functools.cached_property
    def names(self) -> dict[str, dict[str, str]]:
        """Ids as typed in Agencies and RateCard, keyed by their upper-case form."""
        return display_names(self.inputs)

    @functools.cached_property
    def file_stems(self) -> dict[str, str]:
        """Agency id (as typed in Agencies) -> the unique part of its file names."""
        return agency_stems(self.inputs.frame("Agencies")["agency_id_text"].to_list())


def build_model(path: Path, as_of: dt.date, previous: tuple[TableSpec, ...] = (),
                sources: Sources | None = None,
                progress: Callable[[str], None] = lambda stage: None,
                lazy: bool = False) -> Model:
    """The pipeline, stage by stage: read the workbook -> check each table -> check the
    seals -> read usage files and cloud bills -> check across tables
    (`pipeline.read.load_inputs`) -> compute the chargeback -> check it against what closed
    months published -> compute satisfaction and engagement (`model_of`). Every problem the
    read stages find is raised together, as DataProblems, before anything is computed. A
    `lazy` model computes satisfaction and engagement when first asked for (`Model.view`)."""
    inputs, problems = load_inputs(Path(path), previous=previous, sources=sources,
                                   progress=progress)
    return model_of(inputs, problems, as_of, progress, lazy)


def model_for_period(path: Path, period_text: str | None, as_of: dt.date | None,
                     previous: tuple[TableSpec, ...] = (), sources: Sources | None = None,
                     default: Callable[[Model], str] | None = None) -> Model:
    """The model a report or an email of a period is made from: judged on `as_of`, or
    without one on the period's last day (`periods.judged_on`). `default` names the period
    when none is given (the buttons' Settings report_period, else the latest month)."""
    today = dt.date.today()
    inputs, problems = load_inputs(Path(path), previous=previous, sources=sources)
    if as_of is not None:
        return model_of(inputs, problems, as_of)
    fiscal = inputs.settings.fiscal_year_start_month
    if period_text is None:
        model = model_of(inputs, problems, today)
        if default is None:
            return model
        period_text = default(model)
        day = judged_on(parse_period(period_text, fiscal), today)
        return model if day == today else model_of(inputs, problems, day)
    return model_of(inputs, problems, judged_on(parse_period(period_text, fiscal), today))


def model_of(inputs: Inputs, problems: list[Problem], as_of: dt.date,
             progress: Callable[[str], None] = lambda stage: None, lazy: bool = False) -> Model:
    """The computed model of inputs already loaded (with the problems found loading them)."""
    if errors(problems):
        raise DataProblems(problems)
    progress("computing the chargeback")
    result = compute(inputs, as_of)
    if result.problems:  # an allocation that cannot be split
        raise DataProblems(result.problems + warnings(problems + result.warnings))

    closed = closed_problems(inputs, result)  # a closed month stands as published
    if closed:
        raise DataProblems(closed + warnings(problems))
    model = Model(inputs, result, as_of, warnings(problems) + result.warnings)
    if not lazy:
        progress("satisfaction and engagement")
        model.view  # noqa: B018 (computed now, as the progress says)
    return model
