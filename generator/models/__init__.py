"""Pydantic models of every YAML file kind: the public file formats."""

from generator.models.attestation import Attestation
from generator.models.crosswalk import Crosswalk, CrosswalkMapping
from generator.models.framework import Control, ExclusionRule, Framework, Group, Level, TagRule
from generator.models.practice import CheckRef, Practice, Relationship, Satisfies
from generator.models.scope import Exclusion, ImplementationEntry, Inherited, Planned, Scope
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
    "ExclusionRule",
    "Framework",
    "Group",
    "ImplementationEntry",
    "Inherited",
    "Level",
    "Planned",
    "Practice",
    "Relationship",
    "Repository",
    "Satisfies",
    "Scope",
    "Sources",
    "TagRule",
]
