"""The Python API for analysts: one workbook's model, every table as a pandas DataFrame.

    import brm_xl
    wb = brm_xl.load("chargeback.xlsx", as_of="2026-11-15")
    wb.table("Charges")            # an output table, exactly as refresh would write it
    wb.table("Usage")              # an input table, typed (ids upper-cased, as_typed beside)
    wb.figures("FY2027")           # one row per agency: the report's headline figures

Money stays exact: money columns hold `decimal.Decimal` (pandas dtype object), never
floats. The CLI, the Excel layer and this API read the same `Model`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from brm_xl.contract.inputs import Sources
from brm_xl.contract.periods import parse_period
from brm_xl.pipeline.model import Model, build_model


@dataclass
class Workbook:
    """A loaded workbook: its inputs, and everything computed from them as of a day."""

    model: Model

    @property
    def inputs(self) -> list[str]:
        return [name for name in self.model.inputs.tables if self.model.inputs.has(name)]

    @property
    def outputs(self) -> list[str]:
        return [t.name for t in self._output_tables()]

    def table(self, name: str) -> pd.DataFrame:
        """An input table (typed) or an output table (as refresh writes it), by name."""
        for out in self._output_tables():
            if out.name.casefold() == name.casefold():
                columns = [c.name for c in out.columns]
                rows = out.rows
                if hasattr(rows, "select"):  # a polars frame
                    return rows.select(columns).to_pandas()
                return pd.DataFrame([tuple(r) for r in rows], columns=columns)
        for key in self.model.inputs.tables:
            if key.casefold() == name.casefold() and self.model.inputs.has(key):
                frame = self.model.inputs.frame(key)
                return frame.drop([c for c in frame.columns if c == "_row"]).to_pandas()
        raise KeyError(f"no table {name!r}; inputs: {', '.join(self.inputs)}; "
                       f"outputs: {', '.join(self.outputs)}")

    def figures(self, period: str) -> pd.DataFrame:
        """One row per agency with data in `period` (a month, FY2027, FY2027-Q1 or a range):
        the figures its value report's headline shows, from the same functions."""
        from brm_xl.reports import data

        chosen = parse_period(period, self.model.inputs.settings.fiscal_year_start_month)
        rows = []
        for agency in data.agency_ids(self.model, chosen):
            head = data.headline(self.model, agency, chosen)
            sat = data.satisfaction(self.model, agency, chosen)
            rows.append({"agency_id": agency, "paid": head.paid,
                         "prior_paid": head.prior_paid, "cost_per_user": head.cost_per_user,
                         "prior_cost_per_user": head.prior_cost_per_user,
                         "change_pct": head.change_pct,
                         "statewide_cost_per_user": head.statewide_cost_per_user,
                         "standalone_cost": head.standalone, "net_value": head.net_value,
                         "responses": sat.responses if sat else None,
                         "csat_pct": sat.csat if sat else None,
                         "open_follow_ups": sat.follow_ups_open if sat else None,
                         "comparison": head.comparison})
        return pd.DataFrame(rows)

    def _output_tables(self) -> list[Any]:
        from brm_xl.app.refresh import tables_of

        if not hasattr(self, "_outputs"):
            now = dt.datetime.combine(self.model.as_of, dt.time(0))
            self._outputs = tables_of(self.model, now, "brm_xl.load")[1]
        return self._outputs


def load(path: str | Path, as_of: str | dt.date | None = None, usage: Sequence[str | Path] = (),
         focus: Sequence[str | Path] = ()) -> Workbook:
    """Read, check and compute a workbook (as `brm-xl check` does); raises
    `brm_xl.problems.DataProblems` listing every problem when the inputs break the contract."""
    day = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else (as_of or dt.date.today())
    sources = Sources(tuple(Path(p) for p in usage), tuple(Path(p) for p in focus))
    return Workbook(build_model(Path(path), day, sources=sources))
