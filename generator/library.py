"""The loaded control library: every file's model, where it came from, and lookup indexes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel

from generator.docs_pages import DocPage
from generator.findings import Finding
from generator.models import (
    Attestation,
    Control,
    Crosswalk,
    Framework,
    Group,
    Practice,
    Remediation,
    Scope,
    Sources,
)
from generator.yamlio import Marks

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """A model with the file it came from and the position of each of its values."""

    model: M
    file: str
    marks: Marks

    def line(self, *path: str | int) -> int | None:
        return self.marks.locate(path)[0]


@dataclass(frozen=True)
class ControlEntry:
    control: Control
    group_path: tuple[str, ...]  # ids of the enclosing groups, outermost first
    yaml_path: tuple[str | int, ...]


@dataclass
class LoadedFramework:
    model: Framework
    file: str
    marks: Marks
    controls: dict[str, ControlEntry] = field(default_factory=dict)  # in catalog order
    groups: dict[str, Group] = field(default_factory=dict)

    def line_of(self, control_id: str) -> int | None:
        entry = self.controls.get(control_id)
        return self.marks.locate(entry.yaml_path)[0] if entry else None


@dataclass
class Library:
    root: Path
    docs_dir: Path
    frameworks: dict[str, LoadedFramework] = field(default_factory=dict)
    practices: dict[str, Loaded[Practice]] = field(default_factory=dict)
    crosswalks: dict[str, Loaded[Crosswalk]] = field(default_factory=dict)
    attestations: dict[str, Loaded[Attestation]] = field(default_factory=dict)
    remediations: dict[str, Loaded[Remediation]] = field(default_factory=dict)
    scope: Loaded[Scope] | None = None
    sources: Loaded[Sources] | None = None
    pages: list[DocPage] = field(default_factory=list)
    # Problems found while loading that are findings, not input errors (e.g. duplicate ids).
    findings: list[Finding] = field(default_factory=list)

    def control(self, ref: str) -> Control | None:
        framework, _, cid = ref.partition(":")
        loaded = self.frameworks.get(framework)
        entry = loaded.controls.get(cid) if loaded else None
        return entry.control if entry else None

    def in_scope(self) -> list[str]:
        """Framework ids in scope, in the order scope.yaml gives them."""
        if self.scope is None:
            return []
        return [f for f in self.scope.model.frameworks if f in self.frameworks]


def group_label(gid: str, title: str) -> str:
    """A group as readers know it: with its id when the id is a number (5, 164.308, 6 kap.),
    by its title alone when the id is only a key (BSI's basic, standard, high)."""
    return f"{gid} {title}" if any(ch.isdigit() for ch in gid) else title
