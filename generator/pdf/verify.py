"""`evidoc verify PACK.pdf`: the embedded manifest and files, checked like a snapshot directory.

An auditor needs only the PDF: the manifest, its signature (when there is one) and every
evidence item are embedded as associated files under their snapshot paths.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from pydantic import ValidationError

from generator.errors import InputError
from generator.snapshot.manifest import MANIFEST, SIGNATURE, Manifest
from generator.snapshot.verify import verify_files

_PRINTED = re.compile(r"manifest-sha256:([0-9a-f]{64})")
# The cover prints the digest; text extraction may break it across lines, so hex runs are joined.
_COVER = re.compile(r"sha256:\s*((?:[0-9a-f]\s*){64})")


def read_attachments(path: Path) -> tuple[dict[str, bytes], list[str], str, str]:
    """Every embedded file by name, the problems met reading them, the PDF keywords and the
    text of the cover page."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        head = path.read_bytes()[:1024]
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    if b"%PDF-" not in head:
        raise InputError(path, "not a PDF file (expected an audit pack or a snapshot directory)")
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    files: dict[str, bytes] = {}
    problems: list[str] = []
    try:
        reader = PdfReader(path, strict=False)
        entries = list(reader.attachment_list)
        info = reader.metadata
        keywords = str(info.get("/Keywords", "")) if info else ""
        cover = reader.pages[0].extract_text() if reader.pages else ""
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return {}, [f"the PDF cannot be read ({exc}); it was damaged or altered"], "", ""
    for entry in entries:
        name = entry.name
        try:
            data = entry.content
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
            problems.append(f"{name}: embedded file cannot be read ({exc}); altered")
            continue
        if name in files:
            problems.append(f"{name}: embedded twice")
            continue
        files[name] = data
    return files, problems, keywords, cover


def verify_pack(path: Path, trusted_key: bytes | None = None) -> list[str]:
    """Problems found, one line each; empty when the pack's evidence is intact."""
    files, problems, keywords, cover = read_attachments(path)
    raw = files.pop(MANIFEST, None)
    if raw is None:
        if not files and not problems:
            return [f"{MANIFEST}: not embedded; this pack carries no evidence to verify"]
        return [*problems, f"{MANIFEST}: not embedded (removed)"]
    try:
        manifest = Manifest.model_validate_json(raw)
    except ValidationError:
        return [*problems, f"{MANIFEST}: not a valid evidoc manifest (altered)"]
    signature = files.pop(SIGNATURE, None)
    problems += verify_files(manifest, files, signature, trusted_key)
    # The pages are bound to the evidence by the digest they were printed from: without it, an
    # intact manifest proves nothing about the pages, so its absence fails, never skips.
    printed = _PRINTED.search(keywords)
    if printed is None:
        problems.append(
            f"{MANIFEST}: the pack does not record the manifest digest it was printed from "
            "(its /Keywords were removed or altered), so its pages cannot be tied to the evidence"
        )
    elif printed.group(1) != manifest.digest:
        problems.append(
            f"{MANIFEST}: digest {manifest.digest} is not the one the pack was printed with "
            f"({printed.group(1)}); the manifest was replaced"
        )
    on_cover = [re.sub(r"\s", "", m) for m in _COVER.findall(cover)]
    if not on_cover:
        problems.append("the cover does not show the manifest digest; the pages were altered")
    elif on_cover[0] != manifest.digest:
        problems.append(
            f"the cover shows manifest digest {on_cover[0]}, not the embedded {manifest.digest}; "
            "the pages and the evidence do not belong together"
        )
    return problems
