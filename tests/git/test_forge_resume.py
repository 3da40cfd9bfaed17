"""Resuming a GitHub collection that spent its budget: the next run carries over what the earlier
snapshot read, lists again only what was updated since, continues from the earlier cursor, and
never trusts an earlier item that does not verify or does not fit."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import generator.collect.github as github_collector
from generator.snapshot.canonical import sha256_hex
from generator.snapshot.store import load_snapshot
from tests.git.builders import GitRepo
from tests.git.conftest import NOW
from tests.git.forge_standin import RecordedForge
from tests.git.instance import by_check, collect, results
from tests.git.test_forge_scale import NONE, PULLS
from tests.git.test_forges import GH, GH_TOKEN, github_instance, verdicts

LATER = NOW + dt.timedelta(hours=1)
BUDGET = "EVIDOC_FORGE_MAX_REQUESTS"


@pytest.fixture
def forge(httpserver: HTTPServer, shop: GitRepo, monkeypatch) -> RecordedForge:
    """The GraphQL stand-in, two pull requests a page; `forge.asked` records each GraphQL
    operation and its listing cursor."""
    monkeypatch.setenv("SHOP_GH_TOKEN", GH_TOKEN)
    recorded = RecordedForge(
        httpserver, "github.json", shop.shas, ("Authorization", f"Bearer {GH_TOKEN}")
    )
    for route in recorded.routes.values():
        route.pop("once", None)
    recorded.graphql = True
    monkeypatch.setattr(github_collector, "PAGE_SIZE", 2)
    asked: list[tuple[str, str | None]] = []
    real = github_collector._graphql

    def spy(client: Any, url: str, query: str, variables: dict[str, Any]) -> Any:
        operation = query.split("query ", 1)[1].split("(", 1)[0].strip()
        asked.append((operation, variables.get("cursor")))
        return real(client, url, query, variables)

    monkeypatch.setattr(github_collector, "_graphql", spy)
    recorded.asked = asked  # type: ignore[attr-defined]
    return recorded


def collect_at(
    root: Path, shop: GitRepo, now: dt.datetime
) -> tuple[Path, dict[str, Any], dict[str, str]]:
    """A snapshot taken at `now`, its pull-requests item, and the verdict of each commit not
    shown reviewed."""
    snapshot = collect(root, now)
    found = results(root, snapshot, now)
    assert by_check(found, "git.reviewed-changes")["shop-gitops"]
    return snapshot, load_snapshot(snapshot).get(PULLS, now).data, verdicts(found, shop)


def listings(forge: RecordedForge) -> list[str | None]:
    """The cursors the pull request listing was asked from, then forgotten."""
    asked = forge.asked  # type: ignore[attr-defined]
    cursors = [cursor for operation, cursor in asked if operation == "MergedPulls"]
    asked.clear()
    return cursors


def updated_since(forge: RecordedForge, number: int, state: str) -> None:
    """Pull request `number`'s review becomes `state` after the first run: GitHub sorts it to
    the top of the listing, last updated now."""
    pages = forge.routes[f"GET {GH}/pulls"]["pages"]
    pull = next(p for page in pages for p in page if p["number"] == number)
    for page in pages:
        page[:] = [p for p in page if p["number"] != number]
    pull["updated_at"] = "2026-01-20T09:00:00Z"
    pages[0].insert(0, pull)
    (review,) = forge.routes[f"GET {GH}/pulls/{number}/reviews"]["body"]
    review["state"] = state


def test_a_spent_budget_is_resumed_from_the_cursor(
    shop: GitRepo, tmp_path: Path, forge: RecordedForge, monkeypatch
) -> None:
    _, _, everything = collect_at(github_instance(tmp_path / "full", shop, forge), shop, NOW)
    listings(forge)
    root = github_instance(tmp_path / "inst", shop, forge)

    monkeypatch.setenv(BUDGET, "3")
    first, data, found = collect_at(root, shop, NOW)
    assert listings(forge) == [None, "2", "4"]
    collection = data["collection"]
    assert collection["complete"] is False and collection["cursor"] == "6"
    assert collection["newest_updated_at"] == "2026-01-05T23:05:00Z"
    assert "resumed_from" not in collection
    assert [p["number"] for p in data["pulls"]] == [10, 12, 13, 14, 15, 17]
    labels = {sha: label for label, sha in shop.shas.items()}
    assert sorted(labels[s] for s in data["not_looked_up"]) == ["hotfix", "merge ingress"]
    assert found == {
        "hotfix": NONE,
        "merge ingress": NONE,
        "merge netpol": NONE,  # its author's e-mail is tied to an account by #11's commits
        "merge quota": "unreviewed",
    }

    _, data, found = collect_at(root, shop, LATER)
    collection = data["collection"]
    # the top page again (nothing was updated since), then on from the cursor; one look-up
    assert listings(forge) == [None, "6"]
    assert collection["requests"] == 3 and collection["complete"] is True
    assert collection["resumed_from"] == first.name
    assert collection["carried_over"] == {
        "pulls": 4,
        "pulls_read_again": 2,
        "looked_up": 0,
        "cursor": "6",
    }
    read_in = {p["number"]: p.get("read_in") for p in data["pulls"]}
    assert read_in == {n: first.name for n in (12, 13, 14, 15)} | {10: None, 11: None, 17: None}
    assert data["not_looked_up"] == [] and data["looked_up"] == [shop.shas["hotfix"]]
    assert found == everything

    # complete now: the next run starts over
    monkeypatch.delenv(BUDGET)
    _, data, _ = collect_at(root, shop, LATER + dt.timedelta(hours=1))
    assert "resumed_from" not in data["collection"] and listings(forge)[0] is None
    assert all("read_in" not in p for p in data["pulls"])


def test_a_review_dismissed_between_runs_is_judged_afresh(
    shop: GitRepo, tmp_path: Path, forge: RecordedForge, monkeypatch
) -> None:
    root = github_instance(tmp_path / "inst", shop, forge)
    monkeypatch.setenv(BUDGET, "3")
    first, data, found = collect_at(root, shop, NOW)
    approved = next(p for p in data["pulls"] if p["number"] == 14)
    assert approved["reviews"][0]["state"] == "APPROVED" and "squashed" not in found

    updated_since(forge, 14, "DISMISSED")
    listings(forge)
    monkeypatch.setenv(BUDGET, "4")
    _, data, found = collect_at(root, shop, LATER)
    # #14 and #10 on the top page, #17 and #15 on the next, which ends before where the first
    # run began; then on from its cursor
    assert listings(forge) == [None, "2", "6"]
    collection = data["collection"]
    assert collection["resumed_from"] == first.name and collection["complete"] is True
    assert collection["newest_updated_at"] == "2026-01-20T09:00:00Z"
    pull = next(p for p in data["pulls"] if p["number"] == 14)
    assert "read_in" not in pull and pull["reviews"][0]["state"] == "DISMISSED"
    assert found["squashed"] != NONE and found["squashed"] == "unreviewed"


def test_no_earlier_data_when_the_updates_are_not_all_listed_again(
    shop: GitRepo, tmp_path: Path, forge: RecordedForge, monkeypatch
) -> None:
    root = github_instance(tmp_path / "inst", shop, forge)
    monkeypatch.setenv(BUDGET, "3")
    first, _, _ = collect_at(root, shop, NOW)
    updated_since(forge, 14, "DISMISSED")
    listings(forge)
    monkeypatch.setenv(BUDGET, "1")  # the top page only: #14 and #10, not down to #17
    _, data, found = collect_at(root, shop, LATER)
    collection = data["collection"]
    assert "resumed_from" not in collection
    assert collection["not_resumed"].startswith(f"{first.name}: the pull requests updated")
    assert [p["number"] for p in data["pulls"]] == [10, 14]
    assert all("read_in" not in p for p in data["pulls"])
    assert collection["cursor"] == "2" and collection["complete"] is False
    assert found["squashed"] == "unreviewed"
    assert found["merge netpol"] == NONE  # earlier evidence is not used


def _tamper(snapshot: Path, manifest_too: bool) -> None:
    """Turn #12's request for changes into an approval in the earlier item (forged)."""
    manifest = json.loads((snapshot / "manifest.json").read_text())
    entry = next(i for i in manifest["items"] if i["id"] == PULLS)
    path = snapshot / entry["path"]
    path.write_bytes(path.read_bytes().replace(b'"CHANGES_REQUESTED"', b'"APPROVED"'))
    if manifest_too:  # the item's hash follows; the manifest's digest is not resealed
        entry["sha256"] = sha256_hex(path.read_bytes())
        (snapshot / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("manifest_too", "why"),
    [(False, "SHA-256 does not match"), (True, "digest does not match")],
)
def test_a_tampered_earlier_item_is_not_resumed(
    shop: GitRepo, tmp_path: Path, forge: RecordedForge, monkeypatch, manifest_too: bool, why: str
) -> None:
    root = github_instance(tmp_path / "inst", shop, forge)
    monkeypatch.setenv(BUDGET, "3")
    first, _, _ = collect_at(root, shop, NOW)
    _tamper(first, manifest_too)
    listings(forge)
    _, data, found = collect_at(root, shop, LATER)
    assert listings(forge) == [None, "2", "4"]  # started over
    assert found["merge quota"] == "unreviewed"  # the forged approval is not read
    assert "resumed_from" not in data["collection"]
    assert data["collection"]["not_resumed"].startswith(first.name)
    assert why in data["collection"]["not_resumed"]


def test_another_period_start_is_not_resumed(
    shop: GitRepo, tmp_path: Path, forge: RecordedForge, monkeypatch
) -> None:
    root = github_instance(tmp_path / "inst", shop, forge)
    monkeypatch.setenv(BUDGET, "3")
    first, _, _ = collect_at(root, shop, NOW)
    sources = root / "evidence" / "sources.yaml"
    sources.write_text(sources.read_text().replace("2026-01-01", "2026-01-02"))
    listings(forge)
    _, data, _ = collect_at(root, shop, LATER)
    assert listings(forge)[0] is None and "resumed_from" not in data["collection"]
    assert data["collection"]["not_resumed"] == f"{first.name}: its period begins at another time"


def test_a_signing_run_resumes_only_from_a_snapshot_its_key_signed(
    shop: GitRepo, tmp_path: Path, forge: RecordedForge, monkeypatch
) -> None:
    """Carried into a snapshot this run signs, a forged earlier item would be laundered: an
    earlier snapshot resealed without its signature is not resumed from."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from generator.snapshot.manifest import Manifest

    key = Ed25519PrivateKey.generate()
    root = github_instance(tmp_path / "inst", shop, forge)
    monkeypatch.setenv(BUDGET, "3")
    first = collect(root, NOW, key)
    _tamper(first, manifest_too=True)
    manifest = Manifest.model_validate_json((first / "manifest.json").read_bytes())
    (first / "manifest.json").write_bytes(manifest.sealed().model_dump_json().encode())
    (first / "manifest.sig").unlink()
    second = collect(root, LATER, key)
    data = load_snapshot(second).get(PULLS, LATER).data
    assert "resumed_from" not in data["collection"]
    assert "only evidence signed by a trusted key" in data["collection"]["not_resumed"]
    found = verdicts(results(root, second, LATER), shop)
    assert found["merge quota"] == "unreviewed"
    # Signed by the run's own key, the second (which also spent its budget) is resumed from.
    third = collect(root, LATER + dt.timedelta(hours=1), key)
    resumed = load_snapshot(third).get(PULLS, LATER + dt.timedelta(hours=1)).data
    assert resumed["collection"].get("resumed_from") == second.name


def test_an_unreadable_trusted_key_resumes_nothing_and_stops_nothing(
    tmp_path: Path, monkeypatch
) -> None:
    """A trusted key that cannot be read: no earlier snapshot can be shown signed by the keys
    meant, so none is resumed from; the collection itself goes on."""
    from generator.collect.run import _resume_trust
    from generator.loader import load_library
    from tests.git.instance import make_instance

    root = make_instance(tmp_path / "inst", [{"name": "shop", "path": "unused"}])
    monkeypatch.setenv("EVIDOC_TRUSTED_KEYS", str(tmp_path / "missing.pub"))
    trusted = _resume_trust(load_library(root), None)
    assert trusted and all(len(key) != 32 for key in trusted)  # no Ed25519 key matches it
