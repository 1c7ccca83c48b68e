"""`sitegen check`: every planted problem in tests/sites/check-problems/ is found at its line,
the example site is clean, and nothing is ever written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXED_NOW, REPO, TESTS, article, copy_example_site, file_hashes, run_cli, write_site

from sitegen.commands.check import ERROR, WARNING, check_site
from sitegen.commands.cli import main

PROBLEMS_SITE = TESTS / "sites" / "check-problems"

# (file, line, severity, kind, words the message must hold): one per planted problem.
PLANTED = [
    ("sitegen.toml", 15, ERROR, "broken-link", "menu item 'Reviews' leads to /tags/reviewz/"),
    ("sitegen.toml", 17, ERROR, "missing-image",
     'the image of tag "Jessica Jones" /images/no-such-tag-image.jpg'),
    ("data/schedule.yaml", 4, ERROR, "data", "invalid YAML"),
    ("content/bad-date.md", 4, ERROR, "front-matter", "cannot read 'date' value 'next tuesday'"),
    ("content/alias-clash.md", 5, ERROR, "build",
     "alias '/2020/01/a-good-article/' is the URL of content/good-article.md"),
    ("content/broken-links.md", 12, ERROR, "broken-link",
     "link /2020/01/no-such-article/ leads to /2020/01/no-such-article/, which the site does "
     "not have"),
    ("content/broken-links.md", 13, ERROR, "broken-anchor",
     "no anchor '#the-casts'; did you mean '#the-cast'?"),
    ("content/broken-links.md", 14, ERROR, "broken-link",
     "link missing-article.md points to content/missing-article.md, which does not exist"),
    ("content/broken-links.md", 15, WARNING, "unpublished-link",
     "link draft-article.md leads to content/draft-article.md, which is not published yet"),
    ("content/broken-links.md", 17, ERROR, "missing-image", "image /images/no-such-chart.png"),
    ("content/broken-links.md", 19, WARNING, "missing-alt", "image /images/logo.svg has no alt"),
    ("content/broken-links.md", 21, ERROR, "broken-anchor", "link #the-plot leads to "
     "/2020/01/an-article-full-of-links/, which has no anchor '#the-plot'"),
    ("content/image-without-alt.md", 4, WARNING, "unknown-author",
     "author 'Ann Exampel' is not in the [authors] table of sitegen.toml; did you mean "
     "'Ann Example'?"),
    ("content/image-without-alt.md", 5, ERROR, "missing-image",
     "'image' /images/no-such-photo.jpg leads to /images/no-such-photo.jpg"),
    ("content/image-without-alt.md", 5, WARNING, "missing-alt", "'image' has no 'image_alt'"),
    ("content/same-title-one.md", 5, WARNING, "tag-spelling",
     'tag "Late Night TV" is also spelled "Late-Night TV"'),
    ("content/same-title-two.md", 2, WARNING, "duplicate-title",
     "the title is also used by content/same-title-one.md"),
    ("content/typo-keys.md", 2, WARNING, "missing-summary", "no summary"),
    ("content/typo-keys.md", 5, WARNING, "unknown-key",
     "unknown front matter key 'summery'; did you mean 'summary'?"),
    ("content/typo-keys.md", 6, WARNING, "tag-spelling",
     'tag "jessica jones" is spelled "Jessica Jones" in the tag registry (sitegen.toml)'),
]


def sitegen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sitegen", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, check=False)


@pytest.fixture(scope="module")
def problems_json() -> dict:
    result = sitegen("check", "-s", str(PROBLEMS_SITE), "--format", "json")
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("file,line,severity,kind,words", PLANTED,
                         ids=[f"{p[0]}:{p[1]}:{p[3]}" for p in PLANTED])
def test_check_finds_each_planted_problem_at_its_line(problems_json: dict, file: str, line: int,
                                                      severity: str, kind: str, words: str) -> None:
    matches = [p for p in problems_json["problems"]
               if p["file"] == file and p["line"] == line and words in p["message"]]
    assert matches, f"not reported: {file}:{line}: {words}\n" + "\n".join(
        f"{p['file']}:{p['line']}: {p['message']}" for p in problems_json["problems"])
    assert matches[0]["severity"] == severity
    assert matches[0]["kind"] == kind


def test_check_reports_nothing_but_the_planted_problems(problems_json: dict) -> None:
    reported = {(p["file"], p["line"], p["severity"]) for p in problems_json["problems"]}
    planted = {(f, n, s) for f, n, s, _, _ in PLANTED}
    assert reported == planted
    assert len(problems_json["problems"]) == len(PLANTED)
    assert problems_json["errors"] == sum(p[2] == ERROR for p in PLANTED)
    assert problems_json["warnings"] == sum(p[2] == WARNING for p in PLANTED)
    assert problems_json["ok"] is False


def test_working_links_are_not_reported(problems_json: dict) -> None:
    lines = {p["line"] for p in problems_json["problems"] if p["file"] == "content/broken-links.md"}
    # line 10: a URL link and a source-file link with an anchor that both work
    assert 10 not in lines


def test_text_output_is_file_line_message(tmp_path: Path) -> None:
    result = sitegen("check", "-s", str(PROBLEMS_SITE))
    assert result.returncode == 1
    out = result.stdout.splitlines()
    assert "content/broken-links.md:12: link /2020/01/no-such-article/ leads to " \
           "/2020/01/no-such-article/, which the site does not have" in out
    assert "content/typo-keys.md:5: warning: unknown front matter key 'summery'; did you mean " \
           "'summary'? (a key your templates use as article.extra can be listed in [check] " \
           "known_keys in sitegen.toml)" in out
    errors = sum(p[2] == ERROR for p in PLANTED)
    warnings = len(PLANTED) - errors
    assert out[-1] == f"{errors} errors, {warnings} warnings (8 articles checked)."
    assert "Traceback" not in result.stderr


def test_check_writes_nothing(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(PROBLEMS_SITE, site)
    before = file_hashes(site, dirs=True)
    result = run_cli("check", cwd=site)
    assert result.returncode == 1
    assert file_hashes(site, dirs=True) == before
    assert not (site / "output").exists()


def test_example_site_is_clean() -> None:
    result = sitegen("check", "-s", str(REPO), "--strict")
    assert result.returncode == 0, result.stdout
    articles = len(list((REPO / "content").rglob("*.md")))
    assert articles >= 10
    assert result.stdout == f"No problems found ({articles} articles checked).\n"


def test_example_site_is_clean_as_json() -> None:
    result = run_cli("check", "-s", str(REPO), "--format", "json")
    assert result.returncode == 0
    report = json.loads(result.stdout)
    articles = len(list((REPO / "content").rglob("*.md")))
    assert report == {"ok": True, "strict": False, "articles": articles, "errors": 0, "warnings": 0,
                      "problems": []}


def test_warnings_pass_unless_strict(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        "a.md": article(title="No Summary Here"),
    })
    relaxed = run_cli("check", "-s", str(site))
    assert relaxed.returncode == 0
    assert "content/a.md:2: warning: no summary" in relaxed.stdout
    assert relaxed.stdout.splitlines()[-1] == ("0 errors, 1 warning (1 article checked). "
                                               "Warnings do not fail the check; --strict makes them.")
    strict = run_cli("check", "-s", str(site), "--strict")
    assert strict.returncode == 1
    assert "content/a.md:2: warning: no summary" in strict.stdout
    strict_json = json.loads(run_cli("check", "-s", str(site), "--strict", "--format",
                                     "json").stdout)
    assert strict_json["ok"] is False and strict_json["strict"] is True


def test_known_keys_in_config_silence_unknown_key_warnings(tmp_path: Path) -> None:
    config = ('title = "T"\nbase_url = "https://t.example.com"\n\n[check]\n'
              'known_keys = ["video"]\n')
    site = write_site(tmp_path / "site", {
        "a.md": article(title="With Extras", summary="S.", video="abc", subtitel="x", slot=3),
    }, config=config)
    report = check_site(site, FIXED_NOW)
    messages = [f.problem.message for f in report.findings]
    assert not any("'video'" in m for m in messages)
    assert any("unknown front matter key 'subtitel'; did you mean 'title'?" in m for m in messages)
    assert any("unknown front matter key 'slot'; the nearest known key is 'slug'" in m
               for m in messages)


def test_github_format_gives_annotations() -> None:
    result = run_cli("check", "-s", str(PROBLEMS_SITE), "--format", "github")
    assert result.returncode == 1
    assert ("::error file=content/broken-links.md,line=12,title=sitegen check (broken-link)::"
            "link /2020/01/no-such-article/ leads to") in result.stdout
    assert "::warning file=content/typo-keys.md,line=5,title=sitegen check (unknown-key)::" \
        in result.stdout


def test_config_problems_are_reported_with_their_line(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"a.md": article()},
                      config='title = "T"\ntitel = "x"\nper_page = "ten"\n')
    result = run_cli("check", "-s", str(site))
    assert result.returncode == 1
    assert "sitegen.toml:2: unknown key 'titel'; did you mean 'title'?" in result.stdout
    assert "sitegen.toml:3: 'per_page' must be a whole number, not 'ten'" in result.stdout


def test_template_errors_are_reported(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"a.md": article(summary="S.")})
    (site / "templates").mkdir()
    (site / "templates" / "tags.html").write_text(
        '{% extends "base.html" %}\n{% block content %}\n{{ tags.nothing.here }}\n{% endblock %}\n',
        encoding="utf-8")
    result = run_cli("check", "-s", str(site))
    assert result.returncode == 1
    assert "templates/tags.html:3: template error:" in result.stdout


def test_links_to_other_articles_by_url_and_by_source_path(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        "reviews/target.md": article(title="Target", summary="S.", body="## Cast list\n\nText."),
        "news/linker.md": article(title="Linker", date="2020-01-02", summary="S.", body=(
            "[a](../reviews/target.md) [b](/reviews/target.md#cast-list) "
            "[c](/2020/01/target/#cast-list) [d](/2020/01/target)\n\n"
            "[e](../reviews/target.md#cast) [f](/2020/01/target/#crew)\n")),
    })
    report = check_site(site, FIXED_NOW)
    found = [(f.problem.line, f.problem.message) for f in report.findings]
    assert found == [
        (12, "link ../reviews/target.md#cast leads to /2020/01/target/, which has no anchor "
             "'#cast'; did you mean '#cast-list'?"),
        (12, "link /2020/01/target/#crew leads to /2020/01/target/, which has no anchor '#crew'"),
    ]


def test_missing_site_folder_and_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-s", str(tmp_path / "nowhere")]) == 1
    assert "site folder not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["check", "--format", "xml"])
    assert info.value.code == 2


def test_check_of_a_copy_of_the_example_site_finds_a_new_broken_link(tmp_path: Path) -> None:
    site = copy_example_site(tmp_path / "site")
    path = site / "content" / "the-defenders-arrives.md"
    text = path.read_text(encoding="utf-8").replace(
        "(/2016/04/defenders-production-calendar/)", "(/2016/04/defenders-calendar/)")
    path.write_text(text, encoding="utf-8")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "defenders-calendar/)" in t)
    result = run_cli("check", "-s", str(site))
    assert result.returncode == 1
    assert result.stdout.startswith(
        f"content/the-defenders-arrives.md:{line}: link /2016/04/defenders-calendar/ leads to "
        "/2016/04/defenders-calendar/, which the site does not have\n")


def test_anchor_ids_are_read_from_attributes_only() -> None:
    from sitegen.commands.check import _ids

    html = ('<div data-id="no" id="yes"><h2 id=\'single\'>x</h2><a name="old" href="#">a</a>'
            '<p class="x">say id=&quot;text&quot;</p><span id="a&amp;b"></span></div>')
    assert _ids(html) == {"yes", "single", "old", "a&b"}


@pytest.mark.parametrize("date", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
def test_a_date_out_of_range_is_reported_as_json(tmp_path: Path, date: str) -> None:
    """It was an OverflowError, and `check --format json` printed nothing."""
    site = write_site(tmp_path / "site", {"a.md": "---\ntitle: Edge\ndate: " + date +
                                          "\nauthor: Ann\n---\nBody\n"})
    result = run_cli("check", "-s", str(site), "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["errors"] == 1
    (problem,) = [p for p in report["problems"] if p["severity"] == ERROR]
    assert (problem["file"], problem["line"], problem["kind"]) == ("content/a.md", 3,
                                                                   "front-matter")
    assert "is out of range" in problem["message"]


def test_what_reading_notices_is_reported_with_its_kind(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        "a.md": "---\ntitle: A\ndate: 2020-01-01\nauthor: Ann\nsummary: S\nsummary: T\n---\nB\n",
        "b.md": '---\ntitle: B\ndate: 2020-01-02\nauthor: Ann\nsummary: S\nslug: "a/../b"\n---\nB\n',
        "c.md": '---\ntitle: "C\\uFFFF"\ndate: 2020-01-03\nauthor: Ann\nsummary: S\n---\nB\n',
        "d.md": '---\ntitle: D\ndate: 2020-01-04\nauthor: Ann\nsummary: S\ndraft: true\n'
                'aliases: ["2019/01/d"]\n---\nB\n',  # a draft: check reads it too
    })
    report = json.loads(run_cli("check", "-s", str(site), "--format", "json").stdout)
    found = {(p["file"], p["line"], p["severity"], p["kind"]) for p in report["problems"]}
    assert found == {("content/a.md", 6, WARNING, "duplicate-key"),
                     ("content/b.md", 6, WARNING, "unsafe-slug"),
                     ("content/c.md", 2, WARNING, "invalid-character"),
                     ("content/d.md", 7, WARNING, "unsafe-slug")}, report["problems"]
    assert report["errors"] == 0


def test_markdown_in_plain_text_fields_is_a_warning_at_its_line(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {
        "a.md": article(title="The *old* Doctor returns", summary="Back on **BBC One** tonight."),
        "b.md": article(title="Fine: 2 * 3 * 4 and snake_case", date="2020-01-02",
                        summary="A footnote* and plain text."),
    })
    report = check_site(site, FIXED_NOW)
    found = [(f.problem.file, f.problem.line, f.severity, f.kind, f.problem.message)
             for f in report.findings if f.kind == "markdown-in-text"]
    assert [(file, line, severity) for file, line, severity, _, _ in found] == [
        ("content/a.md", 2, WARNING), ("content/a.md", 7, WARNING)]
    assert "'title' holds Markdown syntax ('*old*')" in found[0][4]
    assert "'summary' holds Markdown syntax ('**BBC One**')" in found[1][4]
