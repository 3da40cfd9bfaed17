"""Text every report format can carry: XML 1.0 forbids most control characters, lone
surrogates and U+FFFE/U+FFFF even as character references, so one in a catalog title makes a
JUnit file that CI cannot parse; and no UTF-8 output can hold a lone surrogate."""

from __future__ import annotations

import re
from typing import Any

# Characters XML 1.0 forbids, and the C1 controls it discourages (they show as nothing).
_UNFIT = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_text(text: str) -> str:
    """The text with each character XML cannot carry written as a visible escape (`\\x01`,
    `\\ufffe`), so the report stays valid and still shows where the odd character was."""
    return _UNFIT.sub(_shown, text)


def xml_values(value: Any) -> Any:
    """`xml_text` applied to every string (keys included) of a JSON-like value."""
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, dict):
        return {xml_values(k): xml_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [xml_values(v) for v in value]
    return value
