"""The watcher: sorting changes by kind, ignoring the output, and a real Watcher on a real folder
seeing editor-style saves, new files, deletions and renames, with bursts debounced."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from serve_helpers import STORIES, THEME, editor_save, make_site

from sitegen.serve import watch
from sitegen.serve.watch import Changes, Watcher, relevant

DELIVERY = 5.0  # seconds a change may take to arrive


# --- Changes.sort ---------------------------------------------------------------------------------

@pytest.fixture()
def site(tmp_path: Path) -> Path:
    return make_site(tmp_path.resolve() / "site")


def sort(site: Path, *rels: str) -> Changes:
    return Changes.sort(site, [site / r for r in rels])


def test_content_only(site: Path) -> None:
    changes = sort(site, "content/harbor-lights.md", "content/reviews/salt-road.md")
    assert (changes.everything, changes.css_only) == (False, False)
    assert changes.paths == {site / "content/harbor-lights.md", site / "content/reviews/salt-road.md"}


def test_css_only(site: Path) -> None:
    for rels in (["static/css/style.css"], ["static/css/style.css", "static/print.css"],
                 ["themes/mine/static/css/extra.css"]):
        changes = sort(site, *rels)
        assert (changes.everything, changes.css_only) == (True, True), rels


@pytest.mark.parametrize("rels", [
    ["templates/article.html"],
    ["templates/_article_card.html", "static/css/style.css"],
    ["themes/mine/templates/base.html"],
    ["static/favicon.svg"],
    ["static/css/style.css", "content/harbor-lights.md"],
])
def test_templates_and_static_mean_everything(site: Path, rels: list[str]) -> None:
    changes = sort(site, *rels)
    assert (changes.everything, changes.css_only) == (True, False)


def test_config_means_everything(site: Path) -> None:
    for rels in (["sitegen.toml"], ["sitegen.toml", "content/harbor-lights.md"],
                 ["sitegen.toml", "static/css/style.css"]):
        changes = sort(site, *rels)
        assert (changes.everything, changes.css_only) == (True, False), rels


def test_nothing_and_outside_paths(site: Path) -> None:
    assert sort(site) == Changes(frozenset(), False, False)
    outside = Changes.sort(site, [site.parent / "elsewhere.css"])
    assert (outside.everything, outside.css_only) == (False, False)


# --- relevant -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rel", "expected"), [
    ("content/harbor-lights.md", True),
    ("content/deep/er/story.md", True),
    ("templates/article.html", True),
    ("static/css/style.css", True),
    ("themes/mine/theme.toml", True),
    ("data/schedule.json", True),
    ("sitegen.toml", True),
    ("output/index.html", False),
    ("output/2021/02/harbor-lights/index.html", False),
    ("output", False),
    ("content", True),  # a source folder appearing or vanishing (moved in whole) matters
    ("content/.harbor-lights.md.swp", False),  # editor litter
    ("content/harbor-lights.md~", False),
    ("content/4913", False),
    ("static/css/#style.css#", False),
    ("static/css/.style.css.tmp", False),
    ("content/.drafts/idea.md", False),
    ("README.md", False),
    ("notes.txt", False),
    ("drafts/idea.md", False),
    ("sitegen.toml.bak", False),
    (".git/index", False),
])
def test_relevant(site: Path, rel: str, expected: bool) -> None:
    assert relevant(site, site / rel, [site / "output"]) is expected


def test_relevant_ignores_extra_folders_and_outside(site: Path) -> None:
    custom = site / "content" / "preview-out"
    assert not relevant(site, custom / "index.html", [site / "output", custom])
    assert relevant(site, site / "content" / "preview-outline.md", [custom])
    assert not relevant(site, site.parent / "content" / "x.md", [])
    assert not relevant(site, Path("/etc/passwd"), [])


# --- a real Watcher ----------------------------------------------------------------------------------

class Collector:
    """The watcher's callback: keeps every batch and wakes whoever waits for one."""

    def __init__(self) -> None:
        self.batches: list[Changes] = []
        self._cond = threading.Condition()

    def __call__(self, changes: Changes) -> None:
        with self._cond:
            self.batches.append(changes)
            self._cond.notify_all()

    def wait_for(self, test: Callable[[Changes], bool], timeout: float = DELIVERY,
                 what: str = "a batch") -> Changes:
        """The first batch (already delivered or still to come) for which `test` holds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for batch in self.batches:
                    if test(batch):
                        return batch
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {what} within {timeout} s; got {self.batches}")
                self._cond.wait(left)

    def wait_for_path(self, path: Path, timeout: float = DELIVERY) -> Changes:
        return self.wait_for(lambda b: path in b.paths, timeout, f"batch with {path}")

    def settle(self, quiet: float = 0.5, timeout: float = DELIVERY) -> int:
        """Wait until no batch arrived for `quiet` seconds; the number of batches then."""
        deadline = time.monotonic() + timeout
        with self._cond:
            count = len(self.batches)
            while time.monotonic() < deadline:
                self._cond.wait(quiet)
                if len(self.batches) == count:
                    break
                count = len(self.batches)
            return len(self.batches)

    def clear(self) -> None:
        with self._cond:
            self.batches.clear()


@pytest.fixture()
def watched(site: Path):
    """A started Watcher on the site (with a templates/ folder) and its collector."""
    (site / "templates").mkdir()
    (site / "templates" / "article.html").write_text(
        (THEME / "templates" / "article.html").read_text(encoding="utf-8"), encoding="utf-8")
    (site / "output").mkdir()
    collector = Collector()
    watcher = Watcher(site, collector, ignored=[site / "output"])
    watcher.start()
    try:
        yield site, collector
    finally:
        watcher.stop()


def test_editor_style_save_is_seen(watched: tuple[Path, Collector]) -> None:
    site, collector = watched
    target = site / "content" / STORIES[0].name
    editor_save(target, STORIES[0].text(body="The coastal drama moves to Sunday nights."))
    batch = collector.wait_for_path(target)
    assert (batch.everything, batch.css_only) == (False, False)


@pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")  # watchdog, nested mkdir
def test_new_file_and_new_folder_are_seen(watched: tuple[Path, Collector]) -> None:
    site, collector = watched
    new = site / "content" / "bulletins" / "2021" / "late-night.md"
    new.parent.mkdir(parents=True)
    new.write_text(STORIES[1].text(title="Late Night Slot Goes to a Newcomer"), encoding="utf-8")
    collector.wait_for_path(new)


def test_deletion_is_seen(watched: tuple[Path, Collector]) -> None:
    site, collector = watched
    gone = site / "content" / STORIES[2].name
    gone.unlink()
    collector.wait_for_path(gone)


def test_rename_is_seen_from_both_ends(watched: tuple[Path, Collector]) -> None:
    site, collector = watched
    old = site / "content" / STORIES[3].name
    new = site / "content" / "reviews-salt-road.md"
    os.rename(old, new)
    batch = collector.wait_for(lambda b: old in b.paths and new in b.paths, what="the rename")
    assert batch.everything is False


def test_config_and_template_saves_mean_everything(watched: tuple[Path, Collector]) -> None:
    site, collector = watched
    config = site / "sitegen.toml"
    editor_save(config, config.read_text().replace("Channel Nine Desk", "Channel Nine Nights"))
    assert collector.wait_for_path(site / "sitegen.toml").everything
    collector.clear()
    template = site / "templates" / "article.html"
    template.write_text(template.read_text() + "\n", encoding="utf-8")
    batch = collector.wait_for_path(template)
    assert (batch.everything, batch.css_only) == (True, False)


def test_output_and_unrelated_files_are_never_reported(watched: tuple[Path, Collector]) -> None:
    site, collector = watched
    (site / "output" / "index.html").write_text("<p>built</p>", encoding="utf-8")
    (site / "output" / "2021").mkdir()
    (site / "output" / "2021" / "index.html").write_text("<p>built</p>", encoding="utf-8")
    (site / "README.md").write_text("notes", encoding="utf-8")
    marker = site / "content" / "marker.md"
    marker.write_text(STORIES[0].text(title="Marker"), encoding="utf-8")  # written last
    collector.wait_for_path(marker)
    collector.settle(quiet=0.3)
    seen = set().union(*(b.paths for b in collector.batches))
    assert not any(p.is_relative_to(site / "output") for p in seen), seen
    assert site / "README.md" not in seen


def test_a_burst_of_writes_arrives_as_few_batches(watched: tuple[Path, Collector]) -> None:
    site, collector = watched
    files = [site / "content" / f"bulletin-{i:02d}.md" for i in range(20)]
    for i, path in enumerate(files):
        path.write_text(STORIES[i % 4].text(title=f"Overnight Bulletin {i}"), encoding="utf-8")
    collector.wait_for(lambda b: files[-1] in b.paths, what="the last write")
    count = collector.settle()
    seen = set().union(*(b.paths for b in collector.batches))
    assert set(files) <= seen
    assert count <= 5, f"20 quick writes came as {count} batches: {collector.batches}"


def test_stop_ends_delivery(site: Path) -> None:
    collector = Collector()
    watcher = Watcher(site, collector, ignored=[site / "output"])
    watcher.start()
    first = site / "content" / "before-stop.md"
    first.write_text(STORIES[0].text(title="Before Stop"), encoding="utf-8")
    collector.wait_for_path(first)
    watcher.stop()
    count = collector.settle(quiet=0.2)
    (site / "content" / "after-stop.md").write_text(STORIES[0].text(title="After"), "utf-8")
    assert collector.settle(quiet=0.5) == count


def test_polling_watcher_sees_a_save(site: Path) -> None:
    collector = Collector()
    watcher = Watcher(site, collector, ignored=[site / "output"], poll=True)
    watcher.start()
    try:
        target = site / "content" / STORIES[1].name
        editor_save(target, STORIES[1].text(body="Polled: the relay race finale wins its slot."))
        collector.wait_for_path(target)
    finally:
        watcher.stop()


@pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")  # watchdog, nested mkdir
def test_a_source_folder_created_while_watching_is_watched(site: Path) -> None:
    """A first template override (or static/ folder) made while serving is watched from then on."""
    collector = Collector()
    watcher = Watcher(site, collector, ignored=[site / "output"])
    watcher.start()
    try:
        template = site / "templates" / "article.html"
        template.parent.mkdir()
        template.write_text((THEME / "templates" / "article.html").read_text(), "utf-8")
        batch = collector.wait_for(lambda b: any(p.is_relative_to(site / "templates")
                                                 for p in b.paths), what="the new template")
        assert batch.everything and not batch.css_only
        # Later saves in the new folder are seen too: it is watched now.
        collector.clear()
        template.write_text(template.read_text() + "<!-- revised -->\n", "utf-8")
        assert collector.wait_for_path(template).everything
        css = site / "static" / "css" / "print.css"
        css.parent.mkdir(parents=True)
        css.write_text("body { color: black; }\n", "utf-8")
        collector.wait_for(lambda b: any(p.is_relative_to(site / "static") for p in b.paths),
                           what="the new static folder")
        collector.settle(quiet=0.3)
        collector.clear()
        with css.open("a", encoding="utf-8") as handle:
            handle.write("h1 { color: navy; }\n")
        assert collector.wait_for_path(css).css_only
    finally:
        watcher.stop()


@pytest.mark.parametrize("how", ["append", "editor"])
def test_a_css_save_is_css_only(site: Path, how: str) -> None:
    """Neither the folder's own 'modified' event nor an editor's temporary file spoils it."""
    css = site / "static" / "css" / "style.css"
    css.parent.mkdir(parents=True)
    css.write_text("body { color: black; }\n", encoding="utf-8")
    collector = Collector()
    watcher = Watcher(site, collector, ignored=[site / "output"])
    watcher.start()
    try:
        if how == "append":
            with css.open("a", encoding="utf-8") as handle:
                handle.write("h1 { color: navy; }\n")
        else:
            editor_save(css, "body { color: black; }\nh1 { color: navy; }\n")
        collector.wait_for_path(css)
        collector.settle(quiet=0.3)
        assert all(b.css_only for b in collector.batches), collector.batches
    finally:
        watcher.stop()


@pytest.mark.parametrize("how", ["in place", "renamed into place"])
def test_one_file_s_finished_save_skips_the_burst_debounce(site: Path, how: str,
                                                            monkeypatch) -> None:
    """A save of one file ends with its close, or its rename into place: its batch goes after
    watch.FINISHED_SECONDS of quiet, not after the burst's debounce (made a minute here)."""
    monkeypatch.setattr(watch, "DEBOUNCE_SECONDS", 60.0)
    monkeypatch.setattr(watch, "MAX_DELAY_SECONDS", 120.0)
    collector = Collector()
    watcher = Watcher(site, collector, ignored=[site / "output"])
    watcher.start()
    try:
        target = site / "content" / STORIES[1].name
        text = STORIES[1].text(body="The finale moves to the spring.")
        if how == "in place":
            target.write_text(text, encoding="utf-8")
        else:
            editor_save(target, text)
        assert collector.wait_for_path(target).paths == {target}
    finally:
        watcher.stop()


def test_a_file_still_open_for_writing_waits_for_the_debounce(site: Path, monkeypatch) -> None:
    """Written but not closed (an editor between its steps): no batch before the quiet time."""
    monkeypatch.setattr(watch, "DEBOUNCE_SECONDS", 60.0)
    monkeypatch.setattr(watch, "MAX_DELAY_SECONDS", 120.0)
    collector = Collector()
    watcher = Watcher(site, collector, ignored=[site / "output"])
    watcher.start()
    target = site / "content" / STORIES[2].name
    try:
        with target.open("a", encoding="utf-8") as handle:
            handle.write("\nA line still being written.\n")
            handle.flush()
            os.fsync(handle.fileno())
            assert collector.settle(quiet=0.5, timeout=1.0) == 0
        assert collector.wait_for_path(target).paths == {target}  # closed: it goes at once
    finally:
        watcher.stop()
