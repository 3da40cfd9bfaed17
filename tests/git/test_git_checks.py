"""The Git checks on snapshots of real repositories: reviews from trailers, a force-pushed
rewrite, signatures, and the GitOps source of production."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from generator.collect import kube_resources as kr
from generator.results import ResultStatus
from generator.snapshot.store import SnapshotWriter, load_snapshot
from tests.git.builders import (
    ALICE,
    BOB,
    CAROL,
    VERDICTS,
    GitRepo,
    SigningKey,
    allowed_signers,
    bare_clone,
    person,
    run_git,
    trailers,
)
from tests.git.conftest import NOW, needs_ssh_keygen, shop_source
from tests.git.instance import by_check, collect, make_instance, results

FAIL, PASS = ResultStatus.failed, ResultStatus.passed


def verdicts(found, shop: GitRepo, check: str = "git.reviewed-changes") -> dict[str, str]:
    labels = {sha[:12]: label for label, sha in shop.shas.items()}
    out = {}
    for subject, result in by_check(found, check).items():
        if "@" in subject:
            out[labels[subject.split("@")[1]]] = result.reason.split(":")[0]
    return out


def test_reviews_from_trailers(shop: GitRepo, tmp_path: Path) -> None:
    source = shop_source(shop, tmp_path, accept_trailer_approvals=True)
    root = make_instance(tmp_path / "inst", [source])
    found = results(root, collect(root, NOW), NOW)
    summary = by_check(found, "git.reviewed-changes")["shop-gitops"]
    assert summary.status is FAIL
    assert summary.reason.startswith("6 of 9 change(s) that reached main of shop-gitops")
    assert "2 self-approved, 4 no approval evidence" in summary.reason
    expected = {label: v for label, v in VERDICTS.items() if v != "ok"}
    assert verdicts(found, shop) == expected
    netpol = by_check(found, "git.reviewed-changes")[
        f"shop-gitops@{shop.shas['merge netpol'][:12]}"
    ]
    assert "of work by Carol Sand <carol@example.org>" in netpol.reason
    assert "Dave Holm" in netpol.reason  # the co-author who approved
    assert set(summary.evidence) == {"git/shop-gitops/commits", "git/shop-gitops/branch"}


def test_trailers_are_not_approval_unless_the_repository_accepts_them(
    shop: GitRepo, tmp_path: Path
) -> None:
    """A direct push carrying `Reviewed-by: Carol` is text its author wrote, not a review."""
    root = make_instance(tmp_path / "inst", [shop_source(shop, tmp_path)])
    found = results(root, collect(root, NOW), NOW)
    summary = by_check(found, "git.reviewed-changes")["shop-gitops"]
    assert summary.status is FAIL and summary.reason.startswith("9 of 9")
    assert set(verdicts(found, shop).values()) == {"no approval evidence"}
    one = by_check(found, "git.reviewed-changes")[f"shop-gitops@{shop.shas['squashed'][:12]}"]
    assert "accept_trailer_approvals" in one.reason


def test_a_pass_on_trailers_says_it_is_a_claim(tmp_path: Path) -> None:
    repo = GitRepo.init(tmp_path / "clean")
    repo.commit("base", "Base", ALICE, at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    repo.feature(
        "a", [("a", BOB)], merge_message="Merge a\n\n" + trailers(Approved_by=person(CAROL))
    )
    source = {"name": "clean", "path": str(repo.path), "since": "2026-01-01"}
    root = make_instance(tmp_path / "inst", [{**source, "accept_trailer_approvals": True}])
    (summary,) = by_check(results(root, collect(root, NOW), NOW), "git.reviewed-changes").values()
    assert summary.status is PASS
    assert "approval claimed in a commit trailer, not verified by a forge" in summary.reason


def test_two_approvals_required(shop: GitRepo, tmp_path: Path) -> None:
    checks = [{"id": "git.reviewed-changes", "with": {"approvals": 2}}]
    source = shop_source(shop, tmp_path, accept_trailer_approvals=True)
    root = make_instance(tmp_path / "inst", [source], checks)
    found = results(root, collect(root, NOW), NOW)
    got = verdicts(found, shop)
    assert got["merge ingress"] == got["squashed"] == got["merge old-branch"]
    assert got["squashed"] == "no approval evidence"
    assert by_check(found, "git.reviewed-changes")["shop-gitops"].reason.startswith("9 of 9")


def test_all_reviewed_passes_and_bad_params_are_errors(tmp_path: Path) -> None:
    repo = GitRepo.init(tmp_path / "clean")
    repo.commit("base", "Base", ALICE, at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    repo.feature(
        "a", [("a", BOB)], merge_message="Merge a\n\n" + trailers(Approved_by=person(CAROL))
    )
    checks = [
        {"id": "git.reviewed-changes"},
        {"id": "git.branch-protection", "with": {"approvals": 0}},
    ]
    source = {"name": "clean", "path": str(repo.path), "since": "2026-01-01"}
    root = make_instance(tmp_path / "inst", [{**source, "accept_trailer_approvals": True}], checks)
    found = results(root, collect(root, NOW), NOW)
    reviewed = by_check(found, "git.reviewed-changes")
    assert list(reviewed) == ["clean"] and reviewed["clean"].status is PASS
    assert "all 1 change(s)" in reviewed["clean"].reason
    assert "1 with an approval claimed in a commit trailer" in reviewed["clean"].reason
    bad = by_check(found, "git.branch-protection")["all"]
    assert bad.status is ResultStatus.error and "approvals" in bad.reason


def test_stale_or_missing_history_never_passes(shop: GitRepo, tmp_path: Path) -> None:
    root = make_instance(tmp_path / "inst", [shop_source(shop, tmp_path)])
    snapshot = collect(root, NOW)
    later = NOW + dt.timedelta(days=8)
    stale = by_check(results(root, snapshot, later), "git.reviewed-changes")["shop-gitops"]
    assert stale.status is ResultStatus.stale
    make_instance(root, [shop_source(shop, tmp_path), {"name": "other", "path": "x"}])
    missing = by_check(results(root, snapshot, NOW), "git.reviewed-changes")["other"]
    assert missing.status is ResultStatus.not_collected


def test_force_pushed_rewrite(tmp_path: Path) -> None:
    work = GitRepo.init(tmp_path / "work")
    work.commit("base", "Base", ALICE, at=dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    work.feature(
        "a", [("a", BOB)], merge_message="Merge a\n\n" + trailers(Reviewed_by=person(CAROL))
    )
    work.feature(
        "b", [("b", BOB)], merge_message="Merge b\n\n" + trailers(Reviewed_by=person(CAROL))
    )
    server = bare_clone(work.path, tmp_path / "server.git", work.env)
    run_git(work.path, "remote", "add", "origin", str(server), env=work.env)
    source = {"name": "shop", "path": str(server), "accept_trailer_approvals": True}
    root = make_instance(tmp_path / "inst", [source])
    first = collect(root, NOW)
    found = by_check(results(root, first, NOW), "git.reviewed-changes")
    assert found["shop"].status is PASS

    # someone rewrites main: drops the reviewed merge of b, puts an unreviewed commit instead
    reviewed_head = work.head()
    work.git("reset", "-q", "--hard", "HEAD~1")
    work.commit("sneaky", "Change the image by hand", BOB)
    work.git("push", "-q", "--force", "origin", "main")
    second_at = NOW + dt.timedelta(hours=1)
    second = collect(root, second_at)
    found = by_check(results(root, second, second_at), "git.reviewed-changes")
    assert found["shop"].status is FAIL
    assert "rewritten in the period" in found["shop"].reason
    rewrite = found[f"shop@{reviewed_head[:12]}"]
    assert rewrite.status is FAIL
    assert f"the head snapshot {first.name} audited" in rewrite.reason
    assert reviewed_head[:12] in rewrite.reason and "2 commit(s)" in rewrite.reason  # merge + b
    assert found[f"shop@{work.shas['sneaky'][:12]}"].reason.startswith("no approval evidence")

    # the next snapshot does not forget it: the period had a rewrite, whatever came after
    third_at = NOW + dt.timedelta(hours=2)
    third = collect(root, third_at)
    found = by_check(results(root, third, third_at), "git.reviewed-changes")
    assert found["shop"].status is FAIL
    assert [s for s, r in found.items() if r.reason.startswith("the history")] == [
        f"shop@{reviewed_head[:12]}"
    ]


@needs_ssh_keygen
def test_signed_commits_check(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    alice_key, bob_key = SigningKey.make(keys, "alice"), SigningKey.make(keys, "bob")
    repo = GitRepo.init(tmp_path / "signed")
    repo.commit("one", "One", ALICE, key=alice_key)
    repo.checkout("feature/x", new=True)
    repo.commit("side", "Side work, unsigned", BOB)
    repo.checkout("main")
    repo.merge("merge", "feature/x", "Merge feature/x", ALICE, key=alice_key)
    root = tmp_path / "inst"
    root.mkdir()
    allowed_signers(root / "signers", [(ALICE[1], alice_key), (BOB[1], bob_key)])
    source = {"name": "signed", "path": str(repo.path), "allowed_signers": "signers"}

    def run(**params: Any):
        checks = [{"id": "git.signed-commits", "with": params}] if params else None
        make_instance(root, [source], checks or [{"id": "git.signed-commits"}])
        snapshot = collect(root, NOW + dt.timedelta(seconds=len(list(root.rglob("manifest.json")))))
        return by_check(results(root, snapshot, NOW), "git.signed-commits")

    mainline = run()
    assert mainline["signed"].status is PASS and "all 2 commit(s)" in mainline["signed"].reason
    everything = run(include_merged=True)
    assert everything["signed"].status is FAIL
    side = everything[f"signed@{repo.shas['side'][:12]}"]
    assert side.reason.startswith("not signed: merged commit")

    repo.commit("stranger", "Signed with a key not allowed", BOB, key=SigningKey.make(keys, "x"))
    strict = run()
    assert strict["signed"].status is FAIL and "not an allowed signer" in strict["signed"].reason
    assert run(accept_untrusted=True)["signed"].status is PASS


# ---------------------------------------------------------------------------------------------
# GitOps source of production


def argo_app(name: str, repo_url: str, revision: str | None, dest: dict[str, str]) -> dict:
    """An Argo CD Application as the Kubernetes collector keeps it."""
    source = {"repoURL": repo_url, "path": "apps/shop/overlays/production"}
    if revision is not None:
        source["targetRevision"] = revision
    raw = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "uid": f"uid-{name}"},
        "spec": {
            "project": "shop",
            "source": source,
            "destination": dest,
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
        "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}},
    }
    return kr.argo_app(raw, None)  # type: ignore[arg-type]


PROTECTION = {
    "branch": "main",
    "protected": True,
    "protection": {
        "required_pull_request_reviews": {
            "required_approving_review_count": 1,
            "dismiss_stale_reviews": True,
        },
        "enforce_admins": {"enabled": True},
        "allow_force_pushes": {"enabled": False},
        "allow_deletions": {"enabled": False},
    },
}

SOURCES = {
    "environments": [
        {
            "name": "mgmt",
            "tier": "non-production",
            "clusters": [{"name": "ops", "context": "ops"}],
        },
        {"name": "nonprod", "clusters": [{"name": "nonprod-wc", "context": "nonprod-wc"}]},
        {
            "name": "prod",
            "tier": "production",
            "clusters": [{"name": "prod-wc", "context": "prod-wc"}],
        },
    ],
    "deployments": [
        {"name": "production", "tier": "production", "cluster": "prod-wc", "namespaces": ["shop"]}
    ],
}


def gitops_snapshot(
    root: Path,
    shop: GitRepo,
    apps: dict[str, list[dict]],
    forge: bool,
    flux: dict[str, list[dict]] | None = None,
) -> Path:
    """Collect shop-gitops for real, then add hand-made Kubernetes (and GitHub) items."""
    library_snapshot = collect(root, NOW)
    writer = SnapshotWriter(root / "evidence" / "alt", NOW)
    snap = load_snapshot(library_snapshot)
    for it in snap.manifest.items:
        if it.collector != "git":
            continue  # the forge items (not read: no token) are replaced below
        writer.add(
            it.id,
            json.loads((library_snapshot / it.path).read_bytes()),
            collector=it.collector,
            query=it.query,
            collected_at=NOW,
            ttl=it.ttl,
            source=it.source,
            status=it.status,
            detail=it.detail,
        )
    for where, items in apps.items():
        env, cluster = where.split("/")
        writer.add(
            f"kubernetes/{env}/{cluster}/argocd-applications",
            {"resource": "argocd-applications", "count": len(items), "items": items},
            collector="kubernetes",
            query="GET /apis/argoproj.io/v1alpha1/applications",
            collected_at=NOW,
            ttl=3600,
            environment=env,
        )
        writer.add(
            f"kubernetes/{env}/{cluster}/cluster",
            {"server": f"https://{cluster}.example.org:6443"},
            collector="kubernetes",
            query="GET /version",
            collected_at=NOW,
            ttl=3600,
        )
    for where, items in (flux or {}).items():
        env, cluster = where.split("/")
        writer.add(
            f"kubernetes/{env}/{cluster}/flux-gitrepositories",
            {"resource": "flux-gitrepositories", "count": len(items), "items": items},
            collector="kubernetes",
            query="GET /apis/source.toolkit.fluxcd.io/v1/gitrepositories",
            collected_at=NOW,
            ttl=3600,
            environment=env,
        )
    if forge:
        for kind, data in (
            ("branch-protection", PROTECTION),
            ("rulesets", {"branch": "main", "rules": [], "rulesets": []}),
            (
                "repository",
                {"default_branch": "main", "actions_can_approve_pull_requests": False},
            ),
        ):
            writer.add(
                f"github/shop-gitops/{kind}",
                data,
                collector="github",
                query="GET",
                collected_at=NOW,
                ttl=3600,
            )
    return writer.commit()


URL = "https://github.com/acme/shop-gitops.git"


@pytest.mark.parametrize("forge", [True, False])
def test_gitops_source_protected(shop: GitRepo, tmp_path: Path, forge: bool) -> None:
    extra = {"forge": "github", "project": "acme/shop-gitops"} if forge else {}
    source = shop_source(shop, tmp_path, url=URL, **extra)
    checks = [{"id": "git.gitops-source-protected"}]
    root = make_instance(tmp_path / "inst", [source], checks, SOURCES)
    apps = {
        "mgmt/ops": [
            argo_app(
                "shop-prod", "https://github.com/acme/shop-gitops", "HEAD", {"name": "prod-wc"}
            ),
            argo_app("shop-tag", URL, "v1.4.0", {"server": "https://prod-wc.example.org:6443"}),
            argo_app("shop-dev", URL, "develop", {"name": "nonprod-wc", "namespace": "shop-dev"}),
            argo_app("elsewhere", "git@github.com:acme/other.git", "main", {"name": "prod-wc"}),
        ],
        "prod/prod-wc": [
            argo_app("local", URL, "refs/heads/main", {"server": "https://kubernetes.default.svc"})
        ],
    }
    snapshot = gitops_snapshot(root, shop, apps, forge)
    found = by_check(results(root, snapshot, NOW), "git.gitops-source-protected")
    assert set(found) == {
        "mgmt/ops/argocd/shop-prod",
        "mgmt/ops/argocd/shop-tag",
        "mgmt/ops/argocd/elsewhere",
        "prod/prod-wc/argocd/local",
    }
    tag = found["mgmt/ops/argocd/shop-tag"]
    assert (
        tag.status is FAIL and "followed at 'v1.4.0', not at shop-gitops's protected" in tag.reason
    )
    other = found["mgmt/ops/argocd/elsewhere"]
    assert other.status is FAIL and "not a repository collected by evidoc" in other.reason
    prod, local = found["mgmt/ops/argocd/shop-prod"], found["prod/prod-wc/argocd/local"]
    if forge:
        assert prod.status is PASS and local.status is PASS
        assert "github/shop-gitops/branch-protection" in prod.evidence
        assert prod.environment == "mgmt"
    else:
        # without a forge, protection is unknown; so is the default branch (HEAD) of a clone
        assert prod.status is ResultStatus.not_collected
        assert "default branch of shop-gitops is not known" in prod.reason
        assert local.status is ResultStatus.not_collected
        assert "has no forge" in local.reason


def test_gitops_without_kubernetes_evidence(shop: GitRepo, tmp_path: Path) -> None:
    checks = [{"id": "git.gitops-source-protected"}]
    root = make_instance(tmp_path / "inst", [shop_source(shop, tmp_path)], checks, SOURCES)
    found = by_check(results(root, collect(root, NOW), NOW), "git.gitops-source-protected")
    assert found["all"].status is ResultStatus.not_collected
    assert "no Argo CD Application or Flux GitRepository evidence" in found["all"].reason


def flux_source(name: str, url: str, ref: dict[str, str]) -> dict:
    """A Flux GitRepository kept as metadata and spec."""
    raw = {
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {"url": url, "ref": ref, "interval": "1m", "secretRef": {"name": "git-auth"}},
    }
    return kr.with_spec(raw, None)  # type: ignore[arg-type]


def test_gitops_flux_sources(shop: GitRepo, tmp_path: Path) -> None:
    extra = {"forge": "github", "project": "acme/shop-gitops"}
    source = shop_source(shop, tmp_path, url=URL, **extra)
    checks = [{"id": "git.gitops-source-protected"}]
    root = make_instance(tmp_path / "inst", [source], checks, SOURCES)
    flux = {
        "prod/prod-wc": [
            flux_source("shop", "ssh://git@github.com/acme/shop-gitops.git", {"branch": "main"}),
            flux_source("pinned", URL, {"tag": "v1.4.0"}),
            flux_source("released", URL, {"tag": "v1.3.0"}),
            flux_source("commit", URL, {"commit": shop.shas["squashed"]}),
        ],
        "nonprod/nonprod-wc": [flux_source("dev", URL, {"branch": "develop"})],
    }
    shop.git("tag", "v1.3.0", shop.shas["merge ingress"])  # a release on main
    snapshot = gitops_snapshot(root, shop, {}, True, flux)
    found = by_check(results(root, snapshot, NOW), "git.gitops-source-protected")
    prefix = "prod/prod-wc/flux-system/"
    assert set(found) == {prefix + n for n in ("shop", "pinned", "released", "commit")}
    assert found[prefix + "shop"].status is PASS
    pinned = found[prefix + "pinned"]
    assert pinned.status is FAIL
    assert "pinned to tag 'v1.4.0', which is not a tag reachable from 'main'" in pinned.reason
    # A tag or commit on the protected branch deploys reviewed history: it passes.
    released = found[prefix + "released"]
    assert released.status is PASS and "pinned to tag 'v1.3.0'" in released.reason
    commit = found[prefix + "commit"]
    assert commit.status is PASS and "pinned to commit" in commit.reason


def test_no_repositories_listed_is_not_collected(tmp_path: Path) -> None:
    root = make_instance(tmp_path / "inst", [])
    found = results(root, collect(root, NOW), NOW)
    for check in ("git.reviewed-changes", "git.branch-protection", "git.signed-commits"):
        got = by_check(found, check)
        assert list(got) == ["all"], check
        assert got["all"].status is ResultStatus.not_collected
        assert "no repositories are listed" in got["all"].reason


def test_commits_dropped_by_a_force_push_are_judged(tmp_path: Path) -> None:
    """An unreviewed push that a later force push removed still reached the branch in the
    period: the rewrite names it and judges it like any change."""
    work = GitRepo.init(tmp_path / "work")
    work.commit("base", "Base", ALICE, at=dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    work.feature(
        "a", [("a", BOB)], merge_message="Merge a\n\n" + trailers(Reviewed_by=person(CAROL))
    )
    server = bare_clone(work.path, tmp_path / "server.git", work.env)
    run_git(work.path, "remote", "add", "origin", str(server), env=work.env)
    source = {"name": "shop", "path": str(server), "accept_trailer_approvals": True}
    root = make_instance(tmp_path / "inst", [source])
    collect(root, NOW)
    work.feature(
        "b", [("b", BOB)], merge_message="Merge b\n\n" + trailers(Reviewed_by=person(CAROL))
    )
    work.commit("oops", "Patch production by hand", BOB)
    work.git("push", "-q", "origin", "main")
    seen_at = NOW + dt.timedelta(hours=1)
    seen = collect(root, seen_at)
    assert by_check(results(root, seen, seen_at), "git.reviewed-changes")["shop"].status is FAIL
    oops = work.shas["oops"]
    work.git("reset", "-q", "--hard", "HEAD~2")  # drops the unreviewed push and reviewed b
    work.commit("c", "Tidy up", BOB)
    work.git("push", "-q", "--force", "origin", "main")
    later = NOW + dt.timedelta(hours=2)
    found = by_check(results(root, collect(root, later), later), "git.reviewed-changes")
    rewrite = found[f"shop@{oops[:12]}"]
    assert "rewritten (force push)" in rewrite.reason
    assert "of the dropped commits: 1 approved, 1 no approval evidence" in rewrite.reason
    dropped = found[f"shop@{oops[:12]} (dropped)"]
    assert dropped.status is FAIL
    assert dropped.reason.startswith("no approval evidence, then dropped by a force push")
    assert "Patch production by hand" in dropped.reason
