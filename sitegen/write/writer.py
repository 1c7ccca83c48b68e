"""Writing the output folder safely: build a fresh folder beside it, then swap it in at once.

Promises kept here, and nowhere else:
- a folder that holds anything sitegen did not write is never deleted or replaced; sitegen
  knows its own output by a manifest file listing every file it wrote;
- the output can never be the site itself, a source folder, an ancestor of the site, the home
  folder or the file system root, nor reached through a symbolic link;
- a failed build leaves the previous output byte for byte as it was: the new site is written
  into a staging folder and exchanged with the old one in one atomic rename;
- the site before last is kept as a spare (`.<output>.sitegen-spare`, beside the output) and
  becomes the next staging folder: only the files that differ from it are written, and
  nothing is deleted wholesale, so a build that changed little costs little;
- two builds of one output at once are refused with a clear message (a lock file);
- a write that fails (a full disk, a read-only or unwritable folder) is an OutputError that
  says what happened and what to do, and leaves the previous output as it was.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sitegen.errors import OutputError
from sitegen.folders import MANIFEST, SOURCE_FOLDERS


class Staging:
    """The folder the new site is written into before it replaces the output: a fresh one, or
    the spare (`reused`), which holds the site before last and is brought up to date."""

    def __init__(self, path: Path, reused: bool = False) -> None:
        self.path = path
        self.reused = reused
        self.spared = False  # after the swap: the replaced site was kept as the spare
        self.files: list[str] = []  # every file of the new site, for the manifest
        self._made: set[Path] = set()

    def write(self, rel: str, data: bytes) -> None:
        target = self._target(rel)
        try:
            target.write_bytes(data)
        except OSError as exc:
            raise OutputError(write_failure(exc, target)) from exc

    def copy(self, rel: str, source: Path) -> None:
        """Copy `source` to `rel`. An OSError naming `source` (it cannot be read, or vanished
        since it was listed) is raised as it is, for the caller to name the site's file."""
        target = self._target(rel)
        try:
            shutil.copyfile(source, target)
        except OSError as exc:
            if exc.filename is not None and os.fspath(exc.filename) == os.fspath(source):
                raise
            raise OutputError(write_failure(exc, target)) from exc

    def link(self, rel: str, existing: Path) -> None:
        """Reuse a file of the previous site as it is (a hard link: not rewritten)."""
        target = self._target(rel)
        try:
            os.link(existing, target)
        except OSError:  # a file system without hard links
            shutil.copy2(existing, target)

    def prune(self, wanted: set[str]) -> None:
        """Delete the spare's files that are not in `wanted` (the new site's), and folders
        left empty. Everything in the spare is sitegen's: it was a checked output."""
        if not self.reused:
            return
        files, folders = _scan(self.path)
        for rel in files - wanted:
            (self.path / rel).unlink()
        for folder in sorted(folders, key=lambda f: -len(f.parts)):
            if not any(folder.iterdir()):
                folder.rmdir()

    def _target(self, rel: str) -> Path:
        target = _inside(self.path, rel)
        if target.parent not in self._made:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(write_failure(exc, target)) from exc
            self._made.add(target.parent)
        if self.reused:
            # The spare's file may be a hard link to a file of the live output: never write
            # into it, replace it.
            try:
                target.unlink(missing_ok=True)
            except OSError as exc:
                raise OutputError(write_failure(exc, target)) from exc
        return target


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
    """Where the site before last is kept for the next build to start from."""
    return output.parent / f".{output.name}.sitegen-spare"


@contextmanager
def replacing(output: Path, keep_spare: bool = False) -> Iterator[Staging]:
    """Yield a staging folder; on normal exit it replaces `output`, on error it is discarded.

    With `keep_spare` the staging folder is the spare when there is one (`staging.reused`; the
    caller knows what it holds and writes only what differs), and the replaced site becomes
    the spare instead of being deleted. A failure leaves the spare half brought up to date,
    which is harmless: the caller trusts none of its files without checking them."""
    _writing(output, lambda: output.parent.mkdir(parents=True, exist_ok=True))
    with _lock(output):
        _remove_stale_staging(output)
        _finish_update(output)
        spare = spare_of(output)
        if keep_spare and spare.is_dir() and not spare.is_symlink() and output.is_dir():
            staging = Staging(spare, reused=True)
        else:
            staging = Staging(output.parent / f".{output.name}.sitegen-new-{os.getpid()}")
            _writing(output, staging.path.mkdir)
        try:
            yield staging
            _writing(output, _write_manifest, staging)
            if output.is_dir():  # checked before the build too; files may have come since
                _check_owned(output)
            replaced = output.is_dir()
            _writing(output, _swap, staging.path, output)
            if keep_spare and replaced and not staging.reused:
                _writing(output, _keep_as_spare, staging.path, spare)
            staging.spared = keep_spare and replaced
        finally:
            # After the swap this is the previous site; a folder that cannot be removed now
            # carries our name pattern and goes with the next build.
            if not staging.reused:
                shutil.rmtree(staging.path, ignore_errors=True)


Update = Callable[[Mapping[str, bytes], Sequence[str]], None]


@contextmanager
def updating(output: Path) -> Iterator[Update]:
    """Hold the output's lock (as `replacing` does) and yield a function that replaces some of
    the files sitegen wrote there where they are, adds new ones and removes some (a quick
    build: a few pages, and the search index's files that changed). The rest of the output
    stays as it is; the manifest is one of the files the caller replaces when the list of
    files changes.

    The new files are written whole beside the output first, then a journal naming them and
    the files to remove, then each is renamed over its old file and the others removed, so a
    reader sees each file old or new, never half. A kill before the journal leaves the output
    as it was; one after it leaves some files new, and the next build, before anything else,
    completes the journal."""
    with _lock(output):
        _remove_stale_staging(output)
        _writing(output, _finish_update, output)
        yield lambda files, removed=(): _writing(output, _update, output, files, removed)


def _update(output: Path, files: Mapping[str, bytes], removed: Sequence[str] = ()) -> None:
    waiting = output.parent / f".{output.name}.sitegen-update"
    if waiting.is_dir():
        shutil.rmtree(waiting)
    waiting.mkdir()
    moves = []
    for number, (rel, data) in enumerate(sorted(files.items())):
        target = _inside(output, rel)
        target.parent.mkdir(parents=True, exist_ok=True)  # a new file may be in a new folder
        if not os.access(target.parent, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(target.parent))
        (waiting / str(number)).write_bytes(data)
        moves.append((str(number), rel))
    for rel in removed:
        _inside(output, rel)  # checked now, not when the journal is carried out
    journal = _journal(output)
    temporary = journal.with_name(journal.name + ".tmp")
    temporary.write_text(json.dumps({"moves": moves, "removes": sorted(removed)}),
                         encoding="utf-8")
    os.replace(temporary, journal)  # from here on the update is done, by this build or the next
    _finish_update(output)


def _journal(output: Path) -> Path:
    return output.parent / f".{output.name}.sitegen-journal"


def _finish_update(output: Path) -> None:
    """Complete an update a kill interrupted after its journal, or drop one killed before."""
    waiting = output.parent / f".{output.name}.sitegen-update"
    journal = _journal(output)
    if journal.is_file() and output.is_dir():
        try:
            entries = json.loads(journal.read_text(encoding="utf-8"))
            moves, removes = entries["moves"], entries.get("removes", [])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError):
            moves, removes = [], []  # written by rename, so never half: not ours
        for name, rel in moves:
            source = waiting / str(name)
            if source.is_file():
                os.replace(source, _inside(output, str(rel)))
        for rel in removes:
            _inside(output, str(rel)).unlink(missing_ok=True)
    journal.unlink(missing_ok=True)
    journal.with_name(journal.name + ".tmp").unlink(missing_ok=True)
    if waiting.is_dir():
        shutil.rmtree(waiting)


def _keep_as_spare(previous: Path, spare: Path) -> None:
    """Keep the replaced site as the spare, in place of any older one (ours by its name)."""
    if spare.is_symlink() or spare.is_file():
        spare.unlink()
    elif spare.is_dir():
        shutil.rmtree(spare)
    os.rename(previous, spare)


def _writing(output: Path, step: Callable[..., None], *args: Any) -> None:
    """Run one step of replacing the output; a failure becomes a clear OutputError."""
    try:
        step(*args)
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
def _lock(output: Path) -> Iterator[None]:
    path = output.parent / f".{output.name}.sitegen-lock"
    try:
        handle = open(path, "a")  # noqa: SIM115 (closed below; "a": never truncates)
    except OSError as exc:
        raise OutputError(write_failure(exc, output)) from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(f"another sitegen build is writing {output}; wait for it to "
                              "finish and try again") from None
        yield


def scratch_prefix(output: Path) -> str:
    """The name of a folder beside the output for work on its way in (a quick build's new
    search index) begins so; the next build removes one a kill left behind."""
    return f".{output.name}.sitegen-scratch-"


def _remove_stale_staging(output: Path) -> None:
    """Clean up after a killed build: staging folders are ours (they carry our name pattern).

    Where a kill fell between the two renames of the fallback swap, the previous site is in
    an -old- folder and no output exists: put it back first.
    """
    if not output.exists():
        for old in output.parent.glob(f".{output.name}.sitegen-old-*"):
            if (old / MANIFEST).is_file():
                os.rename(old, output)
                break
    for pattern in (f".{output.name}.sitegen-new-*", f".{output.name}.sitegen-old-*",
                    scratch_prefix(output) + "*"):
        for stale in output.parent.glob(pattern):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
