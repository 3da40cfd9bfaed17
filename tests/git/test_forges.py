"""GitHub and GitLab collectors against a loopback stand-in serving canned API responses:
paging, rate limits, the token kept out of the snapshot, and the checks on what was collected."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from generator.collect.forge import ForgeClient, ForgeError
from generator.results import ResultStatus
from generator.snapshot.store import load_snapshot
from tests.git.builders import GitRepo
from tests.git.conftest import NOW, shop_source
from tests.git.forge_standin import RecordedForge
from tests.git.instance import by_check, collect, make_instance, results

GH_TOKEN = "ghp_evidocTest0123456789abcdefABCDEFghij"
GL_TOKEN = "glpat-evidocTest0123456789xyz"
GH = "/repos/acme/shop-gitops"
GL = "/projects/acme/shop-gitops"
FAIL, PASS = ResultStatus.failed, ResultStatus.passed


def verdicts(found, shop: GitRepo) -> dict[str, str]:
    labels = {sha[:12]: label for label, sha in shop.shas.items()}
    return {
        labels[s.split("@")[1]]: r.reason.split(":")[0]
        for s, r in by_check(found, "git.reviewed-changes").items()
        if "@" in s
    }


def assert_token_absent(snapshot: Path, token: str) -> None:
    files = [f for f in snapshot.rglob("*") if f.is_file()]
    assert files
    for file in files:
        assert token.encode() not in file.read_bytes(), file


@pytest.fixture
def github(httpserver: HTTPServer, shop: GitRepo, monkeypatch) -> RecordedForge:
    monkeypatch.setenv("SHOP_GH_TOKEN", GH_TOKEN)
    return RecordedForge(
        httpserver, "github.json", shop.shas, ("Authorization", f"Bearer {GH_TOKEN}")
    )


@pytest.fixture
def gitlab(httpserver: HTTPServer, shop: GitRepo, monkeypatch) -> RecordedForge:
    monkeypatch.setenv("GITLAB_TOKEN", GL_TOKEN)
    return RecordedForge(
        httpserver, "gitlab.json", shop.shas, ("PRIVATE-TOKEN", GL_TOKEN), prefix="/api/v4"
    )


def github_instance(
    root: Path, shop: GitRepo, forge: RecordedForge, checks: list[dict] | None = None
) -> Path:
    source = shop_source(
        shop,
        root,
        forge="github",
        project="acme/shop-gitops",
        api_url=forge.base_url,
        token_env="SHOP_GH_TOKEN",
    )
    return make_instance(root, [source], checks)


def test_github(shop: GitRepo, tmp_path: Path, github: RecordedForge) -> None:
    root = github_instance(tmp_path / "inst", shop, github)
    started = time.monotonic()
    snapshot = collect(root, NOW)
    assert time.monotonic() - started >= 1.0  # it waited out the rate limits
    assert github.seen and all(s.authorized for s in github.seen)

    # rate limits: a 403 with an exhausted quota and a secondary limit with Retry-After
    assert [s.status for s in github.requested(f"{GH}/rules/branches/main")] == [403, 200]
    assert [s.status for s in github.requested(f"{GH}/pulls/11/reviews")] == [403, 200]
    # paging: the pull request list stops at the page that reaches back past the period
    assert [s.query.get("page") for s in github.requested(f"{GH}/pulls")] == [None, "2"]
    assert [s.query.get("page") for s in github.requested(f"{GH}/pulls/15/reviews")] == [
        None,
        "2",
    ]
    # only commits no listed pull request explains are looked up one by one
    looked = {s.path for s in github.seen if s.path.endswith("/pulls") and "/commits/" in s.path}
    assert looked == {
        f"{GH}/commits/{shop.shas['hotfix']}/pulls",
        f"{GH}/commits/{shop.shas['rebased 1']}/pulls",
    }

    snap = load_snapshot(snapshot)
    pulls = snap.get("github/shop-gitops/pull-requests", NOW).data
    assert pulls["commits"][shop.shas["rebased 1"]] == [17]
    assert pulls["commits"][shop.shas["squashed"]] == [14]
    assert shop.shas["hotfix"] not in pulls["commits"]
    assert [p["number"] for p in pulls["pulls"]] == [10, 11, 12, 13, 14, 15, 17]
    assert pulls["pulls"][1]["reviews"][0]["reviewer"] == "carol"
    protection = snap.get("github/shop-gitops/branch-protection", NOW).data
    assert protection["protected"] is True
    assert "url" not in protection["protection"]["enforce_admins"]
    rulesets = snap.get("github/shop-gitops/rulesets", NOW).data
    assert rulesets["rulesets"][0]["bypass_actors"][0]["actor_type"] == "OrganizationAdmin"
    items = {i.id: i for i in snap.manifest.items}
    assert items["github/shop-gitops/branch-protection"].collector == "github"
    assert items["github/shop-gitops/branch-protection"].query.endswith("/branches/main/protection")
    assert_token_absent(snapshot, GH_TOKEN)

    found = results(root, snapshot, NOW)
    summary = by_check(found, "git.reviewed-changes")["shop-gitops"]
    assert summary.status is FAIL and summary.reason.startswith("3 of 9")
    assert "github/shop-gitops/pull-requests" in summary.evidence
    # reviews on the forge decide: the rebase merge is approved; the co-authored merge is not
    # shown to be, since its co-author's e-mail matches no GitHub account
    assert verdicts(found, shop) == {
        "merge quota": "unreviewed",
        "hotfix": "directly pushed",
        "merge netpol": "no approval evidence",
    }
    netpol = by_check(found, "git.reviewed-changes")[
        f"shop-gitops@{shop.shas['merge netpol'][:12]}"
    ]
    assert "dave@example.org match no forge account" in netpol.reason
    protection_result = by_check(found, "git.branch-protection")["shop-gitops"]
    assert protection_result.status is PASS, protection_result.reason
    assert "required status checks: kustomize-build, policy-check" in protection_result.reason


@pytest.mark.parametrize(
    ("change", "status", "fragment"),
    [
        (
            "admins-bypass",
            FAIL,
            "administrators can bypass approvals (branch protection, ruleset 'protect main'",
        ),
        ("unprotected", FAIL, "neither branch protection nor a ruleset"),
        ("force-push", FAIL, "force pushes are allowed"),
        ("two-approvals", FAIL, "only 1 approving review(s) are required, 2 expected"),
        ("stale-approvals", FAIL, "an approval survives later pushes"),
        ("bypass-allowance", FAIL, "team release, user dave may merge without an approving"),
        ("classic-forbidden-rulesets-suffice", PASS, "administrators are bound"),
        ("classic-forbidden-rulesets-bypass", ResultStatus.not_collected, "(403)"),
        ("actions-approve", FAIL, "GitHub Actions may approve pull requests, so a workflow"),
        (
            "actions-unreadable",
            ResultStatus.not_collected,
            "cannot tell whether GitHub Actions may approve pull requests",
        ),
    ],
)
def test_github_branch_protection_variants(
    shop: GitRepo, tmp_path: Path, github: RecordedForge, change: str, status, fragment: str
) -> None:
    routes = github.routes
    for route in routes.values():
        route.pop("once", None)  # no rate limits here
    protection = routes[f"GET {GH}/branches/main/protection"]
    rules = routes[f"GET {GH}/rules/branches/main"]
    ruleset = routes[f"GET {GH}/rulesets/71"]["body"]
    approvals = 1
    if change == "admins-bypass":
        protection["body"]["enforce_admins"]["enabled"] = False
    elif change == "unprotected":
        protection.update(status=404, body={"message": "Branch not protected"})
        rules["body"] = []
    elif change == "force-push":
        protection["body"]["allow_force_pushes"]["enabled"] = True
        rules["body"] = [r for r in rules["body"] if r["type"] != "non_fast_forward"]
    elif change == "two-approvals":
        approvals = 2
    elif change == "stale-approvals":
        reviews = protection["body"]["required_pull_request_reviews"]
        reviews.update(dismiss_stale_reviews=False, require_last_push_approval=False)
        for rule in rules["body"]:
            if rule["type"] == "pull_request":
                rule["parameters"]["dismiss_stale_reviews_on_push"] = False
    elif change == "bypass-allowance":
        reviews = protection["body"]["required_pull_request_reviews"]
        reviews["bypass_pull_request_allowances"] = {
            "users": [{"login": "dave", "id": 1004, "type": "User"}],
            "teams": [{"slug": "release", "name": "Release"}],
            "apps": [],
        }
    elif change == "actions-approve":
        workflow = routes[f"GET {GH}/actions/permissions/workflow"]["body"]
        workflow["can_approve_pull_request_reviews"] = True
    elif change == "actions-unreadable":
        routes[f"GET {GH}/actions/permissions/workflow"].update(
            status=403, body={"message": "Resource not accessible by integration"}
        )
    elif change.startswith("classic-forbidden"):
        protection.update(status=403, body={"message": "Resource not accessible by integration"})
        if change.endswith("suffice"):
            ruleset["bypass_actors"] = []
    checks = [{"id": "git.branch-protection", "with": {"approvals": approvals}}]
    root = github_instance(tmp_path / "inst", shop, github, checks)
    result = by_check(results(root, collect(root, NOW), NOW), "git.branch-protection")
    assert result["shop-gitops"].status is status, result["shop-gitops"].reason
    assert fragment in result["shop-gitops"].reason


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ("stale", "not the merged head"),
        ("after-merge", "carol approved after the merge"),
        ("bot", "renovate[bot] is a bot account"),
        ("outsider", "carol has no write access (contributor)"),
    ],
)
def test_approvals_that_do_not_cover_the_merged_code_do_not_count(
    shop: GitRepo, tmp_path: Path, github: RecordedForge, change: str, fragment: str
) -> None:
    """Pull request #14 (the squash merge) passes on carol's approval; each change makes that
    approval one that does not cover what was merged."""
    for route in github.routes.values():
        route.pop("once", None)
    (review,) = github.routes[f"GET {GH}/pulls/14/reviews"]["body"]
    if change == "stale":
        review["commit_id"] = "@sha:merge limits"  # an earlier commit, not the final head
    elif change == "after-merge":
        review["submitted_at"] = "2026-01-05T20:30:00Z"  # merged at 20:00
    elif change == "bot":
        review["user"]["login"] = "renovate[bot]"
    else:
        review["author_association"] = "CONTRIBUTOR"
    root = github_instance(tmp_path / "inst", shop, github)
    found = results(root, collect(root, NOW), NOW)
    assert verdicts(found, shop)["squashed"] == "unreviewed"
    (result,) = [
        r
        for s, r in by_check(found, "git.reviewed-changes").items()
        if s.endswith(shop.shas["squashed"][:12])
    ]
    assert fragment in result.reason, result.reason


@pytest.mark.parametrize("change", ["co-author", "pusher"])
def test_an_approval_by_someone_who_wrote_the_change_does_not_count(
    shop: GitRepo, tmp_path: Path, github: RecordedForge, change: str
) -> None:
    """Carol approves pull request #11 (Bob's ingress) and #14 (Bob's squash); once she
    co-wrote #11 or pushed a commit into #14, her approval is not independent."""
    for route in github.routes.values():
        route.pop("once", None)
    number, label = (11, "merge ingress") if change == "co-author" else (14, "squashed")
    commits = github.routes[f"GET {GH}/pulls/{number}/commits"]["body"]
    if change == "co-author":
        commits[0]["commit"]["message"] += "\n\nCo-authored-by: Carol Sand <carol@example.org>"
    else:
        pushed = json.loads(json.dumps(commits[0]))
        pushed["sha"] = "8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d8d"
        pushed["committer"]["login"] = "carol"
        pushed["commit"]["committer"]["email"] = "carol@example.org"
        commits.append(pushed)
    root = github_instance(tmp_path / "inst", shop, github)
    found = results(root, collect(root, NOW), NOW)
    assert verdicts(found, shop)[label] == "self-approved"
    (result,) = [
        r
        for s, r in by_check(found, "git.reviewed-changes").items()
        if s.endswith(shop.shas[label][:12])
    ]
    assert f"pull request #{number} approved only by its author (carol)" in result.reason


def test_rate_limit_beyond_the_bound(shop: GitRepo, tmp_path: Path, github: RecordedForge) -> None:
    hour = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "@epoch+3600"}
    limited = {"status": 403, "headers": hour, "body": {"message": "API rate limit exceeded"}}
    for path in ("branches/main/protection", "rules/branches/main"):
        github.routes[f"GET {GH}/{path}"]["once"] = dict(limited)
    github.routes[f"GET {GH}/pulls/11/reviews"].pop("once")
    root = github_instance(tmp_path / "inst", shop, github)
    started = time.monotonic()
    snapshot = collect(root, NOW)
    assert time.monotonic() - started < 5  # it did not sleep for an hour
    item = {i.id: i for i in load_snapshot(snapshot).manifest.items}
    protection = item["github/shop-gitops/branch-protection"]
    assert protection.status.value == "error" and "rate limited" in (protection.detail or "")
    assert "beyond the bound" in (protection.detail or "")
    result = by_check(results(root, snapshot, NOW), "git.branch-protection")["shop-gitops"]
    assert result.status is ResultStatus.error and "rate limited" in result.reason


def test_a_non_json_answer_is_an_error_item(
    shop: GitRepo, tmp_path: Path, github: RecordedForge
) -> None:
    github.routes[f"GET {GH}/branches/main/protection"]["once"] = {"html": "<html>login</html>"}
    root = github_instance(tmp_path / "inst", shop, github)
    snapshot = collect(root, NOW)
    item = {i.id: i for i in load_snapshot(snapshot).manifest.items}
    protection = item["github/shop-gitops/branch-protection"]
    assert protection.status.value == "error" and "expected JSON" in (protection.detail or "")


def test_missing_token(shop: GitRepo, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    source = shop_source(shop, tmp_path, forge="github", project="acme/shop-gitops")
    root = make_instance(tmp_path / "inst", [source])
    snapshot = collect(root, NOW)
    item = {i.id: i for i in load_snapshot(snapshot).manifest.items}
    assert item["github/shop-gitops/pull-requests"].detail == (
        "no GitHub token: the variable $GITHUB_TOKEN is not set"
    )
    found = results(root, snapshot, NOW)
    reviewed = by_check(found, "git.reviewed-changes")["shop-gitops"]
    # No fallback to trailers: evidence in error never passes, and is not judged either.
    assert reviewed.status is ResultStatus.error, reviewed
    assert "$GITHUB_TOKEN" in reviewed.reason and "no substitute" in reviewed.reason
    protection = by_check(found, "git.branch-protection")["shop-gitops"]
    assert protection.status is ResultStatus.error and "$GITHUB_TOKEN" in protection.reason


def test_gitlab(shop: GitRepo, tmp_path: Path, gitlab: RecordedForge) -> None:
    source = shop_source(
        shop, tmp_path, forge="gitlab", project="acme/shop-gitops", api_url=gitlab.base_url
    )
    root = make_instance(tmp_path / "inst", [source])
    started = time.monotonic()
    snapshot = collect(root, NOW)
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 on a 429
    assert gitlab.seen and all(s.authorized for s in gitlab.seen)
    assert all("/projects/acme%2Fshop-gitops" in s.raw_uri for s in gitlab.seen)
    assert [s.status for s in gitlab.requested(f"{GL}/merge_requests/21/approvals")] == [429, 200]
    assert [s.query.get("page") for s in gitlab.requested(f"{GL}/protected_branches")] == [
        None,
        "2",
    ]
    assert [s.query.get("page") for s in gitlab.requested(f"{GL}/merge_requests")] == [None, "2"]
    assert_token_absent(snapshot, GL_TOKEN)

    snap = load_snapshot(snapshot)
    mrs = snap.get("gitlab/shop-gitops/merge-requests", NOW).data
    assert mrs["commits"][shop.shas["rebased 1"]] == [26]  # looked up
    assert mrs["commits"][shop.shas["rebased 2"]] == [26]  # the head of a fast-forward merge
    assert mrs["commits"][shop.shas["squashed"]] == [25]  # the squash commit
    protected = snap.get("gitlab/shop-gitops/protected-branches", NOW).data
    assert [b["name"] for b in protected["matching"]] == ["main"]
    rules = snap.get("gitlab/shop-gitops/approvals", NOW).data["rules"]
    assert rules[0]["eligible_approvers"] == ["alice", "carol", "dave", "bob"]

    found = results(root, snapshot, NOW)
    # dave approved !23, but he co-wrote its commit (Co-authored-by, matched by name: GitLab
    # shows no approver's e-mail), so only the merge request's author counting is not enough
    assert verdicts(found, shop) == {
        "merge quota": "self-approved",
        "hotfix": "directly pushed",
        "merge limits": "unreviewed",
        "merge netpol": "self-approved",
    }
    protection = by_check(found, "git.branch-protection")["shop-gitops"]
    assert protection.status is PASS, protection.reason
    assert "merge requests need 1 approval(s)" in protection.reason


def test_gitlab_protection_that_lets_maintainers_push(
    shop: GitRepo, tmp_path: Path, gitlab: RecordedForge
) -> None:
    for route in gitlab.routes.values():
        route.pop("once", None)
    main = gitlab.routes[f"GET {GL}/protected_branches"]["pages"][1][0]
    main["push_access_levels"][0].update(access_level=40, access_level_description="Maintainers")
    main["allow_force_push"] = True
    settings = gitlab.routes[f"GET {GL}/approvals"]["body"]
    settings["merge_requests_author_approval"] = True
    settings["reset_approvals_on_push"] = False
    settings["merge_requests_disable_committers_approval"] = False
    settings["disable_overriding_approvers_per_merge_request"] = False
    source = shop_source(
        shop, tmp_path, forge="gitlab", project="acme/shop-gitops", api_url=gitlab.base_url
    )
    root = make_instance(tmp_path / "inst", [source])
    result = by_check(results(root, collect(root, NOW), NOW), "git.branch-protection")
    reason = result["shop-gitops"].reason
    assert result["shop-gitops"].status is FAIL
    assert "force pushes are allowed" in reason
    assert "direct pushes are allowed for Maintainers" in reason
    assert "authors may approve their own merge requests" in reason
    assert "approvals are kept when new commits are pushed" in reason
    assert "people who pushed commits to a merge request may approve it" in reason
    assert "approval rules can be overridden" in reason


def test_client_keeps_the_token_to_its_own_origin(httpserver: HTTPServer) -> None:
    with pytest.raises(ForgeError, match="plain HTTP"):
        ForgeClient("http://forge.example.org/api", {"Authorization": "Bearer x"})
    httpserver.expect_request("/items").respond_with_json(
        [1], headers={"Link": '<http://127.0.0.2:1/items?page=2>; rel="next"'}
    )
    with (
        ForgeClient(httpserver.url_for("/"), {"Authorization": "Bearer x"}) as client,
        pytest.raises(ForgeError, match="another host"),
    ):
        client.all("/items")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"approved_at": "2030-01-01T00:00:00.000Z"}, "alice approved after the merge"),
        (
            {"user": {"id": 90, "username": "project_321_bot_1f2e", "name": "ci", "bot": True}},
            "project_321_bot_1f2e is a bot account",
        ),
    ],
)
def test_gitlab_approvals_after_the_merge_or_by_bots_do_not_count(
    shop: GitRepo, tmp_path: Path, gitlab: RecordedForge, change: dict, why: str
) -> None:
    """GitLab says when each approval was given, and which accounts are bots: neither an
    approval after the merge nor a bot's covers the change."""
    for key, route in gitlab.routes.items():
        route.pop("once", None)
        if key.endswith("/approvals") and "/merge_requests/" in key:
            for approval in route["body"]["approved_by"]:
                approval.update(change)
    source = shop_source(
        shop, tmp_path, forge="gitlab", project="acme/shop-gitops", api_url=gitlab.base_url
    )
    root = make_instance(tmp_path / "inst", [source])
    found = results(root, collect(root, NOW), NOW)
    squashed = by_check(found, "git.reviewed-changes")[f"shop-gitops@{shop.shas['squashed'][:12]}"]
    assert squashed.reason.startswith("unreviewed"), squashed.reason
    assert why in squashed.reason


def test_a_gitlab_merge_request_merged_without_meeting_its_rules_is_unreviewed(
    shop: GitRepo, tmp_path: Path, gitlab: RecordedForge
) -> None:
    """GitLab's approval state of a merge request lists its rules (code owners, a team's) and
    whether each was met: enough approvals in number do not make up for an unmet rule."""
    for key, route in list(gitlab.routes.items()):
        route.pop("once", None)
        if key.endswith("/approvals") and "/merge_requests/" in key:
            approver = (
                route["body"]["approved_by"][0]["user"] if route["body"]["approved_by"] else {}
            )
            gitlab.routes[key.replace("/approvals", "/approval_state")] = {
                "body": {
                    "approval_rules_overwritten": False,
                    "rules": [
                        {
                            "id": 7,
                            "name": "Platform code owners",
                            "rule_type": "code_owner",
                            "eligible_approvers": [],
                            "approvals_required": 1,
                            "users": [],
                            "groups": [],
                            "contains_hidden_groups": False,
                            "approved_by": [approver] if approver else [],
                            "source_rule": None,
                            "approved": False,
                            "overridden": False,
                        }
                    ],
                }
            }
    source = shop_source(
        shop, tmp_path, forge="gitlab", project="acme/shop-gitops", api_url=gitlab.base_url
    )
    root = make_instance(tmp_path / "inst", [source])
    snapshot = collect(root, NOW)
    mrs = load_snapshot(snapshot).get("gitlab/shop-gitops/merge-requests", NOW).data
    assert mrs["approval_rules_unavailable"] is None
    found = results(root, snapshot, NOW)
    squashed = by_check(found, "git.reviewed-changes")[f"shop-gitops@{shop.shas['squashed'][:12]}"]
    assert squashed.reason.startswith("unreviewed"), squashed.reason
    assert (
        "without meeting its approval rule(s) Platform code owners (code_owner" in squashed.reason
    )


def test_gitlab_without_approval_rules_says_so(
    shop: GitRepo, tmp_path: Path, gitlab: RecordedForge
) -> None:
    """GitLab Free has no approval rules: asked once, the answer is recorded, not failed."""
    source = shop_source(
        shop, tmp_path, forge="gitlab", project="acme/shop-gitops", api_url=gitlab.base_url
    )
    root = make_instance(tmp_path / "inst", [source])
    snapshot = collect(root, NOW)
    mrs = load_snapshot(snapshot).get("gitlab/shop-gitops/merge-requests", NOW).data
    assert "not found (HTTP 404)" in mrs["approval_rules_unavailable"]
    assert len([s for s in gitlab.seen if s.path.endswith("/approval_state")]) == 1
    summary = by_check(results(root, snapshot, NOW), "git.reviewed-changes")["shop-gitops"]
    assert "GitLab's approval rules of the merge requests could not be read" in summary.reason
