"""Benchmark `evidoc check` as a whole process on a synthetic library and the shipped instance.

    .venv/bin/python benchmarks/check_scale.py [--frameworks 20] [--controls 500]
        [--pages 2000] [--practices 200] [--runs 3]

Targets on a 2-core machine: synthetic library <= 3 s and <= 300 MB peak RSS; shipped <= 1 s.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def generate(
    root: Path,
    frameworks: int = 20,
    controls: int = 500,
    pages: int = 2000,
    practices: int = 200,
    seed: int = 7,
) -> Path:
    """Write a synthetic instance: every control mapped by a practice or a page tag, a few
    excluded, so the gate does all of its work and passes."""
    rng = random.Random(seed)
    (root / "controls/frameworks").mkdir(parents=True, exist_ok=True)
    (root / "controls/practices").mkdir(parents=True, exist_ok=True)
    (root / "docs").mkdir(parents=True, exist_ok=True)
    per_group = 25
    ids: list[tuple[str, str]] = []
    for f in range(frameworks):
        fid = f"fw{f:02d}"
        lines = [
            f"id: {fid}",
            f"title: Synthetic framework {f}",
            'version: "1"',
            "publisher: Benchmarks",
            "tags:",
            f"  - pattern: '^FW{f:02d} (?P<id>C\\d+\\.\\d+)\\b'",
            "groups:",
        ]
        for g in range((controls + per_group - 1) // per_group):
            lines += [f'  - id: "G{g}"', f"    title: Group {g} of framework {f}", "    controls:"]
            for c in range(g * per_group, min(controls, (g + 1) * per_group)):
                cid = f"C{g}.{c}"
                ids.append((fid, cid))
                lines += [
                    f'      - id: "{cid}"',
                    f"        title: Control {c} of group {g} keeps something safe",
                    "        summary: A synthetic control used to measure the gate.",
                ]
        (root / f"controls/frameworks/{fid}.yaml").write_text("\n".join(lines) + "\n")

    rng.shuffle(ids)
    excluded = ids[:50]
    tagged = ids[50 : 50 + pages * 5]
    rest = ids[50 + pages * 5 :]
    scope = ["frameworks:"] + [f"  - fw{f:02d}" for f in range(frameworks)] + ["exclusions:"]
    for fid, cid in excluded:
        scope += [
            f'  - control: "{fid}:{cid}"',
            "    justification: Not applicable to the synthetic platform.",
            "    approved_by: CISO",
            "    expires: 2099-12-31",
        ]
    (root / "controls/scope.yaml").write_text("\n".join(scope) + "\n")

    for p in range(pages):
        chunk = tagged[p * 5 : p * 5 + 5] or [ids[rng.randrange(len(ids))]]
        tags = "\n".join(f"  - FW{fid[2:]} {cid} Synthetic control" for fid, cid in chunk)
        body = f"---\ntags:\n{tags}\n---\n# Page {p}\n\nSynthetic page {p}.\n"
        (root / f"docs/page-{p:04d}.md").write_text(body)

    per_practice = max(1, (len(rest) + practices - 1) // practices)
    for p in range(practices):
        mine = rest[p * per_practice : (p + 1) * per_practice]
        extra = [ids[rng.randrange(len(ids))] for _ in range(5)]
        sat = "\n".join(
            f'  - control: "{fid}:{cid}"\n    relationship: intersects' for fid, cid in mine + extra
        )
        text = (
            f"id: practice-{p:03d}\ntitle: Practice {p}\nowner: Team {p % 7}\n"
            f"statement: Synthetic practice {p}.\nsatisfies:\n{sat}\n"
            f"docs: [page-{p:04d}.md]\n"
        )
        (root / f"controls/practices/practice-{p:03d}.yaml").write_text(text)
    return root


def run_measured(cmd: list[str], cwd: Path = REPO) -> tuple[float, float, int, bytes]:
    """Wall seconds, peak RSS (MB) of the process itself, exit code and stderr."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stderr = proc.stderr.read() if proc.stderr else b""
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, proc.returncode, stderr


def measure(root: Path, runs: int) -> tuple[float, float, int]:
    """Best wall time of `runs` whole-process runs, and the peak RSS (MB) over them."""
    best, peak, code = float("inf"), 0.0, 0
    for _ in range(runs):
        cmd = [sys.executable, "-m", "generator", "check", "--root", str(root), "--format", "json"]
        seconds, rss, code, stderr = run_measured(cmd)
        if code not in (0, 1):
            sys.exit(f"check failed on {root}:\n{stderr.decode()}")
        best, peak = min(best, seconds), max(peak, rss)
    return best, peak, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", type=int, default=20)
    parser.add_argument("--controls", type=int, default=500)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--practices", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp), args.frameworks, args.controls, args.pages, args.practices)
        seconds, peak, code = measure(root, args.runs)
    total = args.frameworks * args.controls
    print(
        f"synthetic: {args.frameworks} frameworks x {args.controls} controls = {total:,} "
        f"controls, {args.pages:,} pages x 5 tags, {args.practices} practices"
    )
    print(
        f"  evidoc check: {seconds:.2f} s wall (best of {args.runs}), peak RSS {peak:.0f} MB, "
        f"exit {code}   [target <= 3 s, <= 300 MB]"
    )
    seconds, peak, code = measure(REPO, args.runs)
    print(
        f"shipped instance: {seconds:.2f} s wall (best of {args.runs}), peak RSS {peak:.0f} MB, "
        f"exit {code}   "
        f"[target <= 1 s]"
    )


if __name__ == "__main__":
    main()
