"""Fingerprints of render jobs: equal data gives an equal fingerprint, in any process; any
change a template could show gives another."""

from __future__ import annotations

import copy
import dataclasses
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from markupsafe import Markup

from sitegen.incremental.fingerprint import Fingerprints
from sitegen.model import Article, ArticleLink, AuthorRef, Image, Variant
from sitegen.render.feeds import FeedSpec
from sitegen.render.plan import DataJob, FeedJob, PageJob
from sitegen.render.theme import image_asset


@dataclass(frozen=True)
class Item:
    title: str
    when: datetime
    body: Markup
    tags: tuple[str, ...]
    extra: dict[str, Any]
    count: int = 0
    link: Item | None = None


def item(**changes: Any) -> Item:
    base = Item("A title", datetime(2024, 5, 1, 12, tzinfo=UTC), Markup("<p>Body</p>"),
                ("a", "b"), {"x": 1, "y": [1.5, None, True]},
                link=Item("Other", datetime(2024, 4, 1, tzinfo=UTC), Markup(""), (), {}))
    return dataclasses.replace(base, **changes)


def job(**context: Any) -> PageJob:
    return PageJob("a/index.html", "a", "page.html", context)


def of(value: Any) -> str:
    return Fingerprints(b"salt").of(job(value=value))


def test_equal_data_in_other_objects_gives_the_same_fingerprint() -> None:
    shared = tuple(f"/page/{n}/" for n in range(40))  # long: memoized by id
    first = job(item=item(), pages=shared, again=item())
    second = job(**copy.deepcopy(dict(first.context)))
    assert Fingerprints(b"salt").of(first) == Fingerprints(b"salt").of(second)


@pytest.mark.parametrize("change", [
    {"title": "A title!"}, {"when": datetime(2024, 5, 1, 13, tzinfo=UTC)},
    {"body": Markup("<p>Body.</p>")}, {"body": "<p>Body</p>"}, {"tags": ("a",)},
    {"tags": ("b", "a")}, {"extra": {"y": [1.5, None, True], "x": 1}},
    {"extra": {"x": 1, "y": [1.5, None, 1]}}, {"extra": {"x": 1.0, "y": [1.5, None, True]}},
    {"count": 1}, {"link": None},
])
def test_any_change_a_template_could_show_changes_the_fingerprint(change: dict[str, Any]) -> None:
    assert of(item(**change)) != of(item())


def test_a_change_deep_in_a_shared_object_changes_every_job_that_holds_it() -> None:
    prints = Fingerprints(b"salt")
    pages = tuple(f"/page/{n}/" for n in range(40))
    before = prints.of(job(item=item(), pages=pages))
    assert prints.of(job(item=item(), pages=pages)) == before
    changed = (*pages[:-1], "/page/last/")
    assert Fingerprints(b"salt").of(job(item=item(), pages=changed)) != before
    other = item(link=item(title="Changed"))
    assert Fingerprints(b"salt").of(job(item=other, pages=pages)) != before


@pytest.mark.parametrize(("one", "two"), [
    ((1, 23), (12, 3)), (("ab", "c"), ("a", "bc")), ([None], ["None"]), ((1,), ("1",)),
    (date(2024, 1, 1), datetime(2024, 1, 1)), ((0,), (False,)), ({1, 2}, {1, 3}),
    (Path("a"), "a"), ({"a": ("b",)}, {"a": "b"}),
])
def test_values_that_differ_are_not_confused(one: Any, two: Any) -> None:
    assert of(one) != of(two)


def test_salt_path_and_data_all_count() -> None:
    data = DataJob("robots.txt", "robots", b"User-agent: *\n")
    assert Fingerprints(b"one").of(data) != Fingerprints(b"two").of(data)
    assert Fingerprints(b"one").of(data) != Fingerprints(b"one").of(
        dataclasses.replace(data, path="robots2.txt"))
    assert Fingerprints(b"one").of(data) != Fingerprints(b"one").of(
        dataclasses.replace(data, data=b"User-agent: x\n"))


def test_fingerprints_are_the_same_in_another_process() -> None:
    """No hash() of a str (seeded per process) may reach the digest."""
    script = ("from tests.incremental.test_fingerprint import item, of; "
              "print(of(item(extra={'k': {'a', 'b'}, 'z': frozenset({'q', 'r'})})))")
    runs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True, cwd=Path(__file__).parents[2],
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2")}
    assert len(runs) == 1


def _photo(name: str, key: str = "images/still.jpg#0.5,0.5") -> Image:
    variant = Variant(f"/_img/{name}.webp", f"https://example.org/_img/{name}.webp", 800, 450,
                      "image/webp", 1234, "16:9")
    return Image(f"/_img/{name}.jpg", f"https://example.org/_img/{name}.jpg", "A still", 800,
                 450, "image/jpeg", 5678, (variant,), key=key)


def _story(image: Image | None, related: Image | None = None) -> Article:
    when = datetime(2024, 5, 1, tzinfo=UTC)
    return Article("content/a.md", "A", "a", "/a/", "https://example.org/a/", when, None, None,
                   AuthorRef("ann", "Ann", "", "/authors/ann/"), (), Markup(""), "",
                   Markup(""), 1, 1, False, None, None, (), {}, lead_image=image,
                   related=(ArticleLink("B", "/b/", when, related),))


def test_a_processed_image_counts_only_where_it_is_read() -> None:
    """A processed image's variants are not in the data's digest: a page that read it names
    it (`image_asset`), and only then does a new version of the photo change its
    fingerprint. One published as it is counts in full."""
    old, new = _photo("still-1a2b"), _photo("still-3c4d")
    name = image_asset(old.key)
    before = Fingerprints(b"salt")
    data = before.of(job(image=old))
    shown, carried = before.settle(data, {name}), before.settle(data, set())
    now = Fingerprints(b"salt")
    assert now.of(job(image=new)) == data
    assert now.again(data, shown) != shown and now.again(data, carried) == carried
    assert Fingerprints(b"salt").again(data, shown) is None  # not in this build's data
    assert of(dataclasses.replace(old, key="")) != of(dataclasses.replace(new, key=""))
    assert of(old) != of(dataclasses.replace(old, alt="Another still"))


def test_a_feed_counts_its_articles_lead_images_and_not_their_related_ones() -> None:
    def feed(article: Article) -> FeedJob:
        return FeedJob("feed.xml", "site", FeedSpec(
            "rss", "T", "", "https://example.org/", "https://example.org/feed.xml", "en",
            (article,), False, article.date))

    old, new = _photo("still-1a2b"), _photo("still-3c4d")
    assert Fingerprints(b"salt").of(feed(_story(old))) != \
        Fingerprints(b"salt").of(feed(_story(new)))
    assert Fingerprints(b"salt").of(feed(_story(None, old))) == \
        Fingerprints(b"salt").of(feed(_story(None, new)))
