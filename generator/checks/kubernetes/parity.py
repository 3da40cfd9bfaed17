"""`kubernetes.dtap-parity`: every component that runs in production also runs in each
non-production deployment, from the same image repositories.

A component is a workload (Deployment, StatefulSet, DaemonSet) named by its
`app.kubernetes.io/name` label, else its `app` label, else its name; it runs when it is not
scaled to zero. A production component missing from a non-production deployment, or running
there from another image repository, fails; components only non-production runs, and different
image tags (non-production is usually ahead), are listed but do not fail.
"""

from __future__ import annotations

from typing import Any

from generator.checks.context import CheckContext
from generator.checks.kubernetes.topology import (
    Reader,
    both_tiers,
    listing,
    usable_pairs,
    workload_reads,
    workloads,
)
from generator.results import CheckResult, ResultStatus


def repository(image: str) -> str:
    """The image reference without tag or digest, with Docker Hub's defaults spelled out."""
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref = ref[: len(ref) - len(last)] + last.split(":", 1)[0]
    first = ref.split("/", 1)[0]
    if "/" not in ref:
        ref = f"docker.io/library/{ref}"
    elif "." not in first and ":" not in first and first != "localhost":
        ref = f"docker.io/{ref}"
    return ref


def _tag(image: str) -> str:
    if "@" in image:
        return image.split("@", 1)[1][:19]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def components(objs: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind, obj in objs:
        if kind != "DaemonSet" and obj.get("replicas") == 0:
            continue
        labels = obj.get("labels") or {}
        name = labels.get("app.kubernetes.io/name") or labels.get("app") or obj.get("name")
        entry = out.setdefault(name, {"kinds": set(), "repos": set(), "tags": {}})
        entry["kinds"].add(kind)
        template = obj.get("template") or {}
        for c in [*(template.get("containers") or []), *(template.get("initContainers") or [])]:
            image = c.get("image") or ""
            if image:
                repo = repository(image)
                entry["repos"].add(repo)
                entry["tags"].setdefault(repo, set()).add(_tag(image))
    return out


def compare(prod: dict[str, Any], other: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Failing differences and informational ones."""
    failing, info = [], []
    for name in sorted(prod):
        if name not in other:
            failing.append(f"{name} is missing")
            continue
        missing_repos = sorted(prod[name]["repos"] - other[name]["repos"])
        if missing_repos:
            failing.append(
                f"{name} does not run {', '.join(missing_repos)} "
                f"(runs {', '.join(sorted(other[name]['repos'])) or 'no image'})"
            )
        for repo in sorted(prod[name]["repos"] & other[name]["repos"]):
            a, b = prod[name]["tags"][repo], other[name]["tags"][repo]
            if a != b:
                info.append(f"{name} {', '.join(sorted(b))} (production {', '.join(sorted(a))})")
    extra = sorted(set(other) - set(prod))
    if extra:
        info.append(f"only here: {listing(extra, 6)}")
    return failing, info


def check_parity(ctx: CheckContext) -> list[CheckResult]:
    split = both_tiers(ctx)
    if isinstance(split, list):
        return split
    _, prod, nonprod, results = split
    reader = Reader(ctx)
    pairs = usable_pairs(ctx, prod, nonprod, lambda c: workload_reads(reader, c), results)
    for p, n, subject, reads in pairs:
        ids = [r.id for r in reads]
        cp = components(workloads(reader, p))
        if not cp:
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.error,
                    f"no workloads run in {p.name} ({p.where}); check its namespaces in "
                    "sources.yaml",
                    ids,
                )
            )
            continue
        cn = components(workloads(reader, n))
        failing, info = compare(cp, cn)
        tail = f"; other differences: {'; '.join(info)}" if info else ""
        if failing:
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.failed,
                    f"{n.name} ({n.where}) differs from {p.name}: {'; '.join(failing)}{tail}",
                    ids,
                )
            )
        else:
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.passed,
                    f"all {len(cp)} production components ({listing(cp, 6)}) run in "
                    f"{n.name} from the same image repositories{tail}",
                    ids,
                )
            )
    return results
