"""Spreading the build's CPU-bound stages (reading, Markdown, rendering) over processes.

Workers are forked after the stage's inputs exist, so they inherit them (the site, the plan,
the theme) instead of receiving pickled copies; each takes ranges of indices and returns
small results. The process that forks them works through ranges too. One worker, a small
batch, or a platform without fork runs in-process on the same code path, so output never
depends on the number of workers.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

T = TypeVar("T")

MIN_ITEMS_PER_WORKER = 64  # below this, starting processes costs more than it saves
POLL_SECONDS = 0.005  # how often this process, while working, takes in the others' results


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def run_indexed(task: Callable[[int], T], count: int, workers: int,
                on_progress: Callable[[int], None] | None = None,
                per_worker: int = MIN_ITEMS_PER_WORKER, from_end: bool = False) -> list[T]:
    """[task(0), ..., task(count - 1)], computed by up to `workers` processes: this one and
    forked ones. A task that raises raises here; a forked process that dies raises
    WorkerDied. `per_worker`: the fewest items worth a process (1 for tasks of a second,
    such as encoding an image's variants). `from_end`: this process takes items from the
    end, the forked ones from the start, so tasks at either end that share what they memoize
    (the pages that list articles share their cards) are mostly done in one process, which
    alone then holds the memo."""
    return Started(task, count, workers, on_progress, per_worker, from_end=from_end).results()


class Started:
    """`run_indexed` in two steps: the forked processes start here, and `results` has this
    process work too and collects. Between them the caller may start threads (serve's cold
    start: forking beside threads is unsafe, working beside them is not). `forked_only`: every
    worker is a forked process, so the caller can do something else until `results` (the
    preview renders a replaced photo's pages while its variants are encoded); this process
    then only takes what none of them has started."""

    def __init__(self, task: Callable[[int], T], count: int, workers: int,
                 on_progress: Callable[[int], None] | None = None,
                 per_worker: int = MIN_ITEMS_PER_WORKER, forked_only: bool = False,
                 from_end: bool = False) -> None:
        self._task, self._count, self._on_progress = task, count, on_progress
        self._shared: _Shared | None = None
        workers = min(workers, count // per_worker)
        if workers < (1 if forked_only else 2) or \
                "fork" not in multiprocessing.get_all_start_methods():
            return
        chunk = max(min(per_worker, MIN_ITEMS_PER_WORKER) // 2, 1, count // (workers * 8))
        ranges = [(start, min(start + chunk, count)) for start in range(0, count, chunk)]
        # Frozen objects are left out of the collector's walks, which write to every object
        # they visit: without this a worker's first full collection copies every page of the
        # heap it shares with this process.
        gc.freeze()
        try:
            self._shared = _Shared(task, ranges, on_progress, from_end)
            self._shared.start(workers if forked_only else workers - 1)
        except BaseException:
            self.stop()
            raise

    def results(self) -> list[Any]:
        if self._shared is None:
            results = []
            for i in range(self._count):
                results.append(self._task(i))
                if self._on_progress and i % 200 == 199:
                    self._on_progress(i + 1)
            return results
        try:
            return self._shared.finish()
        finally:
            self.stop()

    def stop(self) -> None:
        """End the forked processes (at once, if they are still working)."""
        if self._shared is not None:
            self._shared.stop()
            self._shared = None
            gc.unfreeze()


def give_back_memory(items: int) -> None:
    """Return freed heap to the system (glibc's malloc_trim; elsewhere a collection only).
    A process about to fork a long-lived helper calls it after dropping what it no longer
    needs: freed but kept pages would count again in the child's resident set. `items`: how
    many the stage ahead works on; below what forks a worker, the heap is small and the full
    collection (tens of milliseconds in any process) is skipped."""
    if items < 2 * MIN_ITEMS_PER_WORKER:
        return
    gc.collect()
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return
    trim(0)


class WorkerDied(RuntimeError):
    """A forked worker ended without handing back its results (killed, out of memory)."""


class _Shared:
    """Ranges of indices shared out to this process and `helpers` forked ones, each taking the
    next range when done with its last. This process works too: it would only wait otherwise,
    and each forked process's resident size counts the whole heap it inherits, so one fewer
    is a heap's worth less memory. The forked ones send each range's results back through a
    pipe, which this one empties every POLL_SECONDS while working, so none waits long."""

    def __init__(self, task: Callable[[int], T], ranges: list[tuple[int, int]],
                 on_progress: Callable[[int], None] | None, from_end: bool = False) -> None:
        self.task = task
        self.ranges = ranges
        self.from_end = from_end  # this process takes the last range left, the others the first
        self.on_progress = on_progress
        self.parts: list[Sequence[object] | None] = [None] * len(ranges)
        self.done = 0  # items finished, in any process

    def start(self, helpers: int) -> None:
        context = multiprocessing.get_context("fork")
        self.left = context.Array("l", [0, len(self.ranges)])  # the ranges not yet taken
        self.pipes: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        for _ in range(helpers):
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(target=self._serve, args=(writer, os.getpid()),
                                      daemon=True)
            process.start()
            writer.close()
            self.pipes.append(reader)
            self.processes.append(process)

    def finish(self) -> list[Any]:
        pipes = self.pipes
        polled = time.monotonic()

        def take_in() -> None:  # between items: the others' results, when it is time
            nonlocal polled
            if pipes and time.monotonic() - polled > POLL_SECONDS:
                self._receive(pipes, timeout=0)
                polled = time.monotonic()

        while (index := self._take(self.from_end)) is not None:
            self._finished(index, self._work(index, take_in))
        while pipes:
            self._receive(pipes, timeout=None)
        return [result for part in self.parts for result in part]  # type: ignore[union-attr]

    def stop(self) -> None:
        for process in getattr(self, "processes", ()):
            if process.is_alive():
                process.kill()
            process.join()
        self.processes = []

    def _work(self, index: int, between: Callable[[], None]) -> list[object]:
        """The results of range `index`, calling `between` before each item."""
        part = []
        for i in range(*self.ranges[index]):
            between()
            part.append(self.task(i))
        return part

    def _take(self, last: bool = False) -> int | None:
        """The first range not yet taken (with `last`, the last one), or None."""
        with self.left.get_lock():
            first, end = self.left[0], self.left[1]
            if first >= end:
                return None
            if last:
                self.left[1] = end - 1
                return end - 1
            self.left[0] = first + 1
            return first

    def _finished(self, index: int, part: Sequence[object]) -> None:
        self.parts[index] = part
        self.done += len(part)
        if self.on_progress:
            self.on_progress(self.done)

    def _receive(self, pipes: list[Connection], timeout: float | None) -> None:
        """Take in what the forked processes sent; drop the pipe of each that is done."""
        for pipe in wait(pipes, timeout):
            assert isinstance(pipe, Connection)
            try:
                message = pipe.recv()
            except EOFError:
                raise WorkerDied("a worker process ended without finishing its work (killed, "
                                 "or out of memory?): run the build again, or with -j 1") \
                    from None
            if message is None:
                pipes.remove(pipe)
            elif isinstance(message, BaseException):
                raise message
            else:
                self._finished(*message)

    def _serve(self, pipe: Connection, parent: int) -> None:
        """In a forked process: work through ranges until none is left, then say so. Should
        the parent die (killed), stop at once: a write stage must not go on writing files
        after it, into a folder the next build clears."""
        def orphaned() -> None:
            if os.getppid() != parent:
                os._exit(1)

        try:
            while (index := self._take()) is not None:
                pipe.send((index, self._work(index, orphaned)))
            pipe.send(None)
        except BaseException as exc:  # noqa: BLE001 (the parent raises it)
            try:
                pipe.send(exc)
            except Exception:  # noqa: BLE001 (an exception that cannot be pickled)
                pipe.send(RuntimeError(f"{type(exc).__name__}: {exc}"))
        finally:
            pipe.close()
            os._exit(0)  # no atexit handlers, no flush of inherited buffers


class Beside:
    """Tasks running one after another beside this process (see `beside`): call it to wait
    for an answer, or `cancel` it when no more answers are wanted (it is stopped and reaped).
    Each answer travels through a pipe as soon as its task ends, so a caller can take the
    first task's without waiting for the later ones."""

    def __init__(self, *tasks: Callable[[], bool]) -> None:
        self._count = len(tasks)
        self._answers: list[bool] = []
        self._process: multiprocessing.process.BaseProcess | None = None
        read, write = os.pipe()
        self._pipe: int | None = read
        if "fork" not in multiprocessing.get_all_start_methods():
            threading.Thread(target=_answer_all, args=(tasks, write), daemon=True).start()
            return
        try:
            self._process = multiprocessing.get_context("fork").Process(
                target=_exit_with, args=(tasks, write), daemon=True)
            self._process.start()
        finally:
            os.close(write)  # the process's copy is its own: its end is the pipe's end

    def __call__(self, task: int = -1) -> bool:
        """Whether `tasks[task]` (by default the last) and every task before it said yes:
        False when one said no, raised, or died."""
        wanted = range(self._count)[task] + 1
        while len(self._answers) < wanted and self._pipe is not None:
            answer = os.read(self._pipe, 1)
            if answer:
                self._answers.append(answer == b"1")
            else:  # every task has answered, one said no, or the process died
                self._close()
        if len(self._answers) == self._count or self._pipe is None:
            self._close()
        return len(self._answers) >= wanted and all(self._answers[:wanted])

    def cancel(self) -> None:
        if self._process is not None and self._pipe is not None:  # a thread cannot be
            self._process.kill()                                  # stopped: it ends on its own
        self._close()

    def _close(self) -> None:
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None
        if self._process is not None:
            self._process.join()


def beside(*tasks: Callable[[], bool]) -> Beside:
    """Start `tasks`, one after another, in a forked process beside this one (its own
    interpreter, so no contest for the GIL); calling the returned object waits for an answer:
    False when a task said so, raised, or died, and the tasks after one that said no do not
    run. Without fork they run in a thread. A task's output is its answer alone: it must not
    print, and it gets copies of this process's objects."""
    return Beside(*tasks)


def _answer_of(task: Callable[[], bool]) -> bool:
    try:
        return bool(task())
    except BaseException:  # noqa: BLE001 (any failure is the answer "no")
        return False


def _answer_all(tasks: Sequence[Callable[[], bool]], pipe: int) -> None:
    try:
        for task in tasks:
            yes = _answer_of(task)
            os.write(pipe, b"1" if yes else b"0")
            if not yes:
                break
    except OSError:  # the pipe was closed: the answers are no longer wanted
        pass
    finally:
        os.close(pipe)


def _exit_with(tasks: Sequence[Callable[[], bool]], pipe: int) -> None:
    _answer_all(tasks, pipe)
    os._exit(0)  # no atexit handlers, no flush of inherited buffers
