"""The files evidoc reads at run time (templates and stylesheets), found inside the installed
package through importlib.resources, never by a path relative to a source tree."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

import jinja2

from generator.errors import InputError

PACKAGE = "generator"


class MissingResource(InputError):
    """evidoc's own installation lacks a file it needs: reinstalling is the fix."""

    def __init__(self, what: str) -> None:
        super().__init__(
            None,
            f"evidoc's installation is incomplete: {what} is missing from the "
            f"'{PACKAGE}' package; reinstall evidoc",
        )


def template_dir(kind: str) -> Traversable:
    """The packaged template directory KIND ('site' or 'print')."""
    folder = files(PACKAGE) / "templates" / kind
    if not folder.is_dir():
        raise MissingResource(f"the template directory templates/{kind}")
    return folder


def read(kind: str, name: str) -> bytes:
    item = template_dir(kind) / name
    if not item.is_file():
        raise MissingResource(f"templates/{kind}/{name}")
    return item.read_bytes()


def names(kind: str, suffix: str) -> list[str]:
    """The packaged files of KIND whose names end in SUFFIX, sorted."""
    return sorted(p.name for p in template_dir(kind).iterdir() if p.name.endswith(suffix))


class PackagedLoader(jinja2.BaseLoader):
    """Templates from the package; a missing one is an incomplete installation (exit 2)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, None, None]:
        source = read(self.kind, template).decode("utf-8")
        # No file name and no up-to-date check: packaged templates do not change while we run.
        return source, None, None
