"""Turn parsed YAML into a pydantic model, mapping validation errors to file, line and column."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from generator.errors import InputErrors
from generator.yamlio import Marks

M = TypeVar("M", bound=BaseModel)


def _expected_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at `loc`, walking nested models and lists of models."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields:
            return []
        field = next(
            (f for name, f in fields.items() if (f.alias or name) == part),
            None,
        )
        if field is None:
            return []
        current = _inner_model(field.annotation)
        if current is None:
            return []
    fields = getattr(current, "model_fields", {})
    return sorted((f.alias or name) for name, f in fields.items())


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _describe(model: type[BaseModel], error: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    where = ".".join(str(p) for p in loc) or "document"
    if kind == "extra_forbidden":
        allowed = _expected_keys(model, loc)
        hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
        return f"unknown key '{loc[-1]}'{hint}"
    if kind == "missing":
        return f"missing required key '{loc[-1]}'" + (
            f" in {'.'.join(str(p) for p in loc[:-1])}" if len(loc) > 1 else ""
        )
    got = error.get("input")
    shown = repr(got) if not isinstance(got, dict | list) else type(got).__name__
    if len(shown) > 60:
        shown = shown[:57] + "..."
    message = f"{where}: {error['msg'].rstrip('.')} (found {shown})"
    if kind == "string_type" and isinstance(got, int | float):
        message += '; quote it, e.g. "8.10", so YAML keeps it as text'
    return message


def validate(model: type[M], data: Any, marks: Marks) -> M:
    """Validate `data` against `model`; every error is raised with its position."""
    if not isinstance(data, dict):
        kind = "nothing" if data is None else type(data).__name__
        raise marks.error((), f"expected a mapping of {model.__name__} keys, found {kind}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            marks.error(tuple(e["loc"]), _describe(model, e), key=e["type"] == "extra_forbidden")
            for e in exc.errors(include_url=False)[:MAX_REPORTED]
        ]
        raise InputErrors(errors) from None


MAX_REPORTED = 20
