"""The package as shipped and as designed: every folder is in the wheel and on a floor."""

from __future__ import annotations

import tomllib

from tests.helpers import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FOLDERS = sorted("brm_xl." + p.parent.name for p in (ROOT / "brm_xl").glob("*/__init__.py"))
MODULES = sorted("brm_xl." + p.stem for p in (ROOT / "brm_xl").glob("*.py")
                 if p.stem not in ("__init__", "__main__"))


def test_every_folder_of_the_package_ships_in_the_wheel():
    packages = PYPROJECT["tool"]["setuptools"]["packages"]
    assert [f for f in FOLDERS if f not in packages] == []
    assert {"brm_xl", "brm_xl_report_templates", "brm_xl_workbooks"} <= set(packages)


def test_every_folder_and_root_module_stands_on_a_floor():
    """A new folder or module at the root is placed in the layers contract, not left out
    of it (where it could import anything)."""
    layers = next(c["layers"] for c in PYPROJECT["tool"]["importlinter"]["contracts"]
                  if c["type"] == "layers")
    placed = {name.strip() for layer in layers for name in layer.split("|")}
    assert [m for m in FOLDERS + MODULES if m not in placed] == []
