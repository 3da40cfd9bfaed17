"""The audit pack as the print templates see it: plain values, in print order.

Everything here comes from the Report, the Library and the snapshot manifest; nothing reads the
clock. Text is kept raw: the templates escape it (Jinja2 autoescape).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.coverage import Coverage
from generator.coverage import summary as coverage_summary
from generator.documents import check_document
from generator.errors import InputError
from generator.implementation import IMPLEMENTATION_ORDER, Implementation
from generator.library import Library, group_label
from generator.models import Attestation, Exclusion, ImplementationEntry, Inherited, SoaApproval
from generator.pdf.conclusions import (
    PACK_SIGNATURE,
    REPORT,
    REPORT_KEYWORD,
    generator_name,
    report_bytes,
    report_digest,
    report_document,
    statement,
)
from generator.pdf.isolation import Isolation, build_isolation
from generator.register import RegisterRow, counts
from generator.release_changes import ReleaseChanges
from generator.report import STATUS_ORDER, ControlReport, PracticeLink, Report, Status
from generator.results import CheckResult
from generator.snapshot.manifest import (
    MANIFEST,
    SIGNATURE,
    CollectorIdentity,
    Manifest,
    ManifestItem,
)
from generator.snapshot.signing import fingerprint, key_fingerprint, sign_statement, signer_key

# How the statuses read, in the order every summary shows them.
STATUS_MEANING = {
    Status.verified: (
        "every check declared to prove it (proven_by) passes on fresh, intact evidence, and "
        "that proof covers the whole control"
    ),
    Status.failing: "a check that proves it fails",
    Status.no_evidence: (
        "a check that proves it has no usable evidence: missing, stale, tampered or in error"
    ),
    Status.documented: (
        "mapped, described or attested, or only partly proven: no check proves the whole control"
    ),
    Status.excluded: "not applicable, with a justification that has not expired",
    Status.unmapped: "in scope and neither mapped nor excluded: a gap",
}
SUMMARY_ORDER = [
    Status.verified,
    Status.documented,
    Status.no_evidence,
    Status.failing,
    Status.unmapped,
    Status.excluded,
]
ATTENTION = (Status.failing, Status.unmapped, Status.no_evidence)

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def anchor(*parts: str) -> str:
    """A stable, unique HTML id for any text (control ids hold spaces, § and brackets)."""
    text = ":".join(parts)
    slug = _UNSAFE.sub("-", text).strip("-")[:48]
    return f"{slug}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class EvidenceRef:
    id: str
    anchor: str | None  # the appendix entry, when the item is in the snapshot
    sha256: str | None
    state: str  # ok | forbidden | not-found | error | missing


@dataclass(frozen=True)
class ResultView:
    """One check result, printed once in the results chapter with its evidence; controls
    refer to it by `ref` (R1, R2, ...)."""

    ref: str
    anchor: str
    practice: str
    check: str
    subject: str
    environment: str | None
    status: str
    reason: str
    evidence: list[EvidenceRef]
    controls: list[tuple[str, str]] = field(
        default_factory=list
    )  # (framework id + control, anchor)


@dataclass(frozen=True)
class ResultRow:
    subject: str
    environment: str | None
    status: str
    reason: str
    results: list[ResultView]  # the results this row stands for, each printed once elsewhere


@dataclass(frozen=True)
class CheckBlock:
    practice: str
    check: str
    rows: list[ResultRow]


@dataclass(frozen=True)
class AttestationView:
    statement: str
    attested_by: str
    date: dt.date
    expires: dt.date | None
    file: str | None
    file_sha256: str | None
    document: str | None = None  # the document it rests on, its file's hash and whether it holds


@dataclass(frozen=True)
class ControlView:
    anchor: str
    id: str
    title: str
    summary: str | None
    level: str | None
    group: str
    status: str
    reason: str
    excluded_evidence: str | None
    practices: list[PracticeLink]
    pages: list[str]
    pages_via: dict[str, str]  # page -> the crosswalked control it is tagged with
    exclusion: Exclusion | None
    attestations: list[AttestationView]
    checks: list[CheckBlock]
    # The Statement of Applicability's axis, next to the evidence status.
    implementation: str = Implementation.not_implemented.value
    implementation_label: str = Implementation.not_implemented.label
    implementation_reason: str = ""
    inherited: Inherited | None = None
    planned: ImplementationEntry | None = None
    exclusion_rule: str = "allowed"
    applies_if: str | None = None
    inclusion: str | None = None  # why it is included (None when excluded)

    @property
    def applicable(self) -> bool:
        return self.implementation != Implementation.not_applicable.value


@dataclass(frozen=True)
class SoaGroup:
    title: str
    controls: list[ControlView]


@dataclass(frozen=True)
class FrameworkView:
    id: str
    anchor: str
    title: str
    version: str
    publisher: str
    description: str | None
    file: str
    totals: list[tuple[str, int]]
    total: int
    groups: list[SoaGroup]
    attention: list[ControlView]
    implementation: list[tuple[str, int]] = field(default_factory=list)  # (label, n), n > 0
    levels: bool = False  # the catalog marks its controls' levels (e.g. required, addressable)
    wide_ids: bool = False  # ids too long for the SoA's id column (HIPAA's)
    applies_because: str | None = None  # why the framework applies: its controls' inclusion


@dataclass(frozen=True)
class ItemView:
    item: ManifestItem
    anchor: str
    attachment: str


@dataclass(frozen=True)
class AttachmentSpec:
    """One file embedded in the pack: its name inside the PDF and where to read it (or, for a
    file the pack itself makes, such as report.json, its bytes)."""

    name: str
    path: Path
    relationship: str  # PDF/A-3 AFRelationship
    description: str
    data: bytes | None = None  # when set, these bytes are embedded and `path` is not read


@dataclass
class Cover:
    organisation: str
    audit_period: str | None
    scope: list[tuple[str, str]]  # (framework id, title)
    version: str
    generated_at: str  # as printed
    generated_from: str  # where that time comes from
    snapshot_id: str | None
    digest: str | None
    demo: bool
    note: str | None
    signed: bool
    signer: str | None  # fingerprint of the signing key
    item_count: int
    generator: str = ""  # "evidoc VERSION": the program that made the pack
    report_digest: str = ""  # SHA-256 of the embedded report.json
    pack_signer: str | None = None  # fingerprint of the key that signed pack.sig
    collected_by: str | None = None  # who collected the evidence, as the manifest records it


@dataclass
class PackDocument:
    title: str
    subject: str
    keywords: list[str]
    creator: str
    created: str  # W3C date-time, for the PDF metadata
    lang: str
    cover: Cover
    summary: list[tuple[FrameworkView, list[int]]]
    summary_totals: list[int]
    statuses: list[tuple[str, str]]  # (status, meaning)
    frameworks: list[FrameworkView]
    isolation: Isolation
    items: list[ItemView]
    manifest: Manifest | None
    attachments: list[AttachmentSpec] = field(default_factory=list)
    report_digest: str = ""  # SHA-256 of the embedded report.json (also on the cover)
    register: list[RegisterRow] = field(default_factory=list)  # the findings register
    register_counts: list[tuple[str, int]] = field(default_factory=list)  # rows per plan state
    control_anchors: dict[str, str] = field(default_factory=dict)  # control ref -> its anchor
    soa: SoaApproval | None = None  # the SoA's version, approver and approval date
    soa_overdue: bool = False  # its review date has passed
    coverage: Coverage | None = None  # the evidence of every snapshot in the audit period
    coverage_summary: str = ""
    changes: ReleaseChanges | None = None  # since the previous release
    results: list[ResultView] = field(default_factory=list)  # every check result, once


def _evidence(ids: list[str], by_id: dict[str, ManifestItem]) -> list[EvidenceRef]:
    out = []
    for item_id in ids:
        item = by_id.get(item_id)
        if item is None:
            out.append(EvidenceRef(item_id, None, None, "missing"))
        else:
            out.append(EvidenceRef(item_id, anchor("item", item_id), item.sha256, item.status))
    return out


ResultKey = tuple[str, str, str, str | None]


def _key(r: CheckResult) -> ResultKey:
    return (r.practice, r.key, r.subject, r.environment)


def _checks(results: list[CheckResult], views: dict[ResultKey, ResultView]) -> list[CheckBlock]:
    """Results per check, per environment. Results of one check that agree in status,
    environment and reason are one row naming all their subjects; their evidence is printed
    once, in the results chapter."""
    rows: dict[tuple[str, str], dict[tuple[str, str | None, str], list[CheckResult]]] = {}
    for r in results:
        key = (r.status.value, r.environment, r.reason)
        rows.setdefault((r.practice, r.key), {}).setdefault(key, []).append(r)
    blocks = []
    for (practice, check), groups in rows.items():
        out = []
        for (status, environment, reason), same in groups.items():
            subjects = ", ".join(dict.fromkeys(r.subject for r in same))
            refs = list({_key(r): views[_key(r)] for r in same}.values())
            out.append(ResultRow(subjects, environment, status, reason, refs))
        blocks.append(CheckBlock(practice, check, out))
    return blocks


def _result_views(report: Report, by_id: dict[str, ManifestItem]) -> dict[ResultKey, ResultView]:
    """Every check result once, numbered in practice, check and subject order, with the
    controls whose status rests on it."""
    controls: dict[ResultKey, list[tuple[str, str]]] = {}
    for fw in report.frameworks:
        for c in fw.controls:
            for r in c.results:
                entry = (f"{fw.id} {c.id}", anchor(fw.id, c.id))
                refs = controls.setdefault(_key(r), [])
                if entry not in refs:
                    refs.append(entry)
    ordered = sorted(
        _all_results(report), key=lambda r: (r.practice, r.key, r.subject, r.environment or "")
    )
    views = {}
    for n, r in enumerate(ordered, start=1):
        views[_key(r)] = ResultView(
            ref=f"R{n}",
            anchor=f"result-{n}",
            practice=r.practice,
            check=r.key if r.key == r.check else f"{r.key} ({r.check})",
            subject=r.subject,
            environment=r.environment,
            status=r.status.value,
            reason=r.reason,
            evidence=_evidence(list(r.evidence), by_id),
            controls=controls.get(_key(r), []),
        )
    return views


def _attestation(att: Attestation, root: Path) -> AttestationView:
    digest = None
    if att.file:
        base = root.resolve()
        path = (base / att.file).resolve()
        if path.is_relative_to(base) and path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
    document = check_document(root, att.document).text if att.document is not None else None
    return AttestationView(
        att.statement, att.attested_by, att.date, att.expires, att.file, digest, document
    )


def _control(
    c: ControlReport,
    group: str,
    summary: str | None,
    root: Path,
    views: dict[ResultKey, ResultView],
) -> ControlView:
    seen: set[str] = set()
    attestations = []
    for att in c.attestations:
        if att.id not in seen:
            seen.add(att.id)
            attestations.append(_attestation(att, root))
    return ControlView(
        anchor=anchor(c.framework, c.id),
        id=c.id,
        title=c.title,
        summary=summary,
        level=c.level,
        group=group,
        status=c.status.value,
        reason=c.reason,
        excluded_evidence=c.excluded_evidence,
        practices=list(c.practices),
        pages=list(c.pages),
        pages_via=dict(c.pages_via),
        exclusion=c.exclusion,
        attestations=attestations,
        checks=_checks(c.results, views),
        implementation=c.implementation.value,
        implementation_label=c.implementation.label,
        implementation_reason=c.implementation_reason,
        inherited=c.inherited,
        planned=c.implementation_entry,
        exclusion_rule=c.exclusion_rule.value,
        applies_if=c.applies_if,
        inclusion=c.inclusion,
    )


def collector_text(who: CollectorIdentity | None, limit: int = 6) -> str | None:
    """One line for the cover: the program, the host and the account per context."""
    if who is None:
        return None
    parts = []
    for c in who.kubernetes[:limit]:
        if c.user == "in-cluster":
            entry = "the pod's service account"
        else:
            entry = f"kubeconfig user {c.user}" if c.user else "no kubeconfig user"
        account = f"{c.authenticates_as} ({entry})" if c.authenticates_as else entry
        parts.append(f"{c.environment}/{c.cluster} as {account}")
    if len(who.kubernetes) > limit:
        parts.append(f"and {len(who.kubernetes) - limit} more context(s)")
    text = f"evidoc {who.evidoc} on host {who.host}"
    return text + ("; " + "; ".join(parts) if parts else "")


def _group_title(library: Library, fid: str, path: list[str]) -> str:
    groups = library.frameworks[fid].groups
    return " › ".join(group_label(gid, groups[gid].title) if gid in groups else gid for gid in path)


def build_document(
    library: Library,
    report: Report,
    manifest: Manifest | None,
    snapshot_dir: Path | None,
    *,
    version: str,
    generated_at: dt.datetime,
    generated_from: str,
    sign_key: Any = None,
    register: list[RegisterRow] | None = None,
    coverage: Coverage | None = None,
    changes: ReleaseChanges | None = None,
) -> PackDocument:
    """The document model. With `sign_key` (an Ed25519 private key) the pack carries pack.sig,
    a signature of the manifest digest, the report digest and the version together."""
    by_id = {item.id: item for item in manifest.items} if manifest else {}
    scope = library.scope.model if library.scope else None
    organisation = (scope.organisation if scope else None) or "Organisation not named"

    views = _result_views(report, by_id)
    frameworks = []
    for fw in report.frameworks:
        lf = library.frameworks[fw.id]
        groups: list[SoaGroup] = []
        for c in fw.controls:
            title = _group_title(library, fw.id, c.groups)
            if not groups or groups[-1].title != title:
                groups.append(SoaGroup(title, []))
            entry = lf.controls.get(c.id)
            summary = entry.control.summary if entry else None
            groups[-1].controls.append(_control(c, title, summary, library.root, views))
        shown = [v for g in groups for v in g.controls]
        frameworks.append(
            FrameworkView(
                id=fw.id,
                anchor=anchor("framework", fw.id),
                title=fw.title,
                version=fw.version,
                publisher=fw.publisher,
                description=lf.model.description,
                file=fw.file,
                totals=[(s.value, fw.totals.get(s, 0)) for s in SUMMARY_ORDER],
                total=len(fw.controls),
                groups=groups,
                attention=[v for v in shown if v.status in ATTENTION],
                implementation=[
                    (s.label, n)
                    for s in IMPLEMENTATION_ORDER
                    if (n := fw.implementation_totals.get(s, 0))
                ],
                levels=any(v.level for v in shown),
                wide_ids=any(len(v.id) > 12 for v in shown),
                applies_because=fw.applies_because,
            )
        )

    summary = [(f, [n for _, n in f.totals] + [f.total]) for f in frameworks]
    summary_totals = [sum(row[i] for _, row in summary) for i in range(len(SUMMARY_ORDER) + 1)]

    items: list[ItemView] = []
    attachments: list[AttachmentSpec] = []
    signed = False
    signer = None
    if manifest is not None and snapshot_dir is not None:
        items = [ItemView(i, anchor("item", i.id), i.path) for i in manifest.items]
        attachments.append(
            AttachmentSpec(
                MANIFEST,
                snapshot_dir / MANIFEST,
                "Source",
                f"evidoc snapshot manifest {manifest.id}, digest sha256:{manifest.digest}",
            )
        )
        if (snapshot_dir / SIGNATURE).is_file():
            signed = True
            key = signer_key((snapshot_dir / SIGNATURE).read_bytes())
            signer = fingerprint(key) if key is not None else None
            attachments.append(
                AttachmentSpec(
                    SIGNATURE,
                    snapshot_dir / SIGNATURE,
                    "Source",
                    "Ed25519 signature of the manifest digest",
                )
            )
        base = snapshot_dir.resolve()
        for i in manifest.items:
            path = (snapshot_dir / i.path).resolve()
            if not path.is_relative_to(base):
                raise InputError(
                    snapshot_dir / MANIFEST, f"item path {i.path!r} leaves the snapshot"
                )
            attachments.append(AttachmentSpec(i.path, path, "Data", f"{i.id} sha256:{i.sha256}"))

    scope_list = [(f.id, f.title) for f in frameworks]
    stamp = generated_at.astimezone(dt.UTC)

    # The conclusions, embedded and hashed like the evidence, and optionally signed with it.
    pack_signer = key_fingerprint(sign_key) if sign_key is not None else None
    report_data = report_bytes(
        report_document(
            report,
            version=version,
            generated_at=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            time_source=generated_from,
            signer=pack_signer,
        )
    )
    report_sha = report_digest(report_data)
    controls = sum(len(fw.controls) for fw in report.frameworks)
    attachments.append(
        AttachmentSpec(
            REPORT,
            Path(REPORT),
            "Data",
            f"evidoc report: status and reason of the {controls} controls in scope and the "
            f"check results they rest on, sha256:{report_sha}",
            data=report_data,
        )
    )
    if sign_key is not None:
        signed_statement = statement(manifest.digest if manifest else None, report_sha, version)
        attachments.append(
            AttachmentSpec(
                PACK_SIGNATURE,
                Path(PACK_SIGNATURE),
                "Supplement",
                "Ed25519 signature of the manifest digest, the report digest and the version",
                data=sign_statement(sign_key, signed_statement),
            )
        )
    # A PDF name tree is sorted by key.
    attachments.sort(key=lambda a: a.name.encode("utf-8"))

    keywords = ["audit pack", "statement of applicability", *[f.id for f in frameworks]]
    if manifest is not None:
        keywords += [f"snapshot {manifest.id}", f"manifest-sha256:{manifest.digest}"]
    else:
        keywords.append("no evidence collected")
    keywords.append(f"{REPORT_KEYWORD}{report_sha}")
    return PackDocument(
        title=f"{organisation}: compliance audit pack",
        subject=(
            "Statement of applicability, control status and evidence for "
            + (", ".join(t for _, t in scope_list) or "no framework in scope")
        ),
        keywords=keywords,
        creator=generator_name(),
        created=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        lang="en",
        cover=Cover(
            organisation=organisation,
            audit_period=str(scope.audit_period) if scope and scope.audit_period else None,
            scope=scope_list,
            version=version,
            generated_at=stamp.strftime("%Y-%m-%d %H:%M:%S UTC"),
            generated_from=generated_from,
            snapshot_id=manifest.id if manifest else None,
            digest=manifest.digest if manifest else None,
            demo=bool(manifest and manifest.demo),
            note=manifest.note if manifest else None,
            signed=signed,
            signer=signer,
            item_count=len(items),
            generator=generator_name(),
            report_digest=report_sha,
            pack_signer=pack_signer,
            collected_by=collector_text(manifest.collected_by) if manifest else None,
        ),
        summary=summary,
        summary_totals=summary_totals,
        statuses=[(s.value, STATUS_MEANING[s]) for s in SUMMARY_ORDER],
        frameworks=frameworks,
        isolation=build_isolation(library, _all_results(report)),
        items=items,
        manifest=manifest,
        attachments=attachments,
        report_digest=report_sha,
        register=list(register or []),
        register_counts=counts(register or []),
        results=list(views.values()),
        soa=scope.statement_of_applicability if scope else None,
        soa_overdue=bool(
            scope
            and scope.statement_of_applicability
            and scope.statement_of_applicability.overdue(report.as_of)
        ),
        coverage=coverage,
        changes=changes,
        coverage_summary=coverage_summary(coverage) if coverage is not None else "",
        control_anchors={
            f"{fw.id}:{c.id}": anchor(fw.id, c.id) for fw in report.frameworks for c in fw.controls
        },
    )


def _all_results(report: Report) -> list[CheckResult]:
    """Every check result once (a practice's results repeat under each control it meets)."""
    seen: dict[tuple[str, str, str, str | None], CheckResult] = {}
    for fw in report.frameworks:
        for c in fw.controls:
            for r in c.results:
                seen.setdefault((r.practice, r.key, r.subject, r.environment), r)
    return list(seen.values())


assert set(STATUS_ORDER) == set(SUMMARY_ORDER)
