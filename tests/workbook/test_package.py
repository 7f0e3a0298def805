"""The package's guards: zip checks against bombs and damage, atomic writes, the lock."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from brm_xl.problems import WorkbookError
from brm_xl.workbook import guard, zipraw


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts.items():
            z.writestr(name, content)
    return out.getvalue()


def test_zip_checks_refuse_bombs_and_find_damaged_parts():
    good = _zip({"a.xml": b"<a/>" * 1000, "b.xml": b"<b/>"})
    entries = zipraw.read_entries(memoryview(good))
    assert [e.name for e in entries] == ["a.xml", "b.xml"]
    assert zipraw.damaged_parts(memoryview(good), entries) == []
    bomb = _zip({"sheet.xml": b" " * (200 << 20)})
    with pytest.raises(WorkbookError, match="zip bomb"):
        zipraw.read_entries(memoryview(bomb))
    bad = bytearray(good)
    e = entries[0]
    bad[e.data_offset + e.compressed // 2] ^= 0xFF
    assert zipraw.damaged_parts(memoryview(bytes(bad)), entries) == ["a.xml"]
    with pytest.raises(WorkbookError, match="not a zip package"):
        zipraw.read_entries(memoryview(b"PK\x03\x04 junk"))


def test_write_atomic_keeps_mode_and_refuses_a_changed_file(tmp_path):
    path = tmp_path / "w.xlsx"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)
    with guard.locked(path) as held:
        guard.write_bytes_atomic(path, b"new", held)
    assert path.read_bytes() == b"new" and os.stat(path).st_mode & 0o777 == 0o600
    with guard.locked(path) as held:
        path.write_bytes(b"someone else")
        with pytest.raises(WorkbookError, match="changed by another program"):
            guard.write_bytes_atomic(path, b"mine", held)
    assert path.read_bytes() == b"someone else"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.xlsx"]


def test_a_folder_that_cannot_be_written_is_a_sentence(tmp_path, monkeypatch):
    path = tmp_path / "w.xlsx"
    path.write_bytes(b"old")
    real_open = os.open

    def refuse(name, *args, **kwargs):
        if str(name).endswith(".brm-xl.lock"):
            raise PermissionError(13, "Permission denied")
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(guard.os, "open", refuse)
    with pytest.raises(WorkbookError, match="cannot write in the folder of w.xlsx"):
        with guard.locked(path):
            pass




