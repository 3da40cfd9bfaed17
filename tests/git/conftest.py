"""Repositories built once per session (collecting never writes to them)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from tests.git.builders import GitRepo, build_shop

NOW = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)

needs_ssh_keygen = pytest.mark.skipif(
    shutil.which("ssh-keygen") is None, reason="ssh-keygen is needed to sign commits"
)


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    return build_shop(tmp_path_factory.mktemp("repos") / "shop-gitops")


def shop_source(repo: GitRepo, root: Path, **extra: object) -> dict[str, object]:
    return {"name": "shop-gitops", "path": str(repo.path), "since": "2026-01-01", **extra}
