"""`evidoc diff OLD NEW` on copies of the shipped instance changed as users change them, as
directories and as revisions of a real Git repository, through the real CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator.diff import Change, EntryChange, diff_instances, resolve_ref
from tests.conftest import REPO, run_evidoc
from tests.test_register import copy_snapshot

SHIPPED_SNAPSHOT = REPO / "evidence" / "snapshots" / "20261122T080000Z"
PRACTICE = Path("controls/practices/environment-separation.yaml")
SCOPE = Path("controls/scope.yaml")


def edit(root: Path, rel: Path | str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("diff-base") / "inst"
    for part in ("controls", "docs", "evidence"):
        shutil.copytree(REPO / part, root / part)
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    return root


@pytest.fixture
def pair(base: Path, tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(base, old)
    shutil.copytree(base, new)
    return old, new


def diff(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None):
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "diff", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


# --- directories ------------------------------------------------------------------------------


def test_two_copies_of_one_instance_do_not_differ(pair: tuple[Path, Path]) -> None:
    old, new = pair
    proc = diff(old, new, "--exit-code")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "no differences"
    assert f"old: directory {old}; snapshot 20261122T080000Z (demo evidence)" in proc.stdout


def test_exclusion_practice_proof_and_checks_one_line_per_change(pair: tuple[Path, Path]) -> None:
    old, new = pair
    # Exclude a control that a practice maps only in part.
    edit(
        new,
        SCOPE,
        "exclusions:\n",
        "exclusions:\n"
        "  - control: iso27001-2022:8.29\n"
        "    justification: Security testing is done by the customer's own red team.\n"
        "    approved_by: CISO\n"
        "    expires: 2027-12-31\n",
    )
    # Remove a practice (its page still describes 8.6).
    (new / "controls/practices/capacity-management.yaml").unlink()
    # 8.31 is proven by the isolation level alone, which passes; the key in staging no longer
    # counts against it.
    edit(
        new,
        PRACTICE,
        "  - control: iso27001-2022:8.31\n    relationship: equivalent\n"
        "    proven_by: [kubernetes.isolation-level, kubernetes.no-production-data]",
        "  - control: iso27001-2022:8.31\n    relationship: equivalent\n"
        "    proven_by: [kubernetes.isolation-level]",
    )
    # A check dropped, another's parameters weakened.
    edit(new, PRACTICE, "  - id: kubernetes.dtap-parity\n", "")
    edit(new, PRACTICE, "        production: cluster", "        production: namespace")

    proc = diff(old, new)
    assert proc.returncode == 0, proc.stderr
    out = lines(proc.stdout)
    # Each status change gives the reason of the new status (its wording is status.py's).
    assert any(line.startswith("iso27001-2022:8.31: evidence failing → verified (") for line in out)
    assert (
        "iso27001-2022:8.31: proof by environment-separation: proven_by "
        "kubernetes.isolation-level, kubernetes.no-production-data → kubernetes.isolation-level"
    ) in out
    assert (
        "iso27001-2022:8.29: evidence documented → excluded "
        "(Security testing is done by the customer's own red team.)"
    ) in out
    assert any(
        line.startswith("iso27001-2022:8.29: implementation partially-implemented → not-applicable")
        for line in out
    )
    assert (
        "iso27001-2022:8.29: exclusion added: Security testing is done by the customer's own "
        "red team. (approved by CISO, until 2027-12-31)"
    ) in out
    assert "iso27001-2022:8.6: mapping removed: capacity-management (equivalent)" in out
    assert "- capacity-management (Capacity management): removed" in out
    assert "environment-separation: check kubernetes.dtap-parity removed" in out
    assert (
        "environment-separation: check kubernetes.isolation-level changed: with "
        '{"required": {"production": "cluster"}} → {"required": {"production": "namespace"}}'
    ) in out
    # Grouped: each framework's heading with what moved in its totals, then its controls; the
    # practices after them; a summary last.
    heading = out.index(next(line for line in out if line.startswith("iso27001-2022 (")))
    assert out[heading].startswith("iso27001-2022 (ISO/IEC 27001:2022 Annex A): 4 control(s)")
    assert "verified 0 → 1" in out[heading] and "not-applicable 1 → 2" in out[heading]
    assert (
        out[heading + 1] == "iso27001-2022:8.6: mapping removed: capacity-management (equivalent)"
    )
    assert (
        "bsi-app-4-4:APP.4.4.A19: evidence documented → unmapped "
        "(in scope, but neither mapped by a practice or page nor excluded)"
    ) in out
    assert out.index("Practices") > heading
    assert out[-1] == "8 control(s) changed in 5 framework(s); 2 practice(s) changed"

    assert diff(old, new, "--exit-code").returncode == 1


def test_json_output_written_atomically_to_a_file(pair: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = pair
    edit(new, SCOPE, "  - nis2-20-23\n", "")
    edit(
        new,
        PRACTICE,
        "  - control: iso27001-2022:8.27\n    relationship: intersects",
        "  - control: iso27001-2022:8.27\n    relationship: equivalent",
    )
    target = tmp_path / "out" / "diff.json"
    proc = diff(old, new, "--format", "json", "--output", target)
    assert proc.returncode == 0 and proc.stdout == ""
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert doc["differences"] is True and doc["evidence"] == "own"
    assert doc["old"]["ref"] == {
        "argument": str(old),
        "kind": "directory",
        "path": str(old),
        "revision": None,
        "commit": None,
        "instance_path": "",
        "committed_at": None,
    }
    frameworks = {fw["id"]: fw for fw in doc["frameworks"]}
    removed = frameworks["nis2-20-23"]
    assert removed["change"] == "removed" and removed["controls_before"] == 6
    assert removed["controls"] == [] and removed["totals_after"] == {}
    iso = frameworks["iso27001-2022"]
    [control] = [c for c in iso["controls"] if c["id"] == "8.27"]
    assert control["mapping"] == [
        {
            "practice": "environment-separation",
            "title": "Environment separation",
            "change": "changed",
            "before": {"relationship": "intersects", "proven_by": []},
            "after": {"relationship": "equivalent", "proven_by": []},
        }
    ]
    assert control["implementation"]["before"] == "partially-implemented"
    assert control["implementation"]["after"] == "implemented"
    assert control["evidence"] is None and control["exclusion"] is None
    assert [fw["id"] for fw in doc["frameworks"]] == ["iso27001-2022", "nis2-20-23"]
    # The same inputs give the same bytes.
    again = tmp_path / "again.json"
    diff(old, new, "--format", "json", "--output", again)
    assert again.read_bytes() == target.read_bytes()


def test_scope_entries_expired_changed_and_removed(pair: tuple[Path, Path]) -> None:
    old, new = pair
    edit(new, SCOPE, "    expires: 2027-06-30\n", "    expires: 2026-06-30\n")  # 8.30's exclusion
    edit(
        new,
        SCOPE,
        "  - {control: iso27001-2022:7.2, provider: *dc, reference: *dc-cert, approved_by: CISO,"
        " expires: 2028-03-31}\n",
        "  - {control: iso27001-2022:7.2, provider: Example Hosting AB, reference: *dc-cert,"
        " approved_by: CISO, expires: 2028-03-31}\n",
    )
    edit(
        new,
        SCOPE,
        "  - {control: iso27001-2022:7.3, provider: *dc, reference: *dc-cert, approved_by: CISO,"
        " expires: 2028-03-31}\n",
        "",
    )
    proc = diff(old, new, "--as-of", "2026-12-01")
    assert proc.returncode == 0, proc.stderr
    out = lines(proc.stdout)
    assert any(
        line.startswith("iso27001-2022:8.30: exclusion expired on 2026-06-30: No development is")
        for line in out
    ), out
    assert any(line.startswith("iso27001-2022:8.30: evidence excluded → ") for line in out)
    assert any(
        line.startswith(
            "iso27001-2022:7.2: inheritance changed: provider Example Colocation AB, the "
            "data-centre operator → Example Hosting AB"
        )
        for line in out
    ), out
    assert any(
        line.startswith("iso27001-2022:7.3: inheritance removed (was: from Example Colocation AB")
        for line in out
    )
    assert "iso27001-2022:7.3: implementation inherited → not-implemented" in " ".join(out)
    assert "old: directory" in proc.stdout and "judged on 2026-12-01" in proc.stdout


def test_each_side_is_judged_on_its_own_snapshot_unless_one_is_given(
    pair: tuple[Path, Path],
) -> None:
    old, new = pair
    # A newer snapshot without the production key planted in the staging ConfigMap.
    copy_snapshot(
        new / "evidence" / "snapshots",
        dt.datetime(2026, 11, 29, 8, tzinfo=dt.UTC),
        without_key=True,
    )
    proc = diff(old, new)
    out = lines(proc.stdout)
    assert f"new: directory {new}; snapshot 20261129T080000Z (demo evidence); judged on" in (
        proc.stdout
    )
    # Removing the key mends the controls its check proves; 8.31 is proven as a whole.
    assert any(line.startswith("iso27001-2022:8.31: evidence failing → verified") for line in out)
    assert any(line.startswith("iso27001-2022:5.34: evidence failing → documented") for line in out)
    assert not any(line.startswith("iso27001-2022:8.32: evidence") for line in out)  # git: same

    # Both judged on the old snapshot: the instances are the same, so nothing differs.
    shared = diff(old, new, "--snapshot", SHIPPED_SNAPSHOT, "--exit-code")
    assert shared.returncode == 0, shared.stdout
    assert "evidence: both sides judged on the same snapshot (--snapshot)" in shared.stdout
    assert shared.stdout.splitlines()[-1] == "no differences"


def test_a_side_whose_snapshot_does_not_verify_is_refused(pair: tuple[Path, Path]) -> None:
    old, new = pair
    item = next((old / "evidence/snapshots/20261122T080000Z/items").rglob("*.json"))
    item.write_bytes(item.read_bytes() + b" ")
    proc = diff(old, new)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "evidence snapshot refused, it does not verify" in proc.stderr


# --- Git revisions ----------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Ada Admin",
        "GIT_AUTHOR_EMAIL": "ada@example.org",
        "GIT_COMMITTER_NAME": "Ada Admin",
        "GIT_COMMITTER_EMAIL": "ada@example.org",
    }
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def repo(base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository whose instance lives in compliance/: v1.0 the shipped instance, then a
    commit that excludes a control and drops a check. The evidence is committed with it, and
    marked export-ignore, which must not hide it."""
    top = tmp_path_factory.mktemp("diff-git") / "platform"
    inst = top / "compliance"
    shutil.copytree(base, inst)
    (top / "README.md").write_text("# Platform\n", encoding="utf-8")
    (top / ".gitattributes").write_text("compliance/evidence/** export-ignore\n")
    git(top.parent, "init", "-q", "-b", "main", str(top))
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "The compliance programme")
    git(top, "tag", "v1.0")
    edit(
        inst,
        SCOPE,
        "exclusions:\n",
        "exclusions:\n"
        "  - control: iso27001-2022:8.29\n"
        "    justification: Security testing is done by the customer's own red team.\n"
        "    approved_by: CISO\n",
    )
    edit(inst, PRACTICE, "  - id: kubernetes.dtap-parity\n", "")
    git(top, "commit", "-q", "-am", "Exclude 8.29; stop checking DTAP parity")
    return top


EXCLUDED = "iso27001-2022:8.29: exclusion added: Security testing is done by the customer's own"
DROPPED = "environment-separation: check kubernetes.dtap-parity removed"


def test_revisions_of_an_instance_in_a_subdirectory(repo: Path, tmp_path: Path) -> None:
    inst = repo / "compliance"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = diff("v1.0", "HEAD", cwd=inst, env=env)
    assert proc.returncode == 0, proc.stderr
    commit = git(repo, "rev-parse", "v1.0")
    head = git(repo, "rev-parse", "HEAD")
    out = lines(proc.stdout)
    assert out[0] == "evidoc diff v1.0 → HEAD"
    assert out[1].startswith(
        f"old: v1.0 (commit {commit[:12]}, instance at compliance/); snapshot 20261122T080000Z"
    )
    assert out[2].startswith(f"new: HEAD (commit {head[:12]}, instance at compliance/)")
    assert any(line.startswith(EXCLUDED) for line in out) and DROPPED in out
    # The materialised revisions are gone afterwards.
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("evidoc-diff-")]

    # REV:PATH names the instance explicitly; --root names the repository.
    explicit = diff("HEAD~1:compliance", "HEAD:compliance", "--root", repo, "--format", "json")
    doc = json.loads(explicit.stdout)
    assert doc["old"]["ref"]["commit"] == commit
    assert doc["old"]["ref"]["instance_path"] == "compliance"
    assert doc["old"]["snapshot"]["id"] == "20261122T080000Z"
    assert doc["practices"] == [
        {
            "id": "environment-separation",
            "title": "Environment separation",
            "change": "changed",
            "checks": [
                {
                    "key": "kubernetes.dtap-parity",
                    "check": "kubernetes.dtap-parity",
                    "change": "removed",
                    "before": {},
                    "after": None,
                }
            ],
        }
    ]


def test_new_defaults_to_the_work_tree_with_its_uncommitted_changes(
    repo: Path, tmp_path: Path
) -> None:
    work = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(work))
    inst = work / "compliance"
    edit(inst, PRACTICE, "  - id: kubernetes.no-production-data\n", "  - id: kubernetes.nope\n")
    proc = diff("HEAD", cwd=inst)
    assert proc.returncode == 0, proc.stderr
    out = lines(proc.stdout)
    assert out[0] == "evidoc diff HEAD → ."
    assert "environment-separation: check kubernetes.no-production-data removed" in out
    assert "environment-separation: check kubernetes.nope added" in out
    # Against the tag, the committed change shows too.
    assert any(line.startswith(EXCLUDED) for line in lines(diff("v1.0", cwd=inst).stdout))


def test_diff_instances_api_for_the_pack(repo: Path) -> None:
    inst = repo / "compliance"
    result = diff_instances(resolve_ref("v1.0", inst), resolve_ref(str(inst), inst))
    assert result.differences
    [fw] = [fw for fw in result.frameworks if fw.id == "iso27001-2022"]
    [control] = [c for c in fw.controls if c.id == "8.29"]
    assert control.change is Change.changed
    assert control.exclusion is not None and control.exclusion.change is EntryChange.added
    assert control.evidence is not None and control.evidence.after == "excluded"
    assert result.old.ref.commit == git(repo, "rev-parse", "v1.0")
    assert result.new.ref.path == str(inst)


def test_an_input_error_in_a_revision_names_the_revision_and_file(
    repo: Path, tmp_path: Path
) -> None:
    work = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(work))
    edit(work / "compliance", SCOPE, "frameworks:\n", "frameworks: [\n")
    git(work, "commit", "-q", "-am", "Break the scope")
    proc = diff("HEAD", "HEAD~1", cwd=work / "compliance")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "error: HEAD:compliance/controls/scope.yaml:" in proc.stderr
    assert "evidoc-diff-" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-tag"], "error: OLD 'no-such-tag' is neither a directory nor a Git revision"),
        (["v1.0", "nowhere/at/all"], "error: NEW 'nowhere/at/all' is neither a directory nor"),
        (["v1.0:docs"], "has no evidoc instance at docs/ (no controls/ directory)"),
        (["v1.0:../up"], "expected REV or REV:PATH, PATH relative to the repository"),
    ],
)
def test_neither_a_directory_nor_a_revision(repo: Path, args: list[str], message: str) -> None:
    proc = diff(*args, cwd=repo / "compliance")
    assert proc.returncode == 2, proc.stdout
    assert proc.stdout == ""
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_revision_outside_any_git_repository(pair: tuple[Path, Path]) -> None:
    old, _ = pair
    proc = diff("HEAD~1", "--root", old, cwd=old.parent)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: OLD 'HEAD~1' is neither a directory nor a Git revision: {old} is not in a "
        "Git repository (see --root)"
    )


def test_an_unknown_flag_is_a_usage_error() -> None:
    proc = run_evidoc("diff", "a", "b", "--colour")
    assert proc.returncode == 2 and "No such option" in proc.stderr


def test_interrupted_while_a_revision_is_read_removes_it(repo: Path, tmp_path: Path) -> None:
    """SIGTERM while the old revision's files are in the temporary directory: exit 143, one
    line, and the directory is gone."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "diff", "v1.0", "HEAD"],
        cwd=repo / "compliance",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not any(p.name.startswith("evidoc-diff-") for p in tmp_path.iterdir()):
        assert proc.poll() is None, "the diff ended before its temporary directory was seen"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr and stdout == ""
    assert stderr.strip().splitlines()[-1].startswith("evidoc: stopped by SIGTERM")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("evidoc-diff-")]
