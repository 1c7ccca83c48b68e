"""`sitegen init` and `sitegen new`, run as a user would, with the files and messages checked."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import article, file_hashes, parse_html, run_cli, text_of, write_site

from sitegen.config import load_config
from sitegen.content.sources import read_source


def sitegen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sitegen", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, check=False)


# --- init -----------------------------------------------------------------------------------

def test_init_makes_a_site_that_builds_and_checks_clean(tmp_path: Path) -> None:
    site = tmp_path / "desk"
    result = sitegen("init", str(site), "--title", 'The "Late" Desk: TV & More', "--base-url",
                     "https://late-desk.example.org/", "--timezone", "America/Chicago",
                     "--author", "Zoë Ward")
    assert result.returncode == 0, result.stderr
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()) == [
        ".gitignore", "content/welcome-to-the-newsroom.md", "netlify.toml", "sitegen.toml"]
    assert f"created {site / 'sitegen.toml'}" in result.stdout or "created " in result.stdout

    raw = (site / "sitegen.toml").read_text(encoding="utf-8")
    assert raw.count("\n# ") >= 10  # explained, key by key
    settings = tomllib.loads(raw)
    assert settings["title"] == 'The "Late" Desk: TV & More'
    assert settings["base_url"] == "https://late-desk.example.org"
    assert settings["timezone"] == "America/Chicago"
    assert settings["default_author"] == "Zoë Ward"
    assert "Zoë Ward" in settings["authors"]
    netlify = tomllib.loads((site / "netlify.toml").read_text(encoding="utf-8"))
    assert netlify["build"]["publish"] == "output"
    assert "sitegen build" in netlify["build"]["command"]
    assert "output/" in (site / ".gitignore").read_text(encoding="utf-8").splitlines()

    built = sitegen("build", "-s", str(site))
    assert built.returncode == 0, built.stderr
    pages = list((site / "output").rglob("welcome-to-the-newsroom/index.html"))
    assert len(pages) == 1
    doc = parse_html(pages[0])
    assert text_of(doc.find(".//h1")) == "Welcome to the Newsroom"
    assert "Zoë Ward" in text_of(doc.find_class("byline")[0])
    assert text_of(doc.find(".//title")) == 'Welcome to the Newsroom · The "Late" Desk: TV & More'

    checked = sitegen("check", "-s", str(site), "--strict")
    assert checked.returncode == 0, checked.stdout
    assert checked.stdout == "No problems found (1 article checked).\n"


def test_init_dates_the_sample_article_now_in_the_site_timezone(tmp_path: Path) -> None:
    before = datetime.now(ZoneInfo("Asia/Kolkata")) - timedelta(minutes=1)
    assert run_cli("init", str(tmp_path / "s"), "--timezone", "Asia/Kolkata").returncode == 0
    config = load_config(tmp_path / "s")
    source = read_source(tmp_path / "s" / "content" / "welcome-to-the-newsroom.md", config)
    assert before <= source.date <= datetime.now(ZoneInfo("Asia/Kolkata"))
    assert source.date.utcoffset() == timedelta(hours=5, minutes=30)


def test_init_without_options_uses_defaults_and_a_real_timezone(tmp_path: Path) -> None:
    result = run_cli("init", "site", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "created site/sitegen.toml" in result.stdout
    assert "cd site" in result.stdout
    config = load_config(tmp_path / "site")
    assert config.title == "My TV News Site"
    assert config.default_author == "Newsroom Staff"
    ZoneInfo(config.timezone)  # a zone Python knows
    assert run_cli("build", cwd=tmp_path / "site").returncode == 0


def test_init_accepts_an_existing_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert run_cli("init", str(tmp_path / "empty")).returncode == 0
    assert (tmp_path / "empty" / "sitegen.toml").is_file()


@pytest.mark.parametrize("existing", ["notes.txt", ".git/HEAD", "content/old.md"])
def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path, existing: str) -> None:
    folder = tmp_path / "busy"
    (folder / existing).parent.mkdir(parents=True, exist_ok=True)
    (folder / existing).write_text("keep me\n", encoding="utf-8")
    before = file_hashes(folder, dirs=True)
    result = sitegen("init", str(folder))
    assert result.returncode == 1
    assert f"{folder}: is not empty; sitegen init makes a site only in a new or empty folder" \
        in result.stderr
    assert "Traceback" not in result.stderr
    assert file_hashes(folder, dirs=True) == before


def test_init_refuses_a_file_and_a_bad_timezone(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    result = run_cli("init", str(tmp_path / "file"))
    assert result.returncode == 1 and "is a file" in result.stderr
    result = run_cli("init", str(tmp_path / "new"), "--timezone", "Mars/Olympus_Mons")
    assert result.returncode == 1
    assert "--timezone: unknown time zone 'Mars/Olympus_Mons'" in result.stderr
    assert not (tmp_path / "new").exists()


def test_init_needs_a_folder() -> None:
    result = run_cli("init")
    assert result.returncode == 2
    assert "DIR" in result.stderr


# --- new ------------------------------------------------------------------------------------

REGISTRY_CONFIG = '''title = "Desk"
base_url = "https://desk.example.com"
timezone = "America/New_York"

[authors."Dana Whitfield"]
role = "Editor"

[authors."Marcus Oyelaran"]
role = "Reporter"

[tags."Jessica Jones"]
aliases = ["JJ"]
'''


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    return write_site(tmp_path / "desk", {
        "older.md": article(title="Older", date="2020-01-01", author="Marcus Oyelaran",
                            tags=["Netflix", "Late-Night TV"], summary="S."),
        "newer.md": article(title="Newer", date="2021-05-01", author="Dana Whitfield",
                            tags=["Late-Night TV"], summary="S."),
    }, config=REGISTRY_CONFIG)


def test_new_writes_the_article_and_prints_its_path(desk: Path) -> None:
    before = datetime.now(ZoneInfo("America/New_York")) - timedelta(seconds=5)
    result = sitegen("new", "Jessica Jones: Season Three, \"Confirmed\"", "--tag", "Netflix",
                     "--tag", "Casting", "--author", "Marcus Oyelaran", cwd=desk)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "content/jessica-jones-season-three-confirmed.md\n"
    assert result.stderr == ('warning: content/jessica-jones-season-three-confirmed.md: tag '
                             '"Casting" is new: not in the tag registry nor on any article\n')
    path = desk / "content" / "jessica-jones-season-three-confirmed.md"
    source = read_source(path, load_config(desk))
    assert source.title == 'Jessica Jones: Season Three, "Confirmed"'
    assert source.author == "Marcus Oyelaran"
    assert source.tags == ("Netflix", "Casting")
    assert source.draft is False
    assert source.summary is None
    assert before <= source.date <= datetime.now(ZoneInfo("America/New_York"))
    assert source.date.utcoffset() == datetime.now(ZoneInfo("America/New_York")).utcoffset()
    text = path.read_text(encoding="utf-8")
    assert text.startswith('---\ntitle: "Jessica Jones: Season Three, \\"Confirmed\\""\ndate: ')
    assert 'summary: ""\n---\n' in text

    built = sitegen("build", "-s", str(desk), "-o", str(desk.parent / "out"))
    assert built.returncode == 0, built.stderr
    assert list((desk.parent / "out").rglob("jessica-jones-season-three-confirmed/index.html"))


def test_new_refuses_to_overwrite(desk: Path) -> None:
    assert run_cli("new", "Same Story", cwd=desk).returncode == 0
    path = desk / "content" / "same-story.md"
    path.write_text(path.read_text(encoding="utf-8") + "My words.\n", encoding="utf-8")
    before = file_hashes(desk)
    result = run_cli("new", "Same Story", "--author", "Dana Whitfield", cwd=desk)
    assert result.returncode == 1
    assert "content/same-story.md: already exists; sitegen new never overwrites an article" \
        in result.stderr
    assert file_hashes(desk) == before


def test_new_refuses_a_url_another_article_has(desk: Path) -> None:
    now = datetime.now(ZoneInfo("America/New_York"))
    (desk / "content" / "reviews").mkdir()
    (desk / "content" / "reviews" / "x.md").write_text(
        article(title="Big News", date=now.strftime("%Y-%m-%d"), summary="S."), encoding="utf-8")
    result = run_cli("new", "Big News", cwd=desk)
    assert result.returncode == 1
    assert "content/reviews/x.md already has the URL" in result.stderr
    assert not (desk / "content" / "big-news.md").exists()
    assert run_cli("new", "Big News", "--slug", "big-news-2", cwd=desk).returncode == 0
    assert (desk / "content" / "big-news-2.md").is_file()


def test_new_takes_the_newest_articles_author_without_a_default(desk: Path) -> None:
    assert run_cli("new", "Who Wrote This", cwd=desk).returncode == 0
    source = read_source(desk / "content" / "who-wrote-this.md", load_config(desk))
    assert source.author == "Dana Whitfield"  # the author of the newest article


def test_new_prefers_default_author(tmp_path: Path) -> None:
    site = write_site(tmp_path / "s", {"a.md": article(author="Someone Else")},
                      config='title = "T"\ndefault_author = "Ann Example"\n')
    assert run_cli("new", "Hello", "-s", str(site)).returncode == 0
    assert read_source(site / "content" / "hello.md", load_config(site)).author == "Ann Example"


def test_new_without_any_author_says_how_to_give_one(tmp_path: Path) -> None:
    site = write_site(tmp_path / "s", {}, config='title = "T"\n')
    result = run_cli("new", "Hello", "-s", str(site))
    assert result.returncode == 1
    assert "no author: pass --author NAME, or set default_author in sitegen.toml" in result.stderr
    assert not (site / "content" / "hello.md").exists()


def test_new_warns_on_an_unknown_author(desk: Path) -> None:
    result = run_cli("new", "A Scoop", "--author", "Dana Whitfeld", cwd=desk)
    assert result.returncode == 0
    assert result.stderr == ('warning: content/a-scoop.md: author "Dana Whitfeld" is new: not in '
                             '[authors] of sitegen.toml nor on any article; did you mean '
                             '"Dana Whitfield"?\n')
    assert read_source(desk / "content" / "a-scoop.md", load_config(desk)).author == "Dana Whitfeld"


def test_new_uses_the_known_spelling_of_an_author(desk: Path) -> None:
    result = run_cli("new", "A Scoop", "--author", "dana whitfield", cwd=desk)
    assert result.returncode == 0
    assert 'author "dana whitfield" is spelled "Dana Whitfield" elsewhere' in result.stderr
    assert read_source(desk / "content" / "a-scoop.md", load_config(desk)).author == "Dana Whitfield"


def test_new_files_tags_under_the_registry_and_usual_spelling(desk: Path) -> None:
    result = run_cli("new", "Tagged", "--tag", "JJ", "--tag", "late night tv", "--tag",
                     "Jessica Jones", "--tag", "Brand New Show", cwd=desk)
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        'warning: content/tagged.md: tag "JJ" is "Jessica Jones" in the tag registry '
        '(sitegen.toml); wrote "Jessica Jones"',
        'warning: content/tagged.md: tag "late night tv" is spelled "Late-Night TV" in other '
        'articles; wrote "Late-Night TV"',
        'warning: content/tagged.md: tag "Brand New Show" is new: not in the tag registry nor on '
        'any article',
    ]
    source = read_source(desk / "content" / "tagged.md", load_config(desk))
    assert source.tags == ("Jessica Jones", "Late-Night TV", "Brand New Show")


def test_new_draft_is_left_out_of_the_build(desk: Path) -> None:
    result = run_cli("new", "Not Yet", "--draft", cwd=desk)
    assert result.returncode == 0
    assert "draft: true\n" in (desk / "content" / "not-yet.md").read_text(encoding="utf-8")
    built = run_cli("build", cwd=desk)
    assert "Left out 1 draft" in built.stdout
    assert not list((desk / "output").rglob("not-yet"))


def test_new_outside_a_site_is_refused(tmp_path: Path) -> None:
    result = run_cli("new", "Hello", cwd=tmp_path)
    assert result.returncode == 1
    assert "no sitegen.toml here" in result.stderr
    assert not (tmp_path / "content").exists()


def test_new_refuses_a_site_whose_content_folder_is_gone(desk: Path) -> None:
    """Else `mv content c; sitegen new X; sitegen build` publishes a site of one article."""
    (desk / "content").rename(desk / "c")
    result = run_cli("new", "Hello", "--author", "Dana Whitfield", cwd=desk)
    assert result.returncode == 1
    assert "content: folder not found" in result.stderr, result.stderr
    assert not (desk / "content").exists()


def test_new_with_a_title_without_letters_is_refused(desk: Path) -> None:
    result = run_cli("new", "!!!", cwd=desk)
    assert result.returncode == 1
    assert "gives an empty URL slug" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_new_site_s_git_ignores_its_output_and_cache(tmp_path: Path) -> None:
    """The .gitignore that `init` writes keeps output/, .sitegen-cache/ (a cache from
    elsewhere runs code when read) and what a build keeps beside output/ (its lock, the spare
    site) out of the repository, as git itself sees it: after two builds only the sources
    are there to commit."""
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("git is not installed")
    site = tmp_path / "desk"
    assert sitegen("init", str(site)).returncode == 0
    sources = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    for _ in range(2):  # the second keeps the first as the spare
        assert sitegen("build", "-s", str(site)).returncode == 0
    assert (site / "output" / "index.html").is_file() and (site / ".sitegen-cache").is_dir()
    subprocess.run(["git", "-C", str(site), "init", "-q"], check=True, timeout=30)
    untracked = subprocess.run(["git", "-C", str(site), "status", "--porcelain",
                                "--untracked-files=all"], capture_output=True, text=True,
                               check=True, timeout=30).stdout.splitlines()
    assert sorted(line.removeprefix("?? ") for line in untracked) == sorted(sources)
    for name in ("output", ".sitegen-cache"):
        assert subprocess.run(["git", "-C", str(site), "check-ignore", "-q", name],
                              timeout=30).returncode == 0, name
