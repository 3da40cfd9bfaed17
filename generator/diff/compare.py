"""The comparison itself: two loaded and judged instances in, an InstanceDiff out. Pure: it
reads only the two libraries and reports it is given."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from generator.diff.model import (
    Change,
    CheckChange,
    ControlDiff,
    EntryChange,
    EvidenceChange,
    ExclusionChange,
    FrameworkDiff,
    ImplementationChange,
    InheritedChange,
    InstanceDiff,
    MappingChange,
    MappingSide,
    NamesChange,
    PracticeDiff,
    ProofChange,
    SideInfo,
)
from generator.library import Library
from generator.models import Exclusion, Inherited
from generator.models.practice import CheckRef
from generator.report import ControlReport, FrameworkReport, PracticeLink, Report

E = TypeVar("E", Exclusion, Inherited)


@dataclass(frozen=True)
class Side:
    """One instance, loaded and judged: what the report of that side says."""

    info: SideInfo
    library: Library
    report: Report


def _ordered(new: Sequence[str], old: Sequence[str]) -> list[str]:
    """NEW's order, then what only OLD has in OLD's order."""
    seen = set(new)
    return [*new, *(k for k in old if k not in seen)]


def _by_practice(links: list[PracticeLink]) -> dict[str, PracticeLink]:
    out: dict[str, PracticeLink] = {}
    for link in links:
        out.setdefault(link.id, link)  # a second mapping of one practice is a duplicate
    return out


def _mapping(
    old: ControlReport, new: ControlReport
) -> tuple[list[MappingChange], list[ProofChange]]:
    before, after = _by_practice(old.practices), _by_practice(new.practices)
    mapping: list[MappingChange] = []
    proof: list[ProofChange] = []
    for pid in sorted(before.keys() | after.keys()):
        o, n = before.get(pid), after.get(pid)
        was = MappingSide(relationship=o.relationship, proven_by=o.proven_by) if o else None
        now = MappingSide(relationship=n.relationship, proven_by=n.proven_by) if n else None
        if o is None or n is None:
            title = n.title if n is not None else o.title if o is not None else pid
            change = Change.added if o is None else Change.removed
            mapping.append(
                MappingChange(practice=pid, title=title, change=change, before=was, after=now)
            )
            continue
        if o.relationship != n.relationship:
            mapping.append(
                MappingChange(
                    practice=pid, title=n.title, change=Change.changed, before=was, after=now
                )
            )
        if set(o.proven_by) != set(n.proven_by):
            proof.append(
                ProofChange(
                    practice=pid,
                    before=list(o.proven_by),
                    after=list(n.proven_by),
                    added=[k for k in n.proven_by if k not in o.proven_by],
                    removed=[k for k in o.proven_by if k not in n.proven_by],
                )
            )
    return mapping, proof


def _names(before: list[str], after: list[str]) -> NamesChange | None:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    return NamesChange(added=added, removed=removed) if added or removed else None


def _in_scope_yaml(library: Library, kind: str, ref: str, day: dt.date) -> Any:
    """The entry of scope.yaml's list KIND for the control that has expired by DAY, if any."""
    if library.scope is None:
        return None
    entries = getattr(library.scope.model, kind)
    return next((e for e in entries if e.control == ref and e.expired(day)), None)


def _entry(
    before: E | None, after: E | None, expired: E | None
) -> tuple[EntryChange, list[str]] | None:
    if before == after:
        return None
    if before is None:
        return EntryChange.added, []
    if after is None:
        return (EntryChange.expired if expired is not None else EntryChange.removed), []
    fields = [
        name for name in type(before).model_fields if getattr(before, name) != getattr(after, name)
    ]
    return EntryChange.changed, fields


def _control(old: ControlReport, new: ControlReport, new_side: Side) -> ControlDiff | None:
    day = new_side.info.as_of
    found: dict[str, Any] = {}
    if old.status != new.status:
        found["evidence"] = EvidenceChange(
            before=old.status, after=new.status, before_reason=old.reason, after_reason=new.reason
        )
    if old.implementation != new.implementation:
        found["implementation"] = ImplementationChange(
            before=old.implementation,
            after=new.implementation,
            before_reason=old.implementation_reason,
            after_reason=new.implementation_reason,
        )
    mapping, proof = _mapping(old, new)
    if mapping:
        found["mapping"] = mapping
    if proof:
        found["proof"] = proof
    pages = _names(old.pages, new.pages)
    if pages:
        found["pages"] = pages
    attestations = _names([a.id for a in old.attestations], [a.id for a in new.attestations])
    if attestations:
        found["attestations"] = attestations
    lapsed = _in_scope_yaml(new_side.library, "exclusions", new.ref, day)
    excl = _entry(old.exclusion, new.exclusion, lapsed)
    if excl:
        found["exclusion"] = ExclusionChange(
            change=excl[0], before=old.exclusion, after=new.exclusion or lapsed, fields=excl[1]
        )
    lapsed = _in_scope_yaml(new_side.library, "inherited", new.ref, day)
    inh = _entry(old.inherited, new.inherited, lapsed)
    if inh:
        found["inherited"] = InheritedChange(
            change=inh[0], before=old.inherited, after=new.inherited or lapsed, fields=inh[1]
        )
    if not found:
        return None
    return ControlDiff(
        framework=new.framework, id=new.id, title=new.title, change=Change.changed, **found
    )


def _one_side(c: ControlReport, change: Change) -> ControlDiff:
    """A control that came into or left a catalog in scope: its status on the side it is on."""
    evidence = EvidenceChange(before=c.status, before_reason=c.reason)
    implementation = ImplementationChange(
        before=c.implementation, before_reason=c.implementation_reason
    )
    if change is Change.added:
        evidence = EvidenceChange(after=c.status, after_reason=c.reason)
        implementation = ImplementationChange(
            after=c.implementation, after_reason=c.implementation_reason
        )
    return ControlDiff(
        framework=c.framework,
        id=c.id,
        title=c.title,
        change=change,
        evidence=evidence,
        implementation=implementation,
    )


def _framework(
    old: FrameworkReport | None, new: FrameworkReport | None, new_side: Side
) -> FrameworkDiff | None:
    some = new or old
    assert some is not None
    counts: dict[str, Any] = {}
    if old is not None:
        counts |= {
            "controls_before": len(old.controls),
            "totals_before": old.totals,
            "implementation_before": old.implementation_totals,
        }
    if new is not None:
        counts |= {
            "controls_after": len(new.controls),
            "totals_after": new.totals,
            "implementation_after": new.implementation_totals,
        }
    if old is None or new is None:
        change = Change.added if old is None else Change.removed
        return FrameworkDiff(id=some.id, title=some.title, change=change, **counts)
    before = {c.id: c for c in old.controls}
    after = {c.id: c for c in new.controls}
    controls: list[ControlDiff] = []
    for cid in _ordered([c.id for c in new.controls], [c.id for c in old.controls]):
        o, n = before.get(cid), after.get(cid)
        if o is None and n is not None:
            controls.append(_one_side(n, Change.added))
        elif n is None and o is not None:
            controls.append(_one_side(o, Change.removed))
        elif o is not None and n is not None:
            found = _control(o, n, new_side)
            if found is not None:
                controls.append(found)
    if not controls and old.totals == new.totals:
        return None
    return FrameworkDiff(
        id=new.id, title=new.title, change=Change.changed, controls=controls, **counts
    )


def _checks(library: Library, pid: str) -> dict[str, CheckRef]:
    out: dict[str, CheckRef] = {}
    loaded = library.practices.get(pid)
    for ref in loaded.model.checks if loaded else []:
        out.setdefault(ref.key, ref)  # a key used twice is a duplicate-id finding
    return out


def _practices(old: Library, new: Library) -> list[PracticeDiff]:
    out: list[PracticeDiff] = []
    for pid in sorted(old.practices.keys() | new.practices.keys()):
        before, after = _checks(old, pid), _checks(new, pid)
        checks: list[CheckChange] = []
        for key in sorted(before.keys() | after.keys()):
            o, n = before.get(key), after.get(key)
            if o == n:
                continue
            change = Change.added if o is None else Change.removed if n is None else Change.changed
            checks.append(
                CheckChange(
                    key=key,
                    check=n.id if n is not None else o.id if o is not None else key,
                    change=change,
                    before=dict(o.with_) if o else None,
                    after=dict(n.with_) if n else None,
                )
            )
        o_p, n_p = old.practices.get(pid), new.practices.get(pid)
        if o_p is None or n_p is None:
            change = Change.added if o_p is None else Change.removed
            either = n_p if n_p is not None else o_p
            title = either.model.title if either is not None else pid
            out.append(PracticeDiff(id=pid, title=title, change=change, checks=checks))
        elif checks:
            out.append(
                PracticeDiff(id=pid, title=n_p.model.title, change=Change.changed, checks=checks)
            )
    return out


def compare(old: Side, new: Side, *, evidence: str = "own") -> InstanceDiff:
    """What differs from OLD to NEW: frameworks in scope, per control its evidence and
    implementation status, mapping, proof, pages, attestations, exclusion and inheritance, and
    the practices and their checks."""
    before = {fw.id: fw for fw in old.report.frameworks}
    after = {fw.id: fw for fw in new.report.frameworks}
    frameworks = []
    for fid in _ordered(list(after), list(before)):
        found = _framework(before.get(fid), after.get(fid), new)
        if found is not None:
            frameworks.append(found)
    return InstanceDiff(
        old=old.info,
        new=new.info,
        evidence=evidence,
        frameworks=frameworks,
        practices=_practices(old.library, new.library),
    )
