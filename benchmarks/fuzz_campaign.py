"""The long fuzz campaign: thousands of mutated workbooks through `check` and `refresh`.

Runs tests/fuzzing.py (the mutator and harness the test suite runs for a minute) over
seeds SEED, SEED+1, ... with COUNT cases each, two seeds at a time (one per core), and
prints the totals. Run: python benchmarks/fuzz_campaign.py [--seed 1] [--seeds 50]
[--count 100]; the campaign in the README is the default (5,000 workbooks).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HARNESS = Path(__file__).resolve().parent.parent / "tests" / "fuzzing.py"


def one(seed: int, count: int) -> dict:
    done = subprocess.run([sys.executable, str(HARNESS), "--seed", str(seed), "--count",
                           str(count)], capture_output=True, text=True)
    if done.returncode != 0:
        return {"seed": seed, "harness_error": done.stderr[-2000:]}
    return {"seed": seed, **json.loads(done.stdout)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.monotonic()
    seeds = range(args.seed, args.seed + args.seeds)
    with ThreadPoolExecutor(args.workers) as pool:
        results = list(pool.map(lambda s: one(s, args.count), seeds))
    totals: dict[str, int] = {}
    codes: dict[str, int] = {}
    failures: dict[str, list[str]] = {}
    peak = 0.0
    for r in results:
        if "harness_error" in r:
            failures.setdefault("harness errors", []).append(f"seed {r['seed']}: "
                                                             f"{r['harness_error'][-300:]}")
            continue
        for key in ("cases", "runs"):
            totals[key] = totals.get(key, 0) + r[key]
        for key in ("internal", "silent_deaths", "native_aborts", "changed_on_error",
                    "unreadable_results", "check_missed", "hangs"):
            totals[key] = totals.get(key, 0) + len(r[key])
        for code, n in r["exit_codes"].items():
            codes[code] = codes.get(code, 0) + n
        for kind, items in r["failures"].items():
            failures.setdefault(kind, []).extend(items)
        peak = max(peak, r["peak_mb"])
    print(json.dumps({"seeds": f"{args.seed}..{args.seed + args.seeds - 1}", **totals,
                      "exit_codes": codes, "peak_mb": round(peak),
                      "seconds": round(time.monotonic() - started)}, indent=1))
    for kind, items in failures.items():
        print(f"{kind}: {len(items)}")
        causes: dict[str, list[str]] = {}
        for item in items:  # grouped by cause: the message without its case number
            cause = item.split(": ", 1)[-1].splitlines()[0][:160]
            causes.setdefault(cause, []).append(item.split(":", 1)[0])
        for cause, cases in sorted(causes.items(), key=lambda c: -len(c[1])):
            print(f"  {len(cases):>4} x {cause}  (e.g. {cases[0]})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
