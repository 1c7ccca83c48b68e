"""The output transaction (writer.py) on real folders: what a commit changes and when, what
the journal lets the next transaction trust, and what a refused or killed run leaves behind.
Kills at every step of every path are in test_faults.py."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO, article, file_hashes, write_site

from sitegen.errors import OutputError
from sitegen.write import writer


def listing(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder` (folders too: a left lock or staging shows)."""
    return file_hashes(folder, dirs=True)


def commit(folder: Path, files: dict[str, bytes], removed: tuple[str, ...] = ()) -> None:
    with writer.updating(folder) as staging:
        for rel, data in files.items():
            staging.write(rel, data)
        for rel in removed:
            staging.remove(rel)


def contents(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


def test_an_update_changes_the_output_only_at_its_commit(tmp_path: Path) -> None:
    out = tmp_path / "out"
    commit(out, {"a/index.html": b"a1", "b.txt": b"b1"})
    assert contents(out) == {"a/index.html": b"a1", "b.txt": b"b1"}
    with writer.updating(out) as staging:
        staging.write("a/index.html", b"a2")
        staging.write("c/d/new.txt", b"c1")
        staging.remove("b.txt")
        assert contents(out) == {"a/index.html": b"a1", "b.txt": b"b1"}  # nothing yet
        assert staging.path != out
    assert contents(out) == {"a/index.html": b"a2", "c/d/new.txt": b"c1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".out.sitegen-journal", ".out.sitegen-spare", "out"]


def test_an_update_that_fails_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    commit(out, {"a.txt": b"a1"})
    with pytest.raises(RuntimeError), writer.updating(out) as staging:
        staging.write("a.txt", b"a2")
        raise RuntimeError("a template failed")
    assert contents(out) == {"a.txt": b"a1"}
    commit(out, {"b.txt": b"b1"})  # the half-changed spare is not trusted as a copy
    assert contents(out) == {"a.txt": b"a1", "b.txt": b"b1"}


def test_a_run_killed_after_the_exchange_is_rolled_forward(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed right after the commit point: the new state is the output, and the next
    transaction trusts the replaced folder (now the spare) to differ only where the journal
    says, bringing it up to date instead of copying the whole output."""
    out = tmp_path / "out"
    commit(out, {f"page-{i}.html": b"v1" for i in range(20)})
    commit(out, {"page-0.html": b"v2"})
    real_swap = writer._swap

    def swap_then_die(new: Path, output: Path) -> None:
        real_swap(new, output)
        raise KeyboardInterrupt  # stands for the kill: nothing after the exchange runs

    monkeypatch.setattr(writer, "_swap", swap_then_die)
    with pytest.raises(KeyboardInterrupt):
        commit(out, {"page-1.html": b"v3"}, ("page-19.html",))
    monkeypatch.undo()
    expected = {**{f"page-{i}.html": b"v1" for i in range(19)}, "page-0.html": b"v2",
                "page-1.html": b"v3"}
    assert contents(out) == expected  # the new state, whole
    copies: list[object] = []
    real_copy = writer._link_copy
    monkeypatch.setattr(writer, "_link_copy", lambda *a: copies.append(a) or real_copy(*a))
    replaced = writer.spare_of(out).stat().st_ino
    commit(out, {"page-2.html": b"v4"})
    assert copies == []  # trusted: brought up to date, not copied
    assert out.stat().st_ino == replaced
    assert contents(out) == {**expected, "page-2.html": b"v4"}
    assert contents(writer.spare_of(out)) == expected


def test_a_run_killed_before_the_exchange_is_rolled_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    commit(out, {f"page-{i}.html": b"v1" for i in range(5)})
    commit(out, {"page-0.html": b"v2"})

    def die(new: Path, output: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(writer, "_swap", die)
    with pytest.raises(KeyboardInterrupt):
        commit(out, {"page-1.html": b"v3"})
    monkeypatch.undo()
    expected = {**{f"page-{i}.html": b"v1" for i in range(5)}, "page-0.html": b"v2"}
    assert contents(out) == expected  # the old state, whole
    commit(out, {"page-2.html": b"v4"})  # the spare, half made, is not trusted
    assert contents(out) == {**expected, "page-2.html": b"v4"}


def test_a_waiting_transaction_takes_the_lock_its_holder_removed(tmp_path: Path) -> None:
    """The lock file exists only while held; one who waited for it locks the next."""
    out = tmp_path / "out"
    commit(out, {"a.txt": b"1"})
    with writer.updating(out), pytest.raises(OutputError, match="another sitegen build"), \
            writer.updating(out):
        pass
    assert not (tmp_path / ".out.sitegen-lock").exists()


SITE_CONFIG = 'title = "Desk"\nbase_url = "https://desk.example.com"\ntimezone = "UTC"\n'


def sitegen(*argv: str, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "sitegen", *argv], capture_output=True,
                          text=True, env=environment, cwd=cwd, timeout=120, check=False)


def test_a_refused_output_folder_leaves_nothing_behind(tmp_path: Path) -> None:
    """Issue 16: a refused -o left a `.NAME.sitegen-lock` beside the folder. Refused here:
    the site root, its parent, $HOME (a temporary one), the file system root, a folder
    that is not sitegen's, a file. Nothing new appears anywhere."""
    home = tmp_path / "home"
    site = write_site(home / "site", {"a.md": article(title="A")}, SITE_CONFIG)
    assert sitegen("build", "-s", str(site), env={"HOME": str(home)}).returncode == 0
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    afile = tmp_path / "a-file"
    afile.write_text("x", encoding="utf-8")
    root_before = sorted(os.listdir("/"))
    before = listing(tmp_path)
    for target in (site, home, Path("/"), foreign, afile, site.parent):
        result = sitegen("build", "-s", str(site), "-o", str(target), env={"HOME": str(home)})
        assert result.returncode == 1 and "error:" in result.stderr, (target, result.stderr)
        assert "Traceback" not in result.stderr
        assert listing(tmp_path) == before, target
        assert sorted(os.listdir("/")) == root_before, target


def test_a_killed_build_leaves_no_pagefind_folder_in_the_system_temp(tmp_path: Path) -> None:
    """Issue 16: Pagefind's folders were in the system's temporary folder, where a killed
    build left them (9 MB at 2,000 articles). They are now scratch space beside the output,
    which the next build removes; the killed build's Pagefind dies with it."""
    site = write_site(tmp_path / "site", {f"s{i}.md": article(
        title=f"Story {i}", date=f"2021-01-{1 + i:02d}", body=f"Words of story {i}. " * 200)
        for i in range(25)}, SITE_CONFIG + "\n[search]\nenabled = true\n")
    temp = tmp_path / "temp"
    temp.mkdir()
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(temp)}
    first = sitegen("build", "-s", str(site), "-o", str(out), env={"TMPDIR": str(temp)})
    if "search skipped" in first.stderr:
        pytest.skip("Pagefind is not installed (.ci/run installs it)")
    assert first.returncode == 0, first.stderr
    (site / "content" / "s3.md").write_text(article(title="Story 3", date="2021-01-04",
                                                    body="A new text. " * 200), "utf-8")
    child = subprocess.Popen([sys.executable, "-m", "sitegen", "build", "-s", str(site), "-o",
                              str(out)], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (list(tmp_path.glob(".out.sitegen-scratch-*/pagefind")) or list(
            temp.glob("*pagefind*"))) and child.poll() is None:
        assert time.monotonic() < deadline, "Pagefind never started"
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=60) == -signal.SIGKILL
    time.sleep(0.5)  # an orphaned Pagefind would write on meanwhile
    assert list(temp.iterdir()) == []
    assert sitegen("build", "-s", str(site), "-o", str(out)).returncode == 0
    assert sorted(p.name for p in tmp_path.glob(".out.*")) == [
        ".out.sitegen-journal", ".out.sitegen-spare"]


def inode(path: Path) -> int:
    return os.stat(path).st_ino


def test_a_full_build_committing_inside_its_block_holds_the_lock_to_the_block_s_end(
        tmp_path: Path) -> None:
    """The build commits inside the block to save its cache after the commit: the output is
    new at once, and no other transaction may start until the block ends."""
    out = tmp_path / "out"
    with writer.replacing(out, keep_spare=True) as staging:
        staging.write("a/index.html", b"a1")
        staging.files.append("a/index.html")
        staging.commit()
        assert contents(out) == {"a/index.html": b"a1", writer.MANIFEST: (
            writer.manifest_data(["a/index.html"]))}  # committed: new at once
        with pytest.raises(OutputError, match="another sitegen build"):
            commit(out, {"b.txt": b"b1"})
        staging.commit()  # once only: a second call does nothing
    commit(out, {"b.txt": b"b1"})  # the lock is free
    assert contents(out)["b.txt"] == b"b1"


def test_a_first_build_keeps_no_spare_and_the_next_transaction_makes_its_own_copy(
        tmp_path: Path) -> None:
    """A first build replaces nothing, so it keeps nothing beside the output (a deploy's build
    from a clean checkout pays for no copy); the next update links its own copy, commits,
    and keeps the replaced site as the spare, trusted by the journal from then on."""
    out = tmp_path / "out"
    with writer.replacing(out, keep_spare=True) as staging:
        for rel in ("a/index.html", "a/b/c.txt", "d.txt"):
            staging.write(rel, rel.encode())
            staging.files.append(rel)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.sitegen-journal", "out"]
    first = contents(out)
    commit(out, {"d.txt": b"d2"})
    spare = writer.spare_of(out)
    assert contents(spare) == first  # the replaced site, whole
    assert contents(out) == {**first, "d.txt": b"d2"}
    assert inode(spare / "a" / "index.html") == inode(out / "a" / "index.html")
    with writer.updating(out) as staging:
        staging.write("e.txt", b"e1")
        assert staging.path == spare  # the spare, brought up by the journal's list
    assert contents(out) == {**first, "d.txt": b"d2", "e.txt": b"e1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".out.sitegen-journal", ".out.sitegen-spare", "out"]


def test_ready_spare_brings_the_spare_up_to_date_ahead_of_the_next_transaction(
        tmp_path: Path) -> None:
    """A commit that replaced an empty folder (serve's cold start) leaves a spare differing
    in every file: `ready_spare` links them now, so the next transaction writes only its own
    change into the spare; the result is the same as without it."""
    out = tmp_path / "out"
    out.mkdir()
    files = [f"{n}/index.html" for n in range(20)]
    with writer.updating(out) as staging:
        for rel in files:
            staging.write(rel, rel.encode())
    journal = tmp_path / ".out.sitegen-journal"
    assert len(json.loads(journal.read_text())["differ"]) == len(files)
    assert writer.ready_spare(out)
    spare = writer.spare_of(out)
    assert json.loads(journal.read_text())["differ"] == []
    assert contents(spare) == contents(out)
    assert all(inode(spare / rel) == inode(out / rel) for rel in files)
    with writer.updating(out) as staging:
        staging.write("0/index.html", b"changed")
        assert staging.path == spare  # the spare, trusted, not a fresh copy
    assert (out / "0/index.html").read_bytes() == b"changed"
    assert {rel: (out / rel).read_bytes() for rel in files[1:]} == {
        rel: rel.encode() for rel in files[1:]}
    assert json.loads(journal.read_text())["differ"] == ["0/index.html"]


def test_committed_at_is_the_time_of_the_commit_that_made_the_output_folder(
        tmp_path: Path) -> None:
    """quick.py reads only the folders changed since this time: it is taken after the last
    change to the committed folder, survives `ready_spare` (which changes only the spare),
    and is None for any folder the journal does not vouch for."""
    out = tmp_path / "out"
    out.mkdir()  # replaced by the first commit, it becomes the spare (serve's cold start)
    assert writer.committed_at(out) is None
    with writer.updating(out) as staging:
        staging.write("a/index.html", b"a")
    at = writer.committed_at(out)
    later = tmp_path / "later"
    later.mkdir()  # stamped by the file system's clock after the commit
    assert at is not None and os.stat(out / "a").st_ctime_ns <= at <= later.stat().st_ctime_ns
    assert writer.ready_spare(out) and writer.committed_at(out) == at
    with writer.updating(out) as staging:
        staging.write("a/index.html", b"b")
    again = writer.committed_at(out)
    assert again is not None and os.stat(out / "a").st_ctime_ns <= again
    assert again >= later.stat().st_ctime_ns
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    os.rename(out, tmp_path / "gone")
    os.rename(copy, out)  # not the folder committed
    assert writer.committed_at(out) is None


def _site_before_last(tmp_path: Path) -> Path:
    """An output two transactions old: its spare holds the site before last, which differs
    in a changed file, a removed one and an added one."""
    out = tmp_path / "out"
    out.mkdir()
    with writer.updating(out) as staging:
        for rel in ("a/index.html", "old/index.html"):
            staging.write(rel, b"one")
    with writer.updating(out) as staging:
        staging.write("a/index.html", b"two")
        staging.remove("old/index.html")
        staging.write("new/index.html", b"new")
    return out


def test_ready_spare_over_a_spare_with_files_follows_the_journal_s_list(tmp_path: Path) -> None:
    """Only an empty spare (the cold start's) is filled with a copy of the whole site; one
    holding the site before last is brought up file by file: changed, removed, added."""
    out = _site_before_last(tmp_path)
    spare = writer.spare_of(out)
    assert contents(spare) != contents(out) and (spare / "old/index.html").is_file()
    assert writer.ready_spare(out)
    assert contents(spare) == contents(out)
    assert json.loads((tmp_path / ".out.sitegen-journal").read_text())["differ"] == []


def test_the_first_update_after_a_first_build_links_a_deep_site_whole(tmp_path: Path) -> None:
    """With no spare (a first build keeps none), the update's folder is a copy of the output
    made by links, its folders shared between threads: every file of a site nested four deep
    is there, the same file as the output's, but the one changed."""
    out = tmp_path / "out"
    files = [f"{y}/{m:02d}/story-{y}-{m}-{n}/index.html"
             for y in range(2021, 2023) for m in range(1, 13) for n in range(3)]
    files += [f"tags/tag-{t}/page/{p}/index.html" for t in range(20) for p in range(1, 3)]
    files += ["index.html", "feed.xml"]
    with writer.replacing(out, keep_spare=True) as staging:
        for rel in files:
            staging.write(rel, rel.encode())
            staging.files.append(rel)
    linked = {rel: inode(out / rel) for rel in files}
    feed = linked.pop("feed.xml")
    commit(out, {"feed.xml": b"new feed"})
    assert contents(out) == {**{rel: rel.encode() for rel in files}, "feed.xml": b"new feed",
                             writer.MANIFEST: writer.manifest_data(files)}
    assert {rel: inode(out / rel) for rel in linked} == linked
    assert inode(out / "feed.xml") != feed


def test_a_linked_copy_that_fails_stops_every_thread_and_raises(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    for n in range(200):
        (source / f"f{n}" / "sub").mkdir(parents=True)
        (source / f"f{n}" / "sub" / "index.html").write_text("x", encoding="utf-8")
    (target / "f150").mkdir(parents=True)  # in the way: making that folder fails
    threads = threading.active_count()
    with pytest.raises(FileExistsError):
        writer._link_copy(source, target)
    assert threading.active_count() == threads


def test_ready_spare_whole_makes_the_spare_anew_as_a_linked_copy(tmp_path: Path) -> None:
    """`whole` (serve's cold start over a kept preview of other settings): the spare holding
    the site before last is replaced by links to every file of the output."""
    out = _site_before_last(tmp_path)
    spare = writer.spare_of(out)
    beside = sorted(p.name for p in tmp_path.iterdir())
    assert writer.ready_spare(out, whole=True)
    assert contents(spare) == contents(out) and not (spare / "old").exists()
    # The old spare was set aside under the lock and removed after it: nothing is left.
    assert sorted(p.name for p in tmp_path.iterdir()) == beside
    assert all(inode(spare / rel) == inode(out / rel) for rel in ("a/index.html", "new/index.html"))
    assert json.loads((tmp_path / ".out.sitegen-journal").read_text())["differ"] == []
    with writer.updating(out) as staging:
        staging.write("a/index.html", b"three")
        assert staging.path == spare  # trusted
    assert (out / "a/index.html").read_bytes() == b"three"
    assert (out / "new/index.html").read_bytes() == b"new"


def test_ready_spare_without_a_journal_vouching_for_a_spare_does_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("a", encoding="utf-8")
    assert not writer.ready_spare(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
