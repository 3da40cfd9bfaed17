"""Built-in checks over Kubernetes evidence, by the ids practices name them with."""

from __future__ import annotations

from generator.checks.context import Check
from generator.checks.kubernetes.access import check_audit_access, check_write_separation
from generator.checks.kubernetes.audit import check_audit_logging
from generator.checks.kubernetes.data import check_no_production_data
from generator.checks.kubernetes.gitops import check_gitops
from generator.checks.kubernetes.isolation import check_isolation
from generator.checks.kubernetes.network import check_default_deny
from generator.checks.kubernetes.parity import check_parity

KUBERNETES_CHECKS: dict[str, Check] = {
    "kubernetes.isolation-level": check_isolation,
    "kubernetes.dtap-parity": check_parity,
    "kubernetes.no-production-data": check_no_production_data,
    "kubernetes.audit-logging": check_audit_logging,
    "kubernetes.audit-access": check_audit_access,
    "kubernetes.rbac-write-separation": check_write_separation,
    "kubernetes.default-deny": check_default_deny,
    "kubernetes.gitops-managed": check_gitops,
}
