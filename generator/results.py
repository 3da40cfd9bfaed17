"""Evaluate-stage values: the result of each check of each practice, per subject."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class ResultStatus(StrEnum):
    passed = "pass"
    failed = "fail"
    error = "error"
    not_collected = "not-collected"
    stale = "stale"


class CheckResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    practice: str
    check: str
    subject: str  # a deployment, a cluster, or a pair "a <-> b"
    environment: str | None = None
    status: ResultStatus
    reason: str
    evidence: list[str] = []  # evidence item ids read
    details: dict[str, str] = {}  # facts a report shows in place, e.g. {"level": "cluster"}


class SnapshotInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    digest: str
    collected_at: str
    demo: bool = False


class Results(BaseModel):
    snapshot: SnapshotInfo | None = None
    results: list[CheckResult] = []

    def for_practice(self, practice: str) -> list[CheckResult]:
        return [r for r in self.results if r.practice == practice]
