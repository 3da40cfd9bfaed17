"""Resolving an OSCAL profile into the catalog it selects.

What is supported: imports of catalogs and of other profiles (resolved first), by a relative
path, a file: URL or a back-matter resource (`#uuid`, its JSON rlink); include-all and
include-controls by with-ids and matching (globs), with-child-controls, exclude-controls; several
imports; merge as-is (groups kept) or flat; title changes made by alters. What is not: custom
merge (refused), set-parameters and the other alters (they change parameters and text, not which
controls there are: reported, then left out), and fetching imports over the network.
"""

from __future__ import annotations

import fnmatch
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import InputError, InputErrors
from generator.oscal.models import (
    Catalog,
    CatalogDocument,
    Control,
    Group,
    Import,
    Param,
    Profile,
    ProfileDocument,
    SelectControls,
)
from generator.oscal.source import Document, read_document

MAX_DEPTH = 8  # profiles importing profiles


@dataclass
class Overrides:
    """--catalog: files that replace import hrefs, by href, or one file for every import of the
    profile given on the command line."""

    by_href: dict[str, Path] = field(default_factory=dict)
    default: Path | None = None


@dataclass
class Resolution:
    catalog: Catalog
    notes: list[str] = field(default_factory=list)


def _json_rlink(doc: Document, profile: Profile, index: int, uuid: str) -> str:
    where = ("imports", index, "href")
    resource = profile.back_matter.resource(uuid) if profile.back_matter else None
    if resource is None:
        raise doc.error(f"imports[{index}].href '#{uuid}' names no resource in back-matter", *where)
    for rlink in resource.rlinks:
        media = rlink.media_type or ""
        if "json" in media or urllib.parse.urlsplit(rlink.href).path.endswith(".json"):
            return rlink.href
    raise doc.error(
        f"imports[{index}]: back-matter resource {uuid} has no JSON rlink (evidoc reads OSCAL "
        "JSON); pass the catalog as JSON with --catalog FILE",
        *where,
    )


def _import_path(doc: Document, profile: Profile, index: int, href: str) -> Path:
    where = ("imports", index, "href")
    shown = href
    if href.startswith("#"):
        href = _json_rlink(doc, profile, index, href[1:])
        shown = f"{shown} ({href})"
    parts = urllib.parse.urlsplit(href)
    if parts.scheme in ("http", "https"):
        raise doc.error(
            f"imports[{index}] refers to {shown}: evidoc does not fetch imports over the network; "
            "download it and pass it with --catalog FILE",
            *where,
        )
    if parts.scheme == "file":
        path = Path(urllib.request.url2pathname(parts.path))
    elif parts.scheme:
        raise doc.error(f"imports[{index}]: unsupported href {shown}", *where)
    else:
        path = doc.path.parent / urllib.parse.unquote(parts.path)
    if not path.is_file():
        raise doc.error(
            f"imports[{index}]: {shown} not found (looked for {path}); pass the imported catalog "
            "with --catalog FILE, or --catalog HREF=FILE for one of several imports",
            *where,
        )
    return path


def _index(catalog: Catalog) -> tuple[list[str], dict[str, list[str]]]:
    """Every control id in document order, and each control's descendants."""
    order: list[str] = []
    below: dict[str, list[str]] = {}

    def walk(controls: list[Control]) -> list[str]:
        found: list[str] = []
        for c in controls:
            order.append(c.id)
            kids = walk(c.controls)
            below[c.id] = kids
            found += [c.id, *kids]
        return found

    def groups(gs: list[Group]) -> None:
        for g in gs:
            walk(g.controls)
            groups(g.groups)

    walk(catalog.controls)
    groups(catalog.groups)
    return order, below


def _select(
    doc: Document,
    index: int,
    key: str,
    selectors: list[SelectControls],
    known: tuple[list[str], dict[str, list[str]]],
    source: str,
    errors: list[InputError],
) -> set[str]:
    order, below = known
    chosen: set[str] = set()
    for j, sel in enumerate(selectors):
        picked: set[str] = set()
        for k, cid in enumerate(sel.with_ids):
            if cid in below:
                picked.add(cid)
            else:
                errors.append(
                    doc.error(
                        f"imports[{index}].{key}[{j}].with-ids names {cid!r}, a control "
                        f"{source} does not have",
                        "imports",
                        index,
                        key,
                        j,
                        "with-ids",
                        k,
                    )
                )
        for m in sel.matching:
            picked.update(c for c in order if fnmatch.fnmatchcase(c, m.pattern))
        if sel.with_child_controls == "yes":
            for cid in list(picked):
                picked.update(below[cid])
        chosen |= picked
    return chosen


def _prune(controls: list[Control], keep: set[str]) -> list[Control]:
    """The kept controls with their kept descendants; a kept control under one left out takes
    its place (evidoc lists enhancements beside their parent in any case)."""
    out: list[Control] = []
    for c in controls:
        kids = _prune(c.controls, keep)
        if c.id in keep:
            out.append(c.model_copy(update={"controls": kids}))
        else:
            out.extend(kids)
    return out


def _prune_groups(groups: list[Group], keep: set[str]) -> list[Group]:
    out = []
    for g in groups:
        sub = _prune_groups(g.groups, keep)
        controls = _prune(g.controls, keep)
        if sub or controls:
            out.append(g.model_copy(update={"groups": sub, "controls": controls}))
    return out


def _merge_groups(into: list[Group], new: list[Group]) -> list[Group]:
    """As-is merge of several imports: groups with the same id (or title) become one."""
    out = list(into)
    for g in new:
        key = g.id or g.title
        at = next((i for i, o in enumerate(out) if (o.id or o.title) == key), None)
        if at is None:
            out.append(g)
        else:
            old = out[at]
            out[at] = old.model_copy(
                update={
                    "groups": _merge_groups(old.groups, g.groups),
                    "controls": [*old.controls, *g.controls],
                    "params": [*old.params, *g.params],
                }
            )
    return out


def _all_controls(controls: list[Control]) -> list[Control]:
    return [x for c in controls for x in (c, *_all_controls(c.controls))]


def _flat(catalog_groups: list[Group], controls: list[Control]) -> list[Control]:
    out = list(controls)
    for g in catalog_groups:
        out += g.controls
        out += _flat(g.groups, [])
    return out


def _load_import(
    doc: Document,
    profile: Profile,
    index: int,
    imp: Import,
    overrides: Overrides,
    top: bool,
    stack: tuple[Path, ...],
) -> tuple[Catalog, str, list[str]]:
    if imp.href in overrides.by_href:
        path = overrides.by_href[imp.href]
    elif top and overrides.default is not None:
        path = overrides.default
    else:
        path = _import_path(doc, profile, index, imp.href)
    source = read_document(path, str(path))
    if source.kind == "catalog":
        return source.parse(CatalogDocument).catalog, source.display, []
    if source.kind == "profile":
        if path.resolve() in stack or len(stack) >= MAX_DEPTH:
            raise doc.error(
                f"imports[{index}]: {source.display} imports itself, directly or through other "
                "profiles (or they nest too deep)",
                "imports",
                index,
                "href",
            )
        resolved = _resolve(source, overrides, False, stack)
        return resolved.catalog, source.display, resolved.notes
    raise doc.error(
        f"imports[{index}]: {source.display} is a mapping collection, expected a catalog or a "
        "profile",
        "imports",
        index,
        "href",
    )


def _resolve(doc: Document, overrides: Overrides, top: bool, stack: tuple[Path, ...]) -> Resolution:
    profile = doc.parse(ProfileDocument).profile
    stack = (*stack, doc.path.resolve())
    merge = profile.merge
    if merge is not None and merge.custom is not None:
        raise doc.error(
            "merge: custom grouping is not supported; use as-is (keep the catalog's groups) or "
            "flat",
            "merge",
            "custom",
        )
    as_is = merge is not None and bool(merge.as_is)
    notes: list[str] = []
    errors: list[InputError] = []
    groups: list[Group] = []
    controls: list[Control] = []
    params: list[Param] = []
    origin: dict[str, str] = {}
    for i, imp in enumerate(profile.imports):
        catalog, source, more = _load_import(doc, profile, i, imp, overrides, top, stack)
        notes += more
        known = _index(catalog)
        if imp.include_all is not None:
            keep = set(known[0])
        else:
            keep = _select(
                doc, i, "include-controls", imp.include_controls or [], known, source, errors
            )
        keep -= _select(doc, i, "exclude-controls", imp.exclude_controls, known, source, errors)
        for cid in known[0]:
            if cid in keep and cid in origin:
                if origin[cid] == source:
                    keep.discard(cid)  # the same control imported twice: once is enough
                else:
                    errors.append(
                        doc.error(
                            f"imports[{i}]: control {cid!r} is also imported from "
                            f"{origin[cid]}; evidoc needs each id once (merge combine is not "
                            "supported)",
                            "imports",
                            i,
                        )
                    )
            elif cid in keep:
                origin[cid] = source
        params += catalog.params
        new_groups = _prune_groups(catalog.groups, keep)
        new_controls = _prune(catalog.controls, keep)
        if as_is:
            groups = _merge_groups(groups, new_groups)
            controls += new_controls
        else:
            controls += _flat(new_groups, new_controls)
            params += [p for g in _all_groups(catalog.groups) for p in g.params]
    if errors:
        raise InputErrors(errors)
    groups, controls = _apply_alters(doc, profile, groups, controls, notes)
    resolved = Catalog(
        uuid=profile.uuid,
        metadata=profile.metadata,
        params=params,
        controls=controls,
        groups=groups,
    )
    return Resolution(resolved, notes)


def _all_groups(groups: list[Group]) -> list[Group]:
    return [x for g in groups for x in (g, *_all_groups(g.groups))]


def _apply_alters(
    doc: Document,
    profile: Profile,
    groups: list[Group],
    controls: list[Control],
    notes: list[str],
) -> tuple[list[Group], list[Control]]:
    """Title changes from alters; everything else in modify is counted and reported."""
    modify = profile.modify
    if modify is None:
        return groups, controls
    titles: dict[str, str] = {}
    other = 0
    for alter in modify.alters:
        other += len(alter.removes)
        for add in alter.adds:
            if add.title and add.by_id in (None, alter.control_id):
                titles[alter.control_id] = add.title
            else:
                other += 1
    if modify.set_parameters or other:
        notes.append(
            f"{doc.display}: modify is applied only for title changes; "
            f"{len(modify.set_parameters)} set-parameters and {other} other alteration(s) "
            "are left out (they change parameters and text, not which controls there are)"
        )
    if not titles:
        return groups, controls

    def retitle(cs: list[Control]) -> list[Control]:
        return [
            c.model_copy(
                update={"title": titles.get(c.id, c.title), "controls": retitle(c.controls)}
            )
            for c in cs
        ]

    def regroup(gs: list[Group]) -> list[Group]:
        return [
            g.model_copy(update={"groups": regroup(g.groups), "controls": retitle(g.controls)})
            for g in gs
        ]

    return regroup(groups), retitle(controls)


def resolve_profile(doc: Document, overrides: Overrides) -> Resolution:
    """The catalog DOC (a profile) selects, with notes on what was left out."""
    return _resolve(doc, overrides, True, ())
