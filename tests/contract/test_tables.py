"""The contract's tables: one header rule for reading and appending."""

from __future__ import annotations


def test_one_header_rule_for_reading_and_appending():
    from brm_xl.contract.tables import header_positions

    assert header_positions(["Agency ID", "agency_id", "Score"]) == {"agencyid": 0, "score": 2}
