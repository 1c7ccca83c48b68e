"""The real article from shared/seeds, built alone into a site of its own.

The seed is copied into a temporary site; the tests skip (with the path they looked at) when
shared/ is not beside the repository.
"""

from __future__ import annotations

from datetime import datetime

import feedparser
import frontmatter
import lxml.html
import pytest
from conftest import (
    SEED_ARTICLE,
    SEED_BASE_URL,
    SEED_URL,
    Built,
    broken_links,
    card_links,
    parse_html,
    text_of,
    url_to_file,
)

from sitegen.slugs import slugify

SEED_TAGS = ["Jessica Jones", "The Defenders", "Netflix", "Marvel", "Daredevil", "Luke Cage",
             "Iron Fist", "Krysten Ritter", "David Tennant", "Melissa Rosenberg"]
ARTICLE_ABS = SEED_BASE_URL + SEED_URL
QUOTE_STARTS = ("There certainly is storytelling wise.",
                "I’m a complete control freak when it comes to this character.")


def seed_front_matter() -> frontmatter.Post:
    return frontmatter.load(SEED_ARTICLE)


def test_seed_article_builds_alone(seed_built: Built) -> None:
    report = seed_built.report
    assert (report.articles, report.tags, report.authors) == (1, len(SEED_TAGS), 1)
    assert report.drafts_skipped == report.scheduled_skipped == 0
    assert url_to_file(seed_built.output, SEED_URL, SEED_BASE_URL).is_file()
    assert seed_front_matter()["tags"] == SEED_TAGS  # the test's list is the article's


def test_seed_article_page_shows_title_byline_and_date(seed_built: Built) -> None:
    post = seed_front_matter()
    doc = parse_html(url_to_file(seed_built.output, SEED_URL, SEED_BASE_URL))
    (h1,) = doc.xpath("//h1")
    assert text_of(h1) == post["title"]
    byline = text_of(doc.xpath("//p[@class='byline']")[0])
    assert byline == f"By {post['author']}, {post['author_role']}"
    (when,) = doc.xpath("//p[contains(@class,'article-meta')]/time/@datetime")
    assert datetime.fromisoformat(when) == datetime.fromisoformat("2015-11-23T10:30:00-05:00")
    assert doc.xpath("//meta[@name='description']/@content") == [post["summary"]]


def test_seed_quotes_are_exactly_two_blockquotes(seed_built: Built) -> None:
    doc = parse_html(url_to_file(seed_built.output, SEED_URL, SEED_BASE_URL))
    quotes = doc.xpath("//div[@class='article-body']//blockquote")
    assert len(quotes) == 2
    assert len(doc.xpath("//blockquote")) == 2
    for quote, start in zip(quotes, QUOTE_STARTS, strict=True):
        assert text_of(quote).startswith(start)


def test_seed_body_is_complete(seed_built: Built) -> None:
    doc = parse_html(url_to_file(seed_built.output, SEED_URL, SEED_BASE_URL))
    body = doc.xpath("//div[@class='article-body']")[0]
    paragraphs = body.xpath("./p")
    assert text_of(paragraphs[0]).startswith("If you’re like some of us here at CinemaBlend")
    assert text_of(paragraphs[-1]) == ("Season 1 of Jessica Jones is currently available to "
                                       "stream in its 13-episode entirety on Netflix.")
    assert [text_of(e) for e in body.xpath(".//em")][:2] == ["Jessica Jones", "The Defenders"]


def test_seed_site_links_all_resolve(seed_built: Built) -> None:
    problems, checked = broken_links(seed_built)
    assert not problems, "\n".join(problems)
    assert checked > 200


@pytest.mark.parametrize("tag", SEED_TAGS)
def test_seed_tag_has_a_page_listing_the_article(seed_built: Built, tag: str) -> None:
    page = seed_built.output / "tags" / slugify(tag) / "index.html"
    doc = parse_html(page)
    assert text_of(doc.xpath("//h1")[0]) == tag
    assert card_links(doc) == [SEED_URL]
    article_page = parse_html(url_to_file(seed_built.output, SEED_URL, SEED_BASE_URL))
    tag_links = article_page.xpath("//footer[@class='article-footer']//a[@rel='tag']")
    assert f"/tags/{slugify(tag)}/" in [a.get("href") for a in tag_links]


@pytest.mark.parametrize("kind", ["feed.xml", "atom.xml"])
@pytest.mark.parametrize("tag", SEED_TAGS)
def test_seed_tag_feed_carries_the_full_article(seed_built: Built, tag: str, kind: str) -> None:
    path = seed_built.output / "tags" / slugify(tag) / kind
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == ("rss20" if kind == "feed.xml" else "atom10")
    assert parsed.feed.title == f"Seed Desk: {tag}"
    (entry,) = parsed.entries
    assert entry.title == seed_front_matter()["title"]
    assert entry.link == ARTICLE_ABS
    assert entry.id == ARTICLE_ABS
    assert entry.author == "Nick Venable"
    names = {t.get("label") or t.term for t in entry.tags}
    assert names == set(SEED_TAGS)
    raw_date = entry.published
    assert raw_date.endswith(("-0500", "-05:00")), raw_date
    assert entry.published_parsed[:6] == (2015, 11, 23, 15, 30, 0)  # UTC
    content = entry.content[0].value
    fragment = lxml.html.fragment_fromstring(content, create_parent="div")
    assert len(fragment.xpath(".//blockquote")) == 2
    text = text_of(fragment)
    assert all(start in text for start in QUOTE_STARTS)
    assert "13-episode entirety on Netflix" in text
    urls = fragment.xpath(".//@href | .//@src")
    assert all(u.startswith(("https://", "http://")) for u in urls), urls
    assert entry.summary.strip().startswith(("<p>Showrunner Melissa Rosenberg",
                                             "Showrunner Melissa Rosenberg"))


@pytest.mark.parametrize("kind", ["feed.xml", "atom.xml"])
def test_seed_feed_self_link_is_absolute(seed_built: Built, kind: str) -> None:
    parsed = feedparser.parse((seed_built.output / "tags" / "netflix" / kind).read_bytes())
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"] == f"{SEED_BASE_URL}/tags/netflix/{kind}"
    assert links["alternate"] == f"{SEED_BASE_URL}/tags/netflix/"
