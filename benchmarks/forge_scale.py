"""Benchmark GitHub collection at scale: 20,000 merged pull requests over GraphQL.

    .venv/bin/python benchmarks/forge_scale.py [--pulls 20000] [--keep DIR]

A main branch of `--pulls` pull requests merged with a merge commit (one feature commit each),
plus 1 % rebase-merged pull requests (two commits copied onto main) and 1 % direct pushes, spread
over 300 days up to now, is written with `git fast-import`. A loopback stand-in answers GitHub's
GraphQL API from the same generated data (every pull request approved by someone else, on its
head, before the merge), with 500 older pull requests that the collector must not need, and 404
for the REST endpoints of branch protection and rulesets (not measured here). Then one process,
measured from a fresh parent:

    the Git collector on the repository; the GitHub collector (generator/collect/github.py);
    `git.reviewed-changes` evaluated on the snapshot

Printed: commits in the period, GraphQL and REST requests made, seconds of each step, peak RSS,
and the check's verdict. Target: completes with ~200 GraphQL pages (not 40,000 REST calls), every
change shown approved.

With `--resume N`, every run gets a budget of N requests ($EVIDOC_FORGE_MAX_REQUESTS) and runs
are repeated (at most 10) until one completes: each resumes the one before (printed: its
GraphQL requests, the pull requests carried over and whether it completed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PEOPLE = [f"eng{i:02d}" for i in range(24)]
TOKEN = "ghp_benchmarkToken0123456789abcdefABCDEF"
FILES = [f"apps/app{a:02d}/values.yaml" for a in range(40)]
OWNER, NAME = "acme", "shop-gitops"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")
    return env


def plan(pulls: int, seed: int = 5) -> list[tuple[str, str]]:
    """The changes, oldest first: ("merge" | "rebase" | "direct", author login)."""
    rng = random.Random(seed)
    changes = [("merge", rng.choice(PEOPLE)) for _ in range(pulls)]
    extra = max(1, pulls // 100)
    for kind in ("rebase", "direct"):
        for _ in range(extra):
            changes.insert(rng.randrange(len(changes)), (kind, rng.choice(PEOPLE)))
    return changes


def build_repo(path: Path, changes: list[tuple[str, str]], start: dt.datetime,
               end: dt.datetime) -> None:  # fmt: skip
    """The repository, written with git fast-import; each change's commits are marked so their
    ids can be read back (marks file)."""
    env = _env()
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", f"--export-marks={path / 'marks'}"],
        cwd=path,
        stdin=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None
    step = (end - start).total_seconds() / (len(changes) + 1)
    mark = 0

    def commit(ref: str, who: str, when: float, message: str, parents: list[int]) -> int:
        nonlocal mark
        mark += 1
        body = f"revision {mark}\n"
        msg = message.encode()
        lines = [
            f"commit {ref}",
            f"mark :{mark}",
            f"author {who} <{who}@example.org> {int(when)} +0000",
            f"committer {who} <{who}@example.org> {int(when)} +0000",
            f"data {len(msg)}",
            message,
        ]
        if parents:
            lines.append(f"from :{parents[0]}")
        lines += [f"merge :{p}" for p in parents[1:]]
        lines += [f"M 644 inline {FILES[mark % len(FILES)]}", f"data {len(body)}", body]
        proc.stdin.write(("\n".join(lines) + "\n").encode())  # type: ignore[union-attr]
        return mark

    base = start.timestamp() - 86400 * 30
    tip = commit("refs/heads/main", PEOPLE[0], base, "Initial layout", [])
    for i, (kind, who) in enumerate(changes):
        at = start.timestamp() + (i + 1) * step
        if kind == "merge":
            side = commit("refs/heads/feature", who, at - 600, f"Change {i}", [tip])
            title = f"Merge pull request #{i + 1}"
            tip = commit("refs/heads/main", "web-flow", at, title, [tip, side])
        elif kind == "rebase":
            tip = commit("refs/heads/main", who, at - 1, f"Change {i} part 1", [tip])
            tip = commit("refs/heads/main", who, at, f"Change {i} part 2", [tip])
        else:
            tip = commit("refs/heads/main", who, at, f"Direct change {i}", [tip])
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "update-ref", "-d", "refs/heads/feature"], cwd=path, env=env)


def pull_data(path: Path, changes: list[tuple[str, str]], start: dt.datetime,
              end: dt.datetime) -> list[dict[str, Any]]:  # fmt: skip
    """The GraphQL nodes of every pull request, most recently updated first."""
    marks = dict(line.split() for line in (path / "marks").read_text().splitlines() if line.strip())
    step = (end - start).total_seconds() / (len(changes) + 1)

    def iso(ts: float) -> str:
        return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def pr_commit(oid: str, who: str, message: str) -> dict[str, Any]:
        actor = {"email": f"{who}@example.org", "user": {"login": who}}
        return {"commit": {"oid": oid, "message": message, "author": actor, "committer": actor}}

    nodes = []
    mark = 1
    rng = random.Random(7)
    for i, (kind, who) in enumerate(changes):
        at = start.timestamp() + (i + 1) * step
        if kind == "direct":
            mark += 1
            continue
        number = len(nodes) + 1000
        if kind == "merge":
            side, merge = marks[f":{mark + 1}"], marks[f":{mark + 2}"]
            commits = [pr_commit(side, who, f"Change {i}")]
            head = side
            mark += 2
        else:  # the pull request's own commits, before GitHub rebased them onto main
            merge = marks[f":{mark + 2}"]
            commits = [
                pr_commit(f"{number:08x}{part:032x}", who, f"Change {i} part {part}")
                for part in (1, 2)
            ]
            head = commits[-1]["commit"]["oid"]
            mark += 2
        reviewer = rng.choice([p for p in PEOPLE if p != who])
        nodes.append(
            {
                "number": number,
                "title": f"Change {i}",
                "updatedAt": iso(at + 60),
                "mergedAt": iso(at),
                "baseRefName": "main",
                "headRefOid": head,
                "author": {"__typename": "User", "login": who},
                "mergeCommit": {"oid": merge},
                "reviews": {
                    "pageInfo": {"hasNextPage": False, "endCursor": None},
                    "nodes": [
                        {
                            "databaseId": number * 10,
                            "state": "APPROVED",
                            "submittedAt": iso(at - 300),
                            "authorAssociation": "MEMBER",
                            "author": {"__typename": "User", "login": reviewer},
                            "commit": {"oid": head},
                        }
                    ],
                },
                "commits": {
                    "pageInfo": {"hasNextPage": False, "endCursor": None},
                    "nodes": commits,
                },
            }
        )
    for k in range(500):  # pull requests merged before the period
        at = start.timestamp() - 86400 - k * 3600
        nodes.append({**nodes[0], "number": 100 + k, "updatedAt": iso(at), "mergedAt": iso(at),
                      "mergeCommit": {"oid": f"{k:040x}"}})  # fmt: skip
    nodes.sort(key=lambda n: n["updatedAt"], reverse=True)
    return nodes


class StandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, nodes: list[dict[str, Any]]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.nodes = nodes
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1


class Handler(BaseHTTPRequestHandler):
    server: StandIn

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.count("REST")
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(401, {"message": "Bad credentials"})
        if self.path.split("?")[0] == f"/repos/{OWNER}/{NAME}":
            return self._send(200, {"full_name": f"{OWNER}/{NAME}", "default_branch": "main"})
        self._send(404, {"message": "Not Found"})

    def do_POST(self) -> None:
        self.server.count("GraphQL")
        if self.headers.get("Authorization") != f"Bearer {TOKEN}" or self.path != "/graphql":
            return self._send(401 if self.path == "/graphql" else 404, {"message": "no"})
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        variables = body.get("variables") or {}
        operation = re.search(r"query\s+(\w+)", body.get("query") or "")
        name = operation.group(1) if operation else ""
        if name == "MergedPulls":
            start = int(variables.get("cursor") or 0)
            end = start + int(variables["first"])
            nodes = self.server.nodes[start:end]
            page = {"pageInfo": {"hasNextPage": end < len(self.server.nodes),
                                 "endCursor": str(end)}, "nodes": nodes}  # fmt: skip
            return self._send(200, {"data": {"repository": {"pullRequests": page}}})
        if name == "CommitPulls":  # the direct pushes: no pull request
            out = {
                f"c{key[3:]}": {"oid": sha, "associatedPullRequests": {"nodes": []}}
                for key, sha in variables.items()
                if key.startswith("oid")
            }
            return self._send(200, {"data": {"repository": out}})
        self._send(200, {"errors": [{"message": f"unexpected operation {name!r}"}]})


def write_instance(root: Path, repo: Path, api: str, since: dt.date) -> Path:
    (root / "controls/practices").mkdir(parents=True)
    (root / "evidence").mkdir()
    (root / "controls/scope.yaml").write_text("frameworks: []\n")
    (root / "controls/practices/change-management.yaml").write_text(
        "id: change-management\ntitle: Change management\nowner: Head of Platform\n"
        "statement: Every change to main is approved by someone other than its author.\n"
        "checks:\n  - id: git.reviewed-changes\n    with: {approvals: 1}\n"
    )
    (root / "evidence/sources.yaml").write_text(
        f"repositories:\n  - name: {NAME}\n    path: {json.dumps(str(repo))}\n"
        f"    branch: main\n    since: '{since.isoformat()}'\n    forge: github\n"
        f"    project: {OWNER}/{NAME}\n    api_url: {api}\n    token_env: BENCH_GH_TOKEN\n"
    )
    return root


def child(root: Path) -> None:
    """The measured work, in its own process."""
    import resource

    from generator.collect.git import TTL, collect_repository
    from generator.collect.github import collect_github
    from generator.loader import load_library
    from generator.pipeline import evaluate
    from generator.snapshot.store import SnapshotWriter, load_snapshot

    now = dt.datetime.now(dt.UTC)
    library = load_library(root)
    assert library.sources is not None
    (repo,) = library.sources.model.repositories
    writer = SnapshotWriter(root / "evidence" / "snapshots", now)
    t0 = time.perf_counter()
    result = collect_repository(library.root, repo, writer, now, TTL)
    t1 = time.perf_counter()
    collect_github(repo, writer, now, result.history, TTL)
    t2 = time.perf_counter()
    snapshot = writer.commit()
    t3 = time.perf_counter()
    found = evaluate(load_library(root), load_snapshot(snapshot), now).results
    t4 = time.perf_counter()
    summary = next(r for r in found if r.check == "git.reviewed-changes" and "@" not in r.subject)
    item = load_snapshot(snapshot).get(f"github/{NAME}/pull-requests", now).data
    print(
        json.dumps(
            {
                "git": t1 - t0,
                "github": t2 - t1,
                "evaluate": t4 - t3,
                "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "commits": len(result.history.commits) if result.history else 0,
                "pulls": len(item["pulls"]),
                "looked_up": len(item["looked_up"]),
                "not_looked_up": len(item["not_looked_up"]),
                "collection": item["collection"],
                "snapshot": snapshot.name,
                "status": summary.status.value,
                "reason": summary.reason[:300],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pulls", type=int, default=20_000)
    parser.add_argument("--keep", type=Path, default=None, help="build here and keep it")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--resume", type=int, default=None, metavar="N",
                        help="runs of N requests each, resumed until one completes")  # fmt: skip
    args = parser.parse_args()
    if args.child is not None:
        return child(args.child)

    base = args.keep or Path(tempfile.mkdtemp(prefix="evidoc-forge-bench-"))
    end = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=2)
    start = end - dt.timedelta(days=300)
    started = time.perf_counter()
    changes = plan(args.pulls)
    repo = base / NAME
    build_repo(repo, changes, start, end)
    nodes = pull_data(repo, changes, start, end)
    kinds = {k: sum(1 for c, _ in changes if c == k) for k in ("merge", "rebase", "direct")}
    print(
        f"built {kinds['merge']} merge-commit pull requests, {kinds['rebase']} rebase-merged "
        f"(2 commits each), {kinds['direct']} direct pushes with git fast-import, and "
        f"{len(nodes)} pull requests for the stand-in, in {time.perf_counter() - started:.1f} s"
    )
    server = StandIn(nodes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        api = f"http://127.0.0.1:{server.server_address[1]}"
        instance = write_instance(base / "instance", repo, api, start.date())
        env = {**os.environ, "BENCH_GH_TOKEN": TOKEN, "PYTHONPATH": str(REPO)}
        if args.resume is not None:
            budgeted = {**env, "EVIDOC_FORGE_MAX_REQUESTS": str(args.resume)}
            resumed_runs(instance, budgeted, server)
        else:
            wall = time.perf_counter()
            m = measured(instance, env)
            wall = time.perf_counter() - wall
    finally:
        server.shutdown()
        server.server_close()
    if args.resume is not None:
        if args.keep is None:
            shutil.rmtree(base)
        return
    counts = server.counts
    c = m["collection"]
    print(
        f"{m['commits']} commits on main in the period; {m['pulls']} pull requests recorded, "
        f"{m['looked_up']} commits looked up, {m['not_looked_up']} not looked up; "
        f"collection {c['api']}, complete {c['complete']}, {c['requests']} budgeted requests"
    )
    print(
        f"requests: {counts.get('GraphQL', 0)} GraphQL, {counts.get('REST', 0)} REST "
        "(repository, branch protection, rulesets)"
    )
    print(
        f"git collector {m['git']:.2f} s, GitHub collector {m['github']:.2f} s, "
        f"git.reviewed-changes {m['evaluate']:.2f} s; process {wall:.2f} s, "
        f"peak RSS {m['rss']:.0f} MB"
    )
    print(f"git.reviewed-changes: {m['status']}: {m['reason']}")
    if args.keep is None:
        shutil.rmtree(base)


def measured(instance: Path, env: dict[str, str]) -> dict[str, Any]:
    """One collection and evaluation in a fresh process: what `child` printed."""
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(instance)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the measured process failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def resumed_runs(instance: Path, env: dict[str, str], server: StandIn) -> None:
    """Collect again and again within the budget, each run resuming the one before."""
    for run in range(1, 11):
        before = server.counts.get("GraphQL", 0)
        m = measured(instance, env)
        c = m["collection"]
        carried = (c.get("carried_over") or {}).get("pulls", 0)
        print(
            f"run {run} ({m['snapshot']}): {server.counts.get('GraphQL', 0) - before} GraphQL "
            f"requests; resumed from {c.get('resumed_from')}, {carried} pull requests carried "
            f"over; {m['pulls']} recorded, {m['not_looked_up']} commits not looked up; complete "
            f"{c['complete']}; git.reviewed-changes {m['status']}"
        )
        if c["complete"]:
            return
        time.sleep(1.0)  # the next snapshot gets another id (one a second)


if __name__ == "__main__":
    main()
