"""netlify.toml, checked by Netlify's own client (the Netlify CLI from npm, which CI installs).

- `netlify build --offline` runs in a copy of the repository, inside a network namespace with
  no network at all (as root; CI is root), so the check proves the build works without
  Netlify's servers: it reads netlify.toml, runs its build command exactly as written
  (`pip install '.[search]' && sitegen build`, in a virtual environment so the machine's own sitegen
  stays untouched) and the publish folder must then hold the same site a plain build makes.
- Netlify's configuration resolver (`netlify-config`, shipped inside the CLI) reads the
  headers and redirects, which must cover what the build publishes.
- Chromium opens the published pages with those headers applied (the Content-Security-Policy
  above all) and the 404 rule, and no page may break the policy.

`netlify serve`/`netlify dev` cannot run offline (they download an edge-functions runtime
first), so the headers are applied by the test from Netlify's resolved configuration.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import REPO, copy_tracked_files, file_hashes

from sitegen.commands.cli import main
from sitegen.config import load_config

NETLIFY = shutil.which("netlify")
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-sync"]
OFFLINE_ENV = {"NETLIFY_TELEMETRY_DISABLED": "1", "NO_UPDATE_NOTIFIER": "1", "BROWSER": "none",
               "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def require_netlify() -> str:
    if NETLIFY is None:
        pytest.skip("the Netlify CLI is not installed (npm install -g netlify-cli; CI installs it)")
    return NETLIFY


def netlify_config_bin() -> Path:
    """`netlify-config`, the resolver the CLI itself uses, from the CLI's own node_modules."""
    cli_root = Path(require_netlify()).resolve().parents[1]
    found = cli_root / "node_modules" / ".bin" / "netlify-config"
    if not found.exists():
        pytest.skip(f"netlify-config not found beside the Netlify CLI ({found})")
    return found


def build_command() -> str:
    with (REPO / "netlify.toml").open("rb") as file:
        return str(tomllib.load(file)["build"]["command"])


def offline(command: list[str]) -> list[str]:
    """Run with no network at all where this user may make a network namespace (root)."""
    if os.geteuid() == 0 and shutil.which("unshare"):
        return ["unshare", "--net", *command]
    return command


@dataclass(frozen=True)
class NetlifyBuild:
    repo: Path
    result: subprocess.CompletedProcess[str]

    @property
    def log(self) -> str:
        return self.result.stdout + self.result.stderr


@pytest.fixture(scope="module")
def netlify_build(tmp_path_factory: pytest.TempPathFactory) -> NetlifyBuild:
    netlify = require_netlify()
    root = tmp_path_factory.mktemp("netlify")
    repo = copy_tracked_files(root / "repo")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    # Build requirements for `pip install .` (setuptools, wheel), fetched now from PyPI, so the
    # build itself needs no network. sitegen's own dependencies come from this machine.
    wheels = root / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d",
                    str(wheels), "setuptools>=68", "wheel"], check=True, timeout=300)
    # Netlify puts node_modules/.bin and node's own folder first on the build's PATH, so the
    # virtual environment's programs are offered there (as `pip` and `sitegen`).
    shims = repo / "node_modules" / ".bin"
    shims.mkdir(parents=True)
    for name in ("pip", "python", "python3", "sitegen"):
        (shims / name).symlink_to(venv / "bin" / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(OFFLINE_ENV, PIP_FIND_LINKS=str(wheels), XDG_CONFIG_HOME=str(root / "config"),
               PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}")
    result = subprocess.run(offline([netlify, "build", "--offline"]), cwd=repo, env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    return NetlifyBuild(repo, result)


def test_netlify_build_offline_runs_the_command_and_publishes_the_site(
        netlify_build: NetlifyBuild, tmp_path: Path) -> None:
    assert netlify_build.result.returncode == 0, netlify_build.log[-4000:]
    log = netlify_build.log
    assert f"$ {build_command()}" in log  # the command, as written in netlify.toml
    assert re.search(r"Built \d+ articles: \d+ pages", log), log[-4000:]
    assert "Netlify Build Complete" in log
    published = netlify_build.repo / "output"
    assert (published / "index.html").is_file() and (published / "404.html").is_file()
    # The same site a plain build of the repository makes, file for file.
    assert main(["build", "-s", str(netlify_build.repo), "-o", str(tmp_path / "plain")]) == 0
    assert file_hashes(published) == file_hashes(tmp_path / "plain")


@pytest.fixture(scope="module")
def resolved(netlify_build: NetlifyBuild) -> dict:
    """netlify.toml as Netlify resolves it."""
    result = subprocess.run(offline([str(netlify_config_bin()), "--offline"]),
                            cwd=netlify_build.repo, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["config"]


def test_netlify_config_publishes_output_and_covers_what_is_built(
        netlify_build: NetlifyBuild, resolved: dict) -> None:
    published = netlify_build.repo / "output"
    assert resolved["build"]["command"] == build_command()
    assert "sitegen build" in build_command()
    assert Path(resolved["build"]["publish"]) == published
    rules = {rule["for"]: rule["values"] for rule in resolved["headers"]}
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
                   "Referrer-Policy"):
        assert header in rules["/*"]
    assert "immutable" in rules["/css/*"]["Cache-Control"]
    assert list((published / "css").glob("*.css"))  # the long-cached folder is what we build
    assert list(published.glob("*.xml")) and "max-age=600" in rules["/*.xml"]["Cache-Control"]
    [not_found] = resolved["redirects"]
    assert (not_found["from"], not_found["status"], not_found["force"]) == ("/*", 404, False)
    assert (published / not_found["to"].lstrip("/")).is_file()


def headers_for(path: str, rules: list[dict]) -> dict[str, str]:
    """The headers Netlify sends for `path`: every rule whose pattern matches ('*' = anything)."""
    headers: dict[str, str] = {}
    for rule in rules:
        pattern = "^" + re.escape(rule["for"]).replace(r"\*", ".*") + "$"
        if re.match(pattern, path):
            headers.update(rule["values"])
    return headers


PAGES = ["/", "/2017/01/how-we-built-our-completely-unscientific-ratings-chart/", "/tags/",
         "/archive/", "/authors/dana-whitfield/", "/no/such/page/"]


def test_published_pages_keep_the_content_security_policy(
        netlify_build: NetlifyBuild, resolved: dict) -> None:
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright for Python is not installed")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package")
    published = netlify_build.repo / "output"
    site = urlsplit(load_config(netlify_build.repo).base_url)  # where the pages say they live
    origin = f"{site.scheme}://{site.netloc}"
    rules = resolved["headers"]
    violations: list[str] = []

    def serve(route) -> None:  # type: ignore[no-untyped-def]
        url = urlsplit(route.request.url)
        if f"{url.scheme}://{url.netloc}" != origin:
            route.abort()  # nothing leaves the machine
            return
        file = published / url.path.lstrip("/")
        file = file / "index.html" if url.path.endswith("/") else file
        status = 200
        if not file.is_file():  # the /* -> /404.html rule, status 404
            file, status = published / "404.html", 404
        kind = {".html": "text/html; charset=utf-8", ".css": "text/css",
                ".js": "text/javascript", ".xml": "application/xml", ".svg": "image/svg+xml",
                ".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
                ".avif": "image/avif"}.get(file.suffix, "application/octet-stream")
        route.fulfill(status=status, body=file.read_bytes(),
                      headers={"Content-Type": kind, **headers_for(url.path, rules)})

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", serve)
            page.on("console", lambda m: violations.append(f"{page.url}: {m.text}")
                    if "Content Security Policy" in m.text or "Refused to" in m.text else None)
            for path in PAGES:
                response = page.goto(origin + path)
                assert response is not None
                assert response.status == (404 if "no/such" in path else 200), path
                assert "default-src 'self'" in response.headers["content-security-policy"]
                # The stylesheet loaded under the policy: the page is styled.
                assert page.evaluate("getComputedStyle(document.body).marginTop") == "0px", path
            page.goto(origin + PAGES[1])
            aligned = page.evaluate("""[...document.querySelectorAll('.article-body td')]
                .map(td => getComputedStyle(td).textAlign)""")
        finally:
            browser.close()
    assert violations == []
    assert "right" in aligned  # the ratings table's numbers, aligned by class under the CSP
