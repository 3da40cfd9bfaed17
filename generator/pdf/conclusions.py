"""What an audit pack concludes, as a file it embeds: `report.json`, and the statement a pack
signature covers (`pack.sig`).

The pages show a control's status; the evidence is bound to them by the manifest digest. The
conclusions need the same: `report.json` is the report the pages were printed from (every
in-scope control's status and reason, its exclusion with justification and approver, its
attestations and the check results it rests on) as canonical JSON, so the same report always
gives the same bytes. Its SHA-256 is printed on the cover and written into /Keywords; a pack
signature signs a statement naming that digest, the manifest digest and the pack's version.
"""

from __future__ import annotations

from typing import Any

from generator import __version__
from generator.report import Report
from generator.snapshot.canonical import canonical_json, sha256_hex

REPORT = "report.json"
PACK_SIGNATURE = "pack.sig"
REPORT_FORMAT = "evidoc-pack-report/1"
STATEMENT_FORMAT = "evidoc-pack-statement/1"
# In /Keywords, next to manifest-sha256:...
REPORT_KEYWORD = "report-sha256:"

# What a control's entry leaves out: where it is written down (file, line, groups) is not a
# conclusion, and attestations are listed once, by id, at the top level.
_CONTROL_EXCLUDE = {"framework", "file", "line", "groups", "attestations"}


def generator_name() -> str:
    return f"evidoc {__version__}"


def report_document(
    report: Report,
    *,
    version: str,
    generated_at: str,
    time_source: str,
    signer: str | None,
) -> dict[str, Any]:
    """The report as plain JSON values: per framework, every in-scope control with its status,
    reason, exclusion, practices, pages, attestation ids and check results."""
    attestations: dict[str, Any] = {}
    frameworks = []
    for fw in report.frameworks:
        controls = []
        for c in fw.controls:
            entry = c.model_dump(mode="json", exclude=_CONTROL_EXCLUDE)
            entry["attestations"] = [a.id for a in c.attestations]
            for a in c.attestations:
                attestations.setdefault(a.id, a.model_dump(mode="json"))
            controls.append(entry)
        frameworks.append(
            {
                "id": fw.id,
                "title": fw.title,
                "version": fw.version,
                "publisher": fw.publisher,
                "totals": {str(s): n for s, n in fw.totals.items()},
                "controls": controls,
            }
        )
    return {
        "format": REPORT_FORMAT,
        "pack": {
            "version": version,
            "generated_by": generator_name(),
            "generated_at": generated_at,
            "time_source": time_source,
            "signer": signer,  # fingerprint of the key that signs pack.sig, if any
        },
        "as_of": report.as_of.isoformat(),
        "snapshot": report.snapshot.model_dump(mode="json") if report.snapshot else None,
        "totals": {str(s): n for s, n in report.totals().items()},
        "controls": sum(len(fw.controls) for fw in report.frameworks),
        "frameworks": frameworks,
        "attestations": attestations,
    }


def report_bytes(document: dict[str, Any]) -> bytes:
    return canonical_json(document)


def report_digest(data: bytes) -> str:
    return sha256_hex(data)


def statement(manifest_digest: str | None, report_sha256: str, version: str) -> dict[str, Any]:
    """What a pack signature signs: the evidence (manifest digest), the conclusions (report
    digest) and the pack's version, together."""
    return {
        "format": STATEMENT_FORMAT,
        "manifest_sha256": manifest_digest,
        "report_sha256": report_sha256,
        "version": version,
    }
