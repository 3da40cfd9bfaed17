"""The document an attestation rests on: its file's SHA-256, compared with the one declared."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from generator.models import Document

MAX_DOCUMENT_BYTES = 512 * 1024 * 1024


class DocumentState(StrEnum):
    verified = "verified"  # the file's SHA-256 is the one declared
    altered = "altered"  # the file's SHA-256 is not the one declared
    missing = "missing"  # the file is named but absent, unreadable or outside the instance
    recorded = "recorded"  # the file is there, no SHA-256 is declared: its hash is shown
    no_file = "no-file"  # no file is attached


@dataclass(frozen=True)
class DocumentCheck:
    document: Document
    state: DocumentState
    sha256: str | None  # of the file as it is now

    @property
    def text(self) -> str:
        """One line for the site and the pack."""
        d = self.document
        line = (
            f"document {d.id} version {d.version}, approved by {d.approved_by}, "
            f"reviewed {d.review_date.isoformat()}"
        )
        if d.file is None:
            return line
        what = {
            DocumentState.verified: f"sha256:{self.sha256} (matches the declared hash)",
            DocumentState.recorded: f"sha256:{self.sha256} (no hash declared)",
            DocumentState.altered: (
                f"sha256:{self.sha256} does NOT match the declared sha256:{d.sha256}"
            ),
            DocumentState.missing: "not found in the instance",
        }[self.state]
        return f"{line}; file {d.file} {what}"


def _digest(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            return None
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None


def check_document(root: Path, document: Document) -> DocumentCheck:
    """The file is read only inside the instance root (no link may lead out of it)."""
    if document.file is None:
        return DocumentCheck(document, DocumentState.no_file, None)
    base = Path(root).resolve()
    path = (base / document.file).resolve()
    digest = _digest(path) if path.is_relative_to(base) and path.is_file() else None
    if digest is None:
        return DocumentCheck(document, DocumentState.missing, None)
    if document.sha256 is None:
        return DocumentCheck(document, DocumentState.recorded, digest)
    state = DocumentState.verified if digest == document.sha256 else DocumentState.altered
    return DocumentCheck(document, state, digest)
