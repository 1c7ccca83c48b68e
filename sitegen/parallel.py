"""Spreading the build's CPU-bound stages (reading, Markdown, rendering) over processes.

Workers are forked after the stage's inputs exist, so they inherit them (the site, the plan,
the theme) instead of receiving pickled copies; each is handed ranges of indices and returns
small results. One worker, a small batch, or a platform without fork runs in-process on
the same code path, so output never depends on the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
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


def _run_range(bounds: tuple[int, int]) -> Sequence[object]:
    assert _task is not None, "worker forked without a task"
    return [_task(i) for i in range(*bounds)]
