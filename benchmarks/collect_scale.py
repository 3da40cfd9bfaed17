"""Benchmark: `evidoc collect` from three clusters of 20,000 objects each, then every check.

    .venv/bin/python benchmarks/collect_scale.py [--objects 20000] [--clusters 3] [--keep DIR]

The stand-in API server (tests/kube/apiserver.py, fixtures from tests/kube/world.py) runs in its
own process and has encoded every object before timing starts. `evidoc collect` runs as a
separate process; its wall time and peak RSS (the whole process, from wait4) are measured. Then
all Kubernetes checks run on the snapshot it wrote (loading the evidence included).

Targets: collect <= 10 s and <= 300 MB peak RSS; all checks <= 2 s. Exit 1 if one is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator.loader import load_library  # noqa: E402
from generator.pipeline import evaluate  # noqa: E402
from generator.snapshot.store import load_snapshot  # noqa: E402
from tests.kube.offline import write_instance  # noqa: E402
from tests.kube.world import THREE_CLUSTERS, build_world  # noqa: E402

COLLECT_SECONDS = 10.0
COLLECT_MB = 300.0
CHECK_SECONDS = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20_000, help="objects per cluster")
    parser.add_argument("--clusters", type=int, default=3, choices=[1, 2, 3])
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="evidoc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"starting the stand-in: {args.clusters} cluster(s) x {args.objects} objects ...")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.kube.apiserver",
            "--dir",
            str(work / "standin"),
            "--objects",
            str(args.objects),
            "--clusters",
            str(args.clusters),
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline())
        print(f"  objects served: {ready['objects']}")
        world = build_world(THREE_CLUSTERS[: args.clusters])
        root = write_instance(work / "inst", world, kubeconfig=ready["kubeconfig"])
        key = work / "digest.key"
        key.write_bytes(b"benchmark digest key, not a secret")

        start = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "generator",
                "collect",
                "--root",
                str(root),
                "--digest-key",
                str(key),
                "--out",
                str(work / "snapshots"),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out = proc.stdout.read() if proc.stdout else ""
        err = proc.stderr.read() if proc.stderr else ""
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            print(out, err, sep="\n")
            print(f"collect failed with exit code {code}")
            return 1
        rss_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
        print(f"  {out.strip()}")
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)

    snapshot = next(p for p in (work / "snapshots").iterdir() if not p.name.startswith("."))
    size = sum(f.stat().st_size for f in snapshot.rglob("*") if f.is_file())
    library = load_library(root)
    start = time.perf_counter()
    snap = load_snapshot(snapshot)
    results = evaluate(library, snap, snap.created_at)
    checks = time.perf_counter() - start
    kube = [r for r in results.results if r.check.startswith("kubernetes.")]

    rows = [
        (
            "collect wall time",
            f"{wall:.2f} s",
            f"<= {COLLECT_SECONDS:.0f} s",
            wall <= COLLECT_SECONDS,
        ),
        ("collect peak RSS", f"{rss_mb:.0f} MB", f"<= {COLLECT_MB:.0f} MB", rss_mb <= COLLECT_MB),
        ("all checks", f"{checks:.2f} s", f"<= {CHECK_SECONDS:.0f} s", checks <= CHECK_SECONDS),
    ]
    print(
        f"snapshot: {snapshot} ({size / 1e6:.1f} MB, {len(snap.manifest.items)} items); "
        f"{len(kube)} check results"
    )
    for name, value, target, ok in rows:
        print(f"{name:<20} {value:>10}   target {target:<10} {'ok' if ok else 'MISSED'}")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
