"""Newsroom time: `updated` (shown, and driving dateModified and feed times), `expires` (out
of listings, feeds and sitemaps once passed, page kept), and schedule.json with the build
summary telling a scheduled rebuild when the next article is due."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import feedparser
import pytest
from conftest import (
    Built,
    article,
    broken_links,
    build_site,
    card_links,
    html_files,
    parse_html,
    write_site,
)

from sitegen.commands.cli import summary
from sitegen.errors import BuildError

UTC = ZoneInfo("UTC")
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
LIVE = "/2024/05/live-tonight/"
GONE = "/2024/05/stream-is-over/"
KEPT = "/2024/04/evergreen/"


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """One article expired before NOW, one expiring after it, one that never expires, one
    updated, and one scheduled after NOW."""
    root = tmp_path_factory.mktemp("timed")
    site = write_site(root / "site", {
        "gone.md": article(title="Stream Is Over", date="2024-05-30T18:00:00+00:00",
                           tags=["Live", "Only Expired"], expires="2024-05-31T23:00:00+00:00"),
        "live.md": article(title="Live Tonight", date="2024-05-31T09:00:00+00:00",
                           tags=["Live"], expires="2024-06-02T06:00:00+00:00"),
        "kept.md": article(title="Evergreen", date="2024-04-02T09:00:00+00:00", tags=["Live"],
                           updated="2024-05-20T10:30:00+00:00"),
        "later.md": article(title="Later", date="2024-06-03T08:00:00+00:00"),
    })
    return build_site(site, root / "out", now=NOW)


def page(built: Built, url: str) -> Path:
    return built.output / url.strip("/") / "index.html"


def listed_urls(built: Built) -> dict[str, set[str]]:
    """Article links on every list page, every feed and both sitemaps."""
    out: dict[str, set[str]] = {}
    for rel in ("index.html", "tags/live/index.html", "authors/ann-example/index.html",
                "archive/2024/index.html"):
        doc = parse_html(built.output / rel)
        out[rel] = {*card_links(doc), *(str(h) for h in
                                         doc.xpath("//ul[@class='archive-list']//a/@href"))}
    for rel in ("feed.xml", "atom.xml", "tags/live/feed.xml", "authors/ann-example/atom.xml"):
        parsed = feedparser.parse((built.output / rel).read_bytes())
        assert not parsed.bozo
        out[rel] = {e.link.removeprefix(built.base_url) for e in parsed.entries}
    for rel in ("feed.json", "tags/live/feed.json"):
        items = json.loads((built.output / rel).read_text(encoding="utf-8"))["items"]
        out[rel] = {i["url"].removeprefix(built.base_url) for i in items}
    for rel in ("sitemap.xml", "news-sitemap.xml"):
        text = (built.output / rel).read_text(encoding="utf-8")
        out[rel] = {url for url in (LIVE, GONE, KEPT) if built.base_url + url + "<" in text}
    return out


def test_expired_article_leaves_every_listing_feed_and_sitemap(timed: Built) -> None:
    for where, urls in listed_urls(timed).items():
        assert GONE not in urls, where
        if where != "news-sitemap.xml":
            assert {LIVE, KEPT} <= urls, where
    assert listed_urls(timed)["news-sitemap.xml"] == {LIVE}  # KEPT is older than two days


def test_expired_article_keeps_its_page_marked_noindex_with_working_links(timed: Built) -> None:
    doc = parse_html(page(timed, GONE))
    assert doc.xpath("//meta[@name='robots']/@content") == ["noindex"]
    assert doc.xpath("string(//h1)") == "Stream Is Over"
    problems, checked = broken_links(timed, [page(timed, GONE)])
    assert not problems and checked > 5
    tag = parse_html(timed.output / "tags" / "only-expired" / "index.html")
    assert tag.xpath("//main//article") == []  # its only tag keeps an (empty) page
    for other in html_files(timed.output):
        if other != page(timed, GONE):
            assert f'href="{GONE}"' not in other.read_text(encoding="utf-8"), other


def test_expiring_article_says_when_to_search_engines(timed: Built) -> None:
    doc = parse_html(page(timed, LIVE))
    assert doc.xpath("//meta[@name='robots']/@content") == [
        "unavailable_after: 2024-06-02T06:00:00+00:00"]
    (data,) = [json.loads(s.text) for s in doc.xpath("//script[@type='application/ld+json']")]
    assert data["expires"] == "2024-06-02T06:00:00+00:00"
    assert doc.xpath("//meta[@property='article:expiration_time']/@content") == [
        "2024-06-02T06:00:00+00:00"]
    assert parse_html(page(timed, KEPT)).xpath("//meta[@name='robots']") == []


def test_updated_shows_on_the_page_and_sets_every_modified_time(timed: Built) -> None:
    doc = parse_html(page(timed, KEPT))
    (shown,) = doc.xpath("//span[@class='updated']")
    assert " ".join(shown.text_content().split()) == "Updated May 20, 2024, 10:30 a.m. UTC"
    assert shown.xpath("time/@datetime") == ["2024-05-20T10:30:00+00:00"]
    (data,) = [json.loads(s.text) for s in doc.xpath("//script[@type='application/ld+json']")]
    assert data["dateModified"] == "2024-05-20T10:30:00+00:00"
    assert data["datePublished"] == "2024-04-02T09:00:00+00:00"
    atom = feedparser.parse((timed.output / "atom.xml").read_bytes())
    (entry,) = [e for e in atom.entries if e.link.endswith(KEPT)]
    assert entry.updated_parsed[:5] == (2024, 5, 20, 10, 30)
    items = json.loads((timed.output / "feed.json").read_text(encoding="utf-8"))["items"]
    (item,) = [i for i in items if i["url"].endswith(KEPT)]
    assert item["date_modified"] == "2024-05-20T10:30:00+00:00"
    sitemap = (timed.output / "sitemap.xml").read_text(encoding="utf-8")
    assert f"{KEPT}</loc>\n    <lastmod>2024-05-20T10:30:00+00:00</lastmod>" in sitemap


def test_schedule_file_names_the_next_article_and_the_next_expiry(timed: Built) -> None:
    schedule = json.loads((timed.output / "schedule.json").read_text(encoding="utf-8"))
    assert schedule == {"next_scheduled_article": "2024-06-03T08:00:00+00:00",
                        "next_expiry": "2024-06-02T06:00:00+00:00",
                        "rebuild_at": "2024-06-02T06:00:00+00:00"}
    report = timed.report
    assert (report.expired, report.scheduled_skipped, report.articles) == (1, 1, 2)
    assert report.next_expiry == datetime(2024, 6, 2, 6, 0, tzinfo=UTC)


def test_example_site_schedule_points_at_its_scheduled_article(example_built: Built) -> None:
    schedule = json.loads((example_built.output / "schedule.json").read_text(encoding="utf-8"))
    assert schedule["next_scheduled_article"] == "2031-08-18T09:00:00-04:00"
    assert schedule["rebuild_at"] == schedule["next_scheduled_article"]
    assert schedule["next_expiry"] is None


def test_a_site_with_nothing_scheduled_has_an_empty_schedule(tmp_path: Path) -> None:
    built = build_site(write_site(tmp_path / "site", {"a.md": article()}), tmp_path / "out")
    schedule = json.loads((built.output / "schedule.json").read_text(encoding="utf-8"))
    assert schedule == {"next_scheduled_article": None, "next_expiry": None, "rebuild_at": None}


def test_build_summary_names_expiries_and_the_schedule_file(timed: Built, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "sitegen", "build", "-s", str(timed.site),
                             "-o", str(tmp_path / "out")], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    # Built now, after every date of the fixture: everything is published, two have expired.
    assert "2 expired articles kept their pages" in result.stdout
    assert "schedule.json" not in result.stdout  # nothing left to come


def test_expires_before_date_is_an_error_at_its_line(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"bad.md": article(
        title="Backwards", date="2024-05-02", expires="2024-05-01")})
    with pytest.raises(BuildError) as caught:
        build_site(site, tmp_path / "out")
    (problem,) = caught.value.problems
    lines = (site / "content" / "bad.md").read_text(encoding="utf-8").splitlines()
    assert problem.file == "content/bad.md" and lines[problem.line - 1].startswith("expires:")
    assert "not after 'date'" in problem.message


def test_summary_gives_the_next_article_and_expiry_times(timed: Built) -> None:
    text = summary(timed.report)
    assert "1 expired article kept its page but left listings, feeds and sitemaps." in text
    assert "Next scheduled article is due 2024-06-03 08:00 UTC." in text
    assert "Next article expires 2024-06-02 06:00 UTC. (schedule.json" in text


# --- the calendar's edges: dates of years 1 to 9998 (in the site's zone and in UTC) build, and
# --- every feed, sitemap and page dated by them stays valid; beyond, an error at the line.

@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Etc/GMT+12"])
def test_dates_at_the_edges_of_the_range_give_valid_feeds_and_sitemaps(
        tmp_path: Path, zone: str) -> None:
    site = write_site(tmp_path / "site", {
        "first.md": article(title="First", date="0001-01-02", tags=["Edge"],
                            updated="0001-01-03T00:00:00"),
        "last.md": article(title="Last", date="9998-12-30T00:00:00", tags=["Edge"],
                           updated="9998-12-30T12:00:00", expires="9998-12-31"),
    }, config=f'title = "Edge Desk"\nbase_url = "https://edge.example.com"\ntimezone = "{zone}"\n')
    built = build_site(site, tmp_path / "out", future=True,
                       now=datetime(9998, 12, 30, 6, 0, tzinfo=ZoneInfo(zone)))
    assert built.report.articles == 2
    feeds = sorted(built.output.rglob("feed.xml")) + sorted(built.output.rglob("atom.xml"))
    assert len(feeds) == 2 * 3  # the site's, the tag's and the author's
    for path in feeds:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.bozo_exception)
        assert [e.title for e in parsed.entries] == ["Last", "First"]
    for name in ("sitemap.xml", "news-sitemap.xml"):
        ElementTree.fromstring((built.output / name).read_bytes())
    assert "9998-12-30T12:00:00" in (built.output / "sitemap.xml").read_text(encoding="utf-8")
    json.loads((built.output / "schedule.json").read_text(encoding="utf-8"))
    json.loads((built.output / "feed.json").read_text(encoding="utf-8"))
    assert not broken_links(built)[0]


@pytest.mark.parametrize(("key", "value"), [
    ("date", "9999-12-31T23:59:59-12:00"), ("date", "0001-01-01T00:00:00+14:00"),
    ("date", "9999-01-01"), ("updated", "9999-12-31T23:59:59-12:00"),
    ("expires", "9999-12-31T23:59:59-12:00"), ("updated", "0001-01-01T00:00:00+14:00")])
def test_a_date_beyond_the_range_is_an_error_at_its_line(tmp_path: Path, key: str,
                                                          value: str) -> None:
    dates = {"date": "2024-05-02", key: value}
    site = write_site(tmp_path / "site", {"edge.md": (
        f"---\ntitle: Edge\nauthor: Ann\ndate: {dates['date']}\n"
        + (f"{key}: {value}\n" if key != "date" else "") + "---\nBody\n")})
    with pytest.raises(BuildError) as caught:
        build_site(site, tmp_path / "out", future=True)
    (problem,) = caught.value.problems
    lines = (site / "content" / "edge.md").read_text(encoding="utf-8").splitlines()
    assert problem.file == "content/edge.md" and lines[problem.line - 1].startswith(f"{key}:")
    assert "is out of range: sitegen takes dates from the year 1 to 9998" in problem.message
    assert not (tmp_path / "out").exists()
