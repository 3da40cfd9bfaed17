"""Temporary directories that show whether the run that made them is still alive.

A run that is interrupted removes its temporary directories itself (generator/interrupt.py). One
that is killed outright (SIGKILL, the OOM killer, a node that goes away) cannot, so the next run
removes what it left: every temporary directory evidoc makes is created by `make()`, which holds
an exclusive `flock` on the directory for as long as the process lives; the kernel drops the lock
when the process ends, however it ends. `sweep()` removes a directory only if

- its name is the prefix and the 8 characters `mkdtemp` adds, nothing else,
- it is a directory (not a symbolic link) owned by the current user,
- its lock can be taken, so no live process holds it (a live run of evidoc always does), and
- it has not been modified for STALE_AFTER seconds, which covers the instant between creating a
  directory and locking it.

Where a lock cannot be tested (no flock on directories there, e.g. some network filesystems, or
no fcntl at all) the directory is never removed: a leftover is better than deleting a live run's
files.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from generator import interrupt

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]

STALE_AFTER = 120.0  # seconds


def _lock(path: str | Path) -> int | None:
    """An open descriptor holding an exclusive lock on the directory, or None."""
    if fcntl is None:
        return None
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


@dataclass
class ScratchDir:
    """A temporary directory this process owns (and holds the lock of)."""

    path: Path
    _fd: int | None = None

    def release(self) -> None:
        """Let go of the lock, keeping the directory (it was renamed into place)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def remove(self) -> None:
        with interrupt.deferred():
            shutil.rmtree(self.path, ignore_errors=True)
            self.release()


def make(prefix: str, parent: str | Path | None = None) -> ScratchDir:
    """A new directory PARENT/PREFIXxxxxxxxx (default parent: the system's temporary
    directory), locked by this process; stale ones of earlier runs are swept first.

    Call it inside `interrupt.deferred()` and keep the result before that ends, within the
    `try:` whose `finally:` removes it, so that no signal can come between the two."""
    sweep(parent, prefix)
    path: Path | None = None
    try:
        with interrupt.deferred():
            path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
            owned = ScratchDir(path, _lock(path))
    except BaseException:
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)
        raise
    return owned


def sweep(
    parent: str | Path | None, prefix: str, *, stale_after: float = STALE_AFTER
) -> list[Path]:
    """Remove the PREFIX* directories under PARENT that runs killed outright left behind."""
    base = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    name = re.compile(re.escape(prefix) + r"[a-z0-9_]{8}")  # as tempfile.mkdtemp names them
    try:
        entries = [e for e in os.scandir(base) if name.fullmatch(e.name)]
    except OSError:
        return []
    removed = []
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or (uid is not None and st.st_uid != uid):
            continue
        if time.time() - st.st_mtime < stale_after:
            continue
        fd = _lock(entry.path)
        if fd is None:  # a live run holds it, or it cannot be told: leave it
            continue
        try:
            with interrupt.deferred():
                shutil.rmtree(entry.path, ignore_errors=True)
        finally:
            os.close(fd)
        removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def temporary(prefix: str, parent: str | Path | None = None) -> Iterator[Path]:
    """Like tempfile.TemporaryDirectory, with the lock and the sweep of `make()`, and removed
    even when a signal arrives at any point."""
    owned: ScratchDir | None = None
    try:
        with interrupt.deferred():
            owned = make(prefix, parent)
        yield owned.path
    finally:
        if owned is not None:
            owned.remove()
