"""The parameters each built-in check accepts, so a misspelt or mistyped `with:` is reported
by the gate at its line instead of being silently replaced by a default."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

Level = Literal["labels", "namespace", "node", "cluster", "environment"]
Tier = Literal["production", "non-production"]
Names = list[Annotated[str, Field(min_length=1)]]


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Approvals(NoParams):
    approvals: Annotated[StrictInt, Field(ge=1)] = 1


class SignedCommits(NoParams):
    include_merged: StrictBool = False
    accept_untrusted: StrictBool = False


class IsolationLevel(NoParams):
    required: dict[Tier, Level] = {"production": "cluster"}


class NoProductionData(NoParams):
    production_endpoints: Names = []


class AuditLogging(NoParams):
    min_retention_days: Annotated[StrictInt, Field(ge=0)] = 30


class AuditAccess(NoParams):
    operators: Names = []
    namespaces: Names = ["logging"]
    exempt: Names = []
    auditor_role: Annotated[str, Field(min_length=1)] | None = None


class Exempt(NoParams):
    exempt: Names = []


PARAMETERS: dict[str, type[NoParams]] = {
    "git.reviewed-changes": Approvals,
    "git.branch-protection": Approvals,
    "git.signed-commits": SignedCommits,
    "git.gitops-source-protected": Approvals,
    "kubernetes.isolation-level": IsolationLevel,
    "kubernetes.dtap-parity": NoParams,
    "kubernetes.no-production-data": NoProductionData,
    "kubernetes.audit-logging": AuditLogging,
    "kubernetes.audit-access": AuditAccess,
    "kubernetes.rbac-write-separation": Exempt,
    "kubernetes.default-deny": NoParams,
    "kubernetes.gitops-managed": NoParams,
}
