"""Spreading the build's CPU-bound stages (reading, Markdown, rendering) over processes.

Workers are forked after the stage's inputs exist, so they inherit them (the site, the plan,
the theme) instead of receiving pickled copies; each is handed ranges of indices and returns
small results. One worker, a small batch, or a platform without fork runs in-process on
the same code path, so output never depends on the number of workers.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

MIN_ITEMS_PER_WORKER = 64  # below this, starting processes costs more than it saves
_task: Callable[[int], object] | None = None


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def run_indexed(task: Callable[[int], T], count: int, workers: int,
                on_progress: Callable[[int], None] | None = None) -> list[T]:
    """[task(0), ..., task(count - 1)], computed by up to `workers` forked processes."""
    global _task
    workers = min(workers, count // MIN_ITEMS_PER_WORKER)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        results = []
        for i in range(count):
            results.append(task(i))
            if on_progress and i % 200 == 199:
                on_progress(i + 1)
        return results
    chunk = max(MIN_ITEMS_PER_WORKER // 2, count // (workers * 8))
    ranges = [(start, min(start + chunk, count)) for start in range(0, count, chunk)]
    _task = task
    # Frozen objects are left out of the collector's walks, which write to every object they
    # visit: without this a worker's first full collection copies every page of the heap it
    # shares with this process.
    gc.freeze()
    try:
        results: list[T] = []
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for part in pool.imap(_run_range, ranges):
                results.extend(part)  # type: ignore[arg-type]
                if on_progress:
                    on_progress(len(results))
        return results
    finally:
        _task = None
        gc.unfreeze()


def _run_range(bounds: tuple[int, int]) -> Sequence[object]:
    assert _task is not None, "worker forked without a task"
    return [_task(i) for i in range(*bounds)]


def beside(task: Callable[[], bool]) -> Callable[[], bool]:
    """Start `task` in a forked process beside this one (its own interpreter, so no contest
    for the GIL); the returned function waits for it and gives its answer: False when it
    said so, raised, or died. Without fork it runs in a thread. The task's output is its
    answer alone: it must not print, and it gets copies of this process's objects."""
    if "fork" not in multiprocessing.get_all_start_methods():
        answer: list[bool] = []
        thread = threading.Thread(target=lambda: answer.append(_answer_of(task)), daemon=True)
        thread.start()
        return lambda: bool(thread.join() or answer and answer[0])
    process = multiprocessing.get_context("fork").Process(target=_exit_with, args=(task,),
                                                          daemon=True)
    process.start()

    def wait() -> bool:
        process.join()
        return process.exitcode == 0

    return wait


def _answer_of(task: Callable[[], bool]) -> bool:
    try:
        return bool(task())
    except BaseException:  # noqa: BLE001 (any failure is the answer "no")
        return False


def _exit_with(task: Callable[[], bool]) -> None:
    os._exit(0 if _answer_of(task) else 1)  # no atexit handlers, no flush of inherited buffers
