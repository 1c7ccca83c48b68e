"""Body-only edits: when only the Markdown of published articles changed, their new Articles,
without reading, assembling or planning the rest of the site again.

Both quick paths stand on this: the dev server's (the last plan in memory, `live.py`) and the
command line's (the last build's snapshot on disk, `quick.py`). The front matter is as it was,
so no URL, title, date, tag, order or list changes; the caller swaps each new Article into the
jobs that hold the old one (`replan.with_articles`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from sitegen.config import Config
from sitegen.content.embeds import MarkupError
from sitegen.content.images import LocalImages
from sitegen.content.markdown import MarkdownRenderer
from sitegen.content.sources import read_source
from sitegen.errors import SiteError
from sitegen.model import Article, Source
from sitegen.site.assemble import with_body
from sitegen.site.urls import Urls


def reread(old: Source, config: Config) -> Source | None:
    """`old`'s file read again, if only its body changed. None when its front matter changed
    (titles, dates, tags and lists may change) or it cannot be read: the full path decides
    and reports. `old`'s own body is not compared, so it may be left out (empty)."""
    try:
        new = read_source(old.path, config)
    except (SiteError, OSError):
        return None
    return new if replace(new, body=old.body) == old else None


def with_new_bodies(edits: Sequence[tuple[Article, Source]], config: Config,
                    images: LocalImages, by_source: Mapping[str, str]
                    ) -> dict[str, Article] | None:
    """For each (current article, its edited source), the article with the new body, keyed by
    its source path. None when a body does not render (the full path reports it) or its
    images changed (the sitemap lists each article's images)."""
    renderer = MarkdownRenderer(config.markdown, config.base_path, images.size)
    urls = Urls(config)
    replacements: dict[str, Article] = {}
    for article, source in edits:
        try:
            body = renderer.render(source.body,
                                   urls.absolute(urls.article(source.date, source.slug)))
        except MarkupError:
            return None
        updated = with_body(article, source, body, config, by_source)
        if updated.images != article.images:
            return None
        replacements[article.source_path] = updated
    return replacements
