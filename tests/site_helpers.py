"""Helpers for the site tests: read built HTML back, check every internal link, and make a small
instance with evidence snapshots."""

from __future__ import annotations

import datetime as dt
import posixpath
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from generator.checks.context import CheckContext
from generator.results import CheckResult, ResultStatus
from generator.snapshot.store import SnapshotWriter
from tests.conftest import SOURCES, Instance


class Page(HTMLParser):
    """Ids, links and the elements that follow each heading of one built page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.classes: list[tuple[str | None, str]] = []  # (last heading id, class) in order
        self.heading: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
            if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
                self.heading = a["id"]
        if a.get("name") and tag == "a":
            self.ids.add(a["name"] or "")
        for key in ("href", "src"):
            if a.get(key) and tag in {"a", "link", "script", "img"}:
                self.links.append(a[key] or "")
        for cls in (a.get("class") or "").split():
            self.classes.append((self.heading, cls))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def badges_by_heading(path: Path) -> dict[str, str]:
    """Heading id -> the status of the first badge that follows it."""
    out: dict[str, str] = {}
    for heading, cls in parse(path).classes:
        if heading and heading not in out and cls.startswith("evidoc-badge--"):
            out[heading] = cls.removeprefix("evidoc-badge--")
    return out


def broken_links(site: Path) -> list[str]:
    """Every internal href/src that does not resolve to a file, or to an id in it."""
    pages: dict[Path, Page] = {}

    def load(path: Path) -> Page:
        if path not in pages:
            pages[path] = parse(path)
        return pages[path]

    problems = []
    for html in sorted(site.rglob("*.html")):
        if html.name == "404.html":
            continue  # served for any path, so its links are absolute
        page = load(html)
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "data:", "#__")):
                continue
            rel = posixpath.relpath(html.parent.as_posix(), site.as_posix())
            if parts.path:
                target = site / posixpath.normpath(posixpath.join(rel, unquote(parts.path)))
            else:
                target = html
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{html.relative_to(site)}: {link}: no such file")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html" and fragment not in load(target).ids:
                problems.append(f"{html.relative_to(site)}: {link}: no such anchor")
    return problems


EVIDENCE_PRACTICE = """\
id: environment-separation
title: Environment separation
owner: Platform team
statement: Production runs in its own cluster.
satisfies:
  - control: demo-iso:A.1
    relationship: equivalent
    proven_by: [test.namespaces]
checks:
  - id: test.namespaces
docs: [environments.md]
"""

ITEM = "kubernetes/prod/prod-wc/namespaces"


def namespaces_check(ctx: CheckContext) -> list[CheckResult]:
    """Passes when the production cluster has the namespace 'shop'."""
    read = ctx.read(ITEM)
    bad = ctx.unusable("production", [read], "prod")
    if bad is not None:
        return [bad]
    names = [n["name"] for n in read.data["items"]]
    ok = "shop" in names
    status = ResultStatus.passed if ok else ResultStatus.failed
    reason = "namespace shop exists" if ok else f"namespace shop missing (found {names})"
    return [ctx.result("production", status, reason, [ITEM], "prod")]


def write_snapshot(inst: Instance, at: dt.datetime, namespaces: list[str]) -> Path:
    writer = SnapshotWriter(inst.root / "evidence" / "snapshots", at, demo=True)
    writer.add(
        ITEM,
        {"items": [{"name": n} for n in namespaces]},
        collector="kubernetes",
        query="GET /api/v1/namespaces",
        collected_at=at,
        ttl=86400,
        environment="prod",
        context="prod-wc",
    )
    return writer.commit()


def evidence_instance(inst: Instance) -> Instance:
    inst.write("controls/practices/environment-separation.yaml", EVIDENCE_PRACTICE)
    inst.write("evidence/sources.yaml", SOURCES)
    inst.write("docs/index.md", "# Demo\n\nThe [environments](environments.md).\n")
    return inst
