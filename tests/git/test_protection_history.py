"""`git.branch-protection` over the audit period (2026-01-01 to 2026-02-01): GitHub ruleset
versions and the organisation audit log, GitLab project audit events, served by the loopback
forge stand-in in the shapes of the forges' REST documentation."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from generator.results import CheckResult, ResultStatus
from generator.snapshot.store import load_snapshot
from tests.git.builders import GitRepo
from tests.git.conftest import NOW, shop_source
from tests.git.forge_standin import RecordedForge
from tests.git.instance import by_check, collect, make_instance, results
from tests.git.test_forges import GH, GH_TOKEN, GL, GL_TOKEN, github_instance

FAIL, PASS = ResultStatus.failed, ResultStatus.passed
HISTORY = "/orgs/acme/rulesets/71/history"  # ruleset 71 is the organisation's
CHECKS = [{"id": "git.branch-protection", "with": {"approvals": 1}}]
USERS = {1001: "alice", 1002: "mallory"}


@pytest.fixture
def github(httpserver: HTTPServer, shop: GitRepo, monkeypatch) -> RecordedForge:
    monkeypatch.setenv("SHOP_GH_TOKEN", GH_TOKEN)
    forge = RecordedForge(
        httpserver, "github.json", shop.shas, ("Authorization", f"Bearer {GH_TOKEN}")
    )
    for route in forge.routes.values():
        route.pop("once", None)  # no rate limits here
    for uid, login in USERS.items():
        forge.routes[f"GET /user/{uid}"] = {"body": {"login": login, "id": uid, "type": "User"}}
    return forge


@pytest.fixture
def gitlab(httpserver: HTTPServer, shop: GitRepo, monkeypatch) -> RecordedForge:
    monkeypatch.setenv("GITLAB_TOKEN", GL_TOKEN)
    forge = RecordedForge(
        httpserver, "gitlab.json", shop.shas, ("PRIVATE-TOKEN", GL_TOKEN), prefix="/api/v4"
    )
    for route in forge.routes.values():
        route.pop("once", None)
    return forge


def rulesets_only(forge: RecordedForge) -> None:
    """No classic protection; ruleset 71 alone protects main, binding everyone."""
    forge.routes[f"GET {GH}/branches/main/protection"].update(
        status=404, body={"message": "Branch not protected"}
    )
    forge.routes[f"GET {GH}/rulesets/71"]["body"]["bypass_actors"] = []


def version_state(forge: RecordedForge, **changes: Any) -> dict[str, Any]:
    """Ruleset 71 as GET /rulesets/71 returns it, with every rule, changed by `changes`."""
    state = copy.deepcopy(forge.routes[f"GET {GH}/rulesets/71"]["body"])
    for key in ("_links", "node_id", "created_at", "updated_at", "current_user_can_bypass"):
        state.pop(key, None)
    state["rules"] = [
        {"type": r["type"], **({"parameters": r["parameters"]} if "parameters" in r else {})}
        for r in copy.deepcopy(forge.routes[f"GET {GH}/rules/branches/main"]["body"])
    ]
    state.update(changes)
    return state


def versions(forge: RecordedForge, *entries: tuple[int, int, str, dict[str, Any]]) -> None:
    """The ruleset's history: (version id, user id, updated_at, state), newest first."""
    listed = sorted(entries, key=lambda e: e[2], reverse=True)
    forge.routes[f"GET {HISTORY}"] = {
        "body": [
            {"version_id": v, "actor": {"id": uid, "type": "User"}, "updated_at": at}
            for v, uid, at, _ in listed
        ]
    }
    for v, uid, at, state in listed:
        forge.routes[f"GET {HISTORY}/{v}"] = {
            "body": {
                "version_id": v,
                "actor": {"id": uid, "type": "User"},
                "updated_at": at,
                "state": state,
            }
        }


def judged(root: Path) -> tuple[Path, CheckResult]:
    snapshot = collect(root, NOW)
    result = by_check(results(root, snapshot, NOW), "git.branch-protection")["shop-gitops"]
    return snapshot, result


def github_result(shop: GitRepo, tmp_path: Path, forge: RecordedForge) -> CheckResult:
    return judged(github_instance(tmp_path / "inst", shop, forge, CHECKS))[1]


@pytest.mark.parametrize(
    ("weaker", "fragment"),
    [
        ({"enforcement": "disabled"}, "enforcement disabled"),
        ("zero approvals", "only 0 approving review(s) are required, 1 expected"),
    ],
)
def test_a_ruleset_weaker_for_a_while_in_the_period_fails(
    shop: GitRepo, tmp_path: Path, github: RecordedForge, weaker: Any, fragment: str
) -> None:
    rulesets_only(github)
    strong = version_state(github, bypass_actors=[])
    if weaker == "zero approvals":
        weak = copy.deepcopy(strong)
        for rule in weak["rules"]:
            if rule["type"] == "pull_request":
                rule["parameters"]["required_approving_review_count"] = 0
    else:
        weak = {**copy.deepcopy(strong), **weaker}
    versions(
        github,
        (1, 1001, "2025-09-01T10:00:00Z", strong),
        (2, 1002, "2026-01-10T08:30:00Z", weak),
        (3, 1001, "2026-01-20T16:00:00Z", strong),
    )
    snapshot, result = judged(github_instance(tmp_path / "inst", shop, github, CHECKS))
    assert result.status is FAIL, result.reason
    assert "the settings did not hold over the whole period" in result.reason
    assert "from 2026-01-10 to 2026-01-20" in result.reason
    assert "ruleset 'protect main' version 2 (by mallory on 2026-01-10" in result.reason
    assert fragment in result.reason
    assert "from 2026-01-01 to 2026-01-10" not in result.reason  # version 1 held until then
    item = load_snapshot(snapshot).get("github/shop-gitops/rulesets", NOW).data
    history = item["rulesets"][0]["history"]
    assert [v["version_id"] for v in history["in_period"]] == [1, 2, 3]
    assert history["in_period"][1]["actor"] == {"id": 1002, "type": "User", "login": "mallory"}
    assert item["period"] == {"since": "2026-01-01T00:00:00Z", "until": "2026-02-01T00:00:00Z"}


def test_settings_unchanged_over_the_period_held(
    shop: GitRepo, tmp_path: Path, github: RecordedForge
) -> None:
    rulesets_only(github)
    versions(
        github,
        (1, 1001, "2025-02-01T10:00:00Z", version_state(github, enforcement="evaluate")),
        (2, 1001, "2025-09-01T10:00:00Z", version_state(github, bypass_actors=[])),
    )
    result = github_result(shop, tmp_path, github)
    assert result.status is PASS, result.reason
    assert "these settings held over the whole period from 2026-01-01 to 2026-02-01" in (
        result.reason
    )
    assert "classic branch protection: none; ruleset 'protect main': history read" in result.reason
    # only the version in force at the start of the period is read in full
    assert [s.path for s in github.seen if s.path.startswith(f"{HISTORY}/")] == [f"{HISTORY}/2"]


def test_an_unreadable_history_is_disclosed_not_failed(
    shop: GitRepo, tmp_path: Path, github: RecordedForge
) -> None:
    rulesets_only(github)  # and no history route: 404, as on older GitHub Enterprise Server
    result = github_result(shop, tmp_path, github)
    assert result.status is PASS, result.reason
    assert "held over the whole period" not in result.reason
    assert (
        "ruleset 'protect main': only its current state is known (its history could not be "
        f"read: GET {HISTORY}: not found (HTTP 404)"
    ) in result.reason


def test_a_ruleset_created_in_the_period_leaves_the_time_before_unprotected(
    shop: GitRepo, tmp_path: Path, github: RecordedForge
) -> None:
    rulesets_only(github)
    versions(github, (1, 1001, "2026-01-15T12:00:00Z", version_state(github, bypass_actors=[])))
    result = github_result(shop, tmp_path, github)
    assert result.status is FAIL, result.reason
    assert (
        "from 2026-01-01 to 2026-01-15 (no classic branch protection; ruleset 'protect main' did "
        "not exist yet (created 2026-01-15)): the branch has neither branch protection nor a "
        "ruleset"
    ) in result.reason


def test_a_policy_override_in_the_audit_log_fails(
    shop: GitRepo, tmp_path: Path, github: RecordedForge
) -> None:
    github.routes["GET /orgs/acme/audit-log"]["body"] = [
        {
            "@timestamp": 1768213800000,  # 2026-01-12T10:30:00Z
            "_document_id": "Ax7bQk2cD9",
            "action": "protected_branch.policy_override",
            "actor": "mallory",
            "created_at": 1768213800000,
            "org": "acme",
            "repo": "acme/shop-gitops",
            "branch": "main",
        }
    ]
    result = github_result(shop, tmp_path, github)
    assert result.status is FAIL, result.reason
    assert "mallory overrode branch protection on 2026-01-12" in result.reason


@pytest.mark.parametrize(
    ("audit_log", "fragment"),
    [
        (
            {"status": 404, "body": {"message": "Not Found"}},
            "classic branch protection: only its current state is known (the organisation "
            "audit log could not be read: GET /orgs/acme/audit-log: not found (HTTP 404)",
        ),
        (
            {
                "body": [
                    {
                        "@timestamp": 1768471200000,  # 2026-01-15T10:00:00Z
                        "action": "protected_branch.update",
                        "actor": "alice",
                        "created_at": 1768471200000,
                        "org": "acme",
                        "repo": "acme/shop-gitops",
                        "name": "main",
                    }
                ]
            },
            "classic branch protection: changed (protected_branch.update by alice on "
            "2026-01-15); only its settings since 2026-01-15 are known",
        ),
    ],
)
def test_classic_protection_without_a_known_history_is_disclosed(
    shop: GitRepo, tmp_path: Path, github: RecordedForge, audit_log: dict, fragment: str
) -> None:
    """Classic protection (strong now) beside a ruleset whose history is known."""
    versions(github, (1, 1001, "2025-09-01T10:00:00Z", version_state(github)))
    github.routes["GET /orgs/acme/audit-log"] = audit_log
    result = github_result(shop, tmp_path, github)
    assert result.status is PASS, result.reason
    assert "held over the whole period" not in result.reason
    assert fragment in result.reason
    assert "ruleset 'protect main': history read" in result.reason


def gitlab_result(shop: GitRepo, tmp_path: Path, forge: RecordedForge) -> CheckResult:
    source = shop_source(
        shop, tmp_path, forge="gitlab", project="acme/shop-gitops", api_url=forge.base_url
    )
    return judged(make_instance(tmp_path / "inst", [source], CHECKS))[1]


def audit_event(event_id: int, at: str, **details: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "author_id": 11,
        "entity_id": 42,
        "entity_type": "Project",
        "details": {
            "author_name": "Alice Lund",
            "author_email": "alice@example.org",
            "ip_address": "203.0.113.7",
            "entity_path": "acme/shop-gitops",
            **details,
        },
        "created_at": at,
    }


def test_gitlab_settings_unchanged_held(
    shop: GitRepo, tmp_path: Path, gitlab: RecordedForge
) -> None:
    result = gitlab_result(shop, tmp_path, gitlab)
    assert result.status is PASS, result.reason
    assert (
        "these settings held over the whole period from 2026-01-01 to 2026-02-01 (the project's "
        "audit events show no change to branch protection or approvals)"
    ) in result.reason
    # GitLab answers at most 30 days per query: the period is read in two windows
    windows = [s.query for s in gitlab.requested(f"{GL}/audit_events")]
    assert [(w["created_after"], w["created_before"]) for w in windows] == [
        ("2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z"),
        ("2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z"),
    ]


def test_gitlab_audit_events_unavailable_is_disclosed(
    shop: GitRepo, tmp_path: Path, gitlab: RecordedForge
) -> None:
    gitlab.routes[f"GET {GL}/audit_events"] = {"status": 403, "body": {"message": "403 Forbidden"}}
    result = gitlab_result(shop, tmp_path, gitlab)
    assert result.status is PASS, result.reason
    assert (
        "only the settings as they stood at collection are known: the project's audit events "
        "could not be read (GET /api/v4/projects/acme/shop-gitops/audit_events: not allowed "
        "(HTTP 403)"
    ) in result.reason


def test_gitlab_a_change_of_approval_settings_is_told(
    shop: GitRepo, tmp_path: Path, gitlab: RecordedForge
) -> None:
    gitlab.routes[f"GET {GL}/audit_events"]["body"].append(
        audit_event(
            302,
            "2026-01-12T14:05:00.000Z",
            change="prevent merge request approval from committers",
            **{"from": "false", "to": "true"},
            target_id=42,
            target_type="Project",
            target_details="acme/shop-gitops",
        )
    )
    result = gitlab_result(shop, tmp_path, gitlab)
    assert result.status is PASS, result.reason
    assert "held over the whole period" not in result.reason
    assert (
        "the settings changed (prevent merge request approval from committers changed from "
        "'false' to 'true' (Project acme/shop-gitops) by Alice Lund on 2026-01-12): only the "
        "settings as they stood at collection are known, not those before 2026-01-12"
    ) in result.reason


def test_gitlab_protection_removed_in_the_period_fails(
    shop: GitRepo, tmp_path: Path, gitlab: RecordedForge
) -> None:
    events = gitlab.routes[f"GET {GL}/audit_events"]["body"]
    events.append(
        audit_event(
            303,
            "2026-01-09T09:00:00.000Z",
            custom_message="Unprotected branch",
            event_name="protected_branch_removed",
            target_id=2,
            target_type="ProtectedBranch",
            target_details="main",
        )
    )
    events.append(
        audit_event(
            304,
            "2026-01-09T17:00:00.000Z",
            custom_message='Added protected branch with [allowed to push: ["No one"], allowed '
            'to merge: ["Maintainers"], allow force push: false, code owner approval required: '
            "false]",
            event_name="protected_branch_created",
            target_id=3,
            target_type="ProtectedBranch",
            target_details="main",
        )
    )
    result = gitlab_result(shop, tmp_path, gitlab)
    assert result.status is FAIL, result.reason
    assert (
        "the settings did not hold over the whole period: the protection of main was removed in "
        "the period (Unprotected branch (ProtectedBranch main) by Alice Lund on 2026-01-09)"
    ) in result.reason


def test_classic_protection_removed_for_a_while_fails_for_that_stretch(
    shop: GitRepo, tmp_path: Path, github: RecordedForge
) -> None:
    """The audit log shows classic protection destroyed on 01-10 and created again on 01-12:
    for two days the branch had none of it, whatever it is now."""

    def event(at_ms: int, action: str) -> dict[str, Any]:
        return {
            "@timestamp": at_ms,
            "action": action,
            "actor": "mallory",
            "created_at": at_ms,
            "org": "acme",
            "repo": "acme/shop-gitops",
            "name": "main",
        }

    github.routes["GET /orgs/acme/audit-log"] = {
        "body": [
            event(1768039200000, "protected_branch.destroy"),  # 2026-01-10T10:00:00Z
            event(1768212000000, "protected_branch.create"),  # 2026-01-12T10:00:00Z
        ]
    }
    # The ruleset alone lets administrators bypass it; the classic protection binds them.
    versions(github, (1, 1001, "2025-09-01T10:00:00Z", version_state(github)))
    result = github_result(shop, tmp_path, github)
    assert result.status is FAIL, result.reason
    assert "classic protection removed by mallory on 2026-01-10" in result.reason


def test_classic_protection_removed_after_an_ended_period_is_not_a_failure_of_it(
    shop: GitRepo, tmp_path: Path, github: RecordedForge
) -> None:
    """No classic protection now, but the audit log shows it removed after the period ended:
    what it required during the period is not known, so a period the ruleset alone did not
    cover cannot be told, not failed. An override in the period still fails it."""
    rulesets_only(github)
    # The ruleset was disabled through the period and turned on after it; classic protection,
    # whose settings then are not known, may have covered the period.
    versions(
        github,
        (1, 1001, "2025-09-01T10:00:00Z", version_state(github, enforcement="disabled")),
        (2, 1001, "2026-02-15T10:00:00Z", version_state(github, bypass_actors=[])),
    )
    removed = {
        "@timestamp": 1772359200000,  # 2026-03-01T10:00:00Z, after the period
        "action": "protected_branch.destroy",
        "actor": "alice",
        "created_at": 1772359200000,
        "org": "acme",
        "repo": "acme/shop-gitops",
        "name": "main",
    }
    github.routes["GET /orgs/acme/audit-log"] = {"body": [removed]}
    source = shop_source(
        shop,
        tmp_path,
        forge="github",
        project="acme/shop-gitops",
        api_url=github.base_url,
        token_env="SHOP_GH_TOKEN",
        until="2026-01-31",
    )
    later = dt.datetime(2026, 3, 5, tzinfo=dt.UTC)
    root = make_instance(tmp_path / "inst", [source], CHECKS)
    result = by_check(results(root, collect(root, later), later), "git.branch-protection")
    reason = result["shop-gitops"].reason
    assert result["shop-gitops"].status is ResultStatus.not_collected, reason
    assert "cannot tell whether" in reason
    assert "classic branch protection with settings not known" in reason
    # An override in the period fails it, though the branch has no classic protection now.
    override = {**removed, "action": "protected_branch.policy_override", "branch": "main"}
    override["@timestamp"] = override["created_at"] = 1768213800000  # 2026-01-12T10:30:00Z
    github.routes["GET /orgs/acme/audit-log"] = {"body": [override, removed]}
    for old in (root / "evidence" / "snapshots").iterdir():
        old.rename(tmp_path / old.name)
    result = by_check(results(root, collect(root, later), later), "git.branch-protection")
    assert result["shop-gitops"].status is ResultStatus.failed
    assert "alice overrode branch protection on 2026-01-12" in result["shop-gitops"].reason
