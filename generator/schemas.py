"""JSON Schemas for every YAML file kind, generated from the models, for editors."""

from __future__ import annotations

import json

from pydantic import BaseModel

from generator.models import (
    Attestation,
    Crosswalk,
    Framework,
    Practice,
    Remediation,
    Scope,
    Sources,
)

SCHEMAS: dict[str, type[BaseModel]] = {
    "framework": Framework,
    "practice": Practice,
    "crosswalk": Crosswalk,
    "scope": Scope,
    "attestation": Attestation,
    "remediation": Remediation,
    "sources": Sources,
}


def schema_text(name: str) -> str:
    """The schema of one file kind as stable, pretty JSON."""
    model = SCHEMAS[name]
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://evidoc.dev/schemas/{name}.schema.json"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def all_schemas() -> dict[str, str]:
    return {f"{name}.schema.json": schema_text(name) for name in SCHEMAS}
