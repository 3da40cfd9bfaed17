"""Where evidence comes from: environments and their clusters, deployments, repositories."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

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


class Repository(Strict):
    name: Slug
    path: Text | None = None
    url: Text | None = None
    branch: Text = "main"
    forge: Text | None = None
    project: Text | None = None


class Sources(Strict):
    environments: list[Environment] = []
    deployments: list[Deployment] = []
    repositories: list[Repository] = []
