"""brm_xl: chargeback and business relationship management in Excel workbooks.

`brm_xl.load(path, as_of=...)` gives analysts the computed workbook (see `brm_xl.app.api`).
"""

from typing import Any

from brm_xl.version import __version__

__all__ = ["__version__", "load"]


def __getattr__(name: str) -> Any:  # `load` imports pandas and polars only when asked for
    if name == "load":
        from brm_xl.app.api import load

        return load
    raise AttributeError(name)
