"""The PDF audit pack: rendered for real with WeasyPrint, read back with pypdf, pdftotext and
pdftoppm, verified after tampering, and rendered twice to the same bytes."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader, PdfWriter

from generator.pdf.build import prepare, render_pdf
from generator.pdf.conclusions import PACK_SIGNATURE, REPORT
from generator.pdf.fetcher import BuildDirFetcher
from generator.pipeline import run_report
from generator.snapshot.manifest import MANIFEST, SIGNATURE
from generator.snapshot.store import SnapshotWriter, latest_snapshot
from tests.conftest import (
    FRAMEWORK,
    PAGE,
    PRACTICE,
    REPO,
    SCOPE,
    SOURCES,
    Instance,
    run_evidoc,
)

AT = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
HOSTILE = '<img src="file:///etc/passwd">'

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils is not installed (scripts/setup.sh --test installs it)",
)


def pdftotext(pdf: Path) -> str:
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True
    )
    return re.sub(r"\s+", " ", out.stdout.decode("utf-8"))


def outline(reader: PdfReader) -> list[tuple[str, list]]:
    """The bookmarks as (title, children) pairs."""

    def walk(items: list) -> list[tuple[str, list]]:
        out: list[tuple[str, list]] = []
        for item in items:
            if isinstance(item, list):
                title, _ = out[-1]
                out[-1] = (title, walk(item))
            else:
                out.append((item.title, []))
        return out

    return walk(reader.outline)


def flatten(tree: list[tuple[str, list]]) -> list[str]:
    return [t for title, kids in tree for t in (title, *flatten(kids))]


def images(reader: PdfReader) -> list[str]:
    """Names of the image XObjects any page uses."""
    found = []
    for page in reader.pages:
        resources = page.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        for name, ref in (xobjects.get_object() if xobjects is not None else {}).items():
            if ref.get_object().get("/Subtype") == "/Image":
                found.append(name)
    return found


def small_instance(root: Path, *, snapshot: bool = True, key: Ed25519PrivateKey | None = None):
    inst = Instance(root)
    inst.write(
        "controls/frameworks/demo-iso.yaml",
        FRAMEWORK.replace("Separate environments", f"Separate {HOSTILE} environments"),
    )
    inst.write("controls/practices/environment-separation.yaml", PRACTICE)
    inst.write(
        "controls/scope.yaml",
        "organisation: Example Clinic <b>AB</b>\naudit_period: 2026-01-01 – 2026-12-31\n" + SCOPE,
    )
    inst.write("docs/environments.md", PAGE)
    inst.write("evidence/sources.yaml", SOURCES)
    if snapshot:
        writer = SnapshotWriter(root / "evidence/snapshots", AT, demo=True, note="Test evidence.")
        for env, cluster in (("nonprod", "nonprod-wc"), ("prod", "prod-wc")):
            for kind in ("namespaces", "networkpolicies"):
                writer.add(
                    f"kubernetes/{env}/{cluster}/{kind}",
                    {"items": [{"name": f"{kind}-{i}", "note": HOSTILE} for i in range(3)]},
                    collector="kubernetes",
                    query=f"GET /api/v1/{kind}",
                    collected_at=AT,
                    ttl=86400,
                    environment=env,
                    context=cluster,
                )
        writer.commit(key)
    return inst


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shipped instance's pack, and a small signed instance's pack (signed with the same
    key as its snapshot) rendered twice."""
    base = tmp_path_factory.mktemp("packs")
    key = Ed25519PrivateKey.generate()
    (base / "key.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (base / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    small = small_instance(base / "small", key=key).root
    out = {"small": base / "small-1.pdf", "again": base / "small-2.pdf"}
    for name in ("small", "again"):
        proc = run_evidoc(
            "pdf",
            "--root",
            small,
            "--output",
            out[name],
            "--sign-key",
            base / "key.pem",
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert "wrote" in proc.stdout and "Traceback" not in proc.stderr
    out["shipped"] = base / "shipped.pdf"
    proc = run_evidoc("pdf", "--root", REPO, "--output", out["shipped"], timeout=300)
    assert proc.returncode == 0, proc.stderr
    out["small_root"] = small
    out["key"] = base / "key.pub"
    return out


def in_scope(root: Path) -> dict[str, tuple[str, list[str]]]:
    _, report = run_report(root, snapshot=latest_snapshot(root))
    return {fw.id: (fw.title, [c.id for c in fw.controls]) for fw in report.frameworks}


def test_shipped_pack_reads_back(packs: dict[str, Path]) -> None:
    reader = PdfReader(packs["shipped"])
    frameworks = in_scope(REPO)
    assert len(reader.pages) > 10 + len(frameworks)
    meta = reader.metadata
    assert meta is not None
    assert meta.title == "Example Health AB: compliance audit pack"
    assert "Statement of applicability" in (meta.subject or "")
    assert meta.creator is not None and meta.creator.startswith("evidoc ")
    for fid in frameworks:
        assert fid in meta["/Keywords"]
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    tree = dict(outline(reader))
    for title, controls in frameworks.values():
        assert title in tree, title
        below = flatten(tree[title])
        assert {"Statement of applicability", "Controls and evidence"} <= set(below)
        # One bookmark per control, under its framework.
        assert len(below) == 2 + len(controls), title
    snapshot = latest_snapshot(REPO)
    names = {e.name for e in reader.attachment_list}
    if snapshot is None:
        assert names == set()
    else:
        from generator.snapshot.store import load_snapshot

        items = {i.path for i in load_snapshot(snapshot).manifest.items}
        assert MANIFEST in names and items <= names


@needs_poppler
def test_shipped_pack_text_names_every_control(packs: dict[str, Path]) -> None:
    text = pdftotext(packs["shipped"])
    assert "page 2 of" in text
    missing = [
        f"{fid}:{cid}"
        for fid, (_, controls) in in_scope(REPO).items()
        for cid in controls
        if re.sub(r"\s+", " ", cid) not in text
    ]
    assert missing == []


@needs_poppler
def test_first_pages_render_to_png(packs: dict[str, Path], tmp_path: Path) -> None:
    from PIL import Image

    subprocess.run(
        ["pdftoppm", "-r", "40", "-f", "1", "-l", "3", "-png", str(packs["shipped"]), "page"],
        cwd=tmp_path,
        check=True,
    )
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == 3
    for png in pngs:
        with Image.open(png) as img:
            dark = sum(img.convert("L").histogram()[:128])
            assert dark > 500, f"{png.name} looks blank"


def test_same_inputs_give_the_same_bytes(packs: dict[str, Path]) -> None:
    assert packs["small"].read_bytes() == packs["again"].read_bytes()


def test_small_pack_metadata_and_attachments(packs: dict[str, Path]) -> None:
    reader = PdfReader(packs["small"])
    meta = reader.metadata
    assert meta is not None
    assert meta["/CreationDate"] == meta["/ModDate"] == "D:20261101120000Z"
    entries = {e.name: e for e in reader.attachment_list}
    snapshot = latest_snapshot(packs["small_root"])
    assert snapshot is not None
    # The snapshot's files, and the pack's own: its report and its signature.
    made = {REPORT: "/Data", PACK_SIGNATURE: "/Supplement"}
    assert set(entries) == {MANIFEST, SIGNATURE, *made} | {
        p.relative_to(snapshot).as_posix() for p in (snapshot / "items").rglob("*.json")
    }
    for name, entry in entries.items():
        relationship = "/Data" if name.startswith("items/") else "/Source"
        if name in made:
            relationship = made[name]
        else:
            assert entry.content == (snapshot / name).read_bytes()
        assert entry.pdf_object["/AFRelationship"] == relationship
    assert len(reader.trailer["/Root"]["/AF"]) == len(entries)


@needs_poppler
def test_values_from_yaml_and_evidence_print_as_text(packs: dict[str, Path]) -> None:
    text = pdftotext(packs["small"])
    assert f"Separate {HOSTILE} environments" in text
    assert "Example Clinic <b>AB</b>" in text
    assert images(PdfReader(packs["small"])) == []


def test_verify_an_intact_pack(packs: dict[str, Path]) -> None:
    proc = run_evidoc("verify", packs["small"])
    assert proc.returncode == 0, proc.stdout
    assert "is intact" in proc.stdout
    proc = run_evidoc("verify", packs["small"], "--public-key", packs["key"])
    assert proc.returncode == 0, proc.stdout


def rewrite(src: Path, dst: Path, change) -> None:  # type: ignore[no-untyped-def]
    writer = PdfWriter(clone_from=src)
    change(writer)
    with dst.open("wb") as handle:
        writer.write(handle)


def test_one_changed_embedded_byte_fails_verify(packs: dict[str, Path], tmp_path: Path) -> None:
    target = "items/kubernetes/prod/prod-wc/namespaces.json"

    def flip(writer: PdfWriter) -> None:
        entry = next(e for e in writer.attachment_list if e.name == target)
        data = bytearray(entry.content)
        data[10] ^= 0x01
        entry.content = bytes(data)

    tampered = tmp_path / "tampered.pdf"
    rewrite(packs["small"], tampered, flip)
    proc = run_evidoc("verify", tampered)
    assert proc.returncode == 1
    problems = [line for line in proc.stdout.splitlines() if line.startswith(f"{tampered}: ")]
    assert problems == [f"{tampered}: {target}: SHA-256 does not match the manifest (tampered)"]


def test_added_and_removed_files_are_named(packs: dict[str, Path], tmp_path: Path) -> None:
    gone = "items/kubernetes/nonprod/nonprod-wc/networkpolicies.json"

    def change(writer: PdfWriter) -> None:
        next(e for e in writer.attachment_list if e.name == gone).delete()
        writer.add_attachment("items/planted.json", b"{}\n")

    tampered = tmp_path / "changed.pdf"
    rewrite(packs["small"], tampered, change)
    proc = run_evidoc("verify", tampered)
    assert proc.returncode == 1
    assert f"{gone}: missing" in proc.stdout
    assert "items/planted.json: extra file" in proc.stdout


def test_a_replaced_manifest_or_wrong_key_fails(packs: dict[str, Path], tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate()
    pem = tmp_path / "other.pub"
    pem.write_bytes(
        other.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    proc = run_evidoc("verify", packs["small"], "--public-key", pem)
    assert proc.returncode == 1
    assert "manifest.sig: signature was made by a key other than the trusted one" in proc.stdout

    def drop_signature(writer: PdfWriter) -> None:
        next(e for e in writer.attachment_list if e.name == SIGNATURE).delete()

    unsigned = tmp_path / "unsigned.pdf"
    rewrite(packs["small"], unsigned, drop_signature)
    proc = run_evidoc("verify", unsigned, "--public-key", packs["key"])
    assert proc.returncode == 1
    assert "manifest.sig: missing, but a trusted key was given" in proc.stdout

    def keywords(writer: PdfWriter) -> None:
        writer.add_metadata({"/Keywords": "manifest-sha256:" + "0" * 64})

    relabelled = tmp_path / "relabelled.pdf"
    rewrite(packs["small"], relabelled, keywords)
    proc = run_evidoc("verify", relabelled)
    assert proc.returncode == 1
    assert "not the one the pack was printed with" in proc.stdout


def test_verification_cannot_be_skipped_by_removing_the_printed_digest(
    packs: dict[str, Path], tmp_path: Path
) -> None:
    """Alter an embedded item, recompute the manifest's digest so the files agree with it, and
    delete /Keywords: the cover still prints the digest the pages were made from."""
    from generator.snapshot.canonical import sha256_hex
    from generator.snapshot.manifest import Manifest

    target = "items/kubernetes/prod/prod-wc/namespaces.json"

    def forge(writer: PdfWriter) -> None:
        entries = {e.name: e for e in writer.attachment_list}
        data = bytearray(entries[target].content)
        data[10] ^= 0x01
        entries[target].content = bytes(data)
        manifest = Manifest.model_validate_json(entries[MANIFEST].content)
        items = [
            i.model_copy(update={"sha256": sha256_hex(bytes(data))}) if i.path == target else i
            for i in manifest.items
        ]
        forged = manifest.model_copy(update={"items": items}).sealed()
        entries[MANIFEST].content = forged.to_bytes()
        entries[SIGNATURE].delete()
        writer.add_metadata({"/Keywords": ""})

    forged = tmp_path / "forged.pdf"
    rewrite(packs["small"], forged, forge)
    proc = run_evidoc("verify", forged)
    assert proc.returncode == 1, proc.stdout
    assert "does not record the manifest digest it was printed from" in proc.stdout
    assert "the cover shows manifest digest" in proc.stdout


def test_a_damaged_file_is_reported_not_a_traceback(packs: dict[str, Path], tmp_path: Path):
    data = bytearray(packs["small"].read_bytes())
    # Cut the file short: the cross-reference table and the embedded files are gone.
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(bytes(data[: len(data) // 3]))
    proc = run_evidoc("verify", damaged)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    not_pdf = tmp_path / "notes.pdf"
    not_pdf.write_text("hello")
    proc = run_evidoc("verify", not_pdf)
    assert proc.returncode == 2 and "not a PDF" in proc.stderr


@needs_poppler
def test_pack_without_a_snapshot(tmp_path: Path) -> None:
    root = small_instance(tmp_path / "inst", snapshot=False).root
    proc = run_evidoc("pdf", "--root", root, "--version", "v9.9.9-test", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "no evidence collected" in proc.stdout
    pack = root / "build" / "audit-pack.pdf"
    text = pdftotext(pack)
    assert "No evidence collected" in text and "v9.9.9-test" in text
    # No evidence is embedded; the report the pages were printed from is.
    assert [e.name for e in PdfReader(pack).attachment_list] == [REPORT]
    proc = run_evidoc("verify", pack)
    assert proc.returncode == 1
    assert "carries no evidence to verify" in proc.stdout


def test_a_tampered_snapshot_is_not_embedded(tmp_path: Path) -> None:
    root = small_instance(tmp_path / "inst").root
    snapshot = latest_snapshot(root)
    assert snapshot is not None
    item = snapshot / "items/kubernetes/prod/prod-wc/namespaces.json"
    item.write_bytes(item.read_bytes().replace(b"namespaces-0", b"namespaces-9"))
    proc = run_evidoc("pdf", "--root", root)
    assert proc.returncode == 2
    assert "snapshot refused, it does not verify" in proc.stderr
    assert "namespaces.json" in proc.stderr
    assert not (root / "build" / "audit-pack.pdf").exists()


def test_fetcher_reads_only_the_build_directory(tmp_path: Path) -> None:
    build = tmp_path / "build"
    build.mkdir()
    (build / "pack.css").write_text("p { color: red }")
    (tmp_path / "secret.txt").write_text("secret")
    (build / "link.css").symlink_to(tmp_path / "secret.txt")
    fetcher = BuildDirFetcher(build)
    assert fetcher((build / "pack.css").as_uri()).read() == b"p { color: red }"
    for url in (
        "file:///etc/passwd",
        (tmp_path / "secret.txt").as_uri(),
        (build / "link.css").as_uri(),
        (build / ".." / "secret.txt").as_uri(),
        "http://127.0.0.1:9/x.css",
        "data:text/css,p{}",
    ):
        with pytest.raises(ValueError):
            fetcher(url)
    assert len(fetcher.refused) == 6


def test_markup_that_escapes_autoescape_still_cannot_fetch(tmp_path: Path) -> None:
    """Even a template that writes raw HTML cannot make WeasyPrint read outside the build."""
    root = small_instance(tmp_path / "inst", snapshot=False).root
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "pack.html.j2").write_text(
        "<html><head><title>{{ doc.title }}</title>"
        '<link rel="stylesheet" href="http://127.0.0.1:9/remote.css"></head><body>'
        '<p>x</p><img src="file:///etc/passwd"><img src="../../secret.png">'
        '<p style="background: url(file:///etc/hostname)">y</p></body></html>'
    )
    doc, _ = prepare(root, version="test")
    result = render_pdf(doc, tmp_path / "out.pdf", template_dir=templates)
    refused = " ".join(result.refused)
    assert "file:///etc/passwd" in refused and "127.0.0.1:9" in refused
    assert "file:///etc/hostname" in refused and "secret.png" in refused
    assert result.pages == 1
    assert images(PdfReader(tmp_path / "out.pdf")) == []


def test_output_is_replaced_atomically(tmp_path: Path) -> None:
    """A failed render leaves the previous pack in place and no temporary files."""
    root = small_instance(tmp_path / "inst", snapshot=False).root
    out = tmp_path / "out" / "pack.pdf"
    out.parent.mkdir()
    out.write_bytes(b"%PDF-previous")
    templates = tmp_path / "broken"
    templates.mkdir()
    (templates / "pack.html.j2").write_text("{{ doc.no_such_field }}")
    doc, _ = prepare(root, version="test")
    with pytest.raises(Exception, match="no_such_field"):
        render_pdf(doc, out, template_dir=templates)
    assert out.read_bytes() == b"%PDF-previous"
    assert [p.name for p in out.parent.iterdir()] == ["pack.pdf"]
