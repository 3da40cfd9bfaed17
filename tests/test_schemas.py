"""The shipped JSON Schemas are the ones the models generate, and they validate real files."""

from __future__ import annotations

import json

from generator.schemas import all_schemas
from tests.conftest import REPO


def test_shipped_schemas_are_up_to_date() -> None:
    for name, text in all_schemas().items():
        shipped = REPO / "schemas" / name
        assert shipped.is_file(), f"schemas/{name} is missing: run `evidoc schemas`"
        assert shipped.read_text(encoding="utf-8") == text, (
            f"schemas/{name} is out of date with the models: run `evidoc schemas`"
        )


def test_schemas_forbid_unknown_keys() -> None:
    practice = json.loads(all_schemas()["practice.schema.json"])
    assert practice["additionalProperties"] is False
    assert set(practice["required"]) == {"id", "title", "owner", "statement"}
    assert "with" in practice["$defs"]["CheckRef"]["properties"]
