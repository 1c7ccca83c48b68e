"""A memo for values worked out from the site's read-only data, keyed by objects' identity."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class IdentityMemo(Generic[V]):
    """Values worked out once per key, where a key names objects by their ids. Each entry
    holds the objects it names, so no id is reused by another object while the entry lives.
    Bounded: when full it is emptied, since `serve` keeps one as long as it runs while
    articles are replaced by new objects."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: dict[Hashable, tuple[V, tuple[object, ...]]] = {}

    def clear(self) -> None:
        self._entries.clear()

    def get(self, key: Hashable, objects: tuple[object, ...], make: Callable[[], V]) -> V:
        """The value for `key`, made by `make()` the first time; `objects` are those whose
        ids the key holds."""
        hit = self._entries.get(key)
        if hit is not None:
            return hit[0]
        value = make()
        if len(self._entries) >= self.limit:
            self._entries.clear()
        self._entries[key] = (value, objects)
        return value
