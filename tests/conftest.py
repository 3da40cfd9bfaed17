"""Shared helpers: a small evidoc instance on disk and a way to run the real CLI."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

FRAMEWORK = """\
id: demo-iso
title: Demo catalog
version: "1"
publisher: Example
tags:
  - pattern: '^DEMO (?P<id>[A-Z]\\.\\d+(?:\\.\\d+)?)\\b'
groups:
  - id: "A"
    title: Separation
    controls:
      - id: "A.1"
        title: Separate environments
      - id: "A.2"
        title: Review every change
      - id: "A.3"
        title: Guard the premises
"""

PRACTICE = """\
id: environment-separation
title: Environment separation
owner: Platform team
statement: Production runs in its own cluster.
satisfies:
  - control: demo-iso:A.1
    relationship: equivalent
docs: [environments.md]
"""

SCOPE = """\
frameworks: [demo-iso]
exclusions:
  - control: demo-iso:A.3
    justification: The data-centre operator guards the premises.
    approved_by: CISO
"""

PAGE = """\
---
tags:
  - DEMO A.2 Review every change
---
# Environments

Production is separate.
"""

# The demo's environments and DTAP deployments, for instances that need evidence/sources.yaml.
SOURCES = """\
environments:
  - name: nonprod
    tier: non-production
    clusters: [{name: nonprod-wc}]
  - name: prod
    tier: production
    clusters: [{name: prod-wc}]
deployments:
  - {name: development, tier: non-production, cluster: nonprod-wc, namespaces: [shop-dev]}
  - {name: staging, tier: non-production, cluster: nonprod-wc, namespaces: [shop-staging]}
  - {name: production, tier: production, cluster: prod-wc, namespaces: [shop]}
"""


@dataclass
class Instance:
    root: Path

    def write(self, rel: str, text: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path


@pytest.fixture
def instance(tmp_path: Path) -> Instance:
    inst = Instance(tmp_path / "inst")
    inst.write("controls/frameworks/demo-iso.yaml", FRAMEWORK)
    inst.write("controls/practices/environment-separation.yaml", PRACTICE)
    inst.write("controls/scope.yaml", SCOPE)
    inst.write("docs/environments.md", PAGE)
    return inst


def run_evidoc(*args: str | Path, timeout: float = 60, cwd: Path | None = None):
    """Run the installed CLI as a real process, as CI would."""
    return subprocess.run(
        [sys.executable, "-m", "generator", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )
