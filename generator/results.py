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
    check: str  # the built-in check's id
    name: str = ""  # the practice's name for this use of the check, when it gives one
    subject: str  # a deployment, a cluster, or a pair "a <-> b"
    environment: str | None = None
    status: ResultStatus
    reason: str
    evidence: list[str] = []  # evidence item ids read
    details: dict[str, str] = {}  # facts a report shows in place, e.g. {"level": "cluster"}

    @property
    def key(self) -> str:
        """How the practice's `proven_by` names this check."""
        return self.name or self.check

    @property
    def aggregate(self) -> bool:
        """A summary (e.g. of a repository) whose failures are also results of their own."""
        return self.details.get("aggregate") == "true"


def root_causes(results: list[CheckResult]) -> list[CheckResult]:
    """The results that do not pass, without summaries whose own failing results are listed:
    each problem is counted and reported once."""
    bad = [r for r in results if r.status is not ResultStatus.passed]
    detailed = {(r.practice, r.key) for r in bad if not r.aggregate}
    return [r for r in bad if not (r.aggregate and (r.practice, r.key) in detailed)]


class SnapshotInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    digest: str
    collected_at: str
    demo: bool = False
    signer: str | None = None  # fingerprint of the key that signed the manifest


class Results(BaseModel):
    snapshot: SnapshotInfo | None = None
    results: list[CheckResult] = []

    def for_practice(self, practice: str) -> list[CheckResult]:
        return [r for r in self.results if r.practice == practice]
