"""The ISO/IEC 27001 Statement of Applicability: every Annex A control, whether it applies, why,
and what implements it."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from generator.report import ControlReport, FrameworkReport, Status
from generator.site.anchors import slug
from generator.site.model import Site, relative
from generator.site.render import render_markdown


@dataclass(frozen=True)
class Entry:
    c: ControlReport
    url: Markup | None
    applicable: bool
    why: str
    implemented: list[tuple[str, Markup | None]]


def _why(c: ControlReport) -> str:
    """Why the control is in or out: the exclusion, else what the practices say about it."""
    if c.exclusion is not None:
        ex = c.exclusion
        until = f", until {ex.expires.isoformat()}" if ex.expires else ""
        return f"{ex.justification} (approved by {ex.approved_by}{until})"
    notes = [p.note for p in c.practices if p.note]
    if notes:
        return " ".join(notes)
    if c.status is Status.unmapped:
        return "Applicable; no practice implements it yet (a gap)."
    if c.attestations:
        a = c.attestations[0]
        return f"Applicable; attested by {a.attested_by} on {a.date.isoformat()}."
    return "Applicable to the platform and its application deployments."


def render(site: Site, fw: FrameworkReport) -> tuple[str, str]:
    here = site.layout.soa(fw.id)
    lf = site.library.frameworks[fw.id]
    by_group: dict[str, list[Entry]] = {}
    for c in fw.controls:
        implemented = [(p.title, relative(here, site.layout.practice(p.id))) for p in c.practices]
        implemented += [(site.pages.get(p, p), site.page_link(here, p)) for p in c.pages]
        implemented += [(f"attestation by {a.attested_by}", None) for a in c.attestations]
        entry = Entry(
            c,
            site.control_link(here, c.ref),
            c.status is not Status.excluded,
            _why(c),
            implemented,
        )
        by_group.setdefault(c.groups[0] if c.groups else "", []).append(entry)
    groups = []
    for gid, entries in by_group.items():
        group = lf.groups.get(gid)
        title = f"{gid} {group.title}" if group else "Controls"
        groups.append((title, f"grp-{slug(gid) or 'none'}", entries))
    applicable = sum(1 for c in fw.controls if c.status is not Status.excluded)
    implemented = sum(1 for c in fw.controls if c.status not in (Status.excluded, Status.unmapped))
    attention = sum(1 for c in fw.controls if c.status in (Status.failing, Status.no_evidence))
    scope = site.library.scope.model if site.library.scope is not None else None
    text = render_markdown(
        "soa.md.j2",
        site=site,
        fw=fw,
        scope=scope,
        groups=groups,
        total=len(fw.controls),
        applicable=applicable,
        implemented=implemented,
        attention=attention,
        framework=relative(here, site.layout.framework(fw.id)),
    )
    return here, text
