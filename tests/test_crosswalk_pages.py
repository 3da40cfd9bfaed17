"""A page tagged with a control of another framework describes the controls a crosswalk maps it
to as equivalent or subset, in statuses, page lists and the gate; `intersects` only relates."""

from __future__ import annotations

import json
import re

from tests.conftest import Instance, run_evidoc

OLD = """\
id: old-iso
title: Old catalog
version: "0"
publisher: Example
tags:
  - pattern: '^OLD (?P<id>X\\.\\d+)\\b'
groups:
  - id: "X"
    title: Old
    controls:
      - {id: "X.1", title: Review changes}
      - {id: "X.2", title: Neighbouring topic}
"""

CROSSWALK = """\
id: old-to-demo
title: Old catalog to demo catalog
source: old-iso
target: demo-iso
mappings:
  - {source: "X.1", target: "A.2", relationship: equivalent}
  - {source: "X.2", target: "A.3", relationship: intersects}
"""


def statuses(instance: Instance) -> tuple[int, dict[str, dict]]:
    proc = run_evidoc("check", "--root", instance.root, "--format", "json")
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)
    return proc.returncode, {c["control"]: c for fw in doc["frameworks"] for c in fw["controls"]}


def test_a_crosswalked_tag_documents_the_equivalent_control(instance: Instance) -> None:
    instance.write("controls/frameworks/old-iso.yaml", OLD)
    instance.write("controls/crosswalks/old-to-demo.yaml", CROSSWALK)
    instance.write("controls/scope.yaml", "frameworks: [demo-iso]\n")
    instance.write(
        "docs/environments.md",
        "---\ntags:\n  - OLD X.1 Review\n  - OLD X.2 Other\n---\n# Environments\n",
    )
    code, found = statuses(instance)
    a2 = found["demo-iso:A.2"]
    assert a2["status"] == "documented"
    assert "environments.md (via crosswalk from old-iso:X.1)" in a2["reason"]
    # intersects relates the two controls but documents nothing: A.3 stays a gap
    assert found["demo-iso:A.3"]["status"] == "unmapped"
    assert code == 1
    proc = run_evidoc("build", "--root", instance.root, timeout=120)
    assert proc.returncode == 0, proc.stderr
    page = next((instance.root / "site").rglob("demo-iso/index.html")).read_text("utf-8")
    assert "(via crosswalk from old-iso&#58;X.1)" in page  # the colon is escaped as text
    # The chips follow the crosswalk the same way: X.1 leads to A.2 (equivalent) and keeps its
    # own text; X.2 only intersects A.3, so it stays a tag of the site's own (no chip).
    tagged = (instance.root / "site/environments/index.html").read_text("utf-8")
    chips = re.findall(r'<a class="md-tag evidoc-chip[^"]*" href="([^"]*)"[^>]*>([^<]*)<', tagged)
    assert chips == [("../compliance/frameworks/demo-iso/#ctl-a-2", "OLD X.1 Review ")]
    assert 'title="old-iso&#58;X.1, equivalent to demo-iso&#58;A.2&#58; documented"' in tagged
