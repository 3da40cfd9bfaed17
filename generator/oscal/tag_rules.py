"""The tag grammar of an imported catalog: how docs pages name its controls.

NIST-style ids (`ac-2`, `ac-2.1`) are shown in upper case with the enhancement in parentheses
(`AC-2`, `AC-2(1)`, also zero-padded `AC-02(01)`). A tag template can only paste matched text,
not change its case, so each family gets its own rules with the lower-case id written out. Any
other id is matched as written after the prefix. Every pattern is anchored and settled by the
next character, so tag_grammar's safety check accepts it.
"""

from __future__ import annotations

import re

_FAMILY_ID = re.compile(r"^([a-z]{1,5})-\d+(?:\.\d+)?$")
_REGEX_SPECIAL = re.compile(r"([\\.^$*+?{}\[\]|()])")


def _literal(prefix: str) -> str:
    """The prefix as a regex literal, spaces as single spaces (tags are normalised so)."""
    return _REGEX_SPECIAL.sub(r"\\\1", " ".join(prefix.split()))


def tag_rules(prefix: str, control_ids: list[str], group_ids: list[str]) -> list[dict[str, str]]:
    p = _literal(prefix)
    families: list[str] = []
    for cid in control_ids:
        m = _FAMILY_ID.match(cid)
        if m and m.group(1) not in families:
            families.append(m.group(1))
    rules: list[dict[str, str]] = []
    number = r"0*(?P<{}>[1-9]\d*)"
    for fam in families:
        up = re.escape(fam.upper())
        base = f"^{p} {up}-{number.format('n')}"
        # Enhancement first: the base rule must not read AC-2(1) as AC-2.
        rules.append(
            {"pattern": base + r"\(" + number.format("e") + r"\)", "id": f"{fam}-{{n}}.{{e}}"}
        )
        rules.append({"pattern": base + r"(?![\d(])", "id": f"{fam}-{{n}}"})
        if fam in group_ids:
            rules.append({"pattern": f"^{p} (?P<family>{up})(?![\\w(-])", "id": fam})
    # The id as the catalog writes it (also group ids), e.g. "PREFIX ac-2.1 ...".
    rules.append({"pattern": f"^{p} (?P<id>\\S+)", "id": "{id}"})
    return rules
