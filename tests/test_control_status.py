"""Per-control proof: a control is verified only by checks declared to prove it, through a
mapping that covers the whole control, and the gate names each failing result once."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from generator.checks.params import PARAMETERS
from generator.gate import Requirement, gate_findings
from generator.loader import load_library
from generator.render import gate_junit, gate_text
from generator.render.gate_result import GateResult
from generator.report import Report, build_report
from generator.results import CheckResult, Results, ResultStatus
from tests.conftest import Instance, run_evidoc

TODAY = dt.date(2026, 11, 30)
CHECK = "kubernetes.isolation-level"
OTHER = "kubernetes.no-production-data"


def practice(pid: str, satisfies: str, checks: str = f"  - id: {CHECK}\n") -> str:
    return (
        f"id: {pid}\ntitle: {pid}\nowner: Platform team\nstatement: What we do.\n"
        f"satisfies:\n{satisfies}checks:\n{checks}"
    )


def result(pid: str, check: str, status: ResultStatus, subject: str = "staging") -> CheckResult:
    return CheckResult(
        practice=pid,
        check=check,
        subject=subject,
        status=status,
        reason=f"{check} said {status.value} for {subject}",
        evidence=[f"kubernetes/nonprod/{subject}/configmaps"],
    )


def report(inst: Instance, results: list[CheckResult]) -> tuple[object, Report]:
    library = load_library(inst.root)
    return library, build_report(library, Results(results=results), TODAY)


def statuses(rep: Report) -> dict[str, tuple[str, str]]:
    return {c.ref: (c.status.value, c.reason) for fw in rep.frameworks for c in fw.controls}


@pytest.fixture
def two(instance: Instance) -> Instance:
    """A.1 mapped by `sep` (equivalent) and `data` (intersects), A.2 by `data` only."""
    instance.write(
        "controls/practices/environment-separation.yaml",
        practice(
            "sep",
            f"  - control: demo-iso:A.1\n    relationship: equivalent\n    proven_by: [{CHECK}]\n",
        ),
    )
    instance.write(
        "controls/practices/data.yaml",
        practice(
            "data",
            "  - control: demo-iso:A.1\n    relationship: intersects\n"
            f"    proven_by: [{OTHER}]\n"
            "  - control: demo-iso:A.2\n    relationship: intersects\n"
            f"    proven_by: [{OTHER}]\n",
            checks=f"  - id: {OTHER}\n",
        ),
    )
    return instance


def test_an_intersects_only_proof_does_not_verify(two: Instance) -> None:
    _, rep = report(two, [result("data", OTHER, ResultStatus.passed)])
    status, reason = statuses(rep)["demo-iso:A.2"]
    assert status == "documented"
    assert reason.startswith("Partly proven") and OTHER in reason and "intersects" in reason
    control = next(c for c in rep.frameworks[0].controls if c.id == "A.2")
    assert [r.status for r in control.results] == [ResultStatus.passed]  # shown as support


def test_equivalent_proof_verifies_only_when_every_proof_passes(two: Instance) -> None:
    passing = [
        result("sep", CHECK, ResultStatus.passed),
        result("data", OTHER, ResultStatus.passed),
    ]
    _, rep = report(two, passing)
    assert statuses(rep)["demo-iso:A.1"][0] == "verified"
    # A failing proof under the intersects mapping still makes A.1 failing.
    _, rep = report(two, [passing[0], result("data", OTHER, ResultStatus.failed)])
    status, reason = statuses(rep)["demo-iso:A.1"]
    assert status == "failing" and "staging" in reason


def test_passing_and_unusable_proof_together_is_no_evidence(two: Instance) -> None:
    _, rep = report(
        two, [result("sep", CHECK, ResultStatus.passed), result("data", OTHER, ResultStatus.stale)]
    )
    assert statuses(rep)["demo-iso:A.1"][0] == "no-evidence"


def test_a_proving_check_with_no_result_never_verifies(two: Instance) -> None:
    _, rep = report(two, [result("data", OTHER, ResultStatus.passed)])
    status, reason = statuses(rep)["demo-iso:A.1"]
    assert status == "no-evidence" and f"no result for proving check(s) {CHECK} of sep" in reason


def test_a_check_that_proves_nothing_does_not_verify(instance: Instance) -> None:
    """The old rule verified every control of a practice whose checks passed."""
    instance.write(
        "controls/practices/environment-separation.yaml",
        practice("sep", "  - control: demo-iso:A.1\n    relationship: equivalent\n"),
    )
    _, rep = report(instance, [result("sep", CHECK, ResultStatus.passed)])
    status, reason = statuses(rep)["demo-iso:A.1"]
    assert status == "documented" and "no check proves it" in reason


def test_named_uses_of_one_check_prove_separately(instance: Instance) -> None:
    instance.write(
        "controls/practices/environment-separation.yaml",
        practice(
            "sep",
            "  - control: demo-iso:A.1\n    relationship: equivalent\n    proven_by: [strict]\n"
            "  - control: demo-iso:A.2\n    relationship: equivalent\n    proven_by: [loose]\n",
            checks=f"  - id: {CHECK}\n    name: strict\n  - id: {CHECK}\n    name: loose\n",
        ),
    )
    strict = result("sep", CHECK, ResultStatus.failed).model_copy(update={"name": "strict"})
    loose = result("sep", CHECK, ResultStatus.passed).model_copy(update={"name": "loose"})
    _, rep = report(instance, [strict, loose])
    found = statuses(rep)
    assert found["demo-iso:A.1"][0] == "failing" and found["demo-iso:A.2"][0] == "verified"


def test_an_exclusion_over_failing_proof_warns(instance: Instance) -> None:
    instance.write(
        "controls/practices/environment-separation.yaml",
        practice(
            "sep",
            "  - control: demo-iso:A.1\n    relationship: equivalent\n"
            "  - control: demo-iso:A.3\n    relationship: equivalent\n"
            f"    proven_by: [{CHECK}]\n",
        ),
    )
    library, rep = report(instance, [result("sep", CHECK, ResultStatus.failed)])
    control = next(c for c in rep.frameworks[0].controls if c.id == "A.3")
    assert control.status.value == "excluded" and control.excluded_evidence
    assert [r.status for r in control.results] == [ResultStatus.failed]
    findings = gate_findings(library, rep, TODAY, Requirement.documented, PARAMETERS)
    warning = [f for f in findings if f.kind.value == "excluded-evidence"]
    assert len(warning) == 1 and warning[0].severity.value == "warning"
    assert warning[0].control == "demo-iso:A.3" and "staging" in warning[0].message


def test_unknown_proven_by_is_an_error_at_its_line(instance: Instance) -> None:
    instance.write(
        "controls/practices/environment-separation.yaml",
        practice(
            "sep",
            "  - control: demo-iso:A.1\n    relationship: equivalent\n"
            f"    proven_by: [{CHECK}, kubernetes.mfa]\n",
        ),
    )
    proc = run_evidoc("check", "--root", instance.root, "--format", "json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    (found,) = [f for f in doc["findings"] if f["kind"] == "unknown-check"]
    assert found["file"] == "controls/practices/environment-separation.yaml"
    assert (found["line"], found["column"]) == (8, 45)
    assert "kubernetes.mfa" in found["message"] and found["control"] == "demo-iso:A.1"


def test_one_check_twice_without_names_is_a_duplicate(instance: Instance) -> None:
    instance.write(
        "controls/practices/environment-separation.yaml",
        practice(
            "sep",
            "  - control: demo-iso:A.1\n    relationship: equivalent\n",
            checks=f"  - id: {CHECK}\n  - id: {CHECK}\n",
        ),
    )
    proc = run_evidoc("check", "--root", instance.root)
    assert proc.returncode == 1
    assert "[duplicate-id]" in proc.stdout and "give each use a `name:`" in proc.stdout


def test_the_gate_reports_each_failing_result_once_with_its_controls(two: Instance) -> None:
    failing = result("data", OTHER, ResultStatus.failed, subject="shop-staging/ConfigMap/x[KEY]")
    library, rep = report(two, [result("sep", CHECK, ResultStatus.passed), failing])
    findings = gate_findings(library, rep, TODAY, Requirement.verified, PARAMETERS)
    (cause,) = [f for f in findings if f.kind.value == "failing-check"]
    assert cause.file == "controls/practices/data.yaml" and cause.line == 13
    assert cause.subject == "shop-staging/ConfigMap/x[KEY]"
    assert cause.controls == ("demo-iso:A.1", "demo-iso:A.2")
    controls = [f for f in findings if f.kind.value == "failing-control"]
    assert {f.control for f in controls} == {"demo-iso:A.1", "demo-iso:A.2"}
    assert all(f.results == (cause.result_id,) for f in controls)
    gate = GateResult(report=rep, findings=findings, require="verified")
    text = gate_text.render(gate)
    # The root cause once, not once per control it affects.
    assert text.count("subject:  shop-staging/ConfigMap/x[KEY]") == 1, text
    assert "[failing-control]" not in text
    assert "affects 2 control(s): demo-iso:A.1, demo-iso:A.2" in text
    junit = gate_junit.render(gate)
    assert junit.count("[failing-check]") == 2  # listed under each control it fails
