"""The print templates: Jinja2 with autoescape on, so every value from YAML or evidence prints
as text, never as markup."""

from __future__ import annotations

from pathlib import Path

import jinja2

from generator import resources
from generator.pdf.model import PackDocument

MAIN = "pack.html.j2"


def duration(seconds: int) -> str:
    """A time-to-live as people say it: 400 d, 6 h, 90 s."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def environment(template_dir: Path | None = None) -> jinja2.Environment:
    """The packaged print templates, or those of TEMPLATE_DIR (for a custom layout)."""
    loader: jinja2.BaseLoader = (
        resources.PackagedLoader("print")
        if template_dir is None
        else jinja2.FileSystemLoader(str(template_dir))
    )
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = duration
    return env


def render_html(doc: PackDocument, template_dir: Path | None = None, main: str = MAIN) -> str:
    return environment(template_dir).get_template(main).render(doc=doc)


def stylesheets(template_dir: Path | None = None) -> dict[str, bytes]:
    """The CSS files the templates link to, by name; they are written into the build directory."""
    if template_dir is None:
        return {name: resources.read("print", name) for name in resources.names("print", ".css")}
    return {p.name: p.read_bytes() for p in sorted(template_dir.glob("*.css"))}
