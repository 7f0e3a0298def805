"""Refresh with a 10,000,000-row FOCUS bill, as Parquet (Tags a map, costs doubles) and as
CSV (Tags JSON text), beside a 100-agency workbook. Each run is a fresh process; prints
seconds and peak memory (max RSS). Run: python benchmarks/bench_focus.py [--rows N]

`--snapshots`: the bill as two snapshots of its months (an early one holding 90 % of the
rows, a later one holding all, as CSV), given together against the later one alone: what
finding the rows both hold (and charging them once) costs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from bench_refresh import OUT

REFRESH = """
import sys, time, resource, datetime as dt
from pathlib import Path
from brm_xl.app.refresh import refresh
from brm_xl.contract.inputs import Sources
t = time.perf_counter()
result = refresh(sys.argv[1], as_of=dt.date(2026, 11, 1),
                 sources=Sources(focus=tuple(Path(p) for p in sys.argv[2:])))
print(time.perf_counter() - t, result.tables["Charges"], result.tables.get("Unallocated", 0),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def workbook(path: Path) -> None:
    from brm_xl.app.template import build_workbook

    agencies = [(f"AG{i:03d}", f"Agency {i}", "Head", f"head@ag{i:03d}.example", "Manager",
                 "brm@cio.example", 30) for i in range(100)]
    build_workbook(path, {"Agencies": agencies,
                          "RateCard": [("EMAIL", "Email", "End User", "mailbox-month",
                                        Decimal("4.00"), "2024-01", None)]},
                   settings=[("focus_agency_tag", "agency")])


def bill(rows: int) -> pl.DataFrame:
    rng = np.random.default_rng(5)
    months = np.array([f"{2024 + (10 + m) // 12}-{(10 + m) % 12 + 1:02d}-01T00:00:00Z"
                       for m in range(24)])
    account = rng.integers(0, 300, rows)  # three accounts an agency, as a landing zone has
    agency = account % 104  # tags AG100..AG103 name no agency: Unallocated
    return pl.DataFrame({
        "ChargePeriodStart": months[rng.integers(0, 24, rows)],
        "EffectiveCost": np.round(rng.gamma(0.5, 2.0, rows), 10),
        "BilledCost": np.round(rng.gamma(0.5, 2.0, rows), 10),
        "BillingCurrency": np.full(rows, "USD"),
        "ChargeCategory": np.where(rng.random(rows) < 0.02, "Credit", "Usage"),
        "ServiceName": np.char.add("Service ", rng.integers(0, 40, rows).astype(str)),
        "ServiceCategory": np.full(rows, "Compute"),
        "SubAccountId": np.char.zfill(account.astype(str), 12),
        "ProviderName": np.full(rows, "AWS"),
        "agency": np.char.add("AG", np.char.zfill(agency.astype(str), 3)),
    })


def write(frame: pl.DataFrame, parquet: Path, csv: Path) -> None:
    tags_text = pl.concat_str([pl.lit('{"user:agency":"'), pl.col("agency"), pl.lit('"}')])
    frame.with_columns(tags_text.alias("Tags")).drop("agency").write_csv(csv)
    table = frame.drop("agency").to_arrow()
    keys = pa.array(["user:agency"] * frame.height)
    offsets = pa.array(np.arange(frame.height + 1, dtype=np.int32))
    tags = pa.MapArray.from_arrays(offsets, keys, frame["agency"].to_arrow().cast(pa.string()))
    pq.write_table(table.append_column("Tags", tags), parquet)


def run(book: Path, source: Path, *more: Path) -> dict[str, float]:
    work = OUT / "focus-copy.xlsx"
    shutil.copyfile(book, work)
    out = subprocess.run([sys.executable, "-c", REFRESH, str(work), str(source),
                          *map(str, more)], check=True, capture_output=True, text=True).stdout.split()
    return {"refresh_s": round(float(out[0]), 1), "charges_rows": int(out[1]),
            "unallocated_rows": int(out[2]), "peak_mb": round(int(out[3]) / 1024),
            "file_mb": round(sum(p.stat().st_size for p in (source, *more)) / 1e6)}


def snapshots(rows: int) -> tuple[Path, Path]:
    """The bill with its billing account and period, as an early and a later snapshot."""
    frame = bill(rows).with_columns(pl.lit("999988887777").alias("BillingAccountId"),
                                    pl.col("ChargePeriodStart").alias("BillingPeriodStart"))
    tags = pl.concat_str([pl.lit('{"user:agency":"'), pl.col("agency"), pl.lit('"}')])
    frame = frame.with_columns(tags.alias("Tags")).drop("agency")
    early, later = OUT / f"focus-{rows}-early.csv", OUT / f"focus-{rows}-later.csv"
    frame.head(rows * 9 // 10).write_csv(early)
    frame.write_csv(later)
    return early, later


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--snapshots", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    book = OUT / "focus-base.xlsx"
    workbook(book)
    if args.snapshots:
        early, later = snapshots(args.rows)
        print(json.dumps({"focus_rows": args.rows, "later_alone": run(book, later),
                          "both_snapshots": run(book, early, later)}, indent=2))
        return
    parquet, csv = OUT / f"focus-{args.rows}.parquet", OUT / f"focus-{args.rows}.csv"
    if not parquet.exists():
        t = time.perf_counter()
        write(bill(args.rows), parquet, csv)
        print(f"wrote {args.rows:,} FOCUS rows in {time.perf_counter() - t:.1f} s")
    results = {label: run(book, path) for label, path in (("parquet", parquet), ("csv", csv))}
    print(json.dumps({"focus_rows": args.rows, "at": dt.date.today().isoformat(), **results},
                     indent=2))


if __name__ == "__main__":
    main()
