"""Invariants over many generated workbooks: exact cents, cross-footing, refresh twice."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal as D
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from brm_xl.chargeback import compute
from brm_xl.inputs import load_inputs
from brm_xl.problems import errors
from brm_xl.refresh import refresh

from .helpers import agencies, headcount, minimal_book, output_rows, rate_card, usage, write_book

AGENCY_IDS = ["DOT", "DOR", "DOH"]
SERVICES = ["EMAIL", "VM", "GB"]
PERIODS = ["2026-07", "2026-08", "2026-09"]

quantities = st.decimals(min_value=0, max_value=100000, places=3, allow_nan=False)
rates = st.decimals(min_value=D("0.0001"), max_value=1000, places=4, allow_nan=False)
usage_rows = st.lists(
    st.tuples(st.sampled_from(PERIODS), st.sampled_from(AGENCY_IDS + ["dot"]),
              st.sampled_from(SERVICES), quantities),
    min_size=1, max_size=25)


def book_for(rows, rate_values, users):
    return minimal_book(
        Agencies=agencies(*AGENCY_IDS),
        RateCard=rate_card(*[(s, r, "2026-01", None) for s, r in zip(SERVICES, rate_values)]),
        Usage=usage(*rows),
        Headcount=headcount(*[(p, a, users) for p in PERIODS for a in AGENCY_IDS]),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=usage_rows, rate_values=st.tuples(rates, rates, rates),
       users=st.integers(min_value=1, max_value=5000))
def test_charges_are_exact_and_cross_foot(rows, rate_values, users):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_book(Path(tmp) / "p.xlsx", book_for(rows, rate_values, users))
        inputs, problems = load_inputs(path)
        assert not errors(problems)
        result = compute(inputs)
    expected: dict[tuple[str, str, str], D] = defaultdict(D)
    for period, agency, service, qty in rows:
        expected[(period, agency.upper(), service)] += qty
    rate_of = dict(zip(SERVICES, rate_values))
    lines = result.charge_lines()
    assert len(lines) == len(expected)
    for line in lines:
        qty = expected[(line.period, line.agency_id, line.service_id)]
        assert line.quantity == qty
        assert line.amount == (qty * rate_of[line.service_id]).quantize(D("0.01"), ROUND_HALF_UP)
    by_key: dict[tuple[str, str], D] = defaultdict(D)
    for line in lines:
        by_key[(line.period, line.agency_id)] += line.amount
    for row in result.summary:
        assert row.charges == by_key.get((row.period, row.agency_id), D(0))
        assert row.cost_per_user == (row.charges / users).quantize(D("0.01"), ROUND_HALF_UP)
    assert sum(r.charges for r in result.summary) == sum(line.amount for line in lines)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=usage_rows, rate_values=st.tuples(rates, rates, rates))
def test_refresh_twice_changes_no_output_table(rows, rate_values):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_book(Path(tmp) / "p.xlsx", book_for(rows, rate_values, 10))
        refresh(path, as_of=dt.date(2026, 10, 1))
        first = {t: output_rows(path, t) for t in ("Charges", "AgencySummary")}
        refresh(path, as_of=dt.date(2026, 10, 1))
        second = {t: output_rows(path, t) for t in ("Charges", "AgencySummary")}
        assert first == second
        assert len(output_rows(path, "RefreshLog")) == 2
