"""`git.reviewed-changes`: every change that reached the protected branch in the audit period was
approved by at least N people other than its author.

Approvals come from the forge (GitHub pull request reviews, GitLab merge request approvals) when
they were collected, and otherwise from the commit's `Reviewed-by:` / `Approved-by:` trailers.
The authors of a change are the pull request's author, or for a merge commit every author (and
co-author) of the commits it brought in, or for any other commit its author and co-authors.
A history rewrite of the branch since the previous snapshot also fails the check.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from generator.checks.context import CheckContext
from generator.checks.git_common import (
    MAX_LISTED,
    BadParams,
    bad_params,
    day,
    int_param,
    per_repository,
    person,
    short,
    unusable,
)
from generator.models.sources import Forge, Repository
from generator.results import CheckResult, ResultStatus

APPROVAL_TRAILERS = ("Reviewed-by", "Approved-by")
_NOREPLY = re.compile(r"^(?:\d+\+)?([a-z0-9-]+)@users\.noreply\.github\.com$", re.IGNORECASE)

OK = "ok"
DIRECT = "directly pushed"
SELF = "self-approved"
UNREVIEWED = "unreviewed"


@dataclass(frozen=True)
class Change:
    """One pull/merge request: who wrote it, who approved it."""

    ref: str  # "pull request #12", "merge request !7"
    authors: frozenset[str]  # forge user names, casefolded
    approvers: tuple[str, ...]  # forge user names whose approval stands


@dataclass
class ForgeView:
    by_commit: dict[str, list[Change]] = field(default_factory=dict)
    not_looked_up: set[str] = field(default_factory=set)


def _latest_approvers(reviews: list[dict[str, Any]]) -> list[str]:
    """GitHub: a reviewer approves when their latest deciding review is APPROVED."""
    state: dict[str, str] = {}
    ordered = sorted(reviews, key=lambda r: (r.get("submitted_at") or "", r.get("id") or 0))
    for review in ordered:
        who, what = review.get("reviewer"), review.get("state")
        if who and what in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            state[who] = what
    return sorted(who for who, what in state.items() if what == "APPROVED")


def _noreply_logins(commit: dict[str, Any]) -> set[str]:
    emails = [commit["author"].get("email", "")]
    for side in (commit.get("merged") or {}).get("commits", []):
        emails.append(side["author"].get("email", ""))
    return {m.group(1).casefold() for e in emails if (m := _NOREPLY.match(e or ""))}


def _github_view(data: dict[str, Any], commits: dict[str, dict[str, Any]]) -> ForgeView:
    pulls = {p["number"]: p for p in data.get("pulls", [])}
    view = ForgeView(not_looked_up=set(data.get("not_looked_up", [])))
    for sha, numbers in data.get("commits", {}).items():
        extra = _noreply_logins(commits[sha]) if sha in commits else set()
        for number in numbers:
            pull = pulls.get(number)
            if pull is None:
                continue
            authors = {pull["author"].casefold()} if pull.get("author") else set()
            view.by_commit.setdefault(sha, []).append(
                Change(
                    f"pull request #{number}",
                    frozenset(authors | extra),
                    tuple(_latest_approvers(pull.get("reviews", []))),
                )
            )
    return view


def _gitlab_view(data: dict[str, Any]) -> ForgeView:
    mrs = {m["iid"]: m for m in data.get("merge_requests", [])}
    view = ForgeView(not_looked_up=set(data.get("not_looked_up", [])))
    for sha, iids in data.get("commits", {}).items():
        for iid in iids:
            mr = mrs.get(iid)
            if mr is None:
                continue
            authors = {mr["author"].casefold()} if mr.get("author") else set()
            view.by_commit.setdefault(sha, []).append(
                Change(
                    f"merge request !{iid}", frozenset(authors), tuple(mr.get("approved_by", []))
                )
            )
    return view


# ---------------------------------------------------------------------------------------------
# trailers


def _ident(text: str) -> tuple[str, str]:
    """("name", "email") of "Name <email>", casefolded; ("name", "") without an address."""
    text = text.strip()
    if text.endswith(">") and "<" in text:
        name, _, email = text[:-1].rpartition("<")
        return name.strip().casefold(), email.strip().casefold()
    return text.casefold(), ""


def _authors(commit: dict[str, Any]) -> tuple[set[str], set[str]]:
    """E-mail addresses and names of the people who wrote a change, casefolded."""
    emails: set[str] = set()
    names: set[str] = set()
    people: list[dict[str, Any]] = []
    merged = commit.get("merged")
    if merged and merged.get("commits"):
        for side in merged["commits"]:
            people.append(side["author"])
            people.extend(side.get("co_authors", ()))
    else:
        people.append(commit["author"])
    for p in people:
        if p.get("email"):
            emails.add(p["email"].casefold())
        if p.get("name"):
            names.add(p["name"].casefold())
    for value in commit.get("trailers", {}).get("Co-authored-by", ()):
        name, email = _ident(value)
        if email:
            emails.add(email)
        if name:
            names.add(name)
    return emails, names


def _trailer_verdict(commit: dict[str, Any], n: int) -> tuple[str, str]:
    trailers = commit.get("trailers") or {}
    approvals: dict[str, tuple[str, str, str]] = {}  # one vote per person
    for key in APPROVAL_TRAILERS:
        for value in trailers.get(key, ()):
            name, email = _ident(value)
            approvals.setdefault(email or name, (name, email, value))
    is_merge = len(commit.get("parents", ())) > 1
    how = "merge-commit trailers" if is_merge else "commit trailers"
    if not approvals:
        if is_merge:
            return UNREVIEWED, f"0 approval(s) by others in {how}, {n} required"
        return DIRECT, "no pull request, no Reviewed-by/Approved-by trailer"
    emails, names = _authors(commit)
    others, selves = [], []
    for name, email, value in approvals.values():
        mine = (email and email in emails) or (name and name in names)
        (selves if mine else others).append(value)
    if len(others) >= n:
        return OK, how
    if selves:
        return SELF, f"approved only by an author of the change ({', '.join(selves)}) in {how}"
    return UNREVIEWED, f"{len(others)} approval(s) by others in {how}, {n} required"


def _forge_verdict(changes: list[Change], n: int) -> tuple[str, str]:
    verdicts = []
    for change in changes:
        others = [a for a in change.approvers if a.casefold() not in change.authors]
        selves = [a for a in change.approvers if a.casefold() in change.authors]
        if len(others) >= n:
            return OK, change.ref
        if selves:
            verdicts.append(
                (SELF, f"{change.ref} approved only by its author ({', '.join(selves)})")
            )
        else:
            verdicts.append(
                (UNREVIEWED, f"{change.ref} has {len(others)} approval(s) by others, {n} required")
            )
    return verdicts[0]


# ---------------------------------------------------------------------------------------------


def _describe(commit: dict[str, Any]) -> str:
    """Which commit, whose work, who put it on the branch and when."""
    when = day(commit["committer"].get("date"))
    subject = commit.get("subject", "")
    merged = commit.get("merged")
    if merged is not None:
        writers = sorted({person(c["author"]) for c in merged.get("commits", [])})
        work = f" of work by {', '.join(writers)}" if writers else ""
        return (
            f'merge {commit["sha"]} "{subject}"{work}, merged {when} by '
            f"{person(commit['committer'])}"
        )
    by = person(commit["author"])
    pushed = person(commit["committer"])
    return f'commit {commit["sha"]} "{subject}" by {by}, committed {when}' + (
        f" by {pushed}" if pushed != by else ""
    )


def _rewrite(ctx: CheckContext, repo: Repository, branch: dict[str, Any], ev: list[str]):
    previous = branch.get("previous") or {}
    if previous.get("on_branch") is not False:
        return None
    dropped = previous.get("dropped") or []
    more = "+" if previous.get("dropped_truncated") else ""
    what = (
        f"{len(dropped)}{more} commit(s) that were on it are gone: "
        + ", ".join(short(s) for s in dropped[:20])
        + (" ..." if len(dropped) > 20 else "")
        if dropped
        else previous.get("detail", "it is not an ancestor of the current head")
    )
    return ctx.result(
        f"{repo.name}@{short(previous.get('head') or '')}",
        ResultStatus.failed,
        f"the history of {branch.get('branch')} was rewritten (force push) since snapshot "
        f"{previous.get('snapshot')}: its head then, {short(previous.get('head') or '')}, is no "
        f"longer on the branch; {what}",
        ev,
    )


def _repository(ctx: CheckContext, repo: Repository, n: int) -> list[CheckResult]:
    ids = [f"git/{repo.name}/commits", f"git/{repo.name}/branch"]
    reads = [ctx.read(i) for i in ids]
    bad = unusable(ctx, repo.name, reads)
    if bad is not None:
        return [bad]
    data, branch = reads[0].data, reads[1].data
    commits: list[dict[str, Any]] = data.get("commits", [])
    by_sha = {c["sha"]: c for c in commits}
    evidence = list(ids)
    notes: list[str] = []
    view: ForgeView | None = None
    if repo.forge is not None:
        kind = "pull-requests" if repo.forge is Forge.github else "merge-requests"
        fid = f"{repo.forge.value}/{repo.name}/{kind}"
        evidence.append(fid)
        fread = ctx.read(fid)
        if fread.usable:
            view = (
                _github_view(fread.data, by_sha)
                if repo.forge is Forge.github
                else _gitlab_view(fread.data)
            )
        else:
            detail = fread.item.detail if fread.item is not None and fread.item.detail else ""
            notes.append(
                f"forge reviews are not available ({fread.state.value}"
                + (f": {detail}" if detail else "")
                + "), so approvals were read from commit trailers"
            )
    counts: Counter[str] = Counter()
    how_counts: Counter[str] = Counter()
    offenders: list[CheckResult] = []
    for commit in commits:
        changes = view.by_commit.get(commit["sha"]) if view is not None else None
        kind, how = _forge_verdict(changes, n) if changes else _trailer_verdict(commit, n)
        counts[kind] += 1
        if kind == OK:
            how_counts["forge review" if changes else "trailers"] += 1
            continue
        if len(offenders) < MAX_LISTED:
            offenders.append(
                ctx.result(
                    f"{repo.name}@{short(commit['sha'])}",
                    ResultStatus.failed,
                    f"{kind}: {_describe(commit)}: {how}",
                    evidence,
                )
            )
    if view is not None and view.not_looked_up:
        notes.append(
            f"{len(view.not_looked_up)} commit(s) matched no listed pull request and were past "
            "the per-commit look-up bound, so they were judged by their trailers"
        )
    period = data.get("period", {})
    where = (
        f"{data.get('branch')} of {repo.name} from {day(period.get('since'))} "
        f"to {day(period.get('until'))}"
    )
    total = len(commits)
    failing = total - counts[OK]
    rewrite = _rewrite(ctx, repo, branch, evidence)
    if failing == 0:
        ways = ", ".join(f"{v} by {k}" for k, v in sorted(how_counts.items()))
        reason = (
            f"all {total} change(s) that reached {where} were approved by at least {n} "
            f"person(s) other than the author" + (f" ({ways})" if ways else "")
        )
        if total == 0:
            reason = f"no change reached {where}"
    else:
        parts = ", ".join(f"{counts[k]} {k}" for k in (DIRECT, SELF, UNREVIEWED) if counts[k])
        reason = (
            f"{failing} of {total} change(s) that reached {where} were not approved by at least "
            f"{n} person(s) other than the author: {parts}"
        )
        if failing > MAX_LISTED:
            reason += f" (the first {MAX_LISTED} are listed one by one)"
    if rewrite is not None:
        reason += "; and the branch history was rewritten since the previous snapshot"
    if notes:
        reason += "; " + "; ".join(notes)
    status = ResultStatus.passed if failing == 0 and rewrite is None else ResultStatus.failed
    summary = ctx.result(repo.name, status, reason, evidence)
    return [summary, *([rewrite] if rewrite else []), *offenders]


def check(ctx: CheckContext) -> list[CheckResult]:
    try:
        n = int_param(ctx, "approvals", 1)
    except BadParams as exc:
        return bad_params(ctx, exc)
    return per_repository(ctx, lambda repo: _repository(ctx, repo, n))
