"""`brm-xl rates`, the job: compute the workbook and plan next fiscal year's rates
(`brm_xl.billing.rates.plan`); with --write, put RateProposal and RateEffect in the
workbook under its lock.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from brm_xl.app.refresh import write_tables
from brm_xl.billing.rates import (
    RatePlan,
    plan,
)
from brm_xl.pipeline.model import build_model
from brm_xl.pipeline.outputs import RATE_EFFECT, RATE_PROPOSAL
from brm_xl.workbook.cells import OutputTable
from brm_xl.workbook.guard import locked


def propose(path: Path, fiscal_year: str, growth_pct: Decimal = Decimal(0),
            as_of: dt.date | None = None) -> RatePlan:
    """Load and compute the workbook, then `plan` its rates."""
    model = build_model(Path(path), as_of or dt.date.today())
    return plan(model.inputs, model.chargeback, fiscal_year, growth_pct)


def write_proposal(path: Path, fiscal_year: str, growth_pct: Decimal = Decimal(0),
                   as_of: dt.date | None = None) -> RatePlan:
    with locked(Path(path)) as held:
        found = propose(held.path, fiscal_year, growth_pct, as_of)
        write_tables(held, [OutputTable("RateProposal", RATE_PROPOSAL, found.proposals),
                            OutputTable("RateEffect", RATE_EFFECT, found.effects)])
    return found
