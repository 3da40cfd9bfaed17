"""Helpers shared by the Git checks: the repositories to judge, parameters, evidence reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from generator.checks.context import CheckContext
from generator.models.sources import Repository
from generator.results import CheckResult, ResultStatus
from generator.snapshot.store import EvidenceRead

MAX_LISTED = 200  # offending commits listed one result each; the rest are counted


class BadParams(ValueError):
    """The practice gave the check parameters it cannot use."""


def repositories(ctx: CheckContext) -> list[Repository]:
    sources = ctx.library.sources
    return list(sources.model.repositories) if sources is not None else []


def per_repository(
    ctx: CheckContext, judge: Callable[[Repository], list[CheckResult]]
) -> list[CheckResult]:
    """The results of `judge` for every repository of sources.yaml, or one `not-collected`
    result when none is listed."""
    repos = repositories(ctx)
    if not repos:
        return [
            ctx.result(
                "all",
                ResultStatus.not_collected,
                "no repositories are listed in evidence/sources.yaml",
                [],
            )
        ]
    return [result for repo in repos for result in judge(repo)]


def int_param(ctx: CheckContext, name: str, default: int, minimum: int = 1) -> int:
    value = ctx.params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BadParams(f"`with: {{{name}: ...}}` must be a whole number >= {minimum}")
    return value


def bool_param(ctx: CheckContext, name: str, default: bool) -> bool:
    value = ctx.params.get(name, default)
    if not isinstance(value, bool):
        raise BadParams(f"`with: {{{name}: ...}}` must be true or false")
    return value


def bad_params(ctx: CheckContext, exc: BadParams) -> list[CheckResult]:
    return [ctx.result("all", ResultStatus.error, str(exc), [])]


def unusable(ctx: CheckContext, subject: str, reads: list[EvidenceRead]) -> CheckResult | None:
    """Like ctx.unusable, with the collector's own explanation when it recorded one."""
    result = ctx.unusable(subject, reads)
    if result is None:
        return None
    bad = next(r for r in reads if not r.usable)
    if bad.item is not None and bad.item.detail:
        result = result.model_copy(update={"reason": f"{result.reason}: {bad.item.detail}"})
    return result


def short(sha: str) -> str:
    return sha[:12]


def day(timestamp: str | None) -> str:
    return (timestamp or "")[:10]


def person(p: dict[str, Any]) -> str:
    name, email = p.get("name") or "", p.get("email") or ""
    return f"{name} <{email}>" if email else name or "unknown"


def forge_items(repo: Repository) -> str | None:
    """The evidence prefix of the repository's forge, if one is configured."""
    return f"{repo.forge.value}/{repo.name}" if repo.forge is not None else None
