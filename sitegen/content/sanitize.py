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

from sitegen.text import clean

# HTML5 elements an article body may hold: nh3's defaults minus the obsolete ones (which
# the Nu checker rejects), plus what markdown-it writes (footnotes' <section>) and embeds.
TAGS = (nh3.ALLOWED_TAGS - {"acronym", "center", "strike", "tt"}) | {"section", "iframe", "video",
                                                                     "source", "picture"}

URL_SCHEMES = {"http", "https", "mailto", "tel"}

ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "id", "title", "lang", "dir", "aria-hidden", "aria-label"},
    # The click-to-play player of sitegen's video embeds (its script loads only known hosts).
    "div": {"data-embed-src", "data-embed-title", "data-pagefind-ignore"},
    "video": {"controls", "preload"},
    "source": {"src", "type", "srcset", "sizes"},
    "a": {"href", "hreflang", "rel"},
    "img": {"src", "alt", "width", "height", "loading", "decoding", "srcset", "sizes"},
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
    if attribute == "srcset" and any(  # each candidate is "URL [descriptor]"
            _scheme(part.split()[0] if part.split() else "") not in ("", *URL_SCHEMES)
            for part in value.split(",")):
        return None
    if tag == "iframe" and attribute == "src" and not value.strip().lower().startswith("https://"):
        return None
    return value


_CLEANER = nh3.Cleaner(tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                       attribute_filter=_safe_attribute, link_rel=None, strip_comments=True)


def sanitize_html(html: str) -> str:
    """`html` with everything that could run script removed; safe markup is kept. The
    sanitizer writes the characters that character references stand for, so an author's
    `&#x10;` or `&#xFFFE;` would come out raw: what HTML and XML cannot carry is cleaned as
    in front matter (`text.clean`: controls become spaces)."""
    return clean(_CLEANER.clean(html))


# --- how deep authors' raw HTML nests -----------------------------------------------------------

MAX_HTML_DEPTH = 100  # hand-written article HTML nests a dozen levels; far more is unclosed tags

_VOID = frozenset({"area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr",
                   "img", "input", "keygen", "link", "meta", "param", "source", "track", "wbr"})
_FORMATTING = frozenset({"a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small",
                         "strike", "strong", "tt", "u"})
_SCOPE = frozenset({"applet", "caption", "html", "table", "td", "th", "marquee", "object",
                    "template"})
_MARKERS = frozenset({"applet", "caption", "marquee", "object", "template", "td", "th"})
_RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "iframe", "noembed",
                       "noframes", "noscript", "plaintext"})
# Start tags that end an open element of the names given, unless one of the stop names is
# nearer: <p>, <li>, <td>, <tr>... are often left unclosed, and the parser closes them.
_IMPLIED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "p": (frozenset({"p"}), _SCOPE | {"button"}),
    "li": (frozenset({"li"}), _SCOPE | {"ul", "ol", "menu"}),
    "dt": (frozenset({"dt", "dd"}), _SCOPE | {"dl"}),
    "dd": (frozenset({"dt", "dd"}), _SCOPE | {"dl"}),
    "option": (frozenset({"option"}), _SCOPE | {"select", "datalist", "optgroup"}),
    "optgroup": (frozenset({"optgroup", "option"}), _SCOPE | {"select"}),
    "td": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "th": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "tr": (frozenset({"tr"}), frozenset({"table", "tbody", "thead", "tfoot"})),
    **{name: (frozenset({"tbody", "thead", "tfoot"}), frozenset({"table"}))
       for name in ("tbody", "thead", "tfoot")},
}
_TAG = re.compile(r"<(?:!--|(/?)([A-Za-z][^\s/>\x00]*))")  # a comment, or a tag and its name
_TABLE_PARTS = frozenset({"caption", "colgroup", "tbody", "thead", "tfoot", "tr", "td", "th"})
_TABLE_SCOPE = frozenset({"table", "html", "template"})


class HtmlNesting:
    """How deep raw HTML nests, counted over its fragments in document order, so a body that
    nests too deeply is refused before the sanitizer parses it (html5ever's work per tag grows
    with the depth, and unclosed formatting tags are re-opened in every later block: a file of
    unclosed tags took minutes). The count follows the HTML parser where that matters and
    otherwise errs high: void and implied-end tags (<p>, <li>, <td>...) do not add up; an end
    tag closes its element only when no table or cell lies between; a formatting element
    (<b>, <a>...) closed by another's end tag still counts until its own end tag, as the
    parser re-opens it. Each tag costs at most MAX_HTML_DEPTH steps: linear in the text."""

    def __init__(self, limit: int = MAX_HTML_DEPTH) -> None:
        self.limit = limit
        self.stack: list[str] = []
        self.pending: list[dict[str, int]] = [{}]  # formatting to re-open, per marker level
        self.pending_total = 0
        self.foreign = 0  # open <svg> and <math>, where "/>" closes an element
        self.tables = 0  # open <table>s, outside which cells and rows are ignored
        self.skip_to = ""  # the end of a comment or raw text element the last fragment left open

    @property
    def depth(self) -> int:
        return len(self.stack) + self.pending_total

    def feed(self, html: str) -> int | None:
        """Scan one fragment; the offset in it of the tag that went past the limit, or None."""
        pos = self._skip(html, 0, self.skip_to) if self.skip_to else 0
        search = _TAG.search
        while (match := search(html, pos)) is not None:
            if match.group(2) is None:
                pos = self._skip(html, match.end(), "-->")
                continue
            end = html.find(">", match.end())
            if end == -1:
                return None  # an unfinished tag: the parser drops it
            pos = end + 1
            name = match.group(2).lower()
            if name in _TABLE_PARTS and not self.tables:
                continue  # outside a table the parser ignores them
            if match.group(1):
                self._end(name)
            elif name not in _VOID and not (self.foreign and html[end - 1] == "/"):
                self._start(name)
                if self.depth > self.limit:
                    return match.start()
                if name in _RAW_TEXT:
                    pos = self._skip(html, pos, f"</{name}")
        return None

    def _skip(self, html: str, pos: int, until: str) -> int:
        if until == "-->":
            found = html.find(until, pos)
        else:
            match = re.compile(re.escape(until), re.IGNORECASE).search(html, pos)
            found = match.start() if match else -1
        if found == -1:
            self.skip_to = until
            return len(html)
        self.skip_to = ""
        return found + len(until) if until == "-->" else found

    def _start(self, name: str) -> None:
        rule = _IMPLIED.get(name)
        if rule is not None:
            closes, stops = rule
            for index in range(len(self.stack) - 1, -1, -1):
                if self.stack[index] in stops:
                    break
                if self.stack[index] in closes:
                    self._pop_to(index)
                    break
        self.stack.append(name)
        if name in _MARKERS:
            self.pending.append({})
        if name in ("svg", "math"):
            self.foreign += 1
        elif name == "table":
            self.tables += 1

    def _end(self, name: str) -> None:
        # A table's end tags close its open cells and rows; others stop at a table or cell.
        stops = _TABLE_SCOPE if name in _TABLE_PARTS or name == "table" else _SCOPE
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index] == name:
                self._pop_to(index, closed=name)
                return
            if self.stack[index] in stops:
                break
        if self.pending[-1].get(name):
            self.pending[-1][name] -= 1
            self.pending_total -= 1

    def _pop_to(self, index: int, closed: str = "") -> None:
        """Close the elements from the top of the stack down to `index`; `closed`: the name
        of the element its own end tag closes (the others were left open by the author)."""
        while len(self.stack) > index:
            name = self.stack.pop()
            if name in _MARKERS and len(self.pending) > 1:
                self.pending_total -= sum(self.pending.pop().values())
            if name in ("svg", "math"):
                self.foreign -= 1
            elif name == "table":
                self.tables -= 1
            if name in _FORMATTING and not (len(self.stack) == index and name == closed):
                self.pending[-1][name] = self.pending[-1].get(name, 0) + 1
                self.pending_total += 1
