"""The practices as an OSCAL component definition: one component, the platform, with a control
implementation per framework its practices map.

Each implemented requirement is one control; its description is the statement of every practice
that maps it (with the relationship and note), and evidoc's props name, per practice (the prop
group), the practice, its owner, the relationship and each check that proves the control.
Control ids that are not OSCAL tokens are encoded (ids.to_token)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from generator.errors import InputError
from generator.models import Practice, Satisfies
from generator.models.common import split_ref
from generator.oscal.export_common import Instance, document, framework_resource, prop
from generator.oscal.ids import to_token


def _description(instance: Instance) -> str:
    sources = instance.library.sources
    org = instance.organisation
    head = (
        f"The Kubernetes platform{' of ' + org if org else ''}, as its evidoc instance describes it"
    )
    if sources is None or not sources.model.environments:
        return head + "."
    envs = "; ".join(
        f"{e.name} ({', '.join(c.name for c in e.clusters) or 'no clusters'})"
        for e in sources.model.environments
    )
    text = f"{head}: environments {envs}."
    if sources.model.deployments:
        deps = ", ".join(f"{d.name} ({d.tier})" for d in sources.model.deployments)
        text += f" Application deployments: {deps}."
    return text


def _requirement(
    instance: Instance, fid: str, cid: str, links: list[tuple[str, Practice, Satisfies]]
) -> dict[str, Any]:
    paragraphs = []
    props = []
    for pid, practice, sat in links:
        text = f"**{practice.title}** ({sat.relationship.value}): {practice.statement.strip()}"
        if sat.note:
            text += f"\n\n{sat.note.strip()}"
        paragraphs.append(text)
        props += [
            prop("practice", pid, group=pid),
            prop("owner", practice.owner, group=pid),
            prop("relationship", sat.relationship.value, group=pid),
        ]
        props += [prop("proven-by", key, group=pid) for key in sat.proven_by]
    return {
        "uuid": instance.uuid("implemented-requirement", fid, cid),
        "control-id": to_token(cid),
        "description": "\n\n".join(paragraphs),
        "props": [prop("control", cid), *props],
    }


def export_component(instance: Instance) -> bytes:
    library = instance.library
    # framework -> control -> the practices that map it, in practice id order
    mapped: dict[str, dict[str, list[tuple[str, Practice, Satisfies]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for pid in sorted(library.practices):
        practice = library.practices[pid].model
        for sat in practice.satisfies:
            fid, cid = split_ref(sat.control)
            mapped[fid][cid].append((pid, practice, sat))
    implementations = []
    used: list[str] = []
    for fid in sorted(mapped):
        loaded = library.frameworks.get(fid)
        if loaded is None:
            continue  # an unknown framework: the gate reports it
        # Catalog order; references to controls the catalog lacks are the gate's findings.
        requirements = [
            _requirement(instance, fid, cid, mapped[fid][cid])
            for cid in loaded.controls
            if cid in mapped[fid]
        ]
        if not requirements:
            continue
        used.append(fid)
        implementations.append(
            {
                "uuid": instance.uuid("control-implementation", fid),
                "source": f"#{instance.uuid('framework', fid)}",
                "description": (
                    f"How the practices implement {loaded.model.title} "
                    f"({len(requirements)} controls)."
                ),
                "props": [prop("framework", fid)],
                "implemented-requirements": requirements,
            }
        )
    if not implementations:
        raise InputError(
            instance.root / "controls" / "practices",
            "no practice maps a control of a known framework: nothing to export",
        )
    org = instance.organisation
    component = {
        "uuid": instance.uuid("component", "platform"),
        "type": "service",
        "title": f"Kubernetes platform{' of ' + org if org else ''}",
        "description": _description(instance),
        "control-implementations": implementations,
    }
    body = {
        "components": [component],
        "back-matter": {"resources": [framework_resource(instance, f) for f in used]},
    }
    title = f"Control implementations of the Kubernetes platform{' of ' + org if org else ''}"
    return document(
        "component-definition", instance.uuid("component-definition"), title, instance.at, body
    )
