"""`kubernetes.gitops-managed`: every production workload is managed by Argo CD or Flux, and
what manages it is in sync with Git.

A workload is managed by an Argo CD Application (in any collected cluster) whose destination is
the workload's cluster and which lists it among its resources, tracks it by annotation
(`argocd.argoproj.io/tracking-id`) or by its `app.kubernetes.io/instance` label; or by a Flux
Kustomization or HelmRelease of its cluster that labels it or lists it in its inventory. In sync
means: Argo CD reports `Synced`; Flux reports Ready and has applied the revision it last
attempted, and is not suspended. Workloads owned by another object (an operator's) are judged by
their owner and skipped. With neither Argo CD nor Flux installed in any cluster, production is
not GitOps-managed and the check fails.
"""

from __future__ import annotations

from typing import Any

from generator.checks.context import CheckContext
from generator.checks.kubernetes.topology import (
    Cluster,
    Reader,
    Topology,
    blocking,
    listing,
    production_tier,
    workload_reads,
    workloads,
)
from generator.collect.kube_resources import CLUSTER
from generator.results import CheckResult, ResultStatus
from generator.snapshot.store import Freshness

ARGO = "argocd-applications"
KUSTOMIZATIONS = "flux-kustomizations"
HELMRELEASES = "flux-helmreleases"
IN_CLUSTER = ("https://kubernetes.default.svc", "https://kubernetes.default.svc:443")


def _targets(app_cluster: Cluster, app: dict[str, Any], cluster: Cluster, server: str | None):
    dest = app.get("destination") or {}
    if dest.get("name") == cluster.name:
        return True
    if dest.get("server") in IN_CLUSTER or dest.get("name") == "in-cluster":
        return app_cluster.name == cluster.name
    return server is not None and dest.get("server") == server


def _ready(obj: dict[str, Any]) -> tuple[bool, str]:
    spec = obj.get("spec") or {}
    if spec.get("suspend"):
        return False, "suspended"
    ready = next((c for c in obj.get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") != "True":
        why = (ready or {}).get("reason") or "not Ready"
        return False, f"not ready ({why})"
    applied, attempted = obj.get("lastAppliedRevision"), obj.get("lastAttemptedRevision")
    if applied and attempted and applied != attempted:
        return False, f"applied {applied}, attempting {attempted}"
    return True, f"at {applied}" if applied else "ready"


class Managers:
    def __init__(self, reader: Reader, topo: Topology, cluster: Cluster) -> None:
        self.cluster = cluster
        server = None
        ident = reader.read(cluster, CLUSTER)
        if ident.usable:
            server = (ident.data or {}).get("server")
        self.apps: list[dict[str, Any]] = []
        for c in topo.clusters.values():
            if reader.read(c, ARGO).usable:
                for app in reader.items(c, ARGO):
                    if _targets(c, app, cluster, server):
                        self.apps.append(app)
        self.by_name = {a.get("name"): a for a in self.apps}
        self.by_resource: dict[tuple[str, str, str], dict[str, Any]] = {}
        for app in self.apps:
            for r in app.get("resources") or []:
                key = (r.get("kind"), r.get("namespace"), r.get("name"))
                self.by_resource.setdefault(key, app)
        self.flux: dict[tuple[str, str, str], dict[str, Any]] = {}  # (kind, ns, name)
        self.inventory: dict[str, tuple[str, dict[str, Any]]] = {}
        for resource, kind in ((KUSTOMIZATIONS, "Kustomization"), (HELMRELEASES, "HelmRelease")):
            if not reader.read(cluster, resource).usable:
                continue
            for obj in reader.items(cluster, resource):
                self.flux[(kind, obj.get("namespace"), obj.get("name"))] = obj
                for entry in obj.get("inventory") or []:
                    self.inventory.setdefault(entry, (kind, obj))

    def manager(self, kind: str, obj: dict[str, Any]) -> tuple[str, bool, str] | None:
        """(who, in sync, how) for one workload, or None when nothing manages it."""
        ns, name = obj.get("namespace"), obj.get("name")
        labels = obj.get("labels") or {}
        tracking = (obj.get("annotations") or {}).get("argocd.argoproj.io/tracking-id") or ""
        app = None
        if tracking:
            app_name = tracking.split(":", 1)[0]
            app = self.by_name.get(app_name) or self.by_name.get(app_name.split("_", 1)[-1])
        app = app or self.by_resource.get((kind, ns, name))
        app = app or self.by_name.get(labels.get("app.kubernetes.io/instance"))
        if app is not None:
            sync = (app.get("sync") or {}).get("status") or "Unknown"
            own = next(
                (
                    r.get("status")
                    for r in app.get("resources") or []
                    if (r.get("kind"), r.get("namespace"), r.get("name")) == (kind, ns, name)
                ),
                None,
            )
            ok = sync == "Synced" and own in (None, "Synced")
            state = sync if own in (None, sync) else f"{sync}, this resource {own}"
            return f"Argo CD Application {app.get('name')}", ok, state
        for prefix, fkind in (
            ("kustomize.toolkit.fluxcd.io", "Kustomization"),
            ("helm.toolkit.fluxcd.io", "HelmRelease"),
        ):
            fname, fns = labels.get(f"{prefix}/name"), labels.get(f"{prefix}/namespace")
            if fname and (fkind, fns, fname) in self.flux:
                ok, state = _ready(self.flux[(fkind, fns, fname)])
                return f"Flux {fkind} {fns}/{fname}", ok, state
        entry = self.inventory.get(f"{ns}_{name}_apps_{kind}")
        if entry is not None:
            fkind, fobj = entry
            ok, state = _ready(fobj)
            return f"Flux {fkind} {fobj.get('namespace')}/{fobj.get('name')}", ok, state
        return None


def check_gitops(ctx: CheckContext) -> list[CheckResult]:
    split = production_tier(ctx)
    if isinstance(split, list):
        return split
    topo, prod, results = split
    reader = Reader(ctx)
    clusters = list(topo.clusters.values())
    argo = [reader.read(c, ARGO) for c in clusters]
    for p in prod:
        subject = p.name
        flux = [reader.read(p.cluster, KUSTOMIZATIONS), reader.read(p.cluster, HELMRELEASES)]
        reads = workload_reads(reader, p.cluster)
        bad = blocking(ctx, subject, reads, [*argo, *flux], p.cluster.environment)
        if bad:
            results.append(bad)
            continue
        ids = [r.id for r in (*reads, *argo, *flux)]
        if all(r.state is Freshness.not_found for r in (*argo, *flux)):
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.failed,
                    f"neither Argo CD (in any collected cluster) nor Flux (in {p.cluster.name}) "
                    f"is installed, so nothing applies {p.name} from Git",
                    ids,
                    p.cluster.environment,
                )
            )
            continue
        managers = Managers(reader, topo, p.cluster)
        objs = [(k, o) for k, o in workloads(reader, p) if not o.get("owners")]
        unmanaged, drifted, by = [], [], set()
        for kind, obj in objs:
            label = f"{kind} {obj.get('namespace')}/{obj.get('name')}"
            found = managers.manager(kind, obj)
            if found is None:
                unmanaged.append(label)
                continue
            who, ok, state = found
            by.add(who)
            if not ok:
                drifted.append(f"{label} ({who}: {state})")
        if not objs:
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.error,
                    f"no workloads run in {p.name} ({p.where}); check its namespaces",
                    ids,
                    p.cluster.environment,
                )
            )
        elif unmanaged or drifted:
            parts = []
            if unmanaged:
                parts.append(f"not managed by Argo CD or Flux: {listing(unmanaged, 6)}")
            if drifted:
                parts.append(f"out of sync: {listing(drifted, 6)}")
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.failed,
                    f"{p.name}: " + "; ".join(parts),
                    ids,
                    p.cluster.environment,
                )
            )
        else:
            results.append(
                ctx.result(
                    subject,
                    ResultStatus.passed,
                    f"all {len(objs)} workloads of {p.name} are applied from Git and in sync "
                    f"({listing(by, 4)})",
                    ids,
                    p.cluster.environment,
                )
            )
    return results
