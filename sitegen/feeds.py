"""RSS 2.0 and Atom feeds with feedgen, for the site, each tag and each author.

Feeds are deterministic: their build date is the newest article's date, not the clock, so an
unchanged site gives byte-identical feeds (and feed readers see no phantom updates).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from feedgen.feed import FeedGenerator

from sitegen import __version__
from sitegen.markdown import absolute_urls
from sitegen.model import Article, FeedLink

# Characters XML 1.0 forbids; they can arrive from pasted text and would make feeds unparseable.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class FeedFormat:
    name: str  # feedgen's: "rss" or "atom"
    file: str  # the file in the listing's folder
    mime: str
    label: str


FORMATS = (FeedFormat("rss", "feed.xml", "application/rss+xml", "RSS"),
           FeedFormat("atom", "atom.xml", "application/atom+xml", "Atom"))


def feed_links(title: str, folder_url: str) -> tuple[FeedLink, ...]:
    """The feeds published in the folder `folder_url` (absolute), for page heads."""
    return tuple(FeedLink(f"{title} ({f.label})", folder_url + f.file, f.mime) for f in FORMATS)


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


def render_feed(spec: FeedSpec) -> bytes:
    """The feed document as UTF-8 XML."""
    fg = FeedGenerator()
    fg.load_extension("dc")
    fg.id(spec.feed_url)
    fg.title(_clean(spec.title))
    fg.link(href=spec.feed_url, rel="self")
    fg.link(href=spec.page_url, rel="alternate")
    fg.description(_clean(spec.description) or _clean(spec.title))
    fg.language(spec.language)
    fg.generator("sitegen", __version__)
    fg.updated(spec.updated)
    fg.lastBuildDate(spec.updated)
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
    for tag in article.tags:
        fe.category(term=tag.slug, label=_clean(tag.name))
    summary = _clean(str(article.summary))
    body = _clean(absolute_urls(article.content, article.abs_url)) if spec.full_content else ""
    if spec.format == "rss":
        fe.description(summary)
        if body:
            # CDATA keeps the markup readable; it cannot hold "]]>", escaped text can.
            fe.content(body, type="CDATA" if "]]>" not in body else None)
    else:
        fe.summary(summary, type="html")
        if body:
            fe.content(body, type="html")


def _clean(text: str) -> str:
    return _XML_FORBIDDEN.sub("", text)


def feed_specs(title: str, description: str, page_url: str, folder_url: str, language: str,
               articles: Sequence[Article], items: int, full_content: bool,
               built_at: datetime) -> list[FeedSpec]:
    """The RSS and Atom feeds for one listing, published in the folder `folder_url` (absolute).

    A feed is dated by its newest article, so an unchanged site gives byte-identical feeds."""
    chosen = tuple(articles[:items])
    updated = max((a.updated or a.date for a in chosen), default=built_at)
    return [FeedSpec(f.name, title, description, page_url, folder_url + f.file, language, chosen,
                     full_content, updated) for f in FORMATS]
