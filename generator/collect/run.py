"""`evidoc collect`: one snapshot with the evidence of every chosen environment.

One SnapshotWriter is opened; the Kubernetes collector fills it (every cluster concurrently),
then the Git collector adds the configured repositories' items to the same writer; finally the
manifest is sealed, optionally signed, and the snapshot directory is renamed into place. If
anything raises, SIGINT and SIGTERM included (generator/interrupt.py), the staging directory is
removed and no snapshot is left behind; collector threads stop at their next item.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from generator import __version__, interrupt
from generator.collect import kube_resources as kr
from generator.collect.digest import Redactor, load_digest_key
from generator.collect.git import collect_git
from generator.collect.kubernetes import RetryPolicy, Target, collect_all, resolve_targets
from generator.errors import InputError
from generator.library import Library
from generator.snapshot.manifest import CollectorIdentity, ItemStatus
from generator.snapshot.store import SNAPSHOTS, SnapshotWriter

NO_PRODUCTION_DATA = "kubernetes.no-production-data"


def production_endpoints(library: Library) -> list[str]:
    """Hosts the no-production-data check looks for, so that the collector can search values."""
    found: set[str] = set()
    for practice in library.practices.values():
        for ref in practice.model.checks:
            if ref.id == NO_PRODUCTION_DATA:
                hosts = ref.with_.get("production_endpoints") or []
                if isinstance(hosts, list):
                    found.update(str(h) for h in hosts if isinstance(h, str | int))
    return sorted(found)


def collector_identity(targets: Iterable[Target], host: str | None = None) -> CollectorIdentity:
    """Who collects: evidoc's version, the host (or pod) name, and per Kubernetes context the
    kubeconfig user entry or service account it authenticates as. No credential is recorded."""
    return CollectorIdentity(
        evidoc=__version__,
        host=host if host is not None else (socket.gethostname() or "unknown"),
        kubernetes=[t.identity() for t in targets],
    )


def _resume_trust(library: Library, sign_key: Any) -> tuple[bytes, ...]:
    """Whose signature an earlier snapshot needs before a collection carries its data over:
    the instance's trusted keys, and the key this run signs with."""
    from generator.snapshot.signing import public_key_of
    from generator.snapshot.trust import trusted_keys

    configured = library.sources.model.trusted_keys if library.sources is not None else []
    try:
        keys = trusted_keys(library.root, (), configured)
    except InputError:
        # A trusted key that cannot be read: no earlier snapshot can be shown signed by the
        # keys meant, so none is resumed from (a key no signature names).
        return (b"unreadable trusted key",)
    if sign_key is not None and public_key_of(sign_key) not in keys:
        keys += (public_key_of(sign_key),)
    return keys


def collect(
    root: Path,
    envs: Iterable[str] = (),
    out_dir: Path | None = None,
    sign_key: Any = None,
    now: dt.datetime | None = None,
    *,
    kubeconfig: Path | None = None,
    digest_key: bytes | None = None,
    ttl: int | None = None,
    demo: bool = False,
    note: str | None = None,
    retry: RetryPolicy | None = None,
    page_size: int = 500,
    on_item: Callable[[Target, str, ItemStatus], None] | None = None,
    git: bool = True,
    library: Library | None = None,
    host: str | None = None,
) -> Path:
    """Collect into a new snapshot under `out_dir` (default ROOT/evidence/snapshots).

    With `now`, every timestamp is that instant (reproducible demo data); otherwise the
    snapshot is named after the start of the run and each item carries its own read time.
    `ttl` overrides every collector's own time-to-live (the demo's 400 days); by default each
    collector keeps its own. The manifest records who collected (`collector_identity`); `host`
    replaces the machine's host name there (for reproducible demo data).
    """
    from generator.loader import load_library

    root = Path(root)
    if library is None:
        library = load_library(root)
    targets = resolve_targets(library, envs, kubeconfig, retry)
    repositories = library.sources.model.repositories if library.sources else []
    if not targets and not (git and repositories):
        where = library.sources.file if library.sources else "evidence/sources.yaml"
        raise InputError(where, "nothing to collect: no clusters or repositories are configured")
    key = digest_key if digest_key is not None else load_digest_key(root)
    redactor = Redactor(key, production_endpoints(library))
    started = now or dt.datetime.now(dt.UTC)

    def clock() -> dt.datetime:
        return now or dt.datetime.now(dt.UTC)

    writer: SnapshotWriter | None = None
    try:
        with interrupt.deferred():  # no signal between making the staging directory and here
            writer = SnapshotWriter(
                out_dir or root / SNAPSHOTS,
                started,
                demo=demo,
                note=note,
                collected_by=collector_identity(targets, host),
            )
        collect_all(
            targets,
            writer,
            redactor,
            clock=clock,
            ttl=ttl if ttl is not None else kr.TTL,
            retry=retry,
            page_size=page_size,
            on_item=on_item,
        )
        if git and repositories:
            collect_git(
                library,
                writer,
                started,
                trusted=_resume_trust(library, sign_key),
                **({"ttl": ttl} if ttl is not None else {}),
            )
        return writer.commit(sign_key)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise


@contextlib.contextmanager
def terminal_progress() -> Iterator[Callable[[Target, str, ItemStatus], None]]:
    """A progress bar per context on the terminal (standard error)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(
        TextColumn("{task.fields[label]:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def on_item(target: Target, name: str, status: ItemStatus) -> None:
        if target.label not in tasks:
            tasks[target.label] = progress.add_task(
                "", total=len(kr.ITEM_NAMES), label=f"{target.label} ({target.context})"
            )
        shown = name if status is ItemStatus.ok else f"{name}: {status.value}"
        progress.update(tasks[target.label], advance=1, description=shown)

    with progress:
        yield on_item
