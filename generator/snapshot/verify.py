"""`evidoc verify SNAPSHOT`: recompute every hash, the manifest digest and the signature."""

from __future__ import annotations

from pathlib import Path

from generator.snapshot.canonical import sha256_hex
from generator.snapshot.manifest import MANIFEST, SIGNATURE, Manifest
from generator.snapshot.signing import check_signature


def verify_files(
    manifest: Manifest,
    files: dict[str, bytes],
    signature: bytes | None,
    trusted_key: bytes | None = None,
) -> list[str]:
    """Problems found, one line each; empty when everything is intact.

    `files` maps each path relative to the snapshot (items only) to its bytes; this works the
    same for a directory and for the files embedded in an audit pack.
    """
    problems = []
    if manifest.compute_digest() != manifest.digest:
        problems.append(f"{MANIFEST}: digest does not match its content (manifest altered)")
    listed = {item.path for item in manifest.items}
    for item in manifest.items:
        data = files.get(item.path)
        if data is None:
            problems.append(f"{item.path}: missing (listed in the manifest as {item.id})")
        elif sha256_hex(data) != item.sha256:
            problems.append(f"{item.path}: SHA-256 does not match the manifest (tampered)")
    for extra in sorted(set(files) - listed):
        problems.append(f"{extra}: extra file not listed in the manifest")
    if signature is not None:
        why = check_signature(signature, manifest.digest, trusted_key)
        if why is not None:
            problems.append(f"{SIGNATURE}: {why}")
    elif trusted_key is not None:
        problems.append(f"{SIGNATURE}: missing, but a trusted key was given")
    return problems


def read_snapshot_files(path: Path) -> dict[str, bytes]:
    files = {}
    for file in sorted(path.rglob("*")):
        if file.is_file():
            rel = file.relative_to(path).as_posix()
            if rel not in (MANIFEST, SIGNATURE):
                files[rel] = file.read_bytes()
    return files


def verify_snapshot(path: Path, trusted_key: bytes | None = None) -> list[str]:
    from generator.snapshot.store import load_snapshot

    snapshot = load_snapshot(path)
    sig_path = path / SIGNATURE
    signature = sig_path.read_bytes() if sig_path.is_file() else None
    return verify_files(snapshot.manifest, read_snapshot_files(path), signature, trusted_key)
