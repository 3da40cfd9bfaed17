"""The built-in checks by id. Practices name them in `checks:`."""

from __future__ import annotations

from generator.checks.context import Check

CHECKS: dict[str, Check] = {}
