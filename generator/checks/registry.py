"""The built-in checks by id. Practices name them in `checks:`."""

from __future__ import annotations

from generator.checks import git_gitops, git_protection, git_reviews, git_signatures
from generator.checks.context import Check
from generator.checks.kubernetes import KUBERNETES_CHECKS

CHECKS: dict[str, Check] = {}

CHECKS.update(
    {
        "git.reviewed-changes": git_reviews.check,
        "git.branch-protection": git_protection.check,
        "git.signed-commits": git_signatures.check,
        "git.gitops-source-protected": git_gitops.check,
    }
)

CHECKS.update(KUBERNETES_CHECKS)
