"""Helpers for tests: collect a world without sockets, and write an evidoc instance for it.

`offline_snapshot` runs the real collector (paging, projection, digests, item statuses) against
the stand-in's answers through an in-process transport: the same code path as over HTTPS, minus
TLS, so check tests stay fast. `write_instance` writes a small instance whose practices each run
one Kubernetes check, so a control's status shows that check's outcome.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2 as httpx
import yaml

from generator.collect.digest import Redactor
from generator.collect.kubernetes import RetryPolicy, Target, collect_all
from generator.snapshot.store import SnapshotWriter
from tests.kube.apiserver import ApiLogic
from tests.kube.world import World

AT = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
KEY = b"test digest key: 0123456789abcdef"


def offline_targets(world: World) -> list[Target]:
    targets = []
    for name, b in world.builders.items():
        logic = ApiLogic(b.cluster)

        def handler(request: Any, logic: ApiLogic = logic) -> Any:
            code, body, headers = logic.respond(
                request.method, request.url.raw_path.decode(), request.headers.get("authorization")
            )
            return httpx.Response(
                code, content=body, headers={"Content-Type": "application/json", **headers}
            )

        url = f"https://{name}.cluster.test:6443"
        client = httpx.Client(
            base_url=url,
            transport=httpx.MockTransport(handler),
            headers={"Authorization": f"Bearer {b.cluster.token}"},
        )
        config = SimpleNamespace(cluster=SimpleNamespace(server=url), context_name=name)
        targets.append(Target(b.environment, name, name, "offline", config, client))
    return targets


def offline_snapshot(
    world: World,
    out_dir: Path,
    *,
    at: dt.datetime = AT,
    endpoints: list[str] | None = None,
    key: bytes = KEY,
    ttl: int = 7 * 24 * 3600,
    page_size: int = 500,
) -> Path:
    writer = SnapshotWriter(out_dir, at)
    collect_all(
        offline_targets(world),
        writer,
        Redactor(key, endpoints or []),
        clock=lambda: at,
        ttl=ttl,
        retry=RetryPolicy(attempts=1, backoff=0),
        page_size=page_size,
    )
    return writer.commit()


CHECK_IDS = (
    "kubernetes.isolation-level",
    "kubernetes.dtap-parity",
    "kubernetes.no-production-data",
    "kubernetes.audit-logging",
    "kubernetes.audit-access",
    "kubernetes.rbac-write-separation",
    "kubernetes.default-deny",
    "kubernetes.gitops-managed",
)
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "kubernetes.isolation-level": {"required": {"production": "cluster"}},
    "kubernetes.audit-access": {
        "operators": ["platform-oncall", "security-officers"],
        "namespaces": ["logging"],
        "auditor_role": "auditor",
    },
}


def control_of(check: str) -> str:
    return f"kube:K.{CHECK_IDS.index(check) + 1}"


def write_instance(
    root: Path,
    world: World,
    *,
    kubeconfig: str | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    sources: str | None = None,
) -> Path:
    """An instance with one practice per Kubernetes check, each mapped to its own control."""
    params = {**DEFAULT_PARAMS, **(params or {})}
    (root / "controls" / "frameworks").mkdir(parents=True, exist_ok=True)
    (root / "controls" / "practices").mkdir(parents=True, exist_ok=True)
    (root / "evidence").mkdir(parents=True, exist_ok=True)
    (root / "docs").mkdir(parents=True, exist_ok=True)
    framework = {
        "id": "kube",
        "title": "Kubernetes evidence",
        "version": "1",
        "publisher": "Tests",
        "groups": [
            {
                "id": "K",
                "title": "Checks",
                "controls": [
                    {"id": f"K.{i + 1}", "title": check} for i, check in enumerate(CHECK_IDS)
                ],
            }
        ],
    }
    (root / "controls/frameworks/kube.yaml").write_text(yaml.safe_dump(framework))
    for i, check in enumerate(CHECK_IDS):
        ref: dict[str, Any] = {"id": check}
        if params.get(check):
            ref["with"] = params[check]
        practice = {
            "id": f"p{i + 1}",
            "title": check,
            "owner": "Platform team",
            "statement": f"Proved by {check}.",
            "satisfies": [
                {"control": control_of(check), "relationship": "equivalent", "proven_by": [check]}
            ],
            "checks": [ref],
        }
        (root / f"controls/practices/p{i + 1}.yaml").write_text(yaml.safe_dump(practice))
    (root / "controls/scope.yaml").write_text("frameworks: [kube]\n")
    (root / "docs/index.md").write_text(textwrap.dedent("# Index\n"))
    (root / "evidence/sources.yaml").write_text(sources or world.sources_yaml(kubeconfig))
    return root
