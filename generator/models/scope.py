"""What is in scope: exclusions (not applicable), inherited controls (implemented by a provider)
and explicit implementation entries (planned, alternative)."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from generator.models.common import ControlRef, Slug, Strict, Text


class Exclusion(Strict):
    """A control that does not apply: not applicable, with a justification and an approver."""

    control: ControlRef
    justification: Text
    approved_by: Text
    expires: dt.date | None = None
    # For a control its catalog lets one leave out only with a documented decision (HIPAA
    # addressable specifications, 45 CFR 164.306(d)(3)): why it is not reasonable and
    # appropriate, and the equivalent alternative measure taken instead.
    decision: (
        Annotated[Text, Field(description="the documented decision (HIPAA addressable specs)")]
        | None
    ) = None
    alternative: (
        Annotated[Text, Field(description="the equivalent alternative measure implemented")] | None
    ) = None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today


class Inherited(Strict):
    """A control that applies and is implemented by another party: a provider (data-centre
    operator, cloud provider) or another department (HR, corporate IT)."""

    control: ControlRef
    provider: Annotated[Text, Field(description="who implements the control")]
    reference: Annotated[
        Text,
        Field(description="their evidence: certificate, SOC 2 report, contract clause, procedure"),
    ]
    approved_by: Text
    expires: (
        Annotated[dt.date, Field(description="e.g. when the certificate or report runs out")] | None
    ) = None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today


class Planned(StrEnum):
    planned = "planned"
    alternative = "alternative"


class ImplementationEntry(Strict):
    """What the mappings cannot say: a control whose implementation is planned (with a date),
    or met by an alternative measure."""

    control: ControlRef
    status: Annotated[Planned, Field(description="planned (with due) | alternative (with measure)")]
    due: Annotated[dt.date, Field(description="when a planned implementation is due")] | None = None
    measure: (
        Annotated[Text, Field(description="the alternative measure that meets the control")] | None
    ) = None
    note: Text | None = None
    approved_by: Text | None = None

    @model_validator(mode="after")
    def _complete(self) -> ImplementationEntry:
        if self.status is Planned.planned and self.due is None:
            raise ValueError("a planned implementation needs 'due: YYYY-MM-DD'")
        if self.status is Planned.alternative and self.measure is None:
            raise ValueError("an alternative implementation needs 'measure:' naming the measure")
        return self


class AuditPeriod(Strict):
    """The period the audit covers, both days included. The Git collection follows it and the
    pack and site show the evidence of every snapshot taken in it."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> AuditPeriod:
        if self.end < self.start:
            raise ValueError("the audit period ends before it starts")
        return self

    def __str__(self) -> str:
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


_PERIOD_TEXT = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*(?:–|—|-|to|\.\.)\s*(\d{4}-\d{2}-\d{2})\s*$")


class SoaApproval(Strict):
    """The Statement of Applicability's own record (ISO/IEC 27001 6.1.3 d): its version, who
    approved it and when."""

    version: Text
    approved_by: Text
    approved_on: dt.date
    next_review: dt.date | None = None

    def overdue(self, today: dt.date) -> bool:
        """Its review date has passed: the approval no longer stands."""
        return self.next_review is not None and self.next_review < today


class Inclusion(Strict):
    """Why an applicable control is included, beyond its framework's reason: the risks or
    the legal or contractual requirements that call for it."""

    control: ControlRef
    justification: Text


class Scope(Strict):
    organisation: Text | None = None
    audit_period: (
        Annotated[
            AuditPeriod,
            Field(description="{start: YYYY-MM-DD, end: YYYY-MM-DD}, or 'YYYY-MM-DD – YYYY-MM-DD'"),
        ]
        | None
    ) = None
    statement_of_applicability: SoaApproval | None = None
    frameworks: list[Slug] = []
    # Framework id -> why it applies (the law, contract or risk that calls for it): the SoA's
    # justification for including its controls.
    applies_because: dict[Slug, Text] = {}
    inclusions: list[Inclusion] = []
    exclusions: list[Exclusion] = []
    inherited: list[Inherited] = []
    implementation: list[ImplementationEntry] = []

    @field_validator("audit_period", mode="before")
    @classmethod
    def _period_text(cls, value: object) -> object:
        # The short form people write: "2026-01-01 – 2026-12-31".
        if isinstance(value, str):
            found = _PERIOD_TEXT.match(value)
            if found is None:
                raise ValueError(
                    "expected 'YYYY-MM-DD – YYYY-MM-DD' or {start: YYYY-MM-DD, end: YYYY-MM-DD}"
                )
            return {"start": found.group(1), "end": found.group(2)}
        return value
