"""A practice's `with:` is checked against what its check accepts, at the right line."""

from __future__ import annotations

import json

from generator.checks.params import PARAMETERS
from generator.checks.registry import CHECKS
from tests.conftest import Instance, run_evidoc

PRACTICE = """\
id: change-management
title: Change management
owner: Platform team
statement: Reviewed merges only.
satisfies:
  - control: demo-iso:A.2
checks:
  - id: git.reviewed-changes
    with:
      aprovals: 2
  - id: git.branch-protection
    with:
      approvals: "2"
  - id: kubernetes.isolation-level
    with:
      required: {production: clusters}
  - id: kubernetes.default-deny
"""


def test_every_check_declares_its_parameters() -> None:
    assert set(PARAMETERS) == set(CHECKS)


def test_misspelt_and_mistyped_parameters_are_findings(instance: Instance) -> None:
    instance.write("controls/practices/change-management.yaml", PRACTICE)
    proc = run_evidoc("check", "--root", instance.root, "--format", "json")
    assert proc.returncode == 1, proc.stderr
    found = [
        (f["line"], f["message"].split(": ")[1])
        for f in json.loads(proc.stdout)["findings"]
        if f["kind"] == "invalid-check-parameter"
    ]
    assert found == [
        (10, "aprovals"),
        (13, "approvals"),
        (16, "required.production"),
    ]


def test_valid_parameters_pass(instance: Instance) -> None:
    text = PRACTICE.replace("aprovals: 2", "approvals: 2").replace('"2"', "2")
    instance.write("controls/practices/change-management.yaml", text.replace("clusters", "cluster"))
    proc = run_evidoc("check", "--root", instance.root, "--format", "json")
    assert proc.returncode == 0, proc.stdout
