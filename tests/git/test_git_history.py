"""The Git collector on real repositories: the first-parent chain of the period, merges and
what they brought in, trailers, changed paths, signatures, clones and errors."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

import generator.collect.git as git_collector
from generator.collect.remotes import redact_url, split_remote
from generator.snapshot.store import load_snapshot
from tests.git.builders import (
    ALICE,
    BOB,
    MAINLINE,
    GitRepo,
    SigningKey,
    allowed_signers,
    bare_clone,
    run_git,
)
from tests.git.conftest import NOW, needs_ssh_keygen, shop_source
from tests.git.instance import collect, make_instance


def item(snapshot: Path, item_id: str) -> dict:
    snap = load_snapshot(snapshot)
    read = snap.get(item_id, NOW)
    assert read.usable, (item_id, read.state)
    return read.data


def test_commits_of_the_period(shop: GitRepo, tmp_path: Path) -> None:
    root = make_instance(tmp_path / "inst", [shop_source(shop, tmp_path)])
    snapshot = collect(root, NOW)
    data = item(snapshot, "git/shop-gitops/commits")
    labels = {sha: label for label, sha in shop.shas.items()}
    assert [labels[c["sha"]] for c in data["commits"]] == list(reversed(MAINLINE))
    assert data["head"] == shop.shas["merge old-branch"] and data["ref"] == "refs/heads/main"
    assert data["period"] == {"since": "2026-01-01T00:00:00Z", "until": "2026-02-01T00:00:00Z"}
    by = {labels[c["sha"]]: c for c in data["commits"]}

    ingress = by["merge ingress"]
    assert ingress["merged"]["heads"] == [shop.shas["ingress tls"]]
    assert {c["sha"] for c in ingress["merged"]["commits"]} == {
        shop.shas["ingress host"],
        shop.shas["ingress tls"],
    }
    assert {c["author"]["email"] for c in ingress["merged"]["commits"]} == {BOB[1]}
    assert ingress["trailers"] == {"Reviewed-by": ["Carol Sand <carol@example.org>"]}
    assert sorted(ingress["paths"]) == ["ingress-host.txt", "ingress-tls.txt"]

    # a side commit from before the period, merged in it, is part of the change
    old = by["merge old-branch"]["merged"]
    assert [c["sha"] for c in old["commits"]] == [shop.shas["old work"]]
    assert old["complete"] is True

    netpol = by["merge netpol"]["merged"]["commits"][0]
    assert netpol["co_authors"] == [{"name": "Dave Holm", "email": "dave@example.org"}]

    squashed = by["squashed"]
    assert "merged" not in squashed and squashed["parents"] == [shop.shas["merge limits"]]
    assert squashed["author"]["email"] == BOB[1] and squashed["committer"]["email"] == ALICE[1]
    assert squashed["trailers"]["Approved-by"] == ["Carol Sand <carol@example.org>"]
    assert squashed["trailers"]["Signed-off-by"] == ["Bob Berg <bob@example.org>"]

    hotfix = by["hotfix"]
    assert sorted(hotfix["paths"]) == ["apps/shop/values prod.yaml", "docs/ärende.md"]
    assert hotfix["signature"] == {"status": "none"}
    assert hotfix["author"]["date"] == hotfix["committer"]["date"]

    manifest = load_snapshot(snapshot).manifest
    git_items = [i for i in manifest.items if i.collector == "git"]
    assert {i.id for i in git_items} == {"git/shop-gitops/commits", "git/shop-gitops/branch"}
    assert all(i.source == str(shop.path) and i.ttl > 0 for i in git_items)


def test_period_bounds(shop: GitRepo, tmp_path: Path) -> None:
    # the default period is the year before collection: the initial commit is in it
    root = make_instance(tmp_path / "a", [{"name": "shop-gitops", "path": str(shop.path)}])
    commits = item(collect(root, NOW), "git/shop-gitops/commits")["commits"]
    assert commits[-1]["sha"] == shop.shas["initial"] and len(commits) == len(MAINLINE) + 1
    # nothing after `until`, nothing before `since`
    source = shop_source(shop, tmp_path, since="2025-01-01", until="2025-12-31")
    root = make_instance(tmp_path / "b", [source])
    commits = item(collect(root, NOW), "git/shop-gitops/commits")["commits"]
    assert [c["sha"] for c in commits] == [shop.shas["initial"]]


def test_a_fixed_number_of_git_processes(tmp_path: Path, monkeypatch) -> None:
    """2,000 commits, two `git log` processes, a handful of other git processes."""
    repo = GitRepo.init(tmp_path / "big")
    lines = []
    for i in range(2000):
        ts = int(dt.datetime(2026, 1, 2, tzinfo=dt.UTC).timestamp()) + i * 60
        lines += [
            "commit refs/heads/main",
            f"mark :{i + 1}",
            f"author Bob Berg <bob@example.org> {ts} +0000",
            f"committer Bob Berg <bob@example.org> {ts} +0000",
            "data <<EOF",
            f"change {i}\n\nReviewed-by: Carol Sand <carol@example.org>",
            "EOF",
            *([f"from :{i}"] if i else []),
            f"M 644 inline file{i % 50}.txt",
            "data <<EOF",
            str(i),
            "EOF",
            "",
        ]
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=repo.path,
        input="\n".join(lines) + "\n",
        text=True,
        check=True,
        env=repo.env,
    )
    calls: list[list[str]] = []
    real_popen = subprocess.Popen

    def popen(args, *a, **kw):  # subprocess.run starts its processes through Popen too
        calls.append(list(args))
        return real_popen(args, *a, **kw)

    monkeypatch.setattr(git_collector.subprocess, "Popen", popen)
    root = make_instance(tmp_path / "inst", [{"name": "big", "path": str(repo.path)}])
    commits = item(collect(root, NOW), "git/big/commits")["commits"]
    assert len(commits) == 2000
    assert commits[0]["paths"] == ["file49.txt"]
    # the first-parent chain (to place the period), one walk of the graph, one of the branch's
    # own commits for their paths; never per commit
    logs = [c for c in calls if "log" in c]
    assert len(logs) == 3 and sum("--first-parent" in c for c in logs) == 2, calls
    assert len(calls) <= 10, calls


@needs_ssh_keygen
def test_ssh_signatures(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    alice_key, stranger = SigningKey.make(keys, "alice"), SigningKey.make(keys, "stranger")
    repo = GitRepo.init(tmp_path / "signed")
    repo.commit("good", "Signed by an allowed signer", ALICE, key=alice_key)
    repo.commit("stranger", "Signed by a key nobody allowed", BOB, key=stranger)
    repo.commit("unsigned", "Not signed", BOB)
    repo.checkout("feature/x", new=True)
    repo.commit("side", "Side work", BOB, key=stranger)
    repo.checkout("main")
    repo.merge("merge", "feature/x", "Merge feature/x", ALICE, key=alice_key)
    root = tmp_path / "inst"
    root.mkdir()
    allowed_signers(root / "allowed_signers", [(ALICE[1], alice_key)])
    source = {"name": "signed", "path": str(repo.path), "allowed_signers": "allowed_signers"}
    make_instance(root, [source])
    data = item(collect(root, NOW), "git/signed/commits")
    status = {c["subject"]: c["signature"] for c in data["commits"]}
    assert status["Signed by an allowed signer"]["status"] == "good"
    assert status["Signed by an allowed signer"]["signer"] == ALICE[1]
    assert status["Signed by an allowed signer"]["key"].startswith("SHA256:")
    assert status["Signed by a key nobody allowed"]["status"] == "untrusted"
    assert status["Not signed"] == {"status": "none"}
    assert status["Merge feature/x"]["status"] == "good"
    assert data["commits"][0]["merged"]["commits"][0]["signature"] == "untrusted"
    assert data["signature_verification"]["ssh_allowed_signers"] == "allowed_signers"
    assert len(data["signature_verification"]["sha256"]) == 64

    # without an allowed-signers file git cannot trust any SSH key, and must not crash
    make_instance(root, [{"name": "signed", "path": str(repo.path)}])
    data = item(collect(root, NOW + dt.timedelta(seconds=1)), "git/signed/commits")
    assert {c["signature"]["status"] for c in data["commits"]} == {"untrusted", "none"}
    assert data["signature_verification"]["ssh_allowed_signers"] is None


def test_clone_url_and_redacted_remotes(shop: GitRepo, tmp_path: Path) -> None:
    server = bare_clone(shop.path, tmp_path / "server" / "shop-gitops.git", shop.env)
    root = make_instance(
        tmp_path / "inst", [{"name": "shop-gitops", "url": server.as_uri(), "since": "2026-01-01"}]
    )
    snapshot = collect(root, NOW)
    commits = item(snapshot, "git/shop-gitops/commits")["commits"]
    assert commits[0]["sha"] == shop.shas["merge old-branch"] and len(commits) == len(MAINLINE)
    branch = item(snapshot, "git/shop-gitops/branch")
    assert branch["default_branch"] == "main"

    # a clone whose remote URL carries a password: the snapshot keeps the URL without it
    work = tmp_path / "work"
    run_git(tmp_path, "clone", "-q", str(server), str(work), env=shop.env)
    run_git(
        work,
        "remote",
        "set-url",
        "origin",
        "https://bob:hunter2@git.example.org/acme/shop-gitops.git",
        env=shop.env,
    )
    root = make_instance(tmp_path / "inst2", [{"name": "shop-gitops", "path": str(work)}])
    snapshot = collect(root, NOW)
    remotes = item(snapshot, "git/shop-gitops/branch")["remotes"]
    assert remotes == {"origin": "https://git.example.org/acme/shop-gitops.git"}
    for file in snapshot.rglob("*"):
        assert not file.is_file() or b"hunter2" not in file.read_bytes()


def test_unreadable_repositories_are_recorded_as_errors(shop: GitRepo, tmp_path: Path) -> None:
    root = make_instance(
        tmp_path / "inst",
        [
            {"name": "missing", "path": "../nowhere"},
            {"name": "no-branch", "path": str(shop.path), "branch": "production"},
        ],
    )
    manifest = load_snapshot(collect(root, NOW)).manifest
    status = {i.id: (i.status.value, i.detail) for i in manifest.items}
    assert status["git/missing/commits"][0] == "error"
    assert "does not exist" in status["git/missing/commits"][1]
    assert status["git/no-branch/branch"][0] == "error"
    assert "branch 'production' not found" in status["git/no-branch/branch"][1]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/shop-gitops.git", ("github.com", "acme/shop-gitops")),
        ("git@gitlab.example.org:group/sub/app.git", ("gitlab.example.org", "group/sub/app")),
        ("ssh://git@github.com/acme/shop-gitops", ("github.com", "acme/shop-gitops")),
        ("https://GitHub.com/acme/shop-gitops/", ("github.com", "acme/shop-gitops")),
        ("not a url", None),
    ],
)
def test_split_remote(url: str, expected) -> None:
    assert split_remote(url) == expected


def test_redact_url() -> None:
    assert redact_url("https://x:tok@h.example/a.git") == "https://h.example/a.git"
    assert redact_url("git@h.example:a/b.git") == "git@h.example:a/b.git"


def test_collection_is_deterministic(shop: GitRepo, tmp_path: Path) -> None:
    root = make_instance(tmp_path / "inst", [shop_source(shop, tmp_path)])
    one = collect(root, NOW)
    two = collect(root, NOW + dt.timedelta(seconds=1))
    a = json.loads((one / "items/git/shop-gitops/commits.json").read_bytes())
    b = json.loads((two / "items/git/shop-gitops/commits.json").read_bytes())
    assert a["commits"] and a["commits"] == b["commits"]  # only the period's end moved
    twice = collect(make_instance(tmp_path / "again", [shop_source(shop, tmp_path)]), NOW)
    assert (twice / "items/git/shop-gitops/commits.json").read_bytes() == (
        one / "items/git/shop-gitops/commits.json"
    ).read_bytes()
