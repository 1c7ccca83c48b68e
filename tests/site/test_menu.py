"""A [[menu]] in sitegen.toml drives the default theme's navigation; without one the theme keeps
its own. Also: links written as another article's source file become its URL."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from conftest import Built, article, build_site, parse_html, text_of, write_site

from sitegen.config import load_config
from sitegen.errors import BuildError

MENU_CONFIG = '''title = "Desk"
base_url = "https://example.com/desk"

[[menu]]
name = "Front page"
url = "/"

[[menu]]
name = "Reviews"
url = "/tags/reviews/"

[[menu]]
name = "Archive"
url = "/archive/"

[[menu]]
name = "Our podcast"
url = "https://podcast.example.org/"
'''


@pytest.fixture(scope="module")
def menu_built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("menu")
    site = write_site(root / "site", {
        "a.md": article(title="A Review", tags=["Reviews"]),
        "b.md": article(title="News", date="2020-01-02", tags=["News"]),
    }, config=MENU_CONFIG)
    return build_site(site, root / "out")


def nav(page: Path, shows: bool = False) -> list[tuple[str, str, str | None]]:
    """The sections bar's links: the menu's (or the theme's), or with `shows` the most-covered
    tags the theme adds after them."""
    doc = parse_html(page)
    which = "[@class='nav-show']" if shows else "[not(@class='nav-show')]"
    return [(text_of(a), a.get("href"), a.get("aria-current"))
            for a in doc.xpath(f"//nav[@class='site-nav']//li{which}/a")]


def test_the_menu_replaces_the_theme_navigation_in_order(menu_built: Built) -> None:
    assert nav(menu_built.output / "index.html") == [
        ("Front page", "/desk/", "page"), ("Reviews", "/desk/tags/reviews/", None),
        ("Archive", "/desk/archive/", None), ("Our podcast", "https://podcast.example.org/", None)]
    # Then the most-covered tags the menu does not already hold (Reviews is in it).
    assert nav(menu_built.output / "index.html", shows=True) == [
        ("News", "/desk/tags/news/", None)]
    assert nav(menu_built.output / "tags" / "news" / "index.html", shows=True) == [
        ("News", "/desk/tags/news/", "page")]


def test_the_sections_are_the_most_covered_tags_most_first(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        f"{i}.md": article(title=f"Story {i}", date=f"2020-01-{i + 1:02d}",
                           tags=[["Rare"], ["Daredevil", "Netflix"], ["Netflix"]][i % 3] +
                           [f"Only {i}"] * (i < 6))
        for i in range(9)})
    built = build_site(site, tmp_path / "out")
    shows = [name for name, _, _ in nav(built.output / "index.html", shows=True)]
    # Netflix 6, then Daredevil and Rare 3 each (by name), then one-article tags by name.
    assert shows == ["Netflix", "Daredevil", "Rare", "Only 0", "Only 1", "Only 2"]


def test_the_footer_menu_and_the_follow_page(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"a.md": article(title="A", tags=["Reviews"])},
                      config='title = "Desk"\nbase_url = "https://example.com/desk"\n'
                             '[[footer]]\nname = "About"\nurl = "/about/"\n'
                             '[[footer]]\nname = "Contact"\nurl = "mailto:desk@example.com"\n')
    with pytest.raises(BuildError) as info:  # only site paths and http(s) URLs
        build_site(site, tmp_path / "out")
    assert "footer url 'mailto:desk@example.com' must be a site path" in str(
        info.value.problems[0])
    (site / "sitegen.toml").write_text(
        'title = "Desk"\nbase_url = "https://example.com/desk"\n'
        '[[footer]]\nname = "About"\nurl = "/about/"\n'
        '[[footer]]\nname = "Corrections"\nurl = "https://example.org/corrections"\n',
        encoding="utf-8")
    built = build_site(site, tmp_path / "out")
    doc = parse_html(built.output / "index.html")
    footer = [(text_of(a), a.get("href")) for a in doc.xpath("//footer//nav//a")]
    assert footer == [("About", "/desk/about/"),
                      ("Corrections", "https://example.org/corrections"),
                      ("Archive", "/desk/archive/"), ("Tags", "/desk/tags/"),
                      ("Authors", "/desk/authors/"), ("Follow", "/desk/feeds/")]
    follow = parse_html(built.output / "feeds" / "index.html")
    feeds = [a.get("href") for a in follow.xpath("//main//a")]
    assert feeds == [f"/desk/{folder}{name}" for folder in ("", "tags/reviews/",
                                                              "authors/ann-example/")
                     for name in ("feed.xml", "atom.xml", "feed.json")]
    for href in feeds:  # every feed it lists exists
        assert (built.output / href.removeprefix("/desk/")).is_file(), href


def test_the_menu_marks_the_current_page_and_section(menu_built: Built) -> None:
    current = {name: state for name, _, state in nav(menu_built.output / "tags" / "reviews" /
                                                     "index.html")}
    assert current == {"Front page": None, "Reviews": "page", "Archive": None, "Our podcast": None}
    feed_page = menu_built.output / "tags" / "reviews" / "feed.xml"
    assert feed_page.is_file()
    article_page = nav(menu_built.output / "2020" / "01" / "a-review" / "index.html")
    assert all(state is None for _, _, state in article_page)
    archive = {name: state for name, _, state in nav(menu_built.output / "archive" / "index.html")}
    assert archive["Archive"] == "page" and archive["Front page"] is None


def test_without_a_menu_the_theme_keeps_its_links(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"a.md": article(title="A", tags=["Reviews"])})
    built = build_site(site, tmp_path / "out")
    assert [(n, h) for n, h, _ in nav(built.output / "index.html")] == [
        ("Home", "/"), ("Tags", "/tags/"), ("Authors", "/authors/"), ("Archive", "/archive/")]
    assert [(n, h) for n, h, _ in nav(built.output / "index.html", shows=True)] == [
        ("Reviews", "/tags/reviews/")]


@pytest.mark.parametrize("entry,message", [
    ('[[menu]]\nname = "Home"\n', "sitegen.toml:3: each [[menu]] entry needs a 'name' and a 'url'"),
    ('[[menu]]\nname = "Home"\nurl = "javascript:alert(1)"\n',
     "sitegen.toml:5: menu url 'javascript:alert(1)' must be a site path like '/tags/reviews/' "
     "or an absolute http(s) URL"),
    ('[[menu]]\nname = "Home"\nulr = "/"\n', "sitegen.toml:5: unknown key 'menu.ulr'; did you "
     "mean 'menu.url'? (valid keys: name, url)"),
    ('menu = "Home"\n', "sitegen.toml:3: 'menu' must be a list"),
])
def test_menu_mistakes_are_reported(tmp_path: Path, entry: str, message: str) -> None:
    (tmp_path / "sitegen.toml").write_text(f'title = "T"\n\n{entry}', encoding="utf-8")
    with pytest.raises(BuildError) as info:
        load_config(tmp_path)
    assert str(info.value.problems[0]).startswith(message)


def test_links_to_source_files_become_article_urls(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        "reviews/target.md": article(title="The Target", date="2019-12-01",
                                     body="Intro.\n\n## Cast list\n\nNames."),
        "news/linker.md": article(title="The Linker", body=(
            "See [the review](../reviews/target.md#cast-list), [again](/reviews/target.md) "
            "and [a missing one](../reviews/gone.md).")),
    }, config='title = "T"\nbase_url = "https://example.com/desk"\n')
    built = build_site(site, tmp_path / "out")
    doc = parse_html(built.output / "2020" / "01" / "the-linker" / "index.html")
    hrefs = [a.get("href") for a in doc.xpath("//div[@class='article-body']//a")]
    assert hrefs == ["/desk/2019/12/the-target/#cast-list", "/desk/2019/12/the-target/",
                     "../reviews/gone.md"]
    summary = parse_html(built.output / "index.html").xpath(
        "//div[@class='card-summary']//a/@href")
    assert "/desk/2019/12/the-target/#cast-list" in summary
    feed = feedparser.parse((built.output / "feed.xml").read_bytes())
    assert not feed.bozo
    linker = next(e for e in feed.entries if e.title == "The Linker")
    assert 'href="https://example.com/desk/2019/12/the-target/#cast-list"' in linker.content[0].value
