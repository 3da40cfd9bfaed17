"""Every command that reads evidence verifies it first, the same way: a snapshot `evidoc verify`
rejects is refused by check, build and pdf alike, and trusted keys make a signature mandatory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from generator.snapshot.canonical import sha256_hex
from generator.snapshot.manifest import MANIFEST, SIGNATURE
from generator.snapshot.signing import fingerprint
from generator.snapshot.store import latest_snapshot
from tests.conftest import run_evidoc
from tests.test_pdf_pack import small_instance

COMMANDS = ("check", "build", "pdf")


def public_pem(key: Ed25519PrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def run(command: str, root: Path, *extra: str | Path):
    args: list[str | Path] = [command, "--root", root, *extra]
    if command == "build":
        args += ["--site-dir", root / "build" / "site"]
    if command == "pdf":
        args += ["--output", root / "build" / "pack.pdf"]
    return run_evidoc(*args, timeout=180)


def test_an_item_altered_with_its_manifest_entry_is_refused_everywhere(tmp_path: Path) -> None:
    """Altering an item and its manifest entry, not the manifest digest, used to remove a
    planted failure from check and from the site while verify said 'manifest altered'."""
    root = small_instance(tmp_path / "inst").root
    snapshot = latest_snapshot(root)
    assert snapshot is not None
    item = snapshot / "items/kubernetes/prod/prod-wc/namespaces.json"
    forged = item.read_bytes().replace(b"namespaces-0", b"namespaces-9")
    item.write_bytes(forged)
    manifest = json.loads((snapshot / MANIFEST).read_bytes())
    for entry in manifest["items"]:
        if entry["path"] == "items/kubernetes/prod/prod-wc/namespaces.json":
            entry["sha256"] = sha256_hex(forged)
    (snapshot / MANIFEST).write_text(json.dumps(manifest))
    verdict = run_evidoc("verify", snapshot)
    assert verdict.returncode == 1 and "manifest altered" in verdict.stdout
    for command in COMMANDS:
        proc = run(command, root)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert "evidence snapshot refused" in proc.stderr and "manifest altered" in proc.stderr
    # Nothing was written: no site, no pack, no temporary files left beside them.
    assert [p for p in (root / "build").rglob("*")] == [] if (root / "build").exists() else True


def test_a_symlinked_signature_is_never_read_or_published(tmp_path: Path) -> None:
    root = small_instance(tmp_path / "inst").root
    snapshot = latest_snapshot(root)
    assert snapshot is not None
    secret = root / ".evidoc" / "digest-key"
    secret.parent.mkdir(exist_ok=True)
    secret.write_text("hmac-key-that-must-stay-private")
    os.symlink(secret, snapshot / SIGNATURE)
    proc = run("build", root)
    assert proc.returncode == 2 and "symbolic link" in proc.stderr
    assert not any(
        "hmac-key-that-must-stay-private" in p.read_text(errors="replace")
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and p != secret
    )
    verdict = run_evidoc("verify", snapshot)
    assert verdict.returncode == 1 and "symbolic link" in verdict.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_trusted_keys_make_a_signature_mandatory(tmp_path: Path, command: str) -> None:
    trusted = Ed25519PrivateKey.generate()
    pem = public_pem(trusted, tmp_path / "trusted.pub")
    unsigned = small_instance(tmp_path / "unsigned").root
    proc = run(command, unsigned, "--public-key", pem)
    assert proc.returncode == 2 and "manifest.sig: missing" in proc.stderr
    stranger = small_instance(tmp_path / "stranger", key=Ed25519PrivateKey.generate()).root
    proc = run(command, stranger, "--public-key", pem)
    assert proc.returncode == 2 and "a key other than the trusted one" in proc.stderr
    signed = small_instance(tmp_path / "signed", key=trusted).root
    assert run(command, signed, "--public-key", pem).returncode in (0, 1)


def test_trusted_keys_from_sources_yaml_and_the_signer_on_the_site(tmp_path: Path) -> None:
    trusted = Ed25519PrivateKey.generate()
    inst = small_instance(tmp_path / "inst", key=trusted)
    public_pem(trusted, inst.root / "evidence" / "collector.pub")
    sources = (inst.root / "evidence/sources.yaml").read_text()
    inst.write("evidence/sources.yaml", "trusted_keys: [evidence/collector.pub]\n" + sources)
    proc = run("build", inst.root)
    assert proc.returncode == 0, proc.stderr
    raw = trusted.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    pages = [p.read_text(encoding="utf-8") for p in (inst.root / "build/site").rglob("*.html")]
    assert pages and all(fingerprint(raw) in page for page in pages if "evidoc-snapshot" in page)
    assert any(fingerprint(raw) in page for page in pages)
    # The same instance, its snapshot re-signed by another key: refused by sources.yaml alone.
    other = small_instance(tmp_path / "other", key=Ed25519PrivateKey.generate())
    public_pem(trusted, other.root / "evidence" / "collector.pub")
    other.write("evidence/sources.yaml", "trusted_keys: [evidence/collector.pub]\n" + sources)
    proc = run("check", other.root)
    assert proc.returncode == 2 and "a key other than the trusted one" in proc.stderr


def test_a_repository_url_cannot_be_a_git_option(tmp_path: Path) -> None:
    root = small_instance(tmp_path / "inst", snapshot=False).root
    planted = tmp_path / "pwned"
    sources = (root / "evidence/sources.yaml").read_text()
    (root / "evidence/sources.yaml").write_text(
        sources + f"repositories:\n  - name: shop\n    url: '--upload-pack=touch {planted}'\n"
    )
    for command in ("check", "collect"):
        proc = run_evidoc(command, "--root", root)
        assert proc.returncode == 2, proc.stderr
        assert "evidence/sources.yaml" in proc.stderr and "cannot start with '-'" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert not planted.exists()


def test_a_docs_link_outside_the_instance_is_refused(tmp_path: Path) -> None:
    """A page linked to /proc/self/environ published the CI environment, tokens included."""
    root = small_instance(tmp_path / "inst").root
    outside = tmp_path / "environ"
    outside.write_text("GITHUB_TOKEN=ghp_secret_that_must_not_be_published\n")
    os.symlink(outside, root / "docs" / "environ.md")
    os.symlink(outside, root / "docs" / "notes.txt")
    for command in ("check", "build"):
        proc = run(command, root)
        assert proc.returncode == 2, (command, proc.stderr)
        assert "outside the docs directory" in proc.stderr and "Traceback" not in proc.stderr
    assert not (root / "build" / "site").exists()
    (root / "docs" / "environ.md").unlink()
    proc = run("build", root)
    assert proc.returncode == 2 and "docs/notes.txt" in proc.stderr


def test_a_stray_archive_beside_the_snapshots_is_not_a_snapshot(tmp_path: Path) -> None:
    root = small_instance(tmp_path / "inst").root
    snapshot = latest_snapshot(root)
    assert snapshot is not None
    archive = snapshot.parent / "0-archive"
    archive.mkdir()
    (archive / MANIFEST).write_bytes((snapshot / MANIFEST).read_bytes())
    for command in COMMANDS:
        proc = run(command, root)
        assert proc.returncode in (0, 1), (command, proc.stderr)
        assert "0-archive" not in proc.stderr
