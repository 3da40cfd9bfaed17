"""Resolve docs-page tags to controls through each framework's tag grammar."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from generator.tag_grammar import MAX_TAG_CHARS, Template, fill_template

if TYPE_CHECKING:
    from generator.library import Library

# Pages copied between encodings show "§" as "ยง" (TIS-620) or "Â§" (Latin-1).
_MOJIBAKE = {"ยง": "§", "Â§": "§"}
_DEPRECATED = re.compile(r"^\[deprecated\]\s*", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


class TagKind(StrEnum):
    control = "control"
    group = "group"
    unknown_control = "unknown-control"


@dataclass(frozen=True)
class TagMatch:
    framework: str
    id: str
    kind: TagKind
    deprecated: bool = False

    @property
    def ref(self) -> str:
        return f"{self.framework}:{self.id}"


def normalise(tag: str) -> tuple[str, bool]:
    """The tag as the grammars see it, and whether it was marked deprecated."""
    text = unicodedata.normalize("NFC", tag)
    for bad, good in _MOJIBAKE.items():
        text = text.replace(bad, good)
    text = _SPACE.sub(" ", text).strip()
    stripped = _DEPRECATED.sub("", text)
    return stripped, stripped != text


class TagResolver:
    """Tries every framework's patterns in order; the first match wins."""

    def __init__(self, library: Library) -> None:
        # Patterns and templates were checked when the catalogs were loaded (see tag_grammar).
        self._rules: list[tuple[str, re.Pattern[str], Template]] = []
        self._library = library
        for fid in sorted(library.frameworks):
            for rule in library.frameworks[fid].model.tags:
                self._rules.append((fid, rule.compiled(), rule.template()))
        self._cache: dict[str, TagMatch | None] = {}

    def resolve(self, tag: str) -> TagMatch | None:
        if tag in self._cache:
            return self._cache[tag]
        text, deprecated = normalise(tag)
        found: TagMatch | None = None
        # The patterns' work is bounded for tags up to this length only; the loader refuses
        # longer tags, and a caller that did not load them gets no match rather than a hang.
        rules = self._rules if len(text) <= MAX_TAG_CHARS else []
        for fid, pattern, template in rules:
            match = pattern.search(text)
            if match is None:
                continue
            filled = fill_template(template, match.groupdict())
            if filled is None:  # a group the id needs took no part in this match
                continue
            cid = filled.strip()
            framework = self._library.frameworks[fid]
            if cid in framework.controls:
                kind = TagKind.control
            elif cid in framework.groups:
                kind = TagKind.group
            else:
                kind = TagKind.unknown_control
            found = TagMatch(fid, cid, kind, deprecated)
            break
        self._cache[tag] = found
        return found
