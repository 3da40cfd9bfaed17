"""What the Kubernetes checks share: the deployments and clusters of sources.yaml, reading
evidence items per cluster, selecting a deployment's workloads, and parameter errors."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from generator.checks.context import CheckContext
from generator.collect.kube_resources import item_id
from generator.results import CheckResult, ResultStatus
from generator.snapshot.store import EvidenceRead, Freshness

PRODUCTION = "production"
NON_PRODUCTION = "non-production"
WORKLOADS = (
    ("Deployment", "deployments"),
    ("StatefulSet", "statefulsets"),
    ("DaemonSet", "daemonsets"),
)


class ParamError(Exception):
    """A check parameter that cannot be used; reported as an `error` result."""


@dataclass(frozen=True)
class Cluster:
    name: str
    environment: str
    env_tier: str | None  # the environment's declared tier, if any

    def item(self, resource: str) -> str:
        return item_id(self.environment, self.name, resource)


@dataclass(frozen=True)
class Deployment:
    name: str
    tier: str
    cluster: Cluster
    namespaces: tuple[str, ...]
    labels: tuple[tuple[str, str], ...] = ()

    def owns(self, obj: dict[str, Any]) -> bool:
        """Whether a namespaced object belongs to this deployment (namespace, then labels)."""
        if obj.get("namespace") not in self.namespaces:
            return False
        if not self.labels:
            return True
        labels = {**(obj.get("template") or {}).get("labels", {}), **(obj.get("labels") or {})}
        return all(labels.get(k) == v for k, v in self.labels)

    @property
    def where(self) -> str:
        ns = ", ".join(self.namespaces) or "no namespace"
        return f"{self.cluster.name}/{ns}"


@dataclass
class Topology:
    clusters: dict[str, Cluster]
    deployments: list[Deployment]
    problems: list[str] = field(default_factory=list)

    def tier(self, tier: str) -> list[Deployment]:
        return [d for d in self.deployments if d.tier == tier]

    def cluster_tiers(self, cluster: str) -> set[str]:
        """Tiers that use a cluster: its deployments' tiers, else its environment's tier."""
        tiers = {d.tier for d in self.deployments if d.cluster.name == cluster}
        c = self.clusters[cluster]
        if not tiers and c.env_tier:
            tiers.add(c.env_tier)
        return tiers


def topology(ctx: CheckContext) -> Topology | CheckResult:
    """The deployments and clusters of sources.yaml, or an error result if there are none."""
    sources = ctx.library.sources
    if sources is None or not sources.model.deployments:
        return ctx.result(
            "all",
            ResultStatus.error,
            "evidence/sources.yaml lists no application deployments; "
            "name each deployment with its tier, cluster and namespaces",
            [],
        )
    clusters: dict[str, Cluster] = {}
    for env in sources.model.environments:
        for c in env.clusters:
            clusters[c.name] = Cluster(c.name, env.name, env.tier.value if env.tier else None)
    deps = []
    problems = []
    for d in sources.model.deployments:
        cluster = clusters.get(d.cluster)
        if cluster is None:
            problems.append(
                f"deployment {d.name} names cluster {d.cluster}, which no environment lists"
            )
            continue
        deps.append(
            Deployment(
                d.name,
                d.tier.value,
                cluster,
                tuple(d.namespaces),
                tuple(sorted(d.labels.items())),
            )
        )
    if problems and not deps:
        return ctx.result("all", ResultStatus.error, "; ".join(problems), [])
    return Topology(clusters, deps, problems)


def problem_results(ctx: CheckContext, topo: Topology) -> list[CheckResult]:
    return [ctx.result("sources", ResultStatus.error, p, []) for p in topo.problems]


def production_tier(
    ctx: CheckContext,
) -> tuple[Topology, list[Deployment], list[CheckResult]] | list[CheckResult]:
    """The topology, its production deployments and the results about sources.yaml problems;
    or, when there is no production deployment, the results that end the check."""
    topo = topology(ctx)
    if not isinstance(topo, Topology):
        return [topo]
    results = problem_results(ctx, topo)
    prod = topo.tier("production")
    if not prod:
        why = "sources.yaml has no production deployment"
        return [*results, ctx.result("all", ResultStatus.error, why, [])]
    return topo, prod, results


def both_tiers(
    ctx: CheckContext,
) -> tuple[Topology, list[Deployment], list[Deployment], list[CheckResult]] | list[CheckResult]:
    """The topology, its production and non-production deployments and the results about
    sources.yaml problems; or, when a tier is missing, the results that end the check."""
    topo = topology(ctx)
    if not isinstance(topo, Topology):
        return [topo]
    results = problem_results(ctx, topo)
    prod, nonprod = topo.tier("production"), topo.tier("non-production")
    if not prod or not nonprod:
        why = "sources.yaml needs a production and a non-production deployment to compare"
        return [*results, ctx.result("all", ResultStatus.error, why, [])]
    return topo, prod, nonprod, results


class Reader:
    """Reads evidence items once per check run."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self._reads: dict[str, EvidenceRead] = {}

    def read(self, cluster: Cluster, resource: str) -> EvidenceRead:
        key = cluster.item(resource)
        if key not in self._reads:
            self._reads[key] = self.ctx.read(key)
        return self._reads[key]

    def items(self, cluster: Cluster, resource: str) -> list[dict[str, Any]]:
        """The objects of a usable item; an empty list for an API that is not installed."""
        r = self.read(cluster, resource)
        if r.state is Freshness.not_found:
            return []
        assert r.usable, f"read {r.id} before checking it is usable"
        return list((r.data or {}).get("items") or [])

    def data(self, cluster: Cluster, resource: str) -> dict[str, Any]:
        r = self.read(cluster, resource)
        assert r.usable
        return dict(r.data or {})


def blocking(
    ctx: CheckContext,
    subject: str,
    reads: list[EvidenceRead],
    optional: list[EvidenceRead] = (),  # type: ignore[assignment]
    environment: str | None = None,
) -> CheckResult | None:
    """A non-passing result if required evidence is unusable; optional evidence may also be
    `not-found` (the API is not installed), which counts as empty."""
    usable_optional = [r for r in optional if r.state is not Freshness.not_found]
    bad = ctx.unusable(subject, [*reads, *usable_optional], environment)
    if bad is None:
        return None
    ids = [r.id for r in (*reads, *optional)]
    return bad.model_copy(update={"evidence": sorted(set(ids))})


def usable_pairs(
    ctx: CheckContext,
    prod: list[Deployment],
    nonprod: list[Deployment],
    reads_of: Callable[[Cluster], list[EvidenceRead]],
    results: list[CheckResult],
) -> Iterator[tuple[Deployment, Deployment, str, list[EvidenceRead]]]:
    """Each production/non-production pair with its subject and the evidence of both clusters;
    a pair whose evidence is unusable gets its non-passing result in `results` and is skipped."""
    for p in prod:
        for n in nonprod:
            subject = f"{p.name} <-> {n.name}"
            reads = [*reads_of(p.cluster), *reads_of(n.cluster)]
            bad = blocking(ctx, subject, reads)
            if bad:
                results.append(bad)
                continue
            yield p, n, subject, reads


def workloads(reader: Reader, dep: Deployment) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for kind, resource in WORKLOADS:
        for obj in reader.items(dep.cluster, resource):
            if dep.owns(obj):
                out.append((kind, obj))
    return out


def workload_reads(reader: Reader, cluster: Cluster) -> list[EvidenceRead]:
    return [reader.read(cluster, resource) for _, resource in WORKLOADS]


def listing(names: list[str] | set[str], limit: int = 8) -> str:
    names = sorted(names)
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def string_list(params: dict[str, Any], key: str, default: list[str] | None = None) -> list[str]:
    value = params.get(key, default if default is not None else [])
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise ParamError(f"parameter {key!r} must be a list of names")
    return [str(v) for v in value]


def matches_identity(identity: str, patterns: list[str]) -> bool:
    """`group:ops`, `user:alice`, `serviceaccount:ns/name` (globs allowed); a bare name matches
    a user or a group of that name."""
    kind, _, name = identity.partition(":")
    if kind == "serviceaccount":
        name = name.rsplit("#", 1)[0]  # service accounts carry their cluster
    for p in patterns:
        if ":" in p and not p.startswith("system:"):
            pkind, _, pname = p.partition(":")
            if pkind.lower() in ("group", "user", "serviceaccount") and pkind.lower() == kind:
                if fnmatch.fnmatchcase(name, pname):
                    return True
                continue
        if kind in ("user", "group") and fnmatch.fnmatchcase(name, p):
            return True
    return False


def param_error(ctx: CheckContext, exc: ParamError) -> list[CheckResult]:
    return [
        ctx.result(
            "parameters",
            ResultStatus.error,
            f"{ctx.check} in practice {ctx.practice}: {exc}",
            [],
        )
    ]
