"""`evidoc diff OLD NEW`: what changed between two instances, or two Git revisions of one.

Each side is an instance directory, or the instance in a commit of the Git repository that holds
`--root` (`REV`, or `REV:PATH` for the instance at PATH in that commit); the commit's files are
read as committed into a temporary directory and loaded exactly as `check` loads an instance.

Each side is judged as it was released: on its own newest snapshot (a revision's snapshot is the
one committed with it), verified with its own trusted keys, at its own judgement time (a
revision's commit time; for a directory what the pack uses), unless the caller gives one snapshot
or one date for both. Built-in catalogs are the installed evidoc's for both sides.

For the pack and the site, with the current side's Library and Report already at hand:

    ref = resolve_ref("v1.2", root)                        # InputError if it names nothing
    with opened(ref) as path:                              # a temporary copy, removed after
        old = load_side(ref, path)
    here = SideInfo(ref=resolve_ref(str(root), root), snapshot=report.snapshot,
                    as_of=report.as_of)
    changes = compare(old, Side(here, library, report))    # an InstanceDiff

or, loading both sides, `diff_instances(resolve_ref("v1.2", root), resolve_ref(str(root), root))`.
"""

from generator.diff.compare import Side, compare
from generator.diff.model import (
    Change,
    CheckChange,
    ControlDiff,
    EntryChange,
    EvidenceChange,
    ExclusionChange,
    FrameworkDiff,
    ImplementationChange,
    InheritedChange,
    InstanceDiff,
    InstanceRef,
    MappingChange,
    MappingSide,
    NamesChange,
    PracticeDiff,
    ProofChange,
    RefKind,
    SideInfo,
)
from generator.diff.source import diff_instances, load_side, materialise, opened, resolve_ref

__all__ = [
    "Change",
    "CheckChange",
    "ControlDiff",
    "EntryChange",
    "EvidenceChange",
    "ExclusionChange",
    "FrameworkDiff",
    "ImplementationChange",
    "InheritedChange",
    "InstanceDiff",
    "InstanceRef",
    "MappingChange",
    "MappingSide",
    "NamesChange",
    "PracticeDiff",
    "ProofChange",
    "RefKind",
    "Side",
    "SideInfo",
    "compare",
    "diff_instances",
    "load_side",
    "materialise",
    "opened",
    "resolve_ref",
]
