"""The pipeline, stage by stage: load -> snapshot -> evaluate -> report -> gate."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from generator.checks.context import Check, CheckContext
from generator.checks.params import PARAMETERS
from generator.checks.registry import CHECKS
from generator.evidence_shapes import shape_problem
from generator.gate import Requirement, gate_findings
from generator.gitinfo import last_commit_time
from generator.library import Library
from generator.loader import load_library
from generator.register import RegisterRow, build_register
from generator.render.gate_result import GateResult
from generator.report import Report, build_report
from generator.results import CheckResult, Results, ResultStatus, SnapshotInfo
from generator.snapshot.store import EvidenceRead, Snapshot, latest_snapshot, load_snapshot
from generator.snapshot.trust import trusted_keys


def trusted(library: Library, given: Sequence[Path] = ()) -> tuple[bytes, ...]:
    """The keys snapshots must be signed by: --public-key, the environment, sources.yaml."""
    configured = library.sources.model.trusted_keys if library.sources is not None else []
    return trusted_keys(library.root, given, configured)


def find_snapshot(root: Path, snapshot: Path | None, keys: Sequence[bytes] = ()) -> Snapshot | None:
    """The snapshot asked for, else the newest one of the instance, else None; verified."""
    path = snapshot if snapshot is not None else latest_snapshot(root)
    return load_snapshot(path, keys) if path is not None else None


MAX_REASON = 300  # of an exception's text quoted in a result


class EvidenceShapeError(Exception):
    """An evidence item that verifies but does not hold what the checks read."""

    def __init__(self, item_id: str, problem: str) -> None:
        super().__init__(f"{item_id}: {problem}")
        self.item_id = item_id
        self.problem = problem


@dataclass
class _CheckView(Snapshot):
    """The snapshot as one check run sees it: it records every item the check reads, and an
    item whose data has the wrong shape stops the check with an error naming that item."""

    shapes: dict[str, str | None] = field(default_factory=dict)  # shared by all views
    read_ids: list[str] = field(default_factory=list)

    def get(self, item_id: str, as_of: dt.datetime) -> EvidenceRead:
        if item_id not in self.read_ids:
            self.read_ids.append(item_id)
        read = super().get(item_id, as_of)
        if read.usable:
            if item_id not in self.shapes:
                self.shapes[item_id] = shape_problem(item_id, read.data)
            problem = self.shapes[item_id]
            if problem is not None:
                raise EvidenceShapeError(item_id, problem)
        return read


def _view(snapshot: Snapshot, shapes: dict[str, str | None]) -> _CheckView:
    # The view shares the snapshot's fields, its cache of parsed items included.
    base = {f.name: getattr(snapshot, f.name) for f in dataclasses.fields(Snapshot) if f.init}
    return _CheckView(**base, shapes=shapes)


def _run_check(check: Check, ctx: CheckContext, view: _CheckView) -> list[CheckResult]:
    """The check's results; when it stops on evidence it did not expect, one `error` result
    naming the items it read and the problem. Whatever it decided before that is discarded, so
    nothing passes on evidence that could not be read as a whole."""
    try:
        return check(ctx)
    except EvidenceShapeError as exc:
        reason = f"evidence {exc.item_id} does not have the shape the check reads: {exc.problem}"
    except Exception as exc:  # evidence is input: no shape of it may crash a run
        text = str(exc)
        text = text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."
        read = ", ".join(view.read_ids) or "no evidence item"
        reason = (
            f"the check could not evaluate the evidence it read ({read}): unexpected data "
            f"({type(exc).__name__}: {text}); run `evidoc verify` and collect again"
        )
    return [ctx.result("all", ResultStatus.error, reason, view.read_ids)]


def evaluate(library: Library, snapshot: Snapshot | None, as_of: dt.datetime) -> Results:
    """Run every practice's checks on the snapshot. Without one, nothing was collected."""
    results: list[CheckResult] = []
    shapes: dict[str, str | None] = {}  # each item's shape is checked once per run
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
            view = _view(snapshot, shapes)
            ctx = CheckContext(
                library, view, dict(ref.with_), pid, ref.id, as_of, name=ref.name or ""
            )
            results.extend(_run_check(check, ctx, view))
    info = None
    if snapshot is not None:
        m = snapshot.manifest
        info = SnapshotInfo(
            id=m.id,
            digest=m.digest,
            collected_at=m.created_at,
            demo=m.demo,
            signer=snapshot.signer,
        )
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


@dataclass(frozen=True)
class Evaluated:
    """One instance loaded, its snapshot verified and judged: what every output starts from."""

    library: Library
    snapshot: Snapshot | None
    keys: tuple[bytes, ...]
    results: Results
    report: Report
    judged_at: dt.datetime


def evaluate_instance(
    root: Path,
    *,
    docs_dir: Path | None = None,
    snapshot: Path | None = None,
    now: dt.datetime | None = None,
    public_keys: Sequence[Path] = (),
) -> Evaluated:
    library = load_library(root, docs_dir)
    keys = trusted(library, public_keys)
    snap = find_snapshot(root, snapshot, keys)
    if now is None:
        now = judgement_time(root, snap)
    results = evaluate(library, snap, now)
    return Evaluated(library, snap, keys, results, build_report(library, results, now.date()), now)


def _run(
    root: Path,
    *,
    docs_dir: Path | None,
    snapshot: Path | None,
    now: dt.datetime | None,
    public_keys: Sequence[Path],
) -> tuple[Library, Snapshot | None, tuple[bytes, ...], Report]:
    e = evaluate_instance(
        root, docs_dir=docs_dir, snapshot=snapshot, now=now, public_keys=public_keys
    )
    return e.library, e.snapshot, e.keys, e.report


def run_report(
    root: Path,
    *,
    docs_dir: Path | None = None,
    snapshot: Path | None = None,
    now: dt.datetime | None = None,
    public_keys: Sequence[Path] = (),
) -> tuple[Library, Report]:
    """Load, evaluate and report, judged at `now` or else at `judgement_time`."""
    library, _, _, report = _run(
        root, docs_dir=docs_dir, snapshot=snapshot, now=now, public_keys=public_keys
    )
    return library, report


def run_register(
    root: Path,
    *,
    docs_dir: Path | None = None,
    snapshot: Path | None = None,
    now: dt.datetime | None = None,
    public_keys: Sequence[Path] = (),
) -> tuple[Library, Snapshot | None, Report, list[RegisterRow]]:
    """As run_report, plus the verified snapshot it read and the findings register (its
    history read from older snapshots)."""
    library, snap, keys, report = _run(
        root, docs_dir=docs_dir, snapshot=snapshot, now=now, public_keys=public_keys
    )
    return library, snap, report, build_register(library, report, snap, keys)


def run_gate(
    root: Path,
    *,
    docs_dir: Path | None = None,
    require: str = "documented",
    snapshot: Path | None = None,
    now: dt.datetime,
    public_keys: Sequence[Path] = (),
) -> GateResult:
    library, _, report, register = run_register(
        root, docs_dir=docs_dir, snapshot=snapshot, now=now, public_keys=public_keys
    )
    findings = gate_findings(library, report, now.date(), Requirement(require), PARAMETERS)
    return GateResult(report=report, findings=findings, require=require, register=register)
