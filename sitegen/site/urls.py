"""The site's URL scheme in one place: where each kind of page lives, and the file behind a URL.

Every URL here is site-relative and starts with the base path (the path part of base_url),
so a site deployed under /news/ works; `output_file` maps a URL back to the file to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sitegen.config import Config
from sitegen.model import FeedLink


class UnsafePath(ValueError):
    """A URL that would map to a file outside the output folder."""


def absolute_url(base_url: str, base_path: str, url: str) -> str:
    """A site URL under `base_path` as an absolute URL on `base_url` (`Urls.absolute`, for
    values that keep the two strings rather than a Urls, such as `seo.ArticleJsonLd`)."""
    return base_url + url[len(base_path):]


class Urls:
    def __init__(self, config: Config) -> None:
        self.base_path = config.base_path
        self.base_url = config.base_url.rstrip("/")
        self.permalink = config.permalink

    def url(self, path: str) -> str:
        """A site path ("/tags/") as a URL under the base path ("/news/tags/")."""
        return self.base_path + path

    def absolute(self, url: str) -> str:
        """A URL from this class as an absolute URL with the site's scheme and host."""
        return absolute_url(self.base_url, self.base_path, url)

    def article(self, date: datetime, slug: str) -> str:
        return self.url(self.permalink.format(year=f"{date.year:04d}", month=f"{date.month:02d}",
                                              day=f"{date.day:02d}", slug=slug))

    def tag(self, slug: str) -> str:
        return self.url(f"/tags/{slug}/")

    def author(self, slug: str) -> str:
        return self.url(f"/authors/{slug}/")

    def page(self, first: str, number: int) -> str:
        """Page `number` of a paginated list whose first page is at `first`."""
        return first if number == 1 else self.page_pattern(first).format(number)

    def page_pattern(self, first: str) -> str:
        """The URL of a later page of the list at `first`, with "{}" for its number."""
        return first.replace("{", "{{").replace("}", "}}") + "page/{}/"

    def output_file(self, url: str) -> str:
        """The file under the output folder for `url`: a folder URL gets its index.html.

        Raises UnsafePath for anything that could step outside the output folder.
        """
        path = url[len(self.base_path):] if url.startswith(self.base_path) else url
        if not path.startswith("/") or path.startswith("//") or "\\" in path or "\x00" in path:
            raise UnsafePath(url)
        rel = path.lstrip("/")
        if rel == "" or rel.endswith("/"):
            rel += "index.html"
        # A part that is empty, "." or ".." is all that normpath would change or that could
        # climb out; a set test is cheaper than normpath on every page.
        if not _UNSAFE_PARTS.isdisjoint(rel.split("/")):
            raise UnsafePath(url)
        return rel


_UNSAFE_PARTS = frozenset(("", ".", ".."))


# Each listing's feeds are files in its folder; page heads link them, feeds.py writes them.
@dataclass(frozen=True)
class FeedFormat:
    name: str  # feedgen's: "rss" or "atom"
    file: str  # the file in the listing's folder
    mime: str
    label: str


FORMATS = (FeedFormat("rss", "feed.xml", "application/rss+xml", "RSS"),
           FeedFormat("atom", "atom.xml", "application/atom+xml", "Atom"),
           FeedFormat("json", "feed.json", "application/feed+json", "JSON Feed"))


def feed_links(title: str, folder_url: str) -> tuple[FeedLink, ...]:
    """The feeds published in the folder `folder_url` (absolute), for page heads."""
    return tuple(FeedLink(f"{title} ({f.label})", folder_url + f.file, f.mime) for f in FORMATS)
