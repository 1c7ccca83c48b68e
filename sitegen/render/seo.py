"""What search engines and social networks read about a page: the image its card shows, the
robots rules, and an article's JSON-LD `NewsArticle`.

Plain data out: the planner puts it into `PageMeta`, templates render it. The one piece of
markup made here is the JSON for a <script type="application/ld+json"> element, escaped so
that no value (a headline holding "</script>", say) can end the element early.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from markupsafe import Markup

from sitegen.model import Article, Image, SiteInfo
from sitegen.site.urls import absolute_url

HEADLINE_MAX = 110  # Google's limit for a NewsArticle headline

# Inside a <script> element only "</script" (and "<!--") can end or confuse the data; escaping
# every <, > and & keeps it valid JSON either way, and U+2028/2029 keep it valid JavaScript.
_SCRIPT_SAFE = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def json_for_script(data: Any) -> Markup:
    """`data` as JSON that is safe to put, unescaped, inside a <script> element. Compact, so
    json.dumps runs its C encoder (with an indent it runs the pure-Python one, a tenth of a
    millisecond per article page); readers of JSON-LD are programs."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escape in _SCRIPT_SAFE:  # str.replace beats str.translate's per-char table
        if char in text:
            text = text.replace(char, escape)
    return Markup(text)


def headline(title: str) -> str:
    """The title, shortened at a word to fit Google's headline limit."""
    if len(title) <= HEADLINE_MAX:
        return title
    cut = title[:HEADLINE_MAX - 1].rsplit(" ", 1)[0].rstrip(" ,;:-–—")
    return cut + "…"


def robots(article: Article) -> str:
    """An expired article asks not to be indexed; one that will expire says when."""
    if article.expired:
        return "noindex"
    if article.expires is not None:
        return f"unavailable_after: {article.expires.isoformat(timespec='seconds')}"
    return ""


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


JSON_LD_CROPS = ("16:9", "4:3", "1:1")


def image_object(image: Image) -> dict[str, Any]:
    data: dict[str, Any] = {"@type": "ImageObject", "url": image.abs_url}
    if image.width and image.height:
        data["width"] = image.width
        data["height"] = image.height
    return data


@dataclass(frozen=True)
class ArticleJsonLd:
    """An article page's JSON-LD, made as its page is rendered (`__html__`, which templates
    call): planned as text, the JSON of every article page would be held from planning to
    writing, by the build's process and by each writer it forks (14 MB at 10,000 articles).
    Its fields are all the JSON depends on, so a page's fingerprint covers it."""

    article: Article
    site: SiteInfo
    image: Image | None  # the article's card image: its own, else the site's default
    base_url: str  # `urls.absolute_url`'s two halves
    base_path: str

    def __html__(self) -> str:
        absolute = partial(absolute_url, self.base_url, self.base_path)
        return json_for_script(news_article(self.article, self.site, absolute, self.image,
                                            self.site.logo))

    __str__ = __html__


def news_article(article: Article, site: SiteInfo, absolute: Callable[[str], str],
                 image: Image | None, logo: Image | None) -> dict[str, Any]:
    """schema.org NewsArticle for an article page, as Google's article guidelines ask for it.

    `absolute` turns a site URL into an absolute one; `image` is the article's card image
    (its own, else the site's default) and `logo` the publisher's."""
    publisher: dict[str, Any] = {"@type": "Organization", "name": site.publisher or site.title,
                                 "url": site.base_url + "/"}
    if logo is not None:
        publisher["logo"] = image_object(logo)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": article.abs_url},
        "url": article.abs_url,
        "headline": headline(article.title),
        "description": article.description,
        "datePublished": _iso(article.date),
        "dateModified": _iso(article.updated or article.date),
        "author": [{"@type": "Person", "name": article.author.name,
                    "url": absolute(article.author.url)}],
        "publisher": publisher,
        "inLanguage": site.language,
        "wordCount": article.words,
    }
    if image is not None:  # the crops Google asks for, where sitegen made them
        data["image"] = [image_object(image.crop(ratio)) for ratio in JSON_LD_CROPS] \
            if image.variants else [image_object(image)]
    if article.tags:
        data["keywords"] = [tag.name for tag in article.tags]
        data["articleSection"] = article.tags[0].name
    if article.expires is not None:
        data["expires"] = _iso(article.expires)
    return data
