"""The dashboard: per framework, totals by status with a small chart; what changed since the
previous snapshot; the snapshot and audit pack the site was built from."""

from __future__ import annotations

from collections import Counter

from generator.register import counts
from generator.report import STATUS_ORDER
from generator.site.model import Site, relative
from generator.site.pages import totals_list
from generator.site.render import render_markdown


def render(site: Site) -> tuple[str, str]:
    here = site.layout.dashboard
    layout = site.layout
    frameworks = [
        (
            fw,
            relative(here, layout.framework(fw.id)),
            totals_list(fw.totals),
            sum(fw.totals.values()),
        )
        for fw in site.report.frameworks
    ]
    overall = site.report.totals()
    snapshot = site.snapshot
    manifest = evidence = None
    item_states: list[tuple[str, int]] = []
    if snapshot is not None:
        m = snapshot.manifest
        manifest = relative(here, layout.evidence(m.id, "manifest.json"))
        if (snapshot.path / "manifest.sig").is_file():
            evidence = relative(here, layout.evidence(m.id, "manifest.sig"))
        item_states = sorted(Counter(i.status.value for i in m.items).items())
    changes = site.changes
    status_changes = []
    if changes is not None:
        status_changes = [
            (ch, site.control_link(here, f"{ch.framework}:{ch.control}")) for ch in changes.statuses
        ]
    scope = site.library.scope.model if site.library.scope is not None else None
    text = render_markdown(
        "dashboard.md.j2",
        site=site,
        scope=scope,
        frameworks=frameworks,
        overall=[(s.value, overall[s]) for s in STATUS_ORDER],
        overall_total=sum(overall.values()),
        statuses=[s.value for s in STATUS_ORDER],
        snapshot=snapshot,
        manifest=manifest,
        signature=evidence,
        item_states=item_states,
        changes=changes,
        status_changes=status_changes,
        soa=[(fw_id, relative(here, layout.soa(fw_id))) for fw_id in site.soa_frameworks],
        fw_titles={fw.id: fw.title for fw in site.report.frameworks},
        practices=relative(here, layout.practices),
        environments=relative(here, layout.environments),
        register=relative(here, layout.register),
        register_counts=counts(site.register),
        pack=relative(here, layout.pack) if site.pack else None,
    )
    return here, text
