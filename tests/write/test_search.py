"""On-site search (Pagefind) and click-to-play embeds: the built files, a build without
Pagefind, and headless Chromium (Playwright, Debian's /usr/bin/chromium) using the real
pages served from 127.0.0.1. Requests to any other host are recorded and aborted, so the
tests also prove that nothing loads from the video host before the reader clicks play."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import (
    FIXED_NOW,
    PUBLISHED,
    REPO,
    Built,
    article,
    build_site,
    copy_example_site,
    file_hashes,
    parse_html,
    text_of,
    write_site,
)

from sitegen.pipeline.build import build
from sitegen.report import BuildOptions
from sitegen.write import search

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
EMBED_URL = "/2017/03/why-our-video-embeds-wait-for-you/"
STRANGER = "/2016/08/how-europe-binged-stranger-things/"
NO_PAGEFIND = "import sys; sys.modules['pagefind'] = None; from sitegen.commands.cli import main; " \
              "raise SystemExit(main(sys.argv[1:]))"


def require_pagefind() -> None:
    reason = search.unavailable()
    if reason is not None:
        pytest.skip(f"{reason} (CI installs it with the test extra)")


# --- the built files --------------------------------------------------------------------------------

def test_search_bundle_indexes_exactly_the_articles(example_built: Built) -> None:
    require_pagefind()
    out = example_built.output
    assert example_built.report.search
    assert (out / "pagefind" / "pagefind.js").is_file()
    entry = json.loads((out / "pagefind" / "pagefind-entry.json").read_text(encoding="utf-8"))
    (language,) = entry["languages"].values()
    assert language["page_count"] == len(PUBLISHED)  # only data-pagefind-body pages
    manifest = json.loads((out / ".sitegen-manifest.json").read_text(encoding="utf-8"))
    bundle = {p.relative_to(out).as_posix() for p in (out / "pagefind").rglob("*") if p.is_file()}
    assert bundle and bundle <= set(manifest["files"])  # sitegen owns what it wrote


@pytest.mark.parametrize(("permalink", "glob"), [
    ("/{year}/{month}/{slug}/", "*/*/*/index.html"),
    ("/{slug}/", "*/index.html"),
    ("/stories/{slug}/", "stories/*/index.html"),
    ("/{year}-{month}-{day}/read_{slug}/", "*-*-*/read_*/index.html"),
])
def test_pagefind_reads_the_files_the_permalink_gives_articles(permalink: str, glob: str) -> None:
    assert search.pages_glob(permalink) == glob


def test_a_site_with_no_article_published_yet_builds_with_search(tmp_path: Path) -> None:
    """Pagefind fails when it finds no page to read; with no article it reads every page."""
    require_pagefind()
    site = write_site(tmp_path / "site", {"a.md": article(title="Not yet", draft=True)})
    built = build_site(site, tmp_path / "out")
    assert built.report.search and built.report.articles == 0
    assert (built.output / "pagefind" / "pagefind.js").is_file()


def _bundle(folder: Path) -> dict[str, str]:
    return file_hashes(folder / "pagefind") if (folder / "pagefind").is_dir() \
        else file_hashes(folder)


def test_reading_only_article_pages_gives_the_index_of_reading_every_page(
        example_built: Built, tmp_path: Path) -> None:
    """Pagefind is given the article pages alone (at 10,000 articles the others cost it 13 of
    32 s); the index must be the one it builds from every page of the site."""
    require_pagefind()
    every_page = tmp_path / "every-page"
    search.build_bundle(example_built.output, every_page, search.EVERY_PAGE)
    assert _bundle(example_built.output) == _bundle(every_page)


@pytest.mark.parametrize("permalink", ["/stories/{slug}/", "/{year}-{month}/{slug}/"])
def test_articles_are_indexed_wherever_the_permalink_puts_them(tmp_path: Path,
                                                               permalink: str) -> None:
    require_pagefind()
    site = write_site(tmp_path / "site", {
        "a.md": article(title="Luke Cage renewed", date="2020-01-01"),
        "b.md": article(title="Iron Fist cancelled", date="2020-02-03"),
        "c.md": article(title="The Defenders return", date="2021-03-04")},
        config='title = "Test Desk"\nbase_url = "https://test-desk.example.com"\n'
               f'timezone = "UTC"\npermalink = "{permalink}"\n')
    built = build_site(site, tmp_path / "out")
    entry = json.loads((built.output / "pagefind" / "pagefind-entry.json").read_text("utf-8"))
    (language,) = entry["languages"].values()
    assert language["page_count"] == 3
    every_page = tmp_path / "every-page"
    search.build_bundle(built.output, every_page, search.EVERY_PAGE)
    assert _bundle(built.output) == _bundle(every_page)


def test_every_page_has_a_search_button_leading_to_the_search_page(example_built: Built) -> None:
    require_pagefind()
    out = example_built.output
    for rel in ("index.html", "tags/index.html", EMBED_URL.strip("/") + "/index.html"):
        doc = parse_html(out / rel)
        (button,) = doc.xpath("//header//a[@class='search-button']")
        assert button.get("href") == "/search/" and text_of(button) == "Search"
    search_page = parse_html(out / "search" / "index.html")
    assert not search_page.xpath("//header//a[@class='search-button']")  # its own form instead
    (form,) = search_page.xpath("//main//form[@role='search']")
    assert form.get("action") == "/search/" and form.get("method") == "get"
    (field,) = form.xpath(".//input[@name='q']")
    assert search_page.xpath(f"//label[@for='{field.get('id')}']")
    assert search_page.xpath("//meta[@name='robots']/@content") == ["noindex"]
    assert search_page.xpath("//*[@data-search-bundle]/@data-search-bundle") == ["/pagefind/"]
    assert "/search/" not in (out / "sitemap.xml").read_text(encoding="utf-8")


def test_build_without_pagefind_says_how_to_enable_it_and_skips_only_search(
        tmp_path: Path) -> None:
    site = copy_example_site(tmp_path / "site")
    result = subprocess.run([sys.executable, "-c", NO_PAGEFIND, "build", "-s", str(site),
                             "-o", str(tmp_path / "without")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "pip install 'pagefind[bin]'" in result.stderr
    assert "on-site search skipped" in result.stderr
    without = tmp_path / "without"
    assert not (without / "pagefind").exists() and not (without / "search").exists()
    assert not parse_html(without / "index.html").xpath("//form[@role='search']")
    # Everything else is exactly what a build with search switched off writes.
    config = site / "sitegen.toml"
    text = config.read_text(encoding="utf-8")
    assert text.count("enabled = true") == 1
    config.write_text(text.replace("enabled = true", "enabled = false"), encoding="utf-8")
    disabled = subprocess.run([sys.executable, "-m", "sitegen", "build", "-s", str(site),
                               "-o", str(tmp_path / "disabled")],
                              capture_output=True, text=True, timeout=120, check=False)
    assert disabled.returncode == 0, disabled.stderr
    assert "pagefind" not in disabled.stderr.lower()  # switched off: nothing to say
    assert file_hashes(without) == file_hashes(tmp_path / "disabled")


# --- in the browser ------------------------------------------------------------------------------

class _Handler(SimpleHTTPRequestHandler):
    """Static files from one folder, under an optional path prefix (like a site at /news/)."""

    prefix = ""
    extra_headers: dict[str, str] = {}

    def end_headers(self) -> None:
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def translate_path(self, path: str) -> str:
        clean = urlsplit(path).path
        if self.prefix:
            if not clean.startswith(self.prefix + "/"):
                return str(Path(self.directory) / "__not_under_the_prefix__")
            clean = clean[len(self.prefix):]
        return super().translate_path(clean)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def serve(folder: Path, prefix: str = "", headers: dict[str, str] | None = None
          ) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"prefix": prefix, "extra_headers": headers or {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{prefix}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright for Python is not installed "
                                          "(pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium (CI installs it)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site_url(example_built: Built) -> Iterator[str]:
    yield from serve(example_built.output)


class Page:
    """A browser page that may only talk to 127.0.0.1; other requests are aborted and kept."""

    def __init__(self, browser: Any, **options: Any) -> None:
        self.context = browser.new_context(**options)
        self.outside: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()

    def _route(self, route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def wait_outside(self, timeout_ms: int = 10000) -> list[str]:
        """The requests to other hosts, once at least one was made (or the time is up)."""
        waited = 0
        while not self.outside and waited < timeout_ms:
            self.page.wait_for_timeout(50)
            waited += 50
        return self.outside

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Page]:
    page = Page(browser)
    yield page
    page.close()


def result_links(tab: Page) -> list[str]:
    links = tab.page.locator("#search-results li a")
    links.first.wait_for(timeout=15000)
    return [str(links.nth(i).get_attribute("href")) for i in range(links.count())]


def test_typing_a_word_from_an_article_body_finds_that_article(tab: Page, site_url: str) -> None:
    require_pagefind()
    tab.page.goto(f"{site_url}/search/")
    tab.page.fill("#search-q", "ringtone")  # only in the Stranger Things article's body
    assert result_links(tab) == [STRANGER]
    status = tab.page.locator("#search-status")
    assert re.search(r"1 article matches", status.inner_text())
    assert "<mark>" in tab.page.locator(".search-excerpt").first.inner_html()
    assert tab.page.url.endswith("/search/?q=ringtone")
    assert tab.outside == []


def test_search_finds_articles_by_author_and_by_tag(tab: Page, site_url: str) -> None:
    require_pagefind()
    tab.page.goto(f"{site_url}/search/?q=Oyelaran")
    marcus = [url for url, rel in PUBLISHED.items()
              if "Marcus Oyelaran" in (REPO / rel).read_text(encoding="utf-8")]
    assert sorted(result_links(tab)) == sorted(marcus)
    tab.page.fill("#search-q", "Trailers")  # a tag that the body never spells that way
    tab.page.wait_for_function("document.querySelector('#search-status').textContent"
                               ".includes('Trailers')")
    assert EMBED_URL in result_links(tab)


def test_header_search_button_leads_to_results(tab: Page, site_url: str) -> None:
    require_pagefind()
    tab.page.goto(f"{site_url}/")
    tab.page.click("header .search-button")
    tab.page.wait_for_url(re.compile(r"/search/$"))
    tab.page.fill("#search-q", "ringtone")
    tab.page.press("#search-q", "Enter")
    tab.page.wait_for_url(re.compile(r"/search/\?q=ringtone$"))
    assert result_links(tab) == [STRANGER]


def test_a_submitted_search_is_run_once_and_its_results_stay(tab: Page, site_url: str) -> None:
    """Typing schedules a search 250 ms on; pressing Enter runs it at once. The typed one
    must not run too: it emptied the list Enter had filled and drew it again (and a reader's
    first result, or a test reading the list, vanished meanwhile)."""
    require_pagefind()
    tab.page.goto(f"{site_url}/search/?q=binged")  # Pagefind loaded: a search then takes
    assert STRANGER in result_links(tab)         # less than the typing's 250 ms
    tab.page.fill("#search-q", "ringtone")
    tab.page.press("#search-q", "Enter")
    tab.page.locator(f'#search-results li a[href="{STRANGER}"]').wait_for(timeout=15000)
    assert result_links(tab) == [STRANGER]
    first = tab.page.locator("#search-results li").first.element_handle()
    tab.page.wait_for_timeout(600)  # past the typing's 250 ms, and its search's time
    assert first.evaluate("element => element.isConnected")
    assert result_links(tab) == [STRANGER]


def test_search_works_for_a_site_under_a_path(browser: Any, tmp_path: Path) -> None:
    require_pagefind()
    site = write_site(tmp_path / "site", {
        "a.md": article(title="Quiz night", body="The contestants froze at the buzzer."),
        "b.md": article(title="Weather", date="2020-01-02", body="Rain all week.")})
    server = serve(tmp_path / "out", "/news")  # the handler reads its folder per request
    base = next(server)  # the address decides base_url, so build after binding
    tab = Page(browser)
    try:
        build_site(site, tmp_path / "out", base_url=base)
        tab.page.goto(f"{base}/search/?q=buzzer")
        assert result_links(tab) == ["/news/2020/01/quiz-night/"]
        tab.page.locator("#search-results a").first.click()
        tab.page.wait_for_url(re.compile(r"/news/2020/01/quiz-night/$"))
        assert tab.outside == []
    finally:
        tab.close()
        server.close()


def netlify_headers() -> dict[str, str]:
    """The headers netlify.toml sends with every page (CSP, Permissions-Policy, ...)."""
    config = tomllib.loads((REPO / "netlify.toml").read_text(encoding="utf-8"))
    (every,) = [h for h in config["headers"] if h["for"] == "/*"]
    return dict(every["values"])


RECORD_CSP_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
"""


def test_search_and_embeds_work_under_the_deployed_security_headers(
        browser: Any, example_built: Built) -> None:
    require_pagefind()
    headers = netlify_headers()
    assert "Content-Security-Policy" in headers
    server = serve(example_built.output, headers=headers)
    base = next(server)
    tab = Page(browser)
    tab.context.add_init_script(RECORD_CSP_VIOLATIONS)
    try:
        tab.page.goto(f"{base}/search/?q=ringtone")
        assert result_links(tab) == [STRANGER]
        assert tab.page.evaluate("window.__violations") == []
        tab.page.goto(f"{base}{EMBED_URL}")
        tab.page.locator(".embed-play").click()
        tab.page.locator("iframe.embed-frame").wait_for(timeout=5000)
        assert tab.wait_outside()  # the player's request was made (and allowed by the CSP)
        tab.page.wait_for_timeout(100)
        assert tab.page.evaluate("window.__violations") == []
        tab.page.goto(f"{base}/")
        assert tab.page.evaluate("window.__violations") == []
    finally:
        tab.close()
        server.close()


# --- embeds in the browser ------------------------------------------------------------------------

def test_embed_shows_a_placeholder_and_loads_the_player_only_on_click(tab: Page,
                                                                     site_url: str) -> None:
    page = tab.page
    page.goto(f"{site_url}{EMBED_URL}", wait_until="networkidle")
    play = page.get_by_role("link", name="Play video: Big Buck Bunny, an open animated short")
    assert play.is_visible()
    assert page.locator("iframe").count() == 0
    assert tab.outside == []  # nothing from YouTube (or anywhere else) before the click
    play.click()
    frame = page.locator("figure.embed iframe.embed-frame")
    frame.wait_for(timeout=5000)
    assert frame.get_attribute("src") == ("https://www.youtube-nocookie.com/embed/aqz-KE-bpKQ"
                                          "?autoplay=1")
    assert frame.get_attribute("title") == "Big Buck Bunny, an open animated short"
    assert "autoplay" in str(frame.get_attribute("allow"))
    assert tab.wait_outside() and all(urlsplit(u).hostname == "www.youtube-nocookie.com"
                               for u in tab.outside), tab.outside


@pytest.mark.parametrize("width", [360, 1280])
def test_embed_is_responsive_at_sixteen_by_nine(browser: Any, site_url: str, width: int) -> None:
    tab = Page(browser, viewport={"width": width, "height": 800})
    try:
        tab.page.goto(f"{site_url}{EMBED_URL}")
        box = tab.page.locator(".embed-player").bounding_box()
        assert box is not None and 0 < box["width"] <= width
        assert abs(box["height"] - box["width"] * 9 / 16) < 2
        overflow = tab.page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert overflow is False
    finally:
        tab.close()


def test_without_javascript_the_embed_is_a_link_to_the_video(browser: Any, site_url: str) -> None:
    tab = Page(browser, java_script_enabled=False)
    try:
        tab.page.goto(f"{site_url}{EMBED_URL}")
        link = tab.page.get_by_role("link", name="Play video: Big Buck Bunny, an open animated short")
        assert link.get_attribute("href") == "https://www.youtube.com/watch?v=aqz-KE-bpKQ"
        assert "short animated film" in tab.page.locator(".article-body").inner_text()
        assert tab.outside == []
    finally:
        tab.close()


# --- the dev server's preview ------------------------------------------------------------------------

def test_preview_rebuilds_keep_the_search_index_current(tmp_path: Path) -> None:
    require_pagefind()
    from sitegen.serve.live import LiveSite

    site = write_site(tmp_path / "site", {"a.md": article(title="First")})
    live = LiveSite(BuildOptions(site_dir=site, now=FIXED_NOW), tmp_path / "preview")
    entry = tmp_path / "preview" / "pagefind" / "pagefind-entry.json"

    def indexed() -> int:
        (language,) = json.loads(entry.read_text(encoding="utf-8"))["languages"].values()
        return int(language["page_count"])

    assert live.rebuild().ok and live.indexer.wait() and indexed() == 1
    stamp = entry.stat().st_mtime_ns
    assert live.rebuild().ok and live.indexer.wait()
    assert entry.stat().st_mtime_ns == stamp  # nothing changed: not indexed again
    (site / "content" / "b.md").write_text(article(title="Second", date="2020-01-02"),
                                           encoding="utf-8")
    assert live.rebuild().ok and live.indexer.wait() and indexed() == 2
    assert live.indexer.problem is None
    config = site / "sitegen.toml"
    config.write_text(config.read_text(encoding="utf-8") + "[search]\nenabled = false\n",
                      encoding="utf-8")
    assert live.rebuild(everything=True).ok
    assert not (tmp_path / "preview" / "pagefind").exists()
    assert not (tmp_path / "preview" / "search").exists()


def test_a_deferred_re_index_waits_for_its_event_and_a_close_ends_it_unrun(
        tmp_path: Path) -> None:
    """serve defers the first re-index after a cold start until the spare is linked: no
    Pagefind runs before the event, the index is made once it is set, and a preview stopped
    meanwhile ends at once with nothing indexed."""
    require_pagefind()
    import threading

    from sitegen.serve.live import LiveSite

    site = write_site(tmp_path / "site", {"a.md": article(title="First")})
    preview = tmp_path / "preview"
    live = LiveSite(BuildOptions(site_dir=site, now=FIXED_NOW), preview)
    spared = threading.Event()
    live.indexer.defer(spared)
    assert live.rebuild().ok
    assert not live.indexer.wait(timeout=0.5)  # held: it cannot have run
    assert not (preview / "pagefind").exists() and not _pagefind_reading(preview.resolve())
    spared.set()
    assert live.indexer.wait(timeout=60) and live.indexer.problem is None
    assert (preview / "pagefind" / "pagefind-entry.json").is_file()

    other = LiveSite(BuildOptions(site_dir=site, now=FIXED_NOW), tmp_path / "other")
    other.indexer.defer(threading.Event())  # never set
    assert other.rebuild().ok
    assert not other.indexer.close(timeout=5)  # ends without running: no whole index
    assert other.indexer.wait(timeout=0)
    assert not (tmp_path / "other" / "pagefind").exists()


def test_cached_rebuilds_reuse_the_index_until_a_page_changes(tmp_path: Path) -> None:
    require_pagefind()
    site = write_site(tmp_path / "site", {"a.md": article(title="First")})
    out = tmp_path / "out"
    entry = out / "pagefind" / "pagefind-entry.json"

    def indexed() -> int:
        (language,) = json.loads(entry.read_text(encoding="utf-8"))["languages"].values()
        return int(language["page_count"])

    build_site(site, out)
    inode = entry.stat().st_ino
    build_site(site, out)
    assert entry.stat().st_ino == inode and indexed() == 1  # linked from the last build
    (site / "content" / "b.md").write_text(article(title="Second", date="2020-01-02"),
                                           encoding="utf-8")
    build_site(site, out)
    assert indexed() == 2


def test_builds_through_the_spare_keep_the_index_equal_to_a_fresh_build(tmp_path: Path) -> None:
    """From the third build on the new site is the spare brought up to date: its old bundle
    is kept while no page changed and replaced, stale files and all, when one did."""
    require_pagefind()
    site = write_site(tmp_path / "site", {"a.md": article(title="First"),
                                          "b.md": article(title="Second", date="2020-01-02")})
    out = tmp_path / "out"
    edits = [lambda: None,
             lambda: (site / "content" / "c.md").write_text(
                 article(title="Third", date="2020-01-03"), encoding="utf-8"),
             lambda: (site / "content" / "b.md").unlink(),
             lambda: None]
    build_site(site, out)
    build_site(site, out)
    for step, edit in enumerate(edits):
        edit()
        build_site(site, out)
        reference = tmp_path / f"reference-{step}"
        build(BuildOptions(site_dir=site, output_dir=reference, now=FIXED_NOW), use_cache=False)
        assert file_hashes(out) == file_hashes(reference), step


def test_a_failing_re_index_ends_its_run_so_the_preview_can_stop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Anything refresh_index raises (a rename in a folder being removed, say) is reported,
    and the indexer is idle again: serve's shutdown waits on it before removing the folder."""
    def broken(folder: Path, glob: str, started: object = None) -> None:
        raise OSError(39, "Directory not empty", str(folder / "pagefind"))

    monkeypatch.setattr(search, "refresh_index", broken)
    indexer = search.BackgroundIndexer(tmp_path)
    indexer.request("*/*/*/index.html")
    assert indexer.wait(timeout=10)  # before the fix the thread died and this timed out
    assert not indexer.close(timeout=1)  # ended; the index is not whole: the next run remakes it
    assert indexer.wait(timeout=0)
    assert indexer.problem is not None and "Directory not empty" in indexer.problem.message


def test_search_shows_the_true_count_and_loads_more_with_clean_results(browser: Any,
                                                                       tmp_path: Path) -> None:
    require_pagefind()
    site = write_site(tmp_path / "site", {
        f"{n:02d}.md": article(title=f"Quiz round {n}", date=f"2020-01-{n:02d}",
                               summary=f"Round {n} of the quiz.",
                               body=f"The contestants froze at buzzer number {n}.")
        for n in range(1, 26)})
    server = serve(tmp_path / "out")
    base = next(server)
    tab = Page(browser)
    try:
        build_site(site, tmp_path / "out", base_url=base)
        tab.page.goto(f"{base}/search/?q=buzzer")
        rows = tab.page.locator("#search-results li")
        rows.first.wait_for(timeout=15000)
        assert re.search(r"^25 articles match", tab.page.locator("#search-status").inner_text())
        more = tab.page.locator(".search-more")
        for shown, label in ((10, "Show 10 more of 15"), (20, "Show 5 more of 5")):
            assert rows.count() == shown
            assert more.inner_text() == label
            more.click()
            tab.page.wait_for_function(f"document.querySelectorAll('#search-results li')"
                                       f".length > {shown}")
            # Focus moves to the first new result, so a keyboard reader carries on from there.
            assert tab.page.evaluate("document.activeElement.closest('li') === "
                                     f"document.querySelectorAll('#search-results li')[{shown}]")
        assert rows.count() == 25 and not more.is_visible()
        first = rows.first
        assert re.fullmatch(r"January \d+, 2020 · By Ann Example", first.locator(".meta").inner_text())
        words = first.locator(".search-excerpt").inner_text()
        assert "buzzer" in words and "By Ann Example" not in words
        assert words.startswith("… ") and words.endswith(" …")
        # A match in the headline: the excerpt does not quote the headline shown above it.
        tab.page.goto(f"{base}/search/?q=contestants+round")
        rows.first.wait_for(timeout=15000)
        for row in (rows.nth(k) for k in range(min(rows.count(), 10))):
            title = row.locator(".search-result-title").inner_text()
            words = row.locator(".search-excerpt").inner_text()
            number = title.rsplit(" ", 1)[1]  # nothing but the body's words: no byline, no
            assert words == f"… The contestants froze at buzzer number {number}. …"  # initial
        assert tab.outside == []
    finally:
        tab.close()
        server.close()


def test_closing_the_preview_s_indexer_cuts_a_running_pagefind_short(tmp_path: Path) -> None:
    """The preview stops at once: a running re-index is killed, not waited for (a minute at
    10,000 articles), and nothing of it is committed or left beside the folder."""
    require_pagefind()
    from sitegen.serve.live import LiveSite

    words = " ".join(["The network confirmed another season after strong ratings."] * 20)
    site = write_site(tmp_path / "site", {
        f"{n:03d}.md": article(title=f"Bulletin {n}", date=f"2020-01-{1 + n % 28:02d}",
                               body=words) for n in range(300)})
    preview = tmp_path / "preview"
    live = LiveSite(BuildOptions(site_dir=site, now=FIXED_NOW), preview)
    assert live.rebuild().ok  # and the first re-index starts
    deadline = time.monotonic() + 30
    while not _pagefind_reading(preview.resolve()):
        if live.indexer.wait(timeout=0) or time.monotonic() > deadline:
            pytest.skip("Pagefind finished before it could be seen running")
        time.sleep(0.005)
    assert not live.indexer.close()  # the index is not whole: the next run makes it anew
    assert live.indexer.wait(timeout=0)
    assert not _pagefind_reading(preview.resolve())
    assert not (preview / "pagefind").exists()
    assert [p.name for p in tmp_path.iterdir() if "sitegen-scratch" in p.name] == []


def _pagefind_reading(folder: Path) -> bool:
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"pagefind" in part for part in command[:1]) and str(folder).encode() in command:
            return True
    return False
