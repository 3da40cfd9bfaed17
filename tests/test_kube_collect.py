"""`evidoc collect` against the loopback stand-in: HTTPS with a test CA, bearer tokens, real
kubeconfig files, paging, 410/403/404, faults, and what may never reach the snapshot."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from generator.cli import main
from generator.collect.digest import load_digest_key
from generator.collect.kube_resources import ITEM_NAMES
from generator.collect.kubernetes import RetryPolicy
from generator.collect.run import collect, terminal_progress
from generator.errors import InputError
from generator.snapshot.store import load_snapshot
from generator.snapshot.verify import verify_snapshot
from tests.conftest import run_evidoc
from tests.kube.apiserver import StandIn, write_kubeconfig
from tests.kube.offline import KEY, control_of, write_instance
from tests.kube.pki import make_pki
from tests.kube.world import (
    DEMO_LAYOUT,
    THREE_CLUSTERS,
    World,
    build_world,
    demo_world,
    production_payment_key,
)

FAST = RetryPolicy(attempts=3, backoff=0.01, read_timeout=5)


def items_of(path: Path) -> dict[str, Any]:
    return {i.id: i for i in load_snapshot(path).manifest.items}


def data_of(path: Path, item_id: str) -> Any:
    snap = load_snapshot(path)
    item = next(i for i in snap.manifest.items if i.id == item_id)
    return json.loads((path / item.path).read_bytes())


def start(world: World, tmp_path: Path) -> StandIn:
    return StandIn(world.clusters, tmp_path / "standin").start()


@pytest.fixture
def digest_key(tmp_path: Path) -> Path:
    path = tmp_path / "digest.key"
    path.write_bytes(KEY)
    return path


def test_collect_to_control_statuses_end_to_end(tmp_path: Path, digest_key: Path) -> None:
    """Three clusters, two environments; `evidoc collect` and `evidoc check` as processes."""
    world = build_world(THREE_CLUSTERS)
    staging = world.builder("staging")
    staging.find("ConfigMap", "shop-staging", "shop-config")["data"]["PAYMENT_API_KEY"] = (
        production_payment_key()
    )
    world.builders["prod-wc"].cluster.forbidden.add("/apis/kyverno.io/v1/policies")
    with start(world, tmp_path) as stand_in:
        root = write_instance(tmp_path / "inst", world, kubeconfig=str(stand_in.kubeconfig))
        done = run_evidoc("collect", "--root", root, "--digest-key", digest_key)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert re.search(r"wrote .*evidence/snapshots/\d{8}T\d{6}Z \(87 items: ", done.stdout)
    assert "forbidden: kubernetes/prod/prod-wc/kyverno-policies: 403 Forbidden" in done.stderr

    snapshots = list((root / "evidence" / "snapshots").iterdir())
    assert len(snapshots) == 1
    path = snapshots[0]
    assert run_evidoc("verify", path).returncode == 0
    items = items_of(path)
    assert len(items) == 3 * len(ITEM_NAMES)
    assert items["kubernetes/prod/prod-wc/kyverno-policies"].status.value == "forbidden"
    assert items["kubernetes/nonprod/dev-wc/gatekeeper-constraints"].status.value == "not-found"
    assert items["kubernetes/prod/prod-wc/flux-kustomizations"].status.value == "not-found"
    ident = data_of(path, "kubernetes/prod/prod-wc/cluster")
    assert ident["server"] == stand_in.servers["prod-wc"].url
    assert ident["version"]["gitVersion"] == "v1.31.4" and ident["kube_system_uid"]
    item = items["kubernetes/nonprod/staging-wc/secrets"]
    assert item.collector == "kubernetes" and item.context == "staging-wc"
    assert item.query == "GET /api/v1/secrets" and item.ttl == 7 * 24 * 3600

    gate = run_evidoc("check", "--root", root, "--require", "verified", "--format", "json")
    assert gate.returncode == 1, gate.stderr
    doc = json.loads(gate.stdout)
    controls = {c["control"]: c for fw in doc["frameworks"] for c in fw["controls"]}
    failing = control_of("kubernetes.no-production-data")
    assert controls[failing]["status"] == "failing"
    assert "PAYMENT_API_KEY" in controls[failing]["reason"]
    others = {k: c["status"] for k, c in controls.items() if k != failing}
    assert set(others.values()) == {"verified"}, others


def test_paging_restarts_a_list_whose_continue_token_expired(tmp_path: Path) -> None:
    world = demo_world()
    nonprod = world.builders["nonprod-wc"]
    for i in range(230):
        nonprod.configmap("shop-dev", f"generated-{i:03d}", {"n": str(i)})
    total = len(nonprod.cluster.lists["/api/v1/configmaps"])
    nonprod.cluster.expire_continue["/api/v1/configmaps"] = 2
    prod = world.builders["prod-wc"]
    for i in range(30):
        prod.configmap("shop", f"generated-{i:03d}", {"n": str(i)})
    prod.cluster.expire_continue["/api/v1/configmaps"] = 9  # expires every time: gives up
    with start(world, tmp_path) as stand_in:
        root = write_instance(tmp_path / "inst", world, kubeconfig=str(stand_in.kubeconfig))
        path = collect(root, page_size=20, retry=FAST, digest_key=KEY)
        requests = stand_in.servers["nonprod-wc"].requests
    data = data_of(path, "kubernetes/nonprod/nonprod-wc/configmaps")
    names = [(o["namespace"], o["name"]) for o in data["items"]]
    assert data["count"] == total == len(set(names)) > 230
    pages = [q for m, p, q in requests if p == "/api/v1/configmaps"]
    assert all(q["limit"] == "20" for q in pages)
    assert sum("continue" not in q for q in pages) == 3  # the first try and two restarts
    assert len(pages) >= 3 + total // 20
    given_up = items_of(path)["kubernetes/prod/prod-wc/configmaps"]
    assert given_up.status.value == "error" and "410 Gone" in (given_up.detail or "")
    assert items_of(path)["kubernetes/prod/prod-wc/namespaces"].status.value == "ok"


def test_retries_with_backoff_then_records_the_error(tmp_path: Path) -> None:
    world = demo_world()
    prod = world.builders["prod-wc"].cluster
    prod.faults["/api/v1/secrets"] = [500, 503]
    prod.faults["/api/v1/nodes"] = [429]
    prod.faults["/apis/apps/v1/deployments"] = [500] * 3
    prod.delay["/api/v1/limitranges"] = 1.0
    retry = RetryPolicy(attempts=3, backoff=0.01, read_timeout=0.3)
    with start(world, tmp_path) as stand_in:
        root = write_instance(tmp_path / "inst", world, kubeconfig=str(stand_in.kubeconfig))
        path = collect(root, retry=retry, digest_key=KEY)
    items = items_of(path)
    for ok in ("secrets", "nodes", "statefulsets", "namespaces"):
        assert items[f"kubernetes/prod/prod-wc/{ok}"].status.value == "ok", ok
    deployments = items["kubernetes/prod/prod-wc/deployments"]
    assert deployments.status.value == "error"
    assert deployments.detail == "HTTP 500 after 3 attempt(s): injected fault"
    slow = items["kubernetes/prod/prod-wc/limitranges"]
    assert slow.status.value == "error" and "ReadTimeout" in (slow.detail or "")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_cluster_is_recorded_and_collect_exits_1(tmp_path: Path) -> None:
    world = demo_world()
    with start(world, tmp_path) as stand_in:
        assert stand_in.pki is not None
        kubeconfig = write_kubeconfig(
            tmp_path / "kubeconfig",
            {
                **{n: (s.url, s.cluster.token) for n, s in stand_in.servers.items()},
                "dr-wc": (f"https://127.0.0.1:{_closed_port()}", "unused"),
            },
            stand_in.pki,
        )
        sources = world.sources_yaml(str(kubeconfig)).replace(
            "deployments:",
            f"  - name: dr\n    clusters:\n      - {{name: dr-wc, context: dr-wc, "
            f"kubeconfig: {kubeconfig}}}\ndeployments:",
        )
        root = write_instance(tmp_path / "inst", world, sources=sources)
        result = CliRunner().invoke(main, ["collect", "--root", str(root)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    path = next((root / "evidence" / "snapshots").iterdir())
    items = items_of(path)
    dr = [i for i in items.values() if i.environment == "dr"]
    assert len(dr) == len(ITEM_NAMES)
    assert all(i.status.value == "error" and "cannot reach" in (i.detail or "") for i in dr)
    assert "ConnectError" in (dr[0].detail or "")
    others = [i for i in items.values() if i.environment != "dr"]
    assert {i.status.value for i in others} == {"ok", "not-found"}


def test_wrong_ca_and_rejected_token_are_errors(tmp_path: Path) -> None:
    world = demo_world()
    with start(world, tmp_path) as stand_in:
        other = make_pki(tmp_path / "other-ca")
        nonprod = stand_in.servers["nonprod-wc"]
        prod = stand_in.servers["prod-wc"]
        assert stand_in.pki is not None
        untrusted = write_kubeconfig(
            tmp_path / "untrusted", {"nonprod-wc": (nonprod.url, nonprod.cluster.token)}, other
        )
        rejected = write_kubeconfig(
            tmp_path / "rejected", {"prod-wc": (prod.url, "wrong")}, stand_in.pki
        )
        sources = world.sources_yaml(str(untrusted)).replace(
            f"{{name: prod-wc, context: prod-wc, kubeconfig: {untrusted}}}",
            f"{{name: prod-wc, context: prod-wc, kubeconfig: {rejected}}}",
        )
        root = write_instance(tmp_path / "inst", world, sources=sources)
        path = collect(root, retry=FAST, digest_key=KEY)
        assert not [r for r in prod.requests if r[0] != "GET"]
    items = items_of(path)
    tls = items["kubernetes/nonprod/nonprod-wc/cluster"]
    assert tls.status.value == "error" and "CERTIFICATE_VERIFY_FAILED" in (tls.detail or "")
    token = items["kubernetes/prod/prod-wc/secrets"]
    assert token.status.value == "error" and "credentials were rejected" in (token.detail or "")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s, kc: s.replace("context: prod-wc", "context: nope"), "Context 'nope' not found"),
        (lambda s, kc: s.replace(kc, kc + ".missing"), "kubeconfig"),
        (
            lambda s, kc: s.replace("{name: prod-wc, context: prod-wc, ", "{name: prod-wc, "),
            "no context given",
        ),
    ],
    ids=["unknown-context", "missing-kubeconfig", "no-context"],
)
def test_bad_kubeconfig_or_context_exits_2(tmp_path: Path, edit, message: str) -> None:
    world = demo_world()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": n, "cluster": {"server": "https://127.0.0.1:1"}}
                    for n in world.builders
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [
                    {"name": n, "context": {"cluster": n, "user": "u"}} for n in world.builders
                ],
            }
        )
    )
    sources = edit(world.sources_yaml(str(kubeconfig)), str(kubeconfig))
    root = write_instance(tmp_path / "inst", world, sources=sources)
    result = CliRunner().invoke(main, ["collect", "--root", str(root)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "evidence/sources.yaml:" in result.output
    assert "Traceback" not in result.output
    assert not (root / "evidence" / "snapshots").exists()


def test_unknown_environment_exits_2(tmp_path: Path) -> None:
    root = write_instance(tmp_path / "inst", demo_world(), kubeconfig="/nonexistent")
    result = CliRunner().invoke(main, ["collect", "--root", str(root), "--env", "qa"])
    assert result.exit_code == 2
    assert "unknown environment(s) qa; known: nonprod, prod" in result.output


def test_planted_secret_value_appears_nowhere_in_the_snapshot(tmp_path: Path) -> None:
    planted = "Pl4nted-S3cret-9f1c2d7e-never-written"
    world = demo_world()
    prod = world.builders["prod-wc"]
    prod.secret("shop", "planted", {"password": planted, "dsn": f"postgres://shop:{planted}@db"})
    prod.configmap("shop", "planted-config", {"oops": planted})
    app = prod.find("Application", "argocd", "shop-production")
    app["spec"]["source"]["repoURL"] = f"https://bot:{planted}@git.example.com/shop/gitops.git"
    world.builder("staging").workload(
        "Deployment",
        "shop-staging",
        "leaky",
        "registry.example.com/shop/api:1",
        env={"DB_PASSWORD": planted},
    )
    with start(world, tmp_path) as stand_in:
        root = write_instance(tmp_path / "inst", world, kubeconfig=str(stand_in.kubeconfig))
        path = collect(root, retry=FAST, digest_key=KEY)
    forms = [planted.encode(), base64.b64encode(planted.encode())]
    forms += [base64.b64encode(f"postgres://shop:{planted}@db".encode())]
    files = [p for p in path.rglob("*") if p.is_file()]
    assert len(files) > 50
    for file in files:
        content = file.read_bytes()
        for form in forms:
            assert form not in content, f"{file} holds the planted value"
    secrets = data_of(path, "kubernetes/prod/prod-wc/secrets")
    kept = next(s for s in secrets["items"] if s["name"] == "planted")
    assert set(kept["keys"]) == {"password", "dsn"}
    assert all(set(v) <= {"hmac", "short", "endpoints"} for v in kept["keys"].values())
    assert kept["annotations"] == {"reloader.stakater.com/match": None}


def test_collector_only_reads_what_the_shipped_role_allows(tmp_path: Path) -> None:
    docs = list(yaml.safe_load_all((Path(__file__).parent.parent / "deploy/rbac.yaml").read_text()))
    cluster_rules = next(d for d in docs if d["kind"] == "ClusterRole")["rules"]
    role_rules = next(d for d in docs if d["kind"] == "Role")["rules"]
    verbs = {v for d in docs if "rules" in d for r in d["rules"] for v in r["verbs"]}
    assert verbs == {"get", "list"}

    def allowed(path: str) -> bool:
        if any(
            path == u or (u.endswith("*") and path.startswith(u[:-1]))
            for r in cluster_rules
            for u in r.get("nonResourceURLs", [])
        ):
            return True
        parts = path.strip("/").split("/")
        group = "" if parts[0] == "api" else parts[1]
        rest = parts[2:] if parts[0] == "api" else parts[3:]
        rules = cluster_rules
        if rest[:1] == ["namespaces"] and len(rest) == 3:
            if rest[1] == "kube-system" and rest[2] == "pods":
                rules = role_rules
            rest = rest[2:]
        resource = (
            rest[0] if len(rest) == 1 else ("namespaces" if rest[:1] == ["namespaces"] else rest[0])
        )
        return any(
            group in r.get("apiGroups", [])
            and (resource in r["resources"] or "*" in r["resources"])
            for r in rules
        )

    world = demo_world()
    prod = world.builders["prod-wc"].cluster
    prod.discovery["/apis/constraints.gatekeeper.sh/v1beta1"] = {
        "kind": "APIResourceList",
        "groupVersion": "constraints.gatekeeper.sh/v1beta1",
        "resources": [
            {
                "name": "k8srequiredlabels",
                "kind": "K8sRequiredLabels",
                "namespaced": False,
                "verbs": ["get", "list"],
            },
            {
                "name": "k8srequiredlabels/status",
                "kind": "K8sRequiredLabels",
                "namespaced": False,
                "verbs": ["get"],
            },
        ],
    }
    prod.lists["/apis/constraints.gatekeeper.sh/v1beta1/k8srequiredlabels"] = [
        {
            "apiVersion": "constraints.gatekeeper.sh/v1beta1",
            "kind": "K8sRequiredLabels",
            "metadata": {"name": "owner-label"},
            "spec": {"enforcementAction": "dryrun", "match": {"kinds": [{"kinds": ["Namespace"]}]}},
            "status": {
                "totalViolations": 1,
                "violations": [
                    {
                        "kind": "Namespace",
                        "name": "restore-test",
                        "message": "missing label owner",
                        "enforcementAction": "dryrun",
                    }
                ],
            },
        }
    ]
    with start(world, tmp_path) as stand_in:
        root = write_instance(tmp_path / "inst", world, kubeconfig=str(stand_in.kubeconfig))
        path = collect(root, retry=FAST, digest_key=KEY)
        requests = stand_in.requests()
    assert requests and {m for _, m, _, _ in requests} == {"GET"}
    denied = sorted({p for _, _, p, _ in requests if not allowed(p)})
    assert not denied, denied
    constraints = data_of(path, "kubernetes/prod/prod-wc/gatekeeper-constraints")
    assert constraints["kinds"] == ["K8sRequiredLabels"]
    assert constraints["items"][0]["totalViolations"] == 1
    assert constraints["items"][0]["violations"][0]["name"] == "restore-test"


def test_signed_collect_verifies_with_the_public_key(tmp_path: Path, digest_key: Path) -> None:
    key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = tmp_path / "public.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    world = demo_world()
    with start(world, tmp_path) as stand_in:
        root = write_instance(tmp_path / "inst", world, kubeconfig=str(stand_in.kubeconfig))
        result = CliRunner().invoke(
            main,
            [
                "collect",
                "--root",
                str(root),
                "--sign-key",
                str(key_file),
                "--digest-key",
                str(digest_key),
                "--out",
                str(tmp_path / "out"),
            ],
        )
    assert result.exit_code == 0, result.output
    path = next((tmp_path / "out").iterdir())
    assert (path / "manifest.sig").is_file()
    ok = CliRunner().invoke(main, ["verify", str(path), "--public-key", str(public)])
    assert ok.exit_code == 0, ok.output
    (path / "items/kubernetes/prod/prod-wc/secrets.json").write_text('{"items": []}\n')
    assert verify_snapshot(path) == [
        "items/kubernetes/prod/prod-wc/secrets.json: SHA-256 does not match the manifest (tampered)"
    ]


def test_git_evidence_lands_in_the_same_snapshot(tmp_path: Path) -> None:
    from tests.git.builders import build_shop

    repo = build_shop(tmp_path / "shop-gitops")
    world = build_world(DEMO_LAYOUT)
    at = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
    with start(world, tmp_path) as stand_in:
        root = write_instance(tmp_path / "inst", world, kubeconfig=str(stand_in.kubeconfig))
        sources = root / "evidence/sources.yaml"
        sources.write_text(
            sources.read_text()
            + f"repositories:\n  - {{name: shop-gitops, path: {repo.path}, branch: main}}\n"
        )
        path = collect(root, now=at, retry=FAST, digest_key=KEY, demo=True, note="demo data")
    snap = load_snapshot(path)
    assert path.name == "20261122T080000Z"
    assert snap.manifest.demo and snap.manifest.note == "demo data"
    ids = {i.id for i in snap.manifest.items}
    assert "git/shop-gitops/commits" in ids
    assert "kubernetes/prod/prod-wc/namespaces" in ids
    assert verify_snapshot(path) == []


def test_instance_digest_key_is_created_once_and_kept_out_of_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVIDOC_DIGEST_KEY", raising=False)
    first = load_digest_key(tmp_path)
    assert load_digest_key(tmp_path) == first and len(first) == 64
    key_file = tmp_path / ".evidoc" / "digest-key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert (tmp_path / ".evidoc" / ".gitignore").read_text().splitlines()[-1] == "*"
    monkeypatch.setenv("EVIDOC_DIGEST_KEY", "short")
    with pytest.raises(InputError, match="digest key too short"):
        load_digest_key(tmp_path)
    # Bad input is reported before any key is created in the instance.
    monkeypatch.delenv("EVIDOC_DIGEST_KEY")
    inst = write_instance(tmp_path / "inst", demo_world(), kubeconfig="/nonexistent")
    result = CliRunner().invoke(main, ["collect", "--root", str(inst)])
    assert result.exit_code == 2 and "kubeconfig /nonexistent not found" in result.output
    assert not (inst / ".evidoc").exists()


def test_progress_bar_counts_items_per_context() -> None:
    from types import SimpleNamespace

    from generator.snapshot.manifest import ItemStatus

    target = SimpleNamespace(label="prod/prod-wc", context="prod-wc")
    with terminal_progress() as on_item:
        for name in ITEM_NAMES:
            on_item(target, name, ItemStatus.ok)  # type: ignore[arg-type]


def test_an_empty_instance_digest_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVIDOC_DIGEST_KEY", raising=False)
    (tmp_path / ".evidoc").mkdir()
    (tmp_path / ".evidoc" / "digest-key").write_bytes(b"\n")
    with pytest.raises(InputError, match="digest key too short"):
        load_digest_key(tmp_path)
