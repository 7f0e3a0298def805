"""The output tables: columns are their records' fields, and log cells read back as written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from decimal import Decimal as D

import pytest

from brm_xl.pipeline.outputs import _typed


def test_log_cells_read_back_as_the_values_they_were():
    assert _typed("datetime", "46321.5") == dt.datetime(2026, 10, 26, 12, 0)
    assert _typed("date", "2026-10-27T09:00:00") == dt.date(2026, 10, 27)
    assert _typed("money", "12.50") == D("12.50") and _typed("int", "3.0") == 3
    assert _typed("money", "n/a") == "n/a" and _typed("date", None) is None


def test_output_columns_are_the_record_fields_in_order():
    from typing import NamedTuple

    from brm_xl.pipeline import outputs
    from brm_xl.relationships.view import AgencyMonth

    assert [c.name for c in outputs.AGENCY_SUMMARY] == list(AgencyMonth._fields)
    assert [c.name for c in outputs.UNALLOCATED] == list(outputs.Unallocated._fields)

    class Row(NamedTuple):
        when: dt.date
        amount: Decimal
        note: str | None

    assert [(c.name, c.fmt) for c in outputs.columns_of(Row, amount="money")] == [
        ("when", "date"), ("amount", "money"), ("note", "text")]
    with pytest.raises(TypeError, match=r"Row.amount needs a format"):
        outputs.columns_of(Row)
    with pytest.raises(TypeError, match=r"no field\(s\) \['amont'\]"):
        outputs.columns_of(Row, amount="money", amont="money")
