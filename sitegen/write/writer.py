"""The one way sitegen writes an output folder: a transaction with one commit point.

Every path writes through it: a full build (`replacing`), a quick build, serve's preview and
the preview's search index (`updating`). The new state is made whole in a folder beside the
output (the spare, or a fresh one), then takes the output's place in one atomic exchange of
the two folders (Linux renameat2; two renames elsewhere). That exchange is the commit point:
before it nothing a reader of the output sees has changed; after it the new state is there
whole, pages, search index and manifest together.

Promises kept here, and nowhere else:
- a folder that holds anything sitegen did not write is never deleted or replaced; sitegen
  knows its own output by a manifest file listing every file it wrote (a full build checks
  the folder against it; a partial update's caller checks that the output holds exactly the
  files it recorded, see quick.py, or owns the folder outright, as serve does);
- the output can never be the site itself, a source folder, an ancestor of the site, the home
  folder or the file system root, nor reached through a symbolic link;
- a failed or killed build leaves the previous output byte for byte as it was;
- the replaced site is kept as the spare (`.<output>.sitegen-spare`, beside the output) and
  becomes the next transaction's folder (a first build replaces none and keeps none, see
  `replacing`), so only what differs is written: a full build
  brings it up to date by its records, a partial update by the journal's list of the files
  in which the spare differs from the output;
- two builds of one output at once are refused with a clear message (a lock file, there only
  while a transaction runs); serve's threads wait for each other instead;
- a write that fails (a full disk, a read-only or unwritable folder) is an OutputError that
  says what happened and what to do, and leaves the previous output as it was.

The journal (`.<output>.sitegen-journal`, replaced by a rename) is written just before the
commit. It names, by device and inode, the folder that becomes the output and the one it
replaces, lists the files in which they differ, and keeps the commit's time (`committed_at`).
The next transaction reads it first. If the output is the new folder, the commit happened: it
rolls forward, and the replaced folder, now the spare, is trusted to differ from the output
only in the listed files. If the output is still the old folder, the commit did not happen: it
rolls back, trusting nothing of the half-made folder (a full build checks its files against
their records; a partial update starts from a fresh copy of the output). Forward after the
exchange, because the new state is whole and already visible; back before it, because the
output was never touched. Without renameat2 a kill between the two renames leaves no output:
the replaced site, in an `-old-` folder, is renamed back (the new one had not yet taken the
output's name: roll back). Every folder a run makes beside the output carries its process id,
and the next transaction removes those of other processes, so no temporary file outlives a
run.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sitegen.errors import OutputError
from sitegen.folders import MANIFEST, SOURCE_FOLDERS


class Staging:
    """The folder a transaction makes the output's next state in.

    A full build (`replacing`) writes every file into a fresh folder or into the spare
    (`reused`), listing them in `files` for the manifest. A partial update (`updating`)
    starts from a copy of the output, made when first needed (on `path`), and writes and
    removes only what changes (`changed`). A file already there may be a hard link to the
    output's: it is replaced by a rename, never written into."""

    def __init__(self, path: Path | None, reused: bool = False,
                 opener: Callable[[], Path] | None = None) -> None:
        self._path = path
        self._opener = opener
        self.reused = reused or opener is not None
        self.spared = False  # after the commit: the replaced site was kept as the spare
        self.files: list[str] = []  # every file of the new site, for the manifest
        self.changed: set[str] = set()  # a partial update: the files written or removed
        self._made: set[Path] = set()
        self._commit: Callable[[], object] | None = None  # set by `replacing`, run once

    def commit(self) -> None:
        """A full build's commit point (`replacing`): the new site takes the output's place.
        The block's end commits when the caller has not; a caller commits earlier to do work
        after the commit under the transaction's lock (the build saves its cache)."""
        commit, self._commit = self._commit, None
        if commit is not None:
            commit()

    @property
    def opened(self) -> bool:
        return self._path is not None

    @property
    def path(self) -> Path:
        if self._path is None:
            assert self._opener is not None
            self._path = self._opener()
        return self._path

    def write(self, rel: str, data: bytes) -> None:
        self._put(rel, lambda target: target.write_bytes(data))

    def copy(self, rel: str, source: Path) -> None:
        """Copy `source` to `rel`. An OSError naming `source` (it cannot be read, or vanished
        since it was listed) is raised as it is, for the caller to name the site's file."""

        def make(target: Path) -> None:
            try:
                shutil.copyfile(source, target)
            except OSError as exc:
                if exc.filename is not None and os.fspath(exc.filename) == os.fspath(source):
                    raise _SourceFailed(exc) from exc
                raise

        try:
            self._put(rel, make)
        except _SourceFailed as failed:
            raise failed.error from None

    def link(self, rel: str, existing: Path) -> None:
        """Reuse a file of the previous site as it is (a hard link: not rewritten)."""
        self._put(rel, lambda target: _link(existing, target), linking=True)

    def remove(self, rel: str) -> None:
        """Remove a file (a partial update), and the folders it leaves empty."""
        target = _inside(self.path, rel)
        try:
            target.unlink(missing_ok=True)
            _prune_parents(target.parent, self.path)
        except OSError as exc:
            raise OutputError(write_failure(exc, target)) from exc
        self.changed.add(rel)

    def prune(self, wanted: set[str]) -> None:
        """Delete the spare's files that are not in `wanted` (the new site's), and folders
        left empty. Everything in the spare is sitegen's: it was a checked output."""
        if not self.reused or self._opener is not None:
            return
        files, folders = _scan(self.path)
        for rel in files - wanted:
            (self.path / rel).unlink()
        for folder in sorted(folders, key=lambda f: -len(f.parts)):
            if not any(folder.iterdir()):
                folder.rmdir()

    def _put(self, rel: str, make: Callable[[Path], object], linking: bool = False) -> None:
        target = _inside(self.path, rel)
        try:
            if target.parent not in self._made:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(target.parent)
            if self.reused:
                temporary = target.with_name(f".{target.name}.sitegen-tmp")
                try:
                    make(temporary)
                    os.replace(temporary, target)
                except OSError:
                    temporary.unlink(missing_ok=True)  # a full disk: no half file stays
                    raise
                if linking:  # both names were links to one file: rename did nothing (POSIX)
                    temporary.unlink(missing_ok=True)
            else:
                make(target)
        except OSError as exc:
            raise OutputError(write_failure(exc, target)) from exc
        self.changed.add(rel)


def _link(existing: Path, target: Path) -> None:
    try:
        os.link(existing, target, follow_symlinks=False)
    except OSError:  # a file system without hard links
        shutil.copy2(existing, target)


def _prune_parents(folder: Path, top: Path) -> None:
    while folder != top and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _inside(folder: Path, rel: str) -> Path:
    """`folder`/`rel`. The plan checked every path; this second, purely lexical check is the
    last line."""
    parts = rel.split("/")
    if rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in parts):
        raise OutputError(f"refusing to write {rel!r}: it is outside the output folder")
    return folder.joinpath(*parts)


def check_output_dir(output: Path, site_dir: Path) -> Path:
    """Return the absolute output path, or raise OutputError if writing there could harm."""
    resolved = check_output_location(output, site_dir)
    if resolved.is_dir():
        _check_owned(resolved)
    _check_writable(resolved)
    return resolved


def check_output_location(output: Path, site_dir: Path) -> Path:
    """The checks of `check_output_dir` that need no look inside the folder: enough for
    replacing files sitegen recorded there (`updating`), not for replacing the folder."""
    output = Path(os.path.abspath(output))
    site_dir = site_dir.resolve()
    if output.is_symlink() or output.resolve() != output:
        raise OutputError(f"{output} is (or lies under) a symbolic link; give the real path "
                          "with -o so sitegen knows exactly which folder it replaces")
    resolved = output.resolve()
    home = Path.home().resolve()
    if resolved == Path(resolved.anchor) or resolved == home:
        raise OutputError(f"refusing to use {output} as the output folder: it is the "
                          f"{'home folder' if resolved == home else 'file system root'}")
    if resolved == site_dir or site_dir.is_relative_to(resolved):
        raise OutputError(f"refusing to use {output} as the output folder: it holds the site "
                          "itself; use a folder of its own such as output/")
    for name in SOURCE_FOLDERS:
        if resolved.is_relative_to(site_dir / name):
            raise OutputError(f"refusing to use {output} as the output folder: it is inside "
                              f"the site's {name}/ folder")
    if resolved.exists() and not resolved.is_dir():
        raise OutputError(f"{output} exists and is not a folder")
    return resolved


_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space and build again",
    errno.EDQUOT: "your disk quota is used up: free some space and build again",
    errno.EFBIG: "a file is larger than this system lets sitegen write (see ulimit -f)",
    errno.EROFS: "the file system is mounted read-only",
    errno.EACCES: "no permission to write there: check the folder's owner and permissions, or "
                  "choose another output folder with -o",
    errno.EPERM: "the system does not allow the change: check the folder's owner and "
                 "attributes, or choose another output folder with -o",
    errno.EBUSY: "the output folder is in use or is a mount point; sitegen replaces the output "
                 "folder whole, so choose a folder inside the mount with -o",
}


def write_failure(exc: OSError, where: Path) -> str:
    """One line on a failed write: what failed, where, why, and what to do."""
    reason = exc.strerror or str(exc)
    advice = _ADVICE.get(exc.errno or 0)
    path = exc.filename or where
    return (f"could not write the new site ({reason}: {path}){'; ' + advice if advice else ''}. "
            "Nothing was replaced; the previous output is unchanged")


def _check_writable(output: Path) -> None:
    """Fail before the build, not halfway through writing, where the output cannot be replaced:
    the staging folder is made beside it, and the old site's folders are changed by the next
    build (they become the spare)."""
    existing = next(p for p in (output, *output.parents) if p.exists())
    folders = [existing.parent if existing == output else existing]
    if existing == output:
        folders += [output, *_scan(output)[1]]
    for folder in folders:
        if not os.access(folder, os.W_OK | os.X_OK):
            error = errno.EROFS if _read_only(folder) else errno.EACCES
            raise OutputError(write_failure(OSError(error, os.strerror(error), str(folder)), output))


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _scan(folder: Path) -> tuple[set[str], list[Path]]:
    """Every file under `folder` (as a relative path with "/") and every folder below it. A
    link, even to a folder, is an entry of its own, never followed."""
    files: set[str] = set()
    folders: list[Path] = []
    pending = [(folder, "")]
    while pending:
        current, prefix = pending.pop()
        try:
            entries = os.scandir(current)
        except OSError:  # unreadable: skipped, as os.walk does
            continue
        with entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(Path(entry.path))
                    pending.append((Path(entry.path), f"{prefix}{entry.name}/"))
                else:
                    files.add(prefix + entry.name)
    return files, folders


def _check_owned(folder: Path) -> None:
    """Refuse a non-empty folder unless every file in it is one sitegen wrote there."""
    present = _scan(folder)[0]
    if not present:
        return
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise OutputError(f"{folder} is not empty and was not made by sitegen (no {MANIFEST}); "
                          "sitegen replaces its output folder whole, so choose an empty or new "
                          "folder with -o, or empty this one yourself")
    try:
        listed = set(json.loads(manifest.read_text(encoding="utf-8"))["files"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise OutputError(f"{manifest} is damaged, so sitegen cannot tell its own files from "
                          "yours; move anything you need out of the folder and delete it") from None
    foreign = sorted(present - listed - {MANIFEST})
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5
                                          else "")
        raise OutputError(f"{folder} holds files sitegen did not write ({shown}); they would be "
                          "lost when the new site replaces the folder. Move them to the site's "
                          "static/ folder (to publish them) or elsewhere, then build again")


def spare_of(output: Path) -> Path:
    """Where the replaced site is kept for the next transaction to start from."""
    return output.parent / f".{output.name}.sitegen-spare"


def scratch_prefix(output: Path) -> str:
    """The name of a folder beside the output for work on its way in (a new search index)
    begins so; the next transaction removes one a killed run left behind."""
    return f".{output.name}.sitegen-scratch-"


@contextmanager
def scratch(output: Path) -> Iterator[Path]:
    """A folder of this run's own beside the output (the search index is built there), gone
    when the block ends, or with the next transaction should this run be killed."""
    with tempfile.TemporaryDirectory(prefix=f"{scratch_prefix(output)}{os.getpid()}-",
                                     dir=output.parent) as folder:
        yield Path(folder)


@contextmanager
def replacing(output: Path, keep_spare: bool = False) -> Iterator[Staging]:
    """Yield a staging folder to write the whole new site into; on normal exit it replaces
    `output` (the commit), on error it is discarded and the output is as it was.

    With `keep_spare` the staging folder is the spare when there is one (`staging.reused`; the
    caller knows what it holds and writes only what differs), and the replaced site becomes
    the spare instead of being deleted. A first build, which replaces nothing, keeps no
    spare: a linked copy of the new site costs some 33,000 metadata calls at 10,000 articles
    (4 to 8 s of system time on a slow file system), and most first builds are a deploy's
    from a clean checkout, after which nothing runs. The next transaction that writes makes
    the copy it needs (`updating`), or a full build links what it reuses, and from then on
    each commit keeps the replaced site by a rename. A caller that commits inside the block
    (`Staging.commit`) keeps the lock for what it does after the commit, to the block's end. A failure leaves
    the spare half brought up to date, which is harmless: the caller trusts none of its files
    without checking them, and the journal no longer vouches for it."""
    _writing(output, lambda: output.parent.mkdir(parents=True, exist_ok=True))
    with _lock(output):
        _writing(output, _recover, output)
        spare, fresh = spare_of(output), _fresh(output)
        if keep_spare and _is_folder(spare) and output.is_dir():
            _writing(output, _distrust, output)
            staging = Staging(spare, reused=True)
        else:
            staging = Staging(fresh)
            _writing(output, fresh.mkdir)

        def commit() -> None:
            _writing(output, _write_manifest, staging)
            if output.is_dir():  # checked before the build too; files may have come since
                _check_owned(output)
            replaced = output.is_dir()
            differ = _differences(output, staging) if keep_spare and replaced else None
            _writing(output, _commit, output, staging.path, differ)
            # Committed: what follows only keeps the spare (a rename), and may fail without
            # harm. A first build replaced nothing, so it keeps no spare: see `replacing`.
            if keep_spare and replaced:
                staging.spared = _settle(output, staging.path)

        staging._commit = commit
        try:
            yield staging
            staging.commit()
        finally:
            shutil.rmtree(fresh, ignore_errors=True)  # after the commit: the previous site


@contextmanager
def updating(output: Path, wait: bool = False) -> Iterator[Staging]:
    """Yield a staging folder that is a copy of `output` (made when first used: the spare,
    brought up to date through the journal's list, or else a fresh folder of hard links), in
    which the caller replaces, adds and removes some files (a quick build: a few pages, the
    search index's changed files and the manifest; serve: whatever a rebuild changed). On
    normal exit it replaces the output whole (the commit), and the replaced site becomes the
    spare; on error the output is as it was. Nothing is committed when nothing was written.

    The caller vouches that the output holds only sitegen's files (quick.py checks each file
    against its record; serve's folder is its own). `wait`: wait for another transaction on
    the output (serve's threads) instead of refusing."""
    with _lock(output, wait):
        trusted = _writing_value(output, _recover, output)
        spare, fresh = spare_of(output), _fresh(output)

        def start() -> Path:
            if trusted is not None:  # the spare differs from the output only there
                _distrust(output)
                _refill(output, spare, trusted)  # not `whole`: nothing is set aside
                return spare
            fresh.mkdir()
            if output.is_dir():
                _link_copy(output, fresh)
            return fresh

        staging = Staging(None, opener=lambda: _writing_value(output, start))
        try:
            yield staging
            if staging.opened:
                replaced = output.is_dir()
                changed = sorted(staging.changed)
                _writing(output, _commit, output, staging.path, changed if replaced else None)
                staging.spared = replaced and _settle(output, staging.path)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)


def ready_spare(output: Path, whole: bool = False) -> bool:
    """Bring the spare up to date with the output now, ahead of the next transaction, which
    then writes only its own changes. A commit that replaced a folder differing in every
    file (serve's cold start, whose empty folder became the spare) leaves the next
    transaction to link the whole site first: serve calls this while nothing waits for it.
    Waits for the lock. Best effort, like the spare itself: False when no journal vouches
    for a spare to bring up (the next transaction then starts from a fresh copy). `whole`:
    the commit rewrote every file (serve's cold start), so the spare is made anew, one linked
    copy of the output, in a third of the time of a link per name (as for an empty spare)."""
    set_aside = None
    try:
        with _lock(output, wait=True):
            differ = _recover(output)
            if differ is None:
                return False
            if differ:
                spare = spare_of(output)
                at = committed_at(output)  # the output's, which this leaves as it is
                _distrust(output)  # while it changes, nothing vouches for the spare
                set_aside = _refill(output, spare, differ, whole)
                _write_journal(output, {"new": _identity(output), "old": _identity(spare),
                                        "differ": [], "at": at})
    except OSError:
        return False
    finally:
        if set_aside is not None:  # the lock is free: a transaction may run meanwhile
            shutil.rmtree(set_aside, ignore_errors=True)
    return True


Identity = list[int]  # a folder's device and inode: it keeps them when renamed


def _identity(folder: Path) -> Identity:
    stat = os.stat(folder)
    return [stat.st_dev, stat.st_ino]


def _is_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _fresh(output: Path) -> Path:
    return output.parent / f".{output.name}.sitegen-new-{os.getpid()}"


def _journal(output: Path) -> Path:
    return output.parent / f".{output.name}.sitegen-journal"


def _write_journal(output: Path, entry: dict[str, Any]) -> None:
    journal = _journal(output)
    temporary = journal.with_name(journal.name + ".tmp")
    temporary.write_text(json.dumps(entry), encoding="utf-8")
    os.replace(temporary, journal)


def _read_journal(output: Path) -> dict[str, Any] | None:
    try:
        entry = json.loads(_journal(output).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return entry if isinstance(entry, dict) else None


def committed_at(output: Path) -> int | None:
    """When the output's present folder was committed, on the clock its file system stamps
    files with (a network file system's server's, say): the journal's status-change time (it
    is written after sitegen's last change to the folder, just before the commit), or the one
    it keeps once `ready_spare` has written it anew. Whatever changes a folder's entries after
    the commit sets the folder's ctime to this or later (short of setting the clock back), so
    quick.py reads only such folders to prove nothing was added. None when no journal
    vouches for the output."""
    try:
        stamped = os.stat(_journal(output)).st_ctime_ns
        entry = _read_journal(output)
        if entry is None or entry.get("new") != _identity(output):
            return None
    except OSError:
        return None
    at = entry.get("at")
    return at if isinstance(at, int) else stamped


def _distrust(output: Path) -> None:
    """The spare is about to change: no journal vouches for it until the next commit."""
    _journal(output).unlink(missing_ok=True)


def _commit(output: Path, new: Path, differ: list[str] | None) -> None:
    """The journal, then the commit point: `new` takes the output's place whole. The
    journal's status-change time is the commit's (`committed_at`)."""
    old = _identity(output) if output.is_dir() else None
    _write_journal(output, {"new": _identity(new), "old": old, "differ": differ})
    try:
        _swap(new, output)
    except OSError:  # not committed (a mount point cannot be renamed): the journal is moot
        _distrust(output)
        raise


def _settle(output: Path, old: Path) -> bool:
    """After the commit: keep the replaced site (now at `old`) as the spare. Best effort: on
    failure there is no trusted spare, and the next transaction starts from a fresh copy.
    True when the spare is kept."""
    spare = spare_of(output)
    try:
        if old == spare:
            return True
        if _is_folder(spare):
            shutil.rmtree(spare)
        elif spare.exists() or spare.is_symlink():
            spare.unlink()
        os.rename(old, spare)
        return True
    except OSError:
        return False


def _recover(output: Path) -> list[str] | None:
    """Finish or undo what a killed transaction left (see the module's docstring), remove
    what killed runs left beside the output, and return the files in which the spare differs
    from the output when the journal vouches for it (else None)."""
    journal = _read_journal(output)
    old = journal.get("old") if journal else None
    if not output.exists():  # killed between the two renames of the fallback swap: roll back
        for folder in output.parent.glob(f".{output.name}.sitegen-old-*"):
            if (old is not None and _identity(folder) == old) or (folder / MANIFEST).is_file():
                os.rename(folder, output)
                break
    _remove_stale(output)
    spare = spare_of(output)
    if journal is None or not output.is_dir() or not _is_folder(spare):
        return None
    differ = journal.get("differ")
    if journal.get("new") != _identity(output) or old != _identity(spare) or \
            not isinstance(differ, list) or not all(isinstance(p, str) for p in differ):
        return None  # not committed (roll back), or no spare to vouch for
    return differ


def _remove_stale(output: Path) -> None:
    """Folders and files of ours that other runs (killed ones: the lock is ours) left."""
    own = str(os.getpid())
    for suffix in ("new-", "old-", "scratch-"):
        prefix = f".{output.name}.sitegen-{suffix}"
        for stale in output.parent.glob(prefix + "*"):
            if stale.name[len(prefix):].split("-")[0] == own:
                continue  # this process's own (serve: the search index on its way in)
            if _is_folder(stale):
                shutil.rmtree(stale, ignore_errors=True)
            elif stale.is_file() or stale.is_symlink():
                stale.unlink(missing_ok=True)
    # The journal's temporary file, and the update folder of sitegen before version 0.x.
    _journal(output).with_name(_journal(output).name + ".tmp").unlink(missing_ok=True)
    shutil.rmtree(output.parent / f".{output.name}.sitegen-update", ignore_errors=True)


def _differences(output: Path, staging: Staging) -> list[str] | None:
    """The files in which the new site (in `staging`) and the output differ: present in one
    only, or not the very same file (a hard link). None when the output's manifest cannot
    say what it holds."""
    before = manifest_files(output)
    if before is None:
        return None
    differ = []
    for rel in {*before, *staging.files, MANIFEST}:
        try:
            old, new = _inside(output, rel), _inside(staging.path, rel)
        except OutputError:
            return None
        try:
            a = os.lstat(old)
            b = os.lstat(new)
        except OSError:
            differ.append(rel)
            continue
        if a.st_ino != b.st_ino or a.st_dev != b.st_dev:
            differ.append(rel)
    return sorted(differ)


def _refill(output: Path, spare: Path, differ: Iterable[str], whole: bool = False
            ) -> Path | None:
    """Make the spare equal to the output, given the files in which they differ. An empty
    spare (serve's cold start replaced an empty folder), or one differing in every file
    (`whole`), is filled by one linked copy of the output: a third of the system calls of
    bringing it up name by name. A whole spare's old folder is set aside, not removed
    (removing a 10,000-article site took 14 s beside a preview's work, with the lock
    held): returned for the caller to remove once nothing waits for it; a kill leaves it
    to the next transaction, as any scratch folder."""
    with os.scandir(spare) as entries:
        empty = next(entries, None) is None
    if not (whole or empty):
        _bring_up(output, spare, differ)
        return None
    old = None
    if not empty:
        old = output.parent / f"{scratch_prefix(output)}{os.getpid()}-spare-{time.time_ns()}"
        os.rename(spare, old)
        spare.mkdir()
    _link_copy(output, spare)
    return old


def _bring_up(output: Path, spare: Path, differ: Iterable[str]) -> None:
    """Make the spare equal to the output, given the files in which they differ: removals
    first (a file may have become a folder), then links to the output's files."""
    present = []
    for rel in differ:
        source = _inside(output, rel)
        if source.is_file() and not source.is_symlink():
            present.append(rel)
        else:
            target = _inside(spare, rel)
            if _is_folder(target):
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
            _prune_parents(target.parent, spare)
    for rel in present:
        target = _inside(spare, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if _is_folder(target):
            shutil.rmtree(target)
        temporary = target.with_name(f".{target.name}.sitegen-tmp")
        temporary.unlink(missing_ok=True)
        _link(_inside(output, rel), temporary)
        os.replace(temporary, target)
        temporary.unlink(missing_ok=True)  # both were links to one file: rename did nothing


_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


# Threads that share a linked copy's folders. Each link and folder made is a system call that
# lets go of the GIL, so two threads overlap them: on this machine's file system the copy of
# a 10,000-article site took 30 to 45 % less wall time with two while the disk was slow (after
# sites were deleted), and about as long, up to a fifth longer, while it was quick; the
# builds' medians favoured two (benchmarks/README.md, ninth session).
COPY_THREADS = 2


def _link_copy(source: Path, target: Path) -> None:
    """Fill the empty folder `target` with hard links to every file under `source`, its
    folders shared out to COPY_THREADS threads as they are found. Each name is looked up in
    its open folder rather than walked to from the root, and no Path is made per file: at
    10,000 articles (16,000 files in as many folders) that took a quarter of the copy's
    time. The first error stops every thread and is raised."""
    pending = [(os.fspath(source), os.fspath(target))]
    turn = threading.Condition()
    busy = 0  # threads linking a folder, which may add its subfolders to `pending`
    failed: list[BaseException] = []

    def work() -> None:
        nonlocal busy
        try:
            while True:
                with turn:
                    while not pending and busy and not failed:
                        turn.wait()
                    if failed or not pending:  # done: nothing left, and no one adding more
                        return
                    folders = pending.pop()
                    busy += 1
                found: list[tuple[str, str]] = []
                try:
                    found = _link_folder(*folders)
                finally:
                    with turn:
                        pending.extend(found)
                        busy -= 1
                        turn.notify_all()
        except BaseException as exc:  # noqa: BLE001 (an interrupt too: raised by the caller)
            failed.append(exc)
            with turn:
                turn.notify_all()

    helpers = [threading.Thread(target=work, name="sitegen-copy", daemon=True)
               for _ in range(COPY_THREADS - 1)]
    for helper in helpers:
        helper.start()
    try:
        work()
    finally:
        for helper in helpers:
            helper.join()
    if failed:
        raise failed[0]


def _link_folder(source_folder: str, target_folder: str) -> list[tuple[str, str]]:
    """Link one folder's files into its copy and make its subfolders there; returns the
    subfolders, whose contents are still to link."""
    subfolders = []
    source_fd = os.open(source_folder, _FOLDER)
    try:
        target_fd = os.open(target_folder, _FOLDER)
        try:
            with os.scandir(source_fd) as entries:
                for entry in entries:
                    name = entry.name
                    if entry.is_dir(follow_symlinks=False):
                        os.mkdir(name, dir_fd=target_fd)
                        subfolders.append((f"{source_folder}/{name}", f"{target_folder}/{name}"))
                        continue
                    try:
                        os.link(name, name, src_dir_fd=source_fd, dst_dir_fd=target_fd,
                                follow_symlinks=False)
                    except OSError:  # a file system without hard links
                        shutil.copy2(f"{source_folder}/{name}", f"{target_folder}/{name}")
        finally:
            os.close(target_fd)
    finally:
        os.close(source_fd)
    return subfolders


def _writing(output: Path, step: Callable[..., object], *args: Any) -> None:
    """Run one step of replacing the output; a failure becomes a clear OutputError."""
    _writing_value(output, step, *args)


def _writing_value(output: Path, step: Callable[..., Any], *args: Any) -> Any:
    try:
        return step(*args)
    except OSError as exc:
        raise OutputError(write_failure(exc, output)) from exc


def _write_manifest(staging: Staging) -> None:
    manifest = staging.path / MANIFEST
    manifest.unlink(missing_ok=True)  # the spare's may be linked elsewhere: replace, never edit
    manifest.write_bytes(manifest_data(staging.files))


def manifest_data(files: Iterable[str]) -> bytes:
    """The manifest listing `files`: what sitegen wrote into an output folder, and so may
    replace or delete."""
    data = {"generator": "sitegen", "files": sorted(files)}
    return (json.dumps(data, indent=0) + "\n").encode("utf-8")


def manifest_files(output: Path) -> list[str] | None:
    """The files the output's manifest lists, or None when it has none that reads."""
    try:
        files = json.loads((output / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    return files if isinstance(files, list) and all(isinstance(f, str) for f in files) \
        else None


def _swap(new: Path, output: Path) -> None:
    """Put `new` in place of `output` in one step; afterwards `new` holds the old site."""
    if not output.exists():
        os.rename(new, output)
        return
    if _exchange(new, output):
        return  # `new` now holds the previous site, all of it sitegen's (checked before)
    old = output.parent / f".{output.name}.sitegen-old-{os.getpid()}"
    os.rename(output, old)
    os.rename(new, output)
    os.rename(old, new)


_libc = ctypes.CDLL(None, use_errno=True)
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with Linux renameat2; False where it is not supported."""
    renameat2 = getattr(_libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextmanager
def _lock(output: Path, wait: bool = False) -> Iterator[None]:
    """Hold the output's lock file for the block; it exists only while held. A run that
    opened the file just as its holder removed it locks a dead file: it checks, and tries
    again on the new one."""
    path = output.parent / f".{output.name}.sitegen-lock"
    while True:
        try:
            handle = open(path, "a")  # noqa: SIM115 (closed below; "a": never truncates)
        except OSError as exc:
            raise OutputError(write_failure(exc, output)) from exc
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.close()
            raise OutputError(f"another sitegen build is writing {output}; wait for it to "
                              "finish and try again") from None
        try:
            held = os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            held = False
        if held:
            break
        handle.close()
    try:
        yield
    finally:
        path.unlink(missing_ok=True)  # while still holding it: see above
        handle.close()


class _SourceFailed(Exception):
    """A copy's source could not be read: carried past `_put`, which names write failures."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error
