"""What every gate output format is rendered from."""

from __future__ import annotations

from dataclasses import dataclass

from generator.findings import Finding, Severity
from generator.report import Report


@dataclass(frozen=True)
class GateResult:
    report: Report
    findings: list[Finding]
    require: str

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.error]

    @property
    def ok(self) -> bool:
        return not self.errors
