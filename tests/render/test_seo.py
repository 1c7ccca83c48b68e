"""What search engines and social networks read: JSON-LD NewsArticle, Open Graph and Twitter
card tags, canonical URLs, descriptions and feed links, read from real builds with a JSON
parser and an HTML parser."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import frontmatter
import imagesize
import lxml.html
import pytest
from conftest import (
    PUBLISHED,
    REPO,
    Built,
    article,
    build_site,
    html_files,
    page_url,
    parse_html,
    url_to_file,
    write_site,
)
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from sitegen.config import load_config
from sitegen.content.markdown import smarten
from sitegen.render.seo import HEADLINE_MAX, headline, json_for_script

BASE = "https://small-screen-dispatch.netlify.app"
EMBED_URL = "/2017/03/why-our-video-embeds-wait-for-you/"


def json_ld(doc: lxml.html.HtmlElement) -> list[dict]:
    return [json.loads(s.text) for s in doc.xpath("//script[@type='application/ld+json']")]


def meta(doc: lxml.html.HtmlElement, key: str) -> list[str]:
    """Every content of <meta property=key> or <meta name=key>, in order."""
    return [str(m.get("content")) for m in doc.xpath("//head/meta")
            if key in (m.get("property"), m.get("name"))]


def one(doc: lxml.html.HtmlElement, key: str) -> str:
    values = meta(doc, key)
    assert len(values) == 1, (key, values)
    return values[0]


def when(value: object) -> datetime:
    tz = load_config(REPO).tz
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if not isinstance(parsed, datetime):
        parsed = datetime(parsed.year, parsed.month, parsed.day)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def tags_of(post: frontmatter.Post) -> list[str]:
    tags = post.get("tags", [])
    return [t.strip() for t in tags.split(",")] if isinstance(tags, str) else list(tags)


def local_file(built: Built, url: str) -> Path:
    target = url_to_file(built.output, url, BASE)
    assert target is not None and target.is_file(), url
    return target


# --- JSON-LD ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url", list(PUBLISHED))
def test_every_article_has_a_complete_news_article(example_built: Built, url: str) -> None:
    post = frontmatter.load(REPO / PUBLISHED[url])
    doc = parse_html(url_to_file(example_built.output, url, BASE))
    (data,) = json_ld(doc)
    config = load_config(REPO)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == smarten(post["title"]) and len(data["headline"]) <= HEADLINE_MAX
    assert data["url"] == BASE + url
    assert data["mainEntityOfPage"] == {"@type": "WebPage", "@id": BASE + url}
    assert data["description"] == one(doc, "description")
    assert when(data["datePublished"]) == when(post["date"])
    assert when(data["dateModified"]) == when(post.get("updated", post["date"]))
    author = post.get("author", config.default_author)
    (person,) = data["author"]
    assert person["@type"] == "Person" and person["name"] == author
    assert parse_html(local_file(example_built, person["url"])).xpath("string(//h1)") == author
    publisher = data["publisher"]
    assert publisher["@type"] == "Organization"
    assert publisher["name"] == config.seo.publisher
    assert publisher["url"] == BASE + "/"
    logo = publisher["logo"]
    assert logo["@type"] == "ImageObject" and logo["url"] == BASE + config.seo.logo
    assert imagesize.get(local_file(example_built, logo["url"])) == (logo["width"], logo["height"])
    # The crops Google's article guidelines ask for, made from the article's image (else the
    # site's default): 16:9, 4:3 and 1:1, each a published file of the size it claims.
    stem = Path(post.get("image", config.seo.image)).stem
    assert len(data["image"]) == 3
    for image, ratio in zip(data["image"], (16 / 9, 4 / 3, 1), strict=True):
        assert image["url"].startswith(f"{BASE}/_img/{stem}-")
        assert imagesize.get(local_file(example_built, image["url"])) == (image["width"],
                                                                          image["height"])
        assert abs(image["width"] / image["height"] - ratio) < 0.01
    tags = tags_of(post)
    assert data["keywords"] == tags and data["articleSection"] == tags[0]
    assert data["inLanguage"] == config.language
    assert isinstance(data["wordCount"], int) and data["wordCount"] > 50


def test_list_pages_carry_no_article_json_ld(example_built: Built) -> None:
    for rel in ("index.html", "tags/netflix/index.html", "authors/index.html", "404.html"):
        assert json_ld(parse_html(example_built.output / rel)) == [], rel


def test_headline_is_cut_at_a_word_to_googles_limit() -> None:
    title = "Breaking: " + "renewal " * 30
    cut = headline(title)
    assert len(cut) <= HEADLINE_MAX and cut.endswith("renewal…")
    assert headline("Short") == "Short"


def test_json_for_script_cannot_end_its_element() -> None:
    value = {"headline": '</script><script>alert(1)</script> & "x" \u2028'}
    text = str(json_for_script(value))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == value


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.text().map(Markup),
    lambda inner: (st.lists(inner) | st.lists(inner).map(tuple) | st.dictionaries(st.text(), inner)
                   | st.dictionaries(st.integers() | st.booleans() | st.none(), inner)),
    max_leaves=20)


@given(_json_values)
def test_json_for_script_is_json_dumps_escaped(value: object) -> None:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    assert str(json_for_script(value)) == text


# --- Open Graph, Twitter cards, canonical, description, feeds ----------------------------------

@pytest.mark.parametrize("url", list(PUBLISHED))
def test_article_open_graph_and_twitter_tags(example_built: Built, url: str) -> None:
    post = frontmatter.load(REPO / PUBLISHED[url])
    config = load_config(REPO)
    doc = parse_html(url_to_file(example_built.output, url, BASE))
    assert one(doc, "og:type") == "article"
    assert one(doc, "og:title") == smarten(post["title"]) == one(doc, "twitter:title")
    assert one(doc, "og:url") == BASE + url == doc.xpath("//link[@rel='canonical']/@href")[0]
    description = one(doc, "description")
    assert description and one(doc, "og:description") == description
    assert one(doc, "twitter:description") == description
    image = one(doc, "og:image")  # a 1200x630 JPEG crop: every network reads JPEG
    stem = Path(post.get("image", config.seo.image)).stem
    assert image.startswith(f"{BASE}/_img/{stem}-") and image == one(doc, "twitter:image")
    assert imagesize.get(local_file(example_built, image)) == (1200, 630)
    assert (one(doc, "og:image:width"), one(doc, "og:image:height")) == ("1200", "630")
    assert one(doc, "og:image:type") == "image/jpeg"
    alt = smarten(post.get("image_alt", config.seo.image_alt))
    assert one(doc, "og:image:alt") == alt == one(doc, "twitter:image:alt")
    assert one(doc, "twitter:card") == "summary_large_image"
    assert one(doc, "twitter:site") == config.seo.twitter
    assert when(one(doc, "article:published_time")) == when(post["date"])
    assert when(one(doc, "article:modified_time")) == when(post.get("updated", post["date"]))
    author_page = one(doc, "article:author")
    assert author_page.startswith(BASE + "/authors/")
    assert local_file(example_built, author_page).is_file()
    assert meta(doc, "article:tag") == tags_of(post)


def test_every_page_has_canonical_description_card_and_all_three_feeds(example_built: Built) -> None:
    pages = html_files(example_built.output)
    assert len(pages) > 30
    for page in pages:
        doc = parse_html(page)
        url = BASE + page_url(example_built.output, page)
        assert doc.xpath("//head/link[@rel='canonical']/@href") == [url], page
        assert one(doc, "description").strip(), page
        assert one(doc, "og:url") == url and one(doc, "og:title") and one(doc, "twitter:card")
        assert one(doc, "og:image").startswith(BASE + "/_img/"), page
        feeds = {link.get("type"): link.get("href")
                 for link in doc.xpath("//head/link[@rel='alternate']")}
        assert {"application/rss+xml", "application/atom+xml",
                "application/feed+json"} <= set(feeds), page
        for href in feeds.values():
            assert local_file(example_built, href).is_file()


def test_list_pages_are_websites_with_the_default_card_image(example_built: Built) -> None:
    config = load_config(REPO)
    for rel in ("index.html", "tags/netflix/index.html", "authors/zoe-muller/index.html"):
        doc = parse_html(example_built.output / rel)
        assert one(doc, "og:type") == "website", rel
        card = one(doc, "og:image")
        assert card.startswith(f"{BASE}/_img/{Path(config.seo.image).stem}-"), rel
        assert imagesize.get(local_file(example_built, card)) == (1200, 630)
        assert one(doc, "og:image:alt") == config.seo.image_alt


def test_a_site_without_images_gets_summary_cards_and_no_image_tags(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"a.md": article(title="Plain")})
    built = build_site(site, tmp_path / "out")
    doc = parse_html(built.output / "2020" / "01" / "plain" / "index.html")
    assert one(doc, "twitter:card") == "summary"
    assert meta(doc, "og:image") == [] and meta(doc, "twitter:site") == []
    (data,) = json_ld(doc)
    assert "image" not in data and "logo" not in data["publisher"]
    assert data["publisher"]["name"] == "Test Desk"  # the site title, when no publisher is set


# --- escaping ------------------------------------------------------------------------------------

HOSTILE_TITLE = 'Breaking </script><script>alert(1)</script> "quoted" & \'single\' \u2028 <!--'


def test_hostile_title_survives_json_ld_and_attributes_intact(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"h.md": article(
        title=HOSTILE_TITLE, slug="hostile", description='"><script>alert(2)</script>',
        tags=['</script>"tag"'], image='https://x.example/x.png" onerror="alert(3)',
        image_alt='"><script>alert(4)</script>')},
        # Straight quotes must reach every attribute and script as they are, escaped.
        config='title = "Test Desk"\nbase_url = "https://test-desk.example.com"\n'
               'timezone = "UTC"\n[markdown]\ntypographer = false\n')
    built = build_site(site, tmp_path / "out")
    page = built.output / "2020" / "01" / "hostile" / "index.html"
    doc = parse_html(page)
    (data,) = json_ld(doc)
    title = " ".join(HOSTILE_TITLE.split())  # sitegen reads a title as one line
    assert data["headline"] == title
    assert data["description"] == '"><script>alert(2)</script>'
    assert data["keywords"] == ['</script>"tag"']
    assert one(doc, "og:title") == title == one(doc, "twitter:title")
    assert one(doc, "og:image:alt") == '"><script>alert(4)</script>'
    scripts = doc.xpath("//script")
    # The JSON-LD, and the theme's own share script (a file of the site, no inline code).
    assert [(s.get("type"), (s.get("src") or "").split("?")[0]) for s in scripts] == [
        ("application/ld+json", ""), (None, "/js/share.js")]
    assert not [e for e in doc.iter() if isinstance(e.tag, str)
                for a in e.attrib if a.lower().startswith("on")]


def test_json_ld_follows_a_body_edit_on_the_quick_path(tmp_path: Path) -> None:
    """The JSON-LD is made as its page renders, from the article the page shows: a body edit
    that the quick path takes changes its word count, as a full build would."""
    def text(body: str) -> str:
        return article(slug="words", summary="Counted.", body=body)

    site = write_site(tmp_path / "site", {"w.md": text("One two three.")})
    built = build_site(site, tmp_path / "out")
    page = built.output / "2020" / "01" / "words" / "index.html"
    (before,) = json_ld(parse_html(page))
    (site / "content" / "w.md").write_text(text("One two three four five six seven."),
                                           encoding="utf-8")
    again = build_site(site, tmp_path / "out")
    assert again.report.quick
    (after,) = json_ld(parse_html(page))
    assert after["wordCount"] == before["wordCount"] + 4
    assert {k: v for k, v in after.items() if k != "wordCount"} == \
        {k: v for k, v in before.items() if k != "wordCount"}
