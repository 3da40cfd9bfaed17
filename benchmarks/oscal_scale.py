"""Benchmark OSCAL import and export as whole processes.

    .venv/bin/python benchmarks/oscal_scale.py [--frameworks 20] [--controls 500]
        [--items 240] [--runs 3]

- `evidoc import oscal` of NIST's SP 800-53 rev5 HIGH resolved catalog (shared/oscal beside the
  repository): target <= 2 s.
- `evidoc export oscal-ar`, `oscal-component` and `oscal-mapping` on the gate benchmark's
  synthetic library (check_scale.py; 20 x 500 = 10,000 controls) with the pack benchmark's
  evidence snapshot and checks (pdf_pack.py), plus a crosswalk between each pair of neighbouring
  frameworks: target <= 3 s each.

Each figure is the best wall time of --runs runs and the peak RSS over them; each output is
also checked against NIST's schema when jsonschema-rs is installed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

HIGH = (
    REPO.parent
    / "shared/oscal/content/NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json"
)
SCHEMAS = REPO.parent / "shared/oscal/schemas"
EXPORTS = {
    "oscal-ar": "assessment-results",
    "oscal-component": "component",
    "oscal-mapping": "mapping",
}
RELATIONSHIPS = ["equivalent", "subset", "superset", "intersects"]


def add_crosswalks(root: Path, frameworks: int, controls: int) -> int:
    """A crosswalk from each synthetic framework to the next, mapping every control."""
    folder = root / "controls/crosswalks"
    folder.mkdir(parents=True, exist_ok=True)
    per_group = 25  # as check_scale.generate groups its controls
    ids = [f"C{c // per_group}.{c}" for c in range(controls)]
    for f in range(frameworks - 1):
        lines = [
            f"id: fw{f:02d}-fw{f + 1:02d}",
            f"title: Synthetic framework {f} to {f + 1}",
            f"source: fw{f:02d}",
            f"target: fw{f + 1:02d}",
            "mappings:",
        ]
        lines += [
            f'  - {{source: "{cid}", target: "{cid}", relationship: {RELATIONSHIPS[n % 4]}}}'
            for n, cid in enumerate(ids)
        ]
        (folder / f"fw{f:02d}-fw{f + 1:02d}.yaml").write_text("\n".join(lines) + "\n")
    return frameworks - 1


def child(args: list[str]) -> None:
    """One whole `evidoc` run with the pack benchmark's synthetic check registered."""
    from pdf_pack import CHECK, _bench_check

    from generator.checks.registry import CHECKS

    CHECKS.setdefault(CHECK, _bench_check)
    from generator.cli import main

    main(args, prog_name="evidoc")


def best(cmd: list[str], runs: int) -> tuple[float, float]:
    from check_scale import run_measured

    seconds, peak = float("inf"), 0.0
    for _ in range(runs):
        wall, rss, code, stderr = run_measured(cmd)
        if code != 0:
            sys.exit(f"{' '.join(cmd)} failed ({code}):\n{stderr.decode()}")
        seconds, peak = min(seconds, wall), max(peak, rss)
    return seconds, peak


def schema_check(path: Path, model: str) -> str:
    try:
        import jsonschema_rs
    except ImportError:
        return "not validated (no jsonschema-rs)"
    schema = json.loads((SCHEMAS / f"oscal_{model}_schema.json").read_text())
    errors = list(jsonschema_rs.Draft7Validator(schema).iter_errors(json.loads(path.read_text())))
    return "schema-valid" if not errors else f"{len(errors)} SCHEMA ERRORS, first: {errors[0]}"


def contents(path: Path) -> str:
    body = next(iter(json.loads(path.read_text()).values()))
    if "results" in body:
        r = body["results"][0]
        findings, observations = len(r.get("findings", [])), len(r.get("observations", []))
        return f"{findings:,} findings, {observations:,} observations"
    if "components" in body:
        reqs = sum(
            len(ci["implemented-requirements"])
            for c in body["components"]
            for ci in c["control-implementations"]
        )
        return f"{reqs:,} implemented requirements"
    maps = sum(len(m["maps"]) for m in body["mappings"])
    return f"{len(body['mappings'])} mappings, {maps:,} maps"


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", type=int, default=20)
    parser.add_argument("--controls", type=int, default=500)
    parser.add_argument("--items", type=int, default=240, help="evidence items in the snapshot")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        out.mkdir()
        if HIGH.is_file():
            target = out / "high.yaml"
            cmd = [sys.executable, "-m", "generator", "import", "oscal", str(HIGH)]
            seconds, peak = best([*cmd, "--output", str(target)], args.runs)
            print(
                f"import oscal, NIST SP 800-53 rev5 HIGH resolved catalog (370 controls): "
                f"{seconds:.2f} s wall (best of {args.runs}), peak RSS {peak:.0f} MB   "
                "[target <= 2 s]"
            )
        else:
            print(f"import oscal: skipped, {HIGH} is not there")

        from pdf_pack import generate_pack_instance

        root = generate_pack_instance(
            Path(tmp) / "synthetic", args.frameworks, args.controls, args.items
        )
        crosswalks = add_crosswalks(root, args.frameworks, args.controls)
        total = args.frameworks * args.controls
        print(
            f"synthetic: {args.frameworks} frameworks x {args.controls} controls = {total:,} "
            f"controls, {args.items} evidence items, {crosswalks} crosswalks x "
            f"{args.controls} mappings"
        )
        for command, model in EXPORTS.items():
            target = out / f"{command}.json"
            cmd = [sys.executable, __file__, "--child", "export", command, "--root", str(root)]
            seconds, peak = best([*cmd, "--output", str(target)], args.runs)
            size = target.stat().st_size / 1e6
            print(
                f"  export {command}: {seconds:.2f} s wall (best of {args.runs}), peak RSS "
                f"{peak:.0f} MB, {size:.1f} MB ({contents(target)}; {schema_check(target, model)})"
                "   [target <= 3 s]"
            )


if __name__ == "__main__":
    main()
