"""The Kubernetes collector: explicit (kubeconfig, context) pairs, read-only list calls.

lightkube reads each kubeconfig and builds the authenticated HTTPS client (CA, client
certificates, bearer tokens, token files, exec plugins); the collector then issues plain list
requests itself so that it controls paging (`limit`/`continue`, restarting a list whose continue
token expired with 410 Gone), retries with backoff, and what is kept of each object. Every
resource becomes one evidence item; a 403 is recorded as `forbidden`, a 404 as `not-found`, any
other failure as `error`: nothing is silently dropped.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx  # lightkube's HTTP client
from msgspec.json import decode as _decode  # lightkube's JSON decoder, faster than json

from generator.collect import kube_resources as kr
from generator.collect.digest import Redactor
from generator.collect.redact import strip_credentials, strip_credentials_in
from generator.errors import InputError, InputErrors
from generator.library import Library
from generator.snapshot.manifest import ContextIdentity, ItemStatus
from generator.snapshot.store import SnapshotWriter

IN_CLUSTER = "in-cluster"  # kubeconfig value: use the pod's service account
SOURCES = "evidence/sources.yaml"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries per request, the first included
    backoff: float = 0.5  # seconds before the second try; doubles each time
    max_wait: float = 8.0  # cap on one wait, also on a server's Retry-After
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    restarts: int = 3  # times a list is restarted after its continue token expired


@dataclass
class Target:
    environment: str
    cluster: str
    context: str
    kubeconfig: str  # as shown to people
    config: Any  # lightkube SingleConfig
    client: Any = None  # the authenticated HTTP client
    in_cluster: bool = False  # the pod's service account, not a kubeconfig

    @property
    def label(self) -> str:
        return f"{self.environment}/{self.cluster}"

    def identity(self) -> ContextIdentity:
        """Who the collector is to this context, for the manifest: never a credential."""
        return ContextIdentity(
            environment=self.environment,
            cluster=self.cluster,
            context=self.context,
            **credential_identity(self.config, in_cluster=self.in_cluster),
        )

    @property
    def server(self) -> str:
        """The API server URL as written down: a kubeconfig may hold credentials in it."""
        return strip_credentials(str(self.config.cluster.server))


# -- who the collector is to a cluster (names only: no credential is ever written) --

_SA_PREFIX = "system:serviceaccount:"


def _token_subject(token: str | None) -> str | None:
    """The service account a Kubernetes service account token (a JWT) names in its `sub`
    claim: read, not verified (the API server verifies it). Any other token: None."""
    parts = (token or "").strip().split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    if isinstance(sub, str) and sub.startswith(_SA_PREFIX) and len(sub) <= 300:
        return sub if sub.isprintable() else None
    return None


def _certificate_subject(config: Any, user: Any) -> str | None:
    """The subject of the client certificate (Kubernetes takes CN as the user name and O as
    its groups); a certificate is public, its key is never read."""
    from cryptography import x509

    try:
        if user.client_cert_data:
            pem = base64.b64decode(user.client_cert_data)
        else:
            pem = Path(config.abs_file(user.client_cert)).read_bytes()
        return x509.load_pem_x509_certificate(pem).subject.rfc4514_string()[:300]
    except Exception:  # unreadable or not PEM: the identity is simply not known here
        return None


def _read_token_file(config: Any, path: str) -> str | None:
    try:
        return Path(config.abs_file(path)).read_text(encoding="utf-8")[:65536]
    except Exception:  # unreadable, or a relative path without a kubeconfig file
        return None


def credential_identity(config: Any, *, in_cluster: bool = False) -> dict[str, str | None]:
    """The kubeconfig user entry of a context, the identity its credential names when that can
    be read locally, and how it authenticates. Names only: no token, key or password."""
    context = getattr(config, "context", None)
    user = getattr(config, "user", None)
    entry = getattr(context, "user", None) if context is not None else None
    if in_cluster:
        namespace = getattr(context, "namespace", None) if context is not None else None
        return {
            "user": "in-cluster",
            "authenticates_as": _token_subject(getattr(user, "token", None)),
            "method": "in-cluster service account token"
            + (f" (namespace {namespace})" if namespace else ""),
        }
    method: str | None = None
    subject: str | None = None
    if user is not None:
        if getattr(user, "exec", None) is not None:
            method = f"exec plugin {Path(str(user.exec.command)).name}"
        elif getattr(user, "auth_provider", None):
            method = f"auth provider {user.auth_provider.get('name') or 'unnamed'}"
        elif getattr(user, "client_cert", None) or getattr(user, "client_cert_data", None):
            method = "client certificate"
            subject = _certificate_subject(config, user)
        elif getattr(user, "token_file", None):
            method = "bearer token file"
            subject = _token_subject(_read_token_file(config, user.token_file))
        elif getattr(user, "token", None):
            method = "bearer token"
            subject = _token_subject(user.token)
        elif getattr(user, "username", None):
            method = "basic authentication"
            subject = str(user.username)[:300]
        else:
            method = "none"
    return {
        "user": str(entry) if entry is not None else None,
        "authenticates_as": subject,
        "method": method,
    }


# -- kubeconfig and context resolution (all problems reported before anything is collected) --


def _default_kubeconfig() -> str:
    env = os.environ.get("KUBECONFIG")
    if env:
        return env.split(os.pathsep)[0]
    return "~/.kube/config"


def resolve_targets(
    library: Library,
    envs: Iterable[str] = (),
    kubeconfig: Path | None = None,
    retry: RetryPolicy | None = None,
) -> list[Target]:
    """Every cluster of the chosen environments with its client; InputErrors for bad input."""
    from lightkube.config.client_adapter import Client, ConnectionParams
    from lightkube.config.kubeconfig import KubeConfig
    from lightkube.config.models import User

    retry = retry or RetryPolicy()
    if library.sources is None:
        raise InputError(SOURCES, "missing: expected the environments and clusters to collect")
    sources = library.sources
    known = [e.name for e in sources.model.environments]
    wanted = list(envs)
    unknown = [e for e in wanted if e not in known]
    if unknown:
        raise InputError(
            sources.file,
            f"unknown environment(s) {', '.join(unknown)}; known: {', '.join(known) or 'none'}",
        )
    errors: list[InputError] = []
    loaded: dict[str, Any] = {}
    targets: list[Target] = []
    params = ConnectionParams(
        timeout=httpx.Timeout(retry.read_timeout, connect=retry.connect_timeout)
    )
    for ei, env in enumerate(sources.model.environments):
        if wanted and env.name not in wanted:
            continue
        for ci, cluster in enumerate(env.clusters):
            where = ("environments", ei, "clusters", ci)

            def fail(msg: str, key: str = "context", where=where, name=cluster.name) -> None:
                line, col = sources.marks.locate((*where, key))
                errors.append(InputError(sources.file, f"cluster {name}: {msg}", line, col))

            source = str(kubeconfig) if kubeconfig else (cluster.kubeconfig or None)
            in_cluster = source == IN_CLUSTER
            try:
                if in_cluster:
                    kc = KubeConfig.from_service_account()
                    config = kc.get()
                    shown = "in-cluster service account"
                else:
                    if not cluster.context:
                        fail("no context given; name the kubeconfig context to collect from")
                        continue
                    raw = source or _default_kubeconfig()
                    path = Path(raw).expanduser()
                    if not path.is_absolute():
                        path = library.root / path
                    shown = str(path)
                    if not path.is_file():
                        fail(f"kubeconfig {raw} not found", "kubeconfig")
                        continue
                    if shown not in loaded:
                        loaded[shown] = KubeConfig.from_file(path)
                    config = loaded[shown].get(cluster.context)
            except Exception as exc:  # lightkube raises ConfigError, KeyError, msgspec errors
                fail(f"cannot use kubeconfig/context: {exc}")
                continue
            if config.user is None:
                config = config._replace(user=User())
            try:
                client = Client(config, params)
            except Exception as exc:
                fail(f"cannot set up a client for context {cluster.context}: {exc}")
                continue
            targets.append(
                Target(
                    env.name, cluster.name, config.context_name, shown, config, client, in_cluster
                )
            )
    if errors:
        for t in targets:
            t.client.close()
        raise InputErrors(errors)
    return targets


# -- one cluster's API server --


class ApiFailure(Exception):
    def __init__(self, status: ItemStatus, detail: str, fatal: bool = False) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.fatal = fatal  # the cluster cannot be reached or rejects the credentials


class Gone(Exception):
    """410: the continue token expired."""


def _message(resp: Any) -> str:
    try:
        body = json.loads(resp.content)
        return str(body.get("message") or "")[:300]
    except (ValueError, AttributeError):
        return ""


class Session:
    def __init__(self, target: Target, retry: RetryPolicy, page_size: int) -> None:
        self.target = target
        self.http = target.client
        self.retry = retry
        self.page_size = page_size
        self.down: ApiFailure | None = None
        self.requests = 0

    def _wait(self, attempt: int, resp: Any = None) -> None:
        wait = self.retry.backoff * (2 ** (attempt - 1))
        if resp is not None:
            with contextlib.suppress(ValueError):
                wait = max(wait, float(resp.headers.get("Retry-After", 0)))
        time.sleep(min(wait, self.retry.max_wait))

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        if self.down is not None:
            raise self.down
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                resp = self.http.get(path, params=params)
            except httpx.TransportError as exc:
                if attempt < self.retry.attempts:
                    self._wait(attempt)
                    continue
                kind = type(exc).__name__
                if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.ProxyError):
                    # Nothing more can be read from this cluster: fail the rest at once.
                    self.down = ApiFailure(
                        ItemStatus.error,
                        f"cannot reach {self.target.server} ({kind}: {exc}) "
                        f"after {attempt} attempt(s)",
                        fatal=True,
                    )
                    raise self.down from None
                raise ApiFailure(
                    ItemStatus.error, f"{kind} on {path} after {attempt} attempt(s): {exc}"
                ) from None
            except Exception as exc:  # e.g. an exec credential plugin that fails
                self.down = ApiFailure(
                    ItemStatus.error, f"cannot authenticate: {type(exc).__name__}: {exc}", True
                )
                raise self.down from None
            code = resp.status_code
            if code == 200:
                try:
                    return _decode(resp.content)
                except ValueError as exc:
                    raise ApiFailure(ItemStatus.error, f"invalid JSON from {path}: {exc}") from None
            if code in (429, 500, 502, 503, 504) and attempt < self.retry.attempts:
                self._wait(attempt, resp)
                continue
            msg = _message(resp)
            if code == 410:
                raise Gone(msg)
            if code == 403:
                raise ApiFailure(ItemStatus.forbidden, f"403 Forbidden: {msg}")
            if code == 404:
                raise ApiFailure(ItemStatus.not_found, f"404 Not Found: {msg or 'not installed'}")
            if code == 401:
                self.down = ApiFailure(
                    ItemStatus.error, "401 Unauthorized: the credentials were rejected", True
                )
                raise self.down
            tries = f" after {attempt} attempt(s)" if attempt > 1 else ""
            raise ApiFailure(ItemStatus.error, f"HTTP {code}{tries}: {msg}")

    def list_all(
        self, path: str, project: Callable[[dict[str, Any]], dict[str, Any]], params=None
    ) -> list[dict[str, Any]]:
        """Every object of a list, page by page; restarted from the start on 410 Gone."""
        restarts = 0
        while True:
            items: list[dict[str, Any]] = []
            token: str | None = None
            try:
                while True:
                    query = {**(params or {}), "limit": self.page_size}
                    if token:
                        query["continue"] = token
                    try:
                        page = self.get(path, query)
                    except Gone:
                        if token is None:
                            raise ApiFailure(
                                ItemStatus.error, "410 Gone on the first page"
                            ) from None
                        raise
                    items.extend(project(obj) for obj in page.get("items") or [])
                    token = (page.get("metadata") or {}).get("continue") or None
                    if not token:
                        return items
            except Gone:
                restarts += 1
                if restarts > self.retry.restarts:
                    raise ApiFailure(
                        ItemStatus.error,
                        f"the list kept expiring (410 Gone) {restarts} times; "
                        "too many changes while paging",
                    ) from None


# -- writing items --


@dataclass
class Sink:
    """Adds items for one cluster to the shared writer (thread-safe)."""

    writer: SnapshotWriter
    lock: threading.Lock
    target: Target
    clock: Callable[[], dt.datetime]
    ttl: int
    on_item: Callable[[Target, str, ItemStatus], None] | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def add(
        self,
        name: str,
        data: Any,
        query: str,
        status: ItemStatus = ItemStatus.ok,
        detail: str | None = None,
    ) -> None:
        if detail is not None:
            detail = strip_credentials_in(detail)  # error texts may quote a URL
        if status is not ItemStatus.ok:
            data = {"status": status.value, "detail": detail}
        with self.lock:
            self.writer.add(
                kr.item_id(self.target.environment, self.target.cluster, name),
                data,
                collector=kr.COLLECTOR,
                query=query,
                collected_at=self.clock(),
                ttl=self.ttl,
                environment=self.target.environment,
                context=self.target.context,
                source=self.target.server,
                status=status,
                detail=detail,
            )
            self.counts[status.value] = self.counts.get(status.value, 0) + 1
        if self.on_item is not None:
            self.on_item(self.target, name, status)


def _listed(resource: str, items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    items.sort(key=kr.sort_key)
    return {"resource": resource, "count": len(items), **extra, "items": items}


def _identity(session: Session, sink: Sink) -> bool:
    """The cluster item; False when the cluster cannot be used at all."""
    query = f"GET {kr.VERSION_PATH}, GET {kr.KUBE_SYSTEM_PATH}"
    data: dict[str, Any] = {"server": session.target.server, "context": session.target.context}
    try:
        version = session.get(kr.VERSION_PATH)
        data["version"] = {
            k: version.get(k) for k in ("gitVersion", "major", "minor", "platform") if k in version
        }
        kube_system = session.get(kr.KUBE_SYSTEM_PATH)
        data["kube_system_uid"] = (kube_system.get("metadata") or {}).get("uid")
    except ApiFailure as exc:
        sink.add(kr.CLUSTER, None, query, exc.status, exc.detail)
        return not exc.fatal
    sink.add(kr.CLUSTER, data, query)
    return True


def _gatekeeper(session: Session, sink: Sink, redactor: Redactor) -> None:
    query = f"GET {kr.GATEKEEPER_API}"
    try:
        discovery = session.get(kr.GATEKEEPER_API)
        kinds = sorted(
            (r.get("name"), r.get("kind"))
            for r in discovery.get("resources") or []
            if "/" not in (r.get("name") or "/")
        )
        items: list[dict[str, Any]] = []
        for plural, kind in kinds:

            def project(obj: dict[str, Any], kind=kind) -> dict[str, Any]:
                obj = {**obj, "kind": obj.get("kind") or kind}
                return kr.keep(kr.constraint, obj, redactor)

            items.extend(session.list_all(f"{kr.GATEKEEPER_API}/{plural}", project))
    except ApiFailure as exc:
        sink.add(kr.GATEKEEPER, None, query, exc.status, exc.detail)
        return
    except Exception as exc:
        detail = f"cannot read the response: {type(exc).__name__}: {exc}"
        sink.add(kr.GATEKEEPER, None, query, ItemStatus.error, detail[:500])
        return
    sink.add(kr.GATEKEEPER, _listed(kr.GATEKEEPER, items, kinds=[k for _, k in kinds]), query)


def collect_cluster(session: Session, sink: Sink, redactor: Redactor) -> None:
    reachable = _identity(session, sink)
    for res in kr.RESOURCES:
        if not reachable:
            assert session.down is not None
            sink.add(res.name, None, res.query, ItemStatus.error, session.down.detail)
            continue
        try:
            items = session.list_all(
                res.path, lambda obj, p=res.project: kr.keep(p, obj, redactor), res.params or None
            )
        except ApiFailure as exc:
            sink.add(res.name, None, res.query, exc.status, exc.detail)
            continue
        except Exception as exc:  # an object the projection cannot read: record, go on
            detail = f"cannot read the response: {type(exc).__name__}: {exc}"
            sink.add(res.name, None, res.query, ItemStatus.error, detail[:500])
            continue
        extra = {"digest_key_id": redactor.key_id} if res.name in ("secrets", "configmaps") else {}
        if res.name in ("secrets", "configmaps", "deployments", "statefulsets", "daemonsets"):
            extra["endpoints_searched"] = redactor.endpoints
        sink.add(res.name, _listed(res.name, items, **extra), res.query)
    if reachable and session.down is None:
        _gatekeeper(session, sink, redactor)
    else:
        assert session.down is not None
        sink.add(
            kr.GATEKEEPER, None, f"GET {kr.GATEKEEPER_API}", ItemStatus.error, session.down.detail
        )


def collect_all(
    targets: list[Target],
    writer: SnapshotWriter,
    redactor: Redactor,
    *,
    clock: Callable[[], dt.datetime],
    ttl: int = kr.TTL,
    retry: RetryPolicy | None = None,
    page_size: int = 500,
    on_item: Callable[[Target, str, ItemStatus], None] | None = None,
) -> dict[str, dict[str, int]]:
    """Collect every target concurrently into the writer; item counts by status per target."""
    retry = retry or RetryPolicy()
    lock = threading.Lock()
    sinks = [Sink(writer, lock, t, clock, ttl, on_item) for t in targets]

    def run(sink: Sink) -> None:
        session = Session(sink.target, retry, page_size)
        try:
            collect_cluster(session, sink, redactor)
        finally:
            sink.target.client.close()

    with ThreadPoolExecutor(max_workers=max(1, min(16, len(targets)))) as pool:
        for future in [pool.submit(run, s) for s in sinks]:
            future.result()
    return {s.target.label: dict(sorted(s.counts.items())) for s in sinks}
