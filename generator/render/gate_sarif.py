"""`evidoc check --format sarif`: results located at file and line, for code-host annotations."""

from __future__ import annotations

import json

from generator import __version__
from generator.findings import FindingKind, Severity
from generator.render.gate_result import GateResult
from generator.render.xmltext import xml_values

_HELP = {
    FindingKind.unmapped_control: "An in-scope control is neither mapped nor excluded.",
    FindingKind.unknown_control: "A reference names a control its framework does not have.",
    FindingKind.unknown_framework: "A reference names a framework that is not in the library.",
    FindingKind.unknown_tag: "A docs-page tag matches no framework's tag grammar.",
    FindingKind.group_tag: "A docs-page tag names a group of controls, not a control.",
    FindingKind.expired_exclusion: "An exclusion has passed its expiry date.",
    FindingKind.duplicate_id: "An id is defined twice.",
    FindingKind.failing_check: "A check that proves in-scope controls fails.",
    FindingKind.missing_evidence: "A check that proves in-scope controls has no usable evidence.",
    FindingKind.failing_control: "An in-scope control has a failing proving check.",
    FindingKind.unproven_control: "An in-scope control's proving checks lack usable evidence.",
    FindingKind.excluded_evidence: "An excluded control's proving checks fail or lack evidence.",
}


def render(result: GateResult) -> str:
    kinds = sorted({f.kind for f in result.findings}, key=lambda k: k.value)
    rules = [
        {
            "id": k.value,
            "name": k.value,
            "shortDescription": {"text": _HELP.get(k, k.value.replace("-", " "))},
        }
        for k in kinds
    ]
    results = []
    for f in result.findings:
        entry: dict[str, object] = {
            "ruleId": f.kind.value,
            "ruleIndex": kinds.index(f.kind),
            "level": "error" if f.severity is Severity.error else "warning",
            "message": {"text": f.message},
        }
        if f.file:
            region = {"startLine": f.line or 1}
            if f.column:
                region["startColumn"] = f.column
            entry["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.file, "uriBaseId": "%SRCROOT%"},
                        "region": region,
                    }
                }
            ]
        props: dict[str, object] = {}
        if f.control:
            props["control"] = f.control
        if f.check is not None:
            props.update(
                check=f.check,
                practice=f.practice,
                subject=f.subject,
                evidence=list(f.evidence),
                controls=list(f.controls),
            )
        if f.results:
            props["results"] = list(f.results)
        if props:
            entry["properties"] = props
        results.append(entry)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "evidoc",
                        "version": __version__,
                        "informationUri": "https://github.com/evidoc/evidoc",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    # SARIF viewers render messages into HTML and XML reports: no character either forbids.
    return json.dumps(xml_values(doc), indent=2, ensure_ascii=False) + "\n"
