"""RBAC as the API server evaluates it: bindings to subjects, roles with wildcards, and
aggregated ClusterRoles resolved from their label selectors (the rules an aggregated role has
are the union of its own and those of every ClusterRole its selectors match)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WRITE_VERBS = frozenset(
    {"create", "update", "patch", "delete", "deletecollection", "escalate", "bind", "impersonate"}
)
DELETE_VERBS = frozenset({"delete", "deletecollection"})
ESCALATE_VERBS = frozenset({"escalate", "bind", "impersonate"})
READ_VERBS = frozenset({"get", "list", "watch"})
# Creating a review object asks the API server a question; it changes nothing.
REVIEW_GROUPS = frozenset({"authorization.k8s.io", "authentication.k8s.io"})

SYSTEM_GROUPS = frozenset(
    {
        "system:masters",
        "system:nodes",
        "system:bootstrappers",
        "system:kube-controller-manager",
        "system:kube-scheduler",
        "system:monitoring",
    }
)

Rule = dict[str, Any]


def _selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def resolve_cluster_roles(clusterroles: list[dict[str, Any]]) -> dict[str, list[Rule]]:
    """ClusterRole name -> rules, with aggregation applied until nothing changes."""
    rules = {r["name"]: list(r.get("rules") or []) for r in clusterroles}
    labels = {r["name"]: r.get("labels") or {} for r in clusterroles}
    aggregated = {
        r["name"]: (r.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
        for r in clusterroles
        if r.get("aggregationRule")
    }
    for _ in range(8):  # aggregated roles may themselves be aggregated
        changed = False
        for name, selectors in aggregated.items():
            for other, other_labels in labels.items():
                if other == name or not any(_selector_matches(s, other_labels) for s in selectors):
                    continue
                for rule in rules[other]:
                    if rule not in rules[name]:
                        rules[name].append(rule)
                        changed = True
        if not changed:
            break
    return rules


def identity(subject: dict[str, Any], binding_ns: str | None, cluster: str) -> str:
    kind = subject.get("kind")
    name = str(subject.get("name") or "")
    if kind == "ServiceAccount":
        return f"serviceaccount:{subject.get('namespace') or binding_ns}/{name}#{cluster}"
    if kind == "User" and name.startswith("system:serviceaccount:"):
        ns, _, sa = name.removeprefix("system:serviceaccount:").partition(":")
        return f"serviceaccount:{ns}/{sa}#{cluster}"
    return f"{'group' if kind == 'Group' else 'user'}:{name}"


def shown(ident: str) -> str:
    """An identity as people write it (a service account without its cluster tag)."""
    return ident.rsplit("#", 1)[0] if ident.startswith("serviceaccount:") else ident


def qualified(ident: str) -> str:
    """An identity with its cluster when it has one: a service account exists only in its own
    cluster, so the same name in two clusters is two identities."""
    name, sep, cluster = ident.rpartition("#")
    if ident.startswith("serviceaccount:") and sep:
        return f"{name} (cluster {cluster})"
    return ident


def is_system(ident: str) -> bool:
    """Kubernetes' own components; they are not people or applications."""
    kind, _, name = ident.partition(":")
    if kind == "user":
        return name.startswith("system:")
    if kind == "group":
        return name in SYSTEM_GROUPS or name.startswith("system:bootstrappers:")
    return name.startswith("kube-system/")


def _verbs(rule: Rule) -> set[str]:
    return set(rule.get("verbs") or [])


def _is_resource_rule(rule: Rule) -> bool:
    return bool(rule.get("resources")) and not rule.get("nonResourceURLs")


def writes(rule: Rule) -> bool:
    if not _is_resource_rule(rule):
        return False
    verbs = _verbs(rule)
    if "*" not in verbs and not verbs & WRITE_VERBS:
        return False
    groups = set(rule.get("apiGroups") or [""])
    return "*" in groups or not groups <= REVIEW_GROUPS


def deletes(rule: Rule) -> bool:
    verbs = _verbs(rule)
    return _is_resource_rule(rule) and ("*" in verbs or bool(verbs & DELETE_VERBS))


def escalates(rule: Rule) -> bool:
    verbs = _verbs(rule)
    return _is_resource_rule(rule) and bool(verbs & ESCALATE_VERBS)


def read_only(rules: list[Rule]) -> list[Rule]:
    """The rules that allow more than reading (empty when the role is read-only)."""
    return [r for r in rules if not _verbs(r) <= READ_VERBS]


@dataclass(frozen=True)
class Grant:
    identity: str
    namespace: str | None  # None: the whole cluster (a ClusterRoleBinding)
    rules: tuple[Rule, ...]
    via: str  # e.g. "RoleBinding shop/argocd-manager -> ClusterRole edit"


class Rbac:
    def __init__(
        self,
        cluster: str,
        roles: list[dict[str, Any]],
        clusterroles: list[dict[str, Any]],
        rolebindings: list[dict[str, Any]],
        clusterrolebindings: list[dict[str, Any]],
    ) -> None:
        self.cluster = cluster
        self.cluster_rules = resolve_cluster_roles(clusterroles)
        self.role_rules = {(r.get("namespace"), r["name"]): r.get("rules") or [] for r in roles}
        self.grants: list[Grant] = []
        for b in [*clusterrolebindings, *rolebindings]:
            ns = b.get("namespace")
            ref = b.get("roleRef") or {}
            rkind, rname = ref.get("kind"), ref.get("name")
            if rkind == "ClusterRole":
                rules = self.cluster_rules.get(rname, [])
            else:
                rules = self.role_rules.get((ns, rname), [])
            kind = "RoleBinding" if ns else "ClusterRoleBinding"
            where = f"{ns}/{b['name']}" if ns else b["name"]
            via = f"{kind} {where} -> {rkind} {rname}"
            for s in b.get("subjects") or []:
                self.grants.append(Grant(identity(s, ns, cluster), ns, tuple(rules), via))

    def who(
        self,
        allowed: Callable[[Rule], bool],
        namespaces: set[str] | None = None,
        exclude: frozenset[str] | set[str] = frozenset(),
    ) -> dict[str, list[str]]:
        """Identities allowed something by a rule, with how. Cluster-wide grants always count;
        namespaced grants only in `namespaces` (None: any) and never in `exclude`."""
        found: dict[str, list[str]] = {}
        for g in self.grants:
            if g.namespace is not None and (
                (namespaces is not None and g.namespace not in namespaces) or g.namespace in exclude
            ):
                continue
            if any(allowed(r) for r in g.rules):
                found.setdefault(g.identity, []).append(f"{self.cluster}: {g.via}")
        return found

    def role(self, name: str) -> list[Rule] | None:
        """A ClusterRole's rules, or a Role's given as `namespace/name`."""
        if "/" in name:
            ns, _, rname = name.partition("/")
            return self.role_rules.get((ns, rname))
        return self.cluster_rules.get(name)


def rbac_resources() -> tuple[str, ...]:
    return ("roles", "clusterroles", "rolebindings", "clusterrolebindings")
