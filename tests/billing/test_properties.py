"""Invariants over many generated workbooks: exact cents, cross-footing, refresh twice."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import defaultdict
from decimal import ROUND_HALF_UP
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brm_xl.app.refresh import refresh
from brm_xl.billing.chargeback import compute
from brm_xl.pipeline.read import load_inputs
from brm_xl.problems import errors
from tests.helpers import (
    agencies,
    digest,
    headcount,
    minimal_book,
    output_rows,
    rate_card,
    usage,
    write_book,
)

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
@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
def test_charges_are_exact_and_cross_foot(rows, rate_values, users):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_book(Path(tmp) / "p.xlsx", book_for(rows, rate_values, users))
        inputs, problems = load_inputs(path)
        assert not errors(problems)
        result = compute(inputs, dt.date(2026, 11, 15))
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


@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=usage_rows, rate_values=st.tuples(rates, rates, rates))
def test_refresh_twice_changes_no_output_table(rows, rate_values):
    from tests.helpers import Block
    from tests.relationships.test_relationships import SURVEY_HEADERS

    book = book_for(rows, rate_values, 10)
    book.blocks.append(Block("Survey", SURVEY_HEADERS, [
        (f"R{i}", dt.date(2026, 9, 1 + i), a, "X", None, 1 + i % 5, "=x", None, None)
        for i, (_p, a, _s, _q) in enumerate(rows[:20])]))
    tables = ("Charges", "AgencySummary", "FollowUps", "Relationships")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_book(Path(tmp) / "p.xlsx", book)
        refresh(path, as_of=dt.date(2026, 10, 1))
        first = {t: output_rows(path, t) for t in tables}
        refresh(path, as_of=dt.date(2026, 10, 1))
        second = {t: output_rows(path, t) for t in tables}
        assert first == second
        assert len(output_rows(path, "RefreshLog")) == 2


survey_rows = st.lists(
    st.tuples(st.dates(dt.date(2026, 6, 1), dt.date(2026, 9, 30)),
              st.sampled_from(AGENCY_IDS), st.integers(1, 5),
              st.one_of(st.none(), st.dates(dt.date(2026, 6, 1), dt.date(2026, 10, 30)))),
    min_size=0, max_size=30)


@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses=survey_rows, below=st.integers(2, 5))
def test_csat_bounds_and_follow_ups_are_exactly_the_low_unanswered(responses, below):
    from brm_xl.relationships.view import compute as relate
    from tests.helpers import Block
    from tests.relationships.test_relationships import SURVEY_HEADERS

    rows = [(f"R{i}", day, agency, "X", None, score, None, followed, None)
            for i, (day, agency, score, followed) in enumerate(responses)]
    book = book_for([("2026-09", "DOT", "EMAIL", 1)], (D(1), D(1), D(1)), 5)
    book.blocks.append(Block("Survey", SURVEY_HEADERS, rows))
    book.settings = [("follow_up_below", below)]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_book(Path(tmp) / "p.xlsx", book)
        inputs, problems = load_inputs(path)
        assert not errors(problems)
        result = compute(inputs, dt.date(2026, 11, 15))
        view = relate(inputs, result.summary, dt.date(2026, 10, 31))
    expected = {f"R{i}" for i, (day, _a, score, followed) in enumerate(responses)
                if score < below and followed is None}
    assert {f.response_id for f in view.follow_ups} == expected
    overdue = [f.overdue for f in view.follow_ups]
    assert overdue == sorted(overdue, reverse=True)  # overdue first
    for rel in view.relationships:
        for value in (rel.csat_3m, rel.csat_prior_3m):
            assert value is None or 0 <= value <= 100
    for row in view.summary:
        assert row.csat_pct is None or 0 <= row.csat_pct <= 100


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses=st.lists(st.tuples(st.sampled_from(AGENCY_IDS), st.integers(1, 5)),
                          min_size=1, max_size=12))
def test_import_twice_adds_nothing(responses):
    from brm_xl.app.additions import add_rows
    from brm_xl.contract.tables import SURVEY
    from brm_xl.sources.surveys import survey_table

    with tempfile.TemporaryDirectory() as tmp:
        path = write_book(Path(tmp) / "p.xlsx", book_for([("2026-09", "DOT", "EMAIL", 1)],
                                                         (D(1), D(1), D(1)), 5))
        csv = Path(tmp) / "s.csv"
        csv.write_text("response_id,submitted_on,agency_id,respondent,score\n" + "".join(
            f"X{i},2026-09-0{1 + i % 9},{a},P{i},{s}\n" for i, (a, s) in enumerate(responses)))
        first = add_rows(path, survey_table(csv, {}, {}).raw, key="response_id")
        before = digest(path)
        second = add_rows(path, survey_table(csv, {}, {}).raw, key="response_id")
        assert (first.added, second.added, second.skipped) == (len(responses), 0, len(responses))
        assert digest(path) == before
        inputs, _ = load_inputs(path, specs=(SURVEY,), checks=())
        assert inputs.frame("Survey").height == len(responses)
