"""`evidoc verify PACK.pdf`: the embedded manifest and files, checked like a snapshot directory,
and the embedded report and pack signature, checked against the digests the pack recorded.

An auditor needs only the PDF: the manifest, its signature (when there is one) and every
evidence item are embedded as associated files under their snapshot paths; the report the pages
were printed from as report.json, and the pack's own signature (when there is one) as pack.sig.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from generator.errors import InputError
from generator.pdf.conclusions import (
    PACK_SIGNATURE,
    REPORT,
    REPORT_FORMAT,
    REPORT_KEYWORD,
    STATEMENT_FORMAT,
)
from generator.snapshot.canonical import sha256_hex
from generator.snapshot.manifest import MANIFEST, SIGNATURE, Manifest
from generator.snapshot.signing import check_statement, fingerprint, signer_key
from generator.snapshot.verify import verify_files

_PRINTED = re.compile(r"manifest-sha256:([0-9a-f]{64})")
# How the verdict lists a report's totals (as the pack's summary does).
_STATUS_ORDER = ("verified", "documented", "no-evidence", "failing", "unmapped", "excluded")
_PRINTED_REPORT = re.compile(re.escape(REPORT_KEYWORD) + r"([0-9a-f]{64})")
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


@dataclass
class PackVerdict:
    """What `evidoc verify` found: the problems (none when intact) and what was verified."""

    problems: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)


def verify_pack(path: Path, trusted_key: bytes | Sequence[bytes] | None = None) -> list[str]:
    """Problems found, one line each; empty when the pack's evidence and report are intact."""
    return check_pack(path, trusted_key).problems


def check_pack(path: Path, trusted_key: bytes | Sequence[bytes] | None = None) -> PackVerdict:
    """The evidence (manifest, items, snapshot signature), the report the pages were printed
    from and the pack signature, each against what the pack recorded (/Keywords, the cover).
    With trusted keys, both the snapshot and the pack must be signed by one of them."""
    files, problems, keywords, cover = read_attachments(path)
    trusted = [trusted_key] if isinstance(trusted_key, bytes) else list(trusted_key or ())
    verdict = PackVerdict(problems)
    report_raw = files.pop(REPORT, None)
    pack_sig = files.pop(PACK_SIGNATURE, None)
    raw = files.pop(MANIFEST, None)
    on_cover = [re.sub(r"\s", "", m) for m in _COVER.findall(cover)]
    manifest = None
    if raw is None:
        if not files and not problems:
            problems.append(f"{MANIFEST}: not embedded; this pack carries no evidence to verify")
        else:
            problems.append(f"{MANIFEST}: not embedded (removed)")
    else:
        try:
            manifest = Manifest.model_validate_json(raw)
        except ValidationError:
            problems.append(f"{MANIFEST}: not a valid evidoc manifest (altered)")
    if manifest is not None:
        _check_evidence(verdict, manifest, files, trusted, keywords, on_cover)
    report = _check_report(verdict, report_raw, manifest, keywords, on_cover)
    _check_pack_signature(verdict, pack_sig, manifest, report_raw, report, trusted)
    return verdict


def _check_evidence(
    verdict: PackVerdict,
    manifest: Manifest,
    files: dict[str, bytes],
    trusted: list[bytes],
    keywords: str,
    on_cover: list[str],
) -> None:
    problems = verdict.problems
    signature = files.pop(SIGNATURE, None)
    found = verify_files(manifest, files, signature, trusted)
    problems += found
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
    if not on_cover:
        problems.append("the cover does not show the manifest digest; the pages were altered")
    elif on_cover[0] != manifest.digest:
        problems.append(
            f"the cover shows manifest digest {on_cover[0]}, not the embedded {manifest.digest}; "
            "the pages and the evidence do not belong together"
        )
    n = len(manifest.items)
    fact = f"evidence: {n} item{'' if n == 1 else 's'}"
    fact += f" intact, manifest sha256:{manifest.digest} (snapshot {manifest.id})"
    key = signer_key(signature) if signature is not None else None
    if key is not None and not found:
        fact += f"; snapshot signature: valid, key {fingerprint(key)}"
    elif signature is None:
        fact += "; snapshot not signed"
    verdict.facts.append(fact)


def _check_report(
    verdict: PackVerdict,
    raw: bytes | None,
    manifest: Manifest | None,
    keywords: str,
    on_cover: list[str],
) -> dict[str, Any] | None:
    """The embedded report, as printed on the cover and recorded in /Keywords, and made from
    the embedded evidence. Returns it when it can be read."""
    problems = verdict.problems
    if raw is None:
        problems.append(
            f"{REPORT}: not embedded; the pack's conclusions (the status of each control) "
            "cannot be checked against the report its pages were printed from"
        )
        return None
    digest = sha256_hex(raw)
    report: dict[str, Any] | None = None
    try:
        loaded = json.loads(raw)
    except ValueError:
        loaded = None
    if isinstance(loaded, dict) and loaded.get("format") == REPORT_FORMAT:
        report = loaded
    else:
        problems.append(f"{REPORT}: not an evidoc pack report (altered)")
    printed = _PRINTED_REPORT.search(keywords)
    if printed is None:
        problems.append(
            f"{REPORT}: the pack does not record the report digest it was printed with "
            "(its /Keywords were removed or altered)"
        )
    elif printed.group(1) != digest:
        problems.append(
            f"{REPORT}: SHA-256 {digest} is not the one the pack was printed with "
            f"({printed.group(1)}); the embedded report was altered"
        )
    if digest not in on_cover:
        problems.append(
            f"the cover does not show report digest {digest}; the embedded report is not the "
            "one the pages were printed from"
        )
    if report is None:
        return None
    snapshot = report.get("snapshot")
    made_from = snapshot.get("digest") if isinstance(snapshot, dict) else None
    expected = manifest.digest if manifest is not None else None
    if manifest is not None and made_from != expected:
        problems.append(
            f"{REPORT}: made from evidence with manifest digest {made_from}, not from the "
            f"embedded {expected}"
        )
    elif manifest is None and made_from is not None:
        problems.append(f"{REPORT}: made from a snapshot ({made_from}) the pack does not embed")
    frameworks = report.get("frameworks")
    frameworks = frameworks if isinstance(frameworks, list) else []
    controls = sum(len(f.get("controls") or []) for f in frameworks if isinstance(f, dict))
    totals = report.get("totals") if isinstance(report.get("totals"), dict) else {}
    order = {s: i for i, s in enumerate(_STATUS_ORDER)}
    ranked = sorted(totals.items(), key=lambda kv: (order.get(kv[0], len(order)), str(kv[0])))
    shown = ", ".join(f"{n} {s}" for s, n in ranked if n)
    verdict.facts.append(
        f"report: {controls} control{'' if controls == 1 else 's'} in {len(frameworks)} "
        f"framework{'' if len(frameworks) == 1 else 's'}"
        + (f" ({shown})" if shown else "")
        + f", sha256:{digest}"
    )
    return report


def _check_pack_signature(
    verdict: PackVerdict,
    signature: bytes | None,
    manifest: Manifest | None,
    report_raw: bytes | None,
    report: dict[str, Any] | None,
    trusted: list[bytes],
) -> None:
    """pack.sig signs the manifest digest, the report digest and the version together."""
    problems = verdict.problems
    pack = report.get("pack") if report is not None else None
    pack = pack if isinstance(pack, dict) else {}
    recorded = pack.get("signer")
    if signature is None:
        if recorded:
            problems.append(
                f"{PACK_SIGNATURE}: missing, but the report records that the pack was signed "
                f"by {recorded} (removed)"
            )
        if trusted:
            problems.append(f"{PACK_SIGNATURE}: missing, but a trusted key was given")
        if not recorded and not trusted:
            verdict.facts.append(
                "pack not signed: the conclusions are bound to the evidence only by the "
                "recorded digests"
            )
        return
    before = len(problems)
    statement, why = check_statement(signature)
    if statement is None or why is not None:
        problems.append(f"{PACK_SIGNATURE}: {why}")
        return
    key = signer_key(signature) or b""
    who = fingerprint(key)
    if statement.get("format") != STATEMENT_FORMAT:
        problems.append(f"{PACK_SIGNATURE}: not an evidoc pack statement")
    expected = manifest.digest if manifest is not None else None
    if statement.get("manifest_sha256") != expected:
        problems.append(
            f"{PACK_SIGNATURE}: signs manifest digest {statement.get('manifest_sha256')}, not "
            f"the embedded {expected}"
        )
    digest = sha256_hex(report_raw) if report_raw is not None else None
    if statement.get("report_sha256") != digest:
        problems.append(
            f"{PACK_SIGNATURE}: signs report digest {statement.get('report_sha256')}, not the "
            f"embedded report's {digest}; the conclusions were changed after signing"
        )
    if report is not None and statement.get("version") != pack.get("version"):
        problems.append(
            f"{PACK_SIGNATURE}: signs version {statement.get('version')!r}, the report says "
            f"{pack.get('version')!r}"
        )
    if recorded != who:
        problems.append(
            f"{PACK_SIGNATURE}: made by key {who}, but the report records signer {recorded}"
        )
    if trusted and key not in trusted:
        problems.append(
            f"{PACK_SIGNATURE}: signature was made by a key other than the trusted one ({who})"
        )
    if len(problems) == before:
        verdict.facts.append(
            f"pack signature: valid, key {who}{' (trusted)' if trusted else ''}; it signs the "
            f"manifest digest, the report digest and version {statement.get('version')}"
        )
