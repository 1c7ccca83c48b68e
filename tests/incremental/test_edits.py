"""edits.py: the body-only edit both quick paths share."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXED_NOW, article, write_site

from sitegen.config import load_config
from sitegen.content.images import LocalImages
from sitegen.content.sources import read_source
from sitegen.incremental.cache import BuildCache
from sitegen.incremental.edits import reread, with_new_bodies
from sitegen.pipeline.build import prepare
from sitegen.report import BuildOptions
from sitegen.site.assemble import source_urls


def setup(tmp_path: Path):  # type: ignore[no-untyped-def]
    site = write_site(tmp_path / "site", {
        "a.md": article(title="A", date="2021-01-01", body="First.\n"),
        "b.md": article(title="B", date="2021-01-02", body="See [A](a.md).\n")})
    prepared = prepare(BuildOptions(site_dir=site, now=FIXED_NOW), BuildCache())
    return site, load_config(site), prepared


def test_reread_gives_the_new_source_only_when_just_the_body_changed(tmp_path: Path) -> None:
    site, config, _ = setup(tmp_path)
    path = site / "content" / "a.md"
    old = read_source(path, config)
    path.write_text(path.read_text(encoding="utf-8") + "\nMore words.\n", encoding="utf-8")
    new = reread(old, config)
    assert new is not None and "More words." in new.body
    path.write_text(path.read_text(encoding="utf-8").replace('title: "A"', 'title: "A2"'),
                    encoding="utf-8")
    assert reread(old, config) is None
    path.write_text("---\ntitle: [broken\n---\n", encoding="utf-8")
    assert reread(old, config) is None


def test_new_bodies_give_the_articles_a_fresh_assemble_would(tmp_path: Path) -> None:
    site, config, prepared = setup(tmp_path)
    path = site / "content" / "b.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nAnd [A again](a.md).\n",
                    encoding="utf-8")
    old = next(a for a in prepared.site.articles if a.title == "B")
    new = reread(read_source(path, config), config)
    assert new is not None
    images = LocalImages(prepared.theme.static_files, config.base_path, config.base_url)
    swapped = with_new_bodies([(old, new)], config, images, source_urls(prepared.site))
    assert swapped is not None
    fresh = prepare(BuildOptions(site_dir=site, now=FIXED_NOW), BuildCache()).site
    assert list(swapped) == [old.source_path]  # keyed by source path
    assert swapped[old.source_path] == next(a for a in fresh.articles if a.title == "B")
    assert 'href="/2021/01/a/">A again' in swapped[old.source_path].content


def test_a_body_that_does_not_render_or_adds_an_image_gives_none(tmp_path: Path) -> None:
    site, config, prepared = setup(tmp_path)
    old = next(a for a in prepared.site.articles if a.title == "A")
    source = read_source(site / "content" / "a.md", config)
    images = LocalImages(prepared.theme.static_files, config.base_path, config.base_url)
    urls = source_urls(prepared.site)
    broken = source.__class__(**{**source.__dict__, "body": '::: youtube nope title="T"\n:::\n'})
    assert with_new_bodies([(old, broken)], config, images, urls) is None
    pictured = source.__class__(**{**source.__dict__,
                                   "body": "![A cast photo](https://img.example.com/c.jpg)\n"})
    assert with_new_bodies([(old, pictured)], config, images, urls) is None
