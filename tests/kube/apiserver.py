"""A loopback stand-in for the Kubernetes API server.

It speaks the wire format the collector relies on: HTTPS with a test CA, bearer-token auth,
JSON lists with `limit`/`continue` paging, 410 Gone for an expired continue token, 403 for a
resource the identity may not read, 404 for an API that is not installed, Status bodies for
errors, and keep-alive connections. Faults (5xx, 429, delays) can be injected per path. Every
request is recorded so that tests can assert the collector only reads.

Run as a program it serves the scale fixtures for the benchmark:
    python -m tests.kube.apiserver --dir DIR --objects 20000 --clusters 3
prints one JSON line ({"kubeconfig": ..., "contexts": [...]}) once ready, then serves until its
standard input is closed.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.kube.pki import Pki, make_pki

NAMESPACED = re.compile(r"^(/api/v1|/apis/[^/]+/[^/]+)/namespaces/([^/]+)/([^/]+)$")


@dataclass
class FakeCluster:
    """What one API server holds: objects by list path, plus injected behaviour."""

    name: str
    token: str
    version: dict[str, Any]
    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # GET path -> object
    discovery: dict[str, dict[str, Any]] = field(default_factory=dict)
    forbidden: set[str] = field(default_factory=set)  # paths (and below) answering 403
    expire_continue: dict[str, int] = field(default_factory=dict)  # path -> 410s to answer
    faults: dict[str, list[int]] = field(default_factory=dict)  # path -> codes before success
    delay: dict[str, float] = field(default_factory=dict)  # path -> seconds
    resource_version: int = 4711

    def count(self) -> int:
        return sum(len(v) for v in self.lists.values())


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _selector_matches(selector: str, labels: dict[str, str]) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k) != v:
                return False
        elif labels.get(term) is None:
            return False
    return True


Response = tuple[int, bytes, dict[str, str]]


class ApiLogic:
    """The API server's answers, independent of HTTP plumbing (used over HTTPS and in-process)."""

    def __init__(self, cluster: FakeCluster) -> None:
        self.cluster = cluster
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._encoded: dict[tuple[str, str], list[bytes]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _json(code: int, doc: Any, headers: dict[str, str] | None = None) -> Response:
        return code, json.dumps(doc).encode(), headers or {}

    def _fail(self, code: int, reason: str, message: str) -> Response:
        return self._json(code, status(code, reason, message))

    def respond(self, method: str, target: str, authorization: str | None) -> Response:
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        c = self.cluster
        with self._lock:
            self.requests.append((method, path, query))
        if authorization != f"Bearer {c.token}":
            return self._fail(401, "Unauthorized", "Unauthorized")
        if method != "GET":
            return self._fail(405, "MethodNotAllowed", f"{method} is not allowed here")
        with self._lock:
            queued = c.faults.get(path)
            code = queued.pop(0) if queued else None
        if code is not None:
            headers = {"Retry-After": "0"} if code == 429 else None
            return self._json(code, status(code, "InternalError", "injected fault"), headers)
        if path in c.delay:
            time.sleep(c.delay[path])
        if any(path == f or path.startswith(f + "/") for f in c.forbidden):
            return self._fail(
                403,
                "Forbidden",
                f'{path} is forbidden: User "system:serviceaccount:evidoc:evidoc-collector" '
                "cannot list this resource",
            )
        if path == "/version":
            return self._json(200, c.version)
        if path in c.objects:
            return self._json(200, c.objects[path])
        if path in c.discovery:
            return self._json(200, c.discovery[path])
        encoded = self.encoded(path, query.get("labelSelector", ""))
        if encoded is None:
            return self._fail(404, "NotFound", "the server could not find the requested resource")
        return self._page(path, encoded, query)

    def encoded(self, path: str, selector: str = "") -> list[bytes] | None:
        key = (path, selector)
        with self._lock:
            if key in self._encoded:
                return self._encoded[key]
        objs = self.cluster.lists.get(path)
        if objs is None:
            m = NAMESPACED.match(path)
            base = f"{m.group(1)}/{m.group(3)}" if m else None
            if m is None or base not in self.cluster.lists:
                return None
            ns = m.group(2)
            objs = [o for o in self.cluster.lists[base] if o["metadata"].get("namespace") == ns]
        if selector:
            objs = [
                o for o in objs if _selector_matches(selector, o["metadata"].get("labels") or {})
            ]
        encoded = [json.dumps(o, separators=(",", ":")).encode() for o in objs]
        with self._lock:
            self._encoded[key] = encoded
        return encoded

    def _page(self, path: str, encoded: list[bytes], query: dict[str, str]) -> Response:
        c = self.cluster
        offset = 0
        token = query.get("continue")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()))
                offset = int(state["o"])
                if state["p"] != path:
                    raise ValueError(path)
            except Exception:
                return self._fail(400, "BadRequest", "invalid continue token")
            with self._lock:
                left = c.expire_continue.get(path, 0)
                if left > 0:
                    c.expire_continue[path] = left - 1
            if left > 0:
                return self._fail(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter.",
                )
        limit = int(query.get("limit") or 0) or len(encoded) or 1
        chunk = encoded[offset : offset + limit]
        end = offset + len(chunk)
        meta: dict[str, Any] = {"resourceVersion": str(c.resource_version)}
        if end < len(encoded):
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps({"o": end, "p": path}).encode()
            ).decode()
            meta["remainingItemCount"] = len(encoded) - end
        head = json.dumps({"kind": "List", "apiVersion": "v1", "metadata": meta})[:-1]
        return 200, head.encode() + b',"items":[' + b",".join(chunk) + b"]}", {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up (or fail the TLS handshake on purpose) are not server errors.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class ApiServer:
    """ApiLogic over HTTPS on a loopback port (0: any free port)."""

    def __init__(
        self, cluster: FakeCluster, pki: Pki, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.logic = ApiLogic(cluster)
        logic = self.logic

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                code, body, headers = logic.respond(
                    self.command, self.path, self.headers.get("Authorization")
                )
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self.httpd = _Server((host, port), Handler)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.server_cert, pki.server_key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://{host}:{self.httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    @property
    def cluster(self) -> FakeCluster:
        return self.logic.cluster

    @property
    def requests(self) -> list[tuple[str, str, dict[str, str]]]:
        return self.logic.requests

    def start(self) -> ApiServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class StandIn:
    """Several API servers (one per cluster) and a real kubeconfig naming them as contexts."""

    clusters: dict[str, FakeCluster]
    directory: Path
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=dict)  # cluster -> fixed port
    servers: dict[str, ApiServer] = field(default_factory=dict)
    kubeconfig: Path | None = None
    pki: Pki | None = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> StandIn:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.pki = make_pki(self.directory / "pki")
        for name, cluster in self.clusters.items():
            port = self.ports.get(name, 0)
            self.servers[name] = ApiServer(cluster, self.pki, self.host, port).start()
        self.kubeconfig = self.directory / "kubeconfig"
        write_kubeconfig(
            self.kubeconfig,
            {n: (s.url, s.cluster.token) for n, s in self.servers.items()},
            self.pki,
        )
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def requests(self) -> list[tuple[str, str, str, dict[str, str]]]:
        return [(n, *r) for n, s in self.servers.items() for r in s.requests]


def write_kubeconfig(path: Path, contexts: dict[str, tuple[str, str]], pki: Pki) -> Path:
    """A kubeconfig with one context per cluster. The first cluster names the CA by file and
    its token by file; the others embed both, so both kubeconfig styles are exercised."""
    clusters, users, ctxs = [], [], []
    for i, (name, (url, token)) in enumerate(contexts.items()):
        cluster: dict[str, Any] = {"server": url}
        user: dict[str, Any] = {}
        if i == 0:
            cluster["certificate-authority"] = str(pki.ca_cert)
            token_file = path.parent / f"{name}.token"
            token_file.write_text(token + "\n")
            user["tokenFile"] = str(token_file)
        else:
            cluster["certificate-authority-data"] = base64.b64encode(pki.ca_pem()).decode()
            user["token"] = token
        clusters.append({"name": name, "cluster": cluster})
        users.append({"name": f"{name}-reader", "user": user})
        ctxs.append({"name": name, "context": {"cluster": name, "user": f"{name}-reader"}})
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": clusters,
        "users": users,
        "contexts": ctxs,
        "current-context": next(iter(contexts), ""),
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def main() -> None:
    import argparse

    from tests.kube.world import scale_world

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--clusters", type=int, default=3)
    args = parser.parse_args()
    clusters = scale_world(args.clusters, args.objects)
    with StandIn(clusters, args.dir) as stand_in:
        for server in stand_in.servers.values():  # encode everything before timing starts
            for path in server.cluster.lists:
                server.logic.encoded(path)
        print(
            json.dumps(
                {
                    "kubeconfig": str(stand_in.kubeconfig),
                    "contexts": list(clusters),
                    "objects": {n: c.count() for n, c in clusters.items()},
                }
            ),
            flush=True,
        )
        sys.stdin.read()


if __name__ == "__main__":
    main()
