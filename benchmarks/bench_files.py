"""Refresh with 10,000,000 usage rows from Parquet and from CSV files beside the workbook.

100 agencies, 40 services, 24 months. Each run is a fresh process; prints seconds and
peak memory (max RSS). Run: python benchmarks/bench_files.py [--rows N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from bench_refresh import OUT, build

REFRESH = """
import sys, time, resource, datetime as dt
from pathlib import Path
from brm_xl.app.refresh import refresh
from brm_xl.contract.inputs import Sources
t = time.perf_counter()
result = refresh(sys.argv[1], as_of=dt.date(2026, 11, 1), sources=Sources(usage=(Path(sys.argv[2]),)))
print(time.perf_counter() - t, result.tables["Charges"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def usage_frame(rows: int) -> pl.DataFrame:
    rng = np.random.default_rng(11)
    months = [f"{2024 + (10 + m) // 12}-{(10 + m) % 12 + 1:02d}" for m in range(24)]
    return pl.DataFrame({
        "period": np.array(months)[rng.integers(0, 24, rows)],
        "agency_id": np.char.add("AG", np.char.zfill(rng.integers(0, 100, rows).astype(str), 3)),
        "service_id": np.char.add("SVC-", np.char.zfill(rng.integers(0, 40, rows).astype(str), 2)),
        "quantity": rng.integers(1, 400, rows).astype(np.float64),
    })


def run(workbook: Path, usage: Path) -> tuple[float, int, float]:
    work = OUT / "files-copy.xlsx"
    shutil.copyfile(workbook, work)
    out = subprocess.run([sys.executable, "-c", REFRESH, str(work), str(usage)], check=True,
                         capture_output=True, text=True, cwd=Path(__file__).parent).stdout.split()
    return float(out[0]), int(out[1]), int(out[2]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    workbook = OUT / "files-base.xlsx"
    if not workbook.exists():
        build(workbook, 24)  # the masters and a token Usage sheet; the rows come from files
    parquet, csv = OUT / f"usage-{args.rows}.parquet", OUT / f"usage-{args.rows}.csv"
    if not parquet.exists():
        t = time.perf_counter()
        frame = usage_frame(args.rows)
        frame.write_parquet(parquet)
        frame.write_csv(csv)
        print(f"wrote {args.rows:,} rows in {time.perf_counter() - t:.1f} s")
    results = {}
    for label, path in (("parquet", parquet), ("csv", csv)):
        seconds, charges, peak = run(workbook, path)
        results[label] = {"refresh_s": round(seconds, 1), "peak_mb": round(peak),
                          "file_mb": round(path.stat().st_size / 1e6), "charges_rows": charges}
    print(json.dumps({"usage_rows": args.rows, **results}, indent=2))


if __name__ == "__main__":
    main()
