"""`evidoc init`: make a repository an evidoc instance, and adopt starter practices.

An instance made by init has the frameworks it was given in `controls/scope.yaml` and nothing
else: the catalogs are built in (generator/catalogs.py), there are no practices, attestations or
evidence, and `evidence/sources.yaml` is a commented template. A missing mkdocs.yml is written
(a minimal Material site), and docs/index.md when there is no docs/; an existing site is never
touched.

init never overwrites: when a file it would write exists it writes nothing, names every such
file and exits 2 (the caller decides). Starter practices are copied with their `docs:` removed,
since the pages they name are the shipped demo's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from generator.catalogs import builtin_catalogs, starters
from generator.errors import InputError
from generator.output import write_atomic

SCOPE = "controls/scope.yaml"
SOURCES = "evidence/sources.yaml"
MKDOCS = "mkdocs.yml"
INDEX = "docs/index.md"

_INDEX_TEMPLATE = """\
# Platform documentation

Pages under `docs/` describe how the platform works. Tag a page with the controls it helps to
meet (`tags:` in its front matter, e.g. `ISO 27001:2022 8.31`); `evidoc build` adds the
Compliance section with the status of every control in scope.
"""

_SOURCES_TEMPLATE = """\
# Where `evidoc collect` reads evidence from (see the README, "Evidence"). Until environments,
# deployments and repositories are listed here, evidoc collects nothing and the checks of the
# practices have no evidence: `evidoc check` (mapping gate) still works.
#
# environments:                       # platform instances and their clusters
#   - name: nonprod
#     tier: non-production
#     clusters:
#       - {name: nonprod-wc, kubeconfig: ~/.kube/config, context: nonprod-wc}
#   - name: prod
#     tier: production
#     clusters:
#       - {name: prod-wc, context: prod-wc}
# deployments:                        # application deployments (DTAP)
#   - {name: staging, tier: non-production, cluster: nonprod-wc, namespaces: [shop-staging]}
#   - {name: production, tier: production, cluster: prod-wc, namespaces: [shop]}
# repositories:                       # Git repositories whose history changes them
#   - {name: shop-gitops, path: ../shop-gitops, branch: main}
environments: []
deployments: []
repositories: []
"""

_MKDOCS_TEMPLATE = """\
# The site's base configuration, written by `evidoc init`; `evidoc build` derives its own
# mkdocs.yml from it (see the README, "Add evidoc to an existing MkDocs site").
site_name: {name}
theme:
  name: material
  font: false  # no requests to Google Fonts: the site builds and works offline
"""


@dataclass
class InitPlan:
    """The files init writes (relative path -> text) and what it says about them."""

    root: Path
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def conflicts(self) -> list[str]:
        return [rel for rel in self.files if (self.root / rel).exists()]

    def write(self) -> list[str]:
        for rel, text in self.files.items():
            write_atomic(self.root / rel, text.encode("utf-8"))
        return list(self.files)


def known_frameworks(root: Path) -> dict[str, str]:
    """Framework id -> where it comes from: the built-in catalogs and the instance's files."""
    known = {ident: "built in" for ident in builtin_catalogs()}
    folder = root / "controls" / "frameworks"
    if folder.is_dir():
        for path in sorted(folder.glob("*.y*ml")):
            known[path.stem] = f"controls/frameworks/{path.name}"
    return known


def catalog_titles() -> dict[str, str]:
    out = {}
    for ident, item in builtin_catalogs().items():
        head = item.read_text(encoding="utf-8")[:4000]
        match = re.search(r"^title:\s*(.+)$", head, re.MULTILINE)
        out[ident] = match.group(1).strip().strip("'\"") if match else ident
    return out


def scope_text(frameworks: list[str]) -> str:
    lines = [
        "# yaml-language-server: $schema=../schemas/scope.schema.json",
        '# What is in scope (see the README, "Applicability"). Written by `evidoc init`.',
        "# Built-in catalogs (`evidoc init --list-frameworks`) need no copy; a file",
        "# controls/frameworks/ID.yaml with the same id overrides one.",
    ]
    if frameworks:
        lines.append("frameworks:")
        lines += [f"  - {fid}" for fid in frameworks]
    else:
        lines.append("frameworks: []")
    lines += [
        "# audit_period: {start: 2026-01-01, end: 2026-12-31}  # the Git collection follows it",
        "# statement_of_applicability:  # the SoA's own record (ISO/IEC 27001 6.1.3 d)",
        '#   version: "1"',
        "#   approved_by: CISO",
        "#   approved_on: 2026-12-01",
        "# applies_because:            # why each framework applies: law, contract or risk",
        "#   iso27001-2022: The certified ISMS and the risk assessment",
        "# inclusions:                 # a control's own reason, e.g. the risk it treats",
        "#   - control: iso27001-2022:8.31",
        "#     justification: Risk R-7, production data copied into test",
        "# exclusions:                 # controls that do not apply",
        "#   - control: iso27001-2022:7.4",
        "#     justification: Physical security monitoring belongs to the data-centre operator.",
        "#     approved_by: CISO",
        "#     expires: 2027-06-30",
        "# inherited:                  # applicable, implemented by a provider",
        "#   - control: iso27001-2022:7.1",
        "#     provider: Example Colocation AB, the data-centre operator",
        "#     reference: Its ISO/IEC 27001 certificate and statement of applicability.",
        "#     approved_by: CISO",
    ]
    return "\n".join(lines) + "\n"


def plan_init(root: Path, frameworks: list[str]) -> InitPlan:
    known = known_frameworks(root)
    unknown = [fid for fid in frameworks if fid not in known]
    if unknown:
        raise InputError(
            None,
            f"unknown framework(s) {', '.join(repr(f) for f in unknown)}; "
            f"known: {', '.join(sorted(known))}",
        )
    plan = InitPlan(root)
    plan.files[SCOPE] = scope_text(list(dict.fromkeys(frameworks)))
    plan.files[SOURCES] = _SOURCES_TEMPLATE
    if not (root / MKDOCS).exists():
        name = yaml.safe_dump(root.resolve().name or "Documentation", width=1000).strip()
        if name.endswith("..."):
            name = name[: -len("...")].strip()
        plan.files[MKDOCS] = _MKDOCS_TEMPLATE.format(name=name)
    else:
        plan.notes.append(f"kept {MKDOCS}: evidoc build derives its own configuration from it")
    if not (root / "docs").exists():
        plan.files[INDEX] = _INDEX_TEMPLATE
    return plan


_DOCS_BLOCK = re.compile(r"^docs:[^\n]*\n(?:(?:[ \t]+[^\n]*|[ \t]*-[^\n]*|[ \t]*)\n)*", re.M)


def adopt_text(text: str) -> str:
    """A starter practice as an instance adopts it: without the demo's `docs:` pages."""
    stripped = _DOCS_BLOCK.sub(
        "# docs: [page.md]   # the pages (under docs/) that describe this practice; the\n"
        "#                   # starter's demo pages were removed when it was adopted\n",
        text,
    )
    return stripped.replace(
        "# yaml-language-server:",
        "# Adopted from evidoc's starter practices: review owner, statement and mappings.\n"
        "# yaml-language-server:",
        1,
    )


def list_practices() -> list[tuple[str, str, list[str]]]:
    """(id, title, frameworks it maps) of every starter practice."""
    out = []
    for ident, item in starters().items():
        data = yaml.safe_load(item.read_text(encoding="utf-8")) or {}
        refs = [s.get("control", "") for s in data.get("satisfies") or [] if isinstance(s, dict)]
        fws = sorted({r.split(":", 1)[0] for r in refs if ":" in r})
        out.append((ident, str(data.get("title", ident)), fws))
    return out


def plan_practices(root: Path, ids: list[str], plan: InitPlan | None = None) -> InitPlan:
    available = starters()
    unknown = [i for i in ids if i not in available]
    if unknown:
        raise InputError(
            None,
            f"unknown starter practice(s) {', '.join(repr(i) for i in unknown)}; "
            f"available: {', '.join(available)} (evidoc init --list-practices)",
        )
    plan = plan or InitPlan(root)
    for ident in dict.fromkeys(ids):
        rel = f"controls/practices/{ident}.yaml"
        plan.files[rel] = adopt_text(available[ident].read_text(encoding="utf-8"))
        plan.notes.append(
            f"adopted {rel}: its docs: list was removed (it named the demo's pages); "
            "add your own pages there"
        )
    return plan
