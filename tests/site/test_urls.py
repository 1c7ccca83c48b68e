"""Urls: the URL scheme, the base path, and the safe mapping from URL to output file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sitegen.config import Config
from sitegen.site.urls import UnsafePath, Urls

DATE = datetime(2016, 3, 8, 9, 15, tzinfo=ZoneInfo("America/New_York"))


def urls(base_url: str = "https://example.com", permalink: str = "/{year}/{month}/{slug}/") -> Urls:
    return Urls(Config(base_url=base_url, permalink=permalink, site_dir=Path(".")))


# --- article permalinks -------------------------------------------------------------------

def test_default_permalink_has_two_digit_month() -> None:
    assert urls().article(DATE, "jessica-jones") == "/2016/03/jessica-jones/"


def test_permalink_with_day_is_zero_padded() -> None:
    u = urls(permalink="/{year}/{month}/{day}/{slug}/")
    assert u.article(datetime(2016, 1, 2), "x") == "/2016/01/02/x/"
    assert u.article(datetime(2016, 12, 31), "x") == "/2016/12/31/x/"


def test_year_is_four_digits() -> None:
    assert urls(permalink="/{year}/{slug}/").article(datetime(999, 1, 1), "old") == "/0999/old/"


def test_slug_only_permalink() -> None:
    assert urls(permalink="/{slug}/").article(DATE, "x") == "/x/"


def test_permalink_uses_the_date_as_given() -> None:
    # 2016-03-31 23:30 in New York is already April in UTC; the URL follows the site's date.
    late = datetime(2016, 3, 31, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    assert urls().article(late, "x") == "/2016/03/x/"


# --- other pages --------------------------------------------------------------------------

def test_tag_and_author_urls() -> None:
    u = urls()
    assert u.tag("jessica-jones") == "/tags/jessica-jones/"
    assert u.author("zoe-muller") == "/authors/zoe-muller/"
    assert u.url("/") == "/"


def test_pagination_urls() -> None:
    u = urls()
    assert u.page("/", 1) == "/"
    assert u.page("/", 2) == "/page/2/"
    assert u.page("/tags/marvel/", 3) == "/tags/marvel/page/3/"


def test_absolute_urls() -> None:
    u = urls("https://example.com/")
    assert u.absolute("/2016/03/x/") == "https://example.com/2016/03/x/"
    assert u.absolute("/") == "https://example.com/"


# --- base path ----------------------------------------------------------------------------

@pytest.mark.parametrize("base_url", ["https://example.com/news", "https://example.com/news/"])
def test_base_path_prefixes_every_url(base_url: str) -> None:
    u = urls(base_url)
    assert u.base_path == "/news"
    assert u.article(DATE, "x") == "/news/2016/03/x/"
    assert u.tag("marvel") == "/news/tags/marvel/"
    assert u.author("dana") == "/news/authors/dana/"
    assert u.url("/feed.xml") == "/news/feed.xml"
    assert u.page(u.url("/"), 2) == "/news/page/2/"


def test_absolute_url_under_base_path_does_not_repeat_it() -> None:
    u = urls("https://example.com/news/")
    assert u.absolute(u.article(DATE, "x")) == "https://example.com/news/2016/03/x/"
    assert u.absolute(u.url("/")) == "https://example.com/news/"


def test_output_file_strips_base_path() -> None:
    u = urls("https://example.com/news")
    assert u.output_file("/news/2016/03/x/") == "2016/03/x/index.html"
    assert u.output_file("/news/feed.xml") == "feed.xml"
    assert u.output_file("/news/") == "index.html"


# --- output files -------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "file"), [
    ("/", "index.html"),
    ("/a/b/", "a/b/index.html"),
    ("/feed.xml", "feed.xml"),
    ("/2016/03/jessica-jones/", "2016/03/jessica-jones/index.html"),
    ("/tags/marvel/page/2/", "tags/marvel/page/2/index.html"),
    ("/static/css/site.css", "static/css/site.css"),
    ("/404.html", "404.html"),
])
def test_output_file_maps_urls_to_files(url: str, file: str) -> None:
    assert urls().output_file(url) == file


@pytest.mark.parametrize("url", [
    "/../x",
    "/..",
    "/../",
    "/a/../../x",
    "/a/../b/",
    "/a//b/",
    "/./a/",
    "/a/./b",
    "/a/.",
    "/a\\b/",
    "/..\\x",
    "/a\x00b/",
    "relative/x",
    "",
])
def test_output_file_refuses_unsafe_paths(url: str) -> None:
    with pytest.raises(UnsafePath):
        urls().output_file(url)


@pytest.mark.parametrize("url", ["/news/../x/", "/news/../../etc/passwd", "/news/a//x/"])
def test_output_file_refuses_traversal_under_base_path(url: str) -> None:
    with pytest.raises(UnsafePath):
        urls("https://example.com/news").output_file(url)


def test_unsafe_path_is_a_value_error_naming_the_url() -> None:
    with pytest.raises(ValueError, match=r"/\.\./x"):
        urls().output_file("/../x")


def test_output_file_of_every_generated_url_is_safe_and_relative() -> None:
    u = urls("https://example.com/news")
    for url in (u.article(DATE, "x"), u.tag("a"), u.author("b"), u.page(u.tag("a"), 4), u.url("/")):
        file = u.output_file(url)
        assert not file.startswith("/") and ".." not in file.split("/")
        assert file.endswith("index.html")
