"""`evidoc build`: assemble the build directory, run a strict MkDocs build (a subprocess) into a
staging directory, and swap the result into place. A failed build leaves the previous site as
it was."""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from generator import interrupt, scratch
from generator.errors import InputError
from generator.output import replace_dir

if TYPE_CHECKING:
    from generator.site.assemble import Assembly

# The pipeline (pydantic models, YAML, Jinja2) is imported only once the MkDocs subprocess has
# been started, so that the two start up side by side.

_TAG_ERROR = re.compile(r"Error reading tags of page '([^']+)'")


@dataclass
class BuildResult:
    ok: bool
    site_dir: Path
    messages: list[str] = field(default_factory=list)  # warnings and errors, for the user
    assembly: Assembly | None = None
    generate_seconds: float = 0.0
    mkdocs_seconds: float = 0.0


def mkdocs_env(asm: Assembly | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"
    env["DISABLE_MKDOCS_2_WARNING"] = "true"
    epoch = asm.source_date_epoch if asm is not None else None
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(epoch)  # the build date is the snapshot's
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def scratch_dir() -> str | None:
    """Where the build directory goes: $TMPDIR when it is set (the user chose); else RAM
    (/dev/shm) when there is one, since the build writes thousands of small files that are read
    once; else the system's temporary directory."""
    if os.environ.get("TMPDIR"):
        return None
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


WORK_PREFIX = "evidoc-build-"  # the build directory, in scratch_dir()


def staging_prefix(site_dir: Path) -> str:
    """The name prefix of the directory MkDocs builds into, beside the site directory."""
    return f".{site_dir.name}.staging-"


def link_instance(root: Path, work: Path, site_dir: Path) -> None:
    """Make the build directory look like the instance root around its `docs/`: every other
    entry of the root is linked into it. A page includes a file beside the docs tree by a path
    relative to itself (`{% include-markdown "../README.md" %}`), and settings such as `watch`
    are relative to mkdocs.yml: from the copies under `work/docs` those paths lead to the same
    files as from `docs/`. Hidden entries are not linked (`.git`: a tool that runs Git on a page
    must not take the build directory for a work tree), nor anything the build writes to."""
    for entry in sorted(root.iterdir()):
        name = entry.name
        link = work / name
        if name.startswith(".") or name in {"docs", "mkdocs.yml"}:
            continue
        if site_dir == link or site_dir.is_relative_to(link):
            continue
        if link.exists() or link.is_symlink():
            continue
        try:
            os.symlink(entry, link)
        except OSError:
            continue  # a file system without links: only such includes go unresolved


def stage(asm: Assembly, work: Path, site_dir: Path, *, version_provider: bool = True) -> Path:
    """Write docs and the derived mkdocs.yml under `work`; return the config file."""
    from generator.site import config
    from generator.site.assemble import write

    docs = work / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    link_instance(asm.root, work, site_dir)
    write(asm, docs)
    cfg = asm.config(docs, site_dir, version_provider=version_provider)
    path = work / "mkdocs.yml"
    path.write_bytes(config.dump(cfg))
    return path


# `mkdocs build --strict`, started before the build directory is ready: while evidoc generates the
# pages, it imports MkDocs, Material and Python-Markdown and compiles the theme's templates on the
# other core, then waits for one line on stdin (the snapshot's time, or "-") and builds
# (generator/site/warm.py).
_WARM = Path(__file__).with_name("warm.py")
_RUN_FILE = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"


class MkDocs:
    """A strict MkDocs build in a subprocess, started early; `finish` lets it run."""

    def __init__(self, config_file: Path, cwd: Path) -> None:
        self.config_file = config_file
        # Its TMPDIR is inside the build directory, so that what it leaves there when it is
        # stopped goes with that directory.
        tmp = config_file.parent / ".tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        # Killed when evidoc is interrupted, and (on Linux) when evidoc dies.
        self.proc = interrupt.popen(
            [sys.executable, "-c", _RUN_FILE, str(_WARM), str(config_file)],
            cwd=cwd,  # the instance root, as if the user ran MkDocs there
            env={**mkdocs_env(), "TMPDIR": str(tmp)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=interrupt.die_with_parent(),
        )

    def finish(self, asm: Assembly) -> tuple[int, list[str]]:
        """Run the build; returns its exit code and its warnings and errors."""
        epoch = asm.source_date_epoch
        out, _ = self.proc.communicate(f"{epoch if epoch is not None else '-'}\n")
        lines = [
            line.rstrip()
            for line in out.splitlines()
            if line.strip() and not line.startswith("INFO")
        ]
        return self.proc.returncode, lines

    def cancel(self) -> None:
        """Stop the build if it still runs, and reap it."""
        interrupt.stop_process(self.proc)


def explain(asm: Assembly, lines: list[str]) -> list[str]:
    """MkDocs's messages, preceded by the unknown tags they come from, with file and line."""
    out = []
    failed_pages = set(_TAG_ERROR.findall("\n".join(lines)))
    for page, match, tag, line, col in asm.unknown_tags:
        if page.path in failed_pages or not failed_pages:
            out.append(
                f"{page.file}:{line}:{col}: unknown tag {tag!r}: it names control {match.id!r} "
                f"of {match.framework}, which has no such control (not in the tags allow-list)"
            )
    return out + [f"mkdocs: {line}" for line in lines]


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Generating the pages makes many objects and few reference cycles: the cyclic garbage
    collector runs less often meanwhile, which takes about a tenth off the generation."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], 20_000), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


SITE_MARKER = ".evidoc-site"
# Top-level inputs of an instance: a site directory inside one of them would be swapped in for it.
_INPUTS = ("controls", "docs", "evidence", "schemas", "templates", "generator", ".git")


def check_site_dir(root: Path, target: Path) -> None:
    """Refuse a site directory whose replacement would destroy anything but an earlier site."""
    if not (root / "controls").is_dir():
        raise InputError(
            root, "not an evidoc instance: expected a 'controls/' directory (use --root DIR)"
        )
    if target == root or root.is_relative_to(target):
        raise InputError(target, "the site directory would replace the instance itself")
    for name in _INPUTS:
        if target.is_relative_to(root / name):
            raise InputError(target, f"the site directory may not be inside {name}/")
    if target.exists() and (
        not target.is_dir() or (any(target.iterdir()) and not (target / SITE_MARKER).is_file())
    ):
        raise InputError(
            target,
            f"exists and is not a site built by evidoc (no {SITE_MARKER}); "
            "choose another --site-dir or remove it",
        )


def build_site(
    root: Path,
    *,
    snapshot: Path | None = None,
    site_dir: Path | None = None,
    pack: Path | None = None,
    version_provider: bool = True,
    public_keys: Sequence[Path] = (),
) -> BuildResult:
    root = Path(root).resolve()
    target = Path(site_dir).resolve() if site_dir is not None else root / "site"
    check_site_dir(root, target)
    start = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    owned: list[scratch.ScratchDir] = []
    mkdocs: MkDocs | None = None
    try:
        # The build directory and the staging directory are locked while this run lives, and
        # those of runs killed outright are removed here (generator/scratch.py).
        with interrupt.deferred():
            owned.append(scratch.make(WORK_PREFIX, scratch_dir()))
            owned.append(scratch.make(staging_prefix(target), target.parent))
        work, staging = owned[0].path, owned[1].path
        with interrupt.deferred():
            mkdocs = MkDocs(work / "mkdocs.yml", root)
        with fewer_collections():
            from generator.site.assemble import assemble

            asm = assemble(root, snapshot=snapshot, pack=pack, public_keys=public_keys)
            stage(asm, work, staging, version_provider=version_provider)
        generated = time.perf_counter()
        code, lines = mkdocs.finish(asm)
        done = time.perf_counter()
        result = BuildResult(
            ok=code == 0,
            site_dir=target,
            messages=lines if code == 0 else explain(asm, lines),
            assembly=asm,
            generate_seconds=generated - start,
            mkdocs_seconds=done - generated,
        )
        if result.ok:
            with interrupt.deferred():
                (staging / SITE_MARKER).write_text("a site built by evidoc build\n")
                replace_dir(staging, target)
                owned.pop().release()  # the staging directory is the site now
        return result
    finally:
        # MkDocs is stopped (and reaped) before the directories it writes and reads go.
        with interrupt.deferred():
            if mkdocs is not None:
                mkdocs.cancel()
            for owned_dir in owned:
                owned_dir.remove()
