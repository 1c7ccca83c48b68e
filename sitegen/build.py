"""The build pipeline, top to bottom: config -> sources -> rendered bodies -> site -> plan -> files.

Every article is read and every output planned before anything is written, and the files are
written into a staging folder that replaces the output only when all of them succeeded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sitegen import search
from sitegen.cache import BuildCache
from sitegen.config import Config, load_config
from sitegen.content import read_sources
from sitegen.embeds import MarkupError
from sitegen.errors import BuildError, Problem, SiteError
from sitegen.feeds import render_feed
from sitegen.images import LocalImages
from sitegen.markdown import MarkdownRenderer
from sitegen.model import Site
from sitegen.plan import CopyJob, DataJob, FeedJob, Job, PageJob, Plan, make_plan
from sitegen.site import Selection, assemble, select
from sitegen.theme import Theme
from sitegen.urls import Urls
from sitegen.writer import Staging, check_output_dir, replacing


@dataclass(frozen=True)
class BuildOptions:
    site_dir: Path = Path(".")
    output_dir: Path | None = None  # default: output/ in the site folder
    drafts: bool = False
    future: bool = False
    base_url: str | None = None
    now: datetime | None = None  # the moment that decides what is scheduled; default: now


@dataclass(frozen=True)
class BuildReport:
    output_dir: Path
    articles: int
    pages: int
    tags: int
    authors: int
    feeds: int
    files: int
    drafts_skipped: int
    scheduled_skipped: int
    next_due: datetime | None
    seconds: float
    warnings: list[Problem] = field(default_factory=list)
    expired: int = 0  # articles past `expires`: pages kept, out of listings and feeds
    next_expiry: datetime | None = None
    search: bool = False  # a search index was built


@dataclass(frozen=True)
class Prepared:
    """A site read, assembled and planned, ready to render: the part a build and the dev
    server's rebuilds share."""

    config: Config
    selection: Selection
    site: Site
    warnings: list[Problem]
    theme: Theme
    plan: Plan
    search: bool = False  # the build adds a Pagefind index once the pages are written


def prepare(options: BuildOptions, cache: BuildCache | None = None,
            theme: Theme | None = None) -> Prepared:
    """Read, render and plan the site; raises BuildError (or SiteError) on any problem."""
    site_dir = options.site_dir.resolve()
    if not site_dir.is_dir():
        raise SiteError(str(options.site_dir), "site folder not found")
    config = load_config(site_dir, options.base_url)
    if cache is not None:
        cache.use_config(config)
    now = options.now or datetime.now(config.tz)

    sources, problems = read_sources(config, cache)
    if problems:
        raise BuildError(problems)
    selection = select(sources, now, options.drafts, options.future)
    urls = Urls(config)
    theme = theme or Theme(config)
    images = LocalImages(theme.static_files, config.base_path, config.base_url)
    renderer = MarkdownRenderer(config.markdown, config.base_path, images.size)
    bodies = {}
    for source in selection.published:
        url = urls.absolute(urls.article(source.date, source.slug))
        try:
            bodies[source.rel_path] = (
                renderer.render(source.body, url) if cache is None else
                cache.body(source.body, url, lambda s=source, u=url: renderer.render(s.body, u)))
        except MarkupError as exc:
            problems.append(Problem(source.rel_path, str(exc), source.body_line + exc.line))
    if problems:
        raise BuildError(problems)
    if cache is not None:
        cache.prune()
    warnings: list[Problem] = []
    searchable = False
    if config.search.enabled:
        reason = search.unavailable()
        searchable = reason is None
        if reason is not None:
            warnings.append(Problem("search", reason))
    site, site_warnings = assemble(config, selection.published, bodies, now, images,
                                   search_url=urls.url("/search/") if searchable else None)
    plan = make_plan(site, config, theme.static_files, now, search=searchable,
                     next_due=selection.next_due, next_expiry=selection.next_expiry)
    return Prepared(config, selection, site, [*site_warnings, *warnings], theme, plan,
                    searchable)


def build(options: BuildOptions) -> BuildReport:
    """Build the site; raises BuildError (or SiteError, OutputError) and then writes nothing."""
    started = time.perf_counter()
    site_dir = options.site_dir.resolve()
    output = check_output_dir(options.output_dir or site_dir / "output", site_dir)
    prepared = prepare(options)
    with replacing(output) as staging:
        write_plan(prepared.plan, prepared.theme, staging)
        if prepared.search:
            search.add_index(staging)
        files = len(staging.files)
    done = report(prepared, output, time.perf_counter() - started)
    return replace(done, files=files, search=prepared.search)


def report(prepared: Prepared, output: Path, seconds: float) -> BuildReport:
    site, plan, selection = prepared.site, prepared.plan, prepared.selection
    return BuildReport(
        output_dir=output, articles=len(site.articles), pages=plan.count(PageJob),
        tags=len(site.tags), authors=len(site.authors), feeds=plan.count(FeedJob),
        files=len(plan.jobs), drafts_skipped=selection.drafts,
        scheduled_skipped=selection.scheduled, next_due=selection.next_due,
        seconds=seconds, warnings=prepared.warnings, expired=selection.expired,
        next_expiry=selection.next_expiry)


def write_plan(plan: Plan, theme: Theme, staging: Staging) -> None:
    """Render every job into the staging folder; template problems are collected, then raised."""
    problems: dict[Problem, None] = {}  # one template bug breaks many pages: report it once
    for job in plan.jobs:
        try:
            if isinstance(job, CopyJob):
                staging.copy(job.path, job.source)
            else:
                staging.write(job.path, render_job(job, theme))
        except SiteError as exc:
            problems.setdefault(exc.problem)
    if problems:
        raise BuildError(list(problems))


def render_job(job: Job, theme: Theme) -> bytes:
    if isinstance(job, PageJob):
        return theme.render(job.template, job.context).encode("utf-8")
    if isinstance(job, FeedJob):
        return render_feed(job.spec)
    if isinstance(job, DataJob):
        return job.data
    raise TypeError(f"cannot render {job!r}")
