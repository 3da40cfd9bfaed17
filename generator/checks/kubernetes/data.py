"""`kubernetes.no-production-data`: no production data in any non-production deployment.

For each non-production deployment (its namespaces) against production (the whole of a cluster
only production uses; the production namespaces of a shared cluster):

- volumes: no PVC cloned from a production PVC or restored from a production VolumeSnapshot
  (traced through VolumeSnapshotContent handles, so a pre-provisioned copy of a production
  snapshot in another cluster is found), and no PV on a production volume handle; a PVC restored
  from a snapshot that no longer exists cannot be traced and fails;
- values: no Secret value equal to a production Secret or ConfigMap value, no ConfigMap value
  equal to a production Secret value, and no ConfigMap value under a credential-like key
  (password, token, api key, ...) equal to a production ConfigMap value; equality is by keyed
  digest, values shorter than 8 bytes and certificates (`*.crt`) are not compared;
- endpoints (parameter `production_endpoints: [hosts]`): no Secret, ConfigMap or workload
  environment value names a production host. The collector searches values for the hosts the
  practices configure; hosts it was not told about give `not-collected`.
"""

from __future__ import annotations

import re
from typing import Any

from generator.checks.context import CheckContext
from generator.checks.kubernetes.topology import (
    Cluster,
    Deployment,
    ParamError,
    Reader,
    Topology,
    blocking,
    both_tiers,
    param_error,
    string_list,
    workload_reads,
)
from generator.results import CheckResult, ResultStatus

SENSITIVE = re.compile(
    r"pass|secret|token|api[-_.]?key|private|credential|dsn|connection|(^|[-_.])key$", re.I
)
PUBLIC = (".crt", ".cert", ".pub")
SKIP_TYPES = frozenset({"kubernetes.io/service-account-token"})
CORE = ("persistentvolumeclaims", "persistentvolumes", "secrets", "configmaps")
SNAPSHOTS = ("volumesnapshots", "volumesnapshotcontents")


def _scope(topo: Topology, cluster: Cluster, prod: list[Deployment]) -> set[str] | None:
    """Production namespaces of a cluster; None when production is all the cluster holds."""
    if topo.cluster_tiers(cluster.name) == {"production"}:
        return None
    return {ns for p in prod if p.cluster.name == cluster.name for ns in p.namespaces}


def _in(scope: set[str] | None, namespace: str | None) -> bool:
    return scope is None or namespace in scope


def _values(objs: list[dict[str, Any]], kind: str):
    for obj in objs:
        if obj.get("type") in SKIP_TYPES:
            continue
        for key, v in (obj.get("keys") or {}).items():
            if v.get("short") or key.endswith(PUBLIC):
                continue
            yield obj, key, v


class Production:
    """Everything of production the comparison needs, indexed."""

    def __init__(self, reader: Reader, topo: Topology, prod: list[Deployment]) -> None:
        self.values: dict[str, list[tuple[str, str, bool]]] = {}  # digest -> (label, kind, key?)
        self.snapshots: dict[str, str] = {}  # snapshot handle -> label
        self.volumes: dict[str, str] = {}  # volume handle -> label
        self.key_ids: set[str] = set()
        for cluster in {p.cluster.name: p.cluster for p in prod}.values():
            scope = _scope(topo, cluster, prod)
            for kind, resource in (("Secret", "secrets"), ("ConfigMap", "configmaps")):
                data = reader.data(cluster, resource)
                self.key_ids.add(str(data.get("digest_key_id")))
                objs = [o for o in data.get("items") or [] if _in(scope, o.get("namespace"))]
                for obj, key, v in _values(objs, kind):
                    label = (
                        f"{kind} {obj.get('namespace')}/{obj.get('name')}[{key}] ({cluster.name})"
                    )
                    self.values.setdefault(v["hmac"], []).append(
                        (label, kind, bool(SENSITIVE.search(key)))
                    )
            for pv in reader.items(cluster, "persistentvolumes"):
                handle = (pv.get("csi") or {}).get("volumeHandle")
                if handle and _in(scope, (pv.get("claim") or {}).get("namespace")):
                    claim = pv.get("claim") or {}
                    self.volumes[handle] = (
                        f"volume of {claim.get('namespace')}/{claim.get('name')} ({cluster.name})"
                    )
            contents = reader.items(cluster, "volumesnapshotcontents")
            # Name a snapshot after the one taken of a volume, not after its later copies.
            contents.sort(key=lambda c: not (c.get("source") or {}).get("volumeHandle"))
            for vsc in contents:
                ref = vsc.get("volumeSnapshotRef") or {}
                if not _in(scope, ref.get("namespace")):
                    continue
                label = f"snapshot {ref.get('namespace')}/{ref.get('name')} ({cluster.name})"
                for handle in (
                    vsc.get("snapshotHandle"),
                    (vsc.get("source") or {}).get("snapshotHandle"),
                ):
                    if handle:
                        self.snapshots.setdefault(handle, label)
                volume = (vsc.get("source") or {}).get("volumeHandle")
                if volume:
                    self.volumes.setdefault(volume, label)


def _volume_findings(
    reader: Reader, topo: Topology, n: Deployment, prod_deps: list[Deployment], prod: Production
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    cluster = n.cluster
    scope = (
        _scope(topo, cluster, prod_deps)
        if cluster.name in {p.cluster.name for p in prod_deps}
        else set()
    )
    pvs = {pv.get("name"): pv for pv in reader.items(cluster, "persistentvolumes")}
    snaps = {
        (s.get("namespace"), s.get("name")): s for s in reader.items(cluster, "volumesnapshots")
    }
    contents = {c.get("name"): c for c in reader.items(cluster, "volumesnapshotcontents")}
    for pvc in reader.items(cluster, "persistentvolumeclaims"):
        if not n.owns(pvc):
            continue
        label = f"PVC {pvc.get('namespace')}/{pvc.get('name')}"
        at = f"{pvc.get('namespace')}/PersistentVolumeClaim/{pvc.get('name')}"
        pv = pvs.get(pvc.get("volumeName")) or {}
        handle = (pv.get("csi") or {}).get("volumeHandle")
        if handle and handle in prod.volumes:
            found.append((at, f"{label} uses the production {prod.volumes[handle]}"))
        src = pvc.get("dataSourceRef") or pvc.get("dataSource")
        if not src:
            continue
        kind, name = src.get("kind"), src.get("name")
        ns = src.get("namespace") or pvc.get("namespace")
        if scope and ns in scope:
            found.append((at, f"{label} was made from {kind} {ns}/{name}, which is production's"))
            continue
        if kind == "VolumeSnapshot":
            snap = snaps.get((ns, name))
            if snap is None:
                found.append(
                    (
                        at,
                        f"{label} was restored from VolumeSnapshot {ns}/{name}, which no longer "
                        "exists, so its origin cannot be shown",
                    )
                )
                continue
            content = contents.get(snap.get("boundVolumeSnapshotContentName")) or {}
            handles = [
                content.get("snapshotHandle"),
                (content.get("source") or {}).get("snapshotHandle"),
            ]
            hit = next((h for h in handles if h and h in prod.snapshots), None)
            volume = (content.get("source") or {}).get("volumeHandle")
            if hit:
                found.append(
                    (at, f"{label} was restored from the production {prod.snapshots[hit]}")
                )
            elif volume and volume in prod.volumes:
                found.append(
                    (
                        at,
                        f"{label} was restored from a snapshot of the production "
                        f"{prod.volumes[volume]}",
                    )
                )
        elif kind == "PersistentVolumeClaim":
            source_pvc = next(
                (
                    p
                    for p in reader.items(cluster, "persistentvolumeclaims")
                    if p.get("namespace") == ns and p.get("name") == name
                ),
                None,
            )
            source_pv = pvs.get((source_pvc or {}).get("volumeName")) or {}
            volume = (source_pv.get("csi") or {}).get("volumeHandle")
            if volume and volume in prod.volumes:
                found.append((at, f"{label} was cloned from the production {prod.volumes[volume]}"))
    return found


def _value_findings(
    reader: Reader, n: Deployment, prod: Production
) -> tuple[list[tuple[str, str]], int]:
    found: list[tuple[str, str]] = []
    compared = 0
    for kind, resource in (("Secret", "secrets"), ("ConfigMap", "configmaps")):
        objs = [o for o in reader.items(n.cluster, resource) if n.owns(o)]
        for obj, key, v in _values(objs, kind):
            compared += 1
            for label, pkind, psensitive in prod.values.get(v["hmac"], []):
                sensitive = psensitive or bool(SENSITIVE.search(key))
                if kind == "Secret" or pkind == "Secret" or sensitive:
                    ns, name = obj.get("namespace"), obj.get("name")
                    found.append(
                        (
                            f"{ns}/{kind}/{name}[{key}]",
                            f"{kind} {ns}/{name}[{key}] has the value of production {label}",
                        )
                    )
                    break
    return found, compared


def _endpoint_findings(
    reader: Reader, n: Deployment, hosts: list[str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """Findings, and the hosts the collector was not told to search for."""
    found: list[tuple[str, str]] = []
    unsearched: set[str] = set()
    resources = [("Secret", "secrets"), ("ConfigMap", "configmaps")]
    resources += [("workload", r) for r in ("deployments", "statefulsets", "daemonsets")]
    for kind, resource in resources:
        data = reader.data(n.cluster, resource)
        searched = {h.lower() for h in data.get("endpoints_searched") or []}
        unsearched |= {h for h in hosts if h not in searched}
        for obj in data.get("items") or []:
            if not n.owns(obj):
                continue
            ns, name = obj.get("namespace"), obj.get("name")
            where = f"{ns}/{name}"
            if kind == "workload":
                for h in obj.get("endpoints") or []:
                    if h in hosts:
                        found.append(
                            (
                                f"{ns}/{resource}/{name}",
                                f"{where} has an environment value naming {h}",
                            )
                        )
                continue
            for key, v in (obj.get("keys") or {}).items():
                for h in v.get("endpoints") or []:
                    if h in hosts:
                        found.append(
                            (f"{ns}/{kind}/{name}[{key}]", f"{kind} {where}[{key}] names {h}")
                        )
    return found, sorted(unsearched)


def _by_object(findings: list[tuple[str, str]]) -> dict[str, str]:
    """Object -> everything found about it, in the order found."""
    grouped: dict[str, list[str]] = {}
    for at, text in findings:
        grouped.setdefault(at, []).append(text)
    return {at: "; ".join(texts) for at, texts in grouped.items()}


def check_no_production_data(ctx: CheckContext) -> list[CheckResult]:
    try:
        hosts = sorted({h.strip().lower() for h in string_list(ctx.params, "production_endpoints")})
    except ParamError as exc:
        return param_error(ctx, exc)
    split = both_tiers(ctx)
    if isinstance(split, list):
        return split
    topo, prod, nonprod, results = split
    reader = Reader(ctx)
    prod_clusters = list({p.cluster.name: p.cluster for p in prod}.values())
    prod_reads = [reader.read(c, r) for c in prod_clusters for r in CORE]
    prod_optional = [reader.read(c, r) for c in prod_clusters for r in SNAPSHOTS]
    index: Production | None = None
    for n in nonprod:
        subject = n.name
        reads = [
            *prod_reads,
            *(reader.read(n.cluster, r) for r in CORE),
            *workload_reads(reader, n.cluster),
        ]
        optional = [*prod_optional, *(reader.read(n.cluster, r) for r in SNAPSHOTS)]
        bad = blocking(ctx, subject, reads, optional, n.cluster.environment)
        if bad:
            results.append(bad)
            continue
        ids = [r.id for r in (*reads, *optional)]
        if index is None:
            index = Production(reader, topo, prod)
        key_ids = set(index.key_ids)
        for r in ("secrets", "configmaps"):
            key_ids.add(str(reader.data(n.cluster, r).get("digest_key_id")))
        if len(key_ids) > 1:
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.error,
                    "Secret and ConfigMap digests were made with different keys, so values "
                    "cannot be compared; collect production and non-production in one run",
                    ids,
                    n.cluster.environment,
                )
            )
            continue
        volumes = _volume_findings(reader, topo, n, prod, index)
        values, compared = _value_findings(reader, n, index)
        endpoints, unsearched = _endpoint_findings(reader, n, hosts) if hosts else ([], [])
        findings = [*volumes, *values, *endpoints]
        if findings:
            # One result per object found, so a gate names exactly what to clean up.
            results.extend(
                ctx.result(
                    at,
                    ResultStatus.failed,
                    f"production data in {n.name}: {text}",
                    ids,
                    n.cluster.environment,
                    details={"deployment": n.name},
                )
                for at, text in _by_object(findings).items()
            )
        elif unsearched:
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.not_collected,
                    f"the evidence of {n.cluster.name} was collected without searching for "
                    f"{', '.join(unsearched)}; run evidoc collect again",
                    ids,
                    n.cluster.environment,
                )
            )
        else:
            ep = (
                f"; no value names {', '.join(hosts)}"
                if hosts
                else "; production endpoints not checked (set production_endpoints)"
            )
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.passed,
                    f"no production data in {n.name}: none of its {compared} Secret and "
                    "ConfigMap values equals a production value and no volume comes from "
                    f"production{ep}",
                    ids,
                    n.cluster.environment,
                )
            )
    return results
