"""What changed since the previous snapshot: control statuses and evidence items."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator.library import Library
from generator.report import Report, Status, build_report
from generator.results import SnapshotInfo
from generator.snapshot.manifest import MANIFEST
from generator.snapshot.store import SNAPSHOT_NAME, SNAPSHOTS, Snapshot, load_snapshot


@dataclass(frozen=True)
class StatusChange:
    framework: str
    control: str
    title: str
    before: Status
    after: Status


@dataclass
class Changes:
    previous: SnapshotInfo
    statuses: list[StatusChange] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def previous_snapshot(root: Path, current: Snapshot) -> Path | None:
    """The newest snapshot of the instance older than the current one."""
    base = root / SNAPSHOTS
    if not base.is_dir():
        return None
    # Only directories named as collect names them: a copied archive is not a snapshot.
    older = sorted(
        p
        for p in base.iterdir()
        if p.is_dir()
        and SNAPSHOT_NAME.match(p.name)
        and (p / MANIFEST).is_file()
        and p.name < current.manifest.id
    )
    return older[-1] if older else None


def compute_changes(
    library: Library, report: Report, current: Snapshot, root: Path
) -> Changes | None:
    from generator.pipeline import evaluate

    path = previous_snapshot(root, current)
    if path is None:
        return None
    previous = load_snapshot(path)
    before = build_report(
        library, evaluate(library, previous, previous.created_at), previous.created_at.date()
    )
    old = {c.ref: c.status for fw in before.frameworks for c in fw.controls}
    m = previous.manifest
    changes = Changes(
        SnapshotInfo(id=m.id, digest=m.digest, collected_at=m.created_at, demo=m.demo)
    )
    for fw in report.frameworks:
        for c in fw.controls:
            was = old.get(c.ref)
            if was is not None and was is not c.status:
                changes.statuses.append(StatusChange(fw.id, c.id, c.title, was, c.status))
    then = {i.id: i.sha256 for i in m.items}
    now = {i.id: i.sha256 for i in current.manifest.items}
    changes.added = sorted(now.keys() - then.keys())
    changes.removed = sorted(then.keys() - now.keys())
    changes.changed = sorted(k for k in now.keys() & then.keys() if now[k] != then[k])
    return changes
