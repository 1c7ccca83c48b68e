"""Reading articles: find `content/**/*.md`, split and load their front matter, check every field.

The output is a `Source` per file (plain data, Markdown not yet rendered) and a list of
`Problem`s. A broken file never stops the others from being read, so one build reports every
problem at once.
"""

from __future__ import annotations

import difflib
import os
import re
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import yaml
from frontmatter.default_handlers import YAMLHandler

from sitegen.config import Config
from sitegen.content.pictures import parse_focus
from sitegen.errors import BuildError, Problem, SiteError
from sitegen.folders import CONTENT_DIR
from sitegen.model import Notice, Source
from sitegen.slugs import slugify
from sitegen.text import clean, code_point, escaped, find_unwanted, first_unwanted
from sitegen.tree import Listing, list_folder, readable, why

# An article is a few KB and the longest features some 100 KB; past this it is a mistake (a
# pasted data dump), and Markdown of this size already takes seconds to render.
MAX_SOURCE_BYTES = 1024 * 1024
MAX_YAML_DEPTH = 50
# Each tag gets a page and three feeds that list the article with all its tags, so the work
# of one article grows with the square of its tags; each alias writes a page. A news article
# has a handful of either: far more is a mistake, refused before it stalls the build.
MAX_TAGS = 100
# PyYAML builds its values in Python, about 5 s per MiB: front matter is a few lines of
# metadata, and this keeps the largest a file can hold to a second or so.
MAX_FRONT_MATTER_CHARS = 256 * 1024
MAX_ALIASES = 100

# Dates must lie within these years both in the site's time zone and in UTC: every later
# conversion (to UTC for feeds and sitemaps, to an offset) and sum (the news sitemap's two-day
# window, the next due moment) then stays inside what Python's datetime can hold (years 1 to
# 9999), with a year to spare above.
MIN_YEAR, MAX_YEAR = 1, 9998

KNOWN_KEYS = ("title", "date", "author", "author_role", "tags", "summary", "slug", "draft",
              "updated", "image", "image_alt", "description", "aliases", "expires",
              "image_caption", "image_credit", "image_focus")

# Later stages may point at these (and at every key outside KNOWN_KEYS, which `sitegen check`
# reports when it looks like a typo).
LOCATED_KEYS = ("title", "slug", "date", "author", "tags", "summary", "image", "image_alt",
                "aliases", "image_focus")

# Characters a URL may hold as they are (RFC 3986's, less the IPv6 brackets, and "%" before
# two hex digits, so an already encoded URL stays as it is); anything else is percent-encoded.
_URL_SAFE = ":/?#@!$&'()*+,;=-._~%"
_STRAY_PERCENT = re.compile("%(?![0-9A-Fa-f]{2})")
# A slug or former slug holding these was meant as a path ("../../news/x"); it is made one
# URL segment ("news-x"), and a ".." alone gives no slug at all.
_PATH_LIKE = re.compile(r"[/\\]")

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed: ~10x faster


class _NotingLoader(_Loader):  # type: ignore[misc, valid-type]
    """The safe loader, noting each mapping key given again: YAML keeps the last value, and
    the author rarely meant to. One set per mapping, so linear in the number of keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.repeated: list[tuple[str, int, int]] = []  # key, first line, repeated line (0-based)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    line = first.setdefault(key, key_node.start_mark.line)
                except TypeError:  # a list or mapping as a key: loading reports it
                    continue
                if line != key_node.start_mark.line:
                    self.repeated.append((str(key), line, key_node.start_mark.line))
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]


class _FrontMatter(YAMLHandler):
    """python-frontmatter's YAML handler, with libyaml's fast safe loader; `load_noting`
    also gives each key's line and the keys written twice."""

    def load(self, fm: str, **kwargs: object) -> Any:
        return self.load_noting(fm)[0]

    def load_noting(self, fm: str) -> tuple[Any, dict[str, int], list[tuple[str, int, int]]]:
        """The values, as `load` gives them; the 0-based line of each top-level key (its
        first occurrence); and the keys written twice: all from one parse, however many keys
        there are."""
        loader = _NotingLoader(fm)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
        lines: dict[str, int] = {}
        if isinstance(node, yaml.MappingNode):
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode):
                    lines.setdefault(key.value, key.start_mark.line)
        return data, lines, loader.repeated


_HANDLER = _FrontMatter()


def find_sources(site_dir: Path) -> list[Path]:
    """Every article file under content/, in a stable order; editor backups and hidden files
    skipped. Raises BuildError when content/ or a file or folder in it cannot be listed."""
    paths, problems = scan_sources(site_dir)
    if problems:
        raise BuildError(problems)
    return paths


def scan_sources(site_dir: Path) -> tuple[list[Path], list[Problem]]:
    """Every article file under content/ (as `find_sources`), and what could not be listed:
    content/ missing or no folder, a folder that cannot be read, a link leading outside the
    site, nowhere or in a loop."""
    listing = _listing(site_dir)
    return [Path(path) for path in listing.paths()], listing.problems


def source_stamps(site_dir: Path) -> dict[str, tuple[int, int]] | None:
    """Every article file's path string, modification time and size (in no set order): all
    a quick build needs to see which files changed. None when content/ cannot be listed
    whole (the full path reports why)."""
    listing = _listing(site_dir)
    if listing.problems:
        return None
    stamps = {}
    for _, path in listing.files:
        try:
            stat = os.stat(path)  # quicker here than DirEntry.stat()
        except OSError:
            return None
        # chmod changes no modification time: a file made unreadable must not pass as
        # unchanged (the full path reports it).
        if not readable(path, stat.st_mode):
            return None
        stamps[path] = (stat.st_mtime_ns, stat.st_size)
    return stamps


def _listing(site_dir: Path) -> Listing:
    """content/'s articles; files and folders starting with "." or "_" are left out."""
    listing = list_folder(site_dir / CONTENT_DIR, site_dir, skip=(".", "_"), required=True)
    listing.files = [item for item in listing.files if item[0][-1].endswith(".md")]
    return listing


def read_sources(config: Config) -> tuple[list[Source], list[Problem]]:
    """Read every article of the site, in one process; problems are collected, not raised."""
    sources: list[Source] = []
    paths, problems = scan_sources(config.site_dir)
    for path in paths:
        try:
            sources.append(read_source(path, config))
        except SiteError as exc:
            problems.append(exc.problem)
    return sources, problems


def read_source(path: Path, config: Config) -> Source:
    """Read one article; raises SiteError naming the file and line of the first problem."""
    rel = path.relative_to(config.site_dir).as_posix() if path.is_relative_to(
        config.site_dir) else str(path)
    text, unwanted = _read_text(path, rel)
    lead = len(text) - len(text.lstrip())
    opening = text.count("\n", 0, lead) + 1  # the line of the opening ---
    stripped = text.strip()
    if not _HANDLER.detect(stripped):
        raise SiteError(rel, "no front matter: start the file with a '---' line, then "
                             "'title:', 'date:' and 'author:' lines, then another '---' line", 1)
    try:
        # fm_text starts with the newline that ends the opening --- line, so line N of
        # fm_text (0-based) is line opening + N of the file.
        fm_text, body = _HANDLER.split(stripped)
    except ValueError:
        raise SiteError(rel, "front matter is not closed: add a '---' line after it",
                        opening) from None
    if len(fm_text) > MAX_FRONT_MATTER_CHARS:
        raise SiteError(rel, f"front matter is {len(fm_text):,} characters long, over the limit "
                             f"of {MAX_FRONT_MATTER_CHARS:,}; it holds the title, date, tags and "
                             "such: move long text into the article's body", opening)
    _check_depth(rel, fm_text, opening)
    try:
        data, key_lines, repeated = _HANDLER.load_noting(fm_text)
    except yaml.MarkedYAMLError as exc:
        # An unclosed quote is found at the end of the text; where it opened helps more.
        unclosed = "end of stream" in (exc.problem or "") and exc.context_mark
        mark = exc.context_mark if unclosed else (exc.problem_mark or exc.context_mark)
        line = opening + mark.line if mark else opening
        problem = exc.problem or exc.context or "could not be read"
        raise SiteError(rel, f"invalid YAML in front matter: {problem}; check quotes, colons "
                             "and indentation", line) from None
    except yaml.YAMLError as exc:
        raise SiteError(rel, f"invalid YAML in front matter: {exc}", opening) from None
    except ValueError as exc:  # YAML timestamps that are no date, like 2016-02-30
        key, line = _date_error_at(fm_text, opening)
        raise SiteError(rel, f"'{key}' is not a real date ({exc}); write it as 2016-03-08, "
                             "2016-03-08 14:30 or 2016-03-08T14:30:00-05:00", line) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SiteError(rel, "front matter must be 'key: value' lines, not a "
                             f"{type(data).__name__}", opening)
    fields = _Fields(rel, data, key_lines, opening)
    fields.reject_aliases()
    if unwanted is not None:
        char, line = unwanted
        fields.note("invalid-character", f"the file holds the character {code_point(char)}, "
                    "which pages and feeds cannot carry; sitegen left it out: delete it in your "
                    "editor", line)
    for key, line, again in repeated:
        fields.note("duplicate-key", f"'{escaped(key)}' is given twice in front matter (first on line "
                    f"{opening + line}); the last one is used: remove the other",
                    opening + again)
    # The body is the text after the closing ---, from the newline that ends that line; the
    # split may take blank lines after it too, so its first line is counted, not assumed.
    body_line = opening + stripped.count("\n", 0, len(stripped) - len(body))
    return _source_from(path, rel, fields, config, body, body_line)


def _check_depth(rel: str, fm_text: str, opening: int) -> None:
    """Refuse deeply nested front matter before loading it: libyaml recurses in C and a few
    tens of thousands of '[' crash the interpreter. Only text with many brackets is scanned."""
    if fm_text.count("[") + fm_text.count("{") <= MAX_YAML_DEPTH:
        return
    depth = 0
    try:
        for event in yaml.parse(fm_text, Loader=_Loader):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise SiteError(rel, "front matter is nested too deeply (more than "
                                         f"{MAX_YAML_DEPTH} levels)", opening + event.start_mark.line)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return  # loading reports it, with its line


def _date_error_at(fm_text: str, opening: int) -> tuple[str, int]:
    """The key and line of the first value shaped like a date YAML reads itself."""
    match = re.search(r"^([\w-]+)[ \t]*:[ \t]*\d{4}-\d{1,2}-\d{1,2}", fm_text, re.MULTILINE)
    if not match:
        return "date", opening
    return match.group(1), opening + fm_text.count("\n", 0, match.start())


def _read_text(path: Path, rel: str) -> tuple[str, tuple[str, int] | None]:
    """The file's text, with line breaks made "
" and the characters pages cannot carry
    replaced (see text.clean); with the first of those and its line, if any."""
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size > MAX_SOURCE_BYTES:
                raise SiteError(rel, f"file is {size / 1048576:.1f} MiB, over the limit of "
                                     f"{MAX_SOURCE_BYTES // 1048576} MiB for one article; split "
                                     "it or move large data out of content/")
            raw = file.read()
    except OSError as exc:  # unreadable, or deleted or renamed since it was listed
        raise SiteError(rel, f"cannot be read: {why(exc)}") from None
    if raw.startswith(b"\xef\xbb\xbf"):  # a byte order mark some editors write
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise SiteError(rel, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); re-save the file "
                             "as UTF-8 in your editor", line) from None
    if "\x00" in text:
        raise SiteError(rel, "file holds NUL bytes: it is not a text file",
                        text.count("\n", 0, text.index("\x00")) + 1)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    at = find_unwanted(text)
    if at is None:
        return text, None
    return clean(text), (text[at], text.count("\n", 0, at) + 1)


class _Fields:
    """Typed access to front matter values, with errors that point at the key's line."""

    def __init__(self, rel: str, data: dict[Any, Any], key_lines: dict[str, int],
                 opening: int) -> None:
        """`key_lines`: each key's 0-based line in the front matter text, which starts with
        the newline of the opening --- line."""
        self.rel, self.data, self.key_lines, self.fm_start = rel, data, key_lines, opening
        self.notices: list[Notice] = []
        self._unwanted_in: set[str] = set()  # keys already noted for such a character

    def note(self, kind: str, message: str, line: int | None) -> None:
        """A warning about the file: the build goes on."""
        self.notices.append(Notice(kind, Problem(self.rel, message, line)))

    def sorted_notices(self) -> tuple[Notice, ...]:
        return tuple(sorted(self.notices, key=lambda n: n.problem.line or 0))

    def cleaned(self, key: str, text: str) -> str:
        """`text` (a value of `key`) without characters pages cannot carry, noting the first."""
        char = first_unwanted(text)
        if char is None:
            return text
        if key not in self._unwanted_in:
            self._unwanted_in.add(key)
            self.note("invalid-character", f"'{key}' holds the character {code_point(char)}, "
                      "which pages and feeds cannot carry; sitegen left it out: remove it",
                      self.line(key))
        return clean(text)

    def line(self, key: str) -> int:
        return self.fm_start + self.key_lines.get(key, 0)

    def error(self, key: str, message: str) -> SiteError:
        return SiteError(self.rel, message, self.line(key))

    def reject_aliases(self) -> None:
        """YAML anchors can make a tiny file expand into billions of values; articles never need them."""
        seen: set[int] = set()
        stack: list[Any] = list(self.data.values())
        while stack:
            value = stack.pop()
            if isinstance(value, (dict, list)):
                if id(value) in seen:
                    raise SiteError(self.rel, "front matter uses YAML aliases (&anchor/*alias); "
                                              "write the values out instead", self.fm_start)
                seen.add(id(value))
                stack.extend(value.values() if isinstance(value, dict) else value)
        for key in self.data:
            if not isinstance(key, str):
                raise SiteError(self.rel, f"front matter key {key!r} must be a name",
                                self.fm_start)

    def text(self, key: str, required: bool = False) -> str | None:
        """A scalar as one line of text (numbers are fine: `title: 1984`)."""
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int, float, type(None))):
            raise self.error(key, f"'{key}' must be text, not {_kind(value)}")
        text = " ".join(self.cleaned(key, str(value)).split()) if value is not None else ""
        if not text and required:
            raise self._missing(key)
        return text or None

    def _missing(self, key: str) -> SiteError:
        near = difflib.get_close_matches(key, [k for k in self.data if k not in KNOWN_KEYS], n=1)
        hint = f"; '{near[0]}' is there, did you mean '{key}'?" if near else ""
        return SiteError(self.rel, f"missing '{key}' in front matter{hint}", self.fm_start)

    def url(self, key: str) -> str | None:
        """A link to a file (the lead image): a web address or a path on the site. Spaces and
        other characters a URL cannot hold are percent-encoded ("lead photo.jpg" works);
        javascript:, data: and other schemes are refused."""
        text = self.text(key)
        if text is None:
            return None
        scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", text)
        if scheme and scheme.group(1).lower() not in ("http", "https"):
            raise self.error(key, f"'{key}' must be a web address (https://...) or a path on the "
                                  f"site such as /img/photo.jpg, not a {scheme.group(1)}: link")
        if not (text.startswith("/") and not text.startswith("//")
                or re.match(r"https?://[^/\s]", text)):
            raise self.error(key, f"'{key}' {text!r} must be a path on the site, like "
                                  "/images/photo.jpg, or an http(s) URL")
        return quote(_STRAY_PERCENT.sub("%25", text), safe=_URL_SAFE)

    def extra(self, key: str, value: Any) -> Any:
        """A free-form value templates may show (`article.extra`), cleaned like text."""
        if isinstance(value, str):
            return self.cleaned(key, value)
        if isinstance(value, list):
            return [self.extra(key, item) for item in value]
        if isinstance(value, dict):
            return {self.extra(key, k): self.extra(key, v) for k, v in value.items()}
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.error(key, f"'{key}' must be true or false, not {value!r}")
        return value

    def when(self, key: str, tz: ZoneInfo, required: bool = False) -> datetime | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise self._missing(key)
            return None
        try:
            parsed = _parse_date(value, tz)
            in_range = parsed is None or all(MIN_YEAR <= d.year <= MAX_YEAR
                                             for d in (parsed, parsed.astimezone(UTC)))
        except OverflowError:  # beyond year 1 or 9999 in the site's time zone or UTC
            in_range = False
        if not in_range:
            raise self.error(key, f"'{key}' {str(value)!r} is out of range: sitegen takes dates "
                                  f"from the year {MIN_YEAR} to {MAX_YEAR} (in the site's time "
                                  "zone and in UTC); check the year")
        if parsed is None:
            raise self.error(key, f"cannot read '{key}' value {str(value)!r} as a date; write it "
                                  "as 2016-03-08, 2016-03-08 14:30 or 2016-03-08T14:30:00-05:00")
        return parsed

    def aliases(self) -> tuple[str, ...]:
        """Former slugs ("old-slug") or site paths ("/2015/11/old-slug/") of the article."""
        value = self.data.get("aliases")
        if value is None or value == "":
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise self.error("aliases", "'aliases' must be a list of former slugs or paths")
        out = []
        for item in items:
            if not isinstance(item, str) or not item.strip():
                raise self.error("aliases", f"each alias must be text, not {_kind(item)}")
            alias = item.strip()
            if alias.startswith("/"):
                if alias.startswith("//") or any(c in alias for c in '?#\\"<>') or \
                        any(c.isspace() for c in alias) or first_unwanted(alias):
                    raise self.error("aliases", f"alias {alias!r} must be a plain site path like "
                                                "'/2015/11/old-slug/' (no host, query or '#')")
            elif not slugify(alias):
                raise self.error("aliases", f"alias {alias!r} gives an empty URL slug; write "
                                            "the former slug, or a path starting with '/'")
            elif _PATH_LIKE.search(alias):
                self.note("unsafe-slug", f"alias {alias!r} is taken as a former slug, "
                          f"'{slugify(alias)}', under the article's permalink; for a former "
                          "path write it from the site's root: '/" + alias.lstrip("./") + "'",
                          self.line("aliases"))
            out.append(alias)
            if len(out) > MAX_ALIASES:
                raise self.error("aliases", f"more than {MAX_ALIASES} aliases; an article needs "
                                            "one for each URL it had before: keep those")
        return tuple(out)

    def tags(self) -> tuple[str, ...]:
        value = self.data.get("tags")
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            items: list[Any] = value.split(",")
        elif isinstance(value, list):
            items = value
        else:
            raise self.error("tags", "'tags' must be a list or a comma-separated string")
        out = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise self.error("tags", f"each tag must be text, not {_kind(item)}")
            name = " ".join(self.cleaned("tags", str(item)).split())
            if name:
                out.append(name)
        if len(out) > MAX_TAGS and len(set(out)) > MAX_TAGS:
            raise self.error("tags", f"{len(set(out))} tags; an article may have at most "
                                     f"{MAX_TAGS} (each gets a page and feeds): keep the ones "
                                     "readers would browse by")
        return tuple(out)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false"}.get(type(value),
                                                                      type(value).__name__)


def _parse_date(value: Any, tz: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=tz)
    return parsed.astimezone(tz)


def _source_from(path: Path, rel: str, f: _Fields, config: Config, body: str,
                 body_line: int) -> Source:
    tz = config.tz
    title = f.text("title", required=True)
    assert title is not None
    author = f.text("author") or config.default_author
    if not author:
        raise SiteError(rel, "missing 'author' in front matter (or set default_author in "
                             "sitegen.toml)", f.fm_start)
    if not slugify(author):
        key = "author" if f.text("author") else "title"
        raise f.error(key, f"author {author!r} gives an empty URL slug; use letters or digits")
    given_slug = f.text("slug")
    slug = slugify(given_slug or title)
    if not slug:
        key = "slug" if given_slug else "title"
        raise f.error(key, f"'{key}' {given_slug or title!r} gives an empty URL slug; add a "
                           "'slug:' with letters or digits")
    if given_slug and _PATH_LIKE.search(given_slug):
        f.note("unsafe-slug", f"'slug' {given_slug!r} is a path, but a slug is one "
               f"part of the URL: sitegen made it '{slug}'; write 'slug: {slug}' (or a "
               "permalink pattern in sitegen.toml for folders)", f.line("slug"))
    tags = f.tags()
    for tag in tags:
        if not slugify(tag):
            raise f.error("tags", f"tag {tag!r} gives an empty URL slug; use letters or digits")
    date_ = f.when("date", tz, required=True)
    assert date_ is not None
    expires = f.when("expires", tz)
    if expires is not None and expires <= date_:
        raise f.error("expires", f"'expires' ({expires:%Y-%m-%d %H:%M}) is not after 'date' "
                                 f"({date_:%Y-%m-%d %H:%M}): the article would never be listed")
    extra = {k: f.extra(k, v) for k, v in f.data.items() if k not in KNOWN_KEYS}
    return Source(
        path=path, rel_path=rel, title=title, date=date_, updated=f.when("updated", tz),
        expires=expires, author=author, author_role=f.text("author_role"), tags=tags,
        summary=f.text("summary"), description=f.text("description"), slug=slug,
        draft=f.flag("draft"), image=f.url("image"), image_alt=f.text("image_alt"),
        image_caption=f.text("image_caption"), image_credit=f.text("image_credit"),
        image_focus=_focus(f), extra=extra, body=body, body_line=body_line,
        line_of={k: f.line(k) for k in (*LOCATED_KEYS, *extra) if k in f.data},
        aliases=f.aliases(), notices=f.sorted_notices(),
    )


def _focus(f: Any) -> tuple[float, float] | None:
    """`image_focus`: where the lead image's crops centre (cards, social cards)."""
    text = f.text("image_focus")
    if text is None:
        return None
    focus = parse_focus(text)
    if focus is None:
        raise f.error("image_focus", f"'image_focus' {text!r} must be top, center, bottom, left, "
                                     "right, or two fractions 'x,y' from 0 to 1 such as "
                                     "'0.5,0.2' (from the left and the top)")
    return focus
