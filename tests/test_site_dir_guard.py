"""`evidoc build` never swaps its output in for anything but an earlier site."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Instance, run_evidoc


def test_site_dir_may_not_replace_inputs(instance: Instance, tmp_path: Path) -> None:
    for target in (instance.root, instance.root / "docs", instance.root / "docs/site", tmp_path):
        proc = run_evidoc("build", "--root", instance.root, "--site-dir", target)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
    assert (instance.root / "controls/scope.yaml").is_file()
    assert (instance.root / "docs/environments.md").is_file()


def test_a_foreign_directory_is_left_alone(instance: Instance, tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    proc = run_evidoc("build", "--root", instance.root, "--site-dir", foreign)
    assert proc.returncode == 2 and "is not a site built by evidoc" in proc.stderr
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_missing_root_creates_nothing(tmp_path: Path) -> None:
    proc = run_evidoc("build", "--root", tmp_path / "nowhere", "--site-dir", tmp_path / "out")
    assert proc.returncode == 2 and "controls/" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
