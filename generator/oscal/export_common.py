"""What every export shares: the instance it reads, its timestamp, metadata, props, JSON."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import __version__
from generator.library import Library, LoadedFramework
from generator.loader import load_library
from generator.oscal import OSCAL_VERSION
from generator.oscal.ids import NS, one_line, timestamp, to_token, uuid_factory
from generator.pipeline import find_snapshot, judgement_time, trusted
from generator.snapshot.store import Snapshot


@dataclass
class Instance:
    root: Path
    library: Library
    snapshot: Snapshot | None
    at: dt.datetime  # the documents' timestamp: when the snapshot was taken

    def __post_init__(self) -> None:
        # A UUID derived from ids, within this organisation's documents.
        self.uuid: Callable[..., str] = uuid_factory(self.organisation)

    @property
    def organisation(self) -> str:
        scope = self.library.scope
        return scope.model.organisation if scope and scope.model.organisation else ""


def load_instance(root: Path, snapshot: Path | None, public_keys: Sequence[Path]) -> Instance:
    """The library and its (verified) snapshot. Timestamps come from the snapshot; without one,
    from SOURCE_DATE_EPOCH or the instance's last commit, never from the clock when either
    exists, so the same inputs give the same bytes."""
    library = load_library(root)
    snap = find_snapshot(root, snapshot, trusted(library, public_keys))
    at = snap.created_at if snap is not None else judgement_time(root, None)
    return Instance(root=root, library=library, snapshot=snap, at=at)


def prop(name: str, value: str, *, group: str | None = None) -> dict[str, str]:
    """One of evidoc's props (in its namespace); values are one line, as OSCAL requires."""
    out = {"name": name, "ns": NS, "value": one_line(value) or "-"}
    if group is not None:
        out["group"] = to_token(group)
    return out


def metadata(title: str, at: dt.datetime, digest: str) -> dict[str, Any]:
    """Document metadata. The version is a digest of the document's content, so it changes
    exactly when the content does (OSCAL asks the version to tell revisions apart)."""
    return {
        "title": one_line(title),
        "last-modified": timestamp(at),
        "version": f"sha256-{digest[:16]}",
        "oscal-version": OSCAL_VERSION,
        "props": [prop("generator", f"evidoc {__version__}")],
    }


def document(key: str, doc_uuid: str, title: str, at: dt.datetime, body: dict[str, Any]) -> bytes:
    """The whole document as OSCAL JSON: uuid and metadata first, then BODY's keys in order.
    The body is written first, so that its digest (the version) costs no second encoding."""
    tail: list[str] = []
    for k, v in body.items():
        tail.append(",\n    " + _compact(k) + ": ")
        _dump(v, 2, tail, k in _ONE_PER_LINE)
    rest = "".join(tail)
    digest = hashlib.sha256(rest.encode("utf-8")).hexdigest()
    head = [f'{{\n  {_compact(key)}: {{\n    "uuid": {_compact(doc_uuid)},\n    "metadata": ']
    _dump(metadata(title, at, digest), 2, head, False)
    return ("".join(head) + rest + "\n  }\n}\n").encode("utf-8")


# Lists whose items are written one per line: a finding, an observation, a resource, a map is
# then one line of the file (diffs stay readable), and those items, the bulk of a document, are
# encoded by json's C encoder. json.dumps with indent= runs in pure Python: 10,000 findings took
# seconds that way.
_ONE_PER_LINE = {
    "observations",
    "findings",
    "resources",
    "implemented-requirements",
    "maps",
    "include-controls",
    "props",
}
_compact = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def _dump(value: Any, level: int, out: list[str], one_per_line: bool) -> None:
    pad = "\n" + "  " * (level + 1)
    if isinstance(value, dict) and value:
        out.append("{")
        for n, (k, v) in enumerate(value.items()):
            out.append(("," if n else "") + pad + _compact(k) + ": ")
            _dump(v, level + 1, out, k in _ONE_PER_LINE)
        out.append("\n" + "  " * level + "}")
    elif isinstance(value, list) and value and (one_per_line or not _scalars(value)):
        out.append("[")
        for n, item in enumerate(value):
            out.append(("," if n else "") + pad)
            if one_per_line:
                out.append(_compact(item))
            else:
                _dump(item, level + 1, out, False)
        out.append("\n" + "  " * level + "]")
    else:
        out.append(_compact(value))


def _scalars(items: list[Any]) -> bool:
    return not any(isinstance(x, dict | list) for x in items)


def framework_resource(instance: Instance, fid: str) -> dict[str, Any]:
    """A back-matter resource standing for one evidoc framework (catalog): imports and control
    implementations refer to it as '#uuid', as OSCAL profiles do."""
    loaded: LoadedFramework | None = instance.library.frameworks.get(fid)
    resource: dict[str, Any] = {"uuid": instance.uuid("framework", fid)}
    props = [prop("framework", fid)]
    if loaded is None:
        resource["title"] = fid
    else:
        model = loaded.model
        resource["title"] = one_line(model.title)
        props += [prop("framework-version", model.version), prop("publisher", model.publisher)]
        if model.description:
            resource["description"] = model.description
        url = model.source or ""
        if urllib.parse.urlsplit(url).scheme in ("http", "https") and len(url.split()) == 1:
            resource["rlinks"] = [{"href": url}]
    resource["props"] = props
    return resource
