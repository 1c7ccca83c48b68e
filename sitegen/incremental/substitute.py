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
    looked into. (Containers met again are memoized by `id()`, within this call only.)

    How to look into a value is decided once per type: the serve command's index of a
    10,000-article site's jobs walks half a million values, and the first save after a
    cold start waits for it."""
    found: dict[K, list[int]] = {}
    memo: dict[int, frozenset[K]] = {}
    ways: dict[type, Any] = {}
    none: frozenset[K] = frozenset()

    def walk(value: Any) -> frozenset[K]:
        kind_of = type(value)
        way = ways.get(kind_of)
        if way is None:
            way = ways[kind_of] = _way(kind_of, kind)
        if way is _SKIP:
            return none
        if way is _KIND:
            return frozenset((key(value),))
        ident = id(value)
        seen = memo.get(ident)
        if seen is not None:
            return seen
        memo[ident] = none  # guards against cycles, which frozen data does not have
        if way is _ITEMS:
            items = value
        elif way is _VALUES:
            items = value.values()
        else:
            items = [getattr(value, name) for name in way]
        first, more = none, None
        for item in items:
            inner = walk(item)
            if not inner or inner is first:
                continue
            if not first:
                first = inner
            else:
                more = set(first) if more is None else more
                more |= inner
        result = first if more is None else frozenset(more)
        memo[ident] = result
        return result

    for index, value in enumerate(values):
        for found_key in walk(value):
            found.setdefault(found_key, []).append(index)
    return found


_SKIP, _KIND, _ITEMS, _VALUES = object(), object(), object(), object()


def _way(kind_of: type, kind: type) -> Any:
    """How `holders` looks into a value of type `kind_of`: not at all, as the kind sought,
    by its items or values, or by a dataclass's field names."""
    if issubclass(kind_of, _ATOMS):
        return _SKIP
    if issubclass(kind_of, kind):
        return _KIND
    if issubclass(kind_of, (tuple, list)):
        return _ITEMS
    if issubclass(kind_of, dict):
        return _VALUES
    if dataclasses.is_dataclass(kind_of):
        return tuple(field.name for field in dataclasses.fields(kind_of))
    return _SKIP  # anything else (dates, paths, a class itself) holds no object of ours
