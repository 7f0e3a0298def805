"""The typed read of number and month columns gives exactly what the text read gives.

`WorkbookReader.read(spec, typed=True)` reads a column of numbers as floats and a column
of Excel dates as datetimes; `validate` must turn them into the same typed values and the
same problems, at the same cells, as the text of those cells. Each workbook here is loaded
both ways and compared.
"""

from __future__ import annotations

import datetime as dt
import random
import struct
from pathlib import Path
from typing import Any

import fastexcel
import openpyxl
import pytest

from brm_xl.contract import kinds
from brm_xl.pipeline.read import load_inputs
from brm_xl.workbook import reader as R

NOISE = [0.1 + 0.2, 9340639.699999999, 1234567.123456789, 2**23 + 0.5, 1 / 1024, 3 / 1024,
         5e-324, 1e-7, 1e-10, 123456789012.5, 1e12, 1e15, 1.5e300, 2.0**53, 8388607.999999999]


def _book(path: Path, usage: list[tuple[Any, ...]], rates: list[Any] | None = None,
          users: list[Any] | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Agencies"
    ws.append(["agency_id", "agency_name", "head_name", "head_email", "brm_manager",
               "brm_email", "contact_cadence_days"])
    for a in ("DOT", "DOR"):
        ws.append([a, f"Agency {a}", "Head", f"head@{a.lower()}.example", "Pat",
                   "pat@cio.example", 30])
    ws = wb.create_sheet("RateCard")
    ws.append(["service_id", "service_name", "tower", "unit", "rate", "effective_from",
               "effective_to"])
    for i, rate in enumerate(rates or [4.0]):
        ws.append([f"S{i}", f"Service {i}", "End User", "unit-month", rate,
                   dt.datetime(2026, 1, 1), None])
        ws.cell(ws.max_row, 6).number_format = "yyyy-mm"
    ws = wb.create_sheet("Usage")
    ws.append(["period", "agency_id", "service_id", "quantity"])
    for row in usage:
        ws.append(list(row))
        if isinstance(row[0], dt.datetime):
            ws.cell(ws.max_row, 1).number_format = "yyyy-mm"
    ws = wb.create_sheet("Headcount")
    ws.append(["period", "agency_id", "users"])
    for i, count in enumerate(users or [100, 40]):
        ws.append([dt.datetime(2026, 9, 1), ("DOT", "DOR")[i % 2], count])
        ws.cell(ws.max_row, 1).number_format = "yyyy-mm"
    wb.save(path)
    return path


def _load(path: Path, as_typed: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[str]]:
    original = R.WorkbookReader.read

    def read(self: R.WorkbookReader, spec: Any, typed: bool = False) -> Any:
        return original(self, spec, typed and as_typed)

    with monkeypatch.context() as patch:
        patch.setattr(R.WorkbookReader, "read", read)
        inputs, problems = load_inputs(path)
    return inputs, [str(p) for p in problems]


def _same(path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    typed, typed_problems = _load(path, True, monkeypatch)
    text, text_problems = _load(path, False, monkeypatch)
    assert typed_problems == text_problems
    for name, table in typed.tables.items():
        a, b = table.frame, text.tables[name].frame
        assert a.schema == b.schema, name
        assert a.sort(a.columns).equals(b.sort(b.columns)), name
    return {name: t.raw.frame.schema for name, t in typed.tables.items()}


def test_float_text_is_fastexcels(tmp_path: Path) -> None:
    rng = random.Random(3)
    values = [*NOISE, -0.0, 0.0, *[k / 1024 for k in range(1, 80, 2)]]
    for _ in range(1500):
        values += [rng.uniform(-1, 1) * 2.0 ** rng.randint(-40, 60),
                   round(rng.uniform(0, 1000), rng.randint(0, 6)),
                   struct.unpack("d", struct.pack("Q", rng.getrandbits(63)))[0]]
    values = [v for v in values if v == v and abs(v) != float("inf")]
    path = tmp_path / "floats.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws.append(["x"])
    for v in values:
        ws.append([v])
    wb.save(path)
    reader = fastexcel.read_excel(str(path))
    text = reader.load_sheet("S", dtypes="string").to_arrow().column(0).to_pylist()
    floats = reader.load_sheet("S", dtypes="float").to_arrow().column(0).to_pylist()
    assert [kinds.float_text(x) for x in floats] == text


def test_clean_columns_read_typed_and_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sep = dt.datetime(2026, 9, 1)
    usage = [(sep, "DOT", "S0", q) for q in
             [1, 2.5, 0, -0.0, -5, 0.125, 400, *NOISE]] + [(dt.datetime(2026, 9, 15), "DOR", "S1", 3)]
    rates = [4.0, 0.00005, 0, -0.0, 3.14159, 1e13, 0.1 + 0.2, 12345678.12345, 2.5]
    users = [100, 2.5, -3, 0, -0.0, 3.0000000001, 1e16, 40]
    schemas = _same(_book(tmp_path / "a.xlsx", usage, rates, users), monkeypatch)
    assert str(schemas["Usage"]["quantity"]) == "Float64"  # the typed read was taken
    assert str(schemas["RateCard"]["rate"]) == "Float64"
    assert str(schemas["Headcount"]["users"]) == "Float64"
    assert "Datetime" in str(schemas["Usage"]["period"])


@pytest.mark.parametrize("cell", [True, "12", " 7 ", "NA", "nan", "", "abc", "2026-09",
                                  dt.datetime(2026, 9, 1), "=1/0", "=FOO()", "1e5"])
def test_a_stray_cell_reads_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    cell: Any) -> None:
    sep = dt.datetime(2026, 9, 1)
    usage = [(sep, "DOT", "S0", 4), (sep, "DOR", "S0", cell), (sep, "DOT", "S0", 1.5)]
    rates = [4.0, cell]
    users = [100, cell]
    _same(_book(tmp_path / "b.xlsx", usage, rates, users), monkeypatch)
    usage = [(sep, "DOT", "S0", 4), (cell, "DOR", "S0", 2)]
    _same(_book(tmp_path / "c.xlsx", usage), monkeypatch)


def test_dates_out_of_range_and_numbers_in_month_columns(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    usage = [(dt.datetime(2026, 9, 1), "DOT", "S0", 1), (dt.datetime(3100, 1, 1), "DOR", "S0", 2)]
    _same(_book(tmp_path / "d.xlsx", usage), monkeypatch)
    usage = [(46266, "DOT", "S0", 1), (46266.5, "DOR", "S0", 2)]
    _same(_book(tmp_path / "e.xlsx", usage), monkeypatch)
