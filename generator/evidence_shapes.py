"""The shapes of the evidence items the checks read most, checked before a check sees them.

A snapshot item can verify (its SHA-256 matches the manifest) and still hold the wrong kind of
data: an edited or hand-made snapshot, or a collector bug. Read blindly, `{"items": "x"}`
crashes a check, and `{"verbs": "create"}` is read as the verbs c, r, e, a, t: nobody writes,
and the check passes. So the containers and the fields the Kubernetes checks rely on are
validated here, strictly (no coercion), while unknown keys are allowed: collectors may add
fields without breaking older checks. Items without a model here (Git, forges) are still
guarded by the pipeline, which turns any check that fails on its data into an `error` result.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

Labels = dict[str, str | None]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


class Rule(_Open):
    """One RBAC rule: its lists decide who may write, delete or escalate."""

    verbs: list[str] | None = None
    apiGroups: list[str] | None = None  # camelCase: the Kubernetes API's own field names
    resources: list[str] | None = None
    resourceNames: list[str] | None = None
    nonResourceURLs: list[str] | None = None


class Subject(_Open):
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None


class PodTemplate(_Open):
    labels: Labels | None = None
    nodeSelector: Labels | None = None
    tolerations: list[dict[str, Any]] | None = None
    affinity: dict[str, Any] | None = None


class ValueDigest(_Open):
    """A Secret or ConfigMap value as collected: a keyed digest, never the value."""

    hmac: str | None = None
    short: bool | None = None
    endpoints: list[str] | None = None


class KubeObject(_Open):
    """A Kubernetes object as the collector projects it."""

    name: str | None = None
    namespace: str | None = None
    labels: Labels | None = None
    annotations: dict[str, Any] | None = None
    spec: dict[str, Any] | None = None
    template: PodTemplate | None = None
    keys: dict[str, ValueDigest] | None = None
    rules: list[Rule] | None = None
    subjects: list[Subject] | None = None
    roleRef: dict[str, Any] | None = None
    aggregationRule: dict[str, Any] | None = None
    taints: list[dict[str, Any]] | None = None  # see Node
    endpoints: list[str] | None = None
    args: list[str] | None = None
    replicas: int | None = None
    ready: int | None = None


class KubeList(_Open):
    """`kubernetes/<environment>/<cluster>/<resource>`: every object of one resource."""

    items: list[KubeObject]
    count: int | None = None
    endpoints_searched: list[str] | None = None
    digest_key_id: str | None = None


class Taint(_Open):
    key: str | None = None
    value: str | None = None
    effect: str | None = None


class Node(KubeObject):
    taints: list[Taint] | None = None


class NetworkPolicySpec(_Open):
    """What decides a default deny: `"policyTypes": "Ingress"` would otherwise be searched as
    text, and `"ingress": {}` read as no rules."""

    podSelector: dict[str, Any] | None = None
    policyTypes: list[str] | None = None
    ingress: list[dict[str, Any]] | None = None
    egress: list[dict[str, Any]] | None = None


class NetworkPolicy(KubeObject):
    spec: NetworkPolicySpec | None = None  # type: ignore[assignment]


class NodeList(KubeList):
    items: list[Node]  # type: ignore[assignment]


class NetworkPolicyList(KubeList):
    items: list[NetworkPolicy]  # type: ignore[assignment]


# Resources whose objects the checks read in more detail than KubeObject says.
_LISTS: dict[str, type[KubeList]] = {"nodes": NodeList, "networkpolicies": NetworkPolicyList}


class ClusterIdentity(_Open):
    """`kubernetes/<environment>/<cluster>/cluster`: which cluster answered."""

    server: str | None = None
    context: str | None = None
    kube_system_uid: str | None = None
    version: dict[str, Any] | None = None


MAX_PROBLEMS = 3


def _model_for(item_id: str) -> type[BaseModel] | None:
    parts = item_id.split("/")
    if len(parts) != 4 or parts[0] != "kubernetes":
        return None
    if parts[3] == "cluster":
        return ClusterIdentity
    return _LISTS.get(parts[3], KubeList)


def _found(value: Any) -> str:
    if isinstance(value, dict | list):
        return f"{'an object' if isinstance(value, dict) else 'a list'} of {len(value)}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _problem(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "item"
    if error["type"] == "missing":
        return f"{where}: missing"
    return f"{where}: {error['msg']} (found {_found(error.get('input'))})"


def shape_problem(item_id: str, data: Any) -> str | None:
    """What is wrong with an item's data, in a sentence; None when it has the expected shape
    (or no model says what that is)."""
    model = _model_for(item_id)
    if model is None:
        return None
    if not isinstance(data, dict):
        return f"expected an object, found {_found(data)}"
    try:
        model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        shown = [_problem(e) for e in errors[:MAX_PROBLEMS]]
        more = len(errors) - MAX_PROBLEMS
        return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
    return None
