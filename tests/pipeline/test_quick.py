"""The quick path of `sitegen build` (quick.py, snapshot.py): when only article bodies changed,
a build rewrites just the files that show them, and its output is byte for byte what a build
without the cache writes. Anything else takes the full path, also checked against a fresh build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import FIXED_NOW, article, file_hashes, write_site

from sitegen.commands.cli import summary
from sitegen.errors import BuildError, OutputError, SiteError
from sitegen.incremental import snapshot
from sitegen.incremental.cache import CACHE_DIR
from sitegen.pipeline.build import build
from sitegen.report import BuildOptions, BuildReport
from sitegen.write import search, writer

# Search is off, as Pagefind takes most of a quick build's time; search_desk turns it on.
CONFIG = ('title = "Test Desk"\nbase_url = "https://test-desk.example.com"\ntimezone = "UTC"\n'
          "per_page = 2\n\n[search]\nenabled = false\n")


def desk(root: Path) -> Path:
    """Eight stories over three tags and two authors, lists of several pages, and a draft."""
    articles = {f"story-{i}.md": article(
        title=f"Story {i}", date=f"2020-0{1 + i % 8}-1{i}", author=["Ann Example", "Bo Desk"][i % 2],
        tags=[f"Desk {i % 3}", "All"], summary=f"Story {i} in brief.",
        body=f"Opening paragraph of story {i}.\n\nA [link](story-{1 if i == 0 else 0}.md) on.\n")
        for i in range(8)}
    articles["draft.md"] = article(title="Unfinished", date="2020-03-03", draft=True,
                                   body="Not yet.\n")
    return write_site(root, articles, CONFIG)


def run(site: Path, now=FIXED_NOW, use_cache: bool = True, output: Path | None = None
        ) -> BuildReport:
    return build(BuildOptions(site_dir=site, output_dir=output or site / "output", now=now),
                 use_cache=use_cache)


def fresh(site: Path, folder: Path, now=FIXED_NOW) -> dict[str, str]:
    """The files a build without the cache writes now."""
    shutil.rmtree(folder, ignore_errors=True)
    run(site, now, use_cache=False, output=folder)
    return file_hashes(folder)


def stamps(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns
            for p in folder.rglob("*") if p.is_file()}


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_a_body_edit_rewrites_only_the_files_showing_it_and_equals_a_fresh_build(
        tmp_path: Path) -> None:
    site = desk(tmp_path / "site")
    out = site / "output"
    assert not run(site).quick
    again = run(site)
    assert again.quick and again.rewritten == 0
    assert again.articles == 8 and again.drafts_skipped == 1 and again.files > 30
    before, hashes = stamps(out), file_hashes(out)
    append(site / "content" / "story-3.md", "\nA late correction to story three.\n")
    report = run(site)
    assert report.quick and report.rewritten >= 2, report
    after = file_hashes(out)
    assert "A late correction to story three." in (
        out / "2020" / "04" / "story-3" / "index.html").read_text(encoding="utf-8")
    assert "A late correction to story three." in (out / "feed.xml").read_text(encoding="utf-8")
    changed = {path for path in after if after[path] != hashes.get(path)}
    untouched = {path for path, mtime in stamps(out).items() if before.get(path) == mtime}
    assert changed and len(untouched) >= len(after) - report.rewritten  # the rest left alone
    assert not changed & untouched
    assert after == fresh(site, tmp_path / "fresh")
    assert list((site / CACHE_DIR / "templates").glob("*.cache"))  # compiled once, kept


def test_successive_body_edits_each_equal_a_fresh_build(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Many quick builds in a row, past the point where the index is written anew."""
    monkeypatch.setattr(snapshot, "MAX_DELTAS", 2)
    site = desk(tmp_path / "site")
    run(site)
    delta = site / CACHE_DIR / snapshot.DELTA_FILE
    sizes = []
    for step in range(5):
        append(site / "content" / f"story-{step % 3}.md",
               f"\nUpdate {step}, with a [link](story-7.md).\n")
        assert run(site).quick, step
        sizes.append(delta.stat().st_size if delta.exists() else 0)
        assert file_hashes(site / "output") == fresh(site, tmp_path / f"fresh-{step}"), step
    assert 0 in sizes[2:] and max(sizes) > 0  # deltas gathered, then went into the index


def edit_title(site: Path) -> None:
    text = (site / "content" / "story-2.md").read_text(encoding="utf-8")
    (site / "content" / "story-2.md").write_text(text.replace("Story 2", "Story Two"),
                                                 encoding="utf-8")


def add_article(site: Path) -> None:
    (site / "content" / "late.md").write_text(article(title="Late", date="2020-09-09"),
                                              encoding="utf-8")


def publish_draft(site: Path) -> None:
    path = site / "content" / "draft.md"
    path.write_text(path.read_text(encoding="utf-8").replace("draft: true", "draft: false"),
                    encoding="utf-8")


def add_static(site: Path) -> None:
    (site / "static").mkdir(exist_ok=True)
    (site / "static" / "note.txt").write_text("hello\n", encoding="utf-8")


def override_template(site: Path) -> None:
    (site / "templates").mkdir(exist_ok=True)
    (site / "templates" / "404.html").write_text(
        '{% extends "base.html" %}{% block content %}<p>Lost.</p>{% endblock %}\n',
        encoding="utf-8")


def add_data(site: Path) -> None:
    (site / "data").mkdir(exist_ok=True)
    (site / "data" / "desk.yaml").write_text("editor: Cy\n", encoding="utf-8")


def edit_config(site: Path) -> None:
    path = site / "sitegen.toml"
    path.write_text('description = "News from the desk."\n' + path.read_text(encoding="utf-8"),
                    encoding="utf-8")


def edit_and_retitle(site: Path) -> None:
    append(site / "content" / "story-1.md", "\nMore.\n")
    edit_title(site)


FULL = {"front matter": edit_title, "new article": add_article,
        "removed article": lambda site: (site / "content" / "story-5.md").unlink(),
        "draft published": publish_draft, "static file": add_static,
        "template": override_template, "data file": add_data, "configuration": edit_config,
        "body and front matter": edit_and_retitle}


@pytest.mark.parametrize("change", list(FULL.values()), ids=list(FULL))
def test_anything_but_a_body_edit_takes_the_full_path(tmp_path: Path,
                                                      change: Callable[[Path], None]) -> None:
    site = desk(tmp_path / "site")
    run(site)
    change(site)
    assert not run(site).quick
    assert file_hashes(site / "output") == fresh(site, tmp_path / "fresh")
    assert run(site).quick  # and the next build can be quick again


@pytest.mark.parametrize("edit", ["draft body", "touched only"])
def test_a_change_no_page_shows_rewrites_nothing(tmp_path: Path, edit: str) -> None:
    site = desk(tmp_path / "site")
    run(site)
    before = stamps(site / "output")
    if edit == "draft body":
        append(site / "content" / "draft.md", "\nStill not ready.\n")
    else:
        os.utime(site / "content" / "story-4.md")
    report = run(site)
    assert report.quick and report.rewritten == 0
    assert stamps(site / "output") == before
    assert file_hashes(site / "output") == fresh(site, tmp_path / "fresh")


def test_an_output_file_edited_by_hand_is_put_right_by_the_full_path(tmp_path: Path) -> None:
    site = desk(tmp_path / "site")
    run(site)
    (site / "output" / "tags" / "index.html").write_text("defaced", encoding="utf-8")
    append(site / "content" / "story-0.md", "\nMore.\n")
    assert not run(site).quick
    assert file_hashes(site / "output") == fresh(site, tmp_path / "fresh")


@pytest.mark.parametrize("damage", ["objects", "index", "delta", "no objects"])
def test_a_damaged_snapshot_is_never_trusted(tmp_path: Path, damage: str) -> None:
    site = desk(tmp_path / "site")
    run(site)
    append(site / "content" / "story-6.md", "\nFirst.\n")
    assert run(site).quick  # leaves a delta
    folder = site / CACHE_DIR
    name = {"objects": snapshot.OBJECTS_FILE, "index": snapshot.SNAPSHOT_FILE,
            "delta": snapshot.DELTA_FILE, "no objects": snapshot.OBJECTS_FILE}[damage]
    if damage == "no objects":
        (folder / name).unlink()
    else:
        data = bytearray((folder / name).read_bytes())
        for at in range(30, len(data), max(1, len(data) // 50)):
            data[at] ^= 0xFF
        (folder / name).write_bytes(bytes(data))
    append(site / "content" / "story-6.md", "\nSecond.\n")
    run(site)
    assert file_hashes(site / "output") == fresh(site, tmp_path / "fresh")


def test_the_news_sitemap_window_and_the_new_year_end_the_quick_path(tmp_path: Path) -> None:
    """A quick build keeps the last build's moment; when the site would change by itself since
    (an article left the two-day news window, the footer's year), the build is full."""
    site = desk(tmp_path / "site")
    recent = FIXED_NOW - timedelta(days=1)
    (site / "content" / "recent.md").write_text(article(title="Recent", date=recent.isoformat()),
                                                encoding="utf-8")
    run(site)
    append(site / "content" / "recent.md", "\nFirst update.\n")
    assert run(site, now=FIXED_NOW + timedelta(hours=1)).quick
    later = FIXED_NOW + timedelta(days=2)
    append(site / "content" / "recent.md", "\nSecond update.\n")
    assert not run(site, now=later).quick
    assert file_hashes(site / "output") == fresh(site, tmp_path / "fresh", now=later)
    next_year = FIXED_NOW.replace(year=FIXED_NOW.year + 1, month=1, day=1)
    append(site / "content" / "story-1.md", "\nThird update.\n")
    assert not run(site, now=next_year).quick
    assert file_hashes(site / "output") == fresh(site, tmp_path / "fresh", now=next_year)


def test_a_body_that_fails_is_reported_by_the_full_path_and_changes_nothing(
        tmp_path: Path) -> None:
    site = desk(tmp_path / "site")
    run(site)
    before = file_hashes(site / "output")
    append(site / "content" / "story-2.md", "\n::: youtube nope title=\"T\"\n:::\n")
    with pytest.raises(BuildError) as failure:
        run(site)
    problem = failure.value.problems[0]
    assert problem.file == "content/story-2.md" and problem.line and "YouTube" in problem.message
    assert file_hashes(site / "output") == before


def test_a_second_build_is_refused_while_a_quick_one_holds_the_output(tmp_path: Path) -> None:
    site = desk(tmp_path / "site")
    run(site)
    append(site / "content" / "story-2.md", "\nMore.\n")
    with writer.updating(site / "output"), pytest.raises(Exception, match="another sitegen"):
        run(site)


def test_a_commit_that_fails_before_the_exchange_is_rolled_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal is written, the exchange fails (as a kill there would leave it): the
    output is as it was, the half-made spare is not trusted, and the next build is right."""
    site = desk(tmp_path / "site")
    out = site / "output"
    run(site)
    before = file_hashes(out)
    append(site / "content" / "story-2.md", "\nMore.\n")

    def refused(new: Path, output: Path) -> None:
        raise OSError(5, "Input/output error", str(output))

    monkeypatch.setattr(writer, "_swap", refused)
    with pytest.raises(OutputError, match="previous output is unchanged"):
        run(site)
    assert file_hashes(out) == before
    monkeypatch.undo()
    assert run(site).quick
    assert file_hashes(out) == fresh(site, tmp_path / "fresh")


def search_desk(root: Path) -> Path:
    site = desk(root)
    config = site / "sitegen.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("enabled = false",
                                                                 "enabled = true"),
                      encoding="utf-8")
    return site


def listed(out: Path) -> set[str]:
    return set(json.loads((out / writer.MANIFEST).read_text(encoding="utf-8"))["files"])


def test_a_search_site_takes_the_quick_path_and_its_index_equals_a_fresh_build_s(
        tmp_path: Path) -> None:
    """With nothing changed (or only a draft) the index is kept. A body edit has Pagefind
    index the pages anew (it cannot update an index); the files of the bundle that changed are
    replaced, new ones added, old ones removed, and the manifest lists what is there."""
    site = search_desk(tmp_path / "site")
    out = site / "output"
    first = run(site)
    if not first.search:
        pytest.skip("Pagefind is not installed (.ci/run installs it): " + str(first.warnings))
    before = file_hashes(out)
    assert any(path.startswith("pagefind/fragment/") for path in before)
    again = run(site)
    assert again.quick and again.rewritten == 0 and again.search and not again.reindexed
    assert "No page changed since the last build." in summary(again)
    append(site / "content" / "draft.md", "\nStill not ready.\n")
    assert run(site).quick
    assert file_hashes(out) == before
    story = site / "content" / "story-3.md"
    original = story.read_text(encoding="utf-8")
    for step, text in enumerate([original + "\nA late correction about Zanzibar.\n",
                                 original + "\nAnother about Timbuktu.\n", original]):
        story.write_text(text, encoding="utf-8")  # the last step brings old fragments back
        edited = run(site)
        assert edited.quick and edited.search, step
        after = file_hashes(out)
        assert after == fresh(site, tmp_path / f"fresh-{step}"), step
        assert listed(out) == set(after) - {writer.MANIFEST}, step
        if step == 0:
            assert edited.reindexed and edited.rewritten
            assert "and the search index anew" in summary(edited)
            changed = {p for p in after if before.get(p) != after[p]}
            assert any(p.startswith("pagefind/fragment/") for p in changed)  # story 3's
            assert {p for p in before if p.startswith("pagefind/fragment/")} - set(after)
    assert file_hashes(out) == before
    assert run(site).quick  # the records and the files removed add up: quick once more
    snapshot.forget(site)  # the full path: the manifest must own every file of the index
    assert not run(site).quick
    assert file_hashes(out) == before


def test_while_pagefind_indexes_a_quick_build_s_pages_the_output_is_still_the_old_site(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17's mixed site: Pagefind ran over the output after the new pages were put there,
    so for its whole run the pages were new and the index and manifest old. It now indexes
    the new state on its way in, and the output changes only at the commit, all at once."""
    site = search_desk(tmp_path / "site")
    out = site / "output"
    if not run(site).search:
        pytest.skip("Pagefind is not installed (.ci/run installs it)")
    before = file_hashes(out)
    seen = []
    real = search.build_bundle

    def watched(site_folder: Path, bundle: Path, glob: str) -> None:
        page = (site_folder / "2020/04/story-3/index.html").read_text("utf-8")
        seen.append((site_folder, file_hashes(out), page))
        real(site_folder, bundle, glob)

    monkeypatch.setattr(search, "build_bundle", watched)
    append(site / "content" / "story-3.md", "\nA late correction about Zanzibar.\n")
    report = run(site)
    assert report.quick and report.reindexed
    assert len(seen) == 1
    indexed, during, page = seen[0]
    assert during == before  # nothing of the new site was visible while Pagefind ran
    assert indexed != out and "Zanzibar" in page  # it read the new pages, on their way in
    monkeypatch.undo()
    assert file_hashes(out) == fresh(site, tmp_path / "fresh")


def test_a_quick_build_whose_re_index_fails_leaves_the_output_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = search_desk(tmp_path / "site")
    out = site / "output"
    if not run(site).search:
        pytest.skip("Pagefind is not installed (.ci/run installs it)")
    before = file_hashes(out)

    def broken(site_folder: Path, bundle: Path, glob: str) -> None:
        raise SiteError("search", "Pagefind could not build the search index: out of memory")

    monkeypatch.setattr(search, "build_bundle", broken)
    append(site / "content" / "story-3.md", "\nA late correction about Zanzibar.\n")
    with pytest.raises(SiteError, match="out of memory"):
        run(site)
    assert file_hashes(out) == before
    monkeypatch.undo()
    run(site)
    assert file_hashes(out) == fresh(site, tmp_path / "fresh")


def test_a_new_year_on_the_build_s_own_clock_ends_the_quick_path(tmp_path: Path) -> None:
    """The footer's year is the build moment's, in the zone that moment was given in."""
    site = desk(tmp_path / "site")
    eve = datetime(2024, 12, 31, 20, 0, tzinfo=ZoneInfo("UTC"))
    run(site, now=eve)
    tokyo = eve.astimezone(ZoneInfo("Asia/Tokyo"))  # the same moment: 2025 there
    append(site / "content" / "story-1.md", "\nA late update.\n")
    assert not run(site, now=tokyo).quick
    assert file_hashes(site / "output") == fresh(site, tmp_path / "fresh", now=tokyo)


def test_an_output_deleted_with_its_folder_is_built_whole(tmp_path: Path) -> None:
    site = desk(tmp_path / "site")
    out = tmp_path / "deploy" / "public"
    run(site, output=out)
    shutil.rmtree(tmp_path / "deploy")
    append(site / "content" / "story-1.md", "\nMore.\n")
    assert not run(site, output=out).quick
    assert file_hashes(out) == fresh(site, tmp_path / "fresh")


def test_a_file_dropped_into_the_output_is_never_carried_off_by_a_quick_build(
        tmp_path: Path) -> None:
    """A quick build commits a whole new folder, so the old one (with anything someone put
    there) would become the spare: it takes the full path instead, which refuses clearly."""
    site = desk(tmp_path / "site")
    out = site / "output"
    run(site)
    (out / "notes-for-the-editor.txt").write_text("keep me", encoding="utf-8")
    before = file_hashes(out)
    append(site / "content" / "story-2.md", "\nMore.\n")
    with pytest.raises(OutputError, match="notes-for-the-editor.txt"):
        run(site)
    assert file_hashes(out) == before


@pytest.mark.parametrize("change", ["file dropped", "folder swapped for a link"])
def test_a_change_deep_in_an_output_that_stood_a_while_is_found(tmp_path: Path,
                                                                change: str) -> None:
    """The check that nothing was added reads only the folders changed since the output was
    committed: after two quick builds the output is the first build's folder
    again, most of it older than that commit, and a file dropped into one of those old folders
    (or the folder swapped for a link to a copy) is still found."""
    site = desk(tmp_path / "site")
    out = site / "output"
    run(site)
    for story in (1, 2):  # the first links a copy of the output; the second commits the first's
        time.sleep(0.1)
        append(site / "content" / f"story-{story}.md", "\nMore.\n")
        assert run(site).quick
    since = writer.committed_at(out)
    assert since is not None
    folders = sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: p.stat().st_ctime_ns)
    old = folders[0]
    assert old.stat().st_ctime_ns < since
    assert sum(p.stat().st_ctime_ns < since for p in folders) > \
        len(folders) // 2  # most folders are skipped by the check, not read
    if change == "file dropped":
        (old / "notes-for-the-editor.txt").write_text("keep me", encoding="utf-8")
        named = "notes-for-the-editor.txt"
    else:
        copy = tmp_path / "copy"
        shutil.copytree(old, copy, copy_function=os.link)
        shutil.rmtree(old)
        old.symlink_to(copy, target_is_directory=True)
        named = old.relative_to(out).as_posix()
    before = file_hashes(out)
    append(site / "content" / "story-3.md", "\nMore.\n")
    with pytest.raises(OutputError, match=named):
        run(site)
    assert file_hashes(out) == before


def test_a_build_with_nothing_changed_loads_no_feed_library(tmp_path: Path) -> None:
    """feedgen (with lxml and dateutil, some 35 ms) is imported by the first feed rendered:
    a build that renders none, as the one after nothing changed, runs without it."""
    site = write_site(tmp_path / "site", {"a.md": article(title="Only One")})
    out = tmp_path / "out"
    probe = ("import sys; from pathlib import Path; from sitegen.pipeline.build import build; "
             "from sitegen.report import BuildOptions; "
             f"r = build(BuildOptions(site_dir=Path({str(site)!r}), output_dir=Path({str(out)!r}))); "
             "print(r.quick, 'feedgen' in sys.modules)")
    runs = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(2)]
    assert runs[0] == ["False", "True"]  # the first build rendered the feeds
    assert runs[1][1] == "False"  # nothing changed: no feed rendered, none imported
