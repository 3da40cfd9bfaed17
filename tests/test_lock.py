"""requirements.lock is what setup installs: it must pin, with hashes, a version inside every
range pyproject.toml declares, or `make lock` was forgotten after a change of range."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.M)


def pins() -> dict[str, list[str]]:
    text = (REPO / "requirements.lock").read_text(encoding="utf-8")
    found: dict[str, list[str]] = {}
    for name, version in PIN.findall(text):
        found.setdefault(canonicalize_name(name), []).append(version)
    return found


def test_every_declared_range_is_pinned_inside_it() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    declared = [
        *project["dependencies"],
        *project["optional-dependencies"]["test"],
        *pyproject["build-system"]["requires"],
    ]
    locked = pins()
    for text in declared:
        req = Requirement(text)
        versions = locked.get(canonicalize_name(req.name))
        assert versions, f"{req.name} is not in requirements.lock: run make lock"
        for version in versions:
            assert req.specifier.contains(version), f"{req.name}=={version} is outside {req}"


def test_every_pin_carries_a_hash() -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (REPO / "requirements.lock").read_text("utf-8"))
    for block in blocks:
        if PIN.match(block):
            assert "--hash=sha256:" in block, block.splitlines()[0]
