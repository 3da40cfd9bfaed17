"""The MkDocs child of `evidoc build`, started before the build directory exists.

    python -c "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')" \
        PATH/TO/warm.py CONFIG_FILE         (in the instance root; see generator/site/build.py)

It runs as a file, not as `generator.site.warm`: the instance root is the current directory and so
first on sys.path, as in `python -m mkdocs`, and may hold a package of its own called generator.

While evidoc generates the pages on one core, this process uses the other: it imports MkDocs,
Material, Python-Markdown and the Markdown extensions and plugins the instance's mkdocs.yml names,
and compiles the theme's templates. Then it waits for one line on standard input (the snapshot's
time as SOURCE_DATE_EPOCH, or "-"; an empty line means "do not build") and runs
`mkdocs build --strict` on CONFIG_FILE.

Compiled templates are kept in memory and between runs (generator/site/jinja_cache.py) and used
only for the same source and an identical Jinja environment; otherwise MkDocs compiles them
itself, as it always does. Everything done before the line arrives is an optimisation: it stops as
soon as the line is there, and any error in it is ignored (the build reports its own).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import select
import sys
from collections import deque
from pathlib import Path
from typing import Any

import jinja2
import mkdocs.__main__
import mkdocs.plugins
import mkdocs.theme

# What every build imports, whatever the instance's mkdocs.yml says; evidoc always adds the search
# and tags plugins and these Markdown extensions (generator/site/config.py).
PRELOAD = (
    "markdown",
    "markdown.extensions.attr_list",
    "markdown.extensions.md_in_html",
    "markdown.extensions.tables",
    "markdown.extensions.toc",
    "mkdocs.commands.build",
    "mkdocs.config.defaults",
    "mkdocs.contrib.search",
    "mkdocs.structure.pages",
    "material.plugins.search.plugin",
    "material.plugins.tags.plugin",
)

# The template every page is rendered with; what it includes, and the theme's static templates
# (404.html, sitemap.xml), are found by walking them.
ENTRY_TEMPLATES = ("main.html",)
MAX_TEMPLATES = 200


def _load_cache_module() -> Any:
    """generator/site/jinja_cache.py, by its path (see above why not as generator.site...)."""
    spec = importlib.util.spec_from_file_location(
        "evidoc_jinja_cache", Path(__file__).with_name("jinja_cache.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def line_waiting() -> bool:
    try:
        return bool(select.select([sys.stdin], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def base_config() -> dict[str, Any]:
    """The instance's own mkdocs.yml (the current directory is the instance root), read as
    MkDocs reads it; {} when there is none."""
    from mkdocs.utils.yaml import yaml_load

    path = Path("mkdocs.yml")
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        data = yaml_load(f)
    return data if isinstance(data, dict) else {}


def _names(entries: Any) -> list[str]:
    if isinstance(entries, dict):
        return [str(k) for k in entries]
    out = []
    for entry in entries or []:
        if isinstance(entry, str):
            out.append(entry)
        elif isinstance(entry, dict) and len(entry) == 1:
            out.append(str(next(iter(entry))))
    return out


def _import(module: str) -> bool:
    try:
        importlib.import_module(module)
    except Exception:
        return False
    return True


def import_extensions_and_plugins(cfg: dict[str, Any]) -> None:
    """Import what the build will import first thing: nothing is instantiated or configured."""
    for name in _names(cfg.get("markdown_extensions")):
        module = name.partition(":")[0]
        _import(module) or _import(f"markdown.extensions.{module}")
    installed = mkdocs.plugins.get_plugins()
    for name in _names(cfg.get("plugins")):
        entry = installed.get(name)
        if entry is not None:
            with contextlib.suppress(Exception):
                entry.load()


def theme(cfg: dict[str, Any]) -> mkdocs.theme.Theme | None:
    """The theme as MkDocs will make it from the derived configuration, whose `custom_dir` is
    the instance's, made absolute (generator/site/config.py)."""
    options = cfg.get("theme") or {"name": "material"}  # evidoc's default, as in config.py
    if isinstance(options, str):
        options = {"name": options}
    if not isinstance(options, dict) or not isinstance(options.get("name"), str):
        return None
    options = dict(options)
    if isinstance(options.get("custom_dir"), str):
        options["custom_dir"] = str(Path(options["custom_dir"]).resolve())
    return mkdocs.theme.Theme(**options)


def warm(cache: Any) -> None:
    for module in PRELOAD:
        _import(module)
    if line_waiting():
        return
    cfg = base_config()
    if line_waiting():
        return
    import_extensions_and_plugins(cfg)
    site_theme = theme(cfg)
    if site_theme is None:
        return
    env = site_theme.get_env()
    entries = [*ENTRY_TEMPLATES, *sorted(site_theme.static_templates)]
    queue, seen = deque(dict.fromkeys(entries)), set(entries)
    while queue and len(seen) <= MAX_TEMPLATES and not line_waiting():
        name = queue.popleft()
        try:
            names = cache.compile_ahead(env, name)
        except Exception:
            continue  # missing, or needs what only the build adds (a plugin's filter)
        for n in names:
            if n not in seen:
                seen.add(n)
                queue.append(n)


def use_cache(cache: Any) -> None:
    """Every theme environment MkDocs makes from now on looks in the cache first."""
    make_env = mkdocs.theme.Theme.get_env

    def get_env(self: mkdocs.theme.Theme) -> jinja2.Environment:
        env = make_env(self)
        env.bytecode_cache = cache
        return env

    mkdocs.theme.Theme.get_env = get_env  # type: ignore[method-assign]


def main(config_file: str) -> None:
    cache = None
    try:
        jinja_cache = _load_cache_module()
        cache = jinja_cache.TemplateCache(jinja_cache.cache_dir())
        warm(cache)
    except Exception:
        pass
    line = sys.stdin.readline().strip()
    if not line:
        sys.exit(3)
    if line != "-":
        os.environ["SOURCE_DATE_EPOCH"] = line
    if cache is not None:
        use_cache(cache)
    sys.argv = ["mkdocs", "build", "--strict", "--config-file", config_file]
    mkdocs.__main__.cli()


if __name__ == "__main__":
    main(sys.argv[-1])
