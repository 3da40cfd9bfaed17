"""An OSCAL mapping collection as evidoc crosswalks: one crosswalk per mapping.

The relationships are NIST IR 8477's set-theory ones, as OSCAL names them; `no-relationship`
says two controls do not correspond, which a crosswalk does not record. Statement-level entries
are refused: a crosswalk relates whole controls. Framework ids come from evidoc's own props when
the collection was exported by evidoc, else from the resource's title (or file name).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from pydantic import ValidationError

from generator.errors import InputError, InputErrors
from generator.models import Crosswalk
from generator.oscal.ids import NS, from_token, slug
from generator.oscal.models import BackMatter, MappingDocument, Prop, ResourceReference
from generator.oscal.source import Document

FROM_OSCAL = {
    "equivalent-to": "equivalent",
    "subset-of": "subset",
    "superset-of": "superset",
    "intersects-with": "intersects",
}
TO_OSCAL = {v: k for k, v in FROM_OSCAL.items()}
NO_RELATIONSHIP = "no-relationship"

# A map of several sources or targets relates the sets, not each pair: {A, B} equivalent-to {C}
# makes A alone only a subset of C. Each pair gets what still holds for it.
_ONE_OF_MANY_SOURCES = {"equivalent": "subset", "subset": "subset"}
_ONE_OF_MANY_TARGETS = {"equivalent": "superset", "superset": "superset"}


def pair_relationship(relationship: str, sources: int, targets: int) -> str:
    """The relationship of one source to one target of a map with these many of each."""
    if sources > 1 and targets > 1:
        return "intersects"
    if sources > 1:
        return _ONE_OF_MANY_SOURCES.get(relationship, "intersects")
    if targets > 1:
        return _ONE_OF_MANY_TARGETS.get(relationship, "intersects")
    return relationship


@dataclass
class ImportedCrosswalks:
    crosswalks: list[tuple[Crosswalk, dict[str, Any]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def own_prop(props: list[Prop], name: str) -> str | None:
    return next((p.value for p in props if p.name == name and p.ns == NS), None)


def _framework(ref: ResourceReference, back: BackMatter | None) -> str:
    found = own_prop(ref.props, "framework")
    if found:
        return found
    resource = None
    if ref.href.startswith("#") and back is not None:
        resource = back.resource(ref.href[1:])
        if resource is not None:
            found = own_prop(resource.props, "framework")
            if found:
                return found
    if resource is not None and resource.title:
        return slug(resource.title)
    stem = PurePosixPath(urllib.parse.urlsplit(ref.href).path).stem
    return slug(stem) or "unknown"


def crosswalks_from(doc: Document) -> ImportedCrosswalks:
    collection = doc.parse(MappingDocument).mapping_collection
    out = ImportedCrosswalks()
    errors: list[InputError] = []
    skipped = 0
    # OSCAL's JSON may hold a single mapping object instead of a list: locate errors in either.
    single = isinstance(doc.body.get("mappings"), dict)

    def at(i: int, *more: str | int) -> tuple[str | int, ...]:
        return ("mappings", *(() if single else (i,)), *more)

    for i, mapping in enumerate(collection.mappings):
        source = _framework(mapping.source_resource, collection.back_matter)
        target = _framework(mapping.target_resource, collection.back_matter)
        description = (mapping.mapping_description or "").strip().splitlines()
        ident = own_prop(mapping.props, "crosswalk") or slug(f"{source}-{target}", 128)
        title = (
            own_prop(mapping.props, "crosswalk-title")
            or (description[0] if description else None)
            or f"{source} to {target}"
        )
        entries: list[dict[str, Any]] = []
        for j, m in enumerate(mapping.maps):
            relationship = FROM_OSCAL.get(m.relationship)
            if relationship is None:
                if m.relationship == NO_RELATIONSHIP:
                    skipped += 1
                    continue
                errors.append(
                    doc.error(
                        f"mappings[{i}].maps[{j}]: relationship {m.relationship!r} is not one of "
                        f"{', '.join(FROM_OSCAL)} (or {NO_RELATIONSHIP}, which is skipped)",
                        *at(i, "maps", j, "relationship"),
                    )
                )
                continue
            items = [*m.sources, *m.targets]
            if any(item.type != "control" for item in items):
                errors.append(
                    doc.error(
                        f"mappings[{i}].maps[{j}]: maps a statement; evidoc crosswalks relate "
                        "whole controls",
                        *at(i, "maps", j),
                    )
                )
                continue
            pair = pair_relationship(relationship, len(m.sources), len(m.targets))
            for s in m.sources:
                for t in m.targets:
                    entry: dict[str, Any] = {
                        "source": from_token(s.id_ref),
                        "target": from_token(t.id_ref),
                        "relationship": pair,
                    }
                    if m.remarks is not None and m.remarks.strip():
                        entry["note"] = m.remarks
                    entries.append(entry)
        data: dict[str, Any] = {
            "id": ident,
            "title": title,
            "source": source,
            "target": target,
            "mappings": entries,
        }
        try:
            out.crosswalks.append((Crosswalk.model_validate(data), data))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            errors.append(
                doc.error(
                    f"mappings[{i}] cannot be imported as a crosswalk: {where}: {first['msg']}",
                    *at(i),
                )
            )
    if errors:
        raise InputErrors(errors)
    ids = [c.id for c, _ in out.crosswalks]
    if len(set(ids)) != len(ids):
        raise doc.error(
            "two mappings would become crosswalks with the same id; give each an evidoc "
            "'crosswalk' prop or import them separately",
            "mappings",
        )
    if skipped:
        out.notes.append(f"skipped {skipped} map(s) with relationship {NO_RELATIONSHIP}")
    return out
