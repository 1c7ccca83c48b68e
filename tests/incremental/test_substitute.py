"""substitute.py: replacing objects by identity inside frozen data, and finding who holds what."""

from __future__ import annotations

from dataclasses import dataclass

from sitegen.incremental.substitute import Swapper, holders


@dataclass(frozen=True)
class Leaf:
    name: str


@dataclass(frozen=True)
class Group:
    name: str
    leaves: tuple[Leaf, ...]


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
    swap = Swapper({id(b): new_b}, opaque=(Leaf,))
    one, two, three = (swap(page) for page in pages)
    assert two is pages[1]  # holds nothing swapped: the very same object
    assert one is not pages[0] and one.context["items"] is pages[0].context["items"]
    assert one.context["group"].leaves == (a, new_b)
    assert three.context["group"] is one.context["group"]  # a shared group is rebuilt once
    assert three.context["nested"][0]["deep"] == (new_b,)
    assert pages[0].context["group"].leaves == (a, b)  # the old data is untouched


def test_opaque_objects_are_not_looked_into() -> None:
    inner = Leaf("inner")
    outer = Group("outer", (inner,))
    swap = Swapper({id(inner): Leaf("new")}, opaque=(Group,))
    assert swap(outer) is outer
    assert swap((outer, inner))[1] == Leaf("new")


def test_holders_index_each_leaf_by_the_values_that_reach_it() -> None:
    a, b, c = Leaf("a"), Leaf("b"), Leaf("c")
    group = Group("g", (a, b))
    values = [{"group": group}, {"items": (c,)}, Page("p", {"x": [a]}), b"bytes", "text"]
    found = holders(values, Leaf)
    assert found == {id(a): [0, 2], id(b): [0], id(c): [1]}


def test_holders_and_swapper_agree_on_what_changes() -> None:
    leaves = [Leaf(str(i)) for i in range(30)]
    groups = [Group(f"g{i}", tuple(leaves[i::3])) for i in range(3)]
    values = [Page(f"p{i}", {"group": groups[i % 3], "item": leaves[i]}) for i in range(30)]
    index = holders(values, Leaf)
    target = leaves[7]
    swap = Swapper({id(target): Leaf("seven")}, opaque=(Leaf,))
    changed = {i for i, value in enumerate(values) if swap(value) is not value}
    assert changed == set(index[id(target)])
