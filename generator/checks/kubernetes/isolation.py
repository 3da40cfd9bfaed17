"""`kubernetes.isolation-level`: the isolation reached between every pair of application
deployments of different tiers, against the level required.

Levels, weakest first:
  labels       same namespace, told apart only by labels
  namespace    same cluster, different namespaces
  node         same cluster, but no node can run workloads of both (node selectors, required
               node affinity and taints decide where each workload may be scheduled)
  cluster      different clusters of one environment
  environment  different environments: nothing shared

Two clusters only count as different when their kube-system namespaces have different UIDs, so
two names for one cluster are caught. Parameters: `required: {tier: level}`, the minimum level
between a deployment of that tier and any deployment of another tier (default: production at
least cluster).
"""

from __future__ import annotations

from typing import Any

from generator.checks.context import CheckContext
from generator.checks.kubernetes.topology import (
    Deployment,
    ParamError,
    Reader,
    Topology,
    blocking,
    param_error,
    problem_results,
    topology,
    workload_reads,
    workloads,
)
from generator.collect.kube_resources import CLUSTER
from generator.results import CheckResult, ResultStatus

LEVELS = ("labels", "namespace", "node", "cluster", "environment")
DEFAULT_REQUIRED = {"production": "cluster"}
TIERS = ("production", "non-production")
REMEDY = {
    "labels": "give each deployment its own labels",
    "namespace": "give each deployment namespaces of its own",
    "node": "pin each deployment to nodes of its own (node selectors and taints)",
    "cluster": "run the deployments in different clusters",
    "environment": "run the deployments in separate environments",
}


def _required(params: dict[str, Any]) -> dict[str, str]:
    raw = params.get("required", DEFAULT_REQUIRED)
    if not isinstance(raw, dict):
        raise ParamError("'required' must map a tier to a level, e.g. {production: cluster}")
    for tier, level in raw.items():
        if tier not in TIERS:
            raise ParamError(f"unknown tier {tier!r} in 'required'; tiers: {', '.join(TIERS)}")
        if level not in LEVELS:
            raise ParamError(f"unknown level {level!r} for {tier}; levels: {', '.join(LEVELS)}")
    return {str(k): str(v) for k, v in raw.items()}


# -- where a workload may be scheduled --


def _tolerates(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        op = t.get("operator") or "Equal"
        if not t.get("key") and op == "Exists":
            return True
        if t.get("key") != taint.get("key"):
            continue
        if op == "Exists" or (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _expression(expr: dict[str, Any], labels: dict[str, str]) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    value = labels.get(key)
    if op == "In":
        return value in values
    if op == "NotIn":
        return value not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            a, b = int(value), int(values[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def _term(term: dict[str, Any], node: dict[str, Any]) -> bool:
    labels = node.get("labels") or {}
    fields = {"metadata.name": node.get("name")}
    return all(_expression(e, labels) for e in term.get("matchExpressions") or []) and all(
        _expression(e, fields) for e in term.get("matchFields") or []
    )


def may_run_on(template: dict[str, Any], node: dict[str, Any]) -> bool:
    labels = node.get("labels") or {}
    for k, v in (template.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    required = (
        ((template.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        or {}
    ).get("nodeSelectorTerms") or []
    if required and not any(_term(t, node) for t in required):
        return False
    tolerations = template.get("tolerations") or []
    return all(
        _tolerates(tolerations, taint)
        for taint in node.get("taints") or []
        if taint.get("effect") in ("NoSchedule", "NoExecute")
    )


def nodes_for(objs: list[tuple[str, dict[str, Any]]], nodes: list[dict[str, Any]]) -> set[str]:
    return {n["name"] for _, obj in objs for n in nodes if may_run_on(obj.get("template") or {}, n)}


# -- pairs --


def _same_cluster_level(reader: Reader, a: Deployment, b: Deployment) -> tuple[str, str]:
    nodes = reader.items(a.cluster, "nodes")
    wa, wb = workloads(reader, a), workloads(reader, b)
    if wa and wb:
        na, nb = nodes_for(wa, nodes), nodes_for(wb, nodes)
        shared = na & nb
        if not shared:
            return "node", (
                f"share cluster {a.cluster.name} but no node can run workloads of both "
                f"({len(na)} node(s) for {a.name}, {len(nb)} for {b.name})"
            )
        node_note = f"; {len(shared)} node(s) can run workloads of both"
    else:
        empty = a.name if not wa else b.name
        node_note = f"; {empty} has no workloads, so node isolation cannot be shown"
    if set(a.namespaces) & set(b.namespaces):
        shared_ns = ", ".join(sorted(set(a.namespaces) & set(b.namespaces)))
        return "labels", f"share namespace {shared_ns} in cluster {a.cluster.name}{node_note}"
    return "namespace", f"share cluster {a.cluster.name} in different namespaces{node_note}"


def check_isolation(ctx: CheckContext) -> list[CheckResult]:
    try:
        required = _required(ctx.params)
    except ParamError as exc:
        return param_error(ctx, exc)
    topo = topology(ctx)
    if not isinstance(topo, Topology):
        return [topo]
    reader = Reader(ctx)
    results = problem_results(ctx, topo)
    deps = topo.deployments
    pairs = [(a, b) for i, a in enumerate(deps) for b in deps[i + 1 :] if a.tier != b.tier]
    if not pairs:
        return [
            *results,
            ctx.result(
                "all",
                ResultStatus.error,
                "sources.yaml has no two application deployments of different tiers to compare",
                [],
            ),
        ]
    for a, b in pairs:
        if b.tier == "production":  # production first, for stable subjects
            a, b = b, a
        subject = f"{a.name} <-> {b.name}"
        need = max(
            (required[t] for t in (a.tier, b.tier) if t in required),
            key=LEVELS.index,
            default=None,
        )
        ids = [reader.read(a.cluster, CLUSTER), reader.read(b.cluster, CLUSTER)]
        bad = blocking(ctx, subject, ids)
        if bad:
            results.append(bad)
            continue
        ia, ib = reader.data(a.cluster, CLUSTER), reader.data(b.cluster, CLUSTER)
        evidence = [r.id for r in ids]
        same = ia.get("kube_system_uid") == ib.get("kube_system_uid")
        if not same and a.cluster.environment != b.cluster.environment:
            level = "environment"
            how = (
                f"run in separate environments ({a.cluster.environment}: {a.cluster.name}; "
                f"{b.cluster.environment}: {b.cluster.name})"
            )
        elif not same:
            level = "cluster"
            how = (
                f"run in different clusters ({a.cluster.name}, {b.cluster.name}) of "
                f"environment {a.cluster.environment}"
            )
        else:
            reads = [reader.read(a.cluster, "nodes"), *workload_reads(reader, a.cluster)]
            bad = blocking(ctx, subject, [*ids, *reads])
            if bad:
                results.append(bad)
                continue
            evidence += [r.id for r in reads]
            level, how = _same_cluster_level(reader, a, b)
            if a.cluster.name != b.cluster.name:
                how += (
                    f" ({a.cluster.name} and {b.cluster.name} are one cluster: "
                    "their kube-system namespaces have the same UID)"
                )
        reached = f"{a.name} and {b.name} {how}: {level} isolation"
        if need is None:
            status, reason = ResultStatus.passed, f"{reached}; no minimum is required"
        elif LEVELS.index(level) >= LEVELS.index(need):
            status, reason = ResultStatus.passed, f"{reached} (required: at least {need})"
        else:
            status = ResultStatus.failed
            reason = f"{reached}, below the required {need} isolation; {REMEDY[need]}"
        details = {"level": level, **({"required": need} if need else {})}
        results.append(ctx.result(subject, status, reason, evidence, details=details))
    return results
