"""`evidoc check --format json`: findings, per-framework totals and control statuses."""

from __future__ import annotations

import json

from generator.render.gate_result import GateResult
from generator.report import ControlReport


def _control(c: ControlReport) -> dict[str, object]:
    """A control's evidence status and, beside it, its implementation status (the SoA's)."""
    out: dict[str, object] = {
        "control": c.ref,
        "status": c.status.value,
        "reason": c.reason,
        "implementation": c.implementation.value,
        "implementation_reason": c.implementation_reason,
    }
    if c.level is not None:
        out["level"] = c.level
    if c.inherited is not None:
        out["provider"] = c.inherited.provider
        out["reference"] = c.inherited.reference
    return out


def render(result: GateResult) -> str:
    report = result.report
    doc = {
        "ok": result.ok,
        "require": result.require,
        "as_of": report.as_of.isoformat(),
        "snapshot": report.snapshot.model_dump() if report.snapshot else None,
        "findings": [
            {
                "kind": f.kind.value,
                "severity": f.severity.value,
                "control": f.control,
                "file": f.file,
                "line": f.line,
                "column": f.column,
                "message": f.message,
                **(
                    {
                        "result": f.result_id,
                        "check": f.check,
                        "practice": f.practice,
                        "subject": f.subject,
                        "status": f.status,
                        "reason": f.reason,
                        "evidence": list(f.evidence),
                        "controls": list(f.controls),
                    }
                    if f.check is not None
                    else {}
                ),
                **({"results": list(f.results)} if f.results else {}),
            }
            for f in result.findings
        ],
        # One row per failing or unusable proving result: owner, first seen, plan, overdue.
        "register": [row.as_json() for row in result.register],
        "totals": {s.value: n for s, n in report.totals().items()},
        "frameworks": [
            {
                "id": fw.id,
                "title": fw.title,
                "totals": {s.value: n for s, n in fw.totals.items()},
                "implementation_totals": {s.value: n for s, n in fw.implementation_totals.items()},
                "controls": [_control(c) for c in fw.controls],
            }
            for fw in report.frameworks
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
