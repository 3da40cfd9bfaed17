"""The crosswalks as an OSCAL mapping collection: one mapping per crosswalk.

evidoc's relationships are the set-theory ones of NIST IR 8477 that OSCAL names:
equivalent -> equivalent-to, subset -> subset-of, superset -> superset-of,
intersects -> intersects-with. Crosswalk and framework ids travel in evidoc's props, so that
`evidoc import oscal` gives the crosswalks back.
"""

from __future__ import annotations

from typing import Any

from generator.errors import InputError
from generator.models import CrosswalkMapping
from generator.oscal.export_common import Instance, document, framework_resource, prop
from generator.oscal.ids import to_token
from generator.oscal.mapping_import import TO_OSCAL


def _map(instance: Instance, cid: str, m: CrosswalkMapping, seen: dict[str, int]) -> dict[str, Any]:
    name = f"{m.source}\x1f{m.target}\x1f{m.relationship}"
    # Derived from what the entry says, not where it is, so reordering keeps the UUIDs; a
    # repeated entry (the gate reports it) gets a counter.
    seen[name] = seen.get(name, 0) + 1
    entry: dict[str, Any] = {
        "uuid": instance.uuid("map", cid, name, str(seen[name])),
        "relationship": TO_OSCAL[m.relationship.value],
        # Encoded as the component definition encodes control ids, so the two documents join.
        "sources": [{"type": "control", "id-ref": to_token(m.source)}],
        "targets": [{"type": "control", "id-ref": to_token(m.target)}],
    }
    if m.note:
        entry["remarks"] = m.note
    return entry


def export_mapping(instance: Instance) -> bytes:
    library = instance.library
    mappings = []
    frameworks: list[str] = []
    for cid in sorted(library.crosswalks):
        cw = library.crosswalks[cid].model
        if not cw.mappings:
            continue  # OSCAL needs at least one map per mapping
        seen: dict[str, int] = {}
        for fid in (cw.source, cw.target):
            if fid not in frameworks:
                frameworks.append(fid)
        mappings.append(
            {
                "uuid": instance.uuid("mapping", cid),
                "source-resource": {
                    "type": "catalog",
                    "href": f"#{instance.uuid('framework', cw.source)}",
                    "props": [prop("framework", cw.source)],
                },
                "target-resource": {
                    "type": "catalog",
                    "href": f"#{instance.uuid('framework', cw.target)}",
                    "props": [prop("framework", cw.target)],
                },
                "maps": [_map(instance, cid, m, seen) for m in cw.mappings],
                "props": [prop("crosswalk", cid), prop("crosswalk-title", cw.title)],
                "mapping-description": cw.title,
            }
        )
    if not mappings:
        raise InputError(
            instance.root / "controls" / "crosswalks",
            "no crosswalk with mappings: nothing to export (a mapping collection needs one)",
        )
    org = instance.organisation
    body = {
        "provenance": {
            "method": "human",
            "matching-rationale": "semantic",
            "status": "complete",
            "mapping-description": (
                f"The crosswalks of {org or 'the evidoc instance'} (controls/crosswalks), written "
                "by people who compared the controls' meaning."
            ),
        },
        "mappings": mappings,
        "back-matter": {"resources": [framework_resource(instance, f) for f in frameworks]},
    }
    title = f"Crosswalks{' of ' + org if org else ''}"
    return document(
        "mapping-collection", instance.uuid("mapping-collection"), title, instance.at, body
    )
