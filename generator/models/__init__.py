"""Pydantic models of every YAML file kind: the public file formats."""

from generator.models.attestation import Attestation
from generator.models.crosswalk import Crosswalk, CrosswalkMapping
from generator.models.framework import Control, Framework, Group, TagRule
from generator.models.practice import CheckRef, Practice, Relationship, Satisfies
from generator.models.scope import Exclusion, Scope
from generator.models.sources import Cluster, Deployment, Environment, Repository, Sources

__all__ = [
    "Attestation",
    "CheckRef",
    "Cluster",
    "Control",
    "Crosswalk",
    "CrosswalkMapping",
    "Deployment",
    "Environment",
    "Exclusion",
    "Framework",
    "Group",
    "Practice",
    "Relationship",
    "Repository",
    "Satisfies",
    "Scope",
    "Sources",
    "TagRule",
]
