"""Benchmark `evidoc build` on synthetic libraries.

    .venv/bin/python benchmarks/site_build.py [--runs 3]

1. The generator's own work, before MkDocs starts (load, evaluate, report, render every page,
   write the build directory and its mkdocs.yml where `evidoc build` writes it), on the gate
   benchmark's synthetic library:
   20 frameworks x 500 controls = 10,000 controls, 2,000 pages, 200 practices.
   Target: <= 5 s.
2. A 1,000-control site (2 frameworks x 500 controls, 200 pages, 20 practices): the whole
   `evidoc build` process against a plain `mkdocs build` of the same pages (the build directory
   evidoc wrote, with its mkdocs.yml), run alternately. Target: within 15 %.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.check_scale import generate  # noqa: E402
from generator.site.build import scratch_dir  # noqa: E402

# Runs in a fresh interpreter, so imports are counted; stops where MkDocs would start.
GENERATOR_ONLY = """
import sys, time
start = time.perf_counter()
from pathlib import Path
from generator.site.assemble import assemble
from generator.site.build import stage
root, work = Path(sys.argv[1]), Path(sys.argv[2])
asm = assemble(root)
stage(asm, work, work / "site")
print(f"{time.perf_counter() - start:.3f} {len(asm.files)} {len(asm.copies)}")
"""


def env() -> dict[str, str]:
    return dict(os.environ, NO_MKDOCS_2_WARNING="1", DISABLE_MKDOCS_2_WARNING="true")


def timed(cmd: list[str], cwd: Path = REPO) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system, with every process it waited for) and stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{err[-3000:]}")
    return seconds, 0.0, out


def timed_cpu(cmd: list[str], cwd: Path = REPO) -> tuple[float, float]:
    """Wall and CPU seconds of a whole process tree (wait4 counts the children it reaped)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        sys.exit(f"failed: {' '.join(cmd)}\n{err[-3000:]}")
    return seconds, usage.ru_utime + usage.ru_stime


def generator_only(root: Path, runs: int) -> tuple[float, float, int]:
    """Best in-process seconds, best whole-process seconds, number of files written."""
    best_inner = best_outer = float("inf")
    files = 0
    for _ in range(runs):
        work = Path(tempfile.mkdtemp(prefix="bench-stage-", dir=scratch_dir()))
        try:
            outer, _, out = timed([sys.executable, "-c", GENERATOR_ONLY, str(root), str(work)])
            inner, generated, copied = out.split()
            files = int(generated) + int(copied)
            best_inner, best_outer = min(best_inner, float(inner)), min(best_outer, outer)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return best_inner, best_outer, files


def side_by_side(root: Path, runs: int) -> dict[str, tuple[float, float]]:
    """Best wall and CPU seconds of `evidoc build` and of a plain `mkdocs build` of the same
    pages, run alternately."""
    work = Path(tempfile.mkdtemp(prefix="bench-plain-"))
    try:
        # The plain build gets exactly the pages and config evidoc hands to MkDocs.
        timed([sys.executable, "-c", GENERATOR_ONLY, str(root), str(work)])
        evidoc = [
            *(sys.executable, "-m", "generator", "build", "--root", str(root)),
            *("--site-dir", str(work / "evidoc-site")),
        ]
        plain = [
            *(sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"),
            *("--config-file", str(work / "mkdocs.yml")),
        ]
        best = {"evidoc": (float("inf"), float("inf")), "plain": (float("inf"), float("inf"))}
        for _ in range(runs):
            for name, cmd in (("evidoc", evidoc), ("plain", plain)):
                wall, cpu = timed_cpu(cmd, cwd=root)
                best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
        best["pages"] = (float(sum(1 for _ in (work / "docs").rglob("*.md"))), 0.0)
        return best
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "big", frameworks=20, controls=500, pages=2000, practices=200)
        inner, outer, files = generator_only(root, args.runs)
        print(
            "synthetic: 20 frameworks x 500 controls = 10,000 controls, 2,000 pages, 200 practices"
        )
        print(
            f"  generator before MkDocs: {inner:.2f} s in-process, {outer:.2f} s as a process "
            f"(best of {args.runs}; {files:,} files staged)   [target <= 5 s]"
        )

        root = generate(Path(tmp) / "site", frameworks=2, controls=500, pages=200, practices=20)
        best = side_by_side(root, args.runs)
        pages = int(best["pages"][0])
        (ewall, ecpu), (pwall, pcpu) = best["evidoc"], best["plain"]
        print(f"1,000-control site: 2 frameworks x 500 controls, {pages} Markdown pages")
        print(
            f"  wall: evidoc build {ewall:.2f} s, plain mkdocs build of the same pages "
            f"{pwall:.2f} s: {(ewall - pwall) / pwall * 100:+.1f} %   [target <= +15 %]"
        )
        print(
            f"  CPU:  evidoc build {ecpu:.2f} s, plain mkdocs build {pcpu:.2f} s: "
            f"{(ecpu - pcpu) / pcpu * 100:+.1f} %   (best of {args.runs}, alternating)"
        )


if __name__ == "__main__":
    main()
