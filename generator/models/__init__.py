"""Pydantic models of every YAML file kind: the public file formats."""

from generator.models.attestation import Attestation, Document
from generator.models.crosswalk import Crosswalk, CrosswalkMapping
from generator.models.framework import Control, ExclusionRule, Framework, Group, Level, TagRule
from generator.models.practice import CheckRef, Practice, Relationship, Satisfies
from generator.models.remediation import Acceptance, Covers, Incident, Remediation
from generator.models.scope import (
    AuditPeriod,
    Exclusion,
    ImplementationEntry,
    Inclusion,
    Inherited,
    Planned,
    Scope,
    SoaApproval,
)
from generator.models.sources import Cluster, Deployment, Environment, Repository, Sources

__all__ = [
    "Acceptance",
    "Attestation",
    "AuditPeriod",
    "CheckRef",
    "Cluster",
    "Control",
    "Covers",
    "Crosswalk",
    "CrosswalkMapping",
    "Deployment",
    "Document",
    "Environment",
    "Exclusion",
    "ExclusionRule",
    "Framework",
    "Group",
    "ImplementationEntry",
    "Incident",
    "Inclusion",
    "Inherited",
    "Level",
    "Planned",
    "Practice",
    "Relationship",
    "Remediation",
    "Repository",
    "Satisfies",
    "Scope",
    "SoaApproval",
    "Sources",
    "TagRule",
]
