"""An OSCAL catalog (or a resolved profile) as an evidoc framework.

Groups stay groups; controls keep their OSCAL ids; control enhancements become controls of
their own, listed right after their parent (`ac-2`, `ac-2.1`, ...), since an evidoc control has
no children. Titles start with the catalog's label (`AC-2(1) Automated System Account
Management`), so every page and the pack show a control the way its catalog does. Statement text
is copied only when asked for: a catalog's text may be copyrighted even where its ids are not.
Withdrawn controls are left out: nothing can be mapped to them any more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from generator.errors import InputError
from generator.models import Framework
from generator.oscal.ids import slug
from generator.oscal.models import Catalog, Control, Group, Param, Part
from generator.oscal.tag_rules import tag_rules

MAX_SUMMARY = 20_000  # evidoc's limit for a text field
_INSERT = re.compile(r"\{\{\s*insert:\s*param,\s*([^\s}]+)\s*\}\}")
_MAX_PARAM_DEPTH = 5  # a choice may insert a parameter, which may have choices...


@dataclass(frozen=True)
class ImportOptions:
    ident: str | None = None  # the framework id; default: made from the title
    tag_prefix: str | None = None  # default: the framework id
    with_text: bool = False


@dataclass
class Counts:
    controls: int = 0
    enhancements: int = 0
    groups: int = 0
    withdrawn: int = 0


@dataclass
class Imported:
    framework: Framework
    data: dict[str, Any]  # the framework as written, in this key order
    counts: Counts
    notes: list[str] = field(default_factory=list)


# --- statement text ---------------------------------------------------------------------------


def _params(catalog: Catalog) -> dict[str, Param]:
    out = {p.id: p for p in catalog.params}
    stack: list[Group | Control] = [*catalog.groups, *catalog.controls]
    while stack:
        node = stack.pop()
        out.update((p.id, p) for p in node.params)
        stack.extend(node.controls)
        if isinstance(node, Group):
            stack.extend(node.groups)
    return out


def _fill(text: str, params: dict[str, Param], depth: int = 0) -> str:
    def one(m: re.Match[str]) -> str:
        param = params.get(m.group(1))
        if param is None or depth >= _MAX_PARAM_DEPTH:
            return f"[Assignment: {m.group(1)}]"
        if param.values:
            return ", ".join(param.values)
        if param.select is not None:
            many = " (one or more)" if param.select.how_many == "one-or-more" else ""
            choices = "; ".join(_fill(c, params, depth + 1) for c in param.select.choice)
            return f"[Selection{many}: {choices}]"
        return f"[Assignment: {param.label or param.id}]"

    return _INSERT.sub(one, text)


def _part_lines(part: Part, params: dict[str, Param], indent: int, out: list[str]) -> None:
    label = next((p.value for p in part.props if p.name == "label"), None)
    prose = _fill(" ".join(part.prose.split()), params) if part.prose else ""
    own = " ".join(x for x in (label, prose) if x)
    if own:
        out.append("  " * indent + own)
    for child in part.parts:
        _part_lines(child, params, indent + 1 if own else indent, out)


def statement_text(control: Control, params: dict[str, Param]) -> str | None:
    lines: list[str] = []
    for part in control.parts:
        if part.name == "statement":
            _part_lines(part, params, 0, lines)
    text = "\n".join(lines).strip()
    if len(text) > MAX_SUMMARY:
        text = text[: MAX_SUMMARY - 1] + "…"
    return text or None


# --- structure ---------------------------------------------------------------------------------


@dataclass
class _Walk:
    params: dict[str, Param]
    with_text: bool
    counts: Counts
    control_ids: list[str] = field(default_factory=list)
    group_ids: list[str] = field(default_factory=list)

    def controls(self, controls: list[Control], depth: int = 0) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for control in controls:
            if control.withdrawn:
                self.counts.withdrawn += 1
            else:
                out.append(self.control(control))
                self.counts.controls += 1
                self.counts.enhancements += depth > 0
            out.extend(self.controls(control.controls, depth + 1))
        return out

    def control(self, control: Control) -> dict[str, Any]:
        self.control_ids.append(control.id)
        title = " ".join(control.title.split())
        label = control.label
        if label and not title.startswith(label):
            title = f"{label} {title}"
        entry: dict[str, Any] = {"id": control.id, "title": title}
        if self.with_text:
            text = statement_text(control, self.params)
            if text:
                entry["summary"] = text
        return entry

    def groups(self, groups: list[Group]) -> list[dict[str, Any]]:
        out = []
        for n, group in enumerate(groups, start=1):
            entry: dict[str, Any] = {
                "id": group.id or slug(group.title) or f"group-{n}",
                "title": " ".join(group.title.split()),
            }
            subgroups = self.groups(group.groups)
            controls = self.controls(group.controls)
            if not subgroups and not controls:
                continue  # nothing left in it (withdrawn controls only)
            if subgroups:
                entry["groups"] = subgroups
            if controls:
                entry["controls"] = controls
            self.group_ids.append(entry["id"])
            self.counts.groups += 1
            out.append(entry)
        return out


def framework_from_catalog(
    catalog: Catalog,
    *,
    display: str,
    source: str,
    kind: str,
    options: ImportOptions,
) -> Imported:
    """The evidoc framework for CATALOG. DISPLAY names the input in errors; SOURCE (the file's
    name) is recorded in the framework; KIND says whether it was a catalog or a profile."""
    meta = catalog.metadata
    ident = options.ident or slug(meta.title) or "imported"
    counts = Counts()
    walk = _Walk(_params(catalog) if options.with_text else {}, options.with_text, counts)
    groups = walk.groups(catalog.groups)
    controls = walk.controls(catalog.controls)
    if not counts.controls:
        raise InputError(display, f"the {kind} has no controls to import")
    seen: set[str] = set()
    for cid in [*walk.control_ids, *walk.group_ids]:
        if cid in seen:
            raise InputError(display, f"the id {cid!r} is used twice; OSCAL ids are unique")
        seen.add(cid)

    text = "copied (--with-text)" if options.with_text else "not copied"
    enh = f", {counts.enhancements} of them enhancements," if counts.enhancements else ""
    data: dict[str, Any] = {
        "id": ident,
        "title": " ".join(meta.title.split()),
        "version": meta.version.strip() or "unversioned",
        "publisher": meta.publisher() or "not named in the OSCAL metadata",
        "source": source,
        "description": (
            f"Imported from the OSCAL {kind} {source} (OSCAL {meta.oscal_version or 'unknown'}"
            f"{', last modified ' + meta.last_modified if meta.last_modified else ''}): "
            f"{counts.controls} controls{enh} in {counts.groups} groups. Control ids are the "
            f"OSCAL ids; titles start with the catalog's label. Statement text {text}."
        ),
        "tags": tag_rules(options.tag_prefix or ident, walk.control_ids, walk.group_ids),
    }
    if groups:
        data["groups"] = groups
    if controls:
        data["controls"] = controls
    try:
        framework = Framework.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(
            display, f"cannot be imported as an evidoc framework: {where}: {first['msg']}"
        ) from None
    notes = [f"left out {counts.withdrawn} withdrawn control(s)"] if counts.withdrawn else []
    return Imported(framework, data, counts, notes)
