"""The site's source folders (content/, data/, static/, the theme's), listed the one safe way.

A build that quietly skips a folder it cannot read, or a `content/` that is missing, publishes
a site without those articles: deployed, that takes pages down. So every file or folder that
cannot be read is a `Problem` naming it, never a silent gap. Symbolic links are followed only
when they lead to somewhere inside the site folder (a link could otherwise publish any file
of the machine); a link leading outside, nowhere, or round in a loop is a problem too.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.config import CONFIG_NAME
from sitegen.errors import Problem, SiteError
from sitegen.folders import CONTENT_DIR

OUTPUT_DIR = "output"  # where a build writes by default


@dataclass
class Listing:
    """The files found under a folder, and what could not be listed."""

    files: list[tuple[tuple[str, ...], str]] = field(default_factory=list)  # (parts, path)
    problems: list[Problem] = field(default_factory=list)

    def paths(self) -> list[str]:
        """The files' paths, in the order of their parts (as pathlib orders paths)."""
        return [path for _, path in sorted(self.files)]


def require_site(site_dir: Path) -> None:
    """Raise SiteError unless `site_dir` holds a site: a readable `sitegen.toml` and a
    `content/` folder (which may be empty, for a site with no article yet)."""
    if not site_dir.is_dir():
        raise SiteError(str(site_dir), "site folder not found; give the folder that holds "
                        f"{CONFIG_NAME} with -s DIR")
    config, content = site_dir / CONFIG_NAME, site_dir / CONTENT_DIR
    if not os.path.lexists(config) and not os.path.lexists(content):
        raise SiteError(str(site_dir), f"no site here: no {CONFIG_NAME} and no {CONTENT_DIR}/ "
                        "folder; run `sitegen init DIR` to make a site, or give the site's "
                        "folder with -s DIR")
    if not os.path.lexists(config):
        raise SiteError(CONFIG_NAME, f"not found in {site_dir}: a site needs its settings "
                        "(title, base_url, time zone) to build; restore the file (from your "
                        "version control or backup), or copy one from a site made with "
                        "`sitegen init`")
    if not os.path.exists(config):
        raise SiteError(CONFIG_NAME, f"is a symbolic link to {_shown_link(str(config))}, which "
                        "does not exist; restore what it points to, or replace the link by "
                        "the file")
    try:
        with open(config, "rb"):
            pass
    except OSError as exc:
        raise SiteError(CONFIG_NAME, f"cannot be read: {why(exc)}") from None


def list_folder(folder: Path, site_dir: Path, skip: tuple[str, ...] = (".",),
                required: bool = False, inside: Path | None = None) -> Listing:
    """Every file under `folder` (names starting with one of `skip` left out, with what is
    under them), with its parts relative to `folder`. Links are followed only into `inside`
    (default: the site folder). Missing `folder` is a problem only when `required`.

    Problems name paths relative to the site folder. Folders are listed with os.scandir,
    whose entries know without a system call whether they are folders or links."""
    listing = Listing()
    boundary = os.path.realpath(inside or site_dir)
    root = os.path.realpath(folder)
    if not os.path.lexists(folder):
        if required:
            listing.problems.append(Problem(_rel(folder, site_dir), _missing(folder)))
        return listing
    if folder.is_symlink():
        target = _link_target(str(folder), site_dir, boundary, listing)
        if target is None:
            return listing
    if not os.path.isdir(folder):
        listing.problems.append(Problem(_rel(folder, site_dir), "is a file, not a folder; "
                                        f"rename it and make a folder {folder.name}/ in its place"))
        return listing
    seen = {root}  # real folders read, so a link cannot read one twice or loop
    pending: list[tuple[str, tuple[str, ...]]] = [(str(folder), ())]
    while pending:
        path, parts = pending.pop()
        try:
            with os.scandir(path) as entries:
                found = list(entries)
        except OSError as exc:
            listing.problems.append(Problem(_rel(Path(path), site_dir),
                                            f"folder cannot be read: {why(exc)}"))
            continue
        for entry in found:
            if entry.name.startswith(skip):
                continue
            try:
                if entry.is_symlink():
                    target = _link_target(entry.path, site_dir, boundary, listing)
                    if target is None:
                        continue
                    if os.path.isdir(target):
                        if (target in seen or target == root or target.startswith(root + os.sep)
                                or root.startswith(target + os.sep)):
                            listing.problems.append(Problem(
                                _rel(Path(entry.path), site_dir),
                                f"is a link to the folder {_rel(Path(target), site_dir)}, which "
                                "is read already (or holds this link): its files would be read "
                                "twice or forever; remove the link"))
                            continue
                        seen.add(target)
                        pending.append((entry.path, (*parts, entry.name)))
                        continue
                    listing.files.append(((*parts, entry.name), entry.path))
                elif entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, (*parts, entry.name)))
                elif entry.is_file(follow_symlinks=False):
                    listing.files.append(((*parts, entry.name), entry.path))
            except OSError as exc:  # vanished while listed, or a file system error
                listing.problems.append(Problem(_rel(Path(entry.path), site_dir),
                                                f"cannot be read: {why(exc)}"))
    return listing


def readable(path: str, mode: int) -> bool:
    """Can this process read the file whose `os.stat` gave `mode`? A file readable by all
    (nearly every one) needs no system call to tell; chmod changes no modification time, so
    the quick paths, which compare stamps, ask this too."""
    return mode & 0o444 == 0o444 or os.access(path, os.R_OK)


def content_stamp(path: Path) -> bytes:
    """What stands for a file's content in fingerprints without reading it: size,
    modification time and inode. Writing a file changes its modification time, and replacing
    it (a copy, a rename, an rsync that keeps times) gives it a new inode, so a changed file
    changes its stamp; the output records (`cache.matches`) trust the same. Hashing every
    static file instead read hundreds of MB of photos on each warm build. The file is
    opened (not read), so one that cannot be read fails here, as reading it did."""
    handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        stat = os.fstat(handle)
    finally:
        os.close(handle)
    return b"%d:%d:%d;" % (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def unopenable(paths: list[tuple[str, Path]]) -> list[Problem]:
    """A problem for each file (relative name, path) that cannot be opened for reading now;
    nothing is read (for `sitegen check`, which copies no file)."""
    problems = []
    for rel, path in paths:
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            problems.append(Problem(rel, f"cannot be read: {why(exc)}"))
    return problems


def _link_target(path: str, site_dir: Path, boundary: str, listing: Listing) -> str | None:
    """Where the link at `path` leads, if that is a file or folder inside `boundary`; else a
    problem is added and None returned."""
    rel = _rel(Path(path), site_dir)
    try:
        target = os.path.realpath(path, strict=True)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            message = ("is a symbolic link that leads round in a loop (links pointing at each "
                       "other); remove it, or point it at a real file")
        elif isinstance(exc, FileNotFoundError):
            message = (f"is a symbolic link to {_shown_link(path)}, which does not exist; "
                       "remove the link, or restore what it points to")
        else:
            message = f"is a symbolic link that cannot be followed: {why(exc)}"
        listing.problems.append(Problem(rel, message))
        return None
    if target != boundary and not target.startswith(boundary + os.sep):
        listing.problems.append(Problem(rel, f"is a symbolic link to {target}, outside the site "
                                        "folder; sitegen follows links only inside the site "
                                        "(so no link can publish a file from elsewhere): copy "
                                        "the file into the site instead"))
        return None
    inner = target[len(boundary) + 1:].split(os.sep)
    if inner[0] == OUTPUT_DIR or any(part.startswith(".") for part in inner):
        # The built site (copied into itself again at every build), the cache, .git: never
        # sources, and never to be published.
        listing.problems.append(Problem(rel, f"is a symbolic link to {_rel(Path(target), site_dir)}"
                                        ", which is sitegen's output or a hidden file, not a "
                                        "source of the site; remove the link"))
        return None
    return target


def _shown_link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "a missing file"


def _missing(folder: Path) -> str:
    if folder.name == CONTENT_DIR:
        return ("folder not found: the articles are in a folder content/ beside sitegen.toml; "
                "restore it (or, for a site with no article yet, make an empty content/ folder)")
    return "folder not found"


def why(exc: OSError) -> str:
    """An OSError as a plain sentence, without `[Errno N]`."""
    reasons = {
        errno.EACCES: "permission denied; give yourself read access (chmod u+r, and u+x for "
                      "a folder) and build again",
        errno.EPERM: "permission denied; give yourself read access (chmod u+r, and u+x for "
                     "a folder) and build again",
        errno.ENOENT: "it vanished while sitegen was reading it (deleted or renamed, perhaps "
                      "by an editor saving); build again",
        errno.ELOOP: "symbolic links lead round in a loop; remove one",
        errno.ENOTDIR: "a part of its path is a file, not a folder",
        errno.EISDIR: "it is a folder, not a file",
        errno.EIO: "the disk reported an input/output error",
    }
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))


def _rel(path: Path, site_dir: Path) -> str:
    """`path` relative to the site folder where it is inside it, with '/'."""
    try:
        return path.relative_to(site_dir).as_posix()
    except ValueError:
        return str(path)
