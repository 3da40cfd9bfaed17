"""Load stage: every YAML file kind and the docs front matter into one Library."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from generator.catalogs import builtin_catalogs, builtin_display
from generator.docs_pages import DocPage, iter_pages, read_front_matter
from generator.errors import InputError, InputErrors
from generator.findings import Finding, FindingKind
from generator.library import ControlEntry, Library, Loaded, LoadedFramework
from generator.models import (
    Attestation,
    Control,
    Crosswalk,
    Framework,
    Group,
    Practice,
    Remediation,
    Scope,
    Sources,
)
from generator.tag_grammar import MAX_TAG_CHARS
from generator.validate import validate
from generator.yamlio import Marks, load_yaml_file, parse_yaml

M = TypeVar("M", bound=BaseModel)

_NUMBER = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sorts ids as people read them: numbers by value (A2 before A10, (a)(1) before (a)(2))."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _NUMBER.split(text) if p)


MAX_FILES = 20_000


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _yaml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    files = sorted(p for p in directory.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
    return files[:MAX_FILES]


def _load_model(path: Path, root: Path, model: type[M]) -> tuple[M, Marks]:
    data, marks = load_yaml_file(path, display=_display(path, root))
    return validate(model, data, marks), marks


class _Collector:
    """Runs loads and gathers every input error, so one run reports them all."""

    def __init__(self) -> None:
        self.errors: list[InputError] = []

    def run(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except InputErrors as exc:
            self.errors.extend(exc.errors)
        except InputError as exc:
            self.errors.append(exc)
        return None


def _index_framework(lf: LoadedFramework, findings: list[Finding]) -> None:
    seen: dict[str, tuple[str | int, ...]] = {}

    def note(cid: str, path: tuple[str | int, ...], what: str) -> bool:
        if cid in seen:
            first = lf.marks.locate(seen[cid])[0]
            line, col = lf.marks.locate((*path, "id"))
            findings.append(
                Finding(
                    kind=FindingKind.duplicate_id,
                    control=f"{lf.model.id}:{cid}",
                    message=(
                        f"{what} id {cid!r} is used twice in {lf.model.id} (first at line {first})"
                    ),
                    file=lf.file,
                    line=line,
                    column=col,
                )
            )
            return False
        seen[cid] = path
        return True

    def walk(
        groups: list[Group], trail: tuple[str, ...], base: tuple[str | int, ...], first: int = 0
    ) -> None:
        for gi, group in enumerate(groups, start=first):
            gpath = (*base, "groups", gi)
            if note(group.id, gpath, "group"):
                lf.groups[group.id] = group
            # A group with both controls and subgroups (a HIPAA standard next to standards with
            # implementation specifications) lists them in id order, as the regulation does:
            # 164.308(a)(1) comes before 164.308(a)(2) whichever YAML key holds it.
            members: list[tuple[str, int, Control | None, Group | None]] = [
                (c.id, i, c, None) for i, c in enumerate(group.controls)
            ] + [(g.id, i, None, g) for i, g in enumerate(group.groups)]
            if group.controls and group.groups:
                members.sort(key=lambda m: natural_key(m[0]))
            for mid, index, control, sub in members:
                if control is not None:
                    cpath = (*gpath, "controls", index)
                    if note(mid, cpath, "control"):
                        lf.controls[mid] = ControlEntry(control, (*trail, group.id), cpath)
                elif sub is not None:
                    walk([sub], (*trail, group.id), gpath, index)

    for ci, control in enumerate(lf.model.controls):
        cpath: tuple[str | int, ...] = ("controls", ci)
        if note(control.id, cpath, "control"):
            lf.controls[control.id] = ControlEntry(control, (), cpath)
    walk(lf.model.groups, (), ())


def _overlong_tags(page: DocPage) -> list[InputError]:
    """Tags too long to name a control. Tag patterns are only proven fast up to this length,
    and a finding that quotes a megabyte tag helps nobody."""
    return [
        InputError(
            page.file,
            f"tag is {len(tag.text):,} characters long; expected a tag naming a control, "
            f"at most {MAX_TAG_CHARS} characters",
            tag.line,
            tag.column,
        )
        for tag in page.tags
        if len(tag.text) > MAX_TAG_CHARS
    ]


def _duplicate(kind: str, ident: str, file: str, line: int | None, first: str) -> Finding:
    return Finding(
        kind=FindingKind.duplicate_id,
        message=f"{kind} id {ident!r} is already defined in {first}",
        file=file,
        line=line,
    )


def _used_framework_ids(lib: Library, known: set[str]) -> set[str]:
    """The ids of KNOWN catalogs the instance names: in scope, or in a reference
    (`framework:control`, a crosswalk's source and target) of any of its YAML files."""
    used: set[str] = set()
    loaded: list[Any] = [*lib.practices.values(), *lib.crosswalks.values()]
    loaded += [*lib.attestations.values(), *getattr(lib, "remediations", {}).values()]
    if lib.scope is not None:
        loaded.append(lib.scope)
    stack: list[Any] = [item.model.model_dump(mode="json") for item in loaded]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            ident = value.split(":", 1)[0]
            if ident in known:
                used.add(ident)
    return used


def _load_builtin_catalogs(lib: Library, c: _Collector) -> None:
    """The built-in catalogs the instance uses and does not override with a file of its own.
    They are evidoc's: an error in one is reported as evidoc's, not as the user's."""
    builtin = c.run(builtin_catalogs)
    if not builtin:
        return
    for ident in sorted(_used_framework_ids(lib, set(builtin)) - set(lib.frameworks)):
        display = builtin_display(ident)
        try:
            data, marks = parse_yaml(builtin[ident].read_text(encoding="utf-8"), display)
            model = validate(Framework, data, marks)
            if model.id != ident:
                raise InputError(display, f"declares id {model.id!r}, expected {ident!r}", 1)
        except (InputError, InputErrors, OSError, UnicodeDecodeError) as exc:
            first = exc.errors[0] if isinstance(exc, InputErrors) else exc
            c.errors.append(
                InputError(
                    None,
                    f"evidoc's built-in catalog {ident!r} cannot be loaded ({first}): this is "
                    f"a defect of evidoc, please report it; meanwhile a corrected copy at "
                    f"controls/frameworks/{ident}.yaml overrides it",
                )
            )
            continue
        lf = LoadedFramework(model=model, file=marks.file, marks=marks)
        _index_framework(lf, lib.findings)
        lib.frameworks[ident] = lf


def load_library(root: Path, docs_dir: Path | None = None) -> Library:
    """Load an evidoc instance; raises InputErrors listing every invalid file."""
    root = Path(root)
    controls = root / "controls"
    if not controls.is_dir():
        raise InputError(
            root, "not an evidoc instance: expected a 'controls/' directory (use --root DIR)"
        )
    docs = Path(docs_dir) if docs_dir is not None else root / "docs"
    lib = Library(root=root, docs_dir=docs)
    c = _Collector()

    for path in _yaml_files(controls / "frameworks"):
        loaded = c.run(lambda p=path: _load_model(p, root, Framework))
        if loaded is None:
            continue
        model, marks = loaded
        if model.id in lib.frameworks:
            lib.findings.append(
                _duplicate("framework", model.id, marks.file, 1, lib.frameworks[model.id].file)
            )
            continue
        lf = LoadedFramework(model=model, file=marks.file, marks=marks)
        _index_framework(lf, lib.findings)
        lib.frameworks[model.id] = lf

    kinds: list[tuple[str, type[BaseModel], dict[str, Any]]] = [
        ("practices", Practice, lib.practices),
        ("crosswalks", Crosswalk, lib.crosswalks),
        ("attestations", Attestation, lib.attestations),
        ("remediations", Remediation, lib.remediations),
    ]
    for folder, model_type, target in kinds:
        for path in _yaml_files(controls / folder):
            loaded = c.run(lambda p=path, m=model_type: _load_model(p, root, m))
            if loaded is None:
                continue
            model, marks = loaded
            ident = model.id  # type: ignore[attr-defined]
            if ident in target:
                lib.findings.append(
                    _duplicate(folder.rstrip("s"), ident, marks.file, 1, target[ident].file)
                )
                continue
            target[ident] = Loaded(model, marks.file, marks)

    scope_path = controls / "scope.yaml"
    if scope_path.is_file():
        loaded = c.run(lambda: _load_model(scope_path, root, Scope))
        if loaded is not None:
            lib.scope = Loaded(loaded[0], loaded[1].file, loaded[1])
    else:
        c.errors.append(
            InputError(
                _display(scope_path, root),
                "missing: expected controls/scope.yaml listing the frameworks in scope",
            )
        )

    _load_builtin_catalogs(lib, c)

    sources_path = root / "evidence" / "sources.yaml"
    if sources_path.is_file():
        loaded = c.run(lambda: _load_model(sources_path, root, Sources))
        if loaded is not None:
            lib.sources = Loaded(loaded[0], loaded[1].file, loaded[1])

    for path, rel, display in iter_pages(docs, root):
        page = c.run(lambda p=path, r=rel, d=display: read_front_matter(p, r, d))
        if page is not None:
            c.errors.extend(_overlong_tags(page))
            lib.pages.append(page)

    if c.errors:
        raise InputErrors(c.errors)
    return lib
