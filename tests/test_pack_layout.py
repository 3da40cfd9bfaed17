"""What an auditor reads in the pack: each check result printed once, HIPAA ids in the
regulation's order, a tagged PDF, the SoA's approval and reasons for inclusion, and the evidence
of every snapshot in the audit period. Real `evidoc pdf` runs over copies of the shipped
instance, read back with pdftotext and pypdf."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from pypdf import PdfReader

from generator.pdf.model import PackDocument, build_document
from generator.pipeline import run_report
from tests.conftest import REPO, Instance, run_evidoc
from tests.test_register import copy_snapshot


def pdf_text(pdf: Path, *, layout: bool = False, page: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"]
    if layout:
        args.append("-layout")
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run([*args, str(pdf), "-"], capture_output=True, check=True).stdout.decode()


def copy_instance(root: Path) -> Path:
    for part in ("controls", "docs", "evidence"):
        shutil.copytree(REPO / part, root / part)
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    return root


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The shipped instance with older snapshots: one before the audit period, one in it
    without the planted production key (the check passed then), one in it with the key."""
    root = copy_instance(tmp_path_factory.mktemp("layout") / "inst")
    snaps = root / "evidence" / "snapshots"
    copy_snapshot(snaps, dt.datetime(2025, 12, 1, 8, tzinfo=dt.UTC), without_key=True)
    copy_snapshot(snaps, dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC), without_key=True)
    copy_snapshot(snaps, dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC))
    pdf = root / "pack.pdf"
    proc = run_evidoc("pdf", "--root", root, "--output", pdf, "--tagged", timeout=300)
    assert proc.returncode == 0, proc.stderr
    return root, pdf


def test_each_check_result_is_printed_once_and_controls_refer_to_it(
    history: tuple[Path, Path],
) -> None:
    _, pdf = history
    text = pdf_text(pdf)
    flat = " ".join(text.split())
    start = flat.index("Every result of every check, once.")
    chapter = flat[start : flat.index("Environments and isolation", start)]
    refs = re.findall(r"\bR(\d+) · (?:pass|fail|error|stale|not-collected) · ", chapter)
    assert refs and len(refs) == len(set(refs)), "a result printed twice"
    assert [int(n) for n in refs] == list(range(1, len(refs) + 1))
    # An evidence line appears once per result that read it, not once per control.
    readers = chapter.count("kubernetes/prod/prod-wc/roles")
    assert 0 < readers == flat.count("fc8285a5b6465e9b kubernetes/prod/prod-wc/roles")
    # 8.32's entry names its results instead of repeating their evidence.
    entry = flat[flat.index("failing 8.32 Change management") :][:3000]
    assert re.search(r"\[R\d+(, R\d+)*\]", entry)
    assert "a5bdeb87c550fc65" not in entry[: entry.index("8.33")]


def test_statuses_lead_with_a_plain_statement(history: tuple[Path, Path]) -> None:
    flat = " ".join(pdf_text(history[1]).split())
    assert "Status: Not met: a check that proves this control fails (2 failing results)." in flat
    assert "result(s) fail" not in flat


def test_a_service_account_in_each_cluster_is_named_with_its_cluster(
    history: tuple[Path, Path],
) -> None:
    flat = " ".join(pdf_text(history[1]).split())
    said = flat[flat.index("no identity can write in both production") :][:900]
    assert "argocd-application-controller (cluster prod-wc)" in said
    assert "(cluster nonprod-wc)" in said
    assert "as different identities" in said


def test_hipaa_standards_follow_the_regulation_order(history: tuple[Path, Path]) -> None:
    flat = " ".join(pdf_text(history[1]).split())
    controls = flat.index(
        "Controls and evidence Each control", flat.index("hipaa-security · version")
    )
    body = flat[controls:]
    assert body.index("164.308(a)(1)(ii)(A) Risk analysis") < body.index(
        "164.308(a)(2) Assigned security responsibility"
    )
    assert body.index("164.308(a)(2) Assigned") < body.index("164.308(a)(3)(ii)(A)")


def test_a_tagged_pack_has_a_structure_tree(history: tuple[Path, Path]) -> None:
    """`evidoc pdf --tagged` (the fixture's pack) writes PDF/A-3a with headings, paragraphs,
    tables and links in a structure tree, and the document's language."""
    reader = PdfReader(history[1])
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "en"
    kinds: Counter[str] = Counter()
    todo = [root["/StructTreeRoot"].get_object()]
    while todo:
        node = todo.pop()
        if not isinstance(node, dict):
            continue
        if "/S" in node:
            kinds[str(node["/S"])] += 1
        kids = node.get("/K")
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            todo.append(kid.get_object() if hasattr(kid, "get_object") else kid)
    for kind in ("/H1", "/H2", "/P", "/Table", "/TH", "/TD", "/Link"):
        assert kinds[kind] > 0, kind


def test_the_running_header_names_the_section_the_page_starts_in(
    history: tuple[Path, Path],
) -> None:
    _, pdf = history
    pages = len(PdfReader(pdf).pages)
    for n in range(1, pages + 1):
        page = pdf_text(pdf, layout=True, page=n)
        lines = [line for line in page.splitlines() if line.strip()]
        if "Controls and evidence" in lines[2] and "Statement of applicability" not in lines[1]:
            # The section begins on this page, below rows of the SoA: the header still says SoA.
            if not lines[2].startswith("Controls and evidence"):
                continue
            if any("yes ·" in line or "no ·" in line for line in lines[3:6]):
                pytest.fail(f"page {n}: header says 'Controls and evidence' above SoA rows")
    # And a page that begins inside the SoA says so.
    text = pdf_text(pdf, layout=True)
    assert re.search(r"ISO/IEC 27001:2022 Annex A +Statement of applicability", text)


def test_the_soa_states_its_approval_and_why_controls_are_included(
    history: tuple[Path, Path],
) -> None:
    flat = " ".join(pdf_text(history[1]).split())
    assert (
        "Statement of Applicability version 3, approved by CISO, Example Health AB, on behalf of "
        "the management team on 2026-10-06" in flat
    )
    assert "Why ISO/IEC 27001:2022 Annex A applies: The certified ISMS" in flat
    assert "Included: Risk RR-2026-03 (an unreviewed change reaches production)" in flat


def test_the_pack_shows_the_evidence_of_every_snapshot_in_the_period(
    history: tuple[Path, Path],
) -> None:
    flat = " ".join(pdf_text(history[1]).split())
    cov = flat[flat.index("snapshots in the audit period") - 2 :]
    # 2025-12-01 is before the period: three snapshots count, not four.
    assert cov.startswith(
        "3 snapshots in the audit period 2026-01-01 – 2026-12-31, the first 2026-03-01, the "
        "last 2026-11-22."
    )
    assert "Largest gap without evidence: 184 days (2026-03-01 to 2026-09-01" in cov
    # The planted key appeared between March and September: the result changed, and when.
    changed = cov[cov.index("Changed in the period") :]
    row = changed[changed.index("shop-config[PAYMENT_API_KEY]") :][:120]
    assert "not reported → fail in 20260901T080000Z 0 of 2" in row
    assert "kept one status in every snapshot" in cov
    assert "shop-gitops: commits from 2025-11-22 to 2026-11-22; starts before the period" in cov


def test_a_single_snapshot_is_shown_as_one_day(tmp_path: Path) -> None:
    root = copy_instance(tmp_path / "inst")
    pdf = tmp_path / "pack.pdf"
    proc = run_evidoc("pdf", "--root", root, "--output", pdf, timeout=300)
    assert proc.returncode == 0, proc.stderr
    flat = " ".join(pdf_text(pdf).split())
    assert (
        "One snapshot in the audit period 2026-01-01 – 2026-12-31, taken 2026-11-22: the evidence "
        "shows that single point in time, not the rest of the period." in flat
    )
    assert "no check result is known to have held over it" in flat


# --- scope.yaml: the SoA's record, reasons and the audit period ---------------------------------


def check_json(inst: Instance) -> tuple[int, dict]:
    import json

    proc = run_evidoc("check", "--root", inst.root, "--format", "json")
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}


def findings(doc: dict, kind: str) -> list[dict]:
    return [f for f in doc.get("findings", []) if f["kind"] == kind]


def test_an_unapproved_soa_is_a_warning_at_the_scope(instance: Instance) -> None:
    # Only a catalog that asks for a Statement of Applicability (ISO/IEC 27001) makes it one.
    code, doc = check_json(instance)
    assert not findings(doc, "unapproved-soa")
    catalog = instance.root / "controls/frameworks/demo-iso.yaml"
    catalog.write_text(catalog.read_text() + "soa_required: true\n")
    code, doc = check_json(instance)
    [found] = findings(doc, "unapproved-soa")
    assert found["severity"] == "warning" and found["file"].endswith("scope.yaml")
    assert "statement_of_applicability" in found["message"]
    assert code == 0


def test_a_soa_past_its_review_date_is_a_warning(instance: Instance) -> None:
    instance.write(
        "controls/scope.yaml",
        """\
        frameworks: [demo-iso]
        statement_of_applicability:
          version: "2"
          approved_by: CISO
          approved_on: 2024-01-10
          next_review: 2025-01-10
        """,
    )
    _, doc = check_json(instance)
    [found] = findings(doc, "unapproved-soa")
    assert "due for review on 2025-01-10" in found["message"] and found["line"] == 6


def test_reasons_for_an_unknown_framework_or_an_excluded_control_are_errors(
    instance: Instance,
) -> None:
    instance.write(
        "controls/scope.yaml",
        """\
        frameworks: [demo-iso]
        statement_of_applicability: {version: "1", approved_by: CISO, approved_on: 2026-01-05}
        applies_because:
          demo-iso: The contract with the customer
          hipaa-security: A business associate agreement
        inclusions:
          - control: demo-iso:A.3
            justification: Risk R-7
        exclusions:
          - control: demo-iso:A.3
            justification: The data-centre operator guards the premises.
            approved_by: CISO
        """,
    )
    code, doc = check_json(instance)
    assert code == 1
    [unknown] = [f for f in findings(doc, "unknown-framework") if "applies_because" in f["message"]]
    assert unknown["line"] == 5 and "hipaa-security" in unknown["message"]
    [conflict] = findings(doc, "conflicting-scope")
    assert conflict["line"] == 7 and "excluded at line 10" in conflict["message"]


@pytest.mark.parametrize(
    ("period", "ok"),
    [
        ("2026-01-01 – 2026-12-31", True),
        ("2026-01-01 .. 2026-12-31", True),
        ("{start: 2026-01-01, end: 2026-12-31}", True),
        ("calendar year 2026", False),
        ("{start: 2026-12-31, end: 2026-01-01}", False),
    ],
)
def test_the_audit_period_is_two_dates(instance: Instance, period: str, ok: bool) -> None:
    instance.write(
        "controls/scope.yaml",
        f"frameworks: [demo-iso]\naudit_period: {period}\n",
    )
    proc = run_evidoc("check", "--root", instance.root)
    if ok:
        assert proc.returncode in (0, 1), proc.stderr
    else:
        assert proc.returncode == 2
        assert "scope.yaml:2" in proc.stderr and "Traceback" not in proc.stderr


# --- changes since the previous release -------------------------------------------------------


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Release", "-c", "user.email=release@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def test_the_pack_lists_the_changes_since_the_previous_tag(tmp_path: Path) -> None:
    root = copy_instance(tmp_path / "inst")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "release 1")
    git(root, "tag", "v1.0")
    pdf = tmp_path / "first.pdf"
    proc = run_evidoc("pdf", "--root", root, "--output", pdf, timeout=300)
    assert proc.returncode == 0, proc.stderr
    first = " ".join(pdf_text(pdf).split())
    assert "No earlier release to compare with: the instance's repository has no Git tag" in first

    # The next release drops the exclusion of 8.30 and a proving check of 8.31.
    scope = root / "controls/scope.yaml"
    text = scope.read_text()
    start = text.index("  - control: iso27001-2022:8.30")
    end = text.index("  - control:", start + 10)
    scope.write_text(text[:start] + text[end:])
    git(root, "commit", "-q", "-am", "8.30 applies after all")
    git(root, "tag", "v1.1")
    pdf = tmp_path / "second.pdf"
    proc = run_evidoc("pdf", "--root", root, "--output", pdf, timeout=300)
    assert proc.returncode == 0, proc.stderr
    flat = " ".join(pdf_text(pdf).split())
    section = flat[flat.index("Changes since the previous release Compared with") :][:1500]
    assert section.startswith("Changes since the previous release Compared with v1.0 (commit ")
    assert "iso27001-2022:8.30: evidence excluded → unmapped" in section
    assert "iso27001-2022:8.30: exclusion removed" in section


def test_a_changes_since_revision_that_names_nothing_is_an_input_error(tmp_path: Path) -> None:
    root = copy_instance(tmp_path / "inst")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "release 1")
    out = tmp_path / "pack.pdf"
    proc = run_evidoc(
        "pdf", "--root", root, "--output", out, "--changes-since", "v9.9", timeout=300
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "v9.9" in proc.stderr and not out.exists()


def test_groups_keyed_by_a_word_print_their_title_only(history: tuple[Path, Path]) -> None:
    flat = " ".join(pdf_text(history[1]).split())
    bsi = flat[flat.index("bsi-app-4-4 · version") :]
    assert "Basis-Anforderungen APP.4.4.A1" in bsi
    assert "basic Basis-Anforderungen" not in flat
    assert "164.308 Administrative safeguards" in flat  # numbered groups keep their id


def test_packs_are_untagged_unless_asked(tmp_path: Path) -> None:
    root = copy_instance(tmp_path / "inst")
    pdf = tmp_path / "pack.pdf"
    proc = run_evidoc("pdf", "--root", root, "--output", pdf, timeout=300)
    assert proc.returncode == 0, proc.stderr
    reader = PdfReader(pdf)
    assert "/StructTreeRoot" not in reader.trailer["/Root"]
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:conformance="B"' in xmp
    # Appendix A: each item's id on a line of its own, then its full SHA-256.
    text = pdf_text(pdf)
    at = text.index("git/shop-gitops/branch · embedded as items/git/shop-gitops/branch.json\n")
    assert text[at:].split("\n")[1].startswith("SHA-256 e45b2ba6c00515e3")


def site_text(page: Path) -> str:
    import html as htmllib

    raw = page.read_text(encoding="utf-8")
    body = raw[raw.find("<article") : raw.find("</article>")]
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_the_site_shows_the_period_and_the_soa_record(
    history: tuple[Path, Path], tmp_path: Path
) -> None:
    root, _ = history
    out = tmp_path / "site"
    proc = run_evidoc("build", "--root", root, "--site-dir", out, timeout=300)
    assert proc.returncode == 0, proc.stderr
    cov = site_text(out / "compliance" / "coverage" / "index.html")
    assert "3 snapshots in the audit period 2026-01-01 – 2026-12-31" in cov
    assert "not reported → fail in 20260901T080000Z" in cov
    assert "Changes since the previous release" in cov
    soa = site_text(next((out / "compliance" / "soa").glob("*/index.html")))
    assert "Version 3 , approved by CISO, Example Health AB" in soa or (
        "Version 3, approved by CISO, Example Health AB" in soa
    )
    assert "Why ISO/IEC 27001:2022 Annex A applies: The certified ISMS" in soa
    assert "Risk RR-2026-07 (production patient data copied into test)" in soa


def document(root: Path) -> PackDocument:
    """The pack's document model for ROOT, judged on 2026-11-01, without rendering it."""
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    library, report = run_report(root, now=at)
    return build_document(
        library, report, None, None, version="test", generated_at=at, generated_from="test"
    )


def test_two_named_uses_of_one_check_get_a_result_each(instance: Instance) -> None:
    """A practice may run one check twice under two names: each use is its own result in the
    results chapter, and each control names the right one."""
    instance.write(
        "controls/practices/environment-separation.yaml",
        """\
        id: environment-separation
        title: Environment separation
        owner: Platform team
        statement: Production runs in its own cluster.
        satisfies:
          - control: demo-iso:A.1
            relationship: equivalent
            proven_by: [prod-iso]
          - control: demo-iso:A.2
            relationship: equivalent
            proven_by: [stage-iso]
        checks:
          - {id: kubernetes.isolation-level, name: prod-iso}
          - {id: kubernetes.isolation-level, name: stage-iso}
        docs: [environments.md]
        """,
    )
    doc = document(instance.root)
    checks = sorted(v.check for v in doc.results)
    assert checks == [
        "prod-iso (kubernetes.isolation-level)",
        "stage-iso (kubernetes.isolation-level)",
    ], checks
    by_control = {
        c.id: [v.check for b in c.checks for row in b.rows for v in row.results]
        for fw in doc.frameworks
        for g in fw.groups
        for c in g.controls
    }
    assert by_control["A.1"] == ["prod-iso (kubernetes.isolation-level)"]
    assert by_control["A.2"] == ["stage-iso (kubernetes.isolation-level)"]


def test_an_soa_past_its_review_is_printed_as_overdue(instance: Instance) -> None:
    from generator.pdf.html import render_html

    instance.write(
        "controls/scope.yaml",
        """\
        frameworks: [demo-iso]
        statement_of_applicability:
          {version: "2", approved_by: CISO, approved_on: 2024-01-10, next_review: 2025-01-10}
        """,
    )
    doc = document(instance.root)
    text = " ".join(re.sub(r"<[^>]+>", " ", render_html(doc, None)).split())
    assert "next review by 2025-01-10. Review overdue: the review date has passed" in text


def test_coverage_reads_only_the_snapshots_of_the_period(tmp_path: Path, monkeypatch) -> None:
    """A snapshot outside the period is not opened (a broken one there is not 'not used'), and
    the latest is judged on the day it was taken even when the pack is judged later."""
    root = copy_instance(tmp_path / "inst")
    snaps = root / "evidence" / "snapshots"
    broken = snaps / "20251201T080000Z"
    broken.mkdir()
    (broken / "manifest.json").write_text("{}")
    copy_snapshot(snaps, dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC))
    # Judged two years on, every item is stale for the pack; not for the coverage.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(dt.datetime(2028, 6, 1).timestamp())))
    pdf = tmp_path / "pack.pdf"
    proc = run_evidoc("pdf", "--root", root, "--output", pdf, timeout=300)
    assert proc.returncode == 0, proc.stderr
    flat = " ".join(pdf_text(pdf).split())
    cov = flat[flat.index("snapshots in the audit period") - 2 :]
    assert cov.startswith("2 snapshots in the audit period")
    assert "20251201T080000Z" not in flat
    assert "→ stale" not in cov and "0 changed" in cov


def test_an_instance_in_a_subfolder_finds_its_previous_release(tmp_path: Path) -> None:
    """A monorepo: the instance lives in compliance/ of a larger repository."""
    from generator.release_changes import release_changes

    repo = tmp_path / "mono"
    root = copy_instance(repo / "compliance")
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text("print('hi')\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "release 1")
    git(repo, "tag", "v1.0")
    (root / "controls/scope.yaml").write_text(
        (root / "controls/scope.yaml").read_text().replace("  - nis2-20-23\n", "")
    )
    git(repo, "commit", "-q", "-am", "NIS2 Articles 20 and 23 leave the scope")
    library, report = run_report(root, now=dt.datetime(2026, 11, 22, 9, tzinfo=dt.UTC))
    changes = release_changes(root, library, report)
    assert changes.since == "v1.0" and changes.compared, changes.note
    assert any(line.startswith("nis2-20-23: removed from the scope") for line in changes.lines)
