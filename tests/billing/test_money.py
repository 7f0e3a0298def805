"""Money: half up to cents per line, products exact."""

from __future__ import annotations

from decimal import Decimal as D

import polars as pl

from brm_xl.billing.chargeback import previous_month, product_cents
from brm_xl.contract.money import as_money, cents, tenths


def test_money_rounds_half_up_to_cents_and_products_are_exact():
    assert cents(D("0.125")) == D("0.13") and cents(D("21.735")) == D("21.74")
    assert cents(D("-0.125")) == D("-0.13") and tenths(D("-31.25")) == D("-31.3")
    assert as_money(-1250) == D("-12.50") and str(as_money(5)) == "0.05"
    assert previous_month("2026-01") == "2025-12" and previous_month("2026-10") == "2026-09"
    frame = pl.DataFrame({"q": [D("3"), D("0.5"), D("1234567.891")], "p": [D("0.0417"), D("0.25"), D("0.0001")]},
                         schema={"q": pl.Decimal(38, 9), "p": pl.Decimal(38, 9)})
    got = frame.select(product_cents(pl.col("q"), pl.col("p"))).to_series().to_list()
    # 0.1251 -> 13 cents; 0.125 -> 13 cents (half up); 123.4567891 -> 12346 cents
    assert got == [13, 13, 12346]
