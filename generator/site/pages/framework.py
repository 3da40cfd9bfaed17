"""Per framework: the status summary, the gaps, then every control in the catalog's groups."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from markupsafe import Markup

from generator.models import Control, Group
from generator.report import IMPLEMENTATION_ORDER, ControlReport, FrameworkReport
from generator.site.model import Site, relative, web_url
from generator.site.pages import GAPS, totals_list
from generator.site.render import render_markdown


@dataclass(frozen=True)
class Link:
    text: str
    url: Markup | None
    kind: str = ""
    note: str | None = None


@dataclass(frozen=True)
class ControlView:
    c: ControlReport
    anchor: str
    summary: str | None
    practices: list[Link]
    pages: list[Link]
    checks: str | None
    problems: list[str]  # proving results that do not pass: "check on subject: reason"


@dataclass(frozen=True)
class Row:
    kind: str  # "group" | "control"
    level: int  # heading level
    anchor: str
    id: str
    title: str
    summary: str | None = None
    control: ControlView | None = None


def control_view(site: Site, here: str, c: ControlReport, summary: str | None) -> ControlView:
    practices = [
        Link(
            p.title,
            relative(here, site.layout.practice(p.id)),
            p.relationship.value
            + (f"; proven by {', '.join(p.proven_by)}" if p.proven_by else "; no proving check"),
            p.note,
        )
        for p in c.practices
    ]
    pages = [
        Link(
            site.pages.get(p, p),
            site.page_link(here, p),
            f"via crosswalk from {c.pages_via[p]}" if p in c.pages_via else "",
        )
        for p in c.pages
    ]
    checks = None
    if c.results:
        counts = Counter(r.status.value for r in c.results)
        checks = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    problems = [
        f"{r.key} on {r.subject} ({r.status.value}): {r.reason}"
        for r in c.results
        if r.status.value != "pass"
    ]
    anchor = site.control_anchor(c.framework, c.id)
    return ControlView(c, anchor, summary, practices, pages, checks, problems)


def rows(site: Site, fw: FrameworkReport, here: str) -> list[Row]:
    """Groups and controls in catalog order, each with its heading level."""
    lf = site.library.frameworks[fw.id]
    by_id = {c.id: c for c in fw.controls}
    out: list[Row] = []
    done: set[str] = set()

    def control(ctl: Control, level: int) -> None:
        c = by_id.get(ctl.id)
        if c is None or ctl.id in done:
            return  # a duplicate id: reported by the gate, shown once
        done.add(ctl.id)
        view = control_view(site, here, c, ctl.summary)
        out.append(Row("control", min(level, 6), view.anchor, c.id, c.title, control=view))

    def walk(groups: list[Group], level: int) -> None:
        for g in groups:
            if lf.groups.get(g.id) is not g:
                continue  # a duplicate group id
            anchor = site.group_anchor(fw.id, g.id)
            out.append(Row("group", min(level, 6), anchor, g.id, g.title, g.summary))
            for ctl in g.controls:
                control(ctl, level + 1)
            walk(g.groups, level + 1)

    for ctl in lf.model.controls:
        control(ctl, 3)
    walk(lf.model.groups, 3)
    return out


def render(site: Site, fw: FrameworkReport) -> tuple[str, str]:
    here = site.layout.framework(fw.id)
    model = site.library.frameworks[fw.id].model
    gaps = sorted((c for c in fw.controls if c.status in GAPS), key=lambda c: GAPS.index(c.status))
    text = render_markdown(
        "framework.md.j2",
        site=site,
        fw=fw,
        model=model,
        source_url=web_url(model.source),
        totals=totals_list(fw.totals),
        total=sum(fw.totals.values()),
        gaps=[(c, site.control_link(here, c.ref)) for c in gaps],
        rows=rows(site, fw, here),
        levels=any(c.level for c in fw.controls),
        implementation=[
            (n, s.label) for s in IMPLEMENTATION_ORDER if (n := fw.implementation_totals.get(s, 0))
        ],
        soa=relative(here, site.layout.soa(fw.id)) if fw.id in site.soa_frameworks else None,
        dashboard=relative(here, site.layout.dashboard),
    )
    return here, text
