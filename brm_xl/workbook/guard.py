"""One writer at a time, nothing half-written, and the file stays the file it was.

Every command that changes a workbook holds `locked(path)` from before it reads until
after it writes: a second brm-xl command on the same workbook waits for the first, then
reads what the first wrote, so no row is lost. Excel's and LibreOffice's own lock files
are respected. Before the new file replaces the old one, the old one is checked to be
exactly what was read (size, time, hash); if anything else changed it meanwhile, nothing
is written.

`write_atomic` writes beside the target and renames over it, keeping mode, owner and
group, writing through a symlink to the real file, and flushing the folder after the
rename. A workbook with hard links (or whose owner cannot be kept) is written in place
from a complete, flushed copy; a run killed in the middle of that finishes it on the
next run. Temporary files of a killed run are removed by the next one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from brm_xl.problems import WorkbookError

LOCK_WAIT_SECONDS = 120.0
_TMP = ".tmp"
_PENDING = ".brm-pending"


def lock_file(path: Path) -> Path:
    """Where brm_xl's own lock for a workbook lives (beside it)."""
    return path.with_name(f".~{path.name}.brm-xl.lock")


def office_lock_files(path: Path) -> list[Path]:
    """Excel's (`~$name`) and LibreOffice's (`.~lock.name#`) lock files for a workbook."""
    return [path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")]


def pending_file(path: Path) -> Path:
    return path.with_name(f".~{path.name}{_PENDING}")


@dataclass(frozen=True)
class Fingerprint:
    """What a file was when it was read: its size and content hash (a save that changes
    nothing but the time is not a change)."""

    size: int
    digest: str

    @classmethod
    def of(cls, path: Path) -> Fingerprint:
        content = Path(path).read_bytes()
        return cls(len(content), hashlib.blake2b(content, digest_size=20).hexdigest())


@dataclass(frozen=True)
class Held:
    """A workbook held for a read-modify-write: its real path and what it was when taken."""

    path: Path
    fingerprint: Fingerprint

    def check_unchanged(self) -> None:
        """Stop (writing nothing) if the file is no longer the one that was read."""
        try:
            now = Fingerprint.of(self.path)
        except OSError as exc:
            raise WorkbookError(f"{self.path.name} was moved or deleted while brm_xl was "
                                f"working ({exc.strerror}); nothing was written") from exc
        if now != self.fingerprint:
            raise WorkbookError(f"{self.path.name} was changed by another program while brm_xl "
                                "was working; nothing was written. Run the command again")


def real_path(path: Path) -> Path:
    """The file a symlink points to (writing replaces the real file, not the link)."""
    return Path(os.path.realpath(path))


def check_writable(path: Path) -> None:
    """Refuse a read-only workbook, or one open in Excel or LibreOffice, with a sentence."""
    for lock in office_lock_files(path):
        if lock.exists():
            who = _office_lock_owner(lock)
            raise WorkbookError(
                f"{path.name} is open in {'Excel' if lock.name.startswith('~$') else 'LibreOffice'}"
                f"{f' by {who}' if who else ''} (lock file {lock.name}); close it there and run "
                f"again. If no one has it open, delete {lock.name}")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if not st.st_mode & stat.S_IWUSR:
        raise WorkbookError(f"{path.name} is read-only; brm_xl will not replace it. Make it "
                            "writable (Properties > untick Read-only, or chmod u+w) and run again")


def _office_lock_owner(lock: Path) -> str:
    """LibreOffice writes `,user,host,date,...`; Excel's owner file holds the user name."""
    try:
        raw = lock.read_bytes()[:300]
    except OSError:
        return ""
    if lock.name.startswith(".~lock."):
        fields = raw.decode("utf-8", "replace").split(",")
        return fields[1].strip() if len(fields) > 1 else ""
    name = raw[1:1 + raw[0]] if raw else b""
    text = name.decode("latin-1", "replace")
    return "".join(ch for ch in text if ch.isprintable()).strip()


@contextlib.contextmanager
def locked(path: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[Held]:
    """Hold the workbook for a read-modify-write; see the module docstring."""
    real = real_path(Path(path))
    if not real.exists():
        raise WorkbookError(f"{path} does not exist")
    check_writable(real)
    with _exclusive(lock_file(real), wait, real.name):
        finish_pending(real)
        remove_stale_temporaries(real, all_of_them=True)
        check_writable(real)
        yield Held(real, Fingerprint.of(real))


@contextlib.contextmanager
def _exclusive(lock: Path, wait: float, name: str) -> Iterator[None]:
    deadline = time.monotonic() + wait
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise WorkbookError(f"cannot write in the folder of {name} ({exc.strerror}); brm_xl "
                                "needs to put its lock and temporary files beside the workbook: "
                                "copy it to a folder you can write to") from None
        if _try_lock(fd) and _same_file(fd, lock):
            break
        os.close(fd)
        if time.monotonic() > deadline:
            raise WorkbookError(f"another brm-xl command has been working on {name} for "
                                f"{wait:.0f} s; wait for it to finish and run again")
        time.sleep(0.05)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        _unlock(fd)
        os.close(fd)


def _same_file(fd: int, lock: Path) -> bool:
    """The lock file we hold is still the one at that name (a finishing holder unlinks it)."""
    try:
        return os.fstat(fd).st_ino == os.stat(lock).st_ino
    except OSError:
        return False


if sys.platform == "win32":  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def write_atomic(path: Path, write: Callable[[IO[bytes]], object],
                 held: Held | None = None) -> None:
    """Write through a temporary file beside the real target, then put it in place.

    With `held`, the target must still be the file that was read, or nothing is written.
    """
    target = real_path(Path(path))
    folder = target.parent
    if not folder.is_dir():
        raise WorkbookError(f"cannot write {target.name}: the folder {folder} does not exist")
    remove_stale_temporaries(target)
    tmp = folder / f".~{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{_TMP}"
    try:
        try:
            with open(tmp, "xb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
            in_place = _match_identity(tmp, target)
            if held is not None:
                held.check_unchanged()
            if in_place:
                _write_in_place(tmp, target)
            else:
                os.replace(tmp, target)
            _sync_folder(folder)
        except PermissionError as exc:
            raise WorkbookError(f"{target.name} cannot be replaced ({exc.strerror}); "
                                "close it in Excel and run again") from exc
        except OSError as exc:  # disk full, folder gone: the original is untouched
            raise WorkbookError(f"{target.name} was not changed: writing failed ({exc})") from exc
    finally:
        _unlink(tmp)


def write_bytes_atomic(path: Path, content: bytes, held: Held | None = None) -> None:
    """`write_atomic` of content already in memory (a report, a draft, a template copy)."""
    write_atomic(path, lambda out: out.write(content), held)


def _match_identity(tmp: Path, target: Path) -> bool:
    """Give the new file the old one's mode, owner and group. True when a rename cannot
    keep what the file is (hard links, an owner we cannot give), so it is written in place."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        os.chmod(tmp, 0o666 & ~_umask())
        return False
    os.chmod(tmp, stat.S_IMODE(st.st_mode))
    if st.st_nlink > 1:
        return True
    if hasattr(os, "chown"):
        mine = os.stat(tmp)
        if (mine.st_uid, mine.st_gid) != (st.st_uid, st.st_gid):
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except PermissionError:
                return True
    return False


def _write_in_place(tmp: Path, target: Path) -> None:
    """Copy the complete new file over the old one's content, keeping its inode. The copy
    is first renamed to a `pending` name, so a run killed midway is finished next time."""
    pending = pending_file(target)
    os.replace(tmp, pending)
    _sync_folder(target.parent)
    _copy_over(pending, target)
    os.unlink(pending)


def finish_pending(target: Path) -> None:
    """Complete an in-place write that a killed run left half done."""
    pending = pending_file(target)
    if pending.exists():
        _copy_over(pending, target)
        os.unlink(pending)
        _sync_folder(target.parent)


def _copy_over(source: Path, target: Path) -> None:
    with open(source, "rb") as src, open(target, "r+b") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
        dst.truncate()
        dst.flush()
        os.fsync(dst.fileno())


def remove_stale_temporaries(target: Path, all_of_them: bool = False) -> None:
    """Remove temporary files that a killed run left beside `target`: those of processes
    no longer running, or every one while the workbook's lock is held."""
    prefix = f".~{target.name}."
    legacy = f".~{target.stem}."  # before 0.2 temporaries were named from the stem
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            name = entry.name
            if not name.endswith(_TMP) or not (name.startswith(prefix) or
                                               (all_of_them and name.startswith(legacy))):
                continue
            pid = name[len(prefix):].split(".", 1)[0] if name.startswith(prefix) else ""
            if all_of_them or not pid.isdigit() or not _alive(int(pid)):
                _unlink(Path(entry.path))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _sync_folder(folder: Path) -> None:
    """Flush the folder's entry for the renamed file (power loss after rename)."""
    if os.name == "nt":  # pragma: no cover - NTFS journals the rename
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
