"""RSS 2.0 and Atom feeds with feedgen, and JSON Feed 1.1, for the site, each tag and each author.

Feeds are deterministic: their build date is the newest article's date, not the clock, so an
unchanged site gives byte-identical feeds (and feed readers see no phantom updates). Each item
carries the article's image (media:content in RSS and Atom, `image` in JSON Feed) and the
body as feeds need it: absolute URLs, video embeds as links.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from sitegen import __version__
from sitegen.content.markdown import absolute_urls
from sitegen.memo import IdentityMemo
from sitegen.model import Article, Image
from sitegen.site.urls import FORMATS

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

# Characters XML 1.0 forbids; they can arrive from pasted text and would make feeds unparseable.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


@dataclass(frozen=True)
class FeedSpec:
    """One feed to write: what it is about and which articles it carries (newest first)."""

    format: str  # "rss" or "atom"
    title: str
    description: str
    page_url: str  # absolute URL of the HTML page the feed follows
    feed_url: str  # absolute URL of the feed itself
    language: str
    articles: tuple[Article, ...]
    full_content: bool
    updated: datetime  # newest article's date, or the build's moment for an empty feed
    logo: Image | None = None  # [seo] logo: the RSS channel's <image>, Atom's <logo>


def render_feed(spec: FeedSpec) -> bytes:
    """The feed document: UTF-8 XML, or JSON for JSON Feed."""
    if spec.format == "json":
        return render_json_feed(spec)
    # Imported here: feedgen, lxml and dateutil take some 35 ms, which a build that renders
    # no feed (nothing changed) need not pay.
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.load_extension("dc")
    fg.load_extension("media")
    fg.id(spec.feed_url)
    fg.title(_clean(spec.title))
    fg.link(href=spec.feed_url, rel="self")
    fg.link(href=spec.page_url, rel="alternate")
    fg.description(_clean(spec.description) or _clean(spec.title))
    fg.language(spec.language)
    fg.generator("sitegen", __version__)
    fg.updated(spec.updated)
    fg.lastBuildDate(spec.updated)
    if spec.logo is not None:
        if spec.format == "rss":
            fg.image(url=spec.logo.abs_url, title=_clean(spec.title), link=spec.page_url)
        else:
            fg.logo(spec.logo.abs_url)
    for article in spec.articles:
        _add_entry(fg, article, spec)
    if spec.format == "rss":
        return fg.rss_str(pretty=True)
    return fg.atom_str(pretty=True)


def _add_entry(fg: FeedGenerator, article: Article, spec: FeedSpec) -> None:
    fe = fg.add_entry(order="append")
    fe.id(article.abs_url)
    fe.guid(article.abs_url, permalink=True)
    fe.title(_clean(article.title))
    fe.link(href=article.abs_url)
    fe.published(article.date)
    fe.updated(article.updated or article.date)
    fe.author(name=_clean(article.author.name))
    fe.dc.dc_creator(_clean(article.author.name))
    if article.tags:
        # One call with the list: feedgen rebuilds its RSS list of every category on each
        # call, so a call per tag was quadratic in the article's tags.
        fe.category([{"term": tag.slug, "label": _clean(tag.name)} for tag in article.tags])
    image = article.lead_image
    if image is not None:
        facts = {"url": image.abs_url, "medium": "image", "type": image.mime,
                 "width": image.width, "height": image.height, "fileSize": image.length}
        fe.media.content(group=None, **{k: str(v) for k, v in facts.items() if v})
    summary = _clean(str(article.summary))
    body = _feed_body(article) if spec.full_content else ""
    if spec.format == "rss":
        fe.description(summary)
        if body:
            # CDATA keeps the markup readable; it cannot hold "]]>", escaped text can.
            fe.content(body, type="CDATA" if "]]>" not in body else None)
    else:
        fe.summary(summary, type="html")
        if body:
            fe.content(body, type="html")


def render_json_feed(spec: FeedSpec) -> bytes:
    """JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/)."""
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": _clean(spec.title),
        "home_page_url": spec.page_url,
        "feed_url": spec.feed_url,
        "language": spec.language,
    }
    if spec.description:
        feed["description"] = _clean(spec.description)
    feed["items"] = [_json_item(article, spec) for article in spec.articles]
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _json_item(article: Article, spec: FeedSpec) -> dict[str, Any]:
    item: dict[str, Any] = {"id": article.abs_url, "url": article.abs_url,
                            "title": _clean(article.title)}
    if spec.full_content:
        item["content_html"] = _feed_body(article)
    else:
        item["content_html"] = _clean(str(article.summary))
    item["summary"] = _clean(article.description)
    if article.lead_image is not None:
        item["image"] = article.lead_image.abs_url
    item["date_published"] = article.date.isoformat(timespec="seconds")
    item["date_modified"] = (article.updated or article.date).isoformat(timespec="seconds")
    author_url = urljoin(article.abs_url, article.author.url)
    item["authors"] = [{"name": _clean(article.author.name), "url": author_url}]
    if article.tags:
        item["tags"] = [_clean(tag.name) for tag in article.tags]
    return item


def _feed_body(article: Article) -> str:
    """The article's body as feeds carry it. Worked out once per article: one article is in
    up to a dozen feeds (RSS, Atom and JSON of the site, its author and each tag)."""
    return _bodies.get(id(article), (article,), lambda: _clean(absolute_urls(
        article.feed_content or article.content, article.abs_url)))


# Few are needed: a listing's three feeds are rendered one after another.
_bodies: IdentityMemo[str] = IdentityMemo(300)


def _clean(text: str) -> str:
    return _XML_FORBIDDEN.sub("", text)


def feed_specs(title: str, description: str, page_url: str, folder_url: str, language: str,
               articles: Sequence[Article], items: int, full_content: bool,
               built_at: datetime, logo: Image | None = None) -> list[FeedSpec]:
    """The RSS, Atom and JSON feeds for one listing, published in the folder `folder_url` (absolute).

    A feed is dated by its newest article, so an unchanged site gives byte-identical feeds."""
    chosen = tuple(articles[:items])
    updated = max((a.updated or a.date for a in chosen), default=built_at)
    return [FeedSpec(f.name, title, description, page_url, folder_url + f.file, language, chosen,
                     full_content, updated, logo) for f in FORMATS]
