"""`evidoc pdf`: report -> document model -> HTML in a build directory -> WeasyPrint in a
subprocess -> the pack, written atomically."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import generator
from generator.errors import InputError
from generator.gitinfo import git_output, last_commit_time
from generator.output import write_atomic
from generator.pdf.html import render_html, stylesheets
from generator.pdf.model import PackDocument, build_document
from generator.pipeline import run_report
from generator.snapshot.store import Snapshot, latest_snapshot, load_snapshot
from generator.snapshot.verify import verify_snapshot

DEFAULT_OUTPUT = Path("build") / "audit-pack.pdf"
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
) -> tuple[PackDocument, Path | None]:
    """Everything up to the document model; refuses a snapshot that does not verify."""
    snap_path = snapshot if snapshot is not None else latest_snapshot(root)
    snap = load_snapshot(snap_path) if snap_path is not None else None
    if snap_path is not None:
        problems = verify_snapshot(snap_path)
        if problems:
            shown = "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else "")
            raise InputError(snap_path, f"snapshot does not verify, not embedding it: {shown}")
    when, source = document_time(root, snap)
    # Statuses are judged when the instance was last changed, not when evidence was taken.
    library, report = run_report(root, docs_dir=docs_dir, snapshot=snap_path)
    doc = build_document(
        library,
        report,
        snap.manifest if snap else None,
        snap_path,
        version=version if version is not None else default_version(root),
        generated_at=when,
        generated_from=source,
    )
    return doc, snap_path


def start_worker() -> subprocess.Popen[str]:
    """A render process that imports WeasyPrint now and waits for its job on standard input."""
    env = dict(os.environ)
    paths = (str(IMPORT_ROOT), env.get("PYTHONPATH", ""))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return subprocess.Popen(
        [sys.executable, "-m", "generator.pdf.render_worker", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def stop_worker(worker: subprocess.Popen[str]) -> None:
    """End a render process that was started but will not be given a job."""
    if worker.poll() is None:
        try:
            worker.communicate("\n", timeout=5)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.communicate()


def render_pdf(
    doc: PackDocument,
    output: Path,
    *,
    template_dir: Path | None = None,
    timeout: float | None = None,
    worker: subprocess.Popen[str] | None = None,
) -> PackResult:
    """Write the HTML and CSS into a fresh build directory next to OUTPUT, render them in a
    subprocess that may read only that directory, and move the PDF into place atomically."""
    worker = worker if worker is not None else start_worker()
    build: Path | None = None
    try:
        html = render_html(doc, template_dir)
        output.parent.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix=".evidoc-pdf-", dir=output.parent))
        (build / "pack.html").write_text(html, encoding="utf-8")
        for name, css in stylesheets(template_dir).items():
            (build / name).write_bytes(css)
        job = {
            "build_dir": str(build),
            "html": "pack.html",
            "output": "pack.pdf",
            "created": doc.created,
            "attachments": [
                {
                    "name": a.name,
                    "path": str(a.path),
                    "relationship": a.relationship,
                    "description": a.description,
                }
                for a in doc.attachments
            ],
        }
        (build / "job.json").write_text(json.dumps(job), encoding="utf-8")
        try:
            stdout, stderr = worker.communicate(f"{build / 'job.json'}\n", timeout=timeout)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.communicate()
            raise RenderError(f"the PDF render process took longer than {timeout} s") from None
        if worker.returncode != 0 or not stdout.strip():
            tail = "\n".join(stderr.strip().splitlines()[-15:])
            raise RenderError(f"the PDF render process failed (exit {worker.returncode}):\n{tail}")
        info = json.loads(stdout.strip().splitlines()[-1])
        write_atomic(output, (build / "pack.pdf").read_bytes())
    finally:
        stop_worker(worker)
        if build is not None:
            shutil.rmtree(build, ignore_errors=True)
    return PackResult(
        output=output,
        pages=info["pages"],
        seconds=info["seconds"],
        layout_seconds=info["layout_seconds"],
        attachments=len(doc.attachments),
        snapshot=doc.cover.snapshot_id,
        refused=info["refused"],
        warnings=info["warnings"],
    )


def build_pack(
    root: Path,
    *,
    snapshot: Path | None = None,
    output: Path | None = None,
    version: str | None = None,
    docs_dir: Path | None = None,
    template_dir: Path | None = None,
) -> PackResult:
    worker = start_worker()  # imports WeasyPrint while the report is built
    try:
        doc, _ = prepare(root, snapshot=snapshot, version=version, docs_dir=docs_dir)
    except BaseException:
        stop_worker(worker)
        raise
    target = output if output is not None else root / DEFAULT_OUTPUT
    return render_pdf(doc, target, template_dir=template_dir, worker=worker)
