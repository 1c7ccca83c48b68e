"""MarkdownRenderer: CommonMark plus newsroom extensions, safe URLs, summaries and feed HTML."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.config import MarkdownConfig
from sitegen.content.markdown import RESERVED_IDS, MarkdownRenderer, RenderedBody, is_safe_url

FIXTURES = Path(__file__).parents[1] / "fixtures" / "markdown"
PAGE = "https://example.com/2016/03/fixture/"
DANGEROUS_SCHEMES = {"javascript", "vbscript", "data", "file"}


def render(body: str, page_url: str = PAGE, **options: bool) -> RenderedBody:
    return MarkdownRenderer(MarkdownConfig(**options)).render(body, page_url)


class _Collector(HTMLParser):
    """Every start tag with its attributes, entities decoded as a browser would."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse_tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.tags


def url_attributes(html: str) -> list[str]:
    return [value for _, attrs in parse_tags(html) for name, value in attrs.items()
            if name in ("href", "src", "srcset", "action", "formaction", "poster") and value is not None]


def scheme(url: str) -> str:
    """The scheme a browser would see (WHATWG: strip C0/space at the ends, drop tabs/newlines)."""
    cleaned = url.strip("".join(chr(c) for c in range(0x21)))
    cleaned = re.sub(r"[\t\n\r]", "", cleaned)
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", cleaned)
    return match.group(1).lower() if match else ""


def ids(html: str) -> list[str]:
    return [str(attrs["id"]) for _, attrs in parse_tags(html) if attrs.get("id")]


# --- fixture pairs ------------------------------------------------------------------------

FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.md"))


def test_every_fixture_has_expected_html() -> None:
    assert len(FIXTURE_NAMES) >= 10
    for name in FIXTURE_NAMES:
        assert (FIXTURES / f"{name}.html").is_file(), name
    assert sorted(p.stem for p in FIXTURES.glob("*.html")) == FIXTURE_NAMES


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_renders_to_expected_html(name: str) -> None:
    source = (FIXTURES / f"{name}.md").read_text(encoding="utf-8")
    expected = (FIXTURES / f"{name}.html").read_text(encoding="utf-8")
    assert str(render(source).html) == expected


# --- features, asserted structurally ------------------------------------------------------

def test_tables_render_with_alignment() -> None:
    html = str(render("| a | b |\n|:--|--:|\n| 1 | 2 |\n").html)
    tags = [t for t, _ in parse_tags(html)]
    assert tags.count("table") == 1 and tags.count("th") == 2 and tags.count("td") == 2
    assert '<th class="align-right">b</th>' in html and '<td class="align-left">1</td>' in html
    assert "style=" not in html  # netlify.toml's CSP allows no inline styles


def test_strikethrough_uses_s_element() -> None:
    assert "<s>cancelled</s>" in render("~~cancelled~~").html


def test_footnotes_link_both_ways() -> None:
    html = str(render("Claim[^a].\n\n[^a]: Source.\n").html)
    assert 'href="#fn1"' in html and 'id="fn1"' in html
    assert 'href="#fnref1"' in html and 'id="fnref1"' in html


def test_smart_quotes_and_dashes() -> None:
    html = str(render('"Quoted" -- en --- em').html)
    assert "\u201cQuoted\u201d" in html and "\u2013 en" in html and "\u2014 em" in html


def test_typographer_off_keeps_plain_quotes_and_dashes() -> None:
    html = str(render('"Quoted" -- en', typographer=False).html)
    assert "&quot;Quoted&quot; -- en" in html


def test_python_code_is_highlighted_by_pygments() -> None:
    html = str(render("```python\nimport os\n```\n").html)
    assert '<pre class="highlight"><code class="language-python">' in html
    assert '<span class="kn">import</span>' in html


def test_highlight_off_leaves_code_unhighlighted_but_escaped() -> None:
    html = str(render("```python\nif a < b: pass\n```\n", highlight=False).html)
    assert "<span" not in html
    assert "a &lt; b" in html


def test_code_language_cannot_inject_attributes() -> None:
    html = str(render('```python" onmouseover="alert(1)\nx = 1\n```\n').html)
    assert all("onmouseover" not in attrs for _, attrs in parse_tags(html))


def test_blockquote() -> None:
    assert [t for t, _ in parse_tags(str(render("> said\n").html))] == ["blockquote", "p"]


def test_linkify_turns_bare_urls_into_links() -> None:
    assert url_attributes(str(render("Go to https://example.com/x now.").html)) == ["https://example.com/x"]


def test_linkify_links_email_addresses() -> None:
    assert url_attributes(str(render("Mail tips@example.com today.").html)) == ["mailto:tips@example.com"]


def test_linkify_links_a_bare_domain_in_a_sentence() -> None:
    assert url_attributes(str(render("Stream it on netflix.com tonight.").html)) == [
        "http://netflix.com"]


def test_linkify_leaves_abbreviations_and_sentence_ends_alone() -> None:
    html = str(render("Agents of S.H.I.E.L.D. returns. It ended.Then it began, e.g. today.").html)
    assert url_attributes(html) == []


def test_linkify_links_www_hosts() -> None:
    assert url_attributes(str(render("See www.netflix.com today.").html)) == ["http://www.netflix.com"]


def test_linkify_off_leaves_bare_urls_as_text() -> None:
    assert url_attributes(str(render("Go to https://example.com/x now.", linkify=False).html)) == []


def test_images_are_lazy_loaded() -> None:
    tags = parse_tags(str(render("![alt text](pic.jpg)").html))
    assert ("img", {"src": "pic.jpg", "alt": "alt text", "loading": "lazy",
                    "decoding": "async"}) in tags


# --- raw HTML -----------------------------------------------------------------------------

def test_raw_html_is_escaped_by_default() -> None:
    html = str(render('<script>alert(1)</script>\n\nText <b onclick="x()">bold</b>\n').html)
    assert [t for t, _ in parse_tags(html)] == ["p", "p"]
    assert "&lt;script&gt;" in html


def test_raw_html_passes_with_html_true() -> None:
    html = str(render('<div class="promo">Hi</div>\n\nText <b>bold</b>\n', html=True).html)
    tags = parse_tags(html)
    assert ("div", {"class": "promo"}) in tags
    assert ("b", {}) in tags


# --- dangerous URLs -----------------------------------------------------------------------

DANGEROUS_MARKDOWN = [
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](VBScript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](file:///etc/passwd)",
    "![x](javascript:alert(1))",
    "![x](data:text/html,hi)",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;&#x61;vascript:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](jav&#x09;ascript:alert(1))",
    "[x](java&#10;script:alert(1))",
    "[x](&#x20;javascript:alert(1))",
    "[x](&#0;javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x]( javascript:alert(1) )",
    "[x](javascript:alert(1) \"title\")",
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<vbscript:msgbox(1)>",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "![x][ref]\n\n[ref]: data:text/html,hi",
    "javascript:alert(1) www.example.com",
    "[x](\x01javascript:alert(1))",
]


@pytest.mark.parametrize("allow_html", [False, True])
@pytest.mark.parametrize("markdown", DANGEROUS_MARKDOWN)
def test_dangerous_schemes_never_reach_href_or_src(markdown: str, allow_html: bool) -> None:
    body = render(markdown + "\n", html=allow_html)
    for html in (body.html, body.feed_html, body.summary_html):
        for url in url_attributes(str(html)):
            assert scheme(url) not in DANGEROUS_SCHEMES, (markdown, url)


def test_dangerous_links_stay_visible_as_text() -> None:
    html = str(render("[click](javascript:alert(1))").html)
    assert "click" in html
    assert url_attributes(html) == []


@pytest.mark.parametrize("url", ["https://example.com/", "http://x.org", "mailto:tips@example.com",
                                 "tel:+15551234", "/2016/03/x/", "../x/", "#section", "?page=2", "pic.jpg"])
def test_safe_urls_are_kept(url: str) -> None:
    assert is_safe_url(url)
    assert url_attributes(str(render(f"[x]({url})").html)) == [url]


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:x",
                                 "java\nscript:x", "vbscript:x", "data:text/html,x",
                                 "DATA:image/png;base64,xx", "file:///etc/passwd", "\x00javascript:x"])
def test_is_safe_url_refuses_dangerous_schemes(url: str) -> None:
    assert not is_safe_url(url)


# --- summary ------------------------------------------------------------------------------

def test_summary_is_everything_before_more_marker() -> None:
    body = render("First para.\n\nSecond para.\n\n<!--more-->\n\nThird para.\n")
    assert str(body.summary_html) == "<p>First para.</p>\n<p>Second para.</p>\n"
    assert "Third para." in body.html
    assert "more" not in body.html


def test_more_marker_with_spaces_is_recognised() -> None:
    body = render("Lead.\n\n  <!-- more -->  \n\nRest.\n")
    assert str(body.summary_html) == "<p>Lead.</p>\n"
    assert "&lt;!--" not in body.html


def test_summary_defaults_to_first_paragraph() -> None:
    body = render("## Heading\n\n> quote\n\nFirst *real* paragraph.\n\nSecond.\n")
    assert str(body.summary_html) == "<p>First <em>real</em> paragraph.</p>\n"


def test_summary_is_empty_without_a_paragraph() -> None:
    assert str(render("## Only a heading\n").summary_html) == ""


def test_summary_drops_footnote_references() -> None:
    body = render("A claim[^1] here.\n\n[^1]: The source.\n")
    assert str(body.summary_html) == "<p>A claim here.</p>\n"
    assert "footnote-ref" in body.html


def test_summary_before_more_drops_footnote_references() -> None:
    body = render("A claim[^1].\n\n<!--more-->\n\nRest.\n\n[^1]: Source.\n")
    assert "footnote" not in body.summary_html
    assert "A claim." in body.summary_html


# --- feed HTML ----------------------------------------------------------------------------

def test_feed_html_makes_relative_urls_absolute() -> None:
    body = render("[up](../other/) [root](/about/) [same](notes/) ![i](pic.jpg) [ext](https://a.example/)",
                  "https://example.com/news/2016/03/post/")
    assert url_attributes(str(body.feed_html)) == [
        "https://example.com/news/2016/03/other/",
        "https://example.com/about/",
        "https://example.com/news/2016/03/post/notes/",
        "https://example.com/news/2016/03/post/pic.jpg",
        "https://a.example/",
    ]
    assert url_attributes(str(body.html)) == ["../other/", "/about/", "notes/", "pic.jpg",
                                              "https://a.example/"]


def test_feed_html_keeps_mailto_links() -> None:
    body = render("[mail](mailto:tips@example.com)")
    assert url_attributes(str(body.feed_html)) == ["mailto:tips@example.com"]


def test_rendering_twice_gives_same_output() -> None:
    renderer = MarkdownRenderer(MarkdownConfig())
    first = renderer.render("[a](x/) ![b](y.png)", PAGE)
    second = renderer.render("[a](x/) ![b](y.png)", PAGE)
    assert first.html == second.html and first.feed_html == second.feed_html
    assert url_attributes(str(first.html)) == ["x/", "y.png"]


# --- headings and anchors -----------------------------------------------------------------

def test_headings_tuple_lists_anchored_headings() -> None:
    body = render("# Title\n\n## The Cast\n\n### Who's Back\n\n#### Guest stars\n\n##### Tiny\n")
    assert body.headings == ((2, "the-cast", "The Cast"), (3, "whos-back", "Who's Back"),
                             (4, "guest-stars", "Guest stars"))


def test_duplicate_headings_get_unique_ids() -> None:
    html = str(render("## Recap\n\n## Recap\n\n## Recap\n").html)
    assert ids(html) == ["recap", "recap-1", "recap-2"]


def test_heading_without_letters_gets_fallback_id() -> None:
    assert ids(str(render("## !!!\n").html)) == ["section"]


@pytest.mark.parametrize("name", sorted(RESERVED_IDS))
def test_heading_never_takes_a_reserved_id(name: str) -> None:
    html = str(render(f"## {name.title()}\n\n## {name}\n").html)
    assert not set(ids(html)) & RESERVED_IDS
    assert f"{name}-section" in ids(html)


def test_heading_named_main_does_not_get_id_main() -> None:
    body = render("## Main\n\nText.\n")
    assert 'id="main"' not in body.html
    assert body.headings == ((2, "main-section", "Main"),)


def test_anchors_off_gives_no_ids_and_no_headings() -> None:
    body = render("## The Cast\n", anchors=False)
    assert ids(str(body.html)) == [] and body.headings == ()


# --- words --------------------------------------------------------------------------------

def test_word_count_of_prose() -> None:
    assert render("One two three.\n\nFour five.\n").words == 5


def test_word_count_excludes_more_marker() -> None:
    assert render("One two.\n\n<!--more-->\n\nThree.\n").words == 3


def test_empty_body() -> None:
    body = render("")
    assert body.html == "" and body.summary_html == "" and body.words == 0 and body.headings == ()


def test_render_inline_formats_without_paragraph() -> None:
    assert str(MarkdownRenderer(MarkdownConfig()).render_inline("*Shōgun* -- renewed")) == \
        "<em>Shōgun</em> \u2013 renewed"


def test_more_marker_inside_code_block_is_kept_as_code() -> None:
    body = render("Lead.\n\n```html\n<!--more-->\n```\n\nRest.\n")
    assert "&lt;!--more--&gt;" in body.html
    assert str(body.summary_html) == "<p>Lead.</p>\n"


def test_heading_ids_do_not_collide_with_footnote_ids() -> None:
    found = ids(str(render("Note[^1].\n\n## fn1\n\n[^1]: The note.\n").html))
    assert len(found) == len(set(found)), found


def test_site_relative_links_get_the_base_path() -> None:
    renderer = MarkdownRenderer(MarkdownConfig(), "/news")
    body = renderer.render("[a](/2016/01/x/) [b](//cdn.example/x) [c](rel/) ![i](/img/a.png)",
                           "https://example.com/news/2016/01/y/")
    assert url_attributes(str(body.html)) == ["/news/2016/01/x/", "//cdn.example/x", "rel/",
                                              "/news/img/a.png"]
    assert url_attributes(str(body.feed_html)) == [
        "https://example.com/news/2016/01/x/", "https://cdn.example/x",
        "https://example.com/news/2016/01/y/rel/", "https://example.com/news/img/a.png"]


def test_links_already_under_the_base_path_are_left_alone() -> None:
    renderer = MarkdownRenderer(MarkdownConfig(), "/news")
    body = renderer.render("[a](/news/2016/01/x/) [b](/newsroom/)", "https://example.com/news/a/")
    assert url_attributes(str(body.html)) == ["/news/2016/01/x/", "/news/newsroom/"]


# --- found by the property tests (tests/e2e/test_properties.py) ---------------------------------

@pytest.mark.parametrize("markdown", ["![A still]()", "![A still](<>)", "![A still]( )"])
def test_image_without_a_source_becomes_its_alt_text(markdown: str) -> None:
    """An <img src=""> is invalid HTML5 (and requests the page itself again)."""
    html = str(render(f"Before {markdown} after.\n").html)
    assert parse_tags(html) == [("p", {})]
    assert "Before A still after." in html


# --- one body cannot stall a build: work linear in its size ---------------------------------------

def _render_work(body: str, **options: bool) -> int:
    """Lines run in sitegen and mdit-py-plugins to render `body` (markdown-it itself is linear
    and left out, so sitegen's own steps weigh more in the count)."""
    import mdit_py_plugins
    from conftest import line_events, package_folder

    import sitegen

    renderer = MarkdownRenderer(MarkdownConfig(**options))
    return line_events(lambda: renderer.render(body, PAGE), package_folder(sitegen),
                       package_folder(mdit_py_plugins))


@pytest.mark.parametrize(("shape", "unit"), [
    ("same heading", "## Same heading\n\n"),
    ("more marker in code", "```\n<!--more-->\n```\n\n"),
])
def test_render_work_grows_linearly(shape: str, unit: str) -> None:
    """4x the repeats must be at most about 4x the work. It was about 15x for headings with
    the same text (each new id tried slug-1, slug-2, ... from 1) and for <!--more--> markers
    in code blocks (each was checked against every code block)."""
    small = _render_work(unit * 300 + "Text.\n")
    large = _render_work(unit * 1200 + "Text.\n")
    assert large < 5 * small, (shape, small, large)


def test_heading_ids_are_those_the_plugin_gives() -> None:
    """The quick de-duplication gives the ids mdit-py-plugins' own search would."""
    from mdit_py_plugins.anchors.index import unique_slug

    from sitegen.content.markdown import _anchor_slug

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.sampled_from(["x", "x 1", "x-1", "x 2", "Main", "fn1", "y", "x-1-1"]),
                    max_size=12))
    def check(texts: list[str]) -> None:
        taken: set[str] = set()
        expected = [unique_slug(_anchor_slug(t), taken) for t in texts]
        html = render("".join(f"## {t}\n\n" for t in texts)).html
        assert ids(html) == expected
    check()


def test_plain_text_is_markupsafes_striptags_in_one_pass() -> None:
    from markupsafe import Markup

    from sitegen.content.markdown import plain_text

    @settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.text(alphabet="<!->a &;b", max_size=60))
    def check(html: str) -> None:
        assert plain_text(html) == Markup(html).striptags()
    check()
    assert plain_text('<p>A <a href="/x">link</a> &amp; <!-- c --> more</p>') == "A link & more"


def test_nesting_raw_html_too_deeply_is_refused_with_its_line() -> None:
    from sitegen.content.embeds import MarkupError
    from sitegen.content.sanitize import MAX_HTML_DEPTH

    body = "Intro.\n\n<div>\n" + "<div>\n" * 5 + "\nText <b>" + "<b class=x>" * MAX_HTML_DEPTH + "\n"
    with pytest.raises(MarkupError) as info:
        render(body, html=True)
    assert info.value.line == 9  # 0-based: the line of the <b> that went past
    assert f"more than {MAX_HTML_DEPTH}" in str(info.value) and "close the tags" in str(info.value)
    fine = "<div>\n" * (MAX_HTML_DEPTH - 1) + "\nx\n" + "</div>\n" * (MAX_HTML_DEPTH - 1)
    assert render(fine * 3, html=True).html.count("<div>") == 3 * (MAX_HTML_DEPTH - 1)
    assert "<div>" not in render(body).html  # raw HTML off: escaped, nothing to refuse


# --- a CPU budget per article: no body holds a build for long ----------------------------------

def test_a_body_over_its_cpu_budget_is_refused_with_a_sentence(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A run of '[' costs markdown-it-py some 15 microseconds each: 400,000 take seconds. With
    the budget lowered for the test, rendering stops at it with a message, and the timer is
    gone afterwards (the next render, a normal one, is not cut short)."""
    import signal
    import time

    from sitegen.content import markdown
    from sitegen.content.embeds import MarkupError

    monkeypatch.setattr(markdown, "RENDER_BUDGET", 0.3)
    started = time.process_time()
    with pytest.raises(MarkupError) as info:
        render("Intro.\n\n" + "[" * 400_000 + "\n")
    assert time.process_time() - started < 2.0  # stopped at the budget, not at the end
    assert "more than 0.3 s of CPU time" in str(info.value) and "simplify" in str(info.value)
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert "<p>Fine.</p>" in render("Fine.\n").html


def test_the_budget_stops_a_build_naming_the_article(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import FIXED_NOW, article, write_site

    from sitegen.content import markdown
    from sitegen.errors import BuildError
    from sitegen.pipeline.build import build
    from sitegen.report import BuildOptions

    monkeypatch.setattr(markdown, "RENDER_BUDGET", 0.3)  # workers fork after this: they share it
    site = write_site(tmp_path / "site", {
        "fine.md": article(title="Fine", date="2020-01-01"),
        "brackets.md": article(title="Brackets", date="2020-01-02", body="[" * 400_000)})
    with pytest.raises(BuildError) as info:
        build(BuildOptions(site_dir=site, output_dir=tmp_path / "out", now=FIXED_NOW, workers=2),
              use_cache=False)
    (problem,) = info.value.problems
    assert problem.file == "content/brackets.md"
    assert problem.line is not None and 8 <= problem.line <= 9  # where the body starts
    assert "more than 0.3 s of CPU time" in problem.message
    assert not (tmp_path / "out").exists()
