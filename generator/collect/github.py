"""GitHub REST evidence for one repository: branch protection, rulesets, pull requests and their
reviews. Items: `github/<repo>/repository`, `.../branch-protection`, `.../rulesets`,
`.../pull-requests`."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from generator.collect.forge import (
    Budget,
    ForgeClient,
    ForgeError,
    ForgeKind,
    co_authors,
    describe,
    json_body,
    open_session,
    record,
    since_param,
    strip_urls,
)
from generator.collect.git import TTL, History
from generator.errors import InputError
from generator.models.sources import Repository
from generator.snapshot.manifest import MANIFEST, SIGNATURE, ItemStatus
from generator.snapshot.store import (
    SNAPSHOT_NAME,
    SnapshotWriter,
    load_snapshot,
    parse_time,
    snapshot_id,
)

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
    out: dict[str, Any] = {k: repo.get(k) for k in keys}
    # Whether a workflow (GITHUB_TOKEN) may approve pull requests: if it may, a required review
    # can be given by automation. Reading it needs the same access as branch protection.
    response = client.get(f"/repos/{project}/actions/permissions/workflow")
    if response.status_code == 200:
        body = json_body(response)
        allowed = body.get("can_approve_pull_request_reviews") if isinstance(body, dict) else None
        out["actions_can_approve_pull_requests"] = allowed if isinstance(allowed, bool) else None
    else:
        out["actions_can_approve_pull_requests"] = None
        out["actions_permissions"] = describe(response)
    return out


# Classic branch protection has no history of its own: GitHub's organisation audit log
# (Enterprise Cloud) records its changes and overrides. Web events are kept for 180 days.
AUDIT_LOG_RETENTION = dt.timedelta(days=180)
PROTECTION_ACTIONS = (
    "protected_branch.create",
    "protected_branch.update",
    "protected_branch.destroy",
    "protected_branch.policy_override",
)
# Where a ruleset's history is read, by where the ruleset is defined.
RULESET_OWNERS = {"Organization": "/orgs/{source}", "Enterprise": "/enterprises/{source}"}
RULESET_KEYS = (
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


def _period(history: History | None) -> dict[str, str] | None:
    if history is None:
        return None
    return {"since": since_param(history.since), "until": since_param(history.until)}


def _protection(
    client: ForgeClient, project: str, branch: str, history: History | None, now: dt.datetime
) -> dict[str, Any]:
    response = client.get(f"/repos/{project}/branches/{quote(branch, safe='')}/protection")
    out: dict[str, Any] | None = None
    if response.status_code == 404:
        try:
            message = str(response.json().get("message", ""))
        except (ValueError, AttributeError):
            message = ""
        if "not protected" in message.lower():
            out = {"branch": branch, "protected": False, "protection": None}
    if out is None:
        if response.status_code != 200:
            raise ForgeError(describe(response), response.status_code)
        protection = strip_urls(json_body(response))
        out = {"branch": branch, "protected": True, "protection": protection}
    out["period"] = _period(history)
    out["audit_log"] = _audit_log(client, project, history, now)
    return out


def _audit_time(entry: dict[str, Any]) -> str | None:
    millis = entry.get("@timestamp") or entry.get("created_at")
    if not isinstance(millis, int | float):
        return None
    return since_param(dt.datetime.fromtimestamp(millis / 1000, dt.UTC))


def _audit_log(
    client: ForgeClient, project: str, history: History | None, now: dt.datetime
) -> dict[str, Any]:
    """The organisation audit log's branch protection events for the repository, from the start
    of the period to collection (a change after the period's end also hides what held before
    it). Not available (403/404) outside GitHub Enterprise Cloud or without org owner access."""
    if history is None:
        return {"error": "the audit period is not known (the branch history could not be read)"}
    org = project.split("/")[0]
    phrase = f"action:protected_branch repo:{project} created:>={history.since.date().isoformat()}"
    query = {"phrase": phrase, "include": "web", "per_page": 100}
    retained = since_param(now - AUDIT_LOG_RETENTION)
    out: dict[str, Any] = {"phrase": phrase, "retained_from": retained}
    try:
        entries = client.all(f"/orgs/{org}/audit-log", query)
    except ForgeError as exc:
        return {**out, "events": None, "error": str(exc)}
    since = since_param(history.since)
    events = []
    for entry in entries:
        at = _audit_time(entry) if isinstance(entry, dict) else None
        if at is None or at < since or entry.get("action") not in PROTECTION_ACTIONS:
            continue
        if entry.get("repo") not in (None, project):
            continue
        events.append(
            {
                "action": entry.get("action"),
                "actor": entry.get("actor"),
                "at": at,
                "repo": entry.get("repo"),
                # the protection rule's branch pattern (create/update/destroy) or the updated
                # branch (policy_override); absent from some events
                "branch": entry.get("branch") or entry.get("name"),
            }
        )
    return {**out, "events": sorted(events, key=lambda e: e["at"]), "error": None}


def _ruleset_base(project: str, source_type: Any, source: Any) -> str:
    template = RULESET_OWNERS.get(str(source_type))
    if template and source:
        return template.format(source=quote(str(source), safe=""))
    return f"/repos/{project}"


def _version_actor(
    client: ForgeClient, actor: Any, logins: dict[int, str | None]
) -> dict[str, Any]:
    """The actor of a ruleset version with the user's login where GitHub tells it (the history
    gives only an id and a type)."""
    out = dict(actor) if isinstance(actor, dict) else {}
    uid = out.get("id")
    if out.get("type") == "User" and isinstance(uid, int):
        if uid not in logins:
            try:
                logins[uid] = client.get_json(f"/user/{uid}").get("login")
            except (ForgeError, AttributeError):
                logins[uid] = None
        if logins[uid]:
            out["login"] = logins[uid]
    return out


def _ruleset_history(
    client: ForgeClient,
    base: str,
    ruleset_id: int,
    history: History | None,
    logins: dict[int, str | None],
) -> dict[str, Any]:
    """Every version of the ruleset, and the full state of each version in force at some time in
    the period: the newest one updated at or before its start and every one updated within it.
    An unreadable history (older GitHub Enterprise Server, no admin access) is recorded as such."""
    if history is None:
        return {"error": "the audit period is not known (the branch history could not be read)"}
    path = f"{base}/rulesets/{ruleset_id}/history"
    try:
        versions = client.all(path, {"per_page": 100})
        listed = sorted(
            (
                {
                    "version_id": v.get("version_id"),
                    "actor": _version_actor(client, v.get("actor"), logins),
                    "updated_at": v.get("updated_at"),
                }
                for v in versions
                if isinstance(v, dict) and v.get("updated_at")
            ),
            key=lambda v: parse_time(v["updated_at"]),
        )
        if not listed:
            return {"versions": [], "in_period": None, "error": f"GET {path}: no versions"}
        before = [v for v in listed if parse_time(v["updated_at"]) <= history.since]
        inside = [v for v in listed if history.since < parse_time(v["updated_at"]) <= history.until]
        in_period = []
        for version in before[-1:] + inside:
            state = client.get_json(f"{path}/{version['version_id']}").get("state") or {}
            kept = {k: strip_urls(state.get(k)) for k in RULESET_KEYS if k in state}
            kept["rules"] = strip_urls(state.get("rules") or [])
            in_period.append({**version, "state": kept})
    except (ForgeError, AttributeError) as exc:
        return {"error": str(exc) if isinstance(exc, ForgeError) else f"GET {path}: bad answer"}
    return {"versions": listed, "in_period": in_period, "error": None}


def _rulesets(
    client: ForgeClient, project: str, branch: str, history: History | None = None
) -> dict[str, Any]:
    rules = client.all(
        f"/repos/{project}/rules/branches/{quote(branch, safe='')}", {"per_page": 100}
    )
    sources = {
        r.get("ruleset_id"): (r.get("ruleset_source_type"), r.get("ruleset_source"))
        for r in rules
        if r.get("ruleset_id")
    }
    details: list[dict[str, Any]] = []
    logins: dict[int, str | None] = {}
    for ruleset_id in sorted(sources):
        try:
            detail = client.get_json(
                f"/repos/{project}/rulesets/{ruleset_id}", {"includes_parents": "true"}
            )
            kept = {k: strip_urls(detail.get(k)) for k in RULESET_KEYS if k in detail}
        except ForgeError as exc:  # bypass actors need admin read; keep the rules anyway
            kept = {"id": ruleset_id, "error": str(exc)}
        source_type, source = sources[ruleset_id]
        base = _ruleset_base(
            project, kept.get("source_type", source_type), kept.get("source", source)
        )
        kept["history"] = _ruleset_history(client, base, ruleset_id, history, logins)
        details.append(kept)
    return {
        "branch": branch,
        "period": _period(history),
        "rules": strip_urls(rules),
        "rulesets": details,
    }


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
        "co_authors": sorted({email for _, email in co_authors(commit.get("message") or "")}),
    }


class _Matches:
    """Which merged pull requests explain which commits of the branch's first-parent chain."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.mainline = [c["sha"] for c in history.commits]  # newest first
        self.index = {sha: i for i, sha in enumerate(self.mainline)}
        self.pulls: dict[int, dict[str, Any]] = {}
        self.commit_pulls: dict[str, set[int]] = {}
        self.incomplete: set[int] = set()  # reviews or commits not all read

    def take(self, pull: dict[str, Any], sha: str) -> None:
        self.pulls.setdefault(pull["number"], pull)
        self.commit_pulls.setdefault(sha, set()).add(pull["number"])

    def unmatched(self) -> list[str]:
        return [sha for sha in self.mainline if sha not in self.commit_pulls]

    def match(self, pull: dict[str, Any]) -> None:
        """Take a merged pull request (with its commits) for the branch commits it explains:
        its merge or squash commit; its own commits where they reached the branch unchanged
        (fast-forward); and for a rebase merge, the rebased copies just below its merge commit.

        A rebase merge's `merge_commit_sha` is the copy of its last commit. When that commit has
        one parent and the (author e-mail, subject) of one of the pull request's commits, the
        first-parent commits just below it are taken as the other copies while each is a
        single-parent commit no other pull request explains whose (author e-mail, subject) is
        that of a pull request commit not yet matched (no patch-id is compared): see rebased()."""
        merge = pull.get("merge_commit_sha")
        if merge in self.index:
            self.take(pull, merge)
        for sha in [pull.get("head_sha"), *(c.get("sha") for c in pull.get("commits") or [])]:
            if sha in self.index:
                self.take(pull, sha)

    def rebased(self) -> None:
        """The rebased copies of every pull request taken for its merge commit (once their
        commits are all read)."""
        for number, pull in self.pulls.items():
            merge = pull.get("merge_commit_sha")
            # A copy carried from an earlier snapshot has no commit subjects to compare: the
            # earlier run's matches of its rebased copies are carried instead.
            if merge in self.index and number not in self.incomplete and "read_in" not in pull:
                self._rebased(pull, self.index[merge])

    def _rebased(self, pull: dict[str, Any], at: int) -> None:
        left: list[tuple[str, str]] = [
            (c.get("author_email") or "", c.get("subject") or "") for c in pull.get("commits") or []
        ]
        commits = self.history.commits
        for i in range(at, min(len(commits), at + len(pull.get("commits") or []))):
            commit = commits[i]
            key = ((commit["author"].get("email") or "").casefold(), commit.get("subject") or "")
            if len(commit.get("parents") or ()) != 1 or key not in left:
                return
            if i > at and commit["sha"] in self.commit_pulls:
                return
            left.remove(key)
            self.take(pull, commit["sha"])

    def record(
        self, branch: str, looked_up: list[str], skipped: list[str], collection: dict[str, Any]
    ) -> dict[str, Any]:
        """The item: pull requests whose reviews or commits were not all read explain nothing,
        their commits are listed as not looked up instead."""
        skipped_set = set(skipped)
        for sha, numbers in list(self.commit_pulls.items()):
            numbers -= self.incomplete
            if not numbers:
                del self.commit_pulls[sha]
                skipped_set.add(sha)
        pulls = {n: p for n, p in self.pulls.items() if n not in self.incomplete}
        for pull in pulls.values():
            for c in pull.get("commits") or []:
                c.pop("subject", None)
        history = self.history
        return {
            "branch": branch,
            "period": {"since": since_param(history.since), "until": since_param(history.until)},
            "pulls": [pulls[n] for n in sorted(pulls)],
            "commits": {sha: sorted(n) for sha, n in sorted(self.commit_pulls.items())},
            "looked_up": sorted(looked_up),
            "not_looked_up": sorted(skipped_set - set(self.commit_pulls)),
            "collection": collection,
        }


def _rest_pull_requests(
    client: ForgeClient, project: str, branch: str, history: History, budget: Budget
) -> dict[str, Any]:
    """The REST way: list closed pull requests into the branch, look up the commits none
    explains one by one (at most MAX_COMMIT_LOOKUPS), then each pull request's reviews and
    commits; all within the budget."""
    found = _Matches(history)
    since = since_param(history.since)
    wanted = set(found.mainline)
    params = {"state": "closed", "base": branch, "sort": "updated", "direction": "desc"}
    complete = False
    listing = client.pages(
        f"/repos/{project}/pulls", {**params, "per_page": 100}, budget, listing=True
    )
    for page in listing:
        for pr in page:
            sha = pr.get("merge_commit_sha")
            if pr.get("merged_at") and sha in wanted:
                found.take(_pull(pr), sha)
        if not page or str(page[-1].get("updated_at") or "") < since:
            complete = True
            break
    else:
        complete = budget.stopped is None
    unmatched = found.unmatched()
    looked_up: list[str] = []
    if complete:
        for sha in unmatched[:MAX_COMMIT_LOOKUPS]:
            try:
                answers = client.all(
                    f"/repos/{project}/commits/{sha}/pulls", {"per_page": 100}, budget
                )
            except ForgeError as exc:
                if not exc.rate_limited:
                    raise
                budget.stop(str(exc))
            if budget.stopped is not None:
                break
            looked_up.append(sha)
            for pr in answers:
                if pr.get("merged_at") and (pr.get("base") or {}).get("ref") == branch:
                    found.take(_pull(pr), sha)
    asked = set(looked_up)
    skipped = [sha for sha in unmatched if sha not in asked]
    for number, pull in found.pulls.items():
        try:
            path = f"/repos/{project}/pulls/{number}"
            reviews = client.all(f"{path}/reviews", {"per_page": 100}, budget)
            commits = client.all(f"{path}/commits", {"per_page": 100}, budget)
        except ForgeError as exc:
            if not exc.rate_limited:
                raise
            budget.stop(str(exc))
        if budget.stopped is not None:
            found.incomplete.add(number)
            continue
        pull["reviews"] = [_review(r) for r in reviews]
        pull["commits"] = [_pull_commit(c) for c in commits]
    return found.record(branch, looked_up, skipped, budget.summary("rest", complete))


# --- GraphQL ---------------------------------------------------------------------------------

PAGE_SIZE = 100  # pull requests per GraphQL page (and reviews, commits per pull request)
LOOKUP_BATCH = 50  # commits asked about per GraphQL look-up

_PULL_FIELDS = """
fragment Review on PullRequestReview {
  databaseId state submittedAt authorAssociation
  author { __typename login }
  commit { oid }
}
fragment PullCommit on PullRequestCommit {
  commit {
    oid message
    author { email user { login } }
    committer { email user { login } }
  }
}
fragment Pull on PullRequest {
  number title updatedAt mergedAt baseRefName headRefOid
  author { __typename login }
  mergeCommit { oid }
  reviews(first: $first) { pageInfo { hasNextPage endCursor } nodes { ...Review } }
  commits(first: $first) { pageInfo { hasNextPage endCursor } nodes { ...PullCommit } }
}
"""
MERGED_PULLS = (
    """
query MergedPulls($owner: String!, $name: String!, $base: String!, $first: Int!,
                  $cursor: String) {
  repository(owner: $owner, name: $name) {
    pullRequests(states: MERGED, baseRefName: $base, first: $first, after: $cursor,
                 orderBy: {field: UPDATED_AT, direction: DESC}) {
      pageInfo { hasNextPage endCursor }
      nodes { ...Pull }
    }
  }
  rateLimit { cost remaining resetAt }
}
"""
    + _PULL_FIELDS
)
PULL_REVIEWS = """
query PullReviews($owner: String!, $name: String!, $number: Int!, $first: Int!,
                  $cursor: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviews(first: $first, after: $cursor) { pageInfo { hasNextPage endCursor }
                                               nodes { ...Review } }
    }
  }
}
fragment Review on PullRequestReview {
  databaseId state submittedAt authorAssociation
  author { __typename login }
  commit { oid }
}
"""
PULL_COMMITS = """
query PullCommits($owner: String!, $name: String!, $number: Int!, $first: Int!,
                  $cursor: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      commits(first: $first, after: $cursor) { pageInfo { hasNextPage endCursor }
                                               nodes { ...PullCommit } }
    }
  }
}
fragment PullCommit on PullRequestCommit {
  commit {
    oid message
    author { email user { login } }
    committer { email user { login } }
  }
}
"""


def commit_pulls_query(count: int) -> str:
    """A look-up of `count` commits' associated pull requests in one request ($oid0...)."""
    args = ", ".join(f"$oid{i}: GitObjectID!" for i in range(count))
    fields = "\n".join(
        f"    c{i}: object(oid: $oid{i}) {{ ... on Commit {{ oid "
        f"associatedPullRequests(first: 5) {{ nodes {{ ...Pull }} }} }} }}"
        for i in range(count)
    )
    return (
        f"query CommitPulls($owner: String!, $name: String!, $first: Int!, {args}) {{\n"
        f"  repository(owner: $owner, name: $name) {{\n{fields}\n  }}\n}}\n" + _PULL_FIELDS
    )


class GraphQLUnavailable(Exception):
    """The forge has no GraphQL API for this token (404/403 on /graphql): use REST."""


def graphql_url(api: str) -> str:
    """GitHub's GraphQL endpoint: {api}/graphql, or for GitHub Enterprise Server, whose REST
    API is at https://host/api/v3, https://host/api/graphql."""
    api = api.rstrip("/")
    if api.endswith("/api/v3"):
        return api[: -len("/v3")] + "/graphql"
    return api + "/graphql"


def _graphql(client: ForgeClient, url: str, query: str, variables: dict[str, Any]) -> Any:
    """One GraphQL request: its `data`, or a ForgeError (GraphQLUnavailable for 403/404)."""
    for _ in range(2):
        response = client.post(url, {"query": query, "variables": variables})
        if response.status_code in (403, 404):
            raise GraphQLUnavailable(describe(response).replace("GET", "POST", 1))
        if response.status_code != 200:
            raise ForgeError(describe(response).replace("GET", "POST", 1), response.status_code)
        body = json_body(response)
        errors = body.get("errors") if isinstance(body, dict) else None
        if not errors:
            if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
                raise ForgeError(f"POST {urlsplit(url).path}: no data in the answer")
            return body["data"]
        types = {e.get("type") for e in errors if isinstance(e, dict)}
        message = "; ".join(str(e.get("message", ""))[:200] for e in errors[:3])
        if "RATE_LIMITED" in types:
            reset = response.headers.get("x-ratelimit-reset", "").strip()
            wait = max(0.0, float(reset) - time.time()) if reset.isdigit() else 60.0
            if client._may_wait(wait):
                continue
            raise ForgeError(
                f"rate limited by GitHub's GraphQL API; it asks to wait {wait:.0f} s, beyond the "
                f"bound of {client.wait_budget:.0f} s",
                rate_limited=True,
            )
        if types & {"FORBIDDEN", "INSUFFICIENT_SCOPES"}:
            raise GraphQLUnavailable(f"POST {urlsplit(url).path}: {message}")
        raise ForgeError(f"POST {urlsplit(url).path}: {message}")
    raise AssertionError("unreachable")


def _actor(actor: Any) -> str | None:
    """A GraphQL actor's login as REST spells it: bots as `name[bot]`."""
    if not isinstance(actor, dict) or not actor.get("login"):
        return None
    login = str(actor["login"])
    if actor.get("__typename") == "Bot" and not login.endswith("[bot]"):
        login += "[bot]"
    return login


def _gql_review(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": node.get("databaseId"),
        "reviewer": _actor(node.get("author")),
        "state": node.get("state"),
        "submitted_at": node.get("submittedAt"),
        "commit_id": (node.get("commit") or {}).get("oid"),
        "author_association": node.get("authorAssociation"),
    }


def _gql_commit(node: dict[str, Any]) -> dict[str, Any]:
    commit = node.get("commit") or {}
    author, committer = commit.get("author") or {}, commit.get("committer") or {}
    message = commit.get("message") or ""
    return {
        "sha": commit.get("oid"),
        "author": _login(author.get("user")),
        "author_email": (author.get("email") or "").casefold(),
        "committer": _login(committer.get("user")),
        "committer_email": (committer.get("email") or "").casefold(),
        "co_authors": sorted({email for _, email in co_authors(message)}),
        "subject": message.split("\n", 1)[0].strip(),  # for matching rebased copies; not kept
    }


def _gql_pull(node: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str | None]]:
    """A pull request as the REST path records it, and the cursors of its reviews and commits
    where there are more than one page of them."""
    pull = {
        "number": node["number"],
        "title": node.get("title"),
        "author": _actor(node.get("author")),
        "merged_at": node.get("mergedAt"),
        "merge_commit_sha": (node.get("mergeCommit") or {}).get("oid"),
        "head_sha": node.get("headRefOid"),
        "base": node.get("baseRefName"),
        "reviews": [_gql_review(r) for r in (node.get("reviews") or {}).get("nodes") or []],
        "commits": [_gql_commit(c) for c in (node.get("commits") or {}).get("nodes") or []],
    }
    more: dict[str, str | None] = {}
    for key in ("reviews", "commits"):
        info = (node.get(key) or {}).get("pageInfo") or {}
        if info.get("hasNextPage"):
            more[key] = info.get("endCursor")
    return pull, more


NEWEST = "newest_updated_at"  # collection: `updatedAt` of the first pull request listed


def _graphql_pull_requests(
    client: ForgeClient,
    url: str,
    project: str,
    branch: str,
    history: History,
    budget: Budget,
    earlier: _Earlier | None = None,
) -> dict[str, Any]:
    """The GraphQL way: page the merged pull requests into the branch, most recently updated
    first, with their reviews and commits, until one was last updated before the period; then
    ask about the commits none explains, LOOKUP_BATCH at a time; all within the budget.

    With `earlier`, an item of an earlier run that stopped before the end, this run resumes it:

    1. it lists from the top again, down to the first page that ends with a pull request last
       updated before the earlier listing began (its `newest_updated_at`). Any pull request
       updated since (a review given or dismissed, ...) sorts above that point, so it is read
       afresh here; one that is not listed here was not updated since, and its earlier copy is
       still what GitHub holds. If the budget runs out before that point, nothing of the earlier
       item is used: this run is then an ordinary first run that stopped early;
    2. it takes the earlier item's pull requests not listed again in step 1 (each marked
       `read_in: <snapshot>`), the commits the earlier run matched to them, and the commits it
       looked up and found no pull request for; all only for commits of this run's history;
    3. it continues the listing from the earlier cursor (or not at all when the earlier listing
       had reached the period's start); a pull request listed again there replaces its copy;
    4. the reviews and commits beyond a first page, and the look-ups of the commits still
       unexplained, are done as in a first run.

    The collection record names the snapshot resumed from and what was carried over."""
    owner, _, name = project.partition("/")
    base = {"owner": owner, "name": name, "first": PAGE_SIZE}
    since = since_param(history.since)
    found = _Matches(history)
    more: dict[int, dict[str, str | None]] = {}  # cursors of reviews/commits not all read
    listed: set[int] = set()  # pull requests this run's listing read
    carried: set[int] = set()  # pull requests taken from `earlier` and not read again
    newest: list[str] = []  # `updatedAt` of the first pull request listed from the top

    def consider(node: dict[str, Any], sha: str | None = None) -> None:
        """Take a merged pull request into the branch for the commits it explains (and `sha`,
        a commit GitHub associates it with). Listed again, a carried pull request is replaced
        by what was just read."""
        if not node.get("mergedAt") or node.get("baseRefName") not in (None, branch):
            return
        number = node["number"]
        pull = found.pulls.get(number)
        if pull is None or (sha is None and number in carried):
            carried.discard(number)
            pull, rest = _gql_pull(node)
            if number in found.pulls:
                found.pulls[number] = pull
            more.pop(number, None)
            found.match(pull)
            if sha is not None:
                found.take(pull, sha)
            if number in found.pulls and rest:
                more[number] = rest
        elif sha is not None:
            found.take(pull, sha)

    def ask(query: str, variables: dict[str, Any]) -> Any | None:
        if not budget.take():
            return None
        try:
            return _graphql(client, url, query, {**base, **variables})
        except GraphQLUnavailable as exc:
            if budget.used > 1:  # GraphQL answered before: this is no reason to start over
                raise ForgeError(str(exc)) from None
            raise
        except ForgeError as exc:
            if not exc.rate_limited:
                raise
            budget.stop(str(exc))
            return None

    def list_pulls(cursor: str | None, down_to: str) -> str | None:
        """Page the listing from `cursor` until a page ends with a pull request last updated
        before `down_to`, or the list ends: the last page's last `updatedAt`, "" at the end of
        the list. None when the budget stopped it first; `budget.cursor` is then where."""
        while True:
            data = ask(MERGED_PULLS, {"base": branch, "cursor": cursor})
            if data is None:
                budget.cursor = cursor
                return None
            connection = ((data.get("repository") or {}).get("pullRequests")) or {}
            nodes = connection.get("nodes") or []
            if cursor is None and nodes and not newest:
                newest.append(str(nodes[0].get("updatedAt") or ""))
            for node in nodes:
                listed.add(node["number"])
                consider(node)
            info = connection.get("pageInfo") or {}
            if not nodes or not info.get("hasNextPage"):
                return ""
            last = str(nodes[-1].get("updatedAt") or "")
            if last < down_to:
                return last
            cursor = info.get("endCursor")

    def carry(earlier: _Earlier) -> list[str]:
        """Step 2: the earlier pull requests and matches; the commits it looked up in vain."""
        copies = {
            number: {**pull, "read_in": pull.get("read_in") or earlier.snapshot}
            for number, pull in earlier.pulls.items()
            if number not in listed
        }
        for pull in copies.values():
            found.match(pull)
        for sha, numbers in earlier.commits.items():
            if sha in found.index:
                for number in numbers:
                    pull = found.pulls.get(number) or copies.get(number)
                    if pull is not None:
                        found.take(pull, sha)
        carried.update(n for n in copies if found.pulls.get(n) is copies[n])
        return [s for s in earlier.looked_up if s in found.index and s not in found.commit_pulls]

    not_resumed: str | None = None
    looked_up: list[str] = []
    if earlier is None:
        last = list_pulls(None, since)
    else:
        last = list_pulls(None, max(earlier.newest, since))
        if last is None:
            not_resumed = (
                f"{earlier.snapshot}: the pull requests updated since it were not all listed "
                "again within the budget, so nothing of it was used"
            )
        else:
            looked_up = carry(earlier)
            if last >= since:  # the listing of step 1 stopped above the period's start
                last = "" if earlier.cursor is None else list_pulls(earlier.cursor, since)
    complete = last is not None and last < since

    def rest_of(number: int, cursors: dict[str, str | None]) -> None:
        """The reviews and commits of a pull request beyond its first page."""
        pull = found.pulls[number]
        for key, query, convert in (
            ("reviews", PULL_REVIEWS, _gql_review),
            ("commits", PULL_COMMITS, _gql_commit),
        ):
            after = cursors.get(key)
            while key in cursors:
                data = ask(query, {"number": number, "cursor": after})
                if data is None:
                    found.incomplete.add(number)
                    break
                connection = ((data.get("repository") or {}).get("pullRequest") or {}).get(key)
                connection = connection or {}
                pull[key] += [convert(n) for n in connection.get("nodes") or []]
                info = connection.get("pageInfo") or {}
                if not info.get("hasNextPage"):
                    break
                after = info.get("endCursor")

    def complete_pulls() -> None:
        while more:
            number = min(more)
            rest_of(number, more.pop(number))

    complete_pulls()
    found.rebased()
    carried_looked_up = len(looked_up)
    asked: set[str] = set(looked_up)
    if complete:
        while budget.stopped is None:
            batch = [sha for sha in found.unmatched() if sha not in asked][:LOOKUP_BATCH]
            if not batch:
                break
            query = commit_pulls_query(len(batch))
            data = ask(query, {f"oid{i}": sha for i, sha in enumerate(batch)})
            if data is None:
                break
            looked_up += batch
            asked.update(batch)
            repo = data.get("repository") or {}
            for i, sha in enumerate(batch):
                obj = repo.get(f"c{i}") or {}
                for node in (obj.get("associatedPullRequests") or {}).get("nodes") or []:
                    consider(node, sha)
            complete_pulls()
            found.rebased()
    skipped = [sha for sha in found.unmatched() if sha not in asked]
    collection = budget.summary("graphql", complete)
    collection[NEWEST] = newest[0] if newest else None
    if earlier is not None and not_resumed is None:
        collection["resumed_from"] = earlier.snapshot
        collection["carried_over"] = {
            "pulls": len(carried - found.incomplete),  # the pulls marked `read_in`
            "pulls_read_again": len(set(earlier.pulls) & listed),
            "looked_up": carried_looked_up,
            "cursor": earlier.cursor,
        }
    if not_resumed is not None:
        collection["not_resumed"] = not_resumed
    return found.record(branch, looked_up, skipped, collection)


# --- resuming an earlier run -----------------------------------------------------------------


@dataclass(frozen=True)
class ResumeFrom:
    """Where the earlier snapshots are, and what identifies the item a run may resume."""

    out_dir: Path  # the snapshots directory
    item_id: str  # github/<repo>/pull-requests
    source: str  # the manifest's source: the API and project the item was read from
    before: str  # this run's snapshot id: only older snapshots count
    # The keys whose signature an earlier snapshot needs before its data is carried into this
    # one: the instance's trusted keys and the key this run signs with. Without any, a snapshot
    # is only as trustworthy as the directory it sits in, and integrity is all that is checked.
    trusted: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class _Earlier:
    """What an earlier run's pull-requests item read, checked to fit this run."""

    snapshot: str
    pulls: dict[int, dict[str, Any]]
    commits: dict[str, list[int]]
    looked_up: list[str]  # commits it asked about and found no pull request for
    cursor: str | None  # where its listing stopped; None when it reached the period's start
    newest: str  # `updatedAt` of the first pull request its listing read


class _Unfit(Exception):
    """Why an earlier item is not resumed from."""


def _newest_with(resume: ResumeFrom) -> Path | None:
    """The newest earlier snapshot whose manifest lists the item."""
    try:
        names = sorted(
            (p.name for p in resume.out_dir.iterdir() if SNAPSHOT_NAME.match(p.name)),
            reverse=True,
        )
    except OSError:
        return None
    for name in names:
        if name >= resume.before:
            continue
        try:
            manifest = json.loads((resume.out_dir / name / MANIFEST).read_bytes())
            if any(i.get("id") == resume.item_id for i in manifest["items"]):
                return resume.out_dir / name
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return None


def _verified_item(snap: Path, resume: ResumeFrom) -> Any:
    """The item's data, only if the snapshot verifies as `evidoc verify` checks it (signed by a
    trusted key, when there are any)."""
    if resume.trusted and not ((snap / SIGNATURE).exists() or (snap / SIGNATURE).is_symlink()):
        # Carried into a snapshot this run signs, forged data would be laundered.
        raise _Unfit("it is not signed, and only evidence signed by a trusted key is carried over")
    try:
        snapshot = load_snapshot(snap, resume.trusted)
    except InputError as exc:
        raise _Unfit(exc.message) from None
    item = next((i for i in snapshot.manifest.items if i.id == resume.item_id), None)
    if item is None or item.status is not ItemStatus.ok:
        raise _Unfit("the item was not collected")
    if item.source != resume.source:
        raise _Unfit(f"the item was read from {item.source}, not {resume.source}")
    read = snapshot.get(item.id, snapshot.created_at)
    if not read.usable:
        raise _Unfit(f"the item cannot be read ({read.state.value})")
    return read.data


def _is_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise _Unfit("a list of commits is malformed")
    return value


def _fit(snapshot: str, data: Any, branch: str, since: str) -> _Earlier | None:
    """The earlier item as something to resume: None when it read everything; _Unfit when it
    is of another branch, period start or API, or its data is not of the shape written."""
    if not isinstance(data, dict) or not isinstance(data.get("collection"), dict):
        raise _Unfit("the item has no collection record")
    collection = data["collection"]
    if collection.get("complete") is not False:
        return None
    if collection.get("api") != "graphql":
        raise _Unfit(f"it was collected over {collection.get('api')}, not GraphQL")
    if data.get("branch") != branch:
        raise _Unfit(f"it is of branch {data.get('branch')!r}, not {branch!r}")
    period = data.get("period")
    if not isinstance(period, dict) or period.get("since") != since:
        raise _Unfit("its period begins at another time")
    cursor, newest = collection.get("cursor"), collection.get(NEWEST)
    if not isinstance(newest, str) or not newest:
        raise _Unfit("it does not record where its listing began")
    if not (isinstance(cursor, str) and cursor) and not (
        cursor is None and collection.get("listed") is True
    ):
        raise _Unfit("it records no cursor to continue from")
    pulls: dict[int, dict[str, Any]] = {}
    for pull in data.get("pulls") if isinstance(data.get("pulls"), list) else [None]:
        if (
            not isinstance(pull, dict)
            or not _is_number(pull.get("number"))
            or pull.get("base") != branch
            or not pull.get("merged_at")
            or not isinstance(pull.get("reviews"), list)
            or not isinstance(pull.get("commits"), list)
            or not all(isinstance(x, dict) for x in pull["reviews"] + pull["commits"])
        ):
            raise _Unfit("a pull request of it is malformed")
        pulls[pull["number"]] = pull
    commits = data.get("commits")
    if not isinstance(commits, dict) or not all(
        isinstance(numbers, list) and all(_is_number(n) and n in pulls for n in numbers)
        for numbers in commits.values()
    ):
        raise _Unfit("its commit matches are malformed")
    skipped = set(_strings(data.get("not_looked_up")))
    looked_up = [s for s in _strings(data.get("looked_up")) if s not in skipped]
    return _Earlier(snapshot, pulls, commits, looked_up, cursor, newest)


def _earlier(resume: ResumeFrom, branch: str, since: str) -> _Earlier | str | None:
    """The newest earlier snapshot's item, when it stopped early and fits this run; None when
    there is nothing to resume; else why it is not used."""
    snap = _newest_with(resume)
    if snap is None:
        return None
    try:
        return _fit(snap.name, _verified_item(snap, resume), branch, since)
    except _Unfit as exc:
        return f"{snap.name}: {exc}"


def _pull_requests(
    client: ForgeClient,
    project: str,
    branch: str,
    history: History | None,
    resume: ResumeFrom | None = None,
) -> dict[str, Any]:
    if history is None:
        raise ForgeError("the branch history could not be read, so commits cannot be matched")
    budget = Budget.from_env()
    earlier = _earlier(resume, branch, since_param(history.since)) if resume else None
    try:
        data = _graphql_pull_requests(
            client,
            graphql_url(client.base_url),
            project,
            branch,
            history,
            budget,
            earlier if isinstance(earlier, _Earlier) else None,
        )
    except GraphQLUnavailable as exc:
        unavailable = str(exc)
    else:
        if isinstance(earlier, str):
            data["collection"]["not_resumed"] = earlier
        return data
    # The REST way always starts over: its item records no cursor of a GraphQL listing.
    data = _rest_pull_requests(client, project, branch, history, budget)
    data["collection"]["graphql_unavailable"] = unavailable
    if earlier is not None:
        data["collection"]["not_resumed"] = (
            earlier if isinstance(earlier, str) else f"{earlier.snapshot}: the REST way starts over"
        )
    return data


def collect_github(
    repo: Repository,
    writer: SnapshotWriter,
    now: dt.datetime,
    history: History | None,
    ttl: int = TTL,
    trusted: tuple[bytes, ...] = (),
) -> None:
    """TRUSTED: the keys an earlier snapshot must be signed with for its data to be resumed."""
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
            query=f"GET /repos/{project}; GET /repos/{project}/actions/permissions/workflow",
            **kw,
        )
        record(
            writer,
            ids[1],
            lambda: _protection(client, project, branch, history, now),
            query=(
                f"GET /orgs/{project.split('/')[0]}/audit-log?phrase=action:protected_branch; "
                f"GET /repos/{project}/branches/{b}/protection"
            ),
            **kw,
        )
        record(
            writer,
            ids[2],
            lambda: _rulesets(client, project, branch, history),
            query=(
                f"GET /repos/{project}/rules/branches/{b}; GET /repos/{project}/rulesets/{{id}}; "
                "GET .../rulesets/{id}/history[/{version_id}]"
            ),
            **kw,
        )
        record(
            writer,
            ids[3],
            lambda: _pull_requests(
                client,
                project,
                branch,
                history,
                ResumeFrom(
                    writer.out_dir,
                    ids[3],
                    kw["source"],
                    snapshot_id(writer.created_at),
                    trusted,
                ),
            ),
            query=(
                f"POST {graphql_url(client.base_url)} (MergedPulls, CommitPulls); or "
                f"GET /repos/{project}/pulls?state=closed&base={b}; "
                f"GET /repos/{project}/commits/{{sha}}/pulls; "
                f"GET /repos/{project}/pulls/{{number}}/reviews"
            ),
            **kw,
        )
