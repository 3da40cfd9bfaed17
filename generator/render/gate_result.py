"""What every gate output format is rendered from."""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.findings import Finding, Severity
from generator.register import RegisterRow
from generator.report import Report


@dataclass(frozen=True)
class GateResult:
    report: Report
    findings: list[Finding]
    require: str
    register: list[RegisterRow] = field(default_factory=list)  # the findings register

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.error]

    @property
    def ok(self) -> bool:
        return not self.errors
