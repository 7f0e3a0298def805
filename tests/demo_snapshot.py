"""What `brm-xl demo` produces, as normalised text: every sheet of the workbook, every
report's text (HTML, PDF, XLSX), every email and the journal.

Timestamps, digests, the user's name and the folder are replaced by placeholders, so two
runs of the same code give the same text and a change of behaviour shows as a difference.
`tests/golden/demo_snapshot.json` keeps one digest per item; to see what differs between
two commits, dump both and diff them:

    python -m tests.demo_snapshot FOLDER > dump.txt   (FOLDER: where `brm-xl demo` wrote)
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import getpass
import hashlib
import html.parser
import re
import shutil
import subprocess
import sys
import zlib
from email import policy
from pathlib import Path

_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?")
_DIGEST = re.compile(r"(?<![0-9a-f])[0-9a-f]{12,64}(?![0-9a-f])")
_SEALED = re.compile(r"eJ[A-Za-z0-9+/]{40,}={0,2}")  # a zlib payload in base64 (BrmSeals)
_MIME = re.compile(r"=+_?[0-9]{10,}_?=*|<[^<>@\s]+@[^<>\s]+>")  # MIME boundaries, Message-IDs


def _unsealed(match: re.Match[str]) -> str:
    try:
        return zlib.decompress(base64.b64decode(match.group(0))).decode()
    except (ValueError, zlib.error, UnicodeDecodeError):
        return match.group(0)


def _normal(text: str, folder: Path) -> str:
    text = _SEALED.sub(_unsealed, text)
    text = text.replace(str(folder.resolve()), "<folder>").replace(str(folder), "<folder>")
    text = _STAMP.sub("<time>", text)
    text = _DIGEST.sub("<digest>", text)
    user = getpass.getuser()
    if len(user) > 2:
        text = re.sub(rf"\b{re.escape(user)}\b", "<user>", text)
    return text


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return "<time>"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _workbook(path: Path) -> dict[str, str]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    sheets = {}
    for sheet in book.worksheets:
        lines = ["\t".join(_cell(v) for v in row) for row in sheet.iter_rows(values_only=True)]
        sheets[f"{path.name}!{sheet.title}"] = "\n".join(lines)
    book.close()
    return sheets


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        for name, value in attrs:  # what a screen reader says is text too
            if name in ("alt", "aria-label", "title") and value:
                self.parts.append(f"[{value}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def _html(text: str) -> str:
    parser = _Text()
    parser.feed(text)
    return "\n".join(parser.parts)


def _email(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    lines = [f"{k}: {v}" for k, v in message.items() if k.lower() not in ("date", "message-id")]
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "text/plain":
            lines.append(part.get_content())
        elif kind == "text/html":
            lines.append(_html(part.get_content()))
        elif not part.is_multipart():
            payload = part.get_payload(decode=True) or b""
            lines.append(f"{kind} {part.get_filename()} {len(payload) > 0}")
    return _MIME.sub("<mime>", "\n".join(lines))


def snapshot(folder: Path) -> dict[str, str]:
    """Every item the demo wrote into FOLDER, by its path, as normalised text."""
    items: dict[str, str] = {}
    pdftotext = shutil.which("pdftotext")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        name = _DIGEST.sub("<digest>", name)
        if path.suffix in (".xlsx", ".xlsm"):
            for sheet, text in _workbook(path).items():
                items[_DIGEST.sub("<digest>", str(Path(name).parent / sheet))] = text
        elif path.suffix == ".html":
            items[name] = _html(path.read_text(encoding="utf-8"))
        elif path.suffix == ".eml":
            items[name] = _email(path)
        elif path.suffix == ".pdf":
            if pdftotext:
                text = subprocess.run([pdftotext, str(path), "-"], capture_output=True,
                                      text=True, check=True).stdout
                items[name] = "\n".join(" ".join(line.split()) for line in text.splitlines())
        elif path.suffix in (".csv", ".txt", ".json"):
            items[name] = path.read_text(encoding="utf-8")
    return {name: _normal(text, folder) for name, text in items.items()}


def digests(items: dict[str, str]) -> dict[str, str]:
    return {name: hashlib.sha256(text.encode()).hexdigest()[:16] for name, text in items.items()}


def main() -> None:
    folder = Path(sys.argv[1])
    for name, text in snapshot(folder).items():
        print(f"==== {name}")
        print(text)


if __name__ == "__main__":
    main()
