"""Cleaning article HTML when raw HTML is allowed (`[markdown] html = true`).

Raw HTML lets authors lay out a pull quote or embed a video; it must not let them (or text
pasted from elsewhere) run script in readers' browsers. So a body rendered with raw HTML on
goes through nh3 (the ammonia sanitizer) with an allow-list: elements and attributes not
listed are dropped, which removes every event handler, `<script>`, `<style>`, forms and
objects, and URLs are kept only with web, mail and phone schemes however they are spelled
(entities, case, control characters). Inline styles go too: the site's Content-Security-Policy
would block them anyway. With raw HTML off markdown-it escapes it, and this
module is not needed.
"""

from __future__ import annotations

import re

import nh3

# HTML5 elements an article body may hold: nh3's defaults minus the obsolete ones (which
# the Nu checker rejects), plus what markdown-it writes (footnotes' <section>) and embeds.
TAGS = (nh3.ALLOWED_TAGS - {"acronym", "center", "strike", "tt"}) | {"section", "iframe", "video",
                                                                     "source"}

URL_SCHEMES = {"http", "https", "mailto", "tel"}

ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "id", "title", "lang", "dir", "aria-hidden", "aria-label"},
    # The click-to-play player of sitegen's video embeds (its script loads only known hosts).
    "div": {"data-embed-src", "data-embed-title", "data-pagefind-ignore"},
    "video": {"controls", "preload"},
    "source": {"src", "type"},
    "a": {"href", "hreflang", "rel"},
    "img": {"src", "alt", "width", "height", "loading", "decoding"},
    "iframe": {"src", "width", "height", "allow", "allowfullscreen", "loading",
               "referrerpolicy"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "data": {"value"},
    "details": {"open"},
}

# Attributes a browser treats as URLs. nh3 checks the schemes of href and src, but not of
# `cite` (<blockquote cite="javascript:...">), so every one is checked here as well.
_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def _scheme(url: str) -> str:
    """The scheme a browser reads: C0 controls and spaces trimmed, tabs and newlines dropped
    anywhere (WHATWG URL parsing); "" for a relative URL."""
    cleaned = re.sub(r"[\t\n\r]", "", url.strip("".join(chr(c) for c in range(0x21))))
    match = _SCHEME.match(cleaned)
    return match.group(1).lower() if match else ""


def _safe_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Drop a URL attribute with a scheme outside URL_SCHEMES, and a frame not over https."""
    if attribute in _URL_ATTRIBUTES and _scheme(value) not in ("", *URL_SCHEMES):
        return None
    if tag == "iframe" and attribute == "src" and not value.strip().lower().startswith("https://"):
        return None
    return value


_CLEANER = nh3.Cleaner(tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                       attribute_filter=_safe_attribute, link_rel=None, strip_comments=True)


# Control characters HTML and XML forbid: the sanitizer decodes character references, so an
# author's "&#x10;" would come out as a raw U+0010. They become spaces, as in front matter.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def sanitize_html(html: str) -> str:
    """`html` with everything that could run script removed; safe markup is kept."""
    return _CONTROL.sub(" ", _CLEANER.clean(html))
