"""Which keys a snapshot must be signed by. When any is configured, an unsigned snapshot or one
signed by another key is refused by every command that reads it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from generator.snapshot.signing import public_key_bytes

TRUST_ENV = "EVIDOC_TRUSTED_KEYS"  # PEM public key files, separated like PATH


def trusted_keys(
    root: Path, given: Sequence[Path] = (), configured: Sequence[str] = ()
) -> tuple[bytes, ...]:
    """The raw public keys from --public-key, $EVIDOC_TRUSTED_KEYS and sources.yaml's
    `trusted_keys` (paths relative to the instance)."""
    paths = list(given)
    paths += [Path(p) for p in os.environ.get(TRUST_ENV, "").split(os.pathsep) if p.strip()]
    paths += [root / p for p in configured]
    keys: list[bytes] = []
    for path in paths:
        key = public_key_bytes(path)
        if key not in keys:
            keys.append(key)
    return tuple(keys)
