"""Drafting 25 (or N) value-report emails against rendering the same reports.

The issue's bound: drafting stays within 1.3 times the time of the same agencies' reports
as HTML and PDF (a draft is a PDF, the email's HTML and text bodies and a chart). Both are
timed in this run on the same workbook and model, so the ratio holds on a busy machine.
Run: python benchmarks/bench_email.py [--agencies N]
"""

from __future__ import annotations

import argparse
import json
import time

from bench_reports import OUT, build

from brm_xl.app import demo
from brm_xl.app.usecases import draft_emails
from brm_xl.delivery.journal import DELIVERIES_SPEC
from brm_xl.pipeline.model import build_model
from brm_xl.reports.run import make_reports


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agencies", type=int, default=25)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"email-{args.agencies}.xlsx"
    build(path, args.agencies)
    model = build_model(path, demo.AS_OF, previous=(DELIVERIES_SPEC,))
    t = time.perf_counter()
    written = make_reports(path, "2026-10", out=OUT / "email-reports", model=model,
                           formats=["html", "pdf"])
    reports = time.perf_counter() - t
    t = time.perf_counter()
    _, drafts = draft_emails(path, "2026-10", as_of=demo.AS_OF, out=OUT / "email-drafts",
                             model=model)
    drafting = time.perf_counter() - t
    print(json.dumps({
        "agencies": len({w.agency for w in written}), "drafts": len(drafts),
        "reports_html_pdf_s": round(reports, 2), "drafts_s": round(drafting, 2),
        "ratio": round(drafting / reports, 2), "bound": 1.3,
    }, indent=2))


if __name__ == "__main__":
    main()
