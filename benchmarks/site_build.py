"""Benchmark `evidoc build` on synthetic libraries.

    .venv/bin/python benchmarks/site_build.py [--runs 5] [--only generator|site]

1. The generator's own work, before MkDocs starts (load, evaluate, report, render every page,
   write the build directory and its mkdocs.yml where `evidoc build` writes it), on the gate
   benchmark's synthetic library:
   20 frameworks x 500 controls = 10,000 controls, 2,000 pages, 200 practices.
   Target: <= 5 s.
2. A 1,000-control site (2 frameworks x 500 controls, 200 pages, 20 practices): the whole
   `evidoc build` process against a plain `mkdocs build` of the same pages (the build directory
   evidoc wrote, with its mkdocs.yml), run in turn. `evidoc build` runs twice each time: with
   the compiled templates kept from earlier runs (generator/site/jinja_cache.py) and without
   them (EVIDOC_JINJA_CACHE=off, as on a first run). Target: the median `evidoc build` within
   15 % of the median plain build (best runs are printed too).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
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


# Compiled templates are kept between runs in $XDG_CACHE_HOME/evidoc/jinja
# (generator/site/jinja_cache.py): the benchmark uses a cache directory of its own.
CACHE = tempfile.mkdtemp(prefix="bench-cache-")


def env(**extra: str) -> dict[str, str]:
    return dict(
        os.environ,
        NO_MKDOCS_2_WARNING="1",
        DISABLE_MKDOCS_2_WARNING="true",
        XDG_CACHE_HOME=CACHE,
        **extra,
    )


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


def timed_cpu(cmd: list[str], cwd: Path = REPO, **extra: str) -> tuple[float, float]:
    """Wall and CPU seconds of a whole process tree (wait4 counts the children it reaped)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env(**extra), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
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


# The two ways `evidoc build` runs: with the compiled templates of earlier runs (a developer's
# machine, a CI job that keeps its cache directory) and without (a first run).
EVIDOC_RUNS = {"evidoc": {}, "evidoc, no cache": {"EVIDOC_JINJA_CACHE": "off"}}


def side_by_side(root: Path, runs: int) -> tuple[dict[str, list[tuple[float, float]]], int]:
    """Wall and CPU seconds of every run of `evidoc build` (with and without the template cache)
    and of a plain `mkdocs build` of the same pages, run in turn after one round that is not
    counted, and the number of Markdown pages built."""
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
        timings: dict[str, list[tuple[float, float]]] = {
            "plain": [],
            **{k: [] for k in EVIDOC_RUNS},
        }
        for n in range(runs + 1):
            for name in timings:
                cmd = plain if name == "plain" else evidoc
                timing = timed_cpu(cmd, cwd=root, **EVIDOC_RUNS.get(name, {}))
                if n:
                    timings[name].append(timing)
        return timings, sum(1 for _ in (work / "docs").rglob("*.md"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("generator", "site"), help="run one of the two parts")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "site":
            root = generate(
                Path(tmp) / "big", frameworks=20, controls=500, pages=2000, practices=200
            )
            inner, outer, files = generator_only(root, args.runs)
            print(
                "synthetic: 20 frameworks x 500 controls = 10,000 controls, 2,000 pages, "
                "200 practices"
            )
            print(
                f"  generator before MkDocs: {inner:.2f} s in-process, {outer:.2f} s as a process "
                f"(best of {args.runs}; {files:,} files staged)   [target <= 5 s]"
            )
        if args.only != "generator":
            root = generate(Path(tmp) / "site", frameworks=2, controls=500, pages=200, practices=20)
            site(root, args.runs)


def site(root: Path, runs: int) -> None:
    timings, pages = side_by_side(root, runs)
    print(f"1,000-control site: 2 frameworks x 500 controls, {pages} Markdown pages")
    for label, index in (("wall", 0), ("CPU", 1)):
        plain = [t[index] for t in timings["plain"]]
        for name in EVIDOC_RUNS:
            evidoc = [t[index] for t in timings[name]]
            for how, pick in (("median", statistics.median), ("best", min)):
                e, p = pick(evidoc), pick(plain)
                target = "   [target <= +15 %]" if (label, how) == ("wall", "median") else ""
                print(
                    f"  {label + ',':5} {how + ':':7} {name + ' build':23} {e:.2f} s, plain "
                    f"mkdocs build of the same pages {p:.2f} s: {(e - p) / p * 100:+.1f} %{target}"
                )
    print(f"  ({runs} runs of each, in turn, after one that is not counted)")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(CACHE, ignore_errors=True)
