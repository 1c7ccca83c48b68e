"""The repository's example site, built end to end into a temporary folder and read back.

Most tests read one shared build (`example_built`, at FIXED_NOW); tests that need other options
build their own copy.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from math import ceil
from pathlib import Path
from urllib.parse import urlsplit

import frontmatter
import lxml.html
import pytest
from conftest import (
    CARD_LINKS,
    DRAFT_URL,
    FIXED_NOW,
    PUBLISHED,
    REPO,
    SCHEDULED_URL,
    Built,
    article,
    broken_links,
    build_site,
    card_links,
    copy_example_site,
    file_hashes,
    html_files,
    parse_html,
    text_of,
    url_to_file,
    write_site,
)

from sitegen.config import load_config
from sitegen.content.markdown import smarten

BASE = "https://small-screen-dispatch.netlify.app"

AUTHORS = {"dana-whitfield": "Dana Whitfield", "marcus-oyelaran": "Marcus Oyelaran",
           "zoe-muller": "Zoë Müller"}


def front_matter(url: str) -> frontmatter.Post:
    return frontmatter.load(REPO / PUBLISHED[url])


def page_of(built: Built, url: str) -> Path:
    path = url_to_file(built.output, url, built.base_url)
    assert path is not None
    return path


def as_datetime(value: date | datetime | str) -> datetime:
    tz = load_config(REPO).tz
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value if value.tzinfo else value.replace(tzinfo=tz)


# --- what is written --------------------------------------------------------------------------------

EXPECTED_FILES = [
    "index.html", "page/2/index.html", "404.html", "feed.xml", "atom.xml", "sitemap.xml",
    "robots.txt", "css/style.css", "css/pygments.css", "favicon.svg",
    "tags/index.html", "tags/jessica-jones/index.html", "tags/the-defenders/index.html",
    "tags/netflix/index.html", "tags/netflix/page/2/index.html",
    "tags/jessica-jones/feed.xml", "tags/jessica-jones/atom.xml",
    "tags/the-defenders/feed.xml", "tags/the-defenders/atom.xml",
    "tags/netflix/feed.xml", "tags/netflix/atom.xml",
    "authors/index.html", "archive/index.html",
    *(f"authors/{slug}/{name}" for slug in AUTHORS for name in ("index.html", "feed.xml", "atom.xml")),
    *(url.lstrip("/") + "index.html" for url in PUBLISHED),
]


@pytest.mark.parametrize("rel", EXPECTED_FILES)
def test_example_build_writes_every_page_kind(example_built: Built, rel: str) -> None:
    path = example_built.output / rel
    assert path.is_file(), f"{rel} was not written"
    assert path.stat().st_size > 0


def test_example_report_counts_match_the_files_written(example_built: Built) -> None:
    report = example_built.report
    written = set(file_hashes(example_built.output)) - {".sitegen-manifest.json"}
    assert report.articles == len(PUBLISHED)
    assert report.authors == len(AUTHORS)
    assert report.files == len(written)
    assert report.pages == len(html_files(example_built.output))
    assert report.drafts_skipped == 1
    assert report.scheduled_skipped == 1
    assert report.next_due is not None and report.next_due.year == 2031


def test_example_tag_index_lists_every_tag_page(example_built: Built) -> None:
    doc = parse_html(example_built.output / "tags" / "index.html")
    hrefs = {a.get("href") for a in doc.xpath("//ul[@class='tag-index']//a")}
    tag_dirs = {f"/tags/{p.parent.name}/" for p in (example_built.output / "tags").glob("*/index.html")}
    assert hrefs == tag_dirs
    assert example_built.report.tags == len(tag_dirs)


def test_draft_and_scheduled_articles_are_left_out_by_default(example_built: Built) -> None:
    out = example_built.output
    assert not page_of(example_built, DRAFT_URL).exists()
    assert not page_of(example_built, SCHEDULED_URL).exists()
    assert not (out / "2031").exists()
    assert not (out / "tags" / "casting").exists()  # a tag only the draft uses
    assert not (out / "tags" / "anniversaries").exists()  # a tag only the scheduled one uses
    for rel in ("index.html", "archive/index.html", "sitemap.xml", "feed.xml", "atom.xml"):
        text = (out / rel).read_text(encoding="utf-8")
        assert "casting-roundup" not in text and "defenders-rewatch" not in text, rel


@pytest.mark.parametrize(("drafts", "future"), [(True, False), (False, True), (True, True)])
def test_drafts_and_future_flags_publish_held_back_articles(tmp_path: Path, drafts: bool,
                                                          future: bool) -> None:
    built = build_site(REPO, tmp_path / "out", drafts=drafts, future=future)
    assert page_of(built, DRAFT_URL).is_file() == drafts
    assert page_of(built, SCHEDULED_URL).is_file() == future
    assert built.report.articles == len(PUBLISHED) + drafts + future
    assert built.report.drafts_skipped == (0 if drafts else 1)
    assert built.report.scheduled_skipped == (0 if future else 1)
    sitemap = (built.output / "sitemap.xml").read_text(encoding="utf-8")
    assert (BASE + DRAFT_URL in sitemap) == drafts
    assert (BASE + SCHEDULED_URL in sitemap) == future
    if future:
        home = parse_html(built.output / "index.html")
        first_card = home.xpath("//article[contains(@class,'card')][1]//h2/a")[0]
        assert first_card.get("href") == SCHEDULED_URL  # the newest article leads the front page


def test_robots_txt_points_at_the_absolute_sitemap(example_built: Built) -> None:
    robots = (example_built.output / "robots.txt").read_text(encoding="utf-8")
    sitemaps = re.findall(r"^Sitemap:\s*(\S+)\s*$", robots, re.MULTILINE)
    assert sitemaps == [f"{BASE}/sitemap.xml", f"{BASE}/news-sitemap.xml"]
    assert re.search(r"^User-agent: \*$", robots, re.MULTILINE)


def test_front_page_is_paginated_newest_first(example_built: Built) -> None:
    per_page = load_config(REPO).per_page
    urls = []
    for rel in ("index.html", "page/2/index.html"):
        doc = parse_html(example_built.output / rel)
        urls += card_links(doc)
        assert doc.xpath("//nav[@class='pagination']"), f"{rel} has no pagination"
    assert urls == list(PUBLISHED)
    assert len(card_links(parse_html(example_built.output / "index.html"))) == per_page
    assert not (example_built.output / "page" / "3").exists()


def test_netflix_tag_pages_split_its_articles(example_built: Built) -> None:
    tagged = [url for url in PUBLISHED if "Netflix" in front_matter(url).get("tags", [])
              or "Netflix" in str(front_matter(url).get("tags", ""))]
    seen = []
    for rel in ("tags/netflix/index.html", "tags/netflix/page/2/index.html"):
        doc = parse_html(example_built.output / rel)
        assert text_of(doc.xpath("//h1")[0]) == "Netflix"
        seen += card_links(doc)
    assert seen == tagged
    assert len(tagged) > load_config(REPO).per_page


@pytest.mark.parametrize("slug", sorted(AUTHORS))
def test_author_pages_list_exactly_their_articles(example_built: Built, slug: str) -> None:
    doc = parse_html(example_built.output / "authors" / slug / "index.html")
    assert text_of(doc.xpath("//h1")[0]) == AUTHORS[slug]
    listed = card_links(doc)
    expected = [url for url in PUBLISHED
                if front_matter(url).get("author", "Dana Whitfield") == AUTHORS[slug]]
    assert listed == expected
    role = load_config(REPO).authors[AUTHORS[slug]].role
    assert text_of(doc.xpath("//p[@class='author-role']")[0]) == role


def test_archive_lists_every_article_once_by_year(example_built: Built) -> None:
    index = parse_html(example_built.output / "archive" / "index.html")
    years = [text_of(a) for a in index.xpath("//main//h2/a")]
    assert years == ["2017", "2016"]
    assert [a.get("href") for a in index.xpath("//main//h2/a")] == ["/archive/2017/",
                                                                     "/archive/2016/"]
    listed = []
    for year in years:
        doc = parse_html(example_built.output / "archive" / year / "index.html")
        assert text_of(doc.xpath("//h1")[0]) == year
        months = [text_of(h) for h in doc.xpath("//section[@class='archive-year']/h2")]
        assert months and all(m.endswith(f" {year}") for m in months)
        links = [a.get("href") for a in doc.xpath("//ul[@class='archive-list']//a")]
        assert all(f"/{year}/" in link for link in links)
        listed += links
    assert listed == list(PUBLISHED)


def test_404_page_is_marked_noindex(example_built: Built) -> None:
    doc = parse_html(example_built.output / "404.html")
    assert doc.xpath("//meta[@name='robots'][@content='noindex']")
    assert text_of(doc.xpath("//h1")[0]) == "Page not found"


# --- article pages ----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", list(PUBLISHED))
def test_article_page_has_one_h1_with_the_title(example_built: Built, url: str) -> None:
    doc = parse_html(page_of(example_built, url))
    h1s = doc.xpath("//h1")
    assert len(h1s) == 1
    # Titles get the body's typographer: curly quotes and dashes, as the example's settings ask.
    title = smarten(front_matter(url)["title"])
    assert text_of(h1s[0]) == title
    assert not [c for c in ("'", '"', "--") if c in title]
    assert text_of(doc.xpath("//title")[0]).startswith(title)


def test_titles_and_summaries_get_curly_quotes_like_bodies(example_built: Built) -> None:
    doc = parse_html(page_of(example_built, "/2017/05/agents-of-shield-renewed-for-a-fifth-season/"))
    assert text_of(doc.xpath("//h1")[0]) == "‘Agents of S.H.I.E.L.D.’ Renewed for a Fifth Season"
    front = parse_html(example_built.output / "index.html")
    assert "‘Agents of S.H.I.E.L.D.’ Renewed for a Fifth Season" in [
        text_of(a) for a in front.xpath(CARD_LINKS)]
    daredevil = parse_html(page_of(example_built, "/2016/03/daredevil-season-two-review/"))
    assert text_of(daredevil.xpath("//div[@class='standfirst']")[0]).endswith(
        "Somehow, that’s the good news.")


@pytest.mark.parametrize("url", list(PUBLISHED))
def test_article_byline_links_to_the_author_page_with_role(example_built: Built, url: str) -> None:
    doc = parse_html(page_of(example_built, url))
    (byline,) = doc.xpath("//p[@class='byline']")
    (link,) = byline.xpath(".//a[@rel='author']")
    name = front_matter(url).get("author", "Dana Whitfield")
    assert text_of(link) == name
    target = page_of(example_built, link.get("href"))
    assert target.is_file()
    assert text_of(parse_html(target).xpath("//h1")[0]) == name
    role = load_config(REPO).authors[name].role
    assert text_of(byline) == f"By {name}, {role}"


@pytest.mark.parametrize("url", list(PUBLISHED))
def test_article_time_is_machine_readable_with_timezone(example_built: Built, url: str) -> None:
    doc = parse_html(page_of(example_built, url))
    (time_el,) = doc.xpath("//p[contains(@class,'article-meta')]/time")
    when = datetime.fromisoformat(time_el.get("datetime"))
    assert when.tzinfo is not None
    assert when == as_datetime(front_matter(url)["date"])
    assert str(when.year) in text_of(time_el)
    published = doc.xpath("//meta[@property='article:published_time']/@content")
    assert published == [time_el.get("datetime")]


def test_updated_article_shows_both_dates(example_built: Built) -> None:
    url = "/2016/01/jessica-jones-season-two-renewal/"
    doc = parse_html(page_of(example_built, url))
    (updated,) = doc.xpath("//span[@class='updated']/time")
    assert datetime.fromisoformat(updated.get("datetime")) == as_datetime(
        front_matter(url)["updated"])
    assert doc.xpath("//meta[@property='article:modified_time']/@content") == [
        updated.get("datetime")]


def _tag_names(url: str) -> list[str]:
    tags = front_matter(url).get("tags", [])
    return [t.strip() for t in tags.split(",")] if isinstance(tags, str) else list(tags)


@pytest.mark.parametrize("url", list(PUBLISHED))
def test_article_tag_links_lead_to_existing_tag_pages(example_built: Built, url: str) -> None:
    doc = parse_html(page_of(example_built, url))
    links = doc.xpath("//footer[@class='article-footer']//a[@rel='tag']")
    assert [text_of(a) for a in links] == _tag_names(url)
    for link in links:
        target = page_of(example_built, link.get("href"))
        assert target.is_file(), link.get("href")
        tag_page = parse_html(target)
        assert text_of(tag_page.xpath("//h1")[0]) == text_of(link)
        assert url in card_links(tag_page) or (
            target.parent / "page").is_dir()


def _minutes(doc: lxml.html.HtmlElement) -> int:
    meta = text_of(doc.xpath("//p[contains(@class,'article-meta')]")[0])
    match = re.search(r"\b(\d+) min read\b", meta)
    assert match, meta
    return int(match.group(1))


@pytest.mark.parametrize("url", list(PUBLISHED))
def test_article_reading_time_follows_word_count(example_built: Built, url: str) -> None:
    doc = parse_html(page_of(example_built, url))
    body = doc.xpath("//div[@class='article-body']")[0]
    prose = [text_of(p) for p in body.xpath(".//p | .//li | .//h2 | .//h3 | .//td | .//th")]
    words = sum(len(t.split()) for t in prose)
    estimate = max(1, ceil(words / load_config(REPO).words_per_minute))
    assert abs(_minutes(doc) - estimate) <= 1, (words, _minutes(doc))


def test_reading_time_is_words_over_words_per_minute(tmp_path: Path) -> None:
    words = "word " * 250
    site = write_site(tmp_path / "site", {
        "long.md": article(title="Long", body=words),
        "exact.md": article(title="Exact", date="2020-01-02", body="word " * 200),
        "short.md": article(title="Short", date="2020-01-03", body="Five words in this one."),
    }, config='title = "T"\nbase_url = "https://t.example"\nwords_per_minute = 100\n')
    built = build_site(site, tmp_path / "out")
    minutes = {slug: _minutes(parse_html(built.output / "2020" / "01" / slug / "index.html"))
               for slug in ("long", "exact", "short")}
    assert minutes == {"long": 3, "exact": 2, "short": 1}


@pytest.mark.parametrize("url", list(PUBLISHED))
def test_article_prev_next_links_follow_date_order(example_built: Built, url: str) -> None:
    order = list(PUBLISHED)  # newest first
    index = order.index(url)
    doc = parse_html(page_of(example_built, url))
    older = [a.get("href") for a in doc.xpath("//nav[@class='article-nav']//a[@rel='prev']")]
    newer = [a.get("href") for a in doc.xpath("//nav[@class='article-nav']//a[@rel='next']")]
    assert older == ([order[index + 1]] if index + 1 < len(order) else [])
    assert newer == ([order[index - 1]] if index > 0 else [])
    for href in older + newer:
        assert page_of(example_built, href).is_file()


@pytest.mark.parametrize("url", list(PUBLISHED))
def test_article_related_links_are_at_most_three_other_articles(example_built: Built,
                                                                url: str) -> None:
    doc = parse_html(page_of(example_built, url))
    related = [a.get("href") for a in doc.xpath("//ul[@class='related-list']/li/a")]
    assert len(related) <= 3
    assert url not in related
    assert len(set(related)) == len(related)
    for href in related:
        assert href in PUBLISHED
        assert page_of(example_built, href).is_file()
    mine = set(_tag_names(url))
    for href in related:  # related means sharing at least one tag
        assert mine & set(_tag_names(href)), href


def test_most_articles_have_three_related(example_built: Built) -> None:
    counts = [len(parse_html(page_of(example_built, url)).xpath("//ul[@class='related-list']/li"))
              for url in PUBLISHED]
    # The site-news and ratings articles share only their rarer tags with the rest.
    assert counts.count(3) >= len(PUBLISHED) - 3, counts


def test_footnote_and_its_back_reference_link_to_each_other(example_built: Built) -> None:
    doc = parse_html(page_of(example_built, "/2016/10/luke-cage-season-one-review/"))
    (ref,) = doc.xpath("//sup[@class='footnote-ref']/a")
    (back,) = doc.xpath("//a[@class='footnote-backref']")
    assert doc.xpath(f"//*[@id='{ref.get('href')[1:]}']")
    assert doc.xpath(f"//*[@id='{back.get('href')[1:]}']")


# --- links, heads ------------------------------------------------------------------------------------

def test_every_internal_link_in_every_page_resolves(example_built: Built) -> None:
    problems, checked = broken_links(example_built)
    assert not problems, "\n".join(problems[:30])
    assert checked > 1000  # every page has dozens of internal links: the checker really ran


def test_link_checker_notices_a_missing_target(tmp_path: Path) -> None:
    built = build_site(write_site(tmp_path / "site", {"a.md": article(
        body="See [the other one](/2020/01/no-such-article/) and [a note](#nowhere).")}),
        tmp_path / "out")
    problems, _ = broken_links(built)
    assert any("no-such-article" in p for p in problems)
    assert any("'nowhere'" in p for p in problems)


@pytest.mark.parametrize("page", ["index.html", "page/2/index.html", "tags/index.html",
                                  "tags/netflix/index.html", "authors/zoe-muller/index.html",
                                  "archive/index.html", "404.html",
                                  "2016/10/luke-cage-season-one-review/index.html"])
def test_head_has_canonical_and_site_feed_links(example_built: Built, page: str) -> None:
    doc = parse_html(example_built.output / page)
    canonical = doc.xpath("//head/link[@rel='canonical']/@href")
    url = "/" + page.removesuffix("index.html")
    assert canonical == [BASE + url]
    feeds = {(link.get("type"), link.get("href"))
             for link in doc.xpath("//head/link[@rel='alternate']")}
    assert ("application/rss+xml", f"{BASE}/feed.xml") in feeds
    assert ("application/atom+xml", f"{BASE}/atom.xml") in feeds
    assert doc.xpath("//head/meta[@property='og:url']/@content") == [BASE + url]


@pytest.mark.parametrize("folder", ["tags/jessica-jones", "tags/netflix", "authors/dana-whitfield"])
def test_tag_and_author_pages_advertise_their_own_feeds(example_built: Built, folder: str) -> None:
    doc = parse_html(example_built.output / folder / "index.html")
    feeds = {(link.get("type"), link.get("href"))
             for link in doc.xpath("//head/link[@rel='alternate']")}
    assert ("application/rss+xml", f"{BASE}/{folder}/feed.xml") in feeds
    assert ("application/atom+xml", f"{BASE}/{folder}/atom.xml") in feeds
    for _, href in feeds:
        assert url_to_file(example_built.output, href, BASE).is_file()


# --- escaping ----------------------------------------------------------------------------------------

HOSTILE = '<script>alert(1)</script> "double" \'single\' & <b>bold</b>'


@pytest.fixture(scope="module")
def hostile_built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("hostile")
    site = write_site(root / "site", {
        "hostile.md": article(
            title=HOSTILE, author='<script>alert(2)</script> "Ann" O\'Neil',
            tags=[HOSTILE, 'Tag "quoted" <img src=x onerror=alert(3)>'],
            summary='<script>alert(4)</script> "sum"', author_role='<script>alert(5)</script>',
            description='"><script>alert(6)</script>',
            body="Body <script>alert(7)</script> and <img src=x onerror=alert(8)> and "
                 "[a link](javascript:alert(9))."),
        "plain.md": article(title="A plain neighbour", date="2020-01-02", tags=[HOSTILE]),
    }, # Straight quotes must reach the pages as they are, escaped: no typographer here.
        config='title = "Test Desk"\nbase_url = "https://test-desk.example.com"\n'
               'timezone = "UTC"\n[markdown]\ntypographer = false\n')
    return build_site(site, root / "out")


def test_hostile_text_produces_no_script_element_anywhere(hostile_built: Built) -> None:
    pages = html_files(hostile_built.output)
    assert len(pages) >= 8
    for page in pages:
        doc = parse_html(page)
        for script in doc.xpath("//script"):  # only JSON-LD data blocks and the theme's files
            if script.get("type") == "application/ld+json":
                assert "<" not in script.text, page
                json.loads(script.text)
            else:
                assert script.get("src", "").startswith("/js/"), page
        handlers = [(e.tag, a) for e in doc.iter() if isinstance(e.tag, str)
                    for a in e.attrib if a.lower().startswith("on")]
        assert handlers == [], page
        assert not doc.xpath("//img[@src='x']"), page
        assert not [h for h in doc.xpath("//@href") if h.strip().lower().startswith("javascript:")]


def test_hostile_text_is_shown_literally(hostile_built: Built) -> None:
    (page,) = [p for p in html_files(hostile_built.output)
               if "A plain" not in text_of(parse_html(p).xpath("//h1")[0])
               and parse_html(p).xpath("//body[@class='kind-article']")]
    doc = parse_html(page)
    assert text_of(doc.xpath("//h1")[0]) == " ".join(HOSTILE.split())
    assert doc.xpath("//meta[@property='og:title']/@content") == [HOSTILE]
    assert doc.xpath("//meta[@name='description']/@content") == ['"><script>alert(6)</script>']
    assert HOSTILE in doc.xpath("//meta[@property='article:tag']/@content")
    assert "<script>alert(7)</script>" in text_of(doc.xpath("//div[@class='article-body']")[0])


# --- base URL, determinism ---------------------------------------------------------------------------

def test_base_url_option_changes_every_absolute_url(tmp_path: Path) -> None:
    preview = "https://deploy-preview-42.example.net"
    built = build_site(REPO, tmp_path / "out", base_url=preview)
    leaks = [rel for rel, path in ((p.relative_to(built.output), p)
                                   for p in built.output.rglob("*") if p.is_file())
             if "small-screen-dispatch" in path.read_text(encoding="utf-8", errors="replace")]
    assert leaks == []
    home = parse_html(built.output / "index.html")
    assert home.xpath("//link[@rel='canonical']/@href") == [preview + "/"]
    assert f"<loc>{preview}/2017/08/the-defenders-arrives/</loc>" in (
        built.output / "sitemap.xml").read_text(encoding="utf-8")
    assert f"Sitemap: {preview}/sitemap.xml" in (built.output / "robots.txt").read_text("utf-8")
    feed = (built.output / "feed.xml").read_text(encoding="utf-8")
    assert f"<link>{preview}/2017/08/the-defenders-arrives/</link>" in feed
    # relative Markdown links become absolute on the new host in full-content feeds
    assert f'href="{preview}/2016/04/defenders-production-calendar/"' in feed


def test_base_url_with_a_path_prefixes_every_theme_link(tmp_path: Path) -> None:
    built = build_site(REPO, tmp_path / "out", base_url="https://preview.example.net/news")
    # Links that authors wrote in Markdown ("/2016/04/...") stay as written; every link the
    # theme and sitegen make must carry the /news prefix and resolve.
    problems, checked = broken_links(built, skip="//div[@class='article-body']")
    assert not problems, "\n".join(problems[:30])
    assert checked > 1000
    home = parse_html(built.output / "index.html")
    hrefs = home.xpath("//a/@href | //link/@href")
    internal = [h for h in hrefs if not urlsplit(h).netloc and not h.startswith("#")]
    assert internal and all(h.startswith("/news/") for h in internal), internal
    assert home.xpath("//link[@rel='canonical']/@href") == ["https://preview.example.net/news/"]


def test_two_builds_of_the_example_site_are_byte_identical(tmp_path: Path,
                                                          example_built: Built) -> None:
    first = build_site(REPO, tmp_path / "one")
    second = build_site(REPO, tmp_path / "two")
    assert file_hashes(first.output) == file_hashes(second.output)
    assert file_hashes(first.output) == file_hashes(example_built.output)


def test_rebuilding_into_the_same_output_replaces_it_identically(tmp_path: Path) -> None:
    site = copy_example_site(tmp_path / "site")
    first = file_hashes(build_site(site, tmp_path / "out").output)
    (site / "content" / "the-defenders-arrives.md").unlink()
    smaller = file_hashes(build_site(site, tmp_path / "out").output)
    assert "2017/08/the-defenders-arrives/index.html" in first
    assert "2017/08/the-defenders-arrives/index.html" not in smaller  # stale pages are removed
    assert not list(tmp_path.glob(".out.sitegen-new-*"))
    assert not list(tmp_path.glob(".out.sitegen-old-*"))


def test_build_time_does_not_leak_into_output_except_the_given_now(tmp_path: Path) -> None:
    later = FIXED_NOW.replace(year=2025)
    a = file_hashes(build_site(REPO, tmp_path / "a").output)
    b = file_hashes(build_site(REPO, tmp_path / "b", now=later).output)
    differing = {rel for rel in a if a[rel] != b.get(rel)}
    # Only pages carry the build year (in the footer); feeds and the sitemap must not change.
    assert differing and all(rel.endswith(".html") for rel in differing), differing
