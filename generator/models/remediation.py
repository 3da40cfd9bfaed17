"""A remediation plan for findings of the register (controls/remediations/*.yaml): which check
results it covers, and either an action (what, who, by when) or a risk acceptance (who accepted
it, until when). A credential that leaked is an incident: `incident:` says which must be rotated."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, model_validator

from generator.models.common import Slug, Strict, Text

IncidentRef = Annotated[Text, Field(description="the incident record, e.g. INC-2026-031")]
Owner = Annotated[Text, Field(description="who does it (default: the practice's owner)")]


class Covers(Strict):
    """Which register rows a remediation covers: a check (as the practice names it in
    `proven_by`: its `name:` or its id), optionally of one practice and one subject."""

    check: Annotated[Text, Field(description="the check as proven_by names it (name or id)")]
    practice: (
        Annotated[Slug, Field(description="the practice that runs it; omitted: any practice")]
        | None
    ) = None
    subject: (
        Annotated[
            Text,
            Field(
                description="the result's subject, e.g. a commit or an object; omitted: every "
                "subject of the check"
            ),
        ]
        | None
    ) = None

    def matches(self, practice: str, key: str, check: str, subject: str) -> bool:
        return (
            self.check in (key, check)
            and (self.practice is None or self.practice == practice)
            and (self.subject is None or self.subject == subject)
        )


class Incident(Strict):
    """The finding is a security incident, e.g. a production secret found outside production."""

    reference: IncidentRef | None = None
    rotate: Annotated[
        list[Text], Field(description="credentials exposed that must be rotated (never values)")
    ] = []
    note: Text | None = None


class Acceptance(Strict):
    """The risk is accepted instead of (or until) remediated; an expired acceptance is none."""

    risk: Annotated[Text, Field(description="what is accepted and why")]
    approved_by: Text
    expires: Annotated[dt.date, Field(description="when the acceptance must be renewed")]

    def expired(self, today: dt.date) -> bool:
        return self.expires < today


class Remediation(Strict):
    id: Slug
    title: Text | None = None
    covers: Annotated[list[Covers], Field(min_length=1)]
    action: Annotated[Text, Field(description="what will be done")] | None = None
    owner: Owner | None = None
    due: Annotated[dt.date, Field(description="when the action is due")] | None = None
    acceptance: Acceptance | None = None
    incident: Incident | None = None

    @model_validator(mode="after")
    def _complete(self) -> Remediation:
        if self.action is None and self.acceptance is None:
            raise ValueError(
                "a remediation needs 'action:' (with 'due:') or 'acceptance:' (risk, "
                "approved_by, expires)"
            )
        if self.action is not None and self.due is None:
            raise ValueError("an action needs 'due: YYYY-MM-DD'")
        if self.action is None and (self.due is not None or self.owner is not None):
            raise ValueError("'due:' and 'owner:' belong to an 'action:'")
        return self
