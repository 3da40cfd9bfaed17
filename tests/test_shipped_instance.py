"""The instance shipped in this repository passes its own gate; examples/partial does not."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import REPO, run_evidoc

IN_SCOPE = [
    "iso27001-2022",
    "bsi-app-4-4",
    "nis2-21-2",
    "nis2-20-23",
    "hipaa-security",
    "msbfs-2020-7",
    "hslf-fs-2016-40",
]


# Exclusions and attestations expire; the gate is judged on a fixed day so the test stays true.
AS_OF = "2026-11-22"


def check_json(root: Path) -> tuple[int, dict]:
    proc = run_evidoc("check", "--root", root, "--format", "json", "--as-of", AS_OF)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_the_shipped_instance_passes_the_gate() -> None:
    code, doc = check_json(REPO)
    assert code == 0, [f"{f['kind']}: {f['message']}" for f in doc["findings"]]
    assert doc["ok"] is True
    assert [f for f in doc["findings"] if f["severity"] == "error"] == []
    # Shipped pages name controls, never whole groups, so not even a warning is expected.
    assert doc["findings"] == []
    assert [fw["id"] for fw in doc["frameworks"]] == IN_SCOPE
    for fw in doc["frameworks"]:
        assert fw["totals"]["unmapped"] == 0, fw["id"]
        unmapped = [c["control"] for c in fw["controls"] if c["status"] == "unmapped"]
        assert unmapped == [], fw["id"]


def test_the_shipped_instance_uses_every_status_it_can_without_evidence() -> None:
    _, doc = check_json(REPO)
    statuses = {c["status"] for fw in doc["frameworks"] for c in fw["controls"]}
    # Mapped by practices and pages, and excluded with a justification. Whether the practices with
    # checks show as verified or no-evidence depends on the snapshot that is present.
    assert {"documented", "excluded"} <= statuses
    assert "unmapped" not in statuses


def test_the_partial_example_fails_with_its_gaps() -> None:
    code, doc = check_json(REPO / "examples" / "partial")
    assert code == 1
    found = {(f["kind"], f["control"]) for f in doc["findings"]}
    assert found == {
        ("unmapped-control", "bsi-app-4-4:APP.4.4.A13"),
        ("unmapped-control", "bsi-app-4-4:APP.4.4.A17"),
        ("unmapped-control", "nis2-21-2:21(2)(f)"),
        ("unmapped-control", "nis2-21-2:21(2)(g)"),
        ("expired-exclusion", "bsi-app-4-4:APP.4.4.A17"),
        ("unknown-tag", None),
    }
    (tag,) = [f for f in doc["findings"] if f["kind"] == "unknown-tag"]
    assert (tag["file"], tag["line"]) == ("docs/environments.md", 7)
    totals = {fw["id"]: fw["totals"]["unmapped"] for fw in doc["frameworks"]}
    assert totals == {"bsi-app-4-4": 2, "nis2-21-2": 2}


def test_the_partial_example_in_the_readme_is_current() -> None:
    proc = run_evidoc("check", "--root", "examples/partial", "--as-of", AS_OF, cwd=REPO)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "## A failing gate: examples/partial" in readme
    for line in proc.stdout.splitlines():
        assert line.rstrip() in readme, f"README.md lacks this line of the real output: {line!r}"


def test_altered_evidence_never_passes(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "inst"
    for part in ("controls", "docs", "evidence"):
        shutil.copytree(REPO / part, root / part)
    (snapshot,) = (root / "evidence/snapshots").iterdir()
    _, doc = check_json(root)
    before = {c["control"]: c["status"] for fw in doc["frameworks"] for c in fw["controls"]}
    assert before["iso27001-2022:5.34"] == "failing"  # the planted production key in staging
    # Hide the planted key by editing its digest after collection.
    item = snapshot / "items/kubernetes/nonprod/nonprod-wc/configmaps.json"
    text = item.read_text()
    assert '"PAYMENT_API_KEY":{"hmac":"a' in text
    item.write_text(text.replace('"PAYMENT_API_KEY":{"hmac":"a', '"PAYMENT_API_KEY":{"hmac":"b'))
    # The whole snapshot is refused, by the gate as by every other command.
    proc = run_evidoc("check", "--root", root, "--format", "json", "--as-of", AS_OF)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "evidence snapshot refused" in proc.stderr
    assert "configmaps.json: SHA-256 does not match the manifest (tampered)" in proc.stderr


def test_builds_judge_freshness_after_the_snapshot_was_taken(monkeypatch) -> None:
    from generator.pipeline import run_report

    _, fresh = run_report(REPO)
    assert fresh.totals()["failing"] > 0  # the planted problems
    # Reproducible builds take their time from SOURCE_DATE_EPOCH: in 2030 the demo evidence
    # (fresh for 400 days from 2026-11-22) is stale and its exclusions have expired.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1893456000")  # 2030-01-01
    _, later = run_report(REPO)
    totals = later.totals()
    assert totals["verified"] == 0 and totals["failing"] == 0
    # Every control with proof now rests on stale evidence: none passes, none is documented.
    proven = [c for fw in later.frameworks for c in fw.controls if c.results]
    assert proven and all(c.status.value in ("no-evidence", "excluded") for c in proven)
    assert later.as_of.isoformat() == "2030-01-01"


def test_missing_git_evidence_is_not_collected_rather_than_failing(tmp_path: Path) -> None:
    import shutil

    from generator.loader import load_library
    from generator.pipeline import evaluate, find_snapshot
    from generator.snapshot.manifest import MANIFEST, Manifest

    root = tmp_path / "inst"
    for part in ("controls", "docs", "evidence"):
        shutil.copytree(REPO / part, root / part)
    (snapshot,) = (root / "evidence/snapshots").iterdir()
    manifest = Manifest.model_validate_json((snapshot / MANIFEST).read_bytes())
    kept = [i for i in manifest.items if not i.id.startswith("git/")]
    assert len(kept) < len(manifest.items)
    shutil.rmtree(snapshot / "items/git")
    resealed = manifest.model_copy(update={"items": kept}).sealed()
    (snapshot / MANIFEST).write_bytes(resealed.to_bytes())
    snap = find_snapshot(root, None)
    results = evaluate(load_library(root), snap, snap.created_at).results
    gitops = [r for r in results if r.check == "git.gitops-source-protected"]
    assert gitops and {r.status.value for r in gitops} == {"not-collected"}
    assert "git/shop-gitops/branch" in gitops[0].reason


def test_badges_the_checks_do_not_earn_are_not_verified() -> None:
    """What an auditor found verified without proof on the shipped pack."""
    _, doc = check_json(REPO)
    status = {c["control"]: c["status"] for fw in doc["frameworks"] for c in fw["controls"]}
    for ref in (
        "nis2-21-2:21(2)(j)",  # multi-factor authentication: no check looks at it
        "hipaa-security:164.308(a)(3)(ii)(B)",  # workforce clearance
        "hipaa-security:164.308(a)(3)(ii)(C)",  # termination procedures
        "iso27001-2022:8.15",  # logging
        "hslf-fs-2016-40:4 kap. 9 §",  # record-access logs kept for years
    ):
        assert status[ref] != "verified", ref
    # The production payment key in a staging ConfigMap breaks the separation of environments.
    assert status["iso27001-2022:8.31"] == "failing"


def test_the_gate_names_the_offending_commit_and_configmap_key() -> None:
    proc = run_evidoc(
        "check", "--root", REPO, "--require", "verified", "--format", "json", "--as-of", AS_OF
    )
    assert proc.returncode == 1, proc.stderr
    causes = [f for f in json.loads(proc.stdout)["findings"] if f["kind"] == "failing-check"]
    key = [
        f for f in causes if f["subject"] == "shop-staging/ConfigMap/shop-config[PAYMENT_API_KEY]"
    ]
    assert key, [f["subject"] for f in causes]
    by_practice = {f["practice"]: f for f in key}
    data = by_practice["production-data-protection"]
    assert data["file"] == "controls/practices/production-data-protection.yaml" and data["line"]
    assert data["check"] == "kubernetes.no-production-data"
    assert "kubernetes/nonprod/nonprod-wc/configmaps" in data["evidence"]
    assert "iso27001-2022:8.31" in by_practice["environment-separation"]["controls"]
    (push,) = [f for f in causes if f["subject"] == "shop-gitops@717d24f60078"]
    assert push["practice"] == "change-management"
    assert push["reason"].startswith("no approval evidence")
    assert push["controls"] and all(":" in c for c in push["controls"])

    text = run_evidoc("check", "--root", REPO, "--require", "verified", "--as-of", AS_OF).stdout
    # One block per root cause, with the controls it affects, not one line per control.
    assert text.count("subject:  shop-gitops@717d24f60078") == 1, text
    assert f"affects {len(push['controls'])} control(s)" in text
    assert "[failing-control]" not in text
