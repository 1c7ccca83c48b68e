"""The cache folder's files, read and written safely: only plain files that sitegen wrote are
read (never through a symbolic link, never a pipe that would block), and whatever else sits in
a cache file's place is removed, not followed. The build cache, the quick path's snapshot and
the theme's compiled templates all keep their files this way."""

from __future__ import annotations

import os
import shutil
import stat as stat_module
from pathlib import Path
from typing import BinaryIO

from sitegen.folders import CACHE_DIR


def cache_folder(site_dir: Path) -> Path:
    """The cache folder, made if missing. Anything else by its name (a file, a broken
    symbolic link) is no cache: it is removed (a link, never what it points to). A link to a
    folder is kept: the cache may be put elsewhere on purpose."""
    folder = site_dir / CACHE_DIR
    if not folder.is_dir():
        discard(folder)
        folder.mkdir()
    ignore = folder / ".gitignore"
    if not is_file(ignore) or ignore.read_bytes() != b"*\n":
        discard(ignore)
        with create(ignore) as handle:
            handle.write(b"*\n")
    return folder


def discard(path: Path) -> None:
    """Remove whatever is at `path` in the cache: a file, a symbolic link (not what it points
    to), a folder with all it holds. Nothing there is fine."""
    try:
        if stat_module.S_ISDIR(os.lstat(path).st_mode):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except (FileNotFoundError, NotADirectoryError):
        pass


def create(path: Path) -> BinaryIO:
    """A new file at `path` to write, whatever was there (never written through a link)."""
    discard(path)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666),
                     "wb")


def append_to(path: Path) -> BinaryIO:
    """The file at `path` to append to, made anew if it is missing or not a plain file."""
    if not is_file(path):
        return create(path)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW), "ab")


def is_file(path: Path) -> bool:
    """A plain file, not a link to one."""
    try:
        return stat_module.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


class Damaged(Exception):
    """A cache file that is not one sitegen wrote: why, for the warning."""


def read_file(path: Path) -> bytes | None:
    """A cache file's bytes; None when there is none. Raises Damaged when something else is
    in its place or it cannot be read (see `open_file`)."""
    try:
        handle = open_file(path)
    except FileNotFoundError:
        return None
    with handle:
        try:
            return handle.read()
        except OSError as exc:
            raise Damaged(f"cannot read {_name(path)}: {exc.strerror}") from None


def open_file(path: Path) -> BinaryIO:
    """A cache file opened to read. Raises FileNotFoundError when there is none, Damaged when
    something else is in its place (a folder, a symbolic link, a pipe, which would block the
    build) or it cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except NotADirectoryError:
        raise Damaged(f"{path.parent.name} is not a folder") from None
    except OSError as exc:
        if os.path.islink(path):
            raise Damaged(f"{_name(path)} is a symbolic link, not a file sitegen wrote") from None
        raise Damaged(f"cannot read {_name(path)}: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat_module.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat_module.S_ISDIR(mode) else "a pipe or device"
        raise Damaged(f"{_name(path)} is {kind}, not a file sitegen wrote")
    return os.fdopen(fd, "rb")


def _name(path: Path) -> str:
    return f"{CACHE_DIR}/{path.name}" if path.parent.name == CACHE_DIR else str(path)


def replace_file(temporary: Path, path: Path) -> None:
    """Move a finished `temporary` into place, whatever is at `path` (a folder too)."""
    try:
        if stat_module.S_ISDIR(os.lstat(path).st_mode):
            discard(path)
    except FileNotFoundError:
        pass
    os.replace(temporary, path)
