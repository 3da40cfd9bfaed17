"""`evidoc check`: exit codes, finding kinds and every output format, on real processes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from tests.conftest import Instance, run_evidoc


def check_json(inst: Instance, *extra: str) -> tuple[int, dict]:
    proc = run_evidoc("check", "--root", inst.root, "--format", "json", *extra)
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def kinds(doc: dict) -> set[str]:
    return {f["kind"] for f in doc["findings"]}


def test_a_fully_mapped_instance_passes(instance: Instance) -> None:
    code, doc = check_json(instance)
    assert code == 0, doc["findings"]
    statuses = {c["control"]: c["status"] for c in doc["frameworks"][0]["controls"]}
    assert statuses == {
        "demo-iso:A.1": "documented",  # practice without checks
        "demo-iso:A.2": "documented",  # docs tag
        "demo-iso:A.3": "excluded",
    }
    assert doc["frameworks"][0]["totals"]["documented"] == 2


def test_unmapped_control_fails_with_location(instance: Instance) -> None:
    instance.write("controls/scope.yaml", "frameworks: [demo-iso]\n")  # drop the exclusion of A.3
    code, doc = check_json(instance)
    assert code == 1
    (finding,) = [f for f in doc["findings"] if f["kind"] == "unmapped-control"]
    assert finding["control"] == "demo-iso:A.3"
    assert finding["file"] == "controls/frameworks/demo-iso.yaml"
    assert finding["line"] == 15  # the "- id: A.3" line of the catalog


def test_dangling_references_are_findings(instance: Instance) -> None:
    instance.write(
        "controls/practices/extra.yaml",
        """\
        id: extra
        title: Extra
        owner: Me
        statement: Something.
        satisfies:
          - control: demo-iso:Z.9
          - control: nist:3.1.1
          - control: demo-iso:A
        docs: [missing.md]
        """,
    )
    code, doc = check_json(instance)
    assert code == 1
    found = {(f["kind"], f["control"], f["line"]) for f in doc["findings"]}
    assert ("unknown-control", "demo-iso:Z.9", 6) in found
    assert ("unknown-framework", "nist:3.1.1", 7) in found
    assert ("unknown-control", "demo-iso:A", 8) in found  # a group is not a control
    assert "unknown-page" in kinds(doc)


def test_tags_unknown_tag_and_unknown_control(instance: Instance) -> None:
    instance.write(
        "docs/other.md",
        "---\ntags:\n  - DEMO A.9 Nothing\n  - Something else\n"
        "  - >-\n    DEMO A.1\n    folded\n---\n",
    )
    code, doc = check_json(instance)
    assert code == 1
    found = [(f["kind"], f["line"], f["control"]) for f in doc["findings"]]
    assert found == [
        ("unknown-control", 3, "demo-iso:A.9"),
        ("unknown-tag", 4, None),
    ]  # the folded tag on line 5 resolves to A.1
    # A tag no grammar reads is the site's own: reported, never failing the gate.
    (own,) = [f for f in doc["findings"] if f["kind"] == "unknown-tag"]
    assert own["severity"] == "warning" and "kept as the site's own tag" in own["message"]


def test_group_tag_is_a_warning_not_a_failure(instance: Instance) -> None:
    fw = (instance.root / "controls/frameworks/demo-iso.yaml").read_text()
    fw = fw.replace("(?P<id>[A-Z]\\.\\d+(?:\\.\\d+)?)", "(?P<id>[A-Z](?:\\.\\d+)*)")
    instance.write("controls/frameworks/demo-iso.yaml", fw)
    instance.write("docs/clause.md", "---\ntags: [DEMO A Separation]\n---\n")
    code, doc = check_json(instance)
    assert code == 0
    (finding,) = [f for f in doc["findings"] if f["kind"] == "group-tag"]
    assert finding["severity"] == "warning" and finding["control"] == "demo-iso:A"


def test_expired_exclusion_no_longer_excludes(instance: Instance) -> None:
    instance.write(
        "controls/scope.yaml",
        """\
        frameworks: [demo-iso, nowhere]
        exclusions:
          - control: demo-iso:A.3
            justification: Guarded by the operator.
            approved_by: CISO
            expires: 2020-01-31
        """,
    )
    code, doc = check_json(instance)
    assert code == 1
    assert {"expired-exclusion", "unmapped-control", "unknown-framework"} <= kinds(doc)
    expired = next(f for f in doc["findings"] if f["kind"] == "expired-exclusion")
    assert (expired["file"], expired["line"]) == ("controls/scope.yaml", 6)


def test_duplicate_ids(instance: Instance) -> None:
    fw = (instance.root / "controls/frameworks/demo-iso.yaml").read_text()
    instance.write(
        "controls/frameworks/demo-iso.yaml",
        fw + '      - id: "A.2"\n        title: Again\n',
    )
    instance.write(
        "controls/practices/copy.yaml",
        (instance.root / "controls/practices/environment-separation.yaml").read_text(),
    )
    code, doc = check_json(instance)
    assert code == 1
    dups = [f for f in doc["findings"] if f["kind"] == "duplicate-id"]
    assert {d["file"] for d in dups} == {
        "controls/frameworks/demo-iso.yaml",
        "controls/practices/environment-separation.yaml",
    }


def test_docs_option_reads_another_tree(instance: Instance, tmp_path) -> None:
    other = tmp_path / "elsewhere"
    (other / "sub").mkdir(parents=True)
    (other / "sub" / "page.md").write_text("---\ntags: [Unknown thing]\n---\n")
    code, doc = check_json(instance, "--docs", str(other))
    assert code == 1
    tags = [f for f in doc["findings"] if f["kind"] == "unknown-tag"]
    assert tags and tags[0]["file"].endswith("sub/page.md")
    # the practice's page now lives nowhere, and A.2 loses its only mapping
    assert {"unknown-page", "unmapped-control"} <= kinds(doc)


def test_text_format_is_a_table_and_a_verdict(instance: Instance) -> None:
    instance.write("controls/scope.yaml", "frameworks: [demo-iso]\n")
    proc = run_evidoc("check", "--root", instance.root)
    assert proc.returncode == 1
    assert "demo-iso" in proc.stdout and "unmapped" in proc.stdout
    assert "controls/frameworks/demo-iso.yaml:15: error: [unmapped-control]" in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1].startswith("FAIL: 1 error(s)")


def test_junit_lists_one_case_per_control(instance: Instance) -> None:
    instance.write("controls/scope.yaml", "frameworks: [demo-iso]\n")
    proc = run_evidoc("check", "--root", instance.root, "--format", "junit")
    assert proc.returncode == 1
    tree = ET.fromstring(proc.stdout)
    suite = tree.find("testsuite[@name='demo-iso']")
    cases = suite.findall("testcase")
    assert [c.get("name").split()[0] for c in cases] == ["A.1", "A.2", "A.3"]
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == ["A.3 Guard the premises"]
    assert suite.get("failures") == "1" and suite.get("tests") == "3"


def test_sarif_locates_results(instance: Instance, tmp_path) -> None:
    instance.write("docs/bad.md", "---\ntags:\n  - DEMO A.9 Not a control\n---\n")
    out = tmp_path / "out.sarif"
    proc = run_evidoc("check", "--root", instance.root, "--format", "sarif", "--output", out)
    assert proc.returncode == 1 and proc.stdout == ""
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    (res,) = sarif["runs"][0]["results"]
    loc = res["locations"][0]["physicalLocation"]
    assert res["ruleId"] == "unknown-control" and res["level"] == "error"
    assert loc["artifactLocation"]["uri"] == "docs/bad.md"
    assert loc["region"]["startLine"] == 3
    rule_ids = [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
    assert rule_ids[res["ruleIndex"]] == "unknown-control"


def test_github_annotations(instance: Instance) -> None:
    instance.write("docs/bad.md", "---\ntags:\n  - 'DEMO A.9, not: a control'\n---\n")
    proc = run_evidoc("check", "--root", instance.root, "--format", "github")
    assert proc.returncode == 1
    first = proc.stdout.splitlines()[0]
    assert first.startswith("::error file=docs/bad.md,line=3,col=5,title=evidoc unknown-control::")
    assert "'DEMO A.9, not: a control'" in first  # message text is not property-escaped
    assert proc.stdout.splitlines()[-1].startswith("::notice title=evidoc::")


def test_require_verified_is_accepted(instance: Instance) -> None:
    code, doc = check_json(instance, "--require", "verified")
    assert code == 0 and doc["require"] == "verified"


def test_usage_errors_exit_2(instance: Instance) -> None:
    proc = run_evidoc("check", "--root", instance.root, "--format", "yaml")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = run_evidoc("check", "--no-such-flag")
    assert proc.returncode == 2
    proc = run_evidoc("check", "--root", instance.root / "nowhere")
    assert proc.returncode == 2 and "controls/" in proc.stderr
    proc = run_evidoc("check", "--root", instance.root, "--docs", instance.root / "nodocs")
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_a_misspelt_control_tag_fails_and_a_topic_tag_does_not(instance: Instance) -> None:
    """'DEMO A9' starts as the catalog's tags do and holds a digit: a misspelt control tag,
    an error. 'networking' and 'Runbook 2024' are the site's own tags: warnings."""
    instance.write(
        "docs/ops.md",
        "---\ntags:\n  - DEMO A9 Separate environments\n  - networking\n  - Runbook 2024\n---\n",
    )
    code, doc = check_json(instance)
    assert code == 1
    found = {(f["kind"], f["line"], f["severity"]) for f in doc["findings"]}
    assert ("malformed-tag", 3, "error") in found
    assert ("unknown-tag", 4, "warning") in found and ("unknown-tag", 5, "warning") in found
    (bad,) = [f for f in doc["findings"] if f["kind"] == "malformed-tag"]
    assert "starts as a control tag of Demo catalog does" in bad["message"]
