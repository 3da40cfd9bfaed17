"""The isolation matrix: how far apart each pair of application deployments is.

Levels, weakest first, as the seeds define them: `labels` (same namespace), `namespace` (same
cluster), `node` (same environment, different nodes), `cluster` (same environment, different
workload clusters) and `environment` (nothing shared). A pair's level is the one the isolation
check measured on evidence when there is one, else the level evidence/sources.yaml declares; check
results about a pair ("a <-> b") are shown next to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from generator.library import Library
from generator.models import Deployment
from generator.results import CheckResult

LEVELS = ["labels", "namespace", "node", "cluster", "environment"]
ISOLATION_CHECK = "kubernetes.isolation-level"


@dataclass(frozen=True)
class Cell:
    level: str  # one of LEVELS, or "self" on the diagonal
    below: bool = False  # weaker than a declared requirement
    status: str | None = None  # worst check result about this pair, if any
    measured: bool = False  # the level comes from evidence, not from sources.yaml


@dataclass(frozen=True)
class DeploymentRow:
    name: str
    tier: str
    cluster: str
    environment: str
    namespaces: str


@dataclass(frozen=True)
class EnvironmentRow:
    name: str
    tier: str
    clusters: str


@dataclass(frozen=True)
class Requirement:
    practice: str
    subject: str  # a deployment name or a tier
    level: str


@dataclass
class Isolation:
    environments: list[EnvironmentRow] = field(default_factory=list)
    deployments: list[DeploymentRow] = field(default_factory=list)
    matrix: list[list[Cell]] = field(default_factory=list)
    requirements: list[Requirement] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)

    @property
    def declared(self) -> bool:
        return bool(self.deployments)


_WORST = ["fail", "error", "stale", "not-collected", "pass"]


def _level(a: Deployment, b: Deployment, env_of: dict[str, str]) -> str:
    if a.cluster != b.cluster:
        ea, eb = env_of.get(a.cluster), env_of.get(b.cluster)
        return "environment" if ea is not None and eb is not None and ea != eb else "cluster"
    return "labels" if set(a.namespaces) & set(b.namespaces) else "namespace"


def _requirements(library: Library) -> list[Requirement]:
    out = []
    for pid in sorted(library.practices):
        for ref in library.practices[pid].model.checks:
            if ref.id != ISOLATION_CHECK:
                continue
            required: Any = ref.with_.get("required", {})
            if isinstance(required, dict):
                for subject, level in sorted(required.items()):
                    if isinstance(level, str) and level in LEVELS:
                        out.append(Requirement(pid, str(subject), level))
    return out


def _pair_key(subject: str) -> frozenset[str] | None:
    left, sep, right = subject.partition("<->")
    return frozenset((left.strip(), right.strip())) if sep else None


def build_isolation(library: Library, results: list[CheckResult]) -> Isolation:
    iso = Isolation()
    if library.sources is None:
        return iso
    sources = library.sources.model
    env_of: dict[str, str] = {}
    for env in sources.environments:
        iso.environments.append(
            EnvironmentRow(
                name=env.name,
                tier=env.tier.value if env.tier else "",
                clusters=", ".join(c.name for c in env.clusters),
            )
        )
        for cluster in env.clusters:
            env_of.setdefault(cluster.name, env.name)
    deps = list(sources.deployments)
    for d in deps:
        iso.deployments.append(
            DeploymentRow(
                name=d.name,
                tier=d.tier.value,
                cluster=d.cluster,
                environment=env_of.get(d.cluster, "(not declared)"),
                namespaces=", ".join(d.namespaces),
            )
        )
    iso.requirements = _requirements(library)
    pair_results: dict[frozenset[str], list[CheckResult]] = {}
    for r in results:
        key = _pair_key(r.subject)
        if key is not None:
            pair_results.setdefault(key, []).append(r)
            iso.results.append(r)
    for a in deps:
        row = []
        for b in deps:
            if a is b:
                row.append(Cell("self"))
                continue
            need = max(
                (LEVELS.index(q.level) for q in iso.requirements if _applies(q, a, b)), default=-1
            )
            found = pair_results.get(frozenset((a.name, b.name)), [])
            status = min((r.status.value for r in found), key=_WORST.index, default=None)
            # The level the isolation check measured on evidence wins over the declared one.
            measured = next((r.details["level"] for r in found if "level" in r.details), None)
            level = measured if measured in LEVELS else _level(a, b, env_of)
            row.append(Cell(level, LEVELS.index(level) < need, status, measured is not None))
        iso.matrix.append(row)
    iso.results.sort(key=lambda r: (r.practice, r.check, r.subject, r.environment or ""))
    return iso


def _applies(req: Requirement, a: Deployment, b: Deployment) -> bool:
    """A requirement names a deployment (its distance to every other one) or a tier (its
    distance to deployments of other tiers)."""
    if req.subject in (a.name, b.name):
        return True
    return (a.tier.value == req.subject) != (b.tier.value == req.subject)
