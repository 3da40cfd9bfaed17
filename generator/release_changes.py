"""Changes since the previous release, for the pack and the site: the instance as it is built now
compared (generator/diff) with the newest Git tag before it, or with a revision the user names.

A release is a Git tag of the instance's repository. When HEAD is itself tagged (a release being
built), the previous release is the newest tag before HEAD; otherwise it is the newest tag HEAD
contains. An automatically chosen release that cannot be read is said, not fatal; a revision the
user named that cannot be read is an input error.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from generator.diff import Change, InstanceDiff, Side, SideInfo, compare, opened, resolve_ref
from generator.diff.source import load_side
from generator.errors import InputError, InputErrors
from generator.library import Library
from generator.render.diff_text import control_lines, practice_lines, summary
from generator.report import Report


@dataclass(frozen=True)
class ReleaseChanges:
    since: str | None  # the tag or revision compared with; None when there is none
    commit: str | None = None
    snapshot: str | None = None  # the snapshot the earlier release was judged on
    lines: list[str] = field(default_factory=list)  # one change per line, in print order
    summary: str = ""
    note: str = ""  # why nothing was compared

    @property
    def compared(self) -> bool:
        return self.since is not None and not self.note


def _git(root: Path, *args: str) -> str | None:
    """Output of git in ROOT, which may be a folder inside the repository (a monorepo)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def previous_tag(root: Path) -> str | None:
    """The newest tag before the release being built (see the module docstring)."""
    if _git(root, "rev-parse", "--is-inside-work-tree") != "true":
        return None
    tagged = _git(root, "tag", "--points-at", "HEAD")
    base = "HEAD^" if tagged else "HEAD"
    return _git(root, "describe", "--tags", "--abbrev=0", base)


def _lines(diff: InstanceDiff) -> list[str]:
    out = []
    for fw in diff.frameworks:
        if fw.change is Change.added:
            out.append(f"{fw.id}: added to the scope ({fw.controls_after} controls)")
        elif fw.change is Change.removed:
            out.append(f"{fw.id}: removed from the scope ({fw.controls_before} controls)")
        else:
            for c in fw.controls:
                out += list(control_lines(c))
    for p in diff.practices:
        out += [f"practice {line.lstrip('+- ')}" for line in practice_lines(p)]
    return out


def release_changes(
    root: Path, library: Library, report: Report, since: str | None = None
) -> ReleaseChanges:
    """What changed since SINCE (a revision), or since the previous release when None."""
    chosen = since if since is not None else previous_tag(root)
    if chosen is None:
        return ReleaseChanges(
            None,
            note=(
                "no earlier release to compare with: the instance's repository has no Git tag "
                "before this build (evidoc pdf --changes-since REV compares with any revision)"
            ),
        )
    try:
        ref = resolve_ref(chosen, root, name="--changes-since")
        with opened(ref) as path:
            old = load_side(ref, path)
    except (InputError, InputErrors) as exc:
        if since is not None:
            raise
        return ReleaseChanges(
            chosen, note=f"the previous release {chosen} could not be read: {exc}"
        )
    here = SideInfo(
        ref=resolve_ref(str(root), root, name="NEW"), snapshot=report.snapshot, as_of=report.as_of
    )
    diff = compare(old, Side(info=here, library=library, report=report))
    return ReleaseChanges(
        chosen,
        commit=ref.commit[:12] if ref.commit else None,
        snapshot=old.info.snapshot.id if old.info.snapshot else None,
        lines=_lines(diff),
        summary=summary(diff),
    )
