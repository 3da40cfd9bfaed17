"""`evidoc check --format json`: findings, per-framework totals and control statuses."""

from __future__ import annotations

import json

from generator.render.gate_result import GateResult


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
        "totals": {s.value: n for s, n in report.totals().items()},
        "frameworks": [
            {
                "id": fw.id,
                "title": fw.title,
                "totals": {s.value: n for s, n in fw.totals.items()},
                "controls": [
                    {"control": c.ref, "status": c.status.value, "reason": c.reason}
                    for c in fw.controls
                ],
            }
            for fw in report.frameworks
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
