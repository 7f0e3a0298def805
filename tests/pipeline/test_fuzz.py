"""The fuzzer, for about half a minute: mutated workbooks through check and refresh.

The harness (tests/fuzzing.py) runs in a process of its own, which forks each command
from a parent that never used polars; the long campaign is benchmarks/fuzz_campaign.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import TESTS

HARNESS = TESTS / "fuzzing.py"


@pytest.mark.slow
def test_mutated_workbooks_never_end_in_an_internal_error_or_a_changed_file():
    done = subprocess.run([sys.executable, str(HARNESS), "--seed", "20261201", "--count", "40"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    tally = json.loads(done.stdout)
    assert tally["cases"] == 40 and tally["runs"] == 80
    assert tally["failures"] == {}, json.dumps(tally["failures"], indent=1)[:3000]
    assert set(tally["exit_codes"]) <= {"0", "1", "2"}
    assert tally["exit_codes"].get("0", 0) > 0 and tally["exit_codes"].get("1", 0) > 0
