"""The render plan: every file the build will write, decided and checked before any is written.

Each job says where its file goes, what produces it, and where it came from (for messages).
Planning fails, naming both sources, when two jobs claim one path, and refuses any path that
could leave the output folder; only a plan that passed is handed to rendering and writing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from math import ceil
from pathlib import Path
from typing import Any

from sitegen.config import Config
from sitegen.content.images import LocalImages
from sitegen.errors import BuildError, Problem
from sitegen.model import Article, FeedLink, Image, PageMeta, Paginator, Site, SiteInfo
from sitegen.render.feeds import FeedSpec, feed_specs, render_feed
from sitegen.render.redirects import NETLIFY_FILE, netlify_rules, redirect_page, redirects_of
from sitegen.render.seo import json_for_script, news_article, robots
from sitegen.render.sitemap import (
    SitemapEntry,
    news_articles,
    render_news_sitemap,
    render_robots,
    render_sitemap,
)
from sitegen.render.theme import Theme
from sitegen.site.urls import UnsafePath, Urls, feed_links

SCHEDULE_FILE = "schedule.json"


@dataclass(frozen=True)
class PageJob:
    """An HTML page: a template and the plain data it gets."""

    path: str
    origin: str
    template: str
    context: Mapping[str, Any]


@dataclass(frozen=True)
class FeedJob:
    path: str
    origin: str
    spec: FeedSpec


@dataclass(frozen=True)
class DataJob:
    """A file whose bytes are already known (sitemap, robots.txt)."""

    path: str
    origin: str
    data: bytes


@dataclass(frozen=True)
class CopyJob:
    """A static file copied as it is."""

    path: str
    origin: str
    source: Path


Job = PageJob | FeedJob | DataJob | CopyJob


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]

    def count(self, kind: type) -> int:
        return sum(isinstance(job, kind) for job in self.jobs)


def make_plan(site: Site, config: Config, static_files: Mapping[str, Path],
              built_at: datetime, *, search: bool = False, next_due: datetime | None = None,
              next_expiry: datetime | None = None) -> Plan:
    """Every output of the site; raises BuildError on a path clash or an unsafe path.
    `built_at` dates feeds that have no article yet and decides what the news sitemap holds;
    `search` adds the search page (the build adds its index); `next_due` and `next_expiry`
    go into schedule.json, for a scheduled rebuild."""
    planner = _Planner(site.info, config, built_at, LocalImages(static_files, config.base_path,
                                                                config.base_url))
    planner.listing("index", "/", "list.html", site.articles, "", config.description, {},
                    feeds=False)
    for article in (*site.articles, *site.unlisted):
        planner.article(article)
    planner.page("tags", planner.urls.url("/tags/"), "tags.html", "tag index", "Tags",
                 f"Every tag on {config.title}",
                 {"tags": tuple(tag.info() for tag in site.tags)})
    for tag in site.tags:
        planner.listing("tag", f"/tags/{tag.slug}/", "tag.html", tag.articles, tag.name,
                        " ".join(tag.description.split()) or
                        f"{config.title}: articles tagged {tag.name}", {"tag": tag.info()})
    planner.page("authors", planner.urls.url("/authors/"), "authors.html", "author index",
                 "Authors", f"The writers of {config.title}",
                 {"authors": tuple(author.info() for author in site.authors)})
    for author in site.authors:
        planner.listing("author", f"/authors/{author.slug}/", "author.html", author.articles,
                        author.name, author.bio or f"Articles by {author.name}",
                        {"author": author.info()})
    planner.page("archive", planner.urls.url("/archive/"), "archive.html", "archive", "Archive",
                 f"Every article on {config.title}, by month", {"archive": site.archive})
    planner.feeds("/", config.title, config.description, site.articles)
    planner.page("404", planner.urls.url("/404.html"), "404.html", "404 page", "Page not found",
                 "", {}, in_sitemap=False)
    if search:
        planner.page("search", planner.urls.url("/search/"), "search.html", "search page",
                     "Search", f"Search every article on {config.title}", {}, in_sitemap=False,
                     robots="noindex")
    planner.data("sitemap.xml", "sitemap", render_sitemap(planner.sitemap))
    planner.data("news-sitemap.xml", "news sitemap", render_news_sitemap(
        news_articles(site.articles, built_at), site.info.publisher or config.title,
        config.language))
    planner.data("robots.txt", "robots.txt", render_robots(
        *(planner.urls.absolute(planner.urls.url(f"/{name}"))
          for name in ("sitemap.xml", "news-sitemap.xml"))))
    planner.data(SCHEDULE_FILE, "schedule", render_schedule(next_due, next_expiry))
    static = dict(static_files)
    redirects = redirects_of(site, planner.urls)
    if redirects:
        for redirect in redirects:
            path = planner.path_of(redirect.old, redirect.origin)
            if path is not None:
                planner.data(path, redirect.origin, redirect_page(
                    redirect, planner.urls.absolute(redirect.new), config.language))
        # A site's own static/_redirects keeps its rules, ahead of the generated ones.
        own = static.pop(NETLIFY_FILE, None)
        planner.data(NETLIFY_FILE, "redirects", netlify_rules(
            redirects, config.base_path, own.read_bytes() if own else b""))
    for rel, source in static.items():
        planner.add(CopyJob(rel, _rel_origin(source, config.site_dir), source))
    return planner.finish()


def render_job(job: Job, theme: Theme) -> bytes:
    """The bytes of one job's file (a static file's job is copied, not rendered)."""
    if isinstance(job, PageJob):
        return theme.render(job.template, job.context).encode("utf-8")
    if isinstance(job, FeedJob):
        return render_feed(job.spec)
    if isinstance(job, DataJob):
        return job.data
    raise TypeError(f"cannot render {job!r}")


def article_page(article: Article, info: SiteInfo, config: Config,
                 static_files: Mapping[str, Path], built_at: datetime) -> Job:
    """The job of an article's own page, as `make_plan` plans it."""
    planner = _Planner(info, config, built_at, LocalImages(static_files, config.base_path,
                                                           config.base_url))
    planner.article(article)
    (job,) = planner.jobs
    return job


def render_schedule(next_due: datetime | None, next_expiry: datetime | None) -> bytes:
    """When the site next changes by itself: the next scheduled article is due, or the next
    article expires. A cron job or CI schedule reads `rebuild_at` to build again then."""
    def iso(value: datetime | None) -> str | None:
        return value.isoformat(timespec="seconds") if value is not None else None

    times = [t for t in (next_due, next_expiry) if t is not None]
    data = {"next_scheduled_article": iso(next_due), "next_expiry": iso(next_expiry),
            "rebuild_at": iso(min(times, default=None))}
    return (json.dumps(data, indent=2) + "\n").encode("utf-8")


class _Planner:
    def __init__(self, info: SiteInfo, config: Config, built_at: datetime,
                 images: LocalImages) -> None:
        self.info, self.config, self.urls = info, config, Urls(config)
        self.built_at = built_at
        self.images = images
        self.default_image = images.image(config.seo.image, config.seo.image_alt) \
            if config.seo.image else None
        self.logo = images.image(config.seo.logo, info.publisher) if config.seo.logo else None
        self.jobs: list[Job] = []
        self.sitemap: list[SitemapEntry] = []
        self.claimed: dict[str, str] = {}
        self.problems: list[Problem] = []

    def add(self, job: Job) -> None:
        if job.path in self.claimed:
            self.problems.append(Problem(job.origin, f"would write {job.path}, which "
                                         f"{self.claimed[job.path]} writes too; rename one"))
            return
        self.claimed[job.path] = job.origin
        self.jobs.append(job)

    def path_of(self, url: str, origin: str) -> str | None:
        try:
            return self.urls.output_file(url)
        except UnsafePath:
            self.problems.append(Problem(origin, f"URL {url!r} would leave the output folder"))
            return None

    def article(self, article: Article) -> None:
        """An article's page, with its card image, JSON-LD and robots rules."""
        image = article.lead_image or self.default_image
        data = news_article(article, self.info, self.urls.absolute, image, self.logo)
        self.page("article", article.url, "article.html", article.source_path, article.title,
                  article.description, {"article": article}, image=image,
                  json_ld=json_for_script(data), robots=robots(article),
                  in_sitemap=not article.expired)

    def page(self, kind: str, url: str, template: str, origin: str, title: str,
             description: str, context: dict[str, Any], page_feeds: tuple[FeedLink, ...] = (),
             in_sitemap: bool = True, image: Image | None = None, json_ld: Any = None,
             robots: str = "") -> None:
        path = self.path_of(url, origin)
        if path is None:
            return
        meta = PageMeta(kind=kind, url=url, abs_url=self.urls.absolute(url), title=title,
                        description=description or self.config.description,
                        feeds=(*page_feeds, *self.info.feeds),
                        image=image or self.default_image, json_ld=json_ld, robots=robots)
        self.add(PageJob(path, origin, template, {"site": self.info, "page": meta,
                                                  **context}))
        if in_sitemap:
            article = context.get("article")
            modified = (article.updated or article.date) if article else None
            self.sitemap.append(SitemapEntry(meta.abs_url, modified,
                                             article.images if article else ()))

    def listing(self, kind: str, folder: str, template: str, articles: Sequence[Article],
                name: str, description: str, context: dict[str, Any], feeds: bool = True) -> None:
        """A paginated list of articles at `folder`, with its own feeds unless `feeds=False`."""
        per_page = self.config.per_page
        pages = max(1, ceil(len(articles) / per_page))
        first = self.urls.url(folder)
        page_urls = tuple(self.urls.page(first, n) for n in range(1, pages + 1))
        own_feeds = feed_links(f"{self.config.title}: {name}",
                               self.urls.absolute(first)) if feeds else ()
        for number in range(1, pages + 1):
            paginator = Paginator(
                items=tuple(articles[(number - 1) * per_page:number * per_page]), number=number,
                total=pages, total_items=len(articles), first_url=first,
                previous_url=page_urls[number - 2] if number > 1 else None,
                next_url=page_urls[number] if number < pages else None,
                page_pattern=self.urls.page_pattern(first))
            title = name if number == 1 else f"{name or self.config.title} (page {number})"
            self.page(kind, page_urls[number - 1], template, f"{kind} page {folder}", title,
                      description, {**context, "paginator": paginator}, own_feeds)
        if feeds:
            self.feeds(folder, f"{self.config.title}: {name}", description, articles)

    def feeds(self, folder: str, title: str, description: str,
              articles: Sequence[Article]) -> None:
        url = self.urls.url(folder)
        for spec in feed_specs(title, description, self.urls.absolute(url),
                               self.urls.absolute(url), self.config.language, articles,
                               self.config.feeds.items, self.config.feeds.full_content,
                               self.built_at):
            feed_url = spec.feed_url[len(self.urls.base_url):]
            path = self.path_of(self.urls.url(feed_url), f"feed {folder}")
            if path is not None:
                self.add(FeedJob(path, f"{spec.format} feed {folder}", spec))

    def data(self, path: str, origin: str, data: bytes) -> None:
        self.add(DataJob(path, origin, data))

    def finish(self) -> Plan:
        if self.problems:
            raise BuildError(self.problems)
        return Plan(tuple(self.jobs))


def _rel_origin(path: Path, site_dir: Path) -> str:
    return path.relative_to(site_dir).as_posix() if path.is_relative_to(site_dir) else str(path)
