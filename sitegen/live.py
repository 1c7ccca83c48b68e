"""Incremental rebuilds for the dev server: keep a folder equal to what a full build writes.

Each output is a pure function of its job (template name plus the plain data it gets, or the
feed's articles, or a static file) and the theme. So a rebuild plans the whole site again
(cheap: sources and rendered bodies come from the cache) and re-renders only the jobs that
differ from last time, compared by fingerprint (a digest of the job's data in which a tag or
article shared by many pages is digested once, so comparing stays linear in the site's size;
a static file is compared by its job, as its content changes re-render everything anyway).
That catches every dependency (an article's page,
the lists and feeds that show it, its neighbours' previous/next links, related articles, the
sitemap) without a hand-kept dependency graph, and the result is byte-identical to a full
build. A template, static file or configuration change re-renders everything.

A failed rebuild writes nothing, so the last good site stays served.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from sitegen import search
from sitegen.build import BuildOptions, BuildReport, Prepared, prepare, render_job, report
from sitegen.cache import BuildCache
from sitegen.errors import BuildError, Problem, SiteError
from sitegen.fingerprint import Fingerprints
from sitegen.plan import CopyJob, Job
from sitegen.theme import Theme


@dataclass(frozen=True)
class Outcome:
    """What one rebuild did."""

    ok: bool
    problems: tuple[Problem, ...] = ()
    written: tuple[str, ...] = ()  # output paths rewritten
    removed: tuple[str, ...] = ()  # output paths deleted
    seconds: float = 0.0
    report: BuildReport | None = None
    warnings: tuple[Problem, ...] = field(default_factory=tuple)


class LiveSite:
    def __init__(self, options: BuildOptions, folder: Path) -> None:
        self.options = options
        self.folder = folder.resolve()
        self.cache = BuildCache()
        self._jobs: dict[str, Job] = {}
        self._prints: dict[str, str] = {}  # the last good build's fingerprint of each page
        self._theme: Theme | None = None
        self.indexer = search.BackgroundIndexer(self.folder)

    def rebuild(self, everything: bool = False) -> Outcome:
        """Bring the folder up to date. `everything`: templates, static files or the config
        changed, so every page must be rendered again."""
        started = time.perf_counter()
        everything = everything or self._theme is None
        try:
            prepared = prepare(self.options, self.cache, theme=None if everything else self._theme)
            outputs, prints = self._render_changed(prepared, everything)
        except BuildError as exc:
            return Outcome(False, tuple(exc.problems), seconds=time.perf_counter() - started)
        except SiteError as exc:
            return Outcome(False, (exc.problem,), seconds=time.perf_counter() - started)
        written = self._write(outputs)
        new_jobs = {job.path: job for job in prepared.plan.jobs}
        removed = self._remove(set(self._jobs) - set(new_jobs))
        self._search(prepared, written + removed)
        self._jobs, self._prints, self._theme = new_jobs, prints, prepared.theme
        seconds = time.perf_counter() - started
        failed = (self.indexer.problem,) if self.indexer.problem else ()
        return Outcome(True, written=written, removed=removed, seconds=seconds,
                       report=report(prepared, self.folder, seconds),
                       warnings=(*prepared.warnings, *failed))

    def _search(self, prepared: Prepared, changed: tuple[str, ...]) -> None:
        """Re-index the preview in the background when a page changed (or search was just
        switched on); the rebuild does not wait for it."""
        bundle = self.folder / search.BUNDLE_DIR
        if not prepared.search:
            self.indexer.wait()
            if bundle.is_dir():
                shutil.rmtree(bundle)
        elif not bundle.is_dir() or any(rel.endswith(".html") for rel in changed):
            self.indexer.request()

    def _render_changed(self, prepared: Prepared, everything: bool
                        ) -> tuple[dict[str, bytes | Path], dict[str, str]]:
        """Render every job that differs from the last good build; raise on any problem.
        Returns the outputs and every rendered job's fingerprint."""
        outputs: dict[str, bytes | Path] = {}
        problems: dict[Problem, None] = {}
        fingerprints = Fingerprints(b"")  # the theme is the same, or everything is rendered
        prints: dict[str, str] = {}
        for job in prepared.plan.jobs:
            if isinstance(job, CopyJob):
                if everything or self._jobs.get(job.path) != job:
                    outputs[job.path] = job.source
                continue
            prints[job.path] = fingerprints.of(job)
            if not everything and self._prints.get(job.path) == prints[job.path]:
                continue
            try:
                outputs[job.path] = render_job(job, prepared.theme)
            except SiteError as exc:
                problems.setdefault(exc.problem)
        if problems:
            raise BuildError(list(problems))
        return outputs, prints

    def _write(self, outputs: dict[str, bytes | Path]) -> tuple[str, ...]:
        """Write each file beside its target and rename it into place: a reader sees the old
        file or the new one, never half of one."""
        for rel, data in outputs.items():
            target = self.folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.sitegen-tmp")
            if isinstance(data, Path):
                shutil.copyfile(data, temporary)
            else:
                temporary.write_bytes(data)
            os.replace(temporary, target)
        return tuple(sorted(outputs))

    def _remove(self, gone: set[str]) -> tuple[str, ...]:
        """Delete outputs that no longer exist in the site (a deleted or renamed article)."""
        for rel in gone:
            target = self.folder / rel
            target.unlink(missing_ok=True)
            parent = target.parent
            while parent != self.folder and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        return tuple(sorted(gone))
