"""What is in scope: exclusions (not applicable), inherited controls (implemented by a provider)
and explicit implementation entries (planned, alternative)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

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


class Scope(Strict):
    organisation: Text | None = None
    audit_period: Text | None = None
    frameworks: list[Slug] = []
    exclusions: list[Exclusion] = []
    inherited: list[Inherited] = []
    implementation: list[ImplementationEntry] = []
