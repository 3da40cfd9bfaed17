"""Applicability: inherited controls, the implementation status beside the evidence status, and
catalog rules about exclusion (HIPAA required and addressable specifications)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import REPO, Instance, run_evidoc

AS_OF = "2026-11-22"

INHERITED = """\
frameworks: [demo-iso]
inherited:
  - control: demo-iso:A.3
    provider: Example Colocation AB
    reference: ISO/IEC 27001 certificate 1234, valid until 2028-03-31
    approved_by: CISO
    expires: 2028-03-31
"""

# A catalog with the HIPAA Security Rule's kinds of specification.
RULE = """\
id: rule-demo
title: Demo security rule
version: "1"
publisher: Example
levels:
  required: {exclusion: forbidden}
  addressable: {exclusion: decision}
groups:
  - id: "S"
    title: Safeguards
    controls:
      - id: "S.1"
        title: Sanction policy
        level: required
      - id: "S.2"
        title: Automatic logoff
        level: addressable
      - id: "S.3"
        title: Clearinghouse isolation
        level: required
        applies_if: a clearinghouse is part of the organisation
      - id: "S.4"
        title: Audit controls
        level: required
      - id: "S.5"
        title: Secure the lobby
        exclusion: forbidden
"""

RULE_PRACTICE = """\
id: audit-controls
title: Audit controls
owner: Platform team
statement: Every access is logged.
satisfies:
  - control: rule-demo:S.4
    relationship: equivalent
  - control: rule-demo:S.5
    relationship: intersects
"""


def check_json(inst: Instance | Path, *extra: str) -> tuple[int, dict]:
    root = inst.root if isinstance(inst, Instance) else inst
    proc = run_evidoc("check", "--root", root, "--format", "json", "--as-of", AS_OF, *extra)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def controls(doc: dict) -> dict[str, dict]:
    return {c["control"]: c for fw in doc["frameworks"] for c in fw["controls"]}


def rule_instance(inst: Instance, scope: str) -> Instance:
    inst.write("controls/frameworks/rule-demo.yaml", RULE)
    inst.write("controls/practices/audit-controls.yaml", RULE_PRACTICE)
    inst.write("controls/scope.yaml", scope)
    return inst


def scope_line(inst: Instance, needle: str) -> int:
    lines = (inst.root / "controls/scope.yaml").read_text().splitlines()
    (number,) = [i + 1 for i, line in enumerate(lines) if needle in line]
    return number


# --- inherited controls ------------------------------------------------------------------------


def test_an_inherited_control_is_applicable_inherited_and_not_unmapped(instance: Instance) -> None:
    instance.write("controls/scope.yaml", INHERITED)
    code, doc = check_json(instance)
    assert code == 0, doc["findings"]
    assert doc["findings"] == []
    a3 = controls(doc)["demo-iso:A.3"]
    # The evidence status stays an evidence status: documented, by the provider's evidence.
    assert a3["status"] == "documented"
    assert "Example Colocation AB" in a3["reason"] and "certificate 1234" in a3["reason"]
    assert a3["implementation"] == "inherited"
    assert a3["provider"] == "Example Colocation AB"
    assert a3["reference"] == "ISO/IEC 27001 certificate 1234, valid until 2028-03-31"
    assert "Example Colocation AB" in a3["implementation_reason"]
    fw = doc["frameworks"][0]
    assert fw["totals"]["unmapped"] == 0 and fw["totals"]["excluded"] == 0
    assert fw["implementation_totals"]["inherited"] == 1
    assert fw["implementation_totals"]["not-applicable"] == 0


def test_implementation_status_is_derived_beside_an_unchanged_evidence_status(
    instance: Instance,
) -> None:
    code, doc = check_json(instance)
    assert code == 0
    by = controls(doc)
    # The fixture: A.1 met by an equivalent practice, A.2 by a docs page, A.3 excluded.
    assert {ref: (c["status"], c["implementation"]) for ref, c in by.items()} == {
        "demo-iso:A.1": ("documented", "implemented"),
        "demo-iso:A.2": ("documented", "implemented"),
        "demo-iso:A.3": ("excluded", "not-applicable"),
    }
    assert by["demo-iso:A.3"]["implementation_reason"].startswith("The data-centre operator")
    # Without the exclusion, A.3 is a gap on both axes.
    instance.write("controls/scope.yaml", "frameworks: [demo-iso]\n")
    code, doc = check_json(instance)
    assert code == 1
    a3 = controls(doc)["demo-iso:A.3"]
    assert (a3["status"], a3["implementation"]) == ("unmapped", "not-implemented")


def test_an_expired_inheritance_is_none(instance: Instance) -> None:
    instance.write("controls/scope.yaml", INHERITED.replace("2028-03-31\n", "2026-01-31\n"))
    code, doc = check_json(instance)
    assert code == 1
    found = {(f["kind"], f["control"], f["line"]) for f in doc["findings"]}
    assert ("expired-inheritance", "demo-iso:A.3", 7) in found  # the expires: line
    assert ("unmapped-control", "demo-iso:A.3", 15) in found
    assert controls(doc)["demo-iso:A.3"]["implementation"] == "not-implemented"


def test_a_control_both_excluded_and_inherited_is_a_conflict(instance: Instance) -> None:
    scope = INHERITED + (
        "exclusions:\n"
        "  - control: demo-iso:A.3\n"
        "    justification: Not ours.\n"
        "    approved_by: CISO\n"
    )
    instance.write("controls/scope.yaml", scope)
    code, doc = check_json(instance)
    assert code == 1
    (conflict,) = [f for f in doc["findings"] if f["kind"] == "conflicting-scope"]
    assert (conflict["file"], conflict["line"]) == ("controls/scope.yaml", 3)
    assert conflict["severity"] == "error"


def test_unknown_inherited_control_is_reported_at_its_line(instance: Instance) -> None:
    instance.write("controls/scope.yaml", INHERITED.replace("demo-iso:A.3", "demo-iso:A.9"))
    code, doc = check_json(instance)
    assert code == 1
    found = {(f["kind"], f["control"], f["line"]) for f in doc["findings"]}
    assert ("unknown-control", "demo-iso:A.9", 3) in found


# --- planned and alternative -------------------------------------------------------------------


def test_planned_and_alternative_entries(instance: Instance) -> None:
    instance.write(
        "controls/scope.yaml",
        """\
        frameworks: [demo-iso]
        exclusions:
          - control: demo-iso:A.3
            justification: The data-centre operator guards the premises.
            approved_by: CISO
        implementation:
          - control: demo-iso:A.1
            status: planned
            due: 2027-03-31
            note: An admission rule is being written.
          - control: demo-iso:A.2
            status: alternative
            measure: Four-eyes review in the change board.
        """,
    )
    code, doc = check_json(instance)
    assert code == 0, doc["findings"]
    by = controls(doc)
    assert by["demo-iso:A.1"]["implementation"] == "planned"
    assert "2027-03-31" in by["demo-iso:A.1"]["implementation_reason"]
    assert by["demo-iso:A.2"]["implementation"] == "alternative"
    assert "Four-eyes review" in by["demo-iso:A.2"]["implementation_reason"]
    # The evidence status does not move.
    assert by["demo-iso:A.1"]["status"] == by["demo-iso:A.2"]["status"] == "documented"
    # A plan past its date is a warning at its due: line.
    code, doc = check_json(instance, "--as-of", "2027-06-01")
    assert code == 0
    (late,) = [f for f in doc["findings"] if f["kind"] == "overdue-plan"]
    assert (late["severity"], late["line"]) == ("warning", 9)


def test_a_planned_entry_needs_a_date(instance: Instance) -> None:
    instance.write(
        "controls/scope.yaml",
        "frameworks: [demo-iso]\nimplementation:\n  - {control: demo-iso:A.1, status: planned}\n",
    )
    proc = run_evidoc("check", "--root", instance.root)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "controls/scope.yaml:3" in proc.stderr and "due" in proc.stderr


# --- catalog rules about exclusion -------------------------------------------------------------


def test_excluding_a_required_specification_is_an_error_at_the_scope_line(
    instance: Instance,
) -> None:
    rule_instance(
        instance,
        """\
        frameworks: [rule-demo]
        inherited:
          - control: rule-demo:S.2
            provider: Corporate IT
            reference: End-user computing policy
            approved_by: Head of IT
        exclusions:
          - control: rule-demo:S.1
            justification: HR runs it.
            approved_by: HR Director
          - control: rule-demo:S.3
            justification: We run no clearinghouse.
            approved_by: Privacy Officer
        """,
    )
    code, doc = check_json(instance)
    assert code == 1
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    assert [(f["kind"], f["control"]) for f in errors] == [
        ("forbidden-exclusion", "rule-demo:S.1"),
    ]
    (err,) = errors
    assert (err["file"], err["line"], err["column"]) == ("controls/scope.yaml", 8, 14)
    assert err["line"] == scope_line(instance, "control: rule-demo:S.1")
    assert "required" in err["message"] and "inherited" in err["message"]
    # S.3 applies only under a condition the rule sets: excluding it is allowed.
    by = controls(doc)
    assert by["rule-demo:S.3"]["implementation"] == "not-applicable"
    assert by["rule-demo:S.1"]["level"] == "required"
    # The text format names the same place.
    text = run_evidoc("check", "--root", instance.root, "--as-of", AS_OF).stdout
    assert "controls/scope.yaml:8:14: error: [forbidden-exclusion] rule-demo:S.1" in text


def test_a_control_level_exclusion_rule_applies_without_levels(instance: Instance) -> None:
    rule_instance(
        instance,
        """\
        frameworks: [rule-demo]
        inherited:
          - {control: rule-demo:S.1, provider: HR, reference: HR procedures, approved_by: HR}
          - {control: rule-demo:S.2, provider: IT, reference: EUC policy, approved_by: IT}
        exclusions:
          - {control: rule-demo:S.3, justification: No clearinghouse., approved_by: PO}
          - {control: rule-demo:S.5, justification: No lobby., approved_by: CISO}
        """,
    )
    code, doc = check_json(instance)
    assert code == 1
    (err,) = [f for f in doc["findings"] if f["severity"] == "error"]
    assert (err["kind"], err["control"], err["line"]) == ("forbidden-exclusion", "rule-demo:S.5", 7)


def test_an_addressable_exclusion_needs_a_decision_and_an_alternative(instance: Instance) -> None:
    scope = """\
        frameworks: [rule-demo]
        inherited:
          - {control: rule-demo:S.1, provider: HR, reference: HR procedures, approved_by: HR}
        exclusions:
          - control: rule-demo:S.2
            justification: Clinical terminals are shared.
            approved_by: Privacy Officer
          - {control: rule-demo:S.3, justification: No clearinghouse., approved_by: PO}
        """
    rule_instance(instance, scope)
    code, doc = check_json(instance)
    assert code == 0  # a warning
    (warning,) = doc["findings"]
    assert warning["kind"] == "undocumented-decision" and warning["severity"] == "warning"
    assert (warning["control"], warning["line"]) == ("rule-demo:S.2", 5)
    assert "decision" in warning["message"] and "alternative" in warning["message"]
    assert controls(doc)["rule-demo:S.2"]["implementation"] == "not-applicable"

    documented = scope.replace(
        "            approved_by: Privacy Officer\n",
        "            approved_by: Privacy Officer\n"
        "            decision: Assessed 2026-03-02; a short logoff is not reasonable on wards.\n"
        "            alternative: Badge tap-out with proximity lock after 30 seconds away.\n",
    )
    rule_instance(instance, documented)
    code, doc = check_json(instance)
    assert code == 0 and doc["findings"] == []
    s2 = controls(doc)["rule-demo:S.2"]
    assert s2["status"] == "excluded"  # the evidence status does not change
    assert s2["implementation"] == "alternative"
    assert "Badge tap-out" in s2["implementation_reason"]
    assert "Assessed 2026-03-02" in s2["implementation_reason"]


# --- the Statement of Applicability, the framework page and the pack ----------------------------


def soa_instance(inst: Instance) -> Instance:
    """The fixture renamed as an ISO/IEC 27001 catalog that requires a Statement of
    Applicability (so it gets an SoA page), with levels (required ones may not be excluded), an
    inherited control and an exclusion."""
    fw = (inst.root / "controls/frameworks/demo-iso.yaml").read_text()
    fw = fw.replace("id: demo-iso", "id: iso27001-demo")
    fw = fw.replace(
        "tags:\n", "soa_required: true\nlevels:\n  required: {exclusion: forbidden}\ntags:\n"
    )
    fw = fw.replace(
        "        title: Separate environments\n",
        "        title: Separate environments\n        level: required\n",
    )
    fw = fw.replace(
        "        title: Review every change\n",
        "        title: Review every change\n        level: addressable\n",
    )
    (inst.root / "controls/frameworks/demo-iso.yaml").unlink()
    inst.write("controls/frameworks/iso27001-demo.yaml", fw)
    practice = (inst.root / "controls/practices/environment-separation.yaml").read_text()
    inst.write(
        "controls/practices/environment-separation.yaml",
        practice.replace("demo-iso:A.1", "iso27001-demo:A.1"),
    )
    inst.write(
        "controls/scope.yaml",
        INHERITED.replace("demo-iso", "iso27001-demo")
        + "exclusions:\n"
        + "  - control: iso27001-demo:A.2\n"
        + "    justification: Nothing changes here.\n"
        + "    approved_by: CISO\n",
    )
    return inst


def cells(html: str, control: str) -> list[str]:
    """The text of each cell of the SoA row of `control`."""
    for row in html.split("<tr>")[1:]:
        texts = [re.sub(r"<[^>]+>", "", c).strip() for c in row.split("<td")[1:]]
        texts = [t.split(">", 1)[-1] for t in texts]
        if texts and texts[0] == control:
            return texts
    raise AssertionError(f"no SoA row for {control}")


def test_the_soa_shows_implementation_status_and_level(instance: Instance) -> None:
    soa_instance(instance)
    code, doc = check_json(instance)
    assert code == 0, doc["findings"]
    proc = run_evidoc("build", "--root", instance.root, timeout=180)
    assert proc.returncode == 0, proc.stderr
    site = instance.root / "site"
    html = (site / "compliance/soa/iso27001-demo/index.html").read_text(encoding="utf-8")
    head = html[html.index("<thead>") : html.index("</thead>")]
    assert re.findall(r"<th[^>]*>([^<]+)</th>", head) == [
        "control",
        "title",
        "applies · implementation",
        "justification",
        "implemented by",
        "level",
        "evidence",
    ]
    a1, a2, a3 = (cells(html, c) for c in ("A.1", "A.2", "A.3"))
    assert (a1[2], a1[5]) == ("yes · implemented", "required")
    assert (a2[2], a2[5]) == ("no · not applicable", "addressable")
    assert (a3[2], a3[5]) == ("yes · inherited", "–")
    assert "Example Colocation AB" in a3[4] and "certificate 1234" in a3[4]
    assert "documented" in a3[6]
    assert "2 of 3 controls apply" in html and "1 inherited" in html

    # The framework page shows the level and the implementation of each control.
    page = (site / "compliance/frameworks/iso27001-demo/index.html").read_text(encoding="utf-8")
    assert '<span class="evidoc-level">required</span>' in page
    assert '<span class="evidoc-level">addressable</span>' in page
    assert "Implementation</strong>: inherited" in page
    assert "Inherited</strong> from Example Colocation AB" in page


def test_the_gaps_table_of_a_catalog_with_levels_shows_them(instance: Instance) -> None:
    rule_instance(instance, "frameworks: [rule-demo]\n")
    proc = run_evidoc("build", "--root", instance.root, timeout=180)
    assert proc.returncode == 0, proc.stderr
    page = (instance.root / "site/compliance/frameworks/rule-demo/index.html").read_text("utf-8")
    gaps = page[page.index('id="gaps"') : page.index('id="controls"')]
    assert re.findall(r"<th[^>]*>([^<]+)</th>", gaps) == [
        "control",
        "title",
        "level",
        "status",
        "why",
    ]
    for level in ("required", "addressable"):
        assert f"<td>{level}</td>" in gaps


def test_the_pack_soa_shows_implementation_status_and_level(instance: Instance) -> None:
    soa_instance(instance)
    out = instance.root / "pack.pdf"
    proc = run_evidoc("pdf", "--root", instance.root, "--output", out, timeout=180)
    assert proc.returncode == 0, proc.stderr
    if shutil.which("pdftotext"):
        raw = subprocess.run(["pdftotext", "-enc", "UTF-8", str(out), "-"], capture_output=True)
        text = raw.stdout.decode("utf-8")
    else:
        text = "\n".join(p.extract_text() or "" for p in PdfReader(out).pages)
    text = re.sub(r"\s+", " ", text)
    soa = text[text.index("Applies · implementation") :]
    assert "yes · implemented Separate environments (required)" in soa
    assert "no · not applicable Review every change (addressable) — excluded" in soa
    assert "yes · inherited Guard the premises — inherited from Example Colocation AB" in soa
    assert "Implementation: 1 implemented, 1 inherited, 1 not applicable." in text
    assert "Level: required (may not be excluded)" in text
    assert "Level: addressable Described in" in text  # no rule for this level: no hint
    assert "Inherited from: Example Colocation AB · evidence: ISO/IEC 27001 certificate" in text


# --- the shipped instance ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> dict:
    code, doc = check_json(REPO)
    assert code == 0, [f"{f['kind']}: {f['message']}" for f in doc["findings"]]
    return doc


def test_the_shipped_instance_passes_the_gate_with_its_applicability(shipped: dict) -> None:
    assert shipped["ok"] is True and shipped["findings"] == []
    by = controls(shipped)
    iso = next(fw for fw in shipped["frameworks"] if fw["id"] == "iso27001-2022")
    # What HR, the data-centre operator and corporate IT implement is applicable and inherited;
    # only outsourced development is not applicable.
    assert iso["implementation_totals"]["inherited"] == 24
    assert [c["control"] for c in iso["controls"] if c["implementation"] == "not-applicable"] == [
        "iso27001-2022:8.30"
    ]
    assert iso["totals"]["excluded"] == 1
    for ref, provider in (
        ("iso27001-2022:7.1", "data-centre operator"),
        ("iso27001-2022:6.4", "HR department"),
        ("iso27001-2022:8.1", "Corporate IT"),
    ):
        assert by[ref]["implementation"] == "inherited", ref
        assert by[ref]["status"] == "documented", ref
        assert provider in by[ref]["provider"], ref


def test_no_shipped_required_hipaa_specification_is_excluded(shipped: dict) -> None:
    from generator.loader import load_library

    hipaa = next(fw for fw in shipped["frameworks"] if fw["id"] == "hipaa-security")
    assert {c.get("level") for c in hipaa["controls"]} == {"required", "addressable"}
    catalog = load_library(REPO).frameworks["hipaa-security"]
    for c in hipaa["controls"]:
        control = catalog.controls[c["control"].split(":", 1)[1]].control
        if c["status"] == "excluded":
            # Only what the rule itself makes conditional, when the condition does not hold.
            assert control.level == "required" and control.applies_if, c["control"]
        if control.level == "addressable":
            assert c["implementation"] != "not-applicable", c["control"]
    for ref in (
        "hipaa-security:164.308(a)(1)(ii)(C)",  # sanction policy
        "hipaa-security:164.310(b)",  # workstation use
        "hipaa-security:164.310(c)",  # workstation security
        "hipaa-security:164.310(d)(2)(i)",  # disposal
        "hipaa-security:164.310(d)(2)(ii)",  # media re-use
    ):
        c = controls(shipped)[ref]
        assert (c["status"], c["implementation"], c["level"]) == (
            "documented",
            "inherited",
            "required",
        ), ref
