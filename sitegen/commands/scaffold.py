"""Starting things: `sitegen init` makes a new site, `sitegen new` a new article in one.

The new site's files are templates in `sitegen/skeleton/` (package data), filled in with
`string.Template`; every value is written as a quoted TOML or YAML string, so a title with
quotes or colons cannot break the file. Neither command ever overwrites a file: each is
created exclusively, and a non-empty folder or an existing article is refused.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sitegen import __version__
from sitegen.config import CONFIG_NAME, Config, load_config
from sitegen.content.data import load_data
from sitegen.content.registry import TagRegistry, load_registry
from sitegen.content.sources import read_sources
from sitegen.errors import BuildError, Problem, SiteError
from sitegen.folders import CONTENT_DIR
from sitegen.model import Source
from sitegen.site.urls import Urls
from sitegen.slugs import slugify

SKELETON = Path(__file__).resolve().parent / "skeleton"
DEFAULT_TITLE = "My TV News Site"
DEFAULT_BASE_URL = "http://localhost:8000"
DEFAULT_AUTHOR = "Newsroom Staff"
WELCOME = "welcome-to-the-newsroom.md"

_Warn = Callable[[str], None]


@dataclass(frozen=True)
class SiteSettings:
    """What `sitegen init` asks for; each has a sensible default."""

    title: str = DEFAULT_TITLE
    base_url: str = DEFAULT_BASE_URL
    timezone: str = "UTC"
    author: str = DEFAULT_AUTHOR

    @classmethod
    def choose(cls, title: str | None, base_url: str | None, timezone: str | None,
               author: str | None) -> SiteSettings:
        """Settings from the command line's options, checked; missing ones get defaults (the
        time zone is this machine's, when it can be told)."""
        settings = cls(title=_one_line(title) or DEFAULT_TITLE,
                       base_url=(base_url or DEFAULT_BASE_URL).rstrip("/"),
                       timezone=timezone or local_timezone(),
                       author=_one_line(author) or DEFAULT_AUTHOR)
        try:
            ZoneInfo(settings.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SiteError("--timezone", f"unknown time zone '{settings.timezone}'; use an IANA "
                            "name such as 'America/New_York' or 'UTC'") from None
        if not settings.base_url.startswith(("http://", "https://")):
            raise SiteError("--base-url", f"'{settings.base_url}' must be an absolute http(s) "
                            "URL, such as 'https://example.com'")
        if not slugify(settings.author):
            raise SiteError("--author", f"author {settings.author!r} needs letters or digits")
        return settings


@dataclass(frozen=True)
class NewSite:
    folder: Path
    files: tuple[Path, ...]


@dataclass(frozen=True)
class NewArticle:
    path: Path
    warnings: tuple[Problem, ...]


def init_site(folder: Path, settings: SiteSettings, now: datetime | None = None) -> NewSite:
    """Make a site in `folder` (new, or empty) that builds at once; refuses anything else."""
    if folder.exists() and not folder.is_dir():
        raise SiteError(str(folder), "is a file; sitegen init needs a new or empty folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise SiteError(str(folder), "is not empty; sitegen init makes a site only in a new or "
                        "empty folder, so that nothing of yours is overwritten")
    now = (now or datetime.now(ZoneInfo(settings.timezone))).replace(second=0, microsecond=0)
    values = {"title": _quoted(settings.title), "base_url": _quoted(settings.base_url),
              "timezone": _quoted(settings.timezone), "author": _quoted(settings.author),
              "date": now.isoformat(timespec="seconds"),
              "version": __version__}
    files = {CONFIG_NAME: "sitegen.toml", "netlify.toml": "netlify.toml",
             ".gitignore": "gitignore", f"{CONTENT_DIR}/{WELCOME}": "welcome.md"}
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for target, template in files.items():
        text = Template((SKELETON / template).read_text(encoding="utf-8")).substitute(values)
        made.append(_create(folder / target, text))
    return NewSite(folder, tuple(made))


def new_article(site_dir: Path, title: str, tags: list[str] | tuple[str, ...] = (),
                author: str | None = None, slug: str | None = None, draft: bool = False,
                now: datetime | None = None) -> NewArticle:
    """Write content/<slug>.md with its front matter filled in; never overwrites."""
    if not site_dir.is_dir():
        raise SiteError(str(site_dir), "site folder not found")
    if not (site_dir / CONFIG_NAME).is_file():
        raise SiteError(str(site_dir), f"no {CONFIG_NAME} here: run sitegen new in a site's "
                        "folder (or give it with -s DIR), or make a site with sitegen init")
    config = load_config(site_dir)
    data, problems = load_data(config.site_dir)
    registry, registry_problems = load_registry(config, data)
    if problems or registry_problems:
        raise BuildError(problems + registry_problems)
    # A broken article elsewhere does not stop a new one; a content/ folder that is gone does:
    # a new one holding just this article would build as a site that lost all the others.
    sources, problems = read_sources(config)
    if gone := [p for p in problems if p.file == CONTENT_DIR]:
        raise BuildError(gone)

    title = _one_line(title)
    if not title:
        raise SiteError("title", "the title is empty; give the headline in quotes")
    slug_ = slugify(_one_line(slug) or title)
    if not slug_:
        raise SiteError("--slug" if slug else "title", f"{slug or title!r} gives an empty URL "
                        "slug; give a --slug with letters or digits")
    rel = f"{CONTENT_DIR}/{slug_}.md"
    path = config.site_dir / rel
    if path.exists():
        raise SiteError(rel, "already exists; sitegen new never overwrites an article: choose "
                        "another title, or a --slug")
    now = (now or datetime.now(config.tz)).astimezone(config.tz).replace(microsecond=0)
    urls = Urls(config)
    url = urls.article(now, slug_)
    for source in sources:
        if urls.article(source.date, source.slug) == url:
            raise SiteError(rel, f"{source.rel_path} already has the URL {url}; give this one "
                            "another --slug")

    warnings: list[Problem] = []

    def warn(message: str) -> None:
        warnings.append(Problem(rel, message))

    name = _author(config, sources, author, warn)
    chosen = _tags(tags, registry, sources, warn)
    lines = ["---", f"title: {_quoted(title)}", f"date: {now.isoformat(timespec='seconds')}",
             f"author: {_quoted(name)}"]
    if chosen:
        lines += ["tags:", *(f"  - {_quoted(t)}" for t in chosen)]
    lines.append('summary: ""')
    if draft:
        lines.append("draft: true")
    lines += ["---", "", ""]
    _create(path, "\n".join(lines))
    return NewArticle(path, tuple(warnings))


def _author(config: Config, sources: list[Source], given: str | None, warn: _Warn) -> str:
    """The option, else default_author, else the newest article's author; a name that only
    differs in spelling from a known one becomes the known one (it would share their page)."""
    newest = max(sources, key=lambda s: (s.date, s.rel_path), default=None)
    name = _one_line(given) or config.default_author or (newest.author if newest else "")
    if not name:
        raise SiteError("--author", "no author: pass --author NAME, or set default_author in "
                        f"{CONFIG_NAME}")
    if not slugify(name):
        raise SiteError("--author", f"author {name!r} needs letters or digits")
    known = list(dict.fromkeys([*config.authors, *(s.author for s in sources)]))
    if not known or name in known:
        return name
    same = next((k for k in known if slugify(k) == slugify(name)), None)
    if same is not None:
        warn(f'author "{name}" is spelled "{same}" elsewhere; wrote "{same}"')
        return same
    near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f'; did you mean "{near[0]}"?' if near else f" (known: {', '.join(known[:8])})"
    warn(f'author "{name}" is new: not in [authors] of {CONFIG_NAME} nor on any article{hint}')
    return name


def _tags(given: list[str] | tuple[str, ...], registry: TagRegistry, sources: list[Source],
          warn: _Warn) -> list[str]:
    """Each tag in the spelling the site already uses: the registry's, else the articles'."""
    used: dict[str, Counter[str]] = {}
    for source in sources:
        for tag in source.tags:
            used.setdefault(registry.slug_of(tag), Counter())[tag] += 1
    spellings = [s for e in registry.entries for s in (e.name, *e.aliases)]
    chosen: dict[str, str] = {}
    for raw in given:
        tag = _one_line(raw)
        if not slugify(tag):
            raise SiteError("--tag", f"tag {raw!r} needs letters or digits")
        entry = registry.lookup(tag)
        if entry is not None:
            if tag != entry.name:
                warn(f'tag "{tag}" is "{entry.name}" in the tag registry ({entry.origin}); '
                     f'wrote "{entry.name}"')
            tag = entry.name
        elif registry.slug_of(tag) in used:
            common = used[registry.slug_of(tag)].most_common(1)[0][0]
            if common != tag:
                warn(f'tag "{tag}" is spelled "{common}" in other articles; wrote "{common}"')
            tag = common
        elif spellings:
            near = difflib.get_close_matches(tag, spellings, n=1, cutoff=0.6)
            hint = f'; did you mean "{near[0]}"?' if near else ""
            warn(f'tag "{tag}" is new: not in the tag registry nor on any article{hint}')
        chosen.setdefault(registry.slug_of(tag), tag)
    return list(chosen.values())


def local_timezone() -> str:
    """This machine's IANA time zone name, or UTC when it cannot be told."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name == "UTC" or (name and "/" in name):
            try:
                ZoneInfo(name)
                return name
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return "UTC"


def _one_line(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


def _quoted(text: str) -> str:
    """A double-quoted string valid in both TOML and YAML (JSON's escapes are a subset of both),
    with DEL escaped too, which TOML requires."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise SiteError("text", f"{text!r} is not valid text (not UTF-8)") from None
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _create(path: Path, text: str) -> Path:
    """Write a new file; never one that exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as handle:
        handle.write(text)
    return path
