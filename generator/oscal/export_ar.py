"""The gate's report as OSCAL assessment results: one result for the snapshot.

- an observation per check result: what was tested, on which subject, with what outcome, and
  its relevant evidence: links to back-matter resources, one per snapshot item, each carrying
  the item's path and SHA-256 as the manifest records it;
- a finding per in-scope control: its target (the control) is `satisfied` only when the control
  meets the requirement (default: verified, i.e. proven by passing checks on fresh, intact
  evidence; with --require documented also documented and excluded controls), with the
  implementation status of the Statement of Applicability beside it.

OSCAL has no state for a control nothing implements: it is given as `not-implemented` (the
schema allows other tokens); an inherited control is `implemented`, with the provider in the
remarks. evidoc's own statuses travel in props.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from generator.errors import InputError
from generator.implementation import Implementation
from generator.oscal.export_common import Instance, document, prop
from generator.oscal.ids import one_line, timestamp, to_token
from generator.pipeline import evaluate, judgement_time
from generator.report import ControlReport, Report, Status, build_report
from generator.results import CheckResult
from generator.snapshot.manifest import MANIFEST, ItemStatus, ManifestItem
from generator.snapshot.store import Snapshot, digest_of, parse_time

SATISFIED = {
    "verified": {Status.verified},
    "documented": {Status.verified, Status.documented, Status.excluded},
}
IMPLEMENTATION = {
    Implementation.implemented: "implemented",
    Implementation.partial: "partial",
    Implementation.planned: "planned",
    Implementation.alternative: "alternative",
    Implementation.not_applicable: "not-applicable",
    Implementation.inherited: "implemented",
    Implementation.not_implemented: "not-implemented",
}
REASON = {Status.verified: "pass", Status.failing: "fail"}


def _href(instance: Instance, snapshot: Snapshot, rel: str) -> str:
    """Where a snapshot file is, relative to the instance root when the snapshot is inside it
    (as evidence/snapshots/ID/...), else relative to the snapshot itself."""
    path = snapshot.path / rel
    try:
        return path.resolve().relative_to(instance.root.resolve()).as_posix()
    except ValueError:
        return rel


def _resources(instance: Instance, snapshot: Snapshot) -> tuple[list[dict[str, Any]], str]:
    manifest = snapshot.manifest
    sid = manifest.id
    manifest_uuid = instance.uuid("snapshot", sid)
    manifest_props = [prop("snapshot", sid), prop("manifest-digest", manifest.digest)]
    if snapshot.signer:
        manifest_props.append(prop("signer", snapshot.signer))
    resources: list[dict[str, Any]] = [
        {
            "uuid": manifest_uuid,
            "title": f"Evidence snapshot {sid}: manifest",
            "description": (
                f"The manifest of the evidence snapshot {sid}, taken {manifest.created_at}: every "
                "item with its SHA-256. `evidoc verify` recomputes them and the manifest digest "
                "(prop manifest-digest, over the manifest's canonical JSON)."
            ),
            "props": manifest_props,
            "rlinks": [
                {
                    "href": _href(instance, snapshot, MANIFEST),
                    "media-type": "application/json",
                    "hashes": [
                        {"algorithm": "SHA-256", "value": digest_of(snapshot.path / MANIFEST)}
                    ],
                }
            ],
        }
    ]
    for item in manifest.items:
        props = [prop("evidence-item", item.id), prop("collector", item.collector)]
        props += [prop("status", item.status.value), prop("collected-at", item.collected_at)]
        if item.environment:
            props.append(prop("environment", item.environment))
        if item.context:
            props.append(prop("context", item.context))
        description = f"{item.collector}: {item.query}"
        if item.source:
            description += f" (from {item.source})"
        if item.detail:
            description += f"; {item.status.value}: {item.detail}"
        resources.append(
            {
                "uuid": _item_uuid(instance, sid, item.id),
                "title": item.id,
                "description": description,
                "props": props,
                "rlinks": [
                    {
                        "href": _href(instance, snapshot, item.path),
                        "media-type": "application/json",
                        "hashes": [{"algorithm": "SHA-256", "value": item.sha256}],
                    }
                ],
            }
        )
    return resources, manifest_uuid


def _item_uuid(instance: Instance, sid: str, item_id: str) -> str:
    return instance.uuid("evidence", sid, item_id)


def _result_key(r: CheckResult) -> tuple[str, ...]:
    return (r.practice, r.key, r.subject, r.environment or "", r.status.value, r.reason)


def _observation(
    instance: Instance,
    snapshot: Snapshot,
    items: dict[str, ManifestItem],
    result: CheckResult,
    obs_uuid: str,
) -> dict[str, Any]:
    sid = snapshot.manifest.id
    read = [items[i] for i in result.evidence if i in items]
    collected = max((parse_time(i.collected_at) for i in read), default=snapshot.created_at)
    fresh = [
        parse_time(i.collected_at) + dt.timedelta(seconds=i.ttl)
        for i in read
        if i.status is ItemStatus.ok
    ]
    props = [
        prop("practice", result.practice),
        prop("check", result.check),
        prop("subject", result.subject),
        prop("result", result.status.value),
    ]
    if result.name:
        props.insert(2, prop("check-name", result.name))
    if result.environment:
        props.append(prop("environment", result.environment))
    evidence = []
    for item_id in result.evidence:
        item = items.get(item_id)
        if item is None:
            evidence.append({"description": f"Evidence item {item_id}: not in snapshot {sid}."})
            continue
        evidence.append(
            {
                "href": f"#{_item_uuid(instance, sid, item_id)}",
                "description": (
                    f"Evidence item {item_id} ({item.status.value}), SHA-256 {item.sha256}."
                ),
                "props": [prop("evidence-item", item_id), prop("sha256", item.sha256)],
            }
        )
    obs: dict[str, Any] = {
        "uuid": obs_uuid,
        "title": f"{result.key} on {result.subject}: {result.status.value}",
        "description": result.reason,
        "props": props,
        "methods": ["TEST"],
        "types": ["control-objective"],
    }
    if evidence:
        obs["relevant-evidence"] = evidence
    obs["collected"] = timestamp(collected)
    if fresh:
        obs["expires"] = timestamp(min(fresh))
    return obs


def _finding(
    instance: Instance,
    sid: str,
    control: ControlReport,
    observations: dict[tuple[str, ...], str],
    require: str,
) -> dict[str, Any]:
    satisfied = control.status in SATISFIED[require]
    status: dict[str, Any] = {
        "state": "satisfied" if satisfied else "not-satisfied",
        "reason": REASON.get(control.status, "other"),
        "remarks": f"evidoc status: {control.status.value} (the finding's description says why)",
    }
    state = IMPLEMENTATION.get(control.implementation, control.implementation.value)
    implementation: dict[str, Any] = {"state": state}
    if control.implementation_reason:
        implementation["remarks"] = control.implementation_reason
    finding: dict[str, Any] = {
        "uuid": instance.uuid("finding", sid, control.framework, control.id),
        "title": one_line(f"{control.framework} {control.id}: {control.title}"),
        "description": control.reason,
        "props": [
            prop("framework", control.framework),
            prop("control", control.id),
            prop("status", control.status.value),
            prop("implementation", control.implementation.value),
        ],
        "target": {
            "type": "objective-id",
            "target-id": to_token(control.id),
            "status": status,
            "implementation-status": implementation,
        },
    }
    related = []
    for r in control.results:
        obs = observations.get(_result_key(r))
        if obs is not None and obs not in related:
            related.append(obs)
    if related:
        finding["related-observations"] = [{"observation-uuid": u} for u in related]
    return finding


def export_ar(
    instance: Instance,
    *,
    now: dt.datetime | None = None,
    require: str = "verified",
) -> bytes:
    snapshot = instance.snapshot
    if snapshot is None:
        raise InputError(
            instance.root / "evidence" / "snapshots",
            "no evidence snapshot: assessment results record one (run `evidoc collect`, or "
            "give --snapshot DIR)",
        )
    library = instance.library
    # Judged as the site and the pack judge it, unless --as-of says otherwise.
    now = now if now is not None else judgement_time(instance.root, snapshot)
    results = evaluate(library, snapshot, now)
    report: Report = build_report(library, results, now.date())
    if not report.frameworks:
        raise InputError(
            instance.root / "controls" / "scope.yaml",
            "no frameworks in scope: there are no controls to assess",
        )
    manifest = snapshot.manifest
    sid = manifest.id
    items = {i.id: i for i in manifest.items}
    resources, manifest_uuid = _resources(instance, snapshot)

    observations: list[dict[str, Any]] = []
    by_result: dict[tuple[str, ...], str] = {}
    counts: dict[tuple[str, ...], int] = {}
    for r in results.results:
        key = _result_key(r)
        counts[key] = counts.get(key, 0) + 1
        obs_uuid = instance.uuid("observation", sid, *key, str(counts[key]))
        by_result.setdefault(key, obs_uuid)
        observations.append(_observation(instance, snapshot, items, r, obs_uuid))

    selections = []
    findings = []
    for fw in report.frameworks:
        if not fw.controls:
            continue
        selections.append(
            {
                "description": f"{fw.title} ({fw.id}, version {fw.version}): every control in "
                "scope.",
                "props": [prop("framework", fw.id)],
                "include-controls": [{"control-id": to_token(c.id)} for c in fw.controls],
            }
        )
        findings += [_finding(instance, sid, c, by_result, require) for c in fw.controls]
    start = snapshot.created_at
    meets = " or ".join(sorted(s.value for s in SATISFIED[require]))
    result: dict[str, Any] = {
        "uuid": instance.uuid("result", sid),
        "title": f"Evidence snapshot {sid}",
        "description": (
            f"evidoc ran every practice's checks on evidence snapshot {sid} (taken "
            f"{manifest.created_at}, manifest digest {manifest.digest}) and judged each in-scope "
            f"control as of {now.date().isoformat()}. A finding's target is satisfied when the "
            f"control's evidence status is {meets}."
        ),
        "start": timestamp(start),
        "end": timestamp(max(now, start)),
        "props": [
            prop("snapshot", sid),
            prop("manifest-digest", manifest.digest),
            prop("as-of", now.date().isoformat()),
            prop("require", require),
            *([prop("demo", "true")] if manifest.demo else []),
        ],
        "reviewed-controls": {"control-selections": selections},
    }
    if observations:
        result["observations"] = observations
    if findings:
        result["findings"] = findings
    body = {
        "import-ap": {
            "href": f"#{manifest_uuid}",
            "remarks": (
                "No OSCAL assessment plan: the plan is the instance's practices and their checks "
                "(controls/practices), run on the evidence snapshot this reference points to."
            ),
        },
        "results": [result],
        "back-matter": {"resources": resources},
    }
    org = instance.organisation
    title = f"Assessment results{' of ' + org if org else ''}: evidence snapshot {sid}"
    return document(
        "assessment-results", instance.uuid("assessment-results", sid), title, instance.at, body
    )
