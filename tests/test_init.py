"""`evidoc init`: a repository becomes an instance with the built-in catalogs, starter practices
are adopted one by one, instance catalogs override built-in ones, and the nav placement of the
generated section is honoured in a real build."""

from __future__ import annotations

import json
import subprocess
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from generator.errors import InputError, InputErrors
from generator.loader import load_library
from generator.site.config import place_section
from tests.conftest import run_evidoc

SITE = """\
site_name: Platform handbook
theme:
  name: material
  font: false
nav:
  - index.md
  - Operations:
      - ops.md
"""

OPS_PAGE = """\
---
tags:
  - ISO 27001:2022 8.31
---
# Running production

Production has its own clusters.
"""


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def git_repo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def docs_site(root: Path) -> Path:
    git_repo(root)
    write(root, "mkdocs.yml", SITE)
    write(root, "docs/index.md", "# Handbook\n\nHow the platform is run.\n")
    write(root, "docs/ops.md", OPS_PAGE)
    return root


def gate_json(root: Path) -> tuple[int, dict]:
    proc = run_evidoc("check", "--root", root, "--format", "json")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def control(report: dict, ref: str) -> dict:
    for fw in report["frameworks"]:
        for c in fw["controls"]:
            if c["control"] == ref:
                return c
    raise AssertionError(f"{ref} not in the report")


def test_init_in_an_empty_git_repository(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "repo")
    proc = run_evidoc("init", "--root", root, "--frameworks", "nis2-21-2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "wrote controls/scope.yaml" in proc.stdout and "next:" in proc.stdout
    scope = yaml.safe_load((root / "controls/scope.yaml").read_text())
    assert scope == {"frameworks": ["nis2-21-2"]}  # the chosen frameworks and nothing else
    sources = yaml.safe_load((root / "evidence/sources.yaml").read_text())
    assert sources == {"environments": [], "deployments": [], "repositories": []}
    assert "# environments:" in (root / "evidence/sources.yaml").read_text()
    # No demo content: no catalogs copied, no practices, attestations or evidence.
    for folder in ("controls/frameworks", "controls/practices", "controls/attestations"):
        assert not (root / folder).exists()
    assert not (root / "evidence/snapshots").exists()
    assert (root / "mkdocs.yml").is_file() and (root / "docs/index.md").is_file()

    gate = run_evidoc("check", "--root", root)
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "Traceback" not in gate.stderr
    assert "evidoc:catalogs/nis2-21-2.yaml" in gate.stdout  # a built-in catalog, named so
    assert "hint: nothing is mapped yet" in gate.stderr
    assert "--list-practices" in gate.stderr


def test_init_without_frameworks_says_what_to_do(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "repo")
    assert run_evidoc("init", "--root", root).returncode == 0
    gate = run_evidoc("check", "--root", root)
    assert gate.returncode in (0, 1), gate.stdout + gate.stderr
    assert "hint: no frameworks in scope" in gate.stderr


def test_init_in_an_existing_mkdocs_site(tmp_path: Path) -> None:
    root = docs_site(tmp_path / "site-repo")
    before = (root / "mkdocs.yml").read_bytes()
    proc = run_evidoc("init", "--root", root, "--frameworks", "iso27001-2022,nis2-21-2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "kept mkdocs.yml" in proc.stdout
    assert (root / "mkdocs.yml").read_bytes() == before  # the site's own config is untouched
    assert sorted(p.name for p in (root / "docs").iterdir()) == ["index.md", "ops.md"]
    scope = yaml.safe_load((root / "controls/scope.yaml").read_text())
    assert scope["frameworks"] == ["iso27001-2022", "nis2-21-2"]

    code, report = gate_json(root)
    assert code == 1  # most controls are still gaps
    # The page's tag resolves through the built-in ISO 27001:2022 catalog.
    assert control(report, "iso27001-2022:8.31")["status"] == "documented"
    kinds = {f["kind"] for f in report["findings"]}
    assert "unknown-tag" not in kinds and kinds <= {"unmapped-control", "unapproved-soa"}, kinds
    gate = run_evidoc("check", "--root", root)
    assert "hint: nothing is mapped yet" not in gate.stderr


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "repo")
    write(root, "controls/scope.yaml", "frameworks: [gdpr]\n")
    proc = run_evidoc("init", "--root", root, "--frameworks", "nis2-21-2")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "controls/scope.yaml: exists" in proc.stderr and "nothing was written" in proc.stderr
    assert (root / "controls/scope.yaml").read_text() == "frameworks: [gdpr]\n"
    assert not (root / "evidence/sources.yaml").exists()
    assert not (root / "mkdocs.yml").exists()


def test_init_names_an_unknown_framework(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "repo")
    proc = run_evidoc("init", "--root", root, "--frameworks", "iso27001-2099")
    assert proc.returncode == 2
    assert "'iso27001-2099'" in proc.stderr and "iso27001-2022" in proc.stderr
    assert not (root / "controls").exists()
    listing = run_evidoc("init", "--list-frameworks")
    assert listing.returncode == 0 and "hipaa-security" in listing.stdout


def test_an_instance_catalog_overrides_the_built_in_one(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "repo")
    assert run_evidoc("init", "--root", root, "--frameworks", "nis2-21-2").returncode == 0
    write(
        root,
        "controls/frameworks/nis2-21-2.yaml",
        """\
        id: nis2-21-2
        title: NIS2 as our regulator reads it
        version: "2022"
        publisher: EU
        controls:
          - id: "21(2)(a)"
            title: Risk analysis
        """,
    )
    code, report = gate_json(root)
    assert code == 1
    (fw,) = report["frameworks"]
    assert fw["title"] == "NIS2 as our regulator reads it"
    assert [c["control"] for c in fw["controls"]] == ["nis2-21-2:21(2)(a)"]
    (finding,) = report["findings"]
    assert finding["file"] == "controls/frameworks/nis2-21-2.yaml"


def test_a_broken_instance_catalog_is_the_users_error(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "repo")
    assert run_evidoc("init", "--root", root, "--frameworks", "nis2-21-2").returncode == 0
    write(root, "controls/frameworks/nis2-21-2.yaml", "id: nis2-21-2\ntitle: [\n")
    proc = run_evidoc("check", "--root", root)
    assert proc.returncode == 2
    assert "controls/frameworks/nis2-21-2.yaml:" in proc.stderr
    assert "built-in" not in proc.stderr


def test_a_broken_built_in_catalog_is_reported_as_evidocs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = git_repo(tmp_path / "repo")
    assert run_evidoc("init", "--root", root, "--frameworks", "nis2-21-2").returncode == 0
    broken = write(tmp_path, "pkg/nis2-21-2.yaml", "id: nis2-21-2\ntitle: x\ngroups: 3\n")
    monkeypatch.setattr("generator.loader.builtin_catalogs", lambda: {"nis2-21-2": broken})
    with pytest.raises(InputErrors) as caught:
        load_library(root)
    (error,) = caught.value.errors
    assert error.file is None
    assert "built-in catalog 'nis2-21-2'" in error.message
    assert "defect of evidoc" in error.message
    assert "controls/frameworks/nis2-21-2.yaml overrides it" in error.message
    assert "evidoc:catalogs/nis2-21-2.yaml" in error.message  # where in our file


def test_built_in_catalogs_are_loaded_only_when_used(tmp_path: Path) -> None:
    """A tag of a catalog the instance neither has nor uses stays unknown."""
    root = docs_site(tmp_path / "repo")
    assert run_evidoc("init", "--root", root, "--frameworks", "nis2-21-2").returncode == 0
    library = load_library(root)
    assert sorted(library.frameworks) == ["nis2-21-2"]
    code, report = gate_json(root)
    assert code == 1
    assert "unknown-tag" in {f["kind"] for f in report["findings"]}


def test_adopting_a_starter_practice(tmp_path: Path) -> None:
    root = docs_site(tmp_path / "repo")
    listing = run_evidoc("init", "--list-practices")
    assert listing.returncode == 0 and "environment-separation" in listing.stdout
    proc = run_evidoc(
        "init",
        "--root",
        root,
        "--frameworks",
        "iso27001-2022",
        "--practice",
        "environment-separation",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "docs: list was removed" in proc.stdout
    adopted = root / "controls/practices/environment-separation.yaml"
    data = yaml.safe_load(adopted.read_text())
    assert "docs" not in data and data["id"] == "environment-separation"
    code, report = gate_json(root)
    kinds = {f["kind"] for f in report["findings"]}
    assert "unknown-page" not in kinds and "unknown-control" not in kinds, kinds
    # ISO/IEC 27001 asks for an approved SoA: a warning until scope.yaml records one.
    assert code == 1 and kinds == {"unmapped-control", "unapproved-soa"}
    assert control(report, "iso27001-2022:8.27")["status"] == "documented"

    # In an instance, --practice adds only the practice; adopting it twice is refused.
    more = run_evidoc("init", "--root", root, "--practice", "change-management")
    assert more.returncode == 0, more.stdout + more.stderr
    assert more.stdout.startswith("wrote controls/practices/change-management.yaml")
    again = run_evidoc("init", "--root", root, "--practice", "change-management")
    assert again.returncode == 2 and "change-management.yaml: exists" in again.stderr
    assert run_evidoc("check", "--root", root).returncode in (0, 1)
    unknown = run_evidoc("init", "--root", root, "--practice", "no-such-practice")
    assert unknown.returncode == 2 and "--list-practices" in unknown.stderr


# --- Nav placement ---------------------------------------------------------------------------

GENERATED = [{"Compliance": ["compliance/index.md"]}]
NAV = ["index.md", {"Operations": ["ops.md", {"Runbooks": ["run.md"]}]}, "about.md"]


def placed(setting: dict | None) -> list:
    base = {"extra": {"evidoc": {"nav": setting}}} if setting is not None else {}
    return place_section(NAV, GENERATED, base)


def test_nav_placement_default_is_last() -> None:
    assert placed(None) == [*NAV, *GENERATED]


def test_nav_placement_first_index_and_under() -> None:
    assert placed({"position": "first"})[0] == GENERATED[0]
    assert placed({"position": 2, "title": "Audit"})[1] == {"Audit": ["compliance/index.md"]}
    under = placed({"under": "Operations/Runbooks", "position": "first"})
    assert under[1] == {
        "Operations": ["ops.md", {"Runbooks": [{"Compliance": ["compliance/index.md"]}, "run.md"]}]
    }
    assert NAV[1] == {"Operations": ["ops.md", {"Runbooks": ["run.md"]}]}  # not changed in place


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            {"under": "Nowhere"},
            "no section 'Nowhere' in the nav's top level (its sections: 'Operations')",
        ),
        ({"position": 0}, "extra.evidoc.nav.position: expected first, last or a position from 1"),
        ({"position": "middle"}, "expected first, last or a position from 1"),
        ({"place": "first"}, "unknown setting 'place'"),
        ({"title": ""}, "extra.evidoc.nav.title"),
    ],
)
def test_nav_placement_errors_name_the_setting(setting: dict, message: str) -> None:
    with pytest.raises(InputError) as caught:
        placed(setting)
    assert caught.value.file == "mkdocs.yml"
    assert message in caught.value.message


class NavTitles(HTMLParser):
    """The primary nav of a built Material page: (depth, title) of every entry, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0  # <li class="md-nav__item"> nesting
        self.stack: list[bool] = []
        self.primary = 0  # inside <nav class="md-nav--primary">, counted by nesting
        self.in_title = False
        self.entries: list[tuple[int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "nav" and ("md-nav--primary" in classes or self.primary):
            self.primary += 1
        if not self.primary:
            return
        if tag == "li":
            item = "md-nav__item" in classes
            self.stack.append(item)
            self.depth += item
        if tag == "span" and "md-ellipsis" in classes:
            self.in_title = True
            self.entries.append((self.depth, ""))

    def handle_endtag(self, tag: str) -> None:
        if not self.primary:
            return
        if tag == "span" and self.in_title:
            self.in_title = False
        if tag == "li" and self.stack:
            self.depth -= self.stack.pop()
        if tag == "nav":
            self.primary -= 1

    def handle_data(self, data: str) -> None:
        if self.in_title:
            depth, text = self.entries[-1]
            self.entries[-1] = (depth, (text + " " + data.strip()).strip())


def nav_entries(page: Path) -> list[tuple[int, str]]:
    parser = NavTitles()
    parser.feed(page.read_text(encoding="utf-8"))
    # Material repeats a section's title inside it (the back link of nested navs): keep the first.
    seen: list[tuple[int, str]] = []
    for entry in parser.entries:
        if entry[1] and entry not in seen:
            seen.append(entry)
    return seen


def test_nav_placement_is_honoured_in_a_real_build(tmp_path: Path) -> None:
    root = docs_site(tmp_path / "repo")
    assert run_evidoc("init", "--root", root, "--frameworks", "nis2-21-2").returncode == 0
    config = (root / "mkdocs.yml").read_text()
    config += (
        "extra:\n  evidoc:\n    nav: {title: Audit evidence, under: Operations, position: 1}\n"
    )
    (root / "mkdocs.yml").write_text(config)
    site = tmp_path / "site"
    proc = run_evidoc("build", "--root", root, "--site-dir", site, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    entries = nav_entries(site / "index.html")
    titles = [title for _, title in entries]
    assert "Compliance" not in titles
    ops, audit, running = (
        titles.index("Operations"),
        titles.index("Audit evidence"),
        titles.index("Running production"),
    )
    assert ops < audit < running  # first entry of Operations, before its own page
    assert entries[audit][0] == entries[ops][0] + 1  # one level below Operations
    assert entries[titles.index("Frameworks")][0] == entries[audit][0] + 1

    # An `under` naming no section fails the build with exit 2, naming the file and setting.
    (root / "mkdocs.yml").write_text(config.replace("under: Operations", "under: Ops"))
    bad = run_evidoc("build", "--root", root, "--site-dir", site, timeout=180)
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert "mkdocs.yml: extra.evidoc.nav.under: no section 'Ops'" in bad.stderr
    assert (site / "index.html").is_file()  # the previous site is unchanged
