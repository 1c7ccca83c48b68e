"""The site's plain data: what every stage after reading passes on, and what templates see.

Everything here is a frozen dataclass of plain values (strings, datetimes, tuples), so a
template can read it but never reach back into the build. Relations between objects are by
reference to other frozen objects (an article's tags are `TagRef`s, not the full `Tag` with
its article list) so the graph stays a tree and each object can be pickled on its own.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from markupsafe import Markup

from sitegen.errors import Problem


@dataclass(frozen=True)
class TagRef:
    """A tag as an article mentions it: its identity (slug), display name and URL."""

    slug: str
    name: str
    url: str


@dataclass(frozen=True)
class AuthorRef:
    """An author as an article names them."""

    slug: str
    name: str
    role: str
    url: str
    avatar: str | None = None  # for the byline and the author box at an article's end
    bio: str = ""
    # The avatar with its square variants (`Image.sources("avatar")`), when it is the site's
    # own photo; `avatar` is then its fallback square, with no metadata.
    avatar_image: Image | None = None


@dataclass(frozen=True)
class ArticleLink:
    """A short reference to another article (previous, next, related)."""

    title: str
    url: str
    date: datetime
    image: Image | None = None  # the article's lead image, for thumbnails


@dataclass(frozen=True)
class Variant:
    """One file made from a site image (resized, cropped, re-encoded; see content/pictures)."""

    url: str  # as pages link it
    abs_url: str
    width: int
    height: int
    mime: str  # image/webp, image/avif, or the original's type (the fallback)
    length: int  # bytes
    ratio: str = ""  # "" the original's shape; "16:9", "4:3", "1:1", "og" (1200x630), "avatar"


MODERN = ("image/avif", "image/webp")  # offered in <source>s, best first


@dataclass(frozen=True)
class Image:
    """An image as pages, feeds, sitemaps and social cards point at it. Size, type and length
    are known for files in the site's static folders, else None. A processed image's url,
    size, type and length are those of its fallback variant (the original is not published
    unless [images] keep_originals), and `variants` lists every file made from it."""

    url: str  # as pages link it: site-relative (with the base path) or absolute
    abs_url: str
    alt: str
    width: int | None = None
    height: int | None = None
    mime: str | None = None  # image/png, ...
    length: int | None = None  # bytes, for RSS enclosures
    variants: tuple[Variant, ...] = ()  # empty: published as it is (SVG, animated, remote)
    # Which processed image this is (static file and crop centre), the same however its bytes
    # change; "" for one published as it is. A page's fingerprint names the keyed images its
    # template read instead of digesting their variants (incremental/fingerprint.py): a
    # replaced photo renders again only the pages that show it, not every neighbour's.
    key: str = ""

    def srcset(self, mime: str, ratio: str = "") -> str:
        """The variants of one type and shape as a srcset value ("a.webp 480w, ...")."""
        return ", ".join(f"{v.url} {v.width}w" for v in self.variants
                         if v.mime == mime and v.ratio == ratio)

    def sources(self, ratio: str = "") -> tuple[tuple[str, str], ...]:
        """(type, srcset) of each modern format made, best first: a <picture>'s <source>s."""
        return tuple((mime, found) for mime in MODERN if (found := self.srcset(mime, ratio)))

    def fallback(self, ratio: str = "") -> Variant | None:
        """The variant of this shape in a format every browser and reader takes (the
        original's, or JPEG): a picture's <img src>, the feeds', JSON-LD's and og:image."""
        found = [v for v in self.variants if v.ratio == ratio and v.mime not in MODERN]
        return found[-1] if found else None

    def thumbnail(self, ratio: str = "16:9") -> str:
        """The URL of the smallest variant of a shape as one plain <img> shows it (a search
        result's picture, where no <picture> chooses): WebP, else the fallback's format;
        the image's own URL when it has no variants."""
        for mime in ("image/webp", *dict.fromkeys(v.mime for v in self.variants
                                                 if v.mime not in MODERN)):
            found = [v for v in self.variants if v.ratio == ratio and v.mime == mime]
            if found:
                return min(found, key=lambda v: v.width).url
        return self.url

    def crop(self, ratio: str) -> Image:
        """This image as its `ratio` crop's fallback file (itself when it has no variants)."""
        found = self.fallback(ratio)
        if found is None:
            return self
        return Image(found.url, found.abs_url, self.alt, found.width, found.height, found.mime,
                     found.length)


@dataclass(frozen=True)
class Notice:
    """A likely mistake found while reading an article that the build survives (a duplicate
    key, a slug made safe, a character pages cannot carry): `build` shows it as a warning,
    `check` under `kind`. Kept on the Source, so a cached article still reports it."""

    kind: str  # a stable name for CI filters, as `sitegen check` reports it
    problem: Problem


@dataclass(frozen=True)
class Source:
    """An article as read from disk, before its Markdown is rendered.

    `line_of` maps front matter keys to the line in the file where they stand, so a later
    stage can still point an error at the right line.
    """

    path: Path  # absolute
    rel_path: str  # relative to the site folder, with forward slashes, for messages
    title: str
    date: datetime  # timezone-aware, in the site's timezone unless an offset was given
    updated: datetime | None
    expires: datetime | None  # after this the article leaves listings, feeds and sitemaps
    author: str
    author_role: str | None
    tags: tuple[str, ...]  # as spelled in the file
    summary: str | None  # plain text from front matter
    description: str | None
    slug: str
    draft: bool
    image: str | None
    image_alt: str | None
    extra: dict[str, Any]
    body: str  # Markdown
    body_line: int  # line of the file where the body starts
    line_of: dict[str, int] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()  # former slugs or site paths of this article, as written
    notices: tuple[Notice, ...] = ()  # warnings found while reading it
    image_caption: str | None = None
    image_credit: str | None = None
    image_focus: tuple[float, float] | None = None  # the crops' centre, as fractions


@dataclass(frozen=True)
class Article:
    """One published article, as templates see it."""

    source_path: str  # relative to the site folder
    title: str
    slug: str
    url: str  # site-relative, e.g. /2015/11/jessica-jones/
    abs_url: str  # with base_url
    date: datetime
    updated: datetime | None
    expires: datetime | None
    author: AuthorRef
    tags: tuple[TagRef, ...]
    summary: Markup  # HTML
    description: str  # plain text, for meta tags and feeds
    content: Markup  # HTML body
    reading_minutes: int
    words: int
    draft: bool
    image: str | None
    image_alt: str | None
    headings: tuple[tuple[int, str, str], ...]
    extra: dict[str, Any]
    lead_image: Image | None = None  # `image` resolved: URL, size, type
    images: tuple[str, ...] = ()  # absolute URLs of the lead image and the body's images
    embeds: int = 0  # video embeds in the body (pages that have any load the player script)
    feed_content: Markup | None = None  # the body as feeds carry it, where it differs (embeds)
    expired: bool = False  # past `expires`: the page stays, every listing leaves it out
    previous: ArticleLink | None = None  # older neighbour
    next: ArticleLink | None = None  # newer neighbour
    related: tuple[ArticleLink, ...] = ()
    aliases: tuple[str, ...] = ()  # former URLs that redirect here (site-relative)
    image_caption: str | None = None  # shown under the lead image
    image_credit: str | None = None


@dataclass(frozen=True)
class Tag:
    slug: str
    name: str
    url: str
    articles: tuple[Article, ...]  # newest first
    spellings: tuple[str, ...] = ()  # every spelling seen, most used first
    description: str = ""  # from the tag registry
    image: str | None = None
    image_alt: str | None = None
    former_slugs: tuple[str, ...] = ()  # old /tags/<slug>/ pages that redirect here
    group: str = ""  # the registry's kind of tag ("Shows"), for the tags index
    picture: Image | None = None  # `image` resolved, with its variants

    @property
    def count(self) -> int:
        return len(self.articles)

    def info(self) -> TagInfo:
        return TagInfo(self.slug, self.name, self.url, self.count, self.spellings,
                       self.description, self.image, self.image_alt, self.former_slugs,
                       self.group, self.picture)


@dataclass(frozen=True)
class TagInfo:
    """A tag as its own pages show it: everything but its articles, which are in the page's
    paginator. A page holding all of them would be rendered again whenever any changed."""

    slug: str
    name: str
    url: str
    count: int  # articles with the tag
    spellings: tuple[str, ...] = ()
    description: str = ""
    image: str | None = None
    image_alt: str | None = None
    former_slugs: tuple[str, ...] = ()
    group: str = ""
    picture: Image | None = None

    @property
    def initial(self) -> str:
        """The letter the tags index files it under ("É" under "E"); "#" for a digit or sign."""
        first = unicodedata.normalize("NFKD", self.name[:1])[:1].upper()
        return first if first.isalpha() else "#"


@dataclass(frozen=True)
class Author:
    slug: str
    name: str
    role: str
    bio: str
    avatar: str | None
    url: str
    articles: tuple[Article, ...]  # newest first
    avatar_image: Image | None = None  # as AuthorRef's

    @property
    def count(self) -> int:
        return len(self.articles)

    def info(self) -> AuthorInfo:
        return AuthorInfo(self.slug, self.name, self.role, self.bio, self.avatar, self.url,
                          self.count, self.avatar_image)


@dataclass(frozen=True)
class AuthorInfo:
    """An author as their own pages show them: everything but the articles (see TagInfo)."""

    slug: str
    name: str
    role: str
    bio: str
    avatar: str | None
    url: str
    count: int  # articles by the author
    avatar_image: Image | None = None  # as AuthorRef's


@dataclass(frozen=True)
class FeedLink:
    """A feed a page advertises in its head."""

    title: str
    url: str  # absolute
    mime: str  # application/rss+xml, application/atom+xml or application/feed+json


@dataclass(frozen=True)
class MenuLink:
    """One link of the site's navigation."""

    name: str
    url: str  # site-relative with the base path, or absolute for another site
    external: bool = False


@dataclass(frozen=True)
class SiteInfo:
    """Site-wide values every template receives as `site`."""

    title: str
    description: str
    base_url: str  # no trailing slash
    language: str
    timezone: str
    generator: str
    year: int  # the build's year, for copyright lines (not the full time: output stays stable)
    feeds: tuple[FeedLink, ...]
    extra: dict[str, Any] = field(default_factory=dict)
    menu: tuple[MenuLink, ...] = ()  # the navigation, from the config or the theme's default
    footer: tuple[MenuLink, ...] = ()  # the footer's links, from the config's [[footer]]
    # The most-covered tags (most listed articles first), for the sections bar: a newsroom's
    # navigation is its shows, and these are the ones it writes about most.
    sections: tuple[TagRef, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)  # data/ files, read-only
    publisher: str = ""  # the organisation behind the site, for JSON-LD
    twitter: str = ""  # the site's account, for twitter:site
    search_url: str | None = None  # the search page, when the build made a search index
    image: Image | None = None  # [seo] image: the social card of pages without their own
    logo: Image | None = None  # [seo] logo: JSON-LD's publisher, the RSS channel's <image>


@dataclass(frozen=True)
class Paginator:
    """One page of a paginated list."""

    items: tuple[Article, ...]
    number: int  # 1-based
    total: int  # number of pages
    total_items: int
    first_url: str
    previous_url: str | None
    next_url: str | None
    # The URL of every later page, with "{}" for its number. Not a tuple of every page's URL:
    # each of the 1,000 pages of a 10,000-article front page would carry 1,000 of them.
    page_pattern: str

    def page_url(self, number: int) -> str:
        return self.first_url if number == 1 else self.page_pattern.format(number)

    @property
    def page_urls(self) -> tuple[str, ...]:
        return tuple(self.page_url(n) for n in range(1, self.total + 1))

    @property
    def window(self) -> tuple[PageLink | None, ...]:
        """The page links a list shows: the first and last pages and two either side of this
        one, with None for each gap. Worked out here so a template need not loop over every
        page URL on every page (the front page of 10,000 articles has 1,000 pages: a million
        steps to render them all)."""
        shown = sorted({1, self.total, *range(max(1, self.number - 2),
                                              min(self.total, self.number + 2) + 1)})
        links: list[PageLink | None] = []
        for before, number in zip([0, *shown], shown, strict=False):
            if number - before > 1:
                links.append(None)
            links.append(PageLink(number, self.page_url(number), number == self.number))
        return tuple(links)


@dataclass(frozen=True)
class PageLink:
    number: int  # 1-based
    url: str
    current: bool  # the page being shown


@dataclass(frozen=True)
class ArchiveMonth:
    year: int
    month: int
    label: str  # e.g. "November 2015"
    articles: tuple[ArticleLink, ...]  # links, not articles: an edited body leaves it as it is


@dataclass(frozen=True)
class ArchiveYear:
    year: int
    months: tuple[ArchiveMonth, ...]

    @property
    def count(self) -> int:
        return sum(len(m.articles) for m in self.months)


class HtmlLater(Protocol):
    """Markup a template makes when it shows it: jinja2 calls `__html__` (as for Markup), so
    a value that is large and seen once is made as its page is rendered, not held from
    planning on (an article page's JSON-LD, `seo.ArticleJsonLd`)."""

    def __html__(self) -> str: ...


@dataclass(frozen=True)
class PageMeta:
    """What the base template needs to know about the page it frames."""

    kind: str  # article, index, tag, tags, author, authors, archive, 404
    url: str  # site-relative
    abs_url: str  # canonical
    title: str  # for <title>; the base template adds the site title
    description: str
    feeds: tuple[FeedLink, ...]  # page-specific feeds (a tag's, an author's), plus the site's
    image: Image | None = None  # for Open Graph and Twitter cards
    json_ld: HtmlLater | None = None  # structured data, safe inside a <script> element
    robots: str = ""  # a robots meta value, e.g. "noindex" for expired articles


@dataclass(frozen=True)
class Site:
    """Everything the build knows after reading and grouping: input to planning."""

    info: SiteInfo
    articles: tuple[Article, ...]  # newest first
    tags: tuple[Tag, ...]  # by name
    authors: tuple[Author, ...]  # by name
    archive: tuple[ArchiveYear, ...]  # newest first
    unlisted: tuple[Article, ...] = ()  # expired: a page each, in no listing, feed or sitemap
