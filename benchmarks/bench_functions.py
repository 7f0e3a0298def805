"""Cost of a worksheet function call on a 100-agency, 24-month workbook.

Cold: the first call, which reads and computes the workbook. Warm: later calls, answered
from the cached model (Python time only; in Excel, xlwings' COM round trip comes on top).
Run: python benchmarks/bench_functions.py
"""

from __future__ import annotations

import json
import time
import timeit

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
    print(json.dumps({"cold_call_s": round(cold, 2), "first_value": first,
                      "warm_call_us": warm}, indent=2))


if __name__ == "__main__":
    main()
