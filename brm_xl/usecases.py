"""What a person can ask brm_xl to do, one function each.

The CLI, the Excel buttons and the demo parse their arguments, call one of these and
print what it returns; none of them builds a model or decides a file name itself.

- `refresh`, `check` (brm_xl.refresh): recompute and write the output tables, or find
  every problem a refresh would meet.
- `make_reports`: value reports for agency heads, or the CIO's portfolio.
- `make_all_reports`: both, for a period or the buttons' default, from one model.
- `draft_emails`: one `.eml` draft per agency head.
- `import_survey`, `log_contact` (brm_xl.additions): add rows to Survey and Engagements.

Sending email is `brm_xl.delivery.run.prepare/build/send`, which the CLI and the Send
button call with their own confirmation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from .additions import import_survey, log_contact
from .delivery import run as delivery
from .filenames import outbox_folder
from .model import Model, build_model
from .refresh import check, refresh
from .reports.run import Written, default_period, make_reports
from .sources import Sources

__all__ = ["check", "draft_emails", "import_survey", "log_contact", "make_all_reports",
           "make_reports", "refresh"]


def make_all_reports(path: Path, period: str | None = None, as_of: dt.date | None = None,
                     model: Model | None = None) -> tuple[str, list[Written], list[Written]]:
    """Every agency's reports and the portfolio for `period` (None: Settings report_period,
    else the latest month with charges), from one model: (period, agency files, portfolio)."""
    model = model or build_model(Path(path), as_of or dt.date.today())
    chosen = period or default_period(model)
    agencies = make_reports(path, chosen, model=model)
    portfolio = make_reports(path, chosen, portfolio=True, model=model)
    return chosen, agencies, portfolio


def draft_emails(path: Path, period: str | None, agencies: Iterable[str] = (),
                 as_of: dt.date | None = None, attach_xlsx: bool = False,
                 out: Path | None = None, when: dt.datetime | None = None,
                 model: Model | None = None, sources: Sources | None = None,
                 rendered: dict[str, dict[str, bytes]] | None = None,
                 ) -> tuple[delivery.Batch, list[Path]]:
    """One `.eml` draft per agency head (X-Unsent, for Outlook) into `out` (default
    outbox/<period>/ beside the workbook); `rendered` reuses reports already made."""
    batch = delivery.prepare(Path(path), period, tuple(agencies), as_of or dt.date.today(),
                             model=model, sources=sources)
    when = when or dt.datetime.now().astimezone().replace(microsecond=0)
    messages = delivery.build(batch, attach_xlsx, when, rendered=rendered)
    folder = out or outbox_folder(Path(path), batch.period.label)
    return batch, delivery.write_drafts(batch, messages, folder)
