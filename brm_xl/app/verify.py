"""`brm-xl verify`: what differs between a workbook's closed books and the evidence of them.

Inside the workbook: every seal (brm_xl.books.seal), the office's ledger where it keeps one
(brm_xl.books.ledger), and the inputs behind each closed month. Outside it: each journal file
given, through its companion seal file (its own digest, the close's seal, its totals),
and the email messages already sent (the `X-BRM-Figures` header each one carries: the
month, the agency and what it was told it paid), against what the workbook now holds.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from brm_xl.books.seal import short
from brm_xl.contract.history import Record
from brm_xl.delivery.messages import FIGURES_HEADER
from brm_xl.filenames import companion_file, safe_name
from brm_xl.pipeline.read import load_inputs
from brm_xl.problems import DataProblems, Problem, errors


@dataclass
class Verification:
    problems: list[Problem] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # what was compared, in a line each


def verify(path: Path, journals: list[Path] = (), sent: Path | None = None,  # type: ignore[assignment]
           ) -> Verification:
    from brm_xl.pipeline.model import model_of

    out = Verification()
    inputs, problems = load_inputs(Path(path))
    out.problems += problems
    verified = inputs.published
    out.checked.append(f"{len(verified.records)} seal records, chained"
                       + (" (not sealed yet: closed before seals)" if verified.legacy else ""))
    if not errors(problems):
        try:
            model_of(inputs, problems, dt.date.today())
        except DataProblems as exc:
            out.problems += [p for p in exc.problems if p.is_error]
        out.checked.append("the inputs behind every closed month")
    by_seal = {r.seal: r for r in verified.records}
    for journal in journals:
        out.problems += _journal(Path(journal), verified.book, by_seal)
    if journals:
        out.checked.append(f"{len(journals)} journal file(s) against their seal files")
    if sent is not None:
        found, count = _sent(Path(sent), verified.closed())
        out.problems += found
        out.checked.append(f"{count} sent message(s) in {sent}")
    return out


def _journal(path: Path, book: str, by_seal: dict[str, Record]) -> list[Problem]:
    where = path.name
    companion = companion_file(path)
    if not path.is_file():
        return [Problem(where, "no such journal file")]
    if not companion.is_file():
        return [Problem(where, f"has no seal file beside it ({companion.name}), so it cannot be "
                        "checked", "journal-unsealed", "warning")]
    try:
        data = json.loads(companion.read_text("utf-8"))
    except (OSError, ValueError):
        return [Problem(companion.name, "cannot be read as a brm_xl journal seal file")]
    out = []
    if hashlib.sha256(path.read_bytes()).hexdigest() != data.get("sha256"):
        out.append(Problem(where, "was changed after brm_xl wrote it (its digest no longer "
                           "matches its seal file)", "journal-changed"))
    if data.get("book") != book:
        out.append(Problem(where, "is a journal of another workbook", "journal-other-book"))
        return out
    record = by_seal.get(str(data.get("seal")))
    if record is None:
        out.append(Problem(where, f"was written from the close of {data.get('period')} sealed "
                           f"{short(str(data.get('seal')))}, which this workbook's records no "
                           "longer hold: the workbook's closed books were rewritten",
                           "journal-differs"))
        return out
    gross = sum((abs(v) for v in record.charges_map().values()), Decimal("0.00"))
    if f"{gross:.2f}" != data.get("debits") or record.total != data.get("net_charges"):
        out.append(Problem(where, f"posted debits {data.get('debits')} and net charges "
                           f"{data.get('net_charges')}; the workbook's record of {record.period} "
                           f"now gives {gross:.2f} and {record.total}", "journal-differs"))
    return out


def _sent(folder: Path, closed: dict[str, Record]) -> tuple[list[Problem], int]:
    paid: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for period, r in closed.items():
        for agency, _, amount in r.charges:
            paid[(period, safe_name(agency).upper())] += Decimal(amount)
    out, count = [], 0
    for path in sorted(folder.rglob("*.eml")):
        try:
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        except (OSError, ValueError):
            continue
        header = msg.get(FIGURES_HEADER)
        if not header:
            continue
        count += 1
        fields = dict(part.strip().split("=", 1) for part in str(header).split(";")
                      if "=" in part)
        key = (fields.get("period", ""), fields.get("agency", "").upper())
        if key[0] not in closed:
            continue
        try:
            told = Decimal(fields.get("paid", ""))
        except InvalidOperation:
            continue
        if paid.get(key, Decimal("0.00")) != told:
            out.append(Problem(path.name, f"told {key[1]} it paid {told:,.2f} for {key[0]}; the "
                               f"workbook's closed books now say {paid.get(key, Decimal(0)):,.2f}",
                               "sent-differs"))
    return out, count
