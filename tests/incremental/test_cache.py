"""The persistent build cache and output reuse: faster, never different."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import subprocess
import sys
import types
from pathlib import Path

import pytest
from conftest import FIXED_NOW, file_hashes

from sitegen import config as config_module
from sitegen import model as model_module
from sitegen import report as report_module
from sitegen.config import load_config
from sitegen.content import markdown as markdown_module
from sitegen.content.markdown import MarkdownRenderer, RenderedBody
from sitegen.errors import BuildError
from sitegen.incremental import cache as cache_module
from sitegen.incremental import snapshot
from sitegen.incremental.cache import (
    CACHE_DIR,
    CACHE_FILE,
    FORMAT,
    MAGIC,
    OUTPUTS_FILE,
    BuildCache,
    matches,
    record_of,
    schema,
    stamp,
)
from sitegen.model import Source
from sitegen.pipeline import stages
from sitegen.pipeline.build import build
from sitegen.pipeline.stages import Settings, prepare
from sitegen.render import plan as plan_module
from sitegen.report import BuildOptions
from sitegen.write.writer import spare_of

ARTICLE = """---
title: "{title}"
author: "Dana Whitfield"
date: 2021-0{month}-1{day}
tags: [{tags}]
---

{body}
"""

TAGS = ["Jessica Jones", "Netflix", "The Defenders", "Daredevil", "Renewals"]


def make_site(root: Path, count: int = 12) -> Path:
    (root / "content").mkdir(parents=True)
    (root / "sitegen.toml").write_text(
        'title = "Cache Desk"\nbase_url = "https://cache.example"\ntimezone = "UTC"\n'
        "per_page = 4\n", encoding="utf-8")
    for i in range(count):
        tags = ", ".join(f'"{TAGS[(i + k) % len(TAGS)]}"' for k in range(2))
        (root / "content" / f"story-{i}.md").write_text(ARTICLE.format(
            title=f"Story number {i}", month=1 + i % 9, day=i % 10, tags=tags,
            body=f"Paragraph {i} about a renewal, with [a link](/tags/netflix/)."),
            encoding="utf-8")
    return root


def run_build(site: Path, out: Path, use_cache: bool = True, workers: int = 1):
    # These tests are about the full path's cache (a build with nothing changed would take
    # the quick path, tested in test_quick.py): without the snapshot it has nothing to go on.
    snapshot.forget(site)
    return build(BuildOptions(site_dir=site, output_dir=out, now=FIXED_NOW, workers=workers),
                 use_cache=use_cache)


def inodes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_ino
            for p in folder.rglob("*") if p.is_file()}


def test_warm_build_reuses_every_file_without_rewriting_it(tmp_path: Path) -> None:
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    run_build(site, out)
    before = inodes(out)
    run_build(site, out)
    after = inodes(out)
    del before[".sitegen-manifest.json"], after[".sitegen-manifest.json"]
    assert after == before  # same inodes: linked from the previous site, not written again


def test_one_changed_article_rewrites_only_what_shows_it(tmp_path: Path) -> None:
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    run_build(site, out)
    before = inodes(out)
    story = site / "content" / "story-3.md"
    story.write_text(story.read_text(encoding="utf-8") + "\nOne more sentence.\n",
                     encoding="utf-8")
    run_build(site, out)
    after = inodes(out)
    changed = {path for path in after if before.get(path) != after[path]}
    article = "2021/04/story-number-3/index.html"
    assert article in changed
    assert "2021/05/story-number-4/index.html" not in changed  # a neighbour's page shows
    assert "css/style.css" not in changed                     # only its title and URL
    assert len(changed) < len(after) / 2, sorted(changed)


def test_an_edited_article_rewrites_only_the_list_pages_that_show_it(tmp_path: Path) -> None:
    """Tag and author pages get the tag's or author's identity and count, not all its
    articles, so an edit leaves the pages that do not list the article alone."""
    site, out = make_site(tmp_path / "site", count=40), tmp_path / "out"
    run_build(site, out)
    run_build(site, out)
    before = inodes(out)
    story = site / "content" / "story-8.md"  # the newest article: tags Daredevil, Renewals
    story.write_text(story.read_text(encoding="utf-8") + "\nAn update.\n", encoding="utf-8")
    run_build(site, out)
    after = inodes(out)
    changed = {path for path in after if before.get(path) != after[path]}
    assert {"tags/daredevil/index.html", "tags/renewals/index.html",
            "2021/09/story-number-8/index.html"} <= changed
    assert "tags/daredevil/page/3/index.html" in after
    assert "tags/daredevil/page/3/index.html" not in changed
    assert not any(path.startswith("authors/") and "/page/" in path for path in changed)


def test_a_replaced_image_rewrites_only_the_files_that_show_it(tmp_path: Path) -> None:
    """Five articles, two of which show a photo: a cached build after the photo is replaced
    writes again exactly the files that show it (each page's record names the static files
    and the processed images its template read), not those whose data only carries it (a
    neighbour's link), and its output equals a build without the cache."""
    from PIL import Image

    site, out = make_site(tmp_path / "site", count=5), tmp_path / "out"
    still = site / "static" / "images" / "still.jpg"
    still.parent.mkdir(parents=True)
    Image.new("RGB", (900, 600), (200, 0, 0)).save(still)
    for i in (1, 3):
        story = site / "content" / f"story-{i}.md"
        story.write_text(story.read_text(encoding="utf-8").replace(
            "tags:", 'image: "/images/still.jpg"\nimage_alt: "A still"\ntags:', 1),
            encoding="utf-8")
    run_build(site, out)
    run_build(site, out)  # the spare holds the same site: reuse is by fingerprint alone
    before, old = inodes(out), file_hashes(out)
    variants = {p.name for p in (out / "_img").iterdir()}
    pages = {rel for rel in old if rel.endswith((".html", ".xml", ".json"))
             and not rel.startswith(("pagefind/", "."))}  # what sitegen renders
    showing = {rel for rel in pages if any(
        name in (out / rel).read_text(encoding="utf-8") for name in variants)}
    assert {"2021/02/story-number-1/index.html", "2021/04/story-number-3/index.html",
            "index.html"} <= showing
    replacement = still.with_name("new.jpg")
    Image.new("RGB", (900, 600), (0, 0, 200)).save(replacement)
    replacement.replace(still)
    report = run_build(site, out)
    assert report.images_encoded > 0
    after, new = inodes(out), file_hashes(out)
    rewritten = {path for path in after if before.get(path) != after[path]}
    changed = {rel for rel in pages if old[rel] != new.get(rel)}
    assert changed == showing and rewritten & pages == showing
    untouched = {"404.html", "css/style.css", "tags/index.html", "authors/index.html"}
    assert untouched <= set(after) and not untouched & rewritten, sorted(rewritten)
    fresh = tmp_path / "fresh"
    run_build(site, fresh, use_cache=False)
    assert file_hashes(out) == file_hashes(fresh)


@pytest.mark.parametrize("workers", [1, 2])
def test_output_is_identical_with_and_without_the_cache(tmp_path: Path, workers: int) -> None:
    site = make_site(tmp_path / "site")
    cold = run_build(site, tmp_path / "cold", use_cache=False, workers=workers)
    run_build(site, tmp_path / "warm", workers=workers)
    run_build(site, tmp_path / "warm", workers=workers)  # every file reused
    assert cold.articles == 12
    assert file_hashes(tmp_path / "cold") == file_hashes(tmp_path / "warm")


def test_output_is_identical_with_one_worker_or_many(tmp_path: Path) -> None:
    # Enough articles that the work is really split over forked processes.
    site = make_site(tmp_path / "site", count=300)
    run_build(site, tmp_path / "one", use_cache=False, workers=1)
    run_build(site, tmp_path / "two", use_cache=False, workers=2)
    one, two = file_hashes(tmp_path / "one"), file_hashes(tmp_path / "two")
    assert len(one) > 600
    assert one == two


def edit(site: Path, step: int) -> None:
    """The kinds of change a newsroom makes between builds, one per step."""
    content = site / "content"
    if step == 0:  # a body edited
        story = content / "story-3.md"
        story.write_text(story.read_text(encoding="utf-8") + "\nA late correction.\n",
                         encoding="utf-8")
    elif step == 1:  # an article added under a new tag
        (content / "late.md").write_text(ARTICLE.format(
            title="Late news", month=9, day=9, tags='"Breaking"', body="Just in."),
            encoding="utf-8")
    elif step == 2:  # a title changed: lists, neighbours and feeds change
        story = content / "story-7.md"
        story.write_text(story.read_text(encoding="utf-8").replace(
            "Story number 7", "Story number seven"), encoding="utf-8")
    elif step == 3:  # an article removed, and its tag with it
        (content / "late.md").unlink()
    elif step == 4:  # nothing changed
        pass


def test_builds_through_the_spare_equal_builds_without_the_cache(tmp_path: Path) -> None:
    """From the third build on, the new site is the site before last brought up to date (the
    spare) and swapped in; after every kind of change it equals a build from nothing."""
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    run_build(site, out)
    run_build(site, out)
    spare = spare_of(out)
    assert spare.is_dir()
    for step in range(5):
        edit(site, step)
        spare_folder = spare.stat().st_ino
        run_build(site, out)
        assert out.stat().st_ino == spare_folder, step  # the spare became the output
        reference = tmp_path / f"reference-{step}"
        run_build(site, reference, use_cache=False)
        assert file_hashes(out) == file_hashes(reference), step


def test_a_spare_changed_behind_sitegen_s_back_is_never_trusted(tmp_path: Path) -> None:
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    run_build(site, out)
    run_build(site, out)
    spare = spare_of(out)
    page = spare / "2021/04/story-number-3/index.html"
    page.unlink()
    page.write_text("<p>an old copy someone left</p>", encoding="utf-8")
    (spare / "index.html").unlink()  # deleted
    (spare / "stray").mkdir()
    (spare / "stray" / "note.txt").write_text("not part of the site", encoding="utf-8")
    # A spare file shares its inode with the live output's: edited in place, both change.
    shared = "2021/05/story-number-4/index.html"
    assert (spare / shared).stat().st_ino == (out / shared).stat().st_ino
    with open(spare / shared, "a", encoding="utf-8") as handle:
        handle.write("<!-- edited by hand -->")
    run_build(site, out)
    run_build(site, tmp_path / "reference", use_cache=False)
    assert file_hashes(out) == file_hashes(tmp_path / "reference")


def test_no_cache_neither_reads_nor_writes_the_cache(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    run_build(site, tmp_path / "out", use_cache=False)
    assert not (site / CACHE_DIR).exists()


def test_cache_folder_ignores_itself_for_git(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    run_build(site, tmp_path / "out")
    assert (site / CACHE_DIR / ".gitignore").read_text(encoding="utf-8") == "*\n"


def damage_flip(data: bytes) -> bytes:
    at = len(data) - 100
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


@pytest.mark.parametrize("damage", [
    pytest.param(lambda data: data[:len(data) // 2], id="truncated"),
    pytest.param(damage_flip, id="flipped-byte"),
    pytest.param(lambda data: b"not a cache at all", id="garbage"),
    pytest.param(lambda data: b"", id="empty"),
    pytest.param(lambda data: data.replace(b"\n" + FORMAT + b"\n", b"\n0 old\n", 1),
                 id="other-version"),
])
def test_damaged_cache_is_detected_and_rebuilt_never_trusted(tmp_path: Path, damage) -> None:
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    run_build(site, out)
    expected = file_hashes(out)
    cache_file = site / CACHE_DIR / CACHE_FILE
    cache_file.write_bytes(damage(cache_file.read_bytes()))
    report = run_build(site, out)
    assert any(CACHE_DIR in w.file for w in report.warnings), report.warnings
    assert file_hashes(out) == expected
    assert BuildCache.load(site).problem is None  # replaced by a good one


def test_damaged_output_records_are_detected_and_never_trusted(tmp_path: Path) -> None:
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    run_build(site, out)
    expected = file_hashes(out)
    records = site / CACHE_DIR / OUTPUTS_FILE
    records.write_bytes(damage_flip(records.read_bytes()))
    report = run_build(site, out)
    assert [str(w) for w in report.warnings] == [
        f"{CACHE_DIR}/: the build cache was damaged (checksum mismatch); rebuilt it"]
    assert file_hashes(out) == expected
    assert BuildCache.load(site).problem is None


def test_sources_and_bodies_are_written_only_when_they_changed(tmp_path: Path) -> None:
    """The large file is not rewritten by a build that read and rendered nothing new."""
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    run_build(site, out)
    content, records = (site / CACHE_DIR / name for name in (CACHE_FILE, OUTPUTS_FILE))
    first = content.stat().st_ino, records.stat().st_ino
    run_build(site, out)
    assert content.stat().st_ino == first[0] and records.stat().st_ino != first[1]
    story = site / "content" / "story-2.md"
    story.write_text(story.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    run_build(site, out)
    assert content.stat().st_ino != first[0]
    assert BuildCache.load(site).cached_source(story) is not None  # the new version is kept


def test_sources_and_bodies_saved_in_chunks_load_as_they_were(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """The build file holds its sources in chunks (a pickle each): every source comes back,
    every body too (a build from the loaded cache renders no Markdown, and gives the articles
    a build without the cache gives), a body whose source file is gone as well; and each
    source's Markdown is on disk once, shared with the keys of its bodies."""
    monkeypatch.setattr(cache_module, "SAVE_CHUNK", 5)  # the 12 stories in 3 chunks
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    run_build(site, out)
    saved = BuildCache.load(site)
    saved.use_config(load_config(site))
    orphan = ("Markdown of an article since deleted", "https://example.com/gone/")
    saved.store_body(*orphan, RenderedBody("<p>Gone.</p>", "<p>Gone.</p>", 1, (), orphan[1]))
    saved.save_sources(site)
    loaded = BuildCache.load(site)
    assert loaded.problem is None
    assert len(loaded.sources()) == 12 and loaded.sources() == saved.sources()
    gone = loaded.cached_body(*orphan)
    assert gone is not None and gone.html == "<p>Gone.</p>"
    data = (site / CACHE_DIR / CACHE_FILE).read_bytes()
    for entry in loaded.sources().values():
        assert data.count(entry.source.body.encode()) == 1  # one string with its bodies' keys

    renders: list[str] = []
    render = MarkdownRenderer.render

    def counting(self: MarkdownRenderer, markdown: str, *args: object) -> RenderedBody:
        renders.append(markdown)
        return render(self, markdown, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(MarkdownRenderer, "render", counting)
    options = BuildOptions(site_dir=site, now=FIXED_NOW, workers=1)
    cached = prepare(Settings(options, loaded)).site.articles
    assert renders == []  # every body came from the loaded cache
    fresh = prepare(Settings(options, BuildCache())).site.articles
    assert len(renders) == 12  # the counter sees renders
    assert [a.content for a in cached] == [a.content for a in fresh]


def test_cache_whose_checksum_matches_but_content_lies_is_not_trusted(tmp_path: Path) -> None:
    """A cache claiming a stale body for an article must not leak into the output: bodies
    are keyed by the Markdown itself, so an edited article can never hit an old entry."""
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    run_build(site, out)
    story = site / "content" / "story-5.md"
    story.write_text(story.read_text(encoding="utf-8").replace("Paragraph 5", "Paragraph FIVE"),
                     encoding="utf-8")
    os.utime(story, ns=(1, 1))  # an old timestamp: only the content hash can tell
    run_build(site, out)
    page = (out / "2021/06/story-number-5/index.html").read_text(encoding="utf-8")
    assert "Paragraph FIVE" in page


def test_touched_but_unchanged_source_is_a_cache_hit(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    config = load_config(site)
    cache = BuildCache()
    cache.use_config(config)
    path = site / "content" / "story-1.md"
    source = Source.__new__(Source)  # any object: the cache stores what it is given
    cache.store_source(path, source, stamp(path))
    os.utime(path, ns=(10**18, 10**18))
    assert cache.cached_source(path) is source
    path.write_text(path.read_text(encoding="utf-8") + "changed\n", encoding="utf-8")
    assert cache.cached_source(path) is None


def test_an_article_saved_while_the_build_reads_it_is_read_again_next_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An editor saves while the build reads the file: that build has the old text, and the
    cache must not vouch for it as the new file's, so the next build shows the new text."""
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    story = site / "content" / "story-5.md"
    real_read = stages.read_source

    def read_then_save(path: Path, config: object):  # type: ignore[no-untyped-def]
        source = real_read(path, config)  # type: ignore[arg-type]
        if path == story:
            story.write_text(story.read_text(encoding="utf-8").replace(
                "Paragraph 5", "Paragraph FIVE, saved meanwhile"), encoding="utf-8")
        return source

    with monkeypatch.context() as patch:
        patch.setattr(stages, "read_source", read_then_save)
        run_build(site, out)
    page = out / "2021/06/story-number-5/index.html"
    assert "saved meanwhile" not in page.read_text(encoding="utf-8")  # it read the old text
    run_build(site, out)
    assert "Paragraph FIVE, saved meanwhile" in page.read_text(encoding="utf-8")


def test_the_format_changes_with_the_shape_of_what_the_cache_pickles() -> None:
    """A field added to a pickled class (as `[images]` was to Config) must make older caches
    unreadable by itself: their objects lack the field, and comparing them raised."""
    def module_with(*fields: str) -> types.ModuleType:
        module = types.ModuleType("shapes")
        module.Settings = dataclasses.make_dataclass("Settings", [(f, str) for f in fields])
        module.Settings.__module__ = "shapes"
        return module

    assert schema(module_with("title")) == schema(module_with("title"))
    assert schema(module_with("title")) != schema(module_with("title", "images"))
    assert schema(module_with("title")) != schema(module_with("headline"))
    assert cache_module.FORMAT.endswith(schema(
        model_module, config_module, report_module, markdown_module, plan_module,
        cache_module).encode())


def test_config_change_starts_from_an_empty_cache(tmp_path: Path) -> None:
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    run_build(site, out)
    toml = site / "sitegen.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("Cache Desk", "Cache Bureau"),
                    encoding="utf-8")
    run_build(site, out)
    assert "Cache Bureau" in (out / "index.html").read_text(encoding="utf-8")
    assert "Cache Desk" not in (out / "2021/02/story-number-1/index.html").read_text(
        encoding="utf-8")


def test_cli_build_twice_then_no_cache(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    command = [sys.executable, "-m", "sitegen", "build", "-s", str(site), "-o",
               str(tmp_path / "out")]
    for extra in ([], [], ["--no-cache", "-j", "1", "-q"]):
        result = subprocess.run(command + extra, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "Built 12 articles" in result.stdout
        assert "\x1b[" not in result.stderr  # no progress bar when not on a terminal


def test_a_cache_in_the_previous_format_is_rebuilt_not_trusted(tmp_path: Path) -> None:
    """Format 1 pickled Sources without `expires`: loading them would break the build."""
    site = make_site(tmp_path / "site", count=2)
    payload = pickle.dumps((None, {}, {}, {}, None))
    (site / CACHE_DIR).mkdir()
    (site / CACHE_DIR / CACHE_FILE).write_bytes(
        MAGIC + b"1 0.1.0\n" + hashlib.sha256(payload).hexdigest().encode() + b"\n\n" + payload)
    result = run_build(site, tmp_path / "out")
    assert [str(w) for w in result.warnings] == [
        f"{CACHE_DIR}/: the build cache is from another version of sitegen; rebuilt it"]
    assert result.articles == 2


def test_an_output_file_matches_its_record_until_it_is_changed(tmp_path: Path) -> None:
    """The one intact check (the full path's reuse and the quick path's scan both use it):
    a file matches the record made from its stat, also through a hard link, and no longer
    once its size or its modification time differs."""
    page = tmp_path / "page.html"
    page.write_bytes(b"<p>one</p>")
    record = record_of(page.stat(), "f1")
    assert record.fingerprint == "f1" and matches(record, page.stat())
    os.link(page, tmp_path / "linked.html")
    assert matches(record, (tmp_path / "linked.html").stat())
    stat = page.stat()
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert not matches(record, page.stat())
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    page.write_bytes(b"<p>two!</p>")
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert not matches(record, page.stat())  # the same time, another size



def test_a_build_saves_every_article_s_markdown_though_it_forgets_it_after_planning(
        tmp_path: Path) -> None:
    """The build saves its sources and bodies beside its planning, then drops the Markdown
    before writing (memory): the file on disk must still hold every article whole."""
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    run_build(site, out, workers=2)
    loaded = BuildCache.load(site)
    assert loaded.problem is None and len(loaded.sources()) == 12
    for path, entry in loaded.sources().items():
        text = path.read_text(encoding="utf-8")
        assert entry.source.body.strip() and entry.source.body.strip() in text


def test_a_cache_whose_markdown_was_released_is_never_saved(tmp_path: Path) -> None:
    """Once released, the cache's sources have empty bodies: saving them would make the next
    build publish empty articles, so nothing is written, even after a change."""
    site = make_site(tmp_path / "site")
    cache = BuildCache()
    prepared = prepare(Settings(BuildOptions(site_dir=site, now=FIXED_NOW, workers=1), cache))
    cache.save_sources(site)
    saved = (site / CACHE_DIR / CACHE_FILE).read_bytes()
    cache.release_markdown()
    assert all(source.body == "" for source in prepared.sources)
    assert all(entry.source.body == "" for entry in cache.sources().values())
    story = site / "content" / "story-1.md"
    cache.store_source(story, prepared.sources[0], cache_module.stamp(story))  # a change
    cache.save_sources(site)
    assert (site / CACHE_DIR / CACHE_FILE).read_bytes() == saved


@pytest.mark.parametrize("first", [True, False])
def test_a_build_that_fails_after_its_planning_leaves_the_cache_as_it_was(
        tmp_path: Path, first: bool) -> None:
    """The sources are saved beside the planning, before a template fails in the writing:
    the saved file waits aside and goes with the failure (with the cache folder, when this
    build made it)."""
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    if not first:
        run_build(site, out, workers=2)
    story = site / "content" / "story-3.md"
    story.write_text(story.read_text(encoding="utf-8") + "\nNew line.\n", encoding="utf-8")
    (site / "templates").mkdir()
    (site / "templates" / "article.html").write_text(
        '{% extends "base.html" %}\n{% block content %}\n'
        "<h1>{{ article.no_such_field.upper() }}</h1>\n{% endblock %}\n", encoding="utf-8")
    snapshot.forget(site)  # as run_build does
    before = file_hashes(site, dirs=True)
    with pytest.raises(BuildError) as failed:
        run_build(site, out, workers=2)
    assert "template error" in failed.value.problems[0].message
    assert file_hashes(site, dirs=True) == before
    assert (site / CACHE_DIR).is_dir() is not first
