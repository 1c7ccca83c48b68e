"""model.py: the plain data templates get; here, the window of page links a list shows."""

from __future__ import annotations

from pathlib import Path

from sitegen.config import Config
from sitegen.model import PageLink, Paginator
from sitegen.site.urls import Urls


def paginator(number: int, total: int) -> Paginator:
    return Paginator(items=(), number=number, total=total, total_items=10 * total,
                     first_url="/", previous_url=None, next_url=None, page_pattern="/page/{}/")


def window_by_rule(number: int, total: int) -> list[PageLink | None]:
    """The rule as the theme first wrote it, walking every page: a page is shown if it is the
    first, the last or within two of the current one; page 2 and the last but one, when not
    shown, stand for the gap they begin."""
    links: list[PageLink | None] = []
    for n in range(1, total + 1):
        if n in (1, total) or abs(n - number) <= 2:
            links.append(PageLink(n, "/" if n == 1 else f"/page/{n}/", n == number))
        elif n in (2, total - 1):
            links.append(None)
    return links


def test_window_matches_the_rule_for_every_page_of_lists_up_to_40_pages() -> None:
    for total in range(1, 41):
        for number in range(1, total + 1):
            assert list(paginator(number, total).window) == window_by_rule(number, total), (
                number, total)


def test_window_of_a_long_list_is_short() -> None:
    window = paginator(500, 1000).window
    assert [link.number if link else None for link in window] == [
        1, None, 498, 499, 500, 501, 502, None, 1000]
    assert [link.current for link in window if link] == [False] * 3 + [True] + [False] * 3


def test_page_urls_follow_the_pattern_and_match_the_site_s_urls() -> None:
    urls = Urls(Config(site_dir=Path("."), base_url="https://example.com/news{x}"))
    first = urls.url("/tags/drama/")
    pager = Paginator(items=(), number=1, total=3, total_items=25, first_url=first,
                      previous_url=None, next_url=None, page_pattern=urls.page_pattern(first))
    assert pager.page_urls == tuple(urls.page(first, n) for n in (1, 2, 3))
    assert pager.page_urls[2] == "/news{x}/tags/drama/page/3/"
