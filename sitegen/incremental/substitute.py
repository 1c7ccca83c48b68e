"""Find and replace objects inside the frozen data the pipeline passes on (sites, plans).

Both quick paths (the dev server's and the build's, through `replan.with_articles`) swap an
edited article's new Article into the jobs that show it instead of planning the whole site
again. Everything here is by identity: an
object is "the same" only if it is the very object, and a value that holds nothing swapped
comes back as the same object, so a caller can tell what changed with `is`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

_ATOMS = (str, bytes, int, float, bool, type(None))


class Swapper:
    """Replaces the objects in `replacements` (keyed by id) wherever they occur. Objects of
    the `opaque` types are never looked into (an Article holds no other Article), which keeps
    a walk over a whole site's listings short. One Swapper memoizes across calls, so a tag
    shown on many pages is rebuilt once and every page gets the same new tag."""

    def __init__(self, replacements: Mapping[int, Any], opaque: tuple[type, ...] = ()) -> None:
        self._replacements = replacements
        self._opaque = opaque
        self._memo: dict[int, Any] = {}
        self._keep: list[Any] = []  # memo keys are ids: keep their objects alive

    def __call__(self, value: Any) -> Any:
        if isinstance(value, _ATOMS):
            return value
        key = id(value)
        if key in self._replacements:
            return self._replacements[key]
        if isinstance(value, self._opaque):  # the commonest case: no memo needed
            return value
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


def holders(values: list[Any], wanted: type) -> dict[int, list[int]]:
    """For each object of type `wanted` (by id), the indices of the `values` that hold it,
    directly or inside tuples, dicts and dataclasses; `wanted` objects are not looked into."""
    found: dict[int, list[int]] = {}
    memo: dict[int, frozenset[int]] = {}

    def walk(value: Any) -> frozenset[int]:
        if isinstance(value, _ATOMS):
            return frozenset()
        if isinstance(value, wanted):
            return frozenset((id(value),))
        key = id(value)
        if key in memo:
            return memo[key]
        memo[key] = frozenset()  # guards against cycles, which frozen data does not have
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
        memo[key] = inner
        return inner

    for index, value in enumerate(values):
        for key in walk(value):
            found.setdefault(key, []).append(index)
    return found
