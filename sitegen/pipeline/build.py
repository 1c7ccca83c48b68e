"""`sitegen build`: the pipeline's plan (stages.py) written to the output folder.

Every article is read and every output planned before anything is written, and the files are
written into a staging folder that replaces the output only when all of them succeeded. When
only article bodies changed since the last build, the quick path (quick.py) runs instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sitegen.cachefiles import is_file
from sitegen.errors import BuildError, Problem, SiteError
from sitegen.incremental import snapshot
from sitegen.incremental.cache import (
    CACHE_DIR,
    BuildCache,
    OutputRecord,
    aside_file,
    discard_records,
    matches,
    place_aside,
    remove_stale_temporaries,
    save_failure,
)
from sitegen.incremental.fingerprint import Fingerprints
from sitegen.parallel import (
    Beside,
    beside,
    default_workers,
    give_back_memory,
    run_indexed,
)
from sitegen.pipeline.quick import QuickBuild, quick_build
from sitegen.pipeline.stages import Prepared, Progress, Settings, prepare
from sitegen.render.plan import CopyJob, FeedJob, Job, PageJob, Plan, render_job
from sitegen.render.sitemap import news_changes
from sitegen.render.theme import Theme
from sitegen.report import BuildOptions, BuildReport, OptionsKey
from sitegen.tree import require_site, why
from sitegen.write import search
from sitegen.write.writer import Staging, check_output_dir, check_output_location, replacing


def build(options: BuildOptions, use_cache: bool = True,
          progress: Progress | None = None) -> BuildReport:
    """Build the site; raises BuildError (or SiteError, OutputError) and then writes nothing.

    With `use_cache`, work from the last build (in .sitegen-cache/) is reused where its
    inputs are unchanged: the output is the same either way, only faster. When only article
    bodies changed, the quick path (`quick.py`) rewrites just the files that show them."""
    started = time.perf_counter()
    site_dir = options.site_dir.resolve()
    require_site(site_dir if site_dir.is_dir() else options.site_dir)
    output = check_output_location(options.output_dir or site_dir / "output", site_dir)
    key = options.key(output)
    if use_cache and site_dir.is_dir():
        done = quick_build(site_dir, output, key, options.now)
        if done is not None:
            return _quick_report(done, output, time.perf_counter() - started)
    output = check_output_dir(output, site_dir)
    cache = BuildCache.load(site_dir) if use_cache and site_dir.is_dir() else BuildCache()
    # Without the cache, image variants are made in a temporary folder, removed when this
    # function's frame lets go of it (the writer copies them from there).
    scratch = None if use_cache else tempfile.TemporaryDirectory(prefix="sitegen-images-")
    with _EarlySave(site_dir, cache, use_cache) as early:
        try:
            prepared = prepare(Settings(options, cache, progress=progress,
                                        image_store=Path(scratch.name) if scratch else None,
                                        on_stage=early.start))
        finally:
            saved = early.saved()
        if saved:  # the Markdown, no longer needed, goes before the writers are forked
            cache.release_markdown()
            give_back_memory(len(prepared.plan.jobs))
        same_output = use_cache and cache.output_dir == str(output)
        last_files = LastFiles(output, cache.outputs if same_output else {})
        with replacing(output, keep_spare=use_cache) as staging:
            # The spare holds the site before last: its files that are still right stay.
            spare_files = LastFiles(staging.path, cache.spare if same_output else {}) \
                if staging.reused else None
            wanted = {job.path for job in prepared.plan.jobs}
            if prepared.search and spare_files is not None:  # the index may be as before
                wanted.update(p for p in spare_files.records
                              if p.startswith(search.BUNDLE_DIR + "/"))
            staging.prune(wanted)
            fingerprints = write_plan(prepared.plan, prepared.theme, staging,
                                      options.workers or default_workers(),
                                      last_files if use_cache else None, progress, spare_files)
            if prepared.search:
                _add_search(staging, output, fingerprints,
                            search.pages_glob(prepared.config.permalink),
                            last_files if use_cache else None, spare_files)
                staging.prune(set(staging.files))  # an index built anew leaves files of the old
            # This process rendered pages too: its cards would add to its size while it takes
            # the snapshot (the pickles' buffers), and nothing renders after this.
            prepared.theme.forget_partials()
            give_back_memory(len(prepared.plan.jobs))
            # The commit point. The block goes on holding the lock while the cache is saved, so
            # that no other build reads a cache half saved.
            staging.commit()
            result = replace(build_report(prepared, output, time.perf_counter() - started),
                             files=len(staging.files), search=prepared.search)
            if use_cache:
                # Committed: the new site is in place, so a cache that cannot be saved (a
                # full disk) is a warning that says so, never an error claiming the output
                # is unchanged.
                try:
                    result = _save_cache(site_dir, output, key, prepared, cache, result,
                                         staging.spared, fingerprints, early)
                except OSError as exc:
                    with contextlib.suppress(OSError):
                        snapshot.forget(site_dir)
                    discard_records(site_dir)
                    result.warnings.append(save_failure(exc, output))
    if use_cache:
        result = replace(result, seconds=time.perf_counter() - started)
    if cache.problem:
        result.warnings.append(Problem(f"{CACHE_DIR}/", cache.problem))
    return result


def _save_cache(site_dir: Path, output: Path, key: OptionsKey, prepared: Prepared,
                cache: BuildCache, result: BuildReport, spared: bool,
                fingerprints: dict[str, str], early: _EarlySave) -> BuildReport:
    """Keep what the next build reuses: the output's records, the sources and bodies, and
    the snapshot for its quick path. Raises OSError when they cannot be written."""
    remove_stale_temporaries(site_dir)
    snapshot.forget(site_dir)  # it describes the output just replaced
    cache.record_outputs(output, fingerprints, spared=spared)
    cache.save_records(site_dir)
    early.place()  # the sources and bodies saved beside the planning, if any
    cache.save_sources(site_dir)  # nothing to do when they were saved beside the planning
    # The snapshot (for the next build's quick path) is taken in this process, not a forked
    # one: a fork here would count this process's whole heap twice (the build's peak
    # memory). Should it fail, there is no snapshot, and the next build takes the full path.
    try:
        snapped = _take_snapshot(site_dir, key, prepared, cache, result)
    except Exception:  # noqa: BLE001 (any failure means no snapshot, as the warning says)
        snapped = False
    if not snapped:
        snapshot.forget(site_dir)
        result.warnings.append(Problem(f"{CACHE_DIR}/", "the snapshot for the next build's "
                                       "quick path could not be saved; the next build takes "
                                       "the full path"))
    return result


def _take_snapshot(site_dir: Path, key: OptionsKey, prepared: Prepared,
                   cache: BuildCache, result: BuildReport) -> bool:
    """Keep what the next build's quick path starts from (see snapshot.py)."""
    config, site, built_at = prepared.config, prepared.site, prepared.now
    changes = [prepared.selection.next_due, prepared.selection.next_expiry,
               news_changes(site.articles, built_at),
               datetime(built_at.year + 1, 1, 1, tzinfo=config.tz)]  # the footer's year
    inputs = snapshot.Inputs(key, config, prepared.theme.fingerprint(),
                             snapshot.site_files(site_dir))
    snapshot.take(site_dir, snapshot.Built(
        inputs, built_at, valid_until=min(c for c in changes if c is not None),
        search=prepared.search, report=result, sources=cache.sources(), info=site.info,
        articles=[*site.articles, *site.unlisted], jobs=prepared.plan.jobs))
    return True


# The last stage whose work is spread over forked workers: the sources and bodies are saved
# in a forked process from then on, beside the stages that fork none (assembling and
# planning the site: some 3 s at 10,000 articles), so no third process runs beside workers.
_LAST_FORKING_STAGE = "pictures"


class _EarlySave:
    """The sources and bodies saved (`BuildCache.save_sources_aside`, under a second at
    10,000 articles) in a process forked once the stages that fork workers are done, instead
    of after the commit: the build then drops the Markdown before it forks its writers, each
    of which would count it again, and needs no fork after the commit (see `_save_cache`).
    The file waits beside the cache's until the commit (`place`); a build that fails removes
    it (and the cache folder, if this build made it), so it leaves the cache as it was."""

    def __init__(self, site_dir: Path, cache: BuildCache, active: bool) -> None:
        self._site_dir, self._cache, self._active = site_dir, cache, active
        self._pid = os.getpid()
        self._saving: Beside | None = None
        self._made_folder = False

    def __enter__(self) -> _EarlySave:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if self._saving is None:
            return
        with contextlib.suppress(OSError):
            aside_file(self._site_dir, self._pid).unlink(missing_ok=True)  # not placed
        if kind is not None and self._made_folder:
            with contextlib.suppress(OSError):
                (self._site_dir / CACHE_DIR / ".gitignore").unlink()
                (self._site_dir / CACHE_DIR).rmdir()

    def start(self, stage: str) -> None:
        if self._active and stage == _LAST_FORKING_STAGE and self._saving is None:
            self._made_folder = not (self._site_dir / CACHE_DIR).is_dir()
            self._saving = beside(self._save)

    def saved(self) -> bool:
        """Whether the save was started and succeeded; waits for it (so no process is left
        behind, even when the stages failed)."""
        return self._saving is not None and self._saving()

    def place(self) -> None:
        """After the commit: the saved file in place of the last one (when anything changed
        since). Raises OSError as `BuildCache.save_sources` does."""
        if self._saving is not None and is_file(aside_file(self._site_dir, self._pid)):
            place_aside(self._site_dir, self._pid)

    def _save(self) -> bool:  # in the forked process
        self._cache.save_sources_aside(self._site_dir, self._pid)
        return True


def _quick_report(done: QuickBuild, output: Path, seconds: float) -> BuildReport:
    report: BuildReport = done.report
    return replace(report, output_dir=output, seconds=seconds,
                   warnings=[*report.warnings, *done.problems],
                   quick=True, rewritten=len(done.written), reindexed=len(done.index),
                   images_encoded=0)


@dataclass(frozen=True)
class LastFiles:
    """The last build's files, which a new build may link instead of rendering again."""

    folder: Path
    records: dict[str, OutputRecord]


def _add_search(staging: Staging, output: Path, fingerprints: dict[str, str], glob: str,
                last_files: LastFiles | None, spare_files: LastFiles | None = None) -> None:
    """Add the search index: the last build's, when no page changed, else a fresh one.

    The bundle's files are fingerprinted by every page's fingerprint (and Pagefind's version),
    so the output cache links them like any other unchanged file."""
    pages = sorted((path, value) for path, value in fingerprints.items() if path.endswith(".html"))
    key = hashlib.blake2b(repr((search.version(), glob, pages)).encode(),
                          digest_size=20).hexdigest()
    previous = [path for path in last_files.records if path.startswith(search.BUNDLE_DIR + "/")] \
        if last_files is not None and pages else []
    if previous and all(_reusable(last_files, path, key)  # type: ignore[arg-type]
                        for path in previous):
        for path in previous:
            if spare_files is None or not _reusable(spare_files, path, key):
                staging.link(path, last_files.folder / path)  # type: ignore[union-attr]
        staging.files.extend(previous)
        written = previous
    else:
        written = search.add_index(staging, glob, output,
                                   last_files.folder if last_files is not None else None)
    if pages:
        fingerprints.update(dict.fromkeys(written, key))


def build_report(prepared: Prepared, output: Path, seconds: float) -> BuildReport:
    """What a full build of `prepared` wrote (the dev server's rebuilds report the same)."""
    site, plan, selection = prepared.site, prepared.plan, prepared.selection
    return BuildReport(
        output_dir=output, articles=len(site.articles), pages=plan.count(PageJob),
        tags=len(site.tags), authors=len(site.authors), feeds=plan.count(FeedJob),
        files=len(plan.jobs), drafts_skipped=selection.drafts,
        scheduled_skipped=selection.scheduled, next_due=selection.next_due,
        seconds=seconds, warnings=prepared.warnings, expired=selection.expired,
        next_expiry=selection.next_expiry,
        images_encoded=prepared.pictures.encoded if prepared.made("pictures") else 0)


def write_plan(plan: Plan, theme: Theme, staging: Staging, workers: int = 1,
               last_files: LastFiles | None = None, progress: Progress | None = None,
               spare_files: LastFiles | None = None, record: bool = False) -> dict[str, str]:
    """Render every job into the staging folder, in up to `workers` processes.

    With `last_files`, each job is fingerprinted, and a job whose fingerprint and file match the
    last build's is hard-linked from it instead of rendered; with `spare_files` too (the staging
    folder is the spare), one whose file in the staging folder matches is left as it is.
    Returns the fingerprints by path (empty without `last_files` or `record`; a page's names
    the assets it used, see fingerprint.py). Template problems are collected, then raised."""
    jobs = plan.jobs
    prints = Fingerprints.of_theme(theme) if last_files is not None or record else None

    def write(i: int) -> tuple[str, Problem | None]:
        job = jobs[i]
        try:
            fingerprint = prints.of(job) if prints is not None else ""
        except OSError as exc:  # a static file's stamp: it cannot be opened, or is gone
            assert isinstance(job, CopyJob)
            return "", _unreadable(job, theme, exc).problem
        if spare_files is not None and (kept := _reusable(spare_files, job.path, fingerprint,
                                                          prints)):
            return kept, None
        if last_files is not None and (kept := _reusable(last_files, job.path, fingerprint,
                                                         prints)):
            staging.link(job.path, last_files.folder / job.path)
            return kept, None
        assets: set[str] = set()
        problem = write_job(job, theme, staging, assets)
        if problem is not None:
            return fingerprint, problem
        if prints is not None and assets:
            fingerprint = prints.settle(fingerprint, assets) or ""  # "": not recorded
        return fingerprint, None

    # The pages that list articles are written last, and this process writes from the end
    # (`from_end`): the cards those pages share are then rendered, and kept, by it alone,
    # not once again in each writer it forks (some 25 MB at 10,000 articles).
    order = sorted(range(len(jobs)), key=lambda i: _lists_articles(jobs[i]))
    done = run_indexed(lambda k: write(order[k]), len(jobs), workers,
                       _stage(progress, "writing", len(jobs)), from_end=True)
    results: list[tuple[str, Problem | None]] = [("", None)] * len(jobs)
    for i, result in zip(order, done, strict=True):
        results[i] = result
    # One template bug breaks many pages: report it once.
    problems = dict.fromkeys(problem for _, problem in results if problem)
    if problems:
        raise BuildError(list(problems))
    staging.files.extend(job.path for job in jobs)
    return {job.path: fingerprint for job, (fingerprint, _) in zip(jobs, results, strict=True)
            if fingerprint}


def _lists_articles(job: Job) -> bool:
    return isinstance(job, PageJob) and "paginator" in job.context


def write_job(job: Job, theme: Theme, staging: Staging,
              assets: set[str] | None = None) -> Problem | None:
    """Render one job into the staging folder (a static file is copied); the template's or
    the unreadable static file's problem, if any (a failed write raises OutputError).
    `assets`: gets the names of the static files a page's render used."""
    try:
        if isinstance(job, CopyJob):
            try:
                staging.copy(job.path, job.source)
            except OSError as exc:  # the static file, unreadable or gone since listed
                raise _unreadable(job, theme, exc) from None
        else:
            staging.write(job.path, render_job(job, theme, assets))
    except SiteError as exc:
        return exc.problem
    return None


def _unreadable(job: CopyJob, theme: Theme, exc: OSError) -> SiteError:
    """A static file that cannot be read (or is gone since it was listed), named as the site
    holds it."""
    return SiteError(_shown(job.source, theme.site_dir), f"cannot be read: {why(exc)}")


def _shown(path: Path, site_dir: Path) -> str:
    return path.relative_to(site_dir).as_posix() if path.is_relative_to(site_dir) else str(path)


def _stage(progress: Progress | None, name: str, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda done: progress(name, done, total)


def _reusable(last_files: LastFiles, path: str, fingerprint: str,
              prints: Fingerprints | None = None) -> str:
    """The fingerprint of the file the last build wrote for `path`, when that file may stand
    for this build's (else ""): the same fingerprint (with `prints`, the job's data's and its
    assets' as they are now, `Fingerprints.again`), and the file still as it was written
    (`cache.matches`, as the quick path checks)."""
    record = last_files.records.get(path)
    if record is None or (record.fingerprint != fingerprint and (
            prints is None or prints.again(fingerprint, record.fingerprint) != record.fingerprint)):
        return ""
    try:
        stat = os.stat(last_files.folder / path)
    except OSError:
        return ""
    return record.fingerprint if matches(record, stat) else ""
