"""`evidoc release VERSION`: pin (or collect) a snapshot, render the audit pack, and deploy the
site as a mike version (alias `latest`, the default) on a branch of the instance's Git repository.

The audit pack is put into the build's docs directory as `audit-pack.pdf` before the build, so
MkDocs copies it into the site and mike commits it with the version: on the branch it sits at
`VERSION/audit-pack.pdf`, next to `VERSION/index.html`, and the dashboard links to it. The
snapshot id and manifest digest are also recorded as properties of the version in
`versions.json`.

Interrupted (SIGINT, SIGTERM), a release forwards SIGTERM to the step that runs (an `evidoc`
child cleans up after itself; mike is stopped), removes its build directory and puts the branch
back where it was, so nothing is deployed.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from generator import interrupt, scratch
from generator.errors import InputError
from generator.site.assemble import assemble
from generator.site.build import mkdocs_env, scratch_dir, stage
from generator.snapshot.store import latest_snapshot

PACK = "audit-pack.pdf"


class ReleaseError(Exception):
    """A step of the release failed; nothing was deployed."""


@dataclass
class ReleaseResult:
    version: str
    branch: str
    snapshot: str
    digest: str
    pack: str  # path of the pack on the branch
    messages: list[str] = field(default_factory=list)


def _run(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    # On an interrupt the child gets SIGTERM and up to 30 s to clean up, then SIGKILL.
    return interrupt.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, stop=signal.SIGTERM, grace=30
    )


def _branch_head(repo: Path, branch: str) -> str | None:
    # Plain subprocess: this also runs after an interrupt, when interrupt.run would stop it.
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}^{{commit}}"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return (proc.stdout.strip() or None) if proc.returncode == 0 else None


def _put_back(repo: Path, branch: str, before: str | None) -> None:
    """Reset the branch to where it was before an interrupted deploy (only if it moved, and
    only from where it is now, so nobody else's update is lost)."""
    now = _branch_head(repo, branch)
    if now == before:
        return
    ref = f"refs/heads/{branch}"
    cmd = ["update-ref", ref, before, now] if before else ["update-ref", "-d", ref, now or ""]
    subprocess.run(["git", *cmd], cwd=repo, capture_output=True, timeout=30)


def git_toplevel(root: Path) -> Path:
    proc = _run(["git", "rev-parse", "--show-toplevel"], root)
    if proc.returncode != 0:
        raise InputError(root, "not inside a Git repository: mike deploys to a branch of one")
    if _run(["git", "rev-parse", "--verify", "-q", "HEAD"], root).returncode != 0:
        raise InputError(root, "the Git repository has no commit yet: commit the instance first")
    return Path(proc.stdout.strip())


def _mike() -> list[str]:
    script = Path(sys.executable).parent / "mike"
    if script.is_file():
        return [str(script)]
    found = shutil.which("mike")
    if found is None:
        raise ReleaseError("mike is not installed (pip install mike)")
    return [found]


def _evidoc(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "generator", *map(str, args)]


def _fail(what: str, proc: subprocess.CompletedProcess) -> ReleaseError:
    detail = (proc.stderr or proc.stdout).strip()
    return ReleaseError(f"{what} failed (exit {proc.returncode}):\n{detail}")


def release(
    root: Path,
    version: str,
    *,
    snapshot: Path | None = None,
    collect: bool = False,
    branch: str = "gh-pages",
    push: bool = False,
    remote: str = "origin",
) -> ReleaseResult:
    root = Path(root).resolve()
    repo = git_toplevel(root)
    messages: list[str] = []

    before = latest_snapshot(root)
    if snapshot is None and collect:
        proc = _run(_evidoc("collect", "--root", root), root)
        # Exit 1 means "written, some items in error" only if a new snapshot is really there.
        if proc.returncode not in (0, 1) or latest_snapshot(root) in (None, before):
            raise _fail("evidoc collect", proc)
        if proc.returncode == 1:
            messages.append("warning: some evidence could not be collected; see `evidoc collect`")
    pinned = Path(snapshot).resolve() if snapshot is not None else latest_snapshot(root)
    if pinned is None:
        raise InputError(
            root / "evidence" / "snapshots",
            "no evidence snapshot to pin: run `evidoc collect` or pass --collect or --snapshot",
        )

    owned: scratch.ScratchDir | None = None
    try:
        with interrupt.deferred():
            owned = scratch.make("evidoc-release-", scratch_dir())
        work = owned.path
        pack = work / PACK
        proc = _run(
            _evidoc(
                "pdf", "--root", root, "--snapshot", pinned, "--output", pack, "--version", version
            ),
            root,
        )
        if proc.returncode != 0 or not pack.is_file():
            raise _fail("evidoc pdf (the audit pack)", proc)

        asm = assemble(root, snapshot=pinned, pack=pack)
        assert asm.snapshot is not None
        manifest = asm.snapshot.manifest
        config_file = stage(asm, work, work / "site", version_provider=True)
        env = mkdocs_env(asm)
        git = ["--branch", branch] + (["--push", "--remote", remote] if push else [])
        deploy = [
            *_mike(),
            "deploy",
            "--config-file",
            str(config_file),
            *git,
            "--update-aliases",
            "--prop-set-string",
            f"snapshot={manifest.id}",
            "--prop-set-string",
            f"manifest_sha256={manifest.digest}",
            "--message",
            f"Release {version} from evidence snapshot {manifest.id}",
            version,
            "latest",
        ]
        before = _branch_head(repo, branch)
        try:
            proc = _run(deploy, repo, env)
            if proc.returncode != 0:
                raise _fail("mike deploy", proc)
            default = [*_mike(), "set-default", "--config-file", str(config_file), *git, "latest"]
            proc = _run(default, repo, env)
            if proc.returncode != 0:
                raise _fail("mike set-default", proc)
        except (KeyboardInterrupt, interrupt.Terminated):
            with interrupt.deferred():
                _put_back(repo, branch, before)
            raise
        return ReleaseResult(
            version=version,
            branch=branch,
            snapshot=manifest.id,
            digest=manifest.digest,
            pack=f"{version}/{asm.site.layout.pack}",
            messages=messages,
        )
    finally:
        if owned is not None:
            owned.remove()
