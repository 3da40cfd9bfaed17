"""The Kubernetes checks, on snapshots collected from the stand-in's fixtures (in-process)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from generator.loader import load_library
from generator.pipeline import evaluate
from generator.results import CheckResult
from generator.snapshot.store import load_snapshot
from tests.kube.offline import AT, CHECK_IDS, offline_snapshot, write_instance
from tests.kube.world import (
    API,
    DEMO_LAYOUT,
    THREE_CLUSTERS,
    Placement,
    World,
    build_world,
    demo_world,
    secret_value,
)

Results = dict[tuple[str, str], CheckResult]


def run(
    tmp_path: Path,
    world: World,
    *,
    params: dict[str, dict[str, Any]] | None = None,
    sources: str | None = None,
    endpoints: list[str] | None = None,
    as_of: dt.datetime = AT,
    key: bytes | None = None,
) -> Results:
    root = write_instance(tmp_path / "inst", world, params=params, sources=sources)
    kwargs = {"key": key} if key else {}
    snap = offline_snapshot(world, tmp_path / "snapshots", endpoints=endpoints, **kwargs)
    results = evaluate(load_library(root), load_snapshot(snap), as_of)
    # Production data fails once per object found; tests read them per deployment, joined.
    out: Results = {}
    for r in results.results:
        key = (r.check.removeprefix("kubernetes."), r.details.get("deployment", r.subject))
        if key in out:
            r = out[key].model_copy(update={"reason": f"{out[key].reason}; {r.reason}"})
        out[key] = r
    return out


def statuses(results: Results, check: str) -> dict[str, str]:
    return {s: r.status.value for (c, s), r in results.items() if c == check}


def test_demo_world_fails_only_on_the_planted_staging_value(tmp_path: Path) -> None:
    results = run(tmp_path, demo_world())
    failing = {k: r.reason for k, r in results.items() if r.status.value != "pass"}
    assert list(failing) == [("no-production-data", "staging")]
    reason = failing[("no-production-data", "staging")]
    assert "ConfigMap shop-staging/shop-config[PAYMENT_API_KEY]" in reason
    assert "Secret shop/payment-api[api-key]" in reason
    assert {c for c, _ in results} == {c.removeprefix("kubernetes.") for c in CHECK_IDS}
    for r in results.values():
        assert r.evidence, r  # every result names the evidence it read
        assert all(e.startswith("kubernetes/") for e in r.evidence)


# -- isolation levels --

SHARED = (
    Placement("development", "non-production", "shared-wc", "shop-dev", "platform"),
    Placement("production", "production", "shared-wc", "shop", "platform"),
)


def _pin_production_to_database_nodes(world: World) -> None:
    b = world.builder("production")
    for kind in ("Deployment", "StatefulSet"):
        for obj in b.cluster.lists[API[kind][1]]:
            if obj["metadata"].get("namespace") == "shop":
                pod = obj["spec"]["template"]["spec"]
                pod["nodeSelector"] = {"node-role.example.com/database": "true"}
                pod["tolerations"] = [
                    {
                        "key": "dedicated",
                        "operator": "Equal",
                        "value": "database",
                        "effect": "NoSchedule",
                    }
                ]


def test_isolation_namespace_level_in_a_shared_cluster_fails(tmp_path: Path) -> None:
    results = run(tmp_path, build_world(SHARED))
    r = results[("isolation-level", "production <-> development")]
    assert r.status.value == "fail"
    assert "namespace isolation, below the required cluster isolation" in r.reason
    assert "kubernetes/platform/shared-wc/nodes" in r.evidence


def test_isolation_node_level_when_production_has_dedicated_nodes(tmp_path: Path) -> None:
    world = build_world(SHARED)
    _pin_production_to_database_nodes(world)
    params = {"kubernetes.isolation-level": {"required": {"production": "node"}}}
    r = run(tmp_path, world, params=params)[("isolation-level", "production <-> development")]
    assert r.status.value == "pass", r.reason
    assert "node isolation" in r.reason and "(required: at least node)" in r.reason


def test_isolation_labels_level_in_one_namespace(tmp_path: Path) -> None:
    world = build_world(SHARED)
    sources = """\
environments:
  - name: platform
    clusters: [{name: shared-wc, context: shared-wc}]
deployments:
  - name: development
    tier: non-production
    cluster: shared-wc
    namespaces: [shop]
    labels: {app.kubernetes.io/instance: shop-development}
  - name: production
    tier: production
    cluster: shared-wc
    namespaces: [shop]
    labels: {app.kubernetes.io/instance: shop-production}
"""
    params = {"kubernetes.isolation-level": {"required": {"production": "labels"}}}
    results = run(tmp_path, world, sources=sources, params=params)
    r = results[("isolation-level", "production <-> development")]
    assert r.status.value == "pass" and "labels isolation" in r.reason
    assert "share namespace shop" in r.reason


def test_isolation_cluster_level_within_one_environment(tmp_path: Path) -> None:
    layout = tuple(
        Placement(p.deployment, p.tier, p.cluster, p.namespace, "platform") for p in THREE_CLUSTERS
    )
    world = build_world(layout)
    ok = run(tmp_path / "a", world)[("isolation-level", "production <-> staging")]
    assert ok.status.value == "pass" and "cluster isolation" in ok.reason
    params = {"kubernetes.isolation-level": {"required": {"production": "environment"}}}
    bad = run(tmp_path / "b", world, params=params)[("isolation-level", "production <-> staging")]
    assert bad.status.value == "fail"
    assert "below the required environment isolation" in bad.reason


def test_two_names_for_one_cluster_are_caught_by_kube_system_uid(tmp_path: Path) -> None:
    world = demo_world()
    prod = world.builders["prod-wc"].cluster.objects["/api/v1/namespaces/kube-system"]
    nonprod = world.builders["nonprod-wc"].cluster.objects["/api/v1/namespaces/kube-system"]
    nonprod["metadata"]["uid"] = prod["metadata"]["uid"]
    r = run(tmp_path, world)[("isolation-level", "production <-> staging")]
    assert r.status.value == "fail"
    assert "are one cluster" in r.reason


def test_isolation_rejects_unknown_levels(tmp_path: Path) -> None:
    params = {"kubernetes.isolation-level": {"required": {"production": "vm"}}}
    results = run(tmp_path, demo_world(), params=params)
    assert statuses(results, "isolation-level") == {"parameters": "error"}
    assert "unknown level 'vm'" in results[("isolation-level", "parameters")].reason


# -- RBAC --


def test_rbac_aggregated_role_bound_in_both_environments_fails(tmp_path: Path) -> None:
    world = demo_world()
    for name, ns in (("prod-wc", "shop"), ("nonprod-wc", "shop-staging")):
        b = world.builders[name]
        b.role(
            "ClusterRole",
            "shop-operator",
            [],
            aggregationRule={
                "clusterRoleSelectors": [
                    {
                        "matchExpressions": [
                            {"key": "example.com/aggregate-to-shop-operator", "operator": "Exists"}
                        ]
                    }
                ]
            },
        )
        b.role(
            "ClusterRole",
            "shop-operator-scale",
            [{"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["patch"]}],
            labels={"example.com/aggregate-to-shop-operator": "true"},
        )
        b.bind("shop-operator", [("User", "alice@example.com")], ns, name="alice")
    results = run(tmp_path, world)
    r = results[("rbac-write-separation", "production <-> staging")]
    assert r.status.value == "fail"
    assert "user:alice@example.com" in r.reason and "ClusterRole shop-operator" in r.reason
    # Alice writes in staging's namespace, not in development's (their cluster is shared).
    dev = results[("rbac-write-separation", "production <-> development")]
    assert dev.status.value == "pass", dev.reason


def test_rbac_wildcards_for_everyone_and_exemptions(tmp_path: Path) -> None:
    world = demo_world()
    for b in world.builders.values():
        b.role(
            "ClusterRole", "everything", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
        )
        b.bind("everything", [("Group", "system:authenticated")], name="oops")
    r = run(tmp_path / "a", world)[("rbac-write-separation", "production <-> development")]
    assert r.status.value == "fail" and "group:system:authenticated" in r.reason
    params = {"kubernetes.rbac-write-separation": {"exempt": ["group:system:authenticated"]}}
    r = run(tmp_path / "b", world, params=params)[
        ("rbac-write-separation", "production <-> development")
    ]
    assert r.status.value == "pass", r.reason


# -- network policies --


def _policy(world: World, name: str) -> dict[str, Any]:
    return world.builders["prod-wc"].find("NetworkPolicy", "shop", name)


def test_default_deny_egress_missing(tmp_path: Path) -> None:
    world = demo_world()
    _policy(world, "default-deny")["spec"]["policyTypes"] = ["Ingress"]
    r = run(tmp_path, world)[("default-deny", "production/shop")]
    assert r.status.value == "fail"
    assert "no default-deny egress policy" in r.reason


def test_allow_all_egress_rule_is_not_a_default_deny(tmp_path: Path) -> None:
    world = demo_world()
    _policy(world, "default-deny")["spec"]["egress"] = [{}]
    r = run(tmp_path, world)[("default-deny", "production/shop")]
    assert r.status.value == "fail" and "egress" in r.reason


def test_default_deny_for_a_namespace_that_does_not_exist(tmp_path: Path) -> None:
    world = demo_world()
    sources = world.sources_yaml().replace("namespaces: [shop]", "namespaces: [shop, payments]")
    r = run(tmp_path, world, sources=sources)[("default-deny", "production/payments")]
    assert r.status.value == "fail" and "does not exist" in r.reason


# -- audit --


def _apiserver_args(world: World, cluster: str) -> list[list[str]]:
    pods = world.builders[cluster].cluster.lists["/api/v1/pods"]
    return [p["spec"]["containers"][0]["command"] for p in pods]


def test_audit_logging_short_retention_and_off(tmp_path: Path) -> None:
    world = demo_world()
    for args in _apiserver_args(world, "prod-wc"):
        args[:] = [a.replace("maxage=30", "maxage=7") for a in args]
    for args in _apiserver_args(world, "nonprod-wc"):
        args[:] = [a for a in args if not a.startswith("--audit")]
    results = run(tmp_path, world)
    prod = results[("audit-logging", "prod-wc")]
    assert prod.status.value == "fail" and "--audit-log-maxage is 7" in prod.reason
    nonprod = results[("audit-logging", "nonprod-wc")]
    assert nonprod.status.value == "fail" and "no --audit-policy-file" in nonprod.reason


def test_audit_logging_webhook_and_managed_control_plane(tmp_path: Path) -> None:
    world = demo_world()
    for args in _apiserver_args(world, "prod-wc"):
        args[:] = [a for a in args if not a.startswith("--audit-log")]
        args.append("--audit-webhook-config-file=/etc/kubernetes/audit/webhook.yaml")
    world.builders["nonprod-wc"].cluster.lists["/api/v1/pods"].clear()
    results = run(tmp_path, world)
    assert results[("audit-logging", "prod-wc")].status.value == "pass"
    managed = results[("audit-logging", "nonprod-wc")]
    assert managed.status.value == "not-collected"
    assert "no kube-apiserver pod is visible" in managed.reason


def test_audit_access_extra_deleter_and_writable_auditor_role(tmp_path: Path) -> None:
    world = demo_world()
    prod = world.builders["prod-wc"]
    prod.bind("edit", [("Group", "shop-developers")], "logging", name="oops")
    auditor = next(
        r for r in prod.cluster.lists[API["ClusterRole"][1]] if r["metadata"]["name"] == "auditor"
    )
    auditor["rules"].append({"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]})
    r = run(tmp_path, world)[("audit-access", "prod-wc")]
    assert r.status.value == "fail"
    assert "group:shop-developers can delete" in r.reason
    assert "auditor role auditor is not read-only: it allows delete" in r.reason


def test_audit_access_missing_namespace_and_role(tmp_path: Path) -> None:
    params = {
        "kubernetes.audit-access": {
            "operators": ["platform-oncall"],
            "namespaces": ["audit-logs"],
            "auditor_role": "nope",
        }
    }
    r = run(tmp_path, demo_world(), params=params)[("audit-access", "prod-wc")]
    assert r.status.value == "fail" and "none of the audit/log namespaces" in r.reason
    params["kubernetes.audit-access"]["namespaces"] = ["logging"]
    r = run(tmp_path / "b", demo_world(), params=params)[("audit-access", "prod-wc")]
    assert r.status.value == "fail" and "the auditor role nope does not exist" in r.reason


# -- DTAP parity --


def test_parity_lists_missing_components_and_other_repositories(tmp_path: Path) -> None:
    world = demo_world()
    b = world.builder("staging")
    b.cluster.lists[API["StatefulSet"][1]] = [
        o
        for o in b.cluster.lists[API["StatefulSet"][1]]
        if (o["metadata"].get("namespace"), o["metadata"]["name"]) != ("shop-staging", "redis")
    ]
    api = b.find("Deployment", "shop-staging", "api")
    api["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/someone/api:latest"
    worker = b.find("Deployment", "shop-staging", "worker")
    worker["spec"]["replicas"] = 0
    r = run(tmp_path, world)[("dtap-parity", "production <-> staging")]
    assert r.status.value == "fail"
    assert "redis is missing" in r.reason and "worker is missing" in r.reason
    assert "api does not run registry.example.com/shop/api (runs ghcr.io/someone/api)" in r.reason
    dev = run(tmp_path / "b", demo_world())[("dtap-parity", "production <-> development")]
    assert dev.status.value == "pass" and "only here: mailpit" in dev.reason


# -- production data --


def test_staging_restored_from_a_copy_of_the_production_snapshot(tmp_path: Path) -> None:
    world = build_world(DEMO_LAYOUT)
    prod = world.builders["prod-wc"]
    nightly = prod.find(
        "VolumeSnapshotContent",
        None,
        next(
            o["metadata"]["name"]
            for o in prod.cluster.lists[API["VolumeSnapshotContent"][1]]
            if o["spec"]["volumeSnapshotRef"]["namespace"] == "shop"
        ),
    )
    staging = world.builder("staging")
    staging.volume_snapshot("shop-staging", "from-prod", handle=nightly["status"]["snapshotHandle"])
    staging.pvc(
        "shop-staging",
        "data-postgres-restore",
        source={
            "apiGroup": "snapshot.storage.k8s.io",
            "kind": "VolumeSnapshot",
            "name": "from-prod",
        },
    )
    dev = world.builder("development")
    dev.pvc(
        "shop-dev",
        "mystery",
        source={"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "deleted"},
    )
    results = run(tmp_path, world)
    r = results[("no-production-data", "staging")]
    assert r.status.value == "fail"
    assert (
        "PVC shop-staging/data-postgres-restore was restored from the production snapshot "
        "shop/postgres-nightly-20261121 (prod-wc)" in r.reason
    )
    d = results[("no-production-data", "development")]
    assert d.status.value == "fail" and "no longer exists" in d.reason


def test_secret_value_shared_with_production(tmp_path: Path) -> None:
    world = build_world(DEMO_LAYOUT)
    password = secret_value("production postgres password", "", 24)
    world.builder("development").secret("shop-dev", "copied", {"DB_PASSWORD": password})
    r = run(tmp_path, world)[("no-production-data", "development")]
    assert r.status.value == "fail"
    assert (
        "Secret shop-dev/copied[DB_PASSWORD] has the value of production Secret "
        "shop/postgres-credentials[password]" in r.reason
    )


def test_production_endpoints_in_non_production_configuration(tmp_path: Path) -> None:
    world = build_world(DEMO_LAYOUT)
    world.builder("staging").configmap(
        "shop-staging",
        "reporting",
        {"DATABASE_URL": "postgres://reporting@db.prod.example.internal:5432/shop"},
    )
    params = {
        "kubernetes.no-production-data": {"production_endpoints": ["db.prod.example.internal"]}
    }
    r = run(tmp_path / "a", world, params=params, endpoints=["db.prod.example.internal"])[
        ("no-production-data", "staging")
    ]
    assert r.status.value == "fail"
    assert (
        "ConfigMap shop-staging/reporting[DATABASE_URL] names db.prod.example.internal" in r.reason
    )
    # Evidence collected without searching for the endpoint cannot pass.
    r = run(tmp_path / "b", build_world(DEMO_LAYOUT), params=params)[
        ("no-production-data", "staging")
    ]
    assert r.status.value == "not-collected" and "without searching" in r.reason


# -- GitOps --


def test_gitops_out_of_sync_and_unmanaged(tmp_path: Path) -> None:
    world = demo_world()
    prod = world.builders["prod-wc"]
    app = prod.find("Application", "argocd", "shop-production")
    app["status"]["sync"]["status"] = "OutOfSync"
    prod.workload("Deployment", "shop", "debug-shell", "docker.io/library/busybox:1.37")
    r = run(tmp_path, world)[("gitops-managed", "production")]
    assert r.status.value == "fail"
    assert "not managed by Argo CD or Flux: Deployment shop/debug-shell" in r.reason
    assert "out of sync" in r.reason and "OutOfSync" in r.reason


def test_gitops_without_any_controller_fails_and_flux_passes(tmp_path: Path) -> None:
    world = demo_world()
    for b in world.builders.values():
        b.uninstall("Application")
    r = run(tmp_path / "a", world)[("gitops-managed", "production")]
    assert r.status.value == "fail" and "neither Argo CD" in r.reason
    prod = world.builders["prod-wc"]
    prod.install("Kustomization")
    entries = [
        {"id": f"shop_{n}_apps_{k}", "v": "v1"}
        for k, n in (
            ("Deployment", "frontend"),
            ("Deployment", "api"),
            ("Deployment", "worker"),
            ("StatefulSet", "postgres"),
            ("StatefulSet", "redis"),
        )
    ]
    prod.add(
        prod.obj(
            "Kustomization",
            "shop",
            "flux-system",
            spec={
                "sourceRef": {"kind": "GitRepository", "name": "shop-gitops"},
                "path": "./envs/production",
            },
            status={
                "conditions": [
                    {"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded"}
                ],
                "lastAppliedRevision": "main@sha1:3f2a9c1e",
                "lastAttemptedRevision": "main@sha1:3f2a9c1e",
                "inventory": {"entries": entries},
            },
        )
    )
    r = run(tmp_path / "b", world)[("gitops-managed", "production")]
    assert r.status.value == "pass", r.reason
    assert "Flux Kustomization flux-system/shop" in r.reason


# -- evidence that is missing, forbidden, stale or from another key never passes --


def test_forbidden_evidence_gives_not_collected(tmp_path: Path) -> None:
    world = demo_world()
    world.builders["prod-wc"].cluster.forbidden.add("/api/v1/secrets")
    world.builders["nonprod-wc"].cluster.forbidden.add("/apis/rbac.authorization.k8s.io/v1")
    results = run(tmp_path, world)
    for subject in ("development", "staging"):
        r = results[("no-production-data", subject)]
        assert r.status.value == "not-collected"
        assert "kubernetes/prod/prod-wc/secrets" in r.reason and "403" in r.reason
    assert results[("audit-access", "nonprod-wc")].status.value == "not-collected"
    assert results[("audit-access", "prod-wc")].status.value == "pass"


def test_stale_evidence_never_passes(tmp_path: Path) -> None:
    results = run(tmp_path, demo_world(), as_of=AT + dt.timedelta(days=8))
    assert {r.status.value for r in results.values()} == {"stale"}
    assert all("older than its time-to-live" in r.reason for r in results.values())


@pytest.mark.parametrize("check", CHECK_IDS)
def test_no_check_passes_without_evidence(tmp_path: Path, check: str) -> None:
    world = demo_world()
    for b in world.builders.values():
        b.cluster.forbidden.update({"/api", "/apis"})
    results = run(tmp_path, world)
    mine = [r for (c, _), r in results.items() if c == check.removeprefix("kubernetes.")]
    assert mine and all(r.status.value in ("not-collected", "error") for r in mine), mine


def test_missing_items_give_not_collected(tmp_path: Path) -> None:
    world = demo_world()
    root = write_instance(tmp_path / "inst", world)
    from generator.snapshot.store import SnapshotWriter

    writer = SnapshotWriter(tmp_path / "snapshots", AT)
    writer.add("unrelated", {}, collector="test", query="-", collected_at=AT, ttl=60)
    snap = load_snapshot(writer.commit())
    results = evaluate(load_library(root), snap, AT).results
    assert results and {r.status.value for r in results} == {"not-collected"}
    assert all("was not collected" in r.reason for r in results)


def test_digests_from_different_keys_are_not_compared(tmp_path: Path) -> None:
    world = demo_world()
    root = write_instance(tmp_path / "inst", world)
    a = offline_snapshot(world, tmp_path / "a", key=b"k" * 32)
    b = offline_snapshot(world, tmp_path / "b", key=b"j" * 32)
    # Graft the non-production secrets collected with another key into the first snapshot.
    from generator.snapshot.store import SnapshotWriter

    writer = SnapshotWriter(tmp_path / "mixed", AT)
    for src in (a, b):
        snap = load_snapshot(src)
        for item in snap.manifest.items:
            take = ("nonprod" in item.id) == (src == b)
            if take:
                data = snap.get(item.id, AT).data or {"status": item.status.value}
                writer.add(
                    item.id,
                    data,
                    collector=item.collector,
                    query=item.query,
                    collected_at=AT,
                    ttl=item.ttl,
                    status=item.status,
                    environment=item.environment,
                    detail=item.detail,
                )
    results = evaluate(load_library(root), load_snapshot(writer.commit()), AT).results
    r = next(r for r in results if r.check == "kubernetes.no-production-data")
    assert r.status.value == "error" and "different keys" in r.reason
