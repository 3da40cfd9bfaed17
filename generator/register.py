"""The findings register (a remediation view, like a POA&M): one row per proving check result
that fails or has no usable evidence, with the controls it affects, the practice's owner, the
snapshot it was first seen in and the remediation plan that covers it (controls/remediations/).

First seen is found in the snapshot history: walking back from the current snapshot through the
older ones under evidence/snapshots, the oldest snapshot of the unbroken run in which the same
practice/check/subject result was already not passing (a result that passed, or did not exist,
in between starts a new run). Only the practices with open rows are evaluated, and the walk stops
as soon as every row's run has ended, so a stable history costs little.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from generator.errors import InputError
from generator.library import Library
from generator.models import Acceptance, Incident
from generator.report import Report, Status
from generator.results import CheckResult, ResultStatus, root_causes
from generator.snapshot.store import Snapshot, load_snapshot, snapshots_before

MAX_HISTORY = 1000  # older snapshots looked at, at most


class PlanState(StrEnum):
    unplanned = "unplanned"  # no remediation, or only a risk acceptance that has expired
    overdue = "overdue"  # an action past its due date
    planned = "planned"  # an action not yet due
    accepted = "accepted"  # a risk acceptance that has not expired


STATE_ORDER = list(PlanState)


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    remediation: str  # its id
    file: str
    line: int | None
    title: str | None = None
    action: str | None = None
    owner: str | None = None
    due: str | None = None  # YYYY-MM-DD
    acceptance: Acceptance | None = None
    acceptance_expired: bool = False
    incident: Incident | None = None


class SeenIn(BaseModel):
    model_config = ConfigDict(frozen=True)

    snapshot: str
    collected_at: str


class RegisterRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str  # practice/check@subject, as findings name a result
    kind: str  # failing-check | missing-evidence
    practice: str
    check: str
    subject: str
    environment: str | None = None
    status: str
    reason: str
    evidence: list[str] = []
    controls: list[str] = []
    owner: str
    file: str | None = None  # the practice file line that declares the check
    line: int | None = None
    first_seen: SeenIn | None = None
    plan: Plan | None = None
    state: PlanState

    @property
    def overdue(self) -> bool:
        return self.state is PlanState.overdue

    @property
    def unplanned(self) -> bool:
        return self.state is PlanState.unplanned

    @property
    def stands_out(self) -> bool:
        return self.state in (PlanState.overdue, PlanState.unplanned)

    def as_json(self) -> dict[str, object]:
        out = self.model_dump(mode="json")
        out["overdue"] = self.overdue
        out["unplanned"] = self.unplanned
        return out


def _identity(r: CheckResult) -> tuple[str, str, str]:
    return (r.practice, r.key, r.subject)


def open_results(report: Report) -> list[tuple[CheckResult, list[str]]]:
    """Every failing or unusable proving result of a control in scope and not excluded (the root
    cause, once), with the controls it affects, in report order."""
    results: dict[tuple[str, str, str], CheckResult] = {}
    affected: dict[tuple[str, str, str], list[str]] = {}
    for fw in report.frameworks:
        for control in fw.controls:
            if control.status is Status.excluded:
                continue
            for r in root_causes(control.results):
                if r.status is ResultStatus.passed:
                    continue
                ident = _identity(r)
                results.setdefault(ident, r)
                if control.ref not in affected.setdefault(ident, []):
                    affected[ident].append(control.ref)
    return [(results[i], affected[i]) for i in results]


def _plan(library: Library, r: CheckResult, today: dt.date) -> tuple[Plan | None, PlanState]:
    """The first remediation (by id) that covers R, and the row's state on TODAY."""
    for rid in sorted(library.remediations):
        loaded = library.remediations[rid]
        rem = loaded.model
        if not any(c.matches(r.practice, r.key, r.check, r.subject) for c in rem.covers):
            continue
        accepted = rem.acceptance is not None and not rem.acceptance.expired(today)
        plan = Plan(
            remediation=rid,
            file=loaded.file,
            line=loaded.line("id"),
            title=rem.title,
            action=rem.action,
            owner=rem.owner,
            due=rem.due.isoformat() if rem.due else None,
            acceptance=rem.acceptance,
            acceptance_expired=rem.acceptance is not None and not accepted,
            incident=rem.incident,
        )
        if accepted:
            return plan, PlanState.accepted
        if rem.due is not None:
            return plan, PlanState.overdue if rem.due < today else PlanState.planned
        return plan, PlanState.unplanned  # only an acceptance, and it has expired
    return None, PlanState.unplanned


def _check_line(library: Library, practice: str, key: str) -> tuple[str | None, int | None]:
    loaded = library.practices.get(practice)
    if loaded is None:
        return None, None
    for i, check in enumerate(loaded.model.checks):
        if check.key == key:
            return loaded.file, loaded.line("checks", i, "id")
    return loaded.file, None


def older_snapshots(root: Path, current: Snapshot) -> list[Path]:
    """The instance's snapshots older than CURRENT, newest first."""
    return snapshots_before(root, current.manifest.id)[::-1][:MAX_HISTORY]


def first_seen(
    library: Library,
    snapshot: Snapshot | None,
    idents: Sequence[tuple[str, str, str]],
    keys: Sequence[bytes] = (),
) -> dict[tuple[str, str, str], SeenIn]:
    """Per result identity, the oldest snapshot of its unbroken not-passing run."""
    from generator.pipeline import evaluate

    if snapshot is None or not idents:
        return {}
    m = snapshot.manifest
    seen = dict.fromkeys(idents, SeenIn(snapshot=m.id, collected_at=m.created_at))
    still = set(idents)
    for path in older_snapshots(library.root, snapshot):
        if not still:
            break
        try:
            older = load_snapshot(path, keys)
        except InputError:
            break  # history that does not verify is not read; the run is known up to here
        practices = {p for p, _, _ in still}
        view = dataclasses.replace(
            library,
            practices={p: library.practices[p] for p in practices if p in library.practices},
        )
        bad = {
            _identity(r)
            for r in evaluate(view, older, older.created_at).results
            if r.status is not ResultStatus.passed
        }
        info = SeenIn(snapshot=older.manifest.id, collected_at=older.manifest.created_at)
        for ident in sorted(still):
            if ident in bad:
                seen[ident] = info
            else:
                still.discard(ident)
    return seen


def build_register(
    library: Library,
    report: Report,
    snapshot: Snapshot | None,
    keys: Sequence[bytes] = (),
) -> list[RegisterRow]:
    """The rows, those that stand out (unplanned, overdue) first, then by id."""
    opened = open_results(report)
    seen = first_seen(library, snapshot, [_identity(r) for r, _ in opened], keys)
    today = report.as_of
    rows = []
    for r, controls in opened:
        plan, state = _plan(library, r, today)
        practice = library.practices.get(r.practice)
        file, line = _check_line(library, r.practice, r.key)
        rows.append(
            RegisterRow(
                id=f"{r.practice}/{r.key}@{r.subject}",
                kind="failing-check" if r.status is ResultStatus.failed else "missing-evidence",
                practice=r.practice,
                check=r.key,
                subject=r.subject,
                environment=r.environment,
                status=r.status.value,
                reason=r.reason,
                evidence=list(r.evidence),
                controls=controls,
                owner=practice.model.owner if practice else "",
                file=file,
                line=line,
                first_seen=seen.get(_identity(r)),
                plan=plan,
                state=state,
            )
        )
    rows.sort(key=lambda row: (STATE_ORDER.index(row.state), row.id))
    return rows


def counts(rows: Sequence[RegisterRow]) -> list[tuple[str, int]]:
    """Rows per plan state, in STATE_ORDER."""
    return [(s.value, sum(1 for r in rows if r.state is s)) for s in STATE_ORDER]
