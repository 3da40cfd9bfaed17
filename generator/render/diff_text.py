"""`evidoc diff --format text`: one line per change, grouped by framework, then practices."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from generator.diff import (
    Change,
    ControlDiff,
    EntryChange,
    ExclusionChange,
    FrameworkDiff,
    InheritedChange,
    InstanceDiff,
    MappingSide,
    PracticeDiff,
    SideInfo,
)
from generator.models import Exclusion, Inherited
from generator.report import IMPLEMENTATION_ORDER, STATUS_ORDER

ARROW = "→"


def _one_line(text: Any) -> str:
    return " ".join(str(text).split()) if text is not None else "none"


def _side(name: str, info: SideInfo) -> str:
    snap = info.snapshot
    evidence = f"snapshot {snap.id}" if snap is not None else "no evidence snapshot"
    if snap is not None and snap.demo:
        evidence += " (demo evidence)"
    return f"{name}: {info.ref.label}; {evidence}; judged on {info.as_of.isoformat()}"


def _totals(before: dict[Any, int], after: dict[Any, int], order: list[Any]) -> list[str]:
    return [
        f"{key.value} {before.get(key, 0)} {ARROW} {after.get(key, 0)}"
        for key in order
        if before.get(key, 0) != after.get(key, 0)
    ]


def _counts(totals: dict[Any, int]) -> str:
    return ", ".join(f"{n} {key.value}" for key, n in totals.items() if n)


def _mapping(side: MappingSide) -> str:
    proof = f", proven by {', '.join(side.proven_by)}" if side.proven_by else ""
    return f"{side.relationship.value}{proof}"


def _until(expires: Any) -> str:
    return f", until {expires.isoformat()}" if expires is not None else ""


def _about(entry: Exclusion | Inherited, *, until: bool = True) -> str:
    if isinstance(entry, Exclusion):
        what = _one_line(entry.justification)
    else:
        what = f"from {_one_line(entry.provider)}; evidence: {_one_line(entry.reference)}"
    expires = _until(entry.expires) if until else ""
    return f"{what} (approved by {_one_line(entry.approved_by)}{expires})"


def _entry(ref: str, what: str, found: ExclusionChange | InheritedChange) -> Iterator[str]:
    entry = found.after if found.change is not EntryChange.removed else found.before
    assert entry is not None
    about = _about(entry, until=found.change is not EntryChange.expired)
    if found.change is EntryChange.added:
        yield f"{ref}: {what} added: {about}"
    elif found.change is EntryChange.removed:
        yield f"{ref}: {what} removed (was: {about})"
    elif found.change is EntryChange.expired:
        yield f"{ref}: {what} expired on {entry.expires}: {about}"
    else:
        changes = "; ".join(
            f"{name} {_one_line(getattr(found.before, name))} {ARROW} "
            f"{_one_line(getattr(found.after, name))}"
            for name in found.fields
        )
        yield f"{ref}: {what} changed: {changes}"


def control_lines(c: ControlDiff) -> Iterator[str]:
    """The lines of one control, each naming it as framework:control."""
    ref = c.ref
    ev, impl = c.evidence, c.implementation
    if c.change is Change.added:
        assert ev is not None and impl is not None
        yield (
            f"{ref}: added to the catalog ({_one_line(c.title)}): evidence {ev.after}, "
            f"implementation {impl.after} ({_one_line(ev.after_reason)})"
        )
        return
    if c.change is Change.removed:
        assert ev is not None and impl is not None
        yield (
            f"{ref}: removed from the catalog ({_one_line(c.title)}); it was {ev.before}, "
            f"{impl.before}"
        )
        return
    if ev is not None:
        yield f"{ref}: evidence {ev.before} {ARROW} {ev.after} ({_one_line(ev.after_reason)})"
    if impl is not None:
        yield (
            f"{ref}: implementation {impl.before} {ARROW} {impl.after} "
            f"({_one_line(impl.after_reason)})"
        )
    if c.exclusion is not None:
        yield from _entry(ref, "exclusion", c.exclusion)
    if c.inherited is not None:
        yield from _entry(ref, "inheritance", c.inherited)
    for m in c.mapping:
        if m.change is Change.added and m.after is not None:
            yield f"{ref}: mapping added: {m.practice} ({_mapping(m.after)})"
        elif m.change is Change.removed and m.before is not None:
            yield f"{ref}: mapping removed: {m.practice} ({_mapping(m.before)})"
        elif m.before is not None and m.after is not None:
            yield (
                f"{ref}: mapping by {m.practice}: {m.before.relationship.value} {ARROW} "
                f"{m.after.relationship.value}"
            )
    for p in c.proof:
        yield (
            f"{ref}: proof by {p.practice}: proven_by {', '.join(p.before) or 'none'} {ARROW} "
            f"{', '.join(p.after) or 'none'}"
        )
    for what, names in (("page", c.pages), ("attestation", c.attestations)):
        if names is None:
            continue
        for name in names.added:
            yield f"{ref}: {what} added: {name}"
        for name in names.removed:
            yield f"{ref}: {what} removed: {name}"


def _framework(fw: FrameworkDiff) -> Iterator[str]:
    moved = []
    evidence = _totals(fw.totals_before, fw.totals_after, STATUS_ORDER)
    if evidence:
        moved.append(f"evidence {', '.join(evidence)}")
    implementation = _totals(
        fw.implementation_before, fw.implementation_after, IMPLEMENTATION_ORDER
    )
    if implementation:
        moved.append(f"implementation {', '.join(implementation)}")
    head = f"{fw.id} ({_one_line(fw.title)}): {len(fw.controls)} control(s) changed"
    yield head + "".join(f"; {part}" for part in moved)
    for c in fw.controls:
        for line in control_lines(c):
            yield f"  {line}"


def practice_lines(p: PracticeDiff) -> Iterator[str]:
    keys = ", ".join(c.key for c in p.checks)
    if p.change is Change.added:
        yield f"+ {p.id} ({_one_line(p.title)}): added" + (f", checks: {keys}" if keys else "")
        return
    if p.change is Change.removed:
        yield f"- {p.id} ({_one_line(p.title)}): removed" + (f", checks: {keys}" if keys else "")
        return
    for c in p.checks:
        named = c.key if c.key == c.check else f"{c.key} ({c.check})"
        if c.change is Change.changed:
            yield (
                f"{p.id}: check {named} changed: with {_params(c.before)} {ARROW} "
                f"{_params(c.after)}"
            )
        else:
            yield f"{p.id}: check {named} {c.change.value}"


def _params(params: dict[str, Any] | None) -> str:
    return json.dumps(params or {}, sort_keys=True, ensure_ascii=False, default=str)


def render(diff: InstanceDiff) -> str:
    lines = [
        f"evidoc diff {diff.old.ref.argument} {ARROW} {diff.new.ref.argument}",
        _side("old", diff.old),
        _side("new", diff.new),
    ]
    if diff.evidence == "shared":
        lines.append("evidence: both sides judged on the same snapshot (--snapshot)")
    scope = [fw for fw in diff.frameworks if fw.change is not Change.changed]
    changed = [fw for fw in diff.frameworks if fw.change is Change.changed]
    if scope:
        lines += ["", "Scope"]
        for fw in scope:
            if fw.change is Change.added:
                lines.append(
                    f"  + {fw.id} ({_one_line(fw.title)}): added to the scope, "
                    f"{fw.controls_after} controls ({_counts(fw.totals_after)})"
                )
            else:
                lines.append(
                    f"  - {fw.id} ({_one_line(fw.title)}): removed from the scope, "
                    f"{fw.controls_before} controls"
                )
    for fw in changed:
        lines.append("")
        lines += list(_framework(fw))
    if diff.practices:
        lines += ["", "Practices"]
        for p in diff.practices:
            lines += [f"  {line}" for line in practice_lines(p)]
    lines += ["", summary(diff)]
    return "\n".join(lines) + "\n"


def summary(diff: InstanceDiff) -> str:
    if not diff.differences:
        return "no differences"
    n_controls = sum(1 for _ in diff.controls())
    parts = []
    changed = [fw for fw in diff.frameworks if fw.change is Change.changed]
    if n_controls or changed:
        parts.append(f"{n_controls} control(s) changed in {len(changed)} framework(s)")
    for change, what in ((Change.added, "added to"), (Change.removed, "removed from")):
        n = sum(1 for fw in diff.frameworks if fw.change is change)
        if n:
            parts.append(f"{n} framework(s) {what} the scope")
    if diff.practices:
        parts.append(f"{len(diff.practices)} practice(s) changed")
    return "; ".join(parts)
