"""The pack's conclusions are bound to it like its evidence: the report its pages were printed
from is embedded (report.json) with its SHA-256 in /Keywords and on the cover, a pack can be
signed over the manifest digest, the report digest and its version (pack.sig), and a snapshot
records who collected it."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID
from pypdf import PdfReader, PdfWriter

from generator import __version__
from generator.collect.kubernetes import credential_identity
from generator.collect.run import collect
from generator.pdf.build import prepare
from generator.pdf.conclusions import PACK_SIGNATURE, REPORT, REPORT_FORMAT
from generator.snapshot.canonical import canonical_json, sha256_hex
from generator.snapshot.manifest import MANIFEST, Manifest
from generator.snapshot.signing import fingerprint, key_fingerprint, public_key_bytes
from generator.snapshot.store import latest_snapshot, load_snapshot
from generator.snapshot.verify import verify_snapshot
from tests.conftest import REPO, run_evidoc
from tests.test_pdf_pack import needs_poppler, pdftotext, rewrite, small_instance

AT = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)


def pem_files(key: Ed25519PrivateKey, base: Path, name: str) -> tuple[Path, Path]:
    private, public = base / f"{name}.pem", base / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small instance whose snapshot is signed by the collector's key, packed unsigned and
    signed by the same key; and another key."""
    base = tmp_path_factory.mktemp("conclusions")
    key = Ed25519PrivateKey.generate()
    private, public = pem_files(key, base, "signer")
    _, other = pem_files(Ed25519PrivateKey.generate(), base, "other")
    root = small_instance(base / "small", key=key).root
    out = {"unsigned": base / "unsigned.pdf", "signed": base / "signed.pdf"}
    proc = run_evidoc("pdf", "--root", root, "--output", out["unsigned"], timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "pack not signed" in proc.stdout
    proc = run_evidoc(
        "pdf", "--root", root, "--output", out["signed"], "--sign-key", private, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert f"pack signed by key {key_fingerprint(key)}" in proc.stdout
    return {**out, "root": root, "private": private, "public": public, "other": other}


def attachments(pack: Path) -> dict[str, bytes]:
    return {e.name: e.content for e in PdfReader(pack).attachment_list}


def keywords(pack: Path) -> str:
    meta = PdfReader(pack).metadata
    assert meta is not None
    return str(meta["/Keywords"])


def report_of(pack: Path) -> dict:
    return json.loads(attachments(pack)[REPORT])


def test_the_report_is_embedded_and_its_digest_recorded(packs: dict[str, Path]) -> None:
    files = attachments(packs["unsigned"])
    raw = files[REPORT]
    digest = sha256_hex(raw)
    report = json.loads(raw)
    # Canonical JSON: the same value always gives the same bytes.
    assert canonical_json(report) == raw
    assert report["format"] == REPORT_FORMAT
    assert report["pack"] == {
        "version": "unversioned",
        "generated_by": f"evidoc {__version__}",
        "generated_at": "2026-11-01T12:00:00Z",
        "time_source": "creation time of the evidence snapshot",
        "signer": None,
    }
    manifest = Manifest.model_validate_json(files[MANIFEST])
    assert report["snapshot"]["digest"] == manifest.digest
    controls = {c["id"]: c for fw in report["frameworks"] for c in fw["controls"]}
    assert report["controls"] == len(controls) == 3
    assert all(c["status"] and c["reason"] for c in controls.values())
    excluded = controls["A.3"]
    assert excluded["status"] == "excluded"
    assert excluded["exclusion"]["justification"] == (
        "The data-centre operator guards the premises."
    )
    assert excluded["exclusion"]["approved_by"] == "CISO"
    assert PACK_SIGNATURE not in files
    assert f"report-sha256:{digest}" in keywords(packs["unsigned"])
    entry = next(e for e in PdfReader(packs["unsigned"]).attachment_list if e.name == REPORT)
    assert entry.pdf_object["/AFRelationship"] == "/Data"


@needs_poppler
def test_the_cover_shows_the_report_digest_and_how_the_pack_was_made(
    packs: dict[str, Path],
) -> None:
    unsigned = pdftotext(packs["unsigned"])
    digest = sha256_hex(attachments(packs["unsigned"])[REPORT])
    cover = unsigned.split("Contents", 1)[0]
    assert f"Report digest sha256:{digest}" in cover
    assert "Pack signature not signed: the conclusions are bound to the evidence only" in cover
    assert f"by evidoc {__version__}" in cover and "creation time of the evidence snapshot" in cover
    assert "Version unversioned" in cover
    signed = pdftotext(packs["signed"]).split("Contents", 1)[0]
    fp = fingerprint(public_key_bytes(packs["public"]))
    assert re.search(r"Pack signature Ed25519 signature of .* by key " + re.escape(fp), signed)
    # The snapshot was written by SnapshotWriter directly, so no collector is recorded.
    assert "Collected by not recorded in the manifest" in signed


def test_an_intact_pack_says_what_was_verified(packs: dict[str, Path]) -> None:
    proc = run_evidoc("verify", packs["unsigned"])
    assert proc.returncode == 0, proc.stdout
    digest = sha256_hex(attachments(packs["unsigned"])[REPORT])
    lines = proc.stdout.splitlines()
    assert lines[0] == f"OK: {packs['unsigned']} is intact"
    assert any(line.startswith("  evidence: 4 items intact, manifest sha256:") for line in lines)
    assert "  report: 3 controls in 1 framework (" in proc.stdout
    assert f"sha256:{digest}" in proc.stdout
    assert (
        "  pack not signed: the conclusions are bound to the evidence only by the recorded "
        "digests" in lines
    )


def test_a_signed_pack_verifies_and_names_its_key(packs: dict[str, Path]) -> None:
    fp = fingerprint(public_key_bytes(packs["public"]))
    files = attachments(packs["signed"])
    signature = json.loads(files[PACK_SIGNATURE])
    assert signature["statement"] == {
        "format": "evidoc-pack-statement/1",
        "manifest_sha256": Manifest.model_validate_json(files[MANIFEST]).digest,
        "report_sha256": sha256_hex(files[REPORT]),
        "version": "unversioned",
    }
    assert json.loads(files[REPORT])["pack"]["signer"] == fp
    for extra in ((), ("--public-key", packs["public"])):
        proc = run_evidoc("verify", packs["signed"], *extra)
        assert proc.returncode == 0, proc.stdout
        assert f"pack signature: valid, key {fp}" in proc.stdout
        assert f"snapshot signature: valid, key {fp}" in proc.stdout


def test_a_pack_signed_by_another_key_fails_with_public_key(
    packs: dict[str, Path], tmp_path: Path
) -> None:
    proc = run_evidoc("verify", packs["signed"], "--public-key", packs["other"])
    assert proc.returncode == 1
    assert f"{PACK_SIGNATURE}: signature was made by a key other than the trusted one" in (
        proc.stdout
    )
    # With --public-key a pack signature is required.
    proc = run_evidoc("verify", packs["unsigned"], "--public-key", packs["public"])
    assert proc.returncode == 1
    assert f"{PACK_SIGNATURE}: missing, but a trusted key was given" in proc.stdout
    # Re-signed by another key (and the report relabelled to match): the cover still names the
    # report digest the pages were printed from, and the trusted key is not the signer.
    other = Ed25519PrivateKey.generate()
    resigned = tmp_path / "resigned.pdf"

    def resign(writer: PdfWriter) -> None:
        from generator.snapshot.signing import sign_statement

        entries = {e.name: e for e in writer.attachment_list}
        statement = json.loads(entries[PACK_SIGNATURE].content)["statement"]
        entries[PACK_SIGNATURE].content = sign_statement(other, statement)

    rewrite(packs["signed"], resigned, resign)
    proc = run_evidoc("verify", resigned, "--public-key", packs["public"])
    assert proc.returncode == 1
    assert f"{PACK_SIGNATURE}: signature was made by a key other than the trusted one" in (
        proc.stdout
    )
    assert f"but the report records signer {fingerprint(public_key_bytes(packs['public']))}" in (
        proc.stdout
    )


def exclude(report: dict, control: str) -> dict:
    for fw in report["frameworks"]:
        for c in fw["controls"]:
            if c["id"] == control:
                c["status"] = "excluded"
                c["reason"] = "not applicable"
                c["exclusion"] = {
                    "control": f"{fw['id']}:{control}",
                    "justification": "Not applicable.",
                    "approved_by": "Nobody",
                }
    return report


@pytest.mark.parametrize("which", ["unsigned", "signed"])
def test_editing_the_embedded_report_fails_verify(
    packs: dict[str, Path], tmp_path: Path, which: str
) -> None:
    original = attachments(packs[which])[REPORT]
    forged_bytes = canonical_json(exclude(json.loads(original), "A.1"))
    old, new = sha256_hex(original), sha256_hex(forged_bytes)

    def edit(writer: PdfWriter) -> None:
        next(e for e in writer.attachment_list if e.name == REPORT).content = forged_bytes

    edited = tmp_path / "edited.pdf"
    rewrite(packs[which], edited, edit)
    proc = run_evidoc("verify", edited)
    assert proc.returncode == 1, proc.stdout
    assert (
        f"{edited}: {REPORT}: SHA-256 {new} is not the one the pack was printed with ({old}); "
        "the embedded report was altered"
    ) in proc.stdout.splitlines()
    assert proc.stdout.splitlines()[-1].startswith("FAIL: ")

    # Relabelling /Keywords as well does not help: the cover prints the digest.
    def relabel(writer: PdfWriter) -> None:
        edit(writer)
        writer.add_metadata({"/Keywords": keywords(packs[which]).replace(old, new)})

    relabelled = tmp_path / "relabelled.pdf"
    rewrite(packs[which], relabelled, relabel)
    proc = run_evidoc("verify", relabelled)
    assert proc.returncode == 1, proc.stdout
    assert f"the cover does not show report digest {new}" in proc.stdout
    if which == "signed":
        assert f"{PACK_SIGNATURE}: signs report digest {old}" in proc.stdout


def test_removing_the_pack_signature_or_the_report_fails(
    packs: dict[str, Path], tmp_path: Path
) -> None:
    def drop(name: str):  # type: ignore[no-untyped-def]
        def change(writer: PdfWriter) -> None:
            next(e for e in writer.attachment_list if e.name == name).delete()

        return change

    unsigned = tmp_path / "unsigned.pdf"
    rewrite(packs["signed"], unsigned, drop(PACK_SIGNATURE))
    proc = run_evidoc("verify", unsigned)
    assert proc.returncode == 1
    assert f"{PACK_SIGNATURE}: missing, but the report records that the pack was signed" in (
        proc.stdout
    )
    without = tmp_path / "without.pdf"
    rewrite(packs["unsigned"], without, drop(REPORT))
    proc = run_evidoc("verify", without)
    assert proc.returncode == 1
    assert f"{REPORT}: not embedded" in proc.stdout


@needs_poppler
def test_a_regenerated_pack_with_another_conclusion_shows_another_digest(
    packs: dict[str, Path], tmp_path: Path
) -> None:
    """Exclude A.1 "by Nobody" and regenerate: same evidence, version and time on the cover,
    but another report digest."""
    root = tmp_path / "copy"
    shutil.copytree(packs["root"], root, ignore=shutil.ignore_patterns("build"))
    scope = root / "controls" / "scope.yaml"
    scope.write_text(
        scope.read_text()
        + "  - control: demo-iso:A.1\n    justification: Not applicable.\n"
        + "    approved_by: Nobody\n"
    )
    again = tmp_path / "again.pdf"
    proc = run_evidoc("pdf", "--root", root, "--output", again, timeout=120)
    assert proc.returncode == 0, proc.stderr
    before, after = report_of(packs["unsigned"]), report_of(again)
    assert before["snapshot"] == after["snapshot"] and before["pack"] == after["pack"]
    first = {c["id"]: c for fw in after["frameworks"] for c in fw["controls"]}["A.1"]
    assert first["status"] == "excluded" and first["exclusion"]["approved_by"] == "Nobody"
    old = sha256_hex(attachments(packs["unsigned"])[REPORT])
    new = sha256_hex(attachments(again)[REPORT])
    assert old != new
    cover = pdftotext(again).split("Contents", 1)[0]
    assert f"sha256:{new}" in cover and old not in cover
    assert run_evidoc("verify", again).returncode == 0  # intact, and unsigned: it says so


def test_a_signed_pack_is_deterministic(packs: dict[str, Path]) -> None:
    """Ed25519 signatures are deterministic: the same inputs and key give the same pack.sig."""
    from generator.snapshot.signing import load_private_key

    key = load_private_key(packs["private"])
    one, _ = prepare(packs["root"], version="v1", sign_key=key)
    two, _ = prepare(packs["root"], version="v1", sign_key=key)
    data = [{a.name: a.data for a in d.attachments if a.data is not None} for d in (one, two)]
    assert data[0] == data[1] and set(data[0]) == {REPORT, PACK_SIGNATURE}
    assert one.report_digest == sha256_hex(data[0][REPORT])
    assert one.cover.pack_signer == fingerprint(public_key_bytes(packs["public"]))


def test_an_old_manifest_without_a_collector_still_loads_and_verifies() -> None:
    shipped = latest_snapshot(REPO)
    assert shipped is not None
    raw = (shipped / MANIFEST).read_bytes()
    manifest = Manifest.model_validate_json(raw)
    assert manifest.collected_by is None
    assert manifest.to_bytes() == raw and manifest.compute_digest() == manifest.digest
    assert verify_snapshot(shipped) == []


# -- the collector's identity --


def fake_jwt(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'kid': 'k'})}.{part(claims)}.c2lnbmF0dXJl"


def test_a_fresh_collect_records_who_collected_without_secrets(tmp_path: Path) -> None:
    from tests.kube.apiserver import StandIn
    from tests.kube.offline import write_instance
    from tests.kube.world import DEMO_LAYOUT, build_world

    world = build_world(DEMO_LAYOUT)
    names = sorted(world.builders)
    # A service account token names its account in its (unencrypted) claims.
    world.builders[names[-1]].cluster.token = fake_jwt(
        {"sub": "system:serviceaccount:evidoc:collector", "secret-ish": "do-not-copy"}
    )
    tokens = [b.cluster.token for b in world.builders.values()]
    stand_in = StandIn(world.clusters, tmp_path / "standin").start()
    try:
        root = write_instance(tmp_path / "inst", world, kubeconfig=str(stand_in.kubeconfig))
        path = collect(root, digest_key=b"test digest key: 0123456789abcdef", now=AT)
    finally:
        stand_in.stop()
    raw = (path / MANIFEST).read_bytes()
    who = load_snapshot(path).manifest.collected_by
    assert who is not None
    assert who.evidoc == __version__ and who.host
    by_cluster = {c.cluster: c for c in who.kubernetes}
    assert sorted(by_cluster) == names
    for name, c in by_cluster.items():
        assert c.user == f"{name}-reader"  # the kubeconfig's user entry (tests/kube/apiserver.py)
        assert c.method in ("bearer token", "bearer token file")
        assert c.environment == world.builders[name].environment
    assert by_cluster[names[-1]].authenticates_as == "system:serviceaccount:evidoc:collector"
    assert by_cluster[names[0]].authenticates_as is None  # an opaque token names nobody
    for token in tokens:
        assert token.encode() not in raw
        for piece in token.split("."):
            assert piece.encode() not in raw
    assert b"do-not-copy" not in raw
    assert verify_snapshot(path) == []


def test_identity_of_in_cluster_and_certificate_credentials(tmp_path: Path) -> None:
    token = fake_jwt({"sub": "system:serviceaccount:compliance:evidoc"})
    config = SimpleNamespace(
        context=SimpleNamespace(user=None, namespace="compliance"),
        user=SimpleNamespace(token=token),
    )
    assert credential_identity(config, in_cluster=True) == {
        "user": "in-cluster",
        "authenticates_as": "system:serviceaccount:compliance:evidoc",
        "method": "in-cluster service account token (namespace compliance)",
    }
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "auditors"),
            x509.NameAttribute(NameOID.COMMON_NAME, "evidoc-reader"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    user = SimpleNamespace(
        exec=None,
        auth_provider=None,
        client_cert=None,
        client_cert_data=base64.b64encode(pem).decode(),
        client_key_data="a private key, never read",
        token_file=None,
        token=None,
        username=None,
    )
    config = SimpleNamespace(context=SimpleNamespace(user="ci"), user=user)
    assert credential_identity(config) == {
        "user": "ci",
        "authenticates_as": "CN=evidoc-reader,O=auditors",
        "method": "client certificate",
    }
    exec_user = SimpleNamespace(exec=SimpleNamespace(command="/home/ci/bin/aws"), token="x")
    config = SimpleNamespace(context=SimpleNamespace(user="eks"), user=exec_user)
    assert credential_identity(config) == {
        "user": "eks",
        "authenticates_as": None,
        "method": "exec plugin aws",
    }
