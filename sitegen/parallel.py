"""Spreading the build's CPU-bound stages (reading, Markdown, rendering) over processes.

Workers are forked after the stage's inputs exist, so they inherit them (the site, the plan,
the theme) instead of receiving pickled copies; each takes ranges of indices and returns
small results. The process that forks them works through ranges too. One worker, a small
batch, or a platform without fork runs in-process on the same code path, so output never
depends on the number of workers.
"""

from __future__ import annotations

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
                per_worker: int = MIN_ITEMS_PER_WORKER) -> list[T]:
    """[task(0), ..., task(count - 1)], computed by up to `workers` processes: this one and
    forked ones. A task that raises raises here; a forked process that dies raises
    WorkerDied. `per_worker`: the fewest items worth a process (1 for tasks of a second,
    such as encoding an image's variants)."""
    workers = min(workers, count // per_worker)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        results = []
        for i in range(count):
            results.append(task(i))
            if on_progress and i % 200 == 199:
                on_progress(i + 1)
        return results
    chunk = max(min(per_worker, MIN_ITEMS_PER_WORKER) // 2, 1, count // (workers * 8))
    ranges = [(start, min(start + chunk, count)) for start in range(0, count, chunk)]
    # Frozen objects are left out of the collector's walks, which write to every object they
    # visit: without this a worker's first full collection copies every page of the heap it
    # shares with this process.
    gc.freeze()
    try:
        return _Shared(task, ranges, on_progress).run(workers - 1)
    finally:
        gc.unfreeze()


class WorkerDied(RuntimeError):
    """A forked worker ended without handing back its results (killed, out of memory)."""


class _Shared:
    """Ranges of indices shared out to this process and `helpers` forked ones, each taking the
    next range when done with its last. This process works too: it would only wait otherwise,
    and each forked process's resident size counts the whole heap it inherits, so one fewer
    is a heap's worth less memory. The forked ones send each range's results back through a
    pipe, which this one empties every POLL_SECONDS while working, so none waits long."""

    def __init__(self, task: Callable[[int], T], ranges: list[tuple[int, int]],
                 on_progress: Callable[[int], None] | None) -> None:
        self.task = task
        self.ranges = ranges
        self.on_progress = on_progress
        self.parts: list[Sequence[object] | None] = [None] * len(ranges)
        self.done = 0  # items finished, in any process

    def run(self, helpers: int) -> list[Any]:
        context = multiprocessing.get_context("fork")
        self.next = context.Value("l", 0)
        pipes: list[Connection] = []
        processes = []
        try:
            for _ in range(helpers):
                reader, writer = context.Pipe(duplex=False)
                process = context.Process(target=self._serve, args=(writer, os.getpid()),
                                          daemon=True)
                process.start()
                writer.close()
                pipes.append(reader)
                processes.append(process)
            polled = time.monotonic()

            def take_in() -> None:  # between items: the others' results, when it is time
                nonlocal polled
                if pipes and time.monotonic() - polled > POLL_SECONDS:
                    self._receive(pipes, timeout=0)
                    polled = time.monotonic()

            while (index := self._take()) is not None:
                self._finished(index, self._work(index, take_in))
            while pipes:
                self._receive(pipes, timeout=None)
        finally:
            for process in processes:
                if process.is_alive():
                    process.kill()
                process.join()
        return [result for part in self.parts for result in part]  # type: ignore[union-attr]

    def _work(self, index: int, between: Callable[[], None]) -> list[object]:
        """The results of range `index`, calling `between` before each item."""
        part = []
        for i in range(*self.ranges[index]):
            between()
            part.append(self.task(i))
        return part

    def _take(self) -> int | None:
        with self.next.get_lock():
            index = self.next.value
            self.next.value = index + 1
        return index if index < len(self.ranges) else None

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
    """A task running beside this process (see `beside`): call it to wait for its answer, or
    `cancel` it when the answer is no longer wanted (it is stopped and reaped)."""

    def __init__(self, task: Callable[[], bool]) -> None:
        self._process: multiprocessing.process.BaseProcess | None = None
        self._thread: threading.Thread | None = None
        self._answer: list[bool] = []
        if "fork" not in multiprocessing.get_all_start_methods():
            self._thread = threading.Thread(
                target=lambda: self._answer.append(_answer_of(task)), daemon=True)
            self._thread.start()
            return
        self._process = multiprocessing.get_context("fork").Process(
            target=_exit_with, args=(task,), daemon=True)
        self._process.start()

    def __call__(self) -> bool:
        if self._process is None:
            assert self._thread is not None
            self._thread.join()
            return bool(self._answer and self._answer[0])
        self._process.join()
        return self._process.exitcode == 0

    def cancel(self) -> None:
        if self._process is not None:  # a thread cannot be stopped: it ends on its own
            self._process.kill()
            self._process.join()


def beside(task: Callable[[], bool]) -> Beside:
    """Start `task` in a forked process beside this one (its own interpreter, so no contest
    for the GIL); calling the returned object waits for it and gives its answer: False when
    it said so, raised, or died. Without fork it runs in a thread. The task's output is its
    answer alone: it must not print, and it gets copies of this process's objects."""
    return Beside(task)


def _answer_of(task: Callable[[], bool]) -> bool:
    try:
        return bool(task())
    except BaseException:  # noqa: BLE001 (any failure is the answer "no")
        return False


def _exit_with(task: Callable[[], bool]) -> None:
    os._exit(0 if _answer_of(task) else 1)  # no atexit handlers, no flush of inherited buffers
