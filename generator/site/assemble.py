"""Assemble the build directory: hand-written pages (with tag chips), generated pages, raw
evidence, and the derived mkdocs.yml. Nothing here runs MkDocs."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator import resources
from generator.coverage import build_coverage
from generator.docs_pages import DocPage, refuse_outside
from generator.errors import InputError
from generator.loader import load_library
from generator.pipeline import evaluate, find_snapshot, judgement_time, trusted
from generator.register import build_register
from generator.release_changes import release_changes
from generator.report import build_report
from generator.site import config
from generator.site.changes import compute_changes
from generator.site.model import GENERATED, Layout, Site
from generator.site.pages import (
    coverage,
    dashboard,
    environment,
    framework,
    handwritten,
    practice,
    register,
    soa,
)
from generator.snapshot.manifest import MANIFEST, SIGNATURE
from generator.snapshot.store import Snapshot
from generator.tags import TagKind, TagMatch

CSS = f"{GENERATED}/evidoc.css"


@dataclass
class Assembly:
    """The build directory's contents before they are written, and what MkDocs is told."""

    root: Path
    site: Site
    files: dict[str, bytes] = field(default_factory=dict)  # docs path -> content
    copies: dict[str, Path] = field(default_factory=dict)  # docs path -> file to copy
    docs_nav: list[Any] = field(default_factory=list)
    compliance_nav: list[Any] = field(default_factory=list)
    # Tags of the hand-written pages: those that name a control or group (chips where in scope),
    # the site's own (topics, frameworks evidoc has no catalog for), and tags that name a control
    # its catalog does not have (refused by the tags allow-list, so the build fails on them).
    control_tags: list[str] = field(default_factory=list)
    site_tags: list[str] = field(default_factory=list)
    unknown_tags: list[tuple[DocPage, TagMatch, str, int, int]] = field(default_factory=list)

    @property
    def snapshot(self) -> Snapshot | None:
        return self.site.snapshot

    @property
    def source_date_epoch(self) -> int | None:
        if self.snapshot is None:
            return None
        return int(self.snapshot.created_at.timestamp())

    def config(
        self, docs_dir: Path, site_dir: Path, *, version_provider: bool = True
    ) -> dict[str, Any]:
        return config.derive(
            config.load_base(self.root),
            root=self.root,
            docs_dir=docs_dir,
            site_dir=site_dir,
            docs_nav=self.docs_nav,
            compliance_nav=self.compliance_nav,
            control_tags=self.control_tags,
            site_tags=self.site_tags,
            footer=str(self.site.provenance),
            extra_css=[CSS],
            version_provider=version_provider,
        )


def assemble(
    root: Path,
    *,
    snapshot: Path | None = None,
    docs_dir: Path | None = None,
    pack: Path | None = None,
    now: dt.datetime | None = None,
    public_keys: Sequence[Path] = (),
) -> Assembly:
    """Load, evaluate, report and render every page. Raises InputError(s) on bad input."""
    root = Path(root).resolve()
    docs = Path(docs_dir).resolve() if docs_dir is not None else root / "docs"
    if (docs / GENERATED).exists():
        raise InputError(
            f"docs/{GENERATED}", "this folder is reserved for the generated pages; rename it"
        )
    config.load_base(root)  # report a broken mkdocs.yml before any work
    library = load_library(root, docs)
    keys = trusted(library, public_keys)
    snap = find_snapshot(root, snapshot, keys)
    if now is None:
        now = judgement_time(root, snap)
    results = evaluate(library, snap, now)
    report = build_report(library, results, now.date())
    register = build_register(library, report, snap, keys)
    changes = compute_changes(library, report, snap, root) if snap is not None else None
    has_index = (docs / "index.md").is_file()
    layout = Layout() if has_index else Layout(dashboard="index.md")
    site = Site(
        library,
        report,
        results,
        snap,
        changes,
        layout,
        pack=pack is not None,
        register=register,
        coverage=build_coverage(library, snap, keys, report.as_of, (results, report, now)),
        release=release_changes(root, library, report),
    )
    asm = Assembly(root=root, site=site)

    _evidence(asm)
    _hand_written(asm, docs)
    _generated(asm)
    if pack is not None:
        asm.copies[layout.pack] = pack
    asm.files[CSS] = resources.read("site", "evidoc.css")
    return asm


def _hand_written(asm: Assembly, docs: Path) -> None:
    site = asm.site
    pages = {p.path: p for p in site.library.pages}
    controls: set[str] = set()
    own: set[str] = set()
    for page in site.library.pages:
        for tag in page.tags:
            match = site.resolver.resolve(tag.text)
            if match is None:
                own.add(tag.text)
            elif match.kind is TagKind.unknown_control:
                asm.unknown_tags.append((page, match, tag.text, tag.line, tag.column))
            else:
                controls.add(tag.text)
    asm.control_tags = sorted(controls)
    asm.site_tags = sorted(own)
    if not docs.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(docs):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = base / name
            rel = path.relative_to(docs).as_posix()
            refuse_outside(path, docs.resolve(), f"docs/{rel}")
            page = pages.get(rel)
            if page is not None and page.tags:
                text = path.read_text(encoding="utf-8")
                rewritten = handwritten.with_chips(site, rel, text, [t.text for t in page.tags])
                asm.files[rel] = rewritten.encode("utf-8")
            else:
                asm.copies[rel] = path
    asm.docs_nav = _docs_nav(sorted(pages), site.layout)


def _docs_nav(paths: list[str], layout: Layout) -> list[Any]:
    """Every hand-written page, folders as sections, index pages first."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        parts = path.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part + "/", {})
        node[parts[-1]] = path

    def build(node: dict[str, Any]) -> list[Any]:
        keys = sorted(node, key=lambda k: (k != "index.md", k.endswith("/"), k))
        out: list[Any] = []
        for key in keys:
            value = node[key]
            if isinstance(value, dict):
                title = key.rstrip("/").replace("-", " ").replace("_", " ").capitalize()
                out.append({title: build(value)})
            else:
                out.append(value)
        return out

    nav = build(tree)
    if layout.dashboard == "index.md":
        nav.insert(0, "index.md")
    return nav


def _generated(asm: Assembly) -> None:
    site = asm.site
    layout = site.layout

    def put(item: tuple[str, str]) -> str:
        path, text = item
        asm.files[path] = text.encode("utf-8")
        return path

    put(dashboard.render(site))
    frameworks = [put(framework.render(site, fw)) for fw in site.report.frameworks]
    soas = [put(soa.render(site, site.frameworks[fid])) for fid in site.soa_frameworks]
    put(practice.render_index(site))
    practices = [
        put(practice.render(site, site.library.practices[pid]))
        for pid in sorted(site.library.practices)
    ]
    environments = [put(item) for item in environment.render_all(site)]
    findings = put(register.render(site))
    over_time = put(coverage.render(site))

    section: list[Any] = []
    if layout.dashboard != "index.md":
        section.append({"Dashboard": layout.dashboard})
    if frameworks:
        section.append({"Frameworks": frameworks})
    if soas:
        section.append({"Statement of Applicability": soas})
    section.append({"Findings register": findings})
    section.append({"Evidence over the audit period": over_time})
    section.append({"Practices": [layout.practices, *practices]})
    section.append({"Environments": environments})
    asm.compliance_nav = [{"Compliance": section}]


def _evidence(asm: Assembly) -> None:
    """The snapshot's manifest and raw item files, so every evidence link resolves."""
    snap = asm.snapshot
    if snap is None:
        return
    sid = snap.manifest.id
    base = snap.path.resolve()
    for name in (MANIFEST, SIGNATURE):
        if (base / name).is_file():
            asm.copies[Layout.evidence(sid, name)] = base / name
    for item in snap.manifest.items:
        src = (base / item.path).resolve()
        if not src.is_relative_to(base) or not src.is_file():
            continue  # never publish a file from outside the snapshot
        path = Layout.evidence(sid, src.relative_to(base).as_posix())
        asm.copies[path] = src
        asm.site.evidence_files[item.id] = path


# Below this many files, threads cost more than they save.
_THREADED_WRITE = 1000


def write(asm: Assembly, docs_dir: Path) -> None:
    """Write the whole tree into an empty docs directory. Creating thousands of small files can
    be bound by the file system rather than the CPU, so a few threads do it."""
    dirs = {(docs_dir / rel).parent for rel in (*asm.files, *asm.copies)}
    for directory in sorted(dirs):
        directory.mkdir(parents=True, exist_ok=True)

    def put(item: tuple[str, bytes]) -> None:
        (docs_dir / item[0]).write_bytes(item[1])

    def link(item: tuple[str, Path]) -> None:
        # Unchanged files are linked, not copied: MkDocs reads through the link.
        rel, src = item
        try:
            os.symlink(src.resolve(), docs_dir / rel)
        except OSError:
            shutil.copyfile(src, docs_dir / rel)

    if len(asm.files) + len(asm.copies) < _THREADED_WRITE:
        for item in asm.files.items():
            put(item)
        for pair in asm.copies.items():
            link(pair)
        return
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, asm.files.items()))
        list(pool.map(link, asm.copies.items()))


def sync(asm: Assembly, docs_dir: Path) -> int:
    """Bring an existing docs directory in line, touching only what changed (for serve)."""
    changed = 0
    wanted: set[str] = set(asm.files) | set(asm.copies)
    for rel, data in asm.files.items():
        path = docs_dir / rel
        if path.is_file() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        changed += 1
    for rel, src in asm.copies.items():
        path = docs_dir / rel
        data = src.read_bytes()
        if path.is_file() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        changed += 1
    if docs_dir.is_dir():
        for path in sorted(docs_dir.rglob("*"), reverse=True):
            rel = path.relative_to(docs_dir).as_posix()
            if path.is_file() and rel not in wanted:
                path.unlink()
                changed += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return changed
