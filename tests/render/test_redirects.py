"""Redirects from renamed articles and tags: the `_redirects` file and the HTML pages, and that
the old URLs lead to the new pages when the built site is served over HTTP on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
from conftest import Built, article, build_site, parse_html, text_of, write_site

from sitegen.errors import BuildError
from sitegen.pipeline.build import build
from sitegen.report import BuildOptions

CONFIG = '''title = "Desk"
base_url = "https://desk.example.com"
timezone = "UTC"

[tags."Jessica Jones"]
former_slugs = ["jessica-jones-netflix"]
aliases = ["JJ"]
'''

RENAMED = article(title="Jessica Jones Returns for Season Two", date="2016-01-17",
                  tags=["Jessica Jones"], summary="Back.", slug="jessica-jones-returns",
                  body="## The cast\n\nEveryone is back.")
RENAMED = RENAMED.replace('slug: "jessica-jones-returns"\n', 'slug: "jessica-jones-returns"\n'
                          "aliases:\n  - jessica-jones-renewed\n  - /2015/11/jj-season-two/\n"
                          "  - /news/jj.html\n")


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("redirects")
    site = write_site(root / "site", {
        "jj.md": RENAMED,
        "other.md": article(title="Another Story", date="2016-02-01", tags=["JJ"], summary="S."),
    }, config=CONFIG)
    return build_site(site, root / "out")


def test_netlify_redirects_file_maps_old_urls_to_new(renamed: Built) -> None:
    rules = (renamed.output / "_redirects").read_text(encoding="utf-8")
    assert rules == (
        "# Written by sitegen: former URLs of renamed articles and tags.\n"
        "/2016/01/jessica-jones-renewed/  /2016/01/jessica-jones-returns/  301!\n"
        "/2015/11/jj-season-two/  /2016/01/jessica-jones-returns/  301!\n"
        "/news/jj.html  /2016/01/jessica-jones-returns/  301!\n"
        "/tags/jessica-jones-netflix/  /tags/jessica-jones/  301!\n"
        "/tags/jessica-jones-netflix/*  /tags/jessica-jones/:splat  301!\n"
        "/tags/jj/  /tags/jessica-jones/  301!\n"
        "/tags/jj/*  /tags/jessica-jones/:splat  301!\n")
    # every target is a page the site has
    for line in rules.splitlines()[1:]:
        target = line.split()[1].replace(":splat", "")
        assert (renamed.output / target.lstrip("/") / "index.html").is_file(), line


def test_each_old_url_gets_an_html_redirect_page(renamed: Built) -> None:
    for old in ("2016/01/jessica-jones-renewed/index.html", "2015/11/jj-season-two/index.html",
                "news/jj.html"):
        doc = parse_html(renamed.output / old)
        refresh = doc.xpath("//meta[@http-equiv='refresh']/@content")[0]
        assert refresh == "0; url=/2016/01/jessica-jones-returns/"
        assert doc.xpath("//link[@rel='canonical']/@href") == [
            "https://desk.example.com/2016/01/jessica-jones-returns/"]
        assert doc.xpath("//meta[@name='robots']/@content") == ["noindex"]
        link = doc.xpath("//body//a")[0]
        assert link.get("href") == "/2016/01/jessica-jones-returns/"
        assert text_of(link) == "Jessica Jones Returns for Season Two"
    tag_page = parse_html(renamed.output / "tags" / "jessica-jones-netflix" / "index.html")
    assert tag_page.xpath("//meta[@http-equiv='refresh']/@content") == ["0; url=/tags/jessica-jones/"]


def test_redirect_pages_stay_out_of_the_sitemap(renamed: Built) -> None:
    sitemap = (renamed.output / "sitemap.xml").read_text(encoding="utf-8")
    assert "jessica-jones-returns" in sitemap
    assert "jessica-jones-renewed" not in sitemap and "jessica-jones-netflix" not in sitemap


def test_a_site_without_renames_writes_no_redirects(example_built: Built) -> None:
    assert not (example_built.output / "_redirects").exists()


# --- served over HTTP -------------------------------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _NetlifyLike(_Quiet):
    """Answers the rules of `_redirects` with a 301, as Netlify does; serves files otherwise."""

    rules: list[tuple[str, str]] = []

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        for old, new in self.rules:
            if old.endswith("*") and path.startswith(old[:-1]):
                target = new.replace(":splat", path[len(old) - 1:])
            elif path.rstrip("/") == old.rstrip("/"):
                target = new
            else:
                continue
            self.send_response(301)
            self.send_header("Location", target)
            self.end_headers()
            return
        super().do_GET()


@contextmanager
def serving(folder: Path, handler: type[http.server.SimpleHTTPRequestHandler]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def fetch(url: str) -> tuple[str, int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (127.0.0.1 only)
        return response.geturl(), response.status, response.read().decode("utf-8")


def follow_refresh(url: str, hops: int = 3) -> tuple[str, str]:
    """Fetch `url` and follow meta refreshes as a browser would; returns the final URL and page."""
    for _ in range(hops):
        final, status, body = fetch(url)
        assert status == 200
        match = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', body)
        if not match:
            return final, body
        url = urljoin(final, match.group(1))
    raise AssertionError(f"too many redirects from {url}")


@pytest.mark.parametrize("old,new,title", [
    ("/2016/01/jessica-jones-renewed/", "/2016/01/jessica-jones-returns/",
     "Jessica Jones Returns for Season Two"),
    ("/2015/11/jj-season-two/", "/2016/01/jessica-jones-returns/",
     "Jessica Jones Returns for Season Two"),
    ("/news/jj.html", "/2016/01/jessica-jones-returns/", "Jessica Jones Returns for Season Two"),
    ("/tags/jessica-jones-netflix/", "/tags/jessica-jones/", "Jessica Jones"),
    ("/tags/jj/", "/tags/jessica-jones/", "Jessica Jones"),
])
def test_old_urls_resolve_on_a_plain_static_server(renamed: Built, old: str, new: str,
                                                    title: str) -> None:
    with serving(renamed.output, _Quiet) as origin:
        final, page = follow_refresh(origin + old)
    assert urlsplit(final).path == new
    assert re.search(r"<h1[^>]*>([^<]*)</h1>", page).group(1) == title


def test_old_urls_resolve_on_a_host_that_reads_redirects_file(renamed: Built) -> None:
    rules = [tuple(line.split()[:2]) for line in
             (renamed.output / "_redirects").read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    handler = type("Netlify", (_NetlifyLike,), {"rules": rules})
    with serving(renamed.output, handler) as origin:
        final, status, page = fetch(origin + "/2016/01/jessica-jones-renewed/")
        assert (urlsplit(final).path, status) == ("/2016/01/jessica-jones-returns/", 200)
        assert 'http-equiv="refresh"' not in page  # a real 301, not the fallback page
        final, status, feed = fetch(origin + "/tags/jessica-jones-netflix/feed.xml")
        assert urlsplit(final).path == "/tags/jessica-jones/feed.xml"
        parsed = feedparser.parse(feed)
        assert not parsed.bozo
        assert [e.title for e in parsed.entries] == ["Another Story",
                                                     "Jessica Jones Returns for Season Two"]


def test_old_url_resolves_in_a_browser(renamed: Built) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                                   "(pip install playwright); CI installs it")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    with serving(renamed.output, _Quiet) as origin, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        try:
            page = browser.new_page()
            page.goto(origin + "/2015/11/jj-season-two/")
            page.wait_for_url(origin + "/2016/01/jessica-jones-returns/", timeout=10_000)
            assert page.locator("h1").inner_text() == "Jessica Jones Returns for Season Two"
        finally:
            browser.close()


def test_an_expired_articles_former_urls_still_lead_to_its_page(tmp_path: Path) -> None:
    """Past `expires` an article leaves the lists but keeps its page: its aliases keep their
    redirects too."""
    site = write_site(tmp_path / "site", {
        "old.md": with_aliases(article(title="Winter Schedule", date="2020-01-01",
                                       expires="2020-03-01"), "/news/winter.html"),
        "new.md": article(title="Spring Schedule", date="2020-04-01")}, config=CONFIG)
    built = build_site(site, tmp_path / "out")
    page = built.output / "2020/01/winter-schedule/index.html"
    assert page.is_file()
    assert "/news/winter.html  /2020/01/winter-schedule/  301!" in (
        built.output / "_redirects").read_text(encoding="utf-8")
    forward = parse_html(built.output / "news/winter.html")
    assert forward.xpath("//link[@rel='canonical']/@href") == [
        "https://desk.example.com/2020/01/winter-schedule/"]


# --- mistakes ---------------------------------------------------------------------------------

def build_errors(tmp_path: Path, articles: dict[str, str], config: str = CONFIG) -> list[str]:
    site = write_site(tmp_path / "site", articles, config=config)
    with pytest.raises(BuildError) as info:
        build(BuildOptions(site_dir=site, output_dir=tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    return [str(p) for p in info.value.problems]


def with_aliases(text: str, *aliases: str) -> str:
    items = "".join(f"  - {a}\n" for a in aliases)
    return text.replace("\n---\n", f"\naliases:\n{items}---\n", 1)


def test_an_alias_that_is_another_articles_url_fails(tmp_path: Path) -> None:
    errors = build_errors(tmp_path, {
        "a.md": article(title="Alpha", date="2020-01-01"),
        "b.md": with_aliases(article(title="Beta", date="2020-01-05"), "alpha"),
    })
    assert errors == ["content/b.md:7: alias 'alpha' is the URL of content/a.md (/2020/01/alpha/); "
                      "a former URL must be free for its redirect"]


def test_an_alias_that_is_a_tag_page_fails_before_writing(tmp_path: Path) -> None:
    errors = build_errors(tmp_path, {
        "a.md": with_aliases(article(title="Alpha", tags=["Netflix"]), "/tags/netflix/"),
    })
    assert errors == ["content/a.md:7: alias /tags/netflix/ collides with tag page /tags/netflix/: "
                      "both would write tags/netflix/index.html; change or remove the alias"]


def test_an_alias_outside_the_output_is_refused(tmp_path: Path) -> None:
    errors = build_errors(tmp_path, {"a.md": with_aliases(article(), "/../../etc/")})
    assert errors == ["content/a.md:7: alias /../../etc/ would leave the output folder; change or "
                      "remove the alias"]


def test_an_alias_with_a_query_is_refused_at_its_line(tmp_path: Path) -> None:
    errors = build_errors(tmp_path, {"a.md": with_aliases(article(), "/?p=123")})
    assert errors == ["content/a.md:7: alias '/?p=123' must be a plain site path like "
                      "'/2015/11/old-slug/' (no host, query or '#')"]


def test_two_articles_claiming_one_alias_fail(tmp_path: Path) -> None:
    errors = build_errors(tmp_path, {
        "a.md": with_aliases(article(title="Alpha"), "/old/"),
        "b.md": with_aliases(article(title="Beta"), "/old"),
    })
    assert errors == ["content/b.md:7: alias '/old' (/old/) is also an alias of content/a.md; "
                      "keep it in one"]


def test_own_static_redirects_file_keeps_its_rules_first(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"a.md": with_aliases(article(title="Alpha"), "beta")})
    (site / "static").mkdir()
    (site / "static" / "_redirects").write_text("/shop  https://shop.example.com  302",
                                                encoding="utf-8")
    built = build_site(site, tmp_path / "out")
    assert (built.output / "_redirects").read_text(encoding="utf-8") == (
        "/shop  https://shop.example.com  302\n"
        "# Written by sitegen: former URLs of renamed articles and tags.\n"
        "/2020/01/beta/  /2020/01/alpha/  301!\n")


def test_redirects_under_a_base_path(tmp_path: Path) -> None:
    config = 'title = "T"\nbase_url = "https://example.com/desk"\n'
    site = write_site(tmp_path / "site", {
        "a.md": with_aliases(article(title="Alpha"), "beta", "/desk/old/", "/older/")},
        config=config)
    built = build_site(site, tmp_path / "out")
    assert (built.output / "_redirects").read_text(encoding="utf-8").splitlines()[1:] == [
        "/2020/01/beta/  /desk/2020/01/alpha/  301!",
        "/old/  /desk/2020/01/alpha/  301!",
        "/older/  /desk/2020/01/alpha/  301!"]
    doc = parse_html(built.output / "older" / "index.html")
    assert doc.xpath("//meta[@http-equiv='refresh']/@content") == ["0; url=/desk/2020/01/alpha/"]
    # served under its base path, the old address still arrives at the article
    served = tmp_path / "root"
    served.mkdir()
    shutil.copytree(built.output, served / "desk")
    with serving(served, _Quiet) as origin:
        final, page = follow_refresh(origin + "/desk/older/")
    assert urlsplit(final).path == "/desk/2020/01/alpha/"
    assert "<h1" in page and "Alpha" in page
