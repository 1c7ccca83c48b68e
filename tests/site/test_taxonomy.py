"""group_tags and related: pure functions over plain values."""

from __future__ import annotations

import math
from collections import defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sitegen.site.taxonomy import RELATED_COUNT, TagGroup, group_tags, related
from sitegen.slugs import slugify


def related_for(tag_lists: list[list[str]], **kwargs: int) -> list[list[int]]:
    """Call related() the way site.assemble does: slugs per article, members per slug."""
    tags_of = [frozenset(slugify(t) for t in tags) for tags in tag_lists]
    members: dict[str, list[int]] = defaultdict(list)
    for index, slugs in enumerate(tags_of):
        for slug in sorted(slugs):
            members[slug].append(index)
    return related(tags_of, dict(members), **kwargs)


# --- group_tags ---------------------------------------------------------------------------

def test_spellings_merge_by_slug() -> None:
    groups = group_tags([["Jessica Jones"], ["jessica jones"], ["JESSICA JONES"]])
    assert list(groups) == ["jessica-jones"]
    assert set(groups["jessica-jones"].spellings) == {"Jessica Jones", "jessica jones", "JESSICA JONES"}


def test_most_used_spelling_wins() -> None:
    groups = group_tags([["jessica jones"], ["Jessica Jones"], ["Jessica Jones"], ["JESSICA JONES"]])
    assert groups["jessica-jones"] == TagGroup("jessica-jones", "Jessica Jones",
                                               ("Jessica Jones", "jessica jones", "JESSICA JONES"))


def test_tie_goes_to_first_seen_spelling_of_the_same_case_kind() -> None:
    assert group_tags([["NETFLIX"], ["netflix"]])["netflix"].name == "NETFLIX"
    assert group_tags([["netflix"], ["NETFLIX"]])["netflix"].name == "netflix"
    assert group_tags([["NetFlix"], ["Netflix"]])["netflix"].name == "NetFlix"
    assert group_tags([["Netflix"], ["NetFlix"]])["netflix"].name == "Netflix"


def test_three_spellings_once_each_show_the_mixed_case_one() -> None:
    """Newest first: the newest article's "jessica jones" used to name the tag."""
    groups = group_tags([["jessica jones"], ["JESSICA JONES"], ["Jessica Jones"]])
    assert groups["jessica-jones"] == TagGroup("jessica-jones", "Jessica Jones",
                                               ("Jessica Jones", "jessica jones", "JESSICA JONES"))


@pytest.mark.parametrize("order", [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1),
                                   (2, 1, 0)])
def test_on_a_tie_mixed_case_wins_whatever_the_order(order: tuple[int, int, int]) -> None:
    spellings = ["netflix", "Netflix", "NETFLIX"]
    assert group_tags([[spellings[i]] for i in order])["netflix"].name == "Netflix"


def test_the_most_used_spelling_wins_over_mixed_case() -> None:
    groups = group_tags([["Jessica Jones"], ["jessica jones"], ["jessica jones"]])
    assert groups["jessica-jones"].name == "jessica jones"
    groups = group_tags([["HBO"], ["Hbo"], ["HBO"]])
    assert groups["hbo"].name == "HBO"


def test_a_registered_name_still_wins_over_every_spelling() -> None:
    groups = group_tags([["jessica jones"], ["JESSICA JONES"], ["Jessica Jones"], ["JJ"]],
                        {"jessica-jones": "JESSICA JONES", "jj": "JESSICA JONES"})
    assert groups["jessica-jones"].name == "JESSICA JONES"
    assert groups["jessica-jones"].spellings[0] == "Jessica Jones"


def test_tie_order_of_spellings_follows_first_seen() -> None:
    groups = group_tags([["b TAG"], ["A tag"], ["a tag"], ["A tag"], ["b tag"], ["a tag"]])
    # "A tag" and "a tag" both twice: "A tag" seen first; "b TAG" and "b tag" are other slugs.
    assert groups["a-tag"].spellings == ("A tag", "a tag")
    assert groups["b-tag"].spellings == ("b TAG", "b tag")


def test_repeated_tag_in_one_article_counts_once() -> None:
    groups = group_tags([["marvel", "marvel", "marvel"], ["Marvel"], ["Marvel"]])
    assert groups["marvel"].name == "Marvel"


def test_different_tags_stay_separate() -> None:
    groups = group_tags([["Netflix", "Marvel"], ["Disney+"]])
    assert sorted(groups) == ["disney-plus", "marvel", "netflix"]
    assert groups["disney-plus"].name == "Disney+"
    assert groups["marvel"].spellings == ("Marvel",)


def test_punctuation_variants_merge() -> None:
    groups = group_tags([["Agents of S.H.I.E.L.D."], ["Agents of SHIELD"], ["agents of s.h.i.e.l.d."]])
    assert groups["agents-of-s-h-i-e-l-d"].name == "Agents of S.H.I.E.L.D."
    assert groups["agents-of-shield"].name == "Agents of SHIELD"


def test_no_articles_no_groups() -> None:
    assert group_tags([]) == {}
    assert group_tags([[], []]) == {}


# --- related ------------------------------------------------------------------------------

def test_never_more_than_three_and_never_itself() -> None:
    result = related_for([["Netflix"]] * 10)
    assert RELATED_COUNT == 3
    for me, ids in enumerate(result):
        assert len(ids) == 3
        assert me not in ids
        assert len(set(ids)) == len(ids)


def test_article_without_tags_has_no_related() -> None:
    assert related_for([[], ["Netflix"], ["Netflix"]]) == [[], [2], [1]]


def test_articles_sharing_nothing_are_not_related() -> None:
    assert related_for([["Netflix"], ["HBO"], ["FX"]]) == [[], [], []]


def test_fewer_candidates_than_count() -> None:
    assert related_for([["Marvel"], ["Marvel"], ["HBO"]]) == [[1], [0], []]


def test_rarer_shared_tag_beats_nearer_common_tag() -> None:
    # Article 0 shares "Netflix" with 1..6 (common) and "Krysten Ritter" with 7 only (rare).
    tag_lists = [["Netflix", "Krysten Ritter"]] + [["Netflix"]] * 6 + [["Krysten Ritter"]]
    result = related_for(tag_lists)
    assert result[0][0] == 7
    assert result[0][1:] == [1, 2]


def test_more_shared_tags_rank_higher() -> None:
    tag_lists = [["Marvel", "Netflix", "Defenders"], ["Marvel"], ["Netflix"],
                 ["Marvel", "Netflix", "Defenders"], ["Marvel", "Netflix"]]
    # 3 shares all three tags, 4 shares two, 1 and 2 one each (1 is nearer, so it comes first).
    assert related_for(tag_lists)[0] == [3, 4, 1]


def test_ties_go_to_the_nearer_article_in_time() -> None:
    result = related_for([["Netflix"]] * 7)
    assert result[3] == [2, 4, 1]
    assert result[0] == [1, 2, 3]
    assert result[6] == [5, 4, 3]


def test_related_is_deterministic() -> None:
    tag_lists = [["Netflix", "Marvel"], ["Marvel"], ["Netflix"], ["HBO", "Netflix"],
                 ["Marvel", "HBO"], ["Netflix", "Marvel"], ["HBO"]]
    first = related_for(tag_lists)
    for _ in range(5):
        assert related_for(tag_lists) == first


def test_related_independent_of_tag_iteration_order() -> None:
    tags_of = [frozenset({"a", "b"}), frozenset({"a"}), frozenset({"b"}), frozenset({"a", "b"})]
    members = {"a": [0, 1, 3], "b": [0, 2, 3]}
    reordered = {"b": [0, 2, 3], "a": [0, 1, 3]}
    assert related(tags_of, members) == related(tags_of, reordered)


def test_custom_count() -> None:
    assert all(len(ids) == 1 for ids in related_for([["x"]] * 5, count=1))


def test_window_bounds_candidates() -> None:
    result = related_for([["Netflix"]] * 20, window=2)
    assert sorted(result[10]) == [8, 9, 11]
    assert all(abs(other - 10) <= 2 for other in result[10])


@pytest.mark.parametrize("size", [1, 2, 50])
def test_one_result_list_per_article(size: int) -> None:
    assert len(related_for([["Netflix"]] * size)) == size


def reference_related(tags_of: list[frozenset[str]], members: dict[str, list[int]], count: int,
                      window: int) -> list[list[int]]:
    """related() spelled out: score every article in every shared tag's window, then sort."""
    result = []
    for me, my_tags in enumerate(tags_of):
        score: dict[int, float] = {}
        for slug in sorted(my_tags):
            ids = members[slug]
            at = ids.index(me)
            for other in ids[max(0, at - window):at + window + 1]:
                if other != me:
                    score[other] = score.get(other, 0.0) + 1 / math.log(2 + len(ids))
        ranked = sorted(score, key=lambda o: (-score[o], abs(o - me), o))
        result.append(ranked[:count])
    return result


@given(st.lists(st.lists(st.sampled_from("abcdefg"), max_size=5), max_size=80),
       st.integers(0, 5), st.integers(0, 12))
def test_related_matches_scoring_every_neighbour(tag_lists: list[list[str]], count: int,
                                                 window: int) -> None:
    tags_of = [frozenset(tags) for tags in tag_lists]
    members: dict[str, list[int]] = defaultdict(list)
    for index, slugs in enumerate(tags_of):
        for slug in slugs:
            members[slug].append(index)
    assert related(tags_of, dict(members), count=count, window=window) == \
        reference_related(tags_of, dict(members), count, window)
