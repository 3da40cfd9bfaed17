"""Who may change what: `kubernetes.rbac-write-separation` and `kubernetes.audit-access`.

Writing is any of create, update, patch, delete, deletecollection, escalate, bind, impersonate
(or `*`) on a resource; creating access reviews is not. Wildcards in verbs, API groups and
resources count, and aggregated ClusterRoles are resolved from their selectors. Kubernetes' own
components (users `system:*`, groups such as `system:masters` and `system:nodes`, service
accounts of kube-system) are not counted; broad groups such as `system:authenticated` are.
Users and groups are the same identity in every cluster (one identity provider); a service
account belongs to its cluster.

A deployment's environment, for writing, is its cluster minus the namespaces of the other
deployments in it: cluster-wide grants, grants in its own namespaces, and grants in the
platform's namespaces (those no deployment names) all count.
"""

from __future__ import annotations

from generator.checks.context import CheckContext
from generator.checks.kubernetes.rbac import (
    Rbac,
    deletes,
    escalates,
    is_system,
    qualified,
    rbac_resources,
    read_only,
    shown,
    writes,
)
from generator.checks.kubernetes.topology import (
    Cluster,
    Deployment,
    ParamError,
    Reader,
    Topology,
    blocking,
    both_tiers,
    listing,
    matches_identity,
    param_error,
    problem_results,
    string_list,
    topology,
    usable_pairs,
)
from generator.results import CheckResult, ResultStatus


def _rbac(reader: Reader, cluster: Cluster) -> Rbac:
    return Rbac(cluster.name, *(reader.items(cluster, r) for r in rbac_resources()))


def _rbac_reads(reader: Reader, cluster: Cluster):
    return [reader.read(cluster, r) for r in rbac_resources()]


def _writers(
    topo: Topology, rbac: Rbac, dep: Deployment, exempt: list[str]
) -> dict[str, list[str]]:
    """Who can write in the deployment's environment: cluster-wide, in its own namespaces, or in
    a namespace of its cluster that belongs to no other deployment (the platform's)."""
    others = {
        ns
        for d in topo.deployments
        if d.cluster.name == dep.cluster.name and d.name != dep.name
        for ns in d.namespaces
    } - set(dep.namespaces)
    found = rbac.who(writes, exclude=others)
    return {
        i: how for i, how in found.items() if not is_system(i) and not matches_identity(i, exempt)
    }


def _same_name_note(wp: dict[str, list[str]], wn: dict[str, list[str]]) -> str:
    """Says why a service account named in both lists is not a shared writer."""
    same = sorted({shown(i) for i in wp} & {shown(i) for i in wn})
    if not same:
        return ""
    return (
        f"; {listing(set(same), 3)} exist(s) in each cluster, as different identities, "
        "each writing only in its own"
    )


def check_write_separation(ctx: CheckContext) -> list[CheckResult]:
    try:
        exempt = string_list(ctx.params, "exempt")
    except ParamError as exc:
        return param_error(ctx, exc)
    split = both_tiers(ctx)
    if isinstance(split, list):
        return split
    topo, prod, nonprod, results = split
    reader = Reader(ctx)
    cache: dict[str, Rbac] = {}
    pairs = usable_pairs(ctx, prod, nonprod, lambda c: _rbac_reads(reader, c), results)
    for p, n, subject, reads in pairs:
        for c in (p.cluster, n.cluster):
            if c.name not in cache:
                cache[c.name] = _rbac(reader, c)
        wp = _writers(topo, cache[p.cluster.name], p, exempt)
        wn = _writers(topo, cache[n.cluster.name], n, exempt)
        both = sorted(set(wp) & set(wn))
        ids = [r.id for r in reads]
        if both:
            detail = "; ".join(f"{shown(i)} ({wp[i][0]}; {wn[i][0]})" for i in both[:5]) + (
                f"; and {len(both) - 5} more" if len(both) > 5 else ""
            )
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.failed,
                    f"{len(both)} identit{'y' if len(both) == 1 else 'ies'} can write in "
                    f"both {p.name} and {n.name}: {detail}; give each environment its own "
                    "writers",
                    ids,
                )
            )
        else:
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.passed,
                    f"no identity can write in both {p.name} ({len(wp)} writer(s): "
                    f"{listing({qualified(i) for i in wp}, 5)}) and {n.name} "
                    f"({len(wn)} writer(s): {listing({qualified(i) for i in wn}, 5)})"
                    + _same_name_note(wp, wn),
                    ids,
                )
            )
    return results


def _clusters(topo: Topology) -> list[Cluster]:
    return [topo.clusters[n] for n in sorted(topo.clusters)]


def check_audit_access(ctx: CheckContext) -> list[CheckResult]:
    """Nobody but the named operators can delete in the audit and log namespaces; the auditor
    role, when named, is read-only. Parameters: `operators`, `namespaces` (default: logging),
    `auditor_role` (a ClusterRole, or `namespace/name` for a Role), `exempt`."""
    try:
        operators = string_list(ctx.params, "operators")
        namespaces = string_list(ctx.params, "namespaces", ["logging"])
        exempt = string_list(ctx.params, "exempt")
        auditor = ctx.params.get("auditor_role")
        if auditor is not None and not isinstance(auditor, str):
            raise ParamError("'auditor_role' must be the name of a role")
    except ParamError as exc:
        return param_error(ctx, exc)
    if not namespaces:
        return param_error(ctx, ParamError("name the audit and log namespaces in 'namespaces'"))
    topo = topology(ctx)
    if not isinstance(topo, Topology):
        return [topo]
    reader = Reader(ctx)
    results = problem_results(ctx, topo)
    for cluster in _clusters(topo):
        subject = cluster.name
        reads = [reader.read(cluster, "namespaces"), *_rbac_reads(reader, cluster)]
        bad = blocking(ctx, subject, reads, environment=cluster.environment)
        if bad:
            results.append(bad)
            continue
        ids = [r.id for r in reads]
        existing = {n["name"] for n in reader.items(cluster, "namespaces")}
        present = [n for n in namespaces if n in existing]
        if not present:
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.failed,
                    f"none of the audit/log namespaces ({', '.join(namespaces)}) exists in "
                    f"cluster {cluster.name}; name the namespaces that hold audit logs",
                    ids,
                    cluster.environment,
                )
            )
            continue
        rbac = _rbac(reader, cluster)
        allowed = set(present)
        found: dict[str, list[str]] = {}
        for what, rule_test in (("delete", deletes), ("grant itself rights", escalates)):
            for ident, how in rbac.who(rule_test, allowed).items():
                if is_system(ident) or matches_identity(ident, [*operators, *exempt]):
                    continue
                found.setdefault(ident, []).append(f"can {what} ({how[0]})")
        problems = []
        if found:
            names = sorted(found)
            problems.append(
                f"{len(names)} identit{'y' if len(names) == 1 else 'ies'} other than the "
                f"operators can delete in {', '.join(present)}: "
                + "; ".join(f"{shown(i)} {found[i][0]}" for i in names[:5])
                + (f"; and {len(names) - 5} more" if len(names) > 5 else "")
            )
        notes = []
        if auditor:
            rules = rbac.role(auditor)
            if rules is None:
                problems.append(f"the auditor role {auditor} does not exist")
            else:
                extra = read_only(rules)
                if extra:
                    verbs = sorted({v for r in extra for v in r.get("verbs") or []})
                    problems.append(
                        f"the auditor role {auditor} is not read-only: it allows {', '.join(verbs)}"
                    )
                else:
                    notes.append(f"the auditor role {auditor} only reads")
        if problems:
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.failed,
                    f"cluster {cluster.name}: " + "; ".join(problems),
                    ids,
                    cluster.environment,
                )
            )
        else:
            ops = listing(operators, 5) if operators else "nobody"
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.passed,
                    f"in cluster {cluster.name} only the named operators ({ops}) can delete "
                    f"in {', '.join(present)}" + "".join(f"; {n}" for n in notes),
                    ids,
                    cluster.environment,
                )
            )
    return results
