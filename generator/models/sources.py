"""Where evidence comes from: environments and their clusters, deployments, repositories."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, model_validator

from generator.models.common import Slug, Strict, Text


class Tier(StrEnum):
    production = "production"
    non_production = "non-production"


class Cluster(Strict):
    name: Slug
    kubeconfig: Text | None = None
    context: Text | None = None


class Environment(Strict):
    name: Slug
    tier: Tier | None = None
    clusters: list[Cluster] = []


class Deployment(Strict):
    name: Slug
    tier: Tier
    cluster: Slug
    namespaces: list[Text] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)


class Forge(StrEnum):
    github = "github"
    gitlab = "gitlab"


class Repository(Strict):
    """A Git repository whose history changes what runs, and the forge that hosts it."""

    name: Slug
    path: Text | None = None  # a local clone; relative paths start at the instance root
    url: Text | None = None  # clone URL, used when there is no path (and to match GitOps sources)
    branch: Text = "main"  # the protected branch
    since: dt.date | None = None  # audit period start; default: 365 days before collection
    until: dt.date | None = None  # audit period end (inclusive); default: collection time
    allowed_signers: Text | None = None  # SSH allowed-signers file for signature verification
    forge: Forge | None = None
    project: Text | None = None  # owner/name on the forge (GitLab: group/subgroup/name)
    api_url: Text | None = None  # default: https://api.github.com, https://gitlab.com/api/v4
    token_env: Text | None = None  # variable holding the API token; default GITHUB_TOKEN etc.
    # Reviewed-by/Approved-by trailers are text anyone can write: they count as approval only
    # when the team says its review system writes them, and every output then says so.
    accept_trailer_approvals: bool = False

    @model_validator(mode="after")
    def _where(self) -> Repository:
        if self.path is None and self.url is None:
            raise ValueError("a repository needs a local 'path' or a clone 'url'")
        if (self.url or "").startswith("-") or (self.path or "").startswith("-"):
            raise ValueError(
                "a repository 'url' or 'path' cannot start with '-' (git reads it as an option)"
            )
        if self.since and self.until and self.since > self.until:
            raise ValueError("'since' is after 'until'")
        return self


class Sources(Strict):
    # Ed25519 public keys (PEM files, relative to the instance) one of which must have signed
    # every snapshot that is read; empty: a signature is checked when present.
    trusted_keys: list[Text] = []
    environments: list[Environment] = []
    deployments: list[Deployment] = []
    repositories: list[Repository] = []
