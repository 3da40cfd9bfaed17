"""The implementation status of a control: the Statement of Applicability's axis, next to the
evidence status (generator/status.py) and independent of it.

The evidence status says what proves a control; the implementation status says whether and how
the control is implemented, as an ISO/IEC 27001 SoA (6.1.3 d) and a HIPAA assessment (164.306(d))
ask. It is derived, first rule that applies:

1. an exclusion in force: `alternative` when it names an alternative measure (a HIPAA
   addressable specification left out by a documented decision), else `not-applicable`;
2. an `inherited:` entry in force: `inherited`, implemented by the named provider, whose evidence
   the entry references;
3. an `implementation:` entry of scope.yaml: `planned` (with its due date) or `alternative`
   (with its measure);
4. a practice mapping `equivalent` or `superset`, or an attestation naming the control itself:
   `implemented`;
5. only `subset` or `intersects` practice mappings: `partially-implemented`;
6. only docs pages that describe it: `implemented`;
7. nothing: `not-implemented` (a gap; its evidence status is `unmapped`).

Evidence results never change it: a control whose practice fails its check is `implemented` and
`failing`. Both are shown side by side.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from generator.models import Exclusion, ImplementationEntry, Inherited, Planned, Relationship

WHOLE = (Relationship.equivalent, Relationship.superset)


class Implementation(StrEnum):
    implemented = "implemented"
    partial = "partially-implemented"
    planned = "planned"
    alternative = "alternative"
    not_applicable = "not-applicable"
    inherited = "inherited"
    not_implemented = "not-implemented"

    @property
    def label(self) -> str:
        return self.value.replace("-", " ")

    @property
    def applicable(self) -> bool:
        return self is not Implementation.not_applicable


IMPLEMENTATION_ORDER = [
    Implementation.implemented,
    Implementation.partial,
    Implementation.inherited,
    Implementation.alternative,
    Implementation.planned,
    Implementation.not_implemented,
    Implementation.not_applicable,
]

IMPLEMENTATION_MEANING = {
    Implementation.implemented: "implemented by a practice that meets the whole control, "
    "attested, or described in a docs page",
    Implementation.partial: "practices meet part of the control (subset or intersects)",
    Implementation.inherited: "applicable and implemented by a named provider, whose evidence "
    "is referenced",
    Implementation.alternative: "met by a documented alternative measure",
    Implementation.planned: "applicable; its implementation is planned by a date",
    Implementation.not_implemented: "applicable and not implemented: a gap",
    Implementation.not_applicable: "excluded with a justification (not applicable)",
}


def _until(date: dt.date | None) -> str:
    return f", until {date.isoformat()}" if date else ""


def inherited_reason(entry: Inherited) -> str:
    return (
        f"inherited: implemented by {entry.provider}; evidence: {entry.reference} "
        f"(approved by {entry.approved_by}{_until(entry.expires)})"
    )


def implementation_status(
    relationships: list[tuple[str, Relationship]],
    pages: list[str],
    attested_by: list[str],
    exclusion: Exclusion | None,
    inherited: Inherited | None,
    entry: ImplementationEntry | None,
) -> tuple[Implementation, str]:
    """The implementation status of one control and why.

    relationships: (practice id, relationship) of every practice mapping of the control;
    attested_by: who attests the control itself (attestations naming it, not via a practice).
    Exclusions, inherited and implementation entries are those in force (not expired)."""
    if exclusion is not None:
        if exclusion.alternative:
            return Implementation.alternative, (
                f"alternative measure: {exclusion.alternative} (decision: "
                f"{exclusion.decision or 'not documented'}; approved by {exclusion.approved_by})"
            )
        return Implementation.not_applicable, exclusion.justification
    if inherited is not None:
        return Implementation.inherited, inherited_reason(inherited)
    if entry is not None:
        note = f"; {entry.note}" if entry.note else ""
        if entry.status is Planned.planned and entry.due is not None:
            return Implementation.planned, f"planned for {entry.due.isoformat()}{note}"
        return Implementation.alternative, f"alternative measure: {entry.measure}{note}"
    whole = [pid for pid, rel in relationships if rel in WHOLE]
    if whole:
        return Implementation.implemented, f"implemented by {', '.join(whole)}"
    if attested_by:
        return Implementation.implemented, f"implemented: attested by {attested_by[0]}"
    if relationships:
        names = ", ".join(f"{pid} ({rel})" for pid, rel in relationships)
        return Implementation.partial, f"partially implemented by {names}"
    if pages:
        return Implementation.implemented, f"implemented as described in {', '.join(pages)}"
    return (
        Implementation.not_implemented,
        "not implemented: applicable, and nothing implements it (a gap)",
    )
