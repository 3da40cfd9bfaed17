"""What the Kubernetes collector reads, and what it keeps of each object.

Each resource becomes one evidence item `kubernetes/<environment>/<cluster>/<name>`. Objects are
projected down to the fields the checks and an auditor need; everything else (managedFields,
last-applied annotations, status noise) is dropped. Secret and ConfigMap values never leave this
module: only their keys and, per value, a keyed digest (see `digest.Redactor`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from generator.collect.digest import Redactor

COLLECTOR = "kubernetes"
TTL = 7 * 24 * 3600  # a week: cluster state drifts, evidence has to be collected again

# Item names every check knows.
CLUSTER = "cluster"  # identity: API server URL, kube-system UID, version
APISERVER = "apiserver"  # kube-apiserver static pod flags
GATEKEEPER = "gatekeeper-constraints"

Obj = dict[str, Any]
Project = Callable[[Obj, Redactor], Obj]

DROPPED_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
    }
)
MAX_ANNOTATION = 2048  # longer annotation values are replaced by their length
# Annotations of Secrets and ConfigMaps whose values are kept (everything else: keys only).
SAFE_ANNOTATIONS = frozenset(
    {
        "kubernetes.io/service-account.name",
        "argocd.argoproj.io/tracking-id",
        "meta.helm.sh/release-name",
        "meta.helm.sh/release-namespace",
    }
)


USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def without_userinfo(text: str) -> str:
    """A URL without credentials (`https://user:token@host` -> `https://host`)."""
    return USERINFO.sub("", text) if isinstance(text, str) else text


def item_id(environment: str, cluster: str, resource: str) -> str:
    return f"kubernetes/{environment}/{cluster}/{resource}"


def _annotations(raw: dict[str, Any] | None, values: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        if key in DROPPED_ANNOTATIONS:
            continue
        if not values and key not in SAFE_ANNOTATIONS:
            out[key] = None  # the annotation exists; its value is not kept
        elif isinstance(value, str) and len(value) > MAX_ANNOTATION:
            out[key] = f"<{len(value)} characters not kept>"
        else:
            out[key] = value
    return out


def meta(obj: Obj, annotation_values: bool = True) -> Obj:
    m = obj.get("metadata") or {}
    out: Obj = {"name": m.get("name")}
    if m.get("namespace"):
        out["namespace"] = m["namespace"]
    if m.get("uid"):
        out["uid"] = m["uid"]
    if m.get("labels"):
        out["labels"] = m["labels"]
    annotations = _annotations(m.get("annotations"), annotation_values)
    if annotations:
        out["annotations"] = annotations
    if m.get("creationTimestamp"):
        out["created"] = m["creationTimestamp"]
    owners = [
        {"kind": o.get("kind"), "name": o.get("name")}
        for o in m.get("ownerReferences") or []
        if o.get("controller")
    ]
    if owners:
        out["owners"] = owners
    return out


def _pick(src: Obj | None, *keys: str) -> Obj:
    src = src or {}
    return {k: src[k] for k in keys if src.get(k) not in (None, [], {})}


def namespace(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    out["phase"] = (obj.get("status") or {}).get("phase")
    return out


def with_spec(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    out["spec"] = obj.get("spec") or {}
    return out


def quota(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    out["spec"] = obj.get("spec") or {}
    used = (obj.get("status") or {}).get("used")
    if used:
        out["used"] = used
    return out


def role(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    out["rules"] = obj.get("rules") or []
    if obj.get("aggregationRule"):
        out["aggregationRule"] = obj["aggregationRule"]
    return out


def binding(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    out["roleRef"] = obj.get("roleRef") or {}
    out["subjects"] = obj.get("subjects") or []
    return out


def node(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    spec = obj.get("spec") or {}
    out["taints"] = spec.get("taints") or []
    if spec.get("unschedulable"):
        out["unschedulable"] = True
    info = (obj.get("status") or {}).get("nodeInfo") or {}
    out["info"] = _pick(info, "kubeletVersion", "osImage", "containerRuntimeVersion")
    return out


def _containers(spec: Obj, key: str) -> list[Obj]:
    return [
        {"name": c.get("name"), "image": c.get("image")}
        for c in spec.get(key) or []
        if isinstance(c, dict)
    ]


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
    out = meta(obj)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    template = spec.get("template") or {}
    pod = template.get("spec") or {}
    if "replicas" in spec:
        out["replicas"] = spec["replicas"]
    for src, dst in (("readyReplicas", "ready"), ("numberReady", "ready")):
        if src in status:
            out[dst] = status[src]
    tmeta = template.get("metadata") or {}
    out["template"] = {
        "labels": tmeta.get("labels") or {},
        "serviceAccountName": pod.get("serviceAccountName"),
        "nodeSelector": pod.get("nodeSelector") or {},
        "tolerations": pod.get("tolerations") or [],
        "affinity": pod.get("affinity") or {},
        "containers": _containers(pod, "containers"),
        "initContainers": _containers(pod, "initContainers"),
    }
    endpoints = _env_endpoints(pod, redactor)
    if endpoints:
        out["endpoints"] = endpoints
    return out


def pvc(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    spec = obj.get("spec") or {}
    out.update(_pick(spec, "storageClassName", "volumeName", "dataSource", "dataSourceRef"))
    out["phase"] = (obj.get("status") or {}).get("phase")
    return out


def pv(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    spec = obj.get("spec") or {}
    claim = spec.get("claimRef") or {}
    if claim:
        out["claim"] = _pick(claim, "namespace", "name")
    out.update(_pick(spec, "storageClassName", "persistentVolumeReclaimPolicy"))
    csi = spec.get("csi") or {}
    if csi:
        out["csi"] = _pick(csi, "driver", "volumeHandle")
    return out


def _b64(value: Any) -> bytes:
    try:
        return base64.b64decode(value or "", validate=False)
    except (binascii.Error, ValueError):
        return str(value).encode()


def secret(obj: Obj, redactor: Redactor) -> Obj:
    out = meta(obj, annotation_values=False)
    out["type"] = obj.get("type")
    values = {k: redactor.value(_b64(v)) for k, v in (obj.get("data") or {}).items()}
    for k, v in (obj.get("stringData") or {}).items():  # never returned by a real API server
        values[k] = redactor.value(str(v).encode())
    out["keys"] = values
    return out


def configmap(obj: Obj, redactor: Redactor) -> Obj:
    out = meta(obj, annotation_values=False)
    values = {k: redactor.value(str(v).encode()) for k, v in (obj.get("data") or {}).items()}
    for k, v in (obj.get("binaryData") or {}).items():
        values[k] = redactor.value(_b64(v))
    out["keys"] = values
    return out


def snapshot(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    out["source"] = spec.get("source") or {}
    out.update(_pick(spec, "volumeSnapshotClassName"))
    out.update(_pick(status, "boundVolumeSnapshotContentName", "readyToUse"))
    return out


def snapshot_content(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    out["source"] = spec.get("source") or {}
    out.update(_pick(spec, "driver", "deletionPolicy"))
    ref = spec.get("volumeSnapshotRef") or {}
    if ref:
        out["volumeSnapshotRef"] = _pick(ref, "namespace", "name")
    out.update(_pick(status, "snapshotHandle", "readyToUse"))
    return out


def _conditions(obj: Obj) -> list[Obj]:
    return [
        _pick(c, "type", "status", "reason", "message")
        for c in (obj.get("status") or {}).get("conditions") or []
    ]


def kyverno(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    out["spec"] = obj.get("spec") or {}
    out["conditions"] = _conditions(obj)
    return out


def argo_app(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    out["project"] = spec.get("project")
    sources = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    out["sources"] = [
        {
            k: without_userinfo(v)
            for k, v in _pick(s, "repoURL", "path", "chart", "targetRevision").items()
        }
        for s in sources
    ]
    out["destination"] = _pick(spec.get("destination"), "server", "name", "namespace")
    out["automated"] = bool((spec.get("syncPolicy") or {}).get("automated"))
    out["sync"] = _pick(status.get("sync"), "status", "revision", "revisions")
    out["health"] = _pick(status.get("health"), "status")
    out["resources"] = [
        _pick(r, "group", "kind", "namespace", "name", "status")
        for r in status.get("resources") or []
    ]
    return out


def flux(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    out["spec"] = _pick(
        spec, "sourceRef", "path", "targetNamespace", "suspend", "interval", "chart", "releaseName"
    )
    out["conditions"] = _conditions(obj)
    out.update(_pick(status, "lastAppliedRevision", "lastAttemptedRevision"))
    entries = (status.get("inventory") or {}).get("entries") or []
    if entries:
        out["inventory"] = [e.get("id") for e in entries if e.get("id")]
    return out


def apiserver_pod(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    spec = obj.get("spec") or {}
    out["node"] = spec.get("nodeName")
    for c in spec.get("containers") or []:
        if c.get("name") == "kube-apiserver" or len(spec.get("containers") or []) == 1:
            out["image"] = c.get("image")
            args = [*(c.get("command") or []), *(c.get("args") or [])]
            out["args"] = [without_userinfo(str(a)) for a in args]
            break
    return out


def constraint(obj: Obj, _: Redactor) -> Obj:
    out = meta(obj)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    out["kind"] = obj.get("kind")
    out["enforcementAction"] = spec.get("enforcementAction", "deny")
    out["match"] = spec.get("match") or {}
    out["totalViolations"] = status.get("totalViolations", 0)
    out["violations"] = [
        _pick(v, "kind", "namespace", "name", "message", "enforcementAction")
        for v in (status.get("violations") or [])[:50]
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
    Resource("namespaces", f"{CORE}/namespaces", namespace),
    Resource("networkpolicies", "/apis/networking.k8s.io/v1/networkpolicies", with_spec),
    Resource("resourcequotas", f"{CORE}/resourcequotas", quota),
    Resource("limitranges", f"{CORE}/limitranges", with_spec),
    Resource("roles", f"{RBAC}/roles", role),
    Resource("clusterroles", f"{RBAC}/clusterroles", role),
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
    Resource("validatingadmissionpolicies", f"{VAP}/validatingadmissionpolicies", with_spec, True),
    Resource(
        "validatingadmissionpolicybindings",
        f"{VAP}/validatingadmissionpolicybindings",
        with_spec,
        optional=True,
    ),
    Resource("kyverno-clusterpolicies", "/apis/kyverno.io/v1/clusterpolicies", kyverno, True),
    Resource("kyverno-policies", "/apis/kyverno.io/v1/policies", kyverno, optional=True),
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
        with_spec,
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
