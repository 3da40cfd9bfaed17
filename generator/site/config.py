"""The build's mkdocs.yml, derived from the instance's own mkdocs.yml (the user's base config:
site name, theme, palette, Markdown extensions). The derived file adds the nav, the search and
tags plugins (a tags allow-list that refuses a tag naming a control its catalog lacks), strict
link and anchor checks, the mike version provider and a footer naming the snapshot."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from markupsafe import Markup

from generator.errors import InputError

BASE = "mkdocs.yml"
DEFAULT: dict[str, Any] = {"site_name": "Compliance", "theme": {"name": "material"}}
REQUIRED_EXTENSIONS = ["attr_list", "md_in_html", "tables", "toc"]
# Keys whose value is a path relative to the base config's directory.
_PATH_KEYS = ("INHERIT",)


class _Tagged:
    """A value with a YAML tag MkDocs understands (!ENV, !relative, !!python/name:...), kept
    as it was written: it is not constructed here, only passed on to MkDocs."""

    def __init__(self, node: yaml.Node) -> None:
        self.node = node


class _Loader(yaml.SafeLoader):
    pass


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml when available: the tags allow-list of a large library has 10,000 entries."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> _Tagged:
    return _Tagged(node)


_Loader.add_multi_constructor("!", _tagged)
_Loader.add_multi_constructor("tag:yaml.org,2002:python/", _tagged)
_Dumper.add_representer(_Tagged, lambda dumper, data: data.node)
_Dumper.add_representer(Markup, lambda dumper, data: dumper.represent_str(str(data)))


def load_base(root: Path) -> dict[str, Any]:
    """ROOT/mkdocs.yml, or a minimal Material config when the instance has none."""
    path = root / BASE
    if not path.is_file():
        return copy.deepcopy(DEFAULT)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise InputError(BASE, f"invalid YAML: {exc.problem}", line, col) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(BASE, f"cannot read: {exc}") from None
    if data is None:
        return copy.deepcopy(DEFAULT)
    if not isinstance(data, dict):
        raise InputError(
            BASE, "expected a mapping of MkDocs settings (site_name, theme, ...)", 1, 1
        )
    for key in ("site_name",):
        data.setdefault(key, DEFAULT[key])
    data.setdefault("theme", copy.deepcopy(DEFAULT["theme"]))
    return data


def _plugin_names(plugins: Any) -> list[str]:
    if isinstance(plugins, dict):
        return list(plugins)
    return [p if isinstance(p, str) else next(iter(p)) for p in plugins or []]


def _set_plugin(plugins: list[Any], name: str, options: dict[str, Any]) -> list[Any]:
    """Merge `options` into plugin `name` of a plugins list, adding the plugin if missing."""
    out = []
    found = False
    for p in plugins:
        pname = p if isinstance(p, str) else next(iter(p))
        if pname == name:
            found = True
            current = {} if isinstance(p, str) else dict(p[pname] or {})
            current.update(options)
            out.append({name: current} if current else name)
        else:
            out.append(p)
    if not found:
        out.append({name: options} if options else name)
    return out


TAGS_PLUGINS = ("tags", "material/tags")


# An allow-list with one entry no page uses: Material checks tags only against a non-empty list.
_NO_TAG = "evidoc: no tag"


def _tags_plugin(plugins: list[Any], control_tags: list[str], site_tags: list[str]) -> list[Any]:
    """Material's tags plugin with an allow-list. A site that has the plugin keeps its options,
    its tag row and its listings: the allow-list is its own (if it has one) plus every tag that
    names a control, else every tag of its pages but those naming a control its catalog does
    not have. A site without it gets the plugin for the allow-list only: no tag row, no
    listings, no tags.json, as in its own build."""
    for i, p in enumerate(plugins):
        name = p if isinstance(p, str) else next(iter(p))
        if name not in TAGS_PLUGINS:
            continue
        options = {} if isinstance(p, str) else dict(p[name] or {})
        own = options.get("tags_allowed")
        if isinstance(own, list) and own:
            allowed = sorted({str(t) for t in own} | set(control_tags))
        else:
            allowed = sorted({*control_tags, *site_tags})
        options["tags_allowed"] = allowed or [_NO_TAG]
        return [*plugins[:i], {name: options}, *plugins[i + 1 :]]
    allowed = sorted({*control_tags, *site_tags})
    options: dict[str, Any] = {
        "tags": False,
        "listings": False,
        "tags_allowed": allowed or [_NO_TAG],
    }
    if _tags_option_known("export"):  # Material >= 9.7 writes tags.json unless told not to
        options["export"] = False
    return [*plugins, {"tags": options}]


def _tags_option_known(option: str) -> bool:
    """Whether the installed Material's tags plugin has OPTION (strict mode refuses unknown
    options, and the supported Material range spans versions with and without some)."""
    try:
        from material.plugins.tags.config import TagsConfig
    except ImportError:
        return False
    return any(name == option for name, _ in getattr(TagsConfig, "_schema", ()))


def _extensions(exts: Any) -> list[Any]:
    if isinstance(exts, dict):
        exts = [{k: v} if v else k for k, v in exts.items()]
    exts = list(exts or [])
    names = {e if isinstance(e, str) else next(iter(e)) for e in exts}
    for name in REQUIRED_EXTENSIONS:
        if name not in names and f"markdown.extensions.{name}" not in names:
            exts.append(name)
    return exts


NAV_SETTING = "extra.evidoc.nav"
DEFAULT_SECTION = "Compliance"


@dataclass(frozen=True)
class NavPlacement:
    """Where the generated section goes: `title` names it; `under` is the path of titles of an
    existing nav section to put it in (empty: the top level); `position` is first, last or a
    1-based position among the entries it joins."""

    title: str = DEFAULT_SECTION
    under: tuple[str, ...] = ()
    position: str | int = "last"


def _setting_error(key: str, expected: str, found: Any) -> InputError:
    return InputError(BASE, f"{NAV_SETTING}.{key}: expected {expected}, found {found!r}")


def nav_placement(base: dict[str, Any]) -> NavPlacement:
    """Read `extra: {evidoc: {nav: {title, under, position}}}` of the base mkdocs.yml."""
    extra = base.get("extra")
    evidoc = extra.get("evidoc") if isinstance(extra, dict) else None
    if evidoc is None:
        return NavPlacement()
    if not isinstance(evidoc, dict):
        raise InputError(BASE, f"extra.evidoc: expected a mapping with 'nav', found {evidoc!r}")
    unknown = sorted(set(evidoc) - {"nav"})
    if unknown:
        raise InputError(BASE, f"extra.evidoc: unknown setting {unknown[0]!r}; expected 'nav'")
    nav = evidoc.get("nav")
    if nav is None:
        return NavPlacement()
    if not isinstance(nav, dict):
        raise InputError(
            BASE, f"{NAV_SETTING}: expected a mapping of title, under, position, found {nav!r}"
        )
    unknown = sorted(set(nav) - {"title", "under", "position"})
    if unknown:
        raise InputError(
            BASE, f"{NAV_SETTING}: unknown setting {unknown[0]!r}; expected title, under, position"
        )
    title = nav.get("title", DEFAULT_SECTION)
    if not isinstance(title, str) or not title.strip():
        raise _setting_error("title", "the section's title (text)", title)
    under = nav.get("under")
    if under is None:
        path: tuple[str, ...] = ()
    elif isinstance(under, str) and under.strip():
        path = tuple(part.strip() for part in under.split("/") if part.strip())
    else:
        raise _setting_error("under", "the title of a nav section (nested: 'A/B')", under)
    position = nav.get("position", "last")
    if position not in ("first", "last") and not (
        isinstance(position, int) and not isinstance(position, bool) and position >= 1
    ):
        raise _setting_error("position", "first, last or a position from 1", position)
    return NavPlacement(title=title.strip(), under=path, position=position)


def _section_titles(entries: list[Any]) -> list[str]:
    return [
        title
        for e in entries
        if isinstance(e, dict)
        for title, value in e.items()
        if isinstance(value, list)
    ]


def place_section(nav: list[Any], compliance_nav: list[Any], base: dict[str, Any]) -> list[Any]:
    """NAV with the generated entries (one section) named and placed as the base config says."""
    placement = nav_placement(base)
    generated: list[Any] = []
    for entry in compliance_nav:
        if isinstance(entry, dict) and len(entry) == 1 and DEFAULT_SECTION in entry:
            entry = {placement.title: entry[DEFAULT_SECTION]}
        generated.append(entry)
    nav = copy.deepcopy(nav)
    siblings = nav
    walked: list[str] = []
    for title in placement.under:
        for entry in siblings:
            if isinstance(entry, dict) and title in entry and isinstance(entry[title], list):
                siblings = entry[title]
                walked.append(title)
                break
        else:
            where = f"section {'/'.join(walked)!r}" if walked else "the nav's top level"
            known = ", ".join(repr(t) for t in _section_titles(siblings)) or "none"
            raise InputError(
                BASE,
                f"{NAV_SETTING}.under: no section {title!r} in {where} (its sections: {known})",
            )
    if placement.position == "first":
        index = 0
    elif placement.position == "last":
        index = len(siblings)
    else:
        index = min(int(placement.position) - 1, len(siblings))
    siblings[index:index] = generated
    return nav


def derive(
    base: dict[str, Any],
    *,
    root: Path,
    docs_dir: Path,
    site_dir: Path,
    docs_nav: list[Any],
    compliance_nav: list[Any],
    control_tags: list[str],
    site_tags: list[str],
    footer: str,
    extra_css: list[str],
    version_provider: bool,
) -> dict[str, Any]:
    cfg = copy.deepcopy(base)
    cfg["docs_dir"] = str(docs_dir)
    cfg["site_dir"] = str(site_dir)
    cfg["strict"] = True
    # The user's nav if there is one (else every hand-written page), with the generated pages
    # placed as `extra.evidoc.nav` says (default: a last top-level section "Compliance").
    cfg["nav"] = place_section(list(cfg.get("nav") or docs_nav), compliance_nav, cfg)
    theme = cfg.get("theme")
    if isinstance(theme, str):
        theme = cfg["theme"] = {"name": theme}
    if isinstance(theme, dict) and isinstance(theme.get("custom_dir"), str):
        theme["custom_dir"] = str((root / theme["custom_dir"]).resolve())
    for key in _PATH_KEYS:
        if isinstance(cfg.get(key), str):
            cfg[key] = str((root / cfg[key]).resolve())
    if isinstance(cfg.get("hooks"), list):
        cfg["hooks"] = [
            str((root / h).resolve()) if isinstance(h, str) else h for h in cfg["hooks"]
        ]

    plugins = cfg.get("plugins")
    if isinstance(plugins, dict):
        plugins = [{k: v} if v else k for k, v in plugins.items()]
    plugins = list(plugins if plugins is not None else [])
    if "search" not in _plugin_names(plugins):
        plugins = _set_plugin(plugins, "search", {})
    cfg["plugins"] = _tags_plugin(plugins, control_tags, site_tags)

    cfg["markdown_extensions"] = _extensions(cfg.get("markdown_extensions"))
    # Strict builds then fail on a link to a missing page or anchor.
    validation = dict(cfg.get("validation") or {})
    validation.setdefault("not_found", "warn")
    validation["anchors"] = "warn"
    cfg["validation"] = validation

    cfg["extra_css"] = [*list(cfg.get("extra_css") or []), *extra_css]
    extra = dict(cfg.get("extra") or {})
    extra.pop("evidoc", None)  # evidoc's own settings, read above
    if version_provider:
        version = dict(extra.get("version") or {})
        version["provider"] = "mike"
        extra["version"] = version
    cfg["extra"] = extra
    previous = cfg.get("copyright")
    cfg["copyright"] = f"{previous}<br>{footer}" if previous else footer
    return cfg


def dump(cfg: dict[str, Any]) -> bytes:
    text = yaml.dump(cfg, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return text.encode("utf-8")
