"""The `evidoc` command line: one sub-command per output, exit codes 0 / 1 / 2."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from generator import __version__
from generator.errors import InputError, InputErrors
from generator.output import write_atomic

ROOT = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The evidoc instance (a directory with controls/, docs/, evidence/).",
)


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Print input errors with their location and exit 2, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputErrors as exc:
            for error in exc.errors:
                click.echo(f"error: {error}", err=True)
            click.echo(f"{len(exc.errors)} input error(s); nothing was written", err=True)
            sys.exit(2)
        except InputError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evidoc")
def main() -> None:
    """Compliance evidence and control-mapping documentation for Kubernetes platforms."""


FORMATS = ["text", "json", "junit", "sarif", "github"]


@main.command()
@ROOT
@click.option(
    "--docs",
    "docs_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Read docs pages from this tree instead of ROOT/docs.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the result to this file instead of standard output.",
)
@click.option(
    "--require",
    type=click.Choice(["documented", "verified"]),
    default="documented",
    show_default=True,
    help="documented: every in-scope control mapped or excluded; "
    "verified: also fail on failing, stale or missing evidence.",
)
@click.option(
    "--snapshot",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Evaluate checks on this snapshot (default: the newest under evidence/snapshots).",
)
@user_errors
def check(
    root: Path,
    docs_dir: Path | None,
    fmt: str,
    output: Path | None,
    require: str,
    snapshot: Path | None,
) -> None:
    """The CI gate: fail on unmapped controls, broken references and unknown tags."""
    from generator.pipeline import run_gate
    from generator.render import gate_github, gate_json, gate_junit, gate_sarif, gate_text

    result = run_gate(
        root, docs_dir=docs_dir, require=require, snapshot=snapshot, now=dt.datetime.now(dt.UTC)
    )
    renderers: dict[str, Callable[[Any], str]] = {
        "json": gate_json.render,
        "junit": gate_junit.render,
        "sarif": gate_sarif.render,
        "github": gate_github.render,
    }
    if fmt == "text":
        text = gate_text.render(result, color=output is None and sys.stdout.isatty())
    else:
        text = renderers[fmt](result)
    if output is not None:
        write_atomic(output, text.encode("utf-8"))
    else:
        click.echo(text, nl=False)
    sys.exit(0 if result.ok else 1)


@main.command()
@ROOT
@user_errors
def schemas(root: Path) -> None:
    """Write the JSON Schema of every YAML file kind to ROOT/schemas/."""
    from generator.schemas import all_schemas

    for name, text in all_schemas().items():
        write_atomic(root / "schemas" / name, text.encode("utf-8"))
        click.echo(f"wrote schemas/{name}")


@main.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Also require the signature to be made by this Ed25519 key (PEM).",
)
@user_errors
def verify(path: Path, public_key: Path | None) -> None:
    """Recompute every hash (and the signature) of a snapshot directory or an audit pack PDF."""
    from generator.snapshot.signing import public_key_bytes
    from generator.snapshot.verify import verify_snapshot

    trusted = public_key_bytes(public_key) if public_key is not None else None
    if path.is_dir():
        problems = verify_snapshot(path, trusted)
    else:
        from generator.pdf.verify import verify_pack

        problems = verify_pack(path, trusted)
    for problem in problems:
        click.echo(f"{path}: {problem}")
    if problems:
        click.echo(f"FAIL: {len(problems)} problem(s); the evidence is not as it was collected")
        sys.exit(1)
    click.echo(f"OK: {path} is intact")
