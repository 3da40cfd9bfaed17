"""The print templates: Jinja2 with autoescape on, so every value from YAML or evidence prints
as text, never as markup."""

from __future__ import annotations

from pathlib import Path

import jinja2

from generator.pdf.model import PackDocument

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "print"
MAIN = "pack.html.j2"


def duration(seconds: int) -> str:
    """A time-to-live as people say it: 400 d, 6 h, 90 s."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def environment(template_dir: Path = TEMPLATE_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = duration
    return env


def render_html(doc: PackDocument, template_dir: Path = TEMPLATE_DIR, main: str = MAIN) -> str:
    return environment(template_dir).get_template(main).render(doc=doc)


def stylesheets(template_dir: Path = TEMPLATE_DIR) -> list[Path]:
    """The CSS files the templates link to; they are copied into the build directory."""
    return sorted(template_dir.glob("*.css"))
