"""The findings register (`check --format json`, the site page, the pack) and attestation
documents, on real processes over a copy of the shipped instance with a snapshot history."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from generator.snapshot.manifest import MANIFEST, Manifest
from generator.snapshot.store import SnapshotWriter
from tests.conftest import REPO, Instance, run_evidoc

SHIPPED = REPO / "evidence" / "snapshots" / "20261122T080000Z"
KEY = "shop-staging/ConfigMap/shop-config[PAYMENT_API_KEY]"
CONFIGMAP_ROW = f"environment-separation/kubernetes.no-production-data@{KEY}"
COMMIT_ROW = "change-management/git.reviewed-changes@shop-gitops@717d24f60078"
BRANCH_ROW = "change-management/git.branch-protection@shop-gitops"
UNPLANNED_ROW = "change-management/git.gitops-source-protected@prod/prod-wc/argocd/shop-production"


def copy_snapshot(out: Path, at: dt.datetime, *, without_key: bool = False) -> str:
    """The shipped snapshot's evidence, collected again at AT; optionally without the planted key
    in the staging ConfigMap."""
    manifest = Manifest.model_validate_json((SHIPPED / MANIFEST).read_bytes())
    writer = SnapshotWriter(out, at, demo=True, note="Test history.")
    for item in manifest.items:
        data = json.loads((SHIPPED / item.path).read_bytes())
        if without_key and item.id == "kubernetes/nonprod/nonprod-wc/configmaps":
            for cm in data["items"]:
                cm["keys"].pop("PAYMENT_API_KEY", None)
        writer.add(
            item.id,
            data,
            collector=item.collector,
            query=item.query,
            collected_at=at,
            ttl=item.ttl,
            environment=item.environment,
            context=item.context,
            source=item.source,
            status=item.status,
            detail=item.detail,
        )
    return writer.commit(None).name


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped instance with two older snapshots: 2026-10-01 without the planted key,
    2026-11-01 with it."""
    root = tmp_path_factory.mktemp("register") / "inst"
    for part in ("controls", "docs", "evidence"):
        shutil.copytree(REPO / part, root / part)
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    snaps = root / "evidence" / "snapshots"
    copy_snapshot(snaps, dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC), without_key=True)
    copy_snapshot(snaps, dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC))
    return root


def register(root: Path, *extra: str) -> tuple[int, dict[str, dict]]:
    proc = run_evidoc("check", "--root", root, "--format", "json", *extra)
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)
    return proc.returncode, {row["id"]: row for row in doc["register"]}


def test_register_rows_carry_owner_first_seen_and_plan(shipped: Path) -> None:
    code, rows = register(shipped, "--as-of", "2026-12-10")
    assert code == 0  # the register never fails the default gate
    row = rows[CONFIGMAP_ROW]
    assert row["owner"] == "Platform team"  # the practice's owner
    assert row["kind"] == "failing-check" and row["status"] == "fail"
    assert "iso27001-2022:8.31" in row["controls"]
    assert row["file"] == "controls/practices/environment-separation.yaml" and row["line"]
    # Not failing in the oldest snapshot (no key there): first seen in the middle one.
    assert row["first_seen"] == {
        "snapshot": "20261101T080000Z",
        "collected_at": "2026-11-01T08:00:00Z",
    }
    plan = row["plan"]
    assert plan["remediation"] == "payment-api-key-in-staging"
    assert plan["due"] == "2026-12-04" and plan["owner"] == "Platform team"
    assert plan["incident"]["rotate"]
    assert row["state"] == "overdue" and row["overdue"] is True and row["unplanned"] is False
    # The other practice that runs the same check reports the same key: its own row and owner.
    other = rows[f"production-data-protection/kubernetes.no-production-data@{KEY}"]
    assert other["owner"] == "Data Protection Officer" and other["state"] == "overdue"

    commit = rows[COMMIT_ROW]
    assert commit["first_seen"]["snapshot"] == "20261001T080000Z"  # failing all along
    assert commit["state"] == "planned" and not commit["overdue"]
    assert commit["plan"]["due"] == "2026-12-18"

    assert rows[BRANCH_ROW]["state"] == "accepted"
    assert rows[BRANCH_ROW]["plan"]["acceptance"]["approved_by"] == "CISO"


def test_a_row_without_a_remediation_is_unplanned_and_listed_first(shipped: Path) -> None:
    proc = run_evidoc("check", "--root", shipped, "--format", "json", "--as-of", "2026-11-30")
    order = [row["id"] for row in json.loads(proc.stdout)["register"]]
    row = {r["id"]: r for r in json.loads(proc.stdout)["register"]}[UNPLANNED_ROW]
    assert row["plan"] is None and row["state"] == "unplanned" and row["unplanned"] is True
    assert row["kind"] == "missing-evidence" and row["owner"] == "Head of Platform"
    assert order[0] == UNPLANNED_ROW
    assert len(order) == len(set(order))
    # Before its due date the incident is planned, not overdue.
    assert {r["id"]: r for r in json.loads(proc.stdout)["register"]}[CONFIGMAP_ROW]["state"] == (
        "planned"
    )


def test_an_expired_risk_acceptance_counts_as_unplanned(shipped: Path, tmp_path: Path) -> None:
    root = tmp_path / "inst"
    shutil.copytree(shipped, root)
    path = root / "controls" / "remediations" / "branch-protection-evidence.yaml"
    path.write_text(path.read_text().replace("expires: 2027-02-28", "expires: 2026-12-01"))
    _, rows = register(root, "--as-of", "2026-12-10")
    row = rows[BRANCH_ROW]
    assert row["state"] == "unplanned" and row["unplanned"] is True
    assert row["plan"]["acceptance_expired"] is True
    # The day it expires it still holds.
    _, rows = register(root, "--as-of", "2026-12-01")
    assert rows[BRANCH_ROW]["state"] == "accepted"


def test_a_bad_remediation_is_an_input_error_with_its_line(shipped: Path, tmp_path: Path) -> None:
    root = tmp_path / "inst"
    shutil.copytree(shipped, root)
    (root / "controls" / "remediations" / "bad.yaml").write_text(
        "id: bad\ncovers:\n  - check: git.reviewed-changes\n    when: soon\naction: Fix it.\n"
    )
    proc = run_evidoc("check", "--root", root)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "controls/remediations/bad.yaml:4" in proc.stderr and "when" in proc.stderr
    (root / "controls" / "remediations" / "bad.yaml").write_text(
        "id: bad\ncovers:\n  - check: git.reviewed-changes\naction: Fix it.\n"
    )
    proc = run_evidoc("check", "--root", root)
    assert proc.returncode == 2 and "due" in proc.stderr


def test_a_remediation_naming_an_unknown_practice_is_a_finding(
    shipped: Path, tmp_path: Path
) -> None:
    root = tmp_path / "inst"
    shutil.copytree(shipped, root)
    (root / "controls" / "remediations" / "typo.yaml").write_text(
        "id: typo\ncovers:\n  - practice: change-managment\n    check: git.reviewed-changes\n"
        "action: Fix it.\ndue: 2027-01-01\n"
    )
    proc = run_evidoc("check", "--root", root, "--format", "json")
    assert proc.returncode == 1
    (finding,) = [f for f in json.loads(proc.stdout)["findings"] if f["kind"] == "unknown-practice"]
    assert finding["file"] == "controls/remediations/typo.yaml" and finding["line"] == 3


def test_the_site_has_a_register_page_linked_from_the_dashboard(
    shipped: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    proc = run_evidoc("build", "--root", shipped, "--site-dir", site, timeout=300)
    assert proc.returncode == 0, proc.stderr
    page = html.unescape((site / "compliance" / "register" / "index.html").read_text("utf-8"))
    assert "Findings register" in page
    for text in ("git.gitops-source-protected", "shop-gitops@717d24f60078", "PAYMENT_API_KEY"):
        assert text in page
    assert "evidoc-plan--unplanned" in page and "Head of Platform" in page
    assert "payment-api-key-in-staging" in page and "20261101T080000Z" in page
    dashboard = (site / "compliance" / "index.html").read_text(encoding="utf-8")
    assert 'href="register/"' in dashboard


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_the_pack_prints_the_register_after_the_summary(shipped: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "pack.pdf"
    proc = run_evidoc("pdf", "--root", shipped, "--output", pdf, timeout=300)
    assert proc.returncode == 0, proc.stderr
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    text = " ".join(text.split())
    summary = text.index("What the statuses mean")
    register_at = text.index("One row per proving check result", summary)
    assert register_at > summary
    body = text[register_at:]
    assert "unplanned" in body and "No remediation plan" in body
    assert "Remediation payment-api-key-in-staging" in body
    assert "rotate the production payment API key" in body
    assert "first seen: snapshot 20261101T080000Z" in body


ATTESTATION = """\
id: policy
statement: The board approved the information security policy.
attested_by: Chair of the Board
date: 2026-09-15
controls: [demo-iso:A.1]
document:
  id: ISP-001
  version: "4"
  approved_by: Board
  review_date: 2026-09-15
  file: policies/isp.txt
  sha256: {sha}
"""


def test_an_attestation_document_whose_hash_differs_is_an_error_at_its_line(
    instance: Instance,
) -> None:
    content = b"Information security policy, version 4.\n"
    instance.write("policies/isp.txt", content)
    good = hashlib.sha256(content).hexdigest()
    instance.write("controls/attestations/policy.yaml", ATTESTATION.format(sha=good))
    proc = run_evidoc("check", "--root", instance.root, "--format", "json")
    assert proc.returncode == 0, proc.stdout

    instance.write("policies/isp.txt", b"Information security policy, version 5.\n")
    proc = run_evidoc("check", "--root", instance.root, "--format", "json")
    assert proc.returncode == 1
    (finding,) = [f for f in json.loads(proc.stdout)["findings"] if f["severity"] == "error"]
    assert finding["kind"] == "altered-document"
    assert finding["file"] == "controls/attestations/policy.yaml"
    assert finding["line"] == 12  # the sha256: line
    assert good in finding["message"]

    (instance.root / "policies" / "isp.txt").unlink()
    proc = run_evidoc("check", "--root", instance.root, "--format", "json")
    (finding,) = [f for f in json.loads(proc.stdout)["findings"] if f["severity"] == "error"]
    assert finding["kind"] == "missing-document" and finding["line"] == 11


def test_an_attestation_document_is_shown_on_the_site(instance: Instance) -> None:
    from generator.site.assemble import assemble

    content = b"policy\n"
    instance.write("policies/isp.txt", content)
    sha = hashlib.sha256(content).hexdigest()
    instance.write("controls/attestations/policy.yaml", ATTESTATION.format(sha=sha))
    asm = assemble(instance.root)
    page = asm.files["compliance/frameworks/demo-iso.md"].decode("utf-8")
    assert "document ISP-001 version 4, approved by Board" in page
    assert f"sha256&#58;{sha} (matches the declared hash)" in page
