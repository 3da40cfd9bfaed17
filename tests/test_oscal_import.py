"""`evidoc import oscal`: NIST's own SP 800-53 content, profile resolution, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.library import Library
from generator.loader import load_library
from generator.models import Framework
from generator.tags import TagKind, TagResolver
from tests.conftest import Instance, run_evidoc

OSCAL = Path(__file__).resolve().parents[2] / "shared" / "oscal"
CONTENT = OSCAL / "content"
HIGH = CONTENT / "NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json"
MODERATE_RESOLVED = (
    CONTENT / "NIST_SP-800-53_rev5_MODERATE-baseline-resolved-profile_catalog-min.json"
)
MODERATE_PROFILE = CONTENT / "NIST_SP-800-53_rev5_MODERATE-baseline_profile.json"
HIGH_PROFILE = CONTENT / "NIST_SP-800-53_rev5_HIGH-baseline_profile.json"

PREFIX = "NIST SP 800-53"


def setup_module() -> None:
    assert HIGH.is_file(), f"NIST's OSCAL content is expected in {CONTENT} (shared/oscal)"


def nist_controls(path: Path) -> list[str]:
    """Every control id of a NIST catalog, in document order (enhancements after parents)."""
    out: list[str] = []

    def walk(controls: list[dict[str, Any]]) -> None:
        for c in controls:
            out.append(c["id"])
            walk(c.get("controls", []))

    catalog = json.loads(path.read_text(encoding="utf-8"))["catalog"]
    walk(catalog.get("controls", []))
    for group in catalog.get("groups", []):
        walk(group.get("controls", []))
    return out


def imported(path: Path) -> tuple[Framework, dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Framework.model_validate(data), data


def control_ids(fw: Framework) -> list[str]:
    out = [c.id for c in fw.controls]
    stack = list(reversed(fw.groups))
    while stack:
        group = stack.pop()
        out += [c.id for c in group.controls]
        stack.extend(reversed(group.groups))
    return out


def do_import(*args: str | Path, tmp_path: Path, name: str = "fw.yaml") -> Path:
    out = tmp_path / name
    proc = run_evidoc("import", "oscal", *args, "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout
    return out


# --- NIST's own content -------------------------------------------------------------------------


def test_the_high_resolved_catalog_imports_every_control_and_enhancement(tmp_path: Path) -> None:
    out = do_import(HIGH, "--id", "nist-800-53-high", "--tag-prefix", PREFIX, tmp_path=tmp_path)
    fw, data = imported(out)
    ids = control_ids(fw)
    assert len(ids) == 370  # NIST: 370 controls and enhancements in the HIGH baseline
    assert ids == nist_controls(HIGH)  # same ids, same order: ac-2, ac-2.1, ..., ac-3
    assert [g.id for g in fw.groups] == [
        g["id"] for g in json.loads(HIGH.read_text())["catalog"]["groups"]
    ]
    ac = fw.groups[0]
    assert ac.title == "Access Control"
    titles = {c.id: c.title for c in ac.controls}
    assert titles["ac-2"] == "AC-2 Account Management"
    assert titles["ac-2.1"] == "AC-2(1) Automated System Account Management"
    assert all(c.summary is None for c in ac.controls), "statement text is copied only on request"
    assert fw.id == "nist-800-53-high"
    assert fw.version == "5.1.1+u4"
    assert fw.publisher == "Joint Task Force, Transformation Initiative"
    assert data["source"] == HIGH.name
    # The file says where it came from and is the schema's kind, as the shipped catalogs are.
    first, second = out.read_text(encoding="utf-8").splitlines()[:2]
    assert first == "# yaml-language-server: $schema=../../schemas/framework.schema.json"
    assert "evidoc import oscal" in second


def test_the_moderate_profile_resolves_to_nist_s_moderate_catalog(tmp_path: Path) -> None:
    """MODERATE against the HIGH resolved catalog (the baselines nest) gives exactly the controls
    of NIST's own resolution of MODERATE, in the same order and groups."""
    out = do_import(MODERATE_PROFILE, "--catalog", HIGH, tmp_path=tmp_path)
    fw, _ = imported(out)
    expected = nist_controls(MODERATE_RESOLVED)
    assert len(expected) == 287
    assert control_ids(fw) == expected
    nist_groups = json.loads(MODERATE_RESOLVED.read_text())["catalog"]["groups"]
    assert [(g.id, g.title) for g in fw.groups] == [(g["id"], g["title"]) for g in nist_groups]
    for group, nist in zip(fw.groups, nist_groups, strict=True):
        assert [c.id for c in group.controls] == nist_controls_of(nist)
    assert fw.title == "NIST Special Publication 800-53 Revision 5.1.1 MODERATE IMPACT BASELINE"
    assert fw.id == "nist-special-publication-800-53-revision-5-1-1-moderate-impact"


def nist_controls_of(group: dict[str, Any]) -> list[str]:
    out: list[str] = []
    stack = list(reversed(group.get("controls", [])))
    while stack:
        c = stack.pop()
        out.append(c["id"])
        stack.extend(reversed(c.get("controls", [])))
    return out


def test_the_high_profile_resolves_to_nist_s_high_catalog(tmp_path: Path) -> None:
    out = do_import(HIGH_PROFILE, "--catalog", HIGH, tmp_path=tmp_path)
    assert control_ids(imported(out)[0]) == nist_controls(HIGH)


def test_an_href_replaced_by_name_with_catalog_href_equals_file(tmp_path: Path) -> None:
    href = json.loads(MODERATE_PROFILE.read_text())["profile"]["imports"][0]["href"]
    out = do_import(MODERATE_PROFILE, "--catalog", f"{href}={HIGH}", tmp_path=tmp_path)
    assert control_ids(imported(out)[0]) == nist_controls(MODERATE_RESOLVED)


def test_with_text_copies_the_statement_with_its_parameters(tmp_path: Path) -> None:
    out = do_import(HIGH, "--with-text", tmp_path=tmp_path)
    fw, _ = imported(out)
    controls = {c.id: c for g in fw.groups for c in g.controls}
    text = controls["ac-2"].summary or ""
    assert text.startswith("a. Define and document the types of accounts allowed")
    assert (
        "c. Require [Assignment: prerequisites and criteria] for group and role membership;" in text
    )
    assert "\n  1. Authorized users of the system;" in text  # items nest as the catalog nests them
    assert "{{" not in text
    assert controls["ac-2.2"].summary is not None
    assert "[Selection: remove; disable]" in controls["ac-2.2"].summary


# --- the result is an evidoc catalog --------------------------------------------------------------


def framework_instance(instance: Instance, fw_file: Path, page_tags: list[str]) -> Library:
    fw, _ = imported(fw_file)
    shutil.copy(fw_file, instance.root / "controls" / "frameworks" / f"{fw.id}.yaml")
    instance.write("controls/scope.yaml", f"frameworks: [demo-iso, {fw.id}]\n")
    tags = "".join(f"  - {t}\n" for t in page_tags)
    instance.write("docs/nist.md", f"---\ntags:\n{tags}---\n# Accounts\n\nHow accounts are run.\n")
    return load_library(instance.root)


def test_an_imported_catalog_loads_and_its_tags_resolve(instance: Instance, tmp_path: Path) -> None:
    out = do_import(
        MODERATE_PROFILE,
        "--catalog",
        HIGH,
        "--id",
        "nist-800-53-moderate",
        "--tag-prefix",
        PREFIX,
        tmp_path=tmp_path,
    )
    tags = [
        "NIST SP 800-53 AC-2(1) Automated System Account Management",
        "NIST SP 800-53 AC-02(01)",
        "NIST SP 800-53 AC-2 Account Management",
        "NIST SP 800-53 ac-2.3",
        "NIST SP 800-53 AC-17(2)",
    ]
    library = framework_instance(instance, out, tags)
    resolver = TagResolver(library)
    found = [resolver.resolve(t) for t in tags]
    assert [(m.framework, m.id, m.kind) for m in found if m] == [
        ("nist-800-53-moderate", "ac-2.1", TagKind.control),
        ("nist-800-53-moderate", "ac-2.1", TagKind.control),
        ("nist-800-53-moderate", "ac-2", TagKind.control),
        ("nist-800-53-moderate", "ac-2.3", TagKind.control),
        ("nist-800-53-moderate", "ac-17.2", TagKind.control),
    ]
    family = resolver.resolve("NIST SP 800-53 AC Access Control")
    assert family is not None and (family.id, family.kind) == ("ac", TagKind.group)
    missing = resolver.resolve("NIST SP 800-53 AC-2(99)")
    assert missing is not None and missing.kind is TagKind.unknown_control
    # The gate itself loads it: the tagged controls are documented, no tag is unknown.
    proc = run_evidoc("check", "--root", instance.root, "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert not [f for f in report["findings"] if f["kind"] in ("unknown-tag", "unknown-control")]
    nist = next(f for f in report["frameworks"] if f["id"] == "nist-800-53-moderate")
    statuses = {c["control"].split(":", 1)[1]: c["status"] for c in nist["controls"]}
    assert len(statuses) == 287
    assert statuses["ac-2.1"] == "documented" and statuses["ac-17.2"] == "documented"
    assert statuses["ac-3"] == "unmapped"


def test_the_default_output_is_the_instance_s_frameworks_folder(instance: Instance) -> None:
    proc = run_evidoc("import", "oscal", HIGH, "--id", "nist-high", "--root", instance.root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("wrote controls/frameworks/nist-high.yaml: framework nist-high,")
    assert (instance.root / "controls/frameworks/nist-high.yaml").is_file()
    to_stdout = run_evidoc("import", "oscal", HIGH, "--id", "nist-high", "--output", "-")
    assert to_stdout.returncode == 0
    assert to_stdout.stdout == (instance.root / "controls/frameworks/nist-high.yaml").read_text()


# --- profile features, on small catalogs ----------------------------------------------------------


def control(cid: str, *children: dict[str, Any], withdrawn: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": cid, "title": f"Control {cid}"}
    if withdrawn:
        out["props"] = [{"name": "status", "value": "withdrawn"}]
    if children:
        out["controls"] = list(children)
    return out


def catalog(uuid: str, groups: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "catalog": {
            "uuid": uuid,
            "metadata": {
                "title": f"Catalog {uuid[:4]}",
                "last-modified": "2026-01-01T00:00:00Z",
                "version": "1",
                "oscal-version": "1.2.1",
            },
            "groups": groups,
        }
    }


CAT_A = catalog(
    "aaaaaaaa-0000-4000-8000-000000000001",
    [
        {
            "id": "xa",
            "title": "Family XA",
            "controls": [
                control("xa-1", control("xa-1.1"), control("xa-1.2", control("xa-1.2.1"))),
                control("xa-2", control("xa-2.1")),
                control("xa-3", withdrawn=True),
            ],
        },
        {"id": "xb", "title": "Family XB", "controls": [control("xb-1"), control("xb-10")]},
    ],
)
CAT_B = catalog(
    "bbbbbbbb-0000-4000-8000-000000000002",
    [{"id": "yy", "title": "Family YY", "controls": [control("yy-1"), control("yy-2")]}],
)


def profile(imports: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uuid": "cccccccc-0000-4000-8000-000000000003",
        "metadata": {
            "title": "Test profile",
            "last-modified": "2026-01-01T00:00:00Z",
            "version": "2",
            "oscal-version": "1.2.1",
            "parties": [
                {
                    "uuid": "dddddddd-0000-4000-8000-000000000004",
                    "type": "organization",
                    "name": "Example Agency",
                }
            ],
        },
        "imports": imports,
        **more,
    }
    return {"profile": body}


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    write_json(tmp_path / "src" / "a.json", CAT_A)
    write_json(tmp_path / "src" / "b.json", CAT_B)
    return tmp_path / "src"


def resolved(tmp_path: Path, prof: dict[str, Any], *args: str | Path) -> Framework:
    path = write_json(tmp_path / "src" / "profile.json", prof)
    return imported(do_import(path, *args, tmp_path=tmp_path))[0]


def test_include_by_id_matching_and_child_controls(tmp_path: Path, sources: Path) -> None:
    fw = resolved(
        tmp_path,
        profile(
            [
                {
                    "href": "a.json",
                    "include-controls": [
                        {"with-ids": ["xa-1"], "with-child-controls": "yes"},
                        {"with-ids": ["xa-2"]},
                        {"matching": [{"pattern": "xb-1*"}]},
                    ],
                }
            ],
            merge={"as-is": True},
        ),
    )
    assert control_ids(fw) == ["xa-1", "xa-1.1", "xa-1.2", "xa-1.2.1", "xa-2", "xb-1", "xb-10"]
    assert [g.id for g in fw.groups] == ["xa", "xb"]
    assert fw.publisher == "Example Agency"


def test_exclude_include_all_and_withdrawn_controls(tmp_path: Path, sources: Path) -> None:
    fw = resolved(
        tmp_path,
        profile(
            [
                {
                    "href": "a.json",
                    "include-all": {},
                    "exclude-controls": [{"with-ids": ["xa-1"], "with-child-controls": "yes"}],
                }
            ],
            merge={"as-is": True},
        ),
    )
    # xa-3 is withdrawn: nothing could be mapped to it, so it is left out.
    assert control_ids(fw) == ["xa-2", "xa-2.1", "xb-1", "xb-10"]


def test_several_imports_and_a_child_without_its_parent(tmp_path: Path, sources: Path) -> None:
    fw = resolved(
        tmp_path,
        profile(
            [
                {"href": "a.json", "include-controls": [{"with-ids": ["xa-1.2", "xb-1"]}]},
                {"href": "b.json", "include-all": {}},
            ],
            merge={"as-is": True},
        ),
    )
    assert [g.id for g in fw.groups] == ["xa", "xb", "yy"]
    assert control_ids(fw) == ["xa-1.2", "xb-1", "yy-1", "yy-2"]


def test_flat_merge_and_no_merge_give_no_groups(tmp_path: Path, sources: Path) -> None:
    for merge in ({"merge": {"flat": {}}}, {}):
        fw = resolved(
            tmp_path,
            profile([{"href": "b.json", "include-all": {}}], **merge),
        )
        assert fw.groups == [] and [c.id for c in fw.controls] == ["yy-1", "yy-2"]


def test_back_matter_hrefs_nested_profiles_and_title_alters(tmp_path: Path, sources: Path) -> None:
    inner = profile(
        [{"href": "#eeeeeeee-0000-4000-8000-000000000005", "include-all": {}}],
        merge={"as-is": True},
        **{
            "back-matter": {
                "resources": [
                    {
                        "uuid": "eeeeeeee-0000-4000-8000-000000000005",
                        "rlinks": [
                            {"href": "b.xml", "media-type": "application/oscal.catalog+xml"},
                            {"href": "b.json", "media-type": "application/oscal.catalog+json"},
                        ],
                    }
                ]
            }
        },
    )
    write_json(sources / "inner.json", inner)
    outer = profile(
        [{"href": "inner.json", "include-controls": [{"with-ids": ["yy-2"]}]}],
        merge={"as-is": True},
        modify={
            "set-parameters": [{"param-id": "yy-2_prm_1", "values": ["daily"]}],
            "alters": [{"control-id": "yy-2", "adds": [{"title": "Renamed by the profile"}]}],
        },
    )
    path = write_json(sources / "outer.json", outer)
    proc = run_evidoc("import", "oscal", path, "--output", tmp_path / "out.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "note:" in proc.stderr and "1 set-parameters" in proc.stderr
    fw = imported(tmp_path / "out.yaml")[0]
    assert [(c.id, c.title) for c in fw.groups[0].controls] == [("yy-2", "Renamed by the profile")]


# --- bad input: one clear line naming the file, exit 2, nothing written --------------------------


def refused(tmp_path: Path, *args: str | Path) -> str:
    out = tmp_path / "out.yaml"
    out.write_text("previous\n")
    proc = run_evidoc("import", "oscal", *args, "--output", out)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert out.read_text() == "previous\n", "a failed import must leave the previous file"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.yaml")]
    return proc.stderr


def test_not_json_names_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "catalog": {\n    "uuid": "x",\n  }\n}\n')
    assert f"error: {bad}:4:3: not JSON: Expecting property name" in refused(tmp_path, bad)
    xml = tmp_path / "catalog.xml"
    xml.write_text("<catalog/>\n")
    assert "convert XML or YAML first" in refused(tmp_path, xml)


def test_not_a_catalog_or_profile(tmp_path: Path) -> None:
    other = write_json(tmp_path / "ssp.json", {"system-security-plan": {"uuid": "x"}})
    err = refused(tmp_path, other)
    assert f"error: {other}:1: not an OSCAL catalog, profile or mapping collection" in err
    assert "'system-security-plan'" in err


def test_a_catalog_missing_a_title_names_its_line(tmp_path: Path) -> None:
    data = json.loads(json.dumps(CAT_B))
    del data["catalog"]["groups"][0]["controls"][1]["title"]
    path = write_json(tmp_path / "c.json", data)
    lines = path.read_text().splitlines()
    line = next(n for n, t in enumerate(lines, 1) if '"yy-2"' in t) - 1  # the control's "{"
    err = refused(tmp_path, path)
    assert f"error: {path}:{line}:" in err
    assert "missing required key 'title' in catalog.groups.0.controls.1" in err


def test_a_missing_import_names_the_profile_and_the_href_line(
    tmp_path: Path, sources: Path
) -> None:
    path = write_json(sources / "p.json", profile([{"href": "gone.json", "include-all": {}}]))
    line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if "gone.json" in t)
    err = refused(tmp_path, path)
    assert f"error: {path}:{line}: imports[0]: gone.json not found" in err
    assert "--catalog FILE" in err
    # NIST's own profile names a catalog that is not beside it
    err = refused(tmp_path, MODERATE_PROFILE)
    assert f"error: {MODERATE_PROFILE}:" in err and "NIST_SP-800-53_rev5_catalog.json" in err


def test_an_unknown_id_in_include_is_an_error_at_its_line(tmp_path: Path, sources: Path) -> None:
    path = write_json(
        sources / "p.json",
        profile([{"href": "a.json", "include-controls": [{"with-ids": ["xa-1", "xa-99"]}]}]),
    )
    line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if '"xa-99"' in t)
    err = refused(tmp_path, path)
    assert (
        f"error: {path}:{line}: imports[0].include-controls[0].with-ids names 'xa-99', a "
        f"control {sources / 'a.json'} does not have"
    ) in err


def test_unsupported_profile_features_are_refused(tmp_path: Path, sources: Path) -> None:
    cases = [
        (profile([{"href": "https://example.org/cat.json", "include-all": {}}]), "network"),
        (profile([{"href": "a.json", "include-all": {}}], merge={"custom": {}}), "custom grouping"),
        (profile([{"href": "p.json", "include-all": {}}]), "imports itself"),
        (
            profile(
                [{"href": "a.json", "include-all": {}}, {"href": "b2.json", "include-all": {}}]
            ),
            "is also imported from",
        ),
    ]
    write_json(sources / "b2.json", CAT_A)  # the same ids from another file
    for prof, expected in cases:
        path = write_json(sources / "p.json", prof)
        err = refused(tmp_path, path)
        assert str(path) in err and expected in err, err


def test_catalog_option_misuse_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_evidoc("import", "oscal", MODERATE_PROFILE, "--catalog", tmp_path / "none.json")
    assert proc.returncode == 2 and "no such file" in proc.stderr
    proc = run_evidoc("import", "oscal", HIGH, "--id", "Not A Slug")
    assert proc.returncode == 2 and "--id" in proc.stderr


def test_the_command_is_in_the_cli_help() -> None:
    proc = run_evidoc("import", "oscal", "--help")
    assert proc.returncode == 0 and "--with-text" in proc.stdout and "--catalog" in proc.stdout


# --- mapping collections from other tools ---------------------------------------------------------


def foreign_mapping(maps: list[dict[str, Any]]) -> dict[str, Any]:
    resource = "ffffffff-0000-4000-8000-00000000000"
    return {
        "mapping-collection": {
            "uuid": "ffffffff-0000-4000-8000-000000000010",
            "metadata": {"title": "A mapping", "version": "1", "oscal-version": "1.2.1"},
            "provenance": {
                "method": "human",
                "matching-rationale": "semantic",
                "status": "complete",
                "mapping-description": "Test.",
            },
            "mappings": {
                "uuid": "ffffffff-0000-4000-8000-000000000011",
                "source-resource": {"type": "catalog", "href": f"#{resource}1"},
                "target-resource": {"type": "catalog", "href": "catalogs/Other_Catalog.json"},
                "maps": maps,
            },
            "back-matter": {"resources": [{"uuid": f"{resource}1", "title": "Source Catalog"}]},
        }
    }


def a_map(n: int, relationship: str, source: str, target: str, kind: str = "control") -> dict:
    return {
        "uuid": f"ffffffff-0000-4000-8000-0000000001{n:02d}",
        "relationship": relationship,
        "sources": [{"type": kind, "id-ref": source}],
        "targets": [{"type": "control", "id-ref": target}, {"type": "control", "id-ref": "t-9"}],
    }


def test_a_foreign_mapping_collection_becomes_a_crosswalk(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "m.json",
        foreign_mapping(
            [
                a_map(1, "equivalent-to", "s-1", "t-1"),
                a_map(2, "no-relationship", "s-2", "t-2"),
                a_map(3, "superset-of", "s-3", "t-3"),
                {
                    "uuid": "ffffffff-0000-4000-8000-000000000104",
                    "relationship": "equivalent-to",
                    "sources": [
                        {"type": "control", "id-ref": "s-4"},
                        {"type": "control", "id-ref": "s-5"},
                    ],
                    "targets": [{"type": "control", "id-ref": "t-4"}],
                },
            ]
        ),
    )
    proc = run_evidoc("import", "oscal", path, "--output", tmp_path / "cw.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "skipped 1 map(s) with relationship no-relationship" in proc.stderr
    cw = yaml.safe_load((tmp_path / "cw.yaml").read_text())
    assert (cw["id"], cw["source"], cw["target"]) == (
        "source-catalog-other-catalog",
        "source-catalog",
        "other-catalog",
    )
    pairs = [(m["source"], m["target"], m["relationship"]) for m in cw["mappings"]]
    # A map relates sets: s-1 equivalent to {t-1, t-9} covers each of them (superset); s-4 and
    # s-5 together equivalent to t-4 are each only a part of it (subset).
    assert pairs == [
        ("s-1", "t-1", "superset"),
        ("s-1", "t-9", "superset"),
        ("s-3", "t-3", "superset"),
        ("s-3", "t-9", "superset"),
        ("s-4", "t-4", "subset"),
        ("s-5", "t-4", "subset"),
    ]


def test_statement_mappings_and_unknown_relationships_are_refused(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "m.json",
        foreign_mapping(
            [
                a_map(1, "equivalent-to", "s-1_smt.a", "t-1", "statement"),
                a_map(2, "alike", "a", "b"),
            ]
        ),
    )
    text = path.read_text().splitlines()
    relationship = next(n for n, t in enumerate(text, 1) if '"alike"' in t)
    err = refused(tmp_path, path)
    assert "mappings[0].maps[0]: maps a statement" in err
    assert f"{path}:{relationship}: mappings[0].maps[1]: relationship 'alike' is not one of" in err
