"""A small evidoc instance whose change-management practice runs the Git checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from generator.collect.git import collect_git
from generator.loader import load_library
from generator.pipeline import evaluate
from generator.results import CheckResult
from generator.snapshot.signing import public_key_of
from generator.snapshot.store import SnapshotWriter, load_snapshot

CHECKS: list[dict[str, Any]] = [
    {"id": "git.reviewed-changes", "with": {"approvals": 1}},
    {"id": "git.branch-protection", "with": {"approvals": 1}},
    {"id": "git.signed-commits"},
    {"id": "git.gitops-source-protected"},
]


def make_instance(
    root: Path,
    repositories: list[dict[str, Any]],
    checks: list[dict[str, Any]] | None = None,
    sources: dict[str, Any] | None = None,
) -> Path:
    (root / "controls" / "practices").mkdir(parents=True, exist_ok=True)
    (root / "evidence").mkdir(parents=True, exist_ok=True)
    (root / "controls" / "scope.yaml").write_text("frameworks: []\n")
    practice = {
        "id": "change-management",
        "title": "Change management",
        "owner": "Head of Platform",
        "statement": "Every change to main is reviewed by someone other than its author.",
        "checks": CHECKS if checks is None else checks,
    }
    (root / "controls" / "practices" / "change-management.yaml").write_text(
        yaml.safe_dump(practice, sort_keys=False)
    )
    data = {**(sources or {}), "repositories": repositories}
    (root / "evidence" / "sources.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return root


def collect(root: Path, now: dt.datetime, sign_key: Any = None) -> Path:
    """Collect the instance's repositories into a new snapshot, as `evidoc collect` would
    (signed with SIGN_KEY, whose signature is then what earlier snapshots need)."""
    library = load_library(root)
    writer = SnapshotWriter(root / "evidence" / "snapshots", now)
    trusted = (public_key_of(sign_key),) if sign_key is not None else ()
    try:
        collect_git(library, writer, now, trusted=trusted)
    except BaseException:
        writer.abort()
        raise
    return writer.commit(sign_key)


def results(root: Path, snapshot: Path, now: dt.datetime) -> list[CheckResult]:
    return evaluate(load_library(root), load_snapshot(snapshot), now).results


def by_check(found: list[CheckResult], check: str) -> dict[str, CheckResult]:
    return {r.subject: r for r in found if r.check == check}
