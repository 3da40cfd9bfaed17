"""The pipeline, stage by stage: load -> snapshot -> evaluate -> report -> gate."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from generator.checks.context import CheckContext
from generator.checks.params import PARAMETERS
from generator.checks.registry import CHECKS
from generator.gate import Requirement, gate_findings
from generator.gitinfo import last_commit_time
from generator.library import Library
from generator.loader import load_library
from generator.render.gate_result import GateResult
from generator.report import Report, build_report
from generator.results import CheckResult, Results, ResultStatus, SnapshotInfo
from generator.snapshot.store import Snapshot, latest_snapshot, load_snapshot


def find_snapshot(root: Path, snapshot: Path | None) -> Snapshot | None:
    """The snapshot asked for, else the newest one of the instance, else None."""
    path = snapshot if snapshot is not None else latest_snapshot(root)
    return load_snapshot(path) if path is not None else None


def evaluate(library: Library, snapshot: Snapshot | None, as_of: dt.datetime) -> Results:
    """Run every practice's checks on the snapshot. Without one, nothing was collected."""
    results: list[CheckResult] = []
    for pid in sorted(library.practices):
        for ref in library.practices[pid].model.checks:
            check = CHECKS.get(ref.id)
            if check is None:
                continue  # reported by the gate as unknown-check
            if snapshot is None:
                results.append(
                    CheckResult(
                        practice=pid,
                        check=ref.id,
                        name=ref.name or "",
                        subject="all",
                        status=ResultStatus.not_collected,
                        reason="no evidence snapshot; run `evidoc collect`",
                    )
                )
                continue
            ctx = CheckContext(
                library, snapshot, dict(ref.with_), pid, ref.id, as_of, name=ref.name or ""
            )
            results.extend(check(ctx))
    info = None
    if snapshot is not None:
        m = snapshot.manifest
        info = SnapshotInfo(id=m.id, digest=m.digest, collected_at=m.created_at, demo=m.demo)
    return Results(snapshot=info, results=results)


def judgement_time(root: Path, snapshot: Snapshot | None) -> dt.datetime:
    """When a build or pack judges freshness and expiry. Never the clock, so the same inputs give
    the same output: SOURCE_DATE_EPOCH, else the instance's last commit, and never earlier than
    the snapshot was taken (evidence is not stale before it exists)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = (
        dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch.isdigit() else last_commit_time(root)
    )
    if snapshot is not None:
        return max(when, snapshot.created_at) if when is not None else snapshot.created_at
    return when if when is not None else dt.datetime.now(dt.UTC)


def run_report(
    root: Path,
    *,
    docs_dir: Path | None = None,
    snapshot: Path | None = None,
    now: dt.datetime | None = None,
) -> tuple[Library, Report]:
    """Load, evaluate and report, judged at `now` or else at `judgement_time`."""
    library = load_library(root, docs_dir)
    snap = find_snapshot(root, snapshot)
    if now is None:
        now = judgement_time(root, snap)
    results = evaluate(library, snap, now)
    return library, build_report(library, results, now.date())


def run_gate(
    root: Path,
    *,
    docs_dir: Path | None = None,
    require: str = "documented",
    snapshot: Path | None = None,
    now: dt.datetime,
) -> GateResult:
    library, report = run_report(root, docs_dir=docs_dir, snapshot=snapshot, now=now)
    findings = gate_findings(library, report, now.date(), Requirement(require), PARAMETERS)
    return GateResult(report=report, findings=findings, require=require)
