"""Memos of per-article work, so a rebuild redoes only what changed.

A source is re-read only when its file's size or modification time changed; a body is
re-rendered only when its Markdown or its URL changed. The dev server keeps one cache across
rebuilds; a cache is only valid for one configuration, so it drops everything when the
configuration changes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sitegen.config import Config
from sitegen.markdown import RenderedBody
from sitegen.model import Source


class BuildCache:
    def __init__(self) -> None:
        self._config: Config | None = None
        self._sources: dict[Path, tuple[tuple[int, int], Source]] = {}
        self._bodies: dict[tuple[str, str], RenderedBody] = {}
        self._used_sources: set[Path] = set()
        self._used_bodies: set[tuple[str, str]] = set()

    def use_config(self, config: Config) -> None:
        """Forget everything made under another configuration."""
        if config != self._config:
            self._config = config
            self._sources.clear()
            self._bodies.clear()

    def source(self, path: Path, read: Callable[[], Source]) -> Source:
        self._used_sources.add(path)
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        hit = self._sources.get(path)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        source = read()
        self._sources[path] = (stamp, source)
        return source

    def body(self, markdown: str, url: str, render: Callable[[], RenderedBody]) -> RenderedBody:
        key = (markdown, url)
        self._used_bodies.add(key)
        hit = self._bodies.get(key)
        if hit is None:
            hit = self._bodies[key] = render()
        return hit

    def prune(self) -> None:
        """Drop what the last build did not use (deleted files, old versions of edited bodies),
        so a long preview session does not grow without bound. Call after each build."""
        self._sources = {p: v for p, v in self._sources.items() if p in self._used_sources}
        self._bodies = {k: v for k, v in self._bodies.items() if k in self._used_bodies}
        self._used_sources.clear()
        self._used_bodies.clear()
