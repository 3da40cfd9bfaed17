"""`git.gitops-source-protected`: what production runs comes from a protected branch of a
repository whose history is collected.

The GitOps sources are read from the Kubernetes evidence: Argo CD Applications
(`kubernetes/<env>/<cluster>/argocd-applications`) and Flux GitRepositories
(`kubernetes/<env>/<cluster>/flux-gitrepositories`). An Application is a production one when it
was collected from a production cluster or its destination names a production cluster (by name
or API server URL); a GitRepository when it was collected from a production cluster. Each of
their Git sources must be a repository of evidence/sources.yaml (matched by clone URL), target
that repository's protected branch, and that branch's protection must pass
`git.branch-protection` with the same `approvals` (default 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.checks.context import CheckContext
from generator.checks.git_common import (
    BadParams,
    bad_params,
    int_param,
    repositories,
    unusable,
)
from generator.checks.git_protection import evaluate_protection
from generator.collect.remotes import split_remote
from generator.models.sources import Forge, Repository, Tier
from generator.results import CheckResult, ResultStatus

ARGO = "argocd-applications"
FLUX = "flux-gitrepositories"
IN_CLUSTER = "https://kubernetes.default.svc"
SEVERITY = [
    ResultStatus.failed,
    ResultStatus.error,
    ResultStatus.stale,
    ResultStatus.not_collected,
    ResultStatus.passed,
]
HOSTS = {Forge.github: "github.com", Forge.gitlab: "gitlab.com"}


@dataclass
class Outcome:
    status: ResultStatus
    reason: str
    evidence: list[str]


def _key(url: str) -> tuple[str, str] | None:
    split = split_remote(url)
    return (split[0], split[1].lower()) if split else None


def _repo_index(ctx: CheckContext) -> dict[tuple[str, str], Repository]:
    index: dict[tuple[str, str], Repository] = {}
    for repo in repositories(ctx):
        urls = [repo.url] if repo.url else []
        branch = ctx.read(f"git/{repo.name}/branch")
        if branch.usable:
            urls.extend((branch.data.get("remotes") or {}).values())
        if repo.forge is not None and repo.project:
            host = HOSTS[repo.forge]
            if repo.api_url:
                host = (split_remote(repo.api_url + "/x/y") or (host, ""))[0]
                host = host.removeprefix("api.")
            urls.append(f"https://{host}/{repo.project}")
        for url in urls:
            key = _key(url)
            if key is not None:
                index.setdefault(key, repo)
    return index


def _default_branch(ctx: CheckContext, repo: Repository) -> tuple[str | None, list[str]]:
    if repo.forge is Forge.github:
        iid = f"github/{repo.name}/repository"
    elif repo.forge is Forge.gitlab:
        iid = f"gitlab/{repo.name}/project"
    else:
        iid = f"git/{repo.name}/branch"
    read = ctx.read(iid)
    return (read.data.get("default_branch") if read.usable else None), [iid]


def _judge_source(
    ctx: CheckContext,
    index: dict[tuple[str, str], Repository],
    url: str,
    revision: str | None,
    n: int,
    default_ref: str,
) -> Outcome:
    key = _key(url)
    repo = index.get(key) if key else None
    if repo is None:
        # A configured repository whose evidence is missing may be this source: unknown, not bad.
        unread = [
            f"git/{r.name}/branch"
            for r in repositories(ctx)
            if not r.url and not ctx.read(f"git/{r.name}/branch").usable
        ]
        if unread:
            return Outcome(
                ResultStatus.not_collected,
                f"{url} matches no collected repository, and the evidence of "
                f"{', '.join(unread)} that could name it was not collected",
                unread,
            )
        return Outcome(
            ResultStatus.failed,
            f"{url} is not a repository collected by evidoc (add it to evidence/sources.yaml)",
            [],
        )
    evidence: list[str] = [f"git/{repo.name}/branch"]
    wanted = (revision or default_ref).removeprefix("refs/heads/")
    if wanted == "HEAD":
        default, ids = _default_branch(ctx, repo)
        evidence += ids
        if default is None:
            return Outcome(
                ResultStatus.not_collected,
                f"{url} is followed at HEAD, and the default branch of {repo.name} is not known",
                evidence,
            )
        wanted = default
    how = f"followed at {repo.branch!r}"
    if wanted != repo.branch:
        pinned = _pin_on_branch(ctx, repo, wanted)
        if pinned is None:
            return Outcome(
                ResultStatus.failed,
                f"{url} is followed at {wanted!r}, not at {repo.name}'s protected branch "
                f"{repo.branch!r}",
                evidence,
            )
        status, how = pinned
        if status is not ResultStatus.passed:
            return Outcome(status, f"{url} is {how}", evidence)
    verdict = evaluate_protection(ctx, repo, n)
    evidence += verdict.evidence
    local = _local_note(ctx, repo)
    if verdict.status is ResultStatus.passed:
        return Outcome(
            ResultStatus.passed,
            f"{url} is {how}, which is protected ({verdict.reason}){local}",
            evidence,
        )
    return Outcome(
        verdict.status,
        f"{url} is {how}, but its protection does not hold: {verdict.reason}{local}",
        evidence,
    )


_HEX = frozenset("0123456789abcdef")


def _pin_on_branch(
    ctx: CheckContext, repo: Repository, wanted: str
) -> tuple[ResultStatus, str] | None:
    """A tag or commit pin: (passed, how) when the collected evidence shows it on the protected
    branch, (not-collected, why) when it cannot tell, None when it is another branch."""
    branch = ctx.read(f"git/{repo.name}/branch")
    data = branch.data if branch.usable and isinstance(branch.data, dict) else {}
    tags = data.get("tags_on_branch") or {}
    name = wanted.removeprefix("refs/tags/")
    if name in tags:
        return (
            ResultStatus.passed,
            f"pinned to tag {name!r} ({str(tags[name])[:12]}), reachable from {repo.branch!r}",
        )
    sha = wanted.lower()
    if 7 <= len(sha) <= 64 and set(sha) <= _HEX:
        commits = ctx.read(f"git/{repo.name}/commits")
        known = [data.get("head") or "", *[str(t) for t in tags.values()]]
        if commits.usable and isinstance(commits.data, dict):
            known += [str(c.get("sha")) for c in commits.data.get("commits") or []]
        if any(k.startswith(sha) for k in known if k):
            return (
                ResultStatus.passed,
                f"pinned to commit {sha[:12]}, which is on {repo.branch!r}",
            )
        return (
            ResultStatus.not_collected,
            f"pinned to commit {sha[:12]}, which the evidence of {repo.name} does not show on "
            f"{repo.branch!r} (only the audit period's commits and tagged ones are recorded)",
        )
    if wanted.startswith("refs/tags/"):
        if "tags_on_branch" not in data:
            return (
                ResultStatus.not_collected,
                f"pinned to tag {name!r}; the evidence of {repo.name} does not record its tags "
                "(collect again)",
            )
        return (
            ResultStatus.failed,
            f"pinned to tag {name!r}, which is not a tag reachable from {repo.branch!r}",
        )
    return None


def _local_note(ctx: CheckContext, repo: Repository) -> str:
    """For a `path:` repository: what was audited, the local branch, and how it compares with
    its remote-tracking branch at the clone's last fetch."""
    if not repo.path:
        return ""
    read = ctx.read(f"git/{repo.name}/branch")
    tracking = read.data.get("remote_tracking") if read.usable else None
    if not isinstance(tracking, dict):
        return f"; audited the local clone {repo.path}, which has no remote-tracking branch"
    if tracking.get("same"):
        return f"; audited the local clone {repo.path}, level with {tracking.get('ref')}"
    return (
        f"; audited the local clone {repo.path}, which differs from {tracking.get('ref')} "
        f"({str(tracking.get('head'))[:12]}) as of its last fetch"
    )


def _production(ctx: CheckContext) -> tuple[set[str], set[str]]:
    """Production cluster names, and the API server URLs collected for them."""
    sources = ctx.library.sources.model if ctx.library.sources is not None else None
    if sources is None:
        return set(), set()
    names = {c.name for e in sources.environments if e.tier is Tier.production for c in e.clusters}
    names |= {d.cluster for d in sources.deployments if d.tier is Tier.production}
    servers = set()
    for item in ctx.snapshot.items("kubernetes/"):
        parts = item.id.split("/")
        if len(parts) == 4 and parts[2] in names and parts[3] == "cluster":
            read = ctx.read(item.id)
            if read.usable and read.data.get("server"):
                servers.add(str(read.data["server"]).rstrip("/"))
    return names, servers


def _argo_is_production(
    app: dict[str, Any], cluster: str, names: set[str], servers: set[str]
) -> bool:
    dest = app.get("destination") or {}
    if dest.get("name") in names:
        return True
    if str(dest.get("server") or "").rstrip("/") in servers:
        return True
    in_cluster = dest.get("name") == "in-cluster" or dest.get("server") in (IN_CLUSTER, None)
    return cluster in names and in_cluster


def _combine(outcomes: list[Outcome]) -> tuple[ResultStatus, str, list[str]]:
    status = min((o.status for o in outcomes), key=SEVERITY.index)
    reason = "; ".join(o.reason for o in outcomes)
    return status, reason, [e for o in outcomes for e in o.evidence]


def check(ctx: CheckContext) -> list[CheckResult]:
    try:
        n = int_param(ctx, "approvals", 1)
    except BadParams as exc:
        return bad_params(ctx, exc)
    names, servers = _production(ctx)
    if not names:
        return [
            ctx.result(
                "all",
                ResultStatus.not_collected,
                "evidence/sources.yaml names no production cluster (an environment or a "
                "deployment with tier: production)",
                [],
            )
        ]
    items = [
        i
        for i in ctx.snapshot.items("kubernetes/")
        if len(i.id.split("/")) == 4 and i.id.split("/")[3] in (ARGO, FLUX)
    ]
    if not items:
        return [
            ctx.result(
                "all",
                ResultStatus.not_collected,
                "the snapshot has no Argo CD Application or Flux GitRepository evidence "
                f"(kubernetes/<env>/<cluster>/{ARGO} or {FLUX}); collect the clusters",
                [],
            )
        ]
    index = _repo_index(ctx)
    results: list[CheckResult] = []
    unread = []
    for item in sorted(items, key=lambda i: i.id):
        _, env, cluster, kind = item.id.split("/")
        read = ctx.read(item.id)
        if not read.usable:
            unread.append(read)
            continue
        for obj in read.data.get("items") or []:
            subject = f"{env}/{cluster}/{obj.get('namespace') or '-'}/{obj.get('name')}"
            if kind == ARGO:
                if not _argo_is_production(obj, cluster, names, servers):
                    continue
                label = "Argo CD Application"
                sources = [s for s in obj.get("sources") or [] if s.get("repoURL")]
                git = [s for s in sources if not s.get("chart")]
                outcomes = [
                    _judge_source(ctx, index, s["repoURL"], s.get("targetRevision"), n, "HEAD")
                    for s in git
                ]
                if not git:
                    outcomes = [
                        Outcome(
                            ResultStatus.failed,
                            "it has no Git source (only Helm chart repositories)",
                            [],
                        )
                    ]
            else:
                if cluster not in names:
                    continue
                label = "Flux GitRepository"
                spec = obj.get("spec") or obj
                ref = spec.get("ref") or {}
                url = spec.get("url")
                if not url:
                    continue
                if ref.get("branch") or not ref:
                    outcomes = [_judge_source(ctx, index, url, ref.get("branch"), n, "master")]
                elif ref.get("commit") or ref.get("tag"):
                    pin = str(ref.get("commit") or f"refs/tags/{ref.get('tag')}")
                    outcomes = [_judge_source(ctx, index, url, pin, n, "master")]
                else:
                    pinned = ", ".join(f"{k} {v}" for k, v in sorted(ref.items()))
                    outcomes = [
                        Outcome(
                            ResultStatus.failed,
                            f"{url} is pinned to {pinned} (a semver range or name), not to a "
                            "protected branch, a tag on it or a commit on it",
                            [],
                        )
                    ]
            status, reason, evidence = _combine(outcomes)
            results.append(
                ctx.result(subject, status, f"{label}: {reason}", [item.id, *evidence], env)
            )
    if results:
        for read in unread:
            bad = unusable(ctx, read.id, [read])
            if bad is not None and bad.status is not ResultStatus.not_collected:
                results.append(bad)  # an error or stale item may hide more sources
        return results
    if unread:
        bad = unusable(ctx, "all", unread)
        assert bad is not None
        return [bad]
    return [
        ctx.result(
            "all",
            ResultStatus.failed,
            "no Argo CD Application or Flux GitRepository in the collected clusters deploys to "
            f"production ({', '.join(sorted(names))})",
            [i.id for i in items],
        )
    ]
