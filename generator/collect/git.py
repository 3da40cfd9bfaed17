"""Git history as evidence, then the repository's forge (if any).

Git is read with a fixed number of processes whatever the length of the history: one streamed
`git log` walks the commit graph of the period (headers, trailers, signatures, checked by git
itself), and a second one, running alongside it, lists the paths changed by the branch's own
commits (tree diffs are most of the cost, so side-branch commits are not diffed).

For each repository in evidence/sources.yaml this writes

- `git/<repo>/commits`: every commit that reached the protected branch in the audit period
  (the first-parent chain), with author, committer, trailers, signature status, changed paths
  and, for merges, the merged heads and the commits they brought in;
- `git/<repo>/branch`: the branch head, the remotes, and whether the head recorded by the previous
  snapshot is still on the branch (a force-pushed rewrite shows up here);
- the forge's items (`github/<repo>/...` or `gitlab/<repo>/...`) when a forge is configured.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from generator import interrupt, scratch
from generator.collect.forge import since_param
from generator.collect.pushes import Push, PushLog, push_bound
from generator.collect.remotes import redact_url
from generator.collect.window import Window, audit_window, period_bound
from generator.library import Library
from generator.models.sources import Forge, Repository
from generator.snapshot.manifest import MANIFEST, ItemStatus
from generator.snapshot.store import SnapshotWriter, rfc3339

TTL = 7 * 24 * 3600  # a week, like the cluster evidence: collect again before relying on it
DEFAULT_PERIOD = dt.timedelta(days=365)
MAX_DROPPED = 200  # commits listed when a rewrite dropped commits from the branch

TRAILERS = {k.lower(): k for k in ("Reviewed-by", "Approved-by", "Signed-off-by", "Co-authored-by")}
SIGNATURE_STATUS = {
    "G": "good",
    "B": "bad",
    "U": "untrusted",  # a valid signature by a key that is not trusted (not an allowed signer)
    "X": "expired",
    "Y": "expired-key",
    "R": "revoked-key",
    "E": "cannot-check",
    "N": "none",
}

# %H %P %an %ae %aI %cn %ce %cI %G? %GK %GS trailers subject, separated by NUL, as `-z`
# separates the records. Names, e-mails, trailers and subjects are text an author chooses and
# may hold any control character but NUL, which git cannot put in them: so no field can forge
# another, and every record has exactly _NFIELDS fields or the output is refused.
_FIELDS = ["%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%G?", "%GK", "%GS"]
FORMAT = "%x00".join([*_FIELDS, "%(trailers:only=true,unfold=true,separator=%x1d)", "%s"])
_NFIELDS = len(_FIELDS) + 2
_OID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


class GitError(Exception):
    """Git could not read the repository; the message says why."""


class RawCommit:
    """One record of the log. Only what every commit needs is parsed up front; the rest (people,
    trailers, signature) when asked for, since most of a long history is never shown."""

    __slots__ = ("_fields", "parents", "sha")

    def __init__(self, fields: list[str]) -> None:
        self._fields = fields
        self.sha = fields[0]
        self.parents = fields[1].split()

    @property
    def committed(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self._fields[7])

    @property
    def author(self) -> dict[str, str]:
        f = self._fields
        return {"name": f[2], "email": f[3], "date": f[4]}

    @property
    def committer(self) -> dict[str, str]:
        f = self._fields
        return {"name": f[5], "email": f[6], "date": f[7]}

    @property
    def signature(self) -> dict[str, str]:
        f = self._fields
        out = {"status": SIGNATURE_STATUS.get(f[8], "cannot-check")}
        if f[9]:
            out["key"] = f[9]
        if f[10]:
            out["signer"] = f[10]
        return out

    @property
    def trailers(self) -> dict[str, list[str]]:
        return _parse_trailers(self._fields[11]) if self._fields[11] else {}

    @property
    def subject(self) -> str:
        return self._fields[12]


# ---------------------------------------------------------------------------------------------
# running git


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_TERMINAL_PROMPT="0",  # never wait for a password
        GIT_OPTIONAL_LOCKS="0",  # never write to the repository being read
        GIT_NO_REPLACE_OBJECTS="1",  # read the commits themselves, not `git replace` stand-ins
        LC_ALL="C",
        GIT_PAGER="cat",
    )
    return env


def _git(gitdir: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", "-C", str(gitdir), *args],
        capture_output=True,
        env=env or _git_env(),
        timeout=600,
    )
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {message[-1] if message else proc.returncode}")
    return proc.stdout.decode("utf-8", "replace")


def _log_command(ref: str, base: str | None, signers: str) -> list[str]:
    """The graph walk: every commit's header, trailers and signature, back to (not into) the
    branch as it stood before the period; no diffs."""
    return [
        "-c",
        "log.showSignature=false",
        "-c",
        f"gpg.ssh.allowedSignersFile={signers}",
        "log",
        "--no-color",
        "--encoding=UTF-8",
        "-z",
        f"--format={FORMAT}",
        ref,
        *([f"^{base}"] if base else []),
        "--",
    ]


def _paths_command(ref: str, base: str | None) -> list[str]:
    """The changed paths of the branch's own commits (a merge: against its first parent)."""
    return [
        "log",
        "--no-color",
        "-z",
        "--first-parent",
        "--name-only",
        "--diff-merges=first-parent",
        "--no-renames",
        "--format=%x1e%H",
        ref,
        *([f"^{base}"] if base else []),
        "--",
    ]


def changed_paths(gitdir: Path, ref: str, base: str | None) -> dict[str, list[str]]:
    """Paths changed by each first-parent commit after `base`, from one `git log` process.

    Diffing trees is most of the cost of reading history, so it is done for the commits that
    reached the branch only, in a process of its own that runs while the graph is parsed.
    It runs in a thread, which signals never reach: interrupt.run stops it when evidoc is."""
    proc = interrupt.run(
        ["git", "-C", str(gitdir), *_paths_command(ref, base)],
        capture_output=True,
        env=_git_env(),
        timeout=1800,
    )
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git log --name-only failed: {lines[-1] if lines else proc.returncode}")
    out: dict[str, list[str]] = {}
    for record in proc.stdout.decode("utf-8", "replace").split("\x1e"):
        sha, _, rest = record.partition("\0")
        if sha:
            out[sha] = [p for p in rest.lstrip("\n").split("\0") if p]
    return out


_TRAILER_KEYS: dict[str, str | None] = {}


def _trailer_key(raw: str) -> str | None:
    """The canonical spelling of a trailer key (Reviewed-by, ...), None if it is not a key."""
    if raw not in _TRAILER_KEYS:
        key = raw.strip()
        _TRAILER_KEYS[raw] = TRAILERS.get(key.lower(), key) if key and " " not in key else None
    return _TRAILER_KEYS[raw]


def _parse_trailers(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.split("\x1d"):
        raw, sep, value = line.partition(":")
        key = _trailer_key(raw) if sep else None
        if key is not None:
            out.setdefault(key, []).append(value.strip())
    return out


def _parse_record(fields: list[bytes], number: int) -> RawCommit:
    """One record of exactly _NFIELDS fields, checked; anything else is an error, never a
    shorter history."""
    parts = [f.decode("utf-8", "replace") for f in fields]
    try:
        if len(parts) != _NFIELDS:
            raise ValueError(f"{len(parts)} fields, {_NFIELDS} expected")
        if not _OID.match(parts[0]):
            raise ValueError(f"{parts[0][:80]!r} is not a commit id")
        if not all(_OID.match(p) for p in parts[1].split()):
            raise ValueError(f"parents {parts[1][:200]!r} are not commit ids")
        for at in (4, 7):
            dt.datetime.fromisoformat(parts[at])
        if parts[8] not in SIGNATURE_STATUS:
            raise ValueError(f"unknown signature status {parts[8][:8]!r}")
    except ValueError as exc:
        raise GitError(
            f"git log record {number} does not parse ({exc}); refusing the history"
        ) from None
    return RawCommit(parts)


def _pump(source: Any, into: queue.SimpleQueue[bytes | None]) -> None:
    """Drain git's output as fast as it comes, so git never waits for the parser."""
    fd = source.fileno()
    try:
        while chunk := os.read(fd, 1 << 20):
            into.put(chunk)
    finally:
        into.put(None)


def stream_log(gitdir: Path, ref: str, base: str | None, signers: str) -> Iterator[RawCommit]:
    """Every commit reachable from `ref` and not from `base`, from one `git log` process."""
    with tempfile.TemporaryFile() as errors:  # a file, so a chatty stderr cannot block git
        proc = interrupt.popen(
            ["git", "-C", str(gitdir), *_log_command(ref, base, signers)],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=_git_env(),
        )
        assert proc.stdout is not None
        chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        reader = threading.Thread(target=_pump, args=(proc.stdout, chunks), daemon=True)
        reader.start()
        tail = b""
        fields: list[bytes] = []
        number = 0
        try:
            # NUL separates the fields, and `-z` the records: the output is a run of fields,
            # _NFIELDS to a record.
            while (chunk := chunks.get()) is not None:
                tokens = (tail + chunk).split(b"\0")
                tail = tokens.pop()
                for token in tokens:
                    fields.append(token)
                    if len(fields) == _NFIELDS:
                        number += 1
                        yield _parse_record(fields, number)
                        fields = []
            if tail.strip(b"\n") or fields:
                fields.append(tail)
                yield _parse_record(fields, number + 1)
        finally:
            with interrupt.deferred():
                if reader.is_alive():  # the consumer stopped early: stop git, let the pump end
                    proc.kill()
                reader.join()
                proc.stdout.close()
                code = proc.wait()
                interrupt.forget(proc)
                errors.seek(0)
                err = errors.read().decode("utf-8", "replace")
    if code != 0:
        lines = [line for line in err.strip().splitlines() if line]
        raise GitError(f"git log failed: {lines[-1] if lines else code}")


# ---------------------------------------------------------------------------------------------
# the history of one branch


def first_parent_chain(gitdir: Path, ref: str) -> list[tuple[str, dt.datetime]]:
    """The branch's first-parent chain, newest first, with committer dates."""
    out = _git(gitdir, "log", "--first-parent", "-z", "--format=%H%x00%cI", ref, "--")
    tokens = out.split("\0")
    if tokens and not tokens[-1].strip():
        tokens.pop()
    if len(tokens) % 2:
        raise GitError("git log --first-parent output does not parse; refusing the history")
    chain = []
    for sha, when in zip(tokens[::2], tokens[1::2], strict=True):
        sha = sha.strip()
        try:
            if not _OID.match(sha):
                raise ValueError(sha[:80])
            chain.append((sha, dt.datetime.fromisoformat(when)))
        except ValueError as exc:
            raise GitError(
                f"first-parent record {exc} does not parse; refusing the history"
            ) from None
    return chain


@dataclass
class History:
    ref: str
    head: str
    since: dt.datetime
    until: dt.datetime
    commits: list[dict[str, Any]]  # mainline commits in the period, newest first
    signers: str | None


def _identity(value: str) -> dict[str, str]:
    match = re.match(r"^\s*(.*?)\s*<([^>]*)>\s*$", value)
    if match:
        return {"name": match.group(1), "email": match.group(2)}
    return {"name": value.strip(), "email": ""}


def _side_commit(c: RawCommit) -> dict[str, Any]:
    f = c._fields
    entry: dict[str, Any] = {
        "sha": c.sha,
        "author": {"name": f[2], "email": f[3]},
        "signature": SIGNATURE_STATUS.get(f[8], "cannot-check"),
    }
    if "co-authored-by" in f[11].lower():
        entry["co_authors"] = [_identity(v) for v in c.trailers.get("Co-authored-by", [])]
    return entry


def build_history(
    raw: dict[str, RawCommit],
    window: Window,
    paths: dict[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """The window's first-parent commits, newest first, each merge with the commits it brought
    in. The walk stopped at the branch as it stood before the window, so a side commit that was
    not walked was on the branch already and is not part of the change."""
    missing = [sha for sha in window.commits if sha not in raw]
    if missing:
        raise GitError(
            f"first-parent commit {missing[0][:12]} is not in the history read; refusing it"
        )
    mainline = set(window.commits)
    claimed: set[str] = set()
    merged: dict[str, dict[str, Any]] = {}
    for sha in reversed(window.commits):  # oldest first: earlier merges claim their commits
        commit = raw[sha]
        if len(commit.parents) < 2:
            continue
        brought: list[str] = []
        stack = list(commit.parents[1:])
        while stack:
            s = stack.pop()
            if s in mainline or s in claimed or s not in raw:
                continue
            claimed.add(s)
            brought.append(s)
            stack.extend(raw[s].parents)
        merged[sha] = {
            "heads": commit.parents[1:],
            "complete": True,
            "commits": [_side_commit(raw[s]) for s in sorted(brought)],
        }
    out = []
    for sha in window.commits:
        c = raw[sha]
        entry: dict[str, Any] = {
            "sha": c.sha,
            "parents": c.parents,
            "author": c.author,
            "committer": c.committer,
            "subject": c.subject,
            "trailers": c.trailers,
            "signature": c.signature,
            "paths": (paths or {}).get(sha, []),
        }
        if sha in merged:
            entry["merged"] = merged[sha]
        out.append(entry)
    return out


# ---------------------------------------------------------------------------------------------
# locating the repository


def _resolve(root: Path, text: str) -> Path:
    path = Path(os.path.expanduser(text))
    return path if path.is_absolute() else (root / path)


def _find_ref(gitdir: Path, branch: str) -> tuple[str, str]:
    refs = _git(
        gitdir,
        "for-each-ref",
        "--format=%(refname)%00%(objectname)",
        f"refs/heads/{branch}",
        f"refs/remotes/origin/{branch}",
    )
    found = dict(line.split("\0", 1) for line in refs.splitlines() if "\0" in line)
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        if ref in found:
            return ref, found[ref]
    raise GitError(f"branch {branch!r} not found (looked for refs/heads/{branch} and origin)")


def tags_on_branch(gitdir: Path, ref: str) -> dict[str, str]:
    """Tag -> the commit it names, for every tag reachable from the branch: a GitOps source
    pinned to one of these deploys reviewed history."""
    out = _git(
        gitdir,
        "for-each-ref",
        f"--merged={ref}",
        "--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)",
        "refs/tags",
    )
    tags = {}
    for line in out.splitlines():
        name, _, rest = line.partition("\0")
        obj, _, peeled = rest.partition("\0")
        if name and _OID.match(peeled or obj):
            tags[name] = peeled or obj
    return tags


def remote_tracking(gitdir: Path, branch: str, head: str) -> dict[str, Any] | None:
    """For a local clone: where its remote-tracking branch stood at its last fetch, so a result
    can say whether the local branch audited is behind (evidoc never fetches into it)."""
    out = _git(
        gitdir,
        "for-each-ref",
        "--format=%(refname)%00%(objectname)",
        f"refs/remotes/*/{branch}",
        check=False,
    )
    for line in out.splitlines():
        name, _, sha = line.partition("\0")
        if _OID.match(sha):
            return {"ref": name, "head": sha, "same": sha == head}
    return None


def _default_branch(gitdir: Path, config: dict[str, str]) -> str | None:
    """origin's HEAD in a clone; HEAD itself in a bare repository (a server's or a mirror)."""
    origin = _git(gitdir, "symbolic-ref", "-q", "refs/remotes/origin/HEAD", check=False).strip()
    if origin:
        return origin.removeprefix("refs/remotes/origin/")
    if config.get("core.bare") == "true":
        head = _git(gitdir, "symbolic-ref", "-q", "HEAD", check=False).strip()
        return head.removeprefix("refs/heads/") or None
    return None


def _config(gitdir: Path) -> dict[str, str]:
    text = _git(gitdir, "config", "-z", "--list", check=False)
    out = {}
    for entry in text.split("\0"):
        key, _, value = entry.partition("\n")
        if key:
            out[key.lower()] = value
    return out


def _clone_auth_env(repo: Repository, url: str) -> dict[str, str]:
    """An environment that lets git send the forge token to the clone URL's host only."""
    env = _git_env()
    token = _forge_token(repo)
    parts = urlsplit(url)
    if token and parts.scheme == "https" and parts.hostname:
        user = "x-access-token" if repo.forge is Forge.github else "oauth2"
        basic = base64.b64encode(f"{user}:{token}".encode()).decode()
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0=f"http.https://{parts.netloc}/.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
        )
    return env


def _forge_token(repo: Repository) -> str | None:
    if repo.forge is None:
        return None
    name = repo.token_env or ("GITHUB_TOKEN" if repo.forge is Forge.github else "GITLAB_TOKEN")
    return os.environ.get(name) or None


def refuse_incomplete(gitdir: Path) -> None:
    """A shallow clone or a grafts file shows a history that is not the branch's: refuse it
    rather than audit what is left."""
    if _git(gitdir, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise GitError(
            "the clone is shallow (as CI checkouts are by default), so the history below its "
            "cut is missing and cannot be audited; fetch the whole history "
            "(git fetch --unshallow, or fetch-depth: 0) or give the repository's url"
        )
    grafts = Path(_git(gitdir, "rev-parse", "--git-path", "info/grafts").strip())
    if (grafts if grafts.is_absolute() else gitdir / grafts).exists():
        raise GitError(
            "the repository has an info/grafts file, which rewrites the parents of commits, so "
            "its history cannot be audited as recorded; remove it or collect from a fresh clone"
        )


def _clone(repo: Repository, into: Path) -> Path:
    assert repo.url is not None
    target = into / "repo.git"
    proc = subprocess.run(
        [
            "git",
            "clone",
            "--quiet",
            "--bare",
            "--no-tags",
            "--single-branch",
            f"--branch={repo.branch}",
            "--filter=blob:none",
            "--",  # a URL that starts with '-' is a URL, never an option
            repo.url,
            str(target),
        ],
        capture_output=True,
        env=_clone_auth_env(repo, repo.url),
        timeout=1800,
    )
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        why = redact_url(lines[-1]) if lines else str(proc.returncode)
        raise GitError(f"cannot clone {redact_url(repo.url)}: {why}")
    return target


def fetch_missing(gitdir: Path, repo: Repository, shas: list[str]) -> None:
    """Let a clone read the pushed heads it lacks: it holds only what is on its branch, not
    what a force push dropped. The clone is partial (`--filter`), so git fetches an object it is
    asked for from the forge, which serves a commit by its id while it keeps it; asking here,
    with the clone's credentials, lets that work for a private repository too."""
    if repo.url is None or not shas:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):  # what is not fetched stays unknown
        subprocess.run(
            ["git", "-C", str(gitdir), "cat-file", "--batch-check"],
            input="".join(f"{sha}\n" for sha in shas).encode(),
            capture_output=True,
            env=_clone_auth_env(repo, repo.url),
            timeout=600,
        )


# ---------------------------------------------------------------------------------------------
# the previous snapshot: has the branch been rewritten since?


def _earlier_heads(out_dir: Path, repo: Repository) -> list[tuple[str, dt.datetime, dict]]:
    """(snapshot id, created at, branch item) of every earlier snapshot that recorded this
    repository's branch, newest first."""
    if not out_dir.is_dir():
        return []
    found = []
    for snap in sorted((p for p in out_dir.iterdir() if not p.name.startswith(".")), reverse=True):
        try:
            manifest = json.loads((snap / MANIFEST).read_bytes())
            item = next(
                (i for i in manifest["items"] if i["id"] == f"git/{repo.name}/branch"), None
            )
            if item is None or item.get("status", "ok") != "ok":
                continue
            data = json.loads((snap / item["path"]).read_bytes())
            created = dt.datetime.fromisoformat(manifest["created_at"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        if data.get("branch") == repo.branch and data.get("head"):
            found.append((snap.name, created, data))
    return found


def _commits_item(out_dir: Path, snap: str, repo: Repository) -> dict[str, Any] | None:
    """An earlier snapshot's `git/<repo>/commits` item, when it was collected."""
    try:
        manifest = json.loads((out_dir / snap / MANIFEST).read_bytes())
        item = next(i for i in manifest["items"] if i["id"] == f"git/{repo.name}/commits")
        if item.get("status", "ok") != "ok":
            return None
        data = json.loads((out_dir / snap / item["path"]).read_bytes())
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
    return data if isinstance(data, dict) else None


def _recorded_commits(out_dir: Path, snap: str, repo: Repository) -> dict[str, dict]:
    """The commit records an earlier snapshot holds for the repository, by sha."""
    data = _commits_item(out_dir, snap, repo) or {}
    commits = data.get("commits")
    if not isinstance(commits, list):
        return {}
    return {c["sha"]: c for c in commits if isinstance(c, dict) and "sha" in c}


def rewrites_in_period(
    gitdir: Path,
    earlier: list[tuple[str, dt.datetime, dict]],
    since: dt.datetime,
    head: str,
    recorded: Callable[[str], dict[str, dict]] = lambda snap: {},
) -> list[dict[str, Any]]:
    """Every head a snapshot of the period audited that is no longer on the branch, and every
    rewrite those snapshots themselves recorded: one force push is not forgotten by the next
    snapshot, nor missed by a snapshot taken after it. The dropped commits that snapshot
    recorded are carried along (`dropped_records`), so that they are judged too."""
    out: dict[str, dict[str, Any]] = {}
    before = False
    for snap, created, data in earlier:  # newest first
        if created < since:
            # Of the snapshots before the period only the newest counts: its head is where the
            # period began, and if it is gone the branch was rewritten after it.
            if before:
                continue
            before = True
        old = data["head"]
        if old not in out and old != head:
            compare = _compare_previous(gitdir, (snap, old), head)
            if compare.get("on_branch") is False:
                known = recorded(snap)
                compare["dropped_records"] = [
                    known[sha] for sha in compare.get("dropped", []) if sha in known
                ]
                out[old] = compare
        if created < since:
            continue  # the rewrites it recorded were in an earlier period
        for seen in data.get("rewrites_in_period") or []:
            if not isinstance(seen, dict) or not seen.get("head") or seen["head"] in out:
                continue
            pushed = (seen.get("push") or {}).get("at")
            if isinstance(pushed, str) and pushed < rfc3339(since):
                continue
            out[seen["head"]] = seen
    return [out[h] for h in sorted(out, key=lambda h: (out[h].get("snapshot") or "", h))]


def push_rewrites(
    gitdir: Path,
    log: PushLog,
    period: tuple[dt.datetime, dt.datetime],
    head: str,
    chain: list[str],
    signers: str | None = None,
) -> list[dict[str, Any]]:
    """The rewrites of the period the forge's record shows, whether or not a snapshot was
    taken in between: every push the forge calls forced, and every push from a head that is no
    longer on the branch to one that is (or to another that is gone, when git can tell it was
    no fast-forward). A head a push made that is gone and that no such rewrite accounts for is
    reported with the push that made it."""
    on_chain = set(chain)
    reachable: set[str] | None = None

    def on_branch(sha: str) -> bool:
        nonlocal reachable
        if sha in on_chain:
            return True
        if reachable is None:  # one walk of the whole branch, only when a head is off its chain
            reachable = set(_git(gitdir, "rev-list", head, "--").split())
        return sha in reachable

    def entry(old: str, push: Push, gone: bool) -> dict[str, Any]:
        out = _compare_previous(gitdir, (None, old), head) if gone else {"on_branch": True}
        out.update(
            snapshot=None, head=old, seen_by=f"{log.forge}'s push record", push=push.record()
        )
        if out.get("dropped"):  # still in this repository (a `path:` one, say): judge them
            out["dropped_records"] = dropped_records(gitdir, old, head, signers)
        return out

    # A push after the period is the next period's; one in it whose head is gone since, even
    # by a later rewrite, is reported with it.
    pushes = [p for p in log.since(period[0]) if p.at < period[1]]
    out: dict[str, dict[str, Any]] = {}
    covered: set[str] = set()
    for push in pushes:
        before_gone = push.before is not None and not on_branch(push.before)
        after_gone = push.after is not None and not on_branch(push.after)
        rewrote = push.kind == "force_push" or (before_gone and not after_gone)
        if before_gone and after_gone and not rewrote:
            rewrote = _is_ancestor(gitdir, push.before or "", push.after or "") is False
        old = push.before or push.after
        if not rewrote or old is None or old in out:
            continue
        out[old] = entry(old, push, before_gone)
        covered |= {old, *out[old].get("dropped", [])}
    for push in pushes:
        if push.after and push.after not in covered and not on_branch(push.after):
            out[push.after] = entry(push.after, push, True)
            covered |= {push.after, *out[push.after].get("dropped", [])}
    return list(out.values())


def behind_forge(
    gitdir: Path, log: PushLog, head: str, chain: list[str], local: bool
) -> dict | None:
    """The forge's newest push, when the branch read does not hold the head it made and that
    head is not a rewrite of it: the repository lacks it, or the branch read is an ancestor of
    it. Then the repository is behind the forge (a `path:` clone not fetched, or fetched but
    its branch not moved on), and what it holds of the period is not all that reached it. For a
    LOCAL repository a newer push that names no branch (GitLab's bulk push) cannot be told
    apart from that, and is reported too."""
    newest = log.pushes[-1] if log.pushes else None
    if local and log.bulk is not None and (newest is None or log.bulk > newest.at):
        return {"forge": log.forge, "bulk_push": since_param(log.bulk)}
    if newest is None or newest.after is None or newest.after in chain:
        return None
    if _is_ancestor(gitdir, newest.after, head):
        return None  # on the branch, below later commits pushed since the record was read
    if _is_ancestor(gitdir, head, newest.after) is False:
        return None  # present and diverged: a rewrite, judged as one
    return {"forge": log.forge, "push": newest.record()}


def _is_ancestor(gitdir: Path, old: str, new: str) -> bool | None:
    """Whether OLD is an ancestor of NEW; None when git has not both."""
    proc = subprocess.run(
        ["git", "-C", str(gitdir), "merge-base", "--is-ancestor", old, new],
        capture_output=True,
        env=_git_env(),
    )
    return {0: True, 1: False}.get(proc.returncode)


def _compare_previous(gitdir: Path, previous: tuple[str, str] | None, head: str) -> dict:
    if previous is None:
        return {"snapshot": None, "head": None, "on_branch": None}
    snap, old = previous
    out: dict[str, Any] = {"snapshot": snap, "head": old}
    if old == head:
        out["on_branch"] = True
        return out
    ancestor = _is_ancestor(gitdir, old, head)
    out["on_branch"] = ancestor is True
    if ancestor is False:
        dropped = _git(gitdir, "rev-list", f"--max-count={MAX_DROPPED + 1}", old, f"^{head}")
        shas = dropped.split()
        out["dropped"] = shas[:MAX_DROPPED]
        out["dropped_truncated"] = len(shas) > MAX_DROPPED
    elif ancestor is None:
        out["detail"] = "that head is no longer in the repository, so what it held is not known"
    return out


def dropped_records(gitdir: Path, old: str, head: str, signers: str | None) -> list[dict[str, Any]]:
    """The records of the first-parent commits a rewrite dropped (OLD's, down to the branch as it
    is), each merge with the commits it brought in, read from the repository like the period's
    own: so that they can be judged."""
    log = stream_log(gitdir, old, head, signers or os.devnull)
    with contextlib.closing(log):
        raw = {c.sha: c for c in log}
    chain: list[str] = []
    sha: str | None = old
    while sha in raw and len(chain) < MAX_DROPPED:
        chain.append(sha)
        parents = raw[sha].parents
        sha = parents[0] if parents else None
    return build_history(raw, Window(old, chain, sha, "dropped by a rewrite"))


# ---------------------------------------------------------------------------------------------
# one repository


def audit_period(repo: Repository, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    until = now
    if repo.until is not None:
        end = dt.datetime.combine(repo.until + dt.timedelta(days=1), dt.time(), dt.UTC)
        until = min(end, now)
    since = until - DEFAULT_PERIOD
    if repo.since is not None:
        since = dt.datetime.combine(repo.since, dt.time(), dt.UTC)
    return since, until


@dataclass
class RepoResult:
    """What the forge collectors need from the Git side."""

    history: History | None
    remotes: dict[str, str]


def _signers(root: Path, repo: Repository, config: dict[str, str]) -> str | None:
    if repo.allowed_signers:
        path = _resolve(root, repo.allowed_signers)
        if not path.is_file():
            raise GitError(f"allowed-signers file {repo.allowed_signers!r} does not exist")
        return str(path)
    return config.get("gpg.ssh.allowedsignersfile")


def _signers_evidence(repo: Repository, signers: str | None) -> dict[str, Any]:
    """Which allowed-signers file verified SSH signatures, and its digest."""
    if signers is None:
        return {"ssh_allowed_signers": None, "sha256": None}
    try:
        digest = hashlib.sha256(Path(signers).read_bytes()).hexdigest()
    except OSError:
        digest = None
    return {"ssh_allowed_signers": repo.allowed_signers or signers, "sha256": digest}


def collect_repository(
    root: Path,
    repo: Repository,
    writer: SnapshotWriter,
    now: dt.datetime,
    ttl: int = TTL,
    pushes: PushLog | None = None,
) -> RepoResult:
    """PUSHES: the forge's record of pushes to the branch, where it was read."""
    since, until = audit_period(repo, now)
    source = repo.path or redact_url(repo.url or "")
    common = {"collector": "git", "collected_at": now, "ttl": ttl, "source": source}
    earlier = _earlier_heads(writer.out_dir, repo)
    bound = period_bound(earlier, since, lambda snap: _commits_item(writer.out_dir, snap, repo))
    bounds = [bound] if bound is not None else []
    previous = (earlier[0][0], earlier[0][2]["head"]) if earlier else None
    # A clone goes to a temporary directory, removed however the run ends (generator/scratch.py).
    with scratch.temporary("evidoc-git-") as tmp:
        try:
            if repo.path is not None:
                gitdir = _resolve(root, repo.path)
                if not gitdir.exists():
                    raise GitError(f"{repo.path} does not exist")
            else:
                gitdir = _clone(repo, Path(tmp))
            refuse_incomplete(gitdir)
            config = _config(gitdir)
            signers = _signers(root, repo, config)
            ref, head = _find_ref(gitdir, repo.branch)
            default_branch = _default_branch(gitdir, config)
            chain = first_parent_chain(gitdir, ref)
            pushed = push_bound(pushes, since) if pushes is not None else None
            if pushed is not None:
                bounds.append(pushed)
            window = audit_window(chain, since, until, bounds, ended=until < now)
            with ThreadPoolExecutor(max_workers=1) as pool:
                paths = pool.submit(changed_paths, gitdir, ref, window.base)
                log = stream_log(gitdir, ref, window.base, signers or os.devnull)
                with contextlib.closing(log):  # an interrupt stops git here, not at exit
                    raw = {c.sha: c for c in log}
                commits = build_history(raw, window, paths.result())
            compare = _compare_previous(gitdir, previous, head)
            rewrites = rewrites_in_period(
                gitdir,
                earlier,
                since,
                head,
                lambda snap: _recorded_commits(writer.out_dir, snap, repo),
            )
            behind = None
            if pushes is not None:
                heads = {s for p in pushes.since(since) for s in (p.before, p.after) if s}
                fetch_missing(gitdir, repo, sorted(heads))
                known = {r["head"] for r in rewrites}
                chain_shas = [sha for sha, _ in chain]
                behind = behind_forge(gitdir, pushes, head, chain_shas, repo.path is not None)
            if pushes is not None and behind is None:
                rewrites += [
                    r
                    for r in push_rewrites(
                        gitdir, pushes, (since, until), head, chain_shas, signers
                    )
                    if r["head"] not in known
                ]
            tags = tags_on_branch(gitdir, ref)
            tracking = remote_tracking(gitdir, repo.branch, head) if repo.path else None
        except (GitError, OSError, subprocess.SubprocessError) as exc:
            detail = str(exc)
            for kind in ("commits", "branch"):
                writer.add(
                    f"git/{repo.name}/{kind}",
                    {"repository": repo.name, "branch": repo.branch, "error": detail},
                    query=f"git log --first-parent {repo.branch}",
                    status=ItemStatus.error,
                    detail=detail,
                    **common,
                )
            return RepoResult(None, {})
    remotes = {
        key[len("remote.") : -len(".url")]: redact_url(value)
        for key, value in config.items()
        if key.startswith("remote.") and key.endswith(".url")
    }
    if repo.url:
        remotes.setdefault("sources", redact_url(repo.url))
    history = History(ref, head, since, until, commits, signers)
    period = {"since": rfc3339(since), "until": rfc3339(until)}
    writer.add(
        f"git/{repo.name}/commits",
        {
            "repository": repo.name,
            "branch": repo.branch,
            "ref": ref,
            "head": head,
            "period": period,
            "window": window.record(),
            "signature_verification": _signers_evidence(repo, signers),
            "commits": commits,
        },
        query=(
            f"git log --first-parent {ref} (the chain and its dates); "
            f"git log {ref} ^{(window.base or '')[:12]} (commits, trailers, signatures); "
            f"git log --first-parent --name-only --diff-merges=first-parent {ref} "
            f"^{(window.base or '')[:12]} (paths); window: {window.how}"
        ),
        **common,
    )
    writer.add(
        f"git/{repo.name}/branch",
        {
            "repository": repo.name,
            "branch": repo.branch,
            "ref": ref,
            "head": head,
            "remotes": remotes,
            "default_branch": default_branch,
            "previous": compare,
            "rewrites_in_period": rewrites,
            "behind_forge": behind,
            "tags_on_branch": tags,
            "remote_tracking": tracking,
        },
        query=f"git for-each-ref {ref}; git merge-base --is-ancestor <previous head> {ref}",
        **common,
    )
    return RepoResult(history, remotes)


def collect_git(
    library: Library,
    writer: SnapshotWriter,
    now: dt.datetime,
    *,
    ttl: int = TTL,
    trusted: tuple[bytes, ...] = (),
) -> None:
    """Collect every repository of the instance's sources.yaml into `writer`; every item stays
    fresh for `ttl` seconds. TRUSTED: the keys an earlier snapshot must be signed with before
    a forge collection resumes from it."""
    sources = library.sources.model if library.sources is not None else None
    if sources is None:
        return
    scope = library.scope.model if library.scope is not None else None
    period = scope.audit_period if scope is not None else None
    seen: set[str] = set()
    for repo in sources.repositories:
        if repo.name in seen:
            continue
        seen.add(repo.name)
        if period is not None:
            # The audit period is declared once, in scope.yaml; a repository's own since/until
            # still wins (a repository that joined the programme later).
            repo = repo.model_copy(
                update={"since": repo.since or period.start, "until": repo.until or period.end}
            )
        pushes = None
        if repo.forge in (Forge.github, Forge.gitlab):
            # Before the clone: a push made in between then shows above the recorded heads.
            from generator.collect.pushes import collect_pushes

            pushes = collect_pushes(repo, writer, now, audit_period(repo, now)[0], ttl)
        result = collect_repository(library.root, repo, writer, now, ttl, pushes)
        if repo.forge is Forge.github:
            from generator.collect.github import collect_github

            collect_github(repo, writer, now, result.history, ttl, trusted)
        elif repo.forge is Forge.gitlab:
            from generator.collect.gitlab import collect_gitlab

            collect_gitlab(repo, writer, now, result.history, ttl)


def main(argv: list[str] | None = None) -> int:
    """`python -m generator.collect.git [--root DIR] [--out DIR]`: a snapshot of the Git (and
    forge) evidence alone, for instances without clusters and for benchmarks."""
    import argparse

    from generator.errors import InputError, InputErrors
    from generator.loader import load_library
    from generator.snapshot.store import SNAPSHOTS

    parser = argparse.ArgumentParser(prog="python -m generator.collect.git")
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        library = load_library(args.root)
    except (InputError, InputErrors) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    now = dt.datetime.now(dt.UTC)
    writer = SnapshotWriter(args.out or args.root / SNAPSHOTS, now)
    try:
        collect_git(library, writer, now)
        path = writer.commit()
    except BaseException:
        writer.abort()
        raise
    from generator.snapshot.store import load_snapshot

    items = load_snapshot(path).manifest.items
    for item in items:
        if item.status is not ItemStatus.ok:
            print(f"{item.status.value}: {item.id}: {item.detail}", file=sys.stderr)
    print(f"wrote {path} ({len(items)} items)")
    return 1 if any(i.status is ItemStatus.error for i in items) else 0


if __name__ == "__main__":
    sys.exit(main())
