"""Manual evidence: a person attests a statement for a period."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from generator.models.common import ControlRef, Slug, Strict, Text

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Document(Strict):
    """The controlled document an attestation rests on (a policy, a procedure, a report)."""

    id: Annotated[Text, Field(description="the document's identifier, e.g. ISP-001")]
    version: Annotated[Text, Field(description='its version, e.g. "4.0" (quote it)')]
    approved_by: Text
    review_date: Annotated[dt.date, Field(description="when it was last reviewed")]
    file: (
        Annotated[Text, Field(description="the document itself, relative to the instance root")]
        | None
    ) = None
    sha256: (
        Annotated[
            Sha256,
            Field(description="SHA-256 of `file` (lowercase hex); the gate fails if it differs"),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _hash_needs_file(self) -> Document:
        if self.sha256 is not None and self.file is None:
            raise ValueError("'sha256:' is the hash of 'file:'; name the file")
        return self


class Attestation(Strict):
    id: Slug
    statement: Text
    attested_by: Text
    date: dt.date
    expires: dt.date | None = None
    file: Text | None = None
    document: Document | None = None
    controls: list[ControlRef] = []
    practices: list[Slug] = []

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today
