"""`evidoc export oscal-*`: valid against NIST's schemas, read by a second implementation
(compliance-trestle), deterministic, and true to the report the gate uses.

The JSON schemas do not express OSCAL's uniqueness and cross-reference constraints (NIST keeps
those in its metaschema constraint files); the tests here check the references evidoc makes
(observation and back-matter UUIDs) themselves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.checks.registry import CHECKS
from generator.loader import load_library
from generator.models import Crosswalk
from generator.oscal.export_ar import export_ar
from generator.oscal.export_common import load_instance
from generator.oscal.export_component import export_component
from generator.oscal.export_mapping import export_mapping
from generator.oscal.ids import NAMESPACE, NS, from_token, is_token, to_token, uuid_factory
from tests.conftest import REPO, Instance, run_evidoc
from tests.site_helpers import evidence_instance, namespaces_check, write_snapshot

OSCAL = Path(__file__).resolve().parents[2] / "shared" / "oscal"
SCHEMAS = {
    "assessment-results": "oscal_assessment-results_schema.json",
    "component-definition": "oscal_component_schema.json",
    "mapping-collection": "oscal_mapping_schema.json",
}
COMMANDS = {
    "oscal-ar": "assessment-results",
    "oscal-component": "component-definition",
    "oscal-mapping": "mapping-collection",
}
AT = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


@cache
def validator(model: str) -> Any:
    # Python's `re` cannot compile the schemas' \p{L} patterns; jsonschema-rs (Rust) can.
    import jsonschema_rs

    schema = json.loads((OSCAL / "schemas" / SCHEMAS[model]).read_text(encoding="utf-8"))
    return jsonschema_rs.Draft7Validator(schema, validate_formats=True)


def schema_errors(doc: dict[str, Any]) -> list[str]:
    (model,) = doc
    return [
        f"{list(e.instance_path)}: {e.message}"[:300] for e in validator(model).iter_errors(doc)
    ]


def trestle_models() -> dict[str, Any] | None:
    """compliance-trestle's OSCAL 1.2 models (the `oscal` extra), by document key; None in the
    lowest-versions run, which installs the core and test dependencies only."""
    try:
        from trestle.oscal import assessment_results, component, mapping
    except ImportError:
        if os.environ.get("EVIDOC_LOWEST") == "1":
            return None
        raise
    return {
        "assessment-results": assessment_results.Model,
        "component-definition": component.Model,
        "mapping-collection": mapping.Model,
    }


def trestle_parse(doc: dict[str, Any]) -> Any:
    """The document as trestle reads it (a second, independent implementation of OSCAL)."""
    models = trestle_models()
    return models[next(iter(doc))].model_validate(doc) if models is not None else None


def check_valid(doc: dict[str, Any]) -> None:
    assert schema_errors(doc) == []
    trestle_parse(doc)


def own_props(node: dict[str, Any], name: str) -> list[str]:
    return [p["value"] for p in node.get("props", []) if p["name"] == name and p.get("ns") == NS]


def resources(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A document body's back-matter resources by UUID."""
    return {r["uuid"]: r for r in body.get("back-matter", {}).get("resources", [])}


# --- the tools the tests rely on are real ---------------------------------------------------------


def broken() -> dict[str, Any]:
    doc = json.loads(export_mapping(load_instance(REPO, None, ())))
    check_valid(doc)
    doc["mapping-collection"]["uuid"] = "not-a-uuid"
    return doc


def test_the_schema_refuses_a_broken_document() -> None:
    assert schema_errors(broken())


def test_trestle_refuses_a_broken_document() -> None:
    if trestle_models() is None:
        pytest.skip("compliance-trestle (evidoc[oscal]) is not in the lowest-versions run")
    with pytest.raises(ValueError):
        trestle_parse(broken())


@pytest.mark.parametrize(
    "ident",
    [
        "ac-2.1",
        "A.12.1.4",
        "8.31",
        "3 kap. 1 §",
        "164.308(a)(4)(ii)(A)",
        "_x",
        "a_b",
        "Art. 5",
        "_20_",
    ],
)
def test_control_ids_become_tokens_and_back(ident: str) -> None:
    token = to_token(ident)
    assert is_token(token) and from_token(token) == ident
    if is_token(ident) and not ident.startswith("_"):
        assert token == ident  # OSCAL ids such as ac-2.1 stay as they are


def test_uuids_are_version_5_as_the_standard_library_makes_them() -> None:
    make = uuid_factory("Example Clinic")
    space = uuid.uuid5(NAMESPACE, "Example Clinic")
    for parts in [("finding", "20261101T120000Z", "demo-iso", "A.1"), ("map", "3 kap. 1 §")]:
        made = make(*parts)
        assert made == str(uuid.uuid5(space, "\x1f".join(parts)))
        assert uuid.UUID(made).version == 5


# --- the shipped instance, as a user runs it ------------------------------------------------------


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_export_is_valid_and_byte_identical_run_to_run(command: str, tmp_path: Path) -> None:
    out = tmp_path / "doc.json"
    first = run_evidoc("export", command, "--root", REPO, "--output", out)
    assert first.returncode == 0, first.stderr
    second = run_evidoc("export", command, "--root", REPO)
    assert second.returncode == 0, second.stderr
    assert out.read_bytes() == second.stdout.encode("utf-8")
    doc = json.loads(out.read_bytes())
    assert list(doc) == [COMMANDS[command]]
    check_valid(doc)
    body = doc[COMMANDS[command]]
    # Timestamps come from the snapshot, never from the clock.
    snapshot = json.loads(next((REPO / "evidence/snapshots").glob("*/manifest.json")).read_text())
    assert body["metadata"]["last-modified"] == snapshot["created_at"]
    assert body["metadata"]["oscal-version"] == "1.2.1"


def test_the_component_definition_carries_practices_and_proving_checks() -> None:
    doc = json.loads(export_component(load_instance(REPO, None, ())))
    check_valid(doc)
    (component,) = doc["component-definition"]["components"]
    assert component["type"] == "service" and "Kubernetes platform" in component["title"]
    impls = {own_props(ci, "framework")[0]: ci for ci in component["control-implementations"]}
    assert {"iso27001-2022", "iso27001-2013", "bsi-app-4-4", "nist-800-171"} <= set(impls)
    back = resources(doc["component-definition"])
    iso = impls["iso27001-2022"]
    assert own_props(back[iso["source"].removeprefix("#")], "framework") == ["iso27001-2022"]
    requirement = next(r for r in iso["implemented-requirements"] if r["control-id"] == "_8.31")
    assert from_token(requirement["control-id"]) == "8.31"
    practice = load_library(REPO).practices["environment-separation"].model
    assert practice.statement.strip() in requirement["description"]
    assert "**Environment separation** (equivalent)" in requirement["description"]
    grouped = [
        (p["name"], p["value"])
        for p in requirement["props"]
        if p.get("group") == "environment-separation"
    ]
    assert ("proven-by", "kubernetes.isolation-level") in grouped
    assert ("proven-by", "kubernetes.no-production-data") in grouped
    assert ("relationship", "equivalent") in grouped


def test_the_mapping_collection_imports_back_as_the_same_crosswalk(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.json"
    proc = run_evidoc("export", "oscal-mapping", "--root", REPO, "--output", mapping)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(mapping.read_text())
    (m,) = doc["mapping-collection"]["mappings"]
    relationships = {x["relationship"] for x in m["maps"]}
    assert {"equivalent-to", "subset-of", "intersects-with"} <= relationships
    out = tmp_path / "crosswalks"
    out.mkdir()
    back = run_evidoc("import", "oscal", mapping, "--output", out)
    assert back.returncode == 0, back.stderr
    assert "crosswalk iso27001-2013-2022 (iso27001-2013 -> iso27001-2022)" in back.stdout
    original = load_library(REPO).crosswalks["iso27001-2013-2022"].model
    again = Crosswalk.model_validate(yaml.safe_load((out / "iso27001-2013-2022.yaml").read_text()))
    assert again == original


# --- an instance with evidence: the AR says what the gate says -----------------------------------

CROSSWALK = """\
id: demo-to-law
title: Demo catalog to the demo law
source: demo-iso
target: demo-law
mappings:
  - {source: A.1, target: "3 kap. 1 §", relationship: equivalent, note: Same requirement.}
  - {source: A.2, target: "3 kap. 2 §", relationship: subset}
  - {source: A.2, target: "4 kap.", relationship: superset}
  - {source: A.3, target: "3 kap. 2 §", relationship: intersects, note: "Partly:\\nsee below."}
"""
LAW = """\
id: demo-law
title: Demo law
version: "2020:7"
publisher: Example authority
groups:
  - id: "3 kap."
    title: Chapter 3
    controls:
      - {id: "3 kap. 1 §", title: Separation}
      - {id: "3 kap. 2 §", title: Review}
  - id: "4 kap."
    title: Chapter 4
    controls:
      - {id: "4 kap. 1 §", title: Reporting}
"""


@pytest.fixture
def evidence(instance: Instance, monkeypatch: pytest.MonkeyPatch) -> Instance:
    monkeypatch.setitem(CHECKS, "test.namespaces", namespaces_check)
    evidence_instance(instance)
    instance.write("controls/frameworks/demo-law.yaml", LAW)
    instance.write("controls/crosswalks/demo-to-law.yaml", CROSSWALK)
    instance.write(
        "controls/scope.yaml",
        "organisation: Example Clinic\nframeworks: [demo-iso]\n"
        "exclusions:\n  - control: demo-iso:A.3\n    justification: Guarded by the operator.\n"
        "    approved_by: CISO\n",
    )
    return instance


def ar(inst: Instance, **kwargs: Any) -> dict[str, Any]:
    data = export_ar(load_instance(inst.root, None, ()), **kwargs)
    doc = json.loads(data)
    check_valid(doc)
    assert export_ar(load_instance(inst.root, None, ()), **kwargs) == data  # identical bytes
    return doc


def test_assessment_results_record_the_snapshot_and_its_evidence(evidence: Instance) -> None:
    snap = write_snapshot(evidence, AT, ["shop", "kube-system"])
    doc = ar(evidence)["assessment-results"]
    assert doc["metadata"]["last-modified"] == "2026-11-01T12:00:00Z"
    (result,) = doc["results"]
    assert result["start"] == "2026-11-01T12:00:00Z"
    assert own_props(result, "snapshot") == [snap.name]
    manifest = json.loads((snap / "manifest.json").read_text())
    back = resources(doc)
    assert back[doc["import-ap"]["href"].removeprefix("#")]["title"].endswith("manifest")

    (obs,) = result["observations"]  # one check result, one observation
    assert obs["methods"] == ["TEST"] and obs["collected"] == "2026-11-01T12:00:00Z"
    assert own_props(obs, "result") == ["pass"] and own_props(obs, "subject") == ["production"]
    (evidence_link,) = obs["relevant-evidence"]
    resource = back[evidence_link["href"].removeprefix("#")]
    (item,) = manifest["items"]
    (rlink,) = resource["rlinks"]
    assert rlink["hashes"] == [{"algorithm": "SHA-256", "value": item["sha256"]}]
    assert rlink["href"] == f"evidence/snapshots/{snap.name}/{item['path']}"
    on_disk = (evidence.root / rlink["href"]).read_bytes()
    assert hashlib.sha256(on_disk).hexdigest() == item["sha256"]

    findings = {own_props(f, "control")[0]: f for f in result["findings"]}
    assert sorted(findings) == ["A.1", "A.2", "A.3"]  # every in-scope control
    selection = result["reviewed-controls"]["control-selections"]
    assert [c["control-id"] for c in selection[0]["include-controls"]] == ["A.1", "A.2", "A.3"]
    a1, a2, a3 = (findings[c]["target"] for c in ("A.1", "A.2", "A.3"))
    assert a1["status"]["state"] == "satisfied" and a1["status"]["reason"] == "pass"
    assert a1["implementation-status"]["state"] == "implemented"
    assert findings["A.1"]["related-observations"] == [{"observation-uuid": obs["uuid"]}]
    # Documented by a page only, and excluded: not proven, so not satisfied by default.
    assert a2["status"]["state"] == "not-satisfied" and a2["status"]["reason"] == "other"
    assert a3["status"]["state"] == "not-satisfied"
    assert a3["implementation-status"]["state"] == "not-applicable"
    assert own_props(findings["A.3"], "status") == ["excluded"]

    relaxed = ar(evidence, require="documented")["assessment-results"]["results"][0]
    states = {
        own_props(f, "control")[0]: f["target"]["status"]["state"] for f in relaxed["findings"]
    }
    assert states == {"A.1": "satisfied", "A.2": "satisfied", "A.3": "satisfied"}


def test_a_failing_check_gives_a_not_satisfied_finding(evidence: Instance) -> None:
    write_snapshot(evidence, AT, ["kube-system"])
    result = ar(evidence)["assessment-results"]["results"][0]
    a1 = next(f for f in result["findings"] if own_props(f, "control") == ["A.1"])
    assert a1["target"]["status"] == {
        "state": "not-satisfied",
        "reason": "fail",
        "remarks": a1["target"]["status"]["remarks"],
    }
    assert own_props(a1, "status") == ["failing"]
    assert own_props(result["observations"][0], "result") == ["fail"]


def test_uuids_are_stable_and_follow_the_snapshot(evidence: Instance) -> None:
    write_snapshot(evidence, AT, ["shop"])
    first = ar(evidence)["assessment-results"]["results"][0]
    write_snapshot(evidence, AT + dt.timedelta(hours=1), ["shop"])
    second = ar(evidence)["assessment-results"]["results"][0]
    assert first["uuid"] != second["uuid"]  # a new snapshot is a new assessment
    component = json.loads(export_component(load_instance(evidence.root, None, ())))
    again = json.loads(export_component(load_instance(evidence.root, None, ())))
    assert component == again


def test_crosswalk_relationships_and_odd_ids_survive_a_round_trip(
    evidence: Instance, tmp_path: Path
) -> None:
    write_snapshot(evidence, AT, ["shop"])
    data = export_mapping(load_instance(evidence.root, None, ()))
    doc = json.loads(data)
    check_valid(doc)
    (mapping,) = doc["mapping-collection"]["mappings"]
    refs = [ref["id-ref"] for m in mapping["maps"] for ref in (*m["sources"], *m["targets"])]
    # Encoded as the component definition encodes control ids, so the documents join.
    assert all(is_token(ref) for ref in refs), refs
    assert [
        (
            from_token(m["sources"][0]["id-ref"]),
            m["relationship"],
            from_token(m["targets"][0]["id-ref"]),
        )
        for m in mapping["maps"]
    ] == [
        ("A.1", "equivalent-to", "3 kap. 1 §"),
        ("A.2", "subset-of", "3 kap. 2 §"),
        ("A.2", "superset-of", "4 kap."),
        ("A.3", "intersects-with", "3 kap. 2 §"),
    ]
    path = tmp_path / "mapping.json"
    path.write_bytes(data)
    proc = run_evidoc("import", "oscal", path, "--output", tmp_path / "cw.yaml")
    assert proc.returncode == 0, proc.stderr
    original = load_library(evidence.root).crosswalks["demo-to-law"].model
    assert Crosswalk.model_validate(yaml.safe_load((tmp_path / "cw.yaml").read_text())) == original


def test_component_control_ids_that_are_not_tokens_are_encoded(evidence: Instance) -> None:
    evidence.write(
        "controls/practices/review.yaml",
        "id: review\ntitle: Review\nowner: CISO\nstatement: Every change is reviewed.\n"
        'satisfies:\n  - control: "demo-law:3 kap. 2 §"\n    relationship: subset\n',
    )
    doc = json.loads(export_component(load_instance(evidence.root, None, ())))
    check_valid(doc)
    impls = doc["component-definition"]["components"][0]["control-implementations"]
    law = next(i for i in impls if own_props(i, "framework") == ["demo-law"])
    (req,) = law["implemented-requirements"]
    assert req["control-id"] == "_3_20_kap._20_2_20__a7_"
    assert from_token(req["control-id"]) == own_props(req, "control")[0] == "3 kap. 2 §"
    assert "Example Clinic" in doc["component-definition"]["components"][0]["title"]


def test_without_a_snapshot_the_assessment_results_are_refused(instance: Instance) -> None:
    proc = run_evidoc("export", "oscal-ar", "--root", instance.root)
    assert proc.returncode == 2
    assert "no evidence snapshot: assessment results record one" in proc.stderr
    assert proc.stdout == ""
    # The other two need no evidence.
    proc = run_evidoc("export", "oscal-component", "--root", instance.root)
    assert proc.returncode == 0, proc.stderr
    check_valid(json.loads(proc.stdout))
