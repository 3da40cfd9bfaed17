"""Adopting evidoc in an existing documentation site (tests/fixtures/adoption): a Material site with
a theme directory of its own, includes, redirects, a local hook, `!!python/name:` tags in
mkdocs.yml, admonitions, nested folders and pages tagged with controls in several spellings beside
topic tags. The site is built as its team builds it (`mkdocs build`) and, after `evidoc init`, with
`evidoc build`; what the team had must still be there, with evidoc's pages and chips added.

The includes use `include-markdown` (mkdocs-include-markdown-plugin), the redirects
`mkdocs-redirects`, both test dependencies. The local plugin is a `hooks:` file:
MkDocs finds plugins only through installed entry points, and a docs repository's own code is a
hook (MkDocs >= 1.4)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import REPO, run_evidoc
from tests.site_helpers import broken_links

FIXTURE = Path(__file__).parent / "fixtures" / "adoption"


PRACTICE = """\
id: backup-and-restore
title: Backup and restore
owner: Platform team
statement: Persistent volumes are copied to a second site every night; restores are rehearsed.
satisfies:
  - control: iso27001-2022:8.13
    relationship: equivalent
docs:
  - operations/backup-and-restore.md
  - operations/networking/network-policies.md
"""

# Every chip the evidoc site shows: page -> [(the tag as the page writes it, status, link)].
FRAMEWORK = "compliance/frameworks/iso27001-2022/"
CHIPS = {
    "operations/backup-and-restore": [
        ("ISO 27001 A.12.3.1 Information backup", "documented", "ctl-8-13"),
        ("ISO 27001:2022 8.13", "documented", "ctl-8-13"),
    ],
    "operations/networking/network-policies": [
        ("ISO 27001:2013 A.13.1.3", "documented", "ctl-8-22"),
    ],
    "operations/logging": [
        ("ISO 27001 A.12.4.1 Event logging", "documented", "ctl-8-15"),
    ],
    "security/environments": [
        ("ISO/IEC 27001:2022 Annex A 8.31", "documented", "ctl-8-31"),
        (
            "ISO 27001 A.12.1.4 Separation of development, testing and operational environments",
            "documented",
            "ctl-8-31",
        ),
    ],
    "security/access-control": [
        ("ISO 27001:2022 5.15 Access control", "documented", "ctl-5-15"),
        ("ISO 27001:2022 8.2", "documented", "ctl-8-2"),
    ],
}
# Tags that are the site's own: topics, and frameworks outside the scope (no catalog in use).
SITE_TAGS = {
    "getting-started/first-deployment": ["kubernetes"],
    "operations/backup-and-restore": ["backup"],
    "operations/networking/network-policies": ["networking", "BSI IT-Grundschutz APP.4.4.A7"],
    "operations/logging": ["observability", "HIPAA - § 164.312(b)"],
    "security/environments": ["MSBFS 2020:7 3 kap. 1 §"],
    "security/access-control": ["identity"],
}


class Html(HTMLParser):
    """One built page: its title, its H1, the primary nav's entries, Material's tag row and
    evidoc's chips."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.h1 = ""
        self.nav: list[tuple[str | None, str]] = []
        self.tag_row: list[tuple[str | None, str]] = []
        self.chips: list[tuple[str, str, str]] = []  # (label, status, href)
        self._open: list[str] = []
        self._in: str | None = None  # what the text goes to
        self._text = ""
        self._href: str | None = None
        self._status = ""
        self._nav_depth: int | None = None  # inside the primary nav (the first one only)
        self._nav_done = False
        self._row: str | None = None  # "material" | "evidoc" inside a tag row
        self._until = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag in {"br", "img", "input", "meta", "link", "hr"}:
            return
        self._open.append(tag)
        depth = len(self._open)
        if tag == "nav" and "md-nav--primary" in cls and not self._nav_done:
            self._nav_depth = depth
        if tag == "nav" and "md-tags" in cls:
            self._row = "evidoc" if "evidoc-tags" in cls else "material"
        if self._in is not None:
            if "evidoc-chip-status" in cls:
                self._in = "status"
            return
        if tag == "title":
            self._start("title", depth)
        elif tag == "h1":
            self._start("h1", depth)
        elif self._nav_depth is not None and "md-nav__link" in cls:
            self._start("nav", depth, a.get("href"))
        elif self._row is not None and "md-tag" in cls:
            self._start(self._row, depth, a.get("href"))

    def _start(self, what: str, depth: int, href: str | None = None) -> None:
        self._in, self._until, self._text, self._href, self._status = what, depth, "", href, ""

    def handle_endtag(self, tag: str) -> None:
        if not self._open:
            return
        depth = len(self._open)
        if self._in is not None and depth == self._until:
            text = " ".join(self._text.split())
            if self._in == "title":
                self.title = text
            elif self._in == "h1" and not self.h1:
                self.h1 = text.rstrip("¶").strip()
            elif self._in == "nav":
                self.nav.append((self._href, text))
            elif self._in == "material":
                self.tag_row.append((self._href, text))
            elif self._in in {"evidoc", "status"}:
                self.chips.append((text, self._status, self._href or ""))
            self._in = None
        if tag == "nav" and depth == self._nav_depth:
            self._nav_depth, self._nav_done = None, True
        if tag == "nav" and self._row is not None and self._in is None:
            self._row = None
        self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._in == "status":
            self._status += data
        elif self._in is not None:
            self._text += data


def read(site: Path, page: str) -> Html:
    html = Html()
    html.feed((site / page / "index.html").read_text(encoding="utf-8"))
    return html


@dataclass
class Adopted:
    root: Path
    plain: Path  # the site as its team builds it
    site: Path  # evidoc build
    fresh_check: subprocess.CompletedProcess
    check: subprocess.CompletedProcess


def mkdocs_build(root: Path, site: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> Adopted:
    base = tmp_path_factory.mktemp("adoption")
    root = base / "platform-docs"
    shutil.copytree(FIXTURE, root)
    subprocess.run(["git", "init", "-q", str(root)], check=True)

    plain = base / "plain-site"
    mkdocs_build(root, plain)

    proc = run_evidoc("init", "--root", root, "--frameworks", "iso27001-2022")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fresh_check = run_evidoc("check", "--root", root)

    # The team maps its first practice, naming pages by their path in the docs tree, and adds
    # the crosswalk so that its ISO 27001:2013 tags count for the 2022 controls.
    (root / "controls/practices").mkdir(parents=True)
    (root / "controls/practices/backup-and-restore.yaml").write_text(PRACTICE)
    (root / "controls/crosswalks").mkdir(parents=True)
    shutil.copy(REPO / "controls/crosswalks/iso27001-2013-2022.yaml", root / "controls/crosswalks")
    check = run_evidoc("check", "--root", root, "--format", "json")

    site = base / "evidoc-site"
    proc = run_evidoc("build", "--root", root, "--site-dir", site, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return Adopted(root, plain, site, fresh_check, check)


def host_pages(site: Path) -> list[str]:
    return sorted(
        p.parent.relative_to(site).as_posix()
        for p in site.rglob("index.html")
        if 'http-equiv="refresh"' not in p.read_text(encoding="utf-8")[:2000]
    )


def test_check_on_the_freshly_initialised_site_is_never_a_usage_error(adopted: Adopted) -> None:
    for proc in (adopted.fresh_check, adopted.check):
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
    # 2013 tags before the 2013 catalog is used: they read as control tags of "ISO", misspelt or
    # of a catalog not in scope; topic tags stay the site's own.
    assert "malformed-tag" in adopted.fresh_check.stdout
    assert "warning: [unknown-tag] tag 'kubernetes'" in adopted.fresh_check.stdout


def test_practices_name_pages_by_their_path_in_the_docs_tree(adopted: Adopted) -> None:
    report = json.loads(adopted.check.stdout)
    assert "unknown-page" not in {f["kind"] for f in report["findings"]}
    practice = (adopted.site / "compliance/practices/backup-and-restore/index.html").read_text(
        encoding="utf-8"
    )
    assert 'href="../../../operations/backup-and-restore/"' in practice
    assert 'href="../../../operations/networking/network-policies/"' in practice
    # The same paths, relative to a docs tree read from elsewhere with --docs.
    elsewhere = adopted.root.parent / "docs-elsewhere"
    shutil.copytree(adopted.root / "docs", elsewhere)
    proc = run_evidoc("check", "--root", adopted.root, "--docs", elsewhere, "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    kinds = {f["kind"] for f in json.loads(proc.stdout)["findings"]}
    assert "unknown-page" not in kinds
    shutil.rmtree(elsewhere / "operations/networking")
    proc = run_evidoc("check", "--root", adopted.root, "--docs", elsewhere, "--format", "json")
    missing = [f for f in json.loads(proc.stdout)["findings"] if f["kind"] == "unknown-page"]
    assert [f["message"] for f in missing] == [
        "practice backup-and-restore names docs page "
        "'operations/networking/network-policies.md', which does not exist"
    ]


def test_titles_and_pages_of_the_site_are_unchanged(adopted: Adopted) -> None:
    pages = host_pages(adopted.plain)
    assert pages == [
        ".",
        "getting-started",
        "getting-started/first-deployment",
        "operations/backup-and-restore",
        "operations/logging",
        "operations/networking/network-policies",
        "release-notes",
        "security/access-control",
        "security/environments",
        "tags",
    ]
    for page in pages:
        plain, evidoc = read(adopted.plain, page), read(adopted.site, page)
        assert (evidoc.title, evidoc.h1) == (plain.title, plain.h1), page
    logging = read(adopted.site, "operations/logging")
    assert logging.title.startswith("Logging and audit trails - ")  # front matter title
    first = read(adopted.site, "getting-started/first-deployment")
    assert first.h1 == "Your first deployment"  # a setext heading after front matter


def test_nav_is_the_sites_own_with_the_compliance_section_where_configured(
    adopted: Adopted,
) -> None:
    plain = read(adopted.plain, ".").nav
    evidoc = read(adopted.site, ".").nav
    start = evidoc.index((None, "Compliance evidence"))
    end = start + 1
    while end < len(evidoc) and (evidoc[end][0] is None or evidoc[end][0].startswith("compl")):
        end += 1
    added = evidoc[start:end]
    assert evidoc[:start] + evidoc[end:] == plain
    # Under Security, after its own pages (extra.evidoc.nav: under Security, position last).
    assert evidoc[start - 1] == ("security/access-control/", "Access control")
    assert evidoc[end] == ("release-notes/", "Release notes")
    assert (FRAMEWORK, "ISO/IEC 27001:2022 Annex A") in added


def test_chips_keep_the_pages_own_tag_text_and_link_to_the_control(adopted: Adopted) -> None:
    for page in host_pages(adopted.site):
        if page.startswith("compliance"):
            continue
        chips = read(adopted.site, page).chips
        depth = "../" * (page.count("/") + 1) if page != "." else ""
        expected = [
            (text, status, f"{depth}{FRAMEWORK}#{anchor}")
            for text, status, anchor in CHIPS.get(page, [])
        ]
        assert chips == expected, page
    html = (adopted.site / "security/environments/index.html").read_text(encoding="utf-8")
    assert html.index('<h1 id="environments"') < html.index("evidoc-chip")  # after the H1
    assert broken_links(adopted.site) == []


def test_the_sites_own_tag_row_and_tags_index_stay(adopted: Adopted) -> None:
    for page in host_pages(adopted.plain):
        plain, evidoc = read(adopted.plain, page), read(adopted.site, page)
        assert evidoc.tag_row == plain.tag_row, page
        for tag in SITE_TAGS.get(page, []):
            assert tag in [text for _, text in evidoc.tag_row], (page, tag)
            assert not any(label.startswith(tag) for label, _, _ in evidoc.chips), (page, tag)
    plain_index = (adopted.plain / "tags/index.html").read_text(encoding="utf-8")
    evidoc_index = (adopted.site / "tags/index.html").read_text(encoding="utf-8")
    for tag in ("tag:backup", "tag:networking", "tag:iso-270012022-813"):
        assert f'id="{tag}"' in plain_index and f'id="{tag}"' in evidoc_index


def test_crosswalked_2013_tags_count_for_the_2022_controls(adopted: Adopted) -> None:
    html = (adopted.site / FRAMEWORK / "index.html").read_text(encoding="utf-8")
    for anchor, page, via in (
        ("ctl-8-22", "operations/networking/network-policies.md", "A.13.1.3"),
        ("ctl-8-15", "operations/logging.md", "A.12.4.1"),
    ):
        section = html[html.index(f'id="{anchor}"') :][:3000]
        assert "evidoc-badge--documented" in section[:600], anchor
        assert f"{page} (via crosswalk from iso27001-2013&#58;{via})" in section, anchor


def test_theme_directory_hook_and_markdown_extensions_work_in_both(adopted: Adopted) -> None:
    for site in (adopted.plain, adopted.site):
        home = (site / "index.html").read_text(encoding="utf-8")
        assert "harbourline-announce" in home  # overrides/main.html
        assert "assets/extra.css" in home
        notes = (site / "release-notes/index.html").read_text(encoding="utf-8")
        assert "Platform 2026.3" in notes and "platform.version" not in notes  # the hook
        first = (site / "getting-started/first-deployment/index.html").read_text(encoding="utf-8")
        assert '<pre class="mermaid">' in first  # superfences, !!python/name: format
        assert 'class="twemoji"' in first  # emoji, !!python/name: index and generator
        assert '<abbr title="Role-based access control">' in first  # snippets + abbr
        assert 'class="tabbed-set' in first and '<details class="info">' in first
    framework = (adopted.site / FRAMEWORK / "index.html").read_text(encoding="utf-8")
    assert "harbourline-announce" in framework  # the generated pages use the site's theme


def test_include_markdown_reaches_files_beside_the_docs_tree(adopted: Adopted) -> None:
    for site in (adopted.plain, adopted.site):
        home = (site / "index.html").read_text(encoding="utf-8")
        assert "Harbourline is the shared Kubernetes platform" in home  # ../README.md
        assert "Build the site with" not in home  # only between the markers
        assert "Getting help" in home  # ../includes/support.md


def test_redirects_are_kept(adopted: Adopted) -> None:
    for site in (adopted.plain, adopted.site):
        stub = (site / "backup/index.html").read_text(encoding="utf-8")
        assert "operations/backup-and-restore/" in stub
        assert (site / "networking/index.html").is_file()
