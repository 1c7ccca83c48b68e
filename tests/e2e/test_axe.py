"""Accessibility of the newsroom theme, as axe-core sees it: the example site's front,
article (with its lead picture and a video), tag, author, archive, search (with a query and
its results) and 404 pages in headless Chromium, at a phone's and a laptop's size, in light
and dark mode (prefers-color-scheme emulated), with zero violations of any rule axe runs.

axe-core is the npm package (`npm install -g axe-core`, which .ci/run does); its
axe.min.js is injected into each page by Playwright after the page has settled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import Built

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking",
                 "--disable-component-update"]
VIEWPORTS = {"phone": (390, 844), "laptop": (1366, 900)}
SCHEMES = ("light", "dark")
PAGES = {
    "front": "/",
    "article": "/2017/03/why-our-video-embeds-wait-for-you/",  # lead picture, video, figure
    "tag": "/tags/netflix/",
    "author": "/authors/dana-whitfield/",
    "archive": "/archive/",
    "archive year": "/archive/2016/",
    "tags index": "/tags/",
    "follow": "/feeds/",
    "search": "/search/?q=defenders",
    "404": "/404.html",
}


def axe_script() -> Path | None:
    """axe.min.js: $AXE_CORE, else the global npm folder's axe-core."""
    if os.environ.get("AXE_CORE"):
        return Path(os.environ["AXE_CORE"])
    npm = shutil.which("npm")
    if npm is None:
        return None
    root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True,
                          check=False).stdout.strip()
    found = Path(root) / "axe-core" / "axe.min.js"
    return found if root and found.is_file() else None


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass


@pytest.fixture(scope="module")
def served(example_built: Built) -> Iterator[str]:
    if not (example_built.output / "pagefind").is_dir():
        pytest.skip("Pagefind is not installed: the search page has no index "
                    "(pip install -e '.[test]')")
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(_Quiet, directory=str(example_built.output)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def axe_browser() -> Iterator[tuple[Any, str]]:
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright for Python is not installed "
                                          "(pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium (CI installs it)")
    script = axe_script()
    if script is None:
        pytest.skip("axe-core not found: npm install -g axe-core (CI installs it), or set "
                    "AXE_CORE to its axe.min.js")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium, script.read_text(encoding="utf-8")
        chromium.close()


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_kind_of_page_has_no_axe_violations(axe_browser: tuple[Any, str], served: str,
                                                  viewport: str, scheme: str) -> None:
    chromium, axe = axe_browser
    width, height = VIEWPORTS[viewport]
    context = chromium.new_context(viewport={"width": width, "height": height},
                                   color_scheme=scheme, reduced_motion="reduce")
    outside: list[str] = []

    def local_only(route: Any) -> None:  # the theme makes no third-party request
        if route.request.url.startswith(served):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", local_only)
    page = context.new_page()
    found: dict[str, list[str]] = {}
    try:
        for name, path in PAGES.items():
            page.goto(served + path, wait_until="load")
            if name == "search":  # the results, as a reader sees them
                page.locator("#search-results li").first.wait_for(timeout=15000)
            page.add_script_tag(content=axe)
            result = page.evaluate("async () => await axe.run(document, "
                                   "{resultTypes: ['violations']})")
            assert result["testEngine"]["name"] == "axe-core"
            found.update({f"{name} {path}: {v['id']} ({v['impact']}): {v['help']}":
                          [node["target"][0] for node in v["nodes"]][:5]
                          for v in result["violations"]})
            assert page.evaluate("document.documentElement.scrollWidth") <= width, \
                f"{name} scrolls sideways at {width} px"
    finally:
        context.close()
    assert found == {}
    assert outside == []
