"""From sources to the site: choose what is published, give each article its URL, and link
articles to their tags, authors, neighbours and related articles.

Two steps with a narrow surface: `select` decides what is published (drafts and scheduled
articles wait), `assemble` turns the selected sources and their rendered bodies into the
frozen `Site` that planning and templates read.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from math import ceil

from markupsafe import Markup

from sitegen import __version__
from sitegen.config import Config
from sitegen.errors import BuildError, Problem
from sitegen.feeds import feed_links
from sitegen.images import LocalImages
from sitegen.markdown import RenderedBody
from sitegen.model import (
    ArchiveMonth,
    ArchiveYear,
    Article,
    ArticleLink,
    Author,
    AuthorRef,
    Image,
    Site,
    SiteInfo,
    Source,
    Tag,
    TagRef,
)
from sitegen.slugs import slugify
from sitegen.taxonomy import group_tags, related
from sitegen.urls import Urls

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
             built_at: datetime, images: LocalImages | None = None,
             search_url: str | None = None) -> tuple[Site, list[Problem]]:
    """Build the frozen site; returns it with warnings. Raises BuildError on URL collisions.

    Articles past their `expires` keep their pages (links to them keep working) but leave
    every listing, feed and sitemap; their tags and authors keep their pages too."""
    urls = Urls(config)
    images = images or LocalImages({}, config.base_path, config.base_url)
    everything = sorted(sources, key=lambda s: (-s.date.timestamp(), s.title, s.rel_path))
    _check_unique_urls(everything, urls)
    ordered = [s for s in everything if not is_expired(s, built_at)]
    warnings: list[Problem] = []

    groups = group_tags([s.tags for s in everything])
    for group in groups.values():
        if len(group.spellings) > 1:
            others = ", ".join(f'"{s}"' for s in group.spellings[1:])
            where = [s.rel_path for s in everything if set(s.tags) & set(group.spellings[1:])]
            shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
            warnings.append(Problem(where[0], f'tag "{group.name}" is also spelled {others} '
                                    f'(in {shown}); shown everywhere as "{group.name}"'))
    tag_refs = {slug: TagRef(slug, g.name, urls.tag(slug)) for slug, g in groups.items()}
    authors = _author_refs(config, everything, urls)

    tag_slugs = [frozenset(slugify(t) for t in s.tags) for s in ordered]
    members: dict[str, list[int]] = defaultdict(list)
    for index, slugs in enumerate(tag_slugs):
        for slug in slugs:
            members[slug].append(index)
    links = [ArticleLink(s.title, urls.article(s.date, s.slug), s.date) for s in ordered]
    related_ids = related(tag_slugs, members)

    def make(source: Source, **relations: object) -> Article:
        body = bodies[source.rel_path]
        url = urls.article(source.date, source.slug)
        summary = Markup("<p>{}</p>").format(source.summary) if source.summary else \
            body.summary_html
        lead = images.image(source.image, source.image_alt or "") if source.image else None
        return Article(
            source_path=source.rel_path, title=source.title, slug=source.slug, url=url,
            abs_url=urls.absolute(url), date=source.date, updated=source.updated,
            expires=source.expires,
            author=_byline(authors[source.author], source.author_role),
            tags=tuple(tag_refs[slug] for slug in dict.fromkeys(slugify(t) for t in source.tags)),
            summary=summary,
            description=source.description or source.summary or summary.striptags(),
            content=body.html,
            reading_minutes=max(1, ceil(body.words / config.words_per_minute)),
            words=body.words, draft=source.draft, image=source.image,
            image_alt=source.image_alt, headings=body.headings, extra=source.extra,
            lead_image=lead, images=_image_urls(lead, body.images), embeds=body.embeds,
            feed_content=body.feed_body, expired=is_expired(source, built_at),
            **relations,  # type: ignore[arg-type]
        )

    articles = [make(source,
                     previous=links[index + 1] if index + 1 < len(ordered) else None,
                     next=links[index - 1] if index > 0 else None,
                     related=tuple(links[i] for i in related_ids[index]))
                for index, source in enumerate(ordered)]
    unlisted = tuple(make(source) for source in everything if is_expired(source, built_at))

    tags = tuple(sorted(  # every tag an article page links to has a page, even when empty
        (Tag(slug, group.name, tag_refs[slug].url,
             tuple(articles[i] for i in members.get(slug, ())), group.spellings)
         for slug, group in groups.items()), key=lambda t: (t.name.casefold(), t.slug)))
    info = SiteInfo(title=config.title, description=config.description,
                    base_url=config.base_url.rstrip("/"), language=config.language,
                    timezone=config.timezone, generator=f"sitegen {__version__}",
                    year=built_at.year, feeds=feed_links(config.title, urls.absolute(urls.url("/"))),
                    extra=dict(config.extra), publisher=config.seo.publisher or config.title,
                    twitter=config.seo.twitter, search_url=search_url)
    site = Site(info=info, articles=tuple(articles), tags=tags,
                authors=_authors(config, articles, authors), archive=_archive(articles),
                unlisted=unlisted)
    return site, warnings


def _image_urls(lead: Image | None, body_images: Sequence[str]) -> tuple[str, ...]:
    """The article's images for sitemaps: the lead image first, each once."""
    return tuple(dict.fromkeys([*([lead.abs_url] if lead else []), *body_images]))


def _check_unique_urls(ordered: Sequence[Source], urls: Urls) -> None:
    by_url: dict[str, list[Source]] = defaultdict(list)
    for source in ordered:
        by_url[urls.article(source.date, source.slug)].append(source)
    problems = [
        Problem(clash[0].rel_path, f"articles would share the URL {url}: "
                f"{', '.join(s.rel_path for s in clash)}; give one of them another 'slug:'",
                clash[0].line_of.get("slug") or clash[0].line_of.get("title"))
        for url, clash in by_url.items() if len(clash) > 1]
    if problems:
        raise BuildError(problems)


def _author_refs(config: Config, ordered: Sequence[Source], urls: Urls) -> dict[str, AuthorRef]:
    """One ref per author name, with their usual role: from the config's authors table, else
    the author_role their articles give most often."""
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
        refs[name] = AuthorRef(slug, name, role, urls.author(slug))
    if problems:
        raise BuildError(problems)
    return refs


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
                          (configured.avatar or None) if configured else None, ref.url,
                          tuple(by_slug[ref.slug])))
    return tuple(sorted(out, key=lambda a: (a.name.casefold(), a.slug)))


def _archive(articles: Sequence[Article]) -> tuple[ArchiveYear, ...]:
    months: dict[tuple[int, int], list[Article]] = defaultdict(list)
    for article in articles:
        months[(article.date.year, article.date.month)].append(article)
    years: dict[int, list[ArchiveMonth]] = defaultdict(list)
    for (year, month), items in sorted(months.items(), reverse=True):
        years[year].append(ArchiveMonth(year, month, f"{MONTHS[month - 1]} {year}",
                                        tuple(items)))
    return tuple(ArchiveYear(year, tuple(ms)) for year, ms in years.items())
