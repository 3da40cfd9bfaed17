"""What `evidoc diff` reports: plain, frozen, JSON-serialisable values in a fixed order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from generator.implementation import Implementation
from generator.models import Exclusion, Inherited, Relationship
from generator.results import SnapshotInfo
from generator.status import Status


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class RefKind(StrEnum):
    directory = "directory"
    revision = "revision"


class InstanceRef(_Frozen):
    """One side of a diff as given and resolved: an instance directory, or the instance in a
    commit of a Git repository."""

    argument: str  # as given, e.g. "examples/partial", "v1.2", "HEAD~3:compliance"
    kind: RefKind
    path: str | None = None  # the directory (kind directory)
    # The top of the Git work tree (kind revision); where it was checked out is not part of
    # what changed, so it is left out of the JSON and the same inputs give the same bytes.
    repository: str | None = Field(default=None, exclude=True)
    revision: str | None = None  # as given, without a ":PATH" part
    commit: str | None = None  # the full commit id it resolved to
    instance_path: str = ""  # the instance's directory in that commit ("" is the top)
    committed_at: dt.datetime | None = None  # the commit's committer time

    @property
    def label(self) -> str:
        if self.kind is RefKind.directory:
            return f"directory {self.path}"
        where = f", instance at {self.instance_path}/" if self.instance_path else ""
        return f"{self.revision} (commit {(self.commit or '')[:12]}{where})"


class SideInfo(_Frozen):
    """A side as it was judged: which snapshot, on which date."""

    ref: InstanceRef
    snapshot: SnapshotInfo | None = None
    as_of: dt.date


class Change(StrEnum):
    added = "added"
    removed = "removed"
    changed = "changed"


class EvidenceChange(_Frozen):
    """The evidence status before and after, each with its reason; None on a side where the
    control is not in scope."""

    before: Status | None = None
    after: Status | None = None
    before_reason: str = ""
    after_reason: str = ""


class ImplementationChange(_Frozen):
    """The implementation status (the Statement of Applicability's) before and after."""

    before: Implementation | None = None
    after: Implementation | None = None
    before_reason: str = ""
    after_reason: str = ""


class MappingSide(_Frozen):
    relationship: Relationship
    proven_by: list[str] = []


class MappingChange(_Frozen):
    """A practice that maps the control on one side only, or with another relationship."""

    practice: str
    title: str
    change: Change
    before: MappingSide | None = None
    after: MappingSide | None = None


class ProofChange(_Frozen):
    """The `proven_by` of a mapping present on both sides, when it differs."""

    practice: str
    before: list[str]
    after: list[str]
    added: list[str]
    removed: list[str]


class NamesChange(_Frozen):
    added: list[str] = []
    removed: list[str] = []


class EntryChange(StrEnum):
    added = "added"
    removed = "removed"
    expired = "expired"  # still in scope.yaml, but past its `expires:` date
    changed = "changed"


class ExclusionChange(_Frozen):
    change: EntryChange
    before: Exclusion | None = None
    after: Exclusion | None = None
    fields: list[str] = []  # for `changed`: which keys differ


class InheritedChange(_Frozen):
    change: EntryChange
    before: Inherited | None = None
    after: Inherited | None = None
    fields: list[str] = []


class ControlDiff(_Frozen):
    """One control in scope on either side whose comparison found something. `added` and
    `removed` are controls that came into or left a catalog in scope on both sides."""

    framework: str
    id: str
    title: str
    change: Change
    evidence: EvidenceChange | None = None
    implementation: ImplementationChange | None = None
    mapping: list[MappingChange] = []
    proof: list[ProofChange] = []
    pages: NamesChange | None = None
    attestations: NamesChange | None = None
    exclusion: ExclusionChange | None = None
    inherited: InheritedChange | None = None

    @property
    def ref(self) -> str:
        return f"{self.framework}:{self.id}"


class FrameworkDiff(_Frozen):
    """A framework in scope on either side. One that was added to or removed from the scope
    lists no controls: its totals say what came or went."""

    id: str
    title: str
    change: Change
    controls_before: int = 0
    controls_after: int = 0
    totals_before: dict[Status, int] = {}
    totals_after: dict[Status, int] = {}
    implementation_before: dict[Implementation, int] = {}
    implementation_after: dict[Implementation, int] = {}
    controls: list[ControlDiff] = []


class CheckChange(_Frozen):
    """A check of a practice, named as `proven_by` names it (its `name:`, else its id)."""

    key: str
    check: str  # the built-in check's id
    change: Change
    before: dict[str, Any] | None = None  # its `with:` parameters
    after: dict[str, Any] | None = None


class PracticeDiff(_Frozen):
    id: str
    title: str
    change: Change
    checks: list[CheckChange] = []


class InstanceDiff(_Frozen):
    """Everything that differs between two instances, OLD to NEW, in a fixed order: frameworks
    in NEW's scope order and then those only OLD had, controls in catalog order, practices and
    checks by id."""

    old: SideInfo
    new: SideInfo
    # "own": each side judged on its own newest snapshot; "shared": both on one --snapshot.
    evidence: str = "own"
    frameworks: list[FrameworkDiff] = []
    practices: list[PracticeDiff] = []

    @property
    def differences(self) -> bool:
        return bool(self.frameworks or self.practices)

    def controls(self) -> Iterator[ControlDiff]:
        for fw in self.frameworks:
            yield from fw.controls

    def as_json(self) -> dict[str, Any]:
        return {"differences": self.differences, **self.model_dump(mode="json")}
