"""The pipeline: the stages that make a site's plan of output files from its folder, listed once.

    config -> data -> registry -> sources -> selection -> theme -> images -> bodies -> pictures
           -> search -> site -> plan

Every path runs this one list, `STAGES`:
- a full build and the dev server's full rebuilds: `prepare`, which stops at the first
  problem (all the problems reading found are reported together);
- `sitegen check`: `prepare` with `Settings.tolerant`, where a stage that fails skips only the
  stages that need it, and every stage's problems are kept for the report;
- both quick paths (the build's from its snapshot, the dev server's from its last build in
  memory): `update`, for edits of article bodies only. A stage that such an edit reaches says
  how it updates what it made (`Stage.update`); the others made nothing a body changes.

To add a stage: write its `run` (and its `update`, if an article's body reaches it), put it in
`STAGES` after the stages it needs, and give `Prepared` a field for what it makes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sitegen.config import Config, load_config
from sitegen.content import pictures
from sitegen.content.data import SiteData, load_data
from sitegen.content.embeds import MarkupError
from sitegen.content.images import LocalImages
from sitegen.content.markdown import ImageError, MarkdownRenderer, PictureMarkup, RenderedBody
from sitegen.content.pictures import Pictures, check_images, make_pictures, site_uses
from sitegen.content.registry import TagRegistry, load_registry
from sitegen.content.sources import read_source, scan_sources
from sitegen.errors import BuildError, Problem, SiteError
from sitegen.incremental.cache import BuildCache, stamp
from sitegen.incremental.replan import with_articles
from sitegen.model import Article, Site, SiteInfo, Source
from sitegen.parallel import default_workers, run_indexed
from sitegen.render.plan import Job, Plan, article_page, make_plan
from sitegen.render.theme import Theme
from sitegen.report import BuildOptions
from sitegen.site.assemble import Selection, assemble, select, with_body
from sitegen.site.urls import Urls
from sitegen.tree import require_site, why
from sitegen.write import search

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class Settings:
    """What a run of the pipeline is for."""

    options: BuildOptions
    cache: BuildCache = field(default_factory=BuildCache)  # sources and bodies that did not change
    theme: Theme | None = None  # the last run's, when no template or static file changed
    progress: Progress | None = None
    # An article deleted between listing and reading is left out (the dev server, which
    # rebuilds once more on the change) rather than a problem (a build, which must not
    # publish a site that lost a page).
    gone_ok: bool = False
    # `sitegen check`: go on past a failed stage with the stages that do not need it.
    tolerant: bool = False
    # Where image variants are kept: None, the site's cache folder (a build without the
    # cache gives a temporary folder).
    image_store: Path | None = None
    # Told each stage's name once it ran through: a build saves its sources and bodies in a
    # forked process beside the stages that fork no workers (build.py).
    on_stage: Callable[[str], None] | None = None


@dataclass(eq=False)
class Prepared:
    """What the stages made: each field below `settings` is set by the stage of its name.

    After a tolerant run, a stage that failed (or needed one that did) set nothing: ask
    `made(name)` before reading its field."""

    settings: Settings
    problems: dict[str, list[Problem]] = field(default_factory=dict)  # by stage
    notes: dict[str, list[Problem]] = field(default_factory=dict)  # warnings, by stage
    done: list[str] = field(default_factory=list)  # the stages that ran through, in order
    config: Config = field(init=False)
    now: datetime = field(init=False)  # the moment the build is planned for (scheduling, feeds)
    data: SiteData = field(init=False)
    registry: TagRegistry = field(init=False)
    sources: list[Source] = field(init=False)  # every article read, drafts and future ones too
    selection: Selection = field(init=False)
    theme: Theme = field(init=False)
    images: LocalImages = field(init=False)
    bodies: dict[str, RenderedBody] = field(init=False)  # the published articles', by source path
    pictures: Pictures = field(init=False)  # image variants made (or found in the cache)
    search: bool = field(init=False)  # the build adds a Pagefind index once the pages are written
    site: Site = field(init=False)
    plan: Plan = field(init=False)

    def made(self, stage: str) -> bool:
        return stage in self.done

    @property
    def warnings(self) -> list[Problem]:
        """Every stage's warnings, in the order of the stages."""
        return [problem for stage in self.done for problem in self.notes.get(stage, ())]

    def warn(self, stage: str, problems: Iterable[Problem]) -> None:
        if problems := list(problems):
            self.notes.setdefault(stage, []).extend(problems)

    def fail(self, stage: str, problems: Iterable[Problem]) -> None:
        if problems := list(problems):
            self.problems.setdefault(stage, []).extend(problems)


@dataclass(frozen=True)
class Stage:
    name: str
    needs: tuple[str, ...]  # the stages whose fields `run` reads
    run: Callable[[Prepared], None]
    # Reading stages record their problems and let the next reading stage run, so a build
    # reports every problem in the site's files at once; the first stage that is not reading
    # does not start while there are any (but in a tolerant run).
    reads: bool = False
    # How the stage takes an edit of article bodies (see `update`); returning False: it
    # cannot, and the caller builds the whole site. None: nothing it makes shows a body.
    update: Callable[[Edit], bool] | None = None


def prepare(settings: Settings) -> Prepared:
    """Run every stage; raises BuildError (or SiteError) on a problem, unless `tolerant`."""
    options = settings.options
    site_dir = options.site_dir.resolve()
    require_site(site_dir if site_dir.is_dir() else options.site_dir)
    prepared = Prepared(replace(settings, options=replace(options, site_dir=site_dir)))
    for stage in STAGES:
        blocked = [need for need in stage.needs if need not in prepared.done]
        if not stage.reads and not settings.tolerant and prepared.problems:
            raise BuildError(_all(prepared.problems))
        if blocked:  # only in a tolerant run: a stage it needs failed
            continue
        try:
            stage.run(prepared)
        except (BuildError, SiteError) as exc:
            if not settings.tolerant:
                if prepared.problems:  # every problem at once: the files read, then this
                    raise BuildError([*_all(prepared.problems), *_problems(exc)]) from None
                raise
            prepared.fail(stage.name, _problems(exc))
            continue
        prepared.done.append(stage.name)
        if settings.on_stage is not None:
            settings.on_stage(stage.name)
    return prepared


def _problems(exc: BuildError | SiteError) -> list[Problem]:
    return list(exc.problems) if isinstance(exc, BuildError) else [exc.problem]


def _all(problems: Mapping[str, list[Problem]]) -> list[Problem]:
    return [problem for found in problems.values() for problem in found]


# The stages, top to bottom.

def _config(p: Prepared) -> None:
    options = p.settings.options
    p.config = load_config(options.site_dir, options.base_url)
    p.settings.cache.use_config(p.config)
    p.now = options.now or datetime.now(p.config.tz)


def _data(p: Prepared) -> None:
    p.data, problems = load_data(p.config.site_dir)
    p.fail("data", problems)


def _registry(p: Prepared) -> None:
    p.registry, problems = load_registry(p.config, p.data)
    p.fail("registry", problems)


def _sources(p: Prepared) -> None:
    """Every article's Source, from the cache where its file is unchanged. A file that
    cannot be read, or vanished since content/ was listed, is a problem (see `gone_ok`)."""
    settings, config, cache = p.settings, p.config, p.settings.cache
    paths, problems = scan_sources(config.site_dir)
    found = [_cached(cache, path) for path in paths]
    todo = [i for i, source in enumerate(found) if source is None]
    stamps = {i: _stamp(paths[i]) for i in todo}  # before reading: see `store_source`

    def read(k: int) -> Source | Problem:
        try:
            return read_source(paths[todo[k]], config)
        except SiteError as exc:
            return exc.problem

    results = run_indexed(read, len(todo), _workers(p), _step(p, "reading", len(todo)))
    for index, result in zip(todo, results, strict=True):
        path = paths[index]
        if isinstance(result, Source):
            try:
                found[index] = cache.store_source(path, result, stamps[index])
                continue
            except OSError as exc:  # vanished right after it was read
                result = Problem(result.rel_path, f"cannot be read: {why(exc)}")
        if not (settings.gone_ok and not os.path.lexists(path)):
            problems.append(result)
    p.sources = [source for source in found if source is not None]
    p.fail("sources", problems)


def _cached(cache: BuildCache, path: Path) -> Source | None:
    """The cache's Source for `path`, unless the file is gone or cannot be read now (chmod
    changes no modification time): then reading it reports why, as without the cache."""
    try:
        return cache.cached_source(path) if os.access(path, os.R_OK) else None
    except OSError:
        return None


def _stamp(path: Path) -> tuple[int, int]:
    try:
        return stamp(path)
    except OSError:  # gone: reading it says so
        return (-1, -1)


def _selection(p: Prepared) -> None:
    options = p.settings.options
    p.selection = select(p.sources, p.now, options.drafts, options.future)
    # What reading noticed in the articles published (`sitegen check` shows the others' too).
    p.warn("selection", [n.problem for s in p.selection.published for n in s.notices])


def _theme(p: Prepared) -> None:
    p.theme = p.settings.theme or Theme(p.config)


def _images(p: Prepared) -> None:
    """The site's own images, which bodies, cards and feeds give sizes to. Without a theme
    (a tolerant run whose theme failed) there are no static files to find them in."""
    static = p.theme.static_files if p.made("theme") else {}
    p.images = site_images(static, p.config)


def site_images(static: Mapping[str, Path], config: Config) -> LocalImages:
    """The site's own images, with the settings bodies link variants by (when enabled)."""
    return LocalImages(static, config.base_path, config.base_url,
                       settings=config.images if config.images.enabled else None)


def _bodies(p: Prepared) -> None:
    """Every published article's rendered body, from the cache where it is unchanged.

    A body holds the sizes and variants of the site's images it shows, so each render notes
    the stamps of the image files it looked up (`RenderedBody.image_stamps`), and a cached
    body is used only while those are the same: replacing a photo renders again only the
    bodies that show it."""
    config, cache, published, images = p.config, p.settings.cache, p.selection.published, p.images
    urls = Urls(config)
    looked: dict[str, str] = {}  # by the render running (one at a time in each process)

    def size(url: str) -> tuple[int, int] | None:
        looked.setdefault(url, images.file_stamp(url))  # before it is read
        return images.size(url)

    def picture(url: str) -> PictureMarkup | None:
        looked.setdefault(url, images.file_stamp(url))
        return images.body_picture(url)

    renderer = MarkdownRenderer(config.markdown, config.base_path, size, picture)
    stamp = pictures.RECIPE  # body images link variants by recipe
    wanted = [(s, urls.absolute(urls.article(s.date, s.slug))) for s in published]
    bodies = {s.rel_path: _cached_body(cache, images, s.body, f"{url} {stamp}")
              for s, url in wanted}
    todo = [(s, url) for s, url in wanted if bodies[s.rel_path] is None]
    image_problems: list[Problem] = []

    def render(k: int) -> RenderedBody | Problem | tuple[Problem, RenderedBody]:
        source, url = todo[k]
        looked.clear()
        try:
            body = renderer.render(source.body, url)
            body.image_stamps = tuple(looked.items())
            return body
        except MarkupError as exc:  # a Problem travels back from a worker; this may not
            return Problem(source.rel_path, str(exc), source.body_line + exc.line)
        except ImageError as exc:
            problem = Problem(source.rel_path, str(exc), _body_line(renderer, source, exc.url))
            if not p.settings.tolerant:
                return problem
        # `sitegen check` goes on without the pictures (its link checks report missing ones)
        plain = MarkdownRenderer(config.markdown, config.base_path, size)
        body = plain.render(source.body, url)
        body.image_stamps = (*looked.items(), (url, "without pictures"))  # never matches
        return problem, body

    rendered = list(run_indexed(render, len(todo), _workers(p),
                                _step(p, "Markdown", len(todo))))
    for k, result in enumerate(rendered):
        if isinstance(result, tuple):  # tolerant: an image problem, and the body without it
            if "not found in" not in result[0].message:
                image_problems.append(result[0])
            rendered[k] = result[1]
    p.fail("bodies", image_problems)
    problems = [result for result in rendered if isinstance(result, Problem)]
    if problems:
        raise BuildError(problems)
    for (source, url), body in zip(todo, rendered, strict=True):
        assert isinstance(body, RenderedBody)
        bodies[source.rel_path] = cache.store_body(source.body, f"{url} {stamp}", body)
    cache.prune()
    p.bodies = bodies  # type: ignore[assignment]  # every None was replaced


def _cached_body(cache: BuildCache, images: LocalImages, markdown: str,
                 key: str) -> RenderedBody | None:
    """The cached body, if the image files it looked up are as they were."""
    body = cache.cached_body(markdown, key)
    if body is None or any(images.file_stamp(url) != stamp for url, stamp in body.image_stamps):
        return None
    return body


def _body_line(renderer: MarkdownRenderer, source: Source, url: str) -> int | None:
    """The line of the article file where its body shows the image `url` first."""
    for ref in renderer.references(source.body):
        if ref.kind == "image" and ref.url == url:
            return source.body_line + ref.line
    return None


def _with_body_lines(p: Prepared, problems: list[Problem]) -> list[Problem]:
    """Problems of body images (found without their line) with the line that shows them."""
    renderer = MarkdownRenderer(p.config.markdown, p.config.base_path)
    sources = {s.rel_path: s for s in p.selection.published}
    found = []
    for problem in problems:
        source = sources.get(problem.file)
        url = problem.message.split()[1] if problem.message.startswith("image ") else ""
        if problem.line is None and source is not None and url:
            problem = replace(problem, line=_body_line(renderer, source, url))
        found.append(problem)
    return found


def _pictures(p: Prepared) -> None:
    """Variants of the site's photos (content/pictures.py), made or taken from the cache,
    whose unused ones are then removed. A tolerant run (`sitegen check`) encodes nothing: it
    only looks for images that would stop a build (not an image, damaged, too large)."""
    config = p.config
    p.pictures = Pictures()
    if not config.images.enabled:
        return
    bodies = {path: body.pictures for path, body in p.bodies.items()} if p.made("bodies") else {}
    uses = site_uses(config, p.selection.published, p.registry, bodies)
    file_for = p.images.files_of(use.url for use in uses)
    if p.settings.tolerant:
        p.fail("pictures", _with_body_lines(p, check_images(uses, file_for, config.images)))
        return
    try:
        p.pictures = make_pictures(uses, file_for, p.images, config.images, config.site_dir,
                                   _workers(p), p.settings.image_store,
                                   p.settings.cache.image_memo)
    except BuildError as exc:
        raise BuildError(_with_body_lines(p, exc.problems)) from None
    pictures.prune(p.pictures, config.site_dir, p.settings.image_store)


def _search(p: Prepared) -> None:
    p.search = False
    if p.config.search.enabled:
        reason = search.unavailable()
        p.search = reason is None
        if reason is not None:
            p.warn("search", [Problem("search", reason)])


def _site(p: Prepared) -> None:
    """The site assembled from the published articles. A tolerant run that meets articles
    whose URLs clash leaves them out, so the others are still checked."""
    urls = Urls(p.config)
    remaining = list(p.selection.published)
    for attempt in range(3 if p.settings.tolerant else 1):
        try:
            p.site, warnings = assemble(
                p.config, remaining, p.bodies, p.now, p.registry, p.data,
                p.images.with_pictures(p.pictures),
                search_url=urls.url("/search/") if p.search else None)
        except BuildError as exc:
            named = {problem.file for problem in exc.problems}
            kept = [s for s in remaining if s.rel_path not in named]
            if not p.settings.tolerant or attempt == 2 or len(kept) == len(remaining):
                raise
            p.fail("site", exc.problems)
            remaining = kept
            continue
        p.warn("site", warnings)
        return


def _plan(p: Prepared) -> None:
    selection = p.selection
    p.plan = make_plan(p.site, p.config, p.theme.static_files, p.now, search=p.search,
                       next_due=selection.next_due, next_expiry=selection.next_expiry,
                       line_of={s.rel_path: s.line_of for s in selection.published},
                       registry=p.registry, pictures=p.pictures)


def _workers(p: Prepared) -> int:
    return p.settings.options.workers or default_workers()


def _step(p: Prepared, name: str, total: int) -> Callable[[int], None] | None:
    progress = p.settings.progress
    if progress is None:
        return None
    return lambda done: progress(name, done, total)


# Body-only edits: both quick paths.

class Before(Protocol):
    """A site built before, as the updates read it: the build's snapshot on disk, or the dev
    server's last build in memory."""

    @property
    def config(self) -> Config: ...

    @property
    def images(self) -> LocalImages: ...

    @property
    def by_source(self) -> Mapping[str, str]: ...  # every article's URL by its source path

    def source(self, path: Path) -> Source | None:
        """The article file's Source as last read (its body may be left out); None when the
        file is not one the last build knew."""

    def article(self, rel_path: str) -> Article | None:
        """The current Article of a source path; None when it is not published."""

    def holders(self, rel_path: str) -> Iterable[int]:
        """The indices of the last plan's jobs that show the article (its own page may be
        left out: `own_pages` plans it anew)."""


@dataclass
class Edit:
    """An edit of article bodies carried through the stages that a body reaches."""

    before: Before
    paths: Sequence[Path]
    sources: list[Source] = field(default_factory=list)  # published ones edited, read again
    bodies: dict[str, RenderedBody] = field(default_factory=dict)  # by source path
    articles: dict[str, Article] = field(default_factory=dict)  # the new ones, by source path
    jobs: list[int] = field(default_factory=list)  # the indices of the last plan's jobs to redo


def update(before: Before, paths: Iterable[Path]) -> Edit | None:
    """The articles of `before` with the new bodies of the files at `paths`: each stage's
    update in turn. None when one cannot take the edit (a front matter changed, a body does
    not render, its images changed): then the caller builds the whole site, which reports."""
    edit = Edit(before, sorted(paths))
    for stage in STAGES:
        if stage.update is not None and not stage.update(edit):
            return None
    return edit


def _reread(edit: Edit) -> bool:
    """The edited files read again, if only their bodies changed: no URL, title, date, tag,
    order or list changes then."""
    config = edit.before.config
    for path in edit.paths:
        old = edit.before.source(path)
        if old is None:
            return False
        try:
            new = read_source(old.path, config)
        except (SiteError, OSError):
            return False
        if replace(new, body=old.body) != old:
            return False
        if edit.before.article(new.rel_path) is not None:  # a draft's body shows nowhere
            edit.sources.append(new)
    return True


def _render_edited(edit: Edit) -> bool:
    if not edit.sources:  # nothing published was edited (a second build, a draft's body)
        return True
    config, images = edit.before.config, edit.before.images
    renderer = MarkdownRenderer(config.markdown, config.base_path, images.size,
                                images.body_picture)
    urls = Urls(config)
    for source in edit.sources:
        try:
            edit.bodies[source.rel_path] = renderer.render(
                source.body, urls.absolute(urls.article(source.date, source.slug)))
        except (MarkupError, ImageError):
            return False
    return True


def _with_bodies(edit: Edit) -> bool:
    """Each edited Article with its new body. An article whose images changed cannot be
    swapped in (the sitemap lists each article's images)."""
    before = edit.before
    for source in edit.sources:
        article = before.article(source.rel_path)
        assert article is not None
        updated = with_body(article, source, edit.bodies[source.rel_path], before.config,
                            before.by_source)
        if updated.images != article.images:
            return False
        edit.articles[source.rel_path] = updated
    return True


def _jobs_to_redo(edit: Edit) -> bool:
    """The plan's update names the jobs that show the edited articles; `replan` puts the new
    articles in them, as and when the caller renders them (the dev server renders the
    article's own page before the lists)."""
    edit.jobs = sorted({i for rel in edit.articles for i in edit.before.holders(rel)})
    return True


def replan(edit: Edit, plan: Plan, indices: Iterable[int], info: SiteInfo,
           static_files: Mapping[str, Path], built_at: datetime) -> Plan:
    """`plan` with the edited articles in the jobs at `indices` (some of `edit.jobs`)."""
    return with_articles(plan, info, edit.before.config, static_files, built_at,
                         edit.articles, indices)


def own_pages(edit: Edit, info: SiteInfo, static_files: Mapping[str, Path],
              built_at: datetime) -> list[Job]:
    """The edited articles' own pages, planned anew (their head tags come from the article)."""
    return [article_page(article, info, edit.before.config, static_files, built_at)
            for article in edit.articles.values()]


STAGES: tuple[Stage, ...] = (
    Stage("config", (), _config),
    Stage("data", ("config",), _data, reads=True),
    Stage("registry", ("config", "data"), _registry, reads=True),
    Stage("sources", ("config",), _sources, reads=True, update=_reread),
    Stage("selection", ("sources",), _selection),
    Stage("theme", ("config",), _theme),
    Stage("images", ("config",), _images),
    Stage("bodies", ("selection", "images"), _bodies, update=_render_edited),
    Stage("pictures", ("selection", "registry", "images"), _pictures),
    Stage("search", ("config",), _search),
    Stage("site", ("registry", "bodies", "pictures", "search"), _site, update=_with_bodies),
    Stage("plan", ("site", "theme"), _plan, update=_jobs_to_redo),
)
