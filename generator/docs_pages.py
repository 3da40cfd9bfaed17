"""Hand-written docs pages: the `tags:` of their YAML front matter, with line numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from generator.errors import InputError
from generator.yamlio import parse_yaml, read_text

MAX_PAGE_BYTES = 5 * 1024 * 1024
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class PageTag:
    text: str
    line: int
    column: int


@dataclass(frozen=True)
class DocPage:
    path: str  # relative to the docs directory, with forward slashes
    file: str  # as shown in messages
    title: str | None
    tags: tuple[PageTag, ...]


def read_front_matter(path: Path, rel: str, display: str) -> DocPage:
    text = read_text(path, max_bytes=MAX_PAGE_BYTES, what="Markdown page")
    if text.startswith("\ufeff"):
        text = text[1:]
    first, _, rest = text.partition("\n")
    if first.rstrip() != "---":
        return DocPage(rel, display, _heading(text), ())
    close = _CLOSE.search(rest)
    if close is None:
        raise InputError(
            display, "front matter opened with '---' never closes (expected '---')", 1, 1
        )
    block = rest[: close.start()]
    data, marks = parse_yaml(block, display, line_offset=1)
    if data is None:
        return DocPage(rel, display, _heading(rest[close.end() :]), ())
    if not isinstance(data, dict):
        raise InputError(display, "front matter must be a mapping of keys such as 'tags:'", 2, 1)
    title = data.get("title") if isinstance(data.get("title"), str) else None
    raw = data.get("tags")
    if raw is None:
        return DocPage(rel, display, title or _heading(rest[close.end() :]), ())
    if not isinstance(raw, list):
        line, col = marks.locate(("tags",))
        raise InputError(display, "'tags' must be a list of strings", line, col)
    tags = []
    for i, tag in enumerate(raw):
        line, col = marks.locate(("tags", i))
        if not isinstance(tag, str):
            raise InputError(display, f"tag must be a string, found {tag!r}", line, col)
        tags.append(PageTag(tag, line or 1, col or 1))
    return DocPage(rel, display, title or _heading(rest[close.end() :]), tuple(tags))


def _heading(body: str) -> str | None:
    for line in body.splitlines()[:200]:
        if line.startswith("# "):
            return line[2:].strip()
    return None


def iter_pages(docs_dir: Path, root: Path) -> list[tuple[Path, str, str]]:
    """Every Markdown page under docs_dir as (path, docs-relative name, display name)."""
    if not docs_dir.is_dir():
        return []
    pages = []
    base = docs_dir.resolve()
    for path in sorted(docs_dir.rglob("*.md")):
        if not path.is_file():
            continue
        rel = path.relative_to(docs_dir).as_posix()
        try:
            display = path.relative_to(root).as_posix()
        except ValueError:
            display = str(path)
        refuse_outside(path, base, display)
        pages.append((path, rel, display))
    return pages


def refuse_outside(path: Path, base: Path, display: str) -> None:
    """A docs file that is a link to something outside the docs tree is never read or
    published: it could name /proc/self/environ or a key."""
    # Directory links are not descended into by the walks that find docs files, so only a file
    # that is itself a link can lead outside; lstat is cheap, resolving every path is not.
    if path.is_symlink() and not path.resolve().is_relative_to(base):
        raise InputError(
            display,
            f"a symbolic link to {path.resolve()}, outside the docs directory; refused (the site "
            "publishes only the instance's own files)",
        )
