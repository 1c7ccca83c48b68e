"""Site settings: `sitegen.toml` read with tomllib into frozen dataclasses, checked key by key.

The schema *is* the dataclasses below: a key is valid when a field of that name exists, and
its value must match the field's type. Unknown keys and wrong types are errors that name
the key, its line, and the nearest valid key, so a typo never silently does nothing.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sitegen.errors import BuildError, Problem, SiteError
from sitegen.text import code_point, escaped, first_unwanted, line_of_char

CONFIG_NAME = "sitegen.toml"
PERMALINK_FIELDS = ("year", "month", "day", "slug")


@dataclass(frozen=True)
class AuthorConfig:
    role: str = ""
    bio: str = ""
    avatar: str = ""


@dataclass(frozen=True)
class TagConfig:
    """One tag of the registry: its canonical spelling is the table's name."""

    aliases: tuple[str, ...] = ()  # other spellings filed under this tag ("JJ")
    description: str = ""  # shown on the tag page
    image: str = ""
    image_alt: str = ""
    former_slugs: tuple[str, ...] = ()  # old /tags/<slug>/ URLs that redirect here
    group: str = ""  # what kind of tag: "Shows", "Networks", "People"... (the tags index)


@dataclass(frozen=True)
class MenuItem:
    """One link of the site's navigation, in the order written."""

    name: str = ""
    url: str = ""  # a site path ("/tags/reviews/") or an absolute http(s) URL


@dataclass(frozen=True)
class CheckConfig:
    known_keys: tuple[str, ...] = ()  # extra front matter keys templates use, for `sitegen check`


@dataclass(frozen=True)
class FeedConfig:
    items: int = 20  # newest articles in each feed
    full_content: bool = True  # full HTML in feed items, else the summary only


@dataclass(frozen=True)
class SeoConfig:
    """Who publishes the site and how it looks when shared: JSON-LD, Open Graph, Twitter cards."""

    publisher: str = ""  # the organisation's name; default: the site title
    logo: str = ""  # site path or absolute URL of the publisher's logo (JSON-LD)
    image: str = ""  # default social image for pages and articles without one
    image_alt: str = ""
    twitter: str = ""  # the site's account, like "@smallscreen", for twitter:site


@dataclass(frozen=True)
class SearchConfig:
    enabled: bool = True  # on-site search with Pagefind, when it is installed


@dataclass(frozen=True)
class ImagesConfig:
    """Responsive variants of the site's own photos (see docs/configuration.md#images)."""

    enabled: bool = True  # false: images are published as they are, with no variants
    widths: tuple[int, ...] = (480, 800, 1200, 1600)  # never wider than the original
    formats: tuple[str, ...] = ("webp",)  # modern formats, besides the original's as fallback
    webp_quality: int = 80
    avif_quality: int = 55
    jpeg_quality: int = 82
    keep_originals: bool = False  # also publish the original files of processed images
    max_pixels: int = 50_000_000  # larger images are refused unread (decompression bombs)


IMAGE_FORMATS = ("webp", "avif")


@dataclass(frozen=True)
class MarkdownConfig:
    html: bool = False  # raw HTML in Markdown; only for newsrooms that trust every author
    typographer: bool = True  # smart quotes and dashes
    linkify: bool = True  # bare URLs become links
    anchors: bool = True  # ids on headings, for links into an article
    highlight: bool = True  # Pygments on fenced code blocks


@dataclass(frozen=True)
class Config:
    """Everything a build needs to know besides the content itself."""

    title: str = "My TV News Site"
    description: str = ""
    base_url: str = "http://localhost:8000"
    language: str = "en"
    timezone: str = "UTC"
    theme: str = "newsroom"
    per_page: int = 10
    permalink: str = "/{year}/{month}/{slug}/"
    default_author: str = ""
    words_per_minute: int = 230
    authors: dict[str, AuthorConfig] = field(default_factory=dict)
    tags: dict[str, TagConfig] = field(default_factory=dict)  # the tag registry, by canonical name
    feeds: FeedConfig = field(default_factory=FeedConfig)
    markdown: MarkdownConfig = field(default_factory=MarkdownConfig)
    menu: tuple[MenuItem, ...] = ()  # empty: the theme's own navigation
    footer: tuple[MenuItem, ...] = ()  # the footer's links (About, Contact, Corrections, ...)
    check: CheckConfig = field(default_factory=CheckConfig)
    seo: SeoConfig = field(default_factory=SeoConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    images: ImagesConfig = field(default_factory=ImagesConfig)
    extra: dict[str, Any] = field(default_factory=dict)  # free-form values for templates

    # Filled in by load_config, not read from the file.
    site_dir: Path = Path(".")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def base_path(self) -> str:
        """The path part of base_url, without a trailing slash ("" for a site at the root)."""
        return urlsplit(self.base_url).path.rstrip("/")

    def with_overrides(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


_NOT_FROM_FILE = {"site_dir"}


def load_config(site_dir: Path, base_url: str | None = None) -> Config:
    """Read `sitegen.toml` in `site_dir` (defaults when it is missing) and validate it."""
    site_dir = site_dir.resolve()
    path = site_dir / CONFIG_NAME
    text = ""
    data: dict[str, Any] = {}
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except UnicodeDecodeError as exc:
            raise SiteError(CONFIG_NAME, f"not UTF-8 text ({exc.reason}); save it as UTF-8") from None
        except tomllib.TOMLDecodeError as exc:
            line = _toml_error_line(str(exc))
            raise SiteError(CONFIG_NAME, f"invalid TOML: {exc}", line) from None
    problems: list[Problem] = []
    values = _build(Config, data, "", text, problems)
    if base_url is not None:
        values["base_url"] = base_url
    config = Config(**values, site_dir=site_dir) if not problems else None
    if config is not None:
        problems.extend(_check_values(config, text))
    if problems:
        raise BuildError(problems)
    assert config is not None
    return config


def _build(cls: type, data: dict[str, Any], prefix: str, text: str,
           problems: list[Problem]) -> dict[str, Any]:
    """Turn one TOML table into keyword arguments for dataclass `cls`, noting every problem."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in _NOT_FROM_FILE}
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if key not in fields:
            near = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"; did you mean '{prefix}{near[0]}'?" if near else ""
            valid = ", ".join(sorted(fields))
            problems.append(Problem(CONFIG_NAME, f"unknown key '{name}'{hint} (valid keys: {valid})",
                                    _find_line(text, name)))
            continue
        out[key] = _convert(hints[key], value, name, text, problems)
    return out


def _convert(hint: Any, value: Any, name: str, text: str, problems: list[Problem]) -> Any:
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            problems.append(Problem(CONFIG_NAME, f"'{name}' must be a table ([{name}])",
                                    _find_line(text, name)))
            return hint()
        return hint(**_build(hint, value, name + ".", text, problems))
    origin = typing.get_origin(hint)
    if origin is dict:
        _, item_type = typing.get_args(hint)
        if not isinstance(value, dict):
            problems.append(Problem(CONFIG_NAME, f"'{name}' must be a table",
                                    _find_line(text, name)))
            return {}
        if item_type is Any:
            return dict(value)
        return {k: _convert(item_type, v, f'{name}."{k}"', text, problems) for k, v in value.items()}
    if origin is tuple:  # TOML arrays, kept immutable
        item_type = typing.get_args(hint)[0]
        if not isinstance(value, list):
            problems.append(Problem(CONFIG_NAME, f"'{name}' must be a list, like [\"a\", \"b\"]",
                                    _find_line(text, name)))
            return ()
        return tuple(_convert(item_type, v, name, text, problems) for v in value)
    expected = hint if not isinstance(hint, types.UnionType) else typing.get_args(hint)
    # bool is an int in Python; a setting that wants a number must not take `true`.
    if not isinstance(value, expected) or (hint is int and isinstance(value, bool)):
        kind = {str: "a string", int: "a whole number", bool: "true or false"}.get(hint, str(hint))
        problems.append(Problem(CONFIG_NAME, f"'{name}' must be {kind}, not {value!r}",
                                _find_line(text, name)))
    return value


def _check_values(config: Config, text: str) -> list[Problem]:
    """Checks on values that have the right type but may still be wrong."""
    problems = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(CONFIG_NAME, message, _find_line(text, key)))

    if not config.title.strip():
        bad("title", "title must not be empty: it names the site on every page and in its feeds")
    for key, value in _texts(config):
        char = first_unwanted(value)
        if char is not None:
            what = "the control character" if char < "\xa0" else "the character"
            problems.append(Problem(CONFIG_NAME, f"'{escaped(key)}' holds {what} "
                                    f"{code_point(char)}, which pages and feeds cannot carry; "
                                    "remove it",
                                    _find_line(text, key) or line_of_char(text, char)))
    if not is_language_tag(config.language):
        dashed = config.language.strip().replace("_", "-")
        hint = f"; did you mean '{dashed}'?" if is_language_tag(dashed) else ""
        bad("language", f"language {config.language!r} is not a language tag{hint} Write a BCP 47 "
                        f"tag of at most {MAX_LANGUAGE} characters, such as 'en', 'en-GB', "
                        "'pt-BR' or 'zh-Hant'")
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        bad("timezone", f"unknown timezone '{config.timezone}'; use an IANA name such as "
                        "'America/New_York' or 'UTC'")
    parts = urlsplit(config.base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        bad("base_url", f"base_url '{config.base_url}' must be an absolute http(s) URL, "
                        "such as 'https://example.com'")
    if config.per_page < 1:
        bad("per_page", "per_page must be at least 1")
    if config.feeds.items < 1:
        bad("feeds.items", "feeds.items must be at least 1")
    if config.words_per_minute < 1:
        bad("words_per_minute", "words_per_minute must be at least 1")
    if config.seo.twitter and not re.fullmatch(r"@\w{1,15}", config.seo.twitter):
        bad("seo.twitter", f"seo.twitter '{config.seo.twitter}' must be an account name such as "
                           "'@smallscreen'")
    for key in ("logo", "image"):
        value = getattr(config.seo, key)
        if value and not is_link(value):
            bad(f"seo.{key}", f"seo.{key} '{value}' must be a site path such as '/images/logo.png' "
                              "or an absolute http(s) URL")
    for name, author in config.authors.items():
        if author.avatar and not is_link(author.avatar):
            bad(f'authors."{name}".avatar', f"the avatar of {name}, '{author.avatar}', must be a "
                "site path such as '/images/ann.jpg' or an absolute http(s) URL")
    problems.extend(_check_permalink(config.permalink, text))
    problems.extend(_check_images(config.images, text))
    for table, items in (("menu", config.menu), ("footer", config.footer)):
        for item in items:
            if not item.name or not item.url:
                bad(table, f"each [[{table}]] entry needs a 'name' and a 'url'")
            elif not is_link(item.url):
                problems.append(Problem(CONFIG_NAME, f"{table} url '{item.url}' must be a site "
                                        "path like '/tags/reviews/' or an absolute http(s) URL",
                                        _line_with_value(text, item.url) or
                                        _find_line(text, table)))
    return problems


def _check_images(images: ImagesConfig, text: str) -> list[Problem]:
    problems = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(CONFIG_NAME, message, _find_line(text, f"images.{key}")))

    if not images.widths or any(not 16 <= w <= 8192 for w in images.widths):
        bad("widths", "images.widths must list widths in pixels from 16 to 8192, such as "
                      "[480, 800, 1200, 1600]")
    for name in images.formats:
        if name not in IMAGE_FORMATS:
            bad("formats", f"images.formats: unknown format {name!r}; use "
                           f"{' or '.join(repr(f) for f in IMAGE_FORMATS)} (the original's "
                           "format is always the fallback)")
    for key in ("webp_quality", "avif_quality", "jpeg_quality"):
        if not 1 <= getattr(images, key) <= 100:
            bad(key, f"images.{key} must be from 1 to 100")
    if images.max_pixels < 1:
        bad("max_pixels", "images.max_pixels must be at least 1")
    return problems


def is_link(url: str) -> bool:
    """Whether a configured URL (an avatar, logo, image or menu entry) may become a link or an
    image's src: a path on the site ("/images/logo.png") or an http(s) URL with a host.
    javascript:, data: and other schemes are refused, and so are "//host" and "/\\host",
    which browsers read as another site, and text with spaces or control characters."""
    if not url or url != url.strip() or any(c.isspace() or c < " " or c == "\\" for c in url):
        return False
    if url.startswith("/"):
        return not url.startswith("//")
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and url.startswith(
        f"{parts.scheme}://")


# A well-formed BCP 47 language tag (RFC 5646, section 2.1), letters in any case: language
# (with extended subtags), script, region, variants, extensions, private use; or a private-use
# or irregular grandfathered tag alone.
_LANGTAG = re.compile(r"""
    (?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4,8})   # language, extlang
    (?:-[a-z]{4})?                                 # script
    (?:-(?:[a-z]{2}|[0-9]{3}))?                    # region
    (?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*       # variants
    (?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*            # extensions
    (?:-x(?:-[a-z0-9]{1,8})+)?                     # private use
    |x(?:-[a-z0-9]{1,8})+
    |en-gb-oed|i-(?:ami|bnn|default|enochian|hak|klingon|lux|mingo|navajo|pwn|tao|tay|tsu)
    |sgn-(?:be-fr|be-nl|ch-de)
    """, re.VERBOSE | re.IGNORECASE | re.ASCII)
# Pagefind, the search indexer, fails on much longer tags; real ones are under 20 characters.
MAX_LANGUAGE = 24


def is_language_tag(value: str) -> bool:
    """Whether `value` is a well-formed BCP 47 tag ("en", "pt-BR", "zh-Hant-TW") that pages'
    lang attribute, feeds and Pagefind all take."""
    return len(value) <= MAX_LANGUAGE and _LANGTAG.fullmatch(value) is not None


def _line_with_value(text: str, value: str) -> int | None:
    """The first line holding `value` as a quoted TOML string, for entries of arrays of tables."""
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if f'"{value}"' in line or f"'{value}'" in line:
            return number
    return None


def _texts(config: Config) -> list[tuple[str, str]]:
    """Every text setting (and table name) that may reach pages or feeds, by its key."""
    texts: list[tuple[str, str]] = []

    def walk(name: str, value: Any) -> None:
        if isinstance(value, str):
            texts.append((name, value))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                if f.name not in _NOT_FROM_FILE:
                    walk(f"{name}.{f.name}" if name else f.name, getattr(value, f.name))
        elif isinstance(value, dict):
            for key, item in value.items():
                inner = f'{name}."{key}"'
                walk(inner, key)
                walk(inner, item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(name, item)

    walk("", config)
    return texts


def _check_permalink(pattern: str, text: str) -> list[Problem]:
    line = _find_line(text, "permalink")
    names = re.findall(r"{([^{}]*)}", pattern)
    problems = []
    for name in names:
        if name not in PERMALINK_FIELDS:
            near = difflib.get_close_matches(name, PERMALINK_FIELDS, n=1)
            hint = f"; did you mean '{{{near[0]}}}'?" if near else ""
            problems.append(Problem(CONFIG_NAME, f"permalink: unknown field '{{{name}}}'{hint} "
                                    f"(fields: {', '.join(PERMALINK_FIELDS)})", line))
    if "slug" not in names:
        problems.append(Problem(CONFIG_NAME, "permalink must contain {slug} so every article "
                                "gets its own URL", line))
    if not (pattern.startswith("/") and pattern.endswith("/")):
        problems.append(Problem(CONFIG_NAME, "permalink must start and end with '/', "
                                "like '/{year}/{month}/{slug}/'", line))
    literal = re.sub(r"{[^{}]*}", "x", pattern)
    if not re.fullmatch(r"[A-Za-z0-9/_-]*", literal) or "//" in literal:
        problems.append(Problem(CONFIG_NAME, "permalink may hold only letters, digits, '-', '_', "
                                "'/' and {fields}", line))
    return problems


def config_line(site_dir: Path, name: str) -> int | None:
    """The line of key `name` in the site's sitegen.toml, for messages from later stages."""
    try:
        return _find_line((site_dir / CONFIG_NAME).read_text(encoding="utf-8"), name)
    except (OSError, UnicodeDecodeError):
        return None


def _find_line(text: str, name: str) -> int | None:
    """Best-effort line of the key or table `name` ("feeds.items", 'authors."Dana".role') in
    the TOML text: tomllib gives no positions. Looks in the right table first, then anywhere."""
    parts = [p.strip().strip('"') for p in _DOTTED.findall(name)]
    key, table = parts[-1], parts[:-1]
    assignment = re.compile(rf'^[ \t]*(?:"{re.escape(key)}"|{re.escape(key)})[ \t]*=')
    current: list[str] = []
    anywhere = None
    # Lines end at "\n" only: splitlines() would also break at U+2028 or U+0085 inside a
    # string value, and every later line number would be off.
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        header = _HEADER.match(line)
        if header:
            current = [p.strip().strip('"') for p in _DOTTED.findall(header.group(1))]
            if current == parts:
                return number
        elif assignment.match(line):
            if current == table:
                return number
            anywhere = anywhere or number
    return anywhere


_DOTTED = re.compile(r'"[^"]*"|[^.]+')
_HEADER = re.compile(r"^[ \t]*\[\[?([^\]]*)\]\]?[ \t]*(?:#.*)?$")


def _toml_error_line(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None
