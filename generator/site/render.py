"""Jinja2 environments for the site templates.

Markdown templates escape every value they print unless it is `Markup` (made by the helpers
below or by our own code): user text from YAML or evidence becomes inert text in Markdown, in the
HTML it may be embedded in, and under any Markdown extension a user's mkdocs.yml enables. The
site has no HTML templates of its own (MkDocs and Material render the HTML).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from generator.resources import PackagedLoader
from generator.site.jinja_cache import TemplateCache, cache_dir

# Characters with a meaning in Markdown, HTML or a common extension (emoji ':x:', magic links
# '@user', math '$', critic/mark '~=^+', attr_list '{}', tables '|') become numeric entities.
# Letters, digits, spaces and '.', ',', '(', ')', '-', '/', '§' stay as they are, so ids such as
# '164.308(a)(4)(ii)(A)' read and search the same.
_SPECIAL = "&<>\"'\\`*_[]{}|~=^+!#:$@"
_TABLE = str.maketrans({c: f"&#{ord(c)};" for c in _SPECIAL})
_SPACE = re.compile(r"\s+")
_LIST_START = re.compile(r"^(\d+)([.)])")


def md_escape(value: object) -> str:
    """One line of inert text: whitespace collapsed, special characters as entities."""
    return _escape(value if type(value) is str else str(value))


@lru_cache(maxsize=1 << 16)
def _escape(text: str) -> str:
    # Titles, statuses and practice names repeat across thousands of controls: cached.
    if not text.isprintable() or "  " in text:
        text = _SPACE.sub(" ", text)
    return text.translate(_TABLE)


def md_block(value: object) -> Markup:
    """Paragraphs of inert text; a paragraph that looks like a list item is not one."""
    paragraphs = [p for p in re.split(r"\n\s*\n", str(value)) if p.strip()]
    out = []
    for para in paragraphs:
        text = md_escape(para)
        text = _LIST_START.sub(lambda m: f"{m.group(1)}&#{ord(m.group(2))};", text)
        out.append(text)
    return Markup("\n\n".join(out))


_TITLE = str.maketrans({"<": "\u2039", ">": "\u203a", "&": "\uff06"})
# Controls, lone surrogates and non-characters: invisible in a title, refused by YAML and XML.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")


def front_matter_title(value: object) -> str:
    """A page title for YAML front matter. MkDocs and Material print page titles unescaped in
    the nav and un-escape them inside <title>, so the title carries no '<', '>' or '&' at all:
    they become look-alike characters. The page's own heading shows the text as written."""
    text = _UNPRINTABLE.sub("", _SPACE.sub(" ", str(value)))
    return _SPACE.sub(" ", text).strip().translate(_TITLE)


def front_matter(**fields: object) -> Markup:
    """A page's YAML front matter, fences included, written by a YAML emitter: whatever a
    title holds (quotes, colons, '#', characters YAML cannot hold raw), MkDocs reads back the
    same value instead of silently dropping a broken block. `title` is made fit for a nav."""
    data = {k: front_matter_title(v) if k == "title" else v for k, v in fields.items()}
    text = yaml.safe_dump(
        data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=1 << 16
    )
    return Markup(f"---\n{text}---")


def _finalize(value: Any) -> Any:
    """Every `{{ value }}` of a Markdown template: escaped unless it is Markup."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    return md_escape(value)


# Pieces of Markdown/HTML the templates use, built here rather than as Jinja macros: they run
# tens of thousands of times on a large catalog. Every argument that may be user text is escaped.


def badge(status: object) -> Markup:
    s = md_escape(status)
    return Markup(f'<span class="evidoc-badge evidoc-badge--{s}">{s}</span>')


def result(status: object) -> Markup:
    s = md_escape(status)
    return Markup(f'<span class="evidoc-result evidoc-result--{s}">{s}</span>')


def chart(totals: list[tuple[str, int]], total: int) -> Markup:
    """A stacked bar, one segment per status, its length the number of controls."""
    shown = [(md_escape(s), n) for s, n in totals if n]
    label = ", ".join(f"{n} {s}" for s, n in shown) or "no controls"
    segments = "".join(
        f'<span class="evidoc-seg evidoc-seg--{s}" style="flex-grow: {int(n)}" '
        f'title="{s}: {int(n)}"></span>'
        for s, n in shown
    )
    return Markup(f'<span class="evidoc-chart" role="img" aria-label="{label}">{segments}</span>')


def link(text: object, url: Markup | None) -> Markup:
    """A Markdown link to a docs-relative URL made by our own code, or plain text without one."""
    if url is None:
        return Markup(md_escape(text))
    return Markup(f"[{md_escape(text)}]({url})")


def heading(level: int, text: object, anchor: str) -> Markup:
    return Markup(f"{'#' * level} {md_escape(text)} {{ #{md_escape(anchor)} }}")


@cache
def markdown_env() -> Environment:
    env = Environment(
        loader=PackagedLoader("site"),
        bytecode_cache=TemplateCache(cache_dir()),  # compiled once, kept between runs
        autoescape=False,  # Markdown, not HTML: _finalize escapes for both
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = lambda v: Markup(md_escape(v))
    env.filters["block"] = md_block
    env.globals.update(
        badge=badge,
        result=result,
        chart=chart,
        link=link,
        heading=heading,
        front_matter=front_matter,
    )
    return env


def render_markdown(template: str, **context: Any) -> str:
    return markdown_env().get_template(template).render(**context)
