"""The forge's own record of what was pushed to the branch, and when: GitHub's repository
activity (`GET /repos/{o}/{r}/activity`), GitLab's push events (`GET /projects/:id/events`).
Item `<forge>/<repo>/pushes`.

Commit dates are the author's to choose; the forge's push times are not. So where the record
reaches back past the period's start, it shows exactly where the branch stood when the period
began, and every push of the period names a head the branch had: one that is no longer on the
branch was rewritten away, whatever a snapshot happened to see.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from generator.collect.forge import (
    Budget,
    ForgeClient,
    ForgeError,
    ForgeKind,
    open_session,
    record,
    since_param,
)
from generator.collect.window import Bound
from generator.models.sources import Forge, Repository
from generator.snapshot.store import SnapshotWriter

ZERO = frozenset({"0" * 40, "0" * 64})
# GitLab's events can only be asked for after a date: how far before the period the listing
# goes to find where the branch stood when it began.
GITLAB_LOOKBACK = dt.timedelta(days=92)


@dataclass(frozen=True)
class Push:
    at: dt.datetime
    before: str | None  # None: the push created the branch
    after: str | None  # None: the push deleted the branch
    kind: str  # push, force_push, branch_creation, branch_deletion, pr_merge, merge_queue_merge
    actor: str | None

    def record(self) -> dict[str, Any]:
        return {
            "at": since_param(self.at),
            "before": self.before,
            "after": self.after,
            "kind": self.kind,
            "actor": self.actor,
        }


@dataclass(frozen=True)
class StartHead:
    """Where the branch stood when the period began, by the forge's record. `known`: the record
    reaches back that far; otherwise `sha` is only the old head of the period's first listed
    push (a lower bound of what came later). `sha` None: from the root (the branch did not
    exist then)."""

    known: bool
    sha: str | None


@dataclass(frozen=True)
class PushLog:
    """The pushes to the branch the forge listed, oldest first. `covers_from`: every push from
    then on is listed (None: not even that is known, e.g. the listing was cut short)."""

    forge: str  # GitHub | GitLab
    pushes: list[Push]
    covers_from: dt.datetime | None
    complete: bool
    stopped: str | None = None
    # GitLab: the newest push of many branches at once, recorded naming none: the branch may
    # have moved then, unseen.
    bulk: dt.datetime | None = None

    def head_at(self, at: dt.datetime) -> StartHead:
        """Where the branch stood at AT by this record. Only a listed push shows a head: a
        record with no push at all proves nothing (a push the forge has not listed yet, or
        listed in a form that does not name the branch, looks the same)."""
        later = self.since(at)
        if self.covers_from is None or self.covers_from > at:
            # Whatever came before, the commits above the first listed push's old head came
            # later; where the branch stood before that is not known.
            return StartHead(False, later[0].before if later else None)
        covered = [p for p in self.pushes if p.at >= self.covers_from]
        earlier = [p for p in covered if p.at < at]
        later = [p for p in covered if p.at >= at]
        if earlier:
            return StartHead(True, earlier[-1].after)
        if later:
            return StartHead(True, later[0].before)
        return StartHead(False, None)

    def since(self, at: dt.datetime) -> list[Push]:
        return [p for p in self.pushes if p.at >= at]


def _sha(value: Any) -> str | None:
    return None if not isinstance(value, str) or not value or value in ZERO else value


def _when(value: Any) -> dt.datetime | None:
    try:
        at = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def github_pushes(
    client: ForgeClient, project: str, branch: str, since: dt.datetime, budget: Budget
) -> PushLog:
    """Newest first, until a push from before SINCE is listed (where the period began) or the
    listing ends. GitHub keeps a limited span of activity, so an ended listing covers only
    from its oldest entry on, unless that entry created the branch."""
    params = {"ref": f"refs/heads/{branch}", "direction": "desc", "per_page": 100}
    pushes: list[Push] = []
    reached = False
    for page in client.pages(f"/repos/{project}/activity", params, budget, listing=True):
        for entry in page:
            at = _when(entry.get("timestamp")) if isinstance(entry, dict) else None
            if at is None:
                raise ForgeError(f"an activity of {project} has no readable timestamp")
            actor = entry.get("actor")
            pushes.append(
                Push(
                    at,
                    _sha(entry.get("before")),
                    _sha(entry.get("after")),
                    str(entry.get("activity_type") or "push"),
                    actor.get("login") if isinstance(actor, dict) else None,
                )
            )
            reached = reached or at < since
        if reached:
            break
    pushes.reverse()  # listed newest first: same-second pushes keep their order, oldest first
    pushes.sort(key=lambda p: p.at)
    complete = budget.stopped is None
    covers: dt.datetime | None = None
    if complete and pushes:
        first = pushes[0]
        # The oldest entry that created the branch: nothing was pushed to it before.
        created = first.kind == "branch_creation" or first.before is None
        covers = dt.datetime.min.replace(tzinfo=dt.UTC) if created else first.at
    return PushLog("GitHub", pushes, covers, complete, budget.stopped)


def gitlab_pushes(
    client: ForgeClient, pid: str, branch: str, since: dt.datetime, budget: Budget
) -> PushLog:
    """GitLab's push events of the project since GITLAB_LOOKBACK before the period, newest
    first, until a push to the branch from before SINCE is listed. GitLab keeps events for
    years, so a listing that ends covers everything from its lower date on."""
    lower = (since - GITLAB_LOOKBACK).date()
    params = {
        "action": "pushed",
        "after": (lower - dt.timedelta(days=1)).isoformat(),  # "after" excludes its date
        "sort": "desc",
        "per_page": 100,
    }
    pushes: list[Push] = []
    reached = False
    bulk: dt.datetime | None = None  # the newest push of many refs at once
    for page in client.pages(f"/projects/{pid}/events", params, budget, listing=True):
        for event in page:
            data = event.get("push_data") if isinstance(event, dict) else None
            at = _when(event.get("created_at")) if isinstance(data, dict) else None
            if at is None or not isinstance(data, dict):
                raise ForgeError(f"a push event of {pid} has no readable push_data or created_at")
            if data.get("ref") is None:
                # GitLab records a push of more refs than push_event_activities_limit as one
                # event naming none: of branches, it may have moved this one, unseen.
                if data.get("ref_type") in (None, "branch"):
                    bulk = max(bulk or at, at)
                continue
            if data.get("ref_type") != "branch" or data.get("ref") != branch:
                continue
            kind = {"created": "branch_creation", "removed": "branch_deletion"}.get(
                str(data.get("action")), "push"
            )
            pushes.append(
                Push(
                    at,
                    _sha(data.get("commit_from")),
                    _sha(data.get("commit_to")),
                    kind,
                    event.get("author_username"),
                )
            )
            reached = reached or at < since
        if reached:
            break
    pushes.reverse()
    pushes.sort(key=lambda p: p.at)
    complete = budget.stopped is None
    covers = dt.datetime.combine(lower, dt.time(), dt.UTC) if complete else None
    if covers is not None and bulk is not None:
        # Only after the newest bulk push are the branch's pushes all known; those before it
        # still name heads the branch had.
        covers = max(covers, bulk + dt.timedelta(seconds=1))
    return PushLog("GitLab", pushes, covers, complete, budget.stopped, bulk)


def push_bound(log: PushLog, since: dt.datetime) -> Bound | None:
    """Where the forge's record shows the period began on the branch: exactly, when the record
    reaches back past the period's start; otherwise the old head of the period's first listed
    push, below which it cannot see."""
    start = log.head_at(since)
    by = f"{log.forge}'s push record"
    if start.known:
        if start.sha is None:
            return Bound(by, None, f"{by}: the branch was created in the period", True)
        return Bound(by, start.sha, f"{by}: where the branch stood when the period began", True)
    if start.sha is None:
        return None
    first = log.since(since)[0]
    how = (
        f"{by}: where the branch stood before its first push listed in the period "
        f"({since_param(first.at)}); the record does not reach back to the period's start"
    )
    return Bound(by, start.sha, how, False)


def _data(log: PushLog, since: dt.datetime) -> dict[str, Any]:
    start = log.head_at(since)
    return {
        "forge": log.forge,
        "pushes": [p.record() for p in log.pushes],
        "covers_from": since_param(log.covers_from)
        if log.covers_from and log.covers_from.year > 1
        else ("the branch's creation" if log.covers_from else None),
        "complete": log.complete,
        "stopped": log.stopped,
        "period_since": since_param(since),
        "bulk_push": since_param(log.bulk) if log.bulk else None,
        "head_at_period_start": dataclasses.asdict(start),
    }


def collect_pushes(
    repo: Repository,
    writer: SnapshotWriter,
    now: dt.datetime,
    since: dt.datetime,
    ttl: int,
) -> PushLog | None:
    """Record the forge's pushes to the repository's branch; the log, or None when the forge
    could not be asked (the item says why)."""
    from generator.collect.github import GITHUB
    from generator.collect.gitlab import GITLAB

    kind: ForgeKind = GITHUB if repo.forge is Forge.github else GITLAB
    session = open_session(dataclasses.replace(kind, items=("pushes",)), repo, writer, now, ttl)
    if session is None:
        return None
    found: list[PushLog] = []

    def fetch() -> dict[str, Any]:
        budget = Budget.from_env()
        if repo.forge is Forge.github:
            log = github_pushes(session.client, session.project, repo.branch, since, budget)
        else:
            pid = quote(session.project, safe="")
            log = gitlab_pushes(session.client, pid, repo.branch, since, budget)
        found.append(log)
        return _data(log, since)

    if repo.forge is Forge.github:
        query = f"GET /repos/{session.project}/activity?ref=refs/heads/{repo.branch}"
    else:
        query = f"GET /projects/{quote(session.project, safe='')}/events?action=pushed"
    with session.client:
        record(writer, session.ids[0], fetch, query=query, **session.record_kw)
    return found[0] if found else None
