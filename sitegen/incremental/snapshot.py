"""The last build, kept on disk so the next one can tell from a few file stamps that only
article bodies changed, and redo just the pages that show them (`quick.py`).

It holds what a quick build needs unchanged (the build's options, the configuration, the
theme, the site's other files), the moment the site next changes by itself (a scheduled
article, an expiry, the news sitemap's two-day window, a new year in the footer), every article
file's stamp and front matter, and the published articles and the jobs that show them. Each
article and job is pickled on its own in an append-only objects file, so a quick build loads
only the few it needs; a job names the articles it shows instead of holding copies, so a tag
page's ten articles are stored once.

The index is checksummed like the rest of the cache, and each object carries its digest:
anything that does not match is not trusted, and the build takes the full path.
"""

from __future__ import annotations

import copy
import io
import os
import pickle
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, TypeVar

from sitegen.cachefiles import (
    Damaged,
    append_to,
    cache_folder,
    create,
    discard,
    open_file,
    read_file,
    replace_file,
)
from sitegen.config import CONFIG_NAME, Config
from sitegen.folders import CACHE_DIR, CONTENT_DIR, SOURCE_FOLDERS
from sitegen.incremental.cache import OutputRecord, SourceEntry, read_checked, write_checked
from sitegen.model import Article, SiteInfo, Source
from sitegen.render.plan import FeedJob, Job, PageJob
from sitegen.report import BuildReport, OptionsKey
from sitegen.tree import readable

SNAPSHOT_FILE = "snapshot.pickle"  # the index
OBJECTS_FILE = "snapshot.objects"  # the articles and jobs, one pickle each
DELTA_FILE = "snapshot.delta"  # what each quick build since changed, appended to the index
MAX_DELTAS = 100  # then a quick build writes the index anew

T = TypeVar("T")
Blob = tuple[int, int, bytes]  # where a pickle is in the objects file: offset, length, digest
Ref = tuple[Blob, int]  # a value in a pickled chunk (a list) of values: the chunk, the position
CHUNK = 64  # articles and sources are pickled in chunks: far quicker than one by one


@dataclass(frozen=True)
class Inputs:
    """What must be as it was for a quick build: a change to any of it can change pages that
    a body edit cannot."""

    options: OptionsKey
    config: Config
    theme: bytes  # the theme's fingerprint: templates, static files, sitegen's version
    files: tuple[tuple[str, int, int], ...]  # the site's other files (path, mtime, size)


class FileStamp(NamedTuple):
    """An article file as a quick build compares it: first by stat, then by content."""

    mtime_ns: int
    size: int
    digest: str  # SHA-256 of the content


class SourceStub(NamedTuple):  # a tuple: 10,000 load quickly
    """An article file as the snapshot keeps it: its stamp, and where its Source is kept
    (without its body: that is what a quick build compares)."""

    mtime_ns: int
    size: int
    digest: str
    ref: Ref

    def restamped(self, stamp: FileStamp) -> SourceStub:
        return SourceStub(*stamp, self.ref)


@dataclass(frozen=True)
class Built:
    """What `take` keeps of a full build just made: the quick path's starting point."""

    inputs: Inputs
    built_at: datetime
    valid_until: datetime | None  # from then on the site changes by itself
    search: bool  # the site has a search index
    report: BuildReport
    sources: Mapping[Path, SourceEntry]  # every article file, as the cache has it
    info: SiteInfo
    articles: Sequence[Article]  # the published ones, listed or not
    jobs: Sequence[Job]  # the whole plan


@dataclass
class Snapshot:
    inputs: Inputs
    built_at: datetime
    valid_until: datetime | None  # from then on the site changes by itself: build it whole
    search: bool  # the site has a search index (a quick build that changes a page re-indexes)
    report: BuildReport  # the last full build's, which a quick build repeats
    sources: dict[str, SourceStub]  # every article file by its path
    info: SiteInfo
    by_source: dict[str, str]  # every article's URL by source path
    articles: dict[str, Ref]  # published articles (listed or not) by source path
    # Every job that shows an article, but for the articles' own pages (planned anew from
    # the article): its output path, the job.
    jobs: list[tuple[str, Blob]]
    holders: dict[str, tuple[int, ...]]  # by source path: the indices of the jobs showing it
    token: bytes = b""  # names this index: a delta written for another is ignored
    # The output files quick builds rewrote since (outputs.pickle, from the last full build,
    # has their old records, so a full build renders them again: they are few).
    records: dict[str, OutputRecord] = field(default_factory=dict)
    # The files of the last full build that quick builds since removed (search index files).
    gone: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Delta:
    """One quick build's changes to the index."""

    token: bytes
    sources: dict[str, FileStamp]  # new stamps
    articles: dict[str, Ref]
    jobs: dict[int, tuple[str, Blob]]
    records: dict[str, OutputRecord]
    removed: tuple[str, ...]


def take(site_dir: Path, built: Built) -> None:
    """Save the build just made. The objects file is written anew."""
    folder = cache_folder(site_dir)
    store = _Objects(folder / OBJECTS_FILE, fresh=True)
    articles = built.articles
    try:
        items = list(built.sources.values())
        refs = _chunked(store, [_without_body(item.source) for item in items])
        stubs = {_path_of(item.source, site_dir): SourceStub(*item.stamp, item.digest, ref)
                 for item, ref in zip(items, refs, strict=True)}
        saved = dict(zip([a.source_path for a in articles], _chunked(store, articles),
                         strict=True))
        pickler = _JobPickler(built.info)
        stored: list[tuple[str, Blob]] = []
        holders: dict[str, list[int]] = {}
        for job in built.jobs:
            if isinstance(job, FeedJob) or (isinstance(job, PageJob) and not isinstance(
                    job.context.get("article"), Article)):
                data = pickler.dump(job)
                if pickler.shown:
                    for rel in dict.fromkeys(pickler.shown):
                        holders.setdefault(rel, []).append(len(stored))
                    stored.append((job.path, store.put(data)))
    except BaseException:
        store.discard()
        raise
    store.close()
    snapshot = Snapshot(built.inputs, built.built_at, built.valid_until, built.search,
                        built.report, stubs, built.info,
                        {a.source_path: a.url for a in articles}, saved, stored,
                        {rel: tuple(indices) for rel, indices in holders.items()},
                        os.urandom(16))
    write_checked(folder / SNAPSHOT_FILE, snapshot)
    discard(folder / DELTA_FILE)


def _without_body(source: Source) -> Source:
    stub = copy.copy(source)  # a tenth of dataclasses.replace's time, for 10,000 sources
    object.__setattr__(stub, "body", "")
    return stub


def _path_of(source: Source, site_dir: Path) -> str:
    """str(source.path), which costs a pathlib object 30 µs the first time: its path within
    the site as `content.source_stamps` gives it."""
    rel = source.rel_path
    return rel if os.path.isabs(rel) else f"{site_dir}/{rel}"


def _append_delta(path: Path, delta: _Delta) -> None:
    """Append one delta: its length, its digest, its pickle. A kill mid-append leaves a torn
    last entry, which `_read_deltas` drops (with it, the quick build it recorded is unknown,
    so the next build sees that article changed and does it again)."""
    data = _dumps(delta)
    with append_to(path) as handle:
        handle.write(len(data).to_bytes(8, "big") + _digest(data) + data)
        handle.flush()
        os.fsync(handle.fileno())


def _read_deltas(path: Path) -> Iterator[object]:
    try:
        data = read_file(path)
    except Damaged:
        return  # written anew by the next full build
    if data is None:
        return
    offset = 0
    while offset + 12 <= len(data):
        length = int.from_bytes(data[offset:offset + 8], "big")
        digest, start = data[offset + 8:offset + 12], offset + 12
        payload = data[start:start + length]
        if len(payload) != length or _digest(payload) != digest:
            return
        try:
            yield pickle.loads(payload)  # noqa: S301 (ours, digest-checked)
        except Exception:  # a delta that does not load: it and later ones are not trusted
            return
        offset = start + length


def _digest(data: bytes) -> bytes:
    """Enough to tell a damaged object (the index itself has a SHA-256), at CRC speed."""
    return zlib.crc32(data).to_bytes(4, "big")


def _dumps(value: object) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def _chunked(store: _Objects, values: Sequence[object]) -> list[Ref]:
    refs: list[Ref] = []
    for start in range(0, len(values), CHUNK):
        chunk = list(values[start:start + CHUNK])
        blob = store.put(_dumps(chunk))
        refs.extend((blob, position) for position in range(len(chunk)))
    return refs


def forget(site_dir: Path) -> None:
    """Drop the snapshot (a build that cannot leave one that matches its output)."""
    discard(site_dir / CACHE_DIR / SNAPSHOT_FILE)
    discard(site_dir / CACHE_DIR / DELTA_FILE)


class OpenSnapshot:
    """A snapshot read back: the index at once, sources, articles and jobs when asked for.
    An article is loaded once, so every job that shows it holds the very same object."""

    def __init__(self, site_dir: Path, snapshot: Snapshot) -> None:
        self.site_dir = site_dir
        self.snapshot = snapshot
        self._store = _Objects(site_dir / CACHE_DIR / OBJECTS_FILE)
        self._articles: dict[str, Article] = {}
        self._chunks: dict[Blob, list[object]] = {}
        self._deltas = 0

    @classmethod
    def load(cls, site_dir: Path) -> OpenSnapshot | None:
        """The snapshot with every quick build since applied, or None."""
        state, _ = read_checked(site_dir / CACHE_DIR / SNAPSHOT_FILE)
        if not isinstance(state, Snapshot):
            return None
        loaded = cls(site_dir, state)
        for delta in _read_deltas(site_dir / CACHE_DIR / DELTA_FILE):
            if isinstance(delta, _Delta) and delta.token == state.token:
                loaded._apply(delta)
        return loaded

    def _apply(self, delta: _Delta) -> None:
        snapshot = self.snapshot
        for path, stamp in delta.sources.items():
            snapshot.sources[path] = snapshot.sources[path].restamped(stamp)
        snapshot.articles.update(delta.articles)
        for index, job in delta.jobs.items():
            snapshot.jobs[index] = job
        snapshot.records.update(delta.records)
        snapshot.gone.difference_update(delta.records)
        for path in delta.removed:
            snapshot.records.pop(path, None)
            snapshot.gone.add(path)
        self._deltas += 1

    def source(self, path: str) -> Source:
        """The Source of an article file as the last build read it, without its body."""
        return self._load(self.snapshot.sources[path].ref, Source)

    def article(self, rel: str) -> Article:
        if rel not in self._articles:
            self._articles[rel] = self._load(self.snapshot.articles[rel], Article)
        return self._articles[rel]

    def job(self, index: int) -> Job:
        path, blob = self.snapshot.jobs[index]
        job = _JobUnpickler(io.BytesIO(self._store.get(blob)), self).load()
        if not isinstance(job, (PageJob, FeedJob)) or job.path != path:
            raise Untrusted(f"not the job of {path}")
        return job

    def _load(self, ref: Ref, kind: type[T]) -> T:
        blob, position = ref
        if blob not in self._chunks:
            chunk = pickle.loads(self._store.get(blob))  # noqa: S301 (ours, digest-checked)
            self._chunks[blob] = chunk if isinstance(chunk, list) else []
        chunk = self._chunks[blob]
        value = chunk[position] if position < len(chunk) else None
        if not isinstance(value, kind):
            raise Untrusted(f"not a {kind.__name__}")
        return value

    def update(self, sources: Mapping[str, FileStamp], articles: Sequence[Article],
               jobs: Mapping[int, Job], records: Mapping[str, OutputRecord],
               removed: Sequence[str] = ()) -> None:
        """Record a quick build: the sources' new stamps, the new articles, the jobs at those
        indices as they are now, the records of the files it wrote, and the files it
        removed. New objects are
        appended, and so is the change to the index (a delta), which is written anew only
        once many have gathered."""
        store = _Objects(self.site_dir / CACHE_DIR / OBJECTS_FILE, append=True)
        try:
            saved = dict(zip([a.source_path for a in articles], _chunked(store, articles),
                             strict=True))
            pickler = _JobPickler(self.snapshot.info)
            stored = {index: (job.path, store.put(pickler.dump(job)))
                      for index, job in jobs.items()}
        finally:
            store.close()
        delta = _Delta(self.snapshot.token, dict(sources), saved, stored, dict(records),
                       tuple(removed))
        self._apply(delta)
        folder = self.site_dir / CACHE_DIR
        if self._deltas > MAX_DELTAS:
            self.snapshot.token = os.urandom(16)  # the old deltas are in the new index
            write_checked(folder / SNAPSHOT_FILE, self.snapshot)
            discard(folder / DELTA_FILE)
        else:
            _append_delta(folder / DELTA_FILE, delta)

    def close(self) -> None:
        self._store.close()


class Untrusted(Exception):
    """An object of the snapshot is damaged or not what the index says."""


class _Objects:
    """The objects file: pickles one after another, found by offset and checked by digest."""

    def __init__(self, path: Path, fresh: bool = False, append: bool = False) -> None:
        self._path = path
        self._handle: BinaryIO | None = None
        self._fresh, self._append = fresh, append
        self._offset = 0
        if fresh:
            self._temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            self._handle = create(self._temporary)  # closed in close()
        elif append:
            self._handle = append_to(path)
            self._offset = self._handle.tell()

    def put(self, data: bytes) -> Blob:
        assert self._handle is not None
        self._handle.write(data)
        blob = (self._offset, len(data), _digest(data))
        self._offset += len(data)
        return blob

    def get(self, blob: Blob) -> bytes:
        if self._handle is None:
            try:
                self._handle = open_file(self._path)
            except (OSError, Damaged) as exc:
                raise Untrusted(str(exc)) from None
        offset, length, digest = blob
        self._handle.seek(offset)
        data = self._handle.read(length)
        if _digest(data) != digest:
            raise Untrusted("an object's digest does not match")
        return data

    def discard(self) -> None:
        """Close a fresh file unfinished, and remove it."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._fresh:
            self._temporary.unlink(missing_ok=True)

    def close(self) -> None:
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        if not self._fresh:
            handle.close()
            return
        try:
            handle.close()  # flushes: a full disk fails here
            replace_file(self._temporary, self._path)
        except BaseException:  # no temporary file outlives the save
            self._temporary.unlink(missing_ok=True)
            raise


class _JobPickler:
    """Pickles jobs with each article (and the site's info) as a reference, not a copy, and
    notes which articles each job shows. The references go through the pickler's own
    dispatch table, so only articles and the info cost a Python call, not every value."""

    def __init__(self, info: SiteInfo) -> None:
        self._table = {Article: self._article, SiteInfo: self._info}
        self.shown: list[str] = []  # the articles of the job pickled last, by source path
        self._site_info = info

    def _article(self, article: Article) -> tuple[Any, ...]:
        self.shown.append(article.source_path)
        return (_article, (article.source_path,))

    def _info(self, info: SiteInfo) -> tuple[Any, ...]:
        if info is not self._site_info:
            return info.__reduce_ex__(pickle.HIGHEST_PROTOCOL)  # type: ignore[return-value]
        return (_info, ())

    def dump(self, job: Job) -> bytes:
        self.shown = []
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)  # clear_memo() costs more
        pickler.dispatch_table = self._table
        pickler.dump(job)
        return buffer.getvalue()


def _article(rel: str) -> Article:  # stands for a reference in a pickled job; never called
    raise pickle.UnpicklingError("an article reference outside a snapshot")


def _info() -> SiteInfo:  # the same for the site's info
    raise pickle.UnpicklingError("a site info reference outside a snapshot")


class _JobUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, loaded: OpenSnapshot) -> None:
        super().__init__(file)
        self._loaded = loaded

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == "_article":
            return self._loaded.article
        if module == __name__ and name == "_info":
            return lambda: self._loaded.snapshot.info
        return super().find_class(module, name)


def site_files(site_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Stamps of the files a build reads besides its articles: the configuration and the
    site's data/, templates/, static/ and themes/ folders (hidden entries left out). Any
    change to one means a full build."""
    config = site_dir / CONFIG_NAME
    found = list(_stamps(site_dir, "", {config})) if config.is_file() else []
    for name in SOURCE_FOLDERS:
        if name != CONTENT_DIR:
            found += _stamps(site_dir / name, f"{name}/", set())
    return tuple(sorted(found))


def _stamps(folder: Path, prefix: str, only: set[Path]) -> Iterator[tuple[str, int, int]]:
    """Stamps of the files under `folder` (of just the files in `only`, if any). A folder
    that cannot be listed, a file that cannot be read (chmod changes no modification time)
    and a link that leads nowhere get a stamp no readable file has, so a quick build does
    not pass them as unchanged: the full path reports them."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return  # a site need not have the folder
    except OSError:
        yield (prefix, -1, -1)
        return
    for entry in entries:
        if entry.name.startswith(".") or (only and Path(entry.path) not in only):
            continue
        if entry.is_dir():
            yield from _stamps(Path(entry.path), f"{prefix}{entry.name}/", set())
        else:
            try:
                stat = entry.stat()
            except OSError:
                yield (f"{prefix}{entry.name}", -1, -1)
                continue
            if not readable(entry.path, stat.st_mode):
                yield (f"{prefix}{entry.name}", -1, -1)
                continue
            yield (f"{prefix}{entry.name}", stat.st_mtime_ns, stat.st_size)
