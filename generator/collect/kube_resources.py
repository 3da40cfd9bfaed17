"""What the Kubernetes collector reads, and what it keeps of each object.

Each resource becomes one evidence item `kubernetes/<environment>/<cluster>/<name>`. What is kept
of an object is an allow-list per kind: the fields the checks read (generator/checks/kubernetes/
and generator/checks/git_gitops.py) plus the name and namespace that identify it. Everything else
is dropped before anything is written, so a value a check does not need (a Kyverno generate rule's
inline Secret, Helm values, a container's arguments, an annotation holding a whole manifest)
cannot reach a snapshot. A check that needs another field adds it here, to its kind's projection.

    item                       kept besides name and namespace      for (kubernetes./git. checks)
    namespaces                 -                                    default-deny, audit-access
    networkpolicies            podSelector, policyTypes, rules      default-deny
                               (selectors, CIDRs, ports)
    roles, clusterroles        rules (apiGroups, resources, verbs,  rbac-write-separation,
                               nonResourceURLs); clusterroles also  audit-access
                               labels, aggregation selectors
    (cluster)rolebindings      roleRef, subjects (kind, name, ns)   the same
    nodes                      labels, taints                       isolation-level
    deployments, statefulsets, labels, controlling owner, the Argo  isolation-level,
    daemonsets                 CD tracking-id, replicas, template   dtap-parity, gitops-managed,
                               labels, node selector, tolerations,  no-production-data
                               required node affinity, images,
                               production hosts named in env values
    persistentvolumeclaims     labels, volumeName, dataSource(Ref)  no-production-data
    persistentvolumes          claim, CSI volume handle             no-production-data
    secrets, configmaps        labels, type, a digest per key       no-production-data
    volumesnapshots, -contents bound content, handles, snapshot ref no-production-data
    argocd-applications        sources (repoURL, chart, revision),  gitops-managed,
                               destination, sync, resources         gitops-source-protected
    flux-kustomizations,       suspend, conditions (no message),    gitops-managed
    flux-helmreleases          revisions, inventory
    flux-gitrepositories       url, ref                             gitops-source-protected
    apiserver                  the --audit-* flags                  audit-logging
    gatekeeper-constraints     kind, violation count, the violating objects

No check reads resource quotas, limit ranges, validating admission policies and their bindings,
or Kyverno policies: of those only names and namespaces are kept, which shows which exist.

Secret and ConfigMap values never leave this module: only their keys and, per value, a keyed
digest (see `digest.Redactor`). Annotations are dropped except those a check reads; of Secrets
and ConfigMaps the names of the others stay (which tool manages them), never their values.
Every URL kept, in whatever field, loses its userinfo and credential-like query parameters
(`redact.scrub_urls`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generator.collect.digest import Redactor
from generator.collect.redact import scrub_urls, strip_credentials

COLLECTOR = "kubernetes"
TTL = 7 * 24 * 3600  # a week: cluster state drifts, evidence has to be collected again

# Item names every check knows.
CLUSTER = "cluster"  # identity: API server URL, kube-system UID, version
APISERVER = "apiserver"  # kube-apiserver static pod flags
GATEKEEPER = "gatekeeper-constraints"

Obj = dict[str, Any]
Project = Callable[[Obj, Redactor], Obj]

# The annotation kubernetes.gitops-managed reads to find a workload's Argo CD Application.
TRACKING_ID = "argocd.argoproj.io/tracking-id"
# Annotations that repeat the object (a Secret's values in clear text): not even their name stays.
UNNAMED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
AUDIT_FLAG = "--audit-"  # the kube-apiserver flags kubernetes.audit-logging reads


@dataclass(frozen=True)
class Meta:
    """What a kind keeps of its metadata besides name and namespace."""

    labels: bool = False
    owner: bool = False  # the controlling owner: kubernetes.gitops-managed skips owned workloads
    annotations: frozenset[str] = frozenset()  # kept with their values
    annotation_names: bool = False  # the names of the other annotations, without values


NAMED = Meta()
LABELLED = Meta(labels=True)
WORKLOAD = Meta(labels=True, owner=True, annotations=frozenset({TRACKING_ID}))
VALUES = Meta(labels=True, annotation_names=True)  # Secrets and ConfigMaps


def item_id(environment: str, cluster: str, resource: str) -> str:
    return f"kubernetes/{environment}/{cluster}/{resource}"


def keep(project: Project, obj: Obj, redactor: Redactor) -> Obj:
    """What is written of one object: its kind's allow-listed fields, no credential in a URL."""
    return scrub_urls(project(obj, redactor))


def _annotations(raw: dict[str, Any] | None, meta: Meta) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        if key in meta.annotations:
            out[key] = value
        elif meta.annotation_names and key not in UNNAMED_ANNOTATIONS:
            out[key] = None  # the annotation exists; its value is not kept
    return out


def identity(obj: Obj, meta: Meta = NAMED) -> Obj:
    """Name and namespace, and the metadata `meta` allows."""
    m = obj.get("metadata") or {}
    out: Obj = {"name": m.get("name")}
    if m.get("namespace"):
        out["namespace"] = m["namespace"]
    if meta.labels and m.get("labels"):
        out["labels"] = m["labels"]
    annotations = _annotations(m.get("annotations"), meta)
    if annotations:
        out["annotations"] = annotations
    owners = [
        {"kind": o.get("kind"), "name": o.get("name")}
        for o in m.get("ownerReferences") or []
        if meta.owner and o.get("controller")
    ]
    if owners:
        out["owners"] = owners
    return out


def _pick(src: Obj | None, *keys: str) -> Obj:
    src = src or {}
    return {k: src[k] for k in keys if src.get(k) not in (None, [], {})}


def _selector(raw: Obj | None) -> Obj:
    """A label selector; an empty one (which selects everything) stays empty."""
    raw = raw or {}
    out: Obj = _pick(raw, "matchLabels")
    expressions = [_pick(e, "key", "operator", "values") for e in raw.get("matchExpressions") or []]
    if expressions:
        out["matchExpressions"] = expressions
    return out


def named(obj: Obj, _: Redactor) -> Obj:
    """Which objects exist, nothing of what they say."""
    return identity(obj)


def _peer(raw: Obj) -> Obj:
    out: Obj = {k: _selector(raw[k]) for k in ("podSelector", "namespaceSelector") if k in raw}
    if raw.get("ipBlock"):
        out["ipBlock"] = _pick(raw["ipBlock"], "cidr", "except")
    return out


def _traffic_rule(raw: Obj, peers: str) -> Obj:
    # An empty rule allows all traffic, so a rule is kept even when nothing of it is.
    out: Obj = {}
    if raw.get(peers):
        out[peers] = [_peer(p) for p in raw[peers]]
    ports = [_pick(p, "protocol", "port", "endPort") for p in raw.get("ports") or []]
    if ports:
        out["ports"] = ports
    return out


def network_policy(obj: Obj, _: Redactor) -> Obj:
    out = identity(obj)
    spec = obj.get("spec") or {}
    kept: Obj = {"podSelector": _selector(spec.get("podSelector"))}
    if spec.get("policyTypes") is not None:  # left out means Ingress (plus Egress with rules)
        kept["policyTypes"] = spec["policyTypes"]
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        if spec.get(direction) is not None:
            kept[direction] = [_traffic_rule(r, peers) for r in spec[direction]]
    out["spec"] = kept
    return out


RBAC_RULE = ("apiGroups", "resources", "verbs", "nonResourceURLs")


def _rules(obj: Obj) -> list[Obj]:
    return [_pick(r, *RBAC_RULE) for r in obj.get("rules") or []]


def role(obj: Obj, _: Redactor) -> Obj:
    out = identity(obj)
    out["rules"] = _rules(obj)
    return out


def cluster_role(obj: Obj, _: Redactor) -> Obj:
    # Labels and selectors: the checks resolve aggregated ClusterRoles from them.
    out = identity(obj, LABELLED)
    out["rules"] = _rules(obj)
    selectors = (obj.get("aggregationRule") or {}).get("clusterRoleSelectors")
    if selectors is not None:
        out["aggregationRule"] = {"clusterRoleSelectors": [_selector(s) for s in selectors]}
    return out


def binding(obj: Obj, _: Redactor) -> Obj:
    out = identity(obj)
    out["roleRef"] = _pick(obj.get("roleRef"), "kind", "name")
    out["subjects"] = [_pick(s, "kind", "name", "namespace") for s in obj.get("subjects") or []]
    return out


def node(obj: Obj, _: Redactor) -> Obj:
    out = identity(obj, LABELLED)
    spec = obj.get("spec") or {}
    out["taints"] = [_pick(t, "key", "value", "effect") for t in spec.get("taints") or []]
    return out


def _images(spec: Obj, key: str) -> list[Obj]:
    return [{"image": c.get("image")} for c in spec.get(key) or [] if isinstance(c, dict)]


def _required_node_affinity(affinity: Obj | None) -> Obj:
    """Only the node affinity a scheduler must obey: where a workload may run."""
    required = ((affinity or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms")
    if not terms:
        return {}
    kept = [
        {
            group: [_pick(e, "key", "operator", "values") for e in term[group]]
            for group in ("matchExpressions", "matchFields")
            if term.get(group)
        }
        for term in terms
    ]
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": kept}
        }
    }


def _env_endpoints(spec: Obj, redactor: Redactor) -> list[str]:
    if not redactor.endpoints:
        return []
    found: set[str] = set()
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            for env in c.get("env") or []:
                value = env.get("value")
                if isinstance(value, str):
                    found.update(redactor.mentions(value.encode()))
    return sorted(found)


def workload(obj: Obj, redactor: Redactor) -> Obj:
    out = identity(obj, WORKLOAD)
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    pod = template.get("spec") or {}
    if "replicas" in spec:
        out["replicas"] = spec["replicas"]
    out["template"] = {
        "labels": (template.get("metadata") or {}).get("labels") or {},
        "nodeSelector": pod.get("nodeSelector") or {},
        "tolerations": [
            _pick(t, "key", "operator", "value", "effect") for t in pod.get("tolerations") or []
        ],
        "affinity": _required_node_affinity(pod.get("affinity")),
        "containers": _images(pod, "containers"),
        "initContainers": _images(pod, "initContainers"),
    }
    endpoints = _env_endpoints(pod, redactor)
    if endpoints:
        out["endpoints"] = endpoints
    return out


SOURCE_REF = ("kind", "name", "namespace")


def pvc(obj: Obj, _: Redactor) -> Obj:
    out = identity(obj, LABELLED)
    spec = obj.get("spec") or {}
    out.update(_pick(spec, "volumeName"))
    for ref in ("dataSource", "dataSourceRef"):
        if spec.get(ref):
            out[ref] = _pick(spec[ref], *SOURCE_REF)
    return out


def pv(obj: Obj, _: Redactor) -> Obj:
    out = identity(obj)
    spec = obj.get("spec") or {}
    claim = _pick(spec.get("claimRef"), "namespace", "name")
    if claim:
        out["claim"] = claim
    csi = _pick(spec.get("csi"), "volumeHandle")
    if csi:
        out["csi"] = csi
    return out


def _b64(value: Any) -> bytes:
    try:
        return base64.b64decode(value or "", validate=False)
    except (binascii.Error, ValueError):
        return str(value).encode()


def secret(obj: Obj, redactor: Redactor) -> Obj:
    out = identity(obj, VALUES)
    out["type"] = obj.get("type")
    values = {k: redactor.value(_b64(v)) for k, v in (obj.get("data") or {}).items()}
    for k, v in (obj.get("stringData") or {}).items():  # never returned by a real API server
        values[k] = redactor.value(str(v).encode())
    out["keys"] = values
    return out


def configmap(obj: Obj, redactor: Redactor) -> Obj:
    out = identity(obj, VALUES)
    values = {k: redactor.value(str(v).encode()) for k, v in (obj.get("data") or {}).items()}
    for k, v in (obj.get("binaryData") or {}).items():
        values[k] = redactor.value(_b64(v))
    out["keys"] = values
    return out


def snapshot(obj: Obj, _: Redactor) -> Obj:
    out = identity(obj)
    out.update(_pick(obj.get("status"), "boundVolumeSnapshotContentName"))
    return out


def snapshot_content(obj: Obj, _: Redactor) -> Obj:
    out = identity(obj)
    spec = obj.get("spec") or {}
    source = _pick(spec.get("source"), "volumeHandle", "snapshotHandle")
    if source:
        out["source"] = source
    ref = _pick(spec.get("volumeSnapshotRef"), "namespace", "name")
    if ref:
        out["volumeSnapshotRef"] = ref
    out.update(_pick(obj.get("status"), "snapshotHandle"))
    return out


def _conditions(obj: Obj) -> list[Obj]:
    # Not the message: controllers write errors into it, URLs and values included.
    return [
        _pick(c, "type", "status", "reason")
        for c in (obj.get("status") or {}).get("conditions") or []
    ]


def _url(value: Any) -> Any:
    return strip_credentials(value) if isinstance(value, str) else value


def argo_app(obj: Obj, _: Redactor) -> Obj:
    out = identity(obj)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    sources = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    out["sources"] = [
        {k: _url(v) for k, v in _pick(s, "repoURL", "chart", "targetRevision").items()}
        for s in sources
    ]
    destination = _pick(spec.get("destination"), "server", "name")
    out["destination"] = {k: _url(v) for k, v in destination.items()}
    out["sync"] = _pick(status.get("sync"), "status")
    out["resources"] = [
        _pick(r, "kind", "namespace", "name", "status") for r in status.get("resources") or []
    ]
    return out


def flux(obj: Obj, _: Redactor) -> Obj:
    """A Kustomization or HelmRelease: whether it is suspended, ready and applied, and what."""
    out = identity(obj)
    status = obj.get("status") or {}
    out["spec"] = _pick(obj.get("spec"), "suspend")
    out["conditions"] = _conditions(obj)
    out.update(_pick(status, "lastAppliedRevision", "lastAttemptedRevision"))
    entries = (status.get("inventory") or {}).get("entries") or []
    if entries:
        out["inventory"] = [e.get("id") for e in entries if e.get("id")]
    return out


GIT_REF = ("branch", "tag", "semver", "name", "commit")


def flux_source(obj: Obj, _: Redactor | None) -> Obj:
    """A GitRepository: the repository and the ref followed."""
    out = identity(obj)
    spec = obj.get("spec") or {}
    kept: Obj = {}
    if isinstance(spec.get("url"), str):
        kept["url"] = strip_credentials(spec["url"])
    ref = _pick(spec.get("ref"), *GIT_REF)
    if ref:
        kept["ref"] = ref
    out["spec"] = kept
    return out


# The name tests/git build GitRepository items with (from when the whole spec was kept).
with_spec = flux_source


def audit_flags(args: list[Any]) -> list[str]:
    """The `--audit-*` flags, each as `--name=value` (`--name` alone without a value), paired
    with their values the way kubernetes.audit-logging pairs them; all other flags are dropped
    with their values (tokens, etcd URLs, key files)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg, value = str(args[i]), None
        if arg.startswith("--") and "=" not in arg:
            following = str(args[i + 1]) if i + 1 < len(args) else "-"
            if not following.startswith("-"):
                value = following
                i += 1
        if arg.startswith(AUDIT_FLAG):
            out.append(arg if value is None else f"{arg}={value}")
        i += 1
    return out


def apiserver_pod(obj: Obj, _: Redactor) -> Obj:
    out = identity(obj)
    containers = (obj.get("spec") or {}).get("containers") or []
    for c in containers:
        if c.get("name") == "kube-apiserver" or len(containers) == 1:
            out["args"] = audit_flags([*(c.get("command") or []), *(c.get("args") or [])])
            break
    return out


def constraint(obj: Obj, _: Redactor) -> Obj:
    """A Gatekeeper constraint: its kind and which objects violate it (not its parameters,
    not the violation messages, which quote the objects)."""
    out = identity(obj)
    status = obj.get("status") or {}
    out["kind"] = obj.get("kind")
    out["totalViolations"] = status.get("totalViolations", 0)
    out["violations"] = [
        _pick(v, "kind", "namespace", "name") for v in (status.get("violations") or [])[:50]
    ]
    return out


@dataclass(frozen=True)
class Resource:
    name: str  # the item's last id segment
    path: str  # the list URL
    project: Project
    optional: bool = False  # a CRD or newer API: 404 means "not installed"
    params: dict[str, str] = field(default_factory=dict)

    @property
    def query(self) -> str:
        q = "&".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"GET {self.path}" + (f"?{q}" if q else "")


CORE = "/api/v1"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
SNAP = "/apis/snapshot.storage.k8s.io/v1"
VAP = "/apis/admissionregistration.k8s.io/v1"

RESOURCES: tuple[Resource, ...] = (
    Resource("namespaces", f"{CORE}/namespaces", named),
    Resource("networkpolicies", "/apis/networking.k8s.io/v1/networkpolicies", network_policy),
    Resource("resourcequotas", f"{CORE}/resourcequotas", named),
    Resource("limitranges", f"{CORE}/limitranges", named),
    Resource("roles", f"{RBAC}/roles", role),
    Resource("clusterroles", f"{RBAC}/clusterroles", cluster_role),
    Resource("rolebindings", f"{RBAC}/rolebindings", binding),
    Resource("clusterrolebindings", f"{RBAC}/clusterrolebindings", binding),
    Resource("nodes", f"{CORE}/nodes", node),
    Resource("deployments", "/apis/apps/v1/deployments", workload),
    Resource("statefulsets", "/apis/apps/v1/statefulsets", workload),
    Resource("daemonsets", "/apis/apps/v1/daemonsets", workload),
    Resource("persistentvolumeclaims", f"{CORE}/persistentvolumeclaims", pvc),
    Resource("persistentvolumes", f"{CORE}/persistentvolumes", pv),
    Resource("secrets", f"{CORE}/secrets", secret),
    Resource("configmaps", f"{CORE}/configmaps", configmap),
    Resource("volumesnapshots", f"{SNAP}/volumesnapshots", snapshot, optional=True),
    Resource(
        "volumesnapshotcontents", f"{SNAP}/volumesnapshotcontents", snapshot_content, optional=True
    ),
    Resource("validatingadmissionpolicies", f"{VAP}/validatingadmissionpolicies", named, True),
    Resource(
        "validatingadmissionpolicybindings",
        f"{VAP}/validatingadmissionpolicybindings",
        named,
        optional=True,
    ),
    Resource("kyverno-clusterpolicies", "/apis/kyverno.io/v1/clusterpolicies", named, True),
    Resource("kyverno-policies", "/apis/kyverno.io/v1/policies", named, optional=True),
    Resource(
        "argocd-applications", "/apis/argoproj.io/v1alpha1/applications", argo_app, optional=True
    ),
    Resource(
        "flux-kustomizations",
        "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations",
        flux,
        optional=True,
    ),
    Resource(
        "flux-helmreleases", "/apis/helm.toolkit.fluxcd.io/v2/helmreleases", flux, optional=True
    ),
    Resource(
        "flux-gitrepositories",
        "/apis/source.toolkit.fluxcd.io/v1/gitrepositories",
        flux_source,
        optional=True,
    ),
    Resource(
        APISERVER,
        f"{CORE}/namespaces/kube-system/pods",
        apiserver_pod,
        params={"labelSelector": "component=kube-apiserver"},
    ),
)

GATEKEEPER_API = "/apis/constraints.gatekeeper.sh/v1beta1"
VERSION_PATH = "/version"
KUBE_SYSTEM_PATH = f"{CORE}/namespaces/kube-system"

# Every item name a cluster yields, in collection order.
ITEM_NAMES: tuple[str, ...] = (CLUSTER, *(r.name for r in RESOURCES), GATEKEEPER)


def sort_key(obj: Obj) -> tuple[str, str, str]:
    return (obj.get("namespace") or "", obj.get("kind") or "", obj.get("name") or "")
