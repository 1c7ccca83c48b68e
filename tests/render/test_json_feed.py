"""JSON Feed 1.1 for the site, every tag and every author, checked against the spec's rules
(https://www.jsonfeed.org/version/1.1/), plus what all three feed formats must agree on:
the same items, the article image, and video embeds as plain links."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import frontmatter
import lxml.html
import pytest
from conftest import (
    FORBIDDEN_CODE_POINTS,
    PUBLISHED,
    REPO,
    Built,
    article,
    build_site,
    url_to_file,
    write_site,
)

from sitegen.config import load_config

BASE = "https://small-screen-dispatch.netlify.app"
EMBED_URL = f"{BASE}/2017/03/why-our-video-embeds-wait-for-you/"
VERSION = "https://jsonfeed.org/version/1.1"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def json_feeds(output: Path) -> list[Path]:
    return sorted(output.rglob("feed.json"))


def is_absolute(url: object) -> bool:
    parts = urlsplit(str(url))
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_json_feed(path: Path) -> dict:
    """Every rule of the JSON Feed 1.1 spec that a feed like ours can break; returns the feed."""
    feed = json.loads(path.read_text(encoding="utf-8"))
    assert feed["version"] == VERSION
    assert isinstance(feed["title"], str) and feed["title"].strip()
    assert isinstance(feed["items"], list)
    for key in ("home_page_url", "feed_url"):
        assert is_absolute(feed[key]), (path, key)
    allowed_top = {"version", "title", "home_page_url", "feed_url", "description", "user_comment",
                   "next_url", "icon", "favicon", "authors", "language", "expired", "hubs",
                   "items"}
    assert set(feed) <= allowed_top, set(feed) - allowed_top
    ids = []
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"], path
        ids.append(item["id"])
        assert "content_html" in item or "content_text" in item, (path, item["id"])
        assert is_absolute(item["url"])
        for key in ("date_published", "date_modified"):
            assert RFC3339.fullmatch(item[key]), (key, item[key])
        assert datetime.fromisoformat(item["date_modified"]) >= datetime.fromisoformat(
            item["date_published"])
        for author in item.get("authors", []):
            assert isinstance(author["name"], str) and author["name"]
            assert is_absolute(author["url"])
        assert all(isinstance(t, str) for t in item.get("tags", []))
        if "image" in item:
            assert is_absolute(item["image"])
    assert len(ids) == len(set(ids)), path
    return feed


def test_every_listing_has_a_valid_json_feed(example_built: Built) -> None:
    feeds = json_feeds(example_built.output)
    report = example_built.report
    assert len(feeds) == 1 + report.tags + report.authors
    for path in feeds:
        feed = check_json_feed(path)
        assert feed["feed_url"] == BASE + "/" + path.relative_to(example_built.output).as_posix()
        assert url_to_file(example_built.output, feed["home_page_url"], BASE).is_file()
        assert feed["language"] == "en"


def test_json_feed_items_match_the_rss_feed_of_the_same_listing(example_built: Built) -> None:
    for path in json_feeds(example_built.output):
        items = check_json_feed(path)["items"]
        rss = feedparser.parse((path.parent / "feed.xml").read_bytes())
        assert not rss.bozo
        assert [i["id"] for i in items] == [e.id for e in rss.entries], path
        assert [i["title"] for i in items] == [e.title for e in rss.entries], path
        for item, entry in zip(items, rss.entries, strict=True):
            assert [a["name"] for a in item["authors"]] == [entry.author]
            assert url_to_file(example_built.output, item["authors"][0]["url"], BASE).is_file()


def test_article_image_travels_in_all_three_feed_formats(example_built: Built) -> None:
    feed = check_json_feed(example_built.output / "feed.json")
    (item,) = [i for i in feed["items"] if i["id"] == EMBED_URL]
    image = item["image"]  # the 1200-wide variant in the original's format (PNG here)
    assert image.startswith(f"{BASE}/_img/open-movie-still-1200x675-") and image.endswith(".png")
    for other in feed["items"]:  # each article's own picture (a variant of it), or none
        picture = frontmatter.load(REPO / PUBLISHED[other["id"].removeprefix(BASE)]).get("image")
        assert ("image" in other) == bool(picture)
        if picture:
            assert other["image"].startswith(f"{BASE}/_img/{Path(picture).stem}-")
    for name in ("feed.xml", "atom.xml"):
        parsed = feedparser.parse((example_built.output / name).read_bytes())
        assert not parsed.bozo
        (entry,) = [e for e in parsed.entries if e.link == EMBED_URL]
        (media,) = entry.media_content
        assert media["url"] == image and media["medium"] == "image"
        assert (media["width"], media["height"], media["type"]) == ("1200", "675", "image/png")
        size = url_to_file(example_built.output, image, BASE).stat().st_size
        assert media["filesize"] == str(size)


def test_video_embeds_reach_every_feed_as_a_plain_link(example_built: Built) -> None:
    watch = "https://www.youtube.com/watch?v=aqz-KE-bpKQ"
    bodies = [next(i["content_html"] for i in check_json_feed(example_built.output / "feed.json")
                   ["items"] if i["id"] == EMBED_URL)]
    for name in ("feed.xml", "atom.xml"):
        parsed = feedparser.parse((example_built.output / name).read_bytes())
        bodies.append(next(e.content[0].value for e in parsed.entries if e.link == EMBED_URL))
    for body in bodies:
        doc = lxml.html.fragment_fromstring(body, create_parent="div")
        links = doc.xpath("//a[starts-with(@href, 'https://www.youtube.com/')]")
        assert [a.get("href") for a in links] == [watch]
        assert "Big Buck Bunny" in links[0].text_content()
        assert not doc.xpath("//iframe | //*[@data-embed-src] | //script")
        assert doc.xpath("//img/@src") == [f"{BASE}/images/click-to-play.svg"]  # absolute
        assert "our test clip" in doc.text_content()  # the caption stays


def test_summary_only_json_feed_when_full_content_is_off(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"a.md": article(
        title="Short", summary="Just the summary.", body="A long body.\n\nSecond paragraph.")},
        config='title = "T"\nbase_url = "https://t.example"\n[feeds]\nfull_content = false\n')
    built = build_site(site, tmp_path / "out")
    (item,) = check_json_feed(built.output / "feed.json")["items"]
    assert item["content_html"] == "<p>Just the summary.</p>"
    assert item["summary"] == "Just the summary."


def test_json_feed_holds_no_character_xml_forbids(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"c.md": article(
        title="Bell\x07 and tab\x0b", tags=["Renew\x02als"], summary="Sum\x1fmary",
        body="Body \x0c text.")})
    built = build_site(site, tmp_path / "out")
    for path in json_feeds(built.output):
        text = path.read_text(encoding="utf-8")
        decoded = json.dumps(json.loads(text), ensure_ascii=False)
        assert not FORBIDDEN_CODE_POINTS.search(decoded), path
        check_json_feed(path)


@pytest.mark.parametrize("base", ["https://example.org", "https://example.org/news"])
def test_json_feed_urls_follow_the_base_url(tmp_path: Path, base: str) -> None:
    site = write_site(tmp_path / "site", {"a.md": article(title="One", tags=["Drama"])})
    built = build_site(site, tmp_path / "out", base_url=base)
    feed = check_json_feed(built.output / "tags" / "drama" / "feed.json")
    assert feed["feed_url"] == f"{base}/tags/drama/feed.json"
    assert feed["home_page_url"] == f"{base}/tags/drama/"
    (item,) = feed["items"]
    assert item["url"] == f"{base}/2020/01/one/"
    assert item["authors"][0]["url"] == f"{base}/authors/ann-example/"
    assert load_config(site).base_url != base  # the override, not the file, decided
