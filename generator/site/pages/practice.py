"""Per practice: statement, owner, the controls it meets, and each check's latest results per
environment with the evidence items behind them."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from markupsafe import Markup

from generator.library import Loaded
from generator.models import Practice
from generator.report import Status
from generator.results import CheckResult
from generator.site.model import Site, relative
from generator.site.render import render_markdown
from generator.snapshot.manifest import ManifestItem


@dataclass(frozen=True)
class Met:
    id: str
    title: str
    url: Markup | None
    status: Status | None
    relationship: str
    note: str | None


@dataclass(frozen=True)
class Evidence:
    id: str
    item: ManifestItem | None
    url: Markup | None


@dataclass(frozen=True)
class CheckView:
    id: str
    anchor: str
    params: str | None
    by_environment: list[tuple[str, list[CheckResult]]]
    evidence: list[Evidence]


def _met(site: Site, here: str, practice: Practice) -> list[tuple[str, str, bool, list[Met]]]:
    groups: dict[str, list[Met]] = defaultdict(list)
    for sat in practice.satisfies:
        fid, _, cid = sat.control.partition(":")
        control = site.controls.get(sat.control)
        lib_control = site.library.control(sat.control)
        title = control.title if control else (lib_control.title if lib_control else "(unknown)")
        groups[fid].append(
            Met(
                cid,
                title,
                site.control_link(here, sat.control),
                control.status if control else None,
                sat.relationship.value,
                sat.note,
            )
        )
    out = []
    order = [fw.id for fw in site.report.frameworks] + sorted(site.library.frameworks)
    for fid in sorted(groups, key=lambda f: (order.index(f) if f in order else len(order), f)):
        lf = site.library.frameworks.get(fid)
        title = lf.model.title if lf else fid
        out.append((fid, title, fid in site.frameworks, groups[fid]))
    return out


def _checks(site: Site, here: str, pid: str, practice: Practice) -> list[CheckView]:
    results = [r for r in site.results.results if r.practice == pid]
    views = []
    for n, ref in enumerate(practice.checks):
        mine = [r for r in results if r.check == ref.id]
        by_env: dict[str, list[CheckResult]] = defaultdict(list)
        for r in mine:
            by_env[r.environment or "(all)"].append(r)
        ids = sorted({e for r in mine for e in r.evidence})
        evidence = []
        for item_id in ids:
            item = site.items.get(item_id)
            url = site.evidence_link(here, item) if item is not None else None
            evidence.append(Evidence(item_id, item, url))
        params = json.dumps(ref.with_, sort_keys=True, ensure_ascii=False) if ref.with_ else None
        anchor = f"check-{n + 1}"
        views.append(CheckView(ref.id, anchor, params, sorted(by_env.items()), evidence))
    return views


def render(site: Site, loaded: Loaded[Practice]) -> tuple[str, str]:
    practice = loaded.model
    here = site.layout.practice(practice.id)
    pages = [(site.pages.get(p, p), site.page_link(here, p)) for p in practice.docs]
    attestations = [
        a.model for a in site.library.attestations.values() if practice.id in a.model.practices
    ]
    text = render_markdown(
        "practice.md.j2",
        site=site,
        p=practice,
        file=loaded.file,
        met=_met(site, here, practice),
        checks=_checks(site, here, practice.id, practice),
        pages=pages,
        attestations=attestations,
        index=relative(here, site.layout.practices),
    )
    return here, text


def render_index(site: Site) -> tuple[str, str]:
    here = site.layout.practices
    rows = []
    for pid in sorted(site.library.practices):
        p = site.library.practices[pid].model
        statuses = [
            site.controls[s.control].status for s in p.satisfies if s.control in site.controls
        ]
        worst = min(statuses, key=lambda s: _ORDER.index(s)) if statuses else None
        rows.append((p, relative(here, site.layout.practice(pid)), len(p.checks), worst))
    return here, render_markdown("practices.md.j2", site=site, rows=rows)


_ORDER = [
    Status.failing,
    Status.no_evidence,
    Status.unmapped,
    Status.documented,
    Status.verified,
    Status.excluded,
]
