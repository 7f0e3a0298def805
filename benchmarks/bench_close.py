"""The close cycle on a state-scale workbook: close, verify, journal, and what checking
the seals costs every load.

The workbook of bench_refresh (100 agencies, 40 services, 24 months; --rows usage rows,
default 1,000,000) with GL accounts. Each figure is the best of --repeat fresh processes:
`check` before any close, `close` of 23 months in one run, `check` with 23 sealed months
(the difference is the seals' cost on every load), `close` of the last month, `verify`,
and the last month's `journal`. Run: python benchmarks/bench_close.py [--rows N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_refresh import OUT, build  # noqa: E402


def timed(*args: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "brm_xl", *args], check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    source = OUT / f"close-{args.rows}.xlsx"
    if not source.exists():
        build(source, args.rows, gl=True)
        subprocess.run([sys.executable, "-m", "brm_xl", "refresh", str(source), "--as-of",
                        "2026-11-01"], check=True, capture_output=True)
    figures: dict[str, list[float]] = {}
    for n in range(args.repeat):
        work = OUT / f"close-work-{n}.xlsx"
        shutil.copyfile(source, work)
        for f in OUT.glob(f"2026-10_journal_*{n}*"):
            f.unlink()
        steps = [("check_unsealed_s", ["check", str(work)]),
                 ("close_23_months_s", ["close", str(work), "--period", "2024-11..2026-09"]),
                 ("check_sealed_s", ["check", str(work)]),
                 ("close_month_s", ["close", str(work), "--period", "2026-10"]),
                 ("verify_s", ["verify", str(work)]),
                 ("journal_s", ["journal", str(work), "--period", "2026-10", "--out",
                                str(OUT / f"journal-{n}.csv"), "--force"])]
        for name, call in steps:
            figures.setdefault(name, []).append(timed(*call))
    result = {k: round(min(v), 2) for k, v in figures.items()}
    result["seal_cost_per_load_s"] = round(result["check_sealed_s"] - result["check_unsealed_s"], 2)
    print(json.dumps({"usage_rows": args.rows, **result}, indent=2))


if __name__ == "__main__":
    main()
