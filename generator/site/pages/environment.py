"""Per environment: its clusters and application deployments, and the isolation-level matrix
between application deployments (the same matrix the audit pack prints)."""

from __future__ import annotations

from generator.pdf.isolation import LEVELS, Isolation, build_isolation
from generator.site.model import Site, relative
from generator.site.render import render_markdown


def isolation(site: Site) -> Isolation:
    return build_isolation(site.library, site.results.results)


def render_all(site: Site) -> list[tuple[str, str]]:
    iso = isolation(site)
    layout = site.layout
    here = layout.environments
    env_links = [(e, relative(here, layout.environment(e.name))) for e in iso.environments]
    out = [
        (
            here,
            render_markdown(
                "environments.md.j2",
                site=site,
                iso=iso,
                rows=list(range(len(iso.deployments))),
                env_links=env_links,
                levels=LEVELS,
                title="Environments",
                environment=None,
            ),
        )
    ]
    for env, _ in env_links:
        page = layout.environment(env.name)
        rows = [i for i, d in enumerate(iso.deployments) if d.environment == env.name]
        text = render_markdown(
            "environments.md.j2",
            site=site,
            iso=iso,
            rows=rows,
            env_links=[],
            levels=LEVELS,
            title=f"Environment {env.name}",
            environment=env,
            overview=relative(page, here),
        )
        out.append((page, text))
    return out
