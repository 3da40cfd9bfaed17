"""A corpus of hostile inputs, each a real `evidoc` run: tag patterns built to backtrack for ever,
id templates that reach into Python objects or allocate without bound, evidence that verifies
but holds the wrong shape, and titles that no XML or YAML may carry. Each run ends within
TIMEOUT seconds with a clear exit code and message, never a traceback, never a hang."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from generator.loader import load_library
from generator.pipeline import evaluate, find_snapshot
from generator.results import ResultStatus
from generator.snapshot.store import SnapshotWriter
from generator.tag_grammar import check_pattern, fill_template, parse_template
from tests.conftest import FRAMEWORK, REPO, SOURCES, Instance, run_evidoc

FW = "controls/frameworks/demo-iso.yaml"
PR = "controls/practices/environment-separation.yaml"
PAGE = "docs/environments.md"
TIMEOUT = 10  # seconds: a run that takes longer is a hang, and fails the test
AS_OF = "2026-11-22"
AT = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
# Characters XML 1.0 cannot carry at all, not even as character references.
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def hostile(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI; a hang raises TimeoutExpired and a traceback fails the test."""
    proc = run_evidoc(*args, timeout=TIMEOUT)
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output
    return proc


def quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(text)


def with_grammar(pattern: str, template: str | None = None) -> str:
    """The demo catalog with one tag rule: its pattern at line 6, column 14, its id at 7:9."""
    head, rest = FRAMEWORK.split("tags:\n", 1)
    groups = rest[rest.index("groups:") :]
    rule = f"  - pattern: {quoted(pattern)}\n"
    if template is not None:
        rule += f"    id: {quoted(template)}\n"
    return f"{head}tags:\n{rule}{groups}"


def page_with(*tags: str) -> str:
    return "---\ntags:\n" + "".join(f"  - {quoted(t)}\n" for t in tags) + "---\n# Environments\n"


# --- A: tag grammars --------------------------------------------------------------------------


@dataclass
class GrammarCase:
    name: str
    pattern: str
    template: str | None
    expect: str
    tag: str = "DEMO A.2 Review every change"


PATTERN_AT = f"{FW}:6:14: tags.0.pattern: Value error,"
TEMPLATE_AT = f"{FW}:7:9: tags.0.id: Value error,"
REDOS = "catastrophic backtracking"

GRAMMAR_CASES = [
    # The tester's case: 2^40 ways to split the tag before it fails on the '!'.
    GrammarCase(
        "nested repeat",
        r"^(?P<id>(a+)+)$",
        None,
        f"{PATTERN_AT} inside the repeat (a+)+",
        "a" * 40 + "!",
    ),
    GrammarCase(
        "overlapping alternatives in a repeat", r"^(?P<id>(?:a|aa)+)$", None, REDOS, "a" * 40 + "!"
    ),
    GrammarCase(
        "words and optional spaces", r"^(?P<id>(?:\w+\s?)+)$", None, REDOS, "a " * 30 + "!"
    ),
    GrammarCase(
        "repeat inside a repeat inside a lookahead",
        r"^DEMO (?=(?:A+)+$)(?P<id>A\.\d)",
        None,
        REDOS,
    ),
    GrammarCase(
        "backreference",
        r"^DEMO (?P<id>A)(?P=id)",
        None,
        f"{PATTERN_AT} backreferences and conditionals",
    ),
    GrammarCase(
        "conditional",
        r"^DEMO (?P<id>A)?(?(id)\.2|B)",
        None,
        f"{PATTERN_AT} backreferences and conditionals",
    ),
    GrammarCase(
        "repeat of something empty",
        r"^DEMO (?P<id>(?:A?)*)",
        None,
        f"{PATTERN_AT} the repeated part of (?:A?)* can match nothing",
    ),
    GrammarCase(
        "polynomial overlap, unanchored",
        r"DEMO (?P<id>\d*\d*\d*)x",
        None,
        f"{PATTERN_AT} the pattern may backtrack too much on a tag of 500 characters",
    ),
    GrammarCase(
        "nested too deep",
        "^DEMO (?P<id>" + "(" * 50 + "A" + ")" * 50 + ")",
        None,
        f"{PATTERN_AT} groups and repeats are nested more than 40 deep",
    ),
    GrammarCase(
        "pattern too long",
        "^DEMO (?P<id>A" + r"\.?" * 1000 + ")",
        None,
        f"{PATTERN_AT} the pattern is 3,015 characters; the limit is 2,000",
    ),
    # id templates: str.format would index, call attributes or pad to gigabytes.
    GrammarCase(
        "template index",
        r"^DEMO (?P<id>A\.\d)",
        "{id[x]}",
        f"{TEMPLATE_AT} the id template field {{id[x]}} is not allowed",
    ),
    GrammarCase(
        "template attribute",
        r"^DEMO (?P<id>A\.\d)",
        "{id.upper}",
        f"{TEMPLATE_AT} the id template field {{id.upper}} is not allowed",
    ),
    GrammarCase(
        "template format spec",
        r"^DEMO (?P<id>A\.\d)",
        "{id:>3000000000}",
        f"{TEMPLATE_AT} the id template field {{id:>3000000000}} is not allowed",
    ),
    GrammarCase(
        "template conversion",
        r"^DEMO (?P<id>A\.\d)",
        "{id!r}",
        f"{TEMPLATE_AT} the id template field {{id!r}} is not allowed",
    ),
    GrammarCase(
        "template positional field",
        r"^DEMO (?P<id>A\.\d)",
        "{0}",
        f"{TEMPLATE_AT} the id template field {{0}} is not allowed",
    ),
    GrammarCase(
        "template names no group",
        r"^DEMO (?P<id>A\.\d)",
        "{nope}",
        f"{TEMPLATE_AT} the id template names {{nope}}, but the pattern has no group",
    ),
    GrammarCase(
        "default template without an id group",
        r"^DEMO (?P<num>A\.\d)",
        None,
        f"{FW}:6:5: tags.0.id: Value error, the id template names {{id}}, but the pattern",
    ),
    GrammarCase(
        "template unbalanced",
        r"^DEMO (?P<id>A\.\d)",
        "A.{id",
        f"{TEMPLATE_AT} not a valid id template",
    ),
]


@pytest.mark.parametrize("case", GRAMMAR_CASES, ids=[c.name for c in GRAMMAR_CASES])
def test_hostile_grammar_is_refused_at_load(instance: Instance, case: GrammarCase) -> None:
    instance.write(FW, with_grammar(case.pattern, case.template))
    instance.write(PAGE, page_with(case.tag))
    proc = hostile("check", "--root", instance.root)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert case.expect in proc.stderr, proc.stderr


def test_overlong_tag_is_refused_at_its_line_and_column(instance: Instance) -> None:
    instance.write(PAGE, page_with("DEMO A.2 Review every change", "DEMO A.1 " + "x" * 100_000))
    proc = hostile("check", "--root", instance.root)
    assert proc.returncode == 2
    assert f"{PAGE}:4:5: tag is 100,009 characters long" in proc.stderr
    assert "at most 500 characters" in proc.stderr
    assert len(proc.stderr) < 2_000  # the tag itself is not echoed back


@pytest.mark.parametrize(
    ("pattern", "template"),
    [
        # Nested repeats whose repetitions start with a character the part before cannot
        # continue, and lookaheads: the shipped catalogs need them, and they are linear.
        (r"^DEMO (?P<id>A(?:\.\d+)+)(?!\d)", None),
        (r"^DEMO (?P<id>[A-Z](?:\.\d{1,2}){1,2})(?!\.?\d)", None),
        (r"^DEMO A\.(?P<n>\d+)\b", "A.{n}"),
        (r"^DEMO\b.*?(?P<id>A\.\d)(?!\d)", "{id}"),
    ],
)
def test_safe_grammars_still_resolve_tags(
    instance: Instance, pattern: str, template: str | None
) -> None:
    instance.write(FW, with_grammar(pattern, template))
    proc = hostile("check", "--root", instance.root, "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    statuses = {
        c["control"]: c["status"] for c in json.loads(proc.stdout)["frameworks"][0]["controls"]
    }
    assert statuses["demo-iso:A.2"] == "documented"  # resolved from the page's tag


def test_every_shipped_pattern_is_accepted() -> None:
    import yaml

    catalogs = sorted((REPO / "controls/frameworks").glob("*.yaml"))
    patterns = [
        (path.name, rule["pattern"])
        for path in catalogs
        for rule in yaml.safe_load(path.read_text("utf-8")).get("tags", [])
    ]
    assert len(patterns) >= 10
    for _catalog, pattern in patterns:
        check_pattern(pattern)  # raises, naming the problem, if one were refused


def test_templates_only_paste_named_groups() -> None:
    template = parse_template("{kap} kap. {par} §")
    assert fill_template(template, {"kap": "3", "par": "1"}) == "3 kap. 1 §"
    assert fill_template(template, {"kap": "3", "par": None}) is None  # group took no part
    assert fill_template(parse_template("{{literal}} {id}"), {"id": "x"}) == "{literal} x"


# --- B: evidence that verifies but has the wrong shape ----------------------------------------

NAMESPACES = "kubernetes/prod/prod-wc/namespaces"
POLICIES = "kubernetes/prod/prod-wc/networkpolicies"
GOOD = {
    NAMESPACES: {"count": 1, "items": [{"name": "shop"}]},
    POLICIES: {
        "count": 1,
        "items": [
            {
                "name": "default-deny",
                "namespace": "shop",
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            }
        ],
    },
}
PROVEN_PRACTICE = """\
id: environment-separation
title: Environment separation
owner: Platform team
statement: Production denies all traffic by default.
satisfies:
  - control: demo-iso:A.1
    relationship: equivalent
    proven_by: [kubernetes.default-deny]
checks:
  - id: kubernetes.default-deny
docs: [environments.md]
"""


def with_evidence(instance: Instance, **changes: Any) -> None:
    """The instance proves A.1 with `kubernetes.default-deny` on a snapshot that verifies;
    `changes` replace items (by their id with '/' written as '__')."""
    instance.write("evidence/sources.yaml", SOURCES)
    instance.write(PR, PROVEN_PRACTICE)
    items = {**GOOD, **{k.replace("__", "/"): v for k, v in changes.items()}}
    writer = SnapshotWriter(instance.root / "evidence/snapshots", AT)
    for item_id, data in items.items():
        writer.add(item_id, data, collector="kubernetes", query="test", collected_at=AT, ttl=86_400)
    writer.commit()


def gate(instance: Instance) -> tuple[int, dict[str, Any]]:
    proc = hostile(
        "check",
        "--root",
        instance.root,
        "--require",
        "verified",
        "--as-of",
        AS_OF,
        "--format",
        "json",
    )
    return proc.returncode, json.loads(proc.stdout)


def check_findings(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in doc["findings"] if f.get("check") == "kubernetes.default-deny"]


def a1_status(doc: dict[str, Any]) -> str:
    controls = doc["frameworks"][0]["controls"]
    return next(c["status"] for c in controls if c["control"] == "demo-iso:A.1")


def test_the_evidence_setup_verifies_when_well_formed(instance: Instance) -> None:
    with_evidence(instance)
    code, doc = gate(instance)
    assert code == 0, doc["findings"]
    assert a1_status(doc) == "verified"


@pytest.mark.parametrize(
    ("item", "data", "problem"),
    [
        # The tester's case: a list expected, a string found.
        (NAMESPACES, {"items": "x"}, "items: Input should be a valid list (found 'x')"),
        (NAMESPACES, [], "expected an object, found a list of 0"),
        (NAMESPACES, {"count": 1}, "items: missing"),
        (NAMESPACES, {"items": [7]}, "items.0: Input should be a valid dictionary"),
        # Read blindly, "IngressEgress" contains "Ingress" and "Egress": the check would pass.
        (
            POLICIES,
            {
                "items": [
                    {"name": "d", "namespace": "shop", "spec": {"policyTypes": "IngressEgress"}}
                ]
            },
            "items.0.spec.policyTypes: Input should be a valid list (found 'IngressEgress')",
        ),
    ],
    ids=["items-a-string", "item-a-list", "items-missing", "object-a-number", "types-a-string"],
)
def test_wrongly_shaped_evidence_is_an_error_naming_the_item(
    instance: Instance, item: str, data: Any, problem: str
) -> None:
    with_evidence(instance, **{item.replace("/", "__"): data})
    code, doc = gate(instance)
    assert code == 1
    (finding,) = check_findings(doc)
    assert finding["status"] == "error"
    assert f"evidence {item} does not have the shape the check reads" in finding["reason"]
    assert problem in finding["reason"]
    assert item in finding["evidence"]
    assert a1_status(doc) == "no-evidence"
    # In process: no result of any check that read the item passes.
    root = instance.root
    snap = find_snapshot(root, None)
    results = evaluate(load_library(root), snap, AT).results
    touched = [r for r in results if item in r.evidence]
    assert touched and all(r.status is ResultStatus.error for r in touched)


def test_a_check_that_fails_on_unexpected_data_gives_an_error(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Evidence no model describes: whatever a check raises on it becomes an `error` result
    naming the items the check had read, and nothing it decided before counts."""
    from generator import pipeline
    from generator.checks.context import CheckContext

    def fragile(ctx: CheckContext) -> list[Any]:
        read = ctx.read(NAMESPACES)
        decided = [ctx.result("x", ResultStatus.passed, "decided before the crash", [read.id])]
        labels = read.data["items"][0].get("labels")  # None: the namespace has no labels
        return decided + [ctx.result(k, ResultStatus.passed, "", []) for k in labels]

    with_evidence(instance)
    monkeypatch.setitem(pipeline.CHECKS, "kubernetes.default-deny", fragile)
    results = evaluate(load_library(instance.root), find_snapshot(instance.root, None), AT)
    (result,) = results.results
    assert result.status is ResultStatus.error
    assert result.evidence == [NAMESPACES]
    assert result.reason.startswith(
        f"the check could not evaluate the evidence it read ({NAMESPACES}): unexpected data "
        "(TypeError: 'NoneType' object is not iterable)"
    )


# --- C: characters XML and YAML cannot carry -------------------------------------------------

ODD = "\x01\x80\ufffe"  # a C0 control, a C1 control, a non-character


def odd_titles(instance: Instance) -> None:
    """A.1's and A.2's titles and the catalog's carry ODD; A.2 is left unmapped, so findings
    quote its title too."""
    fw = FRAMEWORK.replace("title: Demo catalog", f"title: {quoted('Demo' + ODD + ' catalog')}")
    fw = fw.replace("title: Separate environments", f"title: {quoted('Sep' + ODD + 'arate')}")
    fw = fw.replace("title: Review every change", f"title: {quoted('Review' + ODD + ' changes')}")
    instance.write(FW, fw)
    instance.write(PAGE, "# Environments\n")


def test_junit_is_well_formed_xml_whatever_the_titles(instance: Instance) -> None:
    odd_titles(instance)
    proc = hostile("check", "--root", instance.root, "--format", "junit")
    assert proc.returncode == 1  # A.2 is unmapped
    assert not XML_FORBIDDEN.search(proc.stdout)
    root = ET.fromstring(proc.stdout.encode("utf-8"))
    names = [case.get("name") for case in root.iter("testcase")]
    assert "A.1 Sep\\x01\\x80\\ufffearate" in names
    failure = next(root.iter("failure"))
    assert "Review\\x01\\x80\\ufffe changes" in (failure.get("message") or "")


def test_sarif_carries_no_character_xml_forbids(instance: Instance) -> None:
    odd_titles(instance)
    proc = hostile("check", "--root", instance.root, "--format", "sarif")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    text = json.dumps(doc, ensure_ascii=False)
    assert not XML_FORBIDDEN.search(text)
    messages = [r["message"]["text"] for r in doc["runs"][0]["results"]]
    assert any("Review\\x01\\x80\\ufffe changes" in m for m in messages), messages


def test_a_control_character_in_a_file_name_keeps_reports_valid(instance: Instance) -> None:
    """Paths are input too: a docs page named with a control character and a tag naming a
    control the catalog does not have."""
    instance.write("docs/odd\x01\x1fname.md", page_with("DEMO A.9 Not a control"))
    junit = hostile("check", "--root", instance.root, "--format", "junit")
    assert junit.returncode == 1
    names = [c.get("name") for c in ET.fromstring(junit.stdout.encode()).iter("testcase")]
    assert any("docs/odd\\x01\\x1fname.md" in (n or "") for n in names), names
    sarif = json.loads(hostile("check", "--root", instance.root, "--format", "sarif").stdout)
    assert not XML_FORBIDDEN.search(json.dumps(sarif, ensure_ascii=False))
    uris = [
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
        for loc in r.get("locations", [])
    ]
    assert "docs/odd\\x01\\x1fname.md" in uris


class _Title(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inside, self.text = False, ""

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.inside = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text += data


def html_title(page: Path) -> str:
    parser = _Title()
    parser.feed(page.read_text("utf-8"))
    return parser.text


def test_site_front_matter_survives_hostile_titles(instance: Instance) -> None:
    """Front matter is written by a YAML emitter: a title with characters YAML cannot hold raw,
    or with YAML's own syntax, reaches the page as its title instead of breaking the block
    (MkDocs then silently titles the page after its file name)."""
    catalog = "Demo" + ODD + ' catalog: #1 "q" \'s'
    fw = FRAMEWORK.replace("title: Demo catalog", f"title: {quoted(catalog)}")
    instance.write(FW, fw)
    practice = (instance.root / PR).read_text()
    hostile_title = "Env: separation # [x] {y} & <z> --- 'q' \"d\" \u2028 - end"
    instance.write(
        PR, practice.replace("title: Environment separation", f"title: {quoted(hostile_title)}")
    )
    site = instance.root / "site"
    proc = hostile("build", "--root", instance.root, "--site-dir", site)
    assert proc.returncode == 0, proc.stderr
    framework = html_title(site / "compliance/frameworks/demo-iso/index.html")
    assert framework.startswith('Demo catalog: #1 "q" \'s - '), framework
    practice_title = html_title(site / "compliance/practices/environment-separation/index.html")
    # '<', '>' and '&' become look-alikes (MkDocs prints nav titles unescaped).
    assert practice_title.startswith(
        "Env: separation # [x] {y} \uff06 \u2039z\u203a --- 'q' \"d\" - end - "
    ), practice_title


# --- report -----------------------------------------------------------------------------------


def test_hostile_exclusion_text_is_reported_as_text_in_every_format(instance: Instance) -> None:
    """The report carries an exclusion's justification into every format: a bidi override,
    a bell, markup and a long line (up to the 20,000-character limit) stay inert text."""
    hostile = "Operator\u202e's </failure><script>alert(1)</script>\x07 " + "x" * 19_000
    instance.write(
        "controls/scope.yaml",
        "frameworks: [demo-iso]\nexclusions:\n  - control: demo-iso:A.3\n"
        f"    justification: {json.dumps(hostile)}\n    approved_by: CISO\n",
    )
    for fmt in ("text", "json", "junit", "sarif", "github"):
        proc = run_evidoc("check", "--root", instance.root, "--format", fmt, timeout=10)
        assert proc.returncode == 0, (fmt, proc.stderr)
        assert "Traceback" not in proc.stderr
        if fmt == "junit":
            suites = ET.fromstring(proc.stdout.split("\n", 1)[1])
            skipped = [e.get("message", "") for e in suites.iter("skipped")]
            assert any("<script>" in m and "\\x07" in m for m in skipped)
        if fmt == "json":
            doc = json.loads(proc.stdout)
            reasons = [c["reason"] for fw in doc["frameworks"] for c in fw["controls"]]
            assert hostile in reasons
