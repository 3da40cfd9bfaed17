"""A framework: a catalog of controls in nested groups, with its docs-tag grammar."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from generator.models.common import ControlId, Slug, Strict, Text


class TagRule(Strict):
    """A regular expression that recognises this framework's controls in docs-page tags."""

    pattern: Annotated[str, Field(description="Python regex; its named groups build the id")]
    id: Annotated[str, Field(description="format string over the named groups")] = "{id}"

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        if not compiled.groupindex:
            raise ValueError("the pattern needs a named group, e.g. (?P<id>...)")
        return value

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern)


class Control(Strict):
    id: ControlId
    title: Text
    summary: Text | None = None
    level: (
        Annotated[str, Field(description="e.g. basic|standard|elevated, required|addressable")]
        | None
    ) = None


class Group(Strict):
    id: ControlId
    title: Text
    summary: Text | None = None
    groups: list[Group] = []
    controls: list[Control] = []


class Framework(Strict):
    id: Slug
    title: Text
    version: Text
    publisher: Text
    source: Text | None = None
    description: Text | None = None
    tags: list[TagRule] = []
    groups: list[Group] = []
    controls: list[Control] = []
