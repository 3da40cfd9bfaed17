"""Report stage: the status of every in-scope control, the same for every output."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from pydantic import BaseModel, ConfigDict

from generator.implementation import (
    IMPLEMENTATION_ORDER,
    Implementation,
    implementation_status,
)
from generator.library import Library
from generator.models import (
    Attestation,
    Exclusion,
    ExclusionRule,
    ImplementationEntry,
    Inherited,
    Relationship,
)
from generator.results import CheckResult, Results, SnapshotInfo
from generator.status import Proof, Status, control_status, excluded_evidence
from generator.tags import TagKind, TagResolver

__all__ = [
    "IMPLEMENTATION_ORDER",
    "STATUS_ORDER",
    "ControlReport",
    "FrameworkReport",
    "Implementation",
    "Report",
    "Status",
    "build_report",
]


STATUS_ORDER = [
    Status.unmapped,
    Status.failing,
    Status.no_evidence,
    Status.documented,
    Status.verified,
    Status.excluded,
]


class PracticeLink(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    relationship: Relationship
    note: str | None = None
    has_checks: bool = False
    proven_by: list[str] = []  # the practice's checks that prove this control


class ControlReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    framework: str
    id: str
    title: str
    level: str | None = None
    groups: list[str] = []
    status: Status
    reason: str
    practices: list[PracticeLink] = []
    pages: list[str] = []
    # Pages that describe this control through a crosswalk: page -> the control it is tagged with.
    pages_via: dict[str, str] = {}
    exclusion: Exclusion | None = None
    attestations: list[Attestation] = []
    results: list[CheckResult] = []  # of the checks that prove this control, by any mapping
    # An excluded control whose proving checks fail or lack evidence: why (never hidden).
    excluded_evidence: str | None = None
    # The Statement of Applicability's axis (generator/implementation.py), next to `status`.
    implementation: Implementation = Implementation.not_implemented
    implementation_reason: str = ""
    inherited: Inherited | None = None
    implementation_entry: ImplementationEntry | None = None
    # Whether the catalog lets a scope exclude this control, and the condition it applies under.
    exclusion_rule: ExclusionRule = ExclusionRule.allowed
    applies_if: str | None = None
    # Why an applicable control is included beyond its framework's reason (ISO/IEC 27001
    # 6.1.3 d): the risk or requirement scope.yaml names for it. None when excluded.
    inclusion: str | None = None
    file: str | None = None
    line: int | None = None

    @property
    def ref(self) -> str:
        return f"{self.framework}:{self.id}"


class FrameworkReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    version: str
    publisher: str
    file: str
    totals: dict[Status, int]
    controls: list[ControlReport]
    implementation_totals: dict[Implementation, int] = {}
    applies_because: str | None = None  # why the framework applies (scope.yaml)


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    as_of: dt.date
    snapshot: SnapshotInfo | None = None
    frameworks: list[FrameworkReport]

    def totals(self) -> dict[Status, int]:
        out = dict.fromkeys(STATUS_ORDER, 0)
        for fw in self.frameworks:
            for status, n in fw.totals.items():
                out[status] += n
        return out


def page_tags(library: Library) -> dict[str, list[str]]:
    """Control ref -> docs pages that tag it directly."""
    resolver = TagResolver(library)
    out: dict[str, list[str]] = defaultdict(list)
    for page in library.pages:
        for tag in page.tags:
            match = resolver.resolve(tag.text)
            if (
                match is not None
                and match.kind is TagKind.control
                and page.path not in out[match.ref]
            ):
                out[match.ref].append(page.path)
    return out


# A page tagged with a control documents the controls it is equivalent to or a subset of (of
# another framework, through a crosswalk); an `intersects` mapping only relates them.
_DOCUMENTS_TARGET = (Relationship.equivalent, Relationship.subset)
_DOCUMENTS_SOURCE = (Relationship.equivalent, Relationship.superset)


def crosswalk_pages(library: Library, direct: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """Control ref -> {page: the crosswalked control the page is tagged with}."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for cid in sorted(library.crosswalks):
        cw = library.crosswalks[cid].model
        for m in cw.mappings:
            a, b = f"{cw.source}:{m.source}", f"{cw.target}:{m.target}"
            links = []
            if m.relationship in _DOCUMENTS_TARGET:
                links.append((a, b))
            if m.relationship in _DOCUMENTS_SOURCE:
                links.append((b, a))
            for tagged, documented in links:
                for page in direct.get(tagged, []):
                    if page not in direct.get(documented, []):
                        out[documented].setdefault(page, tagged)
    return out


def build_report(library: Library, results: Results, as_of: dt.date) -> Report:
    pages = page_tags(library)
    via = crosswalk_pages(library, pages)
    by_control: dict[str, list[PracticeLink]] = defaultdict(list)
    for pid in sorted(library.practices):
        practice = library.practices[pid].model
        for sat in practice.satisfies:
            by_control[sat.control].append(
                PracticeLink(
                    id=pid,
                    title=practice.title,
                    relationship=sat.relationship,
                    note=sat.note,
                    has_checks=bool(practice.checks),
                    proven_by=list(sat.proven_by),
                )
            )
    by_check: dict[tuple[str, str], list[CheckResult]] = defaultdict(list)
    for result in results.results:
        by_check[(result.practice, result.key)].append(result)
    exclusions: dict[str, Exclusion] = {}
    inherited: dict[str, Inherited] = {}
    planned: dict[str, ImplementationEntry] = {}
    included: dict[str, str] = {}
    if library.scope is not None:
        for inc in library.scope.model.inclusions:
            included.setdefault(inc.control, inc.justification)
        for ex in library.scope.model.exclusions:
            if not ex.expired(as_of):
                exclusions[ex.control] = ex
        # Like an expired exclusion, an expired inheritance is none (the gate reports it).
        for inh in library.scope.model.inherited:
            if not inh.expired(as_of):
                inherited.setdefault(inh.control, inh)
        for entry in library.scope.model.implementation:
            planned.setdefault(entry.control, entry)
    attested: dict[str, list[Attestation]] = defaultdict(list)
    attested_directly: dict[str, list[str]] = defaultdict(list)
    for aid in sorted(library.attestations):
        att = library.attestations[aid].model
        if att.expired(as_of):
            continue
        for ref in att.controls:
            attested[ref].append(att)
            attested_directly[ref].append(att.attested_by)
        for pid in att.practices:
            practice = library.practices.get(pid)
            for sat in practice.model.satisfies if practice else []:
                attested[sat.control].append(att)

    frameworks = []
    for fid in library.in_scope():
        lf = library.frameworks[fid]
        controls = []
        for cid, entry in lf.controls.items():
            ref = f"{fid}:{cid}"
            links = by_control.get(ref, [])
            proofs = [
                Proof(
                    practice=link.id,
                    relationship=link.relationship,
                    checks=link.proven_by,
                    results=[r for key in link.proven_by for r in by_check.get((link.id, key), [])],
                )
                for link in links
                if link.proven_by
            ]
            control_results = [r for p in proofs for r in p.results]
            described = [
                *pages.get(ref, []),
                *(f"{p} (via crosswalk from {t})" for p, t in via.get(ref, {}).items()),
            ]
            status, reason = control_status(
                proofs,
                [link.id for link in links],
                described,
                attested.get(ref, []),
                exclusions.get(ref),
                inherited.get(ref),
            )
            hidden = excluded_evidence(proofs) if status is Status.excluded else None
            # A crosswalked page describes; it does not make the control implemented.
            implementation, implementation_reason = implementation_status(
                [(link.id, link.relationship) for link in links],
                pages.get(ref, []),
                attested_directly.get(ref, []),
                exclusions.get(ref),
                inherited.get(ref),
                planned.get(ref),
            )
            controls.append(
                ControlReport(
                    framework=fid,
                    id=cid,
                    title=entry.control.title,
                    level=entry.control.level,
                    groups=list(entry.group_path),
                    status=status,
                    reason=reason,
                    practices=links,
                    pages=[*pages.get(ref, []), *via.get(ref, {})],
                    pages_via=dict(via.get(ref, {})),
                    exclusion=exclusions.get(ref),
                    attestations=attested.get(ref, []),
                    results=control_results,
                    excluded_evidence=hidden[1] if hidden else None,
                    implementation=implementation,
                    implementation_reason=implementation_reason,
                    inherited=inherited.get(ref),
                    implementation_entry=planned.get(ref),
                    exclusion_rule=lf.model.exclusion_rule(entry.control),
                    applies_if=entry.control.applies_if,
                    inclusion=None if ref in exclusions else included.get(ref),
                    file=lf.file,
                    line=lf.line_of(cid),
                )
            )
        totals = dict.fromkeys(STATUS_ORDER, 0)
        implemented = dict.fromkeys(IMPLEMENTATION_ORDER, 0)
        for c in controls:
            totals[c.status] += 1
            implemented[c.implementation] += 1
        frameworks.append(
            FrameworkReport(
                id=fid,
                title=lf.model.title,
                version=lf.model.version,
                publisher=lf.model.publisher,
                file=lf.file,
                totals=totals,
                controls=controls,
                implementation_totals=implemented,
                applies_because=(
                    library.scope.model.applies_because.get(fid) if library.scope else None
                ),
            )
        )
    return Report(as_of=as_of, snapshot=results.snapshot, frameworks=frameworks)
