"""Grouping articles: tags by slug (with one display spelling), and related articles.

Pure functions over plain values, so the build and the dev server can call them on any subset
and tests can call them with hand-made inputs. Nothing here is quadratic in the number of
articles: related articles come from a bounded window in each shared tag's list.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import filterfalse, islice

from sitegen.slugs import slugify

RELATED_COUNT = 3
RELATED_WINDOW = 30  # neighbours considered on each side in each shared tag's list


@dataclass(frozen=True)
class TagGroup:
    slug: str
    name: str  # the spelling most articles use
    spellings: tuple[str, ...]  # most used first


def group_tags(tag_lists: Sequence[Sequence[str]],
               canonical: Mapping[str, str] | None = None) -> dict[str, TagGroup]:
    """Merge tags that share a slug; the display name is the spelling most articles use.

    On a tie, a spelling in mixed case ("Jessica Jones") wins over all lower or all upper
    case ("jessica jones", "JESSICA JONES"): a name is more often lowered or shouted by
    mistake than the other way round. Then the spelling seen first wins, so the choice is
    stable: `tag_lists` holds each article's tags in that order (newest first). `canonical` (from
    the tag registry) maps the slug of a registered spelling or alias to the tag's canonical
    name, which then names the group whatever the articles write.
    """
    canonical = canonical or {}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    first_seen: dict[str, dict[str, int]] = defaultdict(dict)
    position = 0
    for tags in tag_lists:
        for name in dict.fromkeys(tags):
            slug = slugify(name)
            if slug in canonical:
                slug = slugify(canonical[slug])
            counts[slug][name] += 1
            first_seen[slug].setdefault(name, position)
            position += 1
    groups = {}
    for slug, counter in counts.items():
        spellings = sorted(counter, key=lambda n: (-counter[n], not _mixed_case(n),
                                                   first_seen[slug][n]))
        groups[slug] = TagGroup(slug, canonical.get(slug, spellings[0]), tuple(spellings))
    return groups


def _mixed_case(name: str) -> bool:
    return name != name.lower() and name != name.upper()


def related(tags_of: Sequence[frozenset[str]], members: Mapping[str, Sequence[int]],
            count: int = RELATED_COUNT, window: int = RELATED_WINDOW) -> list[list[int]]:
    """For each article (by index, newest first), up to `count` related article indices.

    Articles score by the tags they share, each weighted by its rarity (sharing "Krysten
    Ritter" says more than sharing "Netflix"); ties go to the nearer in time, then to the
    lower index. `members` maps a tag slug to its article indices in ascending order; each
    shared tag adds its weight to the `window` articles on each side of the article there.
    """
    weight = {slug: 1 / math.log(2 + len(ids)) for slug, ids in members.items()}
    result = []
    for me, my_tags in enumerate(tags_of):
        # Tags in sorted order, so the float sums are the same in every process (set order
        # depends on the string hash seed, and float addition on the order).
        windows = []
        for slug in sorted(my_tags):
            ids = members[slug]
            at = bisect_left(ids, me)
            windows.append((weight[slug], ids[max(0, at - window):at], ids[at + 1:at + window + 1]))
        result.append(_best(me, windows, count))
    return result


def _best(me: int, windows: Sequence[tuple[float, Sequence[int], Sequence[int]]],
          count: int) -> list[int]:
    """The `count` best of the articles in `windows` (weight, before `me`, after `me`), by
    score descending, then |o - me| ascending, then o ascending.

    An article in one window only scores that window's weight, like every other there, so
    only the `count` nearest on each side can be among the best: the rest are never scored
    (scoring every neighbour was most of the time of related()). An article in several
    windows scores 0.0 + their weights in window order: the same floats as summing them all.
    """
    ranked: list[tuple[float, int, int]] = []
    shared: set[int] = set()
    if len(windows) > 1:
        near = [set(before).union(after) for _, before, after in windows]
        for i, mine in enumerate(near):
            for other in near[i + 1:]:
                shared |= mine & other
        weights = [w for w, _, _ in windows]
        for o in shared:
            score = 0.0
            for w, ids in zip(weights, near, strict=True):
                if o in ids:
                    score += w
            ranked.append((-score, abs(o - me), o))
    in_shared = shared.__contains__
    for w, before, after in windows:
        for o in islice(filterfalse(in_shared, reversed(before)), count):
            ranked.append((-w, me - o, o))
        for o in islice(filterfalse(in_shared, after), count):
            ranked.append((-w, o - me, o))
    ranked.sort()
    return [o for _, _, o in ranked[:count]]
