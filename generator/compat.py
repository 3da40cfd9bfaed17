"""The installed versions of evidoc's dependencies, held against the ranges evidoc declares.

A docs repository's own pins can install a release evidoc cannot work with (pip only warns when
told `--no-deps` or when the environment was changed later); saying so in one line beats a
traceback from deep inside MkDocs or WeasyPrint.
"""

from __future__ import annotations

from importlib import metadata

from packaging.requirements import InvalidRequirement, Requirement

DISTRIBUTION = "evidoc"


def incompatible(distribution: str = DISTRIBUTION) -> list[str]:
    """One message per run-time dependency that is missing or outside its declared range."""
    try:
        declared = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return []  # run from a source tree without metadata: nothing declared to hold against
    problems = []
    for text in declared:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue  # an optional extra (tests) or another platform's dependency
        try:
            installed = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{req.name} is not installed (evidoc needs {req.name}{req.specifier})")
            continue
        if not req.specifier.contains(installed, prereleases=True):
            problems.append(
                f"{req.name} {installed} is installed, evidoc needs {req.name}{req.specifier}"
            )
    return problems
