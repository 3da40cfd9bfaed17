"""evidoc as a team installs it: a wheel, non-editable, in a fresh environment outside the
repository, run on a copy of the shipped instance. Nothing here may read the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.wheel

UV = Path(sys.executable).with_name("uv")
# What a wheel is built from; everything else in the repository stays behind.
# controls/ holds the catalogs and starter practices, linked into the package (generator/catalogs,
# generator/starters) like templates/.
SOURCES = ("pyproject.toml", "README.md", "generator", "templates", "controls")
INSTANCE = ("controls", "docs", "evidence", "mkdocs.yml")


def run(cmd: list[str | Path], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def uv_install(python: Path, cwd: Path, *args: str | Path) -> None:
    """Install into the environment of PYTHON, from uv's cache where it can."""
    ok(run([UV, "pip", "install", "-q", "--python", python, *args], cwd=cwd))


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment holding the locked dependencies and evidoc's wheel, nothing else."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:
        item = REPO / name
        if item.is_dir():
            # generator/templates is a link to ../templates: keep it a link, as in the checkout.
            shutil.copytree(
                item, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(item, src / name)
    dist = base / "dist"
    ok(
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "-q",
                "-w",
                dist,
                src,
            ],
            cwd=base,
        )
    )
    wheels = list(dist.glob("evidoc-*.whl"))
    assert len(wheels) == 1
    venv = base / "venv"
    ok(run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=base))
    python = venv / "bin" / "python"
    uv_install(python, base, "--require-hashes", "--no-deps", "-r", REPO / "requirements.lock")
    uv_install(python, base, "--no-deps", wheels[0])
    return venv


def instance(base: Path) -> Path:
    root = base / "instance"
    for name in INSTANCE:
        item = REPO / name
        if item.is_dir():
            shutil.copytree(item, root / name)
        else:
            shutil.copy2(item, root / name)
    return root


def test_the_wheel_carries_its_templates(installed: Path) -> None:
    where = ok(
        run(
            [installed / "bin" / "python", "-c", "import generator; print(generator.__file__)"],
            cwd=installed.parent,
        )
    )
    package = Path(where.strip()).parent
    assert package.is_relative_to(installed), f"imported from {package}, not the new environment"
    assert not (package / "templates").is_symlink()
    assert (package / "templates" / "site" / "framework.md.j2").is_file()
    assert (package / "templates" / "print" / "pack.css").is_file()
    for linked, sample in (("catalogs", "iso27001-2022.yaml"), ("starters", "encryption.yaml")):
        assert not (package / linked).is_symlink()
        assert (package / linked / sample).is_file()


def test_init_and_check_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    """A new instance in an empty directory uses the catalogs inside the installed package."""
    evidoc = installed / "bin" / "evidoc"
    root = tmp_path / "new"
    root.mkdir()
    out = ok(run([evidoc, "init", "--frameworks", "nis2-21-2", "--practice", "encryption"], root))
    assert "wrote controls/scope.yaml" in out
    gate = run([evidoc, "check"], cwd=root)
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "evidoc:catalogs/nis2-21-2.yaml" in gate.stdout and "Traceback" not in gate.stderr


def test_check_build_pdf_verify_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    root = instance(tmp_path)
    evidoc = installed / "bin" / "evidoc"
    gate = ok(run([evidoc, "check", "--root", root], cwd=tmp_path))
    assert "PASS" in gate
    ok(run([evidoc, "build", "--root", root, "--site-dir", tmp_path / "site"], cwd=tmp_path))
    page = tmp_path / "site" / "compliance" / "index.html"
    assert page.is_file()
    assert "evidoc.css" in page.read_text(encoding="utf-8")
    assert list((tmp_path / "site").rglob("evidoc.css")), "the packaged stylesheet is missing"
    pack = tmp_path / "pack.pdf"
    ok(run([evidoc, "pdf", "--root", root, "--output", pack], cwd=tmp_path))
    assert pack.read_bytes().startswith(b"%PDF-")
    verdict = ok(run([evidoc, "verify", pack], cwd=tmp_path))
    assert verdict.startswith("OK: ") and "is intact" in verdict, verdict


def test_a_missing_template_is_one_line_and_exit_2(installed: Path, tmp_path: Path) -> None:
    """A damaged installation says what is missing and how to fix it, with no traceback."""
    broken = tmp_path / "venv"
    shutil.copytree(installed, broken, symlinks=True)
    # The copy's scripts name the original interpreter: run the package through the copy's.
    site = next((broken / "lib").glob("python3*/site-packages"))
    shutil.rmtree(site / "generator" / "templates" / "print")
    root = instance(tmp_path)
    proc = run(
        [
            broken / "bin" / "python",
            "-m",
            "generator",
            "pdf",
            "--root",
            root,
            "--output",
            tmp_path / "pack.pdf",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "templates/print" in proc.stderr and "reinstall evidoc" in proc.stderr
    assert not (tmp_path / "pack.pdf").exists()


def test_an_incompatible_dependency_is_named_with_exit_2(installed: Path, tmp_path: Path) -> None:
    """A docs repository pinning a Material release evidoc cannot build with (pip --no-deps, or
    an environment changed later) gets one line that names the package and the range."""
    pinned = tmp_path / "venv"
    shutil.copytree(installed, pinned, symlinks=True)
    python = pinned / "bin" / "python"
    uv_install(python, tmp_path, "--no-deps", "mkdocs-material==9.5.42")
    root = instance(tmp_path)
    proc = run(
        [python, "-m", "generator", "build", "--root", root, "--site-dir", tmp_path / "site"],
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "mkdocs-material 9.5.42" in lines[0] and ">=9.6.1" in lines[0]
    assert not (tmp_path / "site").exists()
