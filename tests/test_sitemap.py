"""sitemap.xml of the built example site, read with the standard library's ElementTree."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from conftest import (
    DRAFT_URL,
    PUBLISHED,
    SCHEDULED_URL,
    Built,
    article,
    build_site,
    html_files,
    page_url,
    url_to_file,
    write_site,
)

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
