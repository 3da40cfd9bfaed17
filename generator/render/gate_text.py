"""`evidoc check --format text`: a readable table of totals, then the findings."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from generator.render.gate_result import GateResult
from generator.report import STATUS_ORDER


def render(result: GateResult, *, color: bool = False, width: int = 120) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width)
    table = Table(title="Controls in scope by status", title_justify="left")
    table.add_column("framework")
    for status in STATUS_ORDER:
        table.add_column(status.value, justify="right")
    table.add_column("total", justify="right")
    for fw in result.report.frameworks:
        table.add_row(fw.id, *(str(fw.totals[s]) for s in STATUS_ORDER), str(len(fw.controls)))
    totals = result.report.totals()
    table.add_row("all", *(str(totals[s]) for s in STATUS_ORDER), str(sum(totals.values())))
    console.print(table)
    for f in result.findings:
        where = ":".join(str(p) for p in (f.file, f.line, f.column) if p is not None)
        console.print(
            f"{where}: {f.severity.value}: [{f.kind.value}] {f.message}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    errors = len(result.errors)
    warnings = len(result.findings) - errors
    verdict = "PASS" if result.ok else "FAIL"
    console.print(
        f"{verdict}: {errors} error(s), {warnings} warning(s); gate requires '{result.require}'",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return buffer.getvalue()
