"""IdentityMemo: a value is made once per key, entries hold the objects their keys name, and
the memo is emptied when full."""

from __future__ import annotations

from sitegen.memo import IdentityMemo


class Thing:
    def __init__(self, name: str) -> None:
        self.name = name


def test_a_value_is_made_once_per_key() -> None:
    memo: IdentityMemo[str] = IdentityMemo(10)
    made: list[str] = []
    thing = Thing("a")

    def make() -> str:
        made.append(thing.name)
        return thing.name.upper()

    assert memo.get(id(thing), (thing,), make) == "A"
    assert memo.get(id(thing), (thing,), make) == "A"
    assert made == ["a"]


def test_new_objects_never_get_an_old_objects_value() -> None:
    """Objects made and dropped one after another would often reuse an id; held by their
    entries, they cannot."""
    memo: IdentityMemo[str] = IdentityMemo(1000)
    for n in range(500):
        thing = Thing(f"t{n}")
        assert memo.get(id(thing), (thing,), lambda thing=thing: thing.name) == f"t{n}"


def test_a_full_memo_is_emptied_and_still_right() -> None:
    memo: IdentityMemo[int] = IdentityMemo(3)
    calls = 0

    def make(n: int) -> int:
        nonlocal calls
        calls += 1
        return n * n

    for _ in range(2):
        for n in range(5):
            assert memo.get(n, (), lambda n=n: make(n)) == n * n
    assert calls > 5  # forgotten values were made again


def test_cleared_it_makes_values_again_and_lets_go_of_their_objects() -> None:
    import gc
    import weakref

    memo: IdentityMemo[str] = IdentityMemo(10)
    thing = Thing("a")
    held = weakref.ref(thing)
    memo.get(id(thing), (thing,), lambda: "first")
    del thing
    gc.collect()
    assert held() is not None  # the entry holds it
    memo.clear()
    gc.collect()
    assert held() is None
    other = Thing("b")
    assert memo.get(id(other), (other,), lambda: "again") == "again"
