"""`evidoc diff --format json`: the InstanceDiff as it is, plus `differences`."""

from __future__ import annotations

import json

from generator.diff import InstanceDiff


def render(diff: InstanceDiff) -> str:
    return json.dumps(diff.as_json(), indent=2, ensure_ascii=False) + "\n"
