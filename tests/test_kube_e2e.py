"""Opt-in: collect from a real cluster (kind, k3s, ...) and run every Kubernetes check on it.

    EVIDOC_E2E_KUBECONFIG=~/.kube/config [EVIDOC_E2E_CONTEXT=kind-kind] pytest -m e2e

The identity in the kubeconfig needs the read-only rights of deploy/rbac.yaml (or more). The
cluster stands in for both tiers: production is the `default` namespace, non-production
`kube-public`; the test asserts that collection works and that every check gives a result, not
what the results are.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from generator.loader import load_library
from generator.pipeline import evaluate
from generator.snapshot.store import load_snapshot
from generator.snapshot.verify import verify_snapshot
from tests.kube.offline import CHECK_IDS, write_instance
from tests.kube.world import build_world

KUBECONFIG = os.environ.get("EVIDOC_E2E_KUBECONFIG")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not KUBECONFIG, reason="set EVIDOC_E2E_KUBECONFIG to run against a cluster"),
]


def test_collect_and_check_a_real_cluster(tmp_path: Path) -> None:
    from generator.collect.run import collect

    assert KUBECONFIG is not None
    kubeconfig = Path(KUBECONFIG).expanduser()
    context = os.environ.get("EVIDOC_E2E_CONTEXT") or (
        yaml.safe_load(kubeconfig.read_text()).get("current-context")
    )
    sources = f"""\
environments:
  - name: e2e
    clusters:
      - {{name: e2e, kubeconfig: {kubeconfig}, context: {context}}}
deployments:
  - {{name: production, tier: production, cluster: e2e, namespaces: [default]}}
  - {{name: testing, tier: non-production, cluster: e2e, namespaces: [kube-public]}}
"""
    root = write_instance(tmp_path / "inst", build_world(), sources=sources)
    path = collect(root, digest_key=b"e2e digest key, not a secret")
    assert verify_snapshot(path) == []
    snap = load_snapshot(path)
    states = {i.id.rsplit("/", 1)[1]: i.status.value for i in snap.manifest.items}
    assert states["cluster"] == "ok", snap.manifest.items
    assert states["namespaces"] == "ok"
    assert set(states.values()) <= {"ok", "forbidden", "not-found"}, states
    results = evaluate(load_library(root), snap, snap.created_at).results
    assert {r.check for r in results} == set(CHECK_IDS)
    assert all(r.reason for r in results)
