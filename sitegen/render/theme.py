"""Themes: find the templates and static files, and render pages with Jinja.

Lookup order is the site's own `templates/` and `static/`, then the theme's, then its parent
theme's (a theme names its parent in `theme.toml`), so a site can override one template and
extend the rest. Templates get plain data and two helpers, `url()` and `asset()`; they never
see the build's objects.

A page depends on the static files it names with `asset()` (their URLs carry a hash of their
bytes), and on no other: `render` tells its caller which ones a page used, so a changed static
file (a replaced photo) renders again only the pages that used it (incremental/fingerprint.py).
Likewise a page depends on a processed image's variants (`model.Image` with a `key`) only if
its template reads the image's attributes: `render` names those images too (`image_asset`),
so a photo's new variants do not render again the pages whose data merely carries it (a
neighbour's previous/next link, a feed item's related stories).
"""

from __future__ import annotations

import functools
import hashlib
import string
import sys
import tomllib
import zlib
from collections.abc import Mapping, MutableMapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
import jinja2.bccache
import markupsafe
from markupsafe import Markup

from sitegen import __version__
from sitegen.cachefiles import Damaged, discard, open_file
from sitegen.config import CONFIG_NAME, Config, config_line
from sitegen.errors import BuildError, Problem, SiteError
from sitegen.folders import STATIC_DIR, TEMPLATES_DIR, THEMES_DIR
from sitegen.memo import IdentityMemo
from sitegen.model import Image
from sitegen.render.nav import sections_bar
from sitegen.tree import content_stamp, list_folder, unopenable, why

IMAGE_ASSET = "\x01"  # before a processed image's name among a page's assets: no path has it


@functools.cache
def image_asset(key: str) -> str:
    """How a page's assets name a processed image it showed (see `Image.key`): a short digest
    of the key, as every page's record carries one for each picture it shows (some 4 MB at
    10,000 articles with the keys themselves)."""
    return IMAGE_ASSET + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


# MarkupSafe's C escaper of a str, where it has one (the escape of its own `escape`).
_escape_text = getattr(markupsafe, "_escape_inner", None)
_as_markup = str.__new__


def escape(value: Any) -> Markup:
    """`markupsafe.escape`, to the byte, with its two commonest cases taken first: text,
    escaped by MarkupSafe's own escaper and made Markup without `Markup.__new__`'s checks,
    and Markup (a partial, a body), safe as it is. A page escapes a hundred values or
    more, and MarkupSafe's checks around each were a fifth of its render (bench_render.py)."""
    kind = type(value)
    if kind is str and _escape_text is not None:
        return _as_markup(Markup, _escape_text(value))
    if kind is Markup:
        return value
    return markupsafe.escape(value)


class _Template(jinja2.Template):
    """Jinja's, its every `{{ value }}` escaped by `escape` above: the compiled module's
    functions look the name up in the module's namespace when they run."""

    @classmethod
    def from_code(cls, environment: jinja2.Environment, code: Any,
                  globals: MutableMapping[str, Any],
                  uptodate: Any = None) -> jinja2.Template:
        template = super().from_code(environment, code, globals, uptodate)
        template.root_render_func.__globals__["escape"] = escape
        return template


class _Environment(jinja2.Environment):
    """Jinja's, noting each processed image a template reads an attribute or item of, as
    `asset()` notes files (every `a.b`, `a[b]`, `attr` and `map(attribute=)` comes here)."""

    template_class = _Template
    used: set[str] | None = None  # the Theme's set for the page being rendered

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Jinja's own, inlined: a page reads hundreds of attributes, and a call to super()
        # for each cost a tenth of a page's render.
        if obj.__class__ is Image and obj.key and self.used is not None:
            self.used.add(image_asset(obj.key))
        try:
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError, AttributeError):
            return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if obj.__class__ is Image and obj.key and self.used is not None:
            self.used.add(image_asset(obj.key))
        return super().getitem(obj, argument)

    def make_globals(self, d: Mapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals as one plain dict, where Jinja's is a ChainMap over the
        environment's: every render and `{% from %}` walked that map in Python (a tenth of
        an article page's render). The Theme sets every global before any template loads."""
        return {**self.globals, **(d or {})}


MAX_THEME_DEPTH = 5
MAX_PARTIALS = 100_000  # cached partials (a card is about 1 kB)
# Bytes of partials kept as text before the rest are compressed: a small site's cards all
# fit (1,000 articles: some 2-4 MB), and compressing one cost a third of its render.
PLAIN_PARTIALS = 4_000_000
_PLAIN = (str, int, float, bool, type(None))


class Theme:
    def __init__(self, config: Config, compiled: Path | None = None) -> None:
        """`compiled`: a folder where Jinja keeps compiled templates between builds (checked
        against each template's source, so an edited template is compiled again); templates
        compiled now are added by `save_compiled()`, once the build succeeded."""
        self.site_dir = config.site_dir
        self.theme_dirs = _theme_chain(config.site_dir, config.theme)
        self.template_dirs = [d for d in [config.site_dir / TEMPLATES_DIR,
                                          *(t / TEMPLATES_DIR for t in self.theme_dirs)]
                              if d.is_dir()]
        # Earlier folders win: the site's static/ overrides the theme's.
        self.static_dirs = [d for d in [config.site_dir / STATIC_DIR,
                                        *(t / STATIC_DIR for t in self.theme_dirs)] if d.is_dir()]
        problems: list[Problem] = []
        self.static_files = _static_files(self.static_dirs, config.site_dir, problems)
        # Listed now, so a template that cannot be read is reported before anything renders.
        self._templates = _template_files(self.template_dirs, config.site_dir, problems)
        if problems:
            raise BuildError(problems)
        self._hashes: dict[str, str | None] = {}
        self._fingerprint: bytes | None = None
        self._salt: bytes | None = None
        base_path = config.base_path
        env = _Environment(
            loader=jinja2.FileSystemLoader([str(d) for d in self.template_dirs]),
            autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
            lstrip_blocks=True, keep_trailing_newline=True,
            # A Theme lives for one build, or in `serve` until a template changes (then a new
            # one is made), so templates are never stale: no stat of the file at each include.
            auto_reload=False,
            bytecode_cache=_Compiled(compiled) if compiled is not None else _REMEMBERED,
        )
        env.globals["url"] = lambda path: base_path + path
        # A URL from the data (which already carries the base path) made absolute.
        origin = config.base_url.rstrip("/")[:len(config.base_url.rstrip("/")) - len(base_path)]
        env.globals["absolute"] = lambda site_url: origin + site_url
        env.globals["asset"] = self._asset_url
        env.globals["partial"] = self._partial
        env.globals["nav"] = lambda site, page, first: sections_bar(site, page, first, base_path)
        self._partials: IdentityMemo[tuple[Markup | bytes, frozenset[str]]] = \
            IdentityMemo(MAX_PARTIALS)
        self._plain_left = PLAIN_PARTIALS
        self._sets: dict[frozenset[str], frozenset[str]] = {}  # partials' assets, shared
        self._zdicts: dict[str, bytes] = {}  # each partial's first render: what others share
        env.filters["datefmt"] = format_date
        zone = config.tz
        env.filters["timefmt"] = lambda d: format_time(d.astimezone(zone))
        env.filters["isodate"] = lambda d: d.isoformat(timespec="seconds")
        env.filters["urlencode"] = url_quote
        self._base_path = base_path
        self.env = env

    @property
    def _used(self) -> set[str] | None:
        """The assets the page being rendered asked for (and the images it read): kept by
        the environment, which notes the images."""
        return self.env.used

    @_used.setter
    def _used(self, value: set[str] | None) -> None:
        self.env.used = value

    def save_compiled(self) -> None:
        """Keep the templates compiled by this build for the next (see `compiled`)."""
        if isinstance(self.env.bytecode_cache, _Compiled):
            self.env.bytecode_cache.save()

    def render(self, template: str, context: Mapping[str, Any],
               assets: set[str] | None = None) -> str:
        """`assets`, when given, gets the static files the page named with `asset()`."""
        outer, self._used = self._used, set() if assets is not None else None
        try:
            return self.env.get_template(template).render(context)
        except jinja2.TemplateSyntaxError as exc:
            raise SiteError(self._rel(exc.filename or template),
                            f"template syntax error: {exc.message}", exc.lineno) from None
        except jinja2.TemplateNotFound as exc:
            raise SiteError(THEMES_DIR, f"template '{exc.name}' not found in "
                            f"{', '.join(self._rel(str(d)) for d in self.template_dirs)}") from None
        except OSError as exc:  # a template that cannot be read, or vanished since listed
            raise SiteError(self._rel(str(exc.filename or template)),
                            f"cannot be read: {why(exc)}") from None
        except Exception as exc:  # an error inside a template: point at the template's line
            file, line = self._template_frame(exc.__traceback__)
            if file is None:
                raise
            raise SiteError(file, f"template error: {exc}", line) from None
        finally:
            if assets is not None and self._used is not None:
                assets.update(self._used)
            self._used = outer

    def _partial(self, name: str, **context: Any) -> Markup:
        """Template `name` rendered with only `context` (and the globals), once per distinct
        context, like Hugo's partialCached: an article's card shows on its front page, tag and
        author pages, and is rendered once. Values that are not plain (an Article) are told
        apart by identity (see memo.py); the site's data is read-only, so the same object
        gives the same HTML. The assets it named are kept with it, and count for every page
        that shows it. Past the first PLAIN_PARTIALS bytes, kept compressed against the
        partial's first render (most of a card is the same markup): a card with its picture's
        srcsets is some 1.3 kB, and the process that writes the list pages keeps one for each
        article and kind (some 40 MB at 10,000 articles)."""
        key = (name, *(part for k, v in sorted(context.items())  # flat: one tuple per card
                       for part in (k, v if isinstance(v, _PLAIN) else id(v))))

        def make() -> tuple[Markup | bytes, frozenset[str]]:
            outer, self._used = self._used, set()
            try:
                html = self.env.get_template(name).render(context)
                found = frozenset(self._used)
                used = self._sets.setdefault(found, found)
            finally:
                self._used = outer
            size = sys.getsizeof(html)  # a headline's curly quote doubles a card's size
            if size <= self._plain_left:
                self._plain_left -= size
                return Markup(html), used
            data = html.encode()
            packer = zlib.compressobj(1, zdict=self._zdicts.setdefault(name, data))
            return packer.compress(data) + packer.flush(), used

        kept, used = self._partials.get(key, tuple(context.values()), make)
        if self._used is not None:
            self._used.update(used)
        if isinstance(kept, Markup):
            return kept
        return Markup(zlib.decompressobj(zdict=self._zdicts[name]).decompress(kept).decode())

    def salt(self) -> bytes:
        """A digest of what every page depends on besides its data and the assets it names:
        the templates and sitegen's version (each page's fingerprint adds its assets')."""
        if self._salt is None:
            digest = hashlib.sha256(f"sitegen {__version__} {self._base_path}".encode())
            for rel, path in self._templates:
                digest.update(rel.encode() + b"\0" + self._read(path))
            self._salt = digest.digest()
        return self._salt

    def forget_partials(self) -> None:
        """Drop the rendered partials (a card per article and page kind: tens of MB at
        10,000 articles) once a build has written its pages."""
        self._partials.clear()
        self._sets.clear()
        self._zdicts.clear()
        self._plain_left = PLAIN_PARTIALS

    def fingerprint(self) -> bytes:
        """A digest of the whole theme: the salt and every static file's stamp (for the
        build's snapshot: a quick build runs only when none changed). Worked out once per
        Theme. Static files count by their stamps (`content_stamp`), not their bytes: a
        site's photos are hundreds of MB."""
        if self._fingerprint is not None:
            return self._fingerprint
        digest = hashlib.sha256(self.salt())
        for rel, path in sorted(self.static_files.items()):
            try:
                digest.update(rel.encode() + b"\0" + content_stamp(path))
            except OSError as exc:  # deleted or renamed since it was listed
                raise SiteError(self._rel(str(path)), f"cannot be read: {why(exc)}") from None
        self._fingerprint = digest.digest()
        return self._fingerprint

    def unreadable(self) -> list[Problem]:
        """The templates and static files that cannot be opened now (for `sitegen check`,
        which renders pages but copies no file)."""
        return unopenable([(self._rel(str(path)), path) for path in
                           [*(p for _, p in self._templates), *self.static_files.values()]])

    def asset_version(self, path: str) -> str | None:
        """The hash `asset(path)` puts in its URL (a digest of the file's bytes, read once per
        Theme); None when there is no such static file, or it cannot be read now."""
        if path not in self._hashes:
            source = self.static_files.get(path)
            try:
                self._hashes[path] = None if source is None else \
                    hashlib.sha256(source.read_bytes()).hexdigest()[:10]
            except OSError:
                return None  # not kept: `asset()` reports it
        return self._hashes[path]

    def _asset_url(self, path: str) -> str:
        """The URL of a static file with a content hash, so it can be cached for a year."""
        path = path.lstrip("/")
        if self._used is not None:
            self._used.add(path)
        version = self.asset_version(path)
        if version is None:
            source = self.static_files.get(path)
            if source is None:
                raise SiteError(THEMES_DIR, f"asset('{path}'): no such file in "
                                + ", ".join(self._rel(str(d)) for d in self.static_dirs))
            self._read(source)  # raises: it cannot be read
        return f"{self._base_path}/{path}?v={version}"

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:  # unreadable, or deleted or renamed since it was listed
            raise SiteError(self._rel(str(path)), f"cannot be read: {why(exc)}") from None

    def _template_frame(self, tb: TracebackType | None) -> tuple[str | None, int | None]:
        found: tuple[str | None, int | None] = (None, None)
        roots = [str(d) for d in self.template_dirs]
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if any(filename.startswith(root) for root in roots):
                found = (self._rel(filename), tb.tb_lineno)
            tb = tb.tb_next
        return found

    def _rel(self, filename: str) -> str:
        path = Path(filename)
        return path.relative_to(self.site_dir).as_posix() if path.is_relative_to(
            self.site_dir) else str(path)


# What strftime's %B gives: Python runs in the C locale unless a program sets another.
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def format_date(value: datetime) -> str:
    """A date as "March 8, 2018"; the month from a table (strftime cost a twentieth of an
    article page's render)."""
    return f"{_MONTHS[value.month - 1]} {value.day}, {value.year}"


# What Jinja's `urlencode` leaves as it is in a string: urllib's always-safe characters and "/".
_URL_SAFE = frozenset(string.ascii_letters + string.digits + "_.-~/")
_URL_QUOTED = {chr(code): f"%{code:02X}" for code in range(128) if chr(code) not in _URL_SAFE}


def url_quote(value: Any) -> str:
    """Jinja's `urlencode` filter, the same text for the same value, with a faster path for an
    ASCII string (the usual case: a page's URL, a headline): urllib quotes byte by byte in
    Python, and the share links' three cost a tenth of an article page. Here each character
    to quote is replaced throughout at once, "%" first, as the others bring it in."""
    if not (isinstance(value, str) and value.isascii()):
        return jinja2.filters.do_urlencode(value)
    text = str(value)  # a str, also for Markup
    unsafe = set(text) - _URL_SAFE
    if "%" in unsafe:
        text = text.replace("%", "%25")
        unsafe.discard("%")
    for char in unsafe:
        text = text.replace(char, _URL_QUOTED[char])
    return text


# North American zones as newsrooms write them: one name for standard and daylight time.
_US_ZONES = {"EST": "ET", "EDT": "ET", "CST": "CT", "CDT": "CT", "MST": "MT", "MDT": "MT",
             "PST": "PT", "PDT": "PT", "AKST": "AKT", "AKDT": "AKT", "HST": "HT"}


def format_time(value: datetime) -> str:
    """The time of day in AP style with its zone ("9:30 a.m. ET", "6 p.m. CET"); "" for
    midnight, which is what a date written without a time gives."""
    if (value.hour, value.minute, value.second) == (0, 0, 0):
        return ""
    hour = value.hour % 12 or 12
    minutes = f":{value.minute:02d}" if value.minute else ""
    zone = value.tzname() or ""
    zone = _US_ZONES.get(zone, zone)
    if zone[:1] in "+-" and zone:  # a zone with no abbreviation: its offset
        zone = f"UTC{zone[:3]}:{zone[3:]}" if len(zone) == 5 else f"UTC{zone}"
    return f"{hour}{minutes} {'a.m.' if value.hour < 12 else 'p.m.'} {zone}".rstrip()


class _Compiled(jinja2.FileSystemBytecodeCache):
    """Compiled templates from earlier builds; new ones are held until `save()`, so a build
    that fails leaves nothing new on disk."""

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))
        self._folder = folder
        self._new: list[jinja2.bccache.Bucket] = []

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """A template compiled before; anything else in its place (a folder, a link, a pipe,
        a file that does not load) is no such template. One this process compiled for
        another build (serve's, or a test's) is taken from memory and saved here too; else
        it is compiled again."""
        try:
            handle = open_file(Path(self._get_cache_filename(bucket)))
        except (OSError, Damaged):
            handle = None
        if handle is not None:
            with handle:
                try:
                    bucket.load_bytecode(handle)
                except Exception:  # noqa: BLE001 (damaged: compile it again)
                    bucket.reset()
        if bucket.code is None:
            _REMEMBERED.load_bytecode(bucket)
            if bucket.code is not None:
                self._new.append(bucket)
        else:
            _REMEMBERED.dump_bytecode(bucket)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        _REMEMBERED.dump_bytecode(bucket)
        self._new.append(bucket)

    def save(self) -> None:
        if not self._new:
            return
        try:
            if not self._folder.is_dir():
                discard(self._folder)  # a file by the folder's name: no compiled templates
            self._folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return  # compiling each time is only slower
        for bucket in self._new:
            discard(Path(self._get_cache_filename(bucket)))  # a folder there would stay
            super().dump_bytecode(bucket)
        self._new.clear()


class _Remembered(jinja2.bccache.BytecodeCache):
    """Templates compiled by this process's earlier Themes: the dev server makes a new Theme
    for every change of static files (a replaced photo), and a process may build several
    sites (the tests), which then need not compile them again (some 0.4 s for the newsroom
    theme). Jinja checks each against its source."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_REMEMBERED = _Remembered()


def _theme_chain(site_dir: Path, name: str) -> list[Path]:
    """The theme folder and its parents, nearest first."""
    chain: list[Path] = []
    while name:
        folder = _find_theme(site_dir, name)
        if folder in chain or len(chain) >= MAX_THEME_DEPTH:
            raise SiteError(f"{THEMES_DIR}/{name}/theme.toml", "themes name each other as parent "
                            "in a loop; remove one 'parent ='")
        chain.append(folder)
        meta = folder / "theme.toml"
        try:
            data = tomllib.loads(meta.read_text(encoding="utf-8")) if meta.exists() else {}
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SiteError(f"{THEMES_DIR}/{name}/theme.toml", f"invalid TOML: {exc}") from None
        except OSError as exc:
            raise SiteError(f"{THEMES_DIR}/{name}/theme.toml", f"cannot be read: {why(exc)}") \
                from None
        parent = data.get("parent", "")
        name = parent if isinstance(parent, str) else ""
    return chain


def _find_theme(site_dir: Path, name: str) -> Path:
    """A theme of the site, else one shipped with sitegen's repository (the default theme)."""
    if "/" in name or "\\" in name or name in (".", ".."):
        raise SiteError(CONFIG_NAME, f"theme '{name}' must be a folder name under themes/",
                        config_line(site_dir, "theme"))
    for root in (site_dir / THEMES_DIR, BUILTIN_THEMES):
        if (root / name).is_dir():
            return root / name
    builtin = ", ".join(sorted(p.name for p in BUILTIN_THEMES.glob("*") if p.is_dir()))
    raise SiteError(CONFIG_NAME, f"theme '{name}' not found: expected a folder "
                    f"{THEMES_DIR}/{name}/ in the site (built-in themes: {builtin})",
                    config_line(site_dir, "theme"))


def _static_files(dirs: list[Path], site_dir: Path, problems: list[Problem]) -> dict[str, Path]:
    """Every static file by its path in the output; the first folder to hold a path wins.

    Hidden files are skipped; links are followed only inside the site (or, for a theme that
    comes with sitegen, inside the theme), so no link can publish a file from anywhere."""
    files: dict[str, Path] = {}
    for folder in dirs:
        listing = list_folder(folder, site_dir, inside=_boundary(folder, site_dir))
        problems.extend(listing.problems)
        for parts, path in sorted(listing.files):
            files.setdefault("/".join(parts), Path(path))
    return files


def _template_files(dirs: list[Path], site_dir: Path,
                    problems: list[Problem]) -> list[tuple[str, Path]]:
    """Every template file (for the theme's fingerprint), by its name, in a stable order."""
    found = []
    for folder in dirs:
        listing = list_folder(folder, site_dir, skip=(), inside=_boundary(folder, site_dir))
        problems.extend(listing.problems)
        found += sorted(("/".join(parts), Path(path)) for parts, path in listing.files)
    return found


def _boundary(folder: Path, site_dir: Path) -> Path:
    """Where links in `folder` may lead: the site, or a built-in theme's own folder."""
    return site_dir if folder.is_relative_to(site_dir) else folder.parent


def _builtin_themes() -> Path:
    """The themes that come with sitegen: installed with the package as sitegen/themes/
    (pyproject maps the repository's themes/ there), or in a checkout (and an editable
    install) the repository's own themes/."""
    package = Path(__file__).resolve().parents[1]  # sitegen/, this module is in sitegen/render/
    installed = package / THEMES_DIR
    return installed if installed.is_dir() else package.parent / THEMES_DIR


BUILTIN_THEMES = _builtin_themes()
