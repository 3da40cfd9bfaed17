"""The README is part of the product: its figures are measured, its commands are real."""

from __future__ import annotations

import re

from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
# A placeholder someone meant to fill: SOME_FIGURES, TODO, TBD, {{ ... }}.
PLACEHOLDER = re.compile(r"\b[A-Z]+_FIGURES\b|\bTODO\b|\bTBD\b|\bXXX\b|\{\{[^}]*\}\}")


def benchmark_rows() -> list[list[str]]:
    section = README.split("## Benchmarks", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row] for row in rows]


def test_readme_has_no_unfilled_placeholder() -> None:
    found = [
        f"line {README[: m.start()].count(chr(10)) + 1}: {m.group()}"
        for m in PLACEHOLDER.finditer(README)
    ]
    assert not found, f"README.md holds placeholders: {found}"


def test_every_benchmark_row_gives_a_measured_figure() -> None:
    rows = benchmark_rows()
    assert len(rows) >= 5
    for script, figure, _target in rows:
        name = script.split("`")[1]
        assert (REPO / "benchmarks" / name).is_file(), f"{name} is not in benchmarks/"
        assert re.search(r"\d+(?:\.\d+)? ?(?:s|ms|MB|pages)\b", figure), f"{name}: {figure!r}"


def test_the_opening_commands_are_the_makefile_targets_ci_runs() -> None:
    opening = README.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    commands = [line.split("#")[0].strip() for line in opening]
    assert commands == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test\n" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
