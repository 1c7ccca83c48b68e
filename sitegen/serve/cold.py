"""The preview's cold start: the first build in a process of its own, its files served as they
land.

With no kept preview to serve (serve/kept.py) the first build renders every page: 70 s of a
loaded machine at 10,000 articles. It runs in a process forked before the preview's threads
exist (forking beside threads is unsafe), which forks its workers as `sitegen build` does,
while the server answers from the first moment: a request for a file not written yet asks for
it (its job goes ahead of the rest) and waits for that file alone, never a 404 or half a file;
the front page and the 404 page are written first. Each file is read from the build's staging
folder once written there, until the one output transaction (writer.updating) commits them
all: nothing but the transaction writes the served folder. The build then keeps its sources
and bodies and its files' fingerprints (kept.py, or a file in the private folder), brings the
transaction's spare up to date (so the first edit does not link the whole site first), and
exits. The preview takes over from those records as a restart does (`start.first_build`: it
renders only what changed meanwhile, and a tab showing such a page reloads).

Messages: the build's own process sends its progress, its plan and its end on a Connection;
each worker writes the index of each job it finished to a pipe, and the server writes the
index of each job asked for to another, which the workers read between jobs. Those are 4
bytes each, written at once (a pipe never mixes writes under PIPE_BUF), so no lock is needed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path

from sitegen.content.sources import scan_sources
from sitegen.errors import BuildError, OutputError, Problem, SiteError
from sitegen.incremental.cache import BuildCache
from sitegen.incremental.fingerprint import Fingerprints
from sitegen.parallel import run_indexed
from sitegen.pipeline.build import write_job
from sitegen.pipeline.stages import Settings, prepare
from sitegen.render.plan import CopyJob, Job
from sitegen.render.theme import Theme
from sitegen.report import BuildOptions
from sitegen.serve.http import NOT_FOUND_PAGE, BuildState
from sitegen.serve.start import files_in
from sitegen.write.writer import Staging, ready_spare, updating

FIRST = ("index.html", NOT_FOUND_PAGE)  # ahead of every other file
COLD_CACHE = "first-build.pickle"  # in a private preview's folder: the build's sources
PROGRESS_SECONDS = 0.2  # the build reports its progress at most this often
LANDED_PAUSE = 0.01  # seconds between reads of the files written: a page asked for waits so much more
STOP_SECONDS = 10.0  # a stopped build's process is killed if it has not ended by then
# Where each stage's progress lies in the whole build's (at 10,000 articles: reading 8% of
# the time, Markdown 33%, assembling and planning 12%, writing 41%).
SPANS = {"reading": (0.0, 0.1), "Markdown": (0.15, 0.5), "writing": (0.6, 1.0)}
_INDEX = struct.Struct("=i")

Save = Callable[[dict[str, str], BuildCache], None]


@dataclass(frozen=True)
class Outcome:
    """What the cold start's build did: on success every file's fingerprint, for the preview
    to take over from (`start.first_build`)."""

    ok: bool
    problems: tuple[Problem, ...] = ()
    prints: dict[str, str] = field(default_factory=dict)
    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    seconds: float = 0.0
    warnings: tuple[Problem, ...] = ()  # the sources and bodies could not be handed over


class ColdStart:
    """The first build, forked at once (call before any thread starts); `run` serves its
    files as they land and returns its outcome."""

    def __init__(self, options: BuildOptions, folder: Path, workers: int,
                 load: Callable[[], BuildCache], save: Save, close: Iterable[int] = ()) -> None:
        """`load`: the sources and bodies to start from; `save`: keeps the build's for the
        preview (called in the build's process); `close`: descriptors the build's process
        must not hold (the server's socket)."""
        self.articles = len(scan_sources(options.site_dir)[0])
        self.paths: list[str] = []
        self.landed = 0
        self.fraction = 0.0
        context = multiprocessing.get_context("fork")
        self._control, theirs = context.Pipe()
        done_read, done_write = os.pipe()
        want_read, want_write = os.pipe()
        os.set_blocking(want_read, False)
        os.set_blocking(want_write, False)  # a full pipe drops a request: it waits, unhurried
        self._process = context.Process(
            target=_build, name="sitegen-first-build",
            args=(options, folder, workers, load, save, theirs, done_write, want_read,
                  (*close, done_read, want_write)))
        self._process.start()
        theirs.close()
        os.close(done_write)
        os.close(want_read)
        self._done: int | None = done_read
        self._want = want_write

    def want(self, index: int) -> None:
        """Ask for job `index` ahead of the rest (from a request's thread)."""
        with contextlib.suppress(OSError):
            os.write(self._want, _INDEX.pack(index))

    def run(self, state: BuildState, report: Callable[[float], None]) -> Outcome:
        """Serve the build's files as they land, until it ends; `report(fraction done)` as it
        goes. Requests read the preview's folder again once the build has committed."""
        state.cold_start(self.want)
        early: list[int] = []  # landed before the plan was taken in
        outcome: Outcome | None = None
        try:
            while outcome is None:
                # Woken every second: a signal handed to another thread runs its handler
                # (Ctrl-C) only once this one runs.
                ready = wait([self._control, *([self._done] if self._done is not None else [])],
                             timeout=1.0)
                if self._control in ready:
                    try:
                        message = self._control.recv()
                    except EOFError:
                        break
                    outcome = self._take(message, state, report)
                    if self.paths and early:
                        self._landed(early, state, report)
                        early = []
                if self._done is not None and self._done in ready:
                    data = os.read(self._done, 65536)
                    if not data:  # every writer has ended
                        os.close(self._done)
                        self._done = None
                        continue
                    indices = [i for (i,) in _INDEX.iter_unpack(data[:len(data) // 4 * 4])]
                    if self.paths:
                        self._landed(indices, state, report)
                    else:
                        early += indices
                    # Woken by each file written, this process would take a share of the
                    # cores the workers use; a short pause lets a batch gather.
                    time.sleep(LANDED_PAUSE)
        finally:
            state.cold_end()
        if outcome is None:
            self._process.join()
            return Outcome(False, (Problem("serve", "the first build's process ended "
                                   "unexpectedly (out of memory?); save a file to build "
                                   "again, or restart the preview"),))
        return outcome

    def _take(self, message: tuple[object, ...], state: BuildState,
              report: Callable[[float], None]) -> Outcome | None:
        kind = message[0]
        if kind == "progress":
            stage, done, total = message[1:]
            low, high = SPANS.get(str(stage), (self.fraction, self.fraction))
            self._report(low + (high - low) * int(done) / max(int(total), 1), report)  # type: ignore[call-overload]
        elif kind == "plan":
            self.paths = list(message[1])  # type: ignore[call-overload]
            state.cold_planned(self.paths, Path(str(message[2])))
            self._report(SPANS["writing"][0], report)
        elif kind == "commit":  # it commits once told nothing reads its staging folder
            state.cold_closing()
            self._control.send("go")
        elif kind == "committed":
            state.cold_end()
        elif kind == "end":
            outcome = message[1]
            assert isinstance(outcome, Outcome)
            return outcome
        return None

    def _landed(self, indices: list[int], state: BuildState,
                report: Callable[[float], None]) -> None:
        state.cold_landed(self.paths[i] for i in indices if 0 <= i < len(self.paths))
        self.landed += len(indices)
        low, high = SPANS["writing"]
        self._report(low + (high - low) * self.landed / max(len(self.paths), 1), report)

    def _report(self, fraction: float, report: Callable[[float], None]) -> None:
        if fraction > self.fraction:
            self.fraction = min(fraction, 1.0)
            report(self.fraction)

    def stop(self) -> None:
        """Stop the build (the preview is stopping): interrupted, its process ends its workers
        and leaves; the transaction it had open commits nothing."""
        if self._process.is_alive():
            with contextlib.suppress(OSError):
                os.kill(self._process.pid, signal.SIGINT)  # type: ignore[arg-type]
            self._process.join(STOP_SECONDS)
            if self._process.is_alive():
                self._process.kill()
        self._process.join()
        for fd in (self._done, self._want):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._done = None
        self._control.close()


def progress_line(url: str, articles: int, fraction: float) -> str:
    return (f"Serving {url}/ — building {articles:,} article{'' if articles == 1 else 's'} "
            f"in the background, {int(fraction * 100)}% done")


# In the build's process.

def _build(options: BuildOptions, folder: Path, workers: int, load: Callable[[], BuildCache],
           save: Save, control: Connection, done: int, want: int, close: Iterable[int]) -> None:
    started = time.perf_counter()
    for fd in close:
        with contextlib.suppress(OSError):
            os.close(fd)
    try:
        outcome = _first(options, folder, workers, load, save, control, done, want)
    except BuildError as exc:
        outcome = Outcome(False, tuple(exc.problems))
    except SiteError as exc:
        outcome = Outcome(False, (exc.problem,))
    except OutputError as exc:  # a full disk, say: it says what to do
        outcome = Outcome(False, (Problem("serve", str(exc)),))
    except KeyboardInterrupt:  # the preview is stopping
        os._exit(1)
    except Exception as exc:  # noqa: BLE001 (a bug in sitegen: the preview reports it)
        outcome = Outcome(False, (Problem("serve", f"the first build failed unexpectedly: "
                                                   f"{exc!r}"),))
    try:
        control.send(("end", replace(outcome, seconds=time.perf_counter() - started)))
        if outcome.ok:
            # While the preview takes over (the other core), the spare: under the output's
            # lock, which the preview's first transaction waits for.
            ready_spare(folder)
    except KeyboardInterrupt:  # the preview is stopping: the journal vouches for no spare
        pass
    finally:
        os._exit(0)  # no atexit handlers, no flush of inherited buffers


def _first(options: BuildOptions, folder: Path, workers: int, load: Callable[[], BuildCache],
           save: Save, control: Connection, done: int, want: int) -> Outcome:
    last = 0.0

    def progress(stage: str, count: int, total: int) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_SECONDS:
            control.send(("progress", stage, count, total))
            last = time.monotonic()

    cache = load()
    prepared = prepare(Settings(replace(options, workers=workers), cache, progress=progress,
                                gone_ok=True))
    fingerprints = Fingerprints.of_theme(prepared.theme)
    jobs = sorted(prepared.plan.jobs, key=lambda job: job.path not in FIRST)
    # A static file's fingerprint carries its stamp: taken before it is copied.
    prints: dict[str, str] = {}
    for job in jobs:
        if isinstance(job, CopyJob):
            with contextlib.suppress(OSError):  # gone since listed: its copy says so
                prints[job.path] = fingerprints.of(job)
    paths = [job.path for job in jobs]
    gone = sorted(set(files_in(folder)).difference(paths))
    with updating(folder, wait=True) as staging:
        control.send(("plan", paths, str(staging.path)))
        problems, assets = _write(jobs, prepared.theme, staging, workers, done, want)
        if problems:
            raise BuildError(problems)
        staging.changed.update(paths)  # written in other processes
        for rel in gone:
            staging.remove(rel)
        control.send(("commit",))
        control.recv()
    control.send(("committed",))
    for job, used in zip(jobs, assets, strict=True):  # a page's names the assets it used
        if not isinstance(job, CopyJob) and (
                settled := fingerprints.settle(fingerprints.of(job), used)):
            prints[job.path] = settled
    warnings: tuple[Problem, ...] = ()
    try:
        save(prints, cache)
    except OSError as exc:
        warnings = (Problem("serve", f"the first build's sources could not be kept ({exc}); "
                                     "the preview reads them again"),)
    return Outcome(True, prints=prints, written=tuple(paths), removed=tuple(gone),
                   warnings=warnings)


def _write(jobs: list[Job], theme: Theme, staging: Staging, workers: int, done: int,
           want: int) -> tuple[list[Problem], list[tuple[str, ...]]]:
    """Write every job, in up to `workers` processes, each taking the jobs asked for first
    (read from `want` between jobs) and telling `done` of each it finished. A job is claimed
    in a shared array before it is written, so none is written twice. Returns the problems,
    and each job's assets (the static files its render used)."""
    claimed = multiprocessing.get_context("fork").Array("b", len(jobs))
    flags = claimed.get_obj()

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

    def task(i: int) -> list[tuple[int, Problem | None, tuple[str, ...]]]:
        finished = []
        for index in (*wanted(), i):
            if claim(index):
                assets: set[str] = set()
                problem = write_job(jobs[index], theme, staging, assets)
                os.write(done, _INDEX.pack(index))
                finished.append((index, problem, tuple(sorted(assets))))
        return finished

    results = [item for found in run_indexed(task, len(jobs), workers) for item in found]
    used: list[tuple[str, ...]] = [()] * len(jobs)
    for index, _, assets in results:
        used[index] = assets
    return list(dict.fromkeys(problem for _, problem, _ in results if problem)), used
