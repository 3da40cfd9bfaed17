"""Build the demo shop-gitops repository: the Git history behind the shipped demo snapshot.

    .venv/bin/python scripts/make_demo_repo.py PATH [--now 2026-11-22T08:00:00Z] [--replace]

A year of a Kustomize repository (base/, envs/development, envs/staging, envs/production)
up to `--now`: feature branches merged into main with a Reviewed-by trailer naming a colleague,
a squash-merged change with an Approved-by trailer, one hotfix pushed straight to main at night,
and one merge reviewed by its own author. Authors, dates and contents are fixed, so every build
has the same commit ids. `origin` is set to the URL the demo Argo CD Applications follow
(https://git.example.com/shop/shop-gitops.git) without fetching anything.

To put the history into the demo snapshot, build it where evidence/sources.yaml expects it and
collect with Git:

    .venv/bin/python scripts/make_demo_repo.py ../shop-gitops --replace
    .venv/bin/python scripts/demo_snapshot.py --git --replace
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

ORIGIN = "https://git.example.com/shop/shop-gitops.git"
DEFAULT_NOW = "2026-11-22T08:00:00Z"

MAJA = ("Maja Lind", "maja.lind@shop.example")  # platform lead, merges
OSKAR = ("Oskar Berg", "oskar.berg@shop.example")
LEILA = ("Leila Haddad", "leila.haddad@shop.example")
JONAS = ("Jonas Ek", "jonas.ek@shop.example")
ENVS = ("development", "staging", "production")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", HOME=str(home), TZ="UTC")
    return env


class Builder:
    def __init__(self, path: Path, start: dt.datetime) -> None:
        self.path = path
        self.env = _env(path.parent)
        self.clock = start
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, who: tuple[str, str] | None = None, text: str | None = None) -> str:
        env = dict(self.env)
        if who is not None:
            stamp = self.clock.strftime("%Y-%m-%dT%H:%M:%S+0000")
            env.update(
                GIT_AUTHOR_NAME=who[0],
                GIT_AUTHOR_EMAIL=who[1],
                GIT_COMMITTER_NAME=who[0],
                GIT_COMMITTER_EMAIL=who[1],
                GIT_AUTHOR_DATE=stamp,
                GIT_COMMITTER_DATE=stamp,
            )
        proc = subprocess.run(
            ["git", *args], cwd=self.path, env=env, input=text, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise SystemExit(f"git {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def later(self, days: float = 0, hours: float = 0) -> None:
        self.clock += dt.timedelta(days=days, hours=hours)

    def write(self, files: dict[str, str]) -> None:
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            self.git("add", "--", name)

    def commit(self, who: tuple[str, str], message: str, files: dict[str, str]) -> None:
        self.write(files)
        self.git("commit", "-q", "-F", "-", who=who, text=message.strip() + "\n")

    def change(
        self,
        branch: str,
        author: tuple[str, str],
        commits: list[tuple[str, dict[str, str]]],
        reviewer: tuple[str, str],
        merger: tuple[str, str] = MAJA,
    ) -> None:
        """A feature branch, reviewed, merged with --no-ff a few hours later."""
        self.git("checkout", "-q", "-b", branch, "main")
        for message, files in commits:
            self.commit(author, message, files)
            self.later(hours=1.5)
        self.git("checkout", "-q", "main")
        self.later(hours=3)
        message = f"Merge branch '{branch}'\n\nReviewed-by: {reviewer[0]} <{reviewer[1]}>\n"
        self.git("merge", "-q", "--no-ff", "-m", message.strip(), branch, who=merger)
        self.git("branch", "-q", "-D", branch)


def kustomization(resources: list[str], extra: str = "") -> str:
    lines = "".join(f"  - {r}\n" for r in resources)
    head = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
    return f"{head}resources:\n{lines}{extra}"


def overlay(env: str, replicas: int, image: str = "1.4.0") -> str:
    namespace = {"development": "shop-dev", "staging": "shop-staging", "production": "shop"}[env]
    return kustomization(
        ["../../base"],
        f"namespace: {namespace}\n"
        f"images:\n  - name: registry.example.com/shop/web\n    newTag: {image}\n"
        f"replicas:\n  - name: web\n    count: {replicas}\n",
    )


def build(path: Path, now: dt.datetime) -> None:
    b = Builder(path, now - dt.timedelta(days=420))  # the layout predates the audit year
    b.commit(
        MAJA,
        "Lay out base and overlays for the shop",
        {
            "base/kustomization.yaml": kustomization(["deployment.yaml", "service.yaml"]),
            "base/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
            "  name: web\nspec:\n  template:\n    spec:\n      containers:\n"
            "        - name: web\n          image: registry.example.com/shop/web\n",
            "base/service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
            "spec:\n  ports:\n    - port: 80\n      targetPort: 8080\n",
            **{f"envs/{e}/kustomization.yaml": overlay(e, 1) for e in ENVS},
        },
    )
    b.later(days=129)
    b.change(
        "feature/network-policy",
        OSKAR,
        [
            (
                "Deny ingress to the shop by default",
                {"base/networkpolicy.yaml": "kind: NetworkPolicy\nspec:\n  podSelector: {}\n"},
            ),
            (
                "Add the network policy to the base",
                {
                    "base/kustomization.yaml": kustomization(
                        ["deployment.yaml", "service.yaml", "networkpolicy.yaml"]
                    )
                },
            ),
        ],
        reviewer=LEILA,
    )
    for i, (env, replicas) in enumerate((("staging", 2), ("production", 3))):
        b.later(days=21 + i * 5)
        b.change(
            f"scale-{env}",
            LEILA,
            [
                (
                    f"Run {replicas} replicas in {env}",
                    {f"envs/{env}/kustomization.yaml": overlay(env, replicas)},
                )
            ],
            reviewer=OSKAR if i == 0 else JONAS,
        )
    b.later(days=30)
    b.change(
        "feature/pdb",
        JONAS,
        [
            (
                "Add a PodDisruptionBudget",
                {"base/pdb.yaml": "kind: PodDisruptionBudget\nspec:\n  minAvailable: 1\n"},
            )
        ],
        reviewer=MAJA,
        merger=OSKAR,
    )
    # a squash merge from the forge: one commit on main, the approval kept as a trailer
    b.later(days=18)
    b.commit(
        OSKAR,
        "Set resource requests and limits (#27)\n\n"
        "Approved-by: Maja Lind <maja.lind@shop.example>\n"
        "Signed-off-by: Oskar Berg <oskar.berg@shop.example>",
        {"base/resources.yaml": "requests:\n  cpu: 100m\n  memory: 128Mi\n"},
    )
    for release, days in (("1.5.0", 24), ("1.6.0", 33)):
        b.later(days=days)
        b.change(
            f"release-{release}",
            LEILA,
            [
                (
                    f"Roll out web {release} to development and staging",
                    {
                        f"envs/{e}/kustomization.yaml": overlay(e, r, release)
                        for e, r in (("development", 1), ("staging", 2))
                    },
                )
            ],
            reviewer=JONAS,
        )
        b.later(days=4)
        b.change(
            f"promote-{release}",
            LEILA,
            [
                (
                    f"Promote web {release} to production",
                    {"envs/production/kustomization.yaml": overlay("production", 3, release)},
                )
            ],
            reviewer=MAJA,
        )
    # the exception an audit should find: a hotfix pushed straight to main at night
    b.later(days=12, hours=15)
    b.commit(
        JONAS,
        "Hotfix: raise production replicas to 5 during the sale",
        {"envs/production/kustomization.yaml": overlay("production", 5, "1.6.0")},
    )
    b.later(days=2, hours=-15)
    # and a merge whose only review is by the author of the change
    b.change(
        "feature/hpa",
        JONAS,
        [
            (
                "Scale production with an HPA",
                {"envs/production/hpa.yaml": "kind: HorizontalPodAutoscaler\n"},
            )
        ],
        reviewer=JONAS,
    )
    b.later(days=20)
    b.change(
        "release-1.6.1",
        OSKAR,
        [
            (
                "Roll out web 1.6.1 everywhere",
                {f"envs/{e}/kustomization.yaml": overlay(e, r, "1.6.1") for e, r in
                 (("development", 1), ("staging", 2), ("production", 5))},
            )
        ],
        reviewer=LEILA,
    )  # fmt: skip
    b.later(days=41)
    b.change(
        "feature/ingress-tls",
        OSKAR,
        [
            ("Serve the shop over TLS", {"base/ingress.yaml": "kind: Ingress\nspec:\n  tls: []\n"}),
            (
                "Add the ingress to the base",
                {
                    "base/kustomization.yaml": kustomization(
                        ["deployment.yaml", "service.yaml", "networkpolicy.yaml", "ingress.yaml"]
                    )
                },
            ),
        ],
        reviewer=MAJA,
        merger=LEILA,
    )
    if b.clock >= now:
        raise SystemExit(f"the history runs past --now ({b.clock:%Y-%m-%d}); choose a later --now")
    b.git("remote", "add", "origin", ORIGIN)
    b.git("update-ref", "refs/remotes/origin/main", "refs/heads/main")
    b.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--now", default=DEFAULT_NOW, help="the history ends before this time")
    parser.add_argument("--replace", action="store_true", help="remove PATH first")
    args = parser.parse_args()
    now = dt.datetime.fromisoformat(args.now.replace("Z", "+00:00"))
    if args.path.exists():
        if not args.replace:
            print(f"{args.path} exists; use --replace to build it again", file=sys.stderr)
            return 2
        shutil.rmtree(args.path)
    build(args.path, now)
    head = subprocess.run(
        ["git", "-C", str(args.path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(f"built {args.path} (main at {head})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
