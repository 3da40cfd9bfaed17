"""A corpus of malformed inputs: each ends in exit 2 (or 1 for findings) with a located, clear
message, never a traceback and never a hang."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.conftest import Instance, run_evidoc

FW = "controls/frameworks/demo-iso.yaml"
PR = "controls/practices/environment-separation.yaml"
SC = "controls/scope.yaml"
PAGE = "docs/environments.md"


@dataclass
class Case:
    name: str
    mutate: Callable[[Instance], None]
    code: int
    # A piece of the message, including its location where there is one; a pattern where the
    # wording belongs to a dependency (PyYAML's own parser limits differ between releases).
    expect: str | re.Pattern[str]


def put(rel: str, text: str | bytes) -> Callable[[Instance], None]:
    return lambda inst: inst.write(rel, text)


def bomb() -> str:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    prev = "a"
    for name in "bcdefghijk":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    return "\n".join(lines) + "\n"


PRACTICE_HEAD = "id: p\ntitle: P\nowner: O\nstatement: S\n"

CASES = [
    Case(
        "yaml syntax error", put(SC, "frameworks: [demo-iso\n"), 2, f"{SC}:2:1: YAML syntax error"
    ),
    Case(
        "tab indentation", put(SC, "frameworks:\n\t- demo-iso\n"), 2, f"{SC}:2:1: YAML syntax error"
    ),
    Case("unclosed quote", put(SC, 'frameworks: ["demo-iso]\n'), 2, f"{SC}:"),
    Case(
        "bad indentation",
        put(PR, PRACTICE_HEAD + "satisfies:\n  - control: demo-iso:A.1\n   relationship: subset\n"),
        2,
        f"{PR}:7:4: YAML syntax error",
    ),
    Case(
        "unknown top-level key",
        put(SC, "frameworks: [demo-iso]\nframework: x\n"),
        2,
        f"{SC}:2:1: unknown key 'framework'; expected one of: applies_because, audit_period, exclusions, frameworks",
    ),
    Case(
        "unknown nested key",
        put(PR, PRACTICE_HEAD + "satisfies:\n  - control: demo-iso:A.1\n    relation: subset\n"),
        2,
        f"{PR}:7:5: unknown key 'relation'",
    ),
    Case(
        "missing required key",
        put(PR, "id: p\ntitle: P\nowner: O\n"),
        2,
        f"{PR}:1:1: missing required key 'statement'",
    ),
    Case(
        "wrong type list",
        put(SC, "frameworks: demo-iso\n"),
        2,
        f"{SC}:1:13: frameworks: Input should be a valid list",
    ),
    Case(
        "wrong type number id",
        put(FW, "id: demo-iso\ntitle: T\nversion: 1\npublisher: P\n"),
        2,
        f"{FW}:3:10: version: Input should be a valid string",
    ),
    Case(
        "float control id",
        put(
            FW,
            "id: demo-iso\ntitle: T\nversion: '1'\npublisher: P\ncontrols:\n  - {id: 8.10, title: X}\n",
        ),
        2,
        'quote it, e.g. "8.10"',
    ),
    Case(
        "bad relationship",
        put(PR, PRACTICE_HEAD + "satisfies:\n  - control: demo-iso:A.1\n    relationship: same\n"),
        2,
        f"{PR}:7:19: satisfies.0.relationship: Input should be 'equivalent', 'subset', 'superset' or 'intersects'",
    ),
    Case(
        "bad control reference",
        put(PR, PRACTICE_HEAD + "satisfies:\n  - control: A.1\n"),
        2,
        f"{PR}:6:14: satisfies.0.control: String should match pattern",
    ),
    Case(
        "bad date",
        put(
            SC,
            "frameworks: [demo-iso]\nexclusions:\n  - {control: 'demo-iso:A.3', justification: J, approved_by: C, expires: 2027-02-30}\n",
        ),
        2,
        f"{SC}:3:",
    ),
    Case(
        "document is a list",
        put(SC, "- demo-iso\n"),
        2,
        f"{SC}:1:1: expected a mapping of Scope keys, found list",
    ),
    Case(
        "empty practice file",
        put(PR, ""),
        2,
        f"{PR}:1:1: expected a mapping of Practice keys, found nothing",
    ),
    Case(
        "duplicate key",
        put(SC, "frameworks: [demo-iso]\nframeworks: []\n"),
        2,
        f"{SC}:2:1: duplicate key 'frameworks'",
    ),
    Case(
        "two documents",
        put(SC, "frameworks: [demo-iso]\n---\nframeworks: []\n"),
        2,
        f"{SC}:2:1: expected a single YAML document",
    ),
    Case("merge key", put(SC, "base: &b {frameworks: [demo-iso]}\n<<: *b\n"), 2, "merge keys"),
    Case("unknown alias", put(SC, "frameworks: *nothing\n"), 2, f"{SC}:1:13"),
    Case("alias bomb", put(SC, bomb()), 2, "aliases expand to more than"),
    Case(
        "deep nesting",
        put(SC, "frameworks: " + "[" * 5000 + "]" * 5000 + "\n"),
        2,
        re.compile(rf"^error: {re.escape(SC)}:1:\d+: .*nesting", re.M | re.I),
    ),
    Case(
        "python object tag",
        put(SC, "frameworks: !!python/object/apply:os.system ['true']\n"),
        2,
        f"{SC}:1:13",
    ),
    Case(
        "invalid utf-8",
        put(SC, b"frameworks: [demo-iso]\n# caf\xe9\n"),
        2,
        f"{SC}:2:6: expected UTF-8 text, found invalid byte 0xe9",
    ),
    Case(
        "binary yaml",
        put(SC, b"\x89PNG\r\n\x1a\n\x00\x00"),
        2,
        f"{SC}:3: expected a UTF-8 text YAML file, found binary data",
    ),
    Case(
        "50 MB yaml",
        lambda i: i.write(SC, "#" * (50 * 1024 * 1024)),
        2,
        "the limit is 10,485,760 bytes",
    ),
    Case(
        "bad regex in tag grammar",
        put(
            FW,
            "id: demo-iso\ntitle: T\nversion: '1'\npublisher: P\ntags:\n  - pattern: '(?P<id>['\n",
        ),
        2,
        f"{FW}:6:14: tags.0.pattern: Value error, not a valid regular expression",
    ),
    Case(
        "regex without named group",
        put(FW, "id: demo-iso\ntitle: T\nversion: '1'\npublisher: P\ntags:\n  - pattern: 'DEMO'\n"),
        2,
        "needs a named group",
    ),
    Case(
        "front matter never closes",
        put(PAGE, "---\ntags: [DEMO A.2]\n# Title\n"),
        2,
        f"{PAGE}:1:1: front matter opened with '---' never closes",
    ),
    Case(
        "front matter syntax error",
        put(PAGE, "---\ntags: [DEMO A.2\n---\n"),
        2,
        f"{PAGE}:3:1: YAML syntax error",
    ),
    Case(
        "tags not a list",
        put(PAGE, "---\ntags: DEMO A.2\n---\n"),
        2,
        f"{PAGE}:2:7: 'tags' must be a list of strings",
    ),
    Case(
        "tag not a string",
        put(PAGE, "---\ntags:\n  - {a: b}\n---\n"),
        2,
        f"{PAGE}:3:5: tag must be a string",
    ),
    Case(
        "binary file named .md",
        put("docs/logo.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        2,
        "docs/logo.md:3: expected a UTF-8 text Markdown page, found binary data",
    ),
    Case(
        "invalid utf-8 page",
        put(PAGE, b"---\ntags: [DEMO A.2]\n---\n\xff\xfe"),
        2,
        f"{PAGE}:4:1: expected UTF-8 text",
    ),
    Case(
        "50 MB page",
        lambda i: i.write(PAGE, "x" * (50 * 1024 * 1024)),
        2,
        "the limit is 5,242,880 bytes",
    ),
    Case("missing scope", lambda i: (i.root / SC).unlink(), 2, f"{SC}: missing"),
    Case(
        "dangling practice reference",
        put(PR, PRACTICE_HEAD + "satisfies:\n  - control: demo-iso:A.7\n"),
        1,
        "unknown-control",
    ),
    Case(
        "dangling exclusion",
        put(
            SC,
            "frameworks: [demo-iso]\nexclusions:\n  - {control: 'demo-iso:Q.1', justification: J, approved_by: C}\n",
        ),
        1,
        f"{SC}:3:15: error: [unknown-control]",
    ),
    Case(
        "duplicate control id",
        lambda i: i.write(
            FW, (i.root / FW).read_text() + "      - id: A.1\n        title: Twice\n"
        ),
        1,
        "[duplicate-id] control id 'A.1' is used twice",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_input(instance: Instance, case: Case) -> None:
    case.mutate(instance)
    proc = run_evidoc("check", "--root", instance.root, timeout=60)
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output
    assert proc.returncode == case.code, output
    if isinstance(case.expect, re.Pattern):
        assert case.expect.search(output), output
    else:
        assert case.expect in output, output


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_every_error_of_a_run_is_reported(instance: Instance) -> None:
    instance.write(SC, "frameworks: [demo-iso]\nbogus: 1\n")
    instance.write(PR, "id: p\n")
    proc = run_evidoc("check", "--root", instance.root)
    assert proc.returncode == 2
    assert f"{SC}:2:1: unknown key 'bogus'" in proc.stderr
    assert f"{PR}:1:1: missing required key 'title'" in proc.stderr
    assert f"{PR}:1:1: missing required key 'owner'" in proc.stderr
