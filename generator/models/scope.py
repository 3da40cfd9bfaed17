"""What is in scope, and what is excluded with a justification."""

from __future__ import annotations

import datetime as dt

from generator.models.common import ControlRef, Slug, Strict, Text


class Exclusion(Strict):
    control: ControlRef
    justification: Text
    approved_by: Text
    expires: dt.date | None = None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today


class Scope(Strict):
    organisation: Text | None = None
    audit_period: Text | None = None
    frameworks: list[Slug] = []
    exclusions: list[Exclusion] = []
