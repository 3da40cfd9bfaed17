"""`evidoc check --format github`: GitHub Actions workflow commands that annotate lines."""

from __future__ import annotations

from generator.findings import Severity
from generator.render.gate_result import GateResult


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(result: GateResult) -> str:
    lines = []
    for f in result.findings:
        level = "error" if f.severity is Severity.error else "warning"
        props = []
        if f.file:
            props.append(f"file={_escape_property(f.file)}")
        if f.line:
            props.append(f"line={f.line}")
        if f.column:
            props.append(f"col={f.column}")
        props.append(f"title={_escape_property('evidoc ' + f.kind.value)}")
        lines.append(f"::{level} {','.join(props)}::{_escape_data(f.message)}")
    totals = result.report.totals()
    summary = ", ".join(f"{n} {s.value}" for s, n in totals.items() if n)
    lines.append(f"::notice title=evidoc::{_escape_data(summary or 'no controls in scope')}")
    return "\n".join(lines) + "\n"
