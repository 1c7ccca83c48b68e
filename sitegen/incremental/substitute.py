"""Find and replace objects inside the frozen data the pipeline passes on (sites, plans).

Both quick paths (the dev server's and the build's, through `replan.with_articles`) swap an
edited article's new Article into the jobs that show it instead of planning the whole site
again. The objects to replace are named by a key of their own (an Article by its source path,
the one way articles are keyed across modules), so a caller never hands over `id()`s. Inside,
the walk still works by identity: the frozen containers holding a replaced object are rebuilt
once each and memoized by `id()` (their objects kept alive meanwhile), and a value that holds
nothing replaced comes back as the very same object, so a caller can tell what changed with
`is`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
_ATOMS = (str, bytes, int, float, bool, type(None))


class Swapper(Generic[K]):
    """Replaces each object of type `kind` whose `key` is in `replacements` with the object
    given for that key, wherever it occurs. Objects of `kind` are never looked into (an
    Article holds no other Article), which keeps a walk over a whole site's listings short.
    One Swapper memoizes across calls, so a tag shown on many pages is rebuilt once and every
    page gets the same new tag."""

    def __init__(self, kind: type, key: Callable[[Any], K], replacements: Mapping[K, Any]) -> None:
        self._kind = kind
        self._key = key
        self._replacements = replacements
        self._memo: dict[int, Any] = {}  # by the id of a container already walked
        self._keep: list[Any] = []  # memo keys are ids: keep their objects alive

    def __call__(self, value: Any) -> Any:
        if isinstance(value, _ATOMS):
            return value
        if isinstance(value, self._kind):  # the commonest case: no memo needed
            return self._replacements.get(self._key(value), value)
        key = id(value)
        if key in self._memo:
            return self._memo[key]
        result = self._rebuild(value)
        self._memo[key] = result
        self._keep.append(value)
        return result

    def _rebuild(self, value: Any) -> Any:
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            items = tuple(self(item) for item in value)
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        if isinstance(value, list):
            items = [self(item) for item in value]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        if isinstance(value, dict):
            swapped = {key: self(item) for key, item in value.items()}
            return value if all(swapped[k] is v for k, v in value.items()) else swapped
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {}
            for field in dataclasses.fields(value):
                if not field.init:
                    continue
                old = getattr(value, field.name)
                new = self(old)
                if new is not old:
                    changes[field.name] = new
            return dataclasses.replace(value, **changes) if changes else value
        return value  # anything else (Markup is a str; dates, paths) holds no object of ours


def holders(values: list[Any], kind: type, key: Callable[[Any], K]) -> dict[K, list[int]]:
    """For each key of an object of type `kind`, the indices of the `values` that hold such
    an object, directly or inside tuples, dicts and dataclasses; objects of `kind` are not
    looked into. (Containers met again are memoized by `id()`, within this call only.)"""
    found: dict[K, list[int]] = {}
    memo: dict[int, frozenset[K]] = {}

    def walk(value: Any) -> frozenset[K]:
        if isinstance(value, _ATOMS):
            return frozenset()
        if isinstance(value, kind):
            return frozenset((key(value),))
        ident = id(value)
        if ident in memo:
            return memo[ident]
        memo[ident] = frozenset()  # guards against cycles, which frozen data does not have
        if isinstance(value, (tuple, list)):
            inner = frozenset().union(*(walk(item) for item in value)) if value else frozenset()
        elif isinstance(value, dict):
            inner = frozenset().union(*(walk(item) for item in value.values())) \
                if value else frozenset()
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            inner = frozenset().union(*(walk(getattr(value, f.name))
                                        for f in dataclasses.fields(value)))
        else:
            inner = frozenset()
        memo[ident] = inner
        return inner

    for index, value in enumerate(values):
        for found_key in walk(value):
            found.setdefault(found_key, []).append(index)
    return found
