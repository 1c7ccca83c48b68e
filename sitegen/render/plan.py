"""The render plan: every file the build will write, decided and checked before any is written.

Each job says where its file goes, what produces it, and where it came from (for messages).
Every output path is claimed here, including the ones no job writes (the search bundle's
folder, the manifest). Planning fails, naming both claimants with file and line where known,
when two claims take one path or one claims a path as a file that another needs as a folder
(an alias `/css/style.css` would turn the stylesheet into a folder); it refuses any path that
could leave the output folder. Only a plan that passed is handed to rendering and writing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from math import ceil
from pathlib import Path
from typing import Any

from sitegen.config import Config
from sitegen.content.images import LocalImages
from sitegen.content.pictures import Pictures
from sitegen.content.registry import TagRegistry
from sitegen.errors import BuildError, Problem
from sitegen.folders import BUNDLE_DIR, MANIFEST
from sitegen.model import (
    Article,
    FeedLink,
    HtmlLater,
    Image,
    PageMeta,
    Paginator,
    Site,
    SiteInfo,
)
from sitegen.render.feeds import FeedSpec, feed_specs, render_feed
from sitegen.render.redirects import NETLIFY_FILE, netlify_rules, redirect_page, redirects_of
from sitegen.render.seo import ArticleJsonLd, robots
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
class Claimant:
    """Who claims an output path, for messages: what it is, the file and line behind it
    (where there is one) and what to do when it collides."""

    what: str
    file: str | None = None
    line: int | None = None
    fix: str = "rename one of them"
    folder: bool = False  # the claim is of the whole folder at its path (the search bundle)

    def named(self) -> str:
        """`what`, with the file and line behind it when `what` does not already say them."""
        if not self.file or self.file in self.what:
            return self.what
        return f"{self.what} ({self.file}:{self.line})" if self.line else \
            f"{self.what} ({self.file})"


# The order claims are checked in: a claim that collides with an earlier one is the one the
# message starts from (when it has a file to point at), so it names what the author added
# (an alias, an article) rather than what was there before (the theme's stylesheet).
SITEGEN, STATIC, BUNDLE, LISTING, ARTICLE, REDIRECT = range(6)


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]

    def count(self, kind: type) -> int:
        return sum(isinstance(job, kind) for job in self.jobs)


def make_plan(site: Site, config: Config, static_files: Mapping[str, Path],
              built_at: datetime, *, search: bool = False, next_due: datetime | None = None,
              next_expiry: datetime | None = None,
              line_of: Mapping[str, Mapping[str, int]] | None = None,
              registry: TagRegistry | None = None, pictures: Pictures | None = None) -> Plan:
    """Every output of the site; raises BuildError on a path clash or an unsafe path.
    `built_at` dates feeds that have no article yet and decides what the news sitemap holds;
    `search` adds the search page (the build adds its index); `next_due` and `next_expiry`
    go into schedule.json, for a scheduled rebuild. `line_of`: each article's front matter
    lines by source path (Source.line_of), and `registry` where each tag is registered, so a
    clash names the line.

    The search bundle's folder is claimed whenever search is enabled, whether or not Pagefind
    is installed here, so a site is refused or accepted alike on every machine.

    `pictures`: the image variants made for the site, copied from the cache; the originals
    they were made from are left out (unless [images] keep_originals, or something else
    links them: an article body, an avatar, the logo)."""
    lines = line_of or {}
    planner = _Planner(site.info, config, built_at, LocalImages(static_files, config.base_path,
                                                                config.base_url), lines)
    planner.claim(MANIFEST, SITEGEN, Claimant(f"sitegen's list of the files it wrote ({MANIFEST})"))
    if config.search.enabled:
        planner.claim(BUNDLE_DIR, BUNDLE, Claimant(
            "the search index (Pagefind's; [search] in sitegen.toml)", folder=True))
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
                 f"Every article on {config.title}, by year", {"archive": site.archive})
    # One page per year, with month headings: a single page of every article grows without
    # bound (24,000 px at 300 articles).
    years = tuple(y.year for y in site.archive)
    for index, year in enumerate(site.archive):
        planner.page("archive", planner.urls.url(f"/archive/{year.year}/"), "archive_year.html",
                     f"archive of {year.year}", f"Archive: {year.year}",
                     f"Every article {config.title} published in {year.year}, by month",
                     {"year": year, "years": years,
                      "newer": years[index - 1] if index > 0 else None,
                      "older": years[index + 1] if index + 1 < len(years) else None})
    planner.page("feeds", planner.urls.url("/feeds/"), "feeds.html", "feeds page", "Follow",
                 f"Every feed of {config.title}: the whole site, each tag and each author",
                 {"tags": tuple(tag.info() for tag in site.tags),
                  "authors": tuple(author.info() for author in site.authors)})
    planner.feeds("/", config.title, config.description, site.articles)
    planner.page("404", planner.urls.url("/404.html"), "404.html", "404 page", "Page not found",
                 "", {}, in_sitemap=False)
    if search:
        planner.page("search", planner.urls.url("/search/"), "search.html", "search page",
                     "Search", f"Search every article on {config.title}", {}, in_sitemap=False,
                     robots="noindex")
    elif config.search.enabled:  # Pagefind is missing here: its page's path stays taken
        page = planner.path_of(planner.urls.url("/search/"), Claimant("the search page"))
        if page is not None:
            planner.claim(page, SITEGEN, Claimant("the search page"))
    planner.data("sitemap.xml", "sitemap", render_sitemap(planner.sitemap))
    planner.data("news-sitemap.xml", "news sitemap", render_news_sitemap(
        news_articles(site.articles, built_at), site.info.publisher or config.title,
        config.language))
    planner.data("robots.txt", "robots.txt", render_robots(
        *(planner.urls.absolute(planner.urls.url(f"/{name}"))
          for name in ("sitemap.xml", "news-sitemap.xml"))))
    planner.data(SCHEDULE_FILE, "schedule", render_schedule(next_due, next_expiry))
    static = dict(static_files)
    redirects = redirects_of(site, planner.urls,
                             {path: found["aliases"] for path, found in lines.items()
                              if "aliases" in found}, registry)
    if redirects:
        for redirect in redirects:
            claimant = Claimant(redirect.origin, redirect.file, redirect.line,
                                "remove the former slug, or retag the articles that use it"
                                if redirect.section else
                                "change or remove the alias")
            path = planner.path_of(redirect.old, claimant)
            if path is not None:
                planner.add(DataJob(path, redirect.origin, redirect_page(
                    redirect, planner.urls.absolute(redirect.new), config.language)),
                    REDIRECT, claimant)
        # A site's own static/_redirects keeps its rules, ahead of the generated ones.
        own = static.pop(NETLIFY_FILE, None)
        planner.data(NETLIFY_FILE, "redirects", netlify_rules(
            redirects, config.base_path, own.read_bytes() if own else b""))
    if pictures is not None:
        for rel, source in pictures.files.items():
            planner.add(CopyJob(rel, "image variant", source), SITEGEN,
                        Claimant(f"sitegen's image variants ({rel})"))
        if not config.images.keep_originals:
            linked = _linked_images(site, config, planner.images)
            static = {rel: source for rel, source in static.items()
                      if source not in pictures.processed or source in linked}
    site_static = config.site_dir / "static"
    for rel, source in static.items():
        origin = _rel_origin(source, config.site_dir)
        if source.is_relative_to(site_static):
            claimant = Claimant(f"static file {origin}", origin,
                                fix="rename or remove the static file")
        else:  # <theme>/static/<rel>; a theme shipped with sitegen has no file in the site
            theme = source.parents[rel.count("/") + 1].name
            claimant = Claimant(f"the {theme} theme's {rel}", origin if
                                source.is_relative_to(config.site_dir) else None,
                                fix="rename or remove the theme's static file")
        planner.add(CopyJob(rel, origin, source), STATIC, claimant)
    return planner.finish()


def _linked_images(site: Site, config: Config, images: LocalImages) -> set[Path]:
    """Static files pages link as they are: images in article bodies, avatars the site made
    no squares of (another site's, SVG), the logo."""
    prefix = config.base_url.rstrip("/")
    urls = [url[len(prefix):] for article in (*site.articles, *site.unlisted)
            for url in article.images if url.startswith(prefix + "/")]
    squared = {a.name for a in site.authors if a.avatar_image is not None}
    urls += [author.avatar for name, author in config.authors.items()
             if author.avatar and name not in squared]
    urls += [config.seo.logo] if config.seo.logo else []
    return {file for url in urls if (file := images.file_for(url)) is not None}


def render_job(job: Job, theme: Theme, assets: set[str] | None = None) -> bytes:
    """The bytes of one job's file (a static file's job is copied, not rendered). `assets`,
    when given, gets the static files a page named with `asset()` (`Theme.render`)."""
    if isinstance(job, PageJob):
        return theme.render(job.template, job.context, assets).encode("utf-8")
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
                 images: LocalImages, line_of: Mapping[str, Mapping[str, int]] | None = None
                 ) -> None:
        self.info, self.config, self.urls = info, config, Urls(config)
        self.line_of = line_of or {}
        self.built_at = built_at
        self.images = images
        self.default_image = info.image
        self.social_image = info.image.crop("og") if info.image else None
        self.logo = info.logo
        self.jobs: list[Job] = []
        self.sitemap: list[SitemapEntry] = []
        self.claims: tuple[list[tuple[str, Claimant]], ...] = tuple([] for _ in range(6))
        self.problems: list[Problem] = []

    def add(self, job: Job, rank: int = SITEGEN, claimant: Claimant | None = None) -> None:
        self.claim(job.path, rank, claimant or Claimant(job.origin))
        self.jobs.append(job)

    def claim(self, path: str, rank: int, claimant: Claimant) -> None:
        """Take `path` for `claimant`; checked against every other claim in `finish`."""
        self.claims[rank].append((path, claimant))

    def path_of(self, url: str, claimant: Claimant) -> str | None:
        try:
            return self.urls.output_file(url)
        except UnsafePath:
            what = claimant.what if url in claimant.what else f"{claimant.what}: URL {url!r}"
            self.problems.append(Problem(claimant.file or claimant.what,
                                         f"{what} would leave the output folder; {claimant.fix}",
                                         claimant.line))
            return None

    def article(self, article: Article) -> None:
        """An article's page, with its card image, JSON-LD and robots rules."""
        image = article.lead_image or self.default_image
        json_ld = ArticleJsonLd(article, self.info, image, self.urls.base_url,
                                self.urls.base_path)
        lines = self.line_of.get(article.source_path, {})
        self.page("article", article.url, "article.html", article.source_path, article.title,
                  article.description, {"article": article},
                  image=image.crop("og") if image else None,
                  json_ld=json_ld, robots=robots(article),
                  in_sitemap=not article.expired,
                  claimant=Claimant(f"the article's page {article.url}", article.source_path,
                                    lines.get("slug") or lines.get("title"),
                                    "give the article another 'slug:' or rename what it "
                                    "collides with"))

    def page(self, kind: str, url: str, template: str, origin: str, title: str,
             description: str, context: dict[str, Any], page_feeds: tuple[FeedLink, ...] = (),
             in_sitemap: bool = True, image: Image | None = None, json_ld: HtmlLater | None = None,
             robots: str = "", claimant: Claimant | None = None) -> None:
        """A page; `claimant` says who asked for it (by default sitegen, for `kind`)."""
        claimant = claimant or Claimant(f"the {origin}" if kind not in ("tag", "author")
                                        else origin)
        path = self.path_of(url, claimant)
        if path is None:
            return
        meta = PageMeta(kind=kind, url=url, abs_url=self.urls.absolute(url), title=title,
                        description=description or self.config.description,
                        feeds=(*page_feeds, *self.info.feeds),
                        image=image or self.social_image, json_ld=json_ld, robots=robots)
        self.add(PageJob(path, origin, template, {"site": self.info, "page": meta,
                                                  **context}),
                 ARTICLE if kind == "article" else LISTING if kind in ("tag", "author")
                 else SITEGEN, claimant)
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
                               self.built_at, self.logo):
            feed_url = spec.feed_url[len(self.urls.base_url):]
            origin = f"{spec.format} feed {folder}"
            label = {"rss": "RSS", "atom": "Atom", "json": "JSON"}.get(spec.format, spec.format)
            claimant = Claimant(f"the site's {label} feed" if folder == "/" else
                                f"the {label} feed of {folder}")
            path = self.path_of(self.urls.url(feed_url), claimant)
            if path is not None:
                self.add(FeedJob(path, origin, spec),
                         SITEGEN if folder == "/" else LISTING, claimant)

    def data(self, path: str, origin: str, data: bytes) -> None:
        self.add(DataJob(path, origin, data), SITEGEN, Claimant(
            f"sitegen's {origin}" if origin == path else f"sitegen's {origin} ({path})"))

    def finish(self) -> Plan:
        """The plan, or BuildError with every problem, path clashes included."""
        self.problems += _collisions(self.claims)
        if self.problems:
            raise BuildError(self.problems)
        return Plan(tuple(self.jobs))


def _collisions(claims: Iterable[Iterable[tuple[str, Claimant]]]) -> list[Problem]:
    """Every claim that takes a path claimed before it: the same path, a path under one claimed
    as a file (or as a whole folder), or a path that claimed folders lie under. One look-up
    per claim and per folder above it, so linear in the paths' total length."""
    files: dict[str, tuple[str, Claimant]] = {}
    folders: dict[str, str] = {}  # folder -> the first claimed path under it
    problems = []
    for path, claimant in (claim for rank in claims for claim in rank):
        above = _folders_above(path)
        other: tuple[str, Claimant] | None
        if path in files:
            other = files[path]
        elif path in folders:
            other = files[folders[path]]
        else:
            other = next((files[f] for f in above if f in files), None)
        if other is not None:
            problems.append(_collision((path, claimant), other))
            continue
        files[path] = (path, claimant)
        for folder in above:
            folders.setdefault(folder, path)
    return problems


def _folders_above(path: str) -> list[str]:
    """"a/b/c.html" -> ["a", "a/b"]."""
    found = []
    end = path.find("/")
    while end != -1:
        found.append(path[:end])
        end = path.find("/", end + 1)
    return found


def _collision(new: tuple[str, Claimant], old: tuple[str, Claimant]) -> Problem:
    """The problem of `new` colliding with `old`, told from the side that has a file to fix:
    the later claim's (the author's alias rather than the theme's stylesheet) where it has
    one."""
    (path, subject), (other_path, other) = (new, old) if new[1].file or not old[1].file \
        else (old, new)
    if other.folder:
        how = f"it would write {path}, inside {other_path}/, which is reserved for it"
    elif subject.folder:
        how = f"it needs {path}/ as its folder, but {other_path} is written there"
    elif path == other_path:
        how = f"both would write {path}"
    elif path.startswith(other_path + "/"):
        how = f"it would write {path}, but {other_path} is a file"
    else:
        how = f"it would write {path} as a file, but {other_path} needs {path} to be a folder"
    return Problem(subject.file or subject.what,
                   f"{subject.what} collides with {other.named()}: {how}; {subject.fix}",
                   subject.line)


def _rel_origin(path: Path, site_dir: Path) -> str:
    return path.relative_to(site_dir).as_posix() if path.is_relative_to(site_dir) else str(path)
