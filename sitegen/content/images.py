"""Facts about the site's own images: which static file a URL names, its size, type and length.

Pages need width and height on every local image (no layout shift while it loads); feeds
need the type and length for enclosures; social cards and JSON-LD need absolute URLs. Sizes
come from the `imagesize` package, which reads only the file's header.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from sitegen.config import ImagesConfig
from sitegen.content.markdown import ImageError, PictureMarkup
from sitegen.content.pictures import (
    AVATAR,
    CENTRE,
    RASTER_SUFFIXES,
    Pictures,
    Spec,
    body_markup,
    inspect,
    plan_variants,
)
from sitegen.folders import STATIC_DIR
from sitegen.model import Image
from sitegen.tree import content_stamp

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg", ".bmp",
                            ".tif", ".tiff", ".ico"})


PROCESSED_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")  # a body's missing one is an error


class LocalImages:
    """Looks up images by the URL an author wrote ("/images/a.png", with or without the base
    path) in the site's static files (by output path, as `Theme.static_files` gives them)."""

    def __init__(self, static_files: Mapping[str, Path], base_path: str, base_url: str,
                 pictures: Pictures | None = None, settings: ImagesConfig | None = None) -> None:
        """`settings`: how variants are made, when they are (bodies then link them)."""
        self._files = static_files
        self._settings = settings
        self._plans: dict[Path, tuple[tuple[Spec, ...], str] | str | None] = {}
        self._base_path = base_path
        self._base_url = base_url.rstrip("/")
        self._sizes: dict[Path, tuple[int, int] | None] = {}
        self.pictures = pictures or Pictures()

    def with_pictures(self, pictures: Pictures) -> LocalImages:
        """The same look-ups, and `image` gives each processed image its variants."""
        return LocalImages(self._files, self._base_path, self._base_url, pictures,
                           self._settings)

    def body_picture(self, url: str) -> PictureMarkup | None:
        """The variants an article body links for the image at `url`: None for an image the
        site does not process (another site's, SVG, animated, missing: the link checks
        report those). The names depend only on the file's bytes and the settings, so they
        are known before the pictures stage makes them. Raises ImageError for a file that
        is not an image or is over the pixel limit."""
        if self._settings is None:
            return None
        file = self.file_for(url)
        if file is None:
            path = urlsplit(url).path.lower()
            if _is_local(url) and path.endswith(PROCESSED_SUFFIXES):
                raise ImageError(url, f"not found in {STATIC_DIR}/: add the file, or fix the path")
            return None
        if file.suffix.lower() not in RASTER_SUFFIXES:
            return None
        assert self._settings is not None
        if file not in self._plans:
            facts = inspect(file, self._settings.max_pixels)
            self._plans[file] = facts if facts is None or isinstance(facts, str) else (
                plan_variants(file, facts, self._settings, CENTRE), facts.fallback)
        plan = self._plans[file]
        if isinstance(plan, str):
            raise ImageError(url, plan)
        return body_markup(plan[0], plan[1], self.page) if plan is not None else None

    def files_of(self, urls: Iterable[str]) -> dict[str, Path | None]:
        """The static file behind each site URL (None for another site's); URLs of the site
        with no file behind them are left out."""
        found: dict[str, Path | None] = {}
        for url in urls:
            file = self.file_for(url)
            if file is not None or not _is_local(url):
                found[url] = file
        return found

    def page(self, path: str) -> str:
        """An output path as pages link it."""
        return f"{self._base_path}/{path}"

    def absolute(self, path: str) -> str:
        return f"{self._base_url}/{path}"

    def file_stamp(self, url: str) -> str:
        """What stands for the file behind `url` in a cached body's record (`content_stamp`):
        "" when the site has no such file, so adding one changes it too."""
        file = self.file_for(url)
        if file is None:
            return ""
        try:
            return content_stamp(file).decode()
        except OSError:
            return "unreadable"

    def file_for(self, url: str) -> Path | None:
        """The static file behind a site URL; None for other sites' images and unknown paths."""
        rel = self._static_path(url)
        return self._files.get(rel) if rel is not None else None

    def _static_path(self, url: str) -> str | None:
        """A site URL as a static file's output path ("images/a.jpg"); None for another
        site's."""
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            return None
        path = unquote(parts.path)
        if self._base_path and path.startswith(self._base_path + "/"):
            path = path[len(self._base_path):]
        return path.lstrip("/")

    def size(self, url: str) -> tuple[int, int] | None:
        file = self.file_for(url)
        if file is None:
            return None
        if file not in self._sizes:
            import imagesize  # here, not above: it imports urllib.request, which builds rarely need

            try:
                width, height = imagesize.get(file)
            except (OSError, ValueError):
                width = height = -1
            self._sizes[file] = (int(width), int(height)) if width > 0 and height > 0 else None
        return self._sizes[file]

    def page_url(self, url: str) -> str:
        """The URL as pages link it: site paths get the base path."""
        if url.startswith("/") and not url.startswith("//") and self._base_path and not \
                url.startswith(self._base_path + "/"):
            return self._base_path + url
        return url

    def image(self, url: str, alt: str = "",
              focus: tuple[float, float] | None = None) -> Image:
        """Everything known about the image at `url` (a site path or an absolute URL), with
        its variants (cropped around `focus`) when it was processed."""
        rel = self._static_path(url)
        file = self._files.get(rel) if rel is not None else None
        focus = focus or CENTRE
        variants = self.pictures.variants.get((file, focus)) if file else None
        if variants:
            made = Image("", "", alt, variants=variants)
            main = made.fallback() or made.fallback(AVATAR)  # an avatar has only its squares
            assert main is not None
            return Image(main.url, main.abs_url, alt, main.width, main.height, main.mime,
                         main.length, variants, key=f"{rel}#{focus[0]!r},{focus[1]!r}")
        page_url = self.page_url(url)
        abs_url = urljoin(self._base_url + "/", page_url)
        size = self.size(url)
        mime = mimetypes.guess_type(urlsplit(url).path)[0]
        return Image(url=page_url, abs_url=abs_url, alt=alt, width=size[0] if size else None,
                     height=size[1] if size else None, mime=mime,
                     length=file.stat().st_size if file is not None else None)


def _is_local(url: str) -> bool:
    """A path on this site ("/images/a.jpg"), not another site's image."""
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and url.startswith("/")
