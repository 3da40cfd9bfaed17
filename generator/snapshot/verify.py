"""`evidoc verify SNAPSHOT`: recompute every hash, the manifest digest and the signature."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from generator.snapshot.canonical import sha256_hex
from generator.snapshot.manifest import MANIFEST, SIGNATURE, Manifest
from generator.snapshot.signing import check_signature, fingerprint, signer_key


def verify_files(
    manifest: Manifest,
    files: dict[str, bytes],
    signature: bytes | None,
    trusted_key: bytes | Sequence[bytes] | None = None,
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
    trusted = [trusted_key] if isinstance(trusted_key, bytes) else list(trusted_key or ())
    if signature is not None:
        why = check_signature(signature, manifest.digest)
        if why is not None:
            problems.append(f"{SIGNATURE}: {why}")
        elif trusted and signer_key(signature) not in trusted:
            problems.append(
                f"{SIGNATURE}: signature was made by a key other than the trusted one "
                f"({fingerprint(signer_key(signature) or b'')})"
            )
    elif trusted:
        problems.append(f"{SIGNATURE}: missing, but a trusted key was given")
    return problems


def read_snapshot_files(path: Path) -> tuple[dict[str, bytes], list[str]]:
    """Every regular file of the snapshot but the manifest and signature, and the problems:
    a symbolic link is never followed (it could point anywhere, e.g. at a key)."""
    files, problems = {}, []
    for file in sorted(path.rglob("*")):
        rel = file.relative_to(path).as_posix()
        if file.is_symlink():
            problems.append(f"{rel}: a symbolic link, not a file of the snapshot (refused)")
        elif file.is_file() and rel not in (MANIFEST, SIGNATURE):
            files[rel] = file.read_bytes()
    return files, problems


def snapshot_problems(
    path: Path, manifest: Manifest, trusted: bytes | Sequence[bytes] | None = None
) -> list[str]:
    """Everything that makes a snapshot directory untrustworthy; empty when it is intact."""
    files, problems = read_snapshot_files(path)
    sig_path = path / SIGNATURE
    signature = None
    if sig_path.is_symlink():
        problems.append(f"{SIGNATURE}: a symbolic link, not a file of the snapshot (refused)")
    elif sig_path.is_file():
        signature = sig_path.read_bytes()
    return problems + verify_files(manifest, files, signature, trusted)


def verify_snapshot(path: Path, trusted_key: bytes | Sequence[bytes] | None = None) -> list[str]:
    from generator.snapshot.store import load_snapshot

    snapshot = load_snapshot(path, verified=False)
    return snapshot_problems(path, snapshot.manifest, trusted_key)
