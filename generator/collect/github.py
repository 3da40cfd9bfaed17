"""GitHub REST evidence for one repository: branch protection, rulesets, pull requests and their
reviews. Items: `github/<repo>/repository`, `.../branch-protection`, `.../rulesets`,
`.../pull-requests`."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import quote

from generator.collect.forge import (
    ForgeClient,
    ForgeError,
    ForgeKind,
    describe,
    json_body,
    open_session,
    record,
    since_param,
    strip_urls,
)
from generator.collect.git import TTL, History
from generator.models.sources import Repository
from generator.snapshot.store import SnapshotWriter

API = "https://api.github.com"
TOKEN_ENV = "GITHUB_TOKEN"
ITEMS = ("repository", "branch-protection", "rulesets", "pull-requests")
GITHUB = ForgeKind(
    collector="github",
    label="GitHub",
    api=API,
    token_env=TOKEN_ENV,
    project_hint="owner/name",
    source="{api}/repos/{project}",
    items=ITEMS,
    auth=lambda token: {"Authorization": f"Bearer {token}"},
    extra_headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
)
MAX_COMMIT_LOOKUPS = 200  # mainline commits looked up one by one when no listed PR matches


def _repository(client: ForgeClient, project: str) -> dict[str, Any]:
    repo = client.get_json(f"/repos/{project}")
    keys = ("full_name", "default_branch", "private", "visibility", "archived")
    return {k: repo.get(k) for k in keys}


def _protection(client: ForgeClient, project: str, branch: str) -> dict[str, Any]:
    response = client.get(f"/repos/{project}/branches/{quote(branch, safe='')}/protection")
    if response.status_code == 404:
        try:
            message = str(response.json().get("message", ""))
        except (ValueError, AttributeError):
            message = ""
        if "not protected" in message.lower():
            return {"branch": branch, "protected": False, "protection": None}
    if response.status_code != 200:
        raise ForgeError(describe(response), response.status_code)
    return {"branch": branch, "protected": True, "protection": strip_urls(json_body(response))}


def _rulesets(client: ForgeClient, project: str, branch: str) -> dict[str, Any]:
    rules = client.all(
        f"/repos/{project}/rules/branches/{quote(branch, safe='')}", {"per_page": 100}
    )
    details: list[dict[str, Any]] = []
    for ruleset_id in sorted({r.get("ruleset_id") for r in rules if r.get("ruleset_id")}):
        try:
            detail = client.get_json(
                f"/repos/{project}/rulesets/{ruleset_id}", {"includes_parents": "true"}
            )
        except ForgeError as exc:  # bypass actors need admin read; keep the rules anyway
            details.append({"id": ruleset_id, "error": str(exc)})
            continue
        keep = (
            "id",
            "name",
            "target",
            "enforcement",
            "source_type",
            "source",
            "bypass_actors",
            "current_user_can_bypass",
            "conditions",
        )
        details.append({k: strip_urls(detail.get(k)) for k in keep if k in detail})
    return {"branch": branch, "rules": strip_urls(rules), "rulesets": details}


def _login(user: Any) -> str | None:
    return user.get("login") if isinstance(user, dict) else None


def _pull(pr: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": pr["number"],
        "title": pr.get("title"),
        "author": _login(pr.get("user")),
        "merged_at": pr.get("merged_at"),
        "merge_commit_sha": pr.get("merge_commit_sha"),
        "head_sha": (pr.get("head") or {}).get("sha"),
        "base": (pr.get("base") or {}).get("ref"),
    }


def _review(review: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": review.get("id"),
        "reviewer": _login(review.get("user")),
        "state": review.get("state"),
        "submitted_at": review.get("submitted_at"),
        "commit_id": review.get("commit_id"),
        "author_association": review.get("author_association"),
    }


_CO_AUTHOR = re.compile(r"^co-authored-by:\s*(.*?)\s*<([^>]+)>\s*$", re.IGNORECASE | re.MULTILINE)


def _pull_commit(c: dict[str, Any]) -> dict[str, Any]:
    """Who wrote and who pushed one commit of a pull request: the people whose approval of it
    would not be independent. Logins where GitHub matched the e-mail to an account."""
    commit = c.get("commit") or {}
    return {
        "sha": c.get("sha"),
        "author": _login(c.get("author")),
        "author_email": ((commit.get("author") or {}).get("email") or "").casefold(),
        "committer": _login(c.get("committer")),
        "committer_email": ((commit.get("committer") or {}).get("email") or "").casefold(),
        "co_authors": sorted(
            {
                m.group(2).strip().casefold()
                for m in _CO_AUTHOR.finditer(commit.get("message") or "")
            }
        ),
    }


def _pull_requests(
    client: ForgeClient, project: str, branch: str, history: History | None
) -> dict[str, Any]:
    if history is None:
        raise ForgeError("the branch history could not be read, so commits cannot be matched")
    mainline = [c["sha"] for c in history.commits]
    wanted = set(mainline)
    since = since_param(history.since)
    pulls: dict[int, dict[str, Any]] = {}
    commit_pulls: dict[str, set[int]] = {}

    def take(pr: dict[str, Any], sha: str) -> None:
        pulls.setdefault(pr["number"], _pull(pr))
        commit_pulls.setdefault(sha, set()).add(pr["number"])

    params = {"state": "closed", "base": branch, "sort": "updated", "direction": "desc"}
    for page in client.pages(f"/repos/{project}/pulls", {**params, "per_page": 100}):
        for pr in page:
            sha = pr.get("merge_commit_sha")
            if pr.get("merged_at") and sha in wanted:
                take(pr, sha)
        if page and str(page[-1].get("updated_at") or "") < since:
            break
    unmatched = [sha for sha in mainline if sha not in commit_pulls]
    lookups, skipped = unmatched[:MAX_COMMIT_LOOKUPS], unmatched[MAX_COMMIT_LOOKUPS:]
    for sha in lookups:
        for pr in client.all(f"/repos/{project}/commits/{sha}/pulls", {"per_page": 100}):
            if pr.get("merged_at") and (pr.get("base") or {}).get("ref") == branch:
                take(pr, sha)
    for number, pull in pulls.items():
        reviews = client.all(f"/repos/{project}/pulls/{number}/reviews", {"per_page": 100})
        pull["reviews"] = [_review(r) for r in reviews]
        commits = client.all(f"/repos/{project}/pulls/{number}/commits", {"per_page": 100})
        pull["commits"] = [_pull_commit(c) for c in commits]
    return {
        "branch": branch,
        "period": {"since": since, "until": since_param(history.until)},
        "pulls": [pulls[n] for n in sorted(pulls)],
        "commits": {sha: sorted(numbers) for sha, numbers in sorted(commit_pulls.items())},
        "looked_up": sorted(lookups),
        "not_looked_up": sorted(skipped),
    }


def collect_github(
    repo: Repository,
    writer: SnapshotWriter,
    now: dt.datetime,
    history: History | None,
    ttl: int = TTL,
) -> None:
    session = open_session(GITHUB, repo, writer, now, ttl)
    if session is None:
        return
    client, project, ids, kw = session.client, session.project, session.ids, session.record_kw
    branch = repo.branch
    b = quote(branch, safe="")
    with client:
        record(
            writer,
            ids[0],
            lambda: _repository(client, project),
            query=f"GET /repos/{project}",
            **kw,
        )
        record(
            writer,
            ids[1],
            lambda: _protection(client, project, branch),
            query=f"GET /repos/{project}/branches/{b}/protection",
            **kw,
        )
        record(
            writer,
            ids[2],
            lambda: _rulesets(client, project, branch),
            query=f"GET /repos/{project}/rules/branches/{b}; GET /repos/{project}/rulesets/{{id}}",
            **kw,
        )
        record(
            writer,
            ids[3],
            lambda: _pull_requests(client, project, branch, history),
            query=(
                f"GET /repos/{project}/pulls?state=closed&base={b}; "
                f"GET /repos/{project}/commits/{{sha}}/pulls; "
                f"GET /repos/{project}/pulls/{{number}}/reviews"
            ),
            **kw,
        )
