"""Everything the page templates need, computed once from the library, report and snapshot:
where each page lives, the anchor of every control, and relative links between pages."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from urllib.parse import quote

from markupsafe import Markup

from generator.coverage import Coverage
from generator.documents import check_document
from generator.library import Library
from generator.models import Attestation, Relationship
from generator.register import RegisterRow
from generator.release_changes import ReleaseChanges
from generator.report import ControlReport, FrameworkReport, Report, Status
from generator.results import Results
from generator.site.anchors import control_anchors
from generator.site.changes import Changes
from generator.snapshot.manifest import ManifestItem
from generator.snapshot.store import Snapshot
from generator.tags import TagKind, TagResolver

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
    coverage = f"{GENERATED}/coverage.md"

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
    """A tag of a hand-written page that names a control (or group) of an in-scope framework,
    directly or through a crosswalk; it links to that control's anchor."""

    text: str  # the tag as the page writes it (whitespace collapsed): the chip's label
    target: str  # docs-relative framework page
    anchor: str
    status: Status | None  # None for a group
    note: str  # how the tag leads to the control, for the chip's tooltip


# What a page tagged with a control describes through a crosswalk, as the report counts it
# (generator/report.py): the other side of an equivalent mapping, or the control a subset maps
# into. From the tagged control's side the relationship is then equivalent or subset.
_DESCRIBES = {
    (Relationship.equivalent, "source"): Relationship.equivalent,
    (Relationship.equivalent, "target"): Relationship.equivalent,
    (Relationship.subset, "source"): Relationship.subset,
    (Relationship.superset, "target"): Relationship.subset,
}
_PREFERENCE = (Relationship.equivalent, Relationship.subset)


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
    coverage: Coverage | None = None  # the evidence of every snapshot in the audit period
    release: ReleaseChanges | None = None  # the changes since the previous release

    # --- lookups -------------------------------------------------------------------------

    @cached_property
    def frameworks(self) -> dict[str, FrameworkReport]:
        return {fw.id: fw for fw in self.report.frameworks}

    @cached_property
    def soa_frameworks(self) -> list[str]:
        """In-scope catalogs that require a Statement of Applicability (ISO/IEC 27001's Annex
        A): each gets one."""
        return [
            fw.id
            for fw in self.report.frameworks
            if fw.id in self.library.frameworks
            and self.library.frameworks[fw.id].model.soa_required
        ]

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
    def crosswalk(self) -> dict[str, list[tuple[str, Relationship]]]:
        """Control ref -> [(in-scope control ref a page tagged with it describes, how the tagged
        control relates to it)], equivalents first."""
        out: dict[str, set[tuple[str, Relationship]]] = {}
        for loaded in self.library.crosswalks.values():
            cw = loaded.model
            for m in cw.mappings:
                a, b = f"{cw.source}:{m.source}", f"{cw.target}:{m.target}"
                for tagged, side, described in ((a, "source", b), (b, "target", a)):
                    how = _DESCRIBES.get((m.relationship, side))
                    if how is not None and described in self.controls:
                        out.setdefault(tagged, set()).add((described, how))
        return {
            ref: sorted(found, key=lambda t: (_PREFERENCE.index(t[1]), t[0]))
            for ref, found in out.items()
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
        """The page's tags that name a control (or group) of an in-scope framework, directly or
        through a crosswalk, in the page's order. Every other tag (a topic such as
        "networking", a framework outside the scope) is the site's own: no chip."""
        out = []
        for tag in page_tags:
            match = self.resolver.resolve(tag)
            if match is None or match.kind is TagKind.unknown_control:
                continue
            text = " ".join(tag.split())
            if match.kind is TagKind.group:
                if match.framework in self.frameworks:
                    target = self.layout.framework(match.framework)
                    anchor = self.group_anchor(match.framework, match.id)
                    out.append(Chip(text, target, anchor, None, f"{match.ref}, a group"))
                continue
            ref, note = match.ref, match.ref
            if ref not in self.controls:
                via = self.crosswalk.get(ref)
                if not via:
                    continue
                ref, how = via[0]
                relation = "equivalent to" if how is Relationship.equivalent else "a subset of"
                note = f"{match.ref}, {relation} {ref}"
            control = self.controls[ref]
            anchor = self.control_anchor(control.framework, control.id)
            target = self.layout.framework(control.framework)
            out.append(Chip(text, target, anchor, control.status, f"{note}: {control.status}"))
        return out
