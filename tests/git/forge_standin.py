"""A loopback stand-in for the GitHub and GitLab REST APIs, serving canned responses.

The responses follow the shapes of the forges' REST API documentation (fields the collectors
ignore included). A recording is a JSON file mapping "METHOD /path" to a response:

- `{"body": ..., "status": 200, "headers": {...}}`: one answer;
- `{"pages": [[...], [...]], "paging": "link" | "x-next-page"}`: a list served page by page,
  with a `Link: <...>; rel="next"` header or GitLab's `X-Next-Page`;
- `"once": {...}`: an answer given the first time only (e.g. a rate-limit refusal);
- `"query": {...}`: parameters the request must carry (else 400).

Strings "@sha:<label>" (and "{sha:<label>}" in paths) become the commit ids of the test
repository; header values
"@epoch+N" become the Unix time N seconds from now.
"""

from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

FIXTURES = Path(__file__).parent / "fixtures"


_KEY = re.compile(r"\{sha:([^}]+)\}")


def substitute(value: Any, shas: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("@sha:"):
        return shas[value[5:]]
    if isinstance(value, dict):
        return {
            _KEY.sub(lambda m: shas[m.group(1)], k): substitute(v, shas) for k, v in value.items()
        }
    if isinstance(value, list):
        return [substitute(v, shas) for v in value]
    return value


@dataclass
class Seen:
    method: str
    path: str
    raw_uri: str
    query: dict[str, str]
    authorized: bool
    status: int


@dataclass
class RecordedForge:
    server: HTTPServer
    recording: str  # file name under fixtures/
    shas: dict[str, str]
    auth: tuple[str, str]  # header name and the exact value expected
    prefix: str = ""  # e.g. /api/v4
    routes: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        raw = json.loads((FIXTURES / self.recording).read_text(encoding="utf-8"))
        self.routes = substitute(raw, self.shas)
        self.server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    @property
    def base_url(self) -> str:
        return self.server.url_for(self.prefix or "/").rstrip("/")

    def requested(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def handle(self, request: Request) -> Response:
        path = request.path.removeprefix(self.prefix)
        query = {k: v for k, v in request.args.items()}
        authorized = request.headers.get(self.auth[0]) == self.auth[1]
        response = self._answer(request, path, query, authorized)
        raw_uri = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI") or ""
        self.seen.append(
            Seen(request.method, path, raw_uri, query, authorized, response.status_code)
        )
        return response

    def _json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None):
        out = {}
        for k, v in (headers or {}).items():
            if isinstance(v, str) and v.startswith("@epoch+"):
                v = str(int(time.time()) + int(v[7:]))
            out[k] = v
        return Response(json.dumps(body), status, out, content_type="application/json")

    def _answer(
        self, request: Request, path: str, query: dict[str, str], authorized: bool
    ) -> Response:
        if not authorized:
            return self._json({"message": "Bad credentials"}, 401)
        route = self.routes.get(f"{request.method} {path}")
        if route is None:
            return self._json({"message": "Not Found"}, 404)
        for key, value in (route.get("query") or {}).items():
            if query.get(key) != value:
                return self._json({"message": f"expected {key}={value}"}, 400)
        if "once" in route:
            once = route.pop("once")
            if "html" in once:  # what a captive proxy or login page answers
                return Response(once["html"], once.get("status", 200), content_type="text/html")
            return self._json(once.get("body"), once.get("status", 200), once.get("headers"))
        if "pages" in route:
            pages = route["pages"]
            page = int(query.get("page", "1"))
            headers: dict[str, str] = {}
            if page < len(pages):
                nxt = {**query, "page": str(page + 1)}
                if route.get("paging") == "x-next-page":
                    headers["X-Next-Page"] = str(page + 1)
                else:
                    raw = request.environ.get("REQUEST_URI") or request.path
                    url = self.server.url_for(raw.split("?")[0]) + "?" + urlencode(nxt)
                    headers["Link"] = f'<{url}>; rel="next"'
            return self._json(copy.deepcopy(pages[page - 1]), 200, headers)
        return self._json(route.get("body"), route.get("status", 200), route.get("headers"))
