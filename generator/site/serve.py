"""`evidoc serve`: a live preview. The build directory is assembled once and handed to
`mkdocs serve`; while it runs, the instance's docs, YAML and snapshots are watched and the build
directory is brought up to date, touching only the files that changed, so MkDocs rebuilds and the
browser reloads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from generator import interrupt, scratch
from generator.errors import InputError, InputErrors
from generator.site import config
from generator.site.assemble import assemble, sync
from generator.site.build import link_instance

WATCHED = ("docs", "controls", "evidence", "mkdocs.yml")


def _files(root: Path) -> Iterator[Path]:
    for name in WATCHED:
        path = root / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                for f in filenames:
                    yield Path(dirpath) / f


def fingerprint(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for path in _files(root):
        try:
            st = path.stat()
        except OSError:
            continue
        out[str(path)] = (st.st_mtime_ns, st.st_size)
    return out


def refresh(root: Path, work: Path, snapshot: Path | None) -> int:
    """Re-assemble into `work`; returns the number of files changed."""
    docs, site = work / "docs", work / "site"
    asm = assemble(root, snapshot=snapshot)
    link_instance(root, work, site)
    changed = sync(asm, docs)
    derived = asm.config(docs, site, version_provider=False)
    derived["strict"] = False  # while editing, a broken link is a warning, not a stopped preview
    cfg = config.dump(derived)
    path = work / "mkdocs.yml"
    if not path.is_file() or path.read_bytes() != cfg:
        path.write_bytes(cfg)
        changed += 1
    return changed


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _die_with_parent() -> None:
    """In the MkDocs child: on Linux, get SIGTERM when evidoc goes away, however it goes."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def serve(
    root: Path,
    *,
    dev_addr: str = "127.0.0.1:8000",
    snapshot: Path | None = None,
    interval: float = 0.5,
    echo: Callable[[str], None] = print,
) -> int:
    root = Path(root).resolve()
    owned: scratch.ScratchDir | None = None
    try:
        with interrupt.deferred():
            owned = scratch.make("evidoc-serve-")
        work = owned.path
        refresh(root, work, snapshot)
        env = dict(os.environ, NO_MKDOCS_2_WARNING="1", DISABLE_MKDOCS_2_WARNING="true")
        cmd = [
            sys.executable,
            "-m",
            "mkdocs",
            "serve",
            "--config-file",
            str(work / "mkdocs.yml"),
            "--dev-addr",
            dev_addr,
            "--livereload",
        ]
        # SIGTERM and SIGHUP unwind like Ctrl-C, so the MkDocs child is stopped and the build
        # directory removed. Under `evidoc serve` SIGINT and SIGTERM are already handled
        # (generator/interrupt.py); stopping the preview is its normal end, so it exits 0.
        handled = {signal.SIGHUP} | (set() if interrupt.active() else {signal.SIGTERM})
        for sig in handled:
            signal.signal(sig, _exit_on_signal)
        with interrupt.deferred():
            proc = subprocess.Popen(cmd, cwd=work, env=env, preexec_fn=_die_with_parent)
            interrupt.register(proc, signal.SIGTERM)
        echo(f"serving http://{dev_addr}/ ; watching {', '.join(WATCHED)} under {root}")
        seen = fingerprint(root)
        try:
            while proc.poll() is None:
                time.sleep(interval)
                now = fingerprint(root)
                if now == seen:
                    continue
                seen = now
                try:
                    n = refresh(root, work, snapshot)
                    echo(f"regenerated: {n} file(s) changed")
                except InputErrors as exc:
                    for error in exc.errors:
                        echo(f"error: {error}")
                except InputError as exc:
                    echo(f"error: {exc}")
            return proc.returncode or 0
        except (KeyboardInterrupt, interrupt.Terminated, SystemExit):
            return 0
        finally:
            interrupt.stop_process(proc, signal.SIGTERM, grace=10)
    finally:
        if owned is not None:
            owned.remove()
