"""Money, exact: Decimal to the cent, rounded half up (never banker's rounding), one rule
for every bill line, credit, budget projection and share; percentages to a tenth.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl

CENT = Decimal("0.01")


TENTH = Decimal("0.1")


ZERO = Decimal("0.00")


MONEY = pl.Decimal(38, 2)


def cents(value: Decimal) -> Decimal:
    """Round half up to cents: 0.125 -> 0.13, 21.735 -> 21.74 (not banker's rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def tenths(value: Decimal) -> Decimal:
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def as_money(cents_count: int) -> Decimal:
    return Decimal(cents_count).scaleb(-2)
