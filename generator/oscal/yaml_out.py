"""Framework and crosswalk YAML as evidoc's own files are written: keys in model order,
multi-line text as literal blocks, and a header that says where the file came from."""

from __future__ import annotations

import textwrap
from typing import Any

import yaml

try:  # libyaml's emitter is much faster on a 1,000-control catalog
    from yaml import CSafeDumper as _Base
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Base  # type: ignore[assignment]


class _Dumper(_Base):  # type: ignore[misc,valid-type]
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML falls back to quoting by itself when a block cannot hold the text exactly.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(data: dict[str, Any], schema: str, header: list[str]) -> str:
    """DATA as YAML, led by the editor's schema line (as in the shipped files) and HEADER."""
    lines = [f"# yaml-language-server: $schema=../../schemas/{schema}.schema.json"]
    lines += [f"# {part}" for line in header for part in textwrap.wrap(line, 98)]
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2)
    return "\n".join(lines) + "\n" + body
