"""The built site in headless Chromium (screenshots, search), versions deployed with mike, and
the live preview of `evidoc serve`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.browser import CHROMEDRIVER, CHROMIUM, SKIP_REASON, browser, free_port, screenshot
from tests.browser import serve_dir as serve_static
from tests.conftest import REPO, Instance, run_evidoc
from tests.site_helpers import evidence_instance, write_snapshot

needs_chromium = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None, reason=SKIP_REASON)
SCREENSHOTS = REPO / "build" / "screenshots"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("shipped-browser") / "site"
    proc = run_evidoc("build", "--root", REPO, "--site-dir", site, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return site


@needs_chromium
def test_screenshots_of_dashboard_and_framework_page(shipped: Path, tmp_path: Path) -> None:
    shots = {
        "dashboard.png": "compliance/",
        "framework-iso27001-2022.png": "compliance/frameworks/iso27001-2022/",
        "page-how-many-environments.png": "how-many-environments/",
        "practice-environment-separation.png": "compliance/practices/environment-separation/",
        "soa-iso27001-2022.png": "compliance/soa/iso27001-2022/",
        "environments.png": "compliance/environments/",
    }
    with serve_static(shipped) as base:
        for name, path in shots.items():
            size = screenshot(f"{base}/{path}", SCREENSHOTS / name, tmp_path / "profile")
            assert size == (1400, 1000)
            assert (SCREENSHOTS / name).stat().st_size > 30_000  # a rendered page, not a blank one
        # Chromium's --screenshot ignores the fragment; a WebDriver session scrolls to it.
        with browser(tmp_path / "driver") as b:
            b.get(f"{base}/compliance/frameworks/iso27001-2022/#ctl-8-31")
            assert b.wait("return window.scrollY > 0")
            time.sleep(0.5)  # let the header finish its title transition
            b.screenshot(SCREENSHOTS / "framework-iso27001-2022-8.31.png")
        assert (SCREENSHOTS / "framework-iso27001-2022-8.31.png").stat().st_size > 30_000


@needs_chromium
def test_no_table_of_evidoc_is_wider_than_its_page(shipped: Path, tmp_path: Path) -> None:
    """Long item ids, paths and digests wrap in their cells: a table wider than the content
    column scrolls sideways and reads as cut off."""
    wide = (
        "return Array.from(document.querySelectorAll('.md-typeset__scrollwrap'))"
        ".filter(e => e.scrollWidth > e.clientWidth + 2)"
        ".map(e => [e.scrollWidth, e.clientWidth, e.innerText.slice(0, 60)])"
    )
    pages = [
        "compliance/practices/change-management/",
        "compliance/practices/environment-separation/",
        "compliance/register/",
        "compliance/coverage/",
        "compliance/frameworks/hipaa-security/",
    ]
    with serve_static(shipped) as base, browser(tmp_path / "profile") as b:
        for page in pages:
            b.get(f"{base}/{page}")
            b.wait("return document.readyState === 'complete'")
            assert b.js(wide) == [], page


@needs_chromium
def test_search_finds_a_control_by_its_id(shipped: Path, tmp_path: Path) -> None:
    results = (
        "return Array.from(document.querySelectorAll('.md-search-result__item a'))"
        ".map(a => a.getAttribute('href'))"
    )
    with serve_static(shipped) as base, browser(tmp_path / "profile") as b:
        for query, anchor in [
            ("8.31", "compliance/frameworks/iso27001-2022/#ctl-8-31"),
            ("APP.4.4.A15", "compliance/frameworks/bsi-app-4-4/#ctl-app-4-4-a15"),
        ]:
            b.get(f"{base}/compliance/?q={query}")
            found = b.wait(results)
            assert found, f"no search result for {query}"
            hrefs = [urlunsplit(urlsplit(h)._replace(query="")) for h in found]
            assert any(h.endswith(anchor) for h in hrefs), (query, hrefs)
        # Following the result lands on the control, with its status badge.
        b.get(f"{base}/compliance/frameworks/iso27001-2022/#ctl-8-31")
        badge = b.wait(
            "const h = document.getElementById('ctl-8-31');"
            "const p = h && h.nextElementSibling;"
            "return p && p.querySelector('.evidoc-badge') && p.querySelector('.evidoc-badge')"
            ".textContent"
        )
        assert badge in {"verified", "failing", "no-evidence", "documented", "excluded", "unmapped"}


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, **GIT_IDENTITY)
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Release Test",
    "GIT_AUTHOR_EMAIL": "release@example.org",
    "GIT_COMMITTER_NAME": "Release Test",
    "GIT_COMMITTER_EMAIL": "release@example.org",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def release(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, **GIT_IDENTITY)
    return subprocess.run(
        [sys.executable, "-m", "generator", "release", *args, "--root", str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_release_deploys_versions_with_their_audit_pack(instance: Instance, tmp_path: Path) -> None:
    evidence_instance(instance)
    first = write_snapshot(instance, dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), ["shop"])
    root = instance.root
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "instance")

    proc = release(root, "1.0", "--snapshot", str(first))
    assert proc.returncode == 0, proc.stderr
    write_snapshot(instance, dt.datetime(2026, 4, 1, 9, tzinfo=dt.UTC), ["shop", "other"])
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "evidence")
    proc = release(root, "2.0")  # pins the newest snapshot
    assert proc.returncode == 0, proc.stderr
    assert "snapshot 20260401T090000Z" in proc.stdout

    versions = json.loads(git(root, "show", "gh-pages:versions.json"))
    assert [(v["version"], v["aliases"]) for v in versions] == [("2.0", ["latest"]), ("1.0", [])]
    assert versions[1]["properties"]["snapshot"] == "20260301T090000Z"
    files = git(root, "ls-tree", "-r", "--name-only", "gh-pages").split()
    for version in ("1.0", "2.0"):
        assert f"{version}/audit-pack.pdf" in files
        assert f"{version}/compliance/index.html" in files
    pack = subprocess.run(
        ["git", "show", "gh-pages:2.0/audit-pack.pdf"], cwd=root, capture_output=True, check=True
    ).stdout
    assert pack.startswith(b"%PDF")
    assert "index.html" in files  # the redirect to the default version
    dashboard = git(root, "show", "gh-pages:2.0/compliance/index.html")
    assert "20260401T090000Z" in dashboard and 'href="../audit-pack.pdf"' in dashboard
    assert git(root, "status", "--porcelain") == ""  # the working tree is untouched

    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(f"version selector not checked: {SKIP_REASON}")
    checkout = tmp_path / "gh-pages"
    checkout.mkdir()
    archive = subprocess.run(
        ["git", "archive", "gh-pages"], cwd=root, capture_output=True, check=True
    ).stdout
    (tmp_path / "pages.tar").write_bytes(archive)
    with tarfile.open(tmp_path / "pages.tar") as tar:
        tar.extractall(checkout, filter="tar")
    with serve_static(checkout) as base, browser(tmp_path / "profile") as b:
        b.get(f"{base}/")  # the default version
        assert b.wait("return location.pathname.startsWith('/latest/') && location.pathname")
        items = b.wait(
            "return Array.from(document.querySelectorAll('.md-version__list .md-version__link'))"
            ".map(a => a.textContent.trim())"
        )
        assert items and items[0].startswith("2.0") and items[1] == "1.0", items
        b.get(f"{base}/1.0/compliance/")
        assert b.wait("return document.body.innerText.includes('20260301T090000Z')")


def test_release_needs_a_snapshot_and_a_repository(instance: Instance) -> None:
    proc = release(instance.root, "1.0")
    assert proc.returncode == 2
    assert "not inside a Git repository" in proc.stderr


def test_serve_regenerates_on_yaml_change(instance: Instance) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "generator",
            "serve",
            "--root",
            str(instance.root),
            "--dev-addr",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/compliance/frameworks/demo-iso/"

    def fetch() -> str:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.read().decode("utf-8")
        except OSError:
            return ""

    def wait_for(text: str, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in fetch():
                return True
            time.sleep(0.2)
        return False

    try:
        assert wait_for("Separate environments"), "the preview never came up"
        catalog = instance.root / "controls/frameworks/demo-iso.yaml"
        catalog.write_text(catalog.read_text().replace("Separate environments", "Split worlds"))
        assert wait_for("Split worlds"), "the preview did not pick up the YAML change"
        # A docs page loses its tag: control A.2 becomes a gap on the framework page.
        assert "No gaps" in fetch()
        instance.write("docs/environments.md", "# Environments\n\nNow untagged.\n")
        assert wait_for("1 of 3 controls need work"), "the preview did not pick up the page change"
        proc.terminate()
        assert proc.wait(timeout=15) == 0
        assert fetch() == "", "the MkDocs server outlived evidoc serve"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
