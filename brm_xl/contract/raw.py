"""A table as read: every contract column found as text, each value with its cell's address.

The workbook reader and the readers of files beside it (usage files, FOCUS bills, survey
exports) all give a `RawTable`; `brm_xl.contract.validate` types it by the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from brm_xl.contract.tables import TableSpec
from brm_xl.problems import Problem

ROW = "_row"


@dataclass
class RawTable:
    """One input table as read: a text column per contract column found, and `_row`."""

    spec: TableSpec
    sheet: str
    frame: pl.DataFrame
    letters: dict[str, str] = field(default_factory=dict)
    header_row: int = 1
    found: bool = True
    problems: list[Problem] = field(default_factory=list)
    error_cells: set[tuple[str, int]] = field(default_factory=set)  # (column, row) of #N/A etc.
    locate: Callable[[str, int | None], str] | None = None  # for rows not from a sheet

    def where(self, column: str, row: int | None = None) -> str:
        if self.locate is not None:
            return self.locate(column, row)
        letter = self.letters.get(column, "A")
        return f"{quote_sheet(self.sheet)}!{letter}{row if row is not None else self.header_row}"


def quote_sheet(name: str) -> str:
    return f"'{name}'" if any(ch in name for ch in " -&()'!") else name
