"""Benchmark Git evidence at scale: collect and evaluate one year of a 50,000-commit history.

    .venv/bin/python benchmarks/git_scale.py [--commits 50000] [--years 2] [--runs 3] [--gc]
        [--keep DIR]

The repository is written with `git fast-import` into a temporary directory: a main branch of
reviewed feature merges (1-3 commits each, a Reviewed-by trailer on the merge), squash commits
with an Approved-by trailer, and a few direct pushes, spread evenly over `--years` up to now,
over a tree of 1,600 files. An instance with one repository and the Git checks is written next
to it. Then, each as a whole process, as a user runs them:

    evidoc collect --root INSTANCE          (the Git collector; no clusters are configured)
    evidoc check --root INSTANCE --require verified --format json

Printed: commits in the audit period, wall time and peak RSS of each process, and their sum.
Target on a 2-core machine: collect + check <= 5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEOPLE = [(f"Engineer {i:02d}", f"eng{i:02d}@example.org") for i in range(24)]
MAINTAINERS = PEOPLE[:4]
FILES = [f"apps/app{a:02d}/{env}/file{f}.yaml" for a in range(40) for env in
         ("dev", "test", "staging", "prod") for f in range(10)]  # fmt: skip


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")
    return env


def fast_import_stream(commits: int, start: dt.datetime, end: dt.datetime, seed: int = 11):
    """Yield the fast-import commands, chunk by chunk; the number of commits is exact."""
    rng = random.Random(seed)
    step = (end - start).total_seconds() / commits
    made = 0
    mark = 0

    def stamp() -> int:
        return int(start.timestamp() + made * step)

    def commit(ref: str, who: tuple[str, str], message: str, parents: list[int], files: list[str],
               committer: tuple[str, str] | None = None) -> tuple[int, str]:  # fmt: skip
        nonlocal mark, made
        mark += 1
        made += 1
        by = committer or who
        msg = message.encode()
        lines = [
            f"commit {ref}",
            f"mark :{mark}",
            f"author {who[0]} <{who[1]}> {stamp()} +0000",
            f"committer {by[0]} <{by[1]}> {stamp()} +0000",
            f"data {len(msg)}",
            message,
        ]
        if parents:
            lines.append(f"from :{parents[0]}")
        lines += [f"merge :{p}" for p in parents[1:]]
        for path in files:
            body = f"revision: {mark}\n"
            lines += [f"M 644 inline {path}", f"data {len(body)}", body.rstrip("\n")]
        return mark, "\n".join(lines) + "\n\n"

    main_mark, text = commit(
        "refs/heads/main", MAINTAINERS[0], "Initial layout", [], FILES
    )  # one big tree
    yield text
    while made < commits:
        left = commits - made
        roll = rng.random()
        author = rng.choice(PEOPLE)
        files = rng.sample(FILES, rng.randint(1, 3))
        if roll < 0.70 and left >= 2:
            k = min(rng.randint(1, 3), left - 1)
            tip = main_mark
            touched: list[str] = []
            for i in range(k):
                change = rng.sample(FILES, rng.randint(1, 2))
                touched += change
                tip, text = commit(
                    "refs/heads/feature", author, f"Change {made} part {i + 1}", [tip], change
                )
                yield text
            reviewer = rng.choice([p for p in PEOPLE if p != author])
            if rng.random() < 0.01:
                reviewer = author  # the occasional self-review
            merger = rng.choice(MAINTAINERS)
            message = f"Merge feature {made}\n\nReviewed-by: {reviewer[0]} <{reviewer[1]}>\n"
            main_mark, text = commit(
                "refs/heads/main", merger, message, [main_mark, tip], sorted(set(touched))
            )
            yield text
        elif roll < 0.98:
            approver = rng.choice([p for p in PEOPLE if p != author])
            message = f"Squashed change {made}\n\nApproved-by: {approver[0]} <{approver[1]}>\n"
            committer = rng.choice(MAINTAINERS)
            main_mark, text = commit(
                "refs/heads/main", author, message, [main_mark], files, committer
            )
            yield text
        else:
            main_mark, text = commit(
                "refs/heads/main", author, f"Direct change {made}", [main_mark], files
            )
            yield text


def build_repo(path: Path, commits: int, years: float, gc: bool) -> Path:
    end = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(days=365 * years)
    path.mkdir(parents=True)
    env = _env()
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet"], cwd=path, stdin=subprocess.PIPE, env=env
    )
    assert proc.stdin is not None
    for chunk in fast_import_stream(commits, start, end - dt.timedelta(hours=1)):
        proc.stdin.write(chunk.encode())
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "update-ref", "-d", "refs/heads/feature"], cwd=path, env=env)
    if gc:
        subprocess.run(["git", "gc", "-q"], cwd=path, check=True, env=env)
    return path


def write_instance(root: Path, repo: Path) -> Path:
    (root / "controls/practices").mkdir(parents=True)
    (root / "evidence").mkdir()
    (root / "controls/scope.yaml").write_text("frameworks: []\n")
    (root / "controls/practices/change-management.yaml").write_text(
        "id: change-management\n"
        "title: Change management\n"
        "owner: Head of Platform\n"
        "statement: Every change to main is approved by someone other than its author.\n"
        "checks:\n"
        "  - id: git.reviewed-changes\n"
        "    with: {approvals: 1}\n"
        "  - id: git.branch-protection\n"
        "    with: {approvals: 1}\n"
        "  - id: git.signed-commits\n"
    )
    (root / "evidence/sources.yaml").write_text(
        f"repositories:\n  - name: shop-gitops\n    path: {json.dumps(str(repo))}\n"
        "    branch: main\n"
    )
    return root


@dataclass
class Measured:
    wall: float  # seconds
    cpu: float  # user + system seconds of the process and its children (git)
    rss: float  # peak resident set, MB
    done: subprocess.CompletedProcess


def run_child(args: list[str]) -> Measured:
    """Run one process and measure it from a fresh parent, so the numbers are its own."""
    probe = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "w = time.perf_counter() - t\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "sys.stderr.buffer.write(p.stderr)\n"
        "print(json.dumps({'wall': w, 'rss': u.ru_maxrss / 1024,\n"
        "                  'cpu': u.ru_utime + u.ru_stime, 'code': p.returncode}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True)
    stats = json.loads(proc.stdout.decode().rstrip().splitlines()[-1])
    done = subprocess.CompletedProcess(args, stats["code"], "", proc.stderr.decode())
    return Measured(stats["wall"], stats["cpu"], stats["rss"], done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--years", type=float, default=2.0, help="history spread over this span")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gc", action="store_true", help="git gc the repository first")
    parser.add_argument("--keep", type=Path, default=None, help="build here and keep it")
    args = parser.parse_args()

    base = args.keep or Path(tempfile.mkdtemp(prefix="evidoc-git-bench-"))
    started = time.perf_counter()
    repo = build_repo(base / "shop-gitops", args.commits, args.years, args.gc)
    count = subprocess.run(
        ["git", "rev-list", "--count", "main"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    print(f"built {count} commits with git fast-import in {time.perf_counter() - started:.1f} s")
    instance = write_instance(base / "instance", repo)
    evidoc = [sys.executable, "-m", "generator"]
    runs: list[tuple[Measured, Measured]] = []
    for run in range(args.runs):
        for snap in (instance / "evidence/snapshots").glob("*"):
            shutil.rmtree(snap)
        collected = run_child([*evidoc, "collect", "--root", str(instance)])
        if collected.done.returncode == 2 and "no clusters" in collected.done.stderr:
            # `evidoc collect` wants a cluster; collect the repository alone, still one process
            collected = run_child(
                [sys.executable, "-m", "generator.collect.git", "--root", str(instance)]
            )
            if run == 0:
                print("(evidoc collect needs a cluster: timed python -m generator.collect.git)")
        if collected.done.returncode != 0:
            raise SystemExit(f"collect failed: {collected.done.stderr}")
        checked = run_child(
            [*evidoc, "check", "--root", str(instance), "--require", "verified", "--format", "json"]
        )
        if checked.done.returncode not in (0, 1):
            raise SystemExit(f"check failed: {checked.done.stderr}")
        runs.append((collected, checked))
        print(
            f"run {run + 1}: collect {collected.wall:.2f} s (cpu {collected.cpu:.2f} s, "
            f"{collected.rss:.0f} MB), check {checked.wall:.2f} s (cpu {checked.cpu:.2f} s, "
            f"{checked.rss:.0f} MB), together {collected.wall + checked.wall:.2f} s"
        )
    snapshot = sorted((instance / "evidence/snapshots").glob("2*"))[-1]
    item = snapshot / "items/git/shop-gitops/commits.json"
    period = json.loads(item.read_bytes())
    print(
        f"audit period {period['period']['since'][:10]} .. {period['period']['until'][:10]}: "
        f"{len(period['commits'])} commits on main, item {item.stat().st_size / 1e6:.1f} MB"
    )
    c, e = min(runs, key=lambda r: r[0].wall + r[1].wall)
    print(
        f"best: collect {c.wall:.2f} s, check {e.wall:.2f} s, total {c.wall + e.wall:.2f} s "
        f"(target <= 5 s); peak RSS collect {c.rss:.0f} MB, check {e.rss:.0f} MB; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    if args.keep is None:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
