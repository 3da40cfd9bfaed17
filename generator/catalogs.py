"""What evidoc ships besides its code: the control catalogs (built in: usable by every instance
without copying) and the starter practices (a library an instance adopts one by one with
`evidoc init --practice ID`).

Both are package data, read through importlib.resources: `generator/catalogs` is a link to the
shipped instance's `controls/frameworks/` and `generator/starters` to its `controls/practices/`,
so the wheel carries them (pyproject.toml package-data) and the repository keeps one copy.

An instance file `controls/frameworks/ID.yaml` whose `id` is ID overrides the built-in catalog
ID. A built-in catalog is loaded for an instance only when the instance uses it: in scope, or
referenced by a practice, crosswalk, attestation or scope entry (generator/loader.py). A docs tag
therefore resolves only through catalogs the instance has or uses.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

from generator.resources import PACKAGE, MissingResource

CATALOGS = "catalogs"
STARTERS = "starters"
# How findings and errors name a built-in catalog's file: not a path in the instance.
BUILTIN_PREFIX = "evidoc:catalogs/"


def _folder(name: str) -> Traversable:
    folder = files(PACKAGE) / name
    if not folder.is_dir():
        raise MissingResource(f"the directory {name}/")
    return folder


def _yaml(folder: Traversable) -> dict[str, Traversable]:
    return {
        p.name.rsplit(".", 1)[0]: p
        for p in folder.iterdir()
        if p.name.endswith((".yaml", ".yml")) and p.is_file()
    }


def builtin_catalogs() -> dict[str, Traversable]:
    """The built-in catalogs by id (each file is named after its catalog's id), sorted."""
    return dict(sorted(_yaml(_folder(CATALOGS)).items()))


def builtin_display(ident: str) -> str:
    return f"{BUILTIN_PREFIX}{ident}.yaml"


def is_builtin(file: str | None) -> bool:
    return bool(file) and str(file).startswith(BUILTIN_PREFIX)


def starters() -> dict[str, Traversable]:
    """The starter practices by id, sorted."""
    return dict(sorted(_yaml(_folder(STARTERS)).items()))
