"""The report pipeline: load -> validate -> compute -> shape each report -> render -> write.

Rendering (a tenth of a second a report, most of it the PDF) runs in a process pool over
both cores; the workers get plain report data, never the workbook.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from brm_xl.contract.inputs import Sources
from brm_xl.contract.periods import Period, parse_period
from brm_xl.filenames import plan_file, report_file, reports_folder, vendor_report_file
from brm_xl.pipeline.model import Model, model_for_period
from brm_xl.problems import BrmError, UsageError
from brm_xl.reports import data
from brm_xl.reports.account import account_plan
from brm_xl.reports.limits import TemplateLimits
from brm_xl.reports.render import FORMATS, environment, render_all
from brm_xl.sources.files import beside
from brm_xl.workbook.guard import write_bytes_atomic


@dataclass
class Written:
    path: Path
    agency: str | None
    extension: str


def parse_formats(text: str) -> list[str]:
    wanted = [f.strip().lower().lstrip(".") for f in text.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise UsageError(f"--format {text!r}: choose from {', '.join(FORMATS)}")
    return wanted


def office_templates(model: Model) -> Path | None:
    return office_folder(model.inputs, model.inputs.settings.report_templates)


def office_folder(inputs: Any, setting: str | None, key: str = "report_templates") -> Path | None:
    """The folder of an office's own templates (a Settings path, relative to the workbook
    and inside its folder), or None for the shipped ones. A file path names its folder."""
    if not setting:
        return None
    where = inputs.settings.cells.get(key, "Settings")
    path = Path(setting)
    path = path if path.is_absolute() else inputs.path.parent / path
    if not beside(inputs.path, path):
        raise UsageError(f"{where}: '{setting}' points outside the folder of "
                         f"{inputs.path.name}; keep the office's templates in that folder "
                         "or below it")
    folder = path.parent if path.suffix else path
    if not folder.is_dir() or (path.suffix and not path.is_file()):
        raise UsageError(f"{where}: '{setting}' does not exist beside {inputs.path.name}")
    return folder


def default_period(model: Model) -> str:
    """What the Excel buttons report on: Settings report_period, else the latest month."""
    if model.inputs.settings.report_period:
        return model.inputs.settings.report_period
    periods = [r.period for r in model.chargeback.summary]
    if not periods:
        raise BrmError("there are no charges to report on yet; run Refresh first")
    return max(periods)


def nothing_in(model: Model, period: Period) -> str:
    """Why a period has nothing to report, with the months that do have data."""
    months = sorted({r.period for r in model.chargeback.summary})
    held = f"; the workbook holds {months[0]} to {months[-1]}" if months else \
        "; the workbook holds no charges yet"
    return f"nothing to report for {period.title}: no agency has charges, usage or headcount in it{held}"


def plan(model: Model, period: Period, agencies: Iterable[str]) -> list[str]:
    """Agencies to report on, as Agencies spells them; every one must exist."""
    known = model.names["agency"]
    chosen = []
    for agency in agencies:
        if agency.strip().upper() not in known:
            raise UsageError(f"--agency {agency!r} is not in Agencies")
        chosen.append(known[agency.strip().upper()])
    return chosen or data.agency_ids(model, period)


def make_reports(path: Path, period_text: str, agencies: Iterable[str] = (),
                 formats: list[str] | None = None, out: Path | None = None,
                 portfolio: bool = False, as_of: dt.date | None = None,
                 progress: Callable[[int, int], None] = lambda done, total: None,
                 model: Model | None = None, workers: int | None = None,
                 sources: Sources | None = None, manager: str | None = None,
                 vendors: bool = False, plans: bool = False) -> list[Written]:
    """Reports for `period`; a period with no data, or a manager with no agencies in it, is
    a sentence (BrmError), never zero files and success."""
    path = Path(path)
    if sum((portfolio, vendors, plans)) > 1:
        raise UsageError("--portfolio, --vendors and --plans are three kinds of report; "
                         "choose one")
    model = model or model_for_period(path, period_text, as_of, sources=sources)
    period = parse_period(period_text, model.inputs.settings.fiscal_year_start_month)
    formats = formats or list(FORMATS)
    out = Path(out) if out else reports_folder(path, period.label)
    office = office_templates(model)
    if vendors:
        return _vendor_reports(model, path, period, formats, out, office, progress, workers)
    chosen = plan(model, period, agencies)
    if manager:
        held = data.managed_by(model, manager)
        if not held:
            raise UsageError(f"--manager {manager!r} is no BRM manager in Agencies")
        chosen = [a for a in chosen if a in held]
    if not chosen:
        raise BrmError(nothing_in(model, period) + (f" for {manager}'s agencies" if manager else ""))
    jobs: list[tuple[str | None, data.Report]]
    if plans:
        jobs = [(a, account_plan(model, a, period)) for a in chosen]
    elif portfolio:
        jobs = [(None, data.portfolio(model, period, chosen))]
    else:
        jobs = [(a, data.agency_report(model, a, period)) for a in chosen]
    out.mkdir(parents=True, exist_ok=True)
    written: list[Written] = []
    limits = TemplateLimits.from_settings(model.inputs.settings)
    every = list(render_jobs(jobs, formats, office, progress, workers, limits))  # all, then write
    for (agency, _report), rendered in zip(jobs, every):
        for ext, content in rendered.items():
            stem = model.file_stems[agency] if agency else None
            target = out / (plan_file(period.label, stem, ext) if plans and stem
                            else report_file(period.label, stem, ext))
            write_bytes_atomic(target, content)
            written.append(Written(target, agency, ext))
    return written


def _vendor_reports(model: Model, path: Path, period: Period, formats: list[str], out: Path,
                    office: Path | None, progress: Callable[[int, int], None],
                    workers: int | None) -> list[Written]:
    """One scorecard per vendor with results in the period (the quarterly review pack)."""

    ids = data.vendor_ids(model, period)
    if not ids:
        raise BrmError(f"no vendor has service level results in {period.title}; fill in "
                       "ServiceLevels and SLResults (see README \"Vendor performance\")")
    jobs: list[tuple[str | None, data.Report]] = [(v, data.vendor_report(model, v, period)) for v in ids]
    out.mkdir(parents=True, exist_ok=True)
    written: list[Written] = []
    limits = TemplateLimits.from_settings(model.inputs.settings)
    every = list(render_jobs(jobs, formats, office, progress, workers, limits))  # all, then write
    for (vendor, _report), rendered in zip(jobs, every):
        for ext, content in rendered.items():
            target = out / vendor_report_file(period.label, vendor or "", ext)
            write_bytes_atomic(target, content)
            written.append(Written(target, vendor, ext))
    return written


_ENV: Any = None


def _init(office: Path | None, limits: TemplateLimits | None = None) -> None:
    global _ENV
    _ENV = environment(office, limits)


def _render_one(job: tuple[data.Report, list[str]]) -> dict[str, bytes]:
    report, formats = job
    return render_all(_ENV, report, formats)


def render_jobs(jobs: Sequence[tuple[str | None, data.Report]], formats: list[str],
            office: Path | None, progress: Callable[[int, int], None],
            workers: int | None, limits: TemplateLimits | None = None) -> Iterable[dict[str, bytes]]:
    total = len(jobs)
    workers = workers if workers is not None else min(os.cpu_count() or 1, total)
    if workers <= 1 or total <= 1:
        _init(office, limits)
        for i, (_agency, report) in enumerate(jobs, 1):
            yield _render_one((report, formats))
            progress(i, total)
        return
    context = get_context("spawn")  # polars' threads make fork unsafe
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init,
                             initargs=(office, limits)) as pool:
        try:
            for i, result in enumerate(pool.map(_render_one, [(r, formats) for _, r in jobs]), 1):
                yield result
                progress(i, total)
        except BaseException:  # a template refused: the reports not started are not rendered
            pool.shutdown(wait=True, cancel_futures=True)
            raise
