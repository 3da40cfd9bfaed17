"""The ISO/IEC 27001 Statement of Applicability: every Annex A control, whether it applies, why,
how it is implemented (generator/implementation.py) and what implements it, with its evidence
status beside it."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from generator.library import group_label
from generator.report import IMPLEMENTATION_ORDER, ControlReport, FrameworkReport, Status
from generator.site.anchors import slug
from generator.site.model import Site, relative
from generator.site.render import render_markdown


@dataclass(frozen=True)
class Entry:
    c: ControlReport
    url: Markup | None
    applicable: bool
    implementation: str  # e.g. "inherited", "planned (2027-03-31)"
    why: str
    implemented: list[tuple[str, Markup | None]]


def _why(c: ControlReport) -> str:
    """Why the control is in or out: the exclusion or inheritance, else what the practices say."""
    if c.exclusion is not None:
        ex = c.exclusion
        until = f", until {ex.expires.isoformat()}" if ex.expires else ""
        text = f"{ex.justification} (approved by {ex.approved_by}{until})"
        if c.applies_if:
            text += f" Applies only if {c.applies_if}."
        if ex.decision:
            text += f" Decision: {ex.decision}"
        return text
    # The framework's reason is stated once above the table; a control's own reason leads.
    own = f"{c.inclusion.rstrip('.')}. " if c.inclusion else ""
    return own + _applicable(c)


def _applicable(c: ControlReport) -> str:
    if c.inherited is not None:
        inh = c.inherited
        until = f", until {inh.expires.isoformat()}" if inh.expires else ""
        return f"Applicable; implemented by {inh.provider} (approved by {inh.approved_by}{until})."
    entry = c.implementation_entry
    if entry is not None and entry.note:
        return f"Applicable. {entry.note}"
    notes = [p.note for p in c.practices if p.note]
    if notes:
        return " ".join(notes)
    if c.status is Status.unmapped:
        return "Applicable; no practice implements it yet (a gap)."
    if c.attestations:
        a = c.attestations[0]
        return f"Applicable; attested by {a.attested_by} on {a.date.isoformat()}."
    return "Applicable to the platform and its application deployments."


def _implementation(c: ControlReport) -> str:
    entry = c.implementation_entry
    if entry is not None and entry.due is not None and c.implementation.value == "planned":
        return f"{c.implementation.label} ({entry.due.isoformat()})"
    return c.implementation.label


def render(site: Site, fw: FrameworkReport) -> tuple[str, str]:
    here = site.layout.soa(fw.id)
    lf = site.library.frameworks[fw.id]
    by_group: dict[str, list[Entry]] = {}
    for c in fw.controls:
        implemented: list[tuple[str, Markup | None]] = []
        if c.inherited is not None:
            implemented.append((f"{c.inherited.provider}; evidence: {c.inherited.reference}", None))
        if c.exclusion is not None and c.exclusion.alternative:
            implemented.append((f"alternative measure: {c.exclusion.alternative}", None))
        entry = c.implementation_entry
        if entry is not None and entry.measure:
            implemented.append((f"alternative measure: {entry.measure}", None))
        implemented += [(p.title, relative(here, site.layout.practice(p.id))) for p in c.practices]
        implemented += [(site.pages.get(p, p), site.page_link(here, p)) for p in c.pages]
        implemented += [(f"attestation by {a.attested_by}", None) for a in c.attestations]
        by_group.setdefault(c.groups[0] if c.groups else "", []).append(
            Entry(
                c,
                site.control_link(here, c.ref),
                c.implementation.applicable,
                _implementation(c),
                _why(c),
                implemented,
            )
        )
    groups = []
    for gid, entries in by_group.items():
        group = lf.groups.get(gid)
        title = group_label(gid, group.title) if group else "Controls"
        groups.append((title, f"grp-{slug(gid) or 'none'}", entries))
    applicable = sum(1 for c in fw.controls if c.implementation.applicable)
    attention = sum(1 for c in fw.controls if c.status in (Status.failing, Status.no_evidence))
    counts = [
        (n, s.label)
        for s in IMPLEMENTATION_ORDER
        if s.applicable and (n := fw.implementation_totals.get(s, 0))
    ]
    scope = site.library.scope.model if site.library.scope is not None else None
    text = render_markdown(
        "soa.md.j2",
        site=site,
        fw=fw,
        scope=scope,
        groups=groups,
        total=len(fw.controls),
        applicable=applicable,
        counts=counts,
        attention=attention,
        levels=any(c.level for c in fw.controls),
        framework=relative(here, site.layout.framework(fw.id)),
        soa=scope.statement_of_applicability if scope else None,
        overdue=bool(
            scope
            and scope.statement_of_applicability
            and scope.statement_of_applicability.overdue(site.report.as_of)
        ),
    )
    return here, text
