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
    # The checks of this practice (by name, else id) that prove this control. Without them the
    # mapping carries no automated proof, however many checks the practice runs.
    proven_by: list[Slug] = []


class CheckRef(Strict):
    id: Slug
    # Tells two uses of one check apart (other parameters); `proven_by` names it by this.
    name: Slug | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")

    model_config = Strict.model_config | {"populate_by_name": True}

    @property
    def key(self) -> str:
        return self.name or self.id


class Practice(Strict):
    id: Slug
    title: Text
    owner: Text
    statement: Text
    satisfies: list[Satisfies] = []
    checks: list[CheckRef] = []
    docs: list[Text] = []
