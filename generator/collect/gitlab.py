"""GitLab REST evidence for one project: protected branches, approval settings and rules, merged
merge requests and their approvals. Items: `gitlab/<repo>/project`, `.../protected-branches`,
`.../approvals`, `.../merge-requests`."""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from typing import Any
from urllib.parse import quote

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
from generator.models.sources import Repository
from generator.snapshot.store import SnapshotWriter

API = "https://gitlab.com/api/v4"
TOKEN_ENV = "GITLAB_TOKEN"
ITEMS = ("project", "protected-branches", "approvals", "merge-requests")
GITLAB = ForgeKind(
    collector="gitlab",
    label="GitLab",
    api=API,
    token_env=TOKEN_ENV,
    project_hint="group/name",
    source="{api}/projects/{project}",
    items=ITEMS,
    auth=lambda token: {"PRIVATE-TOKEN": token},
)
MAX_COMMIT_LOOKUPS = 200


def _project(client: ForgeClient, pid: str) -> dict[str, Any]:
    project = client.get_json(f"/projects/{pid}")
    keys = (
        "id",
        "path_with_namespace",
        "default_branch",
        "visibility",
        "archived",
        "merge_method",
        "only_allow_merge_if_pipeline_succeeds",
    )
    return {k: project.get(k) for k in keys}


def _protected(
    client: ForgeClient,
    pid: str,
    branch: str,
    history: History | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    entries = strip_urls(client.all(f"/projects/{pid}/protected_branches", {"per_page": 100}))
    matching = [e for e in entries if fnmatch.fnmatchcase(branch, str(e.get("name", "")))]
    return {
        "branch": branch,
        "protected_branches": entries,
        "matching": matching,
        "audit_events": _audit_events(client, pid, history, now or dt.datetime.now(dt.UTC)),
    }


# Project audit events are read in windows: GitLab limits one query to 30 days.
AUDIT_WINDOW = dt.timedelta(days=30)
# What marks an audit event as one about branch protection or approvals.
PROTECTION_TARGETS = ("ProtectedBranch", "ApprovalProjectRule", "ApprovalMergeRequestRule")
PROTECTION_WORDS = ("protected branch", "protected_branch", "approv", "force push", "code owner")


def _about_protection(event: dict[str, Any]) -> bool:
    details = event.get("details") or {}
    if details.get("target_type") in PROTECTION_TARGETS:
        return True
    text = " ".join(
        str(details.get(k) or "") for k in ("change", "custom_message", "event_name")
    ).lower()
    return any(word in text for word in PROTECTION_WORDS)


def _audit_events(
    client: ForgeClient, pid: str, history: History | None, now: dt.datetime
) -> dict[str, Any]:
    """The project's audit events about protected branches and approval settings or rules, from
    the start of the period to collection (a change after the period's end also hides what held
    before it). Premium/Ultimate only: 403/404 otherwise, recorded as not available."""
    if history is None:
        return {"error": "the audit period is not known (the branch history could not be read)"}
    start, end = history.since, now
    events: dict[Any, dict[str, Any]] = {}
    try:
        while start < end:
            stop = min(start + AUDIT_WINDOW, end)
            query = {
                "created_after": since_param(start),
                "created_before": since_param(stop),
                "per_page": 100,
            }
            for event in client.all(f"/projects/{pid}/audit_events", query):
                if isinstance(event, dict) and _about_protection(event):
                    events[event.get("id")] = event
            start = stop
    except ForgeError as exc:
        return {"events": None, "error": str(exc)}
    kept = [
        {
            "id": e.get("id"),
            "created_at": e.get("created_at"),
            "author": (e.get("details") or {}).get("author_name"),
            "details": {
                k: v
                for k, v in (e.get("details") or {}).items()
                if k not in ("ip_address", "author_email", "entity_path")
            },
        }
        for e in events.values()
    ]
    return {
        "period": {"since": since_param(history.since), "until": since_param(history.until)},
        "read_until": since_param(now),
        "events": sorted(kept, key=lambda e: str(e["created_at"])),
        "error": None,
    }


def _approvals(client: ForgeClient, pid: str) -> dict[str, Any]:
    settings = strip_urls(client.get_json(f"/projects/{pid}/approvals"))
    try:
        rules = strip_urls(client.all(f"/projects/{pid}/approval_rules", {"per_page": 100}))
        rules_error = None
    except ForgeError as exc:  # approval rules are not available on every tier
        if exc.status not in (403, 404):
            raise
        rules, rules_error = None, str(exc)
    if isinstance(rules, list):
        for rule in rules:  # the eligible approvers' profiles are not evidence of the rule
            for key in ("eligible_approvers", "users", "groups"):
                if isinstance(rule.get(key), list):
                    rule[key] = [
                        u.get("username") or u.get("full_path") or u.get("name")
                        for u in rule[key]
                        if isinstance(u, dict)
                    ]
    return {"settings": settings, "rules": rules, "rules_error": rules_error}


def _user(value: Any) -> str | None:
    return value.get("username") if isinstance(value, dict) else None


def _merge_request(mr: dict[str, Any]) -> dict[str, Any]:
    return {
        "iid": mr["iid"],
        "title": mr.get("title"),
        "author": _user(mr.get("author")),
        "merged_by": _user(mr.get("merge_user") or mr.get("merged_by")),
        "merged_at": mr.get("merged_at"),
        "merge_commit_sha": mr.get("merge_commit_sha"),
        "squash_commit_sha": mr.get("squash_commit_sha"),
        "sha": mr.get("sha"),
        "target_branch": mr.get("target_branch"),
    }


_BOT_USERNAME = re.compile(r"^(?:project|group)_\d+_bot(?:_[0-9a-f]+)?\d*$")


def _is_bot(user: dict[str, Any]) -> bool:
    """A bot account: GitLab's own flag where the answer carries it, or the names GitLab gives
    project and group access token users."""
    return user.get("bot") is True or bool(_BOT_USERNAME.match(str(user.get("username") or "")))


def _approval_state(
    client: ForgeClient, pid: str, iid: int, budget: Budget
) -> dict[str, Any] | str:
    """The merge request's approval rules (code owners, regular rules, ...) and whether each was
    met; or why they cannot be read (GitLab Free has none: 403/404, asked once a project)."""
    if not budget.take():
        raise ForgeError(budget.stopped or "the budget was spent", rate_limited=True)
    response = client.get(f"/projects/{pid}/merge_requests/{iid}/approval_state")
    if response.status_code in (403, 404):
        return describe(response)
    if response.status_code != 200:
        raise ForgeError(describe(response), response.status_code)
    body = json_body(response)
    rules = [
        {
            "name": rule.get("name"),
            "rule_type": rule.get("rule_type"),
            "approvals_required": rule.get("approvals_required"),
            "approved": rule.get("approved"),
            "approved_by": sorted(filter(None, (_user(u) for u in rule.get("approved_by") or []))),
        }
        for rule in body.get("rules") or []
        if isinstance(rule, dict)
    ]
    return {
        "approval_rules": rules,
        "approval_rules_overwritten": body.get("approval_rules_overwritten"),
    }


def _mr_commit(c: dict[str, Any]) -> dict[str, Any]:
    """Who wrote and who committed one commit of a merge request, by name and e-mail."""
    return {
        "sha": c.get("id"),
        "authors": sorted(
            {
                (c.get("author_name") or "").strip().casefold(),
                (c.get("committer_name") or "").strip().casefold(),
                *(name for name, _ in co_authors(c.get("message") or "")),
            }
            - {""}
        ),
    }


def _merge_requests(
    client: ForgeClient, pid: str, branch: str, history: History | None
) -> dict[str, Any]:
    """Merged merge requests into the branch, the commits they explain, their approvals and
    commits: every request within one budget. Once it is spent (or the rate limit asks for too
    long a wait), the commits not explained by a merge request read in full are listed as not
    looked up, and where the listing stopped is recorded as its cursor."""
    if history is None:
        raise ForgeError("the branch history could not be read, so commits cannot be matched")
    budget = Budget.from_env()
    mainline = [c["sha"] for c in history.commits]
    wanted = set(mainline)
    mrs: dict[int, dict[str, Any]] = {}
    commit_mrs: dict[str, set[int]] = {}

    def take(mr: dict[str, Any], sha: str) -> None:
        mrs.setdefault(mr["iid"], _merge_request(mr))
        commit_mrs.setdefault(sha, set()).add(mr["iid"])

    params = {
        "state": "merged",
        "target_branch": branch,
        "updated_after": since_param(history.since),
        "order_by": "updated_at",
        "sort": "desc",
        "per_page": 100,
    }
    for page in client.pages(f"/projects/{pid}/merge_requests", params, budget, listing=True):
        for mr in page:
            # merge commit, squash commit, or (fast-forward merges) the head itself
            for key in ("merge_commit_sha", "squash_commit_sha", "sha"):
                if mr.get(key) in wanted:
                    take(mr, mr[key])
    complete = budget.stopped is None
    unmatched = [sha for sha in mainline if sha not in commit_mrs]
    looked_up: list[str] = []
    if complete:
        for sha in unmatched[:MAX_COMMIT_LOOKUPS]:
            try:
                found = client.all(
                    f"/projects/{pid}/repository/commits/{sha}/merge_requests", None, budget
                )
            except ForgeError as exc:
                if not exc.rate_limited:
                    raise
                budget.stop(str(exc))
            if budget.stopped is not None:
                break
            looked_up.append(sha)
            for mr in found:
                if mr.get("state") == "merged" and mr.get("target_branch") == branch:
                    take(mr, sha)
    asked = set(looked_up)
    skipped = {sha for sha in unmatched if sha not in asked}
    incomplete: set[int] = set()
    rules_unavailable: str | None = None  # why the projects' approval rules cannot be read
    for iid, mr in mrs.items():
        try:
            if not budget.take():
                incomplete.add(iid)
                continue
            approvals = client.get_json(f"/projects/{pid}/merge_requests/{iid}/approvals")
            commits = client.all(
                f"/projects/{pid}/merge_requests/{iid}/commits", {"per_page": 100}, budget
            )
            if rules_unavailable is None:
                state = _approval_state(client, pid, iid, budget)
                if isinstance(state, str):
                    rules_unavailable = state
                else:
                    mr.update(state)
        except ForgeError as exc:
            if not exc.rate_limited:
                raise
            budget.stop(str(exc))
        if budget.stopped is not None:
            incomplete.add(iid)
            continue
        approvers = [a.get("user") or {} for a in approvals.get("approved_by") or []]
        mr["approved_by"] = sorted(filter(None, (_user(u) for u in approvers)))
        # Display names: GitLab shows no e-mail of an approver, so names are what ties an
        # approver to the commits of the change.
        mr["approver_names"] = {
            u["username"]: u.get("name") or "" for u in approvers if u.get("username")
        }
        # When each approval was given (newer GitLab versions say), and which approvers are
        # bot accounts: neither an approval after the merge nor a bot's covers the change.
        mr["approved_at"] = {
            _user(a.get("user")): a["approved_at"]
            for a in approvals.get("approved_by") or []
            if _user(a.get("user")) and a.get("approved_at")
        }
        mr["approver_bots"] = sorted(u["username"] for u in approvers if _is_bot(u))
        mr["approvals_required"] = approvals.get("approvals_required")
        mr["commits"] = [_mr_commit(c) for c in commits]
    # A merge request whose approvals or commits were not read explains nothing.
    for sha, iids in list(commit_mrs.items()):
        iids -= incomplete
        if not iids:
            del commit_mrs[sha]
            skipped.add(sha)
    return {
        "branch": branch,
        "period": {"since": since_param(history.since), "until": since_param(history.until)},
        "merge_requests": [mrs[i] for i in sorted(mrs) if i not in incomplete],
        "commits": {sha: sorted(iids) for sha, iids in sorted(commit_mrs.items())},
        "looked_up": sorted(looked_up),
        "not_looked_up": sorted(skipped),
        "approval_rules_unavailable": rules_unavailable,
        "collection": budget.summary("rest", complete),
    }


def collect_gitlab(
    repo: Repository,
    writer: SnapshotWriter,
    now: dt.datetime,
    history: History | None,
    ttl: int = TTL,
) -> None:
    session = open_session(GITLAB, repo, writer, now, ttl)
    if session is None:
        return
    client, ids, kw = session.client, session.ids, session.record_kw
    project = session.project
    pid = quote(project, safe="")
    branch = repo.branch
    with client:
        record(writer, ids[0], lambda: _project(client, pid), query=f"GET /projects/{pid}", **kw)
        record(
            writer,
            ids[1],
            lambda: _protected(client, pid, branch, history, now),
            query=(
                f"GET /projects/{pid}/protected_branches; "
                f"GET /projects/{pid}/audit_events?created_after=...&created_before=..."
            ),
            **kw,
        )
        record(
            writer,
            ids[2],
            lambda: _approvals(client, pid),
            query=f"GET /projects/{pid}/approvals; GET /projects/{pid}/approval_rules",
            **kw,
        )
        record(
            writer,
            ids[3],
            lambda: _merge_requests(client, pid, branch, history),
            query=(
                f"GET /projects/{pid}/merge_requests?state=merged&target_branch={branch}; "
                f"GET /projects/{pid}/repository/commits/{{sha}}/merge_requests; "
                f"GET /projects/{pid}/merge_requests/{{iid}}/approvals"
            ),
            **kw,
        )
