"""Report stage: the status of every in-scope control, the same for every output."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from generator.library import Library
from generator.models import Attestation, Exclusion, Relationship
from generator.results import CheckResult, Results, ResultStatus, SnapshotInfo
from generator.tags import TagKind, TagResolver


class Status(StrEnum):
    verified = "verified"
    failing = "failing"
    no_evidence = "no-evidence"
    documented = "documented"
    excluded = "excluded"
    unmapped = "unmapped"


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
    exclusion: Exclusion | None = None
    attestations: list[Attestation] = []
    results: list[CheckResult] = []
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


def _practice_status(results: list[CheckResult]) -> tuple[Status, str]:
    if not results:
        return Status.no_evidence, "no check result: evidence was not collected"
    failed = [r for r in results if r.status is ResultStatus.failed]
    if failed:
        return Status.failing, f"{len(failed)} check result(s) fail: {failed[0].reason}"
    missing = [r for r in results if r.status is not ResultStatus.passed]
    if missing:
        return (
            Status.no_evidence,
            f"{len(missing)} check result(s) {missing[0].status}: {missing[0].reason}",
        )
    return Status.verified, f"{len(results)} check result(s) pass"


def build_report(library: Library, results: Results, as_of: dt.date) -> Report:
    pages = page_tags(library)
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
                )
            )
    by_practice: dict[str, list[CheckResult]] = defaultdict(list)
    for result in results.results:
        by_practice[result.practice].append(result)
    practice_state = {
        pid: _practice_status(by_practice.get(pid, []))
        for pid, p in library.practices.items()
        if p.model.checks
    }
    exclusions: dict[str, Exclusion] = {}
    if library.scope is not None:
        for ex in library.scope.model.exclusions:
            if not ex.expired(as_of):
                exclusions[ex.control] = ex
    attested: dict[str, list[Attestation]] = defaultdict(list)
    for aid in sorted(library.attestations):
        att = library.attestations[aid].model
        if att.expired(as_of):
            continue
        for ref in att.controls:
            attested[ref].append(att)
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
            control_results = [r for link in links for r in by_practice.get(link.id, [])]
            status, reason = _status(
                ref,
                links,
                pages.get(ref, []),
                attested.get(ref, []),
                exclusions.get(ref),
                practice_state,
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
                    pages=pages.get(ref, []),
                    exclusion=exclusions.get(ref),
                    attestations=attested.get(ref, []),
                    results=control_results,
                    file=lf.file,
                    line=lf.line_of(cid),
                )
            )
        totals = dict.fromkeys(STATUS_ORDER, 0)
        for c in controls:
            totals[c.status] += 1
        frameworks.append(
            FrameworkReport(
                id=fid,
                title=lf.model.title,
                version=lf.model.version,
                publisher=lf.model.publisher,
                file=lf.file,
                totals=totals,
                controls=controls,
            )
        )
    return Report(as_of=as_of, snapshot=results.snapshot, frameworks=frameworks)


def _status(
    ref: str,
    links: list[PracticeLink],
    pages: list[str],
    attestations: list[Attestation],
    exclusion: Exclusion | None,
    practice_state: dict[str, tuple[Status, str]],
) -> tuple[Status, str]:
    if exclusion is not None:
        return Status.excluded, exclusion.justification
    checked = [practice_state[link.id] for link in links if link.id in practice_state]
    if checked:
        for wanted in (Status.failing, Status.no_evidence):
            hit = next((reason for status, reason in checked if status is wanted), None)
            if hit is not None:
                return wanted, hit
        return Status.verified, "every check of its practices passes on fresh evidence"
    if links:
        names = ", ".join(link.id for link in links)
        return Status.documented, f"met by {names}; no automated check"
    if pages:
        return Status.documented, f"described in {', '.join(pages)}; no automated check"
    if attestations:
        return Status.documented, f"attested by {attestations[0].attested_by}"
    return Status.unmapped, "in scope, but neither mapped by a practice or page nor excluded"
