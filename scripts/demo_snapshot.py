"""Write the demo evidence snapshot shipped with this repository.

    .venv/bin/python scripts/demo_snapshot.py [--root DIR] [--replace] [--git]

Serves the demo fixtures (tests/kube/world.py: demo_world) from the loopback stand-in API
server on fixed ports (16443 and up, so that the recorded server URLs do not change), and runs
the real collector against them with the clusters and contexts of ROOT/evidence/sources.yaml, at
the fixed time 2026-11-22T08:00:00Z with a fixed digest key: the same code gives the same bytes.
The manifest is marked as demo data, and its items stay fresh for 400 days so that the shipped
instance shows real statuses offline.

--git also runs the Git collector into the same snapshot (the repositories of sources.yaml must
exist). --replace removes an existing snapshot of the same timestamp first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator.collect.run import collect  # noqa: E402
from generator.loader import load_library  # noqa: E402
from generator.snapshot.store import SNAPSHOTS, snapshot_id  # noqa: E402
from tests.kube.apiserver import StandIn, write_kubeconfig  # noqa: E402
from tests.kube.world import demo_world  # noqa: E402

AT = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
TTL_DAYS = 400
DIGEST_KEY = b"evidoc demo digest key: public, for the demo data only"
FIRST_PORT = 16443
NOTE = (
    "Demo data: collected by `evidoc collect` from the fixtures of the loopback stand-in API "
    "server (tests/kube), not from a real cluster. Kubernetes items stay fresh for "
    f"{TTL_DAYS} days instead of the usual 7 so that this instance shows real statuses offline. "
    "The production payment API key in the staging ConfigMap shop-config is planted on purpose: "
    "kubernetes.no-production-data fails for staging."
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO)
    parser.add_argument("--replace", action="store_true")
    parser.add_argument("--git", action="store_true", help="also collect the Git repositories")
    args = parser.parse_args()

    library = load_library(args.root)
    if library.sources is None:
        print(f"{args.root}/evidence/sources.yaml is missing", file=sys.stderr)
        return 2
    world = demo_world()
    clusters = {c.name: c for e in library.sources.model.environments for c in e.clusters}
    if set(clusters) != set(world.builders):
        print(
            f"sources.yaml names clusters {sorted(clusters)}; the demo fixtures have "
            f"{sorted(world.builders)}",
            file=sys.stderr,
        )
        return 2
    out = args.root / SNAPSHOTS
    target = out / snapshot_id(AT)
    if target.exists():
        if not args.replace:
            print(f"{target} exists; use --replace to write it again", file=sys.stderr)
            return 2
        shutil.rmtree(target)

    with tempfile.TemporaryDirectory(prefix="evidoc-demo-") as tmp:
        ports = {name: FIRST_PORT + i for i, name in enumerate(sorted(world.builders))}
        stand_in = StandIn(world.clusters, Path(tmp), host="localhost", ports=ports).start()
        try:
            assert stand_in.pki is not None
            kubeconfig = write_kubeconfig(
                Path(tmp) / "kubeconfig",
                {
                    str(clusters[name].context or name): (s.url, s.cluster.token)
                    for name, s in stand_in.servers.items()
                },
                stand_in.pki,
            )
            path = collect(
                args.root,
                out_dir=out,
                now=AT,
                kubeconfig=kubeconfig,
                digest_key=DIGEST_KEY,
                ttl=TTL_DAYS * 24 * 3600,
                demo=True,
                note=NOTE,
                git=args.git,
                library=library,
                host="demo-collector",  # not this machine's name: the demo stays byte-identical
            )
        finally:
            stand_in.stop()
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
