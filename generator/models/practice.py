"""A practice: what the organisation does, the controls it meets and the checks that prove it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from generator.models.common import ControlRef, Slug, Strict, Text


class Relationship(StrEnum):
    equivalent = "equivalent"
    subset = "subset"
    superset = "superset"
    intersects = "intersects"


class Satisfies(Strict):
    control: ControlRef
    relationship: Relationship = Relationship.intersects
    note: Text | None = None


class CheckRef(Strict):
    id: Slug
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")

    model_config = Strict.model_config | {"populate_by_name": True}


class Practice(Strict):
    id: Slug
    title: Text
    owner: Text
    statement: Text
    satisfies: list[Satisfies] = []
    checks: list[CheckRef] = []
    docs: list[Text] = []
