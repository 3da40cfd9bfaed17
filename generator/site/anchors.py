"""Anchors made from ids, never from titles, so links survive a renamed control."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """Lower-case ASCII words joined by '-': '164.308(a)(4)(ii)(A)' -> '164-308-a-4-ii-a'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_WORD.sub("-", folded.lower()).strip("-")


class Anchors:
    """Unique anchors within one page, handed out in a stable (catalog) order."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def take(self, prefix: str, ident: str) -> str:
        base = f"{prefix}-{slug(ident) or 'x'}"
        anchor, n = base, 1
        while anchor in self._used:
            n += 1
            anchor = f"{base}-{n}"
        self._used.add(anchor)
        return anchor


def control_anchors(control_ids: list[str], group_ids: list[str]) -> tuple[dict, dict]:
    """Anchors of one framework page: `ctl-<id>` per control and `grp-<id>` per group."""
    page = Anchors()
    controls = {cid: page.take("ctl", cid) for cid in control_ids}
    groups = {gid: page.take("grp", gid) for gid in group_ids}
    return controls, groups
