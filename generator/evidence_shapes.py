"""The shapes of the evidence items the checks read most, checked before a check sees them.

A snapshot item can verify (its SHA-256 matches the manifest) and still hold the wrong kind of
data: an edited or hand-made snapshot, or a collector bug. Read blindly, `{"items": "x"}`
crashes a check, and `{"verbs": "create"}` is read as the verbs c, r, e, a, t: nobody writes,
and the check passes. So the containers and the fields the Kubernetes checks rely on are
validated here, strictly (no coercion), while unknown keys are allowed: collectors may add
fields without breaking older checks. Git and forge items have models too; anything a model
misses is still guarded by the pipeline, which turns any check that fails on its data into an
`error` result.
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


# --- Git and forges: the containers and fields the Git checks read ----------------------------

Person = dict[str, str | None]


class GitCommit(_Open):
    sha: str
    parents: list[str]
    author: Person
    committer: Person
    subject: str | None = None
    trailers: dict[str, list[str]] | None = None
    signature: dict[str, str | None] | None = None
    paths: list[str] | None = None
    merged: dict[str, Any] | None = None


class GitCommits(_Open):
    """`git/<repo>/commits`: the branch's commits in the audit period."""

    repository: str | None = None
    branch: str | None = None
    head: str | None = None
    period: dict[str, str | None] | None = None
    window: dict[str, Any] | None = None
    commits: list[GitCommit]


class GitBranch(_Open):
    """`git/<repo>/branch`: the head, the remotes and what earlier snapshots saw."""

    branch: str | None = None
    head: str | None = None
    remotes: dict[str, str] | None = None
    default_branch: str | None = None
    previous: dict[str, Any] | None = None
    rewrites_in_period: list[dict[str, Any]] | None = None
    behind_forge: dict[str, Any] | None = None
    tags_on_branch: dict[str, str] | None = None
    remote_tracking: dict[str, Any] | None = None


class Pull(_Open):
    number: int
    author: str | None = None
    merged_at: str | None = None
    head_sha: str | None = None
    reviews: list[dict[str, Any]] | None = None
    commits: list[dict[str, Any]] | None = None


class PullRequests(_Open):
    """`github/<repo>/pull-requests`: merged pull requests and which commits they explain."""

    pulls: list[Pull]
    commits: dict[str, list[int]]
    looked_up: list[str] | None = None
    not_looked_up: list[str] | None = None


class MergeRequest(_Open):
    iid: int
    author: str | None = None
    approved_by: list[str] | None = None
    approver_names: dict[str, str] | None = None
    commits: list[dict[str, Any]] | None = None


class MergeRequests(_Open):
    """`gitlab/<repo>/merge-requests`."""

    merge_requests: list[MergeRequest]
    commits: dict[str, list[int]]
    looked_up: list[str] | None = None
    not_looked_up: list[str] | None = None


class Protection(_Open):
    """`github/<repo>/branch-protection`."""

    protected: bool | None = None
    protection: dict[str, Any] | None = None


class Rulesets(_Open):
    """`github/<repo>/rulesets`."""

    rules: list[dict[str, Any]] | None = None
    rulesets: list[dict[str, Any]] | None = None


class ProtectedBranches(_Open):
    """`gitlab/<repo>/protected-branches`."""

    matching: list[dict[str, Any]] | None = None


class Approvals(_Open):
    """`gitlab/<repo>/approvals`."""

    settings: dict[str, Any] | None = None
    rules: list[dict[str, Any]] | None = None


class Push(_Open):
    at: str
    before: str | None = None
    after: str | None = None
    kind: str | None = None
    actor: str | None = None


class Pushes(_Open):
    """`github/<repo>/pushes`, `gitlab/<repo>/pushes`: the forge's record of the branch's pushes."""

    pushes: list[Push]
    covers_from: str | None = None
    complete: bool | None = None


_FORGE: dict[tuple[str, str], type[BaseModel]] = {
    ("git", "commits"): GitCommits,
    ("git", "branch"): GitBranch,
    ("github", "pull-requests"): PullRequests,
    ("github", "branch-protection"): Protection,
    ("github", "rulesets"): Rulesets,
    ("gitlab", "merge-requests"): MergeRequests,
    ("gitlab", "protected-branches"): ProtectedBranches,
    ("gitlab", "approvals"): Approvals,
    ("github", "pushes"): Pushes,
    ("gitlab", "pushes"): Pushes,
}


MAX_PROBLEMS = 3


def _model_for(item_id: str) -> type[BaseModel] | None:
    parts = item_id.split("/")
    if len(parts) == 3:
        return _FORGE.get((parts[0], parts[2]))
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
