"""`kubernetes.audit-logging`: the API server of every cluster writes an audit log, by its
static pod's flags.

Audit logging is on when `--audit-policy-file` is set and the log goes somewhere: a file
(`--audit-log-path`, kept for at least `min_retention_days` days by `--audit-log-maxage`,
default 30) or a webhook (`--audit-webhook-config-file`, whose backend keeps it). A cluster whose
control plane is not visible (a managed service) gives `not-collected`: it has to be attested.
"""

from __future__ import annotations

from typing import Any

from generator.checks.context import CheckContext
from generator.checks.kubernetes.topology import (
    ParamError,
    Reader,
    Topology,
    blocking,
    param_error,
    problem_results,
    topology,
)
from generator.collect.kube_resources import APISERVER
from generator.results import CheckResult, ResultStatus


def flags(args: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            if "=" in arg:
                key, value = arg[2:].split("=", 1)
            elif i + 1 < len(args) and not args[i + 1].startswith("-"):
                key, value = arg[2:], args[i + 1]
                i += 1
            else:
                key, value = arg[2:], "true"
            out[key] = value
        i += 1
    return out


def _problems(f: dict[str, str], min_days: int) -> tuple[list[str], str]:
    """What is wrong with one API server's audit flags, and how its log is kept."""
    problems = []
    if not f.get("audit-policy-file"):
        problems.append("no --audit-policy-file (nothing is audited)")
    path = f.get("audit-log-path")
    webhook = f.get("audit-webhook-config-file")
    kept = []
    if path and path != "-":
        try:
            days = int(f.get("audit-log-maxage", "0"))
        except ValueError:
            days = 0
        if days < min_days:
            problems.append(
                f"--audit-log-maxage is {days or 'not set'}; keep audit files at least "
                f"{min_days} days"
            )
        kept.append(f"to {path} for {days} days")
    elif path == "-":
        kept.append("to standard output, kept by the log pipeline")
    if webhook:
        kept.append("to a webhook backend")
    if not path and not webhook:
        problems.append("neither --audit-log-path nor --audit-webhook-config-file is set")
    return problems, " and ".join(kept)


def check_audit_logging(ctx: CheckContext) -> list[CheckResult]:
    try:
        raw: Any = ctx.params.get("min_retention_days", 30)
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
            raise ParamError("'min_retention_days' must be a whole number of days")
        min_days = int(raw)
    except ParamError as exc:
        return param_error(ctx, exc)
    topo = topology(ctx)
    if not isinstance(topo, Topology):
        return [topo]
    reader = Reader(ctx)
    results = problem_results(ctx, topo)
    for name in sorted(topo.clusters):
        cluster = topo.clusters[name]
        read = reader.read(cluster, APISERVER)
        bad = blocking(ctx, name, [read], environment=cluster.environment)
        if bad:
            results.append(bad)
            continue
        pods = reader.items(cluster, APISERVER)
        if not pods:
            results.append(
                ctx.result(
                    name,
                    ResultStatus.not_collected,
                    f"no kube-apiserver pod is visible in kube-system of {name} (a managed "
                    "control plane hides it); attest the provider's audit log settings",
                    [read.id],
                    cluster.environment,
                )
            )
            continue
        failing = []
        kept = ""
        for pod in pods:
            problems, kept = _problems(flags(pod.get("args") or []), min_days)
            if problems:
                failing.append(f"{pod.get('name')}: {'; '.join(problems)}")
        if failing:
            results.append(
                ctx.result(
                    name,
                    ResultStatus.failed,
                    f"audit logging of cluster {name} is incomplete: " + " | ".join(failing),
                    [read.id],
                    cluster.environment,
                )
            )
        else:
            results.append(
                ctx.result(
                    name,
                    ResultStatus.passed,
                    f"all {len(pods)} API server(s) of {name} audit with a policy and log {kept}",
                    [read.id],
                    cluster.environment,
                )
            )
    return results
