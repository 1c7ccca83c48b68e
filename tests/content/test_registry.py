"""The tag registry: canonical spellings, aliases, descriptions and images, from sitegen.toml or
a data file, applied where tags are grouped; mistakes in it are reported with their line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXED_NOW, article, build_site, parse_html, text_of, write_site

from sitegen.config import load_config
from sitegen.content.data import load_data
from sitegen.content.registry import load_registry
from sitegen.errors import BuildError
from sitegen.pipeline.stages import Settings, prepare
from sitegen.report import BuildOptions
from sitegen.site.taxonomy import group_tags

CONFIG = '''title = "Desk"
base_url = "https://desk.example.com"
timezone = "UTC"

[tags."Jessica Jones"]
aliases = ["JJ", "Marvel's Jessica Jones"]
description = """Marvel's private investigator, on Netflix from 2015.

Our coverage of every season."""
image = "/images/jj.svg"
image_alt = "A frosted office door reading Alias Investigations"
former_slugs = ["jessica-jones-netflix"]
'''

ARTICLES = {
    "a.md": article(title="One", date="2020-01-01", tags=["JJ", "Netflix"]),
    "b.md": article(title="Two", date="2020-01-02", tags=["jessica jones"]),
    "c.md": article(title="Three", date="2020-01-03", tags=["Marvel's Jessica Jones"]),
}


def registry_site(tmp_path: Path, config: str = CONFIG, articles: dict | None = None) -> Path:
    site = write_site(tmp_path / "site", articles or ARTICLES, config=config)
    (site / "static" / "images").mkdir(parents=True)
    (site / "static" / "images" / "jj.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>', encoding="utf-8")
    return site


def test_aliases_file_under_the_canonical_tag(tmp_path: Path) -> None:
    built = build_site(registry_site(tmp_path), tmp_path / "out")
    assert sorted(p.name for p in (built.output / "tags").iterdir() if p.is_dir()) == [
        "jessica-jones", "jessica-jones-netflix", "jj", "marvels-jessica-jones", "netflix"]
    page = parse_html(built.output / "tags" / "jessica-jones" / "index.html")
    assert text_of(page.find(".//h1")) == "Jessica Jones"
    titles = [text_of(a) for a in page.xpath("//h2[@class='card-title']/a")]
    assert titles == ["Three", "Two", "One"]
    # every article shows the canonical name
    for slug in ("one", "two", "three"):
        doc = parse_html(built.output / "2020" / "01" / slug / "index.html")
        assert [text_of(a) for a in doc.xpath("//footer//a[@rel='tag']")][0] == "Jessica Jones"
    index = parse_html(built.output / "tags" / "index.html")
    assert [text_of(s) for s in index.find_class("tag-name")] == ["Jessica Jones", "Netflix"]


def test_tag_page_shows_the_description_and_image(tmp_path: Path) -> None:
    built = build_site(registry_site(tmp_path), tmp_path / "out")
    page = parse_html(built.output / "tags" / "jessica-jones" / "index.html")
    paragraphs = [text_of(p) for p in page.xpath("//div[@class='tag-description']/p")]
    assert paragraphs == ["Marvel's private investigator, on Netflix from 2015.",
                          "Our coverage of every season."]
    image = page.xpath("//figure[@class='tag-image']/img")[0]
    assert image.get("src") == "/images/jj.svg"
    assert image.get("alt") == "A frosted office door reading Alias Investigations"
    assert (built.output / "images" / "jj.svg").is_file()
    description = page.xpath("//meta[@name='description']/@content")[0]
    assert description == ("Marvel's private investigator, on Netflix from 2015. Our coverage of "
                           "every season.")
    other = parse_html(built.output / "tags" / "netflix" / "index.html")
    assert not other.find_class("tag-description") and not other.find_class("tag-image")


def test_spellings_the_registry_does_not_list_are_warned_about(tmp_path: Path) -> None:
    built = build_site(registry_site(tmp_path), tmp_path / "out")
    messages = [str(w) for w in built.report.warnings]
    assert messages == ['content/b.md:5: tag "jessica jones" is spelled "Jessica Jones" in the tag '
                        'registry (sitegen.toml); write "Jessica Jones" or add "jessica jones" to '
                        "its aliases"]


def test_registry_in_a_data_file(tmp_path: Path) -> None:
    config = 'title = "Desk"\nbase_url = "https://desk.example.com"\n'
    site = registry_site(tmp_path, config)
    (site / "data").mkdir()
    (site / "data" / "tags.yaml").write_text(
        "Jessica Jones:\n  aliases: [JJ]\n  description: From the data file.\n"
        "The Defenders:\n  former_slugs: defenders-netflix\n", encoding="utf-8")
    built = build_site(site, tmp_path / "out")
    page = parse_html(built.output / "tags" / "jessica-jones" / "index.html")
    assert text_of(page.xpath("//div[@class='tag-description']/p")[0]) == "From the data file."
    assert len(page.xpath("//h2[@class='card-title']")) == 2  # "JJ" and "jessica jones"
    assert (built.output / "tags" / "jj" / "index.html").is_file()  # a redirect page


@pytest.mark.parametrize("suffix,text", [
    ("toml", '["Jessica Jones"]\naliases = ["JJ"]\n'),
    ("json", '{"Jessica Jones": {"aliases": ["JJ"]}}'),
])
def test_registry_data_file_formats(tmp_path: Path, suffix: str, text: str) -> None:
    site = registry_site(tmp_path, 'title = "Desk"\n')
    (site / "data").mkdir()
    (site / "data" / f"tags.{suffix}").write_text(text, encoding="utf-8")
    registry, problems = load_registry(load_config(site), load_data(site)[0])
    assert problems == []
    assert registry.slug_of("JJ") == "jessica-jones"
    assert registry.lookup("jessica  jones") is registry.entries[0]


def problems_of(site: Path) -> list[str]:
    with pytest.raises(BuildError) as info:
        prepare(Settings(BuildOptions(site_dir=site, now=FIXED_NOW)))
    return [str(p) for p in info.value.problems]


def test_registry_mistakes_are_reported_with_the_line(tmp_path: Path) -> None:
    config = '''title = "Desk"

[tags."Jessica Jones"]
aliases = ["JJ"]

[tags."JJ"]
description = "A second entry for the same slug"

[tags."Luke Cage"]
former_slugs = ["Luke Cage!", "jessica-jones"]

[tags."!!!"]

[tags."Daredevil"]
image = "javascript:alert(1)"
'''
    site = registry_site(tmp_path, config)
    assert problems_of(site) == [
        'sitegen.toml:6: "JJ" of tag "JJ" is also tag "Jessica Jones" (both are /tags/jj/); keep '
        "it in one entry",
        'sitegen.toml:10: former slug "Luke Cage!" of tag "Luke Cage" must be a URL slug: '
        "lowercase letters, digits and '-'",
        'sitegen.toml:10: former slug "jessica-jones" of tag "Luke Cage" is in use by tag '
        '"Jessica Jones"; remove it from one',
        'sitegen.toml:12: tag "!!!" gives an empty URL slug; use letters or digits',
        'sitegen.toml:15: image "javascript:alert(1)" of tag "Daredevil" must be a site path '
        "like '/images/tag.jpg' or an http(s) URL",
    ]


def test_registry_key_typos_and_types_are_reported(tmp_path: Path) -> None:
    config = 'title = "Desk"\n\n[tags."Jessica Jones"]\nalias = ["JJ"]\ndescription = 3\n'
    site = registry_site(tmp_path, config)
    problems = problems_of(site)
    assert "sitegen.toml:4: unknown key 'tags.\"Jessica Jones\".alias'; did you mean " \
           "'tags.\"Jessica Jones\".aliases'?" in problems[0]
    assert problems[1] == ("sitegen.toml:5: 'tags.\"Jessica Jones\".description' must be a "
                           "string, not 3")


def test_data_file_registry_mistakes_name_the_file_and_line(tmp_path: Path) -> None:
    site = registry_site(tmp_path, 'title = "Desk"\n')
    (site / "data").mkdir()
    (site / "data" / "tags.yaml").write_text(
        "Jessica Jones:\n  aliases: [JJ]\n  descripton: typo\nNetflix: just text\n",
        encoding="utf-8")
    assert problems_of(site) == [
        "data/tags.yaml:3: unknown key 'descripton' for tag \"Jessica Jones\"; did you mean "
        "'description'? (valid keys: aliases, description, image, image_alt, former_slugs, "
        "group)",
        'data/tags.yaml:4: tag "Netflix" must have settings (aliases, description, image, '
        "image_alt, former_slugs, group), or none",
    ]


def test_registry_in_both_places_is_an_error(tmp_path: Path) -> None:
    site = registry_site(tmp_path)
    (site / "data").mkdir()
    (site / "data" / "tags.toml").write_text('["Netflix"]\n', encoding="utf-8")
    assert problems_of(site) == ["data/tags.toml: the tag registry is both in sitegen.toml "
                                 "([tags]) and in this file; keep one of them"]


def test_group_tags_with_canonical_names() -> None:
    groups = group_tags([["JJ", "Netflix"], ["jessica jones"], ["Jessica-Jones"]],
                        {"jj": "Jessica Jones", "jessica-jones": "Jessica Jones"})
    assert set(groups) == {"jessica-jones", "netflix"}
    assert groups["jessica-jones"].name == "Jessica Jones"  # not the most used spelling
    # All used once: the one in mixed case first, then as first seen
    assert groups["jessica-jones"].spellings == ("Jessica-Jones", "JJ", "jessica jones")
    assert groups["netflix"].name == "Netflix"


@pytest.mark.parametrize("image", ["javascript:alert(1)", "data:image/png;base64,AAAA",
                                   "//evil.example/x.png", "/\\\\evil.example/x.png",
                                   "https://", "vbscript:x", " /images/x.png"])
def test_a_tag_image_in_a_data_file_must_be_a_site_path_or_web_url(tmp_path: Path,
                                                                   image: str) -> None:
    site = registry_site(tmp_path, 'title = "Desk"\n')
    (site / "data").mkdir()
    (site / "data" / "tags.json").write_text(
        json.dumps({"Jessica Jones": {"description": "Marvel", "image": image}}, indent=1),
        encoding="utf-8")
    (problem,) = problems_of(site)
    assert problem.startswith("data/tags.json:4: image ") and "must be a site path" in problem


def _tags_index(built_output: Path) -> list[tuple[str, list[str]]]:
    doc = parse_html(built_output / "tags" / "index.html")
    return [(text_of(section.xpath("h2")[0]),
             [text_of(n) for n in section.xpath(".//span[@class='tag-name']")])
            for section in doc.xpath("//section[@class='tag-group']")]


def test_the_tags_index_is_grouped_a_to_z_or_by_the_registry_s_groups(tmp_path: Path) -> None:
    articles = {"a.md": article(title="A", tags=["Fargo", "FX", "Noah Hawley", "Émile", "24"]),
                "b.md": article(title="B", date="2020-01-02", tags=["FX", "Frasier", "Recaps"])}
    plain = build_site(write_site(tmp_path / "plain", articles), tmp_path / "plain-out")
    assert _tags_index(plain.output) == [
        ("#", ["24"]), ("E", ["Émile"]), ("F", ["Fargo", "Frasier", "FX"]), ("N", ["Noah Hawley"]),
        ("R", ["Recaps"])]
    config = ('title = "T"\nbase_url = "https://t.example.com"\n'
              '[tags.Fargo]\ngroup = "Shows"\n[tags.Frasier]\ngroup = "Shows"\n'
              '[tags.FX]\ngroup = "Networks"\n[tags."Noah Hawley"]\ngroup = "People"\n')
    grouped = build_site(write_site(tmp_path / "grouped", articles, config),
                         tmp_path / "grouped-out")
    assert _tags_index(grouped.output) == [
        ("Networks", ["FX"]), ("People", ["Noah Hawley"]), ("Shows", ["Fargo", "Frasier"]),
        ("Other", ["24", "Émile", "Recaps"])]
    nav = parse_html(grouped.output / "tags" / "index.html").xpath(
        "//nav[@class='letter-nav']//a/@href")
    assert nav == ["#tags-1", "#tags-2", "#tags-3", "#tags-4"]
