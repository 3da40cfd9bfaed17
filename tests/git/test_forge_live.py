"""Opt-in: collect a real GitHub repository and a real GitLab project, and run the Git checks.

    EVIDOC_LIVE_GITHUB_REPO=owner/name GITHUB_TOKEN=... pytest -m e2e tests/git/test_forge_live.py
    EVIDOC_LIVE_GITLAB_PROJECT=group/name GITLAB_TOKEN=... [EVIDOC_LIVE_GITLAB_API=https://host/api/v4]

Each test clones the repository over https and runs the collectors as `evidoc collect` does, on
the repository's default branch over the last 90 days. It asserts that every forge item was read
or recorded with a stated reason (forbidden, not found), that GitHub's pull requests came over
GraphQL, that the data the checks read has its shape (pull requests with reviews and commits,
merge requests with approvals) and that every Git check gives a result for the repository
without failing on its data; not what the results are. A token with read access to the
repository is enough.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from generator.results import CheckResult
from generator.snapshot.manifest import ItemStatus
from generator.snapshot.store import load_snapshot
from generator.snapshot.verify import verify_snapshot
from tests.git.instance import CHECKS, collect, make_instance, results

GITHUB_REPO = os.environ.get("EVIDOC_LIVE_GITHUB_REPO")
GITLAB_PROJECT = os.environ.get("EVIDOC_LIVE_GITLAB_PROJECT")
GITLAB_API = os.environ.get("EVIDOC_LIVE_GITLAB_API", "https://gitlab.com/api/v4").rstrip("/")
GITHUB_API = "https://api.github.com"
NAME = "live"
PERIOD = dt.timedelta(days=90)
# What the pipeline says when a check raised on the evidence it read.
CRASHED = "the check could not evaluate the evidence"

pytestmark = pytest.mark.e2e


def _api(url: str, headers: dict[str, str]) -> dict[str, Any]:
    response = httpx.get(url, headers=headers, timeout=30.0)
    response.raise_for_status()
    body = response.json()
    assert isinstance(body, dict), body
    return body


def _collect(tmp_path: Path, source: dict[str, Any]) -> tuple[Any, list[CheckResult]]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    since = (now - PERIOD).date().isoformat()
    root = make_instance(tmp_path / "inst", [{"name": NAME, "since": since, **source}])
    path = collect(root, now)
    assert verify_snapshot(path) == []
    return load_snapshot(path), results(root, path, now)


def _forge_items(snapshot: Any, forge: str) -> dict[str, Any]:
    """The forge's items by kind; each read, or not read for a stated reason."""
    items = {i.id.rsplit("/", 1)[1]: i for i in snapshot.items(f"{forge}/{NAME}/")}
    assert items, snapshot.manifest.items
    for item in items.values():
        assert item.status in (ItemStatus.ok, ItemStatus.forbidden, ItemStatus.not_found), item
        assert item.status is ItemStatus.ok or item.detail, item
    return items


def _assert_results(found: list[CheckResult]) -> None:
    """A result for the repository from every Git check that judges one, none of them a check
    failing on its data."""
    subjects = {(r.check, r.subject) for r in found}
    for check in ("git.reviewed-changes", "git.branch-protection", "git.signed-commits"):
        assert (check, NAME) in subjects, sorted(subjects)
    assert {c["id"] for c in CHECKS} <= {r.check for r in found}
    crashed = [r for r in found if CRASHED in r.reason]
    assert not crashed, crashed


@pytest.mark.skipif(
    not (GITHUB_REPO and os.environ.get("GITHUB_TOKEN")),
    reason="set EVIDOC_LIVE_GITHUB_REPO=owner/name and GITHUB_TOKEN to run against GitHub",
)
def test_collect_and_check_a_real_github_repository(tmp_path: Path) -> None:
    headers = {
        "Authorization": f"Bearer {os.environ['GITHUB_TOKEN']}",
        "Accept": "application/vnd.github+json",
    }
    repo = _api(f"{GITHUB_API}/repos/{GITHUB_REPO}", headers)
    source = {
        "url": repo["clone_url"],
        "branch": repo["default_branch"],
        "forge": "github",
        "project": GITHUB_REPO,
    }
    snapshot, found = _collect(tmp_path, source)
    assert snapshot.get(f"git/{NAME}/commits", snapshot.created_at).usable

    items = _forge_items(snapshot, "github")
    pulls = items["pull-requests"]
    assert pulls.status is ItemStatus.ok, pulls.detail
    data = snapshot.get(pulls.id, snapshot.created_at).data
    assert data["collection"]["api"] == "graphql", data["collection"]
    assert "graphql_unavailable" not in data["collection"]
    assert isinstance(data["commits"], dict) and isinstance(data["not_looked_up"], list)
    for pull in data["pulls"]:
        assert isinstance(pull["number"], int)
        assert isinstance(pull["reviews"], list) and isinstance(pull["commits"], list)
        assert all({"reviewer", "state", "commit_id"} <= set(r) for r in pull["reviews"])
        assert all(c.get("sha") for c in pull["commits"])
    assert {n for numbers in data["commits"].values() for n in numbers} <= {
        p["number"] for p in data["pulls"]
    }
    _assert_results(found)


@pytest.mark.skipif(
    not (GITLAB_PROJECT and os.environ.get("GITLAB_TOKEN")),
    reason="set EVIDOC_LIVE_GITLAB_PROJECT=group/name and GITLAB_TOKEN to run against GitLab",
)
def test_collect_and_check_a_real_gitlab_project(tmp_path: Path) -> None:
    assert GITLAB_PROJECT is not None
    headers = {"PRIVATE-TOKEN": os.environ["GITLAB_TOKEN"]}
    project = _api(f"{GITLAB_API}/projects/{quote(GITLAB_PROJECT, safe='')}", headers)
    source = {
        "url": project["http_url_to_repo"],
        "branch": project["default_branch"],
        "forge": "gitlab",
        "project": GITLAB_PROJECT,
        "api_url": GITLAB_API,
    }
    snapshot, found = _collect(tmp_path, source)
    assert snapshot.get(f"git/{NAME}/commits", snapshot.created_at).usable

    items = _forge_items(snapshot, "gitlab")
    requests = items["merge-requests"]
    assert requests.status is ItemStatus.ok, requests.detail
    data = snapshot.get(requests.id, snapshot.created_at).data
    assert isinstance(data["commits"], dict) and isinstance(data["not_looked_up"], list)
    for mr in data["merge_requests"]:
        assert isinstance(mr["iid"], int)
        assert isinstance(mr["approved_by"], list) and isinstance(mr.get("commits", []), list)
    assert {n for iids in data["commits"].values() for n in iids} <= {
        mr["iid"] for mr in data["merge_requests"]
    }
    _assert_results(found)
