"""Optional Ed25519 signatures: of a snapshot's manifest digest (`manifest.sig`), and of an
audit pack's statement, which names the manifest digest, the report digest and the pack's
version (`pack.sig`)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from generator.errors import InputError
from generator.snapshot.canonical import canonical_json

KEY_ENV = "EVIDOC_SIGNING_KEY"  # PEM text of an Ed25519 private key


def load_private_key(path: Path | None) -> Ed25519PrivateKey | None:
    """The signing key from a PEM file, or from $EVIDOC_SIGNING_KEY; None if neither is set."""
    if path is not None:
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise InputError(path, f"cannot read signing key: {exc.strerror}") from None
        where = str(path)
    elif os.environ.get(KEY_ENV):
        pem = os.environ[KEY_ENV].encode()
        where = f"${KEY_ENV}"
    else:
        return None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(where, f"expected an unencrypted PEM Ed25519 private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(where, "expected an Ed25519 private key")
    return key


def sign(key: Ed25519PrivateKey, digest: str) -> bytes:
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    doc = {
        "algorithm": "ed25519",
        "signed": "manifest digest (hex, UTF-8)",
        "public_key": base64.b64encode(public).decode(),
        "signature": base64.b64encode(key.sign(digest.encode())).decode(),
    }
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def public_key_of(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_fingerprint(key: Ed25519PrivateKey) -> str:
    """The fingerprint of a private key's public half (what a verifier will print)."""
    return fingerprint(public_key_of(key))


def sign_statement(key: Ed25519PrivateKey, statement: dict[str, object]) -> bytes:
    """A signature file over STATEMENT: the statement itself is in the file, and what is
    signed is its canonical JSON (sorted keys, no spaces, UTF-8, one newline)."""
    doc = {
        "algorithm": "ed25519",
        "signed": "statement (canonical JSON, UTF-8)",
        "statement": statement,
        "public_key": base64.b64encode(public_key_of(key)).decode(),
        "signature": base64.b64encode(key.sign(canonical_json(statement))).decode(),
    }
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def check_statement(
    signature: bytes, trusted: bytes | None = None
) -> tuple[dict[str, object] | None, str | None]:
    """The statement a signature file signs, and None when the signature is valid (and made by
    `trusted`, if given); else (the statement if readable, why not)."""
    try:
        doc = json.loads(signature)
        statement = doc["statement"]
        public = base64.b64decode(doc["public_key"], validate=True)
        raw = base64.b64decode(doc["signature"], validate=True)
    except (ValueError, KeyError, TypeError):
        return None, "not a valid evidoc statement signature"
    if not isinstance(statement, dict):
        return None, "not a valid evidoc statement signature"
    if trusted is not None and public != trusted:
        return statement, "signature was made by a key other than the trusted one"
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(raw, canonical_json(statement))
    except (InvalidSignature, ValueError):
        return statement, "signature does not match the statement (altered)"
    return statement, None


def signer_key(signature: bytes) -> bytes | None:
    """The raw public key a signature file names (not yet checked)."""
    try:
        return base64.b64decode(json.loads(signature)["public_key"])
    except (ValueError, KeyError, TypeError):
        return None


def fingerprint(public: bytes) -> str:
    """How people compare keys: SHA256: and the unpadded base64 of its digest, as ssh does."""
    digest = hashlib.sha256(public).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def check_signature(signature: bytes, digest: str, trusted: bytes | None = None) -> str | None:
    """None when the signature is valid (and made by `trusted`, if given); else why not."""
    try:
        doc = json.loads(signature)
        public = base64.b64decode(doc["public_key"])
        raw = base64.b64decode(doc["signature"])
    except (ValueError, KeyError, TypeError):
        return "signature file is not a valid evidoc signature"
    if trusted is not None and public != trusted:
        return "signature was made by a key other than the trusted one"
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(raw, digest.encode())
    except (InvalidSignature, ValueError):
        return "signature does not match the manifest digest"
    return None


def public_key_bytes(path: Path) -> bytes:
    """Raw public key from a PEM public key file (or the public half of a private key)."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read public key: {exc.strerror}") from None
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        private = load_private_key(path)
        assert private is not None
        key = private.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(path, "expected an Ed25519 public key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
