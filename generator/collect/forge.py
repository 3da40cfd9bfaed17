"""A small read-only REST client shared by the GitHub and GitLab collectors.

- The token comes from an environment variable, goes only into a request header, and only to
  the configured API origin (never to a `next` link that points elsewhere, never over plain HTTP
  except to a loopback address).
- Pages are followed through the `Link: <...>; rel="next"` header (and GitLab's X-Next-Page).
- Rate limits are respected: on 429, or 403 with an exhausted quota, the client waits for
  `Retry-After` or the reset time, as long as the total wait stays within a bound.
- The per-change requests of one item (list pages, GraphQL pages, per-commit and per-request
  look-ups) share a `Budget` of requests and seconds: once it is spent, or the forge's rate limit
  asks for a wait beyond the bound, the collector records what it read and lists the commits it
  could not look at as `not_looked_up`, which the checks never pass.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from generator import __version__
from generator.collect.remotes import split_remote
from generator.models.sources import Repository
from generator.snapshot.manifest import ItemStatus
from generator.snapshot.store import SnapshotWriter

MAX_WAIT_ENV = "EVIDOC_FORGE_MAX_WAIT"
DEFAULT_MAX_WAIT = 120.0  # seconds a whole repository's collection may spend waiting
MAX_PAGES = 200
RETRIES = 4
BUDGET_REQUESTS_ENV = "EVIDOC_FORGE_MAX_REQUESTS"
BUDGET_SECONDS_ENV = "EVIDOC_FORGE_MAX_SECONDS"
DEFAULT_BUDGET_REQUESTS = 1000  # per pull/merge request item
DEFAULT_BUDGET_SECONDS = 900.0
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class ForgeError(Exception):
    """A request the forge did not answer with data; `status` is the HTTP status, if any."""

    def __init__(
        self, message: str, status: int | None = None, *, rate_limited: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.rate_limited = rate_limited  # the forge asked for a wait beyond the bound


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass
class Budget:
    """How many requests, and how many seconds, one item's per-change look-ups may spend.

    `take()` before each request: False once either is spent (and from then on), with `stopped`
    saying why. `cursor` is where a listing stopped, so a later run could continue from it."""

    requests: int
    seconds: float
    clock: Callable[[], float] = time.monotonic
    used: int = 0
    stopped: str | None = None
    cursor: str | None = None
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @classmethod
    def from_env(cls) -> Budget:
        return cls(
            int(_env_number(BUDGET_REQUESTS_ENV, DEFAULT_BUDGET_REQUESTS)),
            _env_number(BUDGET_SECONDS_ENV, DEFAULT_BUDGET_SECONDS),
        )

    def take(self) -> bool:
        if self.stopped is not None:
            return False
        if self.used >= self.requests:
            self.stop(f"the budget of {self.requests} requests (${BUDGET_REQUESTS_ENV}) was spent")
            return False
        if self.clock() - self.started > self.seconds:
            self.stop(f"the budget of {self.seconds:.0f} seconds (${BUDGET_SECONDS_ENV}) was spent")
            return False
        self.used += 1
        return True

    def stop(self, why: str) -> None:
        if self.stopped is None:
            self.stopped = why

    def summary(self, api: str, complete: bool) -> dict[str, Any]:
        """What the item records about how far collection got."""
        return {
            "api": api,
            "listed": complete,  # every pull/merge request of the period was listed
            "complete": complete and self.stopped is None,  # and everything was read
            "requests": self.used,
            "budget": {"requests": self.requests, "seconds": self.seconds},
            "stopped": self.stopped,
            "cursor": self.cursor,
        }


def max_wait() -> float:
    try:
        return float(os.environ.get(MAX_WAIT_ENV, DEFAULT_MAX_WAIT))
    except ValueError:
        return DEFAULT_MAX_WAIT


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_CO_AUTHOR = re.compile(r"^co-authored-by:\s*(.*?)\s*<([^>]+)>\s*$", re.IGNORECASE | re.MULTILINE)


def co_authors(message: str) -> list[tuple[str, str]]:
    """(name, e-mail) of each Co-authored-by trailer of a commit message, casefolded."""
    return [
        (m.group(1).strip().casefold(), m.group(2).strip().casefold())
        for m in _CO_AUTHOR.finditer(message)
    ]


def next_link(response: httpx.Response) -> str | None:
    for part in response.headers.get("link", "").split(","):
        match = _LINK.search(part)
        if match:
            return match.group(1)
    page = response.headers.get("x-next-page", "").strip()
    if page:
        url = response.request.url.copy_set_param("page", page)
        return str(url)
    return None


def _retry_after(response: httpx.Response, now: float) -> float | None:
    """Seconds to wait before asking again, if the response says we are rate limited."""
    headers = response.headers
    limited = response.status_code == 429 or (
        response.status_code == 403
        and (
            headers.get("x-ratelimit-remaining") == "0"
            or headers.get("ratelimit-remaining") == "0"
            or "retry-after" in headers
            or "rate limit" in response.text.lower()
        )
    )
    if not limited:
        return None
    value = headers.get("retry-after")
    if value:
        if value.strip().isdigit():
            return float(value.strip())
        when = email.utils.parsedate_to_datetime(value)
        if when is not None:
            return max(0.0, when.timestamp() - now)
    for name in ("x-ratelimit-reset", "ratelimit-reset"):
        reset = headers.get(name, "").strip()
        if reset.isdigit():
            return max(0.0, float(reset) - now)
    return 60.0  # the forges' advice when they give no time


@dataclass
class ForgeClient:
    base_url: str  # e.g. https://api.github.com or https://gitlab.example.org/api/v4
    auth_headers: dict[str, str]
    extra_headers: dict[str, str] = field(default_factory=dict)
    wait_budget: float = field(default_factory=max_wait)
    sleep: Callable[[float], None] = time.sleep
    requests: int = 0
    waited: float = 0.0
    _client: httpx.Client | None = None

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        scheme, host, _ = _origin(self.base_url)
        if scheme not in ("https", "http"):
            raise ForgeError(f"api_url must be an http(s) URL, got {self.base_url!r}")
        if scheme == "http" and host not in _LOOPBACK and self.auth_headers:
            raise ForgeError(f"refusing to send a token over plain HTTP to {host}")
        self._client = httpx.Client(
            timeout=httpx.Timeout(30.0),
            follow_redirects=False,
            headers={"User-Agent": f"evidoc/{__version__}", **self.extra_headers},
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> ForgeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            if _origin(path) != _origin(self.base_url):
                raise ForgeError(f"refusing to follow a link to another host: {path}")
            return path
        return urljoin(self.base_url + "/", path.lstrip("/"))

    def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """One GET, retried on rate limits and transient server errors within the wait bound."""
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any) -> httpx.Response:
        """One POST of a JSON body (GraphQL), retried like a GET."""
        return self.request("POST", path, json_body=body)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
    ) -> httpx.Response:
        assert self._client is not None
        url = self._url(path)
        for attempt in range(RETRIES + 1):
            self.requests += 1
            try:
                response = self._client.request(
                    method, url, params=params, json=json_body, headers=self.auth_headers
                )
            except httpx.HTTPError as exc:
                if attempt == 0 and self._may_wait(1.0):  # one retry for a network hiccup
                    continue
                raise ForgeError(f"{type(exc).__name__} talking to {_origin(url)[1]}") from None
            wait = _retry_after(response, time.time())
            if wait is None and response.status_code in (502, 503, 504):
                wait = 2.0**attempt
            if wait is None:
                return response
            if attempt >= RETRIES or not self._may_wait(wait):
                raise ForgeError(
                    f"rate limited by {_origin(url)[1]} (HTTP {response.status_code}); it asks "
                    f"to wait {wait:.0f} s, beyond the bound of {self.wait_budget:.0f} s "
                    f"(${MAX_WAIT_ENV})",
                    None,  # not a 403 "forbidden": the same request may succeed later
                    rate_limited=True,
                )
        raise AssertionError("unreachable")

    def _may_wait(self, seconds: float) -> bool:
        if self.waited + seconds > self.wait_budget:
            return False
        self.sleep(seconds)
        self.waited += seconds
        return True

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        response = self.get(path, params)
        if response.status_code != 200:
            raise ForgeError(describe(response), response.status_code)
        return json_body(response)

    def pages(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        budget: Budget | None = None,
        *,
        listing: bool = False,
    ) -> Iterator[list[Any]]:
        """Each page of a list endpoint, following `next` links on the same origin.

        Without a budget, more than MAX_PAGES pages is an error; with one, the pages stop when it
        is spent (or the rate limit asks for too long a wait) and `budget.stopped` says why; for the
        item's main `listing`, `budget.cursor` is then the page not read."""
        url: str | None = path
        query = params
        count = 0
        while url is not None:
            if budget is None and count >= MAX_PAGES:
                raise ForgeError(f"GET {path}: more than {MAX_PAGES} pages")
            if budget is not None and not budget.take():
                if listing:
                    budget.cursor = _with_query(self._url(url), query)
                return
            count += 1
            try:
                response = self.get(url, query)
            except ForgeError as exc:
                if budget is None or not exc.rate_limited:
                    raise
                budget.stop(str(exc))
                if listing:
                    budget.cursor = _with_query(self._url(url), query)
                return
            if response.status_code != 200:
                raise ForgeError(describe(response), response.status_code)
            body = json_body(response)
            if not isinstance(body, list):
                raise ForgeError(f"GET {path}: expected a list, got {type(body).__name__}")
            yield body
            url = next_link(response)
            query = None  # the next link carries the query
            if not body:
                return

    def all(
        self, path: str, params: dict[str, Any] | None = None, budget: Budget | None = None
    ) -> list[Any]:
        return [entry for page in self.pages(path, params, budget) for entry in page]


def _with_query(url: str, query: dict[str, Any] | None) -> str:
    return str(httpx.URL(url, params=query)) if query else url


def json_body(response: httpx.Response) -> Any:
    """The body as JSON; anything else (a proxy's HTML page, say) is the forge failing."""
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("content-type", "unknown content")
        raise ForgeError(
            f"GET {response.request.url.path}: expected JSON, got {kind}", response.status_code
        ) from None


def describe(response: httpx.Response) -> str:
    """A one-line reason for a non-200 answer, without echoing anything sensitive."""
    try:
        body = response.json()
        message = body.get("message") if isinstance(body, dict) else None
    except ValueError:
        message = None
    path = response.request.url.path
    what = {401: "the token was rejected", 403: "not allowed", 404: "not found"}.get(
        response.status_code, "unexpected answer"
    )
    extra = f": {str(message)[:200]}" if message else ""
    return f"GET {path}: {what} (HTTP {response.status_code}){extra}"


def since_param(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def strip_urls(value: Any) -> Any:
    """Drop the API's hypermedia links (`url`, `*_url`, `_links`): they are noise in evidence."""
    if isinstance(value, dict):
        return {
            k: strip_urls(v)
            for k, v in value.items()
            if k != "url" and not k.endswith("_url") and k != "_links"
        }
    if isinstance(value, list):
        return [strip_urls(v) for v in value]
    return value


def record(
    writer: SnapshotWriter,
    item_id: str,
    fetch: Callable[[], Any],
    *,
    query: str,
    collector: str,
    source: str,
    now: dt.datetime,
    ttl: int,
) -> Any | None:
    """Add one forge item: its data, or why it could not be read (403, 404, rate limit...)."""
    common: dict[str, Any] = {
        "collector": collector,
        "source": source,
        "query": query,
        "collected_at": now,
        "ttl": ttl,
    }
    try:
        data = fetch()
    except ForgeError as exc:
        status = {403: ItemStatus.forbidden, 404: ItemStatus.not_found}.get(
            exc.status or 0, ItemStatus.error
        )
        writer.add(item_id, {"error": str(exc)}, status=status, detail=str(exc), **common)
        return None
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        # An answer of another shape than documented (a proxy, an API change): this item is
        # in error, the rest of the collection goes on.
        why = f"the forge's answer is not of the documented shape ({type(exc).__name__}: {exc})"
        writer.add(
            item_id, {"error": why[:500]}, status=ItemStatus.error, detail=why[:500], **common
        )
        return None
    writer.add(item_id, data, **common)
    return data


def failed_all(
    writer: SnapshotWriter,
    item_ids: list[str],
    why: str,
    *,
    collector: str,
    source: str,
    now: dt.datetime,
    ttl: int,
) -> None:
    """Record every item of a forge as not read, for one reason (no token, bad settings)."""
    for item_id in item_ids:
        writer.add(
            item_id,
            {"error": why},
            collector=collector,
            source=source,
            query="-",
            collected_at=now,
            ttl=ttl,
            status=ItemStatus.error,
            detail=why,
        )


def project_of(project: str | None, url: str | None) -> str | None:
    if project:
        return project.strip("/")
    if url:
        split = split_remote(url)
        return split[1] if split else None
    return None


@dataclass(frozen=True)
class ForgeKind:
    """What differs between forges when a repository's items are collected."""

    collector: str  # github | gitlab: item id prefix and manifest collector
    label: str  # GitHub | GitLab, for messages
    api: str  # default API base URL
    token_env: str  # default variable holding the token
    project_hint: str  # how `project:` is written, e.g. owner/name
    source: str  # the manifest source, a format over {api} and {project}
    items: tuple[str, ...]
    auth: Callable[[str], dict[str, str]]  # token -> authentication headers
    extra_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ForgeSession:
    project: str
    ids: list[str]
    record_kw: dict[str, Any]  # collector, source, now, ttl for record() and failed_all()
    client: ForgeClient


def open_session(
    kind: ForgeKind,
    repo: Repository,
    writer: SnapshotWriter,
    now: dt.datetime,
    ttl: int,
) -> ForgeSession | None:
    """A client for the repository's project; or None once every item is recorded as failed
    (no project, no token, or an API address the client refuses)."""
    api = (repo.api_url or kind.api).rstrip("/")
    project = project_of(repo.project, repo.url)
    ids = [f"{kind.collector}/{repo.name}/{item}" for item in kind.items]
    source = kind.source.format(api=api, project=project)
    kw: dict[str, Any] = {"collector": kind.collector, "source": source, "now": now, "ttl": ttl}
    env = repo.token_env or kind.token_env
    token = os.environ.get(env)
    if project is None:
        why = f"no {kind.label} project: set `project: {kind.project_hint}`"
        failed_all(writer, ids, why, **kw)
        return None
    if not token:
        failed_all(writer, ids, f"no {kind.label} token: the variable ${env} is not set", **kw)
        return None
    try:
        client = ForgeClient(api, kind.auth(token), extra_headers=dict(kind.extra_headers))
    except ForgeError as exc:
        failed_all(writer, ids, str(exc), **kw)
        return None
    return ForgeSession(project, ids, kw, client)
