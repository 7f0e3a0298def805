"""Inputs that live beside the workbook: usage files (CSV, Parquet) and FOCUS cloud bills.

Excel stops at 1,048,576 rows; a large state's licence lines for a year pass that. Usage
files have the Usage table's columns; they are read with polars, every value as text, and
checked by the same parsers as the sheet, each problem named `file:line`.
"""

from __future__ import annotations

import datetime as dt
import functools
import glob
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from brm_xl.contract.inputs import Sources
from brm_xl.contract.raw import ROW, RawTable
from brm_xl.contract.tables import TableSpec, header_key, header_positions, text_spec
from brm_xl.problems import Problem
from brm_xl.workbook.cells import OutColumn

# The Sources output table: the usage files and FOCUS bills a refresh was given
SOURCES = tuple(OutColumn(*c.split(":")) for c in
                "kind:text path:text bytes:int modified:datetime blake2:text".split())
SOURCES_SPEC = text_spec("Sources", [c.name for c in SOURCES])




def file_facts(path: Path) -> tuple[int, dt.datetime, str]:
    """Size, modification time and BLAKE2 hash: how a recorded source is known again (and
    a FOCUS bill delivered twice is found). Hashed once per file as it is on disk: a
    refresh asks for the facts of a large bill more than once."""
    st = Path(path).stat()
    return _facts(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _facts(path: str, size: int, mtime_ns: int) -> tuple[int, dt.datetime, str]:
    st = Path(path).stat()
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return st.st_size, dt.datetime.fromtimestamp(st.st_mtime).replace(microsecond=0), \
        digest.hexdigest()


def recorded_rows(workbook: Path, sources: Sources) -> list[tuple[object, ...]]:
    """The Sources table a refresh writes: each usage file and FOCUS bill it was given."""
    rows: list[tuple[object, ...]] = []
    folder = Path(workbook).resolve().parent
    for kind, paths in (("usage", sources.usage), ("focus", sources.focus)):
        for path in paths:
            full = Path(path).resolve()
            shown = full.relative_to(folder).as_posix() if full.is_relative_to(folder) else str(full)
            rows.append((kind, shown, *file_facts(full)))
    return rows


def recorded(workbook: Path, rows: list[dict[str, Any]],
             given: Sources) -> tuple[Sources, list[Problem]]:
    """The files a refresh recorded in the workbook's Sources table, checked: each must be
    in the workbook's folder (or given again on the command line), still there, and the
    file that was refreshed. Files given on the command line replace the recorded ones."""
    if given.names_files() or not rows:
        return given, []
    usage: list[Path] = []
    focus: list[Path] = []
    problems = []
    for i, row in enumerate(rows, 2):
        where, text = f"Sources!B{i}", str(row.get("path") or "")
        path = Path(text) if Path(text).is_absolute() else Path(workbook).parent / text
        flag = "--focus" if row.get("kind") == "focus" else "--usage"
        if not beside(workbook, path):  # never advise reading it: the row may be forged
            problems.append(Problem(where, f"{text} is outside the folder of "
                                    f"{Path(workbook).name}, so brm_xl will not read it on the "
                                    "workbook's word; keep usage files in that folder, or name "
                                    f"the files to use on the command line ({flag})",
                                    "source-outside-folder"))
            continue
        if not path.is_file():
            problems.append(Problem(where, f"the last refresh used {text}, which is no longer "
                                    f"there; put it back, or refresh with {flag} naming the "
                                    "files to use now", "source-missing"))
            continue
        size, modified, digest = file_facts(path)
        changed = str(size) != str(row.get("bytes")) or digest != row.get("blake2")
        if changed and not given.refreshing:
            problems.append(Problem(where, f"{text} has changed since the last refresh used it "
                                    f"({row.get('modified')}); refresh again so that the bills, "
                                    "the reports and the functions agree", "source-changed"))
            continue
        (focus if row.get("kind") == "focus" else usage).append(path)
    return Sources(tuple(usage), tuple(focus), given.refreshing, given.newest), problems


def beside(workbook: Path, path: Path) -> bool:
    """Whether a path a workbook names stays in the workbook's folder (or below it), links
    followed: a workbook that came by email must not make brm_xl read /etc/passwd."""
    folder = Path(workbook).resolve().parent
    return Path(path).resolve().is_relative_to(folder)


def resolve(workbook: Path, patterns: str | None, extra: tuple[Path, ...],
            setting: str, where: str = "Settings") -> tuple[list[Path], list[Problem]]:
    """Settings globs (relative to the workbook, `;`-separated, never leaving its folder)
    and command-line files (anywhere: the person typing them chose them)."""
    found: list[Path] = []
    problems = []
    for pattern in [p.strip() for p in (patterns or "").split(";") if p.strip()]:
        full = str(Path(pattern) if Path(pattern).is_absolute() else workbook.parent / pattern)
        matches = sorted(Path(m) for m in glob.glob(full) if Path(m).is_file())
        outside = [m for m in matches if not beside(workbook, m)]
        if outside or (not matches and not beside(workbook, Path(full.split("*")[0] or "."))):
            problems.append(Problem(where, f"{setting} '{pattern}' points outside the folder of "
                                    f"{workbook.name}; keep usage files in that folder or below "
                                    "it, or name them on the command line", "outside-folder"))
            continue
        if not matches:
            problems.append(Problem(where, f"{setting} '{pattern}' matches no file in the folder "
                                    f"of {workbook.name}; check the name, or remove the setting",
                                    "no-file"))
        found += matches
    for path in extra:
        if not Path(path).exists():
            problems.append(Problem(str(path), "no such file", "no-file"))
        else:
            found.append(Path(path))
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique, problems


def scan_file(path: Path, lazy: bool = True) -> pl.LazyFrame:
    """A CSV (every value text) or Parquet file, not read yet."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return pl.scan_parquet(path, low_memory=lazy)
    return pl.scan_csv(path, infer_schema=False, encoding="utf8-lossy", truncate_ragged_lines=True)


def read_text_table(path: Path, spec: TableSpec, lazy: bool = False,
                    keep: tuple[str, ...] = (),
                    rows: Callable[[pl.LazyFrame], pl.LazyFrame] | None = None) -> RawTable:
    """A CSV or Parquet file as a RawTable of text with line numbers, columns matched loosely
    (`lazy`: not read yet, for a streaming pass; `keep`: columns left in their Parquet
    type, for a caller that reads a nested value itself; `rows`: the rows to read, chosen
    from all the file's columns, their line numbers kept)."""
    name = path.name
    keep_lazy = lazy
    parquet = path.suffix.lower() in (".parquet", ".pq")
    first_line, where = (1, f"{name}:row") if parquet else (2, name)
    try:
        scan = scan_file(path, lazy)
        schema = scan.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raw = RawTable(spec, name, pl.DataFrame({ROW: pl.Series([], dtype=pl.Int64)}),
                       locate=lambda column, row: f"{name}:1")
        raw.problems.append(Problem(f"{name}:1", unreadable(path, exc), "unreadable-file"))
        return raw
    names = schema.names()
    by_key = {key: names[i] for key, i in header_positions(names).items()}
    chosen, lacking = {}, []
    for column in spec.columns:
        source = by_key.get(header_key(column.name))
        if source is None:
            if column.required:
                lacking.append(column.name)
            continue
        chosen[column.name] = (pl.col(source) if column.name in keep else
                               as_text(pl.col(source), schema[source])).alias(column.name)
    problems = [Problem(f"{name}:1", lacks_columns(spec, lacking, found=bool(chosen)),
                        "missing-column")] if lacking else []
    if rows is None:
        plan = scan.select(*chosen.values()).with_row_index(ROW, offset=first_line)
    else:
        plan = rows(scan.with_row_index(ROW, offset=first_line)).select(ROW, *chosen.values())
    plan = plan.with_columns(pl.col(ROW).cast(pl.Int64))
    frame: Any = plan if keep_lazy else plan.collect()
    raw = RawTable(spec, name, frame, locate=lambda column, row: f"{where}:{row or first_line}")
    raw.problems.extend(problems)
    return raw


def lacks_columns(spec: TableSpec, lacking: list[str], found: bool) -> str:
    """What a file's header lacks, in brm_xl's words only: a file given as usage may be any
    file (`--usage /etc/passwd`), so no line of it is echoed, nor a reader's own column names
    (`period_duplicated_0`)."""
    kind = "usage file" if spec.name == "Usage" else f"{spec.name} file"
    needed = ", ".join(c.name for c in spec.columns if c.required)
    if not found:
        return (f"this is not a {kind}: its first line does not name the columns {needed}, "
                f"as a {kind}'s header does (in any order); check that this is the file meant")
    return (f"the header lacks the column{'s' if len(lacking) > 1 else ''} "
            f"{', '.join(lacking)}; a {kind}'s first line names the columns {needed}")


def unreadable(path: Path, exc: Exception) -> str:
    """Why a usage or FOCUS file cannot be read, in a sentence of brm_xl's own (never the
    reader's message, which may quote the file)."""
    if isinstance(exc, PermissionError):
        return "cannot be read: permission denied; check that you may open this file"
    if isinstance(exc, OSError) and not path.is_file():
        return "cannot be read: it is not a file"
    if path.stat().st_size == 0:
        return "the file is empty; export it again"
    head = path.read_bytes()[:4]
    if path.suffix.lower() in (".parquet", ".pq"):
        return ("is not a Parquet file (a Parquet file starts and ends with PAR1); export it "
                "again, or name a CSV file")
    if head[:2] == b"PK":
        return "is an Excel workbook, not a CSV file; save it as CSV (File > Save As > CSV UTF-8)"
    return ("cannot be read as CSV (comma-separated text whose first line names the "
            "columns); export it again as CSV UTF-8")


def as_text(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Parquet keeps types; the parsers read text, so dates and numbers become text."""
    if dtype == pl.String:
        return pl.when(column.str.strip_chars() == "").then(None).otherwise(column)
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return column.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Struct):  # a nested value (FOCUS Tags) as JSON text
        return column.struct.json_encode()
    if isinstance(dtype, pl.Map):  # a Parquet map<string,string> (AWS Tags)
        return column.map.entries().pipe(lambda entries: as_text(
            entries, pl.List(pl.Struct({"key": pl.String, "value": pl.String}))))
    if isinstance(dtype, pl.List | pl.Array):
        # a list of key/value structs (GCP labels), or of plain values
        inner = dtype.inner
        quoted = pl.concat_str([
            pl.lit('"'), pl.element().cast(pl.String).str.replace_all("\\", "\\\\", literal=True)
            .str.replace_all('"', '\\"', literal=True), pl.lit('"')])
        item = pl.element().struct.json_encode() if isinstance(inner, pl.Struct) else quoted
        return pl.concat_str([pl.lit("["), column.list.eval(item).list.join(","), pl.lit("]")])
    return column.cast(pl.String)
