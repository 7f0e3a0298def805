"""Render 100 agency value reports in HTML, PDF and XLSX, over both cores.

Builds a demo-style workbook of 100 agencies (the demo's 25, four times over, renamed),
30 services and 24 months with surveys and engagements, then times `make_reports` for
the latest month. Prints wall time, ms per report and peak memory.
Run: python benchmarks/bench_reports.py [--agencies N] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from brm_xl.app import demo
from brm_xl.app.template import build_workbook
from brm_xl.pipeline.model import build_model
from brm_xl.reports.run import make_reports

OUT = Path(__file__).parent / "out"


def build(path: Path, count: int) -> None:
    base = list(demo.AGENCIES)
    agencies = []
    for i in range(count):
        aid, name, head, users, mgr, cadence = base[i % len(base)]
        suffix = i // len(base)
        agencies.append((f"{aid}{suffix or ''}", f"{name}{f' Region {suffix}' if suffix else ''}",
                         head, users, mgr, cadence))
    demo.AGENCIES[:] = agencies
    try:
        build_workbook(path, demo.demo_rows(), demo.DEMO_SETTINGS)
    finally:
        demo.AGENCIES[:] = base


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agencies", type=int, default=100)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"reports-{args.agencies}.xlsx"
    build(path, args.agencies)
    t = time.perf_counter()
    model = build_model(path, demo.AS_OF)
    load = time.perf_counter() - t
    t = time.perf_counter()
    written = make_reports(path, "2026-10", out=OUT / "reports", model=model,
                           workers=args.workers)
    render = time.perf_counter() - t
    t = time.perf_counter()
    make_reports(path, "2026-10", out=OUT / "reports-html", model=model, formats=["html"],
                 workers=args.workers)
    html_only = time.perf_counter() - t
    reports = len({w.agency for w in written})
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({
        "agencies": reports, "files": len(written), "load_and_compute_s": round(load, 2),
        "render_and_write_s": round(render, 2), "ms_per_report": round(1000 * render / reports),
        "html_only_s": round(html_only, 2),
        "peak_mb_main": round(own), "peak_mb_worker": round(children),
        "machine_cores": __import__("os").cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()
