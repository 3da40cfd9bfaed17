"""One module per kind of generated page; each returns (docs-relative path, Markdown) pairs."""

from __future__ import annotations

from generator.report import STATUS_ORDER, Status

# Gaps first: the order controls are listed in wherever status matters.
GAPS = (Status.unmapped, Status.failing, Status.no_evidence)


def totals_list(totals: dict[Status, int]) -> list[tuple[str, int]]:
    return [(s.value, totals.get(s, 0)) for s in STATUS_ORDER]
