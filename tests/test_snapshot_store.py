"""Snapshots: atomic writes, hashed items, signature, and `evidoc verify` naming what changed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from generator.errors import InputError
from generator.snapshot.store import Freshness, SnapshotWriter, load_snapshot
from tests.conftest import run_evidoc

AT = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def write(tmp_path: Path, key=None) -> Path:
    writer = SnapshotWriter(tmp_path / "snapshots", AT)
    writer.add(
        "kubernetes/prod/prod-wc/namespaces",
        {"items": [{"name": "shop"}]},
        collector="kubernetes",
        query="GET /api/v1/namespaces",
        collected_at=AT,
        ttl=3600,
    )
    writer.add(
        "kubernetes/prod/prod-wc/secrets",
        {"items": []},
        collector="kubernetes",
        query="GET /api/v1/secrets",
        collected_at=AT,
        ttl=3600,
    )
    return writer.commit(key)


def test_snapshot_round_trip_and_freshness(tmp_path: Path) -> None:
    path = write(tmp_path)
    assert path.name == "20261101T120000Z"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
    snap = load_snapshot(path)
    fresh = snap.get("kubernetes/prod/prod-wc/namespaces", AT + dt.timedelta(minutes=5))
    assert fresh.usable and fresh.data == {"items": [{"name": "shop"}]}
    stale = snap.get("kubernetes/prod/prod-wc/namespaces", AT + dt.timedelta(hours=2))
    assert stale.state is Freshness.stale and stale.data is None
    assert snap.get("nothing", AT).state is Freshness.missing


def test_interrupted_write_leaves_nothing(tmp_path: Path) -> None:
    writer = SnapshotWriter(tmp_path / "snapshots", AT)
    writer.add("a", {"x": 1}, collector="k", query="q", collected_at=AT, ttl=1)
    writer.abort()
    assert list((tmp_path / "snapshots").iterdir()) == []


def test_verify_names_tampered_missing_and_extra_files(tmp_path: Path) -> None:
    path = write(tmp_path)
    assert run_evidoc("verify", path).returncode == 0
    ns = path / "items/kubernetes/prod/prod-wc/namespaces.json"
    ns.write_bytes(ns.read_bytes().replace(b"shop", b"shoq"))
    (path / "items/kubernetes/prod/prod-wc/secrets.json").unlink()
    (path / "items/planted.json").write_text("{}")
    proc = run_evidoc("verify", path)
    assert proc.returncode == 1
    assert "namespaces.json: SHA-256 does not match" in proc.stdout
    assert "secrets.json: missing" in proc.stdout
    assert "items/planted.json: extra file" in proc.stdout


@pytest.mark.parametrize("tamper", ["manifest", "signature"])
def test_signed_snapshot(tmp_path: Path, tamper: str) -> None:
    key = Ed25519PrivateKey.generate()
    path = write(tmp_path, key)
    pem = tmp_path / "pub.pem"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    assert run_evidoc("verify", path, "--public-key", pem).returncode == 0
    if tamper == "manifest":
        m = path / "manifest.json"
        m.write_bytes(m.read_bytes().replace(b'"ttl":3600', b'"ttl":9999', 1))
        expect = "manifest.json: digest does not match"
    else:
        other = Ed25519PrivateKey.generate()
        pem.write_bytes(
            other.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        expect = "made by a key other than the trusted one"
    proc = run_evidoc("verify", path, "--public-key", pem)
    assert proc.returncode == 1 and expect in proc.stdout


def test_verify_rejects_a_directory_that_is_not_a_snapshot(tmp_path: Path) -> None:
    proc = run_evidoc("verify", tmp_path)
    assert proc.returncode == 2 and "manifest.json" in proc.stderr


def test_checks_never_see_altered_evidence(tmp_path: Path) -> None:
    path = write(tmp_path)
    ns = path / "items/kubernetes/prod/prod-wc/namespaces.json"
    ns.write_bytes(ns.read_bytes().replace(b"shop", b"shoq"))
    # Loading refuses the whole snapshot ...
    with pytest.raises(InputError, match=r"namespaces\.json: SHA-256 does not match"):
        load_snapshot(path)
    # ... and read without the check (as verify does), an altered item is never evidence.
    snap = load_snapshot(path, verified=False)
    read = snap.get("kubernetes/prod/prod-wc/namespaces", AT)
    assert read.state is Freshness.tampered and read.data is None and not read.usable


def test_newest_snapshot_is_chosen_among_collected_names(tmp_path: Path) -> None:
    from generator.snapshot.store import latest_snapshot

    root = tmp_path / "inst"
    newest = write(root / "evidence")  # evidence/snapshots/20261101T120000Z
    archive = root / "evidence/snapshots/archive-2021"
    archive.mkdir()
    (archive / "manifest.json").write_bytes((newest / "manifest.json").read_bytes())
    assert latest_snapshot(root) == newest
