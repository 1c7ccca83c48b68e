"""Responsive variants of the site's own photos: resized, cropped, re-encoded and stripped.

A 3,000-pixel press JPEG with the photographer's GPS position must not reach phones as it is.
For each local raster image a page shows (an article's lead image, a tag's image, the default
social image) this stage makes variants at the configured widths (never wider than the
original) in the configured modern formats plus the original's format as fallback, the crops
lists and cards show (16:9), the crops Google's article guidelines ask for (16:9, 4:3, 1:1)
and the 1200x630 social card (an author's avatar: small squares only), each with EXIF
orientation applied, converted to sRGB and with no metadata at all. SVG, animated images and
other sites' images are left as they are.

Names carry a digest of the source's bytes and of everything that decides the variant's bytes
(size, crop, format, quality, this module's `RECIPE`), so they can be cached forever and the
plan knows every name before anything is encoded. Encoded files are kept in
`.sitegen-cache/images/` under their name and a digest of their bytes (checked on use: a
damaged file is made again, never published); a warm build encodes nothing. Each source image
is one job, run in forked workers, and holds its decoded pixels only while it runs.

Problems name the file and line that use the image: a missing file, one that is not an image
or is damaged (truncated), one over `[images] max_pixels` (refused from its header, never
decoded).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sitegen import cachefiles
from sitegen.config import CONFIG_NAME, Config, ImagesConfig, config_line
from sitegen.content.markdown import PictureMarkup
from sitegen.content.registry import TagRegistry
from sitegen.errors import BuildError, Problem
from sitegen.folders import CACHE_DIR, STATIC_DIR
from sitegen.model import Source, Variant
from sitegen.parallel import Started, run_indexed
from sitegen.slugs import slugify
from sitegen.tree import content_stamp

RECIPE = "1"  # bump when the way variants are made changes: every name changes with it
OUTPUT_DIR = "_img"  # where variants go in the output (netlify.toml caches it forever)
CACHE_SUBDIR = "images"
RASTER = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}  # Pillow's formats processed, by name
RASTER_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif"})  # tried; GIFs stay
MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif"}
EXTENSION = {"jpeg": "jpg", "png": "png", "webp": "webp", "avif": "avif"}
CROPS = {"16:9": (16, 9), "4:3": (4, 3), "1:1": (1, 1), "og": (1200, 630)}
CARD_MAX = 1200  # 16:9 crops for cards and the front page's hero go up to this width
THUMBS = (160, 320)  # and start here: thumbnails 6.5 to 10rem wide (river, related, search)
FALLBACK_MAX = 1200  # the fallback <img src>, feeds and JSON-LD crops
SOCIAL = (1200, 630)  # og:image, twitter:image: JPEG, which every network reads
AVATAR = "avatar"  # the ratio name of avatars' square variants
AVATAR_WIDTHS = (96, 192)  # bylines, author boxes and pages show 44 to 96 CSS pixels, at 1x-2x
CENTRE = (0.5, 0.5)
NICE = 10  # how much lower the preview's background encoders run (`Making`)
NAMED_FOCUS = {"center": (0.5, 0.5), "centre": (0.5, 0.5), "top": (0.5, 0.0),
               "bottom": (0.5, 1.0), "left": (0.0, 0.5), "right": (1.0, 0.5)}


@dataclass(frozen=True)
class Use:
    """Where the site shows an image: for messages, and the crop's centre there."""

    url: str  # as written
    file: str  # the file that names it (an article, sitegen.toml, data/tags.yaml)
    line: int | None
    focus: tuple[float, float] = CENTRE
    whole: bool = False  # an image in a body: only the original's shape, no crops
    avatar: bool = False  # an author's avatar: small squares


@dataclass(frozen=True)
class Spec:
    """One variant to make: its output path and how to make it from the oriented source."""

    path: str  # in the output, e.g. _img/still-800x533-1a2b3c4d5e.webp
    ratio: str  # "" the original's shape, else a key of CROPS
    box: tuple[int, int, int, int]  # the source pixels it shows, after orientation
    width: int
    height: int
    fmt: str  # a key of MIME
    quality: int


@dataclass(frozen=True)
class Photo:
    """One source image at one crop centre: a job."""

    file: Path
    specs: tuple[Spec, ...]


@dataclass
class Pictures:
    """What the stage made: each image's variants by (static file, focus); the output files
    (path -> the cached file to copy; a crop that is the whole image shares its file); the
    source files processed; how many variants were encoded this time (0 on a warm build)."""

    variants: dict[tuple[Path, tuple[float, float]], tuple[Variant, ...]] = \
        field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    processed: set[Path] = field(default_factory=set)
    encoded: int = 0


@dataclass(frozen=True)
class _Facts:
    """A source file's header: enough to plan its variants without decoding it."""

    digest: str
    width: int  # after EXIF orientation
    height: int
    fallback: str  # the format older browsers get: the original's (JPEG for opaque WebP)


def parse_focus(value: str) -> tuple[float, float] | None:
    """`image_focus` front matter ("top", "center", "0.3,0.2") as fractions; None if invalid."""
    text = value.strip().lower()
    if text in NAMED_FOCUS:
        return NAMED_FOCUS[text]
    parts = text.split(",")
    try:
        x, y = (float(p) for p in parts)
    except ValueError:
        return None
    return (x, y) if 0 <= x <= 1 and 0 <= y <= 1 else None


def site_uses(config: Config, sources: Iterable[Source], registry: TagRegistry,
              bodies: Mapping[str, Sequence[str]] | None = None) -> list[Use]:
    """Every image the site processes: articles' lead images, the images their bodies show as
    pictures (`bodies`: by source path, as written), tags' images, [seo] image."""
    sources = list(sources)
    uses = [Use(s.image, s.rel_path, s.line_of.get("image"), s.image_focus or CENTRE)
            for s in sources if s.image]
    uses += [Use(url, s.rel_path, None, whole=True)
             for s in sources for url in (bodies or {}).get(s.rel_path, ())]
    uses += [Use(e.image, e.origin, e.line) for e in registry.entries if e.image]
    uses += [Use(a.avatar, CONFIG_NAME, config_line(config.site_dir, f'authors."{name}".avatar'),
                 avatar=True) for name, a in config.authors.items() if a.avatar]
    if config.seo.image:
        uses.append(Use(config.seo.image, CONFIG_NAME, config_line(config.site_dir, "seo.image")))
    return uses


def make_pictures(uses: Iterable[Use], file_for: Mapping[str, Path | None], urls: VariantUrls,
                  settings: ImagesConfig, site_dir: Path, workers: int,
                  store: Path | None = None, memo: dict[object, object] | None = None
                  ) -> Pictures:
    """Variants of every image in `uses` (`file_for`: the static file behind each URL, None
    for other sites', missing only when the site has no such file), made or taken from the
    site's cache folder (or `store`); raises BuildError naming every use of every bad image.
    `memo`: what an earlier run in this process learnt of the files, by their stamps (the
    dev server's), so only changed files are read again."""
    by_file, facts, problems = _inspect_all(uses, file_for, settings.max_pixels, memo=memo)
    if problems:
        raise BuildError(problems)
    pictures = Pictures()
    photos: dict[tuple[Path, tuple[float, float]], Photo] = {}
    for file, fact in facts.items():
        for focus in dict.fromkeys(u.focus for u in by_file[file]):
            here = [u for u in by_file[file] if u.focus == focus]
            photos[file, focus] = Photo(file, specs_for(file, fact, settings, focus, here))
        pictures.processed.add(file)
    folder = _folder(site_dir, store)
    if photos and not folder.is_dir():
        if store is None:
            cachefiles.cache_folder(site_dir)  # made as caches are (ignored by git)
        cachefiles.discard(folder)
        folder.mkdir()
    cached = _cached(folder, memo)
    todo = [(key, list({s.path: s for s in photo.specs if s.path not in cached}.values()))
            for key, photo in photos.items()]
    todo = [(key, specs) for key, specs in todo if specs]
    # Fewer photos than workers (the dev server after one photo was replaced): each worker
    # makes every n-th variant of a photo, decoding it once more (tens of ms against a
    # second of resizing), so the preview shows the new photo sooner.
    parts = max(1, workers // len(todo)) if todo else 1
    jobs = [(key, part) for key, specs in todo for part in _share(specs, parts)]

    def encode(index: int) -> list[tuple[str, str]] | str:
        """A share of one photo's variants, from bytes read once here and checked against
        the digest its variants were named by: a file replaced since it was inspected would
        otherwise be cached under names that are not its pixels', for every later build."""
        (file, _), specs = jobs[index]
        data = _read(file)
        if isinstance(data, str):
            return data
        if _file_digest(data) != facts[file].digest:
            return "was replaced while the site was being built: build again"
        return encode_photo(file, specs, folder, data)

    results = run_indexed(encode, len(jobs), workers, per_worker=1)
    failed: set[tuple[Path, tuple[float, float]]] = set()
    for (key, specs), result in zip(jobs, results, strict=True):
        if isinstance(result, str):
            if key not in failed:
                failed.add(key)
                problems += [Problem(u.file, f"image {u.url} {result}", u.line)
                             for u in by_file[key[0]] if u.focus == key[1]]
            continue
        pictures.encoded += len(specs)
        cached.update(result)
    if problems:
        raise BuildError(problems)
    for key, photo in photos.items():
        lengths = {}
        for spec in photo.specs:
            stored = folder / cached[spec.path]
            pictures.files[spec.path] = stored
            lengths[spec.path] = stored.stat().st_size
        pictures.variants[key] = variants_of(photo.specs, urls, lengths)
    return pictures


def specs_for(file: Path, fact: _Facts, settings: ImagesConfig, focus: tuple[float, float],
              here: Sequence[Use]) -> tuple[Spec, ...]:
    """The variants of one image at one crop centre, for the uses `here` (all at `focus`)."""
    specs = plan_variants(file, fact, settings, focus)
    if all(u.whole or u.avatar for u in here):  # only what bodies and avatars show
        specs = whole_specs(specs) if any(u.whole for u in here) else ()
    if any(u.avatar for u in here):
        specs += avatar_specs(file, fact, settings, focus)
    return specs


def variants_of(specs: Sequence[Spec], urls: VariantUrls,
                lengths: Mapping[str, int] | None = None) -> tuple[Variant, ...]:
    """The variants `specs` make, with each file's length by output path; None: not encoded
    yet, each length `PENDING` (the preview renders the pages of a replaced photo while its
    variants are encoded: a page that uses a length then fails, and waits for them)."""
    return tuple(Variant(urls.page(s.path), urls.absolute(s.path), s.width, s.height,
                         MIME[s.fmt], lengths[s.path] if lengths is not None else PENDING,
                         s.ratio) for s in specs)


class LengthPending(Exception):
    """A variant's byte length was used before the variant was encoded."""


def _refuse(*args: object, **kwargs: object) -> object:
    raise LengthPending("an image variant's length is not known yet")


class _Pending(int):
    """A byte length still to be measured: an int (a template's `is number` says so, as it
    will of the real length) that refuses every use of its value, printing and comparing
    included, so nothing rendered with it can depend on it."""

    __slots__ = ()


for _name in ("__str__", "__repr__", "__format__", "__bool__", "__hash__", "__eq__", "__ne__",
              "__lt__", "__le__", "__gt__", "__ge__", "__int__", "__float__", "__index__",
              "__complex__", "__abs__", "__neg__", "__pos__", "__invert__", "__round__",
              "__trunc__", "__floor__", "__ceil__", "__add__", "__radd__", "__sub__", "__rsub__",
              "__mul__", "__rmul__", "__truediv__", "__rtruediv__", "__floordiv__",
              "__rfloordiv__", "__mod__", "__rmod__", "__divmod__", "__rdivmod__", "__pow__",
              "__rpow__", "__lshift__", "__rlshift__", "__rshift__", "__rrshift__", "__and__",
              "__rand__", "__or__", "__ror__", "__xor__", "__rxor__", "__reduce__",
              "__reduce_ex__", "__getnewargs__", "to_bytes", "bit_length",
              "conjugate", "as_integer_ratio"):
    setattr(_Pending, _name, _refuse)

PENDING: int = _Pending(0)


def _share(specs: Sequence[Spec], parts: int) -> list[list[Spec]]:
    """`specs` in up to `parts` jobs, those of one size of one box in the same one (they are
    resized once: a WebP and its JPEG fallback at 1200 pixels)."""
    groups: dict[tuple[tuple[int, int, int, int], int, int], list[Spec]] = {}
    for spec in specs:
        groups.setdefault((spec.box, spec.width, spec.height), []).append(spec)
    shared: list[list[Spec]] = [[] for _ in range(parts)]
    for k, group in enumerate(groups.values()):
        shared[k % parts].extend(group)
    return [part for part in shared if part]


def check_images(uses: Iterable[Use], file_for: Mapping[str, Path | None],
                 settings: ImagesConfig) -> list[Problem]:
    """What would stop the images stage, found without encoding (`sitegen check`): files that
    are not images, damaged or truncated (decoded at a small scale), or over the pixel limit.
    Missing files are left to the link checks, which report them."""
    found = {url: file for url, file in file_for.items()}
    found.update({u.url: None for u in uses if u.url not in file_for})  # missing: skipped
    return _inspect_all(uses, found, settings.max_pixels, decode=True)[2]


def _inspect_all(uses: Iterable[Use], file_for: Mapping[str, Path | None], max_pixels: int,
                 decode: bool = False, memo: dict[object, object] | None = None
                 ) -> tuple[dict[Path, list[Use]], dict[Path, _Facts], list[Problem]]:
    """The uses of each file, the header facts of each file processed, and the problems:
    each use of a missing or unusable file."""
    problems: list[Problem] = []
    by_file: dict[Path, list[Use]] = {}
    for use in uses:
        if use.url not in file_for:
            problems.append(Problem(use.file, f"image {use.url} not found in {STATIC_DIR}/: add "
                                    "the file, or fix the path", use.line))
        elif (file := file_for[use.url]) is not None:
            by_file.setdefault(file, []).append(use)
    facts: dict[Path, _Facts] = {}
    for file, file_uses in by_file.items():
        fact = _inspect_known(file, max_pixels, memo) if memo is not None and not decode \
            else inspect(file, max_pixels, decode)
        if isinstance(fact, str):
            problems += [Problem(u.file, f"image {u.url} {fact}", u.line) for u in file_uses]
        elif fact is not None:
            facts[file] = fact
    return by_file, facts, problems


def _inspect_known(file: Path, max_pixels: int, memo: dict[object, object]
                   ) -> _Facts | str | None:
    """`inspect`, remembered by the file's stamp (taken before it is read: a file replaced
    meanwhile is inspected again next time)."""
    try:
        key = ("facts", file, max_pixels, content_stamp(file))
    except OSError:
        return inspect(file, max_pixels)  # says why it cannot be read
    if key not in memo:
        fact = inspect(file, max_pixels)
        if not isinstance(fact, _Facts):
            return fact
        memo[key] = fact
    return memo[key]  # type: ignore[return-value]


def prune(pictures: Pictures, site_dir: Path, store: Path | None = None) -> None:
    """Remove cached variants no image uses any more."""
    folder = _folder(site_dir, store)
    keep = {path.name for path in pictures.files.values()}
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name not in keep:
            cachefiles.discard(folder / name)


def _folder(site_dir: Path, store: Path | None) -> Path:
    return store / CACHE_SUBDIR if store is not None else site_dir / CACHE_DIR / CACHE_SUBDIR


def variant_folder(site_dir: Path, store: Path | None = None) -> Path:
    """Where the encoded variants are kept (`store`, else the site's cache folder)."""
    return _folder(site_dir, store)


class Making:
    """One photo's variants being encoded into the cache folder by forked workers (every one
    a forked process: the caller goes on meanwhile), from the bytes its names were planned
    from (`data`: a file replaced again meanwhile cannot put other pixels under those
    names). `wait` collects: the output paths made, or why the photo cannot be decoded."""

    def __init__(self, data: bytes, specs: Sequence[Spec], folder: Path, workers: int) -> None:
        present = _present(folder)
        self.paths = list(dict.fromkeys(s.path for s in specs))
        todo = [s for s in dict((s.path, s) for s in specs).values()
                if s.path.rsplit("/", 1)[1] not in present]
        self._jobs = _share(todo, max(1, workers))
        self._folder, self._data = folder, data
        self._parent, self._niced = os.getpid(), False
        self._started = Started(self._encode, len(self._jobs), len(self._jobs), per_worker=1,
                                forked_only=True) if self._jobs else None

    def _encode(self, index: int) -> list[tuple[str, str]] | str:
        if os.getpid() != self._parent and not self._niced:  # a forked worker: the caller's
            self._niced = True  # pages (what the author looks at) go first on a busy machine
            os.nice(NICE)
        return encode_photo(Path("<replaced photo>"), self._jobs[index], self._folder,
                            self._data)

    def wait(self) -> list[str] | str:
        if self._started is None:
            return []
        made: list[str] = []
        for result in self._started.results():
            if isinstance(result, str):
                return result
            made += [path for path, _ in result]
        return made

    def stop(self) -> None:
        if self._started is not None:
            self._started.stop()

    def files(self) -> dict[str, Path]:
        """Once made: the cached file of each variant, by output path, checked against the
        digest in its name (one that fails is left out: the pictures stage makes it again)."""
        found: dict[str, Path] = {}
        try:
            names = {name.rpartition("~")[0]: name for name in os.listdir(self._folder)}
        except OSError:
            return found
        for path in self.paths:
            name = names.get(path.rsplit("/", 1)[1])
            if name is not None and _intact(self._folder / name, name.rpartition("~")[2]):
                found[path] = self._folder / name
        return found


def _present(folder: Path) -> set[str]:
    """The variant names in the cache folder (unchecked: the pictures stage checks them)."""
    try:
        return {name.rpartition("~")[0] for name in os.listdir(folder)}
    except OSError:
        return set()


class VariantUrls(Protocol):
    """How output paths become URLs, as pages and as absolute URLs (`LocalImages` knows)."""

    def page(self, path: str) -> str: ...

    def absolute(self, path: str) -> str: ...


def _read(file: Path) -> bytes | str:
    """A photo's bytes, or why it cannot be read (as the end of a message)."""
    try:
        return file.read_bytes()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"


def inspect(file: Path, max_pixels: int, decode: bool = False,
            data: bytes | None = None) -> _Facts | str | None:
    """The header facts of `file` (of its bytes `data`, when read already); None for an
    image left as it is (animated, or a format not processed); else why it cannot be used, as
    the end of a message. With `decode`, the pixels are decoded too (small, where the format
    allows), so a truncated file is found (`sitegen check`, which encodes nothing)."""
    from PIL import Image, UnidentifiedImageError

    if file.suffix.lower() not in RASTER_SUFFIXES:
        return None  # SVG, icons: published as they are
    data = _read(file) if data is None else data
    if isinstance(data, str):
        return data
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels:
                return _too_big(image.width, image.height, max_pixels)
            if image.format not in RASTER or getattr(image, "is_animated", False):
                return None
            orientation = image.getexif().get(0x0112, 1)
            width, height = (image.height, image.width) if orientation in (5, 6, 7, 8) else \
                (image.width, image.height)
            alpha = _has_alpha(image)
            if decode:
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()
    except Image.DecompressionBombError:
        return _too_big(0, 0, max_pixels)
    except UnidentifiedImageError:
        return f"({_shown(file)}) is not an image sitegen can read: replace it with a JPEG, " \
               "PNG, WebP, GIF or SVG file"
    except (OSError, SyntaxError, ValueError) as exc:
        return _damaged(file, exc)
    fallback = RASTER[image.format] if image.format != "WEBP" else ("png" if alpha else "jpeg")
    return _Facts(_file_digest(data), width, height, fallback)


def _file_digest(data: bytes) -> str:
    """A source file's digest, which its variants' names carry."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _too_big(width: int, height: int, max_pixels: int) -> str:
    size = f" is {width}x{height} pixels, which" if width else ""
    return (f"{size} is over the limit of {max_pixels:,} pixels ([images] max_pixels): it is "
            "refused unread, as a decompression bomb would be; scale it down, or raise the "
            "limit if you trust it").lstrip()


def _damaged(file: Path, exc: BaseException) -> str:
    return f"({_shown(file)}) is damaged or truncated ({exc}): export it again"


def _shown(file: Path) -> str:
    parts = file.parts
    return "/".join(parts[parts.index(STATIC_DIR):]) if STATIC_DIR in parts else file.name


def _has_alpha(image: object) -> bool:
    mode = getattr(image, "mode", "")
    info = getattr(image, "info", {})
    return mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in info)


def plan_variants(file: Path, facts: _Facts, settings: ImagesConfig,
                  focus: tuple[float, float]) -> tuple[Spec, ...]:
    """Every variant of one image, in a fixed order: the original's shape at each width in
    each modern format, its fallback, the 16:9 crops, then the 4:3, 1:1 and social crops."""
    width, height = facts.width, facts.height
    quality = {"webp": settings.webp_quality, "avif": settings.avif_quality,
               "jpeg": settings.jpeg_quality, "png": 0}
    stem = slugify(file.stem)[:40] or "image"
    modern = [f for f in dict.fromkeys(settings.formats) if f != facts.fallback]
    specs: list[Spec] = []

    def add(ratio: str, box: tuple[int, int, int, int], target: int, fmt: str,
            size: tuple[int, int] | None = None) -> None:
        crop_w, crop_h = box[2] - box[0], box[3] - box[1]
        if size is None:
            w = min(target, crop_w)
            size = (w, max(1, round(crop_h * w / crop_w)))
        key = repr((RECIPE, facts.digest, box, size, fmt, quality[fmt]))
        digest = hashlib.blake2b(key.encode(), digest_size=5).hexdigest()
        path = f"{OUTPUT_DIR}/{stem}-{size[0]}x{size[1]}-{digest}.{EXTENSION[fmt]}"
        if all(s.path != path or s.ratio != ratio for s in specs):  # a crop may equal the whole
            specs.append(Spec(path, ratio, box, size[0], size[1], fmt, quality[fmt]))

    whole = (0, 0, width, height)
    widths = sorted({min(w, width) for w in settings.widths})  # never upscaled
    for fmt in modern:
        for w in widths:
            add("", whole, w, fmt)
    add("", whole, max([w for w in widths if w <= FALLBACK_MAX], default=widths[0]),
        facts.fallback)
    card = crop_box(width, height, CROPS["16:9"], focus)
    card_widths = sorted({min(w, card[2] - card[0]) for w in (*THUMBS, *settings.widths)
                          if w <= CARD_MAX})
    for fmt in modern:
        for w in card_widths:
            add("16:9", card, w, fmt)
    for ratio in ("16:9", "4:3", "1:1"):
        add(ratio, crop_box(width, height, CROPS[ratio], focus), FALLBACK_MAX, facts.fallback)
    social = crop_box(width, height, CROPS["og"], focus)
    scale = min(1.0, SOCIAL[0] / (social[2] - social[0]))
    add("og", social, 0, "jpeg", (max(1, round((social[2] - social[0]) * scale)),
                                   max(1, round((social[3] - social[1]) * scale))))
    return tuple(specs)


def avatar_specs(file: Path, facts: _Facts, settings: ImagesConfig,
                 focus: tuple[float, float]) -> tuple[Spec, ...]:
    """An avatar's variants: the largest centred square, at AVATAR_WIDTHS (never upscaled) in
    each modern format, and its fallback at the largest: a headshot needs no 1600-pixel
    copies, and a byline's 44 pixels no 1200-pixel crop."""
    box = crop_box(facts.width, facts.height, CROPS["1:1"], focus)
    side = box[2] - box[0]
    quality = {"webp": settings.webp_quality, "avif": settings.avif_quality,
               "jpeg": settings.jpeg_quality, "png": 0}
    stem = slugify(file.stem)[:40] or "image"
    widths = sorted({min(w, side) for w in AVATAR_WIDTHS})
    formats = [f for f in dict.fromkeys(settings.formats) if f != facts.fallback]
    specs = []
    for fmt, width in [(f, w) for f in formats for w in widths] + [(facts.fallback, widths[-1])]:
        key = repr((RECIPE, facts.digest, box, (width, width), fmt, quality[fmt]))
        digest = hashlib.blake2b(key.encode(), digest_size=5).hexdigest()
        path = f"{OUTPUT_DIR}/{stem}-{width}x{width}-{digest}.{EXTENSION[fmt]}"
        specs.append(Spec(path, AVATAR, box, width, width, fmt, quality[fmt]))
    return tuple(specs)


def whole_specs(specs: Sequence[Spec]) -> tuple[Spec, ...]:
    """The variants in the original's shape: all an image in a body shows."""
    return tuple(s for s in specs if not s.ratio)


def body_markup(specs: Sequence[Spec], fallback: str, page: Callable[[str], str]
                ) -> PictureMarkup:
    """How a body links an image's variants (`page`: output path -> URL)."""
    whole = whole_specs(specs)
    by_format: dict[str, list[Spec]] = {}
    for spec in whole:
        by_format.setdefault(spec.fmt, []).append(spec)
    main = by_format[fallback][-1]
    return PictureMarkup(
        tuple((MIME[fmt], ", ".join(f"{page(s.path)} {s.width}w" for s in group))
              for fmt, group in by_format.items() if fmt != fallback),
        page(main.path), ", ".join(f"{page(s.path)} {s.width}w" for s in by_format[fallback]),
        main.width, main.height)


def crop_box(width: int, height: int, ratio: tuple[int, int],
             focus: tuple[float, float]) -> tuple[int, int, int, int]:
    """The largest box of `ratio` inside width x height, centred as near `focus` as it fits."""
    rw, rh = ratio
    if width * rh > height * rw:  # wider than the ratio: full height
        crop_w, crop_h = max(1, round(height * rw / rh)), height
    else:
        crop_w, crop_h = width, max(1, round(width * rh / rw))
    left = min(max(0, round(focus[0] * width - crop_w / 2)), width - crop_w)
    top = min(max(0, round(focus[1] * height - crop_h / 2)), height - crop_h)
    return (left, top, left + crop_w, top + crop_h)


def _cached(folder: Path, memo: dict[object, object] | None = None) -> dict[str, str]:
    """The cache's variants: output path -> file name (`<name>~<digest of its bytes>`), each
    checked against its digest (once per stamp, with `memo`); anything else there is
    removed."""
    found: dict[str, str] = {}
    try:
        names = os.listdir(folder)
    except OSError:
        return found
    for name in names:
        base, _, digest = name.rpartition("~")
        try:  # lstat: a link put in a file's place is checked (and refused) again
            stat = os.lstat(folder / name)
            key = ("variant", folder, name, stat.st_mode, stat.st_size, stat.st_mtime_ns,
                   stat.st_ino)
        except OSError:
            key = None
        if memo is not None and key is not None and key in memo:
            found[f"{OUTPUT_DIR}/{base}"] = name
            continue
        if base and _intact(folder / name, digest):
            found[f"{OUTPUT_DIR}/{base}"] = name
            if memo is not None and key is not None:
                memo[key] = True
        else:
            cachefiles.discard(folder / name)
    return found


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def _intact(file: Path, digest: str) -> bool:
    """Whether a cached variant is whole and its bytes are those its name's digest says."""
    try:
        data = cachefiles.read_file(file)
    except cachefiles.Damaged:
        return False
    return _digest(data) == digest


def encode_photo(file: Path, specs: Sequence[Spec], folder: Path,
                 data: bytes | None = None) -> list[tuple[str, str]] | str:
    """Make `specs` from `file` (or its bytes `data`) into the cache folder: [(output path,
    cache file name)], or why the image cannot be decoded. The decoded image lives only for
    this call."""
    from PIL import Image, ImageOps

    try:
        with Image.open(file if data is None else io.BytesIO(data)) as opened:
            image = _to_srgb(ImageOps.exif_transpose(opened) or opened)
        made = []
        resized: tuple[object, object] | None = None  # the last (box and size, pixels)
        for spec in sorted(specs, key=lambda s: (s.box, s.width, s.height)):
            shape = (spec.box, spec.width, spec.height)
            if resized is None or resized[0] != shape:
                resized = (shape, _resize(image, spec))
            data = _encode(resized[1], spec)
            name = f"{spec.path.rsplit('/', 1)[1]}~{_digest(data)}"
            temporary = folder / f".{name}.{os.getpid()}.tmp"
            with cachefiles.create(temporary) as handle:
                handle.write(data)
            cachefiles.replace_file(temporary, folder / name)
            made.append((spec.path, name))
        return made
    except Image.DecompressionBombError as exc:
        return str(exc)
    except (OSError, SyntaxError, ValueError) as exc:
        return _damaged(file, exc)


def _to_srgb(image: object) -> object:
    """RGB or RGBA pixels in sRGB: an embedded colour profile converted, then dropped."""
    from PIL import Image, ImageCms

    assert isinstance(image, Image.Image)
    alpha = _has_alpha(image)
    mode = "RGBA" if alpha else "RGB"
    icc = image.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if image.mode not in ("RGB", "RGBA", "CMYK", "L"):
                image = image.convert(mode)
            image = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"),
                                              outputMode=mode if image.mode != "L" else "RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unreadable profile: the pixels are taken as sRGB
    if image.mode != mode:
        image = image.convert(mode)
    image.info = {}
    return image


def _resize(image: object, spec: Spec) -> object:
    from PIL import Image

    assert isinstance(image, Image.Image)
    return image.resize((spec.width, spec.height), Image.Resampling.LANCZOS, box=spec.box,
                        reducing_gap=3.0)


def _encode(out: object, spec: Spec) -> bytes:
    """The variant's file from its resized pixels (left as they are: a JPEG and a WebP of
    one size share them)."""
    from PIL import Image

    assert isinstance(out, Image.Image)
    if spec.fmt == "jpeg" and out.mode == "RGBA":  # JPEG has no transparency: on white
        flat = Image.new("RGB", out.size, (255, 255, 255))
        flat.paste(out, mask=out.getchannel("A"))
        out = flat
    out.info = {}  # nothing of the original's metadata may travel on
    buffer = io.BytesIO()
    if spec.fmt == "jpeg":
        out.save(buffer, "JPEG", quality=spec.quality, optimize=True, progressive=True)
    elif spec.fmt == "webp":
        out.save(buffer, "WEBP", quality=spec.quality, method=4)
    elif spec.fmt == "avif":
        out.save(buffer, "AVIF", quality=spec.quality, speed=8)
    else:
        out.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()
