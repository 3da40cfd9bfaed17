"""Writing and reading snapshots. A snapshot is written to a temporary directory and renamed
into place, so an interrupted collect leaves nothing partial."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from generator import interrupt, scratch
from generator.errors import InputError
from generator.snapshot.canonical import canonical_json, sha256_hex
from generator.snapshot.manifest import (
    MANIFEST,
    SIGNATURE,
    CollectorIdentity,
    ItemStatus,
    Manifest,
    ManifestItem,
)

SNAPSHOTS = Path("evidence") / "snapshots"
STAGING_PREFIX = ".collect-"  # a snapshot being written, in the snapshots directory
SNAPSHOT_NAME = re.compile(r"^\d{8}T\d{6}Z$")


def snapshot_id(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def rfc3339(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _safe_part(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) or "_"


@dataclass
class SnapshotWriter:
    """Collect items into a staging directory; `commit` seals the manifest and renames.

    The staging directory is locked while this process lives, and those left by collects that
    were killed outright are removed when a writer is opened (generator/scratch.py). Once evidoc
    is interrupted, or the writer aborted, `add` raises: collector threads stop at their next
    item and nothing is written into a staging directory that is being removed."""

    out_dir: Path  # e.g. ROOT/evidence/snapshots
    created_at: dt.datetime
    demo: bool = False
    note: str | None = None
    collected_by: CollectorIdentity | None = None  # who collected: recorded in the manifest
    _items: list[ManifestItem] = field(default_factory=list)
    _staging: Path | None = None
    _owned: scratch.ScratchDir | None = field(default=None, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        try:
            with interrupt.deferred():
                self._owned = scratch.make(STAGING_PREFIX, self.out_dir)
                self._staging = self._owned.path
        except BaseException:
            self.abort()
            raise

    def add(
        self,
        item_id: str,
        data: Any,
        *,
        collector: str,
        query: str,
        collected_at: dt.datetime,
        ttl: int,
        environment: str | None = None,
        context: str | None = None,
        source: str | None = None,
        status: ItemStatus = ItemStatus.ok,
        detail: str | None = None,
    ) -> ManifestItem:
        with self._lock:
            interrupt.check()
            if self._staging is None:
                raise RuntimeError("the snapshot was already committed or aborted")
            return self._add(
                item_id,
                data,
                collector=collector,
                query=query,
                collected_at=collected_at,
                ttl=ttl,
                environment=environment,
                context=context,
                source=source,
                status=status,
                detail=detail,
            )

    def _add(
        self,
        item_id: str,
        data: Any,
        *,
        collector: str,
        query: str,
        collected_at: dt.datetime,
        ttl: int,
        environment: str | None,
        context: str | None,
        source: str | None,
        status: ItemStatus,
        detail: str | None,
    ) -> ManifestItem:
        assert self._staging is not None
        if any(i.id == item_id for i in self._items):
            raise ValueError(f"duplicate evidence item id {item_id!r}")
        rel = Path("items", *(_safe_part(p) for p in item_id.split("/"))).with_suffix(".json")
        path = self._staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = canonical_json(data)
        path.write_bytes(payload)
        item = ManifestItem(
            id=item_id,
            path=rel.as_posix(),
            sha256=sha256_hex(payload),
            size=len(payload),
            collector=collector,
            environment=environment,
            context=context,
            source=source,
            query=query,
            collected_at=rfc3339(collected_at),
            ttl=ttl,
            status=status,
            detail=detail,
        )
        self._items.append(item)
        return item

    def commit(self, sign_key: Any = None) -> Path:
        """Seal the manifest (and sign it) and move the snapshot into place."""
        with self._lock:
            return self._commit(sign_key)

    def _commit(self, sign_key: Any) -> Path:
        from generator.snapshot.signing import sign

        assert self._staging is not None
        sid = snapshot_id(self.created_at)
        manifest = Manifest(
            id=sid,
            created_at=rfc3339(self.created_at),
            demo=self.demo,
            note=self.note,
            collected_by=self.collected_by,
            items=sorted(self._items, key=lambda i: i.id),
        ).sealed()
        (self._staging / MANIFEST).write_bytes(manifest.to_bytes())
        if sign_key is not None:
            (self._staging / SIGNATURE).write_bytes(sign(sign_key, manifest.digest))
        target = self.out_dir / sid
        if target.exists():
            self.abort()
            raise InputError(target, "a snapshot with this timestamp already exists")
        with interrupt.deferred():
            os.replace(self._staging, target)
            self._staging = None
            if self._owned is not None:
                self._owned.release()  # the staging directory is the snapshot now
                self._owned = None
        return target

    def abort(self) -> None:
        """Remove the staging directory (waits for an item being written by another thread)."""
        with self._lock, interrupt.deferred():
            if self._owned is not None:
                self._owned.remove()
                self._owned = None
            self._staging = None


class Freshness(StrEnum):
    ok = "ok"
    missing = "missing"
    forbidden = "forbidden"
    not_found = "not-found"
    error = "error"
    stale = "stale"
    tampered = "tampered"  # the bytes differ from the SHA-256 the manifest records


@dataclass(frozen=True)
class EvidenceRead:
    """One item as a check sees it: its data only when it was read and is fresh."""

    id: str
    state: Freshness
    data: Any = None
    item: ManifestItem | None = None

    @property
    def usable(self) -> bool:
        return self.state is Freshness.ok


@dataclass
class Snapshot:
    path: Path
    manifest: Manifest
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def created_at(self) -> dt.datetime:
        return parse_time(self.manifest.created_at)

    @property
    def signer(self) -> str | None:
        """The fingerprint of the key that signed the manifest, if it is signed."""
        from generator.snapshot.signing import fingerprint, signer_key

        sig = self.path / SIGNATURE
        key = signer_key(sig.read_bytes()) if sig.is_file() and not sig.is_symlink() else None
        return fingerprint(key) if key is not None else None

    def items(self, prefix: str = "") -> list[ManifestItem]:
        return [i for i in self.manifest.items if i.id.startswith(prefix)]

    def get(self, item_id: str, as_of: dt.datetime) -> EvidenceRead:
        item = next((i for i in self.manifest.items if i.id == item_id), None)
        if item is None:
            return EvidenceRead(item_id, Freshness.missing)
        if item.status is not ItemStatus.ok:
            return EvidenceRead(item_id, Freshness(item.status.value), item=item)
        if parse_time(item.collected_at) + dt.timedelta(seconds=item.ttl) < as_of:
            return EvidenceRead(item_id, Freshness.stale, item=item)
        if item_id not in self._cache:
            path = (self.path / item.path).resolve()
            if not path.is_relative_to(self.path.resolve()):
                return EvidenceRead(item_id, Freshness.tampered, item=item)
            try:
                raw = path.read_bytes()
            except OSError:
                return EvidenceRead(item_id, Freshness.error, item=item)
            # Checks only ever see the bytes that were collected.
            if sha256_hex(raw) != item.sha256:
                return EvidenceRead(item_id, Freshness.tampered, item=item)
            try:
                self._cache[item_id] = json.loads(raw)
            except ValueError:
                return EvidenceRead(item_id, Freshness.error, item=item)
        return EvidenceRead(item_id, Freshness.ok, self._cache[item_id], item)


def load_snapshot(path: Path, trusted: Sequence[bytes] = (), *, verified: bool = True) -> Snapshot:
    """The snapshot at PATH. Unless told otherwise it is verified first, as a whole: the manifest
    digest, every item, no links, and the signature (made by a trusted key when keys are
    configured). Nothing reads evidence that `evidoc verify` would reject."""
    manifest_path = path / MANIFEST
    if manifest_path.is_symlink():
        raise InputError(manifest_path, "a symbolic link, not a snapshot manifest (refused)")
    try:
        raw = manifest_path.read_bytes()
    except OSError as exc:
        raise InputError(manifest_path, f"cannot read snapshot manifest: {exc.strerror}") from None
    try:
        manifest = Manifest.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(
            manifest_path, f"not an evidoc manifest: {where}: {first['msg']}"
        ) from None
    if verified:
        from generator.snapshot.verify import snapshot_problems

        problems = snapshot_problems(path, manifest, trusted)
        if problems:
            shown = "; ".join(problems[:5]) + (
                f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
            )
            raise InputError(
                path,
                f"evidence snapshot refused, it does not verify: {shown} "
                f"(run `evidoc verify {path}`)",
            )
    return Snapshot(path=path, manifest=manifest)


def snapshots_before(root: Path, snapshot_id: str) -> list[Path]:
    """The instance's snapshot directories (named as collect names them, with a manifest) older
    than SNAPSHOT_ID, oldest first."""
    base = Path(root) / SNAPSHOTS
    if not base.is_dir():
        return []
    return sorted(
        p
        for p in base.iterdir()
        if p.is_dir()
        and SNAPSHOT_NAME.match(p.name)
        and (p / MANIFEST).is_file()
        and p.name < snapshot_id
    )


def latest_snapshot(root: Path) -> Path | None:
    """The newest snapshot directory under ROOT/evidence/snapshots, if any."""
    base = root / SNAPSHOTS
    if not base.is_dir():
        return None
    # Only directories named as collect names them: an archive copied beside them must not win.
    found = sorted(
        p for p in base.iterdir() if SNAPSHOT_NAME.match(p.name) and (p / MANIFEST).is_file()
    )
    return found[-1] if found else None


def digest_of(path: Path) -> str:
    return sha256_hex(path.read_bytes())
