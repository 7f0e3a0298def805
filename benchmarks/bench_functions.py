"""Cost of a worksheet function call on a 100-agency, 24-month workbook.

Cold: the first call, which reads and computes the workbook. Warm: later calls, answered
from the cached model (Python time only; in Excel, xlwings' COM round trip comes on top).
Floor: fastexcel reading every sheet of the same workbook in the same process (best of
three), so cold_over_floor compares across machines.
Run: python benchmarks/bench_functions.py
"""

from __future__ import annotations

import json
import time
import timeit

import fastexcel
from bench_reports import OUT, build

from brm_xl.excel import cache
from brm_xl.excel import functions as fx


def main() -> None:
    OUT.mkdir(exist_ok=True)
    path = OUT / "functions-100.xlsx"
    build(path, 100)
    p = str(path)
    cache.forget()
    t = time.perf_counter()
    first = fx.BRM_CHARGES("DHS", "FY2026", None, p)
    cold = time.perf_counter() - t
    calls = {
        "BRM_CHARGES month": lambda: fx.BRM_CHARGES("DHS", "2026-10", None, p),
        "BRM_CHARGES FY": lambda: fx.BRM_CHARGES("DHS", "FY2026", None, p),
        "BRM_COST_PER_USER": lambda: fx.BRM_COST_PER_USER("DOT3", "2026-10", p),
        "BRM_RATE": lambda: fx.BRM_RATE("EMAIL-STD", "2026-10", p),
        "BRM_CSAT": lambda: fx.BRM_CSAT("DOC", "FY2026-Q1", p),
        "BRM_HEALTH": lambda: fx.BRM_HEALTH("DMV2", p),
        "BRM_LAST_CONTACT": lambda: fx.BRM_LAST_CONTACT("DOT", "in person", p),
    }
    warm = {name: round(min(timeit.repeat(call, number=2000, repeat=5)) / 2000 * 1e6, 1)
            for name, call in calls.items()}
    floor = min(read_every_sheet(p) for _ in range(3))
    print(json.dumps({"cold_call_s": round(cold, 2), "first_value": first,
                      "warm_call_us": warm, "read_floor_s": round(floor, 2),
                      "cold_over_floor": round(cold / floor, 2)}, indent=2))


def read_every_sheet(path: str) -> float:
    """Seconds fastexcel takes to open the workbook and load every sheet to Arrow, as text."""
    t = time.perf_counter()
    reader = fastexcel.read_excel(path)
    for name in reader.sheet_names:
        reader.load_sheet(name, dtypes="string").to_arrow()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
