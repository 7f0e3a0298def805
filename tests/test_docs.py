"""The README documents every command and option (a test that fails when one is added quietly)."""

from __future__ import annotations

from pathlib import Path

import click

from brm_xl.cli import cli

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_command_and_option_is_in_the_readme():
    missing = []
    for name, command in cli.commands.items():
        if f"brm-xl {name}" not in README:
            missing.append(f"brm-xl {name}")
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in param.opts:
                    if opt.startswith("--") and opt not in README:
                        missing.append(f"{name} {opt}")
    assert missing == []


def test_readme_quick_start_has_the_two_commands():
    assert "pip install -e . && brm-xl demo" in README
    assert "pip install -e '.[test]' && python -m pytest" in README
    assert "pip install -q -e '.[test]' && python -m pytest" in (
        Path(__file__).parent.parent / ".ci" / "run").read_text()
