"""No secret value reaches a snapshot.

One marker string is planted in every string field of every object the stand-in API server
serves (tests/kube/world.py), after adding the kinds the demo world lacks: Secret and ConfigMap
values, annotations, env values, container command and args, the userinfo and query of every URL
(Argo CD and Flux sources, the cluster's API server), Kyverno policies (with a generate rule that
carries an inline Secret), Gatekeeper constraints and their violations, Helm values, and the
API server's own flags. The only fields left alone are the ones listed in KEPT below: each is one
a check reads (names, labels, images, RBAC rules, ...), so the collector keeps it on purpose. The
snapshot is then searched, every file of it, manifest included, for the marker.

KEPT is this test's own copy of the collector's allow-lists: a field the collector starts to keep
without being listed here makes the test fail, which is the point.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.collect.digest import Redactor
from generator.collect.kube_resources import ITEM_NAMES
from generator.collect.kubernetes import RetryPolicy, collect_all
from generator.collect.redact import scrub_urls, strip_credentials
from generator.snapshot.store import SnapshotWriter, load_snapshot
from tests.kube.offline import AT, KEY, offline_targets
from tests.kube.world import GATEKEEPER, Builder, World, demo_world

MARKER = "Mk7f3a9c2e-planted-secret-0d41"
FORMS = (MARKER.encode(), base64.b64encode(MARKER.encode()))
# Query parameters that carry credentials: Git forges, S3/GCS pre-signed URLs, Azure SAS.
CREDENTIAL_PARAMS = (
    "token",
    "access_token",
    "private_token",
    "password",
    "secret",
    "sig",
    "signature",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "X-Goog-Signature",
)

FieldPath = tuple[str | int, ...]
Pattern = tuple[str, ...]  # "*": any one key or index; "**": anything below

# -- what the collector keeps on purpose: string fields a check reads, per kind --

IDENTITY: tuple[Pattern, ...] = (("metadata", "name"), ("metadata", "namespace"))
LABELS: tuple[Pattern, ...] = (("metadata", "labels", "*"),)
SELECTOR: tuple[Pattern, ...] = (
    ("matchLabels", "*"),
    ("matchExpressions", "*", "key"),
    ("matchExpressions", "*", "operator"),
    ("matchExpressions", "*", "values", "*"),
)
RULE = ("rules", "*")
RBAC_RULES: tuple[Pattern, ...] = tuple(
    (*RULE, field, "*") for field in ("apiGroups", "resources", "verbs", "nonResourceURLs")
)
POD = ("spec", "template", "spec")
NODE_TERMS = (
    *POD,
    "affinity",
    "nodeAffinity",
    "requiredDuringSchedulingIgnoredDuringExecution",
    "nodeSelectorTerms",
    "*",
)
WORKLOAD: tuple[Pattern, ...] = (
    *LABELS,
    ("metadata", "annotations", "argocd.argoproj.io/tracking-id"),
    ("metadata", "ownerReferences", "*", "kind"),
    ("metadata", "ownerReferences", "*", "name"),
    ("spec", "template", "metadata", "labels", "*"),
    (*POD, "nodeSelector", "*"),
    *((*POD, "tolerations", "*", f) for f in ("key", "operator", "value", "effect")),
    *(
        (*NODE_TERMS, group, "*", f)
        for group in ("matchExpressions", "matchFields")
        for f in ("key", "operator")
    ),
    *((*NODE_TERMS, group, "*", "values", "*") for group in ("matchExpressions", "matchFields")),
    (*POD, "containers", "*", "image"),
    (*POD, "initContainers", "*", "image"),
)
SOURCE_REF = ("kind", "name", "namespace")
FLUX_STATUS: tuple[Pattern, ...] = (
    *(("status", "conditions", "*", f) for f in ("type", "status", "reason")),
    ("status", "lastAppliedRevision"),
    ("status", "lastAttemptedRevision"),
    ("status", "inventory", "entries", "*", "id"),
)
KEPT: dict[str, tuple[Pattern, ...]] = {
    "NetworkPolicy": (
        *(("spec", "podSelector", *p) for p in SELECTOR),
        ("spec", "policyTypes", "*"),
        ("spec", "ingress", "**"),
        ("spec", "egress", "**"),
    ),
    "Role": RBAC_RULES,
    "ClusterRole": (
        *LABELS,
        *RBAC_RULES,
        *(("aggregationRule", "clusterRoleSelectors", "*", *p) for p in SELECTOR),
    ),
    "RoleBinding": (
        ("roleRef", "kind"),
        ("roleRef", "name"),
        *(("subjects", "*", f) for f in ("kind", "name", "namespace")),
    ),
    "Node": (*LABELS, *(("spec", "taints", "*", f) for f in ("key", "value", "effect"))),
    "Deployment": WORKLOAD,
    "PersistentVolumeClaim": (
        *LABELS,
        ("spec", "volumeName"),
        *(("spec", ref, f) for ref in ("dataSource", "dataSourceRef") for f in SOURCE_REF),
    ),
    "PersistentVolume": (
        ("spec", "claimRef", "namespace"),
        ("spec", "claimRef", "name"),
        ("spec", "csi", "volumeHandle"),
    ),
    "Secret": (*LABELS, ("type",)),
    "ConfigMap": LABELS,
    "VolumeSnapshot": (("status", "boundVolumeSnapshotContentName"),),
    "VolumeSnapshotContent": (
        ("spec", "source", "volumeHandle"),
        ("spec", "source", "snapshotHandle"),
        ("spec", "volumeSnapshotRef", "namespace"),
        ("spec", "volumeSnapshotRef", "name"),
        ("status", "snapshotHandle"),
    ),
    "Application": (
        ("spec", "source", "chart"),
        ("spec", "source", "targetRevision"),
        ("spec", "sources", "*", "chart"),
        ("spec", "sources", "*", "targetRevision"),
        ("spec", "destination", "name"),
        ("status", "sync", "status"),
        *(("status", "resources", "*", f) for f in ("kind", "namespace", "name", "status")),
    ),
    "Kustomization": FLUX_STATUS,
    "GitRepository": tuple(
        ("spec", "ref", f) for f in ("branch", "tag", "semver", "name", "commit")
    ),
    "K8sRequiredLabels": (
        ("kind",),
        *(("status", "violations", "*", f) for f in ("kind", "namespace", "name")),
    ),
}
KEPT["ClusterRoleBinding"] = KEPT["RoleBinding"]
KEPT["StatefulSet"] = KEPT["DaemonSet"] = WORKLOAD
KEPT["HelmRelease"] = FLUX_STATUS
# URL fields: kept, so the marker goes into their userinfo, query and fragment instead.
URLS: dict[str, tuple[Pattern, ...]] = {
    "Application": (
        ("spec", "source", "repoURL"),
        ("spec", "sources", "*", "repoURL"),
        ("spec", "destination", "server"),
    ),
    "GitRepository": (("spec", "url"),),
}
VERSION_KEPT = {"gitVersion", "major", "minor", "platform"}


def matches(path: FieldPath, pattern: Pattern) -> bool:
    for i, part in enumerate(pattern):
        if part == "**":
            return True
        if i >= len(path) or (part != "*" and part != path[i]):
            return False
    return len(path) == len(pattern)


def kept(kind: str, obj: dict[str, Any], path: FieldPath, value: str) -> bool:
    if any(matches(path, p) for p in (*IDENTITY, *KEPT.get(kind, ()))):
        return True
    if kind == "Namespace" and path == ("metadata", "uid"):
        return obj["metadata"]["name"] == "kube-system"  # the cluster's identity
    if kind == "Pod" and path == ("metadata", "labels", "component"):
        return True  # the list's label selector: not kept, but the server needs it
    if kind == "Pod" and _is_argument(path):
        # kubernetes.audit-logging reads the --audit-* flags: `--audit-x=v` or `--audit-x v`.
        args = obj["spec"]["containers"][path[2]][path[3]]
        before = args[path[4] - 1] if path[4] else ""
        bare_audit_flag = before.startswith("--audit-") and "=" not in before
        return value.startswith("--audit-") or (bare_audit_flag and not value.startswith("-"))
    return False


def _is_argument(path: FieldPath) -> bool:
    return any(matches(path, ("spec", "containers", "*", a, "*")) for a in ("command", "args"))


def with_credentials(url: str) -> str:
    """The URL with the marker as its password and in every credential-like parameter."""
    scheme, rest = url.split("://", 1)
    query = "&".join(f"{name}={MARKER}" for name in CREDENTIAL_PARAMS)
    return f"{scheme}://deploy-bot:{MARKER}@{rest}?{query}#access_token={MARKER}"


def _leaves(node: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, Any, str | int]]:
    """(path, container, key) of every string leaf; dict keys are names and stay."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(items):
        if isinstance(value, str):
            yield (*path, key), node, key
        elif isinstance(value, dict | list):
            yield from _leaves(value, (*path, key))


def plant(obj: dict[str, Any]) -> int:
    kind = obj.get("kind") or ""
    planted = 0
    for path, parent, key in list(_leaves(obj)):
        value = parent[key]
        if any(matches(path, p) for p in URLS.get(kind, ())):
            parent[key] = with_credentials(value)
        elif kept(kind, obj, path, value):
            continue
        elif kind == "Pod" and _is_argument(path) and value.startswith("--"):
            name, eq, _ = value.partition("=")
            if not eq:
                continue  # a flag's name; its value is the next argument
            parent[key] = f"{name}={MARKER}"
        elif (kind, path[0]) in (("Secret", "data"), ("ConfigMap", "binaryData")):
            parent[key] = base64.b64encode(MARKER.encode()).decode()
        else:
            parent[key] = MARKER
        planted += 1
    return planted


# -- the kinds the demo world does not have, each carrying values that must not leak --


def _annotate(obj: dict[str, Any]) -> None:
    """Annotations as tools write them: whole manifests, env values, notes."""
    obj["metadata"].setdefault("annotations", {}).update(
        {
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            "kapp.k14s.io/original": '{"env": [{"name": "DB_PASSWORD", "value": "x"}]}',
            "example.com/note": "rotated by hand",
        }
    )


def add_uncommon_kinds(b: Builder) -> None:
    b.install("Kustomization", "HelmRelease", "GitRepository", "Policy")
    leaky = b.workload(
        "Deployment",
        "shop",
        "leaky",
        "registry.example.com/shop/api:2.4.1",
        env={"DB_PASSWORD": "x", "PUBLIC_URL": "https://shop.example.com"},
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                    ]
                },
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 1,
                        "preference": {
                            "matchExpressions": [
                                {"key": "disk", "operator": "In", "values": ["ssd"]}
                            ]
                        },
                    }
                ],
            },
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"topologyKey": "kubernetes.io/hostname", "labelSelector": {}}
                ]
            },
        },
        tolerations=[
            {"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}
        ],
    )
    pod = leaky["spec"]["template"]["spec"]
    pod["containers"][0]["command"] = ["/app/api", "--db-password=x"]
    pod["containers"][0]["args"] = ["--api-key", "x", "--dsn=postgres://shop:x@db/shop"]
    pod["containers"][0]["env"].append(
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}
    )
    pod["initContainers"] = [
        {
            "name": "migrate",
            "image": "registry.example.com/shop/migrate:2.4.1",
            "args": ["--password", "x"],
            "env": [{"name": "PGPASSWORD", "value": "x"}],
        }
    ]
    leaky["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "name": "leaky",
            "uid": "u",
            "controller": True,
        }
    ]
    b.configmap("shop", "binary", {"plain": "x"})["binaryData"] = {"blob": "eA=="}
    b.add(
        b.obj(
            "Secret",
            "applied",
            "shop",
            type="Opaque",
            data={"password": "eA=="},
            stringData={"token": "x"},
        )
    )
    b.add(
        b.obj(
            "Application",
            "shop-charts",
            "argocd",
            spec={
                "project": "shop",
                "sources": [
                    {
                        "repoURL": "https://charts.example.com/stable",
                        "chart": "shop",
                        "targetRevision": "2.4.1",
                        "helm": {
                            "values": "db:\n  password: x\n",
                            "valuesObject": {"db": {"password": "x"}},
                            "parameters": [{"name": "db.password", "value": "x"}],
                        },
                    },
                    {
                        "repoURL": "https://git.example.com/shop/shop-gitops.git",
                        "path": "charts/values",
                        "targetRevision": "main",
                        "ref": "values",
                    },
                ],
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
            },
            status={
                "sync": {"status": "Synced", "revision": "3f2a9c1e"},
                "health": {"status": "Healthy", "message": "x"},
                "conditions": [{"type": "ComparisonError", "message": "x"}],
                "operationState": {"message": "x"},
            },
        )
    )
    b.add(
        b.obj(
            "GitRepository",
            "shop-gitops",
            "flux-system",
            spec={
                "url": "https://github.com/acme/shop-gitops.git",
                "ref": {"branch": "main"},
                "interval": "1m",
                "secretRef": {"name": "git-auth"},
                "proxySecretRef": {"name": "proxy"},
            },
            status={
                "artifact": {"url": "http://source-controller/gitrepository/x.tar.gz"},
                "conditions": [{"type": "Ready", "status": "False", "message": "x"}],
            },
        )
    )
    ready = {"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded", "message": "x"}
    b.add(
        b.obj(
            "Kustomization",
            "shop",
            "flux-system",
            spec={
                "sourceRef": {"kind": "GitRepository", "name": "shop-gitops"},
                "path": "./envs/production",
                "postBuild": {"substitute": {"DB_PASSWORD": "x"}},
                "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}},
                "suspend": False,
            },
            status={
                "conditions": [ready],
                "lastAppliedRevision": "main@sha1:3f2a9c1e",
                "lastAttemptedRevision": "main@sha1:3f2a9c1e",
                "inventory": {"entries": [{"id": "shop_api_apps_Deployment", "v": "v1"}]},
            },
        )
    )
    b.add(
        b.obj(
            "HelmRelease",
            "redis",
            "shop",
            spec={
                "chart": {"spec": {"chart": "redis", "version": "20.x"}},
                "values": {"auth": {"password": "x"}, "extraEnv": [{"name": "A", "value": "x"}]},
                "valuesFrom": [{"kind": "Secret", "name": "redis-values"}],
            },
            status={"conditions": [ready], "lastAttemptedRevision": "20.1.0"},
        )
    )
    generate = {
        "name": "registry-credentials",
        "match": {"any": [{"resources": {"kinds": ["Namespace"]}}]},
        "generate": {
            "apiVersion": "v1",
            "kind": "Secret",
            "name": "registry-credentials",
            "namespace": "{{request.object.metadata.name}}",
            "synchronize": True,
            "data": {
                "type": "kubernetes.io/dockerconfigjson",
                "data": {".dockerconfigjson": "eyJhdXRocyI6e319"},
                "stringData": {"password": "x"},
            },
        },
    }
    b.add(
        b.obj(
            "ClusterPolicy",
            "generate-registry-credentials",
            spec={"rules": [generate], "validationFailureAction": "Audit"},
            status={"conditions": [{"type": "Ready", "status": "True", "message": "x"}]},
        )
    )
    b.add(
        b.obj(
            "Policy",
            "inject-token",
            "shop",
            spec={
                "rules": [
                    {
                        "name": "add-token",
                        "mutate": {
                            "patchStrategicMerge": {"metadata": {"annotations": {"t": "x"}}}
                        },
                    }
                ]
            },
        )
    )
    b.cluster.discovery[GATEKEEPER] = {
        "kind": "APIResourceList",
        "groupVersion": "constraints.gatekeeper.sh/v1beta1",
        "resources": [{"name": "k8srequiredlabels", "kind": "K8sRequiredLabels"}],
    }
    b.add(
        b.obj(
            "K8sRequiredLabels",
            "owner-label",
            apiVersion="constraints.gatekeeper.sh/v1beta1",
            spec={
                "enforcementAction": "dryrun",
                "match": {"kinds": [{"apiGroups": [""], "kinds": ["Namespace"]}]},
                "parameters": {"labels": ["owner"], "message": "x", "apiToken": "x"},
            },
            status={
                "totalViolations": 1,
                "violations": [
                    {
                        "kind": "Namespace",
                        "name": "restore-test",
                        "message": "x",
                        "enforcementAction": "dryrun",
                    }
                ],
            },
        ),
        f"{GATEKEEPER}/k8srequiredlabels",
    )
    apiserver = next(p for p in b.cluster.lists["/api/v1/pods"])
    apiserver["spec"]["containers"][0]["command"] += [
        "--etcd-servers=https://etcd:x@127.0.0.1:2379",
        "--oidc-client-secret",
        "x",
        "--audit-webhook-config-file",
        "/etc/kubernetes/audit/webhook.yaml",
        "--token-auth-file",
        "/etc/kubernetes/tokens.csv",
    ]
    apiserver["spec"]["containers"][0]["env"] = [{"name": "AWS_SECRET_ACCESS_KEY", "value": "x"}]


def leaky_world() -> tuple[World, int, set[str]]:
    """The demo world with the uncommon kinds, the marker planted everywhere it may go: the
    world, how many fields hold the marker, and the kinds that hold it."""
    world = demo_world()
    planted, kinds = 0, set()
    for b in world.builders.values():
        add_uncommon_kinds(b)
        for version_field in b.cluster.version:
            if version_field not in VERSION_KEPT:
                b.cluster.version[version_field] = MARKER
        for objs in b.cluster.lists.values():
            for obj in objs:
                _annotate(obj)
                n = plant(obj)
                planted += n
                if n:
                    kinds.add(obj["kind"])
    return world, planted, kinds


def collect_offline(world: World, out: Path) -> Path:
    targets = offline_targets(world)
    for t in targets:
        # The kubeconfig's server URL, as written by someone who pasted a token into it.
        t.config.cluster.server = with_credentials(t.config.cluster.server)
    writer = SnapshotWriter(out, AT)
    collect_all(
        targets,
        writer,
        Redactor(KEY, ["api.payments.example.net"]),
        clock=lambda: AT,
        retry=RetryPolicy(attempts=1, backoff=0),
    )
    return writer.commit()


def _found(node: Any, path: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if any(f.decode() in str(k) for f in FORMS):
                yield f"{path}/{k} (a key)"
            yield from _found(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _found(v, f"{path}/{i}")
    elif isinstance(node, str) and any(f.decode() in node for f in FORMS):
        yield f"{path} = {node[:120]!r}"


def test_a_marker_planted_in_every_field_reaches_no_snapshot_file(tmp_path: Path) -> None:
    world, planted, kinds = leaky_world()
    served = {
        o["kind"]
        for b in world.builders.values()
        for objs in b.cluster.lists.values()
        for o in objs
    }
    assert kinds == served, f"kinds without a planted field: {served - kinds}"
    assert planted > 1000
    path = collect_offline(world, tmp_path / "snapshots")

    snap = load_snapshot(path)
    statuses = {i.id: i.status.value for i in snap.manifest.items}
    assert len(statuses) == len(world.builders) * len(ITEM_NAMES)
    # Every item was read: a projection that failed would leave nothing to leak from.
    assert set(statuses.values()) == {"ok"}, {k: v for k, v in statuses.items() if v != "ok"}

    files = [p for p in path.rglob("*") if p.is_file()]
    assert len(files) == len(statuses) + 1
    leaks: list[str] = []
    for file in files:
        content = file.read_bytes()
        if any(form in content for form in FORMS):
            where = list(_found(json.loads(content))) or ["(not in a JSON string)"]
            leaks += [f"{file.relative_to(path)}: {w}" for w in where]
    assert not leaks, "the marker reached the snapshot:\n" + "\n".join(leaks)


def _items(path: Path, item_id: str) -> list[dict[str, Any]]:
    snap = load_snapshot(path)
    item = next(i for i in snap.manifest.items if i.id == item_id)
    return json.loads((path / item.path).read_bytes())["items"]


def test_what_the_checks_read_is_still_collected(tmp_path: Path) -> None:
    world, _, _ = leaky_world()
    path = collect_offline(world, tmp_path / "snapshots")
    prod = "kubernetes/prod/prod-wc"
    snap = load_snapshot(path)
    cluster = next(i for i in snap.manifest.items if i.id == f"{prod}/cluster")
    assert cluster.source == "https://prod-wc.cluster.test:6443"
    assert json.loads((path / cluster.path).read_bytes())["server"] == cluster.source

    repos = {r["name"]: r for r in _items(path, f"{prod}/flux-gitrepositories")}
    assert repos["shop-gitops"]["spec"] == {
        "url": "https://github.com/acme/shop-gitops.git",
        "ref": {"branch": "main"},
    }
    apps = {a["name"]: a for a in _items(path, f"{prod}/argocd-applications")}
    assert apps["shop-charts"]["sources"] == [
        {
            "repoURL": "https://charts.example.com/stable",
            "chart": "shop",
            "targetRevision": "2.4.1",
        },
        {"repoURL": "https://git.example.com/shop/shop-gitops.git", "targetRevision": "main"},
    ]
    assert apps["shop-production"]["destination"] == {"server": "https://kubernetes.default.svc"}

    deployments = {d["name"]: d for d in _items(path, f"{prod}/deployments")}
    api = deployments["api"]
    assert api["annotations"] == {
        "argocd.argoproj.io/tracking-id": "shop-production:apps/Deployment:shop/api"
    }
    assert api["template"]["containers"] == [{"image": "registry.example.com/shop/api:2.4.1"}]
    assert deployments["leaky"]["owners"] == [{"kind": "Rollout", "name": "leaky"}]
    assert deployments["leaky"]["template"]["initContainers"] == [
        {"image": "registry.example.com/shop/migrate:2.4.1"}
    ]

    (pod, *_) = _items(path, f"{prod}/apiserver")
    assert pod["args"] == [
        "--audit-policy-file=/etc/kubernetes/audit/policy.yaml",
        "--audit-log-path=/var/log/kubernetes/audit/audit.log",
        "--audit-log-maxage=30",
        "--audit-log-maxbackup=10",
        "--audit-log-maxsize=100",
        "--audit-webhook-config-file=/etc/kubernetes/audit/webhook.yaml",
    ]
    secrets = {s["name"]: s for s in _items(path, f"{prod}/secrets")}
    assert set(secrets["applied"]["keys"]) == {"password", "token"}
    assert all(
        set(v) <= {"hmac", "short", "endpoints"} for v in secrets["applied"]["keys"].values()
    )
    # Annotation names of Secrets stay (which tool manages them); their values never do.
    assert secrets["payment-api"]["annotations"] == {
        "example.com/note": None,
        "kapp.k14s.io/original": None,
        "reloader.stakater.com/match": None,
    }
    policies = _items(path, f"{prod}/kyverno-clusterpolicies")
    assert {"name": "generate-registry-credentials"} in policies
    (constraint,) = _items(path, f"{prod}/gatekeeper-constraints")
    assert constraint == {
        "kind": "K8sRequiredLabels",
        "name": "owner-label",
        "totalViolations": 1,
        "violations": [{"kind": "Namespace", "name": "restore-test"}],
    }


# -- URLs --

CLEAN = (
    (
        "https://git.example.com/shop/shop-gitops.git",
        "https://git.example.com/shop/shop-gitops.git",
    ),
    ("https://git:glpat-x1@gitlab.com/a/b.git", "https://gitlab.com/a/b.git"),
    ("https://x-access-token:ghs_1@github.com/a/b", "https://github.com/a/b"),
    ("https://ghp_1@github.com/a/b", "https://github.com/a/b"),
    ("ssh://git@github.com:22/a/b.git", "ssh://github.com:22/a/b.git"),
    ("https://u:p@w@host/a/b", "https://host/a/b"),
    ("https://host/a.tgz?X-Amz-Credential=A%2F1&X-Amz-Signature=f0&v=2", "https://host/a.tgz?v=2"),
    ("https://host/a?x-amz-security-token=1&ref=main", "https://host/a?ref=main"),
    (
        "https://acct.blob.core.windows.net/c/b?sv=2022&sig=abc%3D",
        "https://acct.blob.core.windows.net/c/b?sv=2022",
    ),
    ("https://gitlab.com/api/v4/x?private_token=1", "https://gitlab.com/api/v4/x"),
    ("https://host/x?access_token=1&Token=2&PASSWORD=3&client_secret=4", "https://host/x"),
    ("https://host/x?signature=1&apikey=2&api_key=3", "https://host/x"),
    ("https://host/x#access_token=1", "https://host/x"),
    ("https://[::1]:6443", "https://[::1]:6443"),
    ("https://a:b@[::1", "https://[::1"),
    ("git@github.com:acme/shop.git", "git@github.com:acme/shop.git"),
    ("not a url", "not a url"),
)


@pytest.mark.parametrize(("raw", "clean"), CLEAN)
def test_strip_credentials(raw: str, clean: str) -> None:
    assert strip_credentials(raw) == clean


def test_scrub_urls_cleans_urls_inside_any_string() -> None:
    raw = {
        "args": ["--etcd-servers=https://u:p@h1:2379,https://v:q@h2:2379", "plain"],
        "message": "failed to fetch https://bot:tok@git.example.com/a/b?token=t: 401",
        "n": 3,
    }
    assert scrub_urls(raw) == {
        "args": ["--etcd-servers=https://h1:2379,https://h2:2379", "plain"],
        "message": "failed to fetch https://git.example.com/a/b: 401",
        "n": 3,
    }
