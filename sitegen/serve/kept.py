"""The preview kept between runs of `sitegen serve`, so a restart renders only what changed.

In the site's cache folder (`.sitegen-cache/`, which the build keeps too) the preview keeps:

- `preview/site/`: the folder it serves, with the output transaction's spare, journal and
  lock beside it in `preview/` (writer.py);
- `preview.pickle`: the settings it was built with (drafts, future, its base URL: an
  `OptionsKey`) and a record of each file in it (the fingerprint of the job that made it, and
  the file's size and modification time, as the build records its output's);
- `preview-build.pickle`: the sources and rendered bodies, as the build's `build.pickle` but
  under the preview's configuration (its base URL differs), so neither evicts the other's.

A file is kept only when its job's fingerprint is the recorded one and the file is still as
recorded: the same check the build makes before reusing an output file, so a restart writes
exactly what a fresh build would. The settings decide only whether the folder may be served
before it is brought up to date (`early`): a preview made with other settings (drafts shown,
another address) is never served, not even for a moment. One preview at a time uses the kept
folder (a lock held while it runs); another started meanwhile builds in a private temporary
folder, as `--no-cache` does.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from sitegen.cachefiles import cache_folder, discard
from sitegen.folders import CACHE_DIR
from sitegen.incremental.cache import (
    BuildCache,
    OutputRecord,
    matches,
    read_checked,
    record_of,
    write_checked,
)
from sitegen.report import OptionsKey

PREVIEW_DIR = "preview"  # in the cache folder: the kept preview's folder and its siblings
STATE_FILE = "preview.pickle"  # the settings and the records of the kept folder's files
SOURCES_FILE = "preview-build.pickle"  # the preview's sources and bodies
LOCK_FILE = "lock"  # in PREVIEW_DIR: held while a preview uses the kept folder


@dataclass(frozen=True)
class State:
    """What the kept folder holds: the settings it was built with, each file's record, and
    whether its search index was up to date when the preview stopped."""

    key: OptionsKey
    records: dict[str, OutputRecord]
    indexed: bool


class Kept:
    """The kept preview of one site, claimed by this run (`claim`)."""

    def __init__(self, site_dir: Path, lock: int) -> None:
        self.site_dir = site_dir
        self.home = site_dir / CACHE_DIR / PREVIEW_DIR
        self.folder = self.home / "site"
        self._lock = lock

    @classmethod
    def claim(cls, site_dir: Path) -> Kept | None:
        """The kept preview, locked for this run; None when another preview holds it or the
        cache folder cannot be made (a read-only site): the caller builds in a private folder."""
        try:
            home = cache_folder(site_dir) / PREVIEW_DIR
            if home.is_symlink() or (home.exists() and not home.is_dir()):
                home.unlink()
            home.mkdir(exist_ok=True)
            lock = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError:
            return None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock)
            return None
        kept = cls(site_dir, lock)
        if kept.folder.is_symlink() or not kept.folder.is_dir():
            discard(kept.folder)  # a link is removed, never followed: nothing is written outside
        return kept

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._lock)  # closing the descriptor releases the lock

    def cache(self) -> BuildCache:
        """The preview's sources and bodies from the last run (empty if none, or damaged)."""
        return BuildCache.load(self.site_dir, SOURCES_FILE)

    def state(self) -> State | None:
        """The kept folder's settings and records, if readable and the folder is there."""
        value, _ = read_checked(self.site_dir / CACHE_DIR / STATE_FILE)
        if not (isinstance(value, State) and isinstance(value.key, OptionsKey)
                and isinstance(value.records, dict)
                and all(isinstance(r, OutputRecord) for r in value.records.values())):
            return None
        return value if self.folder.is_dir() else None

    def servable(self, state: State) -> bool:
        """Whether the kept folder looks whole enough to serve at once: its front page (or,
        with none, one file) still as recorded. One stat: `trusted` reads every file's, a
        second at 50,000 articles, which the preview does once it serves."""
        rel = "index.html" if "index.html" in state.records else next(iter(state.records), None)
        if rel is None:
            return False
        try:
            return matches(state.records[rel], os.stat(self.folder / rel))
        except OSError:
            return False

    def trusted(self, state: State | None) -> dict[str, OutputRecord]:
        """The records of the files still exactly as recorded (a stat each)."""
        if state is None:
            return {}
        kept = {}
        for rel, record in state.records.items():
            try:
                if matches(record, os.stat(self.folder / rel)):
                    kept[rel] = record
            except OSError:
                continue
        return kept

    def save(self, key: OptionsKey, made: dict[str, str], indexed: bool,
             cache: BuildCache | None) -> None:
        """Record the folder's files (`made`: each one's fingerprint), and the sources and
        bodies when given. Raises OSError when they cannot be written."""
        records = {}
        for rel, fingerprint in made.items():
            with contextlib.suppress(OSError):
                records[rel] = record_of(os.stat(self.folder / rel), fingerprint)
        write_checked(cache_folder(self.site_dir) / STATE_FILE, State(key, records, indexed))
        if cache is not None:
            self.save_sources(cache)

    def save_sources(self, cache: BuildCache) -> None:
        """Keep the sources and bodies alone (when they changed). Raises OSError."""
        cache.save_sources(self.site_dir, SOURCES_FILE)
