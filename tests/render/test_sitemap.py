"""sitemap.xml of the built example site, read with the standard library's ElementTree."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import frontmatter
import pytest
from conftest import (
    DRAFT_URL,
    FIXED_NOW,
    PUBLISHED,
    REPO,
    SCHEDULED_URL,
    Built,
    article,
    build_site,
    html_files,
    page_url,
    url_to_file,
    write_site,
)
from hypothesis import given
from hypothesis import strategies as st

from sitegen.render.sitemap import IMAGES_MAX, SitemapEntry, render_sitemap

BASE = "https://small-screen-dispatch.netlify.app"
NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def sitemap_entries(built: Built) -> list[tuple[str, str | None]]:
    root = ET.parse(built.output / "sitemap.xml").getroot()
    assert root.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"
    entries = []
    for url in root.findall("sm:url", NS):
        loc = url.findtext("sm:loc", namespaces=NS)
        assert loc is not None
        entries.append((loc, url.findtext("sm:lastmod", namespaces=NS)))
    return entries


def test_sitemap_is_xml_with_absolute_locations_on_base_url(example_built: Built) -> None:
    entries = sitemap_entries(example_built)
    assert entries
    for loc, _ in entries:
        assert loc.startswith(BASE + "/"), loc
        assert loc == loc.strip()


def test_sitemap_lists_every_article(example_built: Built) -> None:
    locs = [loc for loc, _ in sitemap_entries(example_built)]
    for url in PUBLISHED:
        assert BASE + url in locs, url


def test_sitemap_leaves_out_404_drafts_and_scheduled(example_built: Built) -> None:
    locs = [loc for loc, _ in sitemap_entries(example_built)]
    assert f"{BASE}/404.html" not in locs
    assert BASE + DRAFT_URL not in locs
    assert BASE + SCHEDULED_URL not in locs


def test_sitemap_lists_every_page_but_404_and_search_once(example_built: Built) -> None:
    locs = [loc for loc, _ in sitemap_entries(example_built)]
    assert len(locs) == len(set(locs))
    pages = {BASE + page_url(example_built.output, p) for p in html_files(example_built.output)}
    assert set(locs) == pages - {f"{BASE}/404.html", f"{BASE}/search/"}


def test_every_sitemap_location_is_a_built_file(example_built: Built) -> None:
    for loc, _ in sitemap_entries(example_built):
        target = url_to_file(example_built.output, loc, BASE)
        assert target is not None and target.is_file(), loc


def test_sitemap_lastmod_is_the_articles_updated_or_published_date(example_built: Built) -> None:
    lastmods = dict(sitemap_entries(example_built))
    for url in PUBLISHED:
        value = lastmods[BASE + url]
        assert value is not None, url
        assert datetime.fromisoformat(value).tzinfo is not None, value
    renewal = lastmods[f"{BASE}/2016/01/jessica-jones-season-two-renewal/"]
    assert datetime.fromisoformat(renewal) == datetime.fromisoformat("2016-01-18T10:00:00-05:00")
    assert lastmods[f"{BASE}/"] is None  # list pages carry no date


@pytest.mark.parametrize("base", ["https://preview.example.org", "https://example.org/news"])
def test_sitemap_follows_the_base_url(tmp_path: Path, base: str) -> None:
    site = write_site(tmp_path / "site", {"a.md": article(title="Only One & <Sons>")})
    built = build_site(site, tmp_path / "out", base_url=base)
    locs = [loc for loc, _ in sitemap_entries(built)]
    assert f"{base}/" in locs
    assert f"{base}/2020/01/only-one-and-sons/" in locs
    assert all(loc.startswith(base + "/") for loc in locs), locs
    robots = (built.output / "robots.txt").read_text(encoding="utf-8")
    assert f"Sitemap: {base}/sitemap.xml\n" in robots


# --- images and the Google News sitemap --------------------------------------------------------

IMAGE_NS = "http://www.google.com/schemas/sitemap-image/1.1"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
NEWS = {**NS, "news": NEWS_NS, "image": IMAGE_NS}
EMBED_URL = "/2017/03/why-our-video-embeds-wait-for-you/"
W3C_DATETIME = r"\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d))?"


def test_sitemap_lists_article_images_that_exist(example_built: Built) -> None:
    root = ET.parse(example_built.output / "sitemap.xml").getroot()
    images = {url.findtext("sm:loc", namespaces=NEWS): [
        i.findtext("image:loc", namespaces=NEWS) for i in url.findall("image:image", NEWS)]
        for url in root.findall("sm:url", NS)}
    # The lead image as published (its fallback variant), a body image, a video's poster.
    lead, body, poster = images[BASE + EMBED_URL]
    assert lead.startswith(f"{BASE}/_img/open-movie-still-1200x675-")
    assert body == f"{BASE}/images/click-to-play.svg"
    assert poster.startswith(f"{BASE}/_img/meadow-poster-1200x675-")
    for url, rel in PUBLISHED.items():  # the lead picture's variant first, where there is one
        picture = frontmatter.load(REPO / rel).get("image")
        found = images[BASE + url][:1]
        assert bool(found) == bool(picture), url
        if picture:
            assert found[0].startswith(f"{BASE}/_img/{Path(picture).stem}-"), url
    for loc in (loc for found in images.values() for loc in found):
        target = url_to_file(example_built.output, loc, BASE)
        assert target is not None and target.is_file(), loc


def check_news_sitemap(path: Path, now: datetime) -> list[dict[str, str]]:
    """The rules of Google's news sitemap schema (sitemap-news/0.9) and its guidelines."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{{{NS['sm']}}}urlset"
    urls = root.findall("sm:url", NS)
    assert len(urls) <= 1000
    entries = []
    for url in urls:
        assert [child.tag for child in url] == [f"{{{NS['sm']}}}loc", f"{{{NEWS_NS}}}news"]
        news = url.find("news:news", NEWS)
        assert news is not None
        assert [child.tag.split("}")[1] for child in news] == [
            "publication", "publication_date", "title"]
        publication = news.find("news:publication", NEWS)
        assert publication is not None
        assert [child.tag.split("}")[1] for child in publication] == ["name", "language"]
        name = publication.findtext("news:name", namespaces=NEWS) or ""
        language = publication.findtext("news:language", namespaces=NEWS) or ""
        assert name.strip()
        assert re.fullmatch(r"[a-z]{2,3}|zh-cn|zh-tw", language), language
        published = news.findtext("news:publication_date", namespaces=NEWS) or ""
        assert re.fullmatch(W3C_DATETIME, published), published
        assert now - timedelta(days=2) <= datetime.fromisoformat(published) <= now
        title = news.findtext("news:title", namespaces=NEWS) or ""
        assert title.strip()
        entries.append({"loc": url.findtext("sm:loc", namespaces=NS) or "", "name": name,
                        "language": language, "title": title, "published": published})
    return entries


def elementtree_sitemap(entries: list[SitemapEntry]) -> bytes:
    """The sitemap as ElementTree writes it, which render_sitemap's text must equal."""
    attrs = {"xmlns": NS["sm"]}
    if any(entry.images for entry in entries):
        attrs["xmlns:image"] = IMAGE_NS
    root = ET.Element("urlset", attrs)
    for entry in entries:
        item = ET.SubElement(root, "url")
        ET.SubElement(item, "loc").text = entry.url
        if entry.modified is not None:
            ET.SubElement(item, "lastmod").text = entry.modified.isoformat(timespec="seconds")
        for image in entry.images[:IMAGES_MAX]:
            ET.SubElement(ET.SubElement(item, "image:image"), "image:loc").text = image
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


_entries = st.lists(st.builds(
    SitemapEntry, st.text(), st.one_of(st.none(), st.datetimes()),
    st.lists(st.text(), max_size=3).map(tuple)), max_size=4)


@given(_entries)
def test_sitemap_text_is_what_elementtree_writes(entries: list[SitemapEntry]) -> None:
    assert render_sitemap(entries) == elementtree_sitemap(entries)


def test_news_sitemap_lists_only_the_last_two_days(tmp_path: Path) -> None:
    now = datetime.fromisoformat("2017-03-03T12:00:00-05:00")
    built = build_site(REPO, tmp_path / "out", now=now)
    entries = check_news_sitemap(built.output / "news-sitemap.xml", now)
    assert [e["loc"] for e in entries] == [BASE + EMBED_URL]
    (entry,) = entries
    assert entry["name"] == "Small Screen Dispatch" and entry["language"] == "en"
    assert entry["title"] == "Why Our Video Embeds Wait for You to Press Play"
    assert datetime.fromisoformat(entry["published"]) == datetime.fromisoformat(
        "2017-03-02T12:00:00-05:00")


def test_news_sitemap_is_empty_but_present_when_nothing_is_recent(example_built: Built) -> None:
    assert check_news_sitemap(example_built.output / "news-sitemap.xml", FIXED_NOW) == []
    robots = (example_built.output / "robots.txt").read_text(encoding="utf-8")
    assert f"Sitemap: {BASE}/news-sitemap.xml\n" in robots


def test_news_sitemap_escapes_titles_and_uses_a_two_letter_language(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        "a.md": article(title='Fresh & <new> "news"', date="2024-05-31T09:00:00+00:00"),
        "b.md": article(title="Three days old", date="2024-05-29T09:00:00+00:00"),
        "c.md": article(title="Tomorrow", date="2024-06-02T09:00:00+00:00"),
    }, config='title = "Desk"\nbase_url = "https://d.example"\nlanguage = "en-GB"\n'
              '[seo]\npublisher = "The Desk Ltd"\n[markdown]\ntypographer = false\n')
    now = datetime.fromisoformat("2024-06-01T12:00:00+00:00")
    built = build_site(site, tmp_path / "out", now=now, future=True)
    entries = check_news_sitemap(built.output / "news-sitemap.xml", now)
    assert [(e["title"], e["name"], e["language"]) for e in entries] == [
        ('Fresh & <new> "news"', "The Desk Ltd", "en")]
