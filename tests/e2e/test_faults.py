"""Faults during a build: SIGKILL at any point, a full disk, an unwritable output, two builds
at once. Each runs a real build (the command line's own entry point, or `python -m sitegen
build`) in a child process and proves by the hash of every file that the previous output is
either intact or fully replaced, never a mix, and that the next build is correct.

Where the kill falls: the build runs in a forked child (ForkedBuild) that counts its own
file system changes through Python's audit hooks (every open for writing, mkdir, rename,
rmtree, copy) plus the atomic exchange itself, and SIGKILLs itself at change number K; K is
drawn at random over the whole build, and the changes around the swap are always included.
Other tests kill by wall-clock time, as a power cut or the OOM killer would, and kill a
`python -m sitegen build` while it writes.

Full disk and read-only folders use a small tmpfs mounted for the test, so they need root
(CI runs as root); a RLIMIT_FSIZE variant and a chmod variant run anywhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import MANIFEST, REPO, article, file_hashes, write_site

from sitegen.commands import cli
from sitegen.incremental import snapshot
from sitegen.pipeline import build as build_module
from sitegen.report import BuildOptions
from sitegen.serve.live import LiveSite
from sitegen.write import writer

IS_ROOT = os.geteuid() == 0
KILLS_PER_MODE = 12
RUN_TIMEOUT = 120
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
CHANGE_EVENTS = {"os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "shutil.rmtree",
                 "shutil.copyfile", "os.truncate", "os.link"}


class ForkedBuild:
    """`sitegen build ARGV` in a forked child process: the real build in a real process that a
    signal can kill, without paying for a fresh interpreter and imports each time.

    With `kill_at=K` the child counts its own file system changes (audit hooks: every open for
    writing, mkdir, rename, rmtree, copy, plus the atomic exchange, which is a ctypes call)
    and SIGKILLs itself at change K; `fallback=True` makes it swap with two renames, as on a
    file system without renameat2. The child reports how many changes it made.
    """

    def __init__(self, *argv: str, kill_at: int = 0, fallback: bool = False,
                 pagefind_for: float | None = None,
                 task: Callable[[], Callable[[], int]] | None = None) -> None:
        self.argv, self.kill_at, self.fallback = list(argv), kill_at, fallback
        self.pagefind_for = pagefind_for
        # `task`, when given, runs in the child before counting starts and returns what is
        # counted (and perhaps killed) instead of `sitegen build ARGV`: serve's rebuilds.
        self.task = task
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in wait())
            prefix="sitegen-child-", suffix=".log")
        self.pid = os.fork()
        if self.pid == 0:
            code = 70
            try:
                code = self._child()
            finally:
                os._exit(code)

    def _child(self) -> int:
        log = open(self._log.name, "w", encoding="utf-8")  # noqa: SIM115 (the child exits)
        sys.stdout = sys.stderr = log
        counted = self.task() if self.task is not None else (
            lambda: cli.main(["build", *self.argv]))
        count = 0

        def change() -> None:
            nonlocal count
            count += 1
            if count == self.kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

        def pagefind_started() -> None:
            """Pagefind runs in a child process: with `pagefind_for`, the build is killed
            that many seconds after it starts, while it indexes, not at a change of ours."""
            change()
            if self.pagefind_for is not None and count >= self.kill_at:
                threading.Timer(self.pagefind_for, os.kill,
                                (os.getpid(), signal.SIGKILL)).start()

        def hook(event: str, args: tuple) -> None:  # type: ignore[type-arg]
            if event == "open":
                mode, flags = args[1], args[2]
                if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                        isinstance(flags, int) and flags & WRITE_FLAGS):
                    change()
            elif event in CHANGE_EVENTS:
                change()
            elif event == "subprocess.Popen" and "pagefind" in str(args[0]):
                pagefind_started()

        real_exchange = writer._exchange

        def exchange(a: Path, b: Path) -> bool:
            change()
            if self.fallback:
                return False
            done = real_exchange(a, b)
            change()
            return done

        writer._exchange = exchange  # type: ignore[assignment]
        sys.addaudithook(hook)
        code = counted()
        print(f"changes={count}", file=log)
        log.flush()
        return code

    def signal(self, number: int) -> None:
        os.kill(self.pid, number)

    def poll(self) -> int | None:
        if getattr(self, "_code", None) is not None:
            return self._code
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return None
        self._code = os.waitstatus_to_exitcode(status)
        return self._code

    def wait(self) -> tuple[int, str]:
        """The exit code (negative: killed by that signal) and what the child printed."""
        deadline = time.monotonic() + RUN_TIMEOUT
        while getattr(self, "_code", None) is None and self.poll() is None:
            if time.monotonic() > deadline:  # never hang the suite on a stuck child
                self.signal(signal.SIGKILL)
                os.waitpid(self.pid, 0)
                raise AssertionError(f"the build did not finish in {RUN_TIMEOUT} s")
            time.sleep(0.002)
        output = Path(self._log.name).read_text(encoding="utf-8")
        self._log.close()
        return self._code, output


def build(*argv: str, **options: object) -> tuple[int, str]:
    return ForkedBuild(*argv, **options).wait()  # type: ignore[arg-type]


def child_env() -> dict[str, str]:
    """A `python -m sitegen` child imports this worktree's sitegen, whatever is installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    return env


def sitegen(*argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """`python -m sitegen ARGV` as a user runs it."""
    return subprocess.run([sys.executable, "-m", "sitegen", *argv], capture_output=True,
                          text=True, timeout=RUN_TIMEOUT, env=child_env(), check=False,
                          **kwargs)  # type: ignore[call-overload]


def holding(out: Path) -> bool:
    """A transaction holds the output: its lock file exists only meanwhile."""
    return (out.parent / f".{out.name}.sitegen-lock").exists()


def leftovers(out: Path) -> list[str]:
    """Staging or old folders a build left beside the output (the lock file and the spare,
    which the next build starts from, are meant to stay)."""
    return sorted(p.name for p in out.parent.glob(f".{out.name}.sitegen-*") if p.is_dir()
                  and p.name != f".{out.name}.sitegen-spare")


def v1_articles(count: int = 4, words: int = 60) -> dict[str, str]:
    return {f"story-{i}.md": article(title=f"Story {i}", date=f"2021-0{1 + i % 9}-1{i % 10}",
                                     tags=[f"Desk {i % 3}", "All"],
                                     body=f"Paragraph of story {i}. " * words)
            for i in range(count)}


def make_v2(site: Path) -> None:
    """A second version of the site: one article edited, one removed, one added, so the new
    output differs from the old in changed, removed and added files."""
    story = site / "content" / "story-0.md"
    story.write_text(story.read_text(encoding="utf-8").replace("Paragraph", "Revised paragraph"),
                     encoding="utf-8")
    (site / "content" / "story-1.md").unlink()
    (site / "content" / "late-news.md").write_text(
        article(title="Late News", date="2021-09-09", tags=["Breaking"]), encoding="utf-8")


class Versions:
    """A site's output at version 1 and at version 2, each built without faults."""

    def __init__(self, root: Path, articles: dict[str, str]) -> None:
        self.root = root
        self.site = write_site(root / "site", articles)
        self.pristine = root / "v1-output"
        assert build("-s", str(self.site), "-o", str(self.pristine))[0] == 0
        self.v1 = file_hashes(self.pristine)
        make_v2(self.site)
        reference = root / "v2-output"
        assert build("-s", str(self.site), "-o", str(reference))[0] == 0
        self.v2 = file_hashes(reference)
        assert self.v1 != self.v2 and MANIFEST in self.v2

    def fresh_output(self, name: str) -> Path:
        """A copy of the version-1 output, as a previous build left it."""
        out = self.root / name
        shutil.copytree(self.pristine, out, symlinks=True)
        return out

    def check_recovery(self, out: Path, where: str) -> str:
        """After a kill: the output is one version or the other, whole, and the next build,
        left alone, is right and cleans up. Returns which version the kill left."""
        if out.exists():
            state = file_hashes(out)
            assert state in (self.v1, self.v2), f"{where}: a mix of old and new"
            left = "old" if state == self.v1 else "new"
        else:
            # Killed between the fallback swap's two renames: the old site waits in a folder
            # of ours, which the next build puts back before anything else.
            olds = list(out.parent.glob(f".{out.name}.sitegen-old-*"))
            assert len(olds) == 1 and file_hashes(olds[0]) == self.v1, where
            left = "old"
        code, log = build("-s", str(self.site), "-o", str(out))
        assert code == 0, f"{where}: {log}"
        assert file_hashes(out) == self.v2, where
        assert leftovers(out) == [], where
        shutil.rmtree(out)
        return left


# --- SIGKILL ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fallback", [False, True],
                         ids=["renameat2-exchange", "two-rename-fallback"])
def test_sigkill_at_any_change_leaves_old_or_new_output_and_next_build_is_right(
        tmp_path: Path, fallback: bool) -> None:
    versions = Versions(tmp_path, v1_articles())
    counting = versions.fresh_output("counting")
    code, log = build("-s", str(versions.site), "-o", str(counting), fallback=fallback)
    assert code == 0 and file_hashes(counting) == versions.v2, log
    kill_at_sampled_changes(versions, log, lambda point: versions.fresh_output(f"out-{point}"),
                            fallback)


def sampled_changes(total: int) -> tuple[int, random.Random, list[int]]:
    """Where to kill a build that made `total` file system changes: a random sample, and
    always the last seven (the manifest, the journal, the swap and the clean-up). Returns
    the seed (for the failure message), its generator (for more draws) and the points."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    points = sorted(set(rng.sample(range(1, total - 6), KILLS_PER_MODE - 7)) |
                    set(range(total - 6, total + 1)))
    return seed, rng, points


def kill_at_sampled_changes(versions: Versions, counting_log: str,
                            output: Callable[[int], Path], fallback: bool) -> None:
    """Build again, killed at a sample of the file system changes a whole build made (its log:
    `counting_log`), each time into `output(point)`, a folder as the previous build left it.
    Each kill must leave the old output or the new, and both must occur."""
    total = int(counting_log.rsplit("changes=", 1)[1])
    print(f"full build{' (two-rename swap)' if fallback else ''}: {total} changes")
    seed, rng, points = sampled_changes(total)
    left = []
    for point in points:
        out = output(point)
        code, log = build("-s", str(versions.site), "-o", str(out), kill_at=point,
                          fallback=fallback)
        where = f"kill at change {point} of {total} (seed {seed})"
        assert code == -signal.SIGKILL, f"{where}: {log}"
        left.append(versions.check_recovery(out, where))
    assert "old" in left and "new" in left, left  # kills fell before and after the swap
    for attempt in range(2):  # and while Pagefind indexes the new site (or soon after)
        delay = rng.uniform(0.0, 0.6)
        out = output(-1 - attempt)
        code, log = build("-s", str(versions.site), "-o", str(out), pagefind_for=delay,
                          fallback=fallback)
        where = f"kill {delay:.3f} s after Pagefind started (seed {seed})"
        assert code in (0, -signal.SIGKILL), f"{where}: {log}"
        assert "search skipped" in log or "changes=" in log or code != 0, log
        versions.check_recovery(out, where)


class SpareVersions(Versions):
    """Version 1 built twice into one output, so the second build kept the first's site as
    the spare; the site then moves to version 2, which the next build writes into the spare.
    `restore()` puts the site, its cache, the output and the spare back as they were."""

    def __init__(self, root: Path, articles: dict[str, str]) -> None:
        self.root = root
        self.work = root / "work"
        self.site = write_site(self.work / "site", articles)
        self.out = self.work / "out"
        for _ in range(2):
            snapshot.forget(self.site)  # the full path: a quick build keeps no spare
            assert build("-s", str(self.site), "-o", str(self.out))[0] == 0
        assert writer.spare_of(self.out).is_dir()
        self.v1 = file_hashes(self.out)
        make_v2(self.site)
        reference = root / "v2-output"
        assert build("-s", str(self.site), "-o", str(reference), "--no-cache")[0] == 0
        self.v2 = file_hashes(reference)
        self.pristine = root / "pristine"
        shutil.copytree(self.work, self.pristine, symlinks=True)  # keeps mtimes: still trusted

    def restore(self) -> Path:
        shutil.rmtree(self.work)
        shutil.copytree(self.pristine, self.work, symlinks=True)
        return self.out


@pytest.mark.parametrize("fallback", [False, True],
                         ids=["renameat2-exchange", "two-rename-fallback"])
def test_sigkill_while_the_spare_becomes_the_new_site_leaves_old_or_new_output(
        tmp_path: Path, fallback: bool) -> None:
    versions = SpareVersions(tmp_path, v1_articles())
    out = versions.restore()
    spare = writer.spare_of(out).stat().st_ino
    code, log = build("-s", str(versions.site), "-o", str(out), fallback=fallback)
    assert code == 0 and file_hashes(out) == versions.v2, log
    assert out.stat().st_ino == spare  # this build wrote into the spare, not a new folder
    kill_at_sampled_changes(versions, log, lambda point: versions.restore(), fallback)


def test_sigkill_at_any_change_of_a_first_build_leaves_no_output_or_the_new_and_a_right_spare(
        tmp_path: Path) -> None:
    """A first build (no output before it) killed at a sample of its changes and at each of
    the last (the manifest, the journal, the commit) leaves no output or the whole new one;
    the next build is right and leaves nothing behind, and so is the quick build after it,
    which links the copy it stages into (a first build keeps no spare) and keeps the
    replaced site as the spare, whole."""
    work, pristine = tmp_path / "work", tmp_path / "pristine"
    site = write_site(work / "site", v1_articles())
    shutil.copytree(site, pristine)  # the site alone: no cache, no output
    out = work / "out"
    code, log = build("-s", str(site), "-o", str(out))
    assert code == 0, log
    v1 = file_hashes(out)
    spare = writer.spare_of(out)
    assert not spare.exists()  # a first build keeps none (writer.replacing)
    story = site / "content" / "story-0.md"
    edited = story.read_text(encoding="utf-8").replace("Paragraph", "New paragraph")
    story.write_text(edited, encoding="utf-8")
    code, quick = build("-s", str(site), "-o", str(out))
    assert code == 0 and "Only article bodies changed" in quick, quick
    v2 = file_hashes(out)
    assert v2 != v1 and file_hashes(spare) == v1
    total = int(log.rsplit("changes=", 1)[1])
    print(f"first build: {total} changes")
    seed, _, points = sampled_changes(total)
    left = set()
    for point in points:
        shutil.rmtree(work)
        shutil.copytree(pristine, site)
        code, log = build("-s", str(site), "-o", str(out), kill_at=point)
        where = f"kill at change {point} of {total} (seed {seed})"
        assert code == -signal.SIGKILL, f"{where}: {log}"
        if out.exists():
            assert file_hashes(out) == v1, f"{where}: not the whole new site"
            left.add("new")
        else:
            left.add("none")
        code, log = build("-s", str(site), "-o", str(out))
        assert code == 0 and file_hashes(out) == v1, f"{where}: {log}"
        assert leftovers(out) == [], where
        story.write_text(edited, encoding="utf-8")
        code, log = build("-s", str(site), "-o", str(out))
        assert code == 0 and "Only article bodies changed" in log, f"{where}: {log}"
        assert file_hashes(out) == v2, where
        assert file_hashes(spare) == v1, where  # the replaced site, whole
    assert left == {"none", "new"}, left


def copy_tree(source: Path, target: Path) -> None:
    """`cp -a`: mtimes kept (the records still hold) and the hard links between the output
    and its spare too. The folders' inodes, by which the journal knows them, are new."""
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)


def copy_state(source: Path, target: Path, out_name: str = "out") -> None:
    """`copy_tree`, and the copy's journal made to name the copied folders as the original's
    named the originals, so the copy is the state a build left, trusted spare and all."""
    copy_tree(source, target)
    journal = target / f".{out_name}.sitegen-journal"
    if not journal.is_file():
        return
    entry = json.loads(journal.read_text(encoding="utf-8"))
    moved = {}
    for name in (out_name, f".{out_name}.sitegen-spare"):
        if (source / name).exists():
            before, after = os.stat(source / name), os.stat(target / name)
            moved[(before.st_dev, before.st_ino)] = [after.st_dev, after.st_ino]
    for key in ("new", "old"):
        if entry.get(key):
            entry[key] = moved.get(tuple(entry[key]), entry[key])
    journal.write_text(json.dumps(entry), encoding="utf-8")


def beside_output(out: Path) -> list[str]:
    """What sits beside the output but for the spare and the journal, which the next
    transaction starts from (the lock file exists only while a build runs)."""
    return sorted(p.name for p in out.parent.glob(f".{out.name}.sitegen-*")
                  if p.name not in (f".{out.name}.sitegen-spare", f".{out.name}.sitegen-journal"))


@pytest.mark.parametrize("search", [False, True])
def test_sigkill_at_any_change_of_a_quick_build_leaves_old_or_new_output_and_the_next_build_right(
        tmp_path: Path, search: bool) -> None:
    """A build that finds only an article body changed makes the new state in the spare
    (brought up to date through the journal), with search has Pagefind index it there, and
    commits pages, index and manifest at once. Killed at any change (with search: a sample
    of them, and moments while Pagefind runs), the output is the old site or the new one,
    whole, and the next build, left alone, is right and leaves nothing behind."""
    work, pristine = tmp_path / "work", tmp_path / "pristine"
    site = write_site(work / "site", v1_articles(),
                      'title = "Test Desk"\nbase_url = "https://test-desk.example.com"\n'
                      f'timezone = "UTC"\n\n[search]\nenabled = {str(search).lower()}\n')
    out = work / "out"
    for _ in range(2):
        code, log = build("-s", str(site), "-o", str(out))
        assert code == 0, log
    if search and "search skipped" in log:
        pytest.skip("Pagefind is not installed (.ci/run installs it)")
    story = site / "content" / "story-0.md"
    story.write_text(story.read_text(encoding="utf-8") + "\nA first correction.\n",
                     encoding="utf-8")
    code, log = build("-s", str(site), "-o", str(out))  # a quick build: the spare is trusted
    assert code == 0 and "Only article bodies changed" in log, log
    v1 = file_hashes(out)
    copy_state(work, pristine)

    def restore_and_edit() -> None:
        shutil.rmtree(work)
        copy_state(pristine, work)
        story.write_text(story.read_text(encoding="utf-8").replace("Paragraph", "New paragraph"),
                         encoding="utf-8")

    restore_and_edit()
    started = time.perf_counter()
    code, log = build("-s", str(site), "-o", str(out))
    seconds = time.perf_counter() - started
    assert code == 0 and "Only article bodies changed" in log, log
    v2 = file_hashes(out)
    assert v2 != v1
    assert (set(v2) != set(v1)) if search else (set(v2) == set(v1))  # new index fragments
    total = int(log.rsplit("changes=", 1)[1])
    print(f"quick build{' with search' if search else ''}: {total} changes")
    points = [(point, None) for point in range(1, total + 1)]
    if search:
        rng = random.Random(total)
        points = [(point, None) for point in sorted(
            set(rng.sample(range(1, total - 4), min(10, total - 5))) |
            set(range(total - 4, total + 1)))]
        points += [(0, rng.uniform(0.0, seconds)) for _ in range(3)]  # while Pagefind runs
    left = set()
    for point, delay in points:
        restore_and_edit()
        code, log = build("-s", str(site), "-o", str(out), kill_at=point, pagefind_for=delay)
        where = f"kill at change {point} of {total}" if delay is None else \
            f"kill {delay:.3f} s into Pagefind"
        state = file_hashes(out)
        assert state in (v1, v2), f"{where}: a mix of old and new ({code})"
        left.add("old" if state == v1 else "new")
        code, log = build("-s", str(site), "-o", str(out))
        assert code == 0 and file_hashes(out) == v2, f"{where}: {log}"
        assert beside_output(out) == [], where
    assert left == {"old", "new"}, left


def serve_rebuild(site: Path, folder: Path, first: bool, edit: Callable[[Path], list[Path]]
                  ) -> Callable[[], Callable[[], int]]:
    """A task for ForkedBuild: serve's LiveSite builds the preview into `folder` (`first`),
    the site is edited, and the rebuild that follows is what is counted."""
    def setup() -> Callable[[], int]:
        live = LiveSite(BuildOptions(site_dir=site, output_dir=folder), folder)
        if not first:
            return lambda: 0 if live.rebuild(everything=True).ok else 1
        assert live.rebuild(everything=True).ok
        paths = edit(site)
        return lambda: 0 if live.rebuild(paths=paths).ok else 1
    return setup


def edit_body(site: Path) -> list[Path]:
    story = site / "content" / "story-0.md"
    story.write_text(story.read_text(encoding="utf-8").replace("Paragraph", "New paragraph"),
                     encoding="utf-8")
    return [story]


def edit_add_remove(site: Path) -> list[Path]:
    make_v2(site)
    return [site / "content" / name for name in ("story-0.md", "story-1.md", "late-news.md")]


@pytest.mark.parametrize("mode", ["quick", "full"])
def test_sigkill_at_any_change_of_a_serve_rebuild_leaves_the_preview_old_or_new(
        tmp_path: Path, mode: str) -> None:
    """serve's preview is written through the same transaction. Its quick rebuild commits
    twice (the edited article's page first, then the lists and feeds that show it), its
    full rebuild once (here: an article edited, one removed, one added); killed at a sample
    of its changes, the preview is one of those states, whole. The next transaction on the
    folder (a new LiveSite's full rebuild) finishes or undoes the killed one and is right."""
    pristine = write_site(tmp_path / "pristine", v1_articles(),
                          'title = "Test Desk"\nbase_url = "https://test-desk.example.com"\n'
                          'timezone = "UTC"\n\n[search]\nenabled = false\n')
    site = tmp_path / "site"
    edit = edit_body if mode == "quick" else edit_add_remove

    def run(name: str, kill_at: int = 0, first: bool = True) -> tuple[int, str, Path]:
        if first:
            shutil.rmtree(site, ignore_errors=True)
            shutil.copytree(pristine, site)
        folder = tmp_path / name / "site"
        folder.parent.mkdir(exist_ok=True)
        code, log = ForkedBuild(kill_at=kill_at, task=serve_rebuild(site, folder, first, edit)
                                ).wait()
        return code, log, folder

    code, log, counting = run("counting")
    assert code == 0, log
    v2 = file_hashes(counting)
    total = int(log.rsplit("changes=", 1)[1])
    print(f"serve's {mode} rebuild: {total} changes")
    code, _, before = run("before", kill_at=1)
    assert code == -signal.SIGKILL
    v1 = file_hashes(before)
    assert v1 != v2
    states = [v1, v2]
    if mode == "quick":
        page = "2021/01/story-0/index.html"
        states.append({**v1, page: v2[page]})  # the first commit: the article's own page
    rng = random.Random(total)
    points = sorted(set(rng.sample(range(1, total - 4), min(10, total - 5))) |
                    set(range(total - 4, total + 1)))
    left = set()
    for point in points:
        code, log, folder = run(f"out-{point}", kill_at=point)
        where = f"kill at change {point} of {total}"
        assert code == -signal.SIGKILL, f"{where}: {log}"
        state = file_hashes(folder)
        assert state in states, f"{where}: a mix"
        left.add(states.index(state))
        code, log, _ = run(f"out-{point}", first=False)
        assert code == 0, f"{where}: {log}"
        state = file_hashes(folder)
        # A new LiveSite knows of no earlier files to delete: a removed article's stay.
        assert {path: state.get(path) for path in v2} == v2, where
        assert set(state) - set(v2) <= set(v1), where
        assert sorted(p.name for p in folder.parent.iterdir()) == [
            ".site.sitegen-journal", ".site.sitegen-spare", "site"], where
    assert {0, 1} <= left, left  # old and new both occurred


def test_sigkill_at_random_moments_of_a_larger_build(tmp_path: Path) -> None:
    """Kills by the clock, as the OOM killer or a power cut would, anywhere in a build."""
    versions = Versions(tmp_path, v1_articles(count=30, words=150))
    started = time.perf_counter()
    assert build("-s", str(versions.site), "-o", str(versions.fresh_output("timing")))[0] == 0
    duration = time.perf_counter() - started
    for attempt in range(4):
        out = versions.fresh_output(f"out-{attempt}")
        delay = random.uniform(0.0, duration)
        child = ForkedBuild("-s", str(versions.site), "-o", str(out))
        time.sleep(delay)
        child.signal(signal.SIGKILL)
        code, _ = child.wait()
        versions.check_recovery(out, f"killed after {delay:.3f} s of {duration:.3f} s (exit {code})")


def test_sigkill_of_python_m_sitegen_mid_write(tmp_path: Path) -> None:
    """The same through the command a user runs: killed while it writes, then built again."""
    versions = Versions(tmp_path, v1_articles(count=40, words=100))
    out = versions.fresh_output("out")
    child = subprocess.Popen([sys.executable, "-m", "sitegen", "build", "-s",
                              str(versions.site), "-o", str(out)], env=child_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: holding(out) or child.poll() is not None)
    child.kill()
    assert child.wait(timeout=RUN_TIMEOUT) == -signal.SIGKILL
    assert file_hashes(out) == versions.v1
    assert sitegen("build", "-s", str(versions.site), "-o", str(out)).returncode == 0
    assert file_hashes(out) == versions.v2 and leftovers(out) == []


# --- a full disk, an unwritable folder ----------------------------------------------------------------

@contextmanager
def tmpfs(folder: Path, size: str, options: str = "") -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}{options}", "tmpfs",
                    str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def needs_root() -> None:
    if not IS_ROOT:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root); the RLIMIT_FSIZE and "
                    "chmod variants cover the same path without it")


def assert_clean_failure(result: subprocess.CompletedProcess[str], phrase: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one clear line
    assert lines[0].startswith("error: could not write the new site"), lines[0]
    assert phrase in lines[0], lines[0]
    assert "the previous output is unchanged" in lines[0]
    assert "Traceback" not in result.stderr and "Built" not in result.stdout


def test_full_disk_gives_a_clear_error_and_changes_nothing(tmp_path: Path) -> None:
    needs_root()
    site = write_site(tmp_path / "site", v1_articles())
    # Room for a site, its spare, the search index's scratch and a build's changes (once the
    # filler below is gone): the site is 1.2 MB, 0.7 MB of it the search index.
    with tmpfs(tmp_path / "disk", "4m") as disk:
        out = disk / "out"
        assert sitegen("build", "-s", str(site), "-o", str(out)).returncode == 0
        # Fill the disk but for a few KB: the old site fits, a second copy beside it does not.
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        with open(disk / "filler", "wb") as filler:
            filler.write(b"\0" * max(0, free - 16 * 1024))
        before = file_hashes(disk, dirs=True)
        make_v2(site)
        result = sitegen("build", "-s", str(site), "-o", str(out))
        assert_clean_failure(result, "the disk is full")
        assert "No space left on device" in result.stderr
        # No staging left, nothing replaced. The spare, the new site's folder, was half
        # brought up to date, and the journal no longer vouches for it.
        assert not_spare(file_hashes(disk, dirs=True)) == not_spare(before)
        assert not list(writer.spare_of(out).rglob("*.sitegen-tmp"))
        (disk / "filler").unlink()
        again = sitegen("build", "-s", str(site), "-o", str(out))
        assert again.returncode == 0, again.stderr
        assert "Revised paragraph" in (out / "2021/01/story-0/index.html").read_text("utf-8")
        assert leftovers(out) == []


def test_a_full_disk_while_saving_the_cache_is_a_warning_that_the_new_site_is_in_place(
        tmp_path: Path) -> None:
    """Issue 17: the cache is saved after the commit. With its disk full the build said
    "The previous output is unchanged" and exited 1 while the output held the new site, and
    left a `.build.pickle.<pid>.tmp`. Now: exit 0, a warning that says the new site is in
    place, no temporary file; the next build, with space again, is right."""
    needs_root()
    site = write_site(tmp_path / "site", v1_articles())
    out = tmp_path / "out"
    assert sitegen("build", "-s", str(site), "-o", str(out)).returncode == 0
    make_v2(site)
    reference = tmp_path / "reference"
    assert sitegen("build", "-s", str(site), "-o", str(reference), "--no-cache").returncode == 0
    with tmpfs(site / ".sitegen-cache", "64k") as cache:  # the output's disk has room
        with open(cache / "filler", "wb") as filler, contextlib.suppress(OSError):
            filler.write(b"\0" * (1 << 20))
        result = sitegen("build", "-s", str(site), "-o", str(out))
        assert result.returncode == 0, result.stderr
        assert "unchanged" not in result.stderr and "Traceback" not in result.stderr
        warning = [line for line in result.stderr.splitlines() if "cannot save the build cache" in line]
        assert len(warning) == 1 and warning[0].startswith(
            f"warning: .sitegen-cache/: the new site is in place in {out}"), result.stderr
        assert "No space left on device" in warning[0]
        assert file_hashes(out) == file_hashes(reference)
        assert sorted(p.name for p in cache.iterdir() if p.name != "filler") in (
            [], [".gitignore"])  # no temporary file left
    result = sitegen("build", "-s", str(site), "-o", str(out))
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    assert file_hashes(out) == file_hashes(reference)


def test_temporary_cache_files_of_killed_runs_are_removed_by_the_next(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", v1_articles())
    out = tmp_path / "out"
    assert sitegen("build", "-s", str(site), "-o", str(out)).returncode == 0
    dead = subprocess.Popen(["true"])  # a process id that no longer runs
    dead.wait()
    cache = site / ".sitegen-cache"
    stale = [cache / f".build.pickle.{dead.pid}.tmp", cache / f".snapshot.objects.{dead.pid}.tmp"]
    for path in stale:
        path.write_bytes(b"half a pickle")
    mine = cache / f".outputs.pickle.{os.getpid()}.tmp"  # a live process's: not touched
    mine.write_bytes(b"in use")
    make_v2(site)
    assert sitegen("build", "-s", str(site), "-o", str(out)).returncode == 0
    assert not any(path.exists() for path in stale) and mine.exists()


def not_spare(hashes: dict[str, str]) -> dict[str, str]:
    return {path: value for path, value in hashes.items()
            if not path.startswith((".out.sitegen-spare", ".out.sitegen-journal"))}


def test_file_size_limit_gives_a_clear_error_and_changes_nothing(tmp_path: Path) -> None:
    """RLIMIT_FSIZE (ulimit -f) makes a large write fail with EFBIG; no root needed."""
    site = write_site(tmp_path / "site", v1_articles())
    out = tmp_path / "out"
    assert sitegen("build", "-s", str(site), "-o", str(out)).returncode == 0
    before = file_hashes(tmp_path, dirs=True)
    (site / "content" / "long.md").write_text(
        article(title="Long Read", date="2021-01-02", body="A long sentence. " * 20_000),
        encoding="utf-8")
    after_edit = file_hashes(tmp_path, dirs=True)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (128 * 1024, 128 * 1024))

    result = sitegen("build", "-s", str(site), "-o", str(out), preexec_fn=limit)
    assert_clean_failure(result, "larger than this system lets sitegen write")
    # The output as it was; only the spare (the new site's folder) was changed.
    assert not_spare(file_hashes(tmp_path, dirs=True)) == not_spare(after_edit)
    assert not list(writer.spare_of(out).rglob("*.sitegen-tmp"))
    assert {k: v for k, v in after_edit.items() if not k.startswith("site/")} == {
        k: v for k, v in before.items() if not k.startswith("site/")}


def test_read_only_file_system_gives_a_clear_error_before_building(tmp_path: Path) -> None:
    needs_root()
    site = write_site(tmp_path / "site", v1_articles())
    with tmpfs(tmp_path / "disk", "4m") as disk:
        out = disk / "out"
        assert sitegen("build", "-s", str(site), "-o", str(out)).returncode == 0
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        before = file_hashes(disk, dirs=True)
        make_v2(site)
        result = sitegen("build", "-s", str(site), "-o", str(out))
        assert_clean_failure(result, "the file system is mounted read-only")
        assert file_hashes(disk, dirs=True) == before


def test_unwritable_output_folder_gives_a_clear_error_and_changes_nothing(tmp_path: Path) -> None:
    """The output folder itself cannot be changed, its parent can: root meets this as a
    read-only bind mount, anyone else as a folder without write permission."""
    site = write_site(tmp_path / "site", v1_articles())
    out = tmp_path / "out"
    assert sitegen("build", "-s", str(site), "-o", str(out)).returncode == 0
    make_v2(site)
    if IS_ROOT:
        subprocess.run(["mount", "--bind", str(out), str(out)], check=True)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(out)], check=True)
        phrase = "the file system is mounted read-only"
    else:
        (out / "tags").chmod(0o555)
        phrase = "no permission to write there"
    try:
        before = file_hashes(tmp_path, dirs=True)
        result = sitegen("build", "-s", str(site), "-o", str(out))
        assert_clean_failure(result, phrase)
        assert file_hashes(tmp_path, dirs=True) == before
    finally:
        if IS_ROOT:
            subprocess.run(["umount", str(out)], check=False)
        else:
            (out / "tags").chmod(0o755)


def test_output_folder_that_is_a_mount_point_is_refused_clearly(tmp_path: Path) -> None:
    """A writable mount point cannot be renamed (EBUSY): say to build into a folder inside it."""
    needs_root()
    site = write_site(tmp_path / "site", v1_articles())
    with tmpfs(tmp_path / "mnt", "4m") as mount_point:
        before = file_hashes(tmp_path, dirs=True)
        result = sitegen("build", "-s", str(site), "-o", str(mount_point))
        assert_clean_failure(result, "choose a folder inside the mount")
        assert file_hashes(tmp_path, dirs=True) == before  # not even the lock file
        assert sitegen("build", "-s", str(site), "-o", str(mount_point / "site")).returncode == 0


# --- two builds at once -------------------------------------------------------------------------

def wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.005)


def stop(process: subprocess.Popen[str]) -> None:
    """SIGSTOP, and wait until the process is stopped (or gone): the signal is asynchronous.
    A process started in a session of its own is stopped with its whole group: the writers
    it forked, which would otherwise go on writing while it is frozen."""
    group = _group(process)
    signal_all(process, signal.SIGSTOP)

    def stopped() -> bool:
        pids = [process.pid] if group is None else _members(group)
        for pid in pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[0] not in ("T", "t", "Z", "X"):
                return False
        return True

    wait_for(stopped, timeout=10)


def signal_all(process: subprocess.Popen[str], sig: int) -> None:
    """`sig` to the process, or to its whole group if it leads one."""
    group = _group(process)
    if group is None:
        process.send_signal(sig)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, sig)


def _group(process: subprocess.Popen[str]) -> int | None:
    try:
        group = os.getpgid(process.pid)
    except ProcessLookupError:
        return None
    return group if group == process.pid else None


def _members(group: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group:  # the field after the state and the parent: pgrp
                pids.append(int(entry.name))
    return pids


def test_second_build_while_one_is_writing_is_refused_and_the_first_finishes(
        tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", v1_articles(count=40, words=100))
    out = site / "output"  # the default output folder
    assert sitegen("build", "-s", str(site)).returncode == 0
    reference = tmp_path / "reference"
    make_v2(site)
    assert sitegen("build", "-s", str(site), "-o", str(reference)).returncode == 0
    # In a session of its own: `stop` freezes the build with the writers it forks.
    first = subprocess.Popen([sys.executable, "-m", "sitegen", "build", "-s", str(site)],
                             env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        # Freeze the first build while it holds the lock. Its quick path takes the lock, then
        # declines (articles were added and removed) and lets go before the full path takes
        # it again: a build stopped in that gap holds nothing, so it is let go on a little.
        wait_for(lambda: holding(out) or first.poll() is not None)
        stop(first)
        while first.poll() is None and not holding(out):
            signal_all(first, signal.SIGCONT)
            time.sleep(0.002)
            stop(first)
        assert first.poll() is None, "the first build finished before it could be caught"
        writing = file_hashes(out.parent, dirs=True)
        second = sitegen("build", "-s", str(site))
        assert second.returncode == 1
        assert second.stderr.strip() == (
            f"error: another sitegen build is writing {out}; wait for it to finish and try again")
        assert file_hashes(out.parent, dirs=True) == writing  # not one file touched
    finally:
        signal_all(first, signal.SIGCONT)
    stdout, stderr = first.communicate(timeout=RUN_TIMEOUT)
    assert first.returncode == 0, stderr
    assert file_hashes(out) == file_hashes(reference) and leftovers(out) == []


def test_builds_started_together_leave_one_correct_output(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", v1_articles(count=30))
    reference = tmp_path / "reference"
    assert sitegen("build", "-s", str(site), "-o", str(reference)).returncode == 0
    out = tmp_path / "out"
    children = [subprocess.Popen([sys.executable, "-m", "sitegen", "build", "-s", str(site),
                                  "-o", str(out)], env=child_env(), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [(c.wait(timeout=RUN_TIMEOUT), c.communicate()[1]) for c in children]
    for code, stderr in results:
        assert code == 0 or "another sitegen build is writing" in stderr, stderr
        assert "Traceback" not in stderr
    assert any(code == 0 for code, _ in results)
    assert file_hashes(out) == file_hashes(reference) and leftovers(out) == []


def test_a_file_dropped_into_the_output_during_a_build_is_never_deleted(tmp_path: Path) -> None:
    """The ownership check runs again under the lock, just before the swap."""
    site = write_site(tmp_path / "site", v1_articles(count=40, words=100))
    out = tmp_path / "out"
    assert sitegen("build", "-s", str(site), "-o", str(out)).returncode == 0
    snapshot.forget(site)  # the full path, which replaces the output (a quick one would not)
    build = subprocess.Popen([sys.executable, "-m", "sitegen", "build", "-s", str(site), "-o",
                              str(out)], env=child_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    wait_for(lambda: holding(out) or build.poll() is not None)
    build.send_signal(signal.SIGSTOP)
    assert build.poll() is None
    (out / "notes-for-the-editor.txt").write_text("keep me", encoding="utf-8")
    before = file_hashes(out)
    build.send_signal(signal.SIGCONT)
    _, stderr = build.communicate(timeout=RUN_TIMEOUT)
    assert build.returncode == 1
    assert "holds files sitegen did not write (notes-for-the-editor.txt)" in stderr
    assert file_hashes(out) == before and leftovers(out) == []


def test_a_worker_killed_mid_build_gives_a_clear_error_and_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> None:
    """The OOM killer (here SIGKILL) ends a forked render worker: the build stops with one
    clear error, not a hang or a traceback, and the output is as it was."""
    site = write_site(tmp_path / "site", v1_articles(count=80, words=5))
    out = tmp_path / "out"
    assert cli.main(["build", "-s", str(site), "-o", str(out), "-q", "--no-cache"]) == 0
    before = file_hashes(out, dirs=True)
    make_v2(site)
    parent, render_job = os.getpid(), build_module.render_job

    def killed_in_a_worker(*args: object) -> str:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.005)  # the forked worker surely gets a range of its own
        return render_job(*args)

    monkeypatch.setattr(build_module, "render_job", killed_in_a_worker)
    capsys.readouterr()
    assert cli.main(["build", "-s", str(site), "-o", str(out), "-q", "-j", "2"]) == 1
    err = capsys.readouterr().err
    assert "error: a worker process ended without finishing its work" in err
    assert "The previous output is unchanged." in err and "Traceback" not in err
    assert file_hashes(out, dirs=True) == before
    assert leftovers(out) == []
