"""Atomic writes: an interrupted run leaves the previous file or directory intact."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_atomic(path: Path, data: bytes) -> None:
    """Write DATA to PATH through a temporary file renamed into place. A device or pipe
    (/dev/null, /dev/stdout, a FIFO) is written to directly: renaming over it would replace
    the device with a file. A link is followed, so the file it names is replaced."""
    if path.is_symlink() or path.exists():
        if path.is_dir():
            from generator.errors import InputError

            raise InputError(path, "is a directory; expected a file to write")
        if not path.resolve().is_file():
            with open(path, "wb") as handle:
                handle.write(data)
            return
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private; the result should get the usual permissions.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_dir(staging: Path, target: Path) -> None:
    """Swap a fully written staging directory into place of `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        try:
            os.replace(staging, target)
        except BaseException:
            os.replace(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)
