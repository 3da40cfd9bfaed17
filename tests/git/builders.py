"""Real Git repositories for tests, built with the git CLI.

Every command runs with the user's and the system's git configuration switched off and with
explicit author and committer dates, so a repository built twice has the same commit ids (except
for signed commits: each test makes its own key).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

Person = tuple[str, str]  # (name, email)

ALICE: Person = ("Alice Lund", "alice@example.org")  # maintainer, merges
BOB: Person = ("Bob Berg", "bob@example.org")
CAROL: Person = ("Carol Sand", "carol@example.org")
DAVE: Person = ("Dave Holm", "dave@example.org")

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def isolated_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GNUPG", "SSH_AUTH"))}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(home),
        LC_ALL="C",
        TZ="UTC",
    )
    return env


def run_git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def person(p: Person) -> str:
    return f"{p[0]} <{p[1]}>"


def trailers(**values: list[str] | str) -> str:
    """Trailer lines: trailers(Reviewed_by="Carol <c@x>") -> 'Reviewed-by: Carol <c@x>'."""
    lines = []
    for key, value in values.items():
        for v in [value] if isinstance(value, str) else value:
            lines.append(f"{key.replace('_', '-')}: {v}")
    return "\n".join(lines)


@dataclass
class SigningKey:
    """An SSH key made with ssh-keygen, for `gpg.format=ssh` signing."""

    path: Path
    public: str

    @classmethod
    def make(cls, directory: Path, name: str) -> SigningKey:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / name
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)],
            check=True,
            capture_output=True,
        )
        return cls(path, path.with_suffix(".pub").read_text().strip())


def allowed_signers(path: Path, entries: list[tuple[str, SigningKey]]) -> Path:
    path.write_text("".join(f"{email} {key.public}\n" for email, key in entries))
    return path


@dataclass
class GitRepo:
    """A working repository with a clock: each commit is one hour after the previous one."""

    path: Path
    env: dict[str, str]
    clock: dt.datetime = START
    shas: dict[str, str] = field(default_factory=dict)  # label -> commit id

    @classmethod
    def init(cls, path: Path, branch: str = "main", start: dt.datetime = START) -> GitRepo:
        path.mkdir(parents=True)
        env = isolated_env(path.parent)
        run_git(path, "init", "-q", "-b", branch, env=env)
        return cls(path, env, start)

    def git(self, *args: str, at: dt.datetime | None = None, who: Person | None = None) -> str:
        env = dict(self.env)
        if at is not None:
            stamp = at.strftime("%Y-%m-%dT%H:%M:%S+0000")
            env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
        if who is not None:
            env.update(
                GIT_AUTHOR_NAME=who[0],
                GIT_AUTHOR_EMAIL=who[1],
                GIT_COMMITTER_NAME=who[0],
                GIT_COMMITTER_EMAIL=who[1],
            )
        return run_git(self.path, *args, env=env)

    def tick(self, hours: float = 1) -> dt.datetime:
        self.clock += dt.timedelta(hours=hours)
        return self.clock

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def checkout(self, branch: str, new: bool = False, start: str | None = None) -> None:
        self.git("checkout", "-q", *(["-b"] if new else []), branch, *([start] if start else []))

    def commit(
        self,
        label: str,
        message: str,
        who: Person,
        files: dict[str, str] | None = None,
        *,
        committer: Person | None = None,
        key: SigningKey | None = None,
        at: dt.datetime | None = None,
    ) -> str:
        for name, text in (files or {label.replace(" ", "-") + ".txt": label}).items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            self.git("add", "--", name)
        when = at or self.tick()
        signing = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key.path}"] if key else []
        env_who = who
        args = [*signing, "commit", "-q", "--allow-empty", *(["-S"] if key else []), "-F", "-"]
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S+0000")
        env = dict(self.env)
        env.update(
            GIT_AUTHOR_DATE=stamp,
            GIT_COMMITTER_DATE=stamp,
            GIT_AUTHOR_NAME=env_who[0],
            GIT_AUTHOR_EMAIL=env_who[1],
            GIT_COMMITTER_NAME=(committer or who)[0],
            GIT_COMMITTER_EMAIL=(committer or who)[1],
        )
        proc = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env=env,
            input=textwrap.dedent(message).strip() + "\n",
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"git commit failed: {proc.stderr.strip()}")
        self.shas[label] = self.head()
        return self.shas[label]

    def merge(
        self,
        label: str,
        branch: str,
        message: str,
        who: Person = ALICE,
        *,
        key: SigningKey | None = None,
    ) -> str:
        when = self.tick()
        signing = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key.path}"] if key else []
        self.git(
            *signing,
            "merge",
            "-q",
            "--no-ff",
            *(["-S"] if key else []),
            "-m",
            textwrap.dedent(message).strip(),
            branch,
            at=when,
            who=who,
        )
        self.shas[label] = self.head()
        return self.shas[label]

    def feature(
        self,
        name: str,
        commits: list[tuple[str, Person]],
        *,
        merge_message: str,
        merger: Person = ALICE,
        base: str = "main",
    ) -> str:
        """A feature branch with `commits` (label, author), merged into `base` with --no-ff."""
        self.checkout(f"feature/{name}", new=True, start=base)
        for label, author in commits:
            self.commit(label, f"{label}\n", author)
        self.checkout(base)
        return self.merge(f"merge {name}", f"feature/{name}", merge_message, merger)


def bare_clone(source: Path, target: Path, env: dict[str, str]) -> Path:
    run_git(source.parent, "clone", "-q", "--bare", str(source), str(target), env=env)
    return target


# ---------------------------------------------------------------------------------------------
# the shop-gitops history most tests use

PERIOD_START = dt.date(2026, 1, 1)


def build_shop(path: Path) -> GitRepo:
    """Main with one change of every kind; labels name the commits that reached main.

    - "initial": long before the audit period
    - "merge ingress": Bob's two commits, reviewed by Carol (approved)
    - "merge quota": Bob's commit, "reviewed" by Bob himself (self-approved)
    - "hotfix": Dave pushes straight to main (direct push)
    - "merge netpol": Carol's commit co-authored by Dave, reviewed by Dave (self-approved)
    - "merge limits": Bob's commit merged with no review trailer (unreviewed)
    - "squashed": a squash-merged change by Bob with an Approved-by trailer (approved)
    - "rebased 1", "rebased 2": Carol's commits put on main by Alice, without trailers
    - "merge old-branch": a commit by Carol made before the period, merged in it, reviewed
      by Alice (approved)
    """
    repo = GitRepo.init(path)
    repo.commit(
        "initial",
        "Initial layout",
        ALICE,
        {"apps/shop/kustomization.yaml": "resources: []\n"},
        at=dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC),
    )
    # a side branch started before the period (inside the collector's look-back margin)
    repo.checkout("feature/old-branch", new=True)
    repo.commit(
        "old work",
        "Add staging overlay",
        CAROL,
        {"apps/shop/overlays/staging/kustomization.yaml": "namePrefix: staging-\n"},
        at=dt.datetime(2025, 12, 20, 15, tzinfo=dt.UTC),
    )
    repo.checkout("main")
    repo.feature(
        "ingress",
        [("ingress host", BOB), ("ingress tls", BOB)],
        merge_message="Merge feature/ingress\n\n" + trailers(Reviewed_by=person(CAROL)),
    )
    repo.feature(
        "quota",
        [("quota", BOB)],
        merge_message="Merge feature/quota\n\n" + trailers(Reviewed_by=person(BOB)),
    )
    repo.commit(
        "hotfix",
        "Scale shop to 3 replicas",
        DAVE,
        {"apps/shop/values prod.yaml": "replicas: 3\n", "docs/ärende.md": "# Ärende\n"},
    )
    repo.checkout("feature/netpol", new=True)
    repo.commit(
        "netpol",
        f"Deny all ingress by default\n\n{trailers(Co_authored_by='Dave Holm <dave@example.org>')}",
        CAROL,
    )
    repo.checkout("main")
    repo.merge(
        "merge netpol",
        "feature/netpol",
        f"Merge feature/netpol\n\n{trailers(Reviewed_by='Dave Holm <dave@example.org>')}",
    )
    repo.feature("limits", [("limits", BOB)], merge_message="Merge feature/limits")
    repo.commit(
        "squashed",
        "Add PodDisruptionBudget (#14)\n\n"
        + trailers(
            Approved_by="Carol Sand <carol@example.org>",
            Signed_off_by="Bob Berg <bob@example.org>",
        ),
        BOB,
        committer=ALICE,
    )
    # a pull request merged by rebasing: two commits by Carol, put on main by Alice
    repo.commit("rebased 1", "Add HorizontalPodAutoscaler", CAROL, committer=ALICE)
    repo.commit("rebased 2", "Tune HPA thresholds", CAROL, committer=ALICE)
    repo.merge(
        "merge old-branch",
        "feature/old-branch",
        f"Merge feature/old-branch\n\n{trailers(Reviewed_by='Alice Lund <alice@example.org>')}",
    )
    return repo


# labels of the commits on main in the period, and what git.reviewed-changes makes of them
VERDICTS = {
    "merge ingress": "ok",
    "merge quota": "self-approved",
    # Without a forge nobody can tell a direct push from a rebase merge: no approval evidence.
    "hotfix": "no approval evidence",
    "merge netpol": "self-approved",
    "merge limits": "no approval evidence",
    "squashed": "ok",
    "rebased 1": "no approval evidence",
    "rebased 2": "no approval evidence",
    "merge old-branch": "ok",
}
MAINLINE = list(VERDICTS)  # oldest first
