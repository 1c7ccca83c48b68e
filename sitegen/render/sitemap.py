"""sitemap.xml, news-sitemap.xml and robots.txt: what search engines read first.

Built with the standard library's ElementTree, which escapes every URL and title for XML.
The sitemap lists every page and each article's images (Google's image extension); the news
sitemap lists the articles of the last two days, as Google News asks
(https://developers.google.com/search/docs/crawling-indexing/sitemaps/news-sitemap).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

from sitegen.model import Article

NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
IMAGE_NS = "http://www.google.com/schemas/sitemap-image/1.1"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
NEWS_WINDOW = timedelta(days=2)
NEWS_MAX = 1000  # Google's limit of URLs in one news sitemap
IMAGES_MAX = 1000  # and of images per page


@dataclass(frozen=True)
class SitemapEntry:
    url: str  # absolute
    modified: datetime | None = None
    images: tuple[str, ...] = ()  # absolute URLs


def render_sitemap(entries: Sequence[SitemapEntry]) -> bytes:
    """The entries, in the order to list them.

    Written as text, not through ElementTree: the sitemap lists every page, and a tree of
    Elements for 16,000 pages takes longer to build and serialize than the strings. The bytes
    are ElementTree's (`_xml`): its declaration, two-space indent, escaping and " />"."""
    head = f'<urlset xmlns="{NS}"'
    if any(entry.images for entry in entries):
        head += f' xmlns:image="{IMAGE_NS}"'
    if not entries:
        return f"{_DECLARATION}\n{head} />\n".encode()
    lines = [_DECLARATION, head + ">"]
    for entry in entries:
        lines += ("  <url>", "    " + _leaf("loc", entry.url))
        if entry.modified is not None:
            lines.append("    " + _leaf("lastmod", entry.modified.isoformat(timespec="seconds")))
        for image in entry.images[:IMAGES_MAX]:
            lines += ("    <image:image>", "      " + _leaf("image:loc", image),
                      "    </image:image>")
        lines.append("  </url>")
    lines.append("</urlset>\n")
    # As ElementTree writes UTF-8: a character that cannot be encoded becomes a reference.
    return "\n".join(lines).encode("utf-8", "xmlcharrefreplace")


_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>"


def _leaf(tag: str, text: str) -> str:
    """An element holding only text, escaped as ElementTree escapes text."""
    if not text:
        return f"<{tag} />"
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return f"<{tag}>{text}</{tag}>"


def news_articles(articles: Sequence[Article], now: datetime) -> list[Article]:
    """The articles (newest first) published in the two days before `now`."""
    recent = [a for a in articles if now - NEWS_WINDOW <= a.date <= now]
    return recent[:NEWS_MAX]


def news_changes(articles: Sequence[Article], after: datetime) -> datetime | None:
    """The first moment after `after` from which `news_articles` may choose otherwise: an
    article leaves the two-day window, or a later-dated one enters it."""
    moments = [a.date + NEWS_WINDOW for a in articles if a.date + NEWS_WINDOW > after]
    moments += [a.date for a in articles if a.date > after]
    return min(moments, default=None)


def news_language(language: str) -> str:
    """Google News wants an ISO 639 code ("en" for "en-GB"), except zh-cn and zh-tw."""
    code = language.strip().lower().replace("_", "-")
    if code in ("zh-cn", "zh-tw"):
        return code
    return re.split(r"-", code, maxsplit=1)[0] or "en"


def render_news_sitemap(articles: Sequence[Article], publication: str, language: str) -> bytes:
    """The news sitemap of `articles` (as `news_articles` chose them); with none it is an empty
    <urlset>, so its address stays valid for search consoles between bursts of news."""
    root = ET.Element("urlset", {"xmlns": NS, "xmlns:news": NEWS_NS})
    for article in articles:
        item = ET.SubElement(root, "url")
        ET.SubElement(item, "loc").text = article.abs_url
        news = ET.SubElement(item, "news:news")
        source = ET.SubElement(news, "news:publication")
        ET.SubElement(source, "news:name").text = publication
        ET.SubElement(source, "news:language").text = news_language(language)
        ET.SubElement(news, "news:publication_date").text = article.date.isoformat(
            timespec="seconds")
        ET.SubElement(news, "news:title").text = article.title
    return _xml(root)


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def render_robots(*sitemap_urls: str) -> bytes:
    lines = "".join(f"Sitemap: {url}\n" for url in sitemap_urls)
    return f"User-agent: *\nAllow: /\n\n{lines}".encode()
