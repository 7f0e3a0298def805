"""kill -9 during `brm-xl email --send`, then run it again: nothing sent twice, nothing lost.

A real SMTP server (aiosmtpd) on loopback accepts each message after a short delay, so a
batch takes a few seconds to send. Each trial builds a workbook of AGENCIES agencies,
starts `email --send`, kills its whole process group with SIGKILL at a random moment
(while rendering, between messages, or with a message at the server), then runs the same
command again to the end. It counts, per trial:

- duplicates: an agency head who received the report more than once;
- unrecorded: a message the server accepted that Deliveries does not record as `sent`
  or `unknown` (unknown: the run died while the server had it; listed for the user and
  not sent again without --resend);
- missing: an agency that neither got the report nor is listed as unknown.

Run: python benchmarks/kill_send.py [--trials 20] [--agencies 8] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import (  # noqa: E402
    AGENCY_HEADERS,
    Block,
    headcount,
    minimal_book,
    output_rows,
    rate_card,
    usage,
    write_book,
)


class Slow:
    def __init__(self, delay: float):
        self.delay = delay
        self.received: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(str(message["To"].addresses[0].addr_spec))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workbook(folder: Path, count: int) -> Path:
    ids = [f"AG{i:02d}" for i in range(count)]
    book = minimal_book(
        Agencies=Block("Agencies", AGENCY_HEADERS, [
            (a, f"Agency {a}", f"Head {a}", f"head.{a.lower()}@agency.example", "Pat",
             "pat@cio.example", 30) for a in ids]),
        RateCard=rate_card(("EMAIL", Decimal("4.00"), "2026-01", None)),
        Usage=usage(*[("2026-09", a, "EMAIL", 10 + i) for i, a in enumerate(ids)]),
        Headcount=headcount(*[("2026-09", a, 10) for a in ids]),
    )
    book.settings = [("sender_email", "brm@cio.example"), ("smtp_host", "127.0.0.1")]
    return write_book(folder / "brm.xlsx", book)


def trial(rng: random.Random, count: int, delay: float) -> dict[str, int]:
    handler = Slow(delay)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = workbook(Path(folder), count)
            command = [sys.executable, "-m", "brm_xl", "email", str(path), "--period", "2026-09",
                       "--send", "--yes", "--no-tls", "--smtp-port", str(port)]
            run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
            target = rng.randint(0, count - 1)  # messages the server has before the kill
            extra = rng.uniform(0, delay * 1.2)  # and how far into the next one
            deadline = time.monotonic() + 300
            while (len(handler.received) < target and run.poll() is None
                   and time.monotonic() < deadline):
                time.sleep(0.005)
            time.sleep(extra)
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
            first = list(handler.received)
            again = subprocess.run(command, capture_output=True, text=True, timeout=600)
            rows = {r["to"]: r["status"] for r in output_rows(path, "Deliveries")}
            heads = {f"head.ag{i:02d}@agency.example" for i in range(count)}
            got = handler.received
            return {
                "killed_after": len(first),
                "rerun_exit": again.returncode,
                "duplicates": len(got) - len(set(got)),
                "unrecorded": sum(rows.get(to) not in ("sent", "unknown") for to in set(got)),
                "unknown": sum(s == "unknown" for s in rows.values()),
                "missing": sum(h not in got and rows.get(h) != "unknown" for h in heads),
            }
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--agencies", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0.25, help="seconds the server takes")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    totals = {"duplicates": 0, "unrecorded": 0, "unknown": 0, "missing": 0}
    for i in range(args.trials):
        result = trial(rng, args.agencies, args.delay)
        for key in totals:
            totals[key] += result[key]
        print(f"trial {i + 1:>2}: {result}", flush=True)
    print(f"{args.trials} trials, {args.agencies} agencies each: {totals}")
    sys.exit(1 if totals["duplicates"] or totals["unrecorded"] or totals["missing"] else 0)


if __name__ == "__main__":
    main()
