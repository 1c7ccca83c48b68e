"""Markdown to HTML with markdown-it-py: CommonMark plus the extensions a newsroom uses.

One `MarkdownRenderer` per build (it holds a configured markdown-it instance). Each article is
parsed once and its tokens rendered twice: as written for the page, and with every URL made
absolute for feeds, where relative links would point nowhere. With raw HTML allowed the
result passes through `sanitize.sanitize_html`, so no author's markup can run script.
"""

from __future__ import annotations

import posixpath
import re
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from typing import Any, NamedTuple
from urllib.parse import unquote, urljoin, urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import Markup, escape
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin

from sitegen.config import MarkdownConfig
from sitegen.content.embeds import MarkupError, embeds_plugin
from sitegen.content.sanitize import MAX_HTML_DEPTH, HtmlNesting, sanitize_html
from sitegen.folders import CONTENT_DIR
from sitegen.slugs import slugify

# CPU seconds one article's Markdown may take. A real article renders in a few milliseconds;
# markdown-it-py's work is linear but costs up to some 15 microseconds a character of dense
# markup (a million '[' take 15 s), so a crafted file could hold a build for a minute without
# this. See benchmarks/bench_shapes.py.
RENDER_BUDGET = 5.0

MORE = re.compile(r"^[ \t]*<!--\s*more\s*-->[ \t]*$", re.MULTILINE)
# Ids the default theme gives its own elements (archive years are y2016 and so on), and
# footnotes' ids (fn1, fnref1).
RESERVED_IDS = frozenset({"main", "content", "top", "header", "footer", "nav", "search",
                          "related-heading"})
_RESERVED_ID = re.compile(r"y\d+|fn\d+|fnref\d+(?::\d+)?")
SAFE_SCHEMES = ("http", "https", "mailto", "tel", "")


class RenderedBody:
    """HTML of one article body, its summary, words and headings. Plain values only, so it
    can be cached on disk and sent between processes."""

    __slots__ = ("html", "summary_html", "words", "headings", "page_url", "images", "embeds",
                 "feed_body", "pictures", "image_stamps")

    def __init__(self, html: str, summary_html: str, words: int,
                 headings: tuple[tuple[int, str, str], ...], page_url: str,
                 images: tuple[str, ...] = (), embeds: int = 0, feed_body: str | None = None,
                 pictures: tuple[str, ...] = ()) -> None:
        self.html = Markup(html)
        self.summary_html = Markup(summary_html)
        self.words = words
        self.headings = headings
        self.page_url = page_url
        self.images = images  # absolute URLs of the body's images, in order
        self.embeds = embeds  # video embeds in the body
        self.feed_body = Markup(feed_body) if feed_body is not None else None  # when it differs
        self.pictures = pictures  # the local images shown as variants, as written
        # (URL, stamp of its file) of each site image the render looked up, set by the stage
        # that caches bodies: a body is rendered again only when one of those files changed.
        self.image_stamps: tuple[tuple[str, str], ...] = ()

    @property
    def feed_html(self) -> Markup:
        """The body as feeds carry it (embeds as links), with every URL absolute."""
        return absolute_urls(self.feed_body or self.html, self.page_url)


_URL_ATTRIBUTE = re.compile(r'\b(href|src)="([^"]*)"')


def absolute_urls(html: str, page_url: str) -> Markup:
    """Make every href and src in HTML that sitegen rendered absolute against `page_url`.

    Relative links in a feed would resolve against the reader's page; in-page anchors
    ("#fn1") must name the article. markdown-it writes every attribute double-quoted and
    escaped, so a pattern over them is exact; raw HTML (when allowed) is taken as written.
    """
    def fix(match: re.Match[str]) -> str:
        url = urljoin(page_url, unescape(match.group(2)))
        return f'{match.group(1)}="{escape(url)}"'

    return Markup(_URL_ATTRIBUTE.sub(fix, html))


def as_markup(html: str) -> Markup:
    """`html` as Markup, without a copy when it is one already (`Markup(markup)` copies the
    string, and every article's body would then be held twice)."""
    return html if type(html) is Markup else Markup(html)


def plain_text(html: str) -> str:
    """What markupsafe's `Markup(html).striptags()` gives (comments and tags removed, spaces
    collapsed, entities decoded), in one pass: markupsafe rebuilds the string for each
    comment and tag it removes, so a summary of many links took seconds."""
    value = _strip_comments(html) if "<!--" in html else html
    kept, pos = [], 0
    while (start := value.find("<", pos)) != -1:
        end = value.find(">", start)
        if end == -1:
            break
        kept.append(value[pos:start])
        pos = end + 1
    kept.append(value[pos:])
    return Markup(" ".join("".join(kept).split())).unescape()


def _strip_comments(value: str) -> str:
    """Remove each first "<!--" and the first "-->" from there on, as markupsafe does, until
    one of them is missing. Removing a comment can join a new "<!--" across the cut (as in
    "<!<!---->--"), so each round looks at the last three characters kept as well. `kept`
    holds (string, start, end) slices, so taking characters back costs nothing."""
    kept: list[list[Any]] = []
    pos = 0
    while True:
        tail = _last_chars(kept, 3)
        window = tail + value[pos:pos + 3]
        opener = window.find("<!--")
        if 0 <= opener < len(tail):  # it starts in the kept text
            cut = len(tail) - opener
            closer = window[opener:].find("-->")
            if 0 <= closer < cut:
                resume = pos + closer + 3 - cut
            elif (closer := value.find("-->", pos)) != -1:
                resume = closer + 3
            else:
                break
            _drop_chars(kept, cut)
            pos = resume
            continue
        start = value.find("<!--", pos)
        end = value.find("-->", start) if start != -1 else -1
        if end == -1:
            break
        if start > pos:
            kept.append([value, pos, start])
        pos = end + 3
    return "".join(text[a:b] for text, a, b in kept) + value[pos:]


def _last_chars(kept: list[list[Any]], count: int) -> str:
    out = ""
    for text, start, end in reversed(kept):
        out = text[max(start, end - (count - len(out))):end] + out
        if len(out) >= count:
            break
    return out


def _drop_chars(kept: list[list[Any]], count: int) -> None:
    while count:
        piece = kept[-1]
        taken = min(count, piece[2] - piece[1])
        piece[2] -= taken
        count -= taken
        if piece[2] == piece[1]:
            kept.pop()


_SOURCE_LINK = re.compile(r'\bhref="([^"#?]*\.md)((?:[#?][^"]*)?)"')


def link_source_files(html: str, source_rel: str, url_of: Mapping[str, str],
                      base_path: str = "") -> Markup:
    """Turn links an author wrote to another article's file ("../reviews/foo.md#cast") into
    that article's URL. `url_of` maps source paths ("content/reviews/foo.md") to URLs; a link
    to a file that is not a published article is left as written (`sitegen check` reports it)."""
    if ".md" not in html:
        return as_markup(html)

    def fix(match: re.Match[str]) -> str:
        target = source_link_target(unescape(match.group(1)), source_rel, base_path)
        url = url_of.get(target) if target else None
        if url is None:
            return match.group(0)
        return f'href="{escape(url + unescape(match.group(2)))}"'

    return Markup(_SOURCE_LINK.sub(fix, html))


def source_link_target(href: str, source_rel: str, base_path: str = "") -> str | None:
    """The source file (relative to the site, like "content/reviews/foo.md") a link to a
    Markdown file means: relative to the linking article's folder, or with a leading "/"
    relative to content/. None when the link is not to a local .md file."""
    try:
        parts = urlsplit(href)
    except ValueError:
        return None
    path = unquote(parts.path)
    if parts.scheme or parts.netloc or not path.endswith(".md"):
        return None
    if path.startswith("/"):
        if base_path and path.startswith(base_path + "/"):
            path = path[len(base_path):]
        joined = CONTENT_DIR + path
    else:
        joined = posixpath.join(posixpath.dirname(source_rel), path)
    normal = posixpath.normpath(joined)
    return normal if normal.startswith(CONTENT_DIR + "/") else None


@dataclass(frozen=True)
class Reference:
    """A link or image in an article body, for checking: where it is and what it names."""

    kind: str  # "link" or "image"
    url: str  # as written
    line: int  # 0-based line in the body
    text: str  # the link text, or the image's alt text


def is_safe_url(url: str) -> bool:
    """Allow web, mail and phone links and relative URLs; refuse javascript:, data: and the like."""
    cleaned = "".join(ch for ch in url if ch > " ").lower()
    try:
        scheme = urlsplit(cleaned).scheme
    except ValueError:
        return False
    return scheme in SAFE_SCHEMES


class PictureMarkup(NamedTuple):
    """A body image's variants as the page links them (`LocalImages.body_picture` knows)."""

    sources: tuple[tuple[str, str], ...]  # (MIME type, srcset) of each modern format
    src: str  # the fallback, in the original's format
    srcset: str  # the fallback's widths
    width: int
    height: int


PictureOf = Callable[[str], PictureMarkup | None]  # raises ImageError for an unusable file


class Poster(NamedTuple):
    """A video's poster made of variants: the URL a <video poster> takes, and the <picture>
    a player shows behind its play button (content/embeds.py asks env["poster"])."""

    src: str
    markup: str
BODY_SIZES = "(min-width: 46rem) 42rem, calc(100vw - 2rem)"  # the theme's measure, as _picture.html


class ImageError(ValueError):
    """A body image that cannot be used; the caller finds its line (`references`)."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"image {url} {message}")
        self.url = url


# What markdown-it's typographer can change: quotes, and the (c), +-, ..., ?..., -- and ---
# replacements. Text without any of them is returned as it is, without a parse.
_TYPOGRAPHIC = re.compile(r"""['"]|--|\.\.|\+-|\?\?\?|!!!!|,,|\((?:c|tm|r|p)\)""", re.IGNORECASE)
_smartener: MarkdownIt | None = None


def smarten(text: str) -> str:
    """Plain text (a title, a summary, alt text) with the typographer's curly quotes and dashes,
    as an article's body gets them: the same markdown-it rules, and nothing else of Markdown
    (no emphasis, links or escapes), so the text stays plain text."""
    global _smartener
    if not _TYPOGRAPHIC.search(text):
        return text
    if _smartener is None:
        _smartener = MarkdownIt("zero", {"typographer": True}).enable(["replacements",
                                                                       "smartquotes"])
    out = []
    for block in _smartener.parse(text):
        if block.type == "inline":
            out.append("".join("\n" if t.type == "softbreak" else t.content
                               for t in block.children or ()))
    return "\n\n".join(out) if out else text


class MarkdownRenderer:
    """`base_path` (the path of base_url, like "/news") is put in front of site-relative
    links an author writes ("/2016/01/foo/"), so they work wherever the site is deployed;
    links that already start with it are left alone."""

    def __init__(self, options: MarkdownConfig, base_path: str = "",
                 image_size: Callable[[str], tuple[int, int] | None] | None = None,
                 picture: PictureOf | None = None) -> None:
        """`image_size` gives the width and height of a local image by its URL, if known;
        `picture` its variants, if it is one the site makes variants of."""
        self._base_path = base_path
        self._image_size = image_size
        self._picture = picture
        self._raw_html = options.html  # authors' own HTML passes, so it must be sanitized
        md = MarkdownIt("commonmark", {"html": options.html, "typographer": options.typographer,
                                       "linkify": options.linkify, "xhtmlOut": False})
        md.enable(["table", "strikethrough"])
        if options.typographer:
            md.enable(["replacements", "smartquotes"])
        if options.linkify:
            md.enable("linkify")
            md.linkify = _QuickLinkify(md.linkify)
        md.use(footnote_plugin)
        md.use(embeds_plugin)
        if options.anchors:
            ids = _HeadingIds()
            md.use(anchors_plugin, min_level=2, max_level=4, slug_func=ids)
            md.core.ruler.before("anchor", "sitegen_heading_ids", ids.reset)
        if options.highlight:
            md.options["highlight"] = _highlight
        md.core.ruler.push("alignment_classes", _alignment_classes)
        md.validateLink = is_safe_url  # type: ignore[method-assign]
        for rule, attr in (("link_open", "href"), ("image", "src")):
            md.add_render_rule(rule, _url_rule(md.renderer, rule, attr, self._image_size,
                                               picture))
        self._md = md

    def render(self, body: str, page_url: str) -> RenderedBody:
        """Render one article body; `page_url` (the article's absolute URL) is kept so feeds
        can resolve its relative links. Raises embeds.MarkupError for a broken embed or
        figure, or a body that takes more than RENDER_BUDGET seconds of CPU."""
        with _cpu_budget(RENDER_BUDGET):
            return self._render(body, page_url)

    def _render(self, body: str, page_url: str) -> RenderedBody:
        env: dict[str, Any] = {"base_path": self._base_path}
        tokens = self._md.parse(body, env)
        if self._raw_html:
            _check_nesting(tokens)
        more = _more_marker(body, tokens)
        if more:
            body = body[:more.start()] + body[more.end():]
            env = {"base_path": self._base_path}
            tokens = self._md.parse(body, env)
        env["images"], env["pictures"], env["poster"] = {}, {}, self._poster
        html = self._md.renderer.render(tokens, self._md.options, env)
        images = tuple(urljoin(page_url, src) for src in env["images"])
        pictures = tuple(env["pictures"])
        embeds = int(env.get("embeds", 0))
        # Feeds get embeds as links and pictures as one plain <img> (readers skip srcset).
        feed_body = self._md.renderer.render(tokens, self._md.options, {
            **env, "feed": True, "images": {}, "pictures": {}}) if embeds or pictures else None
        if more:
            summary = self._blocks_before(tokens, env, body.count("\n", 0, more.start()))
        else:
            summary = self._first_paragraph(tokens, env)
        words = sum(len(t.content.split()) for t in tokens if t.type == "inline")
        if self._raw_html:
            html, summary = sanitize_html(html), sanitize_html(summary)
            feed_body = sanitize_html(feed_body) if feed_body is not None else None
        return RenderedBody(html, summary, words, _headings(tokens), page_url, images, embeds,
                            feed_body, pictures)

    def _poster(self, url: str, env: EnvType) -> Poster | None:
        """A video's poster (`url` as written) as its variants, as a body image's are: None
        when the site does not process it (SVG, another site's, no [images]). Raises
        ImageError for a missing or unusable file, as a body image does."""
        found = self._picture(url) if self._picture is not None else None
        if found is None:
            return None
        env["images"][found.src] = None
        env["pictures"][url] = None
        return Poster(found.src, (
            f'<picture class="picture picture--poster">{_sources(found)}<img class="embed-poster" '
            f'src="{escape(found.src)}" srcset="{escape(found.srcset)}" sizes="{BODY_SIZES}" '
            f'width="{found.width}" height="{found.height}" alt="" loading="lazy" '
            'decoding="async"></picture>'))

    def references(self, body: str) -> list[Reference]:
        """Every link and image an author wrote in `body` (not bare URLs linkify found)."""
        found = []
        for block in self._md.parse(body, {"base_path": ""}):
            if block.type != "inline" or not block.map or not block.children:
                continue
            line = block.map[0]
            children = block.children
            for i, token in enumerate(children):
                if token.type in ("softbreak", "hardbreak"):
                    line += 1
                elif token.type == "link_open" and token.markup != "linkify":
                    text = []
                    for child in children[i + 1:]:
                        if child.type == "link_close":
                            break
                        text.append(child.content)
                    found.append(Reference("link", str(token.attrGet("href") or ""), line,
                                           "".join(text)))
                elif token.type == "image":
                    found.append(Reference("image", str(token.attrGet("src") or ""), line,
                                           token.content))
        return found

    def render_inline(self, text: str) -> Markup:
        html = self._md.renderInline(text)
        return Markup(sanitize_html(html) if self._raw_html else html)

    def _first_paragraph(self, tokens: Sequence[Token], env: EnvType) -> str:
        start = next((i for i, t in enumerate(tokens)
                      if t.type == "paragraph_open" and t.level == 0), None)
        if start is None:
            return ""
        end = next(i for i in range(start, len(tokens)) if tokens[i].type == "paragraph_close")
        return self._render_excerpt(tokens[start:end + 1], env)

    def _blocks_before(self, tokens: Sequence[Token], env: EnvType, line: int) -> str:
        """The top-level blocks that start above source line `line` (where <!--more--> stood)."""
        end = next((i for i, t in enumerate(tokens)
                    if t.level == 0 and t.map and t.map[0] >= line), len(tokens))
        return self._render_excerpt(tokens[:end], env)

    def _render_excerpt(self, tokens: Sequence[Token], env: EnvType) -> str:
        # Footnote references would point at notes an excerpt does not carry.
        return self._md.renderer.render(_without_footnote_refs(tokens), self._md.options, env)


# Every link linkify-it can find has a scheme's "//", an "@", or a host name's "x.yz".
_LINK_HINT = re.compile(r"//|@|\w\.\w\w")


class _QuickLinkify:
    """linkify-it behind a quick test that rules out most paragraphs of news prose before its
    costly pretest runs (half the Markdown time, otherwise); what it links is unchanged."""

    def __init__(self, linkify: Any) -> None:
        self._linkify = linkify

    def pretest(self, text: str) -> bool:
        return bool(_LINK_HINT.search(text)) and self._linkify.pretest(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._linkify, name)


def _more_marker(body: str, tokens: Sequence[Token]) -> re.Match[str] | None:
    """The first <!--more--> line that is not inside a code block. Lines are counted on from
    the last marker and code blocks (which never overlap) walked in order, so a body of
    markers in code blocks is one pass, not markers x code blocks."""
    code = sorted((t.map[0], t.map[1]) for t in tokens if t.type in ("fence", "code_block")
                  and t.map)
    line, counted, block = 0, 0, 0
    for match in MORE.finditer(body):
        line += body.count("\n", counted, match.start())
        counted = match.start()
        while block < len(code) and code[block][1] <= line:
            block += 1
        if not (block < len(code) and code[block][0] <= line):
            return match
    return None


def _check_nesting(tokens: Sequence[Token]) -> None:
    """Refuse raw HTML nested deeper than MAX_HTML_DEPTH (see sanitize.HtmlNesting), naming
    the line where it went past: the sanitizer's work grows with the depth."""
    nesting = HtmlNesting()
    for token in tokens:
        if token.type == "html_block" and token.map:
            fragments = [(token.content, token.map[0])]
        elif token.type == "inline" and token.map and token.children and "<" in token.content:
            fragments, line = [], token.map[0]
            for child in token.children:
                if child.type in ("softbreak", "hardbreak"):
                    line += 1
                elif child.type == "html_inline":
                    fragments.append((child.content, line))
        else:
            continue
        for html, line in fragments:
            at = nesting.feed(html)
            if at is not None:
                raise MarkupError(f"raw HTML nests more than {MAX_HTML_DEPTH} elements deep here; "
                                  "close the tags you opened (an unclosed <div> or <b> holds "
                                  "everything after it)", line + html.count("\n", 0, at))


def _without_footnote_refs(tokens: Sequence[Token]) -> list[Token]:
    out = []
    for token in tokens:
        if token.children:
            token = token.copy(children=[c for c in token.children if c.type != "footnote_ref"])
        out.append(token)
    return out


def _alignment_classes(state: Any) -> None:
    """Table column alignment as a class (align-left, align-center, align-right), not an inline
    style: a Content-Security-Policy without 'unsafe-inline' (netlify.toml's) drops inline
    styles, and the numbers in a ratings table would lose their alignment."""
    for token in state.tokens:
        if token.type == "inline" or token.type not in ("th_open", "td_open"):
            continue
        style = str(token.attrGet("style") or "")
        if style.startswith("text-align:"):
            del token.attrs["style"]
            token.attrSet("class", f"align-{style.removeprefix('text-align:')}")


def _url_rule(renderer: RendererHTML, name: str, attr: str,
              image_size: Callable[[str], tuple[int, int] | None] | None = None,
              picture: PictureOf | None = None) -> Callable[..., str]:
    """Wrap a render rule so that site-relative URLs get the base path; images load lazily,
    get their width and height where the file is the site's own, and are noted in
    env["images"]; an image the site makes variants of (`picture`) becomes a <picture>."""
    default = renderer.rules.get(name)

    def rule(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
             env: EnvType) -> str:
        token = tokens[idx]
        original = token.attrGet(attr)
        if name == "image":
            if not str(original or "").strip():  # ![alt]() : an <img src=""> is invalid HTML
                return str(escape(token.content))
            found = picture(original) if picture and isinstance(original, str) else None
            if found is not None:
                return _picture(self, default, tokens, idx, options, env, str(original), found)
            token.attrSet("loading", "lazy")
            token.attrSet("decoding", "async")
            size = image_size(original) if image_size and isinstance(original, str) else None
            if size:
                token.attrSet("width", str(size[0]))
                token.attrSet("height", str(size[1]))
        if isinstance(original, str):
            url = original
            base_path = env.get("base_path")
            if base_path and url.startswith("/") and not url.startswith(("//", base_path + "/")):
                url = base_path + url
            token.attrSet(attr, url)
            if name == "image" and isinstance(env.get("images"), dict):
                env["images"][url] = None
        try:
            if default is not None:
                return default(tokens, idx, options, env)
            return self.renderToken(tokens, idx, options, env)
        finally:
            if isinstance(original, str):
                token.attrSet(attr, original)

    return rule


def _picture(renderer: RendererHTML, default: Callable[..., str] | None, tokens: Sequence[Token],
             idx: int, options: OptionsDict, env: EnvType, original: str,
             found: PictureMarkup) -> str:
    """A body image as a <picture> of its variants (a plain <img> of the fallback in feeds);
    the variant's URL is noted in env["images"] (the sitemap lists it, the original is not
    published), the URL as written in env["pictures"] (the pictures stage makes them)."""
    token = tokens[idx]
    attrs = dict(token.attrs)
    token.attrs.clear()
    token.attrSet("src", found.src)
    feed = bool(env.get("feed"))
    if not feed:
        token.attrSet("srcset", found.srcset)
        token.attrSet("sizes", BODY_SIZES)
    for key, value in attrs.items():
        if key == "title":
            token.attrSet(key, value)
    token.attrSet("width", str(found.width))
    token.attrSet("height", str(found.height))
    token.attrSet("loading", "lazy")
    token.attrSet("decoding", "async")
    if isinstance(env.get("images"), dict):
        env["images"][found.src] = None
    if isinstance(env.get("pictures"), dict):
        env["pictures"][original] = None
    try:
        img = default(tokens, idx, options, env) if default is not None else \
            renderer.renderToken(tokens, idx, options, env)
    finally:
        token.attrs.clear()
        token.attrs.update(attrs)
    if feed:
        return img
    return f'<picture class="picture picture--body">{_sources(found)}{img}</picture>'


def _sources(found: PictureMarkup) -> str:
    """A body picture's <source>s, one per modern format, sized to the body's measure."""
    return "".join(f'<source type="{escape(mime)}" srcset="{escape(srcset)}" '
                   f'sizes="{BODY_SIZES}">' for mime, srcset in found.sources)


class _HeadingIds:
    """The anchors plugin's `slug_func`, giving each heading of a document a unique id in one
    step. The plugin's own de-duplication tries slug, slug-1, slug-2, ... from 1 for every
    heading, so n headings with the same text took n * n steps. This returns the id that
    search would end on (the plugin then finds it free and keeps it, so ids are unchanged):
    ids are only ever added, so each slug's search resumes where its last one stopped.
    `reset` runs as a core rule before the plugin's, once per document."""

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self.resume: dict[str, int] = {}

    def reset(self, state: object = None) -> None:
        self.taken.clear()
        self.resume.clear()

    def __call__(self, text: str) -> str:
        slug = unique = _anchor_slug(text)
        if unique in self.taken:
            number = self.resume.get(slug, 1)
            unique = f"{slug}-{number}"
            while unique in self.taken:
                number += 1
                unique = f"{slug}-{number}"
            self.resume[slug] = number + 1
        self.taken.add(unique)
        return unique


def _anchor_slug(text: str) -> str:
    """Heading ids; never one the theme uses for its own landmarks."""
    slug = slugify(text) or "section"
    reserved = slug in RESERVED_IDS or _RESERVED_ID.fullmatch(slug)
    return f"{slug}-section" if reserved else slug


def _headings(tokens: Sequence[Token]) -> tuple[tuple[int, str, str], ...]:
    out = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.attrGet("id"):
            out.append((int(token.tag[1]), str(token.attrGet("id")), tokens[i + 1].content))
    return tuple(out)


def _lexer(name: str) -> Any:
    # Pygments is imported here, not above: loading it scans the installed packages for
    # plugins, a tenth of a quick build's time, and few articles hold code.
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(name)
    except ClassNotFound:
        return None


_formatter: Any = None


def _pygments_html(code: str, lexer: Any) -> str:
    global _formatter
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    if _formatter is None:
        _formatter = HtmlFormatter(nowrap=True)
    return str(highlight(code, lexer, _formatter))


def _highlight(code: str, lang: str, attrs: str) -> str:
    """Pygments for fenced code with a known language; plain escaped code otherwise."""
    name = lang.split()[0] if lang.strip() else ""
    lexer = _lexer(name) if name else None
    inner = str(escape(code)) if lexer is None else _pygments_html(code, lexer)
    cls = f' class="language-{escape(slugify(name))}"' if name and slugify(name) else ""
    return f'<pre class="highlight"><code{cls}>{inner}</code></pre>'


@contextmanager
def _cpu_budget(seconds: float) -> Iterator[None]:
    """Raise MarkupError when the block takes more than `seconds` of CPU time. It uses a
    signal timer, so it applies on a process's main thread (builds, check, their worker
    processes); the preview's rebuild threads render without one."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise MarkupError(f"rendering this article took more than {seconds:g} s of CPU time "
                          "(one takes a few milliseconds): look for a very long run of markup, "
                          "such as thousands of '[' or links in one paragraph, and simplify or "
                          "split it", 0)

    previous = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
