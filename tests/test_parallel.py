"""parallel.py: work spread over forked processes gives what one process gives, and `beside`
runs a task in a process of its own and hands back its answer."""

from __future__ import annotations

import os
import signal
import time
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


def slowly(task):  # items slow enough that the forked worker gets its share
    def run(i: int):
        time.sleep(0.002)
        return task(i)
    return run


def test_run_indexed_works_in_this_process_and_a_forked_one() -> None:
    """Two workers are this process and one forked process (an idle parent would only add
    the heap it shares to the memory the build is charged)."""
    done: list[int] = []
    pids = run_indexed(slowly(lambda i: os.getpid()), 300, 2, done.append)
    assert os.getpid() in pids and len(set(pids)) == 2
    assert done == sorted(done) and done[-1] == 300


@pytest.mark.parametrize("workers", [2, 3])
def test_run_indexed_from_end_has_this_process_take_the_last_items(workers: int) -> None:
    """With `from_end`, this process works from the end and the forked ones from the start,
    so what the last items share (the cards of the pages that list articles) is made in one
    process; each item is still done once, and the results are in order."""
    pids = run_indexed(slowly(lambda i: os.getpid()), 400, workers, from_end=True)
    mine = [i for i, pid in enumerate(pids) if pid == os.getpid()]
    assert mine and len(set(pids)) == workers
    assert mine == list(range(mine[0], 400))  # one unbroken run, to the last item
    assert os.getpid() not in pids[:mine[0]]


def test_run_indexed_raises_what_a_forked_worker_raised() -> None:
    parent = os.getpid()

    def task(i: int) -> int:
        if os.getpid() != parent:
            raise OSError(28, "No space left on device")
        return i

    with pytest.raises(OSError, match="No space left"):
        run_indexed(slowly(task), 300, 2)


def test_run_indexed_tells_of_a_forked_worker_that_died() -> None:
    parent = os.getpid()

    def task(i: int) -> int:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return i

    with pytest.raises(parallel.WorkerDied):
        run_indexed(slowly(task), 300, 2)


def test_a_forked_worker_stops_when_the_process_that_forked_it_is_killed(tmp_path: Path
                                                                         ) -> None:
    """A build killed while it writes must not leave a worker writing on behind it."""
    log = tmp_path / "log"

    def task(i: int) -> None:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        time.sleep(0.01)

    build = os.fork()
    if build == 0:  # the build's process
        try:
            run_indexed(task, 1000, 2)  # ten seconds of work in each of two processes
        finally:
            os._exit(0)

    def writers() -> list[str]:
        return log.read_text(encoding="utf-8").split() if log.exists() else []

    deadline = time.monotonic() + 30
    while len(set(writers())) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(set(writers())) == 2, "the forked worker never started"
    os.kill(build, signal.SIGKILL)
    os.waitpid(build, 0)
    time.sleep(0.2)
    stopped = len(writers())
    time.sleep(0.5)
    assert len(writers()) == stopped < 1000


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


def test_beside_gives_the_first_answer_without_waiting_for_the_later_tasks(tmp_path: Path
                                                                          ) -> None:
    done = tmp_path / "second-done"

    def second() -> bool:
        time.sleep(10)
        done.write_text("", encoding="utf-8")
        return True

    tasks = beside(lambda: True, second)
    assert tasks(0) is True
    assert not done.exists()  # still sleeping: the answer did not wait for it
    tasks.cancel()
    assert not done.exists()


def test_beside_answers_no_for_every_task_from_the_first_that_said_no(tmp_path: Path) -> None:
    ran = tmp_path / "ran"

    def later() -> bool:
        ran.write_text("", encoding="utf-8")
        return True

    tasks = beside(lambda: True, lambda: False, later)
    assert tasks(0) is True
    assert tasks(1) is False
    assert tasks() is False
    assert not ran.exists()  # the tasks after a "no" do not run
    both = beside(lambda: True, later)
    assert both() is True and both(0) is True
    assert ran.exists()


def test_beside_without_fork_gives_each_answer_in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    order: list[str] = []
    tasks = beside(lambda: order.append("first") is None, lambda: order.append("second") is None)
    assert tasks() is True
    assert order == ["first", "second"]
    assert beside(lambda: 1 / 0 == 0, lambda: True)(1) is False
