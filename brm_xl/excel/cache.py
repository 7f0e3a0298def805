"""One computed model per workbook file, kept until the file changes or a refresh runs.

Worksheet functions are called cell by cell; reading and computing the workbook once and
answering every later call from memory is what makes them cheap. The key is the file's
path, size and modification time: saving the workbook (or a refresh, which saves it)
makes the next call read it again.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path

from brm_xl.excel.queries import Index
from brm_xl.pipeline.model import build_model

_LOCK = threading.Lock()
_CACHE: dict[str, tuple[tuple[int, int, dt.date], Index]] = {}


def index_for(path: str | Path, today: dt.date | None = None) -> Index:
    """The workbook's index; read and computed again only when the file has changed."""
    name = os.fspath(path)
    stat = os.stat(name)
    key = (stat.st_mtime_ns, stat.st_size, today or dt.date.today())
    cached = _CACHE.get(name)
    if cached is not None and cached[0] == key:
        return cached[1]
    with _LOCK:
        cached = _CACHE.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        # lazy: satisfaction and engagement are worked out when a function first asks
        index = Index.build(build_model(Path(name), key[2], (), None, _quiet, True))
        _CACHE[name] = (key, index)
        return index


def _quiet(stage: str) -> None:
    """No progress to show: a worksheet function answers in the cell."""


def forget(path: str | Path | None = None) -> None:
    """Drop the cached model of `path` (or of every workbook): after a refresh."""
    if path is None:
        _CACHE.clear()
    else:
        _CACHE.pop(os.fspath(path), None)
