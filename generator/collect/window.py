"""Which first-parent commits of the branch reached it in the audit period, decided by their
position in the graph and by what recorded the branch (earlier snapshots, the forge's pushes),
never by commit dates alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bound:
    """Where the period begins on the branch, as a record of the branch shows it: an earlier
    snapshot (see period_bound) or the forge's pushes (generator/collect/pushes.py)."""

    by: str  # what recorded it: "snapshot <id>", "GitHub's push record"
    sha: str | None  # the commits above it reached the branch later (None: from the root)
    how: str
    bounded: bool  # False when the record itself does not know where the period began


def period_bound(
    earlier: list[tuple[str, dt.datetime, dict]],
    since: dt.datetime,
    recorded: Callable[[str], dict[str, Any] | None] = lambda snap: None,
) -> Bound | None:
    """The head recorded by the newest snapshot taken before the period, else the base of the
    window of the first snapshot taken in it (so that what that snapshot judged is judged again,
    and a failure of the period is not forgotten by the next snapshot). RECORDED gives a
    snapshot's commits item; only the first snapshot of the period's is read."""
    before = [(snap, data) for snap, created, data in earlier if created < since]
    if before:
        snap, data = before[0]  # the newest taken before the period
        return Bound(
            f"snapshot {snap}",
            data["head"],
            f"the head recorded by snapshot {snap}, before the period",
            True,
        )
    inside = [(snap, data) for snap, created, data in earlier if created >= since]
    if not inside:
        return None
    snap, data = inside[-1]  # the first of the period
    window = (recorded(snap) or {}).get("window")
    if not isinstance(window, dict):
        # A snapshot from before windows were recorded: its head is all that is known, not
        # where its own judgement began.
        return Bound(
            f"snapshot {snap}", data["head"], f"the head audited by snapshot {snap}", False
        )
    return Bound(
        f"snapshot {snap}",
        window.get("base"),
        f"where snapshot {snap}, the first of the period, began",
        window.get("bounded", True) is not False,
    )


@dataclass(frozen=True)
class Window:
    """Which first-parent commits of the branch reached it in the audit period, found by their
    position in the graph: committer dates are the author's to choose, positions are not."""

    head: str
    commits: list[str]  # first-parent commits judged, newest first
    base: str | None  # the branch as it stood before them (None: from the root)
    how: str
    # False when nothing shows where the period begins: every first-parent commit is dated
    # before it and no earlier snapshot recorded the head, so a backdated push cannot be told
    # from a quiet branch.
    bounded: bool = True
    # True when the start rests on commit dates alone, not on a snapshot's record of the branch.
    estimated: bool = False

    def record(self) -> dict[str, Any]:
        return {
            "head": self.head,
            "boundary": self.commits[-1] if self.commits else None,
            "base": self.base,
            "first_parent_commits": len(self.commits),
            "how": self.how,
            "bounded": self.bounded,
            "estimated": self.estimated,
        }


def audit_window(
    chain: list[tuple[str, dt.datetime]],
    since: dt.datetime,
    until: dt.datetime,
    bounds: list[Bound],
    ended: bool = True,
) -> Window:
    """A commit reached the branch no earlier than its own date and those of the commits below
    it. So every first-parent commit above the deepest one dated in the period reached the branch
    in the period, whatever its own date says. Everything above where a record of the branch
    (BOUNDS: earlier snapshots, the forge's pushes) shows the period began reached it in the
    period too; the deepest of these bounds the window. Without such a record the start is
    estimated from dates alone (`estimated`): a commit pushed in the period with an earlier date,
    below one dated in it, is then not seen. Commits at the top dated after the period's end are
    left for the next period, once it has ended (ENDED); while it runs, a commit dated in the
    future is on the branch now and is judged."""
    index = {sha: i for i, (sha, _) in enumerate(chain)}
    start = 0
    while ended and start < len(chain) and chain[start][1] >= until:
        start += 1
    deepest = max((i for i, (_, when) in enumerate(chain) if when >= since), default=-1)
    how = "the deepest first-parent commit dated in the period"
    by_dates = deepest >= 0
    exact: list[Bound] = []  # records on the branch that know where the period began
    lost: list[Bound] = []
    for bound in bounds:
        if bound.sha is not None and bound.sha not in index:
            # The branch no longer holds that head: it was rewritten (the rewrite is judged on
            # its own), so this record no longer shows where the period began.
            lost.append(bound)
            continue
        # -1: the bound is the head itself (nothing reached the branch since)
        below = len(chain) - 1 if bound.sha is None else index[bound.sha] - 1
        if below > deepest or (deepest < 0 and not exact):
            deepest, how = max(below, deepest), bound.how
        if bound.bounded:
            exact.append(bound)
    bounded = by_dates or bool(exact)
    if lost and not exact:
        bounded = False
        how += "".join(f"; the head recorded by {b.by} is no longer on the branch" for b in lost)
    elif not bounded and not bounds:
        how = "no first-parent commit is dated in the period and nothing earlier bounds it"
    elif not bounded:
        how = f"{how}, though that record could not tell where the period began"
    end = deepest + 1
    base = chain[end][0] if end < len(chain) else None
    head = chain[0][0] if chain else ""
    estimated = bounded and not exact
    return Window(head, [sha for sha, _ in chain[start:end]], base, how, bounded, estimated)
