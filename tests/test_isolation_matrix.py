"""The isolation matrix shows what the evidence measured, not only what sources.yaml declares."""

from __future__ import annotations

from generator.loader import load_library
from generator.pdf.isolation import build_isolation
from generator.results import CheckResult, ResultStatus
from tests.conftest import REPO


def cell(iso, a: str, b: str):
    names = [d.name for d in iso.deployments]
    return iso.matrix[names.index(a)][names.index(b)]


def test_measured_level_wins_over_the_declared_one() -> None:
    library = load_library(REPO)
    declared = build_isolation(library, [])
    before = cell(declared, "staging", "production")
    assert (before.level, before.measured) == ("environment", False)
    # Evidence shows both names point at one cluster: the check measured namespace isolation.
    measured = CheckResult(
        practice="environment-separation",
        check="kubernetes.isolation-level",
        subject="staging <-> production",
        status=ResultStatus.failed,
        reason="one cluster",
        details={"level": "namespace", "required": "cluster"},
    )
    after = cell(build_isolation(library, [measured]), "production", "staging")
    assert (after.level, after.measured, after.below, after.status) == (
        "namespace",
        True,
        True,
        "fail",
    )
    untouched = cell(build_isolation(library, [measured]), "development", "staging")
    assert (untouched.level, untouched.measured) == ("namespace", False)
