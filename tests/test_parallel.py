"""parallel.py: work spread over forked processes gives what one process gives, and `beside`
runs a task in a process of its own and hands back its answer."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from sitegen import parallel
from sitegen.parallel import beside, run_indexed


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_run_indexed_returns_results_in_order_whatever_the_workers(workers: int) -> None:
    words = [f"w{i}" for i in range(500)]
    assert run_indexed(lambda i: words[i].upper(), len(words), workers) == \
        [w.upper() for w in words]


def test_run_indexed_runs_small_batches_in_this_process() -> None:
    assert run_indexed(lambda i: os.getpid(), 10, 4) == [os.getpid()] * 10


def test_beside_runs_the_task_in_another_process_and_gives_its_answer(tmp_path: Path) -> None:
    mark = tmp_path / "pid"

    def task() -> bool:
        mark.write_text(str(os.getpid()), encoding="utf-8")
        return True

    assert beside(task)() is True
    assert int(mark.read_text(encoding="utf-8")) != os.getpid()
    assert beside(lambda: False)() is False


def test_beside_answers_no_when_the_task_raises_or_dies(capfd: pytest.CaptureFixture[str]
                                                        ) -> None:
    def raises() -> bool:
        raise OSError("disk full")

    assert beside(raises)() is False
    assert beside(lambda: os.kill(os.getpid(), signal.SIGKILL) or True)() is False
    assert capfd.readouterr().err == ""  # no traceback from the forked process


def test_beside_without_fork_runs_in_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    seen: list[int] = []

    def task() -> bool:
        seen.append(os.getpid())
        return True

    assert beside(task)() is True
    assert seen == [os.getpid()]
    assert beside(lambda: 1 / 0 == 0)() is False
