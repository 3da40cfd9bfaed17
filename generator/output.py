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


def _direct(path: Path) -> bool:
    """Whether PATH must be written to in place: a device, pipe or socket, or a name under
    /dev or /proc (/dev/stdout is a link to wherever standard output goes, which may be a
    regular file that a rename would replace, losing what was written to it before)."""
    absolute = Path(os.path.abspath(path))
    if absolute.parts[1:2] in (("dev",), ("proc",)):
        return True
    return path.exists() and not path.resolve().is_file() and not path.is_dir()


def write_atomic(path: Path, data: bytes) -> None:
    """Write DATA to PATH through a temporary file renamed into place. Devices and pipes are
    written to directly (see `_direct`). A link is followed, so the file it names is replaced
    (or created, for a link to a file that does not exist yet)."""
    if path.is_dir():
        from generator.errors import InputError

        raise InputError(path, "is a directory; expected a file to write")
    if _direct(path):
        # Appending: what the process already wrote to the same stream stays before it.
        with open(path, "ab") as out:
            out.write(data)
        return
    if path.is_symlink():
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
