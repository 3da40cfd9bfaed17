"""`evidoc pdf`: report -> document model -> HTML in a build directory -> WeasyPrint in a
subprocess -> the pack, written atomically."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import generator
from generator import interrupt, scratch
from generator.coverage import build_coverage
from generator.gitinfo import git_output, last_commit_time
from generator.output import write_atomic
from generator.pdf.html import render_html, stylesheets
from generator.pdf.model import PackDocument, build_document
from generator.pipeline import evaluate_instance
from generator.register import build_register
from generator.release_changes import release_changes
from generator.snapshot.store import Snapshot, latest_snapshot

DEFAULT_OUTPUT = Path("build") / "audit-pack.pdf"
TAGGED_VARIANT = "pdf/a-3a"  # PDF/A-3, level A: tagged, with the document's language
UNTAGGED_VARIANT = "pdf/a-3b"
BUILD_PREFIX = ".evidoc-pdf-"  # the build directory, next to the output
WORKER_TMP_PREFIX = "evidoc-pdf-tmp-"  # the render process's TMPDIR, in the temporary directory
# The directory the generator package is imported from, so the render process imports the same
# code whether evidoc is installed or run from a checkout.
IMPORT_ROOT = Path(generator.__file__).resolve().parent.parent


class RenderError(Exception):
    """WeasyPrint failed in the render process."""


@dataclass
class PackResult:
    output: Path
    pages: int
    seconds: float  # the render process's own time, WeasyPrint only
    layout_seconds: float
    attachments: int
    snapshot: str | None
    refused: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    report_digest: str = ""  # SHA-256 of the embedded report.json
    pack_signer: str | None = None  # fingerprint of the key that signed pack.sig


def default_version(root: Path) -> str:
    """`git describe` of the instance, or "unversioned" when it is not a repository."""
    return git_output(root, "describe", "--tags", "--always", "--dirty") or "unversioned"


def document_time(root: Path, snapshot: Snapshot | None) -> tuple[dt.datetime, str]:
    """The time the pack states, and where it comes from. Never the clock when avoidable."""
    if snapshot is not None:
        return snapshot.created_at, "creation time of the evidence snapshot"
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC), "SOURCE_DATE_EPOCH"
    committed = last_commit_time(root)
    if committed is not None:
        return committed, "time of the last commit; no evidence snapshot"
    return dt.datetime.now(dt.UTC).replace(microsecond=0), "clock; no snapshot and no commit"


def prepare(
    root: Path,
    *,
    snapshot: Path | None = None,
    version: str | None = None,
    docs_dir: Path | None = None,
    public_keys: Sequence[Path] = (),
    sign_key: Any = None,
    changes_since: str | None = None,
) -> tuple[PackDocument, Path | None]:
    """Everything up to the document model; refuses a snapshot that does not verify. With
    `sign_key` (an Ed25519 private key) the pack is signed (pack.sig)."""
    snap_path = snapshot if snapshot is not None else latest_snapshot(root)
    # Statuses are judged when the instance was last changed, not when evidence was taken.
    judged = evaluate_instance(root, docs_dir=docs_dir, snapshot=snap_path, public_keys=public_keys)
    library, snap, report = judged.library, judged.snapshot, judged.report
    register = build_register(library, report, snap, judged.keys)
    when, source = document_time(root, snap)
    coverage = build_coverage(
        library, snap, judged.keys, report.as_of, (judged.results, report, judged.judged_at)
    )
    changes = release_changes(root, library, report, changes_since)
    doc = build_document(
        library,
        report,
        snap.manifest if snap else None,
        snap_path,
        version=version if version is not None else default_version(root),
        generated_at=when,
        generated_from=source,
        sign_key=sign_key,
        register=register,
        coverage=coverage,
        changes=changes,
    )
    return doc, snap_path


@dataclass
class Worker:
    """A render process, and the directory it has as TMPDIR: whatever it (or a library it
    loads) leaves there when it is stopped goes with that directory."""

    proc: subprocess.Popen[str]
    tmp: scratch.ScratchDir


def start_worker() -> Worker:
    """A render process that imports WeasyPrint now and waits for its job on standard input.
    It is killed when evidoc is interrupted, and (on Linux) when evidoc dies."""
    env = dict(os.environ)
    paths = (str(IMPORT_ROOT), env.get("PYTHONPATH", ""))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    tmp: scratch.ScratchDir | None = None
    proc: subprocess.Popen[str] | None = None
    try:
        with interrupt.deferred():
            tmp = scratch.make(WORKER_TMP_PREFIX)
            env["TMPDIR"] = str(tmp.path)
            proc = interrupt.popen(
                [sys.executable, "-m", "generator.pdf.render_worker", "-"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                preexec_fn=interrupt.die_with_parent(),
            )
            return Worker(proc, tmp)
    except BaseException:
        if proc is not None:
            interrupt.stop_process(proc)
        if tmp is not None:
            tmp.remove()
        raise


def stop_worker(worker: Worker, *, idle: bool = True) -> None:
    """End a render process, reap it and remove its TMPDIR. An idle one (never given a job) is
    told there is nothing to do; one that is rendering, or any once evidoc is interrupted, is
    killed."""
    proc = worker.proc
    with interrupt.deferred():
        if idle and proc.poll() is None and interrupt.received() is None:
            with contextlib.suppress(subprocess.TimeoutExpired, ValueError, OSError):
                proc.communicate("\n", timeout=5)
        interrupt.stop_process(proc)
        worker.tmp.remove()


def render_pdf(
    doc: PackDocument,
    output: Path,
    *,
    template_dir: Path | None = None,
    timeout: float | None = None,
    worker: Worker | None = None,
    tagged: bool = False,
) -> PackResult:
    """Write the HTML and CSS into a fresh build directory next to OUTPUT, render them in a
    subprocess that may read only that directory, and move the PDF into place atomically."""
    worker = worker if worker is not None else start_worker()
    owned: scratch.ScratchDir | None = None
    sent = False
    try:
        html = render_html(doc, template_dir)
        output.parent.mkdir(parents=True, exist_ok=True)
        with interrupt.deferred():
            owned = scratch.make(BUILD_PREFIX, output.parent)
        build = owned.path
        (build / "pack.html").write_text(html, encoding="utf-8")
        for name, css in stylesheets(template_dir).items():
            (build / name).write_bytes(css)
        # Files the pack itself makes (report.json, pack.sig) are written into the build first.
        embed = build / "embed"
        paths = []
        for a in doc.attachments:
            if a.data is None:
                paths.append(a.path)
                continue
            path = embed / f"{len(paths)}{Path(a.name).suffix}"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(a.data)
            paths.append(path)
        job = {
            "build_dir": str(build),
            "html": "pack.html",
            "output": "pack.pdf",
            "created": doc.created,
            # Tagged (PDF/A-3a: a structure tree for screen readers) when asked: it costs WeasyPrint
            # about a fifth more time.
            "variant": TAGGED_VARIANT if tagged else UNTAGGED_VARIANT,
            "attachments": [
                {
                    "name": a.name,
                    "path": str(path),
                    "relationship": a.relationship,
                    "description": a.description,
                }
                for a, path in zip(doc.attachments, paths, strict=True)
            ],
        }
        (build / "job.json").write_text(json.dumps(job), encoding="utf-8")
        sent = True
        proc = worker.proc
        try:
            stdout, stderr = proc.communicate(f"{build / 'job.json'}\n", timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise RenderError(f"the PDF render process took longer than {timeout} s") from None
        if proc.returncode != 0 or not stdout.strip():
            tail = "\n".join(stderr.strip().splitlines()[-15:])
            raise RenderError(f"the PDF render process failed (exit {proc.returncode}):\n{tail}")
        info = json.loads(stdout.strip().splitlines()[-1])
        with interrupt.deferred():
            write_atomic(output, (build / "pack.pdf").read_bytes())
    finally:
        # The render process is stopped (and reaped) before its build directory goes.
        with interrupt.deferred():
            stop_worker(worker, idle=not sent)
            if owned is not None:
                owned.remove()
    return PackResult(
        output=output,
        pages=info["pages"],
        seconds=info["seconds"],
        layout_seconds=info["layout_seconds"],
        attachments=len(doc.attachments),
        snapshot=doc.cover.snapshot_id,
        refused=info["refused"],
        warnings=info["warnings"],
        report_digest=doc.report_digest,
        pack_signer=doc.cover.pack_signer,
    )


def build_pack(
    root: Path,
    *,
    snapshot: Path | None = None,
    output: Path | None = None,
    version: str | None = None,
    docs_dir: Path | None = None,
    template_dir: Path | None = None,
    public_keys: Sequence[Path] = (),
    sign_key: Any = None,
    changes_since: str | None = None,
    tagged: bool = False,
) -> PackResult:
    worker = start_worker()  # imports WeasyPrint while the report is built
    try:
        doc, _ = prepare(
            root,
            snapshot=snapshot,
            version=version,
            docs_dir=docs_dir,
            public_keys=public_keys,
            sign_key=sign_key,
            changes_since=changes_since,
        )
    except BaseException:
        stop_worker(worker, idle=True)
        raise
    target = output if output is not None else root / DEFAULT_OUTPUT
    return render_pdf(doc, target, template_dir=template_dir, worker=worker, tagged=tagged)
