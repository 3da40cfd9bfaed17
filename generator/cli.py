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


class _Evidoc(click.Group):
    """Every command runs with SIGINT and SIGTERM handled: its children are stopped, its
    temporary files removed, and it exits 130 / 143 (generator/interrupt.py)."""

    def invoke(self, ctx: click.Context) -> Any:
        from generator.interrupt import handled

        with handled(lambda line: click.echo(line, err=True)):
            return super().invoke(ctx)


@click.group(cls=_Evidoc, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evidoc")
def main() -> None:
    """Compliance evidence and control-mapping documentation for Kubernetes platforms."""
    from generator.compat import incompatible

    problems = incompatible()
    if problems:
        click.echo(
            f"error: incompatible dependencies: {'; '.join(problems)}; "
            "install versions in these ranges (pip install evidoc resolves them)",
            err=True,
        )
        sys.exit(2)


FORMATS = ["text", "json", "junit", "sarif", "github"]

PUBLIC_KEYS = click.option(
    "--public-key",
    "public_keys",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    multiple=True,
    help="Require the snapshot to be signed by this Ed25519 key (PEM); may be repeated. "
    "Also $EVIDOC_TRUSTED_KEYS and `trusted_keys` in evidence/sources.yaml.",
)


@main.command()
@ROOT
@click.option(
    "--docs",
    "docs_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
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
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Judge expiry and freshness on this date (YYYY-MM-DD) instead of today.",
)
@PUBLIC_KEYS
@user_errors
def check(
    root: Path,
    docs_dir: Path | None,
    fmt: str,
    output: Path | None,
    require: str,
    snapshot: Path | None,
    as_of: dt.datetime | None,
    public_keys: tuple[Path, ...],
) -> None:
    """The CI gate: fail on unmapped controls, broken references and unknown tags."""
    from generator.pipeline import run_gate
    from generator.render import gate_github, gate_json, gate_junit, gate_sarif, gate_text

    now = as_of.replace(tzinfo=dt.UTC) if as_of is not None else dt.datetime.now(dt.UTC)
    result = run_gate(
        root,
        docs_dir=docs_dir,
        require=require,
        snapshot=snapshot,
        now=now,
        public_keys=public_keys,
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
    hint = _next_step(result.report)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    sys.exit(0 if result.ok else 1)


def _next_step(report: Any) -> str | None:
    """What to do next in a new instance: nothing in scope, or nothing mapped yet."""
    if not report.frameworks:
        return (
            "no frameworks in scope: list them in controls/scope.yaml "
            "(evidoc init --list-frameworks shows the built-in catalogs)"
        )
    controls = [c for fw in report.frameworks for c in fw.controls]
    if controls and all(c.status.value in ("unmapped", "excluded") for c in controls):
        return (
            "nothing is mapped yet: tag docs pages with controls (`tags:` in front matter) "
            "or adopt a starter practice (evidoc init --list-practices, then --practice ID)"
        )
    return None


@main.command("diff")
@click.argument("old")
@click.argument("new", required=False)
@ROOT
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the result to this file instead of standard output.",
)
@click.option(
    "--snapshot",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Judge both sides on this snapshot (default: each on its own newest one).",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Judge both sides on this date (default: a revision's commit time; for a directory, "
    "SOURCE_DATE_EPOCH or its last commit, as the pack does).",
)
@click.option(
    "--exit-code", is_flag=True, help="Exit 1 when there are differences (as `git diff`)."
)
@PUBLIC_KEYS
@user_errors
def diff_command(
    old: str,
    new: str | None,
    root: Path,
    fmt: str,
    output: Path | None,
    snapshot: Path | None,
    as_of: dt.datetime | None,
    exit_code: bool,
    public_keys: tuple[Path, ...],
) -> None:
    """What changed from OLD to NEW: per control its evidence and implementation status,
    mapping, proof, exclusion and inheritance; practices and checks added or removed.

    OLD and NEW are each an instance directory or a Git revision of the repository holding
    --root: REV (the instance at --root's place in it, e.g. v1.2 or HEAD~3) or REV:PATH (the
    instance at PATH, relative to the repository's top). NEW defaults to --root.
    """
    from generator.diff import diff_instances, resolve_ref
    from generator.render import diff_json, diff_text

    before = resolve_ref(old, root, name="OLD")
    after = resolve_ref(new if new is not None else str(root), root, name="NEW")
    result = diff_instances(
        before,
        after,
        snapshot=snapshot,
        as_of=as_of.date() if as_of is not None else None,
        public_keys=public_keys,
    )
    text = diff_json.render(result) if fmt == "json" else diff_text.render(result)
    if output is not None:
        write_atomic(output, text.encode("utf-8"))
    else:
        click.echo(text, nl=False)
    sys.exit(1 if exit_code and result.differences else 0)


@main.command()
@ROOT
@user_errors
def schemas(root: Path) -> None:
    """Write the JSON Schema of every YAML file kind to ROOT/schemas/."""
    from generator.schemas import all_schemas

    if not (root / "controls").is_dir():
        raise InputError(root, "not an evidoc instance: expected a 'controls/' directory")
    for name, text in all_schemas().items():
        write_atomic(root / "schemas" / name, text.encode("utf-8"))
        click.echo(f"wrote schemas/{name}")


@main.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--public-key",
    "public_keys",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    multiple=True,
    help="Also require the signatures (of the snapshot, and of a pack) to be made by this "
    "Ed25519 key (PEM); may be repeated (e.g. the collector's key and the pack signer's).",
)
@user_errors
def verify(path: Path, public_keys: tuple[Path, ...]) -> None:
    """Recompute every hash (and the signature) of a snapshot directory or an audit pack PDF;
    for a pack also its embedded report and the pack signature."""
    from generator.snapshot.signing import public_key_bytes
    from generator.snapshot.verify import verify_snapshot

    trusted = [public_key_bytes(k) for k in public_keys]
    facts: list[str] = []
    if path.is_dir():
        problems = verify_snapshot(path, trusted)
        failed = "the evidence is not as it was collected"
    else:
        from generator.pdf.verify import check_pack

        verdict = check_pack(path, trusted)
        problems, facts = verdict.problems, verdict.facts
        failed = "the pack is not as it was made"
    for problem in problems:
        click.echo(f"{path}: {problem}")
    if problems:
        click.echo(f"FAIL: {len(problems)} problem(s); {failed}")
        sys.exit(1)
    click.echo(f"OK: {path} is intact")
    for fact in facts:
        click.echo(f"  {fact}")


@main.command()
@ROOT
@click.option(
    "--snapshot",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Evidence snapshot to report and embed (default: the newest under evidence/snapshots).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the pack (default: ROOT/build/audit-pack.pdf).",
)
@click.option(
    "--version",
    "version",
    default=None,
    metavar="TEXT",
    help="Version printed on the cover (default: `git describe` of ROOT, else 'unversioned').",
)
@PUBLIC_KEYS
@click.option(
    "--sign-key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Sign the pack (manifest digest, report digest and version) with this Ed25519 private "
    "key (PEM); default: $EVIDOC_SIGNING_KEY.",
)
@click.option(
    "--changes-since",
    default=None,
    metavar="REV",
    help="List the changes since this Git revision of the instance (default: the previous "
    "release, the newest tag before this build).",
)
@click.option(
    "--tagged/--untagged",
    default=False,
    help="Tag the PDF for screen readers (PDF/A-3a: a structure tree, about a fifth slower on "
    "large packs) or not (PDF/A-3b, the default).",
)
@user_errors
def pdf(
    root: Path,
    snapshot: Path | None,
    output: Path | None,
    version: str | None,
    public_keys: tuple[Path, ...],
    sign_key: Path | None,
    changes_since: str | None,
    tagged: bool,
) -> None:
    """The PDF/A-3 audit pack, with the evidence snapshot and its report embedded for
    `evidoc verify`."""
    from generator.pdf.build import RenderError, build_pack
    from generator.snapshot.signing import load_private_key

    key = load_private_key(sign_key)
    try:
        result = build_pack(
            root,
            snapshot=snapshot,
            output=output,
            version=version,
            public_keys=public_keys,
            sign_key=key,
            changes_since=changes_since,
            tagged=tagged,
        )
    except RenderError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for url in result.refused:
        click.echo(f"warning: refused to fetch {url} (outside the build directory)", err=True)
    evidence = (
        f"snapshot {result.snapshot}, {result.attachments} embedded file(s)"
        if result.snapshot
        else "no evidence collected"
    )
    click.echo(f"wrote {result.output} ({result.pages} pages; {evidence})")
    signed = f"signed by key {result.pack_signer}" if result.pack_signer else "not signed"
    click.echo(f"report sha256:{result.report_digest}; pack {signed}")


@main.command()
@ROOT
@click.option(
    "--env",
    "envs",
    multiple=True,
    metavar="NAME",
    help="Collect only this environment of evidence/sources.yaml (repeatable; default: all).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the snapshot under this directory (default: ROOT/evidence/snapshots).",
)
@click.option(
    "--sign-key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Sign the manifest with this Ed25519 private key (PEM); default: $EVIDOC_SIGNING_KEY.",
)
@click.option(
    "--digest-key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Key for the digests of Secret and ConfigMap values; default: $EVIDOC_DIGEST_KEY, "
    "else ROOT/.evidoc/digest-key (created on first use, never committed).",
)
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Use this kubeconfig for every cluster (contexts still come from sources.yaml).",
)
@user_errors
def collect(
    root: Path,
    envs: tuple[str, ...],
    out: Path | None,
    sign_key: Path | None,
    digest_key: Path | None,
    kubeconfig: Path | None,
) -> None:
    """Collect evidence from every cluster (and repository) into a new snapshot.

    Exit 0 when every item was read or recorded as forbidden (403) or not installed (404);
    exit 1 when the snapshot was written but some items could not be read (error);
    exit 2 for bad input (sources.yaml, kubeconfig, context, keys).
    """
    import contextlib

    from generator.collect.digest import load_digest_key
    from generator.collect.run import collect as run_collect
    from generator.collect.run import terminal_progress
    from generator.loader import load_library
    from generator.snapshot.signing import load_private_key
    from generator.snapshot.store import load_snapshot

    library = load_library(root)
    key = load_private_key(sign_key)
    # Without --digest-key, collect reads $EVIDOC_DIGEST_KEY or creates the instance key itself,
    # once the clusters are known to be reachable in principle.
    digest = load_digest_key(root, digest_key) if digest_key is not None else None
    progress = terminal_progress() if sys.stderr.isatty() else contextlib.nullcontext(None)
    with progress as on_item:
        path = run_collect(
            root,
            envs,
            out,
            key,
            kubeconfig=kubeconfig,
            digest_key=digest,
            on_item=on_item,
            library=library,
        )
    items = load_snapshot(path).manifest.items
    by_status: dict[str, int] = {}
    for item in items:
        by_status[item.status.value] = by_status.get(item.status.value, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
    for item in items:
        if item.status.value != "ok":
            click.echo(f"{item.status.value}: {item.id}: {item.detail}", err=True)
    click.echo(f"wrote {path} ({len(items)} items: {summary})")
    sys.exit(1 if by_status.get("error") else 0)


SNAPSHOT_DIR = click.option(
    "--snapshot",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Build from this snapshot (default: the newest under evidence/snapshots).",
)


@main.command()
@ROOT
@SNAPSHOT_DIR
@click.option(
    "--site-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the site here (default: ROOT/site). A failed build leaves it untouched.",
)
@PUBLIC_KEYS
@user_errors
def build(
    root: Path, snapshot: Path | None, site_dir: Path | None, public_keys: tuple[Path, ...]
) -> None:
    """Build the docs site: hand-written pages plus generated ones, strict MkDocs."""
    from generator.site.build import build_site

    result = build_site(root, snapshot=snapshot, site_dir=site_dir, public_keys=public_keys)
    for line in result.messages:
        click.echo(line, err=True)
    if not result.ok:
        click.echo("FAIL: the site was not built; the previous site is unchanged", err=True)
        sys.exit(1)
    snap = result.assembly.snapshot if result.assembly else None
    built_from = f"snapshot {snap.manifest.id}" if snap else "no evidence snapshot"
    click.echo(f"built {result.site_dir} from {built_from}")


@main.command()
@click.argument("version")
@ROOT
@SNAPSHOT_DIR
@click.option("--collect", is_flag=True, help="Collect a new snapshot first and pin that one.")
@click.option("--branch", default="gh-pages", show_default=True, help="The branch mike deploys to.")
@click.option("--push", is_flag=True, help="Push the branch after the deploy (off by default).")
@click.option("--remote", default="origin", show_default=True, help="Where --push pushes to.")
@user_errors
def release(
    version: str,
    root: Path,
    snapshot: Path | None,
    collect: bool,
    branch: str,
    push: bool,
    remote: str,
) -> None:
    """Deploy the site as VERSION (alias latest, the default) with its audit pack, via mike.

    The snapshot is pinned: --snapshot DIR, else a fresh one with --collect, else the newest.
    """
    from generator.site.release import ReleaseError
    from generator.site.release import release as run_release

    try:
        result = run_release(
            root,
            version,
            snapshot=snapshot,
            collect=collect,
            branch=branch,
            push=push,
            remote=remote,
        )
    except ReleaseError as exc:
        click.echo(f"error: {exc}", err=True)
        click.echo("FAIL: nothing was deployed", err=True)
        sys.exit(1)
    for line in result.messages:
        click.echo(line, err=True)
    click.echo(
        f"released {result.version} (alias latest, default) on branch {result.branch}: "
        f"snapshot {result.snapshot}, manifest SHA-256 {result.digest}; "
        f"audit pack at {result.branch}:{result.pack}"
    )


@main.command()
@ROOT
@SNAPSHOT_DIR
@click.option(
    "--dev-addr",
    default="127.0.0.1:8000",
    show_default=True,
    metavar="HOST:PORT",
    help="Where to serve the preview.",
)
@user_errors
def serve(root: Path, snapshot: Path | None, dev_addr: str) -> None:
    """Live preview of the site: rebuilds when docs, YAML or snapshots change."""
    from generator.site.serve import serve as run_serve

    sys.exit(run_serve(root, dev_addr=dev_addr, snapshot=snapshot, echo=click.echo))


def _split_ids(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@main.command()
@ROOT
@click.option(
    "--frameworks",
    "frameworks",
    multiple=True,
    metavar="ID[,ID...]",
    help="Frameworks in scope (repeatable, or comma-separated): built-in catalogs "
    "(--list-frameworks) or the instance's own controls/frameworks/ID.yaml.",
)
@click.option(
    "--practice",
    "practices",
    multiple=True,
    metavar="ID",
    help="Adopt this starter practice into controls/practices/ (repeatable); in an existing "
    "instance only the practice is added.",
)
@click.option("--list-frameworks", is_flag=True, help="List the built-in catalogs and exit.")
@click.option("--list-practices", is_flag=True, help="List the starter practices and exit.")
@user_errors
def init(
    root: Path,
    frameworks: tuple[str, ...],
    practices: tuple[str, ...],
    list_frameworks: bool,
    list_practices: bool,
) -> None:
    """Make ROOT (default: the current directory) an evidoc instance: controls/scope.yaml with
    the chosen frameworks, a commented evidence/sources.yaml, and a minimal mkdocs.yml when
    there is none. Never overwrites: if a file it would write exists, nothing is written (exit 2).
    """
    from generator import init as initialise

    if list_frameworks or list_practices:
        if list_frameworks:
            for ident, title in initialise.catalog_titles().items():
                click.echo(f"{ident:<18} {title}")
        if list_practices:
            for ident, title, fws in initialise.list_practices():
                click.echo(f"{ident:<28} {title} (maps {', '.join(fws)})")
        return
    fw_ids = _split_ids(frameworks)
    adopt_only = bool(practices) and not fw_ids and (root / initialise.SCOPE).is_file()
    plan = initialise.InitPlan(root) if adopt_only else initialise.plan_init(root, fw_ids)
    initialise.plan_practices(root, list(practices), plan)
    conflicts = plan.conflicts()
    if conflicts:
        raise InputErrors(
            [
                InputError(rel, "exists; evidoc init never overwrites a file (move it away first)")
                for rel in conflicts
            ]
        )
    for rel in plan.write():
        click.echo(f"wrote {rel}")
    for note in plan.notes:
        click.echo(note)
    if adopt_only:
        click.echo("next: `evidoc check` shows the controls the adopted practice now maps")
        return
    if not fw_ids:
        click.echo(
            "no frameworks in scope yet: add ids to controls/scope.yaml "
            "(evidoc init --list-frameworks lists the built-in catalogs)"
        )
    click.echo(
        "next: tag docs pages with controls (`tags:` in their front matter), adopt starter "
        "practices (evidoc init --list-practices; --practice ID), then `evidoc check` and "
        "`evidoc build`"
    )


# `evidoc import oscal` and `evidoc export oscal-*`: registered last, since they use the
# options and the error handling defined above.
from generator.oscal.commands import export_group, import_group  # noqa: E402

main.add_command(import_group)
main.add_command(export_group)
