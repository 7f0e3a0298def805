"""A seeded workbook mutator and the harness that runs `check` and `refresh` on each mutant.

Mutations at three levels: cells (hostile values, wrong types, a stray cell at XFD1048576),
XML (cut short, junk attributes, broken tags) and zip (flipped bytes, lying sizes, missing
or duplicated parts). Each command runs as `brm-xl` runs (the supervised `main`), in a
forked child of a parent that has imported but never used polars, so a case costs its
work only. What must hold for every case:

- the command ends with exit 0, 1 or 2 and a message: never exit 3 ("internal error"),
  never a traceback, never a death by a signal that no sentence explains;
- on error, the workbook is byte for byte as it was;
- on success, the result is a readable package whose output tables read back;
- `check` passing means `refresh` passes.

Used by tests/pipeline/test_fuzz.py (a minute's worth) and benchmarks/fuzz_campaign.py (thousands).
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import sys
import tempfile
import time
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.helpers import (  # noqa: E402
    Block,
    Book,
    agencies,
    headcount,
    minimal_book,
    rate_card,
    usage,
    write_book,
)

HOSTILE = ["", " ", "abc", "-5", "-0", "1e308", "1E-7", "99999999999999999999", "0.123456789012",
           "2026-13", "2026-02-30", "9/9/2024", "=SUM(A1:A9)", "+1", "@x", "<b>x</b>", "&amp;",
           "DOT ", "dot", "../../etc/passwd", "NaN", "inf", "4.5", "45000", "46321.5", "TRUE",
           "x" * 40_000, "\u202e\u0644\u0627", "2026-09-01T00:00:00", "1,000", "$4.00"]


def base_books() -> list[Book]:
    """The workbooks mutated: tables, plain sheets, and one with the optional tables."""
    plain = minimal_book()
    for block in plain.blocks:
        block.as_table = False
    rich = minimal_book(
        Agencies=agencies("DOT", "DOR", "DOA/OTS"),
        RateCard=rate_card(("EMAIL", Decimal("4.00"), "2026-01", None),
                           ("VM", Decimal("120.5"), "2026-01", None)),
        Usage=usage(("2026-09", "DOT", "EMAIL", 100), ("2026-09", "DOR", "VM", 3),
                    ("2026-10", "DOA/OTS", "EMAIL", 7)),
        Headcount=headcount(("2026-09", "DOT", 100), ("2026-10", "DOA/OTS", 9)),
    )
    rich.blocks += [
        Block("Adjustments", ["period", "agency_id", "service_id", "amount", "reason"],
              [("2026-09", "DOT", "EMAIL", Decimal("-12.5"), "credit")]),
        Block("CostPools", ["period", "service_id", "cost"], [("2026-09", "EMAIL", 390)]),
        Block("Survey", ["response_id", "submitted_on", "agency_id", "respondent", "score"],
              [("R1", "2026-09-20", "DOT", "Ann", 2), ("R2", "2026-10-02", "DOR", "Bo", 5)]),
        Block("Engagements", ["date", "agency_id", "brm_manager", "channel", "topic"],
              [("2026-09-03", "DOT", "Pat", "Phone", "bill")]),
    ]
    rich.settings = [("organization", "Office of the CIO"), ("follow_up_days", 7)]
    return [minimal_book(), plain, rich]


# ---- mutations ---------------------------------------------------------------------

def _parts(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i, z.read(i)) for i in z.infolist()]


def _zip(parts: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info, content in parts:
            z.writestr(info.filename, content)
    return out.getvalue()


def mutate_cells(data: bytes, rng: random.Random) -> bytes:
    parts = _parts(data)
    sheets = [k for k, (i, _) in enumerate(parts) if i.filename.startswith("xl/worksheets/")]
    k = rng.choice(sheets)
    info, xml = parts[k]
    text = xml.decode("utf-8")
    how = rng.random()
    if how < 0.15:  # a stray cell far away, with or without a dimension that says so
        text = text.replace("</sheetData>", '<row r="1048576"><c r="XFD1048576" t="inlineStr">'
                            "<is><t>stray</t></is></c></row></sheetData>")
        if rng.random() < 0.5:
            text = re.sub(r'<dimension ref="[^"]*"/>', "", text)
    elif how < 0.3:  # a cell of the wrong type
        cells = list(re.finditer(r'<c r="([A-Z]+\d+)"[^>]*>.*?</c>', text))
        if cells:
            m = rng.choice(cells)
            kind = rng.choice(['t="e"><v>#N/A</v>', 't="s"><v>999</v>', 't="b"><v>7</v>',
                               't="d"><v>not-a-date</v>', '><v>1e400</v>', 't="n"><v>x</v>'])
            text = text[:m.start()] + f'<c r="{m.group(1)}" {kind}</c>' + text[m.end():]
    else:  # hostile values in a few cells
        for _ in range(rng.randint(1, 4)):
            spots = list(re.finditer(r"<(v|t)>([^<]*)</\1>", text))
            if not spots:
                break
            m = rng.choice(spots)
            value = rng.choice(HOSTILE)
            value = value.replace("&", "&amp;").replace("<", "&lt;")
            text = text[:m.start(2)] + value + text[m.end(2):]
    parts[k] = (info, text.encode("utf-8"))
    return _zip(parts)


def mutate_xml(data: bytes, rng: random.Random) -> bytes:
    parts = _parts(data)
    k = rng.randrange(len(parts))
    info, xml = parts[k]
    how = rng.random()
    if how < 0.25 and xml:
        xml = xml[:rng.randrange(len(xml))]
    elif how < 0.5:
        attrs = list(re.finditer(rb'(\w+)="([^"]*)"', xml))
        if attrs:
            m = rng.choice(attrs)
            junk = rng.choice([b"", b"ZZZ", b"0", b"-1", b"A0", b"XFD1048577", b"1:0", b"\xc3",
                               b"99999999999", b"A1:B", b"../../x", b"&amp;"])
            xml = xml[:m.start(2)] + junk + xml[m.end(2):]
    elif how < 0.7:
        tags = list(re.finditer(rb"</[\w:]+>", xml))
        if tags:
            m = rng.choice(tags)
            xml = xml[:m.start()] + xml[m.end():]
    elif how < 0.85:
        pos = rng.randrange(len(xml) + 1)
        xml = xml[:pos] + rng.choice([b"<x>", b"&bogus;", b"\x00", b"]]>", b"<!DOCTYPE a>"]) + xml[pos:]
    else:
        del parts[k]
        return _zip(parts)
    parts[k] = (info, xml)
    return _zip(parts)


def mutate_zip(data: bytes, rng: random.Random) -> bytes:
    raw = bytearray(data)
    how = rng.random()
    if how < 0.4:
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
    elif how < 0.55:
        del raw[rng.randrange(len(raw)):]
    elif how < 0.8:  # lie about a size or a CRC in the central directory
        starts = [m.start() for m in re.finditer(rb"PK\x01\x02", bytes(raw))]
        if starts:
            at = rng.choice(starts) + rng.choice([16, 20, 24])
            raw[at:at + 4] = rng.randrange(1 << 32).to_bytes(4, "little")
    else:  # a part twice
        parts = _parts(data)
        info, content = rng.choice(parts)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for i, c in parts + [(info, content)]:
                z.writestr(i.filename, c)
        return out.getvalue()
    return bytes(raw)


MUTATORS: list[Callable[[bytes, random.Random], bytes]] = [mutate_cells, mutate_xml, mutate_zip]


# ---- the harness -------------------------------------------------------------------

@dataclass
class Run:
    code: int
    stderr: str
    seconds: float
    peak_mb: float


@dataclass
class Tally:
    cases: int = 0
    runs: int = 0
    internal: list[str] = field(default_factory=list)  # exit 3 or a traceback
    silent_deaths: list[str] = field(default_factory=list)  # died with no sentence
    native_aborts: list[str] = field(default_factory=list)  # caught, explained by the supervisor
    changed_on_error: list[str] = field(default_factory=list)
    unreadable_results: list[str] = field(default_factory=list)
    check_missed: list[str] = field(default_factory=list)  # check 0, refresh 1
    hangs: list[str] = field(default_factory=list)
    peak_mb: float = 0.0
    exit_codes: dict[int, int] = field(default_factory=dict)

    def failures(self) -> dict[str, list[str]]:
        return {k: v for k, v in {
            "internal errors": self.internal, "deaths without a sentence": self.silent_deaths,
            "files changed on error": self.changed_on_error,
            "unreadable results": self.unreadable_results,
            "check passed but refresh failed": self.check_missed, "hangs": self.hangs,
        }.items() if v}


def run_command(args: list[str], timeout: float = 120.0, memory_gb: float = 4.0) -> Run:
    """`brm-xl ARGS` as the console script runs it, in a forked child."""
    err = tempfile.TemporaryFile()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(err.fileno(), 2)
            os.environ["BRM_XL_MEMORY_LIMIT_GB"] = str(memory_gb)
            sys.argv = ["brm-xl", *args]
            from brm_xl.cli import main

            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            os._exit(code)
    deadline = started + timeout
    while True:
        done, status, usage_ = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            _, status, usage_ = os.wait4(pid, 0)
            err.seek(0)
            return Run(-9, "hang", timeout, usage_.ru_maxrss / 1024)
        time.sleep(0.005)
    err.seek(0)
    text = err.read().decode("utf-8", "replace")
    code = os.waitstatus_to_exitcode(status)
    return Run(code, text, time.monotonic() - started, usage_.ru_maxrss / 1024)


def readable(path: Path) -> bool:
    """The refreshed file is a sound package and its Charges table reads back (checked in
    a child, so this parent never runs polars or calamine and can keep forking)."""
    pid = os.fork()
    if pid == 0:
        ok = False
        try:
            with zipfile.ZipFile(path) as z:
                ok = z.testzip() is None
            import fastexcel

            ok = ok and "Charges" in fastexcel.read_excel(str(path)).sheet_names
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_case(path: Path, tally: Tally, name: str) -> None:
    tally.cases += 1
    before = digest(path)
    check = _observe(run_command(["check", str(path)]), tally, f"{name} check")
    if digest(path) != before:
        tally.changed_on_error.append(f"{name}: check changed the file")
    refresh = _observe(run_command(["refresh", str(path), "--as-of", "2026-11-15"]), tally,
                       f"{name} refresh")
    if refresh.code != 0 and digest(path) != before:
        tally.changed_on_error.append(f"{name}: refresh exit {refresh.code} changed the file")
    if refresh.code == 0 and not readable(path):
        tally.unreadable_results.append(name)
    if check.code == 0 and refresh.code != 0:
        tally.check_missed.append(f"{name}: {refresh.stderr.strip()[:200]}")


def _observe(run: Run, tally: Tally, name: str) -> Run:
    tally.runs += 1
    tally.peak_mb = max(tally.peak_mb, run.peak_mb)
    tally.exit_codes[run.code] = tally.exit_codes.get(run.code, 0) + 1
    if run.code == -9:
        tally.hangs.append(name)
    elif run.code == 3 or "Traceback" in run.stderr or "internal error" in run.stderr:
        tally.internal.append(f"{name}: {run.stderr.strip()[-300:]}")
    elif run.code < 0 or run.code not in (0, 1, 2) or (run.code != 0 and not run.stderr.strip()):
        tally.silent_deaths.append(f"{name}: exit {run.code} {run.stderr.strip()[:200]}")
    elif "stopped in native code" in run.stderr or "crashed (" in run.stderr:
        tally.native_aborts.append(name)
    return run


def campaign(seed: int, count: int, folder: Path,
             progress: Callable[[int, Tally], None] = lambda i, t: None) -> Tally:
    """`count` mutants from `seed`, each checked and refreshed."""
    rng = random.Random(seed)
    bases = []
    for i, book in enumerate(base_books()):
        bases.append(write_book(folder / f"base{i}.xlsx", book).read_bytes())
    tally = Tally()
    for i in range(count):
        data = rng.choice(bases)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            try:
                data = rng.choice(MUTATORS)(data, rng)
            except (zipfile.BadZipFile, UnicodeDecodeError, ValueError, IndexError, EOFError,
                    zipfile.LargeZipFile, KeyError, OSError, zlib.error, RuntimeError):
                break  # this mutant is past mutating at that level: test it as it is
        path = folder / f"case{i}.xlsx"
        path.write_bytes(data)
        run_case(path, tally, f"seed {seed} case {i}")
        path.unlink()
        progress(i + 1, tally)
    return tally


def main() -> None:
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=50)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # zipfile warns of the duplicate parts it is asked to write
    with tempfile.TemporaryDirectory() as folder:
        tally = campaign(args.seed, args.count, Path(folder))
    print(json.dumps({**tally.__dict__, "failures": tally.failures()}, default=str))


if __name__ == "__main__":
    main()
