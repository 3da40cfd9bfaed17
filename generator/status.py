"""The rules that give a control its evidence status: written once, used by every output.

Proof is declared per control: a mapping's `proven_by` names the checks of its practice that
prove that control. When in doubt a control is not verified, and its reason says why.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from generator.models import Attestation, Exclusion, Inherited, Relationship
from generator.results import CheckResult, ResultStatus, root_causes


class Status(StrEnum):
    verified = "verified"
    failing = "failing"
    no_evidence = "no-evidence"
    documented = "documented"
    excluded = "excluded"
    unmapped = "unmapped"


# Relationships under which passing proof of the practice is proof of the whole control.
WHOLE = (Relationship.equivalent, Relationship.superset)


class Proof(BaseModel):
    """One mapping's declared proof and the results of its proving checks."""

    model_config = ConfigDict(frozen=True)

    practice: str
    relationship: Relationship
    checks: list[str]  # the keys named in proven_by
    results: list[CheckResult]

    def unanswered(self) -> list[str]:
        """Proving checks without any result: unknown, not run, or silent on this instance."""
        seen = {r.key for r in self.results}
        return [key for key in self.checks if key not in seen]


def _names(proofs: list[Proof]) -> str:
    return "; ".join(f"{', '.join(p.checks)} of {p.practice} ({p.relationship})" for p in proofs)


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _first(results: list[CheckResult]) -> str:
    r = results[0]
    more = f" (and {len(results) - 1} more)" if len(results) > 1 else ""
    return f"{r.check} on {r.subject}: {r.reason}{more}"


def evidence_status(proofs: list[Proof]) -> tuple[Status, str] | None:
    """The status proving checks give, or None when no mapping declares proof."""
    proofs = [p for p in proofs if p.checks]
    if not proofs:
        return None
    results = [r for p in proofs for r in p.results]
    causes = root_causes(results)
    failed = [r for r in causes if r.status is ResultStatus.failed]
    if failed:
        return Status.failing, (
            "Not met: a check that proves this control fails "
            f"({_n(len(failed), 'failing result')}). {_first(failed)}"
        )
    unusable = causes
    if unusable:
        return (
            Status.no_evidence,
            f"Not proven: the evidence behind {_n(len(unusable), 'result')} of a proving check is "
            f"{unusable[0].status}. {_first(unusable)}",
        )
    silent = [(p.practice, key) for p in proofs for key in p.unanswered()]
    if silent:
        names = ", ".join(f"{key} of {pid}" for pid, key in silent)
        return Status.no_evidence, (f"Not proven: no result for proving check(s) {names}")
    whole = [p for p in proofs if p.relationship in WHOLE]
    if whole:
        return (
            Status.verified,
            f"Proven: every check that proves this control passes on fresh, intact evidence "
            f"({_n(len(results), 'result')}; {_names(whole)})",
        )
    return (
        Status.documented,
        f"Partly proven: the checks pass for the part of the control the practice covers "
        f"({_names(proofs)}); no check proves the whole control",
    )


def control_status(
    proofs: list[Proof],
    practices: list[str],
    pages: list[str],
    attestations: list[Attestation],
    exclusion: Exclusion | None,
    inherited: Inherited | None = None,
) -> tuple[Status, str]:
    if exclusion is not None:
        return Status.excluded, exclusion.justification
    proven = evidence_status(proofs)
    if proven is not None:
        return proven
    if practices:
        return Status.documented, f"met by {', '.join(practices)}; no check proves it"
    if pages:
        return Status.documented, f"described in {', '.join(pages)}; no check proves it"
    if attestations:
        return Status.documented, f"attested by {attestations[0].attested_by}"
    if inherited is not None:
        # Applicable and implemented by a provider: documented by the provider's evidence.
        return Status.documented, (
            f"inherited from {inherited.provider}; evidence: {inherited.reference}"
        )
    return Status.unmapped, "in scope, but neither mapped by a practice or page nor excluded"


def excluded_evidence(proofs: list[Proof]) -> tuple[Status, str] | None:
    """For an excluded control: proving checks that fail or lack evidence (never hidden)."""
    proven = evidence_status(proofs)
    if proven is not None and proven[0] in (Status.failing, Status.no_evidence):
        return proven
    return None
