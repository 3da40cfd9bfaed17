"""Facts about the instance's own Git work tree: its version and the time of its last commit."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path


def git_output(root: Path, *args: str) -> str | None:
    """Output of a git command in ROOT, only when ROOT is the top of a work tree."""
    try:
        top = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != root.resolve():
            return None
        out = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def last_commit_time(root: Path) -> dt.datetime | None:
    committed = git_output(root, "log", "-1", "--format=%ct")
    if committed and committed.isdigit():
        return dt.datetime.fromtimestamp(int(committed), dt.UTC)
    return None
