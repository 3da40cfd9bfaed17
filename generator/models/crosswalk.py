"""Typed relationships between the controls of two frameworks."""

from __future__ import annotations

from generator.models.common import ControlId, Slug, Strict, Text
from generator.models.practice import Relationship


class CrosswalkMapping(Strict):
    source: ControlId
    target: ControlId
    relationship: Relationship
    note: Text | None = None


class Crosswalk(Strict):
    id: Slug
    title: Text
    source: Slug
    target: Slug
    mappings: list[CrosswalkMapping] = []
