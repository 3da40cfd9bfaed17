"""Hand-written pages, copied into the build with a row of tag chips after their H1 title: one
chip per tag that names an in-scope control, labelled with the tag as the page writes it and the
control's status, linking to the control's anchor on its framework page. The page's front matter
is left as it is, so the site's own tag row (Material's tags plugin) shows every tag as before."""

from __future__ import annotations

import re

from generator.site.model import Chip, Site, relative
from generator.site.render import md_escape

_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


def split_front_matter(text: str) -> tuple[str, str]:
    """(front matter including its fences, body); front matter is '' when there is none."""
    first, nl, rest = text.partition("\n")
    if first.lstrip("\ufeff").rstrip() != "---" or not nl:
        return "", text
    close = _CLOSE.search(rest)
    if close is None:
        return "", text
    end = len(first) + 1 + close.end()
    if end < len(text) and text[end] == "\n":
        end += 1
    return text[:end], text[end:]


def chip(rel: str, c: Chip) -> str:
    """One chip: a Markdown link with Material's tag class; every piece of page text escaped."""
    status = c.status.value if c.status is not None else "group"
    url = relative(rel, c.target, c.anchor)
    return (
        f'[{md_escape(c.text)} <span class="evidoc-chip-status">{status}</span>]({url})'
        f'{{ .md-tag .evidoc-chip .evidoc-chip--{status} title="{md_escape(c.note)}" }}'
    )


def chips_block(rel: str, chips: list[Chip]) -> str:
    rows = "\n".join(chip(rel, c) for c in chips)
    return (
        f'<nav class="md-tags evidoc-tags" markdown="1" aria-label="Controls">\n{rows}\n</nav>\n\n'
    )


def with_chips(site: Site, rel: str, text: str, tags: list[str]) -> str:
    chips = site.chips(tags)
    if not chips:
        return text
    block = chips_block(rel, chips)
    head, body = split_front_matter(text)
    title, rest = split_title(body)
    return f"{head}{title}\n{block}{rest}"


_SETEXT_H1 = re.compile(r"^=+[ \t]*$")


def split_title(body: str) -> tuple[str, str]:
    """(the leading H1 with the blank lines before it, the rest). MkDocs takes a page's title
    from an H1 only when it comes first, so the chips go after it, never before."""
    lines = body.splitlines(keepends=True)
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and lines[i].startswith("# "):
        return "".join(lines[: i + 1]), "".join(lines[i + 1 :])
    if i + 1 < len(lines) and lines[i].strip() and _SETEXT_H1.match(lines[i + 1]):
        return "".join(lines[: i + 2]), "".join(lines[i + 2 :])
    return "", body
