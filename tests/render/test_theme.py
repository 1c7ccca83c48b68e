"""Theme: template lookup and rendering, and `partial()`, which renders a template once per
distinct context (an article's card shows on many list pages)."""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
import pytest
from conftest import article, build_site, file_hashes, write_site
from markupsafe import Markup

from sitegen.config import load_config
from sitegen.model import Image
from sitegen.render import theme as theme_module
from sitegen.render.theme import Theme, image_asset

CARD = '<li class="card">{{ tick() }}<a href="{{ item.url }}">{{ item.name }}</a>' \
       '{% if lead is defined and lead %} (lead){% endif %}</li>\n'


@dataclass(frozen=True)
class Item:
    name: str
    url: str


class Ticks:
    """A template global that counts the times a template really ran."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return ""


def make_theme(root: Path) -> tuple[Theme, Ticks]:
    (root / "templates").mkdir(parents=True)
    (root / "sitegen.toml").write_text('title = "T"\nbase_url = "https://t.example.com"\n',
                                       encoding="utf-8")
    templates = {
        "card.html": CARD,
        "by_include.html": "<ul>{% for item in items %}{% set lead = loop.first %}"
                           '{% include "card.html" %}{% endfor %}</ul>\n',
        "by_partial.html": "<ul>{% for item in items %}"
                           '{{ partial("card.html", item=item, lead=loop.first) }}'
                           "{% endfor %}</ul>\n",
        "numbers.html": '{{ partial("number.html", n=n) }}{{ partial("number.html", n=n) }}',
        "number.html": "{{ tick() }}<b>{{ n }}</b>",
    }
    for name, text in templates.items():
        (root / "templates" / name).write_text(text, encoding="utf-8")
    theme = Theme(load_config(root))
    ticks = Ticks()
    theme.env.globals["tick"] = ticks
    return theme, ticks


def test_partial_renders_what_an_include_renders(tmp_path: Path) -> None:
    theme, _ = make_theme(tmp_path)
    items = [Item("Daredevil <2>", "/a/"), Item("Luke & Cage", "/b/"), Item("Iron Fist", "/c/")]
    by_partial = theme.render("by_partial.html", {"items": items})
    assert by_partial == theme.render("by_include.html", {"items": items})
    assert "Daredevil &lt;2&gt;</a> (lead)" in by_partial  # escaped once, not twice
    assert "Luke &amp; Cage</a></li>" in by_partial


def test_partial_renders_each_object_once_and_tells_equal_objects_apart(tmp_path: Path) -> None:
    theme, ticks = make_theme(tmp_path)
    one = Item("One", "/1/")
    theme.render("by_partial.html", {"items": [one, one, one]})
    assert ticks.count == 2  # once as the lead, once not
    theme.render("by_partial.html", {"items": [one, one]})
    assert ticks.count == 2  # both contexts were seen before
    theme.render("by_partial.html", {"items": [one, Item("One", "/1/")]})
    assert ticks.count == 3  # an equal but new object is rendered for itself


def test_render_tells_which_assets_a_page_named_through_cached_partials_too(
        tmp_path: Path) -> None:
    """A page's record names the static files it used (its fingerprint adds their hashes): a
    partial rendered once for an earlier page still counts its assets for every later one."""
    theme, ticks = make_theme(tmp_path)
    (tmp_path / "static" / "img").mkdir(parents=True)
    (tmp_path / "static" / "img" / "logo.svg").write_text("<svg/>", encoding="utf-8")
    (tmp_path / "static" / "site.css").write_text("b {}", encoding="utf-8")
    (tmp_path / "templates" / "logo.html").write_text(
        "{{ tick() }}<img src=\"{{ asset('img/logo.svg') }}\">", encoding="utf-8")
    (tmp_path / "templates" / "page.html").write_text(
        "<link href=\"{{ asset('/site.css') }}\">{{ partial('logo.html', n=1) }}",
        encoding="utf-8")
    (tmp_path / "templates" / "plain.html").write_text("<p>{{ n }}</p>", encoding="utf-8")
    theme = Theme(load_config(tmp_path))
    theme.env.globals["tick"] = ticks
    first: set[str] = set()
    html = theme.render("page.html", {}, first)
    assert first == {"site.css", "img/logo.svg"}
    assert f"/site.css?v={theme.asset_version('site.css')}" in html
    again: set[str] = set()
    theme.render("page.html", {}, again)
    assert ticks.count == 1 and again == first  # the partial was not rendered again
    plain: set[str] = set()
    theme.render("plain.html", {"n": 2}, plain)
    assert plain == set()
    assert theme.asset_version("missing.css") is None


def test_partial_keys_plain_values_by_value(tmp_path: Path) -> None:
    theme, ticks = make_theme(tmp_path)
    assert theme.render("numbers.html", {"n": 7}) == "<b>7</b><b>7</b>"
    assert theme.render("numbers.html", {"n": 8}) == "<b>8</b><b>8</b>"
    assert ticks.count == 2


def test_a_new_object_never_gets_an_old_objects_partial(tmp_path: Path) -> None:
    """`serve` keeps its Theme while articles are replaced by new objects: each must show
    itself, even when Python would reuse a freed object's id."""
    theme, _ = make_theme(tmp_path)
    for n in range(300):
        html = theme.render("by_partial.html", {"items": [Item(f"Version {n}", f"/{n}/")]})
        assert f"Version {n}</a>" in html


def test_partials_kept_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(theme_module, "MAX_PARTIALS", 4)
    theme, ticks = make_theme(tmp_path)
    items = [Item(f"N{n}", f"/{n}/") for n in range(10)]
    first = theme.render("by_partial.html", {"items": items})
    assert ticks.count == 10
    assert theme.render("by_partial.html", {"items": items}) == first
    assert ticks.count > 10  # forgotten ones were rendered again, the same


def test_a_static_file_replaced_by_one_of_its_size_and_time_still_updates_pages(
        tmp_path: Path) -> None:
    """The theme's fingerprint stamps static files instead of reading them (a site's photos
    are hundreds of MB): a replacement that keeps the size and modification time, as `cp -p`
    or rsync leave it, is still seen by its new inode, and every page's asset URL follows."""
    site = write_site(tmp_path / "site", {"a.md": article()})
    css = site / "static" / "css" / "style.css"
    css.parent.mkdir(parents=True)
    css.write_text("body { color: red; }\n", encoding="utf-8")
    first = build_site(site, tmp_path / "out")
    old = (first.output / "index.html").read_text(encoding="utf-8")
    times = os.stat(css)
    new = css.with_name("new.tmp")
    new.write_text("body { color: tan; }\n", encoding="utf-8")  # the same size
    os.utime(new, ns=(times.st_atime_ns, times.st_mtime_ns))
    os.replace(new, css)
    second = build_site(site, tmp_path / "out")
    page = (second.output / "index.html").read_text(encoding="utf-8")
    assert page != old and "css/style.css?v=" in page
    assert (second.output / "css" / "style.css").read_text(encoding="utf-8").endswith("tan; }\n")
    assert file_hashes(second.output) == file_hashes(build_site(site, tmp_path / "fresh").output)


def test_render_names_the_processed_images_a_template_read(tmp_path: Path) -> None:
    """A page depends on a processed image (`Image.key`) only where its template reads it:
    through an attribute, an item, a filter's attribute or a cached partial; not where it
    only tests that there is one, nor for an image published as it is."""
    theme, _ = make_theme(tmp_path)
    still = Image("/_img/still.jpg", "https://t.example.com/_img/still.jpg", "A still", 8, 6,
                  "image/jpeg", 10, key="images/still.jpg#0.5,0.5")
    other = replace(still, key="images/other.jpg#0.5,0.5")
    plain = replace(still, key="")
    pages = {"attr.html": "{{ image.url }}", "item.html": "{{ image['alt'] }}",
             "filter.html": "{{ [image]|map(attribute='width')|join }}",
             "test.html": "{% if image %}yes{% endif %}{{ plain.url }}",
             "card.html": "{{ partial('thumb.html', image=image) }}{{ other is none }}",
             "thumb.html": "<img src=\"{{ image.url }}\">"}
    for name, text in pages.items():
        (tmp_path / "templates" / name).write_text(text, encoding="utf-8")
    theme = Theme(load_config(tmp_path))
    named = {}
    for name in ("attr.html", "item.html", "filter.html", "test.html", "card.html",
                 "card.html"):  # the second from the partials' memo
        used: set[str] = set()
        theme.render(name, {"image": still, "other": other, "plain": plain}, used)
        named[name] = used
    shown = {image_asset(still.key)}
    assert named == {"attr.html": shown, "item.html": shown, "filter.html": shown,
                     "test.html": set(), "card.html": shown}


def page_template(root: Path) -> Path:
    """A theme whose page.html prints `n`; its path, to edit."""
    make_theme(root)
    page = root / "templates" / "page.html"
    page.write_text("<p>{{ n }}</p>", encoding="utf-8")
    return page


def compiled_names(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the templates Jinja compiles from now on, in order."""
    compiled: list[str] = []
    original = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: str, name: str | None = None,
                 *args: object, **kwargs: object) -> object:
        compiled.append(name or "")
        return original(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return compiled


def test_a_new_theme_takes_templates_compiled_before_unless_they_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dev server makes a Theme for each change of static files: templates compiled by an
    earlier Theme in the process are not compiled again, but an edited one is."""
    page = page_template(tmp_path)
    compiled = compiled_names(monkeypatch)
    assert Theme(load_config(tmp_path)).render("page.html", {"n": 1}) == "<p>1</p>"
    assert Theme(load_config(tmp_path)).render("page.html", {"n": 2}) == "<p>2</p>"
    page.write_text("<b>{{ n }}</b>", encoding="utf-8")
    assert Theme(load_config(tmp_path)).render("page.html", {"n": 3}) == "<b>3</b>"
    assert compiled.count("page.html") == 2  # the first Theme's and the edited one's


def test_a_build_with_an_empty_compiled_folder_takes_templates_this_process_compiled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second build in one process (a test's, or serve's with its cache deleted) compiles
    no template compiled before, still saves each to its own folder, and compiles an edited
    one again."""
    page = page_template(tmp_path)
    compiled = compiled_names(monkeypatch)
    first, second = tmp_path / "cache-1", tmp_path / "cache-2"
    for n, folder in enumerate((first, second)):
        theme = Theme(load_config(tmp_path), folder)
        assert theme.render("page.html", {"n": n}) == f"<p>{n}</p>"
        theme.save_compiled()
    assert compiled.count("page.html") == 1
    assert sorted(p.name for p in second.iterdir()) == sorted(p.name for p in first.iterdir())
    assert len(list(second.iterdir())) >= 1
    page.write_text("<b>{{ n }}</b>", encoding="utf-8")
    assert Theme(load_config(tmp_path), second).render("page.html", {"n": 3}) == "<b>3</b>"
    assert compiled.count("page.html") == 2


def test_urlencode_gives_the_text_jinjas_own_filter_gives() -> None:
    """The theme's faster `urlencode` must not change a share link by one byte."""
    values: list[object] = [
        "".join(chr(c) for c in range(128)), "https://news.example.com/2018/03/a-b/?q=1#top",
        "Jessica Jones & the <Defenders>: \"Season 2\" 100%", Markup("Tom &amp; Jerry"),
        "café — “quoted”", "", 42, {"q": "a b", "n": 1}, [("x", "y z")]]
    for value in values:
        got = theme_module.url_quote(value)
        assert got == jinja2.filters.do_urlencode(value), value
        assert type(got) is str  # never Markup: it is escaped where it is shown


def test_datefmt_spells_the_month_as_strftime_does() -> None:
    for month in range(1, 13):
        day = datetime(2018, month, 8, 21, 30)
        assert theme_module.format_date(day) == f"{day:%B} 8, 2018"


@pytest.mark.parametrize("plain", [0, 150, 10**9])
def test_partials_past_the_plain_budget_are_kept_compressed_and_render_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plain: int) -> None:
    """None, some (the first card fits in 150 bytes) or all kept as text: same HTML."""
    monkeypatch.setattr(theme_module, "PLAIN_PARTIALS", plain)
    packed: list[object] = []
    compressobj = zlib.compressobj

    def counting(*args: Any, **kwargs: Any) -> Any:
        packed.append(args)
        return compressobj(*args, **kwargs)

    monkeypatch.setattr(zlib, "compressobj", counting)
    theme, ticks = make_theme(tmp_path)
    items = [Item(f"Show {n} & <co>", f"/s/{n}/") for n in range(5)]
    first = theme.render("by_partial.html", {"items": items})
    again = theme.render("by_partial.html", {"items": items})  # from the memo
    assert first == again == theme.render("by_include.html", {"items": items})
    assert ticks.count == 5 + 5  # each card once by partial(), once by the include
    assert len(packed) == {0: 5, 150: 4, 10**9: 0}[plain]  # the cards compressed


class _Safe:
    def __html__(self) -> str:
        return "<em>already safe</em>"


class _Text(str):
    pass


@pytest.mark.parametrize("value", [
    "plain words", "<a href='x' title=\"y\">Jones & Co</a>", "", "caf\u00e9 \u201cquoted\u201d <",
    Markup("<b>bold</b> &amp;"), 42, 1.5, None, True, _Safe(), _Text("<i>subclass</i>")])
def test_the_theme_s_escape_gives_markupsafe_s_result_to_the_byte(value: object) -> None:
    """Every `{{ value }}` of a template goes through `theme.escape`, which takes text and
    Markup first: its result is MarkupSafe's, of the same type, for each kind of value."""
    ours, theirs = theme_module.escape(value), markupsafe.escape(value)
    assert type(ours) is Markup and str(ours) == str(theirs)


def test_a_template_escapes_what_it_prints_and_leaves_markup_as_it_is(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {})
    (site / "templates").mkdir()
    (site / "templates" / "probe.html").write_text(
        "{{ text }}|{{ safe }}|{{ number }}|{% macro m(x) %}{{ x }}{% endmacro %}{{ m(text) }}",
        encoding="utf-8")
    theme = Theme(load_config(site))
    page = theme.render("probe.html", {"text": "<b>\"Tom\" & 'Jerry'</b>",
                                       "safe": Markup("<i>kept</i>"), "number": 7})
    escaped = "&lt;b&gt;&#34;Tom&#34; &amp; &#39;Jerry&#39;&lt;/b&gt;"
    assert page == f"{escaped}|<i>kept</i>|7|{escaped}"
