"""snapshot.py: the last build kept on disk for the quick path. What is stored comes back equal,
articles are shared by the jobs that show them, the holders are exactly the jobs that show
each article, and damaged objects or deltas are never trusted."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from conftest import FIXED_NOW, article, write_site

from sitegen.incremental import snapshot
from sitegen.incremental.cache import CACHE_DIR, BuildCache
from sitegen.incremental.snapshot import FileStamp, OpenSnapshot, Untrusted
from sitegen.model import Article
from sitegen.pipeline.build import build
from sitegen.pipeline.stages import Settings, prepare
from sitegen.render.plan import PageJob
from sitegen.report import BuildOptions

CONFIG = ('title = "Desk"\nbase_url = "https://desk.example.com"\ntimezone = "UTC"\n'
          "per_page = 2\n\n[search]\nenabled = false\n")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = write_site(tmp_path / "site", {
        f"s{i}.md": article(title=f"S{i}", date=f"2021-0{1 + i}-0{1 + i}", tags=[f"T{i % 2}"],
                            body=f"Body {i}.\n") for i in range(5)}, CONFIG)
    build(BuildOptions(site_dir=site, now=FIXED_NOW))
    return site


def test_jobs_come_back_equal_and_share_their_articles(site: Path) -> None:
    plan = prepare(Settings(BuildOptions(site_dir=site, now=FIXED_NOW), BuildCache())).plan
    by_path = {job.path: job for job in plan.jobs}
    loaded = OpenSnapshot.load(site)
    assert loaded is not None
    stored = [loaded.job(i) for i in range(len(loaded.snapshot.jobs))]
    assert stored and all(job == by_path[job.path] for job in stored)
    # Not kept: the articles' own pages (planned again from the article).
    assert not any(isinstance(job, PageJob) and isinstance(job.context.get("article"), Article)
                   for job in stored)
    shown = [a for job in stored for a in _articles(job)]
    first = {a.source_path: a for a in shown}
    assert all(a is first[a.source_path] for a in shown)  # one object per article


def _articles(job: object) -> list[Article]:
    found: list[Article] = []

    def walk(value: object) -> None:
        if isinstance(value, Article):
            found.append(value)
        elif isinstance(value, (tuple, list)):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:  # type: ignore[attr-defined]
                walk(getattr(value, name))

    walk(job)
    return found


def test_holders_are_exactly_the_stored_jobs_that_show_each_article(site: Path) -> None:
    loaded = OpenSnapshot.load(site)
    assert loaded is not None
    jobs = [loaded.job(i) for i in range(len(loaded.snapshot.jobs))]
    expected: dict[str, set[int]] = {}
    for index, job in enumerate(jobs):
        for shown in _articles(job):
            expected.setdefault(shown.source_path, set()).add(index)
    assert {rel: set(indices) for rel, indices in loaded.snapshot.holders.items()} == expected
    assert set(expected) == set(loaded.snapshot.articles) == {f"content/s{i}.md" for i in range(5)}


def test_a_damaged_object_is_untrusted(site: Path) -> None:
    objects = site / CACHE_DIR / snapshot.OBJECTS_FILE
    loaded = OpenSnapshot.load(site)
    assert loaded is not None
    offset, length, _ = loaded.snapshot.jobs[0][1]
    data = bytearray(objects.read_bytes())
    data[offset + length // 2] ^= 0xFF
    objects.write_bytes(bytes(data))
    with pytest.raises(Untrusted):
        OpenSnapshot.load(site).job(0)  # type: ignore[union-attr]


def test_a_job_never_loads_outside_its_snapshot(site: Path) -> None:
    """Its articles are references that only a OpenSnapshot snapshot resolves."""
    loaded = OpenSnapshot.load(site)
    assert loaded is not None
    offset, length, _ = loaded.snapshot.jobs[0][1]
    data = (site / CACHE_DIR / snapshot.OBJECTS_FILE).read_bytes()[offset:offset + length]
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(data)  # noqa: S301


def test_a_torn_delta_is_dropped_and_the_ones_before_kept(site: Path) -> None:
    loaded = OpenSnapshot.load(site)
    assert loaded is not None
    path = next(iter(loaded.snapshot.sources))
    loaded.update({path: FileStamp(1, 2, "a")}, [], {}, {})
    delta = site / CACHE_DIR / snapshot.DELTA_FILE
    whole = delta.read_bytes()
    OpenSnapshot.load(site).update({path: FileStamp(3, 4, "b")}, [], {}, {})  # type: ignore[union-attr]
    delta.write_bytes(delta.read_bytes()[:len(whole) + 20])  # the second, torn
    again = OpenSnapshot.load(site)
    assert again is not None and again.snapshot.sources[path][:3] == (1, 2, "a")


def test_a_delta_of_another_index_is_ignored(site: Path) -> None:
    loaded = OpenSnapshot.load(site)
    assert loaded is not None
    path = next(iter(loaded.snapshot.sources))
    before = loaded.snapshot.sources[path]
    loaded.update({path: FileStamp(1, 2, "a")}, [], {}, {})
    delta = (site / CACHE_DIR / snapshot.DELTA_FILE).read_bytes()
    build(BuildOptions(site_dir=site, now=FIXED_NOW), use_cache=True)  # quick: nothing changed
    (site / "sitegen.toml").write_text(CONFIG.replace("Desk", "Desk 2"), encoding="utf-8")
    build(BuildOptions(site_dir=site, now=FIXED_NOW))  # full: a new index, its deltas gone
    (site / CACHE_DIR / snapshot.DELTA_FILE).write_bytes(delta)
    fresh = OpenSnapshot.load(site)
    assert fresh is not None and fresh.snapshot.sources[path][:3] == before[:3]
