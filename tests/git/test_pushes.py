"""The forge's record of pushes (GitHub's repository activity, GitLab's push events) decides
where the period began and shows rewrites no snapshot saw: commit dates are the author's to
choose, push times are not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from generator.results import ResultStatus
from generator.snapshot.store import load_snapshot
from tests.git.builders import ALICE, BOB, CAROL, GitRepo, person, run_git, trailers
from tests.git.conftest import NOW
from tests.git.forge_standin import RecordedForge
from tests.git.instance import by_check, collect, make_instance, results

TOKEN = "ghp_evidocPushes0123456789abcdefABCDEFgh"
GH = "/repos/acme/shop"
GL = "/projects/acme/shop"
ZERO = "0" * 40
APPROVED = "\n\n" + trailers(Approved_by=person(CAROL))


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)


def activity(when: str, before: str | None, after: str | None, kind: str = "push") -> dict:
    """One entry of GET /repos/{owner}/{repo}/activity, as GitHub documents it."""
    return {
        "id": abs(hash((when, before, after))) % 10**9,
        "node_id": "RA_kwDOEXAMPLE",
        "before": before or ZERO,
        "after": after or ZERO,
        "ref": "refs/heads/main",
        "timestamp": when,
        "activity_type": kind,
        "actor": {
            "login": "bob" if kind != "branch_creation" else "alice",
            "id": 2,
            "type": "User",
        },
    }


def push_event(when: str, before: str | None, after: str | None, action: str = "pushed") -> dict:
    """One event of GET /projects/:id/events?action=pushed, as GitLab documents it."""
    return {
        "id": abs(hash((when, before, after))) % 10**9,
        "project_id": 7,
        "action_name": "pushed to" if action == "pushed" else f"pushed {action}",
        "target_id": None,
        "target_type": None,
        "author_id": 2,
        "target_title": None,
        "created_at": when,
        "author": {"id": 2, "username": "bob", "name": "Bob Berg"},
        "author_username": "bob",
        "push_data": {
            "commit_count": 1,
            "action": action,
            "ref_type": "branch",
            "commit_from": before or ZERO,
            "commit_to": after or ZERO,
            "ref": "main",
            "commit_title": "change",
            "ref_count": None,
        },
    }


def every_commit(repo: GitRepo) -> list[str]:
    return repo.git("rev-list", "--all", "--reflog").split()


def github(
    server: HTTPServer,
    repo: GitRepo,
    pushes: list[dict] | None,
    monkeypatch,
    url: str | None = None,
) -> Path:
    """A GitHub stand-in that knows no pull request (approvals come from trailers, which the
    repository accepts), with PUSHES as the branch's activity (None: not available)."""
    monkeypatch.setenv("SHOP_GH_TOKEN", TOKEN)
    forge = RecordedForge(server, "empty.json", {}, ("Authorization", f"Bearer {TOKEN}"))
    forge.routes[f"GET {GH}/pulls"] = {"body": []}
    for sha in every_commit(repo):
        forge.routes[f"GET {GH}/commits/{sha}/pulls"] = {"body": []}
    if pushes is not None:
        newest_first = sorted(
            pushes, key=lambda p: p["timestamp"] if isinstance(p, dict) else "", reverse=True
        )
        forge.routes[f"GET {GH}/activity"] = {"pages": [newest_first]}
    source = {
        "name": "shop",
        **({"url": url} if url else {"path": str(repo.path)}),
        "since": "2026-01-01",
        "forge": "github",
        "project": "acme/shop",
        "api_url": forge.base_url,
        "token_env": "SHOP_GH_TOKEN",
        "accept_trailer_approvals": True,
    }
    return make_instance(server_root(repo), [source])


def gitlab(server: HTTPServer, repo: GitRepo, events: list[dict], monkeypatch) -> Path:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    forge = RecordedForge(server, "empty.json", {}, ("PRIVATE-TOKEN", TOKEN), prefix="/api/v4")
    forge.routes[f"GET {GL}/merge_requests"] = {"body": []}
    for sha in every_commit(repo):
        forge.routes[f"GET {GL}/repository/commits/{sha}/merge_requests"] = {"body": []}
    newest_first = sorted(events, key=lambda e: e["created_at"], reverse=True)
    forge.routes[f"GET {GL}/events"] = {"pages": [newest_first], "paging": "x-next-page"}
    source = {
        "name": "shop",
        "path": str(repo.path),
        "since": "2026-01-01",
        "forge": "gitlab",
        "project": "acme/shop",
        "api_url": forge.base_url,
        "accept_trailer_approvals": True,
    }
    return make_instance(server_root(repo), [source])


def server_root(repo: GitRepo) -> Path:
    return repo.path.parent / "instance"


def judged(root: Path, when: dt.datetime = NOW) -> tuple[Path, dict[str, Any]]:
    snapshot = collect(root, when)
    return snapshot, by_check(results(root, snapshot, when), "git.reviewed-changes")


def window(snapshot: Path, when: dt.datetime = NOW) -> dict[str, Any]:
    return load_snapshot(snapshot).get("git/shop/commits", when).data["window"]


def backdated(tmp_path: Path) -> GitRepo:
    """A branch with a direct push dated before the period, below a reviewed change dated in
    it: by dates alone the push looks older than the period."""
    repo = GitRepo.init(tmp_path / "repo")
    repo.commit("base", "Base", ALICE, at=at("2025-06-01"))
    repo.commit("backdated", "Change production by hand", BOB, at=at("2025-07-01"))
    repo.commit("reviewed", "Reviewed change" + APPROVED, BOB, at=at("2026-01-10"))
    return repo


def rewritten(tmp_path: Path) -> GitRepo:
    """An unreviewed commit pushed on 01-06, then replaced on 01-07 by a reviewed one."""
    repo = GitRepo.init(tmp_path / "repo")
    repo.commit("base", "Base", ALICE, at=at("2025-06-01"))
    repo.commit("unreviewed", "Change production by hand", BOB, at=at("2026-01-06"))
    repo.git("reset", "-q", "--hard", repo.shas["base"])
    repo.commit("clean", "Reviewed change" + APPROVED, BOB, at=at("2026-01-07"))
    return repo


def test_a_backdated_push_below_a_dated_one_is_judged_by_push_time(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    """Dates alone judged only the top commit and passed; GitHub's record shows the branch
    stood at `base` when the period began, so the backdated push is judged."""
    repo = backdated(tmp_path)
    s = repo.shas
    pushes = [
        activity("2025-06-01T10:00:00Z", None, s["base"], "branch_creation"),
        activity("2026-01-08T10:00:00Z", s["base"], s["backdated"]),
        activity("2026-01-10T10:00:00Z", s["backdated"], s["reviewed"]),
    ]
    snapshot, found = judged(github(httpserver, repo, pushes, monkeypatch))
    assert found["shop"].status is ResultStatus.failed, found["shop"].reason
    assert found[f"shop@{s['backdated'][:12]}"].reason.startswith("directly pushed")
    assert "github/shop/pushes" in found["shop"].evidence
    win = window(snapshot)
    assert win["first_parent_commits"] == 2 and win["base"] == s["base"]
    assert win["how"] == "GitHub's push record: where the branch stood when the period began"
    assert win["estimated"] is False and win["bounded"] is True
    record = load_snapshot(snapshot).get("github/shop/pushes", NOW).data
    assert record["head_at_period_start"] == {"known": True, "sha": s["base"]}


def test_without_the_push_record_the_start_is_estimated_and_says_why(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    repo = backdated(tmp_path)
    snapshot, found = judged(github(httpserver, repo, None, monkeypatch))
    assert found["shop"].status is ResultStatus.passed
    assert "estimated from commit dates" in found["shop"].reason
    assert "GitHub's push record could not be read" in found["shop"].reason
    assert window(snapshot)["first_parent_commits"] == 1


def test_a_push_record_that_does_not_reach_the_start_still_extends_the_window(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    """GitHub keeps a limited span of activity: the first push it lists in the period still
    shows that everything above its old head came in the period."""
    repo = backdated(tmp_path)
    s = repo.shas
    pushes = [
        activity("2026-01-08T10:00:00Z", s["base"], s["backdated"]),
        activity("2026-01-10T10:00:00Z", s["backdated"], s["reviewed"]),
    ]
    snapshot, found = judged(github(httpserver, repo, pushes, monkeypatch))
    assert found["shop"].status is ResultStatus.failed
    assert found[f"shop@{s['backdated'][:12]}"].reason.startswith("directly pushed")
    win = window(snapshot)
    assert win["first_parent_commits"] == 2 and win["estimated"] is True
    assert "the record does not reach back to the period's start" in win["how"]
    assert "GitHub's push record reaches back only to 2026-01-08" in found["shop"].reason


def test_a_quiet_branch_is_known_quiet_from_the_push_record(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    """Every commit dated before the period and no snapshot before it: that used to be
    'cannot tell'; GitHub's record, reaching back to the branch's creation, shows no push."""
    repo = GitRepo.init(tmp_path / "repo")
    repo.commit("base", "Base", ALICE, at=at("2025-06-01"))
    pushes = [activity("2025-06-01T10:00:00Z", None, repo.shas["base"], "branch_creation")]
    snapshot, found = judged(github(httpserver, repo, pushes, monkeypatch))
    assert found["shop"].status is ResultStatus.passed, found["shop"].reason
    assert found["shop"].reason.startswith("no change reached main of shop")
    win = window(snapshot)
    assert win["how"] == "GitHub's push record: where the branch stood when the period began"
    assert win["first_parent_commits"] == 0 and win["bounded"] is True


def test_a_force_push_no_snapshot_saw_fails_the_period(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    """An unreviewed commit pushed, then replaced by a force push with a reviewed one, all
    between two snapshots: the branch looks clean, GitHub's record does not."""
    repo = rewritten(tmp_path)
    s = repo.shas
    pushes = [
        activity("2025-06-01T10:00:00Z", None, s["base"], "branch_creation"),
        activity("2026-01-06T10:00:00Z", s["base"], s["unreviewed"]),
        activity("2026-01-07T10:00:00Z", s["unreviewed"], s["clean"], "force_push"),
    ]
    root = github(httpserver, repo, pushes, monkeypatch)
    _, found = judged(root)
    assert found["shop"].status is ResultStatus.failed, found["shop"].reason
    rewrite = found[f"shop@{s['unreviewed'][:12]}"]
    assert "rewritten (force push) in the period" in rewrite.reason
    assert "GitHub's push record shows a force push on 2026-01-07 by bob" in rewrite.reason
    assert f"{s['unreviewed'][:12]} is no longer on the branch" in rewrite.reason
    # The dropped commit is still in this repository: it is judged like any change.
    dropped = found[f"shop@{s['unreviewed'][:12]} (dropped)"]
    assert dropped.reason.startswith("no approval evidence, then dropped by a force push")
    # The next snapshot does not forget it.
    later = NOW + dt.timedelta(hours=1)
    _, again = judged(root, later)
    assert again["shop"].status is ResultStatus.failed
    assert f"shop@{s['unreviewed'][:12]}" in again


def test_gitlab_push_events_bound_the_period_and_show_rewrites(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    """GitLab does not mark force pushes: a push whose old head is no longer on the branch is
    one."""
    repo = backdated(tmp_path)
    s = repo.shas
    gone = "1" * 40  # a head that was rewritten away, no longer in any repository
    events = [
        push_event("2025-12-20T10:00:00Z", s["base"], gone),
        push_event("2025-12-21T10:00:00Z", gone, s["base"]),
        push_event("2026-01-08T10:00:00Z", s["base"], s["backdated"]),
        push_event("2026-01-10T10:00:00Z", s["backdated"], s["reviewed"]),
    ]
    snapshot, found = judged(gitlab(httpserver, repo, events, monkeypatch))
    assert found[f"shop@{s['backdated'][:12]}"].reason.startswith("directly pushed")
    win = window(snapshot)
    assert win["how"] == "GitLab's push record: where the branch stood when the period began"
    assert win["base"] == s["base"]
    # A rewrite before the period is not the period's.
    assert f"shop@{gone[:12]}" not in found


def test_a_gitlab_push_whose_old_head_is_gone_is_a_rewrite(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    repo = rewritten(tmp_path)
    s = repo.shas
    events = [
        push_event("2025-06-01T10:00:00Z", None, s["base"], "created"),
        push_event("2026-01-06T10:00:00Z", s["base"], s["unreviewed"]),
        push_event("2026-01-07T10:00:00Z", s["unreviewed"], s["clean"]),
    ]
    _, found = judged(gitlab(httpserver, repo, events, monkeypatch))
    assert found["shop"].status is ResultStatus.failed, found["shop"].reason
    rewrite = found[f"shop@{s['unreviewed'][:12]}"]
    assert "GitLab's push record shows a push on 2026-01-07 by bob" in rewrite.reason
    assert f"{s['unreviewed'][:12]} is no longer on the branch" in rewrite.reason


@pytest.mark.parametrize("serves_dropped", [True, False])
def test_a_clone_fetches_the_dropped_head_to_judge_it(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch, serves_dropped: bool
) -> None:
    """A clone holds only what is on the branch: the head a force push dropped is fetched by
    its id (as the forges serve it while they keep it) so its commits are judged; where the
    forge does not serve it, the rewrite still fails the period and says what is not known."""
    repo = GitRepo.init(tmp_path / "repo")
    repo.commit("base", "Base", ALICE, at=at("2025-06-01"))
    repo.commit("unreviewed", "Change production by hand", BOB, at=at("2026-01-06"))
    server = tmp_path / "server.git"
    run_git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(server), env=repo.env)
    repo.git("reset", "-q", "--hard", repo.shas["base"])
    repo.commit("clean", "Reviewed change" + APPROVED, BOB, at=at("2026-01-07"))
    repo.git("push", "-q", "--force", str(server), "main")
    if not serves_dropped:  # the forge no longer keeps it
        run_git(server, "reflog", "expire", "--expire=now", "--all", env=repo.env)
        run_git(server, "gc", "-q", "--prune=now", env=repo.env)
    s = repo.shas
    pushes = [
        activity("2025-06-01T10:00:00Z", None, s["base"], "branch_creation"),
        activity("2026-01-06T10:00:00Z", s["base"], s["unreviewed"]),
        activity("2026-01-07T10:00:00Z", s["unreviewed"], s["clean"], "force_push"),
    ]
    root = github(httpserver, repo, pushes, monkeypatch, url=server.as_uri())
    _, found = judged(root)
    assert found["shop"].status is ResultStatus.failed
    rewrite = found[f"shop@{s['unreviewed'][:12]}"]
    if serves_dropped:
        assert "1 commit(s) that were on it are gone" in rewrite.reason
        assert f"shop@{s['unreviewed'][:12]} (dropped)" in found
    else:
        assert "that head is no longer in the repository" in rewrite.reason


def bulk_event(when: str, ref_type: str = "branch") -> dict:
    """A push of more refs than GitLab's push_event_activities_limit: one event naming none."""
    event = push_event(when, None, None)
    event["push_data"].update(ref=None, ref_type=ref_type, commit_from=None, commit_to=None)
    event["push_data"]["ref_count"] = 4
    return event


def test_a_gitlab_record_without_a_push_proves_nothing(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    """No push listed at all is no proof of a quiet branch: a push GitLab has not listed yet
    looks the same. The result says what the record showed."""
    repo = GitRepo.init(tmp_path / "repo")
    repo.commit("base", "Base", ALICE, at=at("2025-06-01"))
    repo.commit("backdated", "Change production by hand", BOB, at=at("2025-07-01"))
    snapshot, found = judged(gitlab(httpserver, repo, [], monkeypatch))
    assert found["shop"].status is ResultStatus.error, found["shop"].reason
    assert found["shop"].reason.startswith("cannot tell what reached main of shop")
    assert "GitLab's push record lists no push to the branch" in found["shop"].reason
    record = load_snapshot(snapshot).get("gitlab/shop/pushes", NOW).data
    assert record["head_at_period_start"] == {"known": False, "sha": None}


def test_a_gitlab_bulk_push_of_branches_may_hide_a_push_to_a_local_clone(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    """A push of many branches names none: whether a local clone holds it cannot be told."""
    repo = backdated(tmp_path)
    s = repo.shas
    events = [
        push_event("2025-06-01T10:00:00Z", None, s["base"], "created"),
        push_event("2026-01-10T10:00:00Z", s["base"], s["reviewed"]),
        bulk_event("2026-01-12T10:00:00Z"),
    ]
    _, found = judged(gitlab(httpserver, repo, events, monkeypatch))
    assert found["shop"].status is ResultStatus.error, found["shop"].reason
    assert found["shop"].reason.startswith("shop as read may be behind GitLab")


def test_a_gitlab_tag_push_hides_no_rewrite(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    """A push of many tags names no ref either, but moves no branch: the branch's pushes
    before it still show the rewrite."""
    repo = rewritten(tmp_path)
    s = repo.shas
    events = [
        push_event("2025-06-01T10:00:00Z", None, s["base"], "created"),
        push_event("2026-01-06T10:00:00Z", s["base"], s["unreviewed"]),
        push_event("2026-01-07T10:00:00Z", s["unreviewed"], s["clean"]),
        bulk_event("2026-01-08T10:00:00Z", ref_type="tag"),
    ]
    _, found = judged(gitlab(httpserver, repo, events, monkeypatch))
    assert found["shop"].status is ResultStatus.failed, found["shop"].reason
    assert f"shop@{s['unreviewed'][:12]}" in found


def test_a_gitlab_bulk_push_before_the_period_starts_the_record_after_it(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    """A bulk push of branches before the period: the branch's head at the start is the old
    head of its first push after the bulk push, not what an older push made."""
    repo = backdated(tmp_path)
    s = repo.shas
    events = [
        push_event("2025-06-01T10:00:00Z", None, s["backdated"], "created"),  # misleading
        bulk_event("2025-12-20T10:00:00Z"),
        push_event("2026-01-08T10:00:00Z", s["base"], s["backdated"]),
        push_event("2026-01-10T10:00:00Z", s["backdated"], s["reviewed"]),
    ]
    snapshot, found = judged(gitlab(httpserver, repo, events, monkeypatch))
    assert window(snapshot)["base"] == s["base"]
    assert found[f"shop@{s['backdated'][:12]}"].reason.startswith("directly pushed")


def test_a_force_push_after_an_ended_period_is_not_the_periods(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    repo = GitRepo.init(tmp_path / "repo")
    repo.commit("base", "Base", ALICE, at=at("2025-06-01"))
    repo.commit("reviewed", "Reviewed change" + APPROVED, BOB, at=at("2026-01-06"))
    repo.commit("later", "Next year's change", BOB, at=at("2027-01-06"))
    repo.git("reset", "-q", "--hard", repo.shas["reviewed"])
    s = repo.shas
    pushes = [
        activity("2025-06-01T10:00:00Z", None, s["base"], "branch_creation"),
        activity("2026-01-06T10:00:00Z", s["base"], s["reviewed"]),
        activity("2027-01-06T10:00:00Z", s["reviewed"], s["later"]),
        activity("2027-01-07T10:00:00Z", s["later"], s["reviewed"], "force_push"),
    ]
    root = github(httpserver, repo, pushes, monkeypatch)
    sources = root / "evidence" / "sources.yaml"
    sources.write_text(
        sources.read_text().replace(
            "since: '2026-01-01'", "since: '2026-01-01'\n  until: '2026-12-31'"
        )
    )
    when = at("2027-01-10")
    _, found = judged(root, when)
    assert found["shop"].status is ResultStatus.passed, found["shop"].reason
    assert f"shop@{s['later'][:12]}" not in found


def test_a_malformed_activity_answer_is_an_error_item_not_a_crash(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    repo = backdated(tmp_path)
    snapshot, found = judged(github(httpserver, repo, ["not an activity"], monkeypatch))  # type: ignore[list-item]
    item = load_snapshot(snapshot).get("github/shop/pushes", NOW)
    assert item.item is not None and item.item.status.value == "error"
    assert "no readable timestamp" in (item.item.detail or "")
    assert "GitHub's push record could not be read" in found["shop"].reason


@pytest.mark.parametrize("fetched", [False, True])
def test_a_path_repository_behind_the_forge_is_an_error(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch, fetched: bool
) -> None:
    """A local clone not fetched (or fetched, its branch not moved on) lacks what the forge
    shows pushed since: judged, it would pass on less than the period's history."""
    forge_side = backdated(tmp_path)
    local = tmp_path / "local"
    run_git(tmp_path, "clone", "-q", str(forge_side.path), str(local), env=forge_side.env)
    run_git(local, "reset", "-q", "--hard", forge_side.shas["backdated"], env=forge_side.env)
    if not fetched:  # the reviewed commit is not in the local repository at all
        run_git(local, "reflog", "expire", "--expire=now", "--all", env=forge_side.env)
        run_git(local, "update-ref", "-d", "refs/remotes/origin/main", env=forge_side.env)
        run_git(local, "gc", "-q", "--prune=now", env=forge_side.env)
    s = forge_side.shas
    pushes = [
        activity("2025-06-01T10:00:00Z", None, s["base"], "branch_creation"),
        activity("2026-01-08T10:00:00Z", s["base"], s["backdated"]),
        activity("2026-01-10T10:00:00Z", s["backdated"], s["reviewed"]),
    ]
    root = github(httpserver, GitRepo(local, forge_side.env), pushes, monkeypatch)
    _, found = judged(root)
    assert found["shop"].status is ResultStatus.error, found["shop"].reason
    assert found["shop"].reason.startswith("shop as read is behind GitHub")
    assert f"made {s['reviewed'][:12]}, which the branch read does not hold" in found["shop"].reason
    assert f"shop@{s['reviewed'][:12]}" not in found  # not called a rewrite
