"""What a check is given, and helpers for results that never pass without evidence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generator.library import Library
from generator.results import CheckResult, ResultStatus
from generator.snapshot.store import EvidenceRead, Freshness, Snapshot

_READ_STATUS = {
    Freshness.missing: ResultStatus.not_collected,
    Freshness.forbidden: ResultStatus.not_collected,
    Freshness.not_found: ResultStatus.not_collected,
    Freshness.error: ResultStatus.error,
    Freshness.stale: ResultStatus.stale,
    Freshness.tampered: ResultStatus.error,
}


@dataclass(frozen=True)
class CheckContext:
    library: Library
    snapshot: Snapshot
    params: dict[str, Any]
    practice: str
    check: str
    as_of: dt.datetime
    name: str = ""

    def read(self, item_id: str) -> EvidenceRead:
        return self.snapshot.get(item_id, self.as_of)

    def result(
        self,
        subject: str,
        status: ResultStatus,
        reason: str,
        evidence: list[str],
        environment: str | None = None,
        details: dict[str, str] | None = None,
    ) -> CheckResult:
        return CheckResult(
            practice=self.practice,
            check=self.check,
            name=self.name,
            subject=subject,
            environment=environment,
            status=status,
            reason=reason,
            evidence=sorted(set(evidence)),
            details=details or {},
        )

    def unusable(
        self, subject: str, reads: list[EvidenceRead], environment: str | None = None
    ) -> CheckResult | None:
        """A non-passing result if any evidence read is missing, forbidden, stale or broken."""
        bad = [r for r in reads if not r.usable]
        if not bad:
            return None
        first = bad[0]
        status = _READ_STATUS[first.state]
        why = {
            Freshness.missing: "was not collected",
            Freshness.forbidden: "could not be read: the collector's identity is not allowed (403)",
            Freshness.not_found: "is not installed in the cluster (404)",
            Freshness.error: "could not be read",
            Freshness.stale: "is older than its time-to-live; collect again",
            Freshness.tampered: (
                "does not match the SHA-256 its manifest records: it was altered after "
                "collection (run `evidoc verify`)"
            ),
        }[first.state]
        return self.result(
            subject, status, f"evidence {first.id} {why}", [r.id for r in reads], environment
        )


Check = Callable[[CheckContext], list[CheckResult]]
