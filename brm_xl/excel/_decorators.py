"""xlwings' UDF decorators, which record the metadata Excel needs.

On Windows with pywin32 they are `xlwings.udfs.xlfunc/xlarg/xlret`. Elsewhere xlwings
offers only pass-through stand-ins; the tests and the template build install stand-ins
for the pywin32 modules first (`brm_xl.excel.vba_gen.win32_stand_ins`) so the real
decorators run and the metadata can be checked on Linux.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

arg: Callable[..., Any]
func: Callable[..., Any]
ret: Callable[..., Any]
try:
    from xlwings.udfs import xlarg as arg
    from xlwings.udfs import xlfunc as func
    from xlwings.udfs import xlret as ret
except ImportError:  # no pywin32: plain functions, still callable from Python
    from xlwings import arg, func, ret

__all__ = ["arg", "func", "ret"]
