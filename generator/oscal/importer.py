"""`evidoc import oscal`: one OSCAL file in, the evidoc YAML it becomes out (not yet written)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator.oscal.catalog_import import Imported, ImportOptions, framework_from_catalog
from generator.oscal.mapping_import import crosswalks_from
from generator.oscal.models import CatalogDocument
from generator.oscal.profile import Overrides, resolve_profile
from generator.oscal.source import read_document
from generator.oscal.yaml_out import dump


@dataclass
class ImportResult:
    folder: str  # where in controls/ the files belong: frameworks or crosswalks
    files: list[tuple[str, str]] = field(default_factory=list)  # (id, YAML text)
    summaries: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _framework_summary(imported: Imported) -> str:
    fw = imported.framework
    n = imported.counts
    enh = f" ({n.enhancements} enhancements)" if n.enhancements else ""
    return (
        f"framework {fw.id}, {n.controls} controls{enh} in {n.groups} groups, "
        f"{len(fw.tags)} tag rules"
    )


def import_file(
    path: Path,
    *,
    by_href: dict[str, Path] | None = None,
    default_catalog: Path | None = None,
    ident: str | None = None,
    tag_prefix: str | None = None,
    with_text: bool = False,
) -> ImportResult:
    doc = read_document(path, str(path))
    ignored = (
        [f"--catalog is ignored: {path} is a {doc.kind}, not a profile"]
        if doc.kind != "profile" and (by_href or default_catalog)
        else []
    )
    options = ImportOptions(ident=ident, tag_prefix=tag_prefix, with_text=with_text)
    if doc.kind == "mapping-collection":
        found = crosswalks_from(doc)
        result = ImportResult(folder="crosswalks", notes=[*ignored, *found.notes])
        for crosswalk, data in found.crosswalks:
            header = [
                f"Imported by `evidoc import oscal` from the OSCAL mapping collection {path.name}."
            ]
            result.files.append((crosswalk.id, dump(data, "crosswalk", header)))
            result.summaries.append(
                f"crosswalk {crosswalk.id} ({crosswalk.source} -> {crosswalk.target}), "
                f"{len(crosswalk.mappings)} mappings"
            )
        return result
    notes: list[str] = []
    if doc.kind == "profile":
        resolution = resolve_profile(doc, Overrides(by_href or {}, default_catalog))
        catalog, notes = resolution.catalog, resolution.notes
    else:
        catalog = doc.parse(CatalogDocument).catalog
    imported = framework_from_catalog(
        catalog, display=doc.display, source=path.name, kind=doc.kind, options=options
    )
    header = [
        f"Imported by `evidoc import oscal` from the OSCAL {doc.kind} {path.name}; "
        "import again rather than edit by hand."
    ]
    result = ImportResult(folder="frameworks", notes=[*ignored, *notes, *imported.notes])
    result.files.append((imported.framework.id, dump(imported.data, "framework", header)))
    result.summaries.append(_framework_summary(imported))
    return result
