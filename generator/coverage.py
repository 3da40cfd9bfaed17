"""Evidence over the audit period: what every snapshot taken in the period shows, not only the
latest. A control verified on one day of the year is shown as exactly that.

Every snapshot of the instance whose collection time falls in the audit period (scope.yaml) is
verified and judged with today's library, as the latest is; one that does not verify is named and
not used. The result says which check results held throughout, which changed status and when,
and how many snapshots each control was verified in.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import InputError
from generator.library import Library
from generator.models import AuditPeriod
from generator.report import Report, Status, build_report
from generator.results import Results, ResultStatus
from generator.snapshot.store import Snapshot, load_snapshot, snapshots_before

ABSENT = "not reported"  # a result a snapshot does not have (its subject did not exist then)
MAX_SNAPSHOTS = 400  # snapshots judged per period, at most (more than one a day for a year)


@dataclass(frozen=True)
class Point:
    """One snapshot of the period."""

    id: str
    collected_at: dt.datetime


@dataclass(frozen=True)
class Gap:
    start: dt.date
    end: dt.date
    what: str  # "before the first snapshot", "between two snapshots", "after the last snapshot"

    @property
    def days(self) -> int:
        return (self.end - self.start).days


@dataclass(frozen=True)
class Change:
    snapshot: str
    at: dt.datetime
    before: str
    after: str


@dataclass(frozen=True)
class ResultHistory:
    """One check result (practice, check, subject, environment) across the period."""

    practice: str
    check: str
    subject: str
    environment: str | None
    seen: int  # snapshots that have this result
    passed: int  # of those, how many passed
    first: str  # its status in the first snapshot that has it
    last: str  # in the last
    changes: list[Change] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return not self.changes


@dataclass(frozen=True)
class ControlHistory:
    framework: str
    control: str
    title: str
    verified: int  # snapshots in which the control was verified
    statuses: list[tuple[str, str]]  # (snapshot id, status), oldest first, only where it changed


@dataclass(frozen=True)
class Window:
    """The Git history a snapshot's commits item covers, against the audit period."""

    repository: str
    since: str | None
    until: str | None
    period: AuditPeriod | None = None

    @property
    def note(self) -> str:
        """Whether the window covers the period, in words."""
        if self.period is None:
            return "no audit period is declared to compare it with"
        start, end = self.period.start.isoformat(), self.period.end.isoformat()
        short = []
        if self.since is None or self.since > start:
            short.append(f"starts after the period does ({start})")
        if self.since is not None and self.since < start:
            short.append(f"starts before the period ({start}), so it judges more than the period")
        if self.until is None or self.until < end:
            short.append(f"ends before the period does ({end}): collected before its end")
        return "; ".join(short) or "covers the whole audit period"


@dataclass
class Coverage:
    period: AuditPeriod | None
    points: list[Point]
    unreadable: list[tuple[str, str]]  # (snapshot id, why it was not used)
    gaps: list[Gap]  # largest first
    results: list[ResultHistory]
    controls: list[ControlHistory]
    windows: list[Window]  # of the latest snapshot
    truncated: bool = False

    @property
    def largest_gap(self) -> Gap | None:
        return self.gaps[0] if self.gaps else None

    @property
    def held(self) -> list[ResultHistory]:
        return [r for r in self.results if r.held]

    @property
    def held_counts(self) -> list[tuple[tuple[str, str, str], int]]:
        """Results that held, counted per (check, practice, status), in print order."""
        counts: dict[tuple[str, str, str], int] = {}
        for r in self.held:
            key = (r.check, r.practice, r.last)
            counts[key] = counts.get(key, 0) + 1
        return list(counts.items())

    @property
    def changed(self) -> list[ResultHistory]:
        return [r for r in self.results if not r.held]


def _in_period(created: dt.datetime, period: AuditPeriod | None) -> bool:
    day = created.astimezone(dt.UTC).date()
    return period is None or period.start <= day <= period.end


def _candidates(root: Path, latest: Snapshot, period: AuditPeriod | None) -> list[Path]:
    """Older snapshots whose name (their collection time) falls in the period; the manifest's
    own time is checked again once loaded."""
    return [
        p
        for p in snapshots_before(root, latest.manifest.id)
        if period is None or _in(_named_day(p.name), period)
    ]


def _named_day(name: str) -> dt.date | None:
    try:
        return dt.date(int(name[0:4]), int(name[4:6]), int(name[6:8]))
    except ValueError:
        return None


def _in(day: dt.date | None, period: AuditPeriod) -> bool:
    return day is not None and period.start <= day <= period.end


def _gaps(period: AuditPeriod | None, points: list[Point], until: dt.date) -> list[Gap]:
    days = [p.collected_at.astimezone(dt.UTC).date() for p in points]
    gaps = [Gap(a, b, "between two snapshots") for a, b in itertools.pairwise(days)]
    if period is not None and days:
        gaps.insert(0, Gap(period.start, days[0], "before the first snapshot"))
        end = min(period.end, until)
        if end > days[-1]:
            gaps.append(Gap(days[-1], end, "after the last snapshot"))
    return sorted((g for g in gaps if g.days > 0), key=lambda g: (-g.days, g.start))


def _windows(latest: Snapshot, period: AuditPeriod | None) -> list[Window]:
    out = []
    for item in latest.manifest.items:
        if item.collector == "git" and item.id.endswith("/commits"):
            read = latest.get(item.id, latest.created_at)
            data = read.data if isinstance(read.data, dict) else {}
            window = data.get("period") or {}
            out.append(
                Window(
                    item.id.split("/")[1],
                    _day(window.get("since")),
                    _day(window.get("until")),
                    period,
                )
            )
    return out


def _day(value: object) -> str | None:
    return str(value)[:10] if value else None


def build_coverage(
    library: Library,
    latest: Snapshot | None,
    keys: Sequence[bytes] = (),
    today: dt.date | None = None,
    judged: tuple[Results, Report, dt.datetime] | None = None,
) -> Coverage | None:
    """JUDGED, when given, is the latest snapshot's results and report as the caller built them
    and when it judged them: reused (the latest is not judged twice) only when judged at the
    time the snapshot was taken, as every snapshot is judged here."""
    """The period's evidence, or None without a snapshot."""
    from generator.pipeline import evaluate

    if latest is None:
        return None
    scope = library.scope.model if library.scope is not None else None
    period = scope.audit_period if scope is not None else None
    snapshots: list[Snapshot] = []
    unreadable: list[tuple[str, str]] = []
    paths = _candidates(library.root, latest, period)
    truncated = len(paths) >= MAX_SNAPSHOTS
    for path in paths[-(MAX_SNAPSHOTS - 1) :]:
        try:
            older = load_snapshot(path, keys)
        except InputError as exc:
            unreadable.append((path.name, exc.message))
            continue
        if _in_period(older.created_at, period):
            snapshots.append(older)
    if _in_period(latest.created_at, period):
        snapshots.append(latest)

    points = [Point(s.manifest.id, s.created_at) for s in snapshots]
    seen: dict[tuple[str, str, str, str | None], list[tuple[Point, str]]] = {}
    verified: dict[tuple[str, str], list[tuple[Point, str]]] = {}
    titles: dict[tuple[str, str], str] = {}
    for point, snap in zip(points, snapshots, strict=True):
        if snap is latest and judged is not None and judged[2] == snap.created_at:
            results, report = judged[0], judged[1]
        else:
            results = evaluate(library, snap, snap.created_at)
            report = build_report(library, results, snap.created_at.date())
        for r in results.results:
            key = (r.practice, r.key, r.subject, r.environment)
            seen.setdefault(key, []).append((point, r.status.value))
        for fw in report.frameworks:
            for c in fw.controls:
                verified.setdefault((fw.id, c.id), []).append((point, c.status.value))
                titles[(fw.id, c.id)] = c.title

    histories = []
    for (practice, check, subject, environment), statuses in sorted(
        seen.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3] or "")
    ):
        # Absent in a snapshot ("not reported") counts as a status: a per-object failure that
        # appears in September changed the period as much as a pass turning into a fail.
        at = {p.id: status for p, status in statuses}
        timeline = [(p, at.get(p.id, ABSENT)) for p in points]
        changes = [
            Change(p.id, p.collected_at, before, after)
            for (_, before), (p, after) in itertools.pairwise(timeline)
            if before != after
        ]
        histories.append(
            ResultHistory(
                practice=practice,
                check=check,
                subject=subject,
                environment=environment,
                seen=len(statuses),
                passed=sum(1 for _, s in statuses if s == ResultStatus.passed.value),
                first=statuses[0][1],
                last=statuses[-1][1],
                changes=changes,
            )
        )
    controls = []
    for (fid, cid), statuses in verified.items():
        n = sum(1 for _, s in statuses if s == Status.verified.value)
        if n == 0:
            continue
        shown = [
            (p.id, s) for i, (p, s) in enumerate(statuses) if i == 0 or statuses[i - 1][1] != s
        ]
        controls.append(ControlHistory(fid, cid, titles[(fid, cid)], n, shown))
    until = today or latest.created_at.date()
    return Coverage(
        period=period,
        points=points,
        unreadable=unreadable,
        gaps=_gaps(period, points, until),
        results=histories,
        controls=controls,
        windows=_windows(latest, period),
        truncated=truncated,
    )


def summary(coverage: Coverage) -> str:
    """One sentence on how much of the period the evidence covers."""
    n = len(coverage.points)
    period = f"the audit period {coverage.period}" if coverage.period else "no declared period"
    if n == 0:
        return f"No snapshot was taken in {period}: the evidence shown is from outside it."
    first, last = coverage.points[0], coverage.points[-1]
    if n == 1:
        text = (
            f"One snapshot in {period}, taken {first.collected_at:%Y-%m-%d}: the evidence shows "
            "that single point in time, not the rest of the period."
        )
    else:
        text = (
            f"{n} snapshots in {period}, the first {first.collected_at:%Y-%m-%d}, the last "
            f"{last.collected_at:%Y-%m-%d}."
        )
    gap = coverage.largest_gap
    if gap is not None:
        text += (
            f" Largest gap without evidence: {gap.days} days ({gap.start} to {gap.end}, "
            f"{gap.what})."
        )
    return text
