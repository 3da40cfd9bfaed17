"""The snapshot manifest: what was collected, from where, when, and each item's SHA-256."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from generator.snapshot.canonical import canonical_json, sha256_hex

FORMAT = "evidoc-snapshot/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"


class ItemStatus(StrEnum):
    ok = "ok"
    forbidden = "forbidden"  # 403: the collector's identity may not read it
    not_found = "not-found"  # 404: the resource kind is not installed
    error = "error"  # anything else that kept the collector from reading it


class ManifestItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str  # e.g. kubernetes/prod/prod-wc/networkpolicies
    path: str  # relative to the snapshot directory
    sha256: str
    size: int
    collector: str  # kubernetes | git | github | gitlab | ...
    environment: str | None = None
    context: str | None = None
    source: str | None = None  # API server URL, repository path or URL
    query: str  # what was asked, e.g. "GET /api/v1/namespaces"
    collected_at: str  # RFC 3339, UTC
    ttl: int  # seconds the item stays fresh
    status: ItemStatus = ItemStatus.ok
    detail: str | None = None  # why, when status is not ok


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = FORMAT
    id: str
    created_at: str
    demo: bool = False
    note: str | None = None
    items: list[ManifestItem]
    digest: str = ""

    def compute_digest(self) -> str:
        body = self.model_dump(mode="json", exclude={"digest"})
        return sha256_hex(canonical_json(body))

    def sealed(self) -> Manifest:
        return self.model_copy(update={"digest": self.compute_digest()})

    def to_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))
