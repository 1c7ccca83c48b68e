"""`sitegen check`: read the whole site as a build would, write nothing, and report every problem.

It runs the build's own pipeline (`pipeline.stages`, tolerant: a stage that fails skips only
the stages that need it) on every article, drafts and scheduled ones included, so anything a
build would reject is reported, then renders every page. On top
it looks for what a build accepts but readers or editors would not: front matter keys that
look like typos, tags written several ways, missing summaries and alt text, links and anchors
that lead nowhere, duplicate titles and images that do not exist.

Findings are `Problem`s with a severity: errors (the build fails, or a reader meets a broken
link or image) and warnings (worth fixing; `--strict` makes them fail too).
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from sitegen.config import CONFIG_NAME, Config, config_line
from sitegen.content.markdown import MORE, MarkdownRenderer, Reference, source_link_target
from sitegen.content.registry import TagRegistry
from sitegen.content.sources import KNOWN_KEYS
from sitegen.errors import Problem, SiteError
from sitegen.model import Site, Source
from sitegen.parallel import default_workers, run_indexed
from sitegen.pipeline.stages import Settings, prepare
from sitegen.render.plan import CopyJob, PageJob, Plan, render_job
from sitegen.render.theme import Theme
from sitegen.report import BuildOptions
from sitegen.site.assemble import select
from sitegen.site.urls import UnsafePath, Urls
from sitegen.slugs import slugify
from sitegen.tree import require_site

ERROR, WARNING = "error", "warning"
_ANCHOR = "which has no anchor"


@dataclass(frozen=True)
class Finding:
    problem: Problem
    severity: str  # ERROR or WARNING
    kind: str  # a stable name for CI filters: "build", "unknown-key", "broken-link", ...


@dataclass(frozen=True)
class CheckReport:
    findings: tuple[Finding, ...]
    articles: int  # articles read, drafts and scheduled ones included

    @property
    def errors(self) -> int:
        return sum(f.severity == ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == WARNING for f in self.findings)

    def failed(self, strict: bool = False) -> bool:
        return bool(self.errors or (strict and self.warnings))


def check_site(site_dir: Path, now: datetime | None = None) -> CheckReport:
    """Check the site in `site_dir`; raises SiteError only when there is no site there."""
    site_dir = site_dir.resolve()
    found = _Findings()
    try:
        require_site(site_dir)
    except SiteError as exc:
        if exc.problem.file != CONFIG_NAME:  # no site folder, or nothing of a site in it
            raise
        found.errors([exc.problem], "config")
        return found.report(0)
    prepared = prepare(Settings(BuildOptions(site_dir, drafts=True, future=True, now=now),
                                tolerant=True))
    for stage, problems in prepared.problems.items():
        found.errors(problems, _KIND_OF_STAGE.get(stage, stage))
    if not prepared.made("sources"):
        return found.report(0)
    config, sources = prepared.config, prepared.sources
    if prepared.made("site"):
        found.warnings(prepared.notes.get("site", ()), "tag-spelling")
    renderer = MarkdownRenderer(config.markdown, config.base_path)
    references = {s.rel_path: renderer.references(s.body) for s in sources}
    _ArticleChecks(config, sources, references, prepared.registry, found).run()
    if prepared.made("theme"):
        found.errors(prepared.theme.unreadable(), "theme")
    if prepared.made("plan"):
        live = {s.rel_path for s in select(sources, prepared.now).published}
        pages = _render_all(prepared.plan, prepared.theme, found)
        _LinkChecks(config, sources, references, live, prepared.site, prepared.plan, pages,
                    prepared.registry, found).run()
    return found.report(len(sources))


# What `check` calls the problems of each stage of the pipeline that can fail.
_KIND_OF_STAGE = {"config": "config", "data": "data", "registry": "tag-registry",
                  "sources": "front-matter", "theme": "theme", "bodies": "markdown",
                  "pictures": "bad-image", "site": "build", "plan": "build"}


class _Findings:
    def __init__(self) -> None:
        self.items: dict[Finding, None] = {}

    def add(self, problem: Problem, severity: str, kind: str) -> None:
        self.items.setdefault(Finding(problem, severity, kind))

    def errors(self, problems: Iterable[Problem], kind: str) -> None:
        for problem in problems:
            self.add(problem, ERROR, kind)

    def warnings(self, problems: Iterable[Problem], kind: str) -> None:
        for problem in problems:
            self.add(problem, WARNING, kind)

    def report(self, articles: int) -> CheckReport:
        ordered = sorted(self.items, key=lambda f: (f.problem.file, f.problem.line or 0,
                                                    f.severity != ERROR, f.problem.message))
        return CheckReport(tuple(ordered), articles)


class _ArticleChecks:
    """What each article's front matter says, on its own and next to the others."""

    def __init__(self, config: Config, sources: Sequence[Source],
                 references: Mapping[str, list[Reference]], registry: TagRegistry,
                 found: _Findings) -> None:
        self.config, self.sources, self.registry, self.found = config, sources, registry, found
        self.references = references

    def warn(self, source: Source, key: str | None, message: str, kind: str,
             line: int | None = None) -> None:
        line = line or (source.line_of.get(key) if key else None) or source.line_of.get("title")
        self.found.add(Problem(source.rel_path, message, line), WARNING, kind)

    def run(self) -> None:
        for source in self.sources:
            for notice in source.notices:  # what reading noticed: duplicate keys, odd slugs...
                self.found.add(notice.problem, WARNING, notice.kind)
            self.unknown_keys(source)
            if not source.summary and not MORE.search(source.body):
                self.warn(source, "summary", "no summary: lists, feeds and search results show "
                          "the first paragraph; add 'summary:' or a <!--more--> line after the "
                          "opening", "missing-summary")
            if source.image and not source.image_alt:
                self.warn(source, "image", "'image' has no 'image_alt': describe the picture "
                          "for readers who cannot see it", "missing-alt")
            for ref in self.references[source.rel_path]:
                if ref.kind == "image" and not ref.text.strip():
                    self.warn(source, None, f"image {ref.url} has no alt text: write "
                              "![what it shows](...)", "missing-alt", source.body_line + ref.line)
            self.author(source)
            self.unregistered_tags(source)
            self.markdown_in_plain_text(source)
        self.duplicate_titles()

    def markdown_in_plain_text(self, source: Source) -> None:
        """Front matter text is shown as written: `*old*` or `**BBC One**` in a title appears
        with its asterisks on every page, card and feed."""
        for key in ("title", "summary", "description", "image_alt"):
            value = getattr(source, key) or ""
            found = _MARKDOWN_SYNTAX.search(value)
            if found:
                self.warn(source, key, f"'{key}' holds Markdown syntax ({found.group(0)!r}), "
                          "which front matter shows literally, asterisks and all: write plain "
                          "text (quotes and dashes are typeset for you)", "markdown-in-text")

    def unknown_keys(self, source: Source) -> None:
        for key in source.extra:
            if key in self.config.check.known_keys:
                continue
            near = difflib.get_close_matches(key, KNOWN_KEYS, n=1, cutoff=0.6)
            hint = f"; did you mean '{near[0]}'?" if near else \
                f"; the nearest known key is '{_nearest(key, KNOWN_KEYS)}'"
            self.warn(source, key, f"unknown front matter key '{key}'{hint} (a key your templates "
                      "use as article.extra can be listed in [check] known_keys in sitegen.toml)",
                      "unknown-key")

    def author(self, source: Source) -> None:
        known = self.config.authors
        if not known or source.author in known:
            return
        same = [n for n in known if slugify(n) == slugify(source.author)]
        near = same or difflib.get_close_matches(source.author, list(known), n=1, cutoff=0.7)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        self.warn(source, "author", f"author '{source.author}' is not in the [authors] table of "
                  f"sitegen.toml{hint}", "unknown-author")

    def unregistered_tags(self, source: Source) -> None:
        if not self.registry.entries:
            return
        spellings = [s for e in self.registry.entries for s in (e.name, *e.aliases)]
        for tag in source.tags:
            if self.registry.lookup(tag) is not None:
                continue  # known by slug; a different spelling is a tag-spelling warning
            near = difflib.get_close_matches(tag, spellings, n=1, cutoff=0.8)
            if near:
                self.warn(source, "tags", f'tag "{tag}" is not in the tag registry; did you mean '
                          f'"{near[0]}"?', "tag-spelling")

    def duplicate_titles(self) -> None:
        by_title: dict[str, list[Source]] = defaultdict(list)
        for source in sorted(self.sources, key=lambda s: (s.date, s.rel_path)):
            by_title[" ".join(source.title.casefold().split())].append(source)
        for same in by_title.values():
            for later in same[1:]:
                self.warn(later, "title", f"the title is also used by {same[0].rel_path}; "
                          "readers and search engines cannot tell them apart", "duplicate-title")


# Emphasis, strong, code and links as Markdown writes them; a lone asterisk or underscore
# (a footnote mark, snake_case) is not one.
_MARKDOWN_SYNTAX = re.compile(r"""\*\*[^*\n]+\*\*|__[^_\n]+__
    |(?<![\w*])\*[^*\s](?:[^*\n]*[^*\s])?\*(?![\w*])
    |(?<![\w_])_[^_\s](?:[^_\n]*[^_\s])?_(?![\w_])
    |`[^`\n]+`|\[[^\]\n]+\]\([^)\s]+\)""", re.VERBOSE)


# Element ids (and old-style <a name>) of a rendered page. Jinja and markdown-it quote every
# attribute and escape quotes inside, so a scan is exact for sitegen's output and far faster
# than an HTML parser over thousands of pages.
_IDS = re.compile(r"""(?:(?<=\s)id|<a\s[^>]*?(?<=\s)name)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _ids(html: str) -> set[str]:
    return {unescape(m.group(1) if m.group(1) is not None else m.group(2))
            for m in _IDS.finditer(html)}


def _render_all(plan: Plan, theme: Theme, found: _Findings) -> dict[str, set[str]]:
    """Render every page in memory as a build would; returns each page's element ids."""
    jobs = [job for job in plan.jobs if not isinstance(job, CopyJob)]

    def render(i: int) -> set[str] | Problem:
        try:
            output = render_job(jobs[i], theme)
        except SiteError as exc:
            return exc.problem
        return _ids(output.decode("utf-8")) if isinstance(jobs[i], PageJob) else set()

    pages: dict[str, set[str]] = {}
    for job, result in zip(jobs, run_indexed(render, len(jobs), default_workers()), strict=True):
        if isinstance(result, Problem):
            found.errors([result], "template")
        elif isinstance(job, PageJob):
            pages[job.path] = result
    return pages


class _LinkChecks:
    """Links and images in articles, and the config's menu and images, against the planned
    outputs: every target must be a file the build writes, every #anchor an id on its page."""

    def __init__(self, config: Config, sources: Sequence[Source],
                 references: Mapping[str, list[Reference]], live: set[str], site: Site,
                 plan: Plan, pages: Mapping[str, set[str]], registry: TagRegistry,
                 found: _Findings) -> None:
        self.config, self.sources, self.live, self.site = config, sources, live, site
        self.references = references
        self.outputs = {job.path for job in plan.jobs}
        self.pages, self.registry, self.found = pages, registry, found
        self.urls = Urls(config)
        self.article_by_source = {a.source_path: a for a in site.articles}
        self.source_by_path = {self.urls.output_file(a.url): a.source_path for a in site.articles}
        self.config_text = _read(config.site_dir / CONFIG_NAME)

    def run(self) -> None:
        for source in self.sources:
            article = self.article_by_source.get(source.rel_path)
            if article is None:
                continue  # it did not assemble; that error is reported already
            for ref in self.references[source.rel_path]:
                self.reference(source, article.url, ref)
            if source.image:
                self.image(source.rel_path, source.line_of.get("image"), source.image,
                           article.url, "'image'")
        for entry in self.registry.entries:
            if entry.image:
                self.image(entry.origin, entry.line, entry.image, self.urls.url("/"),
                           f'the image of tag "{entry.name}"')
        for name, author in self.config.authors.items():
            if author.avatar:
                self.image(CONFIG_NAME, config_line(self.config.site_dir,
                                                    f'authors."{name}".avatar'),
                           author.avatar, self.urls.url("/"), f"the avatar of {name}")
        for table, item in [*(("menu", i) for i in self.config.menu),
                            *(("footer", i) for i in self.config.footer)]:
            url = self.site_url(item.url, self.urls.url("/"))
            if url is not None:
                message = self.target_problem(url)
                if message:
                    self.found.add(Problem(CONFIG_NAME, f"{table} item '{item.name}' {message}",
                                           _line_with(self.config_text, item.url)),
                                   ERROR, "broken-link")

    def reference(self, source: Source, page_url: str, ref: Reference) -> None:
        line = source.body_line + ref.line
        what = "image" if ref.kind == "image" else "link"
        target = source_link_target(ref.url, source.rel_path)
        if target is not None:
            self.source_link(source, ref, target, line)
            return
        url = self.site_url(ref.url, page_url)
        if url is None:
            return
        message = self.target_problem(url)
        if message:
            kind = "missing-image" if ref.kind == "image" else \
                "broken-anchor" if _ANCHOR in message else "broken-link"
            self.found.add(Problem(source.rel_path, f"{what} {ref.url} {message}", line),
                           ERROR, kind)
            return
        unpublished = self.unpublished_target(url)
        if unpublished:
            self.found.add(Problem(source.rel_path, f"{what} {ref.url} leads to {unpublished}, "
                                   "which is not published yet (a draft or scheduled); the link "
                                   "is broken until it is", line), WARNING, "unpublished-link")

    def source_link(self, source: Source, ref: Reference, target: str, line: int) -> None:
        article = self.article_by_source.get(target)
        if article is None:
            exists = (self.config.site_dir / target).is_file()
            message = ("is not an article that builds (see its own errors)" if exists
                       else f"points to {target}, which does not exist")
            self.found.add(Problem(source.rel_path, f"link {ref.url} {message}", line), ERROR,
                           "broken-link")
            return
        if target not in self.live:
            self.found.add(Problem(source.rel_path, f"link {ref.url} leads to {target}, which is "
                                   "not published yet (a draft or scheduled); the link is broken "
                                   "until it is", line), WARNING, "unpublished-link")
        fragment = unquote(urlsplit(ref.url).fragment)
        if fragment:
            message = self.anchor_problem(self.urls.output_file(article.url), fragment,
                                          article.url)
            if message:
                self.found.add(Problem(source.rel_path, f"link {ref.url} {message}", line),
                               ERROR, "broken-anchor")

    def image(self, file: str, line: int | None, src: str, page_url: str, what: str) -> None:
        url = self.site_url(src, page_url)
        if url is None:
            return
        message = self.target_problem(url)
        if message:
            self.found.add(Problem(file, f"{what} {src} {message}", line), ERROR, "missing-image")

    def site_url(self, href: str, page_url: str) -> str | None:
        """The site URL (path, query and fragment) a link means, or None for another site."""
        href = href.strip()
        base = self.urls.base_path
        if href.startswith("/") and not href.startswith("//") and base and \
                not href.startswith(base + "/"):
            href = base + href  # as the Markdown renderer does
        absolute = urljoin(self.urls.absolute(page_url), href)
        parts, home = urlsplit(absolute), urlsplit(self.urls.base_url)
        if (parts.scheme, parts.netloc) != (home.scheme, home.netloc):
            return None
        return absolute[len(f"{home.scheme}://{home.netloc}"):]

    def target_problem(self, url: str) -> str | None:
        """Why `url` (a site URL, maybe with #fragment) leads nowhere, or None when it works."""
        parts = urlsplit(url)
        path = self.output_of(parts.path)
        if path is None:
            return f"leads to {parts.path}, which is not part of the site"
        if path not in self.outputs:
            return f"leads to {parts.path}, which the site does not have"
        fragment = unquote(parts.fragment)
        if fragment:
            return self.anchor_problem(path, fragment, parts.path)
        return None

    def output_of(self, path: str) -> str | None:
        base = self.urls.base_path
        if base and not (path == base or path.startswith(base + "/")):
            return None
        try:
            out = self.urls.output_file(path or "/")
        except UnsafePath:
            return None
        if out not in self.outputs and "." not in out.rsplit("/", 1)[-1]:
            folder = f"{out}/index.html"  # "/2016/01/foo" is served as "/2016/01/foo/"
            if folder in self.outputs:
                return folder
        return out

    def anchor_problem(self, path: str, fragment: str, shown: str) -> str | None:
        ids = self.pages.get(path)
        if ids is None or fragment in ids:
            return None
        near = difflib.get_close_matches(fragment, sorted(ids), n=1)
        hint = f"; did you mean '#{near[0]}'?" if near else ""
        return f"leads to {shown}, {_ANCHOR} '#{fragment}'{hint}"

    def unpublished_target(self, url: str) -> str | None:
        path = self.output_of(urlsplit(url).path)
        source = self.source_by_path.get(path or "")
        return source if source is not None and source not in self.live else None


def _nearest(word: str, choices: Sequence[str]) -> str:
    return max(choices, key=lambda c: difflib.SequenceMatcher(None, word, c).ratio())


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _line_with(text: str, value: str) -> int | None:
    pattern = re.compile(rf"""["']{re.escape(value)}["']""")
    return next((n for n, line in enumerate(text.splitlines(), 1) if pattern.search(line)), None)

