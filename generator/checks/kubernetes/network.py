"""`kubernetes.default-deny`: every production namespace has NetworkPolicies that deny all
ingress and all egress by default.

A policy denies a direction by default when it selects every pod of the namespace (an empty
pod selector), names the direction in `policyTypes` (or, for ingress, leaves `policyTypes`
out) and allows nothing in that direction (no rules). One policy may cover both directions.
Policies of CNI-specific kinds (Cilium, Calico) are not read.
"""

from __future__ import annotations

from typing import Any

from generator.checks.context import CheckContext
from generator.checks.kubernetes.topology import (
    Reader,
    blocking,
    production_tier,
)
from generator.results import CheckResult, ResultStatus


def _denies(policy: dict[str, Any], direction: str) -> bool:
    spec = policy.get("spec") or {}
    selector = spec.get("podSelector") or {}
    if selector.get("matchLabels") or selector.get("matchExpressions"):
        return False
    types = spec.get("policyTypes")
    if types is None:  # the API server defaults: Ingress, plus Egress when egress rules exist
        types = ["Ingress", *(["Egress"] if spec.get("egress") else [])]
    if direction not in types:
        return False
    return not spec.get(direction.lower())


def check_default_deny(ctx: CheckContext) -> list[CheckResult]:
    split = production_tier(ctx)
    if isinstance(split, list):
        return split
    _, prod, results = split
    reader = Reader(ctx)
    for dep in prod:
        reads = [
            reader.read(dep.cluster, "namespaces"),
            reader.read(dep.cluster, "networkpolicies"),
        ]
        for ns in dep.namespaces:
            subject = f"{dep.name}/{ns}"
            bad = blocking(ctx, subject, reads, environment=dep.cluster.environment)
            if bad:
                results.append(bad)
                continue
            ids = [r.id for r in reads]
            names = {n["name"] for n in reader.items(dep.cluster, "namespaces")}
            where = f"namespace {ns} ({dep.cluster.name})"
            if ns not in names:
                results.append(
                    ctx.result(
                        subject,
                        ResultStatus.failed,
                        f"{where} does not exist, so nothing protects it; "
                        "fix the namespaces of deployment " + dep.name + " in sources.yaml",
                        ids,
                        dep.cluster.environment,
                    )
                )
                continue
            policies = [
                p for p in reader.items(dep.cluster, "networkpolicies") if p.get("namespace") == ns
            ]
            found = {
                d: sorted(p["name"] for p in policies if _denies(p, d))
                for d in ("Ingress", "Egress")
            }
            missing = [d.lower() for d, names_ in found.items() if not names_]
            if missing:
                results.append(
                    ctx.result(
                        subject,
                        ResultStatus.failed,
                        f"{where} has no default-deny {' or '.join(missing)} policy "
                        f"({len(policies)} NetworkPolicies, none selecting every pod with no "
                        f"{' and no '.join(missing)} rules); add one with podSelector: {{}} and "
                        f"policyTypes: [{', '.join(d.capitalize() for d in missing)}]",
                        ids,
                        dep.cluster.environment,
                    )
                )
            else:
                both = sorted(set(found["Ingress"]) & set(found["Egress"]))
                how = (
                    f"by {both[0]}"
                    if both
                    else f"ingress by {found['Ingress'][0]}, egress by {found['Egress'][0]}"
                )
                results.append(
                    ctx.result(
                        subject,
                        ResultStatus.passed,
                        f"{where} denies ingress and egress by default ({how})",
                        ids,
                        dep.cluster.environment,
                    )
                )
    return results
