"""The snapshot manifest: what was collected, from where, when, and each item's SHA-256."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

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


class ContextIdentity(BaseModel):
    """Who the collector was to one Kubernetes context, as far as its configuration says:
    names only, never a credential."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: str
    cluster: str
    context: str
    # The kubeconfig's user entry for the context; "in-cluster" for the pod's service account.
    user: str | None = None
    # The Kubernetes identity the credential names, when it can be read without asking the API
    # server: a service account token's subject (system:serviceaccount:NS:NAME) or a client
    # certificate's subject. Read from the credential, not confirmed by the server.
    authenticates_as: str | None = None
    # How it authenticates: token, token file, client certificate, exec plugin NAME, ...
    method: str | None = None


class CollectorIdentity(BaseModel):
    """Who collected the snapshot: the program, the machine, and per context the account."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    evidoc: str  # evidoc's version
    host: str  # the host name of the machine (or pod) that ran `evidoc collect`
    kubernetes: list[ContextIdentity] = []


# Fields added after the first manifests were written: left out of the digest and the file while
# unset, so that a manifest written before them keeps its bytes and its digest.
_OPTIONAL = ("collected_by",)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = FORMAT
    id: str
    created_at: str
    demo: bool = False
    note: str | None = None
    collected_by: CollectorIdentity | None = None
    items: list[ManifestItem]
    digest: str = ""

    def _body(self, exclude: set[str]) -> dict[str, Any]:
        body = self.model_dump(mode="json", exclude=exclude)
        for key in _OPTIONAL:
            if body.get(key) is None:
                body.pop(key, None)
        return body

    def compute_digest(self) -> str:
        return sha256_hex(canonical_json(self._body({"digest"})))

    def sealed(self) -> Manifest:
        return self.model_copy(update={"digest": self.compute_digest()})

    def to_bytes(self) -> bytes:
        return canonical_json(self._body(set()))
