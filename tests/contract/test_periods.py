"""Periods as people write them, and the comparison of like months."""

from __future__ import annotations

from brm_xl.contract.periods import comparison, month_list, parse_period


def test_comparison_takes_the_same_months_and_says_so():
    fy = parse_period("FY2027", 7)
    have = {"2025-07", "2025-08", "2026-07", "2026-08"}
    c = comparison(fy, have, "2026-09")
    assert c.months == ["2026-07", "2026-08"] and c.prior_months == ["2025-07", "2025-08"]
    assert c.note == "FY2027 so far (July 2026 to August 2026) against the same months of FY2026"
    month = parse_period("2026-08", 7)
    assert comparison(month, have, "2026-09").note is None
    assert month_list(["2026-01", "2026-02", "2026-03", "2026-05"]) == \
        "January 2026 to March 2026, May 2026"
