"""Problems in data are values; exceptions are for faults of the program or the world.

A `Problem` names where it is (`Usage!D14`), a short code and a sentence a finance
clerk can act on. Checks return lists of problems; the pipeline collects them all and
reports them together. Exceptions form one small tree under `BrmError`, all in this file:

    BrmError                 something brm_xl says in a sentence (exit 1)
    +-- WorkbookError        the workbook cannot be opened, read or replaced
    +-- DataProblems         the data breaks the contract: `problems` lists every error
    +-- TemplateError        a report or email template is broken or was refused
    +-- DeliveryError        the mail server cannot be reached or will not accept us
    +-- QueryError           a worksheet function's question has no answer (shown in the cell)
    +-- StateError           the workbook is not in the state the command needs (a month
                             closed already, a journal of an open month): exit 1
    +-- UsageError           the command was called wrongly (exit 2)

`brm_xl.cli.supervisor.Stopped` (SIGTERM, SIGHUP) is a BaseException, like KeyboardInterrupt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

MAX_SHOWN = 50


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or worth a warning) in the inputs, at a place a person can find."""

    where: str
    message: str
    code: str = "invalid"
    severity: str = "error"  # "error" stops the refresh; "warning" is reported only

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if not p.is_error]


def summarize(problems: list[Problem], limit: int = MAX_SHOWN) -> list[str]:
    """The first `limit` problems as lines, and a count of the rest."""
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more")
    return lines


class BrmError(Exception):
    """Base of every error brm_xl raises on purpose; its message says what to do."""


class WorkbookError(BrmError):
    """The workbook cannot be opened, read or written as an xlsx/xlsm package."""


class DataProblems(BrmError):
    """The workbook's data broke the contract; `problems` lists every error found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(errors(problems))} problem(s) in the workbook")


class TemplateError(BrmError):
    """A report or email template is broken, or tried something the sandbox refuses."""


class DeliveryError(BrmError):
    """The mail server could not be reached or would not accept us."""


class QueryError(BrmError, ValueError):
    """A question the workbook cannot answer; its message goes into the cell."""


class StateError(BrmError):
    """The workbook is not in the state the command needs; its message says what to do."""


class UsageError(BrmError):
    """The command was called wrongly (a bad option value, a missing file)."""
