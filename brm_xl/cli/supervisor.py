"""Run a command so that nothing ends it without a sentence.

The xlsx reader (calamine, in Rust) and the parquet reader are native code: a damaged
file can make them abort the process, and a file that asks for too much memory can make
the machine swap for minutes. On POSIX the command runs in a forked child with a ceiling
on its memory; the parent waits, and if the child dies of a signal it says what happened
in a sentence. Every writer writes through a temporary file and a rename, so a child that
died has changed nothing (`brm_xl.workbook.guard`).

SIGTERM and SIGHUP (a closed terminal, a shutdown) become `Stopped`, which unwinds like
Ctrl-C: temporary files are removed, the delivery journal records the message in flight.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

MEMORY_LIMIT_ENV = "BRM_XL_MEMORY_LIMIT_GB"
NO_CHILD_ENV = "BRM_XL_NO_SUPERVISOR"
_FATAL: dict[int, str] = {signal.SIGABRT: "stopped in native code (abort)", signal.SIGSEGV: "crashed (segfault)",
          signal.SIGBUS: "crashed (bus error)", signal.SIGILL: "crashed (illegal instruction)",
          signal.SIGFPE: "crashed (arithmetic fault)"}


class Stopped(BaseException):
    """The process was asked to stop (SIGTERM, SIGHUP); unwinds like KeyboardInterrupt."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


def _raise_stopped(signum: int, frame: Any) -> None:
    raise Stopped(signum)


def catch_stop_signals() -> None:
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None:
            signal.signal(signum, _raise_stopped)


def memory_limit_bytes() -> int | None:
    """Three quarters of the machine's memory, or BRM_XL_MEMORY_LIMIT_GB."""
    if os.environ.get(MEMORY_LIMIT_ENV):
        try:
            return int(float(os.environ[MEMORY_LIMIT_ENV]) * 2**30)
        except ValueError:
            return None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    return int(total * 0.75)


def supervised(run: Callable[[], int]) -> int:
    """`run()` in a child process (POSIX), its exit code returned; a child killed by a
    signal is reported on stderr as a sentence and gives exit code 1."""
    os.environ["RUST_BACKTRACE"] = "0"  # a native abort prints one line, not a backtrace
    if os.name != "posix" or os.environ.get(NO_CHILD_ENV) or not hasattr(os, "fork"):
        catch_stop_signals()
        return run()
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: do the work
        code = 3
        try:
            _die_with_parent(parent)
            _limit_memory()
            catch_stop_signals()
            code = run()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    return _wait(pid)


def _wait(pid: int) -> int:
    forwarded: dict[int, Any] = {}

    def forward(signum: int, frame: Any) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for stop in (signal.SIGTERM, signal.SIGHUP):
        forwarded[stop] = signal.signal(stop, forward)
    forwarded[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the child has it
    try:
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
    finally:
        for signum, handler in forwarded.items():
            signal.signal(signum, handler)
    if os.WIFSIGNALED(status):
        return _died(os.WTERMSIG(status))
    return os.WEXITSTATUS(status)


def _died(signum: int) -> int:
    if signum == signal.SIGKILL:
        what = ("was stopped (SIGKILL): it ran out of memory or was killed. A workbook whose "
                "sheets hold far more cells than its tables, or a usage sheet near Excel's limit, "
                "can do this; move large usage into a CSV or Parquet file (Settings usage_files)")
    else:
        what = (f"{_FATAL.get(signum, f'was stopped by {signal.Signals(signum).name}')} while "
                "reading the files; the workbook or a usage file is probably damaged or far "
                "larger than it looks. Open it in Excel, save it again and retry")
    print(f"error: brm-xl {what}. Nothing was written.", file=sys.stderr)
    return 1


def _limit_memory() -> None:
    limit = memory_limit_bytes()
    if not limit:
        return
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass


def _die_with_parent(parent: int) -> None:
    """Linux: if the parent is killed (kill -9), the child goes too, as one command would."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # it died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass
