"""Fixtures for the stand-in API server: realistic Kubernetes objects, built in code.

`build_world(layout)` gives one FakeCluster per cluster with a platform (nodes with a kubeadm
control plane, default and custom RBAC, Argo CD, Kyverno, logging, monitoring) and the shop
application in each application deployment's namespace. `demo_world()` is the instance shipped in
this repository; `scale_world()` adds filler namespaces for the benchmark. Everything is
deterministic: the same call gives the same objects, UIDs and secret values.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.kube.apiserver import FakeCluster

CREATED = "2026-03-02T09:00:00Z"
K8S_VERSION = "v1.31.4"
UID_NS = uuid.UUID("6f1c3f4e-8a55-4a47-9f5c-3d1b2c0e9a10")

CORE = "/api/v1"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
API: dict[str, tuple[str, str]] = {
    "Namespace": ("v1", f"{CORE}/namespaces"),
    "Node": ("v1", f"{CORE}/nodes"),
    "Pod": ("v1", f"{CORE}/pods"),
    "Secret": ("v1", f"{CORE}/secrets"),
    "ConfigMap": ("v1", f"{CORE}/configmaps"),
    "PersistentVolumeClaim": ("v1", f"{CORE}/persistentvolumeclaims"),
    "PersistentVolume": ("v1", f"{CORE}/persistentvolumes"),
    "ResourceQuota": ("v1", f"{CORE}/resourcequotas"),
    "LimitRange": ("v1", f"{CORE}/limitranges"),
    "NetworkPolicy": ("networking.k8s.io/v1", "/apis/networking.k8s.io/v1/networkpolicies"),
    "Role": ("rbac.authorization.k8s.io/v1", f"{RBAC}/roles"),
    "ClusterRole": ("rbac.authorization.k8s.io/v1", f"{RBAC}/clusterroles"),
    "RoleBinding": ("rbac.authorization.k8s.io/v1", f"{RBAC}/rolebindings"),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io/v1", f"{RBAC}/clusterrolebindings"),
    "Deployment": ("apps/v1", "/apis/apps/v1/deployments"),
    "StatefulSet": ("apps/v1", "/apis/apps/v1/statefulsets"),
    "DaemonSet": ("apps/v1", "/apis/apps/v1/daemonsets"),
    "ValidatingAdmissionPolicy": (
        "admissionregistration.k8s.io/v1",
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies",
    ),
    "ValidatingAdmissionPolicyBinding": (
        "admissionregistration.k8s.io/v1",
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
    ),
    "VolumeSnapshot": (
        "snapshot.storage.k8s.io/v1",
        "/apis/snapshot.storage.k8s.io/v1/volumesnapshots",
    ),
    "VolumeSnapshotContent": (
        "snapshot.storage.k8s.io/v1",
        "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents",
    ),
    "ClusterPolicy": ("kyverno.io/v1", "/apis/kyverno.io/v1/clusterpolicies"),
    "Policy": ("kyverno.io/v1", "/apis/kyverno.io/v1/policies"),
    "Application": ("argoproj.io/v1alpha1", "/apis/argoproj.io/v1alpha1/applications"),
    "Kustomization": (
        "kustomize.toolkit.fluxcd.io/v1",
        "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations",
    ),
    "HelmRelease": ("helm.toolkit.fluxcd.io/v2", "/apis/helm.toolkit.fluxcd.io/v2/helmreleases"),
    "GitRepository": (
        "source.toolkit.fluxcd.io/v1",
        "/apis/source.toolkit.fluxcd.io/v1/gitrepositories",
    ),
}
# Built into every API server (the rest are CRDs: installed or not).
ALWAYS = [
    *("Namespace", "Node", "Pod", "Secret", "ConfigMap", "PersistentVolumeClaim"),
    *("PersistentVolume", "ResourceQuota", "LimitRange", "NetworkPolicy"),
    *("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"),
    *("Deployment", "StatefulSet", "DaemonSet"),
    *("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"),
]
SNAPSHOTS = ["VolumeSnapshot", "VolumeSnapshotContent"]
GATEKEEPER = "/apis/constraints.gatekeeper.sh/v1beta1"


def secret_value(seed: str, prefix: str = "", length: int = 32) -> str:
    """A deterministic, random-looking value."""
    raw = hashlib.sha256(seed.encode()).digest() + hashlib.sha256(seed.encode() + b"2").digest()
    return prefix + base64.b32encode(raw).decode().lower().rstrip("=")[:length]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass(frozen=True)
class Placement:
    """One application deployment in the fixtures."""

    deployment: str  # development, staging, production
    tier: str  # production | non-production
    cluster: str
    namespace: str
    environment: str


DEMO_LAYOUT = (
    Placement("development", "non-production", "nonprod-wc", "shop-dev", "nonprod"),
    Placement("staging", "non-production", "nonprod-wc", "shop-staging", "nonprod"),
    Placement("production", "production", "prod-wc", "shop", "prod"),
)
THREE_CLUSTERS = (
    Placement("development", "non-production", "dev-wc", "shop-dev", "nonprod"),
    Placement("staging", "non-production", "staging-wc", "shop-staging", "nonprod"),
    Placement("production", "production", "prod-wc", "shop", "prod"),
)


@dataclass
class Builder:
    """One cluster's objects."""

    name: str
    environment: str
    tier: str  # the tier of the environment the cluster belongs to
    cluster: FakeCluster = field(init=False)
    _rv: int = 1000

    def __post_init__(self) -> None:
        self.cluster = FakeCluster(
            name=self.name,
            token=secret_value(f"token {self.name}", "evidoc-", 40),
            version={
                "major": "1",
                "minor": "31",
                "gitVersion": K8S_VERSION,
                "gitCommit": "a86c7d2b1b5d2b2f4ad7e1e2c4b3f1d0c9e8a7b6",
                "buildDate": "2025-12-10T11:20:31Z",
                "goVersion": "go1.23.4",
                "compiler": "gc",
                "platform": "linux/amd64",
            },
        )
        self.install(*ALWAYS)

    def install(self, *kinds: str) -> None:
        for kind in kinds:
            self.cluster.lists.setdefault(API[kind][1], [])

    def uninstall(self, *kinds: str) -> None:
        for kind in kinds:
            self.cluster.lists.pop(API[kind][1], None)

    def obj(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        manager: str = "argocd-controller",
        **body: Any,
    ) -> dict[str, Any]:
        api_version = API[kind][0] if kind in API else body.pop("apiVersion")
        self._rv += 1
        meta: dict[str, Any] = {
            "name": name,
            "uid": str(uuid.uuid5(UID_NS, f"{self.name}/{kind}/{namespace}/{name}")),
            "resourceVersion": str(self._rv),
            "creationTimestamp": CREATED,
        }
        if namespace:
            meta["namespace"] = namespace
        if labels:
            meta["labels"] = labels
        if annotations:
            meta["annotations"] = annotations
        meta["managedFields"] = [
            {
                "manager": manager,
                "operation": "Apply",
                "apiVersion": api_version,
                "time": CREATED,
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {}}, "f:spec": {}},
            }
        ]
        return {"apiVersion": api_version, "kind": kind, "metadata": meta, **body}

    def add(self, obj: dict[str, Any], path: str | None = None) -> dict[str, Any]:
        path = path or API[obj["kind"]][1]
        self.cluster.lists.setdefault(path, []).append(obj)
        if obj["kind"] == "Namespace" and obj["metadata"]["name"] == "kube-system":
            self.cluster.objects[f"{CORE}/namespaces/kube-system"] = obj
        return obj

    def find(self, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        for o in self.cluster.lists[API[kind][1]]:
            if o["metadata"]["name"] == name and o["metadata"].get("namespace") == namespace:
                return o
        raise KeyError(f"{kind} {namespace}/{name}")

    # -- kinds --

    def namespace(self, name: str, **labels: str) -> None:
        all_labels = {"kubernetes.io/metadata.name": name, **labels}
        self.add(self.obj("Namespace", name, labels=all_labels, status={"phase": "Active"}))

    def node(self, name: str, labels: dict[str, str], taints: list[dict[str, str]]) -> None:
        base = {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "topology.kubernetes.io/zone": f"zone-{sum(map(ord, name)) % 3 + 1}",
        }
        self.add(
            self.obj(
                "Node",
                name,
                labels={**base, **labels},
                manager="kubelet",
                spec={"taints": taints, "podCIDR": "10.244.0.0/24"},
                status={
                    "nodeInfo": {
                        "kubeletVersion": K8S_VERSION,
                        "osImage": "Ubuntu 24.04.1 LTS",
                        "containerRuntimeVersion": "containerd://1.7.24",
                    },
                    "conditions": [{"type": "Ready", "status": "True"}],
                },
            )
        )

    def secret(
        self, namespace: str, name: str, values: dict[str, str], type_: str = "Opaque"
    ) -> None:
        # Applied with kubectl: the last-applied annotation repeats the values in clear text,
        # as it does in real clusters; the collector must drop it.
        applied = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "stringData": values,
            "type": type_,
        }
        self.add(
            self.obj(
                "Secret",
                name,
                namespace,
                annotations={
                    "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied),
                    "reloader.stakater.com/match": "true",
                },
                manager="kubectl-client-side-apply",
                type=type_,
                data={k: b64(v) for k, v in values.items()},
            )
        )

    def configmap(self, namespace: str, name: str, data: dict[str, str]) -> dict[str, Any]:
        return self.add(self.obj("ConfigMap", name, namespace, data=data))

    def workload(
        self,
        kind: str,
        namespace: str,
        name: str,
        image: str,
        *,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        replicas: int = 2,
        node_selector: dict[str, str] | None = None,
        tolerations: list[dict[str, Any]] | None = None,
        affinity: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        service_account: str | None = None,
    ) -> dict[str, Any]:
        labels = {"app.kubernetes.io/name": name, **(labels or {})}
        pod: dict[str, Any] = {
            "serviceAccountName": service_account or name,
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": name.split("-")[-1],
                    "image": image,
                    "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"memory": "512Mi"},
                    },
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
                }
            ],
        }
        if node_selector:
            pod["nodeSelector"] = node_selector
        if tolerations:
            pod["tolerations"] = tolerations
        if affinity:
            pod["affinity"] = affinity
        spec: dict[str, Any] = {
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        }
        status: dict[str, Any]
        if kind == "DaemonSet":
            status = {"numberReady": 3, "desiredNumberScheduled": 3}
        else:
            spec["replicas"] = replicas
            status = {"replicas": replicas, "readyReplicas": replicas}
        if kind == "StatefulSet":
            spec["serviceName"] = name
        return self.add(
            self.obj(
                kind,
                name,
                namespace,
                labels=labels,
                annotations=annotations,
                spec=spec,
                status=status,
            )
        )

    def role(self, kind: str, name: str, rules: list[dict[str, Any]], namespace=None, **extra):
        labels = extra.pop("labels", None)
        self.add(self.obj(kind, name, namespace, labels=labels, rules=rules, **extra))

    def bind(
        self,
        role: str,
        subjects: list[tuple[str, str]],
        namespace: str | None = None,
        *,
        name: str | None = None,
        role_kind: str = "ClusterRole",
    ) -> None:
        subs = []
        for kind, who in subjects:
            if kind == "ServiceAccount":
                ns, sa = who.split("/")
                subs.append({"kind": kind, "name": sa, "namespace": ns})
            else:
                subs.append({"kind": kind, "name": who, "apiGroup": "rbac.authorization.k8s.io"})
        kind = "RoleBinding" if namespace else "ClusterRoleBinding"
        self.add(
            self.obj(
                kind,
                name or role,
                namespace,
                roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
                subjects=subs,
            )
        )

    def netpol(self, namespace: str, name: str, spec: dict[str, Any]) -> None:
        self.add(self.obj("NetworkPolicy", name, namespace, spec=spec))

    def pvc(
        self, namespace: str, name: str, size: str = "20Gi", source: dict[str, Any] | None = None
    ) -> None:
        volume = f"pvc-{uuid.uuid5(UID_NS, f'{self.name}/{namespace}/{name}')}"
        spec: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
            "storageClassName": "standard-csi",
            "volumeName": volume,
            "volumeMode": "Filesystem",
        }
        if source:
            spec["dataSource"] = source
            spec["dataSourceRef"] = source
        self.add(
            self.obj(
                "PersistentVolumeClaim",
                name,
                namespace,
                spec=spec,
                status={"phase": "Bound", "capacity": {"storage": size}},
            )
        )
        self.add(
            self.obj(
                "PersistentVolume",
                volume,
                manager="csi-provisioner",
                spec={
                    "capacity": {"storage": size},
                    "claimRef": {
                        "kind": "PersistentVolumeClaim",
                        "namespace": namespace,
                        "name": name,
                    },
                    "csi": {
                        "driver": "csi.example.com",
                        "volumeHandle": f"vol-{secret_value(f'{self.name}{volume}', '', 20)}",
                    },
                    "persistentVolumeReclaimPolicy": "Delete",
                    "storageClassName": "standard-csi",
                },
                status={"phase": "Bound"},
            )
        )

    def volume_snapshot(
        self, namespace: str, name: str, *, pvc: str | None = None, handle: str | None = None
    ) -> str:
        """A snapshot of a PVC (dynamic) or of an existing handle (pre-provisioned)."""
        self.install(*SNAPSHOTS)
        content = f"snapcontent-{uuid.uuid5(UID_NS, f'{self.name}/{namespace}/{name}')}"
        dynamic = pvc is not None
        handle = handle or f"snap-{secret_value(f'{self.name}/{namespace}/{name}', '', 20)}"
        self.add(
            self.obj(
                "VolumeSnapshot",
                name,
                namespace,
                spec={
                    "source": {"persistentVolumeClaimName": pvc}
                    if dynamic
                    else {"volumeSnapshotContentName": content},
                    "volumeSnapshotClassName": "csi-snapclass",
                },
                status={"boundVolumeSnapshotContentName": content, "readyToUse": True},
            )
        )
        source = (
            {"volumeHandle": f"vol-{secret_value(f'{self.name}/{namespace}/{pvc}', '', 20)}"}
            if dynamic
            else {"snapshotHandle": handle}
        )
        self.add(
            self.obj(
                "VolumeSnapshotContent",
                content,
                manager="csi-snapshotter",
                spec={
                    "driver": "csi.example.com",
                    "deletionPolicy": "Retain",
                    "source": source,
                    "volumeSnapshotRef": {
                        "kind": "VolumeSnapshot",
                        "namespace": namespace,
                        "name": name,
                    },
                    "volumeSnapshotClassName": "csi-snapclass",
                },
                status={"snapshotHandle": handle, "readyToUse": True},
            )
        )
        return handle


# -- the platform --

READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete", "deletecollection"]
ORG = "example.com"


def default_rbac(b: Builder) -> None:
    """The built-in roles as a fresh cluster has them (aggregated roles before aggregation)."""
    agg = "rbac.authorization.k8s.io/aggregate-to-"
    b.role(
        "ClusterRole",
        "cluster-admin",
        [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]},
        ],
    )
    for name, parent in (("admin", "admin"), ("edit", "edit"), ("view", "view")):
        b.role(
            "ClusterRole",
            name,
            [],
            aggregationRule={"clusterRoleSelectors": [{"matchLabels": {f"{agg}{parent}": "true"}}]},
        )
    b.role(
        "ClusterRole",
        "system:aggregate-to-view",
        [
            {
                "apiGroups": [""],
                "resources": [
                    "pods",
                    "services",
                    "configmaps",
                    "endpoints",
                    "persistentvolumeclaims",
                    "pods/log",
                ],
                "verbs": READ,
            },
            {
                "apiGroups": ["apps"],
                "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"],
                "verbs": READ,
            },
        ],
        labels={f"{agg}view": "true", f"{agg}edit": "true", f"{agg}admin": "true"},
    )
    b.role(
        "ClusterRole",
        "system:aggregate-to-edit",
        [
            {
                "apiGroups": [""],
                "resources": [
                    "pods",
                    "services",
                    "configmaps",
                    "secrets",
                    "persistentvolumeclaims",
                ],
                "verbs": WRITE,
            },
            {
                "apiGroups": ["apps"],
                "resources": ["deployments", "statefulsets", "daemonsets"],
                "verbs": WRITE,
            },
            {"apiGroups": [""], "resources": ["secrets"], "verbs": READ},
        ],
        labels={f"{agg}edit": "true", f"{agg}admin": "true"},
    )
    b.role(
        "ClusterRole",
        "system:aggregate-to-admin",
        [
            {
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": ["roles", "rolebindings"],
                "verbs": [*WRITE, *READ],
            },
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["networkpolicies"],
                "verbs": [*WRITE, *READ],
            },
        ],
        labels={f"{agg}admin": "true"},
    )
    b.role(
        "ClusterRole",
        "system:basic-user",
        [
            {
                "apiGroups": ["authorization.k8s.io"],
                "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                "verbs": ["create"],
            },
        ],
    )
    b.role(
        "ClusterRole",
        "system:controller:namespace-controller",
        [
            {
                "apiGroups": ["*"],
                "resources": ["*"],
                "verbs": ["delete", "deletecollection", "get", "list"],
            },
        ],
    )
    b.role(
        "ClusterRole",
        "system:node",
        [
            {
                "apiGroups": [""],
                "resources": ["pods/status", "nodes/status"],
                "verbs": ["patch", "update"],
            },
        ],
    )
    b.bind("cluster-admin", [("Group", "system:masters")])
    b.bind("system:basic-user", [("Group", "system:authenticated")])
    b.bind(
        "system:controller:namespace-controller",
        [("ServiceAccount", "kube-system/namespace-controller")],
    )
    b.bind("system:node", [("Group", "system:nodes")])
    # Read-only roles for the auditors and for evidoc's own collector.
    b.role(
        "ClusterRole",
        "auditor",
        [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": READ},
            {"nonResourceURLs": ["/version", "/healthz"], "verbs": ["get"]},
        ],
    )
    b.role(
        "ClusterRole",
        "evidoc-collector",
        [
            {
                "apiGroups": ["", "apps", "networking.k8s.io", "rbac.authorization.k8s.io"],
                "resources": ["*"],
                "verbs": ["get", "list"],
            },
        ],
    )
    b.bind("evidoc-collector", [("ServiceAccount", "evidoc/evidoc-collector")])
    b.bind("auditor", [("Group", "security-officers")], name="security-officers-audit")
    b.bind("view", [("Group", "platform-oncall")], name="platform-oncall-view")


def control_plane(b: Builder, count: int = 3, audit: bool = True, maxage: int = 30) -> None:
    for i in range(count):
        node = f"{b.name}-control-plane-{i}"
        b.node(
            node,
            {"node-role.kubernetes.io/control-plane": ""},
            [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
        )
        args = [
            "kube-apiserver",
            f"--advertise-address=10.10.0.{10 + i}",
            "--allow-privileged=true",
            "--authorization-mode=Node,RBAC",
            "--client-ca-file=/etc/kubernetes/pki/ca.crt",
            "--enable-admission-plugins=NodeRestriction",
            "--encryption-provider-config=/etc/kubernetes/encryption/config.yaml",
            "--etcd-servers=https://127.0.0.1:2379",
            f"--oidc-issuer-url=https://sso.{ORG}/realms/platform",
            "--oidc-client-id=kubernetes",
            "--oidc-groups-claim=groups",
            "--profiling=false",
            "--secure-port=6443",
            "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt",
            "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key",
        ]
        if audit:
            args += [
                "--audit-policy-file=/etc/kubernetes/audit/policy.yaml",
                "--audit-log-path=/var/log/kubernetes/audit/audit.log",
                f"--audit-log-maxage={maxage}",
                "--audit-log-maxbackup=10",
                "--audit-log-maxsize=100",
            ]
        b.add(
            b.obj(
                "Pod",
                f"kube-apiserver-{node}",
                "kube-system",
                labels={"component": "kube-apiserver", "tier": "control-plane"},
                manager="kubelet",
                spec={
                    "nodeName": node,
                    "hostNetwork": True,
                    "containers": [
                        {
                            "name": "kube-apiserver",
                            "image": f"registry.k8s.io/kube-apiserver:{K8S_VERSION}",
                            "command": args,
                        }
                    ],
                },
                status={"phase": "Running"},
            )
        )


def platform(b: Builder, workers: int = 3, database_nodes: int = 0) -> None:
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        b.namespace(ns)
    restricted = {"pod-security.kubernetes.io/enforce": "restricted"}
    for ns in ("argocd", "logging", "monitoring", "ingress-nginx", "kyverno", "evidoc"):
        b.namespace(ns, **restricted)
    control_plane(b)
    for i in range(workers):
        b.node(f"{b.name}-worker-{i}", {"node-role.kubernetes.io/worker": ""}, [])
    for i in range(database_nodes):
        b.node(
            f"{b.name}-database-{i}",
            {"node-role.example.com/database": "true"},
            [{"key": "dedicated", "value": "database", "effect": "NoSchedule"}],
        )
    default_rbac(b)
    # Platform components.
    b.workload(
        "StatefulSet",
        "argocd",
        "argocd-application-controller",
        "quay.io/argoproj/argocd:v2.13.2",
        replicas=1,
    )
    b.workload("Deployment", "argocd", "argocd-server", "quay.io/argoproj/argocd:v2.13.2")
    b.workload("Deployment", "argocd", "argocd-repo-server", "quay.io/argoproj/argocd:v2.13.2")
    b.workload(
        "DaemonSet",
        "logging",
        "fluent-bit",
        "cr.fluentbit.io/fluent/fluent-bit:3.2.2",
        tolerations=[{"operator": "Exists"}],
    )
    b.workload(
        "StatefulSet", "logging", "opensearch", "opensearchproject/opensearch:2.18.0", replicas=3
    )
    b.pvc("logging", "data-opensearch-0", "200Gi")
    b.workload(
        "StatefulSet",
        "monitoring",
        "prometheus",
        "quay.io/prometheus/prometheus:v3.0.1",
        replicas=2,
    )
    b.workload(
        "DaemonSet",
        "ingress-nginx",
        "ingress-nginx-controller",
        "registry.k8s.io/ingress-nginx/controller:v1.12.0",
    )
    b.workload(
        "Deployment",
        "kyverno",
        "kyverno-admission-controller",
        "ghcr.io/kyverno/kyverno:v1.13.2",
        replicas=3,
    )
    b.install("ClusterPolicy", "Policy", "Application")
    for name, action, rule in (
        ("disallow-host-namespaces", "Enforce", "host-namespaces"),
        ("require-run-as-nonroot", "Enforce", "run-as-non-root"),
        ("require-requests-limits", "Audit", "validate-resources"),
    ):
        b.add(
            b.obj(
                "ClusterPolicy",
                name,
                spec={
                    "validationFailureAction": action,
                    "background": True,
                    "rules": [
                        {
                            "name": rule,
                            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                            "validate": {"message": f"{rule} is required"},
                        }
                    ],
                },
                status={"conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded"}]},
            )
        )
    b.add(
        b.obj(
            "ValidatingAdmissionPolicy",
            "restrict-image-registries",
            spec={
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["apps"],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["deployments", "statefulsets"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": "object.spec.template.spec.containers.all(c, "
                        "c.image.startsWith('registry.example.com/') || "
                        "c.image.startsWith('docker.io/library/'))"
                    }
                ],
            },
        )
    )
    b.add(
        b.obj(
            "ValidatingAdmissionPolicyBinding",
            "restrict-image-registries",
            spec={
                "policyName": "restrict-image-registries",
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"shop.example.com/app": "true"}}
                },
            },
        )
    )
    # Who may do what, by tier of the environment.
    b.role(
        "Role",
        "log-retention",
        [
            {
                "apiGroups": [""],
                "resources": ["pods", "persistentvolumeclaims", "configmaps"],
                "verbs": [*READ, "delete"],
            },
            {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": [*READ, "patch"]},
        ],
        namespace="logging",
    )
    if b.tier == "production":
        b.bind(
            "log-retention",
            [("Group", "platform-oncall")],
            "logging",
            role_kind="Role",
            name="platform-oncall-log-retention",
        )
        b.bind(
            "view", [("ServiceAccount", "argocd/argocd-application-controller")], name="argocd-read"
        )
    else:
        for ns in ("argocd", "monitoring", "ingress-nginx", "kyverno"):
            b.bind("admin", [("Group", "platform-engineers")], ns, name="platform-engineers")
        b.bind("view", [("Group", "platform-engineers")], name="platform-engineers-view")
        b.bind(
            "view", [("ServiceAccount", "argocd/argocd-application-controller")], name="argocd-read"
        )


COMPONENTS = ("frontend", "api", "worker")
TAGS = {"development": "2.6.0-dev.14", "staging": "2.5.0-rc.2", "production": "2.4.1"}


def shop(b: Builder, p: Placement, *, dedicated_db: bool = False, extras: bool = False) -> None:
    """The shop application in one namespace, as Argo CD deploys it."""
    ns, app = p.namespace, f"shop-{p.deployment}"
    b.namespace(
        ns,
        **{
            "pod-security.kubernetes.io/enforce": "restricted",
            "shop.example.com/app": "true",
            "shop.example.com/tier": p.tier,
        },
    )
    tag = TAGS.get(p.deployment, "2.4.1")
    host = {"production": "shop.example.com"}.get(p.deployment, f"{p.deployment}.shop.example.com")
    db_host = f"postgres.{ns}.svc.cluster.local"

    def track(kind: str, name: str) -> dict[str, Any]:
        group = "apps"
        return {
            "labels": {"app.kubernetes.io/instance": app, "app.kubernetes.io/part-of": "shop"},
            "annotations": {"argocd.argoproj.io/tracking-id": f"{app}:{group}/{kind}:{ns}/{name}"},
        }

    resources = []
    for comp in COMPONENTS:
        b.workload(
            "Deployment",
            ns,
            comp,
            f"registry.example.com/shop/{comp}:{tag}",
            replicas=3 if p.tier == "production" else 1,
            env={"PUBLIC_URL": f"https://{host}", "DATABASE_HOST": db_host},
            **track("Deployment", comp),
        )
        resources.append(("Deployment", comp))
    db_placement: dict[str, Any] = {}
    if dedicated_db:
        db_placement = {
            "node_selector": {"node-role.example.com/database": "true"},
            "tolerations": [
                {
                    "key": "dedicated",
                    "operator": "Equal",
                    "value": "database",
                    "effect": "NoSchedule",
                }
            ],
        }
    b.workload(
        "StatefulSet",
        ns,
        "postgres",
        "docker.io/library/postgres:16.4",
        replicas=1,
        **db_placement,
        **track("StatefulSet", "postgres"),
    )
    b.workload(
        "StatefulSet",
        ns,
        "redis",
        "docker.io/library/redis:7.4.1",
        replicas=1,
        **track("StatefulSet", "redis"),
    )
    resources += [("StatefulSet", "postgres"), ("StatefulSet", "redis")]
    if extras:  # a mail catcher only development needs
        b.workload(
            "Deployment",
            ns,
            "mailpit",
            "docker.io/axllent/mailpit:v1.21",
            replicas=1,
            **track("Deployment", "mailpit"),
        )
        resources.append(("Deployment", "mailpit"))
    b.pvc(ns, "data-postgres-0", "50Gi" if p.tier == "production" else "10Gi")
    b.pvc(ns, "data-redis-0", "5Gi")
    env = p.deployment
    b.secret(
        ns,
        "postgres-credentials",
        {
            "username": "shop",
            "password": secret_value(f"{env} postgres password", "", 24),
        },
    )
    b.secret(
        ns,
        "payment-api",
        {
            "api-key": secret_value(
                f"{env} payment key", "pk_live_" if p.tier == "production" else "pk_test_", 40
            ),
            "webhook-secret": secret_value(f"{env} webhook", "whsec_", 32),
        },
    )
    b.secret(ns, "session", {"signing-key": secret_value(f"{env} session", "", 48)})
    b.secret(
        ns,
        "frontend-tls",
        {
            "tls.crt": f"-----BEGIN CERTIFICATE-----\n{secret_value(env + ' crt', '', 64)}\n"
            "-----END CERTIFICATE-----\n",
            "tls.key": f"-----BEGIN PRIVATE KEY-----\n{secret_value(env + ' key', '', 64)}\n"
            "-----END PRIVATE KEY-----\n",
        },
        "kubernetes.io/tls",
    )
    b.configmap(
        ns,
        "shop-config",
        {
            "LOG_LEVEL": "info" if p.tier == "production" else "debug",
            "PUBLIC_URL": f"https://{host}",
            "PAYMENT_API_URL": "https://api.payments.example.net/v2",
            "FEATURE_FLAGS": json.dumps(
                {"checkout-v2": p.deployment != "production", "recommendations": True}
            ),
        },
    )
    b.configmap(
        ns,
        "kube-root-ca.crt",
        {
            "ca.crt": f"-----BEGIN CERTIFICATE-----\n{secret_value(b.name + ' ca', '', 64)}\n"
            "-----END CERTIFICATE-----\n"
        },
    )
    dns = {
        "to": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }
    b.netpol(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    b.netpol(ns, "allow-dns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [dns]})
    b.netpol(
        ns,
        "allow-ingress-to-frontend",
        {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "frontend"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                            }
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": 8080}],
                }
            ],
        },
    )
    b.netpol(
        ns,
        "allow-api-to-postgres",
        {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "postgres"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}}}],
                    "ports": [{"protocol": "TCP", "port": 5432}],
                }
            ],
        },
    )
    b.add(
        b.obj(
            "ResourceQuota",
            "compute",
            ns,
            spec={
                "hard": {
                    "requests.cpu": "8" if p.tier == "production" else "4",
                    "requests.memory": "16Gi" if p.tier == "production" else "8Gi",
                    "persistentvolumeclaims": "10",
                }
            },
        )
    )
    b.add(
        b.obj(
            "LimitRange",
            "defaults",
            ns,
            spec={
                "limits": [
                    {
                        "type": "Container",
                        "default": {"memory": "512Mi"},
                        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                    }
                ]
            },
        )
    )
    # Access: developers write outside production only; production has a break-glass group.
    b.bind(
        "edit",
        [("ServiceAccount", "argocd/argocd-application-controller")],
        ns,
        name="argocd-manager",
    )
    if p.tier == "production":
        b.bind("admin", [("Group", "shop-breakglass")], ns, name="shop-breakglass")
        b.bind("view", [("Group", "shop-developers")], ns, name="shop-developers")
    else:
        b.bind("edit", [("Group", "shop-developers")], ns, name="shop-developers")
    b.add(
        b.obj(
            "Application",
            app,
            "argocd",
            spec={
                "project": "shop",
                "source": {
                    "repoURL": "https://git.example.com/shop/shop-gitops.git",
                    "path": f"envs/{p.deployment}",
                    "targetRevision": "main",
                },
                "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
                "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
            },
            status={
                "sync": {
                    "status": "Synced",
                    "revision": "3f2a9c1e7b4d5a6f8e9c0b1a2d3e4f5a6b7c8d9e",
                },
                "health": {"status": "Healthy"},
                "resources": [
                    {
                        "group": "apps",
                        "version": "v1",
                        "kind": k,
                        "namespace": ns,
                        "name": n,
                        "status": "Synced",
                        "health": {"status": "Healthy"},
                    }
                    for k, n in resources
                ],
            },
        )
    )


@dataclass
class World:
    builders: dict[str, Builder]
    layout: tuple[Placement, ...]

    @property
    def clusters(self) -> dict[str, FakeCluster]:
        return {n: b.cluster for n, b in self.builders.items()}

    def placement(self, deployment: str) -> Placement:
        return next(p for p in self.layout if p.deployment == deployment)

    def builder(self, deployment: str) -> Builder:
        return self.builders[self.placement(deployment).cluster]

    def sources_yaml(self, kubeconfig: str | None = None) -> str:
        envs: dict[str, list[str]] = {}
        tiers: dict[str, str] = {}
        for b in self.builders.values():
            envs.setdefault(b.environment, []).append(b.name)
            tiers[b.environment] = b.tier
        lines = ["environments:"]
        for env, clusters in envs.items():
            lines += [f"  - name: {env}", f"    tier: {tiers[env]}", "    clusters:"]
            for c in clusters:
                kc = f", kubeconfig: {kubeconfig}" if kubeconfig else ""
                lines.append(f"      - {{name: {c}, context: {c}{kc}}}")
        lines.append("deployments:")
        for p in self.layout:
            lines.append(
                f"  - {{name: {p.deployment}, tier: {p.tier}, cluster: {p.cluster}, "
                f"namespaces: [{p.namespace}]}}"
            )
        return "\n".join(lines) + "\n"


def build_world(layout: tuple[Placement, ...] = DEMO_LAYOUT) -> World:
    builders: dict[str, Builder] = {}
    for p in layout:
        if p.cluster not in builders:
            env_tier = "production" if p.tier == "production" else "non-production"
            builders[p.cluster] = Builder(p.cluster, p.environment, env_tier)
            platform(builders[p.cluster], database_nodes=2 if p.tier == "production" else 0)
    for p in layout:
        b = builders[p.cluster]
        shop(b, p, dedicated_db=p.tier == "production", extras=p.deployment == "development")
    # Backups: production snapshots its database nightly and restore-tests it in production.
    for p in layout:
        if p.tier != "production":
            continue
        b = builders[p.cluster]
        handle = b.volume_snapshot(p.namespace, "postgres-nightly-20261121", pvc="data-postgres-0")
        b.namespace("restore-test", **{"pod-security.kubernetes.io/enforce": "restricted"})
        b.volume_snapshot("restore-test", "postgres-nightly-20261121", handle=handle)
        b.pvc(
            "restore-test",
            "restore-check",
            "50Gi",
            {
                "apiGroup": "snapshot.storage.k8s.io",
                "kind": "VolumeSnapshot",
                "name": "postgres-nightly-20261121",
            },
        )
    # Development seeds its database from a snapshot of generated test data.
    dev = next((p for p in layout if p.deployment == "development"), None)
    if dev is not None:
        b = builders[dev.cluster]
        b.volume_snapshot(dev.namespace, "synthetic-seed", pvc="data-postgres-0")
        b.pvc(
            dev.namespace,
            "seed-data",
            "10Gi",
            {
                "apiGroup": "snapshot.storage.k8s.io",
                "kind": "VolumeSnapshot",
                "name": "synthetic-seed",
            },
        )
    return World(builders, layout)


def production_payment_key() -> str:
    return secret_value("production payment key", "pk_live_", 40)


def demo_world() -> World:
    """The shipped demo: production is in good shape except that someone pasted the production
    payment API key into the staging configuration."""
    world = build_world(DEMO_LAYOUT)
    staging = world.placement("staging")
    cm = world.builder("staging").find("ConfigMap", staging.namespace, "shop-config")
    cm["data"]["PAYMENT_API_KEY"] = production_payment_key()
    return world


def scale_world(clusters: int = 3, objects: int = 20_000) -> dict[str, FakeCluster]:
    """The three-cluster world, each cluster filled up to `objects` objects."""
    layout = THREE_CLUSTERS[:clusters] if clusters <= 3 else THREE_CLUSTERS
    world = build_world(layout)
    for b in world.builders.values():
        team = 0
        while b.cluster.count() < objects:
            ns = f"team-{team:04d}"
            team += 1
            b.namespace(ns, **{"pod-security.kubernetes.io/enforce": "baseline"})
            for i in range(8):
                b.workload(
                    "Deployment",
                    ns,
                    f"svc-{i}",
                    f"registry.example.com/{ns}/svc-{i}:1.0.{i}",
                    env={"LOG_LEVEL": "info"},
                    labels={"team": ns},
                )
            for i in range(2):
                b.workload(
                    "StatefulSet", ns, f"store-{i}", "docker.io/library/postgres:16.4", replicas=1
                )
            for i in range(15):
                b.configmap(
                    ns,
                    f"config-{i}",
                    {"app.yaml": f"name: svc-{i}\nreplicas: 2\n", "LOG_LEVEL": "info"},
                )
            for i in range(12):
                b.secret(ns, f"secret-{i}", {"token": secret_value(f"{b.name}{ns}{i}")})
            for i in range(4):
                b.bind("edit", [("Group", f"{ns}-developers")], ns, name=f"developers-{i}")
            b.netpol(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
            b.netpol(ns, "allow-dns", {"podSelector": {}, "policyTypes": ["Egress"]})
            for i in range(2):
                b.pvc(ns, f"data-store-{i}", "5Gi")
            b.add(b.obj("ResourceQuota", "compute", ns, spec={"hard": {"requests.cpu": "4"}}))
    return world.clusters
