"""The demo, whole: every sheet, report, email and the journal it writes stays as it was.

A refactoring must leave all of it identical (timestamps, digests and names of this
machine normalised by `tests.demo_snapshot`); a deliberate change of behaviour rewrites
the digests with BRM_UPDATE_GOLDEN=1, after looking at what changed.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.demo_snapshot import digests, snapshot
from tests.helpers import TESTS, cli_in_process

GOLDEN = TESTS / "golden" / "demo_snapshot.json"


@pytest.mark.slow
def test_the_demo_writes_exactly_what_it_wrote_before(tmp_path):
    done = cli_in_process("demo", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "stdout.txt").write_text(done.stdout, encoding="utf-8")
    found = digests(snapshot(tmp_path))
    if os.environ.get("BRM_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    if not shutil.which("pdftotext"):  # PDF text needs poppler-utils (CI installs it)
        expected = {k: v for k, v in expected.items() if not k.endswith(".pdf")}
    changed = sorted(k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k))
    assert not changed, (
        f"{len(changed)} of {len(expected)} items differ: {', '.join(changed[:12])}; "
        "dump both versions with `python -m tests.demo_snapshot FOLDER` and diff them")
    assert len(found) > 100  # the workbook's sheets, 25 agencies' reports and emails, the journal
