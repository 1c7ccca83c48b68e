"""substitute.py: replacing objects named by a key inside frozen data, and finding who holds what."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from sitegen.incremental.substitute import Swapper, holders


@dataclass(frozen=True)
class Leaf:
    name: str


@dataclass(frozen=True)
class Group:
    name: str
    leaves: tuple[Leaf, ...]


@dataclass(frozen=True)
class Box:
    name: str
    inside: object = None


NAME = attrgetter("name")


@dataclass(frozen=True)
class Page:
    path: str
    context: dict[str, object]


def test_a_replaced_object_is_put_in_every_place_that_holds_it() -> None:
    a, b, c = Leaf("a"), Leaf("b"), Leaf("c")
    group = Group("g", (a, b))
    pages = [Page("one", {"group": group, "items": (a,)}), Page("two", {"items": (c,)}),
             Page("three", {"group": group, "nested": [{"deep": (b,)}]})]
    new_b = Leaf("b2")
    swap = Swapper(Leaf, NAME, {"b": new_b})
    one, two, three = (swap(page) for page in pages)
    assert two is pages[1]  # holds nothing swapped: the very same object
    assert one is not pages[0] and one.context["items"] is pages[0].context["items"]
    assert one.context["group"].leaves == (a, new_b)
    assert three.context["group"] is one.context["group"]  # a shared group is rebuilt once
    assert three.context["nested"][0]["deep"] == (new_b,)
    assert pages[0].context["group"].leaves == (a, b)  # the old data is untouched


def test_objects_of_the_kind_are_not_looked_into() -> None:
    inner = Box("inner")
    outer = Box("outer", inner)
    swap = Swapper(Box, NAME, {"inner": Box("new")})
    assert swap(outer) is outer
    assert swap((outer, inner))[1] == Box("new")


def test_every_object_with_a_named_key_is_replaced_and_no_other() -> None:
    """By key, not identity: two equal but distinct leaves named "b" both go; "a" stays."""
    kept, first, second = Leaf("a"), Leaf("b"), Leaf("b")
    new = Leaf("b2")
    result = Swapper(Leaf, NAME, {"b": new})((kept, first, second))
    assert result[0] is kept and result[1] is new and result[2] is new


def test_holders_index_each_leaf_by_the_values_that_reach_it() -> None:
    a, b, c = Leaf("a"), Leaf("b"), Leaf("c")
    group = Group("g", (a, b))
    values = [{"group": group}, {"items": (c,)}, Page("p", {"x": [a]}), b"bytes", "text"]
    found = holders(values, Leaf, NAME)
    assert found == {"a": [0, 2], "b": [0], "c": [1]}


def test_holders_and_swapper_agree_on_what_changes() -> None:
    leaves = [Leaf(str(i)) for i in range(30)]
    groups = [Group(f"g{i}", tuple(leaves[i::3])) for i in range(3)]
    values = [Page(f"p{i}", {"group": groups[i % 3], "item": leaves[i]}) for i in range(30)]
    index = holders(values, Leaf, NAME)
    swap = Swapper(Leaf, NAME, {"7": Leaf("seven")})
    changed = {i for i, value in enumerate(values) if swap(value) is not value}
    assert changed == set(index["7"])


def test_holders_look_into_named_tuples_subclasses_and_shared_containers_once() -> None:
    """The kind's subclasses count as the kind; a named tuple is looked into; a container
    met again (a tag shared by pages) gives the same answer; a value reaching one leaf by
    two ways is listed once for it; a class object itself holds nothing."""
    from collections import namedtuple

    class Special(Leaf):
        pass

    Pair = namedtuple("Pair", "left right")
    a, b, s = Leaf("a"), Leaf("b"), Special("s")
    shared = Group("shared", (a, b))
    values = [Pair(shared, a), (shared,), {"x": s, "y": Leaf}, [Group("g", ()), 3, None]]
    assert holders(values, Leaf, NAME) == {"a": [0, 1], "b": [0, 1], "s": [2]}
