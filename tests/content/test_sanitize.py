"""Untrusted Markdown stays safe: raw HTML off means none of it reaches the page; with
`[markdown] html = true` the nh3 sanitizer still removes event handlers, script and
script URLs, however they are spelled, while an author's harmless markup survives.

Known attack shapes (written here, in the spirit of the OWASP filter-evasion list) and
hypothesis-generated HTML both go through the real renderer; pages are read with lxml, and
a real Chromium opens a built site to show that no script runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest
from conftest import article, build_site, write_site
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.config import MarkdownConfig
from sitegen.content.markdown import MarkdownRenderer
from sitegen.content.sanitize import sanitize_html

PAGE = "https://example.com/2016/03/fixture/"
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "data", "background",
                  "xlink:href", "srcset", "srcdoc", "cite", "longdesc", "codebase", "dynsrc",
                  "lowsrc", "ping", "manifest", "icon", "usemap"}
DANGEROUS_SCHEMES = {"javascript", "vbscript", "data", "file", "livescript", "mocha"}
ACTIVE_ELEMENTS = {"script", "style", "object", "embed", "applet", "form", "input", "button",
                   "textarea", "select", "base", "meta", "link", "svg", "math", "frameset",
                   "frame", "template", "noscript", "xmp", "plaintext", "isindex", "portal"}
# What markdown-it writes by itself (CommonMark, tables, strikethrough, footnotes, anchors,
# Pygments): with raw HTML off, nothing outside this set may appear.
MARKDOWN_ELEMENTS = {"p", "a", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li",
                     "h1", "h2", "h3", "h4", "h5", "h6", "hr", "br", "img", "table", "thead",
                     "tbody", "tr", "th", "td", "s", "sup", "section", "span", "div"}
MARKDOWN_ATTRIBUTES = {"href", "src", "alt", "title", "class", "id", "loading"}

XSS_VECTORS = [
    "<script>alert(1)</script>",
    '<blockquote cite="javascript:alert(1)">Quoted</blockquote>',  # found by the property test
    '<q cite=" JaVa&#x09;script:alert(1)">Quoted</q>',
    "<SCRIPT SRC=//evil.invalid/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "<img src=x OnErRoR=alert(1)>",
    '<img src="javascript:alert(1)">',
    "<img src=`javascript:alert(1)`>",
    '<img src="jav&#x09;ascript:alert(1)">',
    '<img src="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">',
    '<img src="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(1)">',
    '<img """><script>alert(1)</script>">',
    '<a href="javascript:alert(1)">click</a>',
    '<a href=" &#14;  javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="java\nscript:alert(1)">click</a>',
    '<a href="vbscript:msgbox(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
    '<a href="#" onmouseover="alert(1)">hover</a>',
    "<body onload=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    '<iframe src="data:text/html,<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<button formaction="javascript:alert(1)">go</button>',
    '<input autofocus onfocus=alert(1)>',
    '<details open ontoggle=alert(1)>x</details>',
    '<video><source onerror="alert(1)"></video>',
    '<audio src=x onerror=alert(1)>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<div style="width: expression(alert(1))">x</div>',
    "<style>@import 'javascript:alert(1)';</style>",
    '<link rel="stylesheet" href="javascript:alert(1)">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    '<a href="https://example.com/" onclick="alert(1)">ok link, bad handler</a>',
    '<img src="https://example.com/a.jpg" srcset="javascript:alert(1) 1x">',
    '<p title="</p><script>alert(1)</script>">x</p>',
    "<!--<img src=x onerror=alert(1)>-->",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '<a href="javas&#99;ript:alert(1)">x</a>',
    '<a href="&#x26;#106;avascript:alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    '<x onclick=alert(1)>custom element</x>',
    '<template><script>alert(1)</script></template>',
]


def render(body: str, html: bool) -> str:
    rendered = MarkdownRenderer(MarkdownConfig(html=html)).render(body, PAGE)
    return str(rendered.html) + str(rendered.summary_html) + str(rendered.feed_html)


def scheme(url: str) -> str:
    """The scheme a browser sees in an attribute value the HTML parser already decoded: C0 and
    space stripped at the ends, tabs and newlines dropped anywhere (WHATWG URL parsing)."""
    cleaned = url.strip("".join(chr(c) for c in range(0x21)))
    cleaned = re.sub(r"[\t\n\r]", "", cleaned)
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", cleaned)
    return match.group(1).lower() if match else ""


def script_risks(html: str) -> list[str]:
    """Every way the fragment could run script, as a browser parses it."""
    risks = []
    # lxml refuses C0 controls; as spaces they keep their effect on a URL's scheme.
    html = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", " ", html)
    root = lxml.html.fragment_fromstring(html, create_parent="div") if html.strip() else None
    for element in [] if root is None else root.iter():
        if not isinstance(element.tag, str):
            continue  # comments: inert
        tag = element.tag.lower()
        if tag in ACTIVE_ELEMENTS:
            risks.append(f"<{tag}> element")
        for name, value in element.attrib.items():
            name = name.lower()
            if name.startswith("on"):
                risks.append(f"<{tag} {name}> event handler")
            if name in URL_ATTRIBUTES and scheme(value) in DANGEROUS_SCHEMES:
                risks.append(f"<{tag} {name}={value!r}> script URL")
            if name == "srcdoc":
                risks.append(f"<{tag} srcdoc>")
            if name == "style" and re.search(r"url\s*\(|expression|javascript", value, re.I):
                risks.append(f"<{tag} style={value!r}>")
        if tag == "iframe" and element.get("src") and not element.get("src").startswith("https:"):
            risks.append(f"<iframe src={element.get('src')!r}>")
    return risks


def element_names(html: str) -> set[str]:
    html = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", " ", html)
    if not html.strip():
        return set()
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    return {e.tag.lower() for e in root.iter() if isinstance(e.tag, str) and e is not root}


# --- known attacks ------------------------------------------------------------------------

@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_sanitizer_removes_every_known_script_vector(vector: str) -> None:
    html = render(f"Before.\n\n{vector}\n\nAfter, inline: {vector} end.\n", html=True)
    assert script_risks(html) == [], html
    assert "Before." in html  # the text before it is kept (an unclosed <style> eats the rest)


@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_raw_html_off_lets_no_element_of_the_vector_through(vector: str) -> None:
    html = render(f"Before.\n\n{vector}\n\nAfter, inline: {vector} end.\n", html=False)
    assert script_risks(html) == [], html
    # Only the text, with what Markdown itself made of it (links, `code`, *emphasis*).
    assert element_names(html) <= {"p", "a", "code", "em", "strong"}, html


def test_the_checker_itself_sees_an_unsanitized_attack() -> None:
    """The property tests mean something only if script_risks finds real attacks."""
    for vector in ('<img src=x onerror="alert(1)">', '<a href="jav&#x09;ascript:x()">x</a>',
                   "<script>x()</script>", '<iframe srcdoc="x"></iframe>'):
        assert script_risks(vector), vector


# --- harmless author markup survives ----------------------------------------------------------

def test_embeds_figures_and_tables_an_author_writes_are_kept() -> None:
    body = ('<figure class="pull-quote"><blockquote cite="https://example.com/i">'
            "<p>We are not done.</p></blockquote><figcaption>The showrunner</figcaption></figure>\n\n"
            '<iframe src="https://www.youtube-nocookie.com/embed/abc123" width="560" height="315" '
            'title="Trailer" allowfullscreen></iframe>\n\n'
            '<p>See <a href="/2016/03/x/" title="earlier">our review</a> and '
            '<abbr title="Television">TV</abbr>.</p>\n')
    html = str(MarkdownRenderer(MarkdownConfig(html=True)).render(body, PAGE).html)
    doc = lxml.html.fragment_fromstring(html, create_parent="div")
    figure = doc.find(".//figure")
    assert figure is not None and figure.get("class") == "pull-quote"
    assert doc.find(".//blockquote").get("cite") == "https://example.com/i"
    frame = doc.find(".//iframe")
    assert frame.get("src") == "https://www.youtube-nocookie.com/embed/abc123"
    assert frame.get("title") == "Trailer" and frame.get("allowfullscreen") is not None
    assert doc.find(".//a").get("href") == "/2016/03/x/"
    assert doc.find(".//abbr").get("title") == "Television"


def test_iframes_must_load_over_https() -> None:
    html = render('<iframe src="http://example.com/embed"></iframe>\n\n'
                  '<iframe src="/2016/03/x/"></iframe>\n', html=True)
    sources = [f.get("src") for f in lxml.html.fragment_fromstring(
        html, create_parent="div").iter("iframe")]
    assert sources and set(sources) == {None}


def test_markdown_features_render_the_same_with_the_sanitizer() -> None:
    """Sanitizing what markdown-it itself writes changes nothing a reader could see."""
    body = ("## Ratings\n\n| Show | Score |\n| :--- | ---: |\n| Luke Cage | 8 |\n\n"
            "A claim.[^1] ~~Gone~~ and `code`.\n\n```python\nx = '<b>'\n```\n\n"
            "![A still](/img/still.jpg)\n\n"
            '::: youtube https://www.youtube.com/watch?v=aqz-KE-bpKQ title="The trailer"\n'
            "A *caption*.\n:::\n\n"
            '::: video /clips/teaser.mp4 title="The teaser" credit="Clip: the network"\n:::\n\n'
            "[^1]: The source.\n")
    plain = MarkdownRenderer(MarkdownConfig(html=False)).render(body, PAGE)
    raw = MarkdownRenderer(MarkdownConfig(html=True)).render(body, PAGE)

    def shape(html: str) -> list[tuple[str, dict[str, str], str]]:
        doc = lxml.html.fragment_fromstring(html, create_parent="div")
        return [(e.tag, dict(e.attrib), e.text or "") for e in doc.iter()]

    assert shape(str(raw.html)) == shape(str(plain.html))
    assert "data-embed-src" in str(raw.html) and "<video" in str(raw.html)  # sitegen's embeds
    assert shape(str(raw.summary_html)) == shape(str(plain.summary_html))
    assert plain.feed_body and shape(str(raw.feed_body)) == shape(str(plain.feed_body))


def test_sanitize_html_is_idempotent_on_its_own_output() -> None:
    once = sanitize_html("".join(XSS_VECTORS))
    assert sanitize_html(once) == once


# --- generated HTML ---------------------------------------------------------------------------

TAG_NAMES = sorted(ACTIVE_ELEMENTS | MARKDOWN_ELEMENTS | {
    "iframe", "img", "a", "div", "body", "html", "details", "video", "audio", "source", "x",
    "figure", "marquee", "isindex", "keygen", "image", "animate", "set", "foreignObject"})
ATTRIBUTE_NAMES = sorted(URL_ATTRIBUTES | {"onclick", "onerror", "onload", "ONMOUSEOVER",
                                           "onfocus", "ontoggle", "onbegin", "style", "class",
                                           "id", "title", "autofocus", "http-equiv", "content",
                                           "is", "xmlns", "attributeName", "to", "values"})
SCRIPT_URLS = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "vbscript:msgbox(1)",
               "data:text/html,<script>alert(1)</script>", "jav&#x09;ascript:alert(1)",
               "&#106;avascript:alert(1)", " \x01javascript:alert(1)", "java\nscript:alert(1)",
               "javascript&colon;alert(1)", "https://example.com/ok", "/relative/ok",
               "expression(alert(1))", "url(javascript:alert(1))", "alert(1)"]

attribute_value = st.one_of(st.sampled_from(SCRIPT_URLS), st.text(max_size=20))
quote = st.sampled_from(['"', "'", "", "`"])


@st.composite
def html_fragments(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        tag = draw(st.sampled_from(TAG_NAMES))
        attrs = []
        for _ in range(draw(st.integers(0, 3))):
            q = draw(quote)
            value = draw(attribute_value).replace(q, "") if q else draw(
                st.sampled_from(SCRIPT_URLS)).replace(" ", "")
            attrs.append(f"{draw(st.sampled_from(ATTRIBUTE_NAMES))}={q}{value}{q}")
        inner = draw(st.sampled_from(["", "text", "<script>alert(1)</script>", "*md* text",
                                      "<img src=x onerror=alert(1)>"]))
        close = draw(st.sampled_from([f"</{tag}>", "", f"</{tag.upper()}>", "</"]))
        sep = draw(st.sampled_from([" ", "\n", "/", "\t"]))
        parts.append(f"<{tag}{sep}{' '.join(attrs)}>{inner}{close}")
        parts.append(draw(st.sampled_from(["", "\n\n", " words ", "\n", "\n\n    "])))
    return "".join(parts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html_fragments())
def test_generated_raw_html_never_keeps_a_way_to_run_script(fragment: str) -> None:
    assert script_risks(render(fragment + "\n", html=True)) == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html_fragments())
def test_generated_raw_html_never_reaches_the_page_when_html_is_off(fragment: str) -> None:
    html = render(fragment + "\n", html=False)
    assert script_risks(html) == []
    # Only what Markdown's own syntax makes of the text ("> " a quote, "*md*" emphasis).
    assert element_names(html) <= MARKDOWN_ELEMENTS, html
    root = lxml.html.fragment_fromstring(re.sub("[\x00-\x1f]", " ", html), create_parent="div")
    assert {name for e in root.iter() for name in e.attrib} <= MARKDOWN_ATTRIBUTES, html


# --- the whole build, and a real browser -------------------------------------------------------

def _xss_site(root: Path, html: bool) -> Path:
    body = "\n\n".join(["Opening paragraph.", *XSS_VECTORS, "Closing paragraph."])
    config = ('title = "Safe Desk"\nbase_url = "https://safe-desk.example.com"\n'
              f'[markdown]\nhtml = {"true" if html else "false"}\n')
    return write_site(root, {"attacks.md": article(title="Attacks", body=body)}, config=config)


@pytest.mark.parametrize("html", [True, False], ids=["html-on", "html-off"])
def test_built_pages_and_feeds_carry_no_way_to_run_script(tmp_path: Path, html: bool) -> None:
    built = build_site(_xss_site(tmp_path / "site", html), tmp_path / "out")
    page = (built.output / "2020/01/attacks/index.html").read_text(encoding="utf-8")
    body = lxml.html.document_fromstring(page).find_class("article-body")[0]
    assert script_risks(lxml.html.tostring(body, encoding="unicode")) == []
    import feedparser
    for feed in ("feed.xml", "atom.xml"):
        parsed = feedparser.parse((built.output / feed).read_bytes())
        assert not parsed.bozo, parsed.bozo_exception
        raw = parsed.entries[0].content[0].value  # the feed's own HTML, before feedparser's
        assert "Opening paragraph" in raw
        assert script_risks(raw) == [], feed


CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.mark.parametrize("html", [True, False], ids=["html-on", "html-off"])
def test_no_script_runs_when_chromium_opens_the_built_article(tmp_path: Path, html: bool) -> None:
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright for Python is not installed")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package")
    built = build_site(_xss_site(tmp_path / "site", html), tmp_path / "out")
    page_file = built.output / "2020/01/attacks/index.html"
    fired: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            # Local files only: any other request is refused, so nothing leaves the machine.
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
                "file:") else route.abort())
            page.on("dialog", lambda dialog: (fired.append(dialog.message), dialog.dismiss()))
            page.add_init_script("window.alert = window.confirm = window.prompt = "
                                 "(m) => { window.__ran = (window.__ran || 0) + 1; };")
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            page.hover(".article-body")
            for element in page.locator(".article-body *").all()[:200]:
                if element.is_visible():
                    element.hover(timeout=2000)
            page.wait_for_timeout(300)
            ran = page.evaluate("window.__ran || 0")
            assert "Opening paragraph" in page.locator(".article-body").inner_text()
        finally:
            browser.close()
    assert fired == [] and ran == 0


# --- found by the fuzzer (benchmarks/fuzz_content.py) --------------------------------------------

@pytest.mark.parametrize("markdown", ['<a href="jav&#x10;ascript:x">y</a>', "<p>a&#x1;b&#x7f;c</p>",
                                      '<img src="x" alt="&#x0b;&#x1f;">'])
def test_character_references_to_control_characters_do_not_reach_the_page(markdown: str) -> None:
    """nh3 decodes references; a raw U+0010 is invalid HTML and breaks XML feeds."""
    html = render(markdown + "\n", html=True)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", html), repr(html)


# --- how deep raw HTML nests (checked before the sanitizer parses it) -----------------------------

def _depth(html: str) -> int:
    from sitegen.content.sanitize import HtmlNesting

    nesting = HtmlNesting(limit=10**9)
    nesting.feed(html)
    return nesting.depth


@pytest.mark.parametrize(("html", "depth"), [
    ("<div><p>a<p>b<p>c</div>", 0),  # implied ends do not add up
    ("<ul><li>a<li>b<li>c</ul>", 0),
    ("<table><tr><td>a<td>b<tr><td>c</table>", 0),
    ("<div><br><img src=x><hr></div>", 0),  # void elements
    ("<svg><g/><g/><path/></svg>", 0),  # "/>" closes in SVG ...
    ("<div/>" * 3, 3),  # ... not in HTML
    ("<script><div><div></script>", 0),  # raw text
    ("<!-- <div><div> -->", 0),
    ("<div><b class=k></div>" * 5, 5),  # formatting the parser re-opens in each later block
    ("<div><table></div></table>" * 5, 5),  # an end tag cannot close through a table
    ("<td><b></td>" * 5, 5),  # cells outside a table are ignored
    ("<b><i>x</i></b>" * 5, 0),
])
def test_nesting_is_counted_as_the_parser_nests(html: str, depth: int) -> None:
    assert _depth(html) == depth


@pytest.mark.parametrize("unit", ["<div>", "<b><i>", "<div><b class=k></div>",
                                  "<div><table></div></table>", "<ul><li>", "<td><b></td>"])
def test_html_nested_past_the_limit_is_refused_before_sanitizing(unit: str) -> None:
    """Each of these took nh3 minutes at 4 MiB (its work per tag grows with the depth; the
    third made it write 660 MB for 8,000 repeats): all are caught at the limit."""
    from sitegen.content.sanitize import MAX_HTML_DEPTH, HtmlNesting

    at = HtmlNesting().feed(unit * 400_000)
    assert at is not None and at <= len(unit) * (MAX_HTML_DEPTH + 1)


def test_nesting_work_is_linear_in_the_html() -> None:
    """The count stays linear: each tag looks at most MAX_HTML_DEPTH open elements."""
    from conftest import line_events, package_folder

    import sitegen
    from sitegen.content.sanitize import HtmlNesting

    unit = "<div>" * 90 + "<p>x<b>y</b>" + "</div>" * 90
    small = line_events(lambda: HtmlNesting().feed(unit * 10), package_folder(sitegen))
    large = line_events(lambda: HtmlNesting().feed(unit * 40), package_folder(sitegen))
    assert large < 4.5 * small, (small, large)


def test_too_deep_raw_html_fails_the_build_naming_file_and_line(tmp_path: Path) -> None:
    from sitegen.errors import BuildError

    site = write_site(tmp_path / "site", {"deep.md": article(body="Intro.\n\n" + "<div>" * 500)},
                      config='title = "T"\nbase_url = "https://t.example.com"\n'
                             '[markdown]\nhtml = true\n')
    with pytest.raises(BuildError) as info:
        build_site(site, tmp_path / "out")
    (problem,) = info.value.problems
    text = (site / "content" / "deep.md").read_text(encoding="utf-8").split("\n")
    assert problem.file == "content/deep.md" and text[problem.line - 1].startswith("<div>")
    assert "nests more than" in problem.message
