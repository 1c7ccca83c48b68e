"""Reading articles: front matter parsing, field checks, and errors that point at the right line."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sitegen.config import Config, load_config
from sitegen.content.sources import MAX_SOURCE_BYTES, find_sources, read_source, read_sources
from sitegen.errors import BuildError, Problem, SiteError

NEW_YORK = ZoneInfo("America/New_York")
SAFE_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def make_site(tmp_path: Path, toml: str = 'timezone = "America/New_York"\n') -> Config:
    (tmp_path / "content").mkdir(parents=True, exist_ok=True)
    (tmp_path / "sitegen.toml").write_text(toml, encoding="utf-8")
    return load_config(tmp_path)


def write(config: Config, name: str, data: str | bytes) -> Path:
    path = config.site_dir / "content" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    return path


def article(front: str = "", body: str = "Body text.\n", *, title: str | None = "Jessica Jones renewed",
            date: str | None = "2016-03-08", author: str | None = "Dana Whitfield") -> str:
    lines = []
    if title is not None:
        lines.append(f"title: {title}")
    if date is not None:
        lines.append(f"date: {date}")
    if author is not None:
        lines.append(f"author: {author}")
    return "---\n" + "\n".join(lines) + "\n" + front + "---\n" + body


def read_error(config: Config, name: str, data: str | bytes) -> Problem:
    path = write(config, name, data)
    with pytest.raises(SiteError) as info:
        read_source(path, config)
    problem = info.value.problem
    assert problem.file == f"content/{name}"
    return problem


@pytest.fixture
def site(tmp_path: Path) -> Config:
    return make_site(tmp_path)


# --- a good article -----------------------------------------------------------------------

def test_reads_every_known_field(site: Config) -> None:
    text = ("---\ntitle: Jessica Jones renewed\ndate: 2016-03-08 09:15\nupdated: 2016-03-09\n"
            "author: Dana Whitfield\nauthor_role: Senior TV Editor\ntags: [Netflix, Marvel]\n"
            "summary: Season two is coming.\ndescription: Netflix renews the show.\n"
            "slug: jj-renewed\ndraft: false\nimage: /img/jj.jpg\nimage_alt: Krysten Ritter\n"
            "---\nThe *body*.\n")
    path = write(site, "jj.md", text)
    source = read_source(path, site)
    assert source.path == path
    assert source.rel_path == "content/jj.md"
    assert source.title == "Jessica Jones renewed"
    assert source.date == datetime(2016, 3, 8, 9, 15, tzinfo=NEW_YORK)
    assert source.updated == datetime(2016, 3, 9, tzinfo=NEW_YORK)
    assert source.author == "Dana Whitfield"
    assert source.author_role == "Senior TV Editor"
    assert source.tags == ("Netflix", "Marvel")
    assert source.summary == "Season two is coming."
    assert source.description == "Netflix renews the show."
    assert source.slug == "jj-renewed"
    assert source.draft is False
    assert source.image == "/img/jj.jpg"
    assert source.image_alt == "Krysten Ritter"
    assert source.extra == {}
    assert source.body.strip() == "The *body*."


def test_optional_fields_default_to_none_and_empty(site: Config) -> None:
    source = read_source(write(site, "a.md", article()), site)
    assert source.updated is None and source.author_role is None and source.summary is None
    assert source.description is None and source.image is None and source.image_alt is None
    assert source.tags == () and source.draft is False and source.extra == {}


def test_slug_defaults_to_slugified_title(site: Config) -> None:
    source = read_source(write(site, "a.md", article(title='"Shōgun: Season 2 Confirmed!"')), site)
    assert source.slug == "shogun-season-2-confirmed"


def test_numeric_title_is_read_as_text(site: Config) -> None:
    source = read_source(write(site, "a.md", article(title="1984")), site)
    assert source.title == "1984" and source.slug == "1984"


def test_title_whitespace_is_folded(site: Config) -> None:
    source = read_source(write(site, "a.md", article(title='"  The   Defenders\\t arrives "')), site)
    assert source.title == "The Defenders arrives"


def test_extra_keys_land_in_extra(site: Config) -> None:
    text = article("season: 2\nnetwork: Netflix\ncast: [Krysten Ritter]\n")
    source = read_source(write(site, "a.md", text), site)
    assert source.extra == {"season": 2, "network": "Netflix", "cast": ["Krysten Ritter"]}


# --- dates --------------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "expected"), [
    ("2016-03-08", datetime(2016, 3, 8, 0, 0, tzinfo=NEW_YORK)),
    ('"2016-03-08"', datetime(2016, 3, 8, 0, 0, tzinfo=NEW_YORK)),
    ("2016-03-08 14:30", datetime(2016, 3, 8, 14, 30, tzinfo=NEW_YORK)),
    ('"2016-03-08 14:30"', datetime(2016, 3, 8, 14, 30, tzinfo=NEW_YORK)),
    ("2016-03-08 14:30:00", datetime(2016, 3, 8, 14, 30, tzinfo=NEW_YORK)),
    ("2016-03-08T14:30:00-05:00", datetime(2016, 3, 8, 14, 30, tzinfo=NEW_YORK)),
    ('"2016-03-08T14:30:00-05:00"', datetime(2016, 3, 8, 14, 30, tzinfo=NEW_YORK)),
    ("'2016-03-08T14:30'", datetime(2016, 3, 8, 14, 30, tzinfo=NEW_YORK)),
    # an explicit offset is kept as the instant and shown in the site's timezone
    ("2016-07-08T14:30:00Z", datetime(2016, 7, 8, 10, 30, tzinfo=NEW_YORK)),
    ('"2016-07-08T20:30:00+02:00"', datetime(2016, 7, 8, 14, 30, tzinfo=NEW_YORK)),
])
def test_date_forms_become_aware_datetimes_in_site_timezone(site: Config, written: str,
                                                            expected: datetime) -> None:
    source = read_source(write(site, "a.md", article(date=written)), site)
    assert source.date.tzinfo is not None
    assert source.date == expected
    assert source.date.utcoffset() == expected.utcoffset()
    assert (source.date.hour, source.date.minute) == (expected.hour, expected.minute)
    assert source.date.tzinfo.utcoffset(source.date) == NEW_YORK.utcoffset(expected.replace(tzinfo=None))


def test_naive_dates_follow_daylight_saving_of_site_timezone(site: Config) -> None:
    winter = read_source(write(site, "w.md", article(date="2016-01-15 12:00")), site)
    summer = read_source(write(site, "s.md", article(date="2016-07-15 12:00")), site)
    assert winter.date.utcoffset() == timedelta(hours=-5)
    assert summer.date.utcoffset() == timedelta(hours=-4)


def test_naive_dates_use_config_timezone_not_utc(tmp_path: Path) -> None:
    tokyo = make_site(tmp_path, 'timezone = "Asia/Tokyo"\n')
    source = read_source(write(tokyo, "a.md", article(date="2016-03-08 09:00")), tokyo)
    assert source.date.utcoffset() == timedelta(hours=9)
    assert source.date.hour == 9


@pytest.mark.parametrize("written", ["next tuesday", '"2016-13-01"', '"2016-02-30 10:00"', "08/03/2016",
                                     "2016", "[2016, 3, 8]", "{day: 8}"])
def test_unreadable_date_explains_accepted_forms(site: Config, written: str) -> None:
    problem = read_error(site, "a.md", article(date=written))
    assert "cannot read 'date'" in problem.message
    assert "2016-03-08" in problem.message and "2016-03-08T14:30:00-05:00" in problem.message


@pytest.mark.parametrize("written", ["2016-13-01", "2016-02-30", "2016-02-30 10:00:00"])
def test_impossible_unquoted_date_is_a_site_error(site: Config, written: str) -> None:
    problem = read_error(site, "a.md", article(date=written))
    assert "'date'" in problem.message


def test_unreadable_updated_names_updated(site: Config) -> None:
    problem = read_error(site, "a.md", article("updated: soon\n"))
    assert "cannot read 'updated' value 'soon'" in problem.message


def test_missing_date_is_an_error(site: Config) -> None:
    problem = read_error(site, "a.md", article(date=None))
    assert "missing 'date'" in problem.message


def test_missing_date_with_near_key_gives_hint(site: Config) -> None:
    problem = read_error(site, "a.md", article("dat: 2016-03-08\n", date=None))
    assert "missing 'date'" in problem.message and "'dat' is there" in problem.message


# --- tags ---------------------------------------------------------------------------------

def test_tags_as_list(site: Config) -> None:
    source = read_source(write(site, "a.md", article('tags: ["Jessica Jones", Netflix, 2016]\n')), site)
    assert source.tags == ("Jessica Jones", "Netflix", "2016")


def test_tags_as_block_list(site: Config) -> None:
    source = read_source(write(site, "a.md", article("tags:\n  - Marvel\n  - The Defenders\n")), site)
    assert source.tags == ("Marvel", "The Defenders")


def test_tags_as_comma_string_with_whitespace_folded(site: Config) -> None:
    source = read_source(write(site, "a.md", article('tags: "  Jessica   Jones ,Netflix,, Marvel "\n')), site)
    assert source.tags == ("Jessica Jones", "Netflix", "Marvel")


def test_empty_tags_give_no_tags(site: Config) -> None:
    assert read_source(write(site, "a.md", article('tags: ""\n')), site).tags == ()
    assert read_source(write(site, "b.md", article("tags: []\n")), site).tags == ()
    assert read_source(write(site, "c.md", article("tags:\n")), site).tags == ()


def test_tag_with_empty_slug_is_an_error(site: Config) -> None:
    problem = read_error(site, "a.md", article('tags: [Marvel, "!!!"]\n'))
    assert "tag '!!!' gives an empty URL slug" in problem.message


@pytest.mark.parametrize("tags", ["{a: b}", "[[nested]]", "[{a: b}]", "[true]", "5"])
def test_tags_of_wrong_shape_are_errors(site: Config, tags: str) -> None:
    problem = read_error(site, "a.md", article(f"tags: {tags}\n"))
    assert "tag" in problem.message and "must be" in problem.message


# --- required fields ----------------------------------------------------------------------

def test_missing_title_is_an_error(site: Config) -> None:
    problem = read_error(site, "a.md", article(title=None))
    assert "missing 'title'" in problem.message
    assert "did you mean" not in problem.message


def test_missing_title_with_misspelled_key_suggests_it(site: Config) -> None:
    problem = read_error(site, "a.md", article("tittle: Jessica Jones\n", title=None))
    assert "missing 'title' in front matter" in problem.message
    assert "'tittle' is there, did you mean 'title'?" in problem.message


def test_empty_title_counts_as_missing(site: Config) -> None:
    problem = read_error(site, "a.md", article(title='"   "'))
    assert "missing 'title'" in problem.message


def test_title_must_be_text(site: Config) -> None:
    problem = read_error(site, "a.md", article(title="[a, b]"))
    assert "'title' must be text, not a list" in problem.message


def test_missing_author_without_default_is_an_error(site: Config) -> None:
    problem = read_error(site, "a.md", article(author=None))
    assert "missing 'author'" in problem.message
    assert "default_author" in problem.message


def test_missing_author_uses_default_author(tmp_path: Path) -> None:
    config = make_site(tmp_path, 'default_author = "Dana Whitfield"\n')
    source = read_source(write(config, "a.md", article(author=None)), config)
    assert source.author == "Dana Whitfield"


def test_explicit_author_wins_over_default_author(tmp_path: Path) -> None:
    config = make_site(tmp_path, 'default_author = "Dana Whitfield"\n')
    source = read_source(write(config, "a.md", article(author="Zoë Müller")), config)
    assert source.author == "Zoë Müller"


def test_author_with_empty_slug_is_an_error(site: Config) -> None:
    problem = read_error(site, "a.md", article(author='"???"'))
    assert "author '???' gives an empty URL slug" in problem.message


def test_title_with_empty_slug_is_an_error(site: Config) -> None:
    problem = read_error(site, "a.md", article(title='"!!!"'))
    assert "'title' '!!!' gives an empty URL slug" in problem.message
    assert "slug:" in problem.message


def test_title_with_empty_slug_is_fine_when_slug_given(site: Config) -> None:
    source = read_source(write(site, "a.md", article("slug: exclamations\n", title='"!!!"')), site)
    assert source.title == "!!!" and source.slug == "exclamations"


def test_given_slug_with_empty_slug_is_an_error(site: Config) -> None:
    problem = read_error(site, "a.md", article('slug: "..."\n'))
    assert "'slug' '...' gives an empty URL slug" in problem.message


@pytest.mark.parametrize("slug", ['"../../etc/passwd"', '"/etc/passwd"', '"..\\\\..\\\\boot.ini"',
                                  '"a/../../b"', '"Some Title/With Slash"'])
def test_path_like_slug_becomes_safe(site: Config, slug: str) -> None:
    source = read_source(write(site, "a.md", article(f"slug: {slug}\n")), site)
    assert SAFE_SLUG.match(source.slug), source.slug
    assert ".." not in source.slug and "/" not in source.slug


def test_traversal_slug_gives_expected_slug(site: Config) -> None:
    source = read_source(write(site, "a.md", article('slug: "../../etc/passwd"\n')), site)
    assert source.slug == "etc-passwd"


# --- draft --------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False), ("", False)])
def test_draft_reads_booleans(site: Config, value: str, expected: bool) -> None:
    assert read_source(write(site, "a.md", article(f"draft: {value}\n")), site).draft is expected


@pytest.mark.parametrize("value", ['"yes"', '"true"', "1", "0", "draft", "[true]"])
def test_draft_must_be_bool(site: Config, value: str) -> None:
    problem = read_error(site, "a.md", article(f"draft: {value}\n"))
    assert "'draft' must be true or false" in problem.message


# --- front matter shape -------------------------------------------------------------------

def test_file_without_front_matter_is_an_error(site: Config) -> None:
    problem = read_error(site, "a.md", "# Just a heading\n\nSome text.\n")
    assert "no front matter" in problem.message and "'---'" in problem.message
    assert problem.line == 1


def test_empty_file_is_an_error(site: Config) -> None:
    problem = read_error(site, "a.md", "")
    assert "no front matter" in problem.message


def test_unclosed_front_matter_is_an_error(site: Config) -> None:
    problem = read_error(site, "a.md", "---\ntitle: x\ndate: 2016-03-08\nauthor: Dana\n\nBody.\n")
    assert "front matter is not closed" in problem.message
    assert problem.line == 1


def test_unclosed_front_matter_after_blank_lines_points_at_opening_line(site: Config) -> None:
    problem = read_error(site, "a.md", "\n\n---\ntitle: x\ndate: 2016-03-08\n")
    assert "front matter is not closed" in problem.message
    assert problem.line == 3


@pytest.mark.parametrize(("front", "kind"), [("- a\n- b\n", "list"), ("just words\n", "str"),
                                             ("42\n", "int")])
def test_front_matter_that_is_not_a_mapping_is_an_error(site: Config, front: str, kind: str) -> None:
    problem = read_error(site, "a.md", f"---\n{front}---\nBody\n")
    assert f"front matter must be 'key: value' lines, not a {kind}" in problem.message


def test_empty_front_matter_reports_missing_title(site: Config) -> None:
    problem = read_error(site, "a.md", "---\n---\nBody\n")
    assert "missing 'title'" in problem.message


def test_non_string_key_is_an_error(site: Config) -> None:
    problem = read_error(site, "a.md", article("2016: year\n"))
    assert "front matter key 2016 must be a name" in problem.message


def test_invalid_yaml_is_reported_with_advice(site: Config) -> None:
    problem = read_error(site, "a.md", "---\ntitle: Hello\ndate: 2016-03-08\nauthor: Dana: Whitfield\n---\n")
    assert problem.message.startswith("invalid YAML in front matter: ")
    assert "check quotes, colons and indentation" in problem.message


@pytest.mark.parametrize(("text", "line"), [
    ("---\ntitle: Hello\ndate: 2016-03-08\nauthor: Dana: Whitfield\n---\nBody\n", 4),
    ("\n\n---\ntitle: Hello\ndate: 2016-03-08\nauthor: Dana: Whitfield\n---\nBody\n", 6),
    ("---\ntitle: Hello\ndate: 2016-03-08\n\tauthor: Dana\n---\nBody\n", 4),
])
def test_invalid_yaml_reports_file_line(site: Config, text: str, line: int) -> None:
    problem = read_error(site, "a.md", text)
    assert "invalid YAML" in problem.message
    assert problem.line == line


@pytest.mark.parametrize(("front", "key", "line"), [
    ("title: Hello\ndate: someday\nauthor: Dana\n", "date", 3),
    ("title: Hello\ndate: 2016-03-08\nauthor: Dana\ndraft: maybe\n", "draft", 5),
    ('title: "!!!"\ndate: 2016-03-08\nauthor: Dana\n', "title", 2),
    ('title: Hello\ndate: 2016-03-08\nauthor: Dana\ntags: [a, "!!!"]\n', "tags", 5),
])
def test_field_error_names_the_key_line(site: Config, front: str, key: str, line: int) -> None:
    problem = read_error(site, "a.md", f"---\n{front}---\nBody\n")
    assert f"'{key}'" in problem.message or key == "tags"
    assert problem.line == line


@pytest.mark.parametrize("blank_lines", [0, 1, 3])
def test_body_line_is_the_files_line_of_the_bodys_line_0(site: Config, blank_lines: int) -> None:
    """Later stages add a 0-based line of the body text (which starts with the newline that
    ends the closing ---, and python-frontmatter's split may take blank lines after it) to
    body_line: the sum must be the file's line. It was one too many with no blank line."""
    text = ("---\ntitle: Hello\ndate: 2016-03-08\nauthor: Dana\n---\n" + "\n" * blank_lines
            + "First body line\n")
    source = read_source(write(site, "a.md", text), site)
    in_body = source.body.split("\n").index("First body line")
    assert source.body_line + in_body == 6 + blank_lines


def test_yaml_error_beyond_first_line_is_reported_below_opening_marker(site: Config) -> None:
    # Holds with or without the off-by-one above: the reported line is inside the front matter.
    problem = read_error(site, "a.md", "\n\n---\ntitle: Hello\ndate: 2016-03-08\nauthor: Dana: W\n---\n")
    assert problem.line is not None and 4 <= problem.line <= 7


def test_yaml_alias_bomb_is_refused(site: Config) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = name
    text = article("\n".join(lines) + "\n")
    problem = read_error(site, "bomb.md", text)
    assert "aliases" in problem.message


def test_single_reused_alias_is_refused(site: Config) -> None:
    problem = read_error(site, "a.md", article("cast: &c [Krysten Ritter]\nstars: *c\n"))
    assert "aliases" in problem.message


def test_moderately_nested_extra_value_is_kept(site: Config) -> None:
    source = read_source(write(site, "a.md", article("x: [[[[1]]]]\n")), site)
    assert source.extra == {"x": [[[[1]]]]}


def test_front_matter_nested_beyond_limit_is_refused(site: Config) -> None:
    depth = 1000
    problem = read_error(site, "a.md", article("x: " + "[" * depth + "]" * depth + "\n"))
    assert "nested too deeply" in problem.message


def test_very_deep_nesting_does_not_crash_the_interpreter(site: Config) -> None:
    depth = 50_000
    path = write(site, "deep.md", article("x: " + "[" * depth + "]" * depth + "\n"))
    # In a child process: a crash there must fail this test, not kill the test run.
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from sitegen.config import load_config\n"
        "from sitegen.content.sources import read_source\n"
        "from sitegen.errors import SiteError\n"
        "config = load_config(Path(sys.argv[1]))\n"
        "try:\n"
        "    read_source(Path(sys.argv[2]), config)\n"
        "except SiteError as exc:\n"
        "    print(exc.problem.message)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(site.site_dir), str(path)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.returncode
    assert "nested too deeply" in result.stdout


# --- encoding, size and line endings ------------------------------------------------------

def test_non_utf8_bytes_are_reported_with_their_line(site: Config) -> None:
    data = b"---\ntitle: Hello\ndate: 2016-03-08\nauthor: Zo\xeb\n---\nBody\n"
    problem = read_error(site, "a.md", data)
    assert "UTF-8" in problem.message
    assert "0xeb" in problem.message
    assert problem.line == 4


def test_non_utf8_byte_in_body_is_reported_with_its_line(site: Config) -> None:
    data = b"---\ntitle: Hello\ndate: 2016-03-08\nauthor: Dana\n---\n\nCaf\xe9 culture\n"
    problem = read_error(site, "a.md", data)
    assert "UTF-8" in problem.message and problem.line == 7


def test_non_utf8_byte_after_bom_is_reported_correctly(site: Config) -> None:
    data = b"\xef\xbb\xbf---\ntitle: Hello\ndate: 2016-03-08\nauthor: Dana\n---\n\xff bad\n"
    problem = read_error(site, "a.md", data)
    assert "0xff" in problem.message
    assert problem.line == 6


def test_nul_bytes_are_refused_with_their_line(site: Config) -> None:
    problem = read_error(site, "a.md", article(body="Fine\nBad \x00 byte\n"))
    assert "NUL" in problem.message
    assert problem.line == 7


def test_file_over_size_limit_names_its_size(site: Config) -> None:
    filler = "x" * 79 + "\n"
    body = filler * (5 * 1024 * 1024 // len(filler) + 1)
    problem = read_error(site, "huge.md", article(body=body))
    assert "5.0 MiB" in problem.message
    assert f"limit of {MAX_SOURCE_BYTES // 1048576} MiB" in problem.message


def test_file_just_under_size_limit_is_read(site: Config) -> None:
    head = article(body="")
    body = "word " * ((MAX_SOURCE_BYTES - len(head) - 10) // 5)
    path = write(site, "big.md", head + body)
    assert path.stat().st_size <= MAX_SOURCE_BYTES
    assert read_source(path, site).title == "Jessica Jones renewed"


def test_bom_is_ignored(site: Config) -> None:
    source = read_source(write(site, "a.md", "\ufeff" + article()), site)
    assert source.title == "Jessica Jones renewed"


def test_crlf_line_endings_read_fine(site: Config) -> None:
    text = article('tags: [Marvel]\n', body="Line one\nLine two\n").replace("\n", "\r\n")
    source = read_source(write(site, "a.md", "\ufeff" + text), site)
    assert source.title == "Jessica Jones renewed"
    assert source.tags == ("Marvel",)
    assert "\r" not in source.body and "\r" not in source.title
    assert source.body.strip() == "Line one\nLine two"


def test_old_mac_cr_line_endings_read_fine(site: Config) -> None:
    source = read_source(write(site, "a.md", article().replace("\n", "\r")), site)
    assert source.author == "Dana Whitfield"


def test_leading_blank_lines_before_front_matter_are_fine(site: Config) -> None:
    source = read_source(write(site, "a.md", "\n\n  \n" + article()), site)
    assert source.title == "Jessica Jones renewed"


# --- finding and reading many files -------------------------------------------------------

def test_find_sources_skips_hidden_underscore_and_non_markdown(site: Config) -> None:
    keep = ["a.md", "reviews/b.md", "reviews/2016/c.md"]
    skip = [".hidden.md", "_drafts/d.md", "reviews/_partial.md", ".git/e.md", "notes.txt",
            "a.md~", "image.png", "reviews/.#b.md", "README.markdown"]
    for name in keep + skip:
        write(site, name, article())
    (site.site_dir / "content" / "folder.md").mkdir()
    found = find_sources(site.site_dir)
    assert [p.relative_to(site.site_dir / "content").as_posix() for p in found] == sorted(keep)


def test_find_sources_without_content_folder_is_an_error(tmp_path: Path) -> None:
    """Not an empty list: a build would publish an empty site (issue 16)."""
    with pytest.raises(BuildError) as info:
        find_sources(tmp_path)
    (problem,) = info.value.problems
    assert problem.file == "content" and "folder not found" in problem.message


def test_find_sources_ignores_underscore_in_site_path_above_content(tmp_path: Path) -> None:
    config = make_site(tmp_path / "_site")
    write(config, "a.md", article())
    assert len(find_sources(config.site_dir)) == 1


def test_read_sources_collects_problems_and_keeps_good_files(site: Config) -> None:
    write(site, "good-1.md", article(title="First"))
    write(site, "bad-date.md", article(date="tomorrow"))
    write(site, "no-front.md", "Just text\n")
    write(site, "reviews/good-2.md", article(title="Second"))
    write(site, "bad-bytes.md", b"---\ntitle: \xff\n---\n")
    sources, problems = read_sources(site)
    assert sorted(s.title for s in sources) == ["First", "Second"]
    assert sorted(p.file for p in problems) == ["content/bad-bytes.md", "content/bad-date.md",
                                                "content/no-front.md"]
    assert all(isinstance(p, Problem) for p in problems)


def test_read_sources_on_empty_site(site: Config) -> None:
    assert read_sources(site) == ([], [])


def test_rel_path_uses_forward_slashes_relative_to_site(site: Config) -> None:
    path = write(site, "reviews/2016/a.md", article())
    assert read_source(path, site).rel_path == "content/reviews/2016/a.md"


def test_read_source_with_loaded_default_config(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    config = load_config(tmp_path)
    source = read_source(write(config, "a.md", article(date="2016-03-08 14:30")), config)
    assert source.date.utcoffset() == timedelta(0)


@pytest.mark.parametrize("image", ["images/still.png", "//cdn.example/x.png",
                                   "javascript:alert(1)", "data:image/png;base64,AAAA"])
def test_image_must_be_a_site_path_or_web_url(site: Config, image: str) -> None:
    problem = read_error(site, "a.md", f'---\ntitle: Hello\ndate: 2016-03-08\nauthor: Dana\n'
                                       f'image: "{image}"\n---\nBody\n')
    assert problem.line == 5 and "'image'" in problem.message


def test_image_paths_and_urls_are_kept(site: Config) -> None:
    for image in ("/images/still.png", "https://cdn.example/x.png"):
        path = write(site, "ok.md", f"---\ntitle: Hello\ndate: 2016-03-08\nauthor: Dana\n"
                                    f"image: {image}\n---\nBody\n")
        assert read_source(path, site).image == image


def test_expires_is_read_in_the_site_timezone(site: Config) -> None:
    path = write(site, "e.md", "---\ntitle: Hello\ndate: 2016-03-08\nauthor: Dana\n"
                               "expires: 2016-03-09 18:00\n---\nBody\n")
    expires = read_source(path, site).expires
    assert expires is not None and expires.tzinfo is not None
    assert (expires.day, expires.hour) == (9, 18) and expires.utcoffset() == site.tz.utcoffset(
        expires.replace(tzinfo=None))
# --- found by the property tests (tests/e2e/test_properties.py) ---------------------------------

def test_nul_written_as_a_yaml_escape_becomes_a_space(site: Config) -> None:
    source = read_source(write(site, "a.md", article('summary: "Stop\\0here"\n',
                                                     title='"Nul\\0Title"')), site)
    assert source.title == "Nul Title" and source.summary == "Stop here"


@pytest.mark.parametrize(("written", "url"), [
    ("/img/lead photo.jpg", "/img/lead%20photo.jpg"),
    ("https://cdn.example.com/a%20b.jpg?w=800&h=600", "https://cdn.example.com/a%20b.jpg?w=800&h=600"),
    ("/img/Zoë {2}.jpg", "/img/Zo%C3%AB%20%7B2%7D.jpg"),
    ("/50%off.jpg", "/50%25off.jpg"),
    ("/img\\\\lead.jpg", "/img%5Clead.jpg"),
])
def test_image_becomes_a_valid_url(site: Config, written: str, url: str) -> None:
    source = read_source(write(site, "a.md", article(f'image: "{written}"\n')), site)
    assert source.image == url


@pytest.mark.parametrize("written", ["javascript:alert(1)", "JavaScript:x", "data:image/png;base64,xx",
                                     "file:///etc/passwd", "vbscript:x"])
def test_image_with_another_scheme_is_refused(site: Config, written: str) -> None:
    problem = read_error(site, "a.md", article(f'image: "{written}"\n'))
    assert problem.line == 5
    assert "'image' must be a web address (https://...) or a path on the site" in problem.message


def test_a_file_name_with_a_newline_is_shown_escaped_on_one_line(site: Config) -> None:
    path = write(site, "bad\nname.md", "no front matter\n")
    with pytest.raises(SiteError) as info:
        read_source(path, site)
    assert str(info.value.problem).startswith("content/bad\\nname.md:1: no front matter")
    assert "\n" not in str(info.value.problem)


# --- the calendar's edges ---------------------------------------------------------------------

@pytest.mark.parametrize(("zone", "value", "ok"), [
    ("UTC", "0001-01-01T00:00:00+00:00", True),
    ("UTC", "9998-12-31T23:59:59+00:00", True),
    ("UTC", "9999-01-01", False),
    ("UTC", "9999-12-31T23:59:59-12:00", False),  # past 9999 in UTC: an OverflowError
    ("UTC", "0001-01-01T00:00:00+14:00", False),  # before year 1 in UTC
    ("Asia/Tokyo", "0001-01-01", False),  # midnight in Tokyo is the year 0 in UTC
    ("America/New_York", "0001-01-01", True),
    ("Etc/GMT+12", "9998-12-31T23:00:00", False),  # 9999 in UTC
])
def test_dates_must_lie_in_the_years_1_to_9998_in_the_sites_zone_and_utc(
        tmp_path: Path, zone: str, value: str, ok: bool) -> None:
    config = make_site(tmp_path, f'timezone = "{zone}"\n')
    text = article(date=value)
    if ok:
        source = read_source(write(config, "a.md", text), config)
        assert source.date.tzinfo is not None
        return
    problem = read_error(config, "a.md", text)
    assert problem.line == 3
    assert "'date'" in problem.message and "is out of range" in problem.message


# --- warnings found while reading (Source.notices) --------------------------------------------

def notices(config: Config, text: str | bytes) -> list[tuple[str, int | None, str]]:
    source = read_source(write(config, "a.md", text), config)
    return [(n.kind, n.problem.line, n.problem.message) for n in source.notices]


def test_a_duplicate_key_is_noted_at_the_line_of_its_second_use(site: Config) -> None:
    text = article("summary: First\ntags: [a]\nsummary: Second\n")
    (kind, line, message), = notices(site, text)
    assert (kind, line) == ("duplicate-key", 7)
    assert message == ("'summary' is given twice in front matter (first on line 5); the last "
                       "one is used: remove the other")
    assert read_source(site.site_dir / "content" / "a.md", site).summary == "Second"


def test_duplicate_keys_inside_a_value_and_a_repeated_title_are_noted(site: Config) -> None:
    text = ("---\ntitle: One\ndate: 2016-03-08\nauthor: Dana\ncast:\n  lead: Krysten\n"
            "  lead: Ritter\ntitle: Two\n---\nBody\n")
    found = notices(site, text)
    assert [(k, line) for k, line, _ in found] == [("duplicate-key", 7), ("duplicate-key", 8)]
    assert "'lead' is given twice" in found[0][2] and "(first on line 6)" in found[0][2]
    assert "'title' is given twice" in found[1][2] and "(first on line 2)" in found[1][2]


def test_quoted_and_plain_spellings_of_a_key_are_the_same_key(site: Config) -> None:
    text = article('"summary": First\nsummary: Second\n')
    assert [(k, line) for k, line, _ in notices(site, text)] == [("duplicate-key", 6)]


def test_each_repeated_key_is_noted_and_distinct_keys_are_not(site: Config) -> None:
    keys = "".join(f"key{i}: {i}\n" for i in range(5000))
    assert notices(site, article(keys)) == []
    repeated = "".join(f"key{i % 2500}: {i}\n" for i in range(5000))
    assert len(notices(site, article(repeated))) == 2500


@pytest.mark.parametrize(("slug", "made"), [
    ("../../news/x", "news-x"), ("/etc/passwd", "etc-passwd"), ("a/b", "a-b"),
    ("..\\\\..\\\\x", "x")])
def test_a_slug_that_is_a_path_is_made_safe_with_a_notice(site: Config, slug: str,
                                                          made: str) -> None:
    text = article(f'slug: "{slug}"\n')
    source = read_source(write(site, "a.md", text), site)
    assert source.slug == made
    (kind, line, message), = notices(site, text)
    assert (kind, line) == ("unsafe-slug", 5)
    assert f"sitegen made it '{made}'" in message and f"write 'slug: {made}'" in message


def test_an_ordinary_slug_gives_no_notice(site: Config) -> None:
    assert notices(site, article("slug: jessica-jones-renewed\n")) == []
    assert notices(site, article('slug: "Jessica Jones: Renewed!"\n')) == []


def test_an_alias_written_as_a_path_without_its_slash_is_noted(site: Config) -> None:
    text = article('aliases: ["2015/11/old-slug", "older-slug", "/2014/01/oldest/"]\n')
    (kind, line, message), = notices(site, text)
    assert (kind, line) == ("unsafe-slug", 5)
    assert "'2015-11-old-slug'" in message and "'/2015/11/old-slug'" in message


# --- characters pages and feeds cannot carry ------------------------------------------------

@pytest.mark.parametrize(("escape", "char"), [
    ("\\uFFFE", "\ufffe"), ("\\uFFFF", "\uffff"), ("\\x01", "\x01"), ("\\x85", "\x85"),
    ("\\uFDD0", "\ufdd0"), ("\\U0001FFFF", "\U0001ffff"), ("\\x0b", "\x0b")])
def test_escaped_characters_are_left_out_of_every_text_field_with_a_notice(
        site: Config, escape: str, char: str) -> None:
    text = ('---\ntitle: "Jessica' + escape + 'Jones"\ndate: 2016-03-08\n'
            'author: "Dana' + escape + 'Whitfield"\ntags: ["Net' + escape + 'flix", "Drama"]\n'
            'summary: "A' + escape + 'summary"\ndescription: "D' + escape + '"\n'
            'subtitle: "S' + escape + '"\ncast: ["' + escape + 'Ritter"]\n---\nBody\n')
    source = read_source(write(site, "a.md", text), site)
    values = [source.title, source.author, *source.tags, source.summary, source.description,
              source.extra["subtitle"], *source.extra["cast"]]
    assert not any(char in value for value in values), values
    assert source.title in ("Jessica Jones", "JessicaJones")
    found = notices(site, text)
    assert [(k, line) for k, line, _ in found] == [("invalid-character", n) for n in range(2, 10)
                                                   if n != 3]
    assert all(f"the character U+{ord(char):04X}, which pages and feeds cannot carry" in m
               for _, _, m in found)


def test_a_lone_surrogate_in_front_matter_is_an_error_at_its_line(site: Config) -> None:
    """libyaml refuses the escape; what it reads never holds one."""
    problem = read_error(site, "a.md", article('summary: "half \\ud83d an emoji"\n'))
    assert problem.line == 5 and "invalid YAML" in problem.message
    problem = read_error(site, "a.md", '---\ntitle: T\ndate: "\\ud800"\nauthor: A\n---\nB\n')
    assert problem.line == 3


def test_a_raw_noncharacter_in_the_body_is_left_out_with_a_notice(site: Config) -> None:
    text = article(body="Line one.\nLine \ufffe two \uffff.\n")
    source = read_source(write(site, "a.md", text), site)
    assert "\ufffe" not in source.body and "\uffff" not in source.body
    assert "Line  two ." in source.body
    (kind, line, message), = notices(site, text)
    assert (kind, line) == ("invalid-character", 7)  # the second line of the body
    assert message.startswith("the file holds the character U+FFFE")


def test_a_surrogate_written_as_raw_bytes_is_not_utf8_at_its_line(site: Config) -> None:
    problem = read_error(site, "a.md", b"---\ntitle: Half \xed\xa0\x80 emoji\ndate: 2016-03-08\n"
                                       b"author: Dana\n---\nBody\n")
    assert problem.line == 2 and "not UTF-8 text (byte 0xed)" in problem.message

# --- one file cannot stall a build: work linear in the file, counts capped ------------------------

class _CountingRe:
    """The `re` module as sitegen.content sees it, counting the characters each call is given
    to scan: a regex over the whole front matter per key made 40,000 keys take 75 s."""

    def __init__(self) -> None:
        self.scanned = 0

    def __getattr__(self, name: str) -> object:
        real = getattr(re, name)
        if name not in ("search", "match", "fullmatch", "finditer", "findall", "sub", "split"):
            return real

        def counted(pattern: object, text: str, *args: object, **kwargs: object) -> object:
            self.scanned += len(text)
            return real(pattern, text, *args, **kwargs)
        return counted


def test_key_lines_take_one_pass_over_the_front_matter(site: Config,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import sitegen.content.sources

    counting = _CountingRe()
    monkeypatch.setattr(sitegen.content.sources, "re", counting)
    keys = "".join(f"key_{i}: {i}\n" for i in range(2000))
    text = article(keys + "tags: [a, b]\n")
    source = read_source(write(site, "many-keys.md", text), site)
    assert counting.scanned <= 2 * len(text), counting.scanned  # it was 2,000 x the front matter
    lines = text.split("\n")
    for key in ("title", "tags", "key_0", "key_1999"):
        assert lines[source.line_of[key] - 1].startswith(f"{key}:")
    assert len(source.extra) == 2000


def test_key_lines_are_those_of_the_keys_as_written(site: Config) -> None:
    """Lines come from the YAML parse: quoted keys and a key's first occurrence count."""
    text = '---\ntitle: T\ndate: 2016-03-08\n"author": Ann\nnote: |\n  x: 1\nx: 2\n---\nBody\n'
    source = read_source(write(site, "lines.md", text), site)
    assert source.line_of["author"] == 4
    assert source.line_of["x"] == 7


def test_more_than_the_maximum_of_tags_is_refused_with_the_line(site: Config) -> None:
    from sitegen.content.sources import MAX_TAGS

    tags = "".join(f"  - Tag {i}\n" for i in range(MAX_TAGS + 1))
    problem = read_error(site, "tags.md", article("tags:\n" + tags))
    assert problem.line == 5
    assert f"{MAX_TAGS + 1} tags" in problem.message and f"at most {MAX_TAGS}" in problem.message
    ok = "".join(f"  - Tag {i}\n" for i in range(MAX_TAGS)) + "  - Tag 0\n" * 500  # repeats
    assert len(read_source(write(site, "ok.md", article("tags:\n" + ok)), site).tags) == MAX_TAGS + 500


def test_more_than_the_maximum_of_aliases_is_refused_with_the_line(site: Config) -> None:
    from sitegen.content.sources import MAX_ALIASES

    aliases = "".join(f"  - /old/{i}/\n" for i in range(MAX_ALIASES + 1))
    problem = read_error(site, "aliases.md", article("slug: s\naliases:\n" + aliases))
    assert problem.line == 6 and f"more than {MAX_ALIASES} aliases" in problem.message
    aliases = "".join(f"  - /old/{i}/\n" for i in range(MAX_ALIASES))
    path = write(site, "ok.md", article("aliases:\n" + aliases))
    assert len(read_source(path, site).aliases) == MAX_ALIASES


def test_front_matter_over_its_limit_is_refused_before_it_is_parsed(site: Config) -> None:
    from sitegen.content.sources import MAX_FRONT_MATTER_CHARS

    summary = "summary: " + "word " * (MAX_FRONT_MATTER_CHARS // 5) + "\n"
    problem = read_error(site, "big.md", "\n" + article(summary))
    assert problem.line == 2
    assert "front matter is" in problem.message and "move long text" in problem.message
    fits = "summary: " + "word " * (MAX_FRONT_MATTER_CHARS // 5 - 100) + "\n"
    assert read_source(write(site, "fits.md", article(fits)), site).summary
