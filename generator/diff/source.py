"""The two sides of a diff: an argument resolved to an instance directory or to the instance in
a commit of a Git repository, materialised, loaded and judged the way `check` and the pack do."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import posixpath
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from generator import interrupt, scratch
from generator.diff.compare import Side, compare
from generator.diff.model import InstanceDiff, InstanceRef, RefKind, SideInfo
from generator.errors import InputError, InputErrors

SCRATCH_PREFIX = "evidoc-diff-"
GIT_TIMEOUT = 120  # seconds, for one git command
_CHUNK = 1 << 20


def _git(cwd: Path, *args: str) -> str | None:
    """A git command's output in CWD, or None when it fails (or git is not installed)."""
    try:
        proc = interrupt.run(
            ["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT, text=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.rstrip("\n") if proc.returncode == 0 else None


def _clean_path(text: str) -> str | None:
    """A path inside the repository, relative to its top, normalised; None if it leaves it."""
    parts = [p for p in text.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts) or text.startswith("/"):
        return None
    return "/".join(parts)


def resolve_ref(argument: str, root: Path, *, name: str = "OLD") -> InstanceRef:
    """What ARGUMENT names. An existing directory is an instance directory. Anything else is a
    revision of the Git repository that holds ROOT: `REV` (a commit, tag, branch, `HEAD~3`) is
    the instance at ROOT's place in that repository as of REV, and `REV:PATH` the instance at
    PATH (relative to the repository's top) in REV. NAME (OLD or NEW) is used in messages."""
    if argument and Path(argument).is_dir():
        return InstanceRef(argument=argument, kind=RefKind.directory, path=argument)
    neither = f"{name} {argument!r} is neither a directory nor a Git revision"
    if not argument or argument.startswith("-"):
        raise InputError(None, neither)
    top = _git(root, "rev-parse", "--show-toplevel") if root.is_dir() else None
    if top is None:
        raise InputError(None, f"{neither}: {root} is not in a Git repository (see --root)")
    rev, colon, sub = argument.partition(":")
    if colon:
        path = _clean_path(sub)
        if not rev or path is None:
            raise InputError(
                None, f"{neither}: expected REV or REV:PATH, PATH relative to the repository"
            )
    else:
        path = _clean_path(_git(root, "rev-parse", "--show-prefix") or "") or ""
    commit = _git(Path(top), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if commit is None:
        raise InputError(None, f"{neither} of the repository at {top}")
    controls = f"{commit}:{path}/controls" if path else f"{commit}:controls"
    if _git(Path(top), "cat-file", "-t", controls) != "tree":
        where = f"{path}/" if path else "the top of the repository"
        raise InputError(
            None,
            f"{name} {argument!r}: commit {commit[:12]} has no evidoc instance at {where} "
            "(no controls/ directory); name it as REV:PATH",
        )
    stamp = _git(Path(top), "show", "-s", "--format=%ct", commit) or ""
    return InstanceRef(
        argument=argument,
        kind=RefKind.revision,
        repository=top,
        revision=rev,
        commit=commit,
        instance_path=path,
        committed_at=dt.datetime.fromtimestamp(int(stamp), dt.UTC) if stamp.isdigit() else None,
    )


def _entries(ref: InstanceRef) -> list[tuple[str, str, str]]:
    """(mode, blob id, path) of every file of the instance in the commit."""
    assert ref.repository is not None and ref.commit is not None
    tree = f"{ref.commit}:{ref.instance_path}"
    try:
        proc = interrupt.run(
            ["git", "ls-tree", "-r", "-z", tree],
            cwd=ref.repository,
            capture_output=True,
            timeout=GIT_TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise InputError(None, f"cannot list {ref.argument}: {exc}") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip()
        raise InputError(None, f"cannot list {ref.argument}: {detail}")
    out = []
    for record in proc.stdout.split(b"\0"):
        if not record:
            continue
        head, _, name = record.partition(b"\t")
        mode, kind, oid = head.decode("ascii").split(" ")
        path = os.fsdecode(name)
        if kind != "blob" or _clean_path(path) != path:
            continue  # submodules; and names no checkout could write
        out.append((mode, oid, path))
    return out


def _read_exact(stream: IO[bytes], size: int, sink: IO[bytes] | None) -> bytes:
    kept = bytearray()
    while size:
        chunk = stream.read(min(size, _CHUNK))
        if not chunk:
            raise OSError("git cat-file ended early")
        size -= len(chunk)
        if sink is not None:
            sink.write(chunk)
        else:
            kept += chunk
    return bytes(kept)


def _inside(link: str, target: str) -> bool:
    """Whether a symbolic link at LINK (relative path) to TARGET stays in the instance."""
    if target.startswith("/"):
        return False
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
    return resolved != ".." and not resolved.startswith("../")


def materialise(ref: InstanceRef, dest: Path) -> None:
    """Write the instance's files as committed (raw blobs: no filters or export attributes)
    under DEST. Symbolic links are kept when they point inside the instance, and left out
    otherwise, so nothing outside it is read."""
    assert ref.repository is not None
    entries = _entries(ref)
    dest.mkdir(parents=True, exist_ok=True)
    proc = interrupt.popen(
        ["git", "cat-file", "--batch"],
        cwd=ref.repository,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        for mode, oid, path in entries:
            proc.stdin.write(f"{oid}\n".encode("ascii"))
            proc.stdin.flush()
            header = proc.stdout.readline().decode("ascii", "replace").split()
            if len(header) != 3 or header[1] != "blob":
                raise InputError(None, f"{ref.argument}: cannot read {path} from Git")
            size = int(header[2])
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if mode == "120000":
                link = os.fsdecode(_read_exact(proc.stdout, size, None))
                if _inside(path, link):
                    os.symlink(link, target)
            else:
                with open(target, "wb") as sink:
                    _read_exact(proc.stdout, size, sink)
            proc.stdout.read(1)  # the newline after each object
        proc.stdin.close()
        proc.wait(timeout=GIT_TIMEOUT)
    except OSError as exc:
        raise InputError(None, f"{ref.argument}: cannot read the files from Git: {exc}") from None
    finally:
        interrupt.stop_process(proc)


@contextlib.contextmanager
def opened(ref: InstanceRef) -> Iterator[Path]:
    """The instance's directory: the directory itself, or a temporary copy of the commit's
    files that is removed afterwards (also when interrupted)."""
    if ref.kind is RefKind.directory:
        assert ref.path is not None
        yield Path(ref.path)
        return
    with scratch.temporary(SCRATCH_PREFIX) as tmp:
        path = tmp / "instance"
        materialise(ref, path)
        yield path


def _relabel(error: InputError, ref: InstanceRef, base: Path) -> InputError:
    """An error in a materialised revision, named as REV:PATH instead of a temporary path."""
    if ref.kind is not RefKind.revision:
        return error
    error.message = error.message.replace(str(base), f"{ref.revision}:{ref.instance_path}")
    if error.file is None:
        return error
    file = error.file
    with contextlib.suppress(ValueError):
        file = Path(file).relative_to(base).as_posix()
    if Path(file).is_absolute() or file.startswith("evidoc:"):
        return error
    inner = f"{ref.instance_path}/{file}" if ref.instance_path else file
    error.file = f"{ref.revision}:{inner}"
    return error


def load_side(
    ref: InstanceRef,
    path: Path,
    *,
    snapshot: Path | None = None,
    as_of: dt.date | None = None,
    public_keys: Sequence[Path] = (),
) -> Side:
    """Load the instance at PATH (what `opened(ref)` gives) and judge it as the pack does: on
    SNAPSHOT, else its own newest snapshot (verified, with its own trusted keys), at AS_OF,
    else at its judgement time: for a revision the commit's time, for a directory
    SOURCE_DATE_EPOCH or its last commit; never before the snapshot was taken."""
    from generator.loader import load_library
    from generator.pipeline import evaluate, find_snapshot, judgement_time, trusted
    from generator.report import build_report

    try:
        library = load_library(path)
        keys = trusted(library, public_keys)
        snap = find_snapshot(path, snapshot, keys)
    except InputErrors as exc:
        raise InputErrors([_relabel(e, ref, path) for e in exc.errors]) from None
    except InputError as exc:
        raise _relabel(exc, ref, path) from None
    if as_of is not None:
        now = dt.datetime.combine(as_of, dt.time(), dt.UTC)
    elif ref.kind is RefKind.revision and ref.committed_at is not None:
        now = max(ref.committed_at, snap.created_at) if snap else ref.committed_at
    else:
        now = judgement_time(path, snap)
    results = evaluate(library, snap, now)
    report = build_report(library, results, now.date())
    info = SideInfo(ref=ref, snapshot=results.snapshot, as_of=now.date())
    return Side(info=info, library=library, report=report)


def diff_instances(
    old: InstanceRef,
    new: InstanceRef,
    *,
    snapshot: Path | None = None,
    as_of: dt.date | None = None,
    public_keys: Sequence[Path] = (),
) -> InstanceDiff:
    """What changed from OLD to NEW (see `resolve_ref`). Each side is judged on its own newest
    snapshot, as it was released, unless SNAPSHOT names one for both."""
    sides: list[Side] = []
    for ref in (old, new):
        with opened(ref) as path:
            sides.append(
                load_side(ref, path, snapshot=snapshot, as_of=as_of, public_keys=public_keys)
            )
    return compare(*sides, evidence="shared" if snapshot is not None else "own")
