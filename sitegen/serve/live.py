"""Incremental rebuilds for the dev server: keep a folder equal to what a full build writes.

Each output is a pure function of its job (template name plus the plain data it gets, or the
feed's articles, or a static file) and the theme. Two paths keep the folder current:

- The full path plans the whole site again (sources and rendered bodies come from the cache)
  and re-renders only the jobs that differ from last time, compared by fingerprint (a digest
  of the job's data in which a tag or article shared by many pages is digested once, so it
  stays linear in the site's size; a static file by its job, as a change to one re-renders
  everything). That catches every dependency (an article's page, the lists and feeds that
  show it, neighbours' previous/next links, related articles, the sitemap) without a
  hand-kept dependency graph. A template, static file or configuration change re-renders
  everything.
- The quick path, for the commonest save: only the bodies of published articles changed
  (front matter as it was, so no URL, title, date, tag, order or list changes). The new
  bodies are rendered, the new Articles take the old ones' places in the last plan's jobs
  (found through an index of which jobs hold which article), and only those jobs are
  rendered: the article's page first, then (after `publish`) the lists and feeds.

Both give byte-identical results to a full build (tests/serve/test_live.py checks each against
one). A failed rebuild writes nothing, so the last good site stays served; the one exception is
a quick rebuild whose lists or feeds fail on the new text after the article's own page was
published: that page stays, and the next rebuild takes the full path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sitegen.config import Config
from sitegen.content.images import LocalImages
from sitegen.content.pictures import LengthPending
from sitegen.errors import BuildError, Problem, SiteError
from sitegen.incremental.cache import BuildCache
from sitegen.incremental.fingerprint import Fingerprints
from sitegen.incremental.replan import ARTICLE_KEY
from sitegen.incremental.substitute import holders
from sitegen.model import Article, Source
from sitegen.parallel import default_workers
from sitegen.pipeline.build import build_report
from sitegen.pipeline.stages import (
    Edit,
    Prepared,
    Settings,
    prepare,
    replan,
    site_images,
    update,
)
from sitegen.render.plan import CopyJob, Job, PageJob, Plan, render_job
from sitegen.render.theme import Theme
from sitegen.report import BuildOptions, BuildReport
from sitegen.serve.photos import plan_early
from sitegen.site.assemble import source_urls
from sitegen.write import search
from sitegen.write.writer import updating


@dataclass(frozen=True)
class Rebuilt:
    """What one rebuild did."""

    ok: bool
    problems: tuple[Problem, ...] = ()
    written: tuple[str, ...] = ()  # output paths rewritten
    removed: tuple[str, ...] = ()  # output paths deleted
    seconds: float = 0.0
    report: BuildReport | None = None
    warnings: tuple[Problem, ...] = field(default_factory=tuple)
    quick: bool = False  # only article bodies changed, and only the jobs showing them ran
    published_seconds: float | None = None  # quick path: when the articles' pages were written
    pending: frozenset[str] = frozenset()  # quick path, interrupted: files still to be written


@dataclass
class LastBuild:
    """The last good build, as the quick path needs it (and the pipeline's updates read it:
    `stages.Before`). Its `prepared.site` is kept for URLs and site info only: after a quick
    rebuild the current articles are in `articles` and in the plan's jobs, not in the site's
    lists."""

    prepared: Prepared
    report: BuildReport
    built_at: datetime
    images: LocalImages
    sources: dict[Path, Source]  # published sources by path
    articles: dict[str, Article]  # the current article of each source path
    by_source: dict[str, str]  # every article's URL by its source path
    # By source path: the indices of the jobs that show it. Found when first needed (or when
    # the builder is idle, `LiveSite.ready_quick`): some 0.2 s at 1,000 articles that a full
    # rebuild (a replaced photo) need not keep its pages waiting for.
    _showing: dict[str, list[int]] | None = None

    @property
    def config(self) -> Config:
        return self.prepared.config

    def source(self, path: Path) -> Source | None:
        return self.sources.get(path)

    def article(self, rel_path: str) -> Article | None:
        return self.articles.get(rel_path)

    def holders(self, rel_path: str) -> list[int]:
        if self._showing is None:
            self._showing = holders(list(self.prepared.plan.jobs), Article, ARTICLE_KEY)
        return self._showing.get(rel_path, [])

    @classmethod
    def of(cls, prepared: Prepared, report: BuildReport, built_at: datetime) -> LastBuild:
        site, config = prepared.site, prepared.config
        return cls(prepared, report, built_at,
                   site_images(prepared.theme.static_files, config),
                   {s.path: s for s in prepared.selection.published},
                   {a.source_path: a for a in (*site.articles, *site.unlisted)},
                   source_urls(site))


class LiveSite:
    def __init__(self, options: BuildOptions, folder: Path) -> None:
        self.options = options
        self.folder = folder.resolve()
        self.cache = BuildCache()
        self._jobs: dict[str, Job] = {}
        self._prints: dict[str, str] = {}  # the last good build's fingerprint of each file
        self._theme: Theme | None = None
        self._last: LastBuild | None = None  # what the quick path works from
        self._deferred: list[int] = []  # jobs of the last plan an interrupted rebuild left
        self._gone: list[str] = []  # static files the last write found deleted
        self.indexer = search.BackgroundIndexer(self.folder)

    def rebuild(self, everything: bool = False, paths: Iterable[Path] = (),
                publish: Callable[[frozenset[str]], None] | None = None,
                interrupted: Callable[[], bool] | None = None) -> Rebuilt:
        """Bring the folder up to date. `everything`: templates, static files or the config
        changed, so every page must be rendered again. `paths`: the files that changed, if
        known; when they are only the bodies of published articles, the quick path runs, and
        calls `publish` once the articles' own pages are written, with the output paths it
        is still to write (the pages and feeds that list them). While it writes those, it
        stops when `interrupted()` says another change is waiting: the outcome's `pending`
        files are then written by the next rebuild, which serves its own article first."""
        started = time.perf_counter()
        paths = frozenset(paths)
        if paths and not everything and self._last is not None:
            quick = self._quick(self._last, paths, started, publish, interrupted)
            if quick is not None:
                return quick
        if self._last is not None and self._deferred:
            self._write_deferred(self._last)  # the last good site, whole, before planning anew
        # A replaced photo: the pages that show it first, while its variants are encoded.
        early, published = self._photos_first(self._last, paths, publish, started) \
            if everything and self._last is not None else ([], None)
        self._last = None  # until this rebuild succeeds, the quick path has no footing
        everything = everything or self._theme is None
        try:
            prepared = prepare(Settings(
                self.options, self.cache, theme=None if everything else self._theme,
                gone_ok=True))  # a file deleted meanwhile: its own event follows
            # Static files only (a photo replaced): a new theme, but only the pages whose
            # fingerprints changed render, those that show the photo or name the file.
            outputs, prints = self._render_changed(
                prepared, everything and not _static_only(prepared.theme, paths))
        except (BuildError, SiteError) as exc:
            if early:  # the pages written first go back to the last good site's
                self._put_back(early)
            problems = exc.problems if isinstance(exc, BuildError) else [exc.problem]
            return Rebuilt(False, tuple(problems), seconds=time.perf_counter() - started)
        new_jobs = {job.path: job for job in prepared.plan.jobs}
        written, removed = self._commit(outputs, set(self._jobs) - set(new_jobs))
        self._search(prepared, written + removed)
        for rel in self._gone:  # copied by the next rebuild, which its deletion triggers
            new_jobs.pop(rel, None)
        self._jobs, self._prints, self._theme = new_jobs, prints, prepared.theme
        seconds = time.perf_counter() - started
        self._last = LastBuild.of(prepared, build_report(prepared, self.folder, seconds), prepared.now)
        failed = (self.indexer.problem,) if self.indexer.problem else ()
        return Rebuilt(True, written=written, removed=removed, seconds=seconds,
                       report=self._last.report, warnings=(*prepared.warnings, *failed),
                       published_seconds=published)

    def _photos_first(self, last: LastBuild, paths: frozenset[Path],
                      publish: Callable[[frozenset[str]], None] | None, started: float
                      ) -> tuple[list[str], float | None]:
        """When only photos that articles show as lead images were replaced (serve/photos.py):
        start encoding their variants, write the pages that show them meanwhile, publish
        them (requests for what the rebuild may still change wait), and wait for the
        variants. Returns the paths written, and when (seconds after `started`)."""
        config = last.prepared.config
        now = self.options.now or datetime.now(config.tz)
        selection = last.prepared.selection
        if self._theme is None or not paths or not _static_only(self._theme, paths) or any(
                t is not None and t <= now for t in (selection.next_due, selection.next_expiry)):
            return [], None  # an article came due or expired: the lists change
        early = plan_early(last.prepared, last.articles, last.built_at, self._jobs,
                           self._prints, paths, self.options.workers or default_workers())
        if early is None:
            return [], None
        try:
            outputs: dict[str, bytes | Path] = {}
            for job in early.jobs:
                try:
                    outputs[job.path] = render_job(job, self._theme)
                except (SiteError, LengthPending):  # it prints a length: the rebuild writes it
                    early.pending.add(job.path)
            self._commit(outputs)
            if publish is not None:
                publish(frozenset(early.pending))
            published = time.perf_counter() - started
            early.wait()
            # The variants, as soon as they are made: the pages above name them. Their
            # names are digests of their bytes' recipe, so no other version of them exists.
            variants = early.variants()
            self._commit(dict(variants))
            if publish is not None:
                publish(frozenset(early.pending.difference(variants)))
        finally:
            early.stop()
        return sorted({*outputs, *variants}), published

    def _put_back(self, paths: list[str]) -> None:
        """The last good build's files at `paths` (written ahead of a rebuild that failed):
        its pages rendered again, the variants it did not have removed."""
        assert self._theme is not None
        try:
            self._commit({path: render_job(self._jobs[path], self._theme) for path in paths
                          if path in self._jobs}, [p for p in paths if p not in self._jobs])
        except SiteError:
            self._prints = {}  # cannot happen (they rendered before); else: every page again

    def adopt(self, prepared: Prepared, prints: dict[str, str], written: tuple[str, ...],
              removed: tuple[str, ...], seconds: float) -> Rebuilt:
        """Take a first build the caller wrote into the folder (`serve.start`, in forked
        workers, before the preview's threads exist) as the last good one; `prints`: every
        job's fingerprint."""
        self._jobs = {job.path: job for job in prepared.plan.jobs}
        self._prints = dict(prints)  # a copy's: its static file's stamp before it was copied
        self._theme = prepared.theme
        self._search(prepared, written + removed)
        self._last = LastBuild.of(prepared, build_report(prepared, self.folder, seconds),
                                 prepared.now)
        failed = (self.indexer.problem,) if self.indexer.problem else ()
        return Rebuilt(True, written=written, removed=removed, seconds=seconds,
                       report=self._last.report, warnings=(*prepared.warnings, *failed))

    def ready_quick(self) -> None:
        """Index the last build's jobs by the articles they show, for the next quick rebuild
        (the builder calls it once the rebuild's pages are served)."""
        if self._last is not None:
            self._last.holders("")

    def made(self) -> dict[str, str]:
        """The fingerprint of each file in the folder that is the render of its job in the
        last good build (pages, feeds, static copies), for the next run (serve/kept.py).
        Files a quick rebuild rewrote, or left to be written, are not in it."""
        return {path: value for path, value in self._prints.items() if path in self._jobs}

    def _quick(self, last: LastBuild, paths: frozenset[Path], started: float,
               publish: Callable[[frozenset[str]], None] | None,
               interrupted: Callable[[], bool] | None) -> Rebuilt | None:
        """Only article bodies changed: render the new bodies, put the new articles in the
        last plan's jobs in place of the old, and render only the jobs that hold them. None
        when the change is anything else, or fails: the full path then decides and reports."""
        config = last.prepared.config
        now = self.options.now or datetime.now(config.tz)
        selection = last.prepared.selection
        if any(t is not None and t <= now for t in (selection.next_due, selection.next_expiry)):
            return None  # an article came due or expired: the lists change
        edit = update(last, paths)
        if edit is None:
            return None
        # The edited articles' own pages first: that is what the author is looking at.
        before = last.prepared.plan
        first = [i for i in edit.jobs if isinstance(job := before.jobs[i], PageJob)
                 and isinstance(own := job.context.get("article"), Article)
                 and own.source_path in edit.articles]
        # Then the lists and feeds that hold the articles, and any an interrupted rebuild
        # left (those are planned already).
        lists = sorted(set(edit.jobs) - set(first))
        rest = sorted(set(lists) | set(self._deferred))
        plan = _replan(last, edit, before, first)
        try:
            self._render_some(plan, last.prepared.theme, first, None)
        except SiteError:
            return None
        written = tuple(sorted(plan.jobs[i].path for i in first))
        published = time.perf_counter() - started
        if publish is not None:
            publish(frozenset(before.jobs[i].path for i in rest))
        plan = _replan(last, edit, plan, lists)
        # From here the new plan is the last good one, whatever is still to be written.
        for index in edit.jobs:
            job = plan.jobs[index]
            self._jobs[job.path] = job
            self._prints.pop(job.path, None)  # the next full rebuild renders it again
        for source in edit.sources:
            last.sources[source.path] = source
        last.articles.update(edit.articles)
        last.prepared.plan = plan
        try:
            self._deferred = self._render_some(plan, last.prepared.theme, rest, interrupted)
        except SiteError as exc:  # a list page fails on the new text: the next rebuild is full
            self._last, self._prints, self._deferred = None, {}, []
            return Rebuilt(False, (exc.problem,), written=written,
                           seconds=time.perf_counter() - started)
        left = set(self._deferred)
        done = [plan.jobs[i].path for i in rest if i not in left]
        written = tuple(sorted({*written, *done}))
        self._search(last.prepared, written)
        seconds = time.perf_counter() - started
        failed = (self.indexer.problem,) if self.indexer.problem else ()
        return Rebuilt(True, written=written, seconds=seconds,
                       report=replace(last.report, seconds=seconds),
                       warnings=(*last.prepared.warnings, *failed), quick=True,
                       published_seconds=published,
                       pending=frozenset(plan.jobs[i].path for i in self._deferred))

    def _render_some(self, plan: Plan, theme: Theme, indices: list[int],
                     interrupted: Callable[[], bool] | None) -> list[int]:
        """Render and write the jobs at `indices` until `interrupted()`; returns the indices
        not reached. Raises SiteError from a template."""
        outputs: dict[str, bytes | Path] = {}
        done = 0
        while done < len(indices) and not (interrupted is not None and done and interrupted()):
            job = plan.jobs[indices[done]]
            outputs[job.path] = render_job(job, theme)
            done += 1
        self._commit(outputs)
        return list(indices[done:])

    def _write_deferred(self, last: LastBuild) -> None:
        """Write what an interrupted quick rebuild left, so a rebuild that cannot be quick
        starts from (and, if it fails, leaves) a whole site."""
        try:
            self._render_some(last.prepared.plan, last.prepared.theme, self._deferred, None)
        except SiteError:
            self._prints = {}  # left stale: the full path renders every page again
        self._deferred = []

    def _search(self, prepared: Prepared, changed: tuple[str, ...]) -> None:
        """Re-index the preview in the background when a page changed (or search was just
        switched on); the rebuild does not wait for it."""
        bundle = self.folder / search.BUNDLE_DIR
        if not prepared.search:
            self.indexer.wait()
            search.remove_index(self.folder)
        elif not bundle.is_dir() or any(rel.endswith(".html") for rel in changed):
            self.indexer.request(search.pages_glob(prepared.config.permalink))

    def _render_changed(self, prepared: Prepared, everything: bool
                        ) -> tuple[dict[str, bytes | Path], dict[str, str]]:
        """Render every job that differs from the last good build; raise on any problem.
        Returns the outputs and every rendered job's fingerprint."""
        outputs: dict[str, bytes | Path] = {}
        problems: dict[Problem, None] = {}
        # As a build's and the kept preview's records (serve/kept.py): a page's names the
        # assets it used, so a replaced photo renders again only the pages that show it.
        fingerprints = Fingerprints.of_theme(prepared.theme)
        prints: dict[str, str] = {}
        for job in prepared.plan.jobs:
            # A copy's fingerprint is its static file's stamp when copied (taken before the
            # copy: a file changed meanwhile then looks changed, never the reverse).
            try:
                data = fingerprints.of(job)
            except OSError:  # a static file deleted since listed: `_commit` notes it gone
                outputs[job.path] = job.source  # type: ignore[union-attr]  # only a copy's
                continue
            last = self._prints.get(job.path)
            if not everything and last is not None and (
                    last == data or fingerprints.again(data, last) == last):
                prints[job.path] = last
                continue
            if isinstance(job, CopyJob):
                outputs[job.path] = job.source
                prints[job.path] = data
                continue
            assets: set[str] = set()
            try:
                outputs[job.path] = render_job(job, prepared.theme, assets)
            except SiteError as exc:
                problems.setdefault(exc.problem)
                continue
            if settled := fingerprints.settle(data, assets):
                prints[job.path] = settled
        if problems:
            raise BuildError(list(problems))
        return outputs, prints

    def _commit(self, outputs: dict[str, bytes | Path], gone: Iterable[str] = ()
                ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Write `outputs` and delete `gone` (a deleted or renamed article's files) in one
        output transaction (writer.py), as every build does: the server, reading the folder
        meanwhile, sees the site before or after, never between. A static file deleted or
        renamed since it was listed (an editor's save) is left as it was, and noted in
        `_gone`. Returns what was written and what deleted, sorted."""
        gone = sorted(gone)
        self._gone = []
        if outputs or gone:
            with updating(self.folder, wait=True) as staging:
                for rel, data in outputs.items():
                    if not isinstance(data, Path):
                        staging.write(rel, data)
                        continue
                    try:
                        staging.copy(rel, data)
                    except FileNotFoundError as exc:  # raised as is only when it names `data`
                        if exc.filename is None or os.fspath(exc.filename) != os.fspath(data):
                            raise
                        self._gone.append(rel)
                for rel in gone:
                    staging.remove(rel)
        return tuple(sorted(set(outputs).difference(self._gone))), tuple(gone)


def _static_only(theme: Theme, paths: Iterable[Path]) -> bool:
    """Whether every changed path is in a static folder of the theme (the site's or a
    theme's): then no template or setting changed, and the pages' fingerprints tell which
    ones show a changed file."""
    paths = list(paths)
    return bool(paths) and all(any(path.is_relative_to(folder) for folder in theme.static_dirs)
                               for path in paths)


def _replan(last: LastBuild, edit: Edit, plan: Plan, indices: list[int]) -> Plan:
    prepared = last.prepared
    return replan(edit, plan, indices, prepared.site.info, prepared.theme.static_files,
                  last.built_at)
