"""The findings register: one row per failing or unusable proving check result, with the
controls it affects, its owner, when it was first seen and its remediation plan."""

from __future__ import annotations

from generator.register import counts
from generator.site.model import Site, relative
from generator.site.render import render_markdown


def render(site: Site) -> tuple[str, str]:
    here = site.layout.register
    rows = []
    for i, row in enumerate(site.register, start=1):
        controls = [(ref, site.control_link(here, ref)) for ref in row.controls]
        practice = (
            relative(here, site.layout.practice(row.practice))
            if row.practice in site.library.practices
            else None
        )
        rows.append((f"reg-{i}", row, practice, controls))
    text = render_markdown(
        "register.md.j2",
        site=site,
        rows=rows,
        counts=counts(site.register),
        as_of=site.report.as_of.isoformat(),
        dashboard=relative(here, site.layout.dashboard),
    )
    return here, text
