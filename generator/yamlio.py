"""Safe, bounded YAML reading that remembers where every value came from.

Values are built from the parser's event stream with an explicit stack, so deep nesting cannot
exhaust the C or Python stack, and alias expansion is counted so an anchor bomb is refused
before anything downstream walks it. Only safe_load scalar types are produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:  # the C parser is ~10x faster; fall back where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

from generator.errors import InputError

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 2_000_000

Path_ = tuple[str | int, ...]


@dataclass
class Marks:
    """Line and column (1-based) of every value, keyed by its path in the document."""

    file: str
    at: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    line_offset: int = 0

    def locate(self, path: Path_, *, key: bool = False) -> tuple[int | None, int | None]:
        """The position of the deepest known value along `path` (or of its key)."""
        if key and tuple(path) in self.keys:
            line, column = self.keys[tuple(path)]
            return line + self.line_offset, column
        for end in range(len(path), -1, -1):
            hit = self.at.get(tuple(path[:end]))
            if hit is not None:
                return hit[0] + self.line_offset, hit[1]
        return 1 + self.line_offset, 1

    def error(self, path: Path_, message: str, *, key: bool = False) -> InputError:
        line, column = self.locate(path, key=key)
        return InputError(self.file, message, line, column)


class _Constructor(yaml.constructor.SafeConstructor):
    pass


_CONSTRUCTOR = _Constructor()
_COLLECTION_TAGS = {None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_RESOLVER = yaml.resolver.Resolver()


_STR = "tag:yaml.org,2002:str"


def _scalar(event: yaml.ScalarEvent) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        if event.style:  # quoted or block scalars are always text: the hot path
            return event.value
        tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == _STR:
        return event.value
    if tag == "tag:yaml.org,2002:merge":
        raise ValueError("YAML merge keys ('<<') are not supported; repeat the values")
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    return _CONSTRUCTOR.construct_object(node, deep=True)


def read_text(path: Path, *, max_bytes: int = MAX_BYTES, what: str = "file") -> str:
    """Read a UTF-8 text file with a size limit, refusing binary content."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(path, f"cannot read {what}: {exc.strerror}") from None
    if size > max_bytes:
        raise InputError(
            path, f"{what} is {size:,} bytes; the limit is {max_bytes:,} bytes", None, None
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read {what}: {exc.strerror}") from None
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise InputError(path, f"expected a UTF-8 text {what}, found binary data (NUL byte)", line)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(
            path, f"expected UTF-8 text, found invalid byte 0x{raw[exc.start]:02x}", line, column
        ) from None


def parse_yaml(
    text: str,
    file: str,
    *,
    line_offset: int = 0,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> tuple[Any, Marks]:
    """Parse one YAML document into plain Python values plus the position of each value."""
    marks = Marks(file=file, line_offset=line_offset)
    anchors: dict[str, tuple[Any, int]] = {}
    # Each stack frame: [container, path, pending_key, node_count, anchor]
    stack: list[list[Any]] = []
    root: Any = None
    total = 0
    documents = 0

    def err(event: yaml.Event, message: str) -> InputError:
        return InputError(
            file, message, event.start_mark.line + 1 + line_offset, event.start_mark.column + 1
        )

    def place(value: Any, event: yaml.Event, size: int, key_event: bool = False) -> bool:
        """Attach a finished value to its parent; returns True if it was a mapping key."""
        nonlocal root
        if not stack:
            root = value
            return False
        frame = stack[-1]
        container, path = frame[0], frame[1]
        frame[3] += size
        if isinstance(container, list):
            container.append(value)
            return False
        if frame[2] is _NO_KEY:
            if isinstance(value, dict | list):
                raise err(event, "expected a plain key, found a mapping or list used as a key")
            if value == "<<":
                raise err(event, "YAML merge keys ('<<') are not supported; repeat the values")
            if value in container:
                raise err(event, f"duplicate key {value!r} in this mapping")
            frame[2] = value
            at = (event.start_mark.line + 1, event.start_mark.column + 1)
            marks.at[(*path, value)] = at
            marks.keys[(*path, value)] = at
            return True
        container[frame[2]] = value
        frame[2] = _NO_KEY
        return False

    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise err(event, "expected a single YAML document, found a second one")
                continue
            if isinstance(
                event, yaml.ScalarEvent | yaml.MappingStartEvent | yaml.SequenceStartEvent
            ):
                total += 1
                if total > max_nodes:
                    raise err(event, f"document has more than {max_nodes:,} values")
            if isinstance(event, yaml.ScalarEvent):
                try:
                    value = _scalar(event)
                except (ValueError, TypeError, OverflowError) as exc:
                    raise err(event, f"invalid value {event.value!r}: {exc}") from None
                except yaml.constructor.ConstructorError as exc:
                    raise err(event, f"unsupported value: {exc.problem}") from None
                if stack:
                    top = stack[-1]
                    at = (event.start_mark.line + 1, event.start_mark.column + 1)
                    if isinstance(top[0], list):
                        marks.at[(*top[1], len(top[0]))] = at
                    elif top[2] is not _NO_KEY:
                        marks.at[(*top[1], top[2])] = at
                place(value, event, 1)
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
            elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                if len(stack) >= max_depth:
                    raise err(event, f"nesting deeper than {max_depth} levels")
                if stack:
                    parent = stack[-1]
                    if isinstance(parent[0], dict):
                        if parent[2] is _NO_KEY:
                            raise err(event, "expected a plain key, found a mapping or list")
                        path = (*parent[1], parent[2])
                    else:
                        path = (*parent[1], len(parent[0]))
                else:
                    path = ()
                marks.at[path] = (event.start_mark.line + 1, event.start_mark.column + 1)
                if event.tag not in _COLLECTION_TAGS:
                    raise err(event, f"unsupported YAML tag {event.tag!r}; only plain data is read")
                container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
                stack.append([container, path, _NO_KEY, 1, event.anchor])
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                container, _path, _key, size, anchor = stack.pop()
                if anchor:
                    anchors[anchor] = (container, size)
                place(container, event, size)
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    raise err(event, f"unknown alias *{event.anchor}")
                value, size = anchors[event.anchor]
                # Count the expanded size: consumers walk aliased values once per reference.
                total += size
                if total > max_nodes:
                    raise err(event, f"aliases expand to more than {max_nodes:,} values")
                place(value, event, size)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark and _char_at(text, mark.line, mark.column) == "\t":
            problem += " (a tab; YAML is indented with spaces)"
        line = mark.line + 1 + line_offset if mark else None
        column = mark.column + 1 if mark else None
        raise InputError(file, f"YAML syntax error: {problem}", line, column) from None
    except yaml.YAMLError as exc:
        raise InputError(file, f"YAML error: {exc}") from None
    return root, marks


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    if 0 <= line < len(lines) and 0 <= column < len(lines[line]):
        return lines[line][column]
    return ""


class _NoKey:
    def __repr__(self) -> str:
        return "<no key>"


_NO_KEY: Any = _NoKey()


def load_yaml_file(path: Path, *, display: str | None = None) -> tuple[Any, Marks]:
    """Read and parse a YAML file with the size, depth and node limits."""
    text = read_text(path, what="YAML file")
    return parse_yaml(text, display or str(path))
