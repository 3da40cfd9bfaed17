"""`evidoc check --format text`: a readable table of totals, then the findings."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from generator.findings import FindingKind
from generator.render.gate_result import GateResult
from generator.report import STATUS_ORDER

CAUSED = {FindingKind.failing_control, FindingKind.unproven_control}


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

    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    # One block per root cause (a failing or unusable check result) with the controls it
    # affects; control findings that only repeat such a cause are counted, not repeated.
    summarised = 0
    for f in result.findings:
        where = ":".join(str(p) for p in (f.file, f.line, f.column) if p is not None)
        if f.results and f.kind in CAUSED:
            summarised += 1
            continue
        if f.check is None:
            say(f"{where}: {f.severity.value}: [{f.kind.value}] {f.message}")
            continue
        what = "fails" if f.kind is FindingKind.failing_check else f"is {f.status}"
        say(f"{where}: {f.severity.value}: [{f.kind.value}] {f.check} of {f.practice} {what}")
        say(f"    subject:  {f.subject}")
        say(f"    reason:   {f.reason}")
        if f.evidence:
            say(f"    evidence: {', '.join(f.evidence)}")
        say(f"    affects {len(f.controls)} control(s): {', '.join(f.controls)}")
    if summarised:
        say(f"{summarised} control(s) failing or without evidence because of the results above")
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
