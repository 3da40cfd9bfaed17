"""Forge collection at scale: GitHub's GraphQL path against the stand-in (serving GraphQL from the
REST recording), the request budget that records `not_looked_up` instead of failing, and the fall
back to REST where /graphql is not there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import generator.collect.github as github_collector
from generator.collect.github import graphql_url
from generator.results import ResultStatus
from generator.snapshot.store import load_snapshot
from tests.git.builders import GitRepo
from tests.git.conftest import NOW, shop_source
from tests.git.forge_standin import RecordedForge
from tests.git.instance import by_check, collect, make_instance, results
from tests.git.test_forges import GH, GH_TOKEN, GL_TOKEN, github_instance, verdicts

PULLS = "github/shop-gitops/pull-requests"
NONE = "no approval evidence"


@pytest.fixture
def github(httpserver: HTTPServer, shop: GitRepo, monkeypatch) -> RecordedForge:
    monkeypatch.setenv("SHOP_GH_TOKEN", GH_TOKEN)
    forge = RecordedForge(
        httpserver, "github.json", shop.shas, ("Authorization", f"Bearer {GH_TOKEN}")
    )
    for route in forge.routes.values():
        route.pop("once", None)  # no rate-limit waits here
    return forge


def run(root: Path) -> tuple[dict[str, Any], dict[str, str], Any]:
    snapshot = collect(root, NOW)
    found = results(root, snapshot, NOW)
    summary = by_check(found, "git.reviewed-changes")["shop-gitops"]
    return load_snapshot(snapshot).get(PULLS, NOW).data, found, summary


def graphql_posts(forge: RecordedForge) -> list[Any]:
    return [s for s in forge.seen if s.method == "POST" and s.path == "/graphql"]


@pytest.mark.parametrize("page_size", [100, 1])
def test_graphql_gives_the_verdicts_of_rest(
    shop: GitRepo, tmp_path: Path, github: RecordedForge, monkeypatch, page_size: int
) -> None:
    rest_data, rest_found, rest_summary = run(github_instance(tmp_path / "rest", shop, github))
    assert rest_data["collection"]["api"] == "rest"

    github.graphql = True
    github.seen.clear()
    monkeypatch.setattr(github_collector, "PAGE_SIZE", page_size)
    data, found, summary = run(github_instance(tmp_path / "graphql", shop, github))
    assert data["collection"]["api"] == "graphql" and data["collection"]["complete"] is True
    # no REST request for pull requests, reviews or commits: GraphQL pages only
    assert not [s for s in github.seen if s.path.startswith(f"{GH}/pulls")]
    assert not [s for s in github.seen if s.path.startswith(f"{GH}/commits/")]
    posts = graphql_posts(github)
    if page_size == 100:
        assert len(posts) == 2  # one page of pull requests, one look-up batch (the hotfix)
    else:  # a page per pull request, and follow-up pages for #11's commits and #15's reviews
        assert len(posts) > 9

    # the rebased copy below #17's merge commit is matched by author e-mail and subject
    assert data["commits"][shop.shas["rebased 1"]] == [17]
    assert data["looked_up"] == [shop.shas["hotfix"]]
    assert data["not_looked_up"] == rest_data["not_looked_up"] == []
    assert data["commits"] == rest_data["commits"]
    assert data["pulls"] == rest_data["pulls"]
    assert verdicts(found, shop) == verdicts(rest_found, shop)
    assert (summary.status, summary.reason) == (rest_summary.status, rest_summary.reason)


def test_a_bot_review_over_graphql_is_still_a_bot(
    shop: GitRepo, tmp_path: Path, github: RecordedForge
) -> None:
    (review,) = github.routes[f"GET {GH}/pulls/14/reviews"]["body"]
    review["user"]["login"] = "renovate[bot]"
    review["user"]["type"] = "Bot"
    github.graphql = True
    data, found, _ = run(github_instance(tmp_path / "inst", shop, github))
    pull = next(p for p in data["pulls"] if p["number"] == 14)
    assert pull["reviews"][0]["reviewer"] == "renovate[bot]"
    assert verdicts(found, shop)["squashed"] == "unreviewed"


def test_a_spent_page_budget_records_not_looked_up(
    shop: GitRepo, tmp_path: Path, github: RecordedForge, monkeypatch
) -> None:
    github.graphql = True
    monkeypatch.setattr(github_collector, "PAGE_SIZE", 2)
    monkeypatch.setenv("EVIDOC_FORGE_MAX_REQUESTS", "2")
    data, found, summary = run(github_instance(tmp_path / "inst", shop, github))
    assert len(graphql_posts(github)) == 2
    collection = data["collection"]
    assert collection["complete"] is False and collection["cursor"] == "4"
    assert "budget of 2 requests" in collection["stopped"]
    # pull requests #10, #17, #14 and #15 were read; the rest of the branch was not
    assert [p["number"] for p in data["pulls"]] == [10, 14, 15, 17]
    labels = {sha: label for label, sha in shop.shas.items()}
    assert sorted(labels[s] for s in data["not_looked_up"]) == [
        "hotfix",
        "merge ingress",
        "merge netpol",
        "merge quota",
    ]
    assert data["looked_up"] == []
    # never a pass, and never "directly pushed" either: the forge was not asked
    assert summary.status is ResultStatus.failed
    assert "4 no approval evidence" in summary.reason
    assert verdicts(found, shop) == {
        "hotfix": NONE,
        "merge ingress": NONE,
        "merge netpol": NONE,
        "merge quota": NONE,
    }


def test_rest_within_a_budget(
    shop: GitRepo, tmp_path: Path, github: RecordedForge, monkeypatch
) -> None:
    """REST (no GraphQL): the budget runs out after the list and one look-up, before any pull
    request's reviews: nothing is shown approved, nothing passes, the item is no error."""
    monkeypatch.setenv("EVIDOC_FORGE_MAX_REQUESTS", "4")  # /graphql, 2 list pages, 1 look-up
    data, found, summary = run(github_instance(tmp_path / "inst", shop, github))
    collection = data["collection"]
    assert collection["api"] == "rest" and collection["listed"] is True
    assert collection["complete"] is False and "budget of 4 requests" in collection["stopped"]
    assert data["pulls"] == [] and data["commits"] == {}
    # the newest unexplained commit was looked up (#17), but #17's reviews were never read
    assert data["looked_up"] == [shop.shas["rebased 1"]]
    assert len(data["not_looked_up"]) == 9
    assert summary.status is ResultStatus.failed
    assert set(verdicts(found, shop).values()) == {NONE}


@pytest.mark.parametrize(
    ("status", "message"), [(404, "Not Found"), (403, "Resource not accessible by integration")]
)
def test_no_graphql_falls_back_to_rest(
    shop: GitRepo, tmp_path: Path, github: RecordedForge, status: int, message: str
) -> None:
    if status != 404:  # the stand-in answers 404 for a route it does not know
        github.routes["POST /graphql"] = {"status": status, "body": {"message": message}}
    data, _, summary = run(github_instance(tmp_path / "inst", shop, github))
    assert [s.status for s in graphql_posts(github)] == [status]
    assert data["collection"]["api"] == "rest"
    assert f"HTTP {status}" in data["collection"]["graphql_unavailable"]
    assert [s.query.get("page") for s in github.requested(f"{GH}/pulls")] == [None, "2"]
    assert [p["number"] for p in data["pulls"]] == [10, 11, 12, 13, 14, 15, 17]
    assert summary.reason.startswith("3 of 9")


def test_gitlab_within_a_budget(
    shop: GitRepo, tmp_path: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", GL_TOKEN)
    gitlab = RecordedForge(
        httpserver, "gitlab.json", shop.shas, ("PRIVATE-TOKEN", GL_TOKEN), prefix="/api/v4"
    )
    for route in gitlab.routes.values():
        route.pop("once", None)
    monkeypatch.setenv("EVIDOC_FORGE_MAX_REQUESTS", "1")  # one page of the merge request list
    source = shop_source(
        shop, tmp_path, forge="gitlab", project="acme/shop-gitops", api_url=gitlab.base_url
    )
    root = make_instance(tmp_path / "inst", [source])
    snapshot = collect(root, NOW)
    item = {i.id: i for i in load_snapshot(snapshot).manifest.items}
    assert item["gitlab/shop-gitops/merge-requests"].status.value == "ok"
    data = load_snapshot(snapshot).get("gitlab/shop-gitops/merge-requests", NOW).data
    assert data["collection"]["complete"] is False
    assert "page=2" in data["collection"]["cursor"]
    assert data["merge_requests"] == [] and data["commits"] == {}
    assert len(data["not_looked_up"]) == 9
    found = results(root, snapshot, NOW)
    summary = by_check(found, "git.reviewed-changes")["shop-gitops"]
    assert summary.status is ResultStatus.failed
    assert set(verdicts(found, shop).values()) == {NONE}


def test_graphql_url() -> None:
    assert graphql_url("https://api.github.com") == "https://api.github.com/graphql"
    assert graphql_url("https://ghe.example.org/api/v3/") == "https://ghe.example.org/api/graphql"
