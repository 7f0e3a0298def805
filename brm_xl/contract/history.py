"""What the closed books published, as the read stage found it: the seal record of each
close and reopen, the seal check's verdict, and the month each credit went on a bill.

`brm_xl.books.seal` reads, verifies and writes these; every computation gets them with
the inputs (`Inputs.published`, `Inputs.pins`) and never reads the books itself.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from brm_xl.problems import Problem


def digest(value: Any, size: int = 32) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=size).hexdigest()


@dataclass
class Record:
    """One close or reopen as sealed (see the module docstring)."""

    seq: int
    book: str
    period: str
    status: str  # closed, reopened
    closed_at: str  # when_text
    closed_by: str
    reason: str
    charges: list[list[str]] = field(default_factory=list)  # agency, service, amount
    users: list[list[str]] = field(default_factory=list)  # agency, users ("" unknown)
    statewide: dict[str, str] = field(default_factory=dict)  # charges, users, cost_per_user
    adjustments: list[list[str]] = field(default_factory=list)  # agency, service, amount, reason
    disputes: list[list[str]] = field(default_factory=list)  # dispute id, credit
    credits: list[list[str]] = field(default_factory=list)  # sl id, month missed, agency, share
    gl: list[list[str]] = field(default_factory=list)  # kind, id, fund, department, account
    rates: list[list[str]] = field(default_factory=list)  # service, rate billed
    quantities: list[list[str]] = field(default_factory=list)  # agency, service, quantity
    audit: list[Any] = field(default_factory=list)  # [seq, chain] of AuditLog before it
    found: bool = False  # sealed as found: closed before brm_xl sealed its closes
    previous: str = ""
    seal: str = ""

    @property
    def lines(self) -> int:
        return len(self.charges)

    @property
    def total(self) -> str:
        return f"{sum((Decimal(a) for _, _, a in self.charges), Decimal('0.00')):.2f}"

    @property
    def label(self) -> str:
        return (f"{self.period} was closed on {self.closed_at[:10]}"
                + (f" by {self.closed_by}" if self.closed_by else ""))

    def body(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "seal"}
        return data

    def sealed(self, previous: str) -> Record:
        self.previous = previous
        self.seal = digest(self.body())
        return self

    def charges_map(self) -> dict[tuple[str, str], Decimal]:
        return {(a, s): Decimal(v) for a, s, v in self.charges}

    def users_map(self) -> dict[str, int | None]:
        return {a: (int(u) if u != "" else None) for a, u in self.users}


@dataclass
class Verified:
    """What the seal check found in one workbook."""

    records: list[Record]
    problems: list[Problem]
    legacy: bool = False  # closes with no seal records yet (sealed as found at the next write)
    broken: set[str] = field(default_factory=set)  # months whose publication is in doubt
    book: str = ""
    audit_head: tuple[int, str] = (0, "")
    audit_ok: bool = True  # every AuditLog row already carries its sequence and chain

    @property
    def head(self) -> str:
        return self.records[-1].seal if self.records else ""

    def closed(self) -> dict[str, Record]:
        """Month -> the record of its close, for months whose last record is a close."""
        last: dict[str, Record] = {}
        for r in self.records:
            last[r.period] = r
        return {p: r for p, r in last.items() if r.status == "closed"}


@dataclass
class Pins:
    """The month each credit went on a bill: sealed with a closed month, or (open months)
    as the last refresh wrote it in DisputeLog and ServiceCredits."""

    disputes: dict[str, str] = field(default_factory=dict)  # dispute id (upper) -> month
    credits: dict[tuple[str, str, str], str] = field(default_factory=dict)  # sl, month, agency
