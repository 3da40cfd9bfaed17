"""`evidoc import oscal` and `evidoc export oscal-ar|oscal-component|oscal-mapping`."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import click

from generator.cli import PUBLIC_KEYS, ROOT, user_errors
from generator.errors import InputError
from generator.output import write_atomic

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

OUTPUT = click.option(
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help="Write the document to this file instead of standard output.",
)
SNAPSHOT = click.option(
    "--snapshot",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Evidence snapshot to read (default: the newest under evidence/snapshots).",
)


@click.group("import")
def import_group() -> None:
    """Import controls from other formats into the instance."""


@click.group("export")
def export_group() -> None:
    """Export the instance in other formats."""


def _slug_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and (not _SLUG.match(value) or len(value) > 128):
        raise click.BadParameter(
            "expected lower-case letters, digits, '.', '_' and '-', starting with a letter or "
            f"digit, e.g. nist-800-53-moderate; got {value!r}"
        )
    return value


def _prefix_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.split():
        raise click.BadParameter("expected the text tags start with, e.g. 'NIST SP 800-53'")
    return value


def _overrides(values: tuple[str, ...]) -> tuple[dict[str, Path], Path | None]:
    by_href: dict[str, Path] = {}
    default: Path | None = None
    for value in values:
        href, sep, file = value.partition("=")
        if sep and href and not Path(value).is_file():
            path = Path(file)
            by_href[href] = path
        else:
            if default is not None:
                raise click.BadParameter(
                    "give one FILE for every import, or HREF=FILE per import",
                    param_hint="--catalog",
                )
            path = default = Path(value)
        if not path.is_file():
            raise click.BadParameter(f"{path}: no such file", param_hint="--catalog")
    return by_href, default


def _target(output: Path | None, root: Path, folder: str, ident: str) -> Path | None:
    """Where one imported file goes; None for standard output."""
    if output is not None and str(output) == "-":
        return None
    if output is not None:
        return output / f"{ident}.yaml" if output.is_dir() else output
    if not (root / "controls").is_dir():
        raise InputError(
            root,
            "not an evidoc instance: expected a 'controls/' directory (use --root DIR, or "
            "--output FILE or - for standard output)",
        )
    return root / "controls" / folder / f"{ident}.yaml"


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


@import_group.command("oscal")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--catalog",
    "catalogs",
    multiple=True,
    metavar="FILE|HREF=FILE",
    help="For a profile: read this file instead of what an import's href points to (one FILE "
    "for every import, or HREF=FILE per import; repeatable).",
)
@click.option(
    "--id",
    "ident",
    callback=_slug_option,
    default=None,
    help="The framework id (default: made from the document's title).",
)
@click.option(
    "--tag-prefix",
    callback=_prefix_option,
    default=None,
    metavar="TEXT",
    help="What docs tags start with to name its controls, e.g. 'NIST SP 800-53' for tags "
    "such as 'NIST SP 800-53 AC-2(1)' (default: the framework id).",
)
@click.option(
    "--with-text",
    is_flag=True,
    help="Copy each control's statement text into its summary (only for public-domain sources).",
)
@click.option(
    "--output",
    type=click.Path(allow_dash=True, path_type=Path),
    default=None,
    help="A file, a directory, or - for standard output (default: ROOT/controls/frameworks/ID.yaml"
    ", or controls/crosswalks/ for a mapping collection).",
)
@ROOT
@user_errors
def import_oscal(
    file: Path,
    catalogs: tuple[str, ...],
    ident: str | None,
    tag_prefix: str | None,
    with_text: bool,
    output: Path | None,
    root: Path,
) -> None:
    """An OSCAL catalog or profile (JSON) becomes an evidoc framework; a mapping collection
    becomes crosswalks. Nothing is written unless all of it can be."""
    from generator.oscal.importer import import_file

    by_href, default = _overrides(catalogs)
    result = import_file(
        file,
        by_href=by_href,
        default_catalog=default,
        ident=ident,
        tag_prefix=tag_prefix,
        with_text=with_text,
    )
    if len(result.files) > 1 and output is not None and not output.is_dir():
        raise InputError(
            file,
            f"holds {len(result.files)} mappings, one crosswalk file each: give --output "
            "DIRECTORY (or leave it out to write into ROOT/controls/crosswalks)",
        )
    targets = [(_target(output, root, result.folder, fid), text) for fid, text in result.files]
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    for target, text in targets:
        if target is None:
            click.echo(text, nl=False)
        else:
            _write(target, text.encode("utf-8"))
    for (target, _), summary in zip(targets, result.summaries, strict=True):
        if target is None:
            click.echo(f"imported {summary}", err=True)
        else:
            click.echo(f"wrote {_shown(target, root)}: {summary}")


@export_group.command("oscal-ar")
@ROOT
@SNAPSHOT
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Judge freshness and expiry on this date (default: as the site and pack do: "
    "SOURCE_DATE_EPOCH, else the last commit, never before the snapshot).",
)
@click.option(
    "--require",
    type=click.Choice(["verified", "documented"]),
    default="verified",
    show_default=True,
    help="What makes a control's target satisfied: verified (proven by passing checks), or "
    "documented (also mapped without full proof, or excluded).",
)
@PUBLIC_KEYS
@OUTPUT
@user_errors
def export_oscal_ar(
    root: Path,
    snapshot: Path | None,
    as_of: dt.datetime | None,
    require: str,
    public_keys: tuple[Path, ...],
    output: Path | None,
) -> None:
    """OSCAL assessment results: one result for the snapshot, an observation per check result,
    a finding per in-scope control."""
    from generator.oscal.export_ar import export_ar
    from generator.oscal.export_common import load_instance

    instance = load_instance(root, snapshot, public_keys)
    now = as_of.replace(tzinfo=dt.UTC) if as_of is not None else None
    _emit(export_ar(instance, now=now, require=require), output)


@export_group.command("oscal-component")
@ROOT
@SNAPSHOT
@PUBLIC_KEYS
@OUTPUT
@user_errors
def export_oscal_component(
    root: Path, snapshot: Path | None, public_keys: tuple[Path, ...], output: Path | None
) -> None:
    """An OSCAL component definition: the platform, with a control implementation per
    framework from the practices."""
    from generator.oscal.export_common import load_instance
    from generator.oscal.export_component import export_component

    _emit(export_component(load_instance(root, snapshot, public_keys)), output)


@export_group.command("oscal-mapping")
@ROOT
@SNAPSHOT
@PUBLIC_KEYS
@OUTPUT
@user_errors
def export_oscal_mapping(
    root: Path, snapshot: Path | None, public_keys: tuple[Path, ...], output: Path | None
) -> None:
    """An OSCAL mapping collection from the crosswalks."""
    from generator.oscal.export_common import load_instance
    from generator.oscal.export_mapping import export_mapping

    _emit(export_mapping(load_instance(root, snapshot, public_keys)), output)


def _emit(data: bytes, output: Path | None) -> None:
    if output is None or str(output) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        _write(output, data)


def _write(path: Path, data: bytes) -> None:
    """Atomically into a file; straight into a device or pipe (generator/output.py)."""
    write_atomic(path, data)
