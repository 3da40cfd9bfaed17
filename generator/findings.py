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
    group_tag = "group-tag"
    expired_exclusion = "expired-exclusion"
    expired_attestation = "expired-attestation"
    duplicate_id = "duplicate-id"
    unknown_page = "unknown-page"
    unknown_practice = "unknown-practice"
    unknown_check = "unknown-check"
    invalid_check_parameter = "invalid-check-parameter"
    failing_control = "failing-control"
    missing_evidence = "missing-evidence"


WARNINGS = {FindingKind.group_tag, FindingKind.expired_attestation}


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: FindingKind
    message: str
    control: str | None = None  # framework:control
    file: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def severity(self) -> Severity:
        return Severity.warning if self.kind in WARNINGS else Severity.error

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.file or "", self.line or 0, self.kind.value, self.control or "")
