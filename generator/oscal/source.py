"""Reading OSCAL JSON input: bounded, and with errors that name the file and line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from generator.errors import InputError, InputErrors
from generator.validate import validate
from generator.yamlio import Marks, parse_yaml, read_text

M = TypeVar("M", bound=BaseModel)

# NIST's full SP 800-53 catalog is ~10 MB of JSON; no catalog comes near this.
MAX_BYTES = 64 * 1024 * 1024
# Locating a value by line re-reads the file as YAML (JSON is YAML), only when there is an error.
_MAX_LOCATE_BYTES = 16 * 1024 * 1024
_MAX_LOCATE_DEPTH = 200

# Deeper than any catalog (NIST's parts nest about 10 levels); the walks after parsing recurse.
MAX_DEPTH = 100
_JSON_TYPES = {
    dict: "an empty object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}

KINDS = {
    "catalog": "catalog",
    "profile": "profile",
    "mapping-collection": "mapping collection",
}


@dataclass
class Document:
    """One OSCAL JSON file: its parsed data and the model it holds."""

    path: Path
    display: str
    text: str
    data: dict[str, Any]
    kind: str  # a key of KINDS
    _marks: Marks | None = field(default=None, repr=False)

    @property
    def body(self) -> dict[str, Any]:
        return self.data[self.kind]

    def marks(self) -> Marks | None:
        """Where each value is (by JSON path), or None when the file cannot be re-read so."""
        if self._marks is None and len(self.text) <= _MAX_LOCATE_BYTES:
            try:
                _data, self._marks = parse_yaml(
                    self.text, self.display, max_depth=_MAX_LOCATE_DEPTH
                )
            except (InputError, InputErrors, RecursionError, ValueError):
                return None
        return self._marks

    def line(self, *path: str | int) -> int | None:
        marks = self.marks()
        return marks.locate((self.kind, *path))[0] if marks is not None else None

    def error(self, message: str, *path: str | int) -> InputError:
        """An error at the value at PATH (below the model's key), e.g. ("imports", 0, "href")."""
        return InputError(self.display, message, self.line(*path) if path else None)

    def parse(self, model: type[M]) -> M:
        """The document as MODEL (a wrapper with the model's top-level key), or InputErrors
        naming the line of each problem."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            marks = self.marks()
            if marks is not None:
                validate(model, self.data, marks)  # raises with lines
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InputError(
                self.display, f"not a valid OSCAL {KINDS[self.kind]}: {where}: {first['msg']}"
            ) from None


def read_document(path: Path, display: str | None = None) -> Document:
    """Read an OSCAL JSON file; refuse what is not JSON or not a catalog, profile or mapping
    collection, with the file (and line) in the message."""
    shown = display or str(path)
    if not path.is_file():
        what = "a directory, not a file" if path.is_dir() else "no such file"
        raise InputError(shown, f"cannot read OSCAL file: {what}")
    try:
        text = read_text(path, max_bytes=MAX_BYTES, what="OSCAL file")
    except InputError as exc:
        raise InputError(shown, exc.message, exc.line, exc.column) from None
    text = text.removeprefix("\ufeff")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (evidoc reads OSCAL JSON: convert XML or YAML first)" if exc.pos == 0 else ""
        raise InputError(shown, f"not JSON: {exc.msg}{hint}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise InputError(shown, "not JSON evidoc can read: nested too deeply") from None
    if _too_deep(data):
        raise InputError(shown, f"nested more than {MAX_DEPTH} levels deep; no OSCAL document is")
    keys = sorted(k for k in data if k != "$schema") if isinstance(data, dict) else []
    if len(keys) != 1 or keys[0] not in KINDS:
        found = ", ".join(repr(k) for k in keys) if keys else _JSON_TYPES[type(data)]
        raise InputError(
            shown,
            "not an OSCAL catalog, profile or mapping collection: expected one top-level key, "
            f"'catalog', 'profile' or 'mapping-collection', found {found}",
            1,
        )
    if not isinstance(data[keys[0]], dict):
        raise InputError(shown, f"'{keys[0]}' must be a JSON object", 1)
    return Document(path=path, display=shown, text=text, data=data, kind=keys[0])


def _too_deep(data: Any) -> bool:
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
    return False
