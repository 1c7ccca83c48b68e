"""stages.py: the one pipeline. Every path runs its list (a stage added there reaches a build,
`check`, the dev server and both quick paths), a tolerant run goes on past a failed stage, and
the updates for body-only edits give the articles a fresh run would."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import FIXED_NOW, article, write_site

from sitegen.commands.check import check_site
from sitegen.config import Config
from sitegen.content import pictures as pictures_module
from sitegen.content.images import LocalImages
from sitegen.errors import BuildError, Problem
from sitegen.incremental.cache import BuildCache
from sitegen.model import Article, Source
from sitegen.pipeline import build as build_module
from sitegen.pipeline import stages
from sitegen.pipeline.build import build
from sitegen.pipeline.stages import STAGES, Edit, Prepared, Settings, Stage, prepare, update
from sitegen.report import BuildOptions
from sitegen.serve.live import LiveSite
from sitegen.site.assemble import source_urls


def setup(tmp_path: Path) -> tuple[Path, Prepared]:
    site = write_site(tmp_path / "site", {
        "a.md": article(title="A", date="2021-01-01", body="First.\n"),
        "b.md": article(title="B", date="2021-01-02", body="See [A](a.md).\n"),
        "c.md": article(title="C", date="2021-01-03", draft=True, body="Not yet.\n")})
    return site, prepare(Settings(BuildOptions(site_dir=site, now=FIXED_NOW)))


@dataclass
class Before:
    """A prepared site as the updates read it (what the snapshot and the dev server give)."""

    prepared: Prepared
    sources: dict[Path, Source] = field(init=False)

    def __post_init__(self) -> None:
        self.sources = {s.path: s for s in self.prepared.sources}

    @property
    def config(self) -> Config:
        return self.prepared.config

    @property
    def images(self) -> LocalImages:
        return self.prepared.images

    @property
    def by_source(self) -> dict[str, str]:
        return source_urls(self.prepared.site)

    def source(self, path: Path) -> Source | None:
        return self.sources.get(path)

    def article(self, rel_path: str) -> Article | None:
        return next((a for a in self.prepared.site.articles if a.source_path == rel_path), None)

    def holders(self, rel_path: str) -> Iterable[int]:
        return [i for i, job in enumerate(self.prepared.plan.jobs)
                if rel_path in repr(getattr(job, "context", ""))]


def test_the_stages_run_in_the_order_listed_each_after_what_it_needs() -> None:
    names = [stage.name for stage in STAGES]
    assert len(set(names)) == len(names)
    for index, stage in enumerate(STAGES):
        assert set(stage.needs) <= set(names[:index]), stage.name
        assert stage.name in Prepared.__dataclass_fields__  # where it keeps what it made


def test_a_run_makes_every_stage(tmp_path: Path) -> None:
    _, prepared = setup(tmp_path)
    assert prepared.done == [stage.name for stage in STAGES]
    assert [s.title for s in prepared.selection.published] == ["A", "B"]
    assert {s.title for s in prepared.sources} == {"A", "B", "C"}  # the draft is read too
    assert sorted(prepared.bodies) == ["content/a.md", "content/b.md"]


def test_each_stage_is_announced_and_none_after_the_last_forking_one_forks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build saves its sources in a forked process once `build._LAST_FORKING_STAGE` is
    announced: a stage after it that spread work over workers would run them beside that
    process (memory)."""
    site = write_site(tmp_path / "site", {
        f"s{i}.md": article(title=f"S{i}", date="2021-01-01", body="![A still](/still.png)\n")
        for i in range(3)})
    (site / "static").mkdir()
    (site / "static" / "still.png").write_bytes(_png())
    announced: list[str] = []
    spread: list[int] = []  # how many stages were announced when work was spread

    def counting(*args: object, **kwargs: object) -> list[object]:
        spread.append(len(announced))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    real = stages.run_indexed
    monkeypatch.setattr(stages, "run_indexed", counting)
    monkeypatch.setattr(pictures_module, "run_indexed", counting)
    prepare(Settings(BuildOptions(site_dir=site, now=FIXED_NOW), on_stage=announced.append))
    assert announced == [stage.name for stage in STAGES]
    last = announced.index(build_module._LAST_FORKING_STAGE)
    assert spread and all(count <= last for count in spread)
    assert len(spread) == 3  # reading, Markdown, encoding the still: each seen


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image
    data = BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(data, "PNG")
    return data.getvalue()


def test_the_problems_of_every_file_read_come_together(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        "a.md": article(title="A", date="2021-13-45"),
        "b.md": "---\ntitle: [broken\n---\n"})
    (site / "data").mkdir()
    (site / "data" / "shows.yaml").write_text("a: [b\n", encoding="utf-8")
    with pytest.raises(BuildError) as failed:
        prepare(Settings(BuildOptions(site_dir=site, now=FIXED_NOW)))
    assert {p.file for p in failed.value.problems} == {
        "content/a.md", "content/b.md", "data/shows.yaml"}


def test_a_tolerant_run_skips_only_the_stages_that_need_a_failed_one(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        "a.md": article(title="A", body='::: youtube nope title="T"\n:::\n'),
        "b.md": article(title="B")})
    prepared = prepare(Settings(BuildOptions(site_dir=site, now=FIXED_NOW), tolerant=True))
    assert list(prepared.problems) == ["bodies"]
    assert prepared.problems["bodies"][0].file == "content/a.md"
    assert not prepared.made("site") and not prepared.made("plan")
    assert prepared.made("theme") and prepared.made("search")  # they need no bodies
    with pytest.raises(BuildError):
        prepare(Settings(BuildOptions(site_dir=site, now=FIXED_NOW)))


def test_update_gives_the_articles_a_fresh_run_would(tmp_path: Path) -> None:
    site, prepared = setup(tmp_path)
    path = site / "content" / "b.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nAnd [A again](a.md).\n",
                    encoding="utf-8")
    edit = update(Before(prepared), [path])
    assert edit is not None
    fresh = prepare(Settings(BuildOptions(site_dir=site, now=FIXED_NOW), BuildCache())).site
    assert list(edit.articles) == ["content/b.md"]  # keyed by source path
    assert edit.articles["content/b.md"] == next(a for a in fresh.articles if a.title == "B")
    assert 'href="/2021/01/a/">A again' in edit.articles["content/b.md"].content
    assert edit.jobs  # the jobs that show B: its page, the lists, the feeds
    planned = stages.replan(edit, prepared.plan, edit.jobs, prepared.site.info,
                            prepared.theme.static_files, prepared.now)
    assert all("A again" in repr(planned.jobs[i]) for i in edit.jobs)


def test_update_declines_what_only_a_whole_run_can_do(tmp_path: Path) -> None:
    site, prepared = setup(tmp_path)
    before = Before(prepared)
    a = site / "content" / "a.md"
    original = a.read_text(encoding="utf-8")
    a.write_text(original.replace('title: "A"', 'title: "A2"'), encoding="utf-8")
    assert update(before, [a]) is None  # front matter
    a.write_text("---\ntitle: [broken\n---\n", encoding="utf-8")
    assert update(before, [a]) is None  # does not read
    a.write_text(original.replace("First.", '::: youtube nope title="T"\n:::'), encoding="utf-8")
    assert update(before, [a]) is None  # does not render
    a.write_text(original.replace("First.", "![Cast](https://img.example.com/c.jpg)"),
                 encoding="utf-8")
    assert update(before, [a]) is None  # a new image: the sitemap lists it
    assert update(before, [site / "content" / "new.md"]) is None  # not a file it knew
    draft = site / "content" / "c.md"
    draft.write_text(draft.read_text(encoding="utf-8") + "More.\n", encoding="utf-8")
    edit = update(before, [draft])
    assert edit is not None and not edit.articles and not edit.jobs  # shown nowhere


# A stage added to the list reaches every path: the proof that there is one list.

def _with_stage(monkeypatch: pytest.MonkeyPatch, stage: Stage) -> None:
    listed = list(STAGES)
    listed.insert([s.name for s in listed].index("site"), stage)
    monkeypatch.setattr(stages, "STAGES", tuple(listed))


def _noting(p: Prepared) -> None:
    p.warn("extra", [Problem("content/a.md", "the extra stage ran")])


def _failing(p: Prepared) -> None:
    raise BuildError([Problem("content/a.md", "the extra stage failed")])


def test_a_stage_added_to_the_list_runs_in_a_build_and_in_the_dev_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site, _ = setup(tmp_path)
    _with_stage(monkeypatch, Stage("extra", ("bodies",), _noting))
    report = build(BuildOptions(site_dir=site, now=FIXED_NOW))
    assert "the extra stage ran" in [w.message for w in report.warnings]
    folder = tmp_path / "live"
    folder.mkdir()
    outcome = LiveSite(BuildOptions(site_dir=site, output_dir=folder, now=FIXED_NOW),
                       folder).rebuild(True)
    assert outcome.ok and "the extra stage ran" in [w.message for w in outcome.warnings]


def test_a_failing_stage_added_to_the_list_fails_a_build_and_is_reported_by_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site, _ = setup(tmp_path)
    _with_stage(monkeypatch, Stage("extra", ("bodies",), _failing))
    with pytest.raises(BuildError) as failed:
        build(BuildOptions(site_dir=site, now=FIXED_NOW))
    assert [p.message for p in failed.value.problems] == ["the extra stage failed"]
    assert not (site / "output").exists()
    findings = check_site(site, FIXED_NOW).findings
    assert [(f.kind, f.problem.message) for f in findings if "extra" in f.problem.message] == [
        ("extra", "the extra stage failed")]


@pytest.mark.parametrize("takes_edits", [True, False])
def test_a_stage_added_to_the_list_decides_whether_both_quick_paths_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, takes_edits: bool) -> None:
    site, _ = setup(tmp_path)
    seen: list[str] = []

    def updating(edit: Edit) -> bool:
        seen.extend(s.rel_path for s in edit.sources)
        return takes_edits

    _with_stage(monkeypatch, Stage("extra", ("bodies",), _noting, update=updating))
    options = BuildOptions(site_dir=site, now=FIXED_NOW)
    build(options)
    folder = tmp_path / "live"
    folder.mkdir()
    live = LiveSite(BuildOptions(site_dir=site, output_dir=folder, now=FIXED_NOW), folder)
    assert live.rebuild(True).ok
    path = site / "content" / "a.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    assert build(options).quick is takes_edits
    outcome = live.rebuild(paths=[path])
    assert outcome.ok and outcome.quick is takes_edits
    assert seen == ["content/a.md", "content/a.md"]  # the build's quick path, the server's
