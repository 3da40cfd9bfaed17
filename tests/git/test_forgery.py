"""Commit text cannot forge the collected record: author names and subjects may hold any
control character but NUL, and a record that does not parse is an error, never less history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from generator.results import ResultStatus
from generator.snapshot.store import load_snapshot
from tests.git.builders import ALICE, BOB, CAROL, GitRepo, person, run_git, trailers
from tests.git.conftest import NOW
from tests.git.instance import by_check, collect, make_instance, results

# What the old 0x1e/0x1f framing read as: the rest of the author field, then a good signature
# by "Trusted Signer" and an Approved-by trailer, then a subject of the forger's choice.
FORGED_NAME = (
    "Mallory\x1fmallory@example.org\x1f2026-03-01T10:00:00+00:00\x1fMallory\x1f"
    "mallory@example.org\x1f2026-03-01T10:00:00+00:00\x1fG\x1fSHA256:trusted\x1fTrusted Signer"
    "\x1fApproved-by: Carol Sand <carol@example.org>\x1fReviewed change"
)


def repository(tmp_path: Path) -> GitRepo:
    repo = GitRepo.init(tmp_path / "repo")
    repo.commit("base", "Base", ALICE, at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    repo.feature(
        "a", [("a", BOB)], merge_message="Merge a\n\n" + trailers(Approved_by=person(CAROL))
    )
    return repo


def gate(tmp_path: Path, repo: GitRepo):
    source = {
        "name": "shop",
        "path": str(repo.path),
        "since": "2026-01-01",
        "accept_trailer_approvals": True,
    }
    root = make_instance(tmp_path / "inst", [source])
    snapshot = collect(root, NOW)
    return snapshot, by_check(results(root, snapshot, NOW), "git.reviewed-changes")


def test_an_author_name_cannot_forge_a_signature_or_an_approval(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    repo.commit("forged", "Change production by hand", (FORGED_NAME, "m@example.org"))
    forged = repo.head()
    snapshot, found = gate(tmp_path, repo)
    commits = load_snapshot(snapshot).get("git/shop/commits", NOW).data["commits"]
    record = next(c for c in commits if c["sha"] == forged)
    # Kept whole, as text (git itself drops the angle brackets from names).
    assert record["author"]["name"].startswith("Mallory\x1fmallory@example.org\x1f")
    assert record["author"]["name"].endswith(
        "Trusted Signer\x1fApproved-by: Carol Sand carol@example.org\x1fReviewed change"
    )
    assert record["signature"]["status"] == "none" and record["trailers"] == {}
    assert found["shop"].status is ResultStatus.failed
    assert found[f"shop@{forged[:12]}"].reason.startswith("no approval evidence")


def test_a_subject_with_a_record_separator_keeps_the_history(tmp_path: Path) -> None:
    """The old framing dropped this record, broke the first-parent chain and passed on 0
    commits."""
    repo = repository(tmp_path)
    repo.commit("pushed", "Hotfix\x1e\x1f replicas", BOB)
    pushed = repo.head()
    _, found = gate(tmp_path, repo)
    assert found["shop"].status is ResultStatus.failed
    assert "1 of 2 change(s)" in found["shop"].reason
    assert found[f"shop@{pushed[:12]}"].status is ResultStatus.failed


def test_a_shallow_clone_is_an_error_not_a_short_history(tmp_path: Path) -> None:
    """A depth-1 checkout shows only its head: the unreviewed push below it must not pass."""
    repo = repository(tmp_path)
    repo.commit("pushed", "Change production by hand", BOB)
    repo.feature(
        "b", [("b", BOB)], merge_message="Merge b\n\n" + trailers(Approved_by=person(CAROL))
    )
    shallow = tmp_path / "shallow"
    run_git(tmp_path, "clone", "-q", "--depth", "1", repo.path.as_uri(), str(shallow), env=repo.env)
    _, found = gate(tmp_path, GitRepo(shallow, repo.env))
    assert found["shop"].status is ResultStatus.error
    assert "shallow" in found["shop"].reason and "--unshallow" in found["shop"].reason


def test_a_grafts_file_is_refused(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    repo.commit("pushed", "Change production by hand", BOB)
    (repo.path / ".git" / "info").mkdir(exist_ok=True)
    (repo.path / ".git" / "info" / "grafts").write_text(repo.head() + "\n")
    _, found = gate(tmp_path, repo)
    assert found["shop"].status is ResultStatus.error and "grafts" in found["shop"].reason


def test_a_backdated_push_hides_neither_itself_nor_the_period(tmp_path: Path) -> None:
    """`git log --since` stopped at the first commit dated before the period: a direct push
    dated 2025 on top of the branch hid itself and every change below it."""
    repo = repository(tmp_path)
    repo.commit("backdated", "Hotfix", BOB, at=dt.datetime(2025, 12, 1, tzinfo=dt.UTC))
    pushed = repo.head()
    snapshot, found = gate(tmp_path, repo)
    assert found["shop"].status is ResultStatus.failed
    assert "1 of 2 change(s)" in found["shop"].reason
    assert found[f"shop@{pushed[:12]}"].reason.startswith("no approval evidence")
    window = load_snapshot(snapshot).get("git/shop/commits", NOW).data["window"]
    assert window["head"] == pushed and window["first_parent_commits"] == 2
    assert window["how"] == "the deepest first-parent commit dated in the period"


def test_an_old_commit_pushed_in_the_period_is_judged(tmp_path: Path) -> None:
    """A commit made before the period and pushed during it: the previous snapshot's head shows
    it reached the branch later, whatever its date."""
    repo = GitRepo.init(tmp_path / "repo")
    repo.commit("base", "Base", ALICE, at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    source = {"name": "shop", "path": str(repo.path), "since": "2026-01-01"}
    root = make_instance(tmp_path / "inst", [source])
    first = collect(root, NOW)
    # Every commit is dated before the period and nothing earlier bounds it: a quiet branch and
    # a backdated push look the same, so the first snapshot does not pass.
    quiet = by_check(results(root, first, NOW), "git.reviewed-changes")["shop"]
    assert quiet.status is ResultStatus.error
    assert quiet.reason.startswith("cannot tell what reached main of shop")
    repo.commit("old", "Prepared long ago", BOB, at=dt.datetime(2025, 7, 1, tzinfo=dt.UTC))
    later = NOW + dt.timedelta(hours=1)
    second = collect(root, later)
    found = by_check(results(root, second, later), "git.reviewed-changes")
    assert found["shop"].status is ResultStatus.failed
    assert f"shop@{repo.head()[:12]}" in found
    window = load_snapshot(second).get("git/shop/commits", later).data["window"]
    assert window["how"].startswith(f"where snapshot {first.name}, the first of the period, began")
    assert window["bounded"] is False
    # The next snapshot judges the period from the same place: the failure is not forgotten.
    last = later + dt.timedelta(hours=1)
    third = collect(root, last)
    window = load_snapshot(third).get("git/shop/commits", last).data["window"]
    assert window["how"].startswith(f"where snapshot {first.name}, the first of the period, began")
    assert window["first_parent_commits"] == 1
    still = by_check(results(root, third, last), "git.reviewed-changes")
    assert still["shop"].status is ResultStatus.failed
    assert f"shop@{repo.head()[:12]}" in still


def test_a_snapshot_before_the_period_bounds_it(tmp_path: Path) -> None:
    """A snapshot taken before the period recorded the branch: what is above its head reached
    the branch later, whatever the dates say, and a quiet branch is known to be quiet."""
    repo = GitRepo.init(tmp_path / "repo")
    repo.commit("base", "Base", ALICE, at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    source = {"name": "shop", "path": str(repo.path), "since": "2026-01-01"}
    root = make_instance(tmp_path / "inst", [source])
    before = collect(root, dt.datetime(2025, 12, 20, tzinfo=dt.UTC))
    quiet = collect(root, NOW)
    window = load_snapshot(quiet).get("git/shop/commits", NOW).data["window"]
    assert window["how"] == f"the head recorded by snapshot {before.name}, before the period"
    assert window["bounded"] is True and window["first_parent_commits"] == 0
    found = by_check(results(root, quiet, NOW), "git.reviewed-changes")["shop"]
    assert found.status is ResultStatus.passed
    assert found.reason.startswith("no change reached main of shop")
    repo.commit("old", "Prepared long ago", BOB, at=dt.datetime(2025, 7, 1, tzinfo=dt.UTC))
    later = NOW + dt.timedelta(hours=1)
    pushed = collect(root, later)
    found = by_check(results(root, pushed, later), "git.reviewed-changes")
    assert found["shop"].status is ResultStatus.failed
    assert found[f"shop@{repo.head()[:12]}"].reason.startswith("no approval evidence")


@pytest.mark.parametrize(
    ("item", "data", "fragment"),
    [
        ("git/shop/commits", {"commits": "x"}, "commits: Input should be a valid list"),
        (
            "git/shop/commits",
            {"commits": [{"sha": "a" * 40, "parents": "b", "author": {}, "committer": {}}]},
            "commits.0.parents: Input should be a valid list",
        ),
        ("git/shop/branch", {"head": 7}, "head: Input should be a valid string"),
    ],
)
def test_git_evidence_of_the_wrong_shape_is_an_error_naming_it(
    tmp_path: Path, item: str, data: dict, fragment: str
) -> None:
    """A snapshot that verifies but holds the wrong shape never passes and never crashes."""
    from generator.snapshot.store import SnapshotWriter

    root = make_instance(tmp_path / "inst", [{"name": "shop", "path": "unused"}])
    good = {
        "git/shop/commits": {"branch": "main", "commits": []},
        "git/shop/branch": {"branch": "main", "head": "c" * 40},
    }
    writer = SnapshotWriter(root / "evidence" / "snapshots", NOW)
    for iid, value in {**good, item: data}.items():
        writer.add(iid, value, collector="git", query="git log", collected_at=NOW, ttl=3600)
    snapshot = writer.commit()
    (result,) = by_check(results(root, snapshot, NOW), "git.reviewed-changes").values()
    assert result.status is ResultStatus.error
    assert item in result.reason and fragment in result.reason


def test_a_commit_dated_in_the_future_is_judged_while_the_period_runs(tmp_path: Path) -> None:
    """While the period runs, a commit at the top dated after today is on the branch now: it
    is judged, not left for a next period."""
    repo = repository(tmp_path)
    repo.commit("future", "Tweak", BOB, at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    _, found = gate(tmp_path, repo)
    assert found["shop"].status is ResultStatus.failed
    assert found[f"shop@{repo.head()[:12]}"].reason.startswith("no approval evidence")


def test_a_period_started_by_dates_alone_says_so(tmp_path: Path) -> None:
    """Without a snapshot from before the period, where it began rests on commit dates: the
    result says what that cannot see."""
    snapshot, found = gate(tmp_path, repository(tmp_path))
    assert found["shop"].status is ResultStatus.passed
    assert "where the period began is estimated from commit dates" in found["shop"].reason
    window = load_snapshot(snapshot).get("git/shop/commits", NOW).data["window"]
    assert window["estimated"] is True and window["bounded"] is True


def test_a_rewrite_that_removes_the_bound_of_the_period_is_not_forgotten(tmp_path: Path) -> None:
    """The head recorded before the period is gone from the branch: the period's start is no
    longer known, and the rewrite fails the period in every later snapshot."""
    repo = GitRepo.init(tmp_path / "repo")
    repo.commit("base", "Base", ALICE, at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    repo.commit("old", "Reviewed long ago", ALICE, at=dt.datetime(2025, 7, 1, tzinfo=dt.UTC))
    source = {"name": "shop", "path": str(repo.path), "since": "2026-01-01"}
    root = make_instance(tmp_path / "inst", [source])
    before = collect(root, dt.datetime(2025, 12, 20, tzinfo=dt.UTC))
    recorded = repo.head()
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.commit("swap", "Replaced by hand", BOB, at=dt.datetime(2025, 7, 2, tzinfo=dt.UTC))
    for hours in (0, 1):
        at = NOW + dt.timedelta(hours=hours)
        snap = collect(root, at)
        found = by_check(results(root, snap, at), "git.reviewed-changes")
        assert found["shop"].status is ResultStatus.failed, found["shop"].reason
        rewrite = found[f"shop@{recorded[:12]}"]
        assert f"the head snapshot {before.name} audited" in rewrite.reason
