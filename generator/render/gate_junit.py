"""`evidoc check --format junit`: one test case per in-scope control, so CI lists them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from generator.findings import Finding, Severity
from generator.render.gate_result import GateResult
from generator.render.xmltext import xml_text
from generator.report import Status


def render(result: GateResult) -> str:
    by_control: dict[str | None, list[Finding]] = defaultdict(list)
    by_result = {f.result_id: f for f in result.findings if f.result_id is not None}
    for f in result.findings:
        if f.result_id is None:
            by_control[f.control].append(f)
    suites = ET.Element("testsuites", name="evidoc check")
    for fw in result.report.frameworks:
        suite = ET.SubElement(suites, "testsuite", name=fw.id)
        failures = skipped = 0
        for c in fw.controls:
            case = ET.SubElement(suite, "testcase", classname=fw.id, name=f"{c.id} {c.title}")
            if c.file:
                case.set("file", c.file)
            if c.line:
                case.set("line", str(c.line))
            errors = [f for f in by_control.get(c.ref, []) if f.severity is Severity.error]
            if errors:
                failures += 1
                failure = ET.SubElement(
                    case, "failure", type=errors[0].kind.value, message=errors[0].message
                )
                lines = []
                for f in errors:
                    lines.append(f"[{f.kind.value}] {f.message}")
                    # The failing results themselves, so the test report says what to fix.
                    for rid in f.results:
                        cause = by_result[rid]
                        lines.append(f"  [{cause.kind.value}] {cause.message}")
                failure.text = "\n".join(lines)
            elif c.status is Status.excluded:
                skipped += 1
                ET.SubElement(case, "skipped", message=f"excluded: {c.reason}")
            ET.SubElement(case, "system-out").text = f"status: {c.status.value} - {c.reason}"
        suite.set("tests", str(len(fw.controls)))
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
        suite.set("errors", "0")
    general = [
        f
        for f in result.findings
        if f.severity is Severity.error
        and f.result_id is None
        and not _in_scope_control(result, f.control)
    ]
    suite = ET.SubElement(suites, "testsuite", name="references")
    suite.set("tests", str(max(1, len(general))))
    suite.set("failures", str(len(general)))
    if not general:
        ET.SubElement(suite, "testcase", classname="references", name="all references resolve")
    for f in general:
        case = ET.SubElement(
            suite, "testcase", classname="references", name=f"{f.kind.value} {f.file}:{f.line}"
        )
        ET.SubElement(case, "failure", type=f.kind.value, message=f.message).text = f.message
    _fit_for_xml(suites)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def _fit_for_xml(root: ET.Element) -> None:
    """ElementTree escapes markup but writes any character, including those XML 1.0 forbids:
    titles, reasons and paths come from input, so every text and attribute is made fit."""
    for element in root.iter():
        if element.text:
            element.text = xml_text(element.text)
        if element.tail:
            element.tail = xml_text(element.tail)
        for key, value in element.attrib.items():
            element.set(key, xml_text(value))


def _in_scope_control(result: GateResult, ref: str | None) -> bool:
    if ref is None:
        return False
    return any(c.ref == ref for fw in result.report.frameworks for c in fw.controls)
