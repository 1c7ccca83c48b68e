"""The newsroom theme's share links: each one, decoded as the service will decode it, carries
the article's headline and address exactly as written, whatever characters the headline has."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from conftest import Built, article, build_site, html_files, parse_html, write_site

SHARE_LINKS = "//ul[contains(concat(' ', @class, ' '), ' share-links ')]"
# What a query or HTML could misread; no straight quotes, which the typographer curls.
TITLE = "Tom & Jerry <Reboot>: 100% Cartoon, #1 on 50/50 odds + a=b? — fans"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("share")
    site = write_site(root / "site", {"reboot.md": article(title=TITLE, date="2024-05-02")})
    return build_site(site, root / "out")


def article_page(built: Built) -> lxml.html.HtmlElement:
    """The one page with share links: the article's."""
    pages = [p for p in html_files(built.output) if parse_html(p).xpath(SHARE_LINKS)]
    assert len(pages) == 1
    return parse_html(pages[0])


def share_links(built: Built) -> dict[str, str]:
    """The article page's share links, by their text."""
    links = article_page(built).xpath(SHARE_LINKS + "//a")
    return {link.text_content().strip(): link.get("href") for link in links}


def test_each_share_link_carries_the_headline_and_address_as_written(built: Built) -> None:
    links = share_links(built)
    address = links["Copy link"]
    assert address.startswith(built.base_url + "/2024/05/")

    def query(name: str) -> dict[str, list[str]]:
        return parse_qs(urlsplit(links[name]).query)

    assert query("X (Twitter)") == {"url": [address], "text": [TITLE]}
    assert query("Facebook") == {"u": [address]}
    assert query("WhatsApp") == {"text": [f"{TITLE} {address}"]}
    email = parse_qs(urlsplit(links["Email"]).query)
    assert email == {"subject": [TITLE], "body": [address]}


def test_share_links_quote_every_character_a_query_could_misread(built: Built) -> None:
    for name, href in share_links(built).items():
        if name == "Copy link":
            continue
        query = urlsplit(href).query
        values = parse_qs(query)
        assert all(values.values())  # each parameter has its value
        raw = query.split("&")
        assert all(part.count("=") == 1 for part in raw), href  # no & or = left unquoted
        assert " " not in href and "<" not in href and '"' not in href
        assert "&amp;" not in values.get("text", [""])[0]  # never HTML-escaped twice


def test_the_page_shows_the_headline_escaped_once(built: Built) -> None:
    title = article_page(built).xpath("//h1[@class='article-title']")[0].text_content()
    assert title == TITLE
