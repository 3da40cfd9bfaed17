"""Evidence over the audit period (generator/coverage.py) and the changes since the previous
release (generator/release_changes.py): the site's view of what the pack prints in the same
two chapters."""

from __future__ import annotations

from generator.coverage import summary
from generator.site.model import Site
from generator.site.render import render_markdown


def render(site: Site) -> tuple[str, str]:
    here = site.layout.coverage
    text = render_markdown(
        "coverage.md.j2",
        site=site,
        cov=site.coverage,
        summary=summary(site.coverage) if site.coverage is not None else "",
        release=site.release,
    )
    return here, text
