"""Everything the page templates need, computed once from the library, report and snapshot:
where each page lives, the anchor of every control, and relative links between pages."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from urllib.parse import quote

from markupsafe import Markup

from generator.documents import check_document
from generator.library import Library
from generator.models import Attestation
from generator.register import RegisterRow
from generator.report import ControlReport, FrameworkReport, Report, Status
from generator.results import Results
from generator.site.anchors import control_anchors
from generator.site.changes import Changes
from generator.snapshot.manifest import ManifestItem
from generator.snapshot.store import Snapshot
from generator.tags import TagKind, TagResolver, normalise

GENERATED = "compliance"  # the docs folder the generated pages live in
_PLAIN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class Layout:
    """The docs-relative path of every generated page."""

    dashboard: str = f"{GENERATED}/index.md"

    @staticmethod
    def framework(fid: str) -> str:
        return f"{GENERATED}/frameworks/{fid}.md"

    @staticmethod
    def soa(fid: str) -> str:
        return f"{GENERATED}/soa/{fid}.md"

    practices = f"{GENERATED}/practices/index.md"

    @staticmethod
    def practice(pid: str) -> str:
        return f"{GENERATED}/practices/{pid}.md"

    environments = f"{GENERATED}/environments/index.md"
    register = f"{GENERATED}/register.md"

    @staticmethod
    def environment(name: str) -> str:
        return f"{GENERATED}/environments/{name}.md"

    @staticmethod
    def evidence(snapshot_id: str, rel: str = "") -> str:
        # The id comes from manifest.json; it names a folder only if it is a plain file name.
        safe = snapshot_id if _PLAIN.fullmatch(snapshot_id) else "snapshot"
        base = f"{GENERATED}/evidence/{safe}"
        return f"{base}/{rel}" if rel else base

    pack = "audit-pack.pdf"  # at the site root: on a release branch, VERSION/audit-pack.pdf


def web_url(text: str | None) -> Markup | None:
    """An http(s) URL from YAML, made safe to put in a Markdown link; None for anything else."""
    if not text or not text.startswith(("https://", "http://")):
        return None
    return Markup(quote(text, safe=":/?#@!$&*+,;=%~.-_"))


def relative(here: str, target: str, anchor: str | None = None) -> Markup:
    """A Markdown link target from page `here` to docs file `target` (both docs-relative)."""
    url = _relative(posixpath.dirname(here), target) if target != here else ""
    return Markup(f"{url}#{anchor}" if anchor else url)


@cache
def _relative(start: str, target: str) -> str:
    # Both are clean docs-relative paths, so this is posixpath.relpath without its getcwd().
    base = start.split("/") if start else []
    parts = target.split("/")
    common = 0
    for a, b in zip(base, parts[:-1], strict=False):
        if a != b:
            break
        common += 1
    rel = [".."] * (len(base) - common) + parts[common:]
    return quote("/".join(rel), safe="/")


@dataclass(frozen=True)
class Chip:
    """A tag of a hand-written page, linked to the control (or group) it names."""

    text: str  # the tag as written (shown on hover)
    label: str  # short: up to the control id, e.g. "ISO 27001:2022 8.31"
    target: str | None  # docs-relative framework page
    anchor: str | None
    status: Status | None
    note: str


def short_label(tag: str, cid: str, limit: int = 36) -> str:
    """The tag up to the control id ("ISO 27001:2022 8.31 Separation ..." -> "ISO 27001:2022
    8.31"), else the tag's first word and the id ("NIS2 21(2)(e)")."""
    text = normalise(tag)[0]
    at = text.find(cid)
    if at >= 0 and at + len(cid) <= limit:
        return text[: at + len(cid)]
    return f"{text.split(' ', 1)[0]} {cid}"


@dataclass
class Site:
    library: Library
    report: Report
    results: Results
    snapshot: Snapshot | None
    changes: Changes | None
    layout: Layout = field(default_factory=Layout)
    pack: bool = False  # an audit pack PDF is published with the site
    evidence_files: dict[str, str] = field(default_factory=dict)  # item id -> docs path
    register: list[RegisterRow] = field(default_factory=list)  # the findings register

    # --- lookups -------------------------------------------------------------------------

    @cached_property
    def frameworks(self) -> dict[str, FrameworkReport]:
        return {fw.id: fw for fw in self.report.frameworks}

    @cached_property
    def soa_frameworks(self) -> list[str]:
        """In-scope ISO/IEC 27001 catalogs: each gets a Statement of Applicability."""
        return [fw.id for fw in self.report.frameworks if fw.id.startswith("iso27001")]

    @cached_property
    def controls(self) -> dict[str, ControlReport]:
        return {c.ref: c for fw in self.report.frameworks for c in fw.controls}

    @cached_property
    def anchors(self) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
        """Framework id -> (control id -> anchor, group id -> anchor), for every framework."""
        out = {}
        for fid, lf in self.library.frameworks.items():
            out[fid] = control_anchors(list(lf.controls), list(lf.groups))
        return out

    def control_anchor(self, fid: str, cid: str) -> str:
        return self.anchors[fid][0][cid]

    def group_anchor(self, fid: str, gid: str) -> str:
        return self.anchors[fid][1][gid]

    @cached_property
    def pages(self) -> dict[str, str]:
        """Docs page path -> its title (front matter, first heading, else the path)."""
        return {p.path: p.title or p.path for p in self.library.pages}

    @cached_property
    def items(self) -> dict[str, ManifestItem]:
        if self.snapshot is None:
            return {}
        return {i.id: i for i in self.snapshot.manifest.items}

    @cached_property
    def crosswalk(self) -> dict[str, list[tuple[str, str]]]:
        """Control ref -> [(in-scope control ref, relationship)] reachable through a crosswalk."""
        out: dict[str, list[tuple[str, str]]] = {}
        for loaded in self.library.crosswalks.values():
            cw = loaded.model
            for m in cw.mappings:
                a, b = f"{cw.source}:{m.source}", f"{cw.target}:{m.target}"
                out.setdefault(a, []).append((b, m.relationship.value))
                out.setdefault(b, []).append((a, m.relationship.value))
        return {
            ref: sorted(t for t in targets if t[0] in self.controls) for ref, targets in out.items()
        }

    def document(self, attestation: Attestation) -> str | None:
        """The document an attestation rests on, with its file's hash and whether it holds."""
        if attestation.document is None:
            return None
        return check_document(self.library.root, attestation.document).text

    # --- links ---------------------------------------------------------------------------

    def control_link(self, here: str, ref: str) -> Markup | None:
        fid, _, cid = ref.partition(":")
        if fid not in self.frameworks or cid not in self.library.frameworks[fid].controls:
            return None
        return relative(here, self.layout.framework(fid), self.control_anchor(fid, cid))

    def page_link(self, here: str, page: str) -> Markup | None:
        return relative(here, page) if page in self.pages else None

    def evidence_link(self, here: str, item: ManifestItem) -> Markup | None:
        """The raw JSON of an item, if it was published with the site."""
        path = self.evidence_files.get(item.id)
        return relative(here, path) if path is not None else None

    # --- provenance ----------------------------------------------------------------------

    @cached_property
    def provenance(self) -> Markup:
        """The one line every page carries: which snapshot and manifest it was built from."""
        if self.snapshot is None:
            return Markup(
                "Built without an evidence snapshot (as of {}): every check shows "
                "<em>not-collected</em>."
            ).format(self.report.as_of.isoformat())
        m = self.snapshot.manifest
        line = Markup(
            'Built from evidence snapshot <code class="evidoc-snapshot">{}</code>, manifest '
            'SHA-256 <code class="evidoc-digest">{}</code>, collected {}.'
        ).format(m.id, m.digest, m.created_at)
        signer = self.snapshot.signer
        line += (
            Markup(' Signed by key <code class="evidoc-signer">{}</code>.').format(signer)
            if signer
            else Markup(" Not signed.")
        )
        if m.demo:
            line += Markup(" <strong>Demo evidence</strong>: not collected from real clusters.")
        return line

    # --- tag chips -----------------------------------------------------------------------

    @cached_property
    def resolver(self) -> TagResolver:
        return TagResolver(self.library)

    def chips(self, page_tags: list[str]) -> list[Chip]:
        out = []
        for text in page_tags:
            match = self.resolver.resolve(text)
            if match is None or match.kind is TagKind.unknown_control:
                continue  # not on the allow-list: the site build fails on it
            label = short_label(text, match.id)
            text = " ".join(text.split())
            if match.kind is TagKind.group:
                target = self.layout.framework(match.framework)
                if match.framework in self.frameworks:
                    anchor = self.group_anchor(match.framework, match.id)
                    out.append(Chip(text, label, target, anchor, None, f"{match.ref} (a group)"))
                else:
                    out.append(Chip(text, label, None, None, None, f"{match.ref}: not in scope"))
                continue
            ref, note = match.ref, match.ref
            if ref not in self.controls:
                via = self.crosswalk.get(ref, [])
                if not via:
                    out.append(Chip(text, label, None, None, None, f"{ref}: not in scope"))
                    continue
                ref, relationship = via[0]
                note = f"{match.ref}: {relationship} to {ref}"
            control = self.controls[ref]
            anchor = self.control_anchor(control.framework, control.id)
            target = self.layout.framework(control.framework)
            out.append(
                Chip(text, label, target, anchor, control.status, f"{note}: {control.status}")
            )
        return out
