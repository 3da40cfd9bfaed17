"""The CI gate: every finding about references, tags, scope and (when asked) evidence."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from enum import StrEnum

from pydantic import BaseModel, ValidationError

from generator.documents import DocumentState, check_document
from generator.findings import Finding, FindingKind
from generator.library import Library
from generator.models import Control, ExclusionRule, Framework
from generator.models.common import split_ref
from generator.report import Report, Status
from generator.results import CheckResult, ResultStatus, root_causes
from generator.tags import TagKind, TagResolver


class Requirement(StrEnum):
    documented = "documented"
    verified = "verified"


def _reference(
    library: Library, ref: str, file: str, line: int | None, column: int | None = None
) -> Finding | None:
    """A finding if `ref` does not name a control of a known framework."""
    fid, cid = split_ref(ref)
    framework = library.frameworks.get(fid)
    if framework is None:
        known = ", ".join(sorted(library.frameworks)) or "none"
        return Finding(
            kind=FindingKind.unknown_framework,
            control=ref,
            message=f"unknown framework {fid!r} in {ref!r}; known frameworks: {known}",
            file=file,
            line=line,
            column=column,
        )
    if cid in framework.controls:
        return None
    what = (
        f"{ref!r} names a group, not a control; name its controls"
        if cid in framework.groups
        else f"{ref!r}: {fid} has no control {cid!r}"
    )
    return Finding(
        kind=FindingKind.unknown_control,
        control=ref,
        message=what,
        file=file,
        line=line,
        column=column,
    )


def _catalog_control(library: Library, ref: str) -> tuple[Framework, Control] | None:
    fid, cid = split_ref(ref)
    lf = library.frameworks.get(fid)
    entry = lf.controls.get(cid) if lf else None
    return (lf.model, entry.control) if lf and entry else None


def applicability_findings(library: Library, today: dt.date) -> list[Finding]:
    """What the catalogs' exclusion rules and scope.yaml's inherited and implementation entries
    say about the scope; unknown references are reported with the other references."""
    if library.scope is None:
        return []
    scope = library.scope
    out: list[Finding] = []

    def at(*path: str | int) -> dict[str, object]:
        line, col = scope.marks.locate(path)
        return {"file": scope.file, "line": line, "column": col}

    excluded: dict[str, int] = {}
    for i, ex in enumerate(scope.model.exclusions):
        if not ex.expired(today):
            excluded.setdefault(ex.control, i)
        found = _catalog_control(library, ex.control)
        if found is None:
            continue
        framework, control = found
        rule = framework.exclusion_rule(control)
        level = f" ({control.level})" if control.level else ""
        if rule is ExclusionRule.forbidden and control.applies_if is None:
            out.append(
                Finding(
                    kind=FindingKind.forbidden_exclusion,
                    control=ex.control,
                    message=(
                        f"{ex.control} {control.title}{level} may not be excluded: "
                        f"{framework.title} requires it to be implemented. Map it to a practice "
                        "or attestation, or list it under `inherited:` when a provider "
                        "implements it"
                    ),
                    **at("exclusions", i, "control"),
                )
            )
        elif rule is ExclusionRule.decision and control.applies_if is None:
            missing = [k for k in ("decision", "alternative") if getattr(ex, k) is None]
            if missing:
                out.append(
                    Finding(
                        kind=FindingKind.undocumented_decision,
                        control=ex.control,
                        message=(
                            f"{ex.control} {control.title}{level} is excluded without "
                            f"{' and '.join(f'`{k}:`' for k in missing)}: {framework.title} "
                            "lets it be left out only by a documented decision that names the "
                            "equivalent alternative measure; implement it or document both"
                        ),
                        **at("exclusions", i, "control"),
                    )
                )

    inherited: dict[str, int] = {}
    for i, inh in enumerate(scope.model.inherited):
        line, col = scope.marks.locate(("inherited", i, "control"))
        found = _reference(library, inh.control, scope.file, line, col)
        if found is not None:
            out.append(found)
        if inh.expired(today):
            out.append(
                Finding(
                    kind=FindingKind.expired_inheritance,
                    control=inh.control,
                    message=(
                        f"inheritance of {inh.control} from {inh.provider} expired on "
                        f"{inh.expires}; renew the provider's evidence or map the control"
                    ),
                    **at("inherited", i, "expires"),
                )
            )
        else:
            inherited.setdefault(inh.control, i)
        if inh.control in excluded:
            out.append(
                Finding(
                    kind=FindingKind.conflicting_scope,
                    control=inh.control,
                    message=(
                        f"{inh.control} is both inherited from {inh.provider} (applicable) and "
                        f"excluded at line {at('exclusions', excluded[inh.control])['line']} "
                        "(not applicable); keep one"
                    ),
                    **at("inherited", i, "control"),
                )
            )

    for fid in scope.model.applies_because:
        if fid not in scope.model.frameworks:
            out.append(
                Finding(
                    kind=FindingKind.unknown_framework,
                    message=(
                        f"applies_because names {fid!r}, which is not a framework in scope; "
                        "list it under `frameworks:` or remove its reason"
                    ),
                    **at("applies_because", fid),
                )
            )
    for i, inc in enumerate(scope.model.inclusions):
        line, col = scope.marks.locate(("inclusions", i, "control"))
        found = _reference(library, inc.control, scope.file, line, col)
        if found is not None:
            out.append(found)
        if inc.control in excluded:
            out.append(
                Finding(
                    kind=FindingKind.conflicting_scope,
                    control=inc.control,
                    message=(
                        f"{inc.control} has a reason for its inclusion but is excluded at line "
                        f"{at('exclusions', excluded[inc.control])['line']}; keep one"
                    ),
                    **at("inclusions", i, "control"),
                )
            )
    soa = scope.model.statement_of_applicability
    requiring = [
        library.frameworks[fid].model.title
        for fid in scope.model.frameworks
        if fid in library.frameworks and library.frameworks[fid].model.soa_required
    ]
    if soa is None and requiring:
        out.append(
            Finding(
                kind=FindingKind.unapproved_soa,
                message=(
                    f"{requiring[0]} requires an approved Statement of Applicability, and it has "
                    "no version, approver or approval date; add `statement_of_applicability: "
                    "{version, approved_by, approved_on}`"
                ),
                **at("frameworks"),
            )
        )
    elif soa is not None and soa.overdue(today):
        out.append(
            Finding(
                kind=FindingKind.unapproved_soa,
                message=(
                    f"the Statement of Applicability (version {soa.version}) was due for review "
                    f"on {soa.next_review}; review and approve it again"
                ),
                **at("statement_of_applicability", "next_review"),
            )
        )

    for i, entry in enumerate(scope.model.implementation):
        line, col = scope.marks.locate(("implementation", i, "control"))
        found = _reference(library, entry.control, scope.file, line, col)
        if found is not None:
            out.append(found)
        other = [
            what
            for what, refs in (("excluded", excluded), ("inherited", inherited))
            if entry.control in refs
        ]
        if other:
            out.append(
                Finding(
                    kind=FindingKind.conflicting_scope,
                    control=entry.control,
                    message=(
                        f"{entry.control} has an implementation entry ({entry.status}) but is "
                        f"also {other[0]}; keep one"
                    ),
                    **at("implementation", i, "control"),
                )
            )
        if entry.due is not None and entry.due < today:
            out.append(
                Finding(
                    kind=FindingKind.overdue_plan,
                    control=entry.control,
                    message=(
                        f"the implementation of {entry.control} was planned for {entry.due}; "
                        "implement and map it, or plan it anew"
                    ),
                    **at("implementation", i, "due"),
                )
            )
    return out


def gate_findings(
    library: Library,
    report: Report,
    today: dt.date,
    require: Requirement = Requirement.documented,
    check_params: Mapping[str, type[BaseModel]] | None = None,
) -> list[Finding]:
    findings = list(library.findings)

    def add(found: Finding | None) -> None:
        if found is not None:
            findings.append(found)

    if library.scope is not None:
        scope = library.scope
        for i, fid in enumerate(scope.model.frameworks):
            if fid not in library.frameworks:
                line, col = scope.marks.locate(("frameworks", i))
                add(
                    Finding(
                        kind=FindingKind.unknown_framework,
                        message=f"scope names unknown framework {fid!r}",
                        file=scope.file,
                        line=line,
                        column=col,
                    )
                )
        for i, ex in enumerate(scope.model.exclusions):
            line, col = scope.marks.locate(("exclusions", i, "control"))
            add(_reference(library, ex.control, scope.file, line, col))
            if ex.expired(today):
                add(
                    Finding(
                        kind=FindingKind.expired_exclusion,
                        control=ex.control,
                        message=(
                            f"exclusion of {ex.control} expired on {ex.expires}; "
                            "renew it or map the control"
                        ),
                        file=scope.file,
                        line=scope.marks.locate(("exclusions", i, "expires"))[0],
                    )
                )
        findings.extend(applicability_findings(library, today))

    page_names = {page.path for page in library.pages}
    for pid in sorted(library.practices):
        loaded = library.practices[pid]
        keys: dict[str, int] = {}
        for i, check in enumerate(loaded.model.checks):
            if check.key in keys:
                line, col = loaded.marks.locate(("checks", i, "name" if check.name else "id"))
                add(
                    Finding(
                        kind=FindingKind.duplicate_id,
                        message=(
                            f"practice {pid} uses check {check.key!r} twice; give each use a "
                            "`name:` so proven_by can tell them apart"
                        ),
                        file=loaded.file,
                        line=line,
                        column=col,
                    )
                )
            keys.setdefault(check.key, i)
        for i, sat in enumerate(loaded.model.satisfies):
            line, col = loaded.marks.locate(("satisfies", i, "control"))
            add(_reference(library, sat.control, loaded.file, line, col))
            for j, key in enumerate(sat.proven_by):
                if key not in keys:
                    line, col = loaded.marks.locate(("satisfies", i, "proven_by", j))
                    known = ", ".join(keys) or "none"
                    add(
                        Finding(
                            kind=FindingKind.unknown_check,
                            control=sat.control,
                            message=(
                                f"{sat.control} is proven_by {key!r}, which is not a check of "
                                f"practice {pid} (its checks: {known})"
                            ),
                            file=loaded.file,
                            line=line,
                            column=col,
                        )
                    )
        for i, page in enumerate(loaded.model.docs):
            if page not in page_names:
                line, col = loaded.marks.locate(("docs", i))
                add(
                    Finding(
                        kind=FindingKind.unknown_page,
                        message=f"practice {pid} names docs page {page!r}, which does not exist",
                        file=loaded.file,
                        line=line,
                        column=col,
                    )
                )
        for i, check in enumerate(loaded.model.checks):
            params = (check_params or {}).get(check.id)
            if params is None:
                line, col = loaded.marks.locate(("checks", i, "id"))
                add(
                    Finding(
                        kind=FindingKind.unknown_check,
                        message=f"practice {pid} names unknown check {check.id!r}",
                        file=loaded.file,
                        line=line,
                        column=col,
                    )
                )
                continue
            try:
                params.model_validate(check.with_)
            except ValidationError as exc:
                for error in exc.errors(include_url=False):
                    loc = tuple(error["loc"])
                    line, col = loaded.marks.locate(("checks", i, "with", *loc))
                    what = ".".join(str(p) for p in loc) or "with"
                    allowed = ", ".join(params.model_fields) or "none"
                    add(
                        Finding(
                            kind=FindingKind.invalid_check_parameter,
                            message=(
                                f"check {check.id} of practice {pid}: {what}: {error['msg']} "
                                f"(parameters: {allowed})"
                            ),
                            file=loaded.file,
                            line=line,
                            column=col,
                        )
                    )

    for aid in sorted(library.attestations):
        loaded = library.attestations[aid]
        for i, ref in enumerate(loaded.model.controls):
            line, col = loaded.marks.locate(("controls", i))
            add(_reference(library, ref, loaded.file, line, col))
        for i, pid in enumerate(loaded.model.practices):
            if pid not in library.practices:
                line, col = loaded.marks.locate(("practices", i))
                add(
                    Finding(
                        kind=FindingKind.unknown_practice,
                        message=f"attestation {aid} names unknown practice {pid!r}",
                        file=loaded.file,
                        line=line,
                        column=col,
                    )
                )
        if loaded.model.expired(today):
            add(
                Finding(
                    kind=FindingKind.expired_attestation,
                    message=f"attestation {aid} expired on {loaded.model.expires}",
                    file=loaded.file,
                    line=loaded.marks.locate(("expires",))[0],
                )
            )

    findings.extend(document_findings(library))
    findings.extend(remediation_findings(library))

    for cid in sorted(library.crosswalks):
        loaded = library.crosswalks[cid]
        cw = loaded.model
        for i, mapping in enumerate(cw.mappings):
            for side, fid, ident in (
                ("source", cw.source, mapping.source),
                ("target", cw.target, mapping.target),
            ):
                line, col = loaded.marks.locate(("mappings", i, side))
                add(_reference(library, f"{fid}:{ident}", loaded.file, line, col))

    resolver = TagResolver(library)
    prefixes = tag_prefixes(library)
    for page in library.pages:
        for tag in page.tags:
            match = resolver.resolve(tag.text)
            where = {"file": page.file, "line": tag.line, "column": tag.column}
            looks = looks_like_control_tag(tag.text, prefixes) if match is None else None
            if looks is not None:
                add(
                    Finding(
                        kind=FindingKind.malformed_tag,
                        message=(
                            f"tag {tag.text!r} starts as a control tag of {looks} does, but no "
                            "tag grammar reads it: check its spelling (or add the catalog of "
                            "the framework it names to the scope)"
                        ),
                        **where,
                    )
                )
            elif match is None:
                add(
                    Finding(
                        kind=FindingKind.unknown_tag,
                        message=(
                            f"tag {tag.text!r} names no control of any known framework; kept "
                            "as the site's own tag (if it was meant to name a control, check "
                            "its spelling or add its catalog to the scope)"
                        ),
                        **where,
                    )
                )
            elif match.kind is TagKind.group:
                add(
                    Finding(
                        kind=FindingKind.group_tag,
                        control=match.ref,
                        message=(
                            f"tag {tag.text!r} names the group {match.ref}, not a control; "
                            "it maps no control"
                        ),
                        **where,
                    )
                )
            elif match.kind is TagKind.unknown_control:
                add(
                    Finding(
                        kind=FindingKind.unknown_control,
                        control=match.ref,
                        message=f"tag {tag.text!r}: {match.framework} has no control {match.id!r}",
                        **where,
                    )
                )

    findings.extend(evidence_findings(library, report, require))
    return sorted(set(findings), key=Finding.sort_key)


_LEADING_WORD = re.compile(r"\^?([A-Za-z][A-Za-z0-9-]*)")


def tag_prefixes(library: Library) -> dict[str, str]:
    """The literal word each loaded framework's tag patterns begin with ('ISO', 'BSI', 'NIS'),
    lower-cased, mapped to a framework title that uses it."""
    out: dict[str, str] = {}
    for lf in library.frameworks.values():
        for rule in lf.model.tags:
            found = _LEADING_WORD.match(rule.pattern)
            if found and len(found.group(1)) >= 2:
                out.setdefault(found.group(1).lower(), lf.model.title)
    return out


def looks_like_control_tag(text: str, prefixes: dict[str, str]) -> str | None:
    """The framework a tag no grammar reads seems to name: its first word is a framework's tag
    prefix (or that prefix and digits: 'NIS2', 'ISO27001') and it holds a digit."""
    word = re.match(r"\s*([A-Za-z][A-Za-z0-9-]*)", text)
    if word is None or not any(ch.isdigit() for ch in text):
        return None
    first = word.group(1).lower()
    for prefix, title in prefixes.items():
        if first == prefix or (first.startswith(prefix) and first[len(prefix) :].isdigit()):
            return title
    return None


def document_findings(library: Library) -> list[Finding]:
    """An attestation's document whose file is missing or does not hash to its `sha256:`."""
    out = []
    for aid in sorted(library.attestations):
        loaded = library.attestations[aid]
        doc = loaded.model.document
        if doc is None or doc.file is None:
            continue
        checked = check_document(library.root, doc)
        if checked.state is DocumentState.altered:
            line, col = loaded.marks.locate(("document", "sha256"))
            out.append(
                Finding(
                    kind=FindingKind.altered_document,
                    message=(
                        f"attestation {aid}: document {doc.id} version {doc.version} file "
                        f"{doc.file} has SHA-256 {checked.sha256}, not the declared {doc.sha256}; "
                        "the file changed since it was approved: attach the approved version or "
                        "have the new one approved and record its hash"
                    ),
                    file=loaded.file,
                    line=line,
                    column=col,
                )
            )
        elif checked.state is DocumentState.missing:
            line, col = loaded.marks.locate(("document", "file"))
            out.append(
                Finding(
                    kind=FindingKind.missing_document,
                    message=(
                        f"attestation {aid}: document file {doc.file!r} is not a readable file "
                        "inside the instance"
                    ),
                    file=loaded.file,
                    line=line,
                    column=col,
                )
            )
    return out


def remediation_findings(library: Library) -> list[Finding]:
    """A remediation that names a practice or check the instance does not have."""
    out = []
    keys_of = {
        pid: {c.key for c in p.model.checks} | {c.id for c in p.model.checks}
        for pid, p in library.practices.items()
    }
    every_key = set().union(*keys_of.values()) if keys_of else set()
    for rid in sorted(library.remediations):
        loaded = library.remediations[rid]
        for i, cover in enumerate(loaded.model.covers):
            if cover.practice is not None and cover.practice not in library.practices:
                line, col = loaded.marks.locate(("covers", i, "practice"))
                out.append(
                    Finding(
                        kind=FindingKind.unknown_practice,
                        message=f"remediation {rid} names unknown practice {cover.practice!r}",
                        file=loaded.file,
                        line=line,
                        column=col,
                    )
                )
                continue
            known = keys_of[cover.practice] if cover.practice is not None else every_key
            if cover.check not in known:
                line, col = loaded.marks.locate(("covers", i, "check"))
                whose = f"practice {cover.practice}" if cover.practice else "any practice"
                out.append(
                    Finding(
                        kind=FindingKind.unknown_check,
                        message=f"remediation {rid} names {cover.check!r}, not a check of {whose}",
                        file=loaded.file,
                        line=line,
                        column=col,
                    )
                )
    return out


def _check_line(
    library: Library, practice: str, key: str
) -> tuple[str | None, int | None, int | None]:
    """The practice file, line and column that declare the check KEY."""
    loaded = library.practices.get(practice)
    if loaded is None:
        return None, None, None
    for i, check in enumerate(loaded.model.checks):
        if check.key == key:
            line, col = loaded.marks.locate(("checks", i, "id"))
            return loaded.file, line, col
    return loaded.file, None, None


def _identity(r: CheckResult) -> tuple[str, str, str, str | None]:
    return (r.practice, r.key, r.subject, r.environment)


def evidence_findings(library: Library, report: Report, require: Requirement) -> list[Finding]:
    """Unmapped controls; with --require verified every failing or unusable proving result (the
    root cause, once) and every control it affects; excluded controls with bad proof (warnings)."""
    out: list[Finding] = []
    # Results by identity (a result is unhashable: it holds lists).
    results: dict[tuple[str, str, str, str | None], CheckResult] = {}
    affected: dict[tuple[str, str, str, str | None], list[str]] = {}
    for fw in report.frameworks:
        for control in fw.controls:
            if control.status is Status.excluded:
                if control.excluded_evidence is not None:
                    out.append(
                        Finding(
                            kind=FindingKind.excluded_evidence,
                            control=control.ref,
                            message=(
                                f"{control.ref} {control.title} is excluded, but its proving "
                                f"checks do not pass: {control.excluded_evidence}"
                            ),
                            file=control.file,
                            line=control.line,
                        )
                    )
                continue
            for r in root_causes(control.results):
                if r.status is not ResultStatus.passed:
                    results[_identity(r)] = r
                    affected.setdefault(_identity(r), []).append(control.ref)
    by_result: dict[tuple[str, str, str, str | None], Finding] = {}
    if require is Requirement.verified:
        for ident, controls in affected.items():
            r = results[ident]
            file, line, col = _check_line(library, r.practice, r.key)
            failed = r.status is ResultStatus.failed
            what = "fails" if failed else f"is {r.status}"
            shown = ", ".join(controls[:5]) + (
                f" and {len(controls) - 5} more" if len(controls) > 5 else ""
            )
            by_result[ident] = Finding(
                kind=FindingKind.failing_check if failed else FindingKind.missing_evidence,
                message=(
                    f"{r.key} of practice {r.practice} {what} on {r.subject}: {r.reason} "
                    f"(affects {len(controls)} control(s): {shown})"
                ),
                file=file,
                line=line,
                column=col,
                check=r.key,
                practice=r.practice,
                subject=r.subject,
                status=r.status.value,
                reason=r.reason,
                evidence=tuple(r.evidence),
                controls=tuple(controls),
            )
        out.extend(by_result.values())
    for fw in report.frameworks:
        for control in fw.controls:
            kind = None
            if control.status is Status.unmapped:
                kind = FindingKind.unmapped_control
            elif require is Requirement.verified and control.status is Status.failing:
                kind = FindingKind.failing_control
            elif require is Requirement.verified and control.status is Status.no_evidence:
                kind = FindingKind.unproven_control
            if kind is None:
                continue
            causes = [by_result[i] for i in map(_identity, control.results) if i in by_result]
            ids = tuple(sorted({f.result_id for f in causes if f.result_id}))
            message = f"{control.ref} {control.title}: {control.reason}"
            if ids:
                message = (
                    f"{control.ref} {control.title}: {control.status} because of " + "; ".join(ids)
                )
            out.append(
                Finding(
                    kind=kind,
                    control=control.ref,
                    message=message,
                    file=control.file,
                    line=control.line,
                    results=ids,
                )
            )
    return out
