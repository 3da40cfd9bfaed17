"""Keyed digests of Secret and ConfigMap values, so that checks can compare values that are
never written down.

The key belongs to the evidoc instance: from `--digest-key FILE`, else $EVIDOC_DIGEST_KEY, else a
random key kept in ROOT/.evidoc/digest-key (created on first use, mode 0600, and ignored by Git
through a `.gitignore` in that directory). Without the key, a digest cannot be tested against
guessed values. Only a short key id is stored in the snapshot, so that checks can tell whether two
digests were made with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import InputError

KEY_ENV = "EVIDOC_DIGEST_KEY"
KEY_DIR = ".evidoc"
KEY_FILE = "digest-key"
SHORT = 8  # values shorter than this many bytes are flagged `short` and never compared
DIGEST_HEX = 32  # HMAC-SHA256 truncated to 128 bits


def load_digest_key(root: Path, path: Path | None = None) -> bytes:
    if path is not None:
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise InputError(path, f"cannot read digest key: {exc.strerror}") from None
        where: str | Path = path
    elif os.environ.get(KEY_ENV):
        key = os.environ[KEY_ENV].strip().encode()
        where = f"${KEY_ENV}"
    else:
        key = _instance_key(root)
        where = root / KEY_DIR / KEY_FILE
    if len(key) < 16:
        raise InputError(where, "digest key too short: use at least 16 random bytes")
    return key


def _instance_key(root: Path) -> bytes:
    folder = root / KEY_DIR
    file = folder / KEY_FILE
    if file.is_file():
        return file.read_bytes().strip()
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# local keys: never commit\n*\n", encoding="utf-8")
    key = secrets.token_hex(32).encode()
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key + b"\n")
    return key


def _endpoint_pattern(host: str) -> re.Pattern[bytes]:
    # The host as a whole name: not preceded or followed by more of a host name.
    return re.compile(
        rb"(?<![A-Za-z0-9-])" + re.escape(host.lower().encode()) + rb"(?![A-Za-z0-9-])",
        re.IGNORECASE,
    )


@dataclass
class Redactor:
    """Turns values into keyed digests and notes which configured endpoints they mention."""

    key: bytes
    endpoints: list[str] = field(default_factory=list)
    _patterns: list[tuple[str, re.Pattern[bytes]]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.endpoints = sorted({e.strip().lower() for e in self.endpoints if e.strip()})
        self._patterns = [(e, _endpoint_pattern(e)) for e in self.endpoints]

    @property
    def key_id(self) -> str:
        return hmac.new(self.key, b"evidoc digest key id", hashlib.sha256).hexdigest()[:16]

    def mentions(self, value: bytes) -> list[str]:
        return [host for host, pattern in self._patterns if pattern.search(value)]

    def value(self, value: bytes) -> dict[str, object]:
        """What is kept of one value: its keyed digest, whether it is short, endpoints named."""
        out: dict[str, object] = {
            "hmac": hmac.new(self.key, value, hashlib.sha256).hexdigest()[:DIGEST_HEX]
        }
        if len(value) < SHORT:
            out["short"] = True
        found = self.mentions(value)
        if found:
            out["endpoints"] = found
        return out
