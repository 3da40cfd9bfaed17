"""A framework: a catalog of controls in nested groups, with its docs-tag grammar."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from generator.models.common import ControlId, Slug, Strict, Text
from generator.tag_grammar import Template, check_pattern, parse_template


class TagRule(Strict):
    """A regular expression that recognises this framework's controls in docs-page tags."""

    # The descriptions are part of the shipped JSON Schema (schemas/): change them together.
    pattern: Annotated[str, Field(description="Python regex; its named groups build the id")]
    # Checked even when left out: the default {id} needs a group named id.
    id: Annotated[
        str, Field(description="format string over the named groups", validate_default=True)
    ] = "{id}"

    @field_validator("pattern")
    @classmethod
    def _safe(cls, value: str) -> str:
        # Raises a ValueError, which the loader reports at the pattern's file, line and column.
        check_pattern(value)
        return value

    @field_validator("id")
    @classmethod
    def _plain_fields(cls, value: str, info: ValidationInfo) -> str:
        template = parse_template(value)
        pattern = info.data.get("pattern")
        if pattern is None:  # the pattern itself was refused; that error says enough
            return value
        groups = re.compile(pattern).groupindex
        for _literal, name in template:
            if name is not None and name not in groups:
                raise ValueError(
                    f"the id template names {{{name}}}, but the pattern has no group "
                    f"(?P<{name}>...); expected one of: {', '.join(sorted(groups))}"
                )
        return value

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern)

    def template(self) -> Template:
        return parse_template(self.id)


class ExclusionRule(StrEnum):
    """Whether a scope may exclude a control."""

    allowed = "allowed"  # an exclusion with a justification is enough
    forbidden = "forbidden"  # must be implemented (by the organisation or a provider)
    decision = "decision"  # only with a documented decision and alternative measure


class Level(Strict):
    """What a control level of this catalog means for the scope (e.g. HIPAA required)."""

    exclusion: ExclusionRule = ExclusionRule.allowed
    description: Text | None = None


class Control(Strict):
    id: ControlId
    title: Text
    summary: Text | None = None
    level: (
        Annotated[str, Field(description="e.g. basic|standard|elevated, required|addressable")]
        | None
    ) = None
    exclusion: (
        Annotated[
            ExclusionRule,
            Field(
                description="whether it may be excluded; default: its level's rule, else allowed"
            ),
        ]
        | None
    ) = None
    applies_if: (
        Annotated[
            Text,
            Field(
                description="the condition the regulation itself sets; when it does not hold the "
                "control may be excluded as not applicable, whatever its exclusion rule"
            ),
        ]
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
    # Control level -> what it means for the scope, e.g. {required: {exclusion: forbidden}}.
    levels: dict[str, Level] = {}
    # The standard requires an approved Statement of Applicability (ISO/IEC 27001 6.1.3 d):
    # the gate warns while scope.yaml records no version, approver and approval date.
    soa_required: bool = False
    groups: list[Group] = []
    controls: list[Control] = []

    def exclusion_rule(self, control: Control) -> ExclusionRule:
        """Whether `control` may be excluded: its own rule, else its level's, else allowed."""
        if control.exclusion is not None:
            return control.exclusion
        level = self.levels.get(control.level) if control.level else None
        return level.exclusion if level else ExclusionRule.allowed
