"""Incremental rebuilds are exact: after every kind of edit, LiveSite's folder equals a fresh
full build of the same sources, file for file and byte for byte.

A seeded random walk edits a small TV-news site (bodies, titles, tags, new, deleted and renamed
articles, slugs, drafts, future dates, authors, CSS, a template override, the configuration,
and broken YAML that is then fixed); after each step it rebuilds incrementally and compares
with `sitegen.pipeline.build` into another folder. Only the manifest, which full builds alone write,
is left out of the comparison.
"""

from __future__ import annotations

import gc
import random
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from serve_helpers import (
    FIXED_NOW,
    SITE_TOML,
    STORIES,
    THEME,
    THEME_CSS,
    article_text,
    compare_folders,
    folder_digest,
    make_site,
)

from sitegen.pipeline.build import build
from sitegen.render.theme import Theme
from sitegen.report import BuildOptions
from sitegen.serve.live import LiveSite, Rebuilt

TITLE_WORDS = ("Harbor", "Relay", "Lantern", "Salt", "Midnight", "Signal", "Anchor", "Pilot",
               "Ratings", "Finale", "Premiere", "Studio", "Newsroom", "Weather", "Morning",
               "Late", "Special", "Bulletin", "Coastal", "Western")
TAGS = ("Renewals", "Ratings", "Casting", "Reviews", "Premieres", "Cancellations",
        "Interviews", "Streaming")
AUTHORS = ("Mara Quill", "Tomas Reyes", "Priya Nand", "Jun Okafor")
BODY_WORDS = ("the", "network", "confirmed", "a", "second", "season", "after", "strong",
              "overnight", "ratings", "and", "the", "showrunner", "promised", "fewer",
              "cliffhangers", "while", "critics", "praised", "its", "quiet", "finale")


@dataclass
class Entry:
    title: str
    date: str
    author: str
    tags: list[str]
    body: str
    extra: dict[str, object] = field(default_factory=dict)

    def text(self) -> str:
        return article_text(self.title, self.date, self.author, self.tags, self.body, **self.extra)


class RandomSite:
    """A small site on disk, and the edits a writer makes to it, drawn from one seed."""

    def __init__(self, root: Path, seed: int) -> None:
        self.rng = random.Random(seed)
        self.site = make_site(root, stories=())
        self.content = self.site / "content"
        self.entries: dict[str, Entry] = {}
        self.counter = 0
        for story in STORIES:
            self.entries[story.name] = Entry(story.title, story.date, story.author,
                                             list(story.tags), story.body)
            self.save(story.name)
        for _ in range(3):
            self.op_create()

    # helpers

    def save(self, name: str) -> None:
        path = self.content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.entries[name].text(), encoding="utf-8")

    def next_id(self) -> int:
        self.counter += 1
        return self.counter

    def pick(self) -> str:
        return self.rng.choice(sorted(self.entries))

    def title(self) -> str:
        words = self.rng.sample(TITLE_WORDS, 3)
        return f"{' '.join(words)} Report {self.next_id()}"

    def body(self) -> str:
        rng = self.rng
        paragraphs = []
        for _ in range(rng.randint(1, 3)):
            words = [rng.choice(BODY_WORDS) for _ in range(rng.randint(6, 18))]
            paragraphs.append(" ".join(words).capitalize() + ".")
        if rng.random() < 0.3:
            paragraphs.append(f"## {rng.choice(TITLE_WORDS)} notes\n\n- one\n- two")
        if rng.random() < 0.2:
            paragraphs.append("See the [schedule](https://example.com/schedule) for times.")
        return "\n\n".join(paragraphs)

    def date(self) -> str:
        rng = self.rng
        return (f"{rng.randint(2019, 2023)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
                f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}")

    def tags(self) -> list[str]:
        return self.rng.sample(TAGS, self.rng.randint(0, 3))

    # content edits: each returns whether everything must be rendered again

    def op_body(self) -> bool:
        self.entries[name := self.pick()].body = self.body()
        self.save(name)
        return False

    def op_title(self) -> bool:
        self.entries[name := self.pick()].title = self.title()
        self.save(name)
        return False

    def op_tags(self) -> bool:
        self.entries[name := self.pick()].tags = self.tags()
        self.save(name)
        return False

    def op_author(self) -> bool:
        self.entries[name := self.pick()].author = self.rng.choice(AUTHORS)
        self.save(name)
        return False

    def op_create(self) -> bool:
        name = f"story-{self.next_id()}.md"
        if self.rng.random() < 0.3:
            name = "bulletins/" + name
        self.entries[name] = Entry(self.title(), self.date(), self.rng.choice(AUTHORS),
                                   self.tags(), self.body())
        self.save(name)
        return False

    def op_delete(self) -> bool:
        if len(self.entries) <= 2:
            return self.op_create()
        name = self.pick()
        del self.entries[name]
        (self.content / name).unlink()
        return False

    def op_rename_file(self) -> bool:
        old = self.pick()
        new = f"renamed-{self.next_id()}.md"
        if self.rng.random() < 0.4:
            new = "archive/" + new
        self.entries[new] = self.entries.pop(old)
        (self.content / new).parent.mkdir(parents=True, exist_ok=True)
        (self.content / old).rename(self.content / new)
        return False

    def op_slug(self) -> bool:
        self.entries[name := self.pick()].extra["slug"] = f"desk-note-{self.next_id()}"
        self.save(name)
        return False

    def op_draft(self) -> bool:
        entry = self.entries[name := self.pick()]
        entry.extra["draft"] = not entry.extra.get("draft", False)
        self.save(name)
        return False

    def op_date(self) -> bool:
        entry = self.entries[name := self.pick()]
        entry.date = "2031-09-01 20:00" if self.rng.random() < 0.4 else self.date()
        self.save(name)
        return False

    # look-and-feel edits

    def op_css(self) -> bool:
        css = self.site / "static" / "css" / "style.css"
        if not css.exists():
            css.parent.mkdir(parents=True, exist_ok=True)
            css.write_bytes(THEME_CSS.read_bytes())
        with css.open("a", encoding="utf-8") as handle:
            handle.write(f"\n.desk-{self.next_id()} {{ color: rgb(1, 2, 3); }}\n")
        return True

    def op_template(self) -> bool:
        name = self.rng.choice(["_article_card.html", "base.html"])
        override = self.site / "templates" / name
        if not override.exists():
            override.parent.mkdir(parents=True, exist_ok=True)
            override.write_text((THEME / "templates" / name).read_text(encoding="utf-8"),
                                encoding="utf-8")
        text = override.read_text(encoding="utf-8")
        override.write_text(text + f"<!-- template revision {self.next_id()} -->\n",
                            encoding="utf-8")
        return True

    def op_static(self) -> bool:
        """Add a static file, or delete one added before."""
        media = self.site / "static" / "media"
        existing = sorted(media.glob("*.txt")) if media.is_dir() else []
        if existing and self.rng.random() < 0.5:
            self.rng.choice(existing).unlink()
        else:
            media.mkdir(parents=True, exist_ok=True)
            (media / f"rundown-{self.next_id()}.txt").write_text("Tonight's rundown.\n",
                                                               encoding="utf-8")
        return True

    def op_config(self) -> bool:
        per_page = self.rng.randint(2, 4)
        title = self.rng.choice(["Channel Nine Desk", "Channel Nine Nights", "Nine at Nine"])
        (self.site / "sitegen.toml").write_text(
            SITE_TOML.replace("per_page = 3", f"per_page = {per_page}")
            .replace("Channel Nine Desk", title), encoding="utf-8")
        return True

    OPS = {"body": 6, "title": 3, "tags": 3, "author": 1, "create": 3, "delete": 2,
           "rename_file": 2, "slug": 2, "draft": 2, "date": 2, "css": 1, "template": 1,
           "static": 1, "config": 1, "broken_yaml": 1}

    def choose(self) -> str:
        names = list(self.OPS)
        return self.rng.choices(names, [self.OPS[n] for n in names])[0]


class Pair:
    """A LiveSite and a full build of the same site, compared after each rebuild."""

    def __init__(self, site: Path, work: Path) -> None:
        self.site = site
        self.folder = work / "live"
        self.full = work / "full"
        self.folder.mkdir()
        self.live = LiveSite(BuildOptions(site_dir=site, output_dir=self.folder, now=FIXED_NOW),
                             self.folder)
        self.seen = self._files()

    def _files(self) -> dict[Path, bytes]:
        return {p: p.read_bytes() for p in self.site.rglob("*") if p.is_file() and not any(
            part.startswith(".") for part in p.relative_to(self.site).parts)}  # as the watcher

    def changed(self) -> frozenset[Path]:
        """The files that changed since the last rebuild, as the watcher would report them."""
        now = self._files()
        paths = {p for p in now.keys() | self.seen.keys() if now.get(p) != self.seen.get(p)}
        self.seen = now
        return frozenset(paths)

    def rebuild(self, everything: bool = False,
                publish: Callable[[frozenset[str]], None] | None = None,
                interrupted: Callable[[], bool] | None = None) -> Rebuilt:
        return self.live.rebuild(everything, self.changed(), publish, interrupted)

    def full_build(self) -> None:
        build(BuildOptions(site_dir=self.site, output_dir=self.full, now=FIXED_NOW))

    def check(self, everything: bool, step: str) -> Rebuilt:
        outcome = self.rebuild(everything)
        assert outcome.ok, f"{step}: rebuild failed: {outcome.problems}"
        self.full_build()
        # The preview's search index is re-made in the background after a rebuild.
        assert self.live.indexer.wait(), f"{step}: the preview's re-index did not finish"
        differences = compare_folders(self.full, self.folder)
        assert differences == [], f"{step}: incremental output differs from a full build:\n" + \
            "\n".join(differences[:60])
        return outcome


@pytest.mark.parametrize("seed", [20150, 31337, 777])
def test_random_edits_match_a_full_build(tmp_path: Path, seed: int) -> None:
    model = RandomSite(tmp_path / "site", seed)
    pair = Pair(model.site, tmp_path)
    pair.check(True, "first build")
    history: list[str] = []
    quick = 0
    for step in range(40):
        op = model.choose()
        history.append(op)
        label = f"seed {seed}, step {step} ({op}); steps so far: {' '.join(history)}"
        if op == "broken_yaml":
            name = model.pick()
            before = folder_digest(pair.folder)
            good = (model.content / name).read_text(encoding="utf-8")
            (model.content / name).write_text(
                good.replace("title: ", "title: \"unclosed [\n  bad: : ", 1), encoding="utf-8")
            outcome = pair.rebuild()
            assert not outcome.ok, label
            assert outcome.written == () and outcome.removed == ()
            assert any(p.file == f"content/{name}" and p.line for p in outcome.problems), \
                (label, outcome.problems)
            assert folder_digest(pair.folder) == before, f"{label}: a failed rebuild wrote files"
            (model.content / name).write_text(good, encoding="utf-8")
            pair.check(False, label + " (fixed)")
            continue
        everything = getattr(model, f"op_{op}")()
        quick += pair.check(everything, label).quick
    assert len(set(history)) >= 8, f"the walk tried too few kinds of edit: {history}"
    assert quick, f"no step took the quick path: {history}"  # both paths are checked


@pytest.fixture()
def pair(tmp_path: Path) -> Pair:
    site = make_site(tmp_path / "site")
    p = Pair(site, tmp_path)
    p.check(True, "first build")
    return p


def test_a_rebuild_without_changes_writes_nothing(pair: Pair) -> None:
    before = folder_digest(pair.folder)
    for _ in range(2):
        outcome = pair.rebuild()
        assert outcome.ok
        assert outcome.written == () and outcome.removed == ()
    assert folder_digest(pair.folder) == before


def test_a_body_edit_rewrites_only_what_shows_it(pair: Pair) -> None:
    story, other = STORIES[0], STORIES[3]
    (pair.site / "content" / story.name).write_text(
        story.text(body="The coastal drama now films in a real lighthouse."), encoding="utf-8")
    outcome = pair.check(False, "body edit")
    page = story.url.strip("/") + "/index.html"
    assert page in outcome.written
    assert other.url.strip("/") + "/index.html" not in outcome.written
    assert "css/style.css" not in outcome.written
    total = sum(1 for p in pair.folder.rglob("*") if p.is_file())
    assert 0 < len(outcome.written) < total / 2


def test_a_body_edit_takes_the_quick_path_and_publishes_the_article_first(pair: Pair) -> None:
    story = STORIES[0]
    page = story.url.strip("/") + "/index.html"
    tag_page = "tags/renewals/index.html"
    assert story.title in (pair.folder / tag_page).read_text(encoding="utf-8")
    sentence = "The coastal drama now films in a real lighthouse."
    (pair.site / "content" / story.name).write_text(story.text(body=sentence), encoding="utf-8")
    published: list[frozenset[str]] = []

    def publish(pending: frozenset[str]) -> None:
        assert sentence in (pair.folder / page).read_text(encoding="utf-8")  # written first
        assert sentence not in (pair.folder / tag_page).read_text(encoding="utf-8")  # not yet
        published.append(pending)

    outcome = pair.rebuild(publish=publish)
    assert outcome.ok and outcome.quick
    (pending,) = published
    assert page not in pending and {tag_page, "feed.xml"} <= pending
    assert "archive/index.html" not in pending  # it links articles by title: a body is not shown
    assert pending | {page} == set(outcome.written)
    assert sentence in (pair.folder / tag_page).read_text(encoding="utf-8")  # the summary
    pair.full_build()
    assert pair.live.indexer.wait()
    assert compare_folders(pair.full, pair.folder) == []


@pytest.mark.parametrize("then", ["body", "title", "broken"])
def test_an_interrupted_quick_rebuild_leaves_its_lists_to_the_next(pair: Pair, then: str) -> None:
    """A save while the lists of the last one are written stops them; the next rebuild, quick
    or full (or failed), writes what was left, so the folder still matches a full build."""
    first, second = STORIES[0], STORIES[3]
    sentence = "The coastal drama now films in a real lighthouse."
    (pair.site / "content" / first.name).write_text(first.text(body=sentence), encoding="utf-8")
    outcome = pair.rebuild(interrupted=lambda: True)
    assert outcome.ok and outcome.quick
    page = first.url.strip("/") + "/index.html"
    assert sentence in (pair.folder / page).read_text(encoding="utf-8")
    assert "tags/renewals/index.html" in outcome.pending
    stale = pair.folder / "tags" / "renewals" / "index.html"
    assert sentence not in stale.read_text(encoding="utf-8")  # left to the next rebuild
    assert len(outcome.written) == 2  # the article's page, and one list before the check
    story = pair.site / "content" / second.name
    if then == "broken":
        good = story.read_text(encoding="utf-8")
        story.write_text(good.replace("title: ", 'title: "unclosed [\n  bad: : ', 1),
                         encoding="utf-8")
        failed = pair.rebuild()
        assert not failed.ok
        assert sentence in stale.read_text(encoding="utf-8")  # the last good site, whole
        story.write_text(good, encoding="utf-8")
        outcome = pair.check(False, "fixed")
    else:
        story.write_text(second.text(**({"body": "Another new body."} if then == "body"
                                        else {"title": "A New Headline"})), encoding="utf-8")
        outcome = pair.check(False, f"{then} edit after an interrupted rebuild")
        assert outcome.quick == (then == "body")
    assert outcome.pending == frozenset()
    assert sentence in stale.read_text(encoding="utf-8")


@pytest.mark.parametrize("edit", [{"title": "Harbor Lights Returns"},
                                  {"tags": ("Renewals", "Lighthouses")},
                                  {"summary": "A new summary."}, {"draft": True}],
                         ids=["title", "tags", "summary", "draft"])
def test_a_front_matter_edit_takes_the_full_path(pair: Pair, edit: dict[str, object]) -> None:
    story = STORIES[0]
    (pair.site / "content" / story.name).write_text(story.text(**edit), encoding="utf-8")
    outcome = pair.check(False, f"{edit} edit")
    assert not outcome.quick and outcome.written


def test_a_deleted_article_disappears_everywhere(pair: Pair) -> None:
    gone, kept = STORIES[2], STORIES[0]  # both tagged Renewals
    tag_page = pair.folder / "tags" / "renewals" / "index.html"
    assert gone.title in tag_page.read_text(encoding="utf-8")
    (pair.site / "content" / gone.name).unlink()
    outcome = pair.check(False, "delete")
    assert gone.url.strip("/") + "/index.html" in outcome.removed
    assert not (pair.folder / gone.url.strip("/")).exists()
    assert not (pair.folder / gone.url.strip("/")).parent.exists()  # 2021/05/ held only it
    listing = tag_page.read_text(encoding="utf-8")
    assert gone.title not in listing and kept.title in listing
    assert gone.url not in (pair.folder / "index.html").read_text(encoding="utf-8")
    casting = pair.folder / "tags" / "casting"  # its only article is gone
    assert not casting.exists()


def test_a_broken_template_fails_cleanly_then_recovers(pair: Pair) -> None:
    override = pair.site / "templates" / "article.html"
    override.parent.mkdir()
    good = (THEME / "templates" / "article.html").read_text(encoding="utf-8")
    override.write_text(good, encoding="utf-8")
    pair.check(True, "template override")
    before = folder_digest(pair.folder)
    lines = good.splitlines(keepends=True)
    lines.insert(3, "{% if article.title %}\n")  # never closed
    override.write_text("".join(lines), encoding="utf-8")
    outcome = pair.rebuild(everything=True)
    assert not outcome.ok
    (problem,) = outcome.problems
    assert problem.file == "templates/article.html" and problem.line, problem
    assert "template syntax error" in problem.message
    assert folder_digest(pair.folder) == before
    assert '<article class="article"' in good
    override.write_text(good.replace('<article class="article"',
                                     '<article class="article" data-desk="nine"'),
                        encoding="utf-8")
    pair.check(True, "template fixed")
    assert 'data-desk="nine"' in (pair.folder / STORIES[0].url.strip("/") /
                                  "index.html").read_text(encoding="utf-8")


def test_a_broken_first_build_then_a_fix(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    article = site / "content" / STORIES[1].name
    article.write_text('---\ntitle: "Open\ndate: 2021-03-14\n---\nBody\n', encoding="utf-8")
    p = Pair(site, tmp_path)
    outcome = p.rebuild()
    assert not outcome.ok and outcome.problems[0].file == f"content/{STORIES[1].name}"
    assert list(p.folder.iterdir()) == []
    article.write_text(STORIES[1].text(), encoding="utf-8")
    p.check(False, "fixed after a failed first build")


def _one_edit_rebuild(root: Path, count: int) -> tuple[Rebuilt, int, int]:
    """A preview of `count` articles (one tag, one author, one article per page), one body
    edited: the rebuild's outcome, the pages it rendered (`Theme.render`) and the Python
    calls it made (the garbage collector off meanwhile, so the count is of its own work)."""
    site = make_site(root / "site", stories=())
    (site / "sitegen.toml").write_text(SITE_TOML.replace("per_page = 3", "per_page = 1"),
                                       encoding="utf-8")
    for i in range(count):
        (site / "content" / f"bulletin-{i:03d}.md").write_text(article_text(
            f"Overnight Bulletin {i}", f"2020-{1 + i % 12:02d}-{1 + i % 28:02d} 0{i % 10}:00",
            tags=["Bulletins"], body=f"Item {i} from the overnight desk."), encoding="utf-8")
    folder = root / "live"
    folder.mkdir()
    live = LiveSite(BuildOptions(site_dir=site, output_dir=folder, now=FIXED_NOW, workers=1),
                    folder)
    assert live.rebuild(True).ok
    assert live.indexer.wait()  # no search index being made meanwhile
    edited = site / "content" / "bulletin-007.md"
    edited.write_text(article_text("Overnight Bulletin 7", "2020-08-08 07:00",
                                   tags=["Bulletins"], body="Item 7, corrected."),
                      encoding="utf-8")
    pages = calls = 0
    render = Theme.render

    def counting(self: Theme, template: str, context: Mapping[str, object],
                 assets: set[str] | None = None) -> str:
        nonlocal pages
        pages += 1
        return render(self, template, context, assets)

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        calls += event == "call"

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Theme, "render", counting)
        gc.collect()
        gc.disable()
        sys.setprofile(profile)  # this thread only: not the background search indexer
        try:
            outcome = live.rebuild(paths=[edited])
        finally:
            sys.setprofile(None)
            gc.enable()
    live.indexer.wait()
    return outcome, pages, calls


def test_an_incremental_rebuild_does_linear_work(tmp_path: Path) -> None:
    """One body edit on sites of 60, 120 and 180 articles: the rebuild renders the same few
    pages whatever the site's size, and its other work (the sitemap lists every article)
    grows by the same amount with each 60 articles more: linear, not quadratic."""
    runs = [_one_edit_rebuild(tmp_path / str(count), count) for count in (60, 120, 180)]
    assert all(outcome.ok and outcome.quick for outcome, _, _ in runs)
    pages = [rendered for _, rendered, _ in runs]
    assert pages[0] == pages[1] == pages[2] and 0 < pages[0] <= 6, pages
    calls = [made for _, _, made in runs]
    first, second = calls[1] - calls[0], calls[2] - calls[1]
    assert 0 < second <= 1.1 * first, (f"Python calls of one body edit's rebuild at 60, 120 "
                                       f"and 180 articles: {calls}, growing faster than the site")


# --- sources gone while serving (issue 16) ---------------------------------------------------------

def _hide_content(site: Path) -> None:
    (site / "content").rename(site / "c")


def _unhide_content(site: Path) -> None:
    (site / "c").rename(site / "content")


def _hide_config(site: Path) -> None:
    (site / "sitegen.toml").rename(site / "sitegen.toml.bak")


def _unhide_config(site: Path) -> None:
    (site / "sitegen.toml.bak").rename(site / "sitegen.toml")


@pytest.mark.parametrize(("hide", "unhide", "named"), [
    (_hide_content, _unhide_content, "content"),
    (_hide_config, _unhide_config, "sitegen.toml"),
], ids=["content", "sitegen.toml"])
def test_a_source_removed_while_serving_fails_and_keeps_the_last_good_site(
        pair: Pair, hide: Callable[[Path], None], unhide: Callable[[Path], None],
        named: str) -> None:
    """Removing content/ used to rebuild the preview as an empty site (and sitegen.toml, as
    one with the default settings). Now the rebuild fails naming it, every file of the last
    good preview stays, and putting it back brings the site back."""
    before = folder_digest(pair.folder)
    hide(pair.site)
    outcome = pair.rebuild()
    assert not outcome.ok
    (problem,) = outcome.problems
    assert problem.file == named, problem
    assert folder_digest(pair.folder) == before
    unhide(pair.site)
    pair.check(named == "sitegen.toml", f"{named} restored")


def test_an_article_deleted_between_listing_and_reading_is_left_out_while_serving(
        pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """While serving, a file deleted after content/ was listed is treated as gone (its own
    change event rebuilds again): no crash, no failed preview."""
    from sitegen.pipeline import stages

    victim = pair.site / "content" / STORIES[2].name
    victim.write_text(STORIES[2].text(title="Harbor Lights Renewed Again"), encoding="utf-8")
    real_scan = stages.scan_sources

    def scan_then_delete(site_dir: Path):  # type: ignore[no-untyped-def]
        found = real_scan(site_dir)
        victim.unlink(missing_ok=True)
        return found

    monkeypatch.setattr(stages, "scan_sources", scan_then_delete)
    outcome = pair.rebuild()
    assert outcome.ok, outcome.problems
    assert not (pair.folder / STORIES[2].url.strip("/")).exists()
    monkeypatch.undo()
    pair.check(False, "after the deletion")  # and the preview equals a full build


def test_a_static_file_deleted_between_listing_and_copying_is_copied_next_time(
        pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    from sitegen.write import writer  # the preview copies through the output transaction

    media = pair.site / "static" / "rundown.txt"
    media.parent.mkdir(exist_ok=True)
    media.write_text("Tonight's rundown.\n", encoding="utf-8")
    real_copy = writer.shutil.copyfile

    def delete_then_copy(source, target):  # type: ignore[no-untyped-def]
        if Path(source) == media and media.exists():
            media.unlink()
        return real_copy(source, target)

    monkeypatch.setattr(writer.shutil, "copyfile", delete_then_copy)
    outcome = pair.rebuild(everything=True)
    assert outcome.ok, outcome.problems
    assert not (pair.folder / "rundown.txt").exists()
    monkeypatch.undo()
    media.write_text("Tonight's rundown, saved again.\n", encoding="utf-8")
    pair.check(True, "saved again")
    assert (pair.folder / "rundown.txt").read_text(encoding="utf-8").endswith("again.\n")


def test_a_replaced_image_updates_every_page_showing_it_and_a_deleted_one_fails(
        pair: Pair) -> None:
    from PIL import Image

    story = STORIES[0]  # on the front page, its tags' pages, and related to other stories
    still = pair.site / "static" / "images" / "still.jpg"
    still.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (900, 600), (200, 0, 0)).save(still)
    (pair.site / "content" / story.name).write_text(
        story.text(image="/images/still.jpg", image_alt="A still"), encoding="utf-8")
    pair.check(True, "image added")  # a new static file: the full path
    old = {p.name for p in (pair.folder / "_img").iterdir()}
    showing = [p for p in pair.folder.rglob("*.html")
               if any(name in p.read_text(encoding="utf-8") for name in old)]
    assert len(showing) >= 4  # the article, the front page, tag pages, related links
    Image.new("RGB", (900, 600), (0, 0, 200)).save(still)
    outcome = pair.check(True, "image replaced")  # a static change: the full path
    new = {p.name for p in (pair.folder / "_img").iterdir()}
    assert not old & new
    for page in showing:
        assert page.relative_to(pair.folder).as_posix() in outcome.written
        text = page.read_text(encoding="utf-8")
        assert not any(name in text for name in old) and any(name in text for name in new)
    before = folder_digest(pair.folder)
    still.unlink()
    failed = pair.rebuild(True)
    assert not failed.ok and folder_digest(pair.folder) == before
    assert [str(p) for p in failed.problems] == [
        f"content/{story.name}:8: image /images/still.jpg not found in static/: add the file, "
        "or fix the path"]


def _pages_naming(folder: Path, names: set[str]) -> set[str]:
    """The output files (outside _img/) whose text names any of `names`."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and p.suffix in (".html", ".xml", ".json")
            and any(name in p.read_text(encoding="utf-8") for name in names)}


def test_a_replaced_image_renders_again_only_the_pages_that_show_it(tmp_path: Path) -> None:
    """Five articles, two of which show a photo: replacing it rewrites exactly the files that
    named its old variants (the two articles, the lists, feeds and related links that show
    them), not the site's other pages, and the preview still equals a full build."""
    from PIL import Image

    fifth = article_text("Signal Studio Opens a Coastal Newsroom", "2021-08-02", "Priya Nand",
                         ("Casting",), "A new studio for the morning bulletin.")
    site = make_site(tmp_path / "site", extra={"content/signal-studio.md": fifth})
    still = site / "static" / "images" / "still.jpg"
    still.parent.mkdir(parents=True)
    Image.new("RGB", (900, 600), (200, 0, 0)).save(still)
    for story in (STORIES[0], STORIES[3]):
        (site / "content" / story.name).write_text(
            story.text(image="/images/still.jpg", image_alt="A still"), encoding="utf-8")
    pair = Pair(site, tmp_path)
    pair.check(True, "first build")
    old = {p.name for p in (pair.folder / "_img").iterdir()}
    showing = _pages_naming(pair.folder, old)
    pages = {p.relative_to(pair.folder).as_posix() for p in pair.folder.rglob("*.html")}
    before = {rel: (pair.folder / rel).read_bytes() for rel in pages}
    assert {STORIES[0].url.strip("/") + "/index.html",
            STORIES[3].url.strip("/") + "/index.html", "index.html"} <= showing
    replacement = still.with_name("new.jpg")
    Image.new("RGB", (900, 600), (0, 0, 200)).save(replacement)
    replacement.replace(still)
    outcome = pair.check(True, "image replaced")  # and the preview equals a full build
    new = {p.name for p in (pair.folder / "_img").iterdir()}
    assert not old & new and _pages_naming(pair.folder, new) == showing
    changed = {rel for rel in pages if (pair.folder / rel).read_bytes() != before[rel]}
    assert changed == {rel for rel in showing if rel.endswith(".html")}
    # Only those are rendered: not the pages whose data carries the photo without showing it
    # (a neighbour's previous/next link; a feed item's related stories).
    assert {rel for rel in outcome.written if not rel.startswith("_img/")} == showing
    links = [f'<a href="{story.url}" rel="{way}">' for story in (STORIES[0], STORIES[3])
             for way in ("prev", "next")]
    carried = [rel for rel in pages - showing if any(a in before[rel].decode() for a in links)]
    assert carried  # the site has such pages, or the line above proves nothing


def test_a_changed_stylesheet_renders_again_every_page_that_names_it(pair: Pair) -> None:
    """A page's record names the assets it used: a changed theme stylesheet (all pages link
    it, with its hash) renders every page again, and the preview equals a full build."""
    css = pair.site / "static" / "css" / "style.css"
    css.parent.mkdir(parents=True)
    css.write_bytes(THEME_CSS.read_bytes() + b"\n.extra { color: red; }\n")
    outcome = pair.check(True, "stylesheet changed")
    pages = {p.relative_to(pair.folder).as_posix() for p in pair.folder.rglob("*.html")}
    assert pages <= set(outcome.written)
