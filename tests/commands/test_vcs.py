"""`sitegen build` warns when git tracks `.sitegen-cache/` (a cache from elsewhere runs code
when read), in real git repositories; no git, no repository, or a git that fails or hangs is
no warning and no error."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from conftest import article, run_cli, write_site

from sitegen.commands import vcs
from sitegen.incremental.cache import CACHE_DIR

WARNING = f"warning: {CACHE_DIR}/: tracked by git"


def make_site(root: Path, count: int) -> Path:
    """A small site of `count` articles, ready to build."""
    return write_site(root, {f"story-{i}.md": article(title=f"Story number {i}",
                                                       date=f"2020-01-{i + 1:02d}")
                             for i in range(count)})


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=Desk", "-c",
                    "user.email=desk@example.com", *args], check=True, capture_output=True,
                   timeout=30)


def build(site: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    result = run_cli("build", "-s", str(site), "-o", str(site.parent / "out"), "-q", *extra)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A site in a git repository, built once, its sources committed (not the cache)."""
    site = make_site(tmp_path / "site", count=3)
    git(site, "init", "-q")
    build(site)
    git(site, "add", "-A")
    git(site, "commit", "-q", "-m", "the site")
    return site


pytestmark = pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True)
                                .returncode != 0, reason="git is not installed")


def test_a_tracked_cache_is_warned_about(repo: Path) -> None:
    git(repo, "add", "-f", CACHE_DIR)
    git(repo, "commit", "-q", "-m", "oops: the cache")
    result = build(repo)
    assert WARNING in result.stderr
    assert f"git rm -r --cached {CACHE_DIR}" in result.stderr
    git(repo, "rm", "-r", "-q", "--cached", CACHE_DIR)  # the advice works: no more warning
    assert WARNING not in build(repo).stderr


def test_a_cache_only_added_to_the_index_is_warned_about(repo: Path) -> None:
    git(repo, "add", "-f", f"{CACHE_DIR}/build.pickle")
    assert WARNING in build(repo).stderr


def test_a_tracked_cache_of_a_site_in_a_subfolder_is_warned_about(tmp_path: Path) -> None:
    root = tmp_path / "newsroom"
    site = make_site(root / "sites" / "tv", count=2)
    git(root, "init", "-q")
    build(site)
    git(root, "add", "-f", "-A")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_cli("build", "-s", str(site), "-o", str(tmp_path / "out"), "-q", cwd=elsewhere)
    assert result.returncode == 0 and WARNING in result.stderr


def test_an_untracked_cache_is_not_warned_about(repo: Path) -> None:
    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"],
                            capture_output=True, text=True, check=True).stdout
    assert CACHE_DIR not in status  # it ignores itself
    assert "warning" not in build(repo).stderr


def test_no_cache_no_check(repo: Path) -> None:
    git(repo, "add", "-f", CACHE_DIR)
    assert WARNING not in build(repo, "--no-cache").stderr


def test_outside_a_repository_no_warning_and_no_git(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path / "site", count=2)
    started = []
    real = subprocess.Popen
    monkeypatch.setattr(vcs.subprocess, "Popen",
                        lambda *a, **k: started.append(a) or real(*a, **k))  # type: ignore[func-returns-value]
    if any((p / ".git").exists() for p in (tmp_path, *tmp_path.parents)):
        pytest.skip("the temporary folder is inside a git repository")
    result = build(site)
    assert "warning" not in result.stderr
    assert [a for a in started if Path(a[0][0]).name == "git"] == []  # not even started


def _fake_git(folder: Path, script: str) -> Path:
    folder.mkdir()
    fake = folder / "git"
    fake.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    fake.chmod(0o755)
    return folder


def test_without_git_installed_no_warning_and_no_error(repo: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo, "add", "-f", CACHE_DIR)
    monkeypatch.setenv("PATH", str(_fake_git(repo.parent / "bin", "").parent / "nothing"))
    result = build(repo)
    assert result.stderr == ""


@pytest.mark.parametrize("script", ["echo 'fatal: detected dubious ownership' >&2; exit 128",
                                    "echo fatal: bad index >&2; exit 1",
                                    "printf '.sitegen-cache/x\\0'; exit 1"],
                         ids=["dubious-ownership", "bad-index", "output-then-failure"])
def test_a_failing_git_is_no_warning_and_no_error(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                  script: str) -> None:
    monkeypatch.setenv("PATH", f"{_fake_git(repo.parent / 'bin', script)}{os.pathsep}"
                       f"{os.environ['PATH']}")
    result = build(repo)
    assert result.stderr == ""


def test_a_hanging_git_is_given_up_on(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{_fake_git(repo.parent / 'bin', 'exec sleep 60')}"
                       f"{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(vcs, "GIT_TIMEOUT", 0.5)
    started = time.monotonic()
    result = build(repo)
    assert result.stderr == ""
    assert time.monotonic() - started < 30  # not the 60 s git would take
