"""load_config: sitegen.toml read key by key, with errors that name the key, its line and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from sitegen.config import (
    AuthorConfig,
    Config,
    FeedConfig,
    MarkdownConfig,
    load_config,
)
from sitegen.errors import BuildError, Problem, SiteError


def write_config(site: Path, text: str) -> Path:
    (site / "sitegen.toml").write_text(text, encoding="utf-8")
    return site


def config_problems(site: Path, text: str, **kwargs: object) -> list[Problem]:
    write_config(site, text)
    with pytest.raises(BuildError) as info:
        load_config(site, **kwargs)  # type: ignore[arg-type]
    return info.value.problems


def only_problem(site: Path, text: str, **kwargs: object) -> Problem:
    problems = config_problems(site, text, **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


FULL = """\
title = "Small Screen Dispatch"
description = "TV news"
base_url = "https://dispatch.example.com"
language = "de"
timezone = "America/New_York"
theme = "plain"
per_page = 7
permalink = "/{year}/{month}/{day}/{slug}/"
default_author = "Dana Whitfield"
words_per_minute = 200

[authors."Dana Whitfield"]
role = "Senior TV Editor"
bio = "Watches the credits."
avatar = "/img/dana.png"

[authors."Zoë Müller"]
role = "Europe Correspondent"

[feeds]
items = 15
full_content = false

[markdown]
html = true
typographer = false
linkify = false
anchors = false
highlight = false

[extra]
twitter = "@dispatch"
nav = ["news", "reviews"]
"""


# --- defaults and every key ---------------------------------------------------------------

def test_missing_config_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config == Config(site_dir=tmp_path.resolve())
    assert config.title == "My TV News Site"
    assert config.base_url == "http://localhost:8000"
    assert config.timezone == "UTC"
    assert config.per_page == 10
    assert config.permalink == "/{year}/{month}/{slug}/"
    assert config.feeds == FeedConfig(items=20, full_content=True)
    assert config.markdown == MarkdownConfig(html=False, typographer=True, linkify=True,
                                             anchors=True, highlight=True)
    assert config.authors == {} and config.extra == {}
    assert config.base_path == ""


def test_empty_config_file_gives_defaults(tmp_path: Path) -> None:
    write_config(tmp_path, "# nothing set yet\n")
    assert load_config(tmp_path) == Config(site_dir=tmp_path.resolve())


def test_every_key_is_read(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, FULL))
    assert config.title == "Small Screen Dispatch"
    assert config.description == "TV news"
    assert config.base_url == "https://dispatch.example.com"
    assert config.language == "de"
    assert config.timezone == "America/New_York"
    assert str(config.tz) == "America/New_York"
    assert config.theme == "plain"
    assert config.per_page == 7
    assert config.permalink == "/{year}/{month}/{day}/{slug}/"
    assert config.default_author == "Dana Whitfield"
    assert config.words_per_minute == 200
    assert config.authors == {
        "Dana Whitfield": AuthorConfig(role="Senior TV Editor", bio="Watches the credits.",
                                       avatar="/img/dana.png"),
        "Zoë Müller": AuthorConfig(role="Europe Correspondent"),
    }
    assert config.feeds == FeedConfig(items=15, full_content=False)
    assert config.markdown == MarkdownConfig(html=True, typographer=False, linkify=False,
                                             anchors=False, highlight=False)
    assert config.extra == {"twitter": "@dispatch", "nav": ["news", "reviews"]}
    assert config.site_dir == tmp_path.resolve()


def test_partial_tables_keep_defaults_for_unset_keys(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, "[feeds]\nitems = 5\n[markdown]\nhtml = true\n"))
    assert config.feeds == FeedConfig(items=5, full_content=True)
    assert config.markdown == MarkdownConfig(html=True)


def test_author_table_with_quoted_unicode_name(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, '[authors."Zoë Müller"]\nbio = "Reports from Berlin."\n'))
    assert config.authors["Zoë Müller"] == AuthorConfig(role="", bio="Reports from Berlin.", avatar="")


# --- unknown keys -------------------------------------------------------------------------

def test_unknown_top_level_key_suggests_nearest(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, 'title = "x"\nlanguage = "en"\ntimezon = "UTC"\n')
    assert problem.file == "sitegen.toml"
    assert "unknown key 'timezon'" in problem.message
    assert "did you mean 'timezone'?" in problem.message
    assert problem.line == 3


@pytest.mark.parametrize(("text", "line"), [
    ('title = "x"\n\ntimezon = "UTC"\n', 3),
    ('title = "x"\n\n\nper_page = "ten"\n', 4),
    ('# Site\n\nbase_url = "example.com"\n', 3),
])
def test_key_after_blank_line_is_reported_at_its_own_line(tmp_path: Path, text: str, line: int) -> None:
    assert only_problem(tmp_path, text).line == line


def test_unknown_nested_key_suggests_nearest_with_its_line(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, 'title = "x"\n\n[feeds]\nfull_content = true\nitmes = 5\n')
    assert "unknown key 'feeds.itmes'" in problem.message
    assert "did you mean 'feeds.items'?" in problem.message
    assert problem.line == 5


def test_unknown_key_lists_the_valid_keys_of_its_table(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, "[markdown]\nsmartypants = true\n")
    assert "valid keys: anchors, highlight, html, linkify, typographer" in problem.message


def test_unknown_key_without_close_match_gives_no_guess(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, 'zzzzzz = "x"\n')
    assert "unknown key 'zzzzzz'" in problem.message
    assert "did you mean" not in problem.message


def test_unknown_key_in_author_table_names_author_and_suggests(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, '[authors."Zoë Müller"]\nrol = "Europe"\n')
    assert "unknown key 'authors.\"Zoë Müller\".rol'" in problem.message
    assert "did you mean 'authors.\"Zoë Müller\".role'?" in problem.message
    assert problem.line == 2


def test_unknown_table_name_suggests_nearest(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, 'title = "x"\n[feed]\nitems = 3\n')
    assert "unknown key 'feed'" in problem.message and "did you mean 'feeds'?" in problem.message
    assert problem.line == 2


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    problems = config_problems(tmp_path, 'titel = "x"\nper_page = "ten"\n[feeds]\nitmes = 3\n')
    assert [p.line for p in problems] == [1, 2, 4]
    assert "titel" in problems[0].message
    assert "per_page" in problems[1].message
    assert "itmes" in problems[2].message


def test_extra_table_accepts_any_keys(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, '[extra]\nanything = 1\nnested = {a = "b"}\n'))
    assert config.extra == {"anything": 1, "nested": {"a": "b"}}


# --- wrong types --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "name", "kind", "line"), [
    ('title = "x"\nper_page = "ten"\n', "'per_page'", "a whole number", 2),
    ("per_page = true\n", "'per_page'", "a whole number", 1),
    ("per_page = 2.5\n", "'per_page'", "a whole number", 1),
    ("title = 5\n", "'title'", "a string", 1),
    ('[markdown]\nhtml = "yes"\n', "'markdown.html'", "true or false", 2),
    ("[feeds]\nfull_content = 1\n", "'feeds.full_content'", "true or false", 2),
    ('[feeds]\nitems = "many"\n', "'feeds.items'", "a whole number", 2),
    ('[authors."Dana"]\nrole = 5\n', "'authors.\"Dana\".role'", "a string", 2),
])
def test_wrong_type_names_key_expected_kind_and_line(tmp_path: Path, text: str, name: str, kind: str,
                                                     line: int) -> None:
    problem = only_problem(tmp_path, text)
    assert problem.message.startswith(f"{name} must be {kind}, not ")
    assert problem.line == line


def test_boolean_for_number_is_reported_as_the_value_given(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, "per_page = true\n")
    assert problem.message.endswith("not True")


@pytest.mark.parametrize(("text", "line"), [
    ("feeds = 3\n", 1),
    ('title = "x"\nmarkdown = "on"\n', 2),
])
def test_scalar_where_a_table_belongs_is_an_error(tmp_path: Path, text: str, line: int) -> None:
    problem = only_problem(tmp_path, text)
    assert "must be a table" in problem.message
    assert problem.line == line


def test_authors_must_be_a_table_of_tables(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, 'authors = "Dana"\n')
    assert "'authors' must be a table" in problem.message


def test_wrong_type_in_second_author_table_points_at_that_table(tmp_path: Path) -> None:
    text = '[authors."Dana"]\nrole = "Editor"\n[authors."Marcus"]\nrole = 5\n'
    problem = only_problem(tmp_path, text)
    assert "'authors.\"Marcus\".role'" in problem.message
    assert problem.line == 4


def test_wrong_type_line_ignores_same_key_in_an_earlier_table(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, '[extra]\nitems = 3\n[feeds]\nitems = "many"\n')
    assert "'feeds.items'" in problem.message
    assert problem.line == 4


# --- checked values -----------------------------------------------------------------------

@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "America/New York", "", "../../etc/passwd"])
def test_unknown_timezone_is_an_error_with_an_example(tmp_path: Path, zone: str) -> None:
    problem = only_problem(tmp_path, f'title = "x"\ntimezone = "{zone}"\n')
    assert f"unknown timezone '{zone}'" in problem.message
    assert "America/New_York" in problem.message
    assert problem.line == 2


@pytest.mark.parametrize("url", ["example.com", "ftp://example.com", "https://", "/news",
                                 "javascript:alert(1)"])
def test_base_url_must_be_absolute_http(tmp_path: Path, url: str) -> None:
    problem = only_problem(tmp_path, f'title = "x"\nbase_url = "{url}"\n')
    assert f"base_url '{url}' must be an absolute http(s) URL" in problem.message
    assert problem.line == 2


@pytest.mark.parametrize(("text", "message"), [
    ("per_page = 0\n", "per_page must be at least 1"),
    ("per_page = -3\n", "per_page must be at least 1"),
    ("words_per_minute = 0\n", "words_per_minute must be at least 1"),
    ("[feeds]\nitems = 0\n", "feeds.items must be at least 1"),
])
def test_counts_must_be_positive(tmp_path: Path, text: str, message: str) -> None:
    problem = only_problem(tmp_path, text)
    assert problem.message == message
    assert problem.line == text.count("\n")


def test_permalink_without_slug_is_an_error(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, 'title = "x"\npermalink = "/{year}/{month}/"\n')
    assert "must contain {slug}" in problem.message
    assert problem.line == 2


def test_permalink_unknown_field_suggests_nearest(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, 'permalink = "/{yaer}/{slug}/"\n')
    assert "unknown field '{yaer}'" in problem.message
    assert "did you mean '{year}'?" in problem.message
    assert problem.line == 1


def test_permalink_unknown_field_without_near_match_lists_fields(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, 'permalink = "/{category}/{slug}/"\n')
    assert "unknown field '{category}'" in problem.message
    assert "did you mean" not in problem.message
    assert "fields: year, month, day, slug" in problem.message


@pytest.mark.parametrize("pattern", ["{year}/{slug}/", "/{year}/{slug}", "{slug}"])
def test_permalink_must_start_and_end_with_slash(tmp_path: Path, pattern: str) -> None:
    problems = config_problems(tmp_path, f'permalink = "{pattern}"\n')
    assert any("must start and end with '/'" in p.message for p in problems)


@pytest.mark.parametrize("pattern", ["/{year}//{slug}/", "/news/../{slug}/", "/{slug}/?x=1",
                                     "/{slug} page/"])
def test_permalink_with_unsafe_characters_is_an_error(tmp_path: Path, pattern: str) -> None:
    problems = config_problems(tmp_path, f'permalink = "{pattern}"\n')
    assert any("permalink may hold only" in p.message for p in problems)


@pytest.mark.parametrize("pattern", ["/{year}/{month}/{slug}/", "/{slug}/",
                                     "/news/{year}/{month}/{day}/{slug}/", "/articles/{slug}_{year}/"])
def test_valid_permalinks_are_accepted(tmp_path: Path, pattern: str) -> None:
    assert load_config(write_config(tmp_path, f'permalink = "{pattern}"\n')).permalink == pattern


# --- TOML syntax and encoding -------------------------------------------------------------

def test_invalid_toml_reports_the_line(tmp_path: Path) -> None:
    write_config(tmp_path, 'title = "x"\n\nper_page = \nlanguage = "en"\n')
    with pytest.raises(SiteError) as info:
        load_config(tmp_path)
    assert info.value.problem.file == "sitegen.toml"
    assert info.value.problem.message.startswith("invalid TOML")
    assert info.value.problem.line == 3


def test_unclosed_string_reports_its_line(tmp_path: Path) -> None:
    write_config(tmp_path, 'title = "x"\ndescription = "unclosed\n')
    with pytest.raises(SiteError) as info:
        load_config(tmp_path)
    assert info.value.problem.line == 2


def test_non_utf8_config_says_so(tmp_path: Path) -> None:
    (tmp_path / "sitegen.toml").write_bytes('title = "Zo\xeb"\n'.encode("latin-1"))
    with pytest.raises(SiteError) as info:
        load_config(tmp_path)
    assert "not UTF-8" in info.value.problem.message


# --- base_url override and base_path ------------------------------------------------------

def test_base_url_argument_overrides_the_file(tmp_path: Path) -> None:
    write_config(tmp_path, 'base_url = "https://dispatch.example.com"\n')
    config = load_config(tmp_path, base_url="https://preview--dispatch.example.net")
    assert config.base_url == "https://preview--dispatch.example.net"


def test_base_url_argument_is_validated(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, 'title = "x"\n', base_url="localhost:8000")
    assert "base_url 'localhost:8000' must be an absolute http(s) URL" in problem.message


def test_base_url_argument_works_without_a_config_file(tmp_path: Path) -> None:
    assert load_config(tmp_path, base_url="https://example.org").base_url == "https://example.org"


@pytest.mark.parametrize(("url", "path"), [
    ("https://example.com", ""),
    ("https://example.com/", ""),
    ("https://example.com/news", "/news"),
    ("https://example.com/news/", "/news"),
    ("https://example.com/tv/news/", "/tv/news"),
])
def test_base_path_is_the_path_of_base_url_without_trailing_slash(tmp_path: Path, url: str,
                                                                  path: str) -> None:
    assert load_config(write_config(tmp_path, f'base_url = "{url}"\n')).base_path == path


def test_with_overrides_returns_a_changed_copy(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    changed = config.with_overrides(per_page=3)
    assert changed.per_page == 3 and config.per_page == 10


def test_site_dir_is_resolved(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    config = load_config(tmp_path / "site" / ".." / "site")
    assert config.site_dir == (tmp_path / "site").resolve()


def test_seo_and_search_tables_are_read(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, (
        '[seo]\npublisher = "Dispatch Media"\nlogo = "/images/logo.png"\n'
        'image = "https://cdn.example.com/card.png"\nimage_alt = "Card"\ntwitter = "@dispatch"\n'
        '[search]\nenabled = false\n')))
    assert (config.seo.publisher, config.seo.logo, config.seo.twitter) == (
        "Dispatch Media", "/images/logo.png", "@dispatch")
    assert config.seo.image == "https://cdn.example.com/card.png" and not config.search.enabled
    assert load_config(write_config(tmp_path, "")).search.enabled  # search is on by default


@pytest.mark.parametrize(("text", "key"), [
    ('[seo]\ntwitter = "dispatch"\n', "seo.twitter"),
    ('[seo]\ntwitter = "@far_too_long_for_an_account"\n', "seo.twitter"),
    ('[seo]\nlogo = "images/logo.png"\n', "seo.logo"),
    ('[seo]\nimage = "javascript:alert(1)"\n', "seo.image"),
    ("[search]\nenabled = 1\n", "search.enabled"),
])
def test_bad_seo_and_search_values_name_the_key_and_line(tmp_path: Path, text: str,
                                                         key: str) -> None:
    problem = only_problem(tmp_path, text)
    assert key in problem.message and problem.line == 2
# --- found by the property tests (tests/e2e/test_properties.py) ---------------------------------

def test_empty_site_title_is_an_error_not_a_crash_in_the_feeds(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, 'base_url = "https://x.example.com"\ntitle = "  "\n')
    assert problem.line == 2 and "title must not be empty" in problem.message


@pytest.mark.parametrize("key", ["title", "description", "default_author"])
def test_control_characters_in_text_settings_are_errors(tmp_path: Path, key: str) -> None:
    problem = only_problem(tmp_path, f'{key} = "News\\u0001Desk"\n')
    assert problem.line == 1
    assert f"'{key}' holds the control character U+0001" in problem.message


def test_control_characters_in_an_authors_bio_are_errors(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, '[authors."Ann"]\nbio = "Writes\\u009b"\n')
    assert problem.line == 2 and "'authors.\"Ann\".bio' holds the control character U+009B" \
        in problem.message


def test_line_numbers_count_only_newlines_not_unicode_line_separators(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, 'title = "News\u2028Desk"\ndescription = "a\u2029b"\n'
                                     "per_page = 0\n")
    assert problem.line == 3 and "per_page must be at least 1" in problem.message


@pytest.mark.parametrize(("toml", "shown"), [
    ('base_url = "\\r\\n"\n', r"base_url '\r\n' must be an absolute"),
    ('"per\\npage" = 3\n', r"unknown key 'per\npage'"),
    ('theme = "a\\u2028b"\n', r"theme 'a\u2028b' not found"),
])
def test_values_quoted_in_a_problem_keep_it_on_one_line(tmp_path: Path, toml: str,
                                                        shown: str) -> None:
    """Found by the property tests: a value with a line break split the message in two."""
    write_config(tmp_path, toml)
    with pytest.raises((BuildError, SiteError)) as info:
        from sitegen.render.theme import Theme
        Theme(load_config(tmp_path))
    problems = info.value.problems if isinstance(info.value, BuildError) else [info.value.problem]
    text = "\n".join(str(p) for p in problems)
    assert len(text.splitlines()) == len(problems) == 1, text
    assert shown in text, text


# --- language: a BCP 47 tag (Pagefind panicked on a long one, or one with a quote) ------------

@pytest.mark.parametrize("tag", ["en", "EN-gb", "pt-BR", "zh-Hant-TW", "sr-Latn-RS", "de-CH-1901",
                                 "es-419", "sl-rozaj-biske", "en-US-x-twain", "i-klingon",
                                 "x-private", "hy-Latn-IT-arevela", "zh-yue-HK", "en-a-bbb-x-a"])
def test_well_formed_language_tags_are_taken(tmp_path: Path, tag: str) -> None:
    write_config(tmp_path, f'title = "x"\nlanguage = "{tag}"\n')
    assert load_config(tmp_path).language == tag


@pytest.mark.parametrize("tag", ["a" * 300, "en\\\"", "en'", "en US", "", "e", "english-usa",
                                 "en-", "-en", "en--us", "en-US-", "en_US", "<en>", "en-x",
                                 "abcdefgh-Latn-419-abcde-a-bcd", "en-\\u00e9"])
def test_a_malformed_language_tag_is_an_error_at_its_line(tmp_path: Path, tag: str) -> None:
    problem = only_problem(tmp_path, f'title = "x"\nlanguage = "{tag}"\n')
    assert problem.line == 2
    assert "is not a language tag" in problem.message and "BCP 47" in problem.message


def test_an_underscore_in_the_language_gets_a_hint(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, 'title = "x"\nlanguage = "pt_BR"\n')
    assert "did you mean 'pt-BR'?" in problem.message


# --- every configured URL is a site path or an http(s) URL --------------------------------------

BAD_URLS = ["javascript:alert(1)", "JavaScript:alert(1)", "data:image/svg+xml,<svg/onload=x>",
            "//evil.example/a.png", "/\\\\evil.example/a.png", "https://", "http:/x.png",
            "vbscript:x", "images/a.png", " /a.png", "/a b.png", "/a\\u0001.png", "ftp://h/a.png"]


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize(("table", "key"), [('authors."Ann"', "avatar"), ("seo", "logo"),
                                            ("seo", "image")])
def test_a_configured_url_must_be_a_site_path_or_web_url(tmp_path: Path, table: str, key: str,
                                                         url: str) -> None:
    problems = config_problems(tmp_path, f'title = "x"\n\n[{table}]\n{key} = "{url}"\n')
    (problem,) = [p for p in problems if "must be a site path" in p.message]
    assert problem.file == "sitegen.toml" and problem.line == 4
    assert key in problem.message


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_menu_url_must_be_a_site_path_or_web_url(tmp_path: Path, url: str) -> None:
    problems = config_problems(tmp_path, f'title = "x"\n\n[[menu]]\nname = "Home"\nurl = "{url}"\n')
    (problem,) = [p for p in problems if "must be a site path" in p.message]
    assert problem.line in (3, 5)


@pytest.mark.parametrize("url", ["/images/ann.jpg", "https://cdn.example.com/ann.jpg",
                                 "http://cdn.example.com/a%20b.jpg?x=1#y", "/"])
def test_site_paths_and_web_urls_are_taken(tmp_path: Path, url: str) -> None:
    write_config(tmp_path, f'title = "x"\n[authors."Ann"]\navatar = "{url}"\n[seo]\nlogo = "{url}"\n'
                           f'[[menu]]\nname = "Home"\nurl = "{url}"\n')
    assert load_config(tmp_path).authors["Ann"].avatar == url


def test_the_avatar_that_was_an_img_src_is_refused_by_the_build(tmp_path: Path) -> None:
    write_config(tmp_path, 'title = "x"\n[authors.X]\navatar = "javascript:alert(1)"\n')
    problem = only_problem(tmp_path, 'title = "x"\n[authors.X]\navatar = "javascript:alert(1)"\n')
    assert str(problem) == ("sitegen.toml:3: the avatar of X, 'javascript:alert(1)', must be a "
                            "site path such as '/images/ann.jpg' or an absolute http(s) URL")


# --- characters pages and feeds cannot carry, anywhere in the file -------------------------------

@pytest.mark.parametrize(("text", "key", "line"), [
    ('title = "News\\uFFFEDesk"\n', "title", 1),
    ('title = "x"\n[seo]\npublisher = "P\\uFFFF"\n', "seo.publisher", 3),
    ('title = "x"\n[tags."Jessica Jones"]\ndescription = "\\uFDD0"\n',
     'tags."Jessica Jones".description', 3),
    ('title = "x"\n[extra]\ntagline = "a\\u0001b"\n', 'extra."tagline"', 3),
    ('title = "x"\n[[menu]]\nname = "Ho\\uFFFEme"\nurl = "/"\n', "menu.name", 3),
    ('title = "x"\n[authors."A\\uFFFF"]\nrole = "Editor"\n', 'authors."A\\uffff"', 2),
])
def test_odd_characters_anywhere_in_the_config_are_errors(tmp_path: Path, text: str, key: str,
                                                          line: int) -> None:
    problem = only_problem(tmp_path, text)
    assert f"'{key}' holds the" in problem.message, problem.message
    assert "which pages and feeds cannot carry" in problem.message
    assert problem.line == line
