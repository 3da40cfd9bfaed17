"""The pipeline, stage by stage: load -> (snapshot) -> evaluate -> report -> gate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from generator.gate import Requirement, gate_findings
from generator.library import Library
from generator.loader import load_library
from generator.render.gate_result import GateResult
from generator.report import Report, build_report
from generator.results import Results


def evaluate(library: Library, snapshot: Path | None, as_of: dt.date) -> Results:
    """Check results for the library's practices; empty until evidence is collected."""
    return Results()


def known_checks() -> frozenset[str]:
    return frozenset()


def run_report(
    root: Path,
    *,
    docs_dir: Path | None = None,
    snapshot: Path | None = None,
    today: dt.date,
) -> tuple[Library, Report]:
    library = load_library(root, docs_dir)
    results = evaluate(library, snapshot, today)
    return library, build_report(library, results, today)


def run_gate(
    root: Path,
    *,
    docs_dir: Path | None = None,
    require: str = "documented",
    snapshot: Path | None = None,
    today: dt.date,
) -> GateResult:
    library, report = run_report(root, docs_dir=docs_dir, snapshot=snapshot, today=today)
    findings = gate_findings(library, report, today, Requirement(require), known_checks())
    return GateResult(report=report, findings=findings, require=require)
