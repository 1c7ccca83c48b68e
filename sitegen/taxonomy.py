"""Grouping articles: tags by slug (with one display spelling), and related articles.

Pure functions over plain values, so the build and the dev server can call them on any subset
and tests can call them with hand-made inputs. Nothing here is quadratic in the number of
articles: related articles come from a bounded window in each shared tag's list.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sitegen.slugs import slugify

RELATED_COUNT = 3
RELATED_WINDOW = 30  # neighbours considered on each side in each shared tag's list


@dataclass(frozen=True)
class TagGroup:
    slug: str
    name: str  # the spelling most articles use
    spellings: tuple[str, ...]  # most used first


def group_tags(tag_lists: Sequence[Sequence[str]]) -> dict[str, TagGroup]:
    """Merge tags that share a slug; the display name is the spelling most articles use.

    `tag_lists` holds each article's tags, in the order articles should break ties (newest
    first): on a tie the spelling seen first wins, so the choice is stable.
    """
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    first_seen: dict[str, dict[str, int]] = defaultdict(dict)
    position = 0
    for tags in tag_lists:
        for name in dict.fromkeys(tags):
            slug = slugify(name)
            counts[slug][name] += 1
            first_seen[slug].setdefault(name, position)
            position += 1
    groups = {}
    for slug, counter in counts.items():
        spellings = sorted(counter, key=lambda n: (-counter[n], first_seen[slug][n]))
        groups[slug] = TagGroup(slug, spellings[0], tuple(spellings))
    return groups


def related(tags_of: Sequence[frozenset[str]], members: dict[str, list[int]],
            count: int = RELATED_COUNT, window: int = RELATED_WINDOW) -> list[list[int]]:
    """For each article (by index, newest first), up to `count` related article indices.

    Articles score by the tags they share, each weighted by its rarity (sharing "Krysten
    Ritter" says more than sharing "Netflix"); ties go to the nearer in time. `members` maps a
    tag slug to its article indices in order.
    """
    weight = {slug: 1 / math.log(2 + len(ids)) for slug, ids in members.items()}
    position = {slug: {a: i for i, a in enumerate(ids)} for slug, ids in members.items()}
    result = []
    for me, my_tags in enumerate(tags_of):
        score: dict[int, float] = defaultdict(float)
        # Tags in sorted order, so the float sums are the same in every process (set order
        # depends on the string hash seed, and float addition on the order).
        for slug in sorted(my_tags):
            ids = members[slug]
            at = position[slug][me]
            for other in ids[max(0, at - window):at + window + 1]:
                score[other] += weight[slug]
        score.pop(me, None)
        result.append(heapq.nsmallest(count, score, key=lambda o: (-score[o], abs(o - me), o)))
    return result
