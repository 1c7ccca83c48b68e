"""The preview's cold start: the first build planned before the preview's threads exist, its
files served as they land.

With no kept preview to serve (serve/kept.py) the first build renders every page: 70 s of a
loaded machine at 10,000 articles. The preview's own process plans it (`stages.prepare`,
forking its readers and Markdown workers as `sitegen build` does) before any thread starts
(forking beside threads is unsafe), opens the one output transaction (writer.updating) and
forks the writers; only then do the server and the watcher start, while this process writes
its share of the files too (`parallel.Started`). A request for a file not written yet asks for
it (its job goes ahead of the rest) and waits for that file alone, never a 404 or half a
file; the front page and the 404 page are written first. Each file is read from the
transaction's staging folder once written there, until the transaction commits them all:
nothing but the transaction writes the served folder.

The preview then takes over this very build (`LiveSite.adopt`): its plan, theme, sources and
bodies are already in this process, so nothing is read, planned or pickled again (a build in a
process of its own handed them over through a file, and the preview planned the whole site a
second time: at 50,000 articles some 80 CPU-s and a second heap). The watcher starts only once
the writers are forked; a file changed since the build began is found by its change time
(`changed_since`) and rebuilt by the next rebuild, as a save while serving is.

Messages: each writer writes the index of each job it finished to a pipe, which a thread of
this process reads; a request's thread writes the index of each job asked for to another,
which the writers read between jobs. Those are 4 bytes each, written at once (a pipe never
mixes writes under PIPE_BUF), so no lock is needed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from sitegen.config import CONFIG_NAME
from sitegen.errors import BuildError, OutputError, Problem, SiteError
from sitegen.folders import SOURCE_FOLDERS
from sitegen.incremental.cache import BuildCache
from sitegen.incremental.fingerprint import Fingerprints
from sitegen.parallel import Started
from sitegen.pipeline.build import write_job
from sitegen.pipeline.stages import Prepared, Settings, prepare
from sitegen.render.plan import CopyJob
from sitegen.report import BuildOptions
from sitegen.serve.http import NOT_FOUND_PAGE, BuildState
from sitegen.serve.start import files_in
from sitegen.write.writer import updating

FIRST = ("index.html", NOT_FOUND_PAGE)  # ahead of every other file
PROGRESS_SECONDS = 0.2  # the build reports its progress at most this often
# A file's change time comes from the kernel's coarse clock, up to a tick (1 to 10 ms) behind
# the time read when the build began: files changed this long before it count as changed.
CHANGE_MARGIN_NS = 50_000_000
# Where each stage's progress lies in the whole build's (at 10,000 articles: reading 8% of
# the time, Markdown 33%, assembling and planning 12%, writing 41%).
SPANS = {"reading": (0.0, 0.1), "Markdown": (0.15, 0.5), "writing": (0.6, 1.0)}
_INDEX = struct.Struct("=i")


@dataclass(frozen=True)
class Outcome:
    """What the cold start's build did: on success what it planned and every file's
    fingerprint, for the preview to take over (`LiveSite.adopt`)."""

    ok: bool
    problems: tuple[Problem, ...] = ()
    prints: dict[str, str] = field(default_factory=dict)
    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    seconds: float = 0.0
    prepared: Prepared | None = None


class ColdStart:
    """The first build: planned and its writers forked when made (call before any thread
    starts); `run` writes and commits while the server answers, and returns its outcome."""

    def __init__(self, options: BuildOptions, folder: Path, workers: int, cache: BuildCache,
                 state: BuildState, report: Callable[[float], None]) -> None:
        """`cache`: the sources and bodies to start from (it gets the build's); `state`: the
        server's, told of the plan before it answers; `report(fraction done)`."""
        self.began = time.time_ns()
        self._started = time.perf_counter()
        self.site_dir = options.site_dir
        self.fraction = 0.0
        self._report_to = report
        self._stack = contextlib.ExitStack()
        self._writers: Started | None = None
        self._done: int | None = None
        self._want: int | None = None
        self._reader: threading.Thread | None = None
        self.failed: Outcome | None = None
        try:
            self._plan(options, folder, workers, cache, state)
        except BuildError as exc:
            self.failed = Outcome(False, tuple(exc.problems))
        except SiteError as exc:
            self.failed = Outcome(False, (exc.problem,))
        except OutputError as exc:  # a full disk, say: it says what to do
            self.failed = Outcome(False, (Problem("serve", str(exc)),))
        except BaseException:
            self.stop()
            raise
        if self.failed is not None:
            self.stop()

    def _plan(self, options: BuildOptions, folder: Path, workers: int, cache: BuildCache,
              state: BuildState) -> None:
        last = 0.0

        def progress(stage: str, count: int, total: int) -> None:
            nonlocal last
            if time.monotonic() - last >= PROGRESS_SECONDS:
                low, high = SPANS.get(stage, (self.fraction, self.fraction))
                self._report(low + (high - low) * count / max(total, 1))
                last = time.monotonic()

        self.prepared = prepared = prepare(Settings(
            replace(options, workers=workers), cache, progress=progress, gone_ok=True))
        self.fingerprints = fingerprints = Fingerprints.of_theme(prepared.theme)
        self.jobs = jobs = sorted(prepared.plan.jobs, key=lambda job: job.path not in FIRST)
        # A static file's fingerprint carries its stamp: taken before it is copied.
        self.prints: dict[str, str] = {}
        for job in jobs:
            if isinstance(job, CopyJob):
                with contextlib.suppress(OSError):  # gone since listed: its copy says so
                    self.prints[job.path] = fingerprints.of(job)
        self.paths = [job.path for job in jobs]
        self.gone = sorted(set(files_in(folder)).difference(self.paths))
        self.staging = staging = self._stack.enter_context(updating(folder, wait=True))
        staging.path  # opened here: forked writers write into it  # noqa: B018
        done_read, self._done = os.pipe()
        want_read, self._want = os.pipe()
        os.set_blocking(want_read, False)
        os.set_blocking(self._want, False)  # a full pipe drops a request: it waits, unhurried
        self._landed_from = done_read
        self._stack.callback(_close, done_read)
        self._stack.callback(_close, want_read)
        self._writers = Started(self._task(want_read), len(jobs), workers)
        state.cold_start(self.want)
        state.cold_planned(self.paths, staging.path)
        self._report(SPANS["writing"][0])

    def _task(self, want: int) -> Callable[[int], list[tuple[int, Problem | None, str | None]]]:
        """Writing job `i`, in any writer: first the jobs asked for (read from `want`), each
        claimed in a shared array before it is written, so none is written twice."""
        claimed = multiprocessing.get_context("fork").Array("b", len(self.jobs))
        flags = claimed.get_obj()
        jobs, theme, staging, done = self.jobs, self.prepared.theme, self.staging, self._done
        fingerprints = self.fingerprints

        def claim(index: int) -> bool:
            with claimed.get_lock():
                if flags[index]:
                    return False
                flags[index] = 1
                return True

        def wanted() -> list[int]:
            try:
                data = os.read(want, 4096)
            except BlockingIOError:
                return []
            return [i for (i,) in _INDEX.iter_unpack(data[:len(data) // 4 * 4])
                    if 0 <= i < len(jobs)]

        def write(index: int) -> tuple[int, Problem | None, str | None]:
            """The job's problem, or its fingerprint: a page's names the assets it used
            (taken in the writer, so the writers share that work too)."""
            assets: set[str] = set()
            job = jobs[index]
            problem = write_job(job, theme, staging, assets)
            os.write(done, _INDEX.pack(index))  # type: ignore[arg-type]
            if problem is not None or isinstance(job, CopyJob):
                return index, problem, None
            return index, None, fingerprints.settle(fingerprints.of(job), assets)

        def task(i: int) -> list[tuple[int, Problem | None, str | None]]:
            return [write(index) for index in (*wanted(), i) if claim(index)]

        return task

    def want(self, index: int) -> None:
        """Ask for job `index` ahead of the rest (from a request's thread)."""
        if self._want is not None:
            with contextlib.suppress(OSError):
                os.write(self._want, _INDEX.pack(index))

    def run(self, state: BuildState, keep: Callable[[], None] | None = None) -> Outcome:
        """Write this process's share while the server answers (the writers forked when
        planned), commit, and return the outcome. Requests read the preview's folder again
        once the build has committed. `keep`: first, while the writers write, keep the
        sources and bodies (a pickle of seconds at 50,000 articles: here it takes a share of
        the build's time, where on a thread beside the preview's it would hold up every
        thread making system calls, a transaction holding the lock among them)."""
        if self.failed is not None:
            return self.failed
        assert self._writers is not None
        self._reader = reader = threading.Thread(target=self._take_in, args=(state,),
                                                 name="sitegen-landed", daemon=True)
        reader.start()
        try:
            if keep is not None:
                keep()
            results = [item for found in self._writers.results() for item in found]
            problems = list(dict.fromkeys(problem for _, problem, _ in results if problem))
            if problems:
                raise BuildError(problems)
            self.staging.changed.update(self.paths)  # written in other processes
            for rel in self.gone:
                self.staging.remove(rel)
            self._close_done()  # the last writer's end ends the reader
            reader.join()
            state.cold_closing()  # no request reads the staging folder past here
            self._stack.close()  # the commit
        except BuildError as exc:
            return self._fail(tuple(exc.problems))
        except OutputError as exc:
            return self._fail((Problem("serve", str(exc)),))
        except BaseException as exc:  # Ctrl-C: the folder stays as it was
            self.stop(exc)
            raise
        finally:
            state.cold_end()
        prints = self.prints
        for index, _, settled in results:
            if settled is not None:  # None: an asset unreadable now, so rendered again
                prints[self.jobs[index].path] = settled
        return Outcome(True, prints=prints, written=tuple(self.paths), removed=tuple(self.gone),
                       seconds=time.perf_counter() - self._started,
                       prepared=self.prepared)

    def changed_since(self) -> list[Path]:
        """The site's files and folders changed since the build began (their change time),
        which it may have read before the change: call once the watcher runs, which reports
        every change after."""
        since = self.began - CHANGE_MARGIN_NS
        return [path for path in _inputs(self.site_dir) if _changed(path, since)]

    def _take_in(self, state: BuildState) -> None:
        """The files each writer reports written, as they land (a thread, until every
        writer's end of the pipe is closed)."""
        pipe = self._landed_from
        landed = 0
        low, high = SPANS["writing"]
        with contextlib.suppress(OSError):
            while data := os.read(pipe, 65536):
                indices = [i for (i,) in _INDEX.iter_unpack(data[:len(data) // 4 * 4])]
                state.cold_landed(self.paths[i] for i in indices if 0 <= i < len(self.paths))
                landed += len(indices)
                self._report(low + (high - low) * landed / max(len(self.paths), 1))

    def _report(self, fraction: float) -> None:
        if fraction > self.fraction:
            self.fraction = min(fraction, 1.0)
            self._report_to(self.fraction)

    def _fail(self, problems: tuple[Problem, ...]) -> Outcome:
        self.stop(BuildError(list(problems)))
        return Outcome(False, problems)

    def _close_done(self) -> None:
        if self._done is not None:
            _close(self._done)
            self._done = None

    def stop(self, exc: BaseException | None = None) -> None:
        """Stop the build (the preview is stopping, or it failed): its writers end, and the
        transaction it had open commits nothing."""
        if self._writers is not None:
            self._writers.stop()
            self._writers = None
        self._close_done()
        if self._reader is not None:  # it ends once every writer's end is closed
            self._reader.join(timeout=10)
        if self._want is not None:
            _close(self._want)
            self._want = None
        error = exc or KeyboardInterrupt()
        with contextlib.suppress(BaseException):
            # An exception undoes the transaction; the callbacks close the pipes' ends.
            self._stack.__exit__(type(error), error, error.__traceback__)


def progress_line(url: str, articles: int, fraction: float) -> str:
    return (f"Serving {url}/ — building {articles:,} article{'' if articles == 1 else 's'} "
            f"in the background, {int(fraction * 100)}% done")


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def _inputs(site_dir: Path) -> Iterator[Path]:
    """What a build reads of the site: its configuration, and every file and folder in its
    source folders (a folder's change time tells of a file added, removed or renamed)."""
    yield site_dir / CONFIG_NAME
    for name in SOURCE_FOLDERS:
        for top, _, files in os.walk(site_dir / name):
            yield Path(top)
            yield from (Path(top, file) for file in files)


def _changed(path: Path, since_ns: int) -> bool:
    try:
        stat = os.stat(path)
    except OSError:  # gone since listed (or the configuration gone): a change
        return True
    return max(stat.st_ctime_ns, stat.st_mtime_ns) >= since_ns
