"""`git.branch-protection`: the protected branch requires at least N approvals, blocks force
pushes and deletion, and binds administrators too.

GitHub: classic branch protection and repository/organisation rulesets are combined; a
requirement holds when either provides it, and it binds administrators when a provider with
`enforce_admins` (classic) or an active ruleset without bypass actors provides it.
GitLab: the protected branch (exact or wildcard) must allow nobody to push or force-push (every
change goes through a merge request), approval rules that apply to the branch must require N
approvals, and authors must not be allowed to approve their own merge requests.

Over the audit period: on GitHub the settings are judged again at every instant they changed,
from each ruleset's versions and the organisation audit log's classic-protection events; a time
they did not hold, or a `protected_branch.policy_override`, fails. Where a provider's history
cannot be read, its current settings are assumed for the period and the reason says so. On
GitLab the project's audit events tell whether protection or approvals changed in the period; a
change fails only where the event shows plainly that the branch became weaker than required
(its protection removed, force pushes allowed): approval-setting events are told, not judged,
since their before and after are not always given.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass, field
from typing import Any

from generator.checks.context import CheckContext
from generator.checks.git_common import (
    BadParams,
    bad_params,
    day,
    int_param,
    per_repository,
    unusable,
)
from generator.models.sources import Forge, Repository
from generator.results import CheckResult, ResultStatus
from generator.snapshot.store import EvidenceRead, parse_time


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


# --- the period: what held at every instant the settings changed ----------------------------

# Without any recorded history (older snapshots), only the state at collection is known.
CURRENT_ONLY = "; settings as they stood at collection (their history over the period is not known)"
MAX_SPANS = 5  # failing spans of the period named in a reason


@dataclass(frozen=True)
class Phase:
    """One provider's settings from `start` until its next phase: `data` as `_classic` or
    `_rulesets` read it (None: the provider did not exist or did not apply). `known` is False
    when they are the current settings assumed for a time whose own settings are not known."""

    start: dt.datetime
    classic: bool
    data: dict[str, Any] | None
    known: bool
    label: str


@dataclass
class Timeline:
    since: dt.datetime
    until: dt.datetime
    providers: list[list[Phase]] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)  # what is known, per provider
    overrides: list[str] = field(default_factory=list)  # protection bypassed in the period


def _at(text: Any) -> dt.datetime | None:
    try:
        return parse_time(str(text))
    except ValueError:
        return None


def _who(actor: Any) -> str:
    if isinstance(actor, str):
        return actor
    if not isinstance(actor, dict):
        return "someone unknown"
    if actor.get("login"):
        return str(actor["login"])
    return f"{actor.get('type') or 'actor'} #{actor.get('id')}"


def _branch_named(name: Any, branch: str) -> bool:
    """Whether an audit event's branch (or rule pattern) is the branch; unnamed counts."""
    if not name:
        return True
    return fnmatch.fnmatchcase(branch, str(name).removeprefix("refs/heads/"))


def _classic_phases(read: EvidenceRead, branch: str, line: Timeline) -> list[Phase]:
    """Classic protection over the period, from the organisation audit log: unchanged, created in
    the period (nothing before), or changed (not known before the last change). Overrides are
    read whether or not the branch is protected now."""
    since = line.since
    if not read.usable:
        line.statements.append("classic branch protection: could not be read")
        return [Phase(since, True, None, False, "classic branch protection (unreadable)")]
    data = read.data
    protected = bool(data.get("protected"))
    log = data.get("audit_log") or {}
    readable = not log.get("error") and isinstance(log.get("events"), list)
    events = [e for e in log.get("events") or [] if _branch_named(e.get("branch"), branch)]
    for e in events if readable else []:
        at = _at(e.get("at"))
        if e.get("action") == "protected_branch.policy_override" and at and at <= line.until:
            named = "" if e.get("branch") else " (the event does not name the branch)"
            line.overrides.append(
                f"{_who(e.get('actor'))} overrode branch protection on {_day(at)} "
                f"(protected_branch.policy_override in the audit log){named}"
            )
    changes = [
        (at, e)
        for e in (events if readable else [])
        if e.get("action") != "protected_branch.policy_override" and (at := _at(e.get("at")))
    ]
    retained = _at(log.get("retained_from"))
    if not protected and not changes:
        line.statements.append("classic branch protection: none")
        return [Phase(since, True, data, True, "no classic branch protection")]
    now = "classic branch protection as it stands now"
    if not readable:
        why = log.get("error") or "it was not collected"
        line.statements.append(
            f"classic branch protection: only its current state is known (the organisation audit "
            f"log could not be read: {why})"
        )
        return [Phase(since, True, data, False, now)]
    if retained is not None and retained > since:
        line.statements.append(
            "classic branch protection: only its current state is known (the audit log reaches "
            f"back to {_day(retained)} only)"
        )
        return [Phase(since, True, data, False, now)]
    if not changes:
        line.statements.append("classic branch protection: unchanged (audit log)")
        return [Phase(since, True, data, True, now)]
    first, last = changes[0], changes[-1]
    told = ", ".join(f"{e['action']} by {_who(e.get('actor'))} on {_day(at)}" for at, e in changes)
    line.statements.append(
        f"classic branch protection: changed ({told}); only its settings since "
        f"{_day(last[0])} are known"
    )
    # Where its settings are not known: those of now, assumed, while it is protected now;
    # none to judge by (None) once it has been removed since.
    unknown = data if protected else None
    unknown_label = now if protected else "classic branch protection with settings not known"
    phases = []
    if first[1].get("action") == "protected_branch.create":
        phases.append(Phase(since, True, {"protected": False}, True, "no classic protection yet"))
    else:
        phases.append(Phase(since, True, unknown, False, unknown_label))
    # After each change: none after a destroy (until the next create); after a create or update
    # settings not known, unless it is the last change (then they are those of now).
    for at, event in changes:
        start = max(since, at)
        if event.get("action") == "protected_branch.destroy":
            label = f"classic protection removed by {_who(event.get('actor'))} on {_day(at)}"
            phases.append(Phase(start, True, {"protected": False}, True, label))
        elif (at, event) is last and protected:
            phases.append(Phase(start, True, data, True, now))
        else:
            phases.append(Phase(start, True, unknown, False, unknown_label))
    return phases


def _ref_match(pattern: str, branch: str, default: str | None) -> bool | None:
    if pattern == "~ALL":
        return True
    if pattern == "~DEFAULT_BRANCH":
        return None if default is None else branch == default
    return fnmatch.fnmatchcase(f"refs/heads/{branch}", pattern) or fnmatch.fnmatchcase(
        branch, pattern
    )


def _version_applies(
    state: dict[str, Any], current: dict[str, Any], branch: str, default: str | None
) -> bool | None:
    """Whether a ruleset version applied to the branch: its conditions are those the ruleset
    applies with now, or its ref_name patterns match the branch (other conditions unchanged).
    None: not known, and the version is then not credited."""
    if state.get("target") not in (None, "branch"):
        return False
    conditions = state.get("conditions") or {}
    if "conditions" in current and conditions == (current.get("conditions") or {}):
        return True
    others = {k: v for k, v in conditions.items() if k != "ref_name"}
    if "error" in current or others != {
        k: v for k, v in (current.get("conditions") or {}).items() if k != "ref_name"
    }:
        return None
    refs = conditions.get("ref_name") or {}
    include = [_ref_match(p, branch, default) for p in refs.get("include") or []]
    exclude = [_ref_match(p, branch, default) for p in refs.get("exclude") or []]
    if any(m is None for m in include + exclude):
        return None
    return any(include) and not any(exclude)


def _ruleset_phases(
    rid: Any,
    rules: list[dict[str, Any]],
    detail: dict[str, Any],
    branch: str,
    default: str | None,
    line: Timeline,
) -> list[Phase]:
    """One ruleset over the period, from its versions; its current state where its history is
    not known. A ruleset created in the period did not exist before its first version."""
    since, name = line.since, f"ruleset {detail.get('name') or rid!r}"
    current = {"rules": rules, "rulesets": [detail]}
    history = detail.get("history") or {}
    versions = history.get("in_period")
    if history.get("error") or versions is None:
        why = history.get("error") or "it was not collected"
        line.statements.append(
            f"{name}: only its current state is known (its history could not be read: {why})"
        )
        return [Phase(since, False, current, False, f"{name} as it stands now")]
    line.statements.append(f"{name}: history read")
    listed = history.get("versions") or []
    first = _at(listed[0].get("updated_at")) if listed else None
    phases: list[Phase] = []
    if first is None or first > since:
        when = f"created {_day(first)}" if first else "no version"
        phases.append(Phase(since, False, None, True, f"{name} did not exist yet ({when})"))
    for version in versions:
        at, state = _at(version.get("updated_at")), version.get("state") or {}
        if at is None:
            continue
        label = (
            f"{name} version {version.get('version_id')} (by {_who(version.get('actor'))} on "
            f"{_day(at)})"
        )
        applies = _version_applies(state, detail, branch, default)
        data: dict[str, Any] | None = None
        if applies is False:
            label += ", which did not apply to the branch"
        elif applies is None:
            label += ", whose conditions could not be matched to the branch"
        else:
            data = {
                "rules": [{**r, "ruleset_id": rid} for r in state.get("rules") or []],
                "rulesets": [{**state, "id": rid}],
            }
            if state.get("enforcement", "active") != "active":
                label += f", enforcement {state.get('enforcement')}"
        phases.append(Phase(max(since, at), False, data, True, label))
    return phases


def _period(reads: list[EvidenceRead]) -> tuple[dt.datetime, dt.datetime] | None:
    for read in reads:
        period = read.data.get("period") if read.usable else None
        if isinstance(period, dict):
            since, until = _at(period.get("since")), _at(period.get("until"))
            if since and until:
                return since, until
    return None


def _timeline(ctx: CheckContext, repo: Repository, reads: list[EvidenceRead]) -> Timeline | None:
    """Classic protection and every ruleset applying to the branch over the period, or None
    when no history was collected."""
    period = _period(reads)
    if period is None:
        return None
    line = Timeline(*period)
    line.providers.append(_classic_phases(reads[0], repo.branch, line))
    if reads[1].usable:
        repository = ctx.read(f"github/{repo.name}/repository")
        default = repository.data.get("default_branch") if repository.usable else None
        rules = reads[1].data.get("rules") or []
        details = {d.get("id"): d for d in reads[1].data.get("rulesets") or []}
        for rid in sorted({r.get("ruleset_id") for r in rules if r.get("ruleset_id")}):
            own = [r for r in rules if r.get("ruleset_id") == rid]
            detail = details.get(rid) or {"id": rid}
            line.providers.append(_ruleset_phases(rid, own, detail, repo.branch, default, line))
    else:
        line.statements.append("rulesets: could not be read")
    return line


def _states(line: Timeline) -> list[tuple[dt.datetime, dt.datetime, list[Phase]]]:
    """The combined settings at every instant one provider's changed within the period."""
    starts = sorted(
        {line.since}
        | {
            p.start
            for phases in line.providers
            for p in phases
            if line.since < p.start < line.until
        }
    )
    out = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else line.until
        chosen = [
            max((p for p in phases if p.start <= start), key=lambda p: p.start)
            for phases in line.providers
        ]
        out.append((start, end, chosen))
    return out


def _judge_period(line: Timeline, n: int) -> tuple[list[str], list[str], bool]:
    """Problems of the settings in force at some time of the period, what could not be told,
    and whether every state of the period is known rather than assumed."""
    problems, unknown = list(line.overrides), []
    known = True
    for start, end, chosen in _states(line):
        req = Requirements()
        for phase in chosen:
            if phase.data is None:
                continue
            (_classic if phase.classic else _rulesets)(req, phase.data)
        protected = any(
            p.data and (p.data.get("protected") if p.classic else p.data.get("rules"))
            for p in chosen
        )
        found, unsure = _requirement_problems(req, protected, n)
        known = known and all(p.known for p in chosen)
        span = f"from {_day(start)} to {_day(end)}"
        force = "; ".join(p.label for p in chosen if p.data is not None or p.known)
        blind = [p.label for p in chosen if p.data is None and not p.known]
        if found and blind:
            # A provider whose settings then are not known may have provided what is missing.
            unknown.append(f"whether {', '.join(found)} {span} ({'; '.join(blind)})")
            found = []
        if found:
            problems.append(f"{span} ({force}): {', '.join(found)}")
        unknown += [f"{u} {span}" for u in unsure]
    if len(problems) > MAX_SPANS:
        problems = [*problems[:MAX_SPANS], f"and {len(problems) - MAX_SPANS} more span(s)"]
    return problems, unknown, known


def _period_statement(line: Timeline | None, known: bool, held: bool) -> str:
    """What is known of the settings over the period: that they held throughout (every
    provider's history known, nothing failing), or what each provider's history tells."""
    if line is None:
        return CURRENT_ONLY
    span = f"from {_day(line.since)} to {_day(line.until)}"
    told = "; ".join(line.statements)
    if known and held:
        return f"; these settings held over the whole period {span} ({told})"
    if known:
        return f"; over the period {span}: {told}"
    return (
        f"; over the period {span} the settings were checked where their history is known, "
        f"and the current settings assumed elsewhere: {told}"
    )


def _day(at: dt.datetime | None) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d") if at else "an unknown date"


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


def _requirement_problems(
    req: Requirements, protected: bool, n: int
) -> tuple[list[str], list[str]]:
    """What the combined settings fail to require, and what cannot be told about them."""
    problems: list[str] = []
    unknown: list[str] = []
    top = max((count for count, _ in req.approvals), default=None)
    strong = [p for count, p in req.approvals if count >= n]
    if not protected:
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
    return problems, unknown


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
    ids = [*ids, f"github/{repo.name}/repository"]
    protected = bool(reads[0].usable and reads[0].data.get("protected")) or bool(
        reads[1].usable and reads[1].data.get("rules")
    )
    top = max((count for count, _ in req.approvals), default=None)
    problems, unknown = _requirement_problems(req, protected, n)
    if actions is True:
        problems.append(
            "GitHub Actions may approve pull requests, so a workflow can give the required "
            "approval (Settings > Actions: allow GitHub Actions to create and approve pull "
            "requests)"
        )
    elif actions is None:
        unknown.append(f"whether GitHub Actions may approve pull requests: {why_unknown}")
    # The settings in force at every instant of the period, where their history tells them.
    line = _timeline(ctx, repo, reads)
    known = False
    if line is not None:
        earlier, unsure, known = _judge_period(line, n)
        if earlier and not problems:
            problems.append(
                "the settings did not hold over the whole period: " + "; ".join(earlier)
            )
        elif line.overrides and problems:
            problems += line.overrides
        unknown += unsure
    where = f"{repo.branch} of {repo.project or repo.name} on GitHub"
    checks = (
        f"; required status checks: {', '.join(sorted(req.status_checks))}"
        if req.status_checks
        else "; no required status checks"
    )
    checks += "; code-owner review " + ("required" if req.code_owners else "not required")
    checks += "; signed commits " + ("required" if req.signatures else "not required")
    checks += _period_statement(line, known, held=not problems)
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


def _gitlab_event_applies(details: dict[str, Any], branch: str) -> bool:
    """Whether an audit event is about this branch's protection, or about the project's approval
    settings and rules (which apply to every branch)."""
    kind = str(details.get("target_type") or "")
    if kind == "ProtectedBranch" or str(details.get("event_name") or "").startswith(
        "protected_branch"
    ):
        return _branch_named(details.get("target_details"), branch)
    return True


def _gitlab_weakened(details: dict[str, Any], branch: str, names: list[str]) -> str | None:
    """What an event made weaker than the check requires, where the event says it plainly: the
    branch's protection removed (no other protected branch entry covering it now), or force
    pushes allowed. Other changes (approval settings, rules) are told, not judged: their before
    and after are not always given."""
    if not _branch_named(details.get("target_details"), branch):
        return None
    name = str(details.get("target_details") or branch)
    message = str(details.get("custom_message") or "").lower()
    removed = details.get("event_name") == "protected_branch_removed" or message.startswith(
        "unprotected branch"
    )
    if removed and not [n for n in names if n != name]:
        return f"the protection of {name} was removed"
    change = str(details.get("change") or "").lower()
    if "force push" in change and str(details.get("to")).lower() == "true":
        return f"force pushes were allowed on {name}"
    return None


def _gitlab_event(event: dict[str, Any]) -> str:
    details = event.get("details") or {}
    if details.get("change"):
        what = f"{details['change']} changed from {details.get('from')!r} to {details.get('to')!r}"
    else:
        what = str(details.get("custom_message") or details.get("event_name") or "a change")
    target = details.get("target_details")
    on = f" ({details.get('target_type')} {target})" if target else ""
    who = event.get("author") or "someone unknown"
    return f"{what}{on} by {who} on {day(event.get('created_at'))}"


def _gitlab_period(data: dict[str, Any], branch: str) -> tuple[list[str], str]:
    """Weakenings the project's audit events show in the period, and what is known about the
    settings over it."""
    audit = data.get("audit_events")
    if not isinstance(audit, dict):
        return [], CURRENT_ONLY
    if audit.get("error") or audit.get("events") is None:
        return [], (
            "; only the settings as they stood at collection are known: the project's audit "
            f"events could not be read ({audit.get('error') or 'not collected'})"
        )
    period = audit.get("period") or {}
    until = _at(period.get("until"))
    span = f"from {day(period.get('since'))} to {day(period.get('until'))}"
    names = [str(m.get("name")) for m in data.get("matching") or []]
    events = [e for e in audit["events"] if _gitlab_event_applies(e.get("details") or {}, branch)]
    if not events:
        return [], (
            f"; these settings held over the whole period {span} (the project's audit events "
            "show no change to branch protection or approvals)"
        )
    problems = []
    for event in events:
        at = _at(event.get("created_at"))
        weak = _gitlab_weakened(event.get("details") or {}, branch, names)
        if weak and (at is None or until is None or at <= until):
            problems.append(f"{weak} in the period ({_gitlab_event(event)})")
    told = "; ".join(_gitlab_event(e) for e in events)
    return problems, (
        f"; over the period {span} the settings changed ({told}): only the settings as they "
        f"stood at collection are known, not those before {day(events[-1].get('created_at'))}"
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
    weakened, history = _gitlab_period(reads[0].data, repo.branch)
    if weakened and not problems:
        problems.append("the settings did not hold over the whole period: " + "; ".join(weakened))
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
        + history,
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
