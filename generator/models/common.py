"""Shared model settings and field types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=128)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
ControlId = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
# A control reference everywhere: "framework:control", e.g. "iso27001-2022:8.31".
ControlRef = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*:\S.*$", max_length=256)
]


class Strict(BaseModel):
    """Unknown keys are errors; values are not silently coerced between kinds."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


def split_ref(ref: str) -> tuple[str, str]:
    framework, _, control = ref.partition(":")
    return framework, control
