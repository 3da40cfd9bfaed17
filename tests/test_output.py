"""Where `--output` writes: files are replaced atomically, devices and pipes are written to,
links are followed, and a directory is an input error."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import Instance, run_evidoc

EVIDOC = [sys.executable, "-m", "generator"]


def test_a_pipe_given_as_output_stays_a_pipe(instance: Instance, tmp_path: Path) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    proc = run_evidoc("check", "--root", instance.root, "--format", "json", "--output", fifo)
    reader.join(timeout=30)
    assert proc.returncode in (0, 1), proc.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # not replaced by a regular file
    assert received and received[0].lstrip().startswith(b"{")


def test_a_link_given_as_output_is_followed(instance: Instance, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "gate.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    proc = run_evidoc("check", "--root", instance.root, "--format", "json", "--output", link)
    assert proc.returncode in (0, 1), proc.stderr
    assert link.is_symlink() and target.read_text().lstrip().startswith("{")


def test_a_directory_given_as_output_is_an_input_error(instance: Instance, tmp_path: Path) -> None:
    proc = run_evidoc("check", "--root", instance.root, "--output", tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "is a directory" in proc.stderr


def test_dev_stdout_redirected_to_a_file_keeps_what_came_before(
    instance: Instance, tmp_path: Path
) -> None:
    """`--output /dev/stdout >> log`: /dev/stdout names the log file itself; the report is
    appended, the log's earlier lines stay."""
    log = tmp_path / "run.log"
    log.write_text("earlier line\n")
    with log.open("a") as out:
        proc = subprocess.run(
            [
                *EVIDOC,
                "check",
                "--root",
                str(instance.root),
                "--format",
                "json",
                "--output",
                "/dev/stdout",
            ],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert proc.returncode in (0, 1), proc.stderr
    text = log.read_text()
    assert text.startswith("earlier line\n") and '"frameworks"' in text
