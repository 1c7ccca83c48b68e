"""Watching the site's sources with watchdog, and sorting each burst of changes by kind.

Editors save in many ways (write in place, write a temporary file and rename it, delete and
recreate); every event's source and destination paths are collected, bursts are debounced
into one batch, and the batch says whether it touched the configuration, templates or static
files (everything must be rendered again), CSS only, or just content.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from sitegen.config import CONFIG_NAME
from sitegen.folders import CONTENT_DIR, DATA_DIR, STATIC_DIR, TEMPLATES_DIR, THEMES_DIR

LOOK_AND_FEEL = (TEMPLATES_DIR, STATIC_DIR, THEMES_DIR)
WATCHED = (CONTENT_DIR, *LOOK_AND_FEEL, DATA_DIR)
DEBOUNCE_SECONDS = 0.03  # quiet time that ends a burst
# Quiet time after one file's finished write (its writer closed it, or renamed it into place):
# a save of one article is served that much sooner, while a companion event (a change of
# mode, a second file) still joins the batch, and a burst of many files keeps the debounce.
FINISHED_SECONDS = 0.005
FINISHED = ("closed", "moved")  # watchdog's names for a write closed, a rename
MAX_DELAY_SECONDS = 0.3  # a steady stream of events still rebuilds this often


@dataclass(frozen=True)
class Changes:
    paths: frozenset[Path]
    everything: bool  # config, templates or static files changed
    css_only: bool

    @classmethod
    def sort(cls, site_dir: Path, paths: Iterable[Path]) -> Changes:
        paths = frozenset(paths)
        rels = [p.relative_to(site_dir) for p in paths if p.is_relative_to(site_dir)]
        config = any(r.as_posix() == CONFIG_NAME for r in rels)
        look = [r for r in rels if r.parts and r.parts[0] in LOOK_AND_FEEL]
        css_only = bool(rels) and len(look) == len(rels) and all(r.suffix == ".css" for r in look)
        return cls(paths, config or bool(look), css_only)


def relevant(site_dir: Path, path: Path, ignored: Iterable[Path]) -> bool:
    """Does a change to `path` matter to the site? The output folders never do, nor editors'
    hidden, backup and swap files (a save through one arrives as a rename onto the real file)."""
    if not path.is_relative_to(site_dir) or any(path.is_relative_to(i) for i in ignored):
        return False
    rel = path.relative_to(site_dir)
    if rel.as_posix() == CONFIG_NAME:
        return True
    if not rel.parts or rel.parts[0] not in WATCHED:
        return False
    return not any(_editor_litter(part) for part in rel.parts)


def _editor_litter(name: str) -> bool:
    return name.startswith((".", "#")) or name.endswith(("~", ".swp", ".swx", ".tmp")) or \
        name == "4913"  # vim's test file


class Watcher(FileSystemEventHandler):
    """Calls `on_change(Changes)` from its own thread after each debounced burst."""

    def __init__(self, site_dir: Path, on_change: Callable[[Changes], None],
                 ignored: Iterable[Path] = (), poll: bool = False) -> None:
        self.site_dir = site_dir.resolve()
        self.on_change = on_change
        self.ignored = [p.resolve() for p in ignored]
        self._pending: set[Path] = set()
        self._finished = False  # the one pending file's last event finished its write
        self._first_at = 0.0
        self._last_at = 0.0
        self._cond = threading.Condition()
        self._stopped = False
        self._observer = PollingObserver(timeout=0.25) if poll else Observer()
        self._thread = threading.Thread(target=self._deliver, name="sitegen-watch", daemon=True)

    def start(self) -> None:
        """Watch the site folder itself (for sitegen.toml) and each source folder in it, so
        the output folders are never watched at all."""
        self._observer.schedule(self, str(self.site_dir), recursive=False)
        for name in WATCHED:
            if (self.site_dir / name).is_dir():
                self._observer.schedule(self, str(self.site_dir / name), recursive=True)
        self._observer.start()
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._observer.stop()
        if self._observer.ident is not None:  # started
            self._observer.join(timeout=5)

    def on_any_event(self, event: FileSystemEvent) -> None:
        # A folder's "modified" only echoes changes to its files, which arrive on their own.
        if event.event_type in ("opened", "closed_no_write") or (
                event.is_directory and event.event_type == "modified"):
            return
        if event.is_directory and event.event_type in ("created", "moved"):
            self._watch_new_source_folder(Path(str(getattr(event, "dest_path", "") or
                                                   event.src_path)))
        paths = [event.src_path, getattr(event, "dest_path", "")]
        found = [Path(str(p)) for p in paths if p]
        found = [p for p in found if relevant(self.site_dir, p, self.ignored)]
        if not found:
            return
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first_at = now
            self._pending.update(found)
            self._finished = event.event_type in FINISHED and len(self._pending) == 1
            self._last_at = now
            self._cond.notify_all()

    def _watch_new_source_folder(self, folder: Path) -> None:
        """A source folder made while serving (a first template override, say) is watched too;
        its files are then found by the rebuild it triggers."""
        if folder.parent == self.site_dir and folder.name in WATCHED:
            self._observer.schedule(self, str(folder), recursive=True)

    def _deliver(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stopped)
                if self._stopped:
                    return
                while True:  # debounce: wait for quiet, but not forever
                    now = time.monotonic()
                    quiet_until = self._last_at + (
                        FINISHED_SECONDS if self._finished else DEBOUNCE_SECONDS)
                    deadline = self._first_at + MAX_DELAY_SECONDS
                    if now >= quiet_until or now >= deadline or self._stopped:
                        break
                    self._cond.wait(min(quiet_until, deadline) - now)
                batch, self._pending, self._finished = self._pending, set(), False
            self.on_change(Changes.sort(self.site_dir, batch))
