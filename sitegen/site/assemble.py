"""From sources to the site: choose what is published, give each article its URL, and link
articles to their tags, authors, neighbours and related articles.

Two steps with a narrow surface: `select` decides what is published (drafts and scheduled
articles wait), `assemble` turns the selected sources and their rendered bodies into the
frozen `Site` that planning and templates read.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from math import ceil
from posixpath import splitext
from typing import Any

from markupsafe import Markup, escape

from sitegen import __version__
from sitegen.config import Config, MenuItem
from sitegen.content.data import EMPTY, SiteData
from sitegen.content.images import LocalImages
from sitegen.content.markdown import RenderedBody, link_source_files, plain_text, smarten
from sitegen.content.pictures import AVATAR
from sitegen.content.registry import TagRegistry
from sitegen.errors import BuildError, Problem
from sitegen.model import (
    ArchiveMonth,
    ArchiveYear,
    Article,
    ArticleLink,
    Author,
    AuthorRef,
    Image,
    MenuLink,
    Site,
    SiteInfo,
    Source,
    Tag,
    TagRef,
)
from sitegen.site.taxonomy import group_tags, related
from sitegen.site.urls import Urls, feed_links
from sitegen.slugs import slugify

SECTIONS = 6  # the most-covered tags the theme's sections bar shows
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


@dataclass(frozen=True)
class Selection:
    """What a build publishes, and what it held back."""

    published: tuple[Source, ...]
    drafts: int
    scheduled: int
    next_due: datetime | None  # the earliest future article, even when --future includes it
    expired: int = 0  # published, but past `expires`: out of listings and feeds
    next_expiry: datetime | None = None  # the earliest `expires` still to come


def select(sources: Sequence[Source], now: datetime, drafts: bool = False,
           future: bool = False) -> Selection:
    published, held_drafts, held_future = [], 0, 0
    upcoming = [s.date for s in sources if s.date > now and not s.draft]
    for source in sources:
        if source.draft and not drafts:
            held_drafts += 1
        elif source.date > now and not future:
            held_future += 1
        else:
            published.append(source)
    expired = sum(is_expired(s, now) for s in published)
    expiring = [s.expires for s in published if s.expires is not None and s.expires > now]
    return Selection(tuple(published), held_drafts, held_future, min(upcoming, default=None),
                     expired, min(expiring, default=None))


def is_expired(source: Source, now: datetime) -> bool:
    return source.expires is not None and source.expires <= now


def assemble(config: Config, sources: Sequence[Source], bodies: Mapping[str, RenderedBody],
             built_at: datetime, registry: TagRegistry | None = None,
             data: SiteData = EMPTY, images: LocalImages | None = None,
             search_url: str | None = None) -> tuple[Site, list[Problem]]:
    """Build the frozen site; returns it with warnings. Raises BuildError on URL collisions.

    `registry` names and merges tags; `data` (data/ files) reaches templates as site.data.
    Articles past their `expires` keep their pages (links to them keep working) but leave
    every listing, feed and sitemap; their tags and authors keep their pages too."""
    registry = registry or TagRegistry()
    urls = Urls(config)
    images = images or LocalImages({}, config.base_path, config.base_url)
    everything = sorted(sources, key=lambda s: (-s.date.timestamp(), s.title, s.rel_path))
    # Each article's URL and tag slugs, worked out once for the checks, links and pages; links
    # written as source paths ("../reviews/foo.md") become the article's URL.
    url_of = {s.rel_path: urls.article(s.date, s.slug) for s in everything}
    slugs_of = {s.rel_path: tuple(dict.fromkeys(registry.slug_of(t) for t in s.tags))
                for s in everything}
    aliases = _check_unique_urls(everything, urls, url_of)
    ordered = [s for s in everything if not is_expired(s, built_at)]
    warnings: list[Problem] = []

    groups = group_tags([s.tags for s in everything], registry.canonical())
    for group in groups.values():
        warnings.extend(_spelling_warnings(group.slug, group.name, group.spellings, everything,
                                           registry))
    tag_refs = {slug: TagRef(slug, g.name, urls.tag(slug)) for slug, g in groups.items()}
    authors = _author_refs(config, everything, urls, images)
    # One byline per author and role, shared by their articles.
    bylines = {(name, role): _byline(authors[name], role)
               for name, role in dict.fromkeys((s.author, s.author_role) for s in everything)}

    tag_slugs = [frozenset(slugs_of[s.rel_path]) for s in ordered]
    members: dict[str, list[int]] = defaultdict(list)
    for index, slugs in enumerate(tag_slugs):
        for slug in slugs:
            members[slug].append(index)
    typeset = smarten if config.markdown.typographer else _same
    leads = {s.rel_path: images.image(s.image, typeset(s.image_alt or ""), s.image_focus)
             for s in everything if s.image}
    links = [ArticleLink(typeset(s.title), url_of[s.rel_path], s.date, leads.get(s.rel_path))
             for s in ordered]
    related_ids = related(tag_slugs, members)

    def make(source: Source, **relations: object) -> Article:
        url = url_of[source.rel_path]
        lead = leads.get(source.rel_path)
        return Article(
            source_path=source.rel_path, title=typeset(source.title), slug=source.slug, url=url,
            abs_url=urls.absolute(url), date=source.date, updated=source.updated,
            expires=source.expires,
            author=bylines[source.author, source.author_role],
            tags=tuple(tag_refs[slug] for slug in slugs_of[source.rel_path]),
            draft=source.draft, image=source.image,
            image_alt=typeset(source.image_alt) if source.image_alt else source.image_alt,
            extra=source.extra, lead_image=lead, expired=is_expired(source, built_at),
            image_caption=source.image_caption, image_credit=source.image_credit,
            aliases=aliases.get(source.rel_path, ()),
            **_from_body(config, source, bodies[source.rel_path], url_of, lead),
            **relations,  # type: ignore[arg-type]
        )

    articles = [make(source,
                     previous=links[index + 1] if index + 1 < len(ordered) else None,
                     next=links[index - 1] if index > 0 else None,
                     related=tuple(links[i] for i in related_ids[index]))
                for index, source in enumerate(ordered)]
    unlisted = tuple(make(source) for source in everything if is_expired(source, built_at))

    tags = tuple(sorted(  # every tag an article page links to has a page, even when empty
        (_tag(slug, group.name, tag_refs[slug].url,
              tuple(articles[i] for i in members.get(slug, ())), group.spellings, registry,
              images)
         for slug, group in groups.items()), key=lambda t: (_sort_key(t.name), t.slug)))
    info = SiteInfo(title=config.title, description=config.description,
                    base_url=config.base_url.rstrip("/"), language=config.language,
                    timezone=config.timezone, generator=f"sitegen {__version__}",
                    year=built_at.year, feeds=feed_links(config.title, urls.absolute(urls.url("/"))),
                    extra=dict(config.extra), menu=_menu(config.menu, urls),
                    footer=_menu(config.footer, urls), sections=_sections(tags),
                    data=data.values,
                    publisher=config.seo.publisher or config.title,
                    twitter=config.seo.twitter, search_url=search_url,
                    image=images.image(config.seo.image, config.seo.image_alt)
                    if config.seo.image else None,
                    logo=images.image(config.seo.logo, config.seo.publisher or config.title)
                    if config.seo.logo else None)
    site = Site(info=info, articles=tuple(articles), tags=tags,
                authors=_authors(config, articles, authors), archive=_archive(articles),
                unlisted=unlisted)
    return site, warnings


def with_body(article: Article, source: Source, body: RenderedBody, config: Config,
              by_source: Mapping[str, str]) -> Article:
    """`article` as a newly rendered `body` makes it, everything else kept: the quick path
    when only an article's body was edited (its front matter is unchanged). `by_source`: the
    URL of every article by its source path (see `source_urls`), for links between them."""
    return replace(article, **_from_body(config, source, body, by_source, article.lead_image))


def with_lead_image(article: Article, image: Image) -> Article:
    """`article` with another file's variants as its lead image (the preview, when a photo
    is replaced): the image and the sitemap's list of its images, everything else kept."""
    body_images = article.images[1:] if article.lead_image is not None else article.images
    return replace(article, lead_image=image, images=_image_urls(image, body_images))


def source_urls(site: Site) -> dict[str, str]:
    """Every article's URL by its source path: what a body's links to other sources need."""
    return {a.source_path: a.url for a in (*site.articles, *site.unlisted)}


def _from_body(config: Config, source: Source, body: RenderedBody, by_source: Mapping[str, str],
               lead: Image | None) -> dict[str, Any]:
    """The fields of an Article that come from its rendered body."""
    # The same Markup as Markup("<p>{}</p>").format(summary), without string.Formatter's cost.
    typeset = smarten if config.markdown.typographer else _same
    summary = Markup(f"<p>{escape(typeset(source.summary))}</p>") if source.summary else \
        link_source_files(body.summary_html, source.rel_path, by_source, config.base_path)
    return {
        "summary": summary,
        "description": typeset(source.description or source.summary or "")
        or plain_text(summary),
        "content": link_source_files(body.html, source.rel_path, by_source, config.base_path),
        "reading_minutes": max(1, ceil(body.words / config.words_per_minute)),
        "words": body.words, "headings": body.headings,
        "images": _image_urls(lead, body.images), "embeds": body.embeds,
        "feed_content": body.feed_body,
    }


def _image_urls(lead: Image | None, body_images: Sequence[str]) -> tuple[str, ...]:
    """The article's images for sitemaps: the lead image first, each once."""
    return tuple(dict.fromkeys([*([lead.abs_url] if lead else []), *body_images]))


def _spelling_warnings(slug: str, name: str, spellings: Sequence[str], ordered: Sequence[Source],
                       registry: TagRegistry) -> list[Problem]:
    """A tag written several ways; with a registry, any spelling it does not list."""
    entry = registry.by_slug.get(slug)
    if entry is not None and entry.slug == slug:
        odd = [s for s in spellings if not registry.is_registered_spelling(entry, s)]
        problems = []
        for spelling in odd:
            where = [s for s in ordered if spelling in s.tags]
            problems.append(Problem(where[0].rel_path, f'tag "{spelling}" is spelled "{name}" in '
                                    f"the tag registry ({entry.origin}){_also(where[1:])}; write "
                                    f'"{name}" or add "{spelling}" to its aliases',
                                    where[0].line_of.get("tags")))
        return problems
    if len(spellings) < 2:
        return []
    others = ", ".join(f'"{s}"' for s in spellings[1:])
    sources = [s for s in ordered if set(s.tags) & set(spellings[1:])]
    where = [s.rel_path for s in sources]
    shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
    return [Problem(where[0], f'tag "{name}" is also spelled {others} '
                    f'(in {shown}); shown everywhere as "{name}"', sources[0].line_of.get("tags"))]


def _also(sources: Sequence[Source]) -> str:
    if not sources:
        return ""
    shown = ", ".join(s.rel_path for s in sources[:3])
    return f" (also in {shown}{f' and {len(sources) - 3} more' if len(sources) > 3 else ''})"


def _tag(slug: str, name: str, url: str, articles: tuple[Article, ...], spellings: tuple[str, ...],
         registry: TagRegistry, images: LocalImages) -> Tag:
    entry = registry.by_slug.get(slug)
    if entry is None or entry.slug != slug:
        return Tag(slug, name, url, articles, spellings)
    # Old pages of the tag: its former slugs, and aliases that had pages of their own.
    old = dict.fromkeys([*entry.former_slugs, *(slugify(a) for a in entry.aliases)])
    old.pop(slug, None)
    return Tag(slug, name, url, articles, spellings, description=entry.description,
               image=entry.image, image_alt=entry.image_alt, former_slugs=tuple(old),
               group=entry.group,
               picture=images.image(entry.image, entry.image_alt or "") if entry.image else None)


def _sort_key(name: str) -> tuple[str, str]:
    """Names in a reader's A–Z: "Émile" beside "Emily", not after "Zorro"."""
    folded = name.casefold()
    return ("".join(c for c in unicodedata.normalize("NFKD", folded)
                    if not unicodedata.combining(c)), folded)


def _same(text: str) -> str:
    return text


def _menu(items: Sequence[MenuItem], urls: Urls) -> tuple[MenuLink, ...]:
    return tuple(MenuLink(item.name, urls.url(item.url), False) if item.url.startswith("/")
                 else MenuLink(item.name, item.url, True) for item in items)


def _sections(tags: Sequence[Tag]) -> tuple[TagRef, ...]:
    """The SECTIONS tags with the most listed articles (ties by name): the shows and topics
    the site covers most, for the theme's sections bar."""
    ranked = sorted((t for t in tags if t.articles), key=lambda t: (-t.count, t.name.casefold(),
                                                                     t.slug))
    return tuple(TagRef(t.slug, t.name, t.url) for t in ranked[:SECTIONS])


def _check_unique_urls(ordered: Sequence[Source], urls: Urls,
                       url_of: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Every article's URL (`url_of` by source path) and former URLs (aliases) must be its
    own; returns each article's former URLs by source path."""
    by_url: dict[str, list[Source]] = defaultdict(list)
    for source in ordered:
        by_url[url_of[source.rel_path]].append(source)
    problems = [
        Problem(clash[0].rel_path, f"articles would share the URL {url}: "
                f"{', '.join(s.rel_path for s in clash)}; give one of them another 'slug:'",
                clash[0].line_of.get("slug") or clash[0].line_of.get("title"))
        for url, clash in by_url.items() if len(clash) > 1]
    aliases: dict[str, tuple[str, ...]] = {}
    former: dict[str, Source] = {}
    for source in ordered:
        mine: dict[str, None] = {}  # in order; a list's `in` made many aliases quadratic
        for alias in source.aliases:
            old = alias_url(alias, source, urls)
            line = source.line_of.get("aliases")
            if old in by_url:
                owner = by_url[old][0]
                what = "its own URL" if owner is source else f"the URL of {owner.rel_path}"
                problems.append(Problem(source.rel_path, f"alias '{alias}' is {what} ({old}); a "
                                        "former URL must be free for its redirect", line))
            elif former.setdefault(old, source) is not source:
                problems.append(Problem(source.rel_path, f"alias '{alias}' ({old}) is also an "
                                        f"alias of {former[old].rel_path}; keep it in one", line))
            else:
                mine.setdefault(old)
        if mine:
            aliases[source.rel_path] = tuple(mine)
    if problems:
        raise BuildError(problems)
    return aliases


def alias_url(alias: str, source: Source, urls: Urls) -> str:
    """The former URL an alias stands for: a site path as written (a folder unless it names
    an .html file), or a former slug under the article's permalink."""
    if not alias.startswith("/"):
        return urls.article(source.date, slugify(alias))
    path = alias if splitext(alias)[1].lower() in (".html", ".htm") or alias.endswith("/") \
        else alias + "/"
    base = urls.base_path
    return path if base and (path == base + "/" or path.startswith(base + "/")) else urls.url(path)


def _author_refs(config: Config, ordered: Sequence[Source], urls: Urls,
                 images: LocalImages) -> dict[str, AuthorRef]:
    """One ref per author name, with their usual role: from the config's authors table, else
    the author_role their articles give most often; the avatar as its square variants when
    the site made them."""
    roles: dict[str, Counter[str]] = defaultdict(Counter)
    for source in ordered:
        roles[source.author][source.author_role or ""] += 1
    refs: dict[str, AuthorRef] = {}
    owner: dict[str, str] = {}
    problems = []
    for name, counter in roles.items():
        configured = config.authors.get(name)
        role = configured.role if configured and configured.role else next(
            (r for r, _ in counter.most_common() if r), "")
        slug = slugify(name)
        if owner.setdefault(slug, name) != name:
            first = next(s.rel_path for s in ordered if s.author == name)
            problems.append(Problem(first, f'author "{name}" and author "{owner[slug]}" would share '
                                    f"the page {urls.author(slug)}; spell the name the same way "
                                    "in every article"))
        avatar = _avatar(configured.avatar, urls) if configured else None
        picture = images.image(configured.avatar) if configured and configured.avatar else None
        square = picture.fallback(AVATAR) if picture is not None else None
        if square is not None:
            avatar = square.url  # the original, with its metadata, is not published
        else:
            picture = None
        refs[name] = AuthorRef(slug, name, role, urls.author(slug), avatar,
                               configured.bio if configured else "", picture)
    if problems:
        raise BuildError(problems)
    return refs


def _avatar(avatar: str, urls: Urls) -> str | None:
    """An avatar's URL as pages link it: a site path gets the base path ("/news/images/...")."""
    if not avatar:
        return None
    return urls.url(avatar) if avatar.startswith("/") and not avatar.startswith(
        urls.base_path + "/") else avatar


def _byline(author: AuthorRef, article_role: str | None) -> AuthorRef:
    """An article's own author_role wins over the author's usual role, for that article."""
    return replace(author, role=article_role) if article_role else author


def _authors(config: Config, articles: Sequence[Article],
             refs: Mapping[str, AuthorRef]) -> tuple[Author, ...]:
    by_slug: dict[str, list[Article]] = defaultdict(list)
    for article in articles:
        by_slug[article.author.slug].append(article)
    out = []
    for name, ref in refs.items():
        configured = config.authors.get(name)
        out.append(Author(ref.slug, name, ref.role, configured.bio if configured else "",
                          ref.avatar, ref.url, tuple(by_slug[ref.slug]), ref.avatar_image))
    return tuple(sorted(out, key=lambda a: (a.name.casefold(), a.slug)))


def _archive(articles: Sequence[Article]) -> tuple[ArchiveYear, ...]:
    months: dict[tuple[int, int], list[ArticleLink]] = defaultdict(list)
    for article in articles:
        months[(article.date.year, article.date.month)].append(
            ArticleLink(article.title, article.url, article.date, article.lead_image))
    years: dict[int, list[ArchiveMonth]] = defaultdict(list)
    for (year, month), items in sorted(months.items(), reverse=True):
        years[year].append(ArchiveMonth(year, month, f"{MONTHS[month - 1]} {year}",
                                        tuple(items)))
    return tuple(ArchiveYear(year, tuple(ms)) for year, ms in years.items())
