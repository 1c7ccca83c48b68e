"""The preview's cold start (serve/cold.py), in this process: it plans before any thread, its
writers (forked) and this process write every file into one transaction, the outcome hands
the preview the very plan it wrote (nothing is planned again), and a site file changed after
the build began is named for the next rebuild."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import FIXED_NOW, article, write_site
from serve_helpers import compare_folders

from sitegen.incremental.cache import BuildCache
from sitegen.pipeline.build import build
from sitegen.report import BuildOptions
from sitegen.serve.cold import ColdStart
from sitegen.serve.http import BuildState

BASE = "http://127.0.0.1:8999"
CONFIG = ('title = "Cold Desk"\nbase_url = "https://cold.example.com"\ntimezone = "UTC"\n'
          '\n[search]\nenabled = false\n')


def _site(root: Path, count: int = 90) -> Path:
    """Enough articles for more than one writer (parallel.MIN_ITEMS_PER_WORKER jobs each),
    written before the start (as by a checkout), past the clock's margin (cold.py)."""
    site = write_site(root, {
        f"story-{i:03d}.md": article(f"Cold Story {i}", f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}",
                                     tags=[f"Desk {i % 7}"], body=f"Body of story {i}.")
        for i in range(count)}, config=CONFIG)
    time.sleep(0.2)
    return site


def _options(site: Path, folder: Path) -> BuildOptions:
    return BuildOptions(site_dir=site.resolve(), output_dir=folder, base_url=BASE, workers=1,
                        now=FIXED_NOW)


def test_the_cold_start_writes_what_a_build_writes_and_hands_over_its_plan(
        tmp_path: Path) -> None:
    site = _site(tmp_path / "site")
    folder = tmp_path / "preview" / "site"
    folder.mkdir(parents=True)
    state, fractions = BuildState(), []
    cold = ColdStart(_options(site, folder), folder, 2, BuildCache(), state, fractions.append)
    assert state.cold and state.planned is not None  # told before the server's thread runs
    outcome = cold.run(state)
    assert outcome.ok, outcome.problems
    assert not state.cold
    assert outcome.prepared is not None
    planned = sorted(job.path for job in outcome.prepared.plan.jobs)
    assert sorted(outcome.written) == planned == sorted(outcome.prints)
    assert len(planned) >= 128, "too few jobs for a second writer"
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    fresh = tmp_path / "fresh"
    build(BuildOptions(site_dir=site, output_dir=fresh, base_url=BASE, now=FIXED_NOW),
          use_cache=False)
    assert compare_folders(fresh, folder) == []
    assert cold.changed_since() == []


def test_a_file_changed_after_the_build_began_is_named_for_the_next_rebuild(
        tmp_path: Path) -> None:
    """The watcher starts only once the writers are forked: what changed before is found by
    its change time, the file and (for one added) its folder."""
    site = _site(tmp_path / "site", count=20)
    folder = tmp_path / "preview" / "site"
    folder.mkdir(parents=True)
    state = BuildState()
    cold = ColdStart(_options(site, folder), folder, 2, BuildCache(), state, lambda _: None)
    edited = site / "content" / "story-003.md"
    edited.write_text(article("Cold Story 3", "2020-04-04", body="Changed meanwhile."),
                      encoding="utf-8")
    assert cold.run(state).ok
    changed = set(cold.changed_since())
    assert edited in changed
    assert not changed & {site / "content" / "story-004.md", site / "sitegen.toml"}


def test_a_broken_article_fails_the_cold_start_and_writes_nothing(tmp_path: Path) -> None:
    site = _site(tmp_path / "site", count=5)
    (site / "content" / "broken.md").write_text("---\ntitle: [unclosed\n---\nText.\n",
                                                encoding="utf-8")
    folder = tmp_path / "preview" / "site"
    folder.mkdir(parents=True)
    state = BuildState()
    cold = ColdStart(_options(site, folder), folder, 2, BuildCache(), state, lambda _: None)
    outcome = cold.run(state)
    assert not outcome.ok
    assert any(problem.file and "broken.md" in problem.file for problem in outcome.problems)
    assert not state.cold
    assert list(folder.iterdir()) == []
