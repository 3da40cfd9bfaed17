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

With `graphql=True`, `POST /graphql` answers GitHub's GraphQL queries the collector sends
(told apart by their operation name) from the same recording: the REST pull request list, each
pull request's reviews and commits, and the per-commit pull request look-ups, converted to
GraphQL's shapes and paged by `first`/`after`. Without it, `/graphql` is 404 as on a forge
without GraphQL.
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
    graphql: bool = False  # answer POST /graphql from the REST recording (GitHub)
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
        if self.graphql and request.method == "POST" and path == "/graphql":
            return self._json(self._graphql(json.loads(request.get_data() or b"{}")))
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

    # --- GraphQL, from the REST recording -------------------------------------------------------

    def _rest_list(self, key: str) -> list[Any]:
        route = self.routes.get(key)
        if route is None:
            return []
        if "pages" in route:
            return [entry for page in route["pages"] for entry in copy.deepcopy(page)]
        return copy.deepcopy(route.get("body") or [])

    def _graphql(self, body: dict[str, Any]) -> dict[str, Any]:
        query, variables = body.get("query") or "", body.get("variables") or {}
        match = re.search(r"query\s+(\w+)", query)
        operation = match.group(1) if match else ""
        repo = f"/repos/{variables.get('owner')}/{variables.get('name')}"
        first = int(variables.get("first") or 100)
        if operation == "MergedPulls":
            pulls = [
                p
                for p in self._rest_list(f"GET {repo}/pulls")
                if p.get("merged_at") and (p.get("base") or {}).get("ref") == variables["base"]
            ]
            page = _page(pulls, first, variables.get("cursor"))
            page["nodes"] = [self._pull_node(repo, p, first) for p in page["nodes"]]
            return {"data": {"repository": {"pullRequests": page}, "rateLimit": {"cost": 1}}}
        if operation == "CommitPulls":
            out: dict[str, Any] = {}
            for name, sha in variables.items():
                if not name.startswith("oid"):
                    continue
                pulls = self._rest_list(f"GET {repo}/commits/{sha}/pulls")
                nodes = [self._pull_node(repo, p, first) for p in pulls[:5]]
                out[f"c{name[3:]}"] = {"oid": sha, "associatedPullRequests": {"nodes": nodes}}
            return {"data": {"repository": out}}
        if operation in ("PullReviews", "PullCommits"):
            key = "reviews" if operation == "PullReviews" else "commits"
            entries = self._rest_list(f"GET {repo}/pulls/{variables['number']}/{key}")
            page = _page(entries, first, variables.get("cursor"))
            convert = _review_node if key == "reviews" else _commit_node
            page["nodes"] = [convert(e) for e in page["nodes"]]
            return {"data": {"repository": {"pullRequest": {key: page}}}}
        return {"errors": [{"message": f"unknown operation {operation!r}"}]}

    def _pull_node(self, repo: str, pr: dict[str, Any], first: int) -> dict[str, Any]:
        number = pr["number"]
        reviews = _page(self._rest_list(f"GET {repo}/pulls/{number}/reviews"), first, None)
        reviews["nodes"] = [_review_node(r) for r in reviews["nodes"]]
        commits = _page(self._rest_list(f"GET {repo}/pulls/{number}/commits"), first, None)
        commits["nodes"] = [_commit_node(c) for c in commits["nodes"]]
        return {
            "number": number,
            "title": pr.get("title"),
            "updatedAt": pr.get("updated_at"),
            "mergedAt": pr.get("merged_at"),
            "baseRefName": (pr.get("base") or {}).get("ref"),
            "headRefOid": (pr.get("head") or {}).get("sha"),
            "author": _actor_node(pr.get("user")),
            "mergeCommit": {"oid": pr["merge_commit_sha"]} if pr.get("merged_at") else None,
            "reviews": reviews,
            "commits": commits,
        }


def _page(entries: list[Any], first: int, cursor: str | None) -> dict[str, Any]:
    """A GraphQL connection page; the cursor is the index of the next entry."""
    start = int(cursor or 0)
    end = start + first
    info = {"hasNextPage": end < len(entries), "endCursor": str(end)}
    return {"pageInfo": info, "nodes": entries[start:end]}


def _actor_node(user: Any) -> dict[str, Any] | None:
    if not isinstance(user, dict):
        return None
    login = user.get("login") or ""
    if login.endswith("[bot]") or user.get("type") == "Bot":
        return {"__typename": "Bot", "login": login.removesuffix("[bot]")}
    return {"__typename": "User", "login": login}


def _review_node(review: dict[str, Any]) -> dict[str, Any]:
    return {
        "databaseId": review.get("id"),
        "state": review.get("state"),
        "submittedAt": review.get("submitted_at"),
        "authorAssociation": review.get("author_association"),
        "author": _actor_node(review.get("user")),
        "commit": {"oid": review["commit_id"]} if review.get("commit_id") else None,
    }


def _commit_node(entry: dict[str, Any]) -> dict[str, Any]:
    commit = entry.get("commit") or {}

    def actor(role: str) -> dict[str, Any]:
        user = entry.get(role)
        login = user.get("login") if isinstance(user, dict) else None
        return {
            "email": (commit.get(role) or {}).get("email"),
            "user": {"login": login} if login else None,
        }

    return {
        "commit": {
            "oid": entry.get("sha"),
            "message": commit.get("message"),
            "author": actor("author"),
            "committer": actor("committer"),
        }
    }
