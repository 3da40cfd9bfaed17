"""`git.signed-commits`: every commit that reached the protected branch in the audit period
carries a good signature, as git itself verifies it (GPG with the collector's keyring, SSH with
the repository's allowed-signers file).

Parameters: `include_merged` (default false) also requires the commits a merge brought in to be
signed; `accept_untrusted` (default false) accepts a valid signature by a key that is not an
allowed signer / not trusted in the keyring.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from generator.checks.context import CheckContext
from generator.checks.git_common import (
    MAX_LISTED,
    BadParams,
    bad_params,
    bool_param,
    day,
    per_repository,
    person,
    short,
    unusable,
)
from generator.models.sources import Repository
from generator.results import CheckResult, ResultStatus

WHY = {
    "none": "not signed",
    "bad": "the signature does not verify",
    "untrusted": "signed by a key that is not an allowed signer (or not trusted)",
    "expired": "the signature has expired",
    "expired-key": "signed with an expired key",
    "revoked-key": "signed with a revoked key",
    "cannot-check": "the signature could not be checked (key or verifier missing)",
}


def _repository(
    ctx: CheckContext, repo: Repository, include_merged: bool, accept_untrusted: bool
) -> list[CheckResult]:
    cid = f"git/{repo.name}/commits"
    read = ctx.read(cid)
    bad = unusable(ctx, repo.name, [read])
    if bad is not None:
        return [bad]
    data = read.data
    good = {"good", "untrusted"} if accept_untrusted else {"good"}
    counts: Counter[str] = Counter()
    offenders: list[CheckResult] = []
    total = 0

    def judge(sha: str, status: str, author: dict[str, Any], when: str, what: str) -> None:
        nonlocal total
        total += 1
        counts[status] += 1
        if status in good or len(offenders) >= MAX_LISTED:
            return
        offenders.append(
            ctx.result(
                f"{repo.name}@{short(sha)}",
                ResultStatus.failed,
                f"{WHY.get(status, status)}: {what} {sha} by {person(author)}"
                + (f", committed {day(when)}" if when else ""),
                [cid],
            )
        )

    for commit in data.get("commits", []):
        judge(
            commit["sha"],
            commit["signature"]["status"],
            commit["author"],
            commit["committer"].get("date", ""),
            "commit",
        )
        if include_merged:
            for side in (commit.get("merged") or {}).get("commits", []):
                judge(side["sha"], side["signature"], side["author"], "", "merged commit")
    period = data.get("period", {})
    where = (
        f"{data.get('branch')} of {repo.name} from {day(period.get('since'))} "
        f"to {day(period.get('until'))}"
    )
    failing = sum(v for k, v in counts.items() if k not in good)
    scope = "commit(s) (with the commits merges brought in)" if include_merged else "commit(s)"
    if failing == 0:
        reason = f"all {total} {scope} that reached {where} carry a good signature"
        if total == 0:
            reason = f"no commit reached {where}"
        return [ctx.result(repo.name, ResultStatus.passed, reason, [cid])]
    parts = ", ".join(f"{v} {WHY.get(k, k)}" for k, v in sorted(counts.items()) if k not in good)
    reason = f"{failing} of {total} {scope} that reached {where} lack a good signature: {parts}"
    verification = data.get("signature_verification") or {}
    if not verification.get("ssh_allowed_signers") and (
        counts["untrusted"] or counts["cannot-check"]
    ):
        reason += (
            "; no SSH allowed-signers file was configured, so SSH signatures cannot be trusted "
            "(set `allowed_signers:` for the repository in evidence/sources.yaml)"
        )
    if failing > MAX_LISTED:
        reason += f" (the first {MAX_LISTED} are listed one by one)"
    return [ctx.result(repo.name, ResultStatus.failed, reason, [cid]), *offenders]


def check(ctx: CheckContext) -> list[CheckResult]:
    try:
        include_merged = bool_param(ctx, "include_merged", False)
        accept_untrusted = bool_param(ctx, "accept_untrusted", False)
    except BadParams as exc:
        return bad_params(ctx, exc)
    return per_repository(
        ctx, lambda repo: _repository(ctx, repo, include_merged, accept_untrusted)
    )
