"""Identifiers in OSCAL documents: stable UUIDs, tokens for control ids, timestamps.

UUIDs are version 5 (name-based), derived from evidoc ids, so that an unchanged control, result
or mapping keeps its UUID from one run to the next and tools can follow it across revisions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
import uuid
from collections.abc import Callable

# The namespace every evidoc UUID is derived in (itself derived from a fixed name).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:evidoc:oscal")
# Qualifies the names of evidoc's own props; OSCAL reserves its default namespace for NIST.
NS = "urn:evidoc:oscal"

_SEP = "\x1f"  # cannot occur in an id, so ("a", "b c") and ("a b", "c") never collide


def uuid_factory(scope: str) -> Callable[..., str]:
    """UUIDs for one scope (an organisation's documents): version 5, named by the parts, in a
    namespace derived from the scope. Computed as uuid.uuid5 does, without building a UUID
    object per call: an export makes tens of thousands."""
    space = uuid.uuid5(NAMESPACE, scope).bytes

    def make(*parts: str) -> str:
        raw = bytearray(hashlib.sha1(space + _SEP.join(parts).encode("utf-8")).digest()[:16])
        raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
        raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
        x = raw.hex()
        return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"

    return make


def timestamp(at: dt.datetime) -> str:
    """RFC 3339 in UTC with a 'Z', which OSCAL's date-time pattern requires (a zone)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- tokens ------------------------------------------------------------------------------------
#
# OSCAL's control-id and target-id are tokens (XML NCNames): a letter or '_', then letters,
# digits, '.', '-' and '_'. Catalog ids such as "8.31", "3 kap. 1 §" or "164.308(a)(1)" are not.
# They are written as '_' followed by the id with every other character (and '_') spelled as
# _hex_; a token that does not start with '_' is the id itself. So `ac-2.1` stays `ac-2.1`,
# "8.31" becomes "_8.31", and from_token gives back the id exactly.

_HEX = re.compile(r"_([0-9a-f]{1,6})_")


def _letter(c: str) -> bool:
    return unicodedata.category(c)[0] == "L"


def _name_char(c: str) -> bool:
    return unicodedata.category(c)[0] in "LN" or c in ".-"


_ASCII_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*")


def is_token(text: str) -> bool:
    if _ASCII_TOKEN.fullmatch(text):  # nearly every id: no Unicode lookups needed
        return True
    return (
        bool(text)
        and (_letter(text[0]) or text[0] == "_")
        and all(_name_char(c) or c == "_" for c in text[1:])
    )


def to_token(ident: str) -> str:
    if is_token(ident) and not ident.startswith("_"):
        return ident
    return "_" + "".join(c if _name_char(c) else f"_{ord(c):x}_" for c in ident)


def from_token(token: str) -> str:
    if not token.startswith("_"):
        return token
    return _HEX.sub(lambda m: chr(int(m.group(1), 16)), token[1:])


# --- other text --------------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def one_line(text: str) -> str:
    """OSCAL strings (prop values, ids) have no line breaks and no outer spaces."""
    if text.isprintable() and "  " not in text and text == text.strip():
        return text  # the usual case, without a regex
    return _SPACE.sub(" ", text).strip()


def slug(text: str, limit: int = 64) -> str:
    """An evidoc id (lower case letters, digits and '-') made from a title or file name."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    if len(out) > limit:
        out = out[:limit].rsplit("-", 1)[0] or out[:limit]
    return out
