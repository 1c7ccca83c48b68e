"""Memos of per-article work and of the last build's outputs, so a build redoes only what
changed: in memory for the dev server, on disk (`.sitegen-cache/`) between builds.

- A source is re-read only when its file changed: same size and modification time is a
  hit; otherwise the file's content hash decides (a checkout that only touches files costs
  nothing).
- A body is re-rendered only when its Markdown, its URL or the site's images changed (a body
  holds the sizes of the images it shows).
- An output file is reused (hard-linked into the new site, or left in place in the spare
  folder that becomes the new site) only when its job's fingerprint is the one recorded for
  it and the file is still exactly as sitegen wrote it.
Everything is keyed by the configuration too: another configuration starts empty.

On disk the cache is pickles, each behind a header with a format version and a SHA-256 of the
payload: the sources and bodies (large, and written only when they changed), the output's
records and the spare's (written by every full build); a damaged, truncated or foreign file is
detected, ignored and replaced, never trusted; so is anything sitegen did not write there (a
folder, a symbolic link or a pipe in a cache file's place, or a file in the folder's). A cache
that cannot be saved is a warning, never a failed build. The folder also holds the last build's snapshot
(snapshot.py, for the quick path) and compiled templates. It is safe to delete at any time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import io
import os
import pickle
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import BinaryIO, NamedTuple

from sitegen import __version__
from sitegen import config as config_module
from sitegen import model as model_module
from sitegen import report as report_module
from sitegen.cachefiles import (
    Damaged,
    cache_folder,
    create,
    is_file,
    read_file,
    replace_file,
)
from sitegen.config import Config
from sitegen.content import markdown as markdown_module
from sitegen.content.markdown import RenderedBody
from sitegen.errors import Problem
from sitegen.folders import CACHE_DIR
from sitegen.model import Source
from sitegen.render import plan as plan_module

CACHE_FILE = "build.pickle"  # configuration, sources and bodies
COMPILED_DIR = f"{CACHE_DIR}/templates"  # Jinja's compiled templates
OUTPUTS_FILE = "outputs.pickle"  # the records of the output folder's files
SPARE_FILE = "spare.pickle"  # the records of the spare folder's (apart: a quick build needs none)
MAGIC = b"sitegen-cache\n"


def schema(*modules: ModuleType) -> str:
    """A digest of the fields of every dataclass and named tuple in `modules`: the shapes of
    what the cache and the snapshot pickle. A new or renamed field changes it, so a cache
    written before such a change is not read (its objects would lack the field), without a
    number someone must remember to raise."""
    shapes = []
    for module in modules:
        for name, value in sorted(vars(module).items()):
            if not isinstance(value, type) or value.__module__ != module.__name__:
                continue
            if dataclasses.is_dataclass(value):
                fields = [(f.name, str(f.type)) for f in dataclasses.fields(value)]
            elif issubclass(value, tuple) and hasattr(value, "_fields"):
                fields = [(f, str(value.__annotations__.get(f))) for f in value._fields]
            else:
                continue
            shapes.append((module.__name__, name, fields))
    return hashlib.sha256(repr(shapes).encode()).hexdigest()[:16]


SAVE_CHUNK = 200  # sources (with their bodies) per pickle in the build file


class OutputRecord(NamedTuple):  # a tuple: tens of thousands load quickly
    """An output file as sitegen wrote it: what made it, and its stat then."""

    fingerprint: str
    size: int
    mtime_ns: int


def record_of(stat: os.stat_result, fingerprint: str) -> OutputRecord:
    """The record of an output file sitegen just wrote, from its stat."""
    return OutputRecord(fingerprint, stat.st_size, stat.st_mtime_ns)


def matches(record: OutputRecord, stat: os.stat_result) -> bool:
    """Whether a file is still as `record` says sitegen wrote it: the one check, for every
    path that reuses or trusts an output file. Size and modification time: an edit changes
    the modification time (unless set back on purpose), and a hard link keeps both."""
    return stat.st_size == record.size and stat.st_mtime_ns == record.mtime_ns


class SourceEntry(NamedTuple):
    """An article file as the cache last read it: what tells whether the file changed, and
    the Source read from it (the snapshot keeps the stamps and digests too)."""

    stamp: tuple[int, int]  # modification time (ns), size
    digest: str  # SHA-256 of the file's content
    source: Source


def stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class BuildCache:
    def __init__(self) -> None:
        self._config: Config | None = None
        self._sources: dict[Path, SourceEntry] = {}
        self._bodies: dict[tuple[str, str], RenderedBody] = {}
        self.outputs: dict[str, OutputRecord] = {}  # the last build's files, by output path
        self.output_dir: str | None = None  # where those files are
        self.spare: dict[str, OutputRecord] = {}  # the build before's files, now in the spare
        self._used_sources: set[Path] = set()
        self._used_bodies: set[tuple[str, str]] = set()
        self.problem: str | None = None  # why a cache file on disk was not used
        self._changed = True  # sources or bodies differ from the file on disk
        self._released = False  # the Markdown is forgotten (`release_markdown`): never save
        # What the pictures stage learnt of image files, by their stamps (in memory only: the
        # dev server's rebuilds then read only the photos that changed).
        self.image_memo: dict[object, object] = {}

    def use_config(self, config: Config) -> None:
        """Forget everything made under another configuration."""
        if config != self._config:
            self._config = config
            self._changed = True
            self._sources.clear()
            self._bodies.clear()
            self.outputs.clear()
            self.spare.clear()

    def cached_source(self, path: Path) -> Source | None:
        """The Source read from `path` before, if the file has not changed since."""
        self._used_sources.add(path)
        hit = self._sources.get(path)
        if hit is None:
            return None
        current = stamp(path)
        if hit.stamp == current:
            return hit.source
        if hit.digest == digest(path):  # touched, not changed
            self._sources[path] = hit._replace(stamp=current)
            self._changed = True
            return hit.source
        return None

    def store_source(self, path: Path, source: Source, read_at: tuple[int, int]) -> Source:
        """Keep `source`, read from `path` when the file had the stamp `read_at`. A file
        changed since (an editor saved while it was read) has another digest than what was
        read: it is kept under no digest at all, so the next build reads it again."""
        self._used_sources.add(path)
        now = stamp(path)
        if now == read_at:
            self._sources[path] = SourceEntry(now, digest(path), source)
        else:
            self._sources[path] = SourceEntry(read_at, "", source)
        self._changed = True
        return source

    def sources(self) -> dict[Path, SourceEntry]:
        """Each article file's stamp (modification time, size), content digest and Source."""
        return dict(self._sources)

    def cached_body(self, markdown: str, url: str) -> RenderedBody | None:
        self._used_bodies.add((markdown, url))
        return self._bodies.get((markdown, url))

    def store_body(self, markdown: str, url: str, body: RenderedBody) -> RenderedBody:
        self._used_bodies.add((markdown, url))
        self._bodies[(markdown, url)] = body
        self._changed = True
        return body

    def prune(self) -> None:
        """Drop what the last build did not use (deleted files, old versions of edited bodies),
        so a long preview session does not grow without bound. Call after each build."""
        sources = {p: v for p, v in self._sources.items() if p in self._used_sources}
        bodies = {k: v for k, v in self._bodies.items() if k in self._used_bodies}
        if len(sources) < len(self._sources) or len(bodies) < len(self._bodies):
            self._changed = True
        self._sources, self._bodies = sources, bodies
        self._used_sources.clear()
        self._used_bodies.clear()

    def record_outputs(self, folder: Path, fingerprints: dict[str, str],
                       spared: bool = False) -> None:
        """Remember the files just written to `folder` and what made them. `spared`: the
        site they replaced was kept as the spare, so its records (the last ones for this
        folder) now describe the spare."""
        records = {path: record_of(os.stat(folder / path), fingerprint)
                   for path, fingerprint in fingerprints.items()}
        same = self.output_dir == str(folder)
        self.spare = self.outputs if spared and same else {}
        self.outputs, self.output_dir = records, str(folder)

    # On disk.

    @classmethod
    def load(cls, site_dir: Path, name: str = CACHE_FILE) -> BuildCache:
        """The cache saved in `site_dir`, or an empty one (with `problem` set) if it is
        missing, from another version of sitegen, or damaged. `name`: another file of sources
        and bodies than the build's (the preview's, made under its own configuration), or an
        absolute path (`save_sources_to`); its cache has no output records (the preview keeps
        its own, serve/kept.py)."""
        cache = cls()
        folder = site_dir / CACHE_DIR
        pieces, cache.problem = read_pieces(folder / name)
        if pieces is None:
            return cache
        if name != CACHE_FILE:
            records, problem, spare, spare_problem = None, None, None, None
        else:
            records, problem = read_checked(folder / OUTPUTS_FILE)
            spare, spare_problem = read_checked(folder / SPARE_FILE)
        try:
            # A checksummed file of this format holds what this version wrote; the types are
            # checked all the same (cheaply): a pickle of anything else is not used.
            if not isinstance(pieces[0], Config):
                raise TypeError("not a configuration")
            cache._config = pieces[0]
            for chunk in pieces[1:]:
                for path, entry, bodies in chunk:  # type: ignore[attr-defined]
                    if path is not None:
                        if not (isinstance(path, Path) and isinstance(entry, SourceEntry)
                                and isinstance(entry.source, Source)):
                            raise TypeError("not a source")
                        cache._sources[path] = entry
                    if not all(isinstance(b, RenderedBody) for b in bodies.values()):
                        raise TypeError("not a body")
                    cache._bodies.update(bodies)
        except Exception:  # a checksummed file that still does not load: never trust it
            cache.__init__()  # type: ignore[misc]
            cache.problem = "the build cache could not be read; rebuilt it"
            return cache
        unread = "the build cache could not be read; rebuilt it"
        outputs = _records(records)
        if records is not None and outputs is None:
            problem = problem or unread
        elif outputs is not None:
            cache.outputs, cache.output_dir = outputs
            if isinstance(spare, dict) and _all_records(spare):
                cache.spare = dict(spare)
            elif spare is not None:
                spare_problem = spare_problem or unread
        cache.problem = problem or spare_problem
        cache._changed = False
        return cache

    # Each file is written atomically, so a killed build leaves each one old or new. Any mix
    # is safe: every entry is checked against what it stands for before it is used (a
    # source against its file's stamp, a record against the output file).

    def save_records(self, site_dir: Path) -> None:
        """Write the output and spare records (small). Raises OSError when they cannot be
        written: the build, whose site is in place by then, warns (`save_failure`)."""
        folder = cache_folder(site_dir)
        write_checked(folder / OUTPUTS_FILE, (self.outputs, self.output_dir))
        write_checked(folder / SPARE_FILE, self.spare)

    def save_sources(self, site_dir: Path, name: str = CACHE_FILE) -> None:
        """Write the sources and bodies (large) to `name`, when they changed. Raises OSError
        as `save_records` does."""
        self.save_sources_to(cache_folder(site_dir) / name)

    def save_sources_to(self, path: Path) -> None:
        """`save_sources` into a file of the caller's choosing (serve's cold start hands its
        sources and bodies over in its private folder; `load` reads them by that path)."""
        if not self._released and (self._changed or not is_file(path)):
            write_pieces(path, [self._config, *self._chunks()])
            self._changed = False

    def save_sources_aside(self, site_dir: Path, pid: int) -> bool:
        """`save_sources` for a build that has not committed yet (in a forked process): into
        `aside_file(site_dir, pid)`, which the build puts in place after its commit
        (`place_aside`) or removes, so a build that fails leaves the cache as it was (a
        killed one leaves a temporary of a dead process, which the next save removes).
        False when there is nothing to save."""
        if self._released or not (self._changed or not is_file(site_dir / CACHE_DIR /
                                                                CACHE_FILE)):
            return False
        cache_folder(site_dir)
        self.save_sources_to(aside_file(site_dir, pid))
        return True

    def release_markdown(self) -> None:
        """Forget every article's Markdown, once `save_sources` has written it (in this
        process or a forked one): a full build reads none after its bodies are rendered (the
        snapshot keeps sources without their bodies), and at 10,000 articles it is some
        28 MiB that each process forked to write would count again. Each Source's `body`
        becomes "" (they are this cache's own objects, shared only with the build that read
        them) and the bodies, keyed by Markdown, go; from then on this cache is never saved,
        since it no longer holds what it would claim to."""
        for entry in self._sources.values():
            object.__setattr__(entry.source, "body", "")
        self._bodies.clear()
        self._used_bodies.clear()
        self._released = True

    def _chunks(self) -> Iterator[list[tuple[Path | None, SourceEntry | None,
                                             dict[tuple[str, str], RenderedBody]]]]:
        """The sources, each with the bodies rendered from its Markdown, in chunks: each
        chunk is pickled on its own, so the pickler's memo (which keeps every object it
        wrote alive, a copy of each body's HTML among them) never holds more than a chunk's
        worth, while a source's Markdown and its bodies' keys stay one string on disk."""
        by_markdown: dict[str, dict[tuple[str, str], RenderedBody]] = {}
        for key, body in self._bodies.items():
            by_markdown.setdefault(key[0], {})[key] = body
        entries: list[tuple[Path | None, SourceEntry | None,
                            dict[tuple[str, str], RenderedBody]]]
        entries = [(path, entry, by_markdown.pop(entry.source.body, {}))
                   for path, entry in self._sources.items()]
        entries += [(None, None, bodies) for bodies in by_markdown.values()]  # sources gone
        for start in range(0, len(entries), SAVE_CHUNK):
            yield entries[start:start + SAVE_CHUNK]


def aside_file(site_dir: Path, pid: int) -> Path:
    """Where process `pid`'s build keeps its sources and bodies until it commits (named as
    the cache's temporaries are: `remove_stale_temporaries` knows it)."""
    return site_dir / CACHE_DIR / f".{CACHE_FILE}.{pid}.tmp"


def place_aside(site_dir: Path, pid: int) -> None:
    """Put `save_sources_aside`'s file in place. Raises OSError as `save_sources` does."""
    replace_file(aside_file(site_dir, pid), cache_folder(site_dir) / CACHE_FILE)


def save_failure(exc: OSError, output: Path) -> Problem:
    """The warning when the cache cannot be saved after the new site was committed: the
    site is in place, only the next build's head start is lost."""
    reason = exc.strerror or str(exc)
    where = f": {exc.filename}" if exc.filename else ""
    advice = "; free some space" if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) else ""
    return Problem(f"{CACHE_DIR}/", f"the new site is in place in {output}, but sitegen "
                   f"cannot save the build cache ({reason}{where}); the next build will not "
                   f"reuse this one's work{advice}")


def discard_records(site_dir: Path) -> None:
    """After a save that failed: drop what may describe an output that is no longer there
    (the last build's records), so the next build trusts none of it. Best effort."""
    for name in (OUTPUTS_FILE, SPARE_FILE):
        with contextlib.suppress(OSError):
            (site_dir / CACHE_DIR / name).unlink(missing_ok=True)


def remove_stale_temporaries(site_dir: Path) -> None:
    """Remove the temporary files of saves that killed runs left (`.NAME.PID.tmp`, the
    PID no longer running); a run's own are removed when its save fails."""
    try:
        entries = list(os.scandir(site_dir / CACHE_DIR))
    except OSError:
        return
    for entry in entries:
        parts = entry.name.rsplit(".", 2)
        if not (entry.name.startswith(".") and len(parts) == 3 and parts[2] == "tmp"
                and parts[1].isdigit()) or _running(int(parts[1])):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def read_outputs(site_dir: Path) -> tuple[dict[str, OutputRecord], str | None] | None:
    """The last build's output records alone (by path, and the output folder), without the
    large sources and bodies file; None if they cannot be trusted."""
    records, _ = read_checked(site_dir / CACHE_DIR / OUTPUTS_FILE)
    return _records(records)


def _records(value: object) -> tuple[dict[str, OutputRecord], str | None] | None:
    """`value` if it is what `save_records` writes (records by path, the folder), else None."""
    if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], dict)
            and isinstance(value[1], (str, type(None))) and _all_records(value[0])):
        return None
    return value


def _all_records(records: dict[object, object]) -> bool:
    return all(isinstance(r, OutputRecord) for r in records.values())


def read_checked(path: Path) -> tuple[object | None, str | None]:
    """A cache file's contents, or None and why not (None too when there is no file)."""
    pieces, problem = read_pieces(path)
    if pieces is not None and len(pieces) != 1:
        return None, "the build cache could not be read; rebuilt it"
    return (pieces[0] if pieces else None), problem


def read_pieces(path: Path) -> tuple[list[object] | None, str | None]:
    """The pickles a cache file holds, in order (see `write_pieces`), or None and why not."""
    try:
        data = read_file(path)
    except Damaged as exc:
        return None, f"the build cache was damaged ({exc}); rebuilt it"
    if data is None:
        return None, None
    header, _, rest = data.partition(b"\n\n")
    lines = header.split(b"\n")
    if len(lines) != 3 or lines[0] + b"\n" != MAGIC or lines[1] != FORMAT:
        return None, "the build cache is from another version of sitegen; rebuilt it"
    if hashlib.sha256(rest).hexdigest().encode() != lines[2]:
        return None, "the build cache was damaged (checksum mismatch); rebuilt it"
    stream = io.BytesIO(rest)
    pieces = []
    try:
        while stream.tell() < len(rest):
            pieces.append(pickle.load(stream))  # noqa: S301 (our own file, checksummed)
    except Exception:  # a checksummed file that still does not load: never trust it
        return None, "the build cache could not be read; rebuilt it"
    return pieces, None


def write_checked(path: Path, state: object) -> None:
    """Pickle `state` to `path` behind the header, atomically."""
    write_pieces(path, [state])


def write_pieces(path: Path, pieces: Iterable[object]) -> None:
    """Pickle each piece to `path` in turn, behind the header, atomically. The pickles
    stream into the file (the sources and bodies at 10,000 articles are some 80 MB: held
    whole, they would grow the build by as much); the digest is filled in at the end. Each
    piece is a pickle of its own: objects are shared within a piece only."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with create(temporary) as handle:
            start = MAGIC + FORMAT + b"\n"
            handle.write(start + b"0" * _DIGEST_LENGTH + b"\n\n")
            hashing = _HashingWriter(handle)
            for piece in pieces:
                pickle.dump(piece, hashing, protocol=pickle.HIGHEST_PROTOCOL)
            handle.seek(len(start))
            handle.write(hashing.sha256.hexdigest().encode())
            handle.flush()
            os.fsync(handle.fileno())
        replace_file(temporary, path)
    except BaseException:  # a full disk, say: no temporary file outlives the save
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise


_DIGEST_LENGTH = 64  # a SHA-256 in hex


class _HashingWriter:
    """A file to write to that hashes what passes through it."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        return self._handle.write(data)


# The format of every cache file: sitegen's version, and the shapes of everything pickled in
# them (this module's records, the Config, Sources, bodies, Articles, jobs and reports).
_SHAPES = schema(model_module, config_module, report_module, markdown_module, plan_module,
                 sys.modules[__name__])
FORMAT = f"18 {__version__} {_SHAPES}".encode()  # 18: RenderedBody.image_stamps (slots: no shape)
