"""`evidoc build`: the shipped instance and small instances built with a real, strict MkDocs,
read back as HTML: statuses, badges, anchors, chips, evidence links, escaping, atomicity."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import jinja2
import pytest

from generator.checks.registry import CHECKS
from generator.pipeline import run_report
from generator.report import Status
from generator.site import config, jinja_cache
from generator.site.anchors import slug
from generator.site.build import build_site, link_instance
from generator.site.render import md_block, md_escape
from generator.snapshot.store import latest_snapshot, load_snapshot
from tests.conftest import REPO, Instance, run_evidoc
from tests.site_helpers import (
    ITEM,
    badges_by_heading,
    broken_links,
    evidence_instance,
    namespaces_check,
    parse,
    write_snapshot,
)

# --- the shipped instance --------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("shipped") / "site"
    proc = run_evidoc("build", "--root", REPO, "--site-dir", site, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return site


def test_shipped_statuses_and_badges_match_the_report(shipped: Path) -> None:
    _, report = run_report(REPO)
    assert report.frameworks
    for fw in report.frameworks:
        page = shipped / "compliance" / "frameworks" / fw.id / "index.html"
        badges = badges_by_heading(page)
        for c in fw.controls:
            anchor = "ctl-" + slug(c.id)
            assert badges.get(anchor) == c.status.value, (fw.id, c.id)
        # The gaps section comes before the controls, and lists exactly the gaps.
        html = page.read_text(encoding="utf-8")
        assert html.index('id="summary"') < html.index('id="gaps"') < html.index('id="controls"')
        gaps = html[html.index('id="gaps"') : html.index('id="controls"')]
        expected = [
            c for c in fw.controls if c.status.value in {"unmapped", "failing", "no-evidence"}
        ]
        assert gaps.count('<span class="evidoc-badge') == len(expected)


def test_shipped_dashboard_totals(shipped: Path) -> None:
    _, report = run_report(REPO)
    html = (shipped / "compliance" / "index.html").read_text(encoding="utf-8")
    page = parse(shipped / "compliance" / "index.html")
    text = " ".join("".join(page.text).split())
    for fw in report.frameworks:
        assert f'href="frameworks/{fw.id}/"' in html
        total = sum(fw.totals.values())
        counts = " ".join(str(fw.totals[s] or "·") for s in fw.totals)
        assert f"{counts} {total}" in text, fw.id
    assert html.count('class="evidoc-chart"') == len(report.frameworks) + 1


def test_shipped_every_page_names_its_snapshot(shipped: Path) -> None:
    snap = latest_snapshot(REPO)
    pages = sorted(shipped.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        html = page.read_text(encoding="utf-8")
        if snap is None:
            assert "Built without an evidence snapshot" in html, page
        else:
            m = load_snapshot(snap).manifest
            assert m.id in html and m.digest in html, page


def test_shipped_links_and_anchors_all_resolve(shipped: Path) -> None:
    assert broken_links(shipped) == []


def test_shipped_chips_link_to_controls_and_back(shipped: Path) -> None:
    page = parse(shipped / "how-many-environments" / "index.html")
    assert "../compliance/frameworks/iso27001-2022/#ctl-8-31" in page.links
    # A 2013 tag is not in scope; the chip follows the crosswalk to 8.31 and keeps the page's
    # own tag text, with the control's status.
    html = (shipped / "how-many-environments" / "index.html").read_text(encoding="utf-8")
    assert (
        ">ISO 27001 A.12.1.4 Separation of Development, Testing &#38; Operational Environments "
        '<span class="evidoc-chip-status">'
    ) in html
    # The shipped site has no tags plugin of its own: Material's tag row stays off, as there.
    assert 'class="md-tags"' not in html and 'class="md-tags evidoc-tags"' in html
    framework = (shipped / "compliance/frameworks/iso27001-2022/index.html").read_text("utf-8")
    section = framework[framework.index('id="ctl-8-31"') :][:4000]
    assert 'href="../../../how-many-environments/"' in section


def test_shipped_statement_of_applicability(shipped: Path) -> None:
    _, report = run_report(REPO)
    fw = next(f for f in report.frameworks if f.id == "iso27001-2022")
    html = (shipped / "compliance/soa/iso27001-2022/index.html").read_text(encoding="utf-8")
    rows = html.split("<tr>")[1:]
    body = [r for r in rows if "<td>" in r]
    assert len(body) == len(fw.controls) == 93
    excluded = [c for c in fw.controls if c.status is Status.excluded]
    assert sum(1 for r in body if "<strong>no</strong>" in r) == len(excluded)
    for c in excluded:
        assert c.exclusion is not None
        assert c.exclusion.justification.split()[0] in html


def test_shipped_practice_and_environment_pages(shipped: Path) -> None:
    practice = (shipped / "compliance/practices/environment-separation/index.html").read_text(
        "utf-8"
    )
    assert "Platform team" in practice
    assert 'href="../../frameworks/iso27001-2022/#ctl-8-31"' in practice
    env = (shipped / "compliance/environments/index.html").read_text("utf-8")
    assert "evidoc-iso--environment" in env or "No application deployments" in env


# --- small instances ---------------------------------------------------------------------------


def build(inst: Instance, *extra: str | Path) -> tuple[int, str, Path]:
    site = inst.root / "site"
    proc = run_evidoc("build", "--root", inst.root, *extra, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stderr, site


def test_user_text_is_escaped_everywhere(instance: Instance) -> None:
    fw = (instance.root / "controls/frameworks/demo-iso.yaml").read_text()
    fw = fw.replace("Separate environments", "<script>alert(1)</script> *bold* [x](y) | pipe")
    fw = fw.replace("title: Demo catalog", 'title: "</title><img src=x onerror=alert(2)>"')
    instance.write("controls/frameworks/demo-iso.yaml", fw)
    code, err, site = build(instance)
    assert code == 0, err
    for page in site.rglob("*.html"):
        html = page.read_text("utf-8")
        assert "<script>alert" not in html, page
        assert "<img src=x" not in html, page
    html = (site / "compliance/frameworks/demo-iso/index.html").read_text("utf-8")
    assert "&#60;script&#62;alert(1)&#60;/script&#62;" in html
    assert "<title>\u2039/title\u203a\u2039img" in html
    assert "<strong>bold</strong>" not in html and "<em>bold</em>" not in html
    assert broken_links(site) == []


def test_a_tag_naming_a_missing_control_fails_the_build_and_keeps_the_old_site(
    instance: Instance,
) -> None:
    code, err, site = build(instance)
    assert code == 0, err
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    instance.write(
        "docs/bad.md", "---\ntags:\n  - DEMO A.1 Separate\n  - DEMO A.9 Missing\n---\n# Bad\n"
    )
    code, err, _ = build(instance)
    assert code == 1
    assert (
        "docs/bad.md:4:5: unknown tag 'DEMO A.9 Missing': it names control 'A.9' of demo-iso, "
        "which has no such control"
    ) in err
    assert "Error reading tags of page 'bad.md'" in err  # Material's allow-list said so too
    assert "Tags not in allow list: DEMO A.9 Missing" in err
    after = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in site.parent.iterdir() if ".staging-" in p.name]


OTHER_CATALOG = """\
id: other-iso
title: Another catalog
version: "1"
publisher: Example
tags:
  - pattern: '^OTHER (?P<id>O\\.\\d+)\\b'
controls:
  - {id: "O.1", title: Something else}
"""

TOPIC_PAGE = """\
---
tags:
  - networking
  - OTHER O.1 Something else
  - DEMO A.2   Review every change
---
# Network policies

Default deny.
"""


def chips_and_row(page: Path) -> tuple[list[str], list[str]]:
    """(evidoc's chip labels with their status, the texts of Material's own tag row)."""
    html = page.read_text("utf-8")
    chips = re.findall(r'class="md-tag evidoc-chip[^"]*"[^>]*>([^<]*)<span[^>]*>([^<]*)<', html)
    row = ""
    if '<nav class="md-tags" >' in html:
        row = html[html.index('<nav class="md-tags" >') :]
        row = row[: row.index("</nav>")]
    return [f"{a.strip()} | {b}" for a, b in chips], re.findall(r'class="md-tag">([^<]*)<', row)


def test_topic_and_out_of_scope_tags_stay_the_sites_own(instance: Instance) -> None:
    # other-iso is loaded (a practice names it) but not in scope; "networking" is a topic.
    instance.write("controls/frameworks/other-iso.yaml", OTHER_CATALOG)
    practice = (instance.root / "controls/practices/environment-separation.yaml").read_text()
    instance.write(
        "controls/practices/environment-separation.yaml",
        practice.replace(
            "satisfies:\n",
            "satisfies:\n  - control: other-iso:O.1\n    relationship: intersects\n",
        ),
    )
    instance.write("docs/network.md", TOPIC_PAGE)
    code, err, site = build(instance)
    assert code == 0, err
    chips, row = chips_and_row(site / "network" / "index.html")
    # One chip, for the in-scope control, with the tag's own text; no tag row (the site has no
    # tags plugin of its own) and no chip for the others.
    assert chips == ["DEMO A.2 Review every change | documented"]
    assert row == []

    # A site with Material's tags plugin keeps its tag row: every tag, as the site shows it.
    instance.write(
        "mkdocs.yml",
        "site_name: Demo\ntheme: {name: material}\nplugins:\n  - search\n  - tags\n",
    )
    code, err, site = build(instance)
    assert code == 0, err
    chips, row = chips_and_row(site / "network" / "index.html")
    assert chips == ["DEMO A.2 Review every change | documented"]
    assert sorted(row) == [
        "DEMO A.2   Review every change",
        "OTHER O.1 Something else",
        "networking",
    ]
    assert broken_links(site) == []


def test_the_sites_own_tags_allow_list_is_kept() -> None:
    plugins: list = ["search", {"material/tags": {"tags_allowed": ["networking"]}}]
    out = config._tags_plugin(plugins, ["DEMO A.1"], ["networking", "typo"])
    assert out == ["search", {"material/tags": {"tags_allowed": ["DEMO A.1", "networking"]}}]
    out = config._tags_plugin(["tags"], ["DEMO A.1"], ["networking"])
    assert out == [{"tags": {"tags_allowed": ["DEMO A.1", "networking"]}}]
    (added,) = config._tags_plugin([], [], [])
    quiet = {"tags": False, "listings": False, "tags_allowed": [config._NO_TAG]}
    if config._tags_option_known("export"):  # Material >= 9.7 would write tags.json
        quiet["export"] = False
    assert added == {"tags": quiet}


def test_the_build_directory_mirrors_the_instance_root(tmp_path: Path) -> None:
    root, work = tmp_path / "root", tmp_path / "work"
    for name in ("docs", "includes", ".git", "site"):
        (root / name).mkdir(parents=True)
    (root / "README.md").write_text("readme")
    (root / "mkdocs.yml").write_text("site_name: x")
    (work / ".tmp").mkdir(parents=True)
    link_instance(root, work, work / "site")
    assert sorted(p.name for p in work.iterdir()) == [".tmp", "README.md", "includes"]
    assert (work / "README.md").resolve() == (root / "README.md").resolve()


def test_compiled_templates_serve_only_the_same_source_and_environment(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("{{ title | upper }}{% include 'part.html' %}")
    (tmp_path / "part.html").write_text("!")
    store = tmp_path / "cache"
    store.mkdir()
    compiled: list[str] = []

    def env(cache: jinja_cache.TemplateCache) -> jinja2.Environment:
        made = jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path)))
        made.bytecode_cache = cache
        compile_ = made.compile

        def counted(source: str, name: str | None = None, *args: object, **kw: object) -> object:
            compiled.append(str(name))
            return compile_(source, name, *args, **kw)  # type: ignore[arg-type]

        made.compile = counted  # type: ignore[method-assign]
        return made

    first = jinja_cache.TemplateCache(store)
    assert first.compile_ahead(env(first), "page.html") == ["part.html"]
    assert first.compile_ahead(env(first), "part.html") == []
    assert compiled == ["page.html", "part.html"]
    assert env(first).get_template("page.html").render(title="a") == "A!"
    # Another run: loaded from disk, not compiled.
    later = jinja_cache.TemplateCache(store)
    assert env(later).get_template("page.html").render(title="a") == "A!"
    assert compiled == ["page.html", "part.html"]
    # A filter that is passed the context is compiled for differently: another environment.
    other = env(jinja_cache.TemplateCache(store))
    other.filters["upper"] = jinja2.pass_context(lambda ctx, value: value.upper())
    assert other.get_template("page.html").render(title="a") == "A!"
    assert compiled[2:] == ["page.html", "part.html"]
    # Another source, and damaged files: compiled afresh.
    (tmp_path / "part.html").write_text("?")
    for path in store.iterdir():
        path.write_bytes(b"not a template")
    del compiled[:]
    assert env(jinja_cache.TemplateCache(store)).get_template("page.html").render(title="a") == "A?"
    assert compiled == ["page.html", "part.html"]


def test_the_template_cache_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert jinja_cache.cache_dir() == tmp_path / "evidoc" / "jinja"
    assert (tmp_path / "evidoc" / "jinja").stat().st_mode & 0o777 == 0o700
    (tmp_path / "evidoc" / "jinja").chmod(0o777)
    assert jinja_cache.cache_dir() is None  # others could write code there
    (tmp_path / "evidoc" / "jinja").chmod(0o700)
    (tmp_path / "evidoc").chmod(0o777)
    assert jinja_cache.cache_dir() is None  # others could swap the folder for their own
    (tmp_path / "evidoc").chmod(0o755)
    assert jinja_cache.cache_dir() == tmp_path / "evidoc" / "jinja"
    monkeypatch.setenv("EVIDOC_JINJA_CACHE", "off")
    assert jinja_cache.cache_dir() is None


def test_anchors_come_from_ids_not_titles(instance: Instance) -> None:
    code, err, site = build(instance)
    assert code == 0, err
    page = site / "compliance/frameworks/demo-iso/index.html"
    assert "ctl-a-1" in parse(page).ids
    fw = (instance.root / "controls/frameworks/demo-iso.yaml").read_text()
    instance.write(
        "controls/frameworks/demo-iso.yaml", fw.replace("Separate environments", "Renamed")
    )
    code, err, site = build(instance)
    assert code == 0, err
    assert "ctl-a-1" in parse(page).ids
    assert "Renamed" in page.read_text("utf-8")


def test_anchor_slugs() -> None:
    assert slug("8.31") == "8-31"
    assert slug("164.308(a)(4)(ii)(A)") == "164-308-a-4-ii-a"
    assert slug("3 kap. 1 §") == "3-kap-1"
    assert slug("APP.4.4.A15") == "app-4-4-a15"


def test_markdown_escaping() -> None:
    assert md_escape("<b>*x*</b> [a](b) `c` | d") == (
        "&#60;b&#62;&#42;x&#42;&#60;/b&#62; &#91;a&#93;(b) &#96;c&#96; &#124; d"
    )
    assert (
        md_escape("8.31 164.308(a)(4)(ii)(A) 3 kap. 1 §") == "8.31 164.308(a)(4)(ii)(A) 3 kap. 1 §"
    )
    assert (
        md_block("1. not a list\n\n# not a heading") == "1&#46; not a list\n\n&#35; not a heading"
    )


@pytest.fixture
def evidence(instance: Instance, monkeypatch: pytest.MonkeyPatch) -> Instance:
    monkeypatch.setitem(CHECKS, "test.namespaces", namespaces_check)
    evidence_instance(instance)
    write_snapshot(instance, dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC), ["kube-system"])
    write_snapshot(instance, dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), ["kube-system", "shop"])
    return instance


def test_evidence_items_and_changes(evidence: Instance) -> None:
    result = build_site(evidence.root)
    assert result.ok, result.messages
    site = result.site_dir
    snap = load_snapshot(latest_snapshot(evidence.root))  # type: ignore[arg-type]
    item = snap.manifest.items[0]

    practice = site / "compliance/practices/environment-separation/index.html"
    html = practice.read_text("utf-8")
    assert item.sha256 in html and item.collected_at in html
    assert 'evidoc-result--pass">pass<' in html and "namespace shop exists" in html
    raw = f"../../evidence/{snap.manifest.id}/{item.path}"
    assert f'href="{raw}"' in html
    copied = (practice.parent / raw).resolve()
    assert copied.read_bytes() == (snap.path / item.path).read_bytes()
    assert json.loads(copied.read_bytes())["items"][1]["name"] == "shop"

    framework = site / "compliance/frameworks/demo-iso/index.html"
    assert badges_by_heading(framework)["ctl-a-1"] == "verified"

    dashboard = (site / "compliance/index.html").read_text("utf-8")
    assert "20260301T090000Z" in dashboard  # the previous snapshot
    before_after = dashboard[dashboard.index('id="changes"') : dashboard.index('id="evidence"')]
    assert "evidoc-badge--failing" in before_after and "evidoc-badge--verified" in before_after
    assert "1 changed" in before_after and ITEM in before_after

    env = (site / "compliance/environments/prod/index.html").read_text("utf-8")
    matrix = env[env.index('class="evidoc-matrix"') :]
    assert "evidoc-iso--environment" in matrix and "evidoc-iso--namespace" not in matrix
    overview = (site / "compliance/environments/index.html").read_text("utf-8")
    assert "evidoc-iso--namespace" in overview[overview.index('class="evidoc-matrix"') :]
    assert broken_links(site) == []


def test_same_snapshot_same_bytes(evidence: Instance, tmp_path: Path) -> None:
    one = build_site(evidence.root, site_dir=tmp_path / "one")
    two = build_site(evidence.root, site_dir=tmp_path / "two")
    assert one.ok and two.ok
    for page in ["compliance/index.html", "compliance/frameworks/demo-iso/index.html"]:
        assert (tmp_path / "one" / page).read_bytes() == (tmp_path / "two" / page).read_bytes()


def test_without_docs_index_the_dashboard_is_the_home_page(instance: Instance) -> None:
    code, err, site = build(instance)
    assert code == 0, err
    home = (site / "index.html").read_text("utf-8")
    assert "Compliance dashboard" in home
    assert broken_links(site) == []


def test_bad_mkdocs_yml_is_an_input_error(instance: Instance) -> None:
    instance.write("mkdocs.yml", "site_name: [unclosed\n")
    code, err, _ = build(instance)
    assert code == 2
    assert err.startswith("error: mkdocs.yml:")


def test_tagged_pages_keep_their_h1_title(instance: Instance) -> None:
    """MkDocs takes a title only from an H1 that comes first: the chips go after it."""
    instance.write(
        "docs/backup.md",
        "---\ntags:\n  - DEMO A.2 Review every change\n---\n\n# Backup Dashboard\n\nRestores.\n",
    )
    instance.write(
        "docs/restore.md",
        "---\ntags: [DEMO A.2 Review every change]\n---\n"
        "Restore Runbook\n===============\n\nText.\n",
    )
    code, err, site = build(instance)
    assert code == 0, err
    backup = (site / "backup" / "index.html").read_text("utf-8")
    assert "<title>Backup Dashboard" in backup
    assert backup.index("Backup Dashboard</h1>") < backup.index("evidoc-chip")
    restore = (site / "restore" / "index.html").read_text("utf-8")
    assert "<title>Restore Runbook" in restore
    nav = (site / "index.html").read_text("utf-8")
    assert "Backup Dashboard" in nav and "Restore Runbook" in nav
