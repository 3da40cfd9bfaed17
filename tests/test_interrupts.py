"""SIGINT and SIGTERM in the middle of a run, as real processes: `evidoc pdf`, `build` and
`collect` stop their children, remove their temporary files, leave the previous output as it
was, exit 130 / 143 and print no traceback. A run killed outright (SIGKILL) leaves files
behind; the next run removes them, and never those of a live run.

Each child gets TMPDIR pointed at a directory of its own, so that what it leaves in the scratch
directory is seen. SIGINT is sent to the whole process group, as Ctrl-C in a terminal does;
SIGTERM to evidoc alone, as `kill`, `timeout`, CI cancellation and Kubernetes do.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from generator import scratch
from generator.collect import kube_resources as kr
from tests.conftest import REPO
from tests.git.builders import build_shop
from tests.git.instance import make_instance
from tests.kube.apiserver import StandIn
from tests.kube.offline import KEY, write_instance
from tests.kube.world import build_world

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").is_file(), reason="reads child processes from /proc (Linux)"
)

EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}
PDF_LEFTOVERS = (".evidoc-pdf-", ".audit-pack.pdf.")
SITE_LEFTOVERS = (".site.staging-", ".site.old-")


# ---------------------------------------------------------------------------------------------
# helpers


def tree(path: Path) -> dict[str, str]:
    """Every file and directory under PATH (hidden ones too) with the SHA-256 of each file."""
    if path.is_file():
        return {"": hashlib.sha256(path.read_bytes()).hexdigest()}
    return {
        p.relative_to(path).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        )
        for p in sorted(path.rglob("*"))
    }


def named(directory: Path, *prefixes: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(prefixes))


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def running(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def wait_gone(pids: set[int], timeout: float = 10) -> set[int]:
    deadline = time.monotonic() + timeout
    while (alive := {p for p in pids if running(p)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


class Run:
    """`python -m generator ARGS` as a process of its own, with TMPDIR=tmp."""

    def __init__(
        self, tmp: Path, *args: str | Path, group: bool = False, env: dict[str, str] | None = None
    ) -> None:
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.group = group
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "generator", *map(str, args)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TMPDIR": str(tmp), **(env or {})},
            cwd=REPO,
            start_new_session=True,  # its own process group, as a command in a terminal
        )
        self.children: set[int] = set()

    def wait_for(self, what: str, ready: Callable[[], bool], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None:
                _, err = self.proc.communicate()
                pytest.fail(f"evidoc ended (exit {self.proc.returncode}) before {what}:\n{err}")
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.02)
        self.children = descendants(self.proc.pid)

    def send(self, sig: int) -> tuple[int, str, float]:
        """Send SIG (to the process group for SIGINT, as Ctrl-C does); exit code, standard
        error and the seconds it took to end."""
        start = time.monotonic()
        if sig == signal.SIGINT or self.group:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"evidoc did not end within 60 s of signal {sig}")
        return self.proc.returncode, err, time.monotonic() - start

    def kill(self) -> None:
        with_children = descendants(self.proc.pid) | {self.proc.pid}
        for pid in with_children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.communicate()


def evidoc(*args: str | Path, tmp: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A whole run of `python -m generator ARGS` (with TMPDIR=tmp when given)."""
    return subprocess.run(
        [sys.executable, "-m", "generator", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **({"TMPDIR": str(tmp)} if tmp else {})},
    )


def check_interrupted(code: int, err: str, sig: int) -> None:
    assert code == EXIT[sig], err
    assert "Traceback" not in err, err
    assert f"evidoc: stopped by {signal.Signals(sig).name}" in err
    assert err.strip().splitlines()[-1].startswith("evidoc: stopped by"), err


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped instance, with enough extra pages that MkDocs takes a while."""
    root = tmp_path_factory.mktemp("shipped") / "inst"
    root.mkdir()
    for name in ("controls", "docs", "evidence"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy2(REPO / "mkdocs.yml", root / "mkdocs.yml")
    sections = "".join(
        f"## Section {j}\n\nParagraph {j} with *emphasis*, `code` and a [link](notes-1.md).\n\n"
        for j in range(20)
    )
    for i in range(250):
        (root / "docs" / f"notes-{i}.md").write_text(f"# Notes {i}\n\n{sections}")
    return root


@pytest.fixture
def locked_decoy() -> Iterator[Callable[[Path], Path]]:
    """Directories that look left over (old) but are held by a live process (this one)."""
    fds: list[int] = []

    def make(path: Path) -> Path:
        path.mkdir()
        (path / "work").write_text("a live run's file\n")
        fd = os.open(path, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        fds.append(fd)
        backdate(path)
        return path

    yield make
    for fd in fds:
        os.close(fd)


def backdate(*paths: Path, seconds: float = 3600) -> None:
    """As if PATHS had been left an hour ago (the sweep leaves young directories alone)."""
    when = time.time() - seconds
    for path in paths:
        os.utime(path, (when, when))


# ---------------------------------------------------------------------------------------------
# pdf


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_pdf_interrupted_while_rendering(shipped: Path, tmp_path: Path, sig: int) -> None:
    out = tmp_path / "out"
    out.mkdir()
    pack = out / "audit-pack.pdf"
    pack.write_bytes(b"%PDF-1.7 the previous pack\n")
    before = tree(out)
    run = Run(tmp_path / "tmp", "pdf", "--root", shipped, "--output", pack)
    # The job is written: the render process is laying out the pack in the build directory.
    run.wait_for("the render job", lambda: any(out.glob(".evidoc-pdf-*/job.json")))
    assert run.children, "no render process"
    code, err, took = run.send(sig)

    check_interrupted(code, err, sig)
    assert took < 20
    assert not wait_gone(run.children), "the render process outlived evidoc pdf"
    assert named(out, *PDF_LEFTOVERS) == []
    assert tree(out) == before  # the previous pack, byte for byte, and nothing else
    assert list(run.tmp.iterdir()) == []


def test_pdf_leftovers_of_a_killed_run_are_removed_by_the_next(
    shipped: Path, tmp_path: Path, locked_decoy: Callable[[Path], Path]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    pack = out / "audit-pack.pdf"
    run = Run(tmp_path / "tmp", "pdf", "--root", shipped, "--output", pack)
    run.wait_for("the render job", lambda: any(out.glob(".evidoc-pdf-*/job.json")))
    run.send(signal.SIGKILL)
    # On Linux the render process dies with evidoc.
    assert not wait_gone(run.children), "the render process outlived a killed evidoc pdf"
    left = named(out, ".evidoc-pdf-")
    assert len(left) == 1  # what SIGKILL leaves: nothing could remove it
    backdate(out / left[0])
    live = locked_decoy(out / ".evidoc-pdf-held1234")  # old, but held by a live process
    young = out / ".evidoc-pdf-young123"  # not held, but made a moment ago
    young.mkdir()

    done = evidoc("pdf", "--root", shipped, "--output", pack, tmp=run.tmp)
    assert done.returncode == 0, done.stderr
    assert named(out, ".evidoc-pdf-") == [live.name, young.name]
    assert (live / "work").is_file()
    assert pack.read_bytes().startswith(b"%PDF-")


# ---------------------------------------------------------------------------------------------
# build


def _old_site(tmp_path: Path) -> Path:
    site = tmp_path / "out" / "site"
    site.mkdir(parents=True)
    (site / ".evidoc-site").write_text("a site built by evidoc build\n")
    (site / "index.html").write_text("<p>the previous site</p>\n")
    (site / "assets").mkdir()
    (site / "assets" / "style.css").write_text("p { color: teal }\n")
    return site


def _staging(site: Path) -> list[Path]:
    return list(site.parent.glob(".site.staging-*"))


@pytest.mark.parametrize(
    ("sig", "phase"),
    [(signal.SIGTERM, "mkdocs writing"), (signal.SIGINT, "pages generated")],
    ids=["SIGTERM-while-mkdocs-writes", "SIGINT-before-mkdocs-builds"],
)
def test_build_interrupted(shipped: Path, tmp_path: Path, sig: int, phase: str) -> None:
    site = _old_site(tmp_path)
    before = tree(site.parent)
    run = Run(tmp_path / "tmp", "build", "--root", shipped, "--site-dir", site)

    def ready() -> bool:
        if phase == "mkdocs writing":  # MkDocs has begun writing the new site
            return any(any(s.iterdir()) for s in _staging(site))
        return any(run.tmp.glob("evidoc-build-*/mkdocs.yml"))

    run.wait_for(phase, ready)
    assert run.children, "no MkDocs process"
    code, err, took = run.send(sig)

    check_interrupted(code, err, sig)
    assert took < 20
    assert not wait_gone(run.children), "MkDocs outlived evidoc build"
    time.sleep(0.5)  # a MkDocs still running would write the staging directory again
    assert named(site.parent, *SITE_LEFTOVERS) == []
    assert tree(site.parent) == before
    assert list(run.tmp.iterdir()) == []


def test_build_leftovers_of_a_killed_run_are_removed_by_the_next(
    shipped: Path, tmp_path: Path, locked_decoy: Callable[[Path], Path]
) -> None:
    site = _old_site(tmp_path)
    run = Run(tmp_path / "tmp", "build", "--root", shipped, "--site-dir", site)
    run.wait_for("MkDocs writing", lambda: any(any(s.iterdir()) for s in _staging(site)))
    run.send(signal.SIGKILL)
    assert not wait_gone(run.children), "MkDocs outlived a killed evidoc build"
    staged, work = _staging(site), list(run.tmp.glob("evidoc-build-*"))
    assert len(staged) == 1 and len(work) == 1
    backdate(*staged, *work)
    live = locked_decoy(site.parent / ".site.staging-held1234")
    live_work = locked_decoy(run.tmp / "evidoc-build-held1234")

    done = evidoc("build", "--root", shipped, "--site-dir", site, tmp=run.tmp)
    assert done.returncode == 0, done.stderr
    assert named(site.parent, *SITE_LEFTOVERS) == [live.name]
    assert [p.name for p in run.tmp.iterdir()] == [live_work.name]
    assert "Notes 7" in (site / "notes-7" / "index.html").read_text()


# ---------------------------------------------------------------------------------------------
# collect


SLOW_GIT = """#!{python}
# git, except that the `git log --name-only` collect runs in a thread takes a minute
import os, sys, time
if "--name-only" in sys.argv:
    with open({pidfile!r}, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)
os.execv({git!r}, ["git", *sys.argv[1:]])
"""


@pytest.fixture
def git_instance(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """An instance whose one repository is collected by the real git collector, a snapshot
    collected earlier, and a PATH directory whose `git` hangs in `git log --name-only`."""
    repo = build_shop(tmp_path / "shop-gitops")
    root = make_instance(
        tmp_path / "inst", [{"name": "shop-gitops", "path": str(repo.path), "branch": "main"}]
    )
    (tmp_path / "digest.key").write_bytes(KEY)
    first = evidoc("collect", "--root", root, "--digest-key", tmp_path / "digest.key")
    assert first.returncode == 0, first.stderr
    bindir = tmp_path / "bin"
    bindir.mkdir()
    git = shutil.which("git")
    assert git is not None
    slow = bindir / "git"
    slow.write_text(
        SLOW_GIT.format(python=sys.executable, pidfile=str(tmp_path / "git.pid"), git=git)
    )
    slow.chmod(0o755)
    yield root, bindir
    pidfile = tmp_path / "git.pid"
    if pidfile.is_file():  # never leave the sleeping git behind
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


def _collect(tmp_path: Path, root: Path, bindir: Path) -> Run:
    return Run(
        tmp_path / "tmp",
        "collect",
        "--root",
        root,
        "--digest-key",
        tmp_path / "digest.key",
        env={"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"},
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_collect_interrupted_in_git(
    git_instance: tuple[Path, Path], tmp_path: Path, sig: int
) -> None:
    root, bindir = git_instance
    snapshots = root / "evidence" / "snapshots"
    before = tree(snapshots)
    run = _collect(tmp_path, root, bindir)
    pidfile = tmp_path / "git.pid"
    # git runs in the collector's worker thread, which no signal reaches.
    run.wait_for("git log --name-only", pidfile.is_file)
    git_pid = int(pidfile.read_text())
    assert git_pid in run.children
    assert named(snapshots, ".collect-") and named(run.tmp, "evidoc-git-")
    code, err, took = run.send(sig)

    check_interrupted(code, err, sig)
    assert took < 20, "evidoc waited for git instead of stopping it"
    assert not wait_gone({git_pid, *run.children}), "git outlived evidoc collect"
    assert tree(snapshots) == before  # no .collect-* and no new snapshot
    assert list(run.tmp.iterdir()) == []


def test_collect_interrupted_while_reading_clusters(tmp_path: Path) -> None:
    """Collector threads (one per cluster) wait on a slow API server: they stop at their next
    item and the staging directory goes, without waiting for the rest of the collection."""
    world = build_world()
    for builder in world.builders.values():
        for res in kr.RESOURCES:
            builder.cluster.delay[res.path] = 1.0
    (tmp_path / "digest.key").write_bytes(KEY)
    with StandIn(world.clusters, tmp_path / "standin") as stand_in:
        root = write_instance(tmp_path / "inst", world, kubeconfig=str(stand_in.kubeconfig))
        snapshots = root / "evidence" / "snapshots"
        run = Run(
            tmp_path / "tmp",
            "collect",
            "--root",
            root,
            "--digest-key",
            tmp_path / "digest.key",
        )
        run.wait_for(
            "a cluster item",
            lambda: any(snapshots.glob(".collect-*/items/kubernetes/*/*/*.json")),
        )
        code, err, took = run.send(signal.SIGTERM)

    check_interrupted(code, err, signal.SIGTERM)
    assert took < 15  # about 28 s of requests were left per cluster
    assert list(snapshots.iterdir()) == []
    assert list(run.tmp.iterdir()) == []


def test_collect_leftovers_of_a_killed_run_are_removed_by_the_next(
    git_instance: tuple[Path, Path], tmp_path: Path
) -> None:
    root, bindir = git_instance
    snapshots = root / "evidence" / "snapshots"
    run = _collect(tmp_path, root, bindir)
    run.wait_for("git log --name-only", (tmp_path / "git.pid").is_file)
    run.send(signal.SIGKILL)
    staged, clones = named(snapshots, ".collect-"), named(run.tmp, "evidoc-git-")
    assert len(staged) == 1 and len(clones) == 1
    backdate(snapshots / staged[0], run.tmp / clones[0])
    young = snapshots / ".collect-young123"
    young.mkdir()
    # Snapshots are named by the second they were taken in: not the one collected earlier.
    earlier = max(p.name for p in snapshots.iterdir() if not p.name.startswith("."))
    while time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) <= earlier:
        time.sleep(0.05)

    done = evidoc("collect", "--root", root, "--digest-key", tmp_path / "digest.key", tmp=run.tmp)
    assert done.returncode == 0, done.stderr
    assert named(snapshots, ".collect-") == [young.name]
    assert list(run.tmp.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# the sweep itself


def test_sweep_removes_only_unheld_old_directories(
    tmp_path: Path, locked_decoy: Callable[[Path], Path]
) -> None:
    dead = tmp_path / ".x-deadbeef"
    dead.mkdir()
    (dead / "deep").mkdir()
    (dead / "deep" / "file").write_text("left by a killed run")
    young = tmp_path / ".x-young123"
    young.mkdir()
    live = locked_decoy(tmp_path / ".x-held1234")
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep").write_text("not ours")
    link = tmp_path / ".x-symlink1"
    link.symlink_to(target, target_is_directory=True)
    other = tmp_path / "other-dead"  # another prefix
    mine = tmp_path / ".x-my-notes"  # the prefix, but not a name mkdtemp makes
    for path in (other, mine):
        path.mkdir()
    backdate(dead, other, mine)
    os.utime(link, (time.time() - 3600,) * 2, follow_symlinks=False)

    assert scratch.sweep(tmp_path, ".x-") == [dead]
    assert not dead.exists()
    assert young.is_dir() and (live / "work").is_file() and other.is_dir() and mine.is_dir()
    assert link.is_symlink() and (target / "keep").is_file()


def test_a_directory_made_by_this_process_is_held_until_released(tmp_path: Path) -> None:
    owned = scratch.make(".x-", tmp_path)
    backdate(owned.path)
    assert scratch.sweep(tmp_path, ".x-") == []
    owned.release()
    assert scratch.sweep(tmp_path, ".x-") == [owned.path]
