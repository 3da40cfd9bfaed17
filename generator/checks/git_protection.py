"""`git.branch-protection`: the protected branch requires at least N approvals, blocks force
pushes and deletion, and binds administrators too.

GitHub: classic branch protection and repository/organisation rulesets are combined; a
requirement holds when either provides it, and it binds administrators when a provider with
`enforce_admins` (classic) or an active ruleset without bypass actors provides it.
GitLab: the protected branch (exact or wildcard) must allow nobody to push or force-push (every
change goes through a merge request), approval rules that apply to the branch must require N
approvals, and authors must not be allowed to approve their own merge requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from generator.checks.context import CheckContext
from generator.checks.git_common import (
    BadParams,
    bad_params,
    int_param,
    per_repository,
    unusable,
)
from generator.models.sources import Forge, Repository
from generator.results import CheckResult, ResultStatus
from generator.snapshot.store import EvidenceRead

# Branch settings are read as they are at collection: the forges' audit logs are not collected.
CURRENT_ONLY = "; settings as they stood at collection (their history over the period is not known)"


@dataclass
class Verdict:
    status: ResultStatus
    reason: str
    evidence: list[str]


@dataclass(frozen=True)
class Provider:
    name: str
    binds_admins: bool | None  # None: not known (bypass actors not readable)


@dataclass
class Requirements:
    approvals: list[tuple[int, Provider]] = field(default_factory=list)
    force: list[Provider] = field(default_factory=list)
    deletion: list[Provider] = field(default_factory=list)
    status_checks: set[str] = field(default_factory=set)
    # What makes an approval cover the merged code: approvals dismissed by a new push, or the
    # last push approved by someone else; and who may merge without approval at all.
    fresh: list[Provider] = field(default_factory=list)
    code_owners: list[Provider] = field(default_factory=list)
    signatures: list[Provider] = field(default_factory=list)
    bypassers: set[str] = field(default_factory=set)


def _classic(req: Requirements, data: dict[str, Any]) -> None:
    if not data.get("protected"):
        return
    prot = data.get("protection") or {}
    classic = Provider("branch protection", bool((prot.get("enforce_admins") or {}).get("enabled")))
    reviews = prot.get("required_pull_request_reviews")
    if isinstance(reviews, dict):
        req.approvals.append((int(reviews.get("required_approving_review_count") or 0), classic))
        if reviews.get("dismiss_stale_reviews") or reviews.get("require_last_push_approval"):
            req.fresh.append(classic)
        if reviews.get("require_code_owner_reviews"):
            req.code_owners.append(classic)
        allowances = reviews.get("bypass_pull_request_allowances") or {}
        for kind, key in (("user", "login"), ("team", "slug"), ("app", "slug")):
            for who in allowances.get(f"{kind}s") or []:
                name = who.get(key) if isinstance(who, dict) else who
                req.bypassers.add(f"{kind} {name}")
    if (prot.get("required_signatures") or {}).get("enabled"):
        req.signatures.append(classic)
    if not (prot.get("allow_force_pushes") or {}).get("enabled", False):
        req.force.append(classic)
    if not (prot.get("allow_deletions") or {}).get("enabled", False):
        req.deletion.append(classic)
    checks = prot.get("required_status_checks") or {}
    req.status_checks.update(checks.get("contexts") or [])
    req.status_checks.update(
        c.get("context") for c in checks.get("checks") or [] if c.get("context")
    )


def _rulesets(req: Requirements, data: dict[str, Any]) -> None:
    details = {d.get("id"): d for d in data.get("rulesets") or []}
    for rule in data.get("rules") or []:
        detail = details.get(rule.get("ruleset_id")) or {}
        if detail.get("enforcement", "active") != "active":
            continue  # "evaluate" and "disabled" rulesets enforce nothing
        bypass = detail.get("bypass_actors")
        binds = None if bypass is None or "error" in detail else not bypass
        name = detail.get("name") or rule.get("ruleset_id")
        provider = Provider(f"ruleset {name!r}", binds)
        kind, params = rule.get("type"), rule.get("parameters") or {}
        if kind == "pull_request":
            req.approvals.append(
                (int(params.get("required_approving_review_count") or 0), provider)
            )
            if params.get("dismiss_stale_reviews_on_push") or params.get(
                "require_last_push_approval"
            ):
                req.fresh.append(provider)
            if params.get("require_code_owner_review"):
                req.code_owners.append(provider)
        elif kind == "required_signatures":
            req.signatures.append(provider)
        elif kind == "non_fast_forward":
            req.force.append(provider)
        elif kind == "deletion":
            req.deletion.append(provider)
        elif kind == "required_status_checks":
            for c in params.get("required_status_checks") or []:
                if c.get("context"):
                    req.status_checks.add(c["context"])


def _binding(providers: list[Provider]) -> bool | None:
    if any(p.binds_admins for p in providers):
        return True
    if any(p.binds_admins is None for p in providers):
        return None
    return False


def _actions_approve(ctx: CheckContext, repo: Repository) -> tuple[bool | None, str]:
    """Whether GitHub Actions may approve pull requests, and why it is not known."""
    read = ctx.read(f"github/{repo.name}/repository")
    if not read.usable or not isinstance(read.data, dict):
        return None, "the repository item is not usable"
    if "actions_can_approve_pull_requests" not in read.data:
        return None, "it was not collected"
    allowed = read.data.get("actions_can_approve_pull_requests")
    if allowed is None:
        return None, f"its setting could not be read ({read.data.get('actions_permissions')})"
    return bool(allowed), ""


def _github(ctx: CheckContext, repo: Repository, n: int) -> Verdict:
    ids = [f"github/{repo.name}/branch-protection", f"github/{repo.name}/rulesets"]
    reads = [ctx.read(i) for i in ids]
    if not any(r.usable for r in reads):
        return _from_unusable(ctx, repo, reads, ids)
    actions, why_unknown = _actions_approve(ctx, repo)
    req = Requirements()
    if reads[0].usable:
        _classic(req, reads[0].data)
    if reads[1].usable:
        _rulesets(req, reads[1].data)
    problems: list[str] = []
    unknown: list[str] = []
    ids = [*ids, f"github/{repo.name}/repository"]
    top = max((count for count, _ in req.approvals), default=None)
    strong = [p for count, p in req.approvals if count >= n]
    if not (reads[0].usable and reads[0].data.get("protected")) and not (
        reads[1].usable and reads[1].data.get("rules")
    ):
        problems.append("the branch has neither branch protection nor a ruleset")
    elif top is None:
        problems.append("pull requests with approving reviews are not required")
    elif top < n:
        problems.append(f"only {top} approving review(s) are required, {n} expected")
    if top is not None and not req.fresh:
        problems.append(
            "an approval survives later pushes: neither dismiss stale reviews nor last-push "
            "approval is required"
        )
    if req.bypassers:
        problems.append(
            f"{', '.join(sorted(req.bypassers))} may merge without an approving review "
            "(bypass_pull_request_allowances)"
        )
    if actions is True:
        problems.append(
            "GitHub Actions may approve pull requests, so a workflow can give the required "
            "approval (Settings > Actions: allow GitHub Actions to create and approve pull "
            "requests)"
        )
    elif actions is None:
        unknown.append(f"whether GitHub Actions may approve pull requests: {why_unknown}")
    if not req.force:
        problems.append("force pushes are allowed")
    if not req.deletion:
        problems.append("the branch can be deleted")
    for what, providers in (
        ("approvals", strong),
        ("the force-push block", req.force),
        ("the deletion block", req.deletion),
    ):
        if not providers:
            continue
        bound = _binding(providers)
        if bound is False:
            problems.append(
                f"administrators can bypass {what} ({', '.join(p.name for p in providers)}: "
                "enforce_admins is off or the ruleset has bypass actors)"
            )
        elif bound is None:
            unknown.append(
                f"whether {what} binds administrators (ruleset bypass actors unreadable)"
            )
    where = f"{repo.branch} of {repo.project or repo.name} on GitHub"
    checks = (
        f"; required status checks: {', '.join(sorted(req.status_checks))}"
        if req.status_checks
        else "; no required status checks"
    )
    checks += "; code-owner review " + ("required" if req.code_owners else "not required")
    checks += "; signed commits " + ("required" if req.signatures else "not required")
    checks += CURRENT_ONLY
    missing = [r for r in reads if not r.usable]
    if problems:
        status = ResultStatus.failed
        reason = f"{where}: " + "; ".join(problems)
        if missing:  # what we could not read may provide what is missing
            bad = unusable(ctx, repo.name, missing)
            assert bad is not None
            return Verdict(bad.status, f"{reason} — but {bad.reason}", ids)
        return Verdict(status, reason + checks, ids)
    if unknown:
        return Verdict(
            ResultStatus.not_collected, f"{where}: cannot tell {'; '.join(unknown)}", ids
        )
    providers = sorted({p.name for _, p in req.approvals} | {p.name for p in req.force})
    reason = (
        f"{where}: pull requests need {top} approving review(s) ({n} expected) that a later "
        "push dismisses or that must follow the last push, nobody may bypass them, force "
        f"pushes and deletion are blocked, administrators are bound ({', '.join(providers)}), "
        "and GitHub Actions may not approve pull requests" + checks
    )
    return Verdict(ResultStatus.passed, reason, ids)


def _applies(rule: dict[str, Any], branch: str, matching: list[str]) -> bool:
    if rule.get("rule_type") not in (None, "regular", "any_approver"):
        return False
    names = [b.get("name") for b in rule.get("protected_branches") or []]
    return (
        not names
        or rule.get("applies_to_all_protected_branches")
        or any(n in matching or n == branch for n in names)
    )


def _gitlab(ctx: CheckContext, repo: Repository, n: int) -> Verdict:
    ids = [f"gitlab/{repo.name}/protected-branches", f"gitlab/{repo.name}/approvals"]
    reads = [ctx.read(i) for i in ids]
    if not reads[0].usable:
        return _from_unusable(ctx, repo, reads[:1], ids)
    where = f"{repo.branch} of {repo.project or repo.name} on GitLab"
    matching = reads[0].data.get("matching") or []
    if not matching:
        return Verdict(ResultStatus.failed, f"{where}: the branch is not protected", ids)
    problems: list[str] = []
    if any(m.get("allow_force_push") for m in matching):
        problems.append("force pushes are allowed")
    pushers = [
        a.get("access_level_description") or str(a.get("access_level"))
        for m in matching
        for a in m.get("push_access_levels") or []
        if a.get("access_level") not in (0, None)
        or a.get("user_id")
        or a.get("group_id")
        or a.get("deploy_key_id")
    ]
    if pushers:
        problems.append(
            f"direct pushes are allowed for {', '.join(sorted(set(pushers)))} (expected: No one)"
        )
    required = None
    if reads[1].usable:
        settings = reads[1].data.get("settings") or {}
        rules = reads[1].data.get("rules")
        names = [m.get("name") for m in matching]
        counts = [
            int(r.get("approvals_required") or 0)
            for r in rules or []
            if _applies(r, repo.branch, names)
        ]
        counts.append(int(settings.get("approvals_before_merge") or 0))
        required = max(counts)
        if required < n:
            problems.append(f"only {required} approval(s) are required, {n} expected")
        if settings.get("merge_requests_author_approval"):
            problems.append("authors may approve their own merge requests")
        if settings.get("reset_approvals_on_push") is False:
            problems.append("approvals are kept when new commits are pushed")
        if settings.get("merge_requests_disable_committers_approval") is False:
            problems.append("people who pushed commits to a merge request may approve it")
        if settings.get("disable_overriding_approvers_per_merge_request") is False:
            problems.append("a merge request's approval rules can be overridden in the request")
    if problems:
        return Verdict(ResultStatus.failed, f"{where}: " + "; ".join(problems), ids)
    if required is None:
        bad = unusable(ctx, repo.name, reads[1:])
        assert bad is not None
        return Verdict(bad.status, f"{where}: approval settings unknown: {bad.reason}", ids)
    owners = any(m.get("code_owner_approval_required") for m in matching)
    return Verdict(
        ResultStatus.passed,
        f"{where}: merge requests need {required} approval(s) ({n} expected), authors and "
        "committers cannot approve, approvals reset on push, rules cannot be overridden per "
        "merge request, nobody can push or force-push directly, and a protected branch cannot be "
        "deleted by a push; code-owner approval "
        + ("required" if owners else "not required")
        + CURRENT_ONLY,
        ids,
    )


def _from_unusable(
    ctx: CheckContext, repo: Repository, reads: list[EvidenceRead], ids: list[str]
) -> Verdict:
    bad = unusable(ctx, repo.name, reads)
    assert bad is not None
    return Verdict(bad.status, bad.reason, ids)


def evaluate_protection(ctx: CheckContext, repo: Repository, n: int) -> Verdict:
    """The protection verdict for one repository's branch (also used by the GitOps check)."""
    if repo.forge is Forge.github:
        return _github(ctx, repo, n)
    if repo.forge is Forge.gitlab:
        return _gitlab(ctx, repo, n)
    return Verdict(
        ResultStatus.not_collected,
        f"{repo.name} has no forge in evidence/sources.yaml (forge: github or gitlab), so the "
        "protection of its branch could not be read",
        [],
    )


def check(ctx: CheckContext) -> list[CheckResult]:
    try:
        n = int_param(ctx, "approvals", 1)
    except BadParams as exc:
        return bad_params(ctx, exc)

    def judge(repo: Repository) -> list[CheckResult]:
        verdict = evaluate_protection(ctx, repo, n)
        return [ctx.result(repo.name, verdict.status, verdict.reason, verdict.evidence)]

    return per_repository(ctx, judge)
