"""`evidoc build`: assemble the build directory, run a strict MkDocs build (a subprocess) into a
staging directory, and swap the result into place. A failed build leaves the previous site as
it was."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
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


def stage(asm: Assembly, work: Path, site_dir: Path, *, version_provider: bool = True) -> Path:
    """Write docs and the derived mkdocs.yml under `work`; return the config file."""
    from generator.site import config
    from generator.site.assemble import write

    docs = work / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    write(asm, docs)
    cfg = asm.config(docs, site_dir, version_provider=version_provider)
    path = work / "mkdocs.yml"
    path.write_bytes(config.dump(cfg))
    return path


# `python -m mkdocs build --strict`, started before the build directory is ready: it imports
# MkDocs, Material and Python-Markdown (about half a second) on the other core while evidoc
# generates the pages, then waits for one line on stdin (the snapshot's time, or "-") and builds.
_WARM_MKDOCS = """
import os, sys
import markdown, mkdocs.__main__, mkdocs.commands.build, mkdocs.config.defaults
import mkdocs.structure.pages, mkdocs.theme, mkdocs.contrib.search, jinja2
import material.plugins.search.plugin, material.plugins.tags.plugin
import markdown.extensions.toc, markdown.extensions.tables, markdown.extensions.attr_list
import markdown.extensions.md_in_html
line = sys.stdin.readline().strip()
if not line:
    sys.exit(3)
if line != "-":
    os.environ["SOURCE_DATE_EPOCH"] = line
sys.argv = ["mkdocs", "build", "--strict", "--config-file", sys.argv[1]]
mkdocs.__main__.cli()
"""


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
            [sys.executable, "-c", _WARM_MKDOCS, str(config_file)],
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
    for page, tag, line, col in asm.unknown_tags:
        if page.path in failed_pages or not failed_pages:
            out.append(
                f"{page.file}:{line}:{col}: unknown tag {tag!r}: no catalog's tag grammar "
                "names a control with it (not in the tags allow-list)"
            )
    return out + [f"mkdocs: {line}" for line in lines]


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
