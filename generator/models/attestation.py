"""Manual evidence: a person attests a statement for a period."""

from __future__ import annotations

import datetime as dt

from generator.models.common import ControlRef, Slug, Strict, Text


class Attestation(Strict):
    id: Slug
    statement: Text
    attested_by: Text
    date: dt.date
    expires: dt.date | None = None
    file: Text | None = None
    controls: list[ControlRef] = []
    practices: list[Slug] = []

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today
