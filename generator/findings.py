"""Findings: what the gate reports, each located at a file and line."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Severity(StrEnum):
    error = "error"  # fails the gate (exit 1)
    warning = "warning"  # reported, does not fail the gate


class FindingKind(StrEnum):
    unmapped_control = "unmapped-control"
    unknown_control = "unknown-control"
    unknown_framework = "unknown-framework"
    unknown_tag = "unknown-tag"
    # A tag that starts as a framework's control tags do and holds a digit, yet no grammar reads
    # it: a misspelt control tag ("ISO 27001 A8.31"), not one of the site's topic tags.
    malformed_tag = "malformed-tag"
    group_tag = "group-tag"
    expired_exclusion = "expired-exclusion"
    expired_attestation = "expired-attestation"
    duplicate_id = "duplicate-id"
    unknown_page = "unknown-page"
    unknown_practice = "unknown-practice"
    unknown_check = "unknown-check"
    invalid_check_parameter = "invalid-check-parameter"
    # With --require verified: one finding per check result that fails or has no usable
    # evidence (the root cause, at the practice line that declares the check) ...
    failing_check = "failing-check"
    missing_evidence = "missing-evidence"
    # ... and one per control it leaves failing or without evidence, referring to them.
    failing_control = "failing-control"
    unproven_control = "unproven-control"
    # An excluded control whose proving checks fail or lack evidence: shown, never hidden.
    excluded_evidence = "excluded-evidence"
    # Applicability (scope.yaml): an exclusion the control's catalog forbids (HIPAA required);
    # an exclusion the catalog allows only with a documented decision and alternative measure
    # (HIPAA addressable) that lacks them; an inherited entry that has expired; a control both
    # excluded and inherited (or planned); a planned implementation past its due date.
    forbidden_exclusion = "forbidden-exclusion"
    undocumented_decision = "undocumented-decision"
    expired_inheritance = "expired-inheritance"
    conflicting_scope = "conflicting-scope"
    overdue_plan = "overdue-plan"
    # An attestation's document whose file does not hash to the declared sha256, or is missing.
    altered_document = "altered-document"
    missing_document = "missing-document"
    # The Statement of Applicability has no version, approver and approval date
    # (scope.yaml `statement_of_applicability:`), or its review date has passed.
    unapproved_soa = "unapproved-soa"


WARNINGS = {
    FindingKind.group_tag,
    # A tag no grammar reads is the site's own (`kubernetes`, `backup`); a misspelt control tag
    # looks the same, so it is reported, but it cannot make a control pass: the control it
    # meant stays unmapped.
    FindingKind.unknown_tag,
    FindingKind.expired_attestation,
    FindingKind.excluded_evidence,
    FindingKind.undocumented_decision,
    FindingKind.overdue_plan,
    FindingKind.unapproved_soa,
}


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: FindingKind
    message: str
    control: str | None = None  # framework:control
    file: str | None = None
    line: int | None = None
    column: int | None = None
    # For check-result findings: which result, and the in-scope controls it affects.
    check: str | None = None
    practice: str | None = None
    subject: str | None = None
    status: str | None = None
    reason: str | None = None
    evidence: tuple[str, ...] = ()
    controls: tuple[str, ...] = ()
    # For control findings: the ids of the check-result findings that cause them.
    results: tuple[str, ...] = ()

    @property
    def result_id(self) -> str | None:
        """practice/check@subject: how a control finding refers to a check-result finding."""
        if self.check is None:
            return None
        return f"{self.practice}/{self.check}@{self.subject}"

    @property
    def severity(self) -> Severity:
        return Severity.warning if self.kind in WARNINGS else Severity.error

    def sort_key(self) -> tuple[str, int, str, str, str]:
        return (
            self.file or "",
            self.line or 0,
            self.kind.value,
            self.control or "",
            self.result_id or "",
        )
