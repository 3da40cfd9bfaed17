"""`git.reviewed-changes`: every change that reached the protected branch in the audit period was
approved by at least N people other than its author.

Approvals come from the forge (GitHub pull request reviews, GitLab merge request approvals). A
repository with a forge whose data is missing or in error is not judged at all: commit trailers
are no substitute. `Reviewed-by:` / `Approved-by:` trailers count only where the repository sets
`accept_trailer_approvals: true`, and every result that rests on them says so.
The authors of a change are the pull request's author, or for a merge commit every author (and
co-author) of the commits it brought in, or for any other commit its author and co-authors.
A rewrite of the branch that any snapshot of the period saw also fails the check.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
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
DIRECT = "directly pushed"  # only when the forge shows no pull/merge request for the commit
SELF = "self-approved"
UNREVIEWED = "unreviewed"  # the forge shows a pull/merge request without enough approvals
NONE = "no approval evidence"
# Review author associations that come with write access to the repository.
WRITERS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
CLAIMED = "with an approval claimed in a commit trailer, not verified by a forge"
FORGE = "approved in a forge review"


@dataclass(frozen=True)
class Change:
    """One pull/merge request: who wrote it, who approved it."""

    ref: str  # "pull request #12", "merge request !7"
    authors: frozenset[str]  # forge user names, casefolded
    approvers: tuple[str, ...]  # forge user names whose approval stands
    discounted: tuple[str, ...] = ()  # approvals that do not count, and why
    unmatched: tuple[str, ...] = ()  # authors (e-mails) no forge account could be matched to
    unmet: tuple[str, ...] = ()  # the request's own approval rules it was merged without


@dataclass
class ForgeView:
    by_commit: dict[str, list[Change]] = field(default_factory=dict)
    not_looked_up: set[str] = field(default_factory=set)
    # Commits the forge was asked about one by one: only for these does no answer mean that no
    # pull/merge request brought them (a commit a rewrite dropped was never asked about).
    looked_up: set[str] = field(default_factory=set)


def _latest_approvers(pull: dict[str, Any]) -> tuple[list[str], list[str]]:
    """GitHub: a reviewer approves when their latest deciding review is APPROVED, and that
    approval counts only when it covers what was merged: by a person (not a bot account),
    submitted before the merge, on the pull request's final head commit. Returns the approvers
    that count and why the others do not."""
    state: dict[str, dict[str, Any]] = {}
    reviews = pull.get("reviews", [])
    ordered = sorted(reviews, key=lambda r: (r.get("submitted_at") or "", r.get("id") or 0))
    for review in ordered:
        who, what = review.get("reviewer"), review.get("state")
        if who and what in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            state[who] = review
    merged_at, head = pull.get("merged_at"), pull.get("head_sha")
    counted, discounted = [], []
    for who in sorted(state):
        review = state[who]
        if review.get("state") != "APPROVED":
            continue
        submitted, on = review.get("submitted_at"), review.get("commit_id")
        association = review.get("author_association")
        if who.casefold().endswith("[bot]"):
            discounted.append(f"{who} is a bot account")
        elif association and association not in WRITERS:
            # GitHub's association is the only sign of write access a review carries.
            discounted.append(f"{who} has no write access ({association.lower()})")
        elif merged_at and (not submitted or submitted > merged_at):
            discounted.append(f"{who} approved after the merge")
        elif head and on != head:
            discounted.append(
                f"{who} approved {short(on or 'an unknown commit')}, not the merged head "
                f"{short(head)} (stale)"
            )
        else:
            counted.append(who)
    return counted, discounted


def _noreply_logins(commit: dict[str, Any]) -> set[str]:
    emails = [commit["author"].get("email", "")]
    for side in (commit.get("merged") or {}).get("commits", []):
        emails.append(side["author"].get("email", ""))
    return {m.group(1).casefold() for e in emails if (m := _NOREPLY.match(e or ""))}


# GitHub's committer for merges and edits made in its web interface: not a person who pushed.
_WEB_FLOW = "web-flow"


def _accounts(pulls: list[dict[str, Any]]) -> dict[str, str]:
    """E-mail -> login, from every pull request commit GitHub matched to an account."""
    out: dict[str, str] = {}
    for pull in pulls:
        for c in pull.get("commits") or []:
            for who, email in (("author", "author_email"), ("committer", "committer_email")):
                if c.get(who) and c.get(email) and c[who] != _WEB_FLOW:
                    out.setdefault(c[email], c[who].casefold())
    return out


def _pull_authors(pull: dict[str, Any], accounts: dict[str, str]) -> tuple[set[str], list[str]]:
    """The logins of everyone who wrote, co-wrote or pushed a commit of the pull request, and
    the e-mails of those no account could be matched to."""
    logins: set[str] = set()
    unmatched: list[str] = []
    for c in pull.get("commits") or []:
        for who, email in (("author", "author_email"), ("committer", "committer_email")):
            login = c.get(who)
            if login == _WEB_FLOW:
                continue
            if login:
                logins.add(login.casefold())
            elif c.get(email):
                unmatched.append(c[email])
        for email in c.get("co_authors") or []:
            match = _NOREPLY.match(email)
            login = match.group(1).casefold() if match else accounts.get(email)
            if login:
                logins.add(login)
            else:
                unmatched.append(email)
    return logins, sorted(set(unmatched))


def _github_view(data: dict[str, Any], commits: dict[str, dict[str, Any]]) -> ForgeView:
    pulls = {p["number"]: p for p in data.get("pulls", [])}
    accounts = _accounts(list(pulls.values()))
    view = ForgeView(
        not_looked_up=set(data.get("not_looked_up", [])),
        looked_up=set(data.get("looked_up", [])),
    )
    for sha, numbers in data.get("commits", {}).items():
        extra = _noreply_logins(commits[sha]) if sha in commits else set()
        for number in numbers:
            pull = pulls.get(number)
            if pull is None:
                continue
            authors = {pull["author"].casefold()} if pull.get("author") else set()
            writers, unmatched = _pull_authors(pull, accounts)
            counted, discounted = _latest_approvers(pull)
            view.by_commit.setdefault(sha, []).append(
                Change(
                    f"pull request #{number}",
                    frozenset(authors | extra | writers),
                    tuple(counted),
                    tuple(discounted),
                    tuple(unmatched),
                )
            )
    return view


def _gitlab_approvers(mr: dict[str, Any]) -> tuple[list[str], list[str]]:
    """GitLab: the approvals that count, and why the others do not: a bot account's, or one
    given after the merge (where GitLab says when it was given)."""
    bots = set(mr.get("approver_bots") or [])
    when = mr.get("approved_at") or {}
    merged = mr.get("merged_at")
    counted, discounted = [], []
    for who in mr.get("approved_by", []):
        if who in bots:
            discounted.append(f"{who} is a bot account")
        elif merged and when.get(who) and _instant(when[who]) > _instant(merged):
            discounted.append(f"{who} approved after the merge")
        else:
            counted.append(who)
    return counted, discounted


def _instant(text: str) -> str:
    """An RFC 3339 time in UTC as comparable text (GitLab writes milliseconds and offsets)."""
    try:
        at = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return at.astimezone(dt.UTC).isoformat()


def _gitlab_view(data: dict[str, Any]) -> ForgeView:
    mrs = {m["iid"]: m for m in data.get("merge_requests", [])}
    view = ForgeView(
        not_looked_up=set(data.get("not_looked_up", [])),
        looked_up=set(data.get("looked_up", [])),
    )
    for sha, iids in data.get("commits", {}).items():
        for iid in iids:
            mr = mrs.get(iid)
            if mr is None:
                continue
            authors = {mr["author"].casefold()} if mr.get("author") else set()
            # An approver whose name is that of an author, co-author or committer of one of the
            # request's commits wrote part of the change.
            writers = {n for c in mr.get("commits") or [] for n in c.get("authors") or []}
            names = mr.get("approver_names") or {}
            authors |= {
                who.casefold()
                for who in mr.get("approved_by", [])
                if (names.get(who) or "").strip().casefold() in writers
            }
            counted, discounted = _gitlab_approvers(mr)
            unmet = tuple(
                f"{r.get('name')} ({r.get('rule_type')}, {r.get('approvals_required')} required)"
                for r in mr.get("approval_rules") or []
                if isinstance(r, dict) and r.get("approved") is False
            )
            view.by_commit.setdefault(sha, []).append(
                Change(
                    f"merge request !{iid}",
                    frozenset(authors),
                    tuple(counted),
                    tuple(discounted),
                    unmet=unmet,
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
        return NONE, "no Reviewed-by/Approved-by trailer"
    emails, names = _authors(commit)
    others, selves = [], []
    for name, email, value in approvals.values():
        mine = (email and email in emails) or (name and name in names)
        (selves if mine else others).append(value)
    if len(others) >= n:
        return OK, how
    if selves:
        return SELF, f"approved only by an author of the change ({', '.join(selves)}) in {how}"
    return NONE, f"{len(others)} approval(s) by others in {how}, {n} required"


def _forge_verdict(changes: list[Change], n: int) -> tuple[str, str]:
    verdicts = []
    for change in changes:
        others = [a for a in change.approvers if a.casefold() not in change.authors]
        selves = [a for a in change.approvers if a.casefold() in change.authors]
        if change.unmet:
            # Merged without what its own rules ask (code owners, a team's approval...).
            verdicts.append(
                (
                    UNREVIEWED,
                    f"{change.ref} was merged without meeting its approval rule(s) "
                    f"{'; '.join(change.unmet)}",
                )
            )
            continue
        if len(others) >= n and change.unmatched:
            # An approver could be one of them under an account we cannot see.
            verdicts.append(
                (
                    NONE,
                    f"{change.ref}: its author(s) {', '.join(change.unmatched)} match no forge "
                    "account, so no approval can be shown to be by someone else",
                )
            )
            continue
        if len(others) >= n:
            return OK, change.ref
        why = f"; not counted: {'; '.join(change.discounted)}" if change.discounted else ""
        if selves:
            verdicts.append(
                (SELF, f"{change.ref} approved only by its author ({', '.join(selves)}){why}")
            )
        else:
            verdicts.append(
                (
                    UNREVIEWED,
                    f"{change.ref} has {len(others)} approval(s) by others, {n} required{why}",
                )
            )
    return verdicts[0]


def _verdict(
    commit: dict[str, Any], view: ForgeView | None, trailers_ok: bool, n: int
) -> tuple[str, str, str]:
    """(verdict, why, what the approval rests on) for one change."""
    if (commit.get("merged") or {}).get("complete") is False:
        # Its authors are not all known, so no approval can be shown to be by someone else.
        return NONE, "the commits this merge brought in were not all read", ""
    changes = view.by_commit.get(commit["sha"]) if view is not None else None
    if changes:
        kind, how = _forge_verdict(changes, n)
        return kind, how, FORGE
    if trailers_ok:
        kind, how = _trailer_verdict(commit, n)
        if kind == OK:
            return kind, how, CLAIMED
        if kind == NONE and view is not None and commit["sha"] in view.looked_up:
            return DIRECT, f"the forge shows no pull request for it; {how}", ""
        return kind, how, ""
    if view is None:
        return (
            NONE,
            "no forge is configured, so no approval can be verified (commit trailers count "
            "only with accept_trailer_approvals: true in evidence/sources.yaml)",
            "",
        )
    if commit["sha"] in view.not_looked_up:
        return NONE, "the forge's data for it was not collected (a collection bound ran out)", ""
    if commit["sha"] not in view.looked_up:
        return NONE, "the forge was not asked about it", ""
    return DIRECT, "the forge shows no pull request for it", ""


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


def _dropped(
    ctx: CheckContext,
    repo: Repository,
    rewrite: dict[str, Any],
    judge: Callable[[dict[str, Any]], tuple[str, str, str]],
    ev: list[str],
) -> tuple[str, list[CheckResult]]:
    """The dropped commits a snapshot recorded, judged as any change: a force push does not
    make unreviewed work that was on the branch disappear from the period."""
    records = [r for r in rewrite.get("dropped_records") or [] if isinstance(r, dict)]
    if not records:
        return "", []
    counts: Counter[str] = Counter()
    out = []
    for commit in records:
        kind, how, _ = judge(commit)
        counts[kind] += 1
        if kind != OK and len(out) < MAX_LISTED:
            out.append(
                ctx.result(
                    f"{repo.name}@{short(commit['sha'])} (dropped)",
                    ResultStatus.failed,
                    f"{kind}, then dropped by a force push: {_describe(commit)}: {how}",
                    ev,
                )
            )
    # A merge's side commits are judged with it.
    covered = {r["sha"] for r in records} | {
        c.get("sha") for r in records for c in (r.get("merged") or {}).get("commits", [])
    }
    unknown = sum(1 for sha in rewrite.get("dropped") or [] if sha not in covered)
    parts = sorted(f"{n} {'approved' if k == OK else k}" for k, n in counts.items())
    if unknown > 0:
        parts.append(f"{unknown} not recorded by any snapshot (not judged)")
    return f"; of the dropped commits: {', '.join(parts)}", out


def _rules_unavailable(ctx: CheckContext, repo: Repository) -> str | None:
    """Why GitLab's approval rules of the merge requests were not read, if they were not."""
    read = ctx.read(f"gitlab/{repo.name}/merge-requests")
    return read.data.get("approval_rules_unavailable") if read.usable else None


def _push_record_gap(ctx: CheckContext, repo: Repository) -> str:
    """Why the forge's record of pushes did not show where the period began."""
    if repo.forge is None:
        return ""
    read = ctx.read(f"{repo.forge.value}/{repo.name}/pushes")
    label = "GitHub" if repo.forge is Forge.github else "GitLab"
    if read.item is None:
        return f", and {label}'s push record was not collected"
    if not read.usable:
        detail = read.item.detail or read.state.value
        return f", and {label}'s push record could not be read: {detail}"
    if not read.data.get("complete", True):
        return f", and {label}'s push record was cut short: {read.data.get('stopped')}"
    covers = read.data.get("covers_from")
    if not read.data.get("pushes") or not covers:
        return f", and {label}'s push record lists no push to the branch that shows it"
    if read.data.get("bulk_push") and day(read.data["bulk_push"]) >= day(
        read.data.get("period_since")
    ):
        return (
            f", and {label}'s push record shows nothing before a push of many branches naming "
            f"none on {day(read.data['bulk_push'])}"
        )
    return f", and {label}'s push record reaches back only to {day(covers)}"


def _push_words(push: dict[str, Any]) -> str:
    """'force push on 2026-03-02 by mallory (1a2b3c4d5e6f to 9f8e7d6c5b4a)'"""
    kind = str(push.get("kind") or "push").replace("_", " ")
    by = f" by {push['actor']}" if push.get("actor") else ""
    before, after = push.get("before"), push.get("after")
    moves = (
        f" ({short(before) if before else 'new branch'} to {short(after) if after else 'deleted'})"
    )
    return f"{kind} on {day(push.get('at'))}{by}{moves}"


def _rewrites(
    ctx: CheckContext,
    repo: Repository,
    branch: dict[str, Any],
    ev: list[str],
    judge: Callable[[dict[str, Any]], tuple[str, str, str]] | None = None,
) -> tuple[list[CheckResult], list[CheckResult]]:
    """A failing result for every rewrite of the branch in the period that a snapshot saw, and,
    apart, one for every dropped commit that was not approved."""
    seen: dict[str, dict[str, Any]] = {}
    # The period's record first: it carries the dropped commits' records.
    for rewrite in branch.get("rewrites_in_period") or []:
        if isinstance(rewrite, dict) and rewrite.get("head"):
            seen.setdefault(rewrite["head"], rewrite)
    previous = branch.get("previous") or {}
    if previous.get("on_branch") is False and previous.get("head"):
        seen.setdefault(previous["head"], previous)
    out: list[CheckResult] = []
    extra: list[CheckResult] = []
    for old, rewrite in seen.items():
        dropped = rewrite.get("dropped") or []
        more = "+" if rewrite.get("dropped_truncated") else ""
        what = (
            f"{len(dropped)}{more} commit(s) that were on it are gone: "
            + ", ".join(short(s) for s in dropped[:20])
            + (" ..." if len(dropped) > 20 else "")
            if dropped
            else rewrite.get("detail", "it is not an ancestor of the current head")
        )
        judged, dropped_results = _dropped(ctx, repo, rewrite, judge, ev) if judge else ("", [])
        push = rewrite.get("push")
        if isinstance(push, dict):
            seen_by = f"{rewrite.get('seen_by') or 'the forge'} shows a {_push_words(push)}"
            if rewrite.get("on_branch") is True:
                where = (
                    f"{seen_by}; the commits it replaced are on the branch again, but were not "
                    "for a time"
                )
            else:
                where = f"{seen_by}; {short(old)} is no longer on the branch; {what}"
        else:
            where = (
                f"the head snapshot {rewrite.get('snapshot')} audited, {short(old)}, is no "
                f"longer on the branch; {what}"
            )
        out.append(
            ctx.result(
                f"{repo.name}@{short(old)}",
                ResultStatus.failed,
                f"the history of {branch.get('branch')} was rewritten (force push) in the "
                f"period: {where}{judged}",
                ev,
            )
        )
        extra += dropped_results
    return out, extra


def _repository(ctx: CheckContext, repo: Repository, n: int) -> list[CheckResult]:
    ids = [f"git/{repo.name}/commits", f"git/{repo.name}/branch"]
    reads = [ctx.read(i) for i in ids]
    bad = unusable(ctx, repo.name, reads)
    if bad is not None:
        return [bad]
    data, branch = reads[0].data, reads[1].data
    behind = branch.get("behind_forge")
    if isinstance(behind, dict):
        # The repository read lacks what the forge shows pushed: judged, it would pass on a
        # shorter history than the period's.
        push = behind.get("push") or {}
        if behind.get("bulk_push"):
            why = (
                f"{repo.name} as read may be behind {behind.get('forge')}: its newest push to "
                f"the project, on {day(behind['bulk_push'])}, was recorded as a push of many "
                "branches naming none, so whether this repository holds it cannot be told"
            )
        else:
            why = (
                f"{repo.name} as read is behind {behind.get('forge')}: its newest push to "
                f"{branch.get('branch')}, a {_push_words(push)}, made "
                f"{short(push.get('after') or '')}, which the branch read does not hold"
            )
        fix = "; fetch the repository (and move its branch on) before collecting"
        return [ctx.result(repo.name, ResultStatus.error, why + fix, ids)]
    commits: list[dict[str, Any]] = data.get("commits", [])
    by_sha = {c["sha"]: c for c in commits}
    evidence = list(ids)
    notes: list[str] = []
    view: ForgeView | None = None
    if repo.forge is not None:
        pushes = f"{repo.forge.value}/{repo.name}/pushes"
        if ctx.read(pushes).item is not None:  # snapshots before it was collected lack it
            evidence.append(pushes)
        kind = "pull-requests" if repo.forge is Forge.github else "merge-requests"
        fid = f"{repo.forge.value}/{repo.name}/{kind}"
        evidence.append(fid)
        fread = ctx.read(fid)
        bad = unusable(ctx, repo.name, [fread])
        if bad is not None:
            # Evidence that cannot be read never passes, and trailers are no fallback for it.
            return [
                bad.model_copy(
                    update={
                        "reason": f"{bad.reason}; the approvals of {repo.name} cannot be "
                        "judged without the forge's reviews (commit trailers are no substitute)",
                        "evidence": sorted(set(evidence)),
                    }
                )
            ]
        view = (
            _github_view(fread.data, by_sha)
            if repo.forge is Forge.github
            else _gitlab_view(fread.data)
        )
    counts: Counter[str] = Counter()
    how_counts: Counter[str] = Counter()
    offenders: list[CheckResult] = []
    for commit in commits:
        kind, how, basis = _verdict(commit, view, repo.accept_trailer_approvals, n)
        counts[kind] += 1
        if kind == OK:
            how_counts[basis] += 1
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
    unread_rules = _rules_unavailable(ctx, repo) if repo.forge is Forge.gitlab else None
    if unread_rules:
        notes.append(
            f"GitLab's approval rules of the merge requests could not be read ({unread_rules}), "
            "so only their number of approvals was judged, not whether each rule (code "
            "owners...) was met"
        )
    if view is not None and view.not_looked_up:
        notes.append(
            f"{len(view.not_looked_up)} commit(s) were not looked up on the forge (a collection "
            "bound or budget ran out; see the item's collection record): no approval evidence "
            "for them"
        )
    period = data.get("period", {})
    where = (
        f"{data.get('branch')} of {repo.name} from {day(period.get('since'))} "
        f"to {day(period.get('until'))}"
    )
    total = len(commits)
    failing = total - counts[OK]
    rewrites, dropped = _rewrites(
        ctx,
        repo,
        branch,
        evidence,
        lambda commit: _verdict(commit, view, repo.accept_trailer_approvals, n),
    )
    if failing == 0:
        ways = "; ".join(f"{v} {k}" for k, v in sorted(how_counts.items()))
        reason = (
            f"all {total} change(s) that reached {where} were approved by at least {n} "
            f"person(s) other than the author" + (f" ({ways})" if ways else "")
        )
        if total == 0:
            reason = f"no change reached {where}"
    else:
        parts = ", ".join(f"{counts[k]} {k}" for k in (DIRECT, SELF, UNREVIEWED, NONE) if counts[k])
        reason = (
            f"{failing} of {total} change(s) that reached {where} were not approved by at least "
            f"{n} person(s) other than the author: {parts}"
        )
        if failing > MAX_LISTED:
            reason += f" (the first {MAX_LISTED} are listed one by one)"
    if rewrites:
        reason += f"; and the branch history was rewritten in the period ({len(rewrites)} time(s))"
    window = data.get("window") or {}
    if window.get("estimated") and window.get("bounded") is not False:
        notes.append(
            "where the period began is estimated from commit dates (no snapshot taken before "
            f"the period recorded the branch{_push_record_gap(ctx, repo)}), so a commit pushed "
            "in the period with an earlier date below a later one would not be judged"
        )
    if notes:
        reason += "; " + "; ".join(notes)
    status = ResultStatus.passed if failing == 0 and not rewrites else ResultStatus.failed
    if failing == 0 and not rewrites and window.get("bounded") is False:
        # Nothing shows where the period began: a quiet branch and a push made in the period
        # with an earlier date look the same, so what was judged cannot pass.
        status = ResultStatus.error
        judged = f"{total} change(s) judged, all approved; but " if total else ""
        gap = _push_record_gap(ctx, repo).removeprefix(", and ")
        reason = (
            f"cannot tell what reached {where}: {judged}{window.get('how')}"
            + (f"; {gap}" if gap else "")
            + "; a push made in the period with an earlier date would look like no change; a "
            "snapshot taken before the next period bounds it"
        )
    # Every failure listed on its own: the summary only repeats them (counted once by reports).
    listed = failing <= MAX_LISTED and (bool(offenders) or bool(rewrites))
    summary = ctx.result(
        repo.name, status, reason, evidence, details={"aggregate": "true"} if listed else None
    )
    return [summary, *rewrites, *dropped, *offenders]


def check(ctx: CheckContext) -> list[CheckResult]:
    try:
        n = int_param(ctx, "approvals", 1)
    except BadParams as exc:
        return bad_params(ctx, exc)
    return per_repository(ctx, lambda repo: _repository(ctx, repo, n))
