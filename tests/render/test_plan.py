"""The plan claims every output path before anything is written: collisions fail the build.

Each case builds a good site into out/ first (so the failing build has a previous output to
reuse, as a newsroom's second build does), then adds what collides, runs `sitegen build`
through the command line and checks: exit code 1, one `FILE:LINE: message` per collision
naming both claimants, no traceback, and out/ byte for byte (folders too) as it was.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import article, file_hashes, run_cli, write_site

from sitegen.render.plan import Claimant, _collisions

CONFIG = 'title = "Desk"\nbase_url = "https://desk.example.com"\ntimezone = "UTC"\n'
ALPHA = article(title="Alpha", date="2020-01-01", tags=["Drama"])
BETA = article(title="Beta", date="2020-01-02", tags=["Drama"])
ALIAS_LINE = 7  # the `aliases:` line `with_aliases` adds to BETA


def with_aliases(text: str, *aliases: str) -> str:
    items = "".join(f"  - {a}\n" for a in aliases)
    return text.replace("\n---\n", f"\naliases:\n{items}---\n", 1)


@dataclass
class Good:
    site: Path
    out: Path
    hashes: dict[str, str]


def good_site(root: Path, config: str = CONFIG, articles: dict[str, str] | None = None,
              static: dict[str, str] | None = None) -> Good:
    """A site that builds, built once into root/out."""
    site = write_site(root / "site", articles or {"alpha.md": ALPHA, "beta.md": BETA},
                      config=config)
    for rel, text in (static or {}).items():
        (site / "static" / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / "static" / rel).write_text(text, encoding="utf-8")
    out = root / "out"
    result = run_cli("build", "-s", str(site), "-o", str(out))
    assert result.returncode == 0, result.stderr
    return Good(site, out, file_hashes(out, dirs=True))


def failed_build(good: Good) -> list[str]:
    """The error lines of a build that must fail, after checking it changed nothing."""
    result = run_cli("build", "-s", str(good.site), "-o", str(good.out))
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr and "unexpectedly" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("Build failed:")
    assert file_hashes(good.out, dirs=True) == good.hashes
    # No staging folder left (the good build, a first build, kept no spare).
    assert [p.name for p in good.out.parent.glob(".out.sitegen-*") if p.is_dir()] == []
    return lines[:-1]


def add_alias(good: Good, *aliases: str) -> None:
    (good.site / "content" / "beta.md").write_text(with_aliases(BETA, *aliases),
                                                   encoding="utf-8")


# --- an alias onto a file that is not a page --------------------------------------------------

def test_alias_onto_the_stylesheet_fails_and_keeps_it(tmp_path: Path) -> None:
    """The reproduction: the build exited 0 and output/css/style.css became a folder."""
    good = good_site(tmp_path)
    add_alias(good, "/css/style.css")
    assert failed_build(good) == [
        f"content/beta.md:{ALIAS_LINE}: alias /css/style.css/ collides with the newsroom theme's "
        "css/style.css: it would write css/style.css/index.html, but css/style.css is a file; "
        "change or remove the alias"]
    assert (good.out / "css" / "style.css").is_file()


@pytest.mark.parametrize(("alias", "other"), [
    ("/css/style.css/", "the newsroom theme's css/style.css"),
    ("/favicon.svg/", "the newsroom theme's favicon.svg"),
    ("/js/embeds.js", "the newsroom theme's js/embeds.js"),
    ("/pagefind/pagefind.js", "the search index (Pagefind's; [search] in sitegen.toml)"),
    ("/pagefind/", "the search index (Pagefind's; [search] in sitegen.toml)"),
    ("/feed.xml", "the site's RSS feed"),
    ("/atom.xml", "the site's Atom feed"),
    ("/feed.json", "the site's JSON feed"),
    ("/tags/drama/feed.xml", "the RSS feed of /tags/drama/"),
    ("/robots.txt", "sitegen's robots.txt"),
    ("/sitemap.xml", "sitegen's sitemap (sitemap.xml)"),
    ("/news-sitemap.xml", "sitegen's news sitemap (news-sitemap.xml)"),
    ("/schedule.json", "sitegen's schedule (schedule.json)"),
    ("/_redirects", "sitegen's redirects (_redirects)"),
    ("/.sitegen-manifest.json", "sitegen's list of the files it wrote (.sitegen-manifest.json)"),
    ("/404.html", "the 404 page"),
    ("/index.html", "the index page /"),
    ("/authors/", "the author index"),
    ("/archive/", "the archive"),
    ("/search/", "the search page"),  # whether Pagefind is installed or not
    ("/authors/ann-example/", "author page /authors/ann-example/"),
    ("/2020/01/alpha/index.html", "the article's page /2020/01/alpha/ (content/alpha.md:2)"),
])
def test_alias_onto_any_output_fails_naming_both(tmp_path: Path, alias: str, other: str) -> None:
    good = good_site(tmp_path)
    add_alias(good, alias)
    (error,) = failed_build(good)
    url = alias if alias.endswith(("/", ".html")) else alias + "/"
    assert error.startswith(f"content/beta.md:{ALIAS_LINE}: alias {url} collides with {other}: ")
    assert error.endswith("; change or remove the alias")


def test_alias_onto_a_later_page_of_a_list_fails(tmp_path: Path) -> None:
    good = good_site(tmp_path, CONFIG + "per_page = 1\n")
    add_alias(good, "/tags/drama/page/2/", "/page/2/")
    assert failed_build(good) == [
        f"content/beta.md:{ALIAS_LINE}: alias /page/2/ collides with the index page /: both "
        "would write page/2/index.html; change or remove the alias",
        f"content/beta.md:{ALIAS_LINE}: alias /tags/drama/page/2/ collides with tag page "
        "/tags/drama/: both would write tags/drama/page/2/index.html; change or remove the alias"]


def test_a_tags_former_url_that_another_tag_still_uses_fails(tmp_path: Path) -> None:
    """The tag registry's former slug against a tag that articles still spell the old way."""
    config = CONFIG + '[tags."Drama"]\nformer_slugs = ["tv-drama"]\n'
    good = good_site(tmp_path, config)
    (good.site / "content" / "beta.md").write_text(
        article(title="Beta", date="2020-01-02", tags=["TV Drama"]), encoding="utf-8")
    assert failed_build(good) == [
        'sitegen.toml:5: former URL /tags/tv-drama/ of tag "Drama" collides with tag page '
        "/tags/tv-drama/: both would write tags/tv-drama/index.html; remove the former slug, or "
        "retag the articles that use it"]


NO_PAGEFIND = "import sys; sys.modules['pagefind'] = None; from sitegen.commands.cli import main; " \
              "raise SystemExit(main(sys.argv[1:]))"


def build_without_pagefind(good: Good) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", NO_PAGEFIND, "build", "-s", str(good.site),
                           "-o", str(good.out)], capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.parametrize(("alias", "other"), [
    ("/search/", "the search page"),
    ("/pagefind/pagefind.js", "the search index (Pagefind's; [search] in sitegen.toml)"),
])
def test_search_paths_are_taken_on_a_machine_without_pagefind(tmp_path: Path, alias: str,
                                                              other: str) -> None:
    """A site is refused alike where Pagefind is installed and where it is not."""
    good = good_site(tmp_path)
    add_alias(good, "/old-beta/")  # a change, so the build below is not skipped as unchanged
    result = build_without_pagefind(good)
    assert result.returncode == 0 and "on-site search skipped" in result.stderr
    assert not (good.out / "search").exists()
    good.hashes = file_hashes(good.out, dirs=True)
    add_alias(good, alias)
    result = build_without_pagefind(good)
    assert result.returncode == 1
    url = alias if alias.endswith("/") else alias + "/"
    assert f"content/beta.md:{ALIAS_LINE}: alias {url} collides with {other}: " in result.stderr
    assert file_hashes(good.out, dirs=True) == good.hashes


def test_the_search_folder_is_free_when_search_is_off(tmp_path: Path) -> None:
    good = good_site(tmp_path, CONFIG + "[search]\nenabled = false\n")
    add_alias(good, "/pagefind/old/")
    result = run_cli("build", "-s", str(good.site), "-o", str(good.out))
    assert result.returncode == 0, result.stderr
    assert "/2020/01/beta/" in (good.out / "pagefind" / "old" / "index.html").read_text()


def test_check_reports_the_collision_as_text_and_json(tmp_path: Path) -> None:
    good = good_site(tmp_path)
    add_alias(good, "/css/style.css")
    message = ("alias /css/style.css/ collides with the newsroom theme's css/style.css: it would "
               "write css/style.css/index.html, but css/style.css is a file; change or remove "
               "the alias")
    text = run_cli("check", "-s", str(good.site))
    assert text.returncode == 1
    assert f"content/beta.md:{ALIAS_LINE}: {message}" in text.stdout.splitlines()
    found = json.loads(run_cli("check", "-s", str(good.site), "--format", "json").stdout)
    assert {"file": "content/beta.md", "line": ALIAS_LINE, "severity": "error",
            "kind": "build", "message": message} in found["problems"]
    assert file_hashes(good.out, dirs=True) == good.hashes


# --- static files and generated pages --------------------------------------------------------

@pytest.mark.parametrize(("rel", "expected"), [
    ("robots.txt", "static/robots.txt: static file static/robots.txt collides with sitegen's "
                   "robots.txt: both would write robots.txt; rename or remove the static file"),
    ("tags/index.html", "static/tags/index.html: static file static/tags/index.html collides "
                        "with the tag index: both would write tags/index.html; rename or remove "
                        "the static file"),
    ("feed.xml/readme.txt", "static/feed.xml/readme.txt: static file static/feed.xml/readme.txt "
                            "collides with the site's RSS feed: it would write feed.xml/readme.txt"
                            ", but feed.xml is a file; rename or remove the static file"),
    ("pagefind/pagefind-ui.js", "static/pagefind/pagefind-ui.js: static file "
                                "static/pagefind/pagefind-ui.js collides with the search index "
                                "(Pagefind's; [search] in sitegen.toml): it would write "
                                "pagefind/pagefind-ui.js, inside pagefind/, which is reserved "
                                "for it; rename or remove the static file"),
])
def test_static_file_onto_a_generated_file_fails(tmp_path: Path, rel: str, expected: str) -> None:
    good = good_site(tmp_path)
    (good.site / "static" / rel).parent.mkdir(parents=True, exist_ok=True)
    (good.site / "static" / rel).write_text("mine\n", encoding="utf-8")
    assert failed_build(good) == [expected]


def test_static_file_where_the_articles_need_a_folder_fails(tmp_path: Path) -> None:
    """Article pages x/index.html against a static file named x."""
    good = good_site(tmp_path)
    (good.site / "static").mkdir()
    (good.site / "static" / "2020").write_text("a file, not a folder\n", encoding="utf-8")
    assert failed_build(good) == [
        f"content/{name}.md:2: the article's page /2020/01/{name}/ collides with static file "
        f"static/2020: it would write 2020/01/{name}/index.html, but 2020 is a file; give the "
        "article another 'slug:' or rename what it collides with"
        for name in ("alpha", "beta")]


@pytest.mark.parametrize(("slug", "other", "path"), [
    ("tags", "the tag index", "tags/index.html"),
    ("authors", "the author index", "authors/index.html"),
])
def test_article_onto_a_list_page_fails(tmp_path: Path, slug: str, other: str,
                                        path: str) -> None:
    good = good_site(tmp_path, CONFIG + 'permalink = "/{slug}/"\n')
    (good.site / "content" / "beta.md").write_text(article(title="Beta", slug=slug),
                                                   encoding="utf-8")
    assert failed_build(good) == [
        f"content/beta.md:7: the article's page /{slug}/ collides with {other}: both would "
        f"write {path}; give the article another 'slug:' or rename what it collides with"]


def test_article_inside_the_search_folder_fails(tmp_path: Path) -> None:
    good = good_site(tmp_path, CONFIG + 'permalink = "/{slug}/"\n')
    (good.site / "content" / "beta.md").write_text(article(title="Pagefind"), encoding="utf-8")
    (error,) = failed_build(good)
    assert error.startswith("content/beta.md:2: the article's page /pagefind/ collides with the "
                            "search index (Pagefind's; [search] in sitegen.toml): it would write "
                            "pagefind/index.html, inside pagefind/")


def test_site_static_file_still_overrides_the_themes(tmp_path: Path) -> None:
    """Not a collision: a site's static/ file replaces the theme's file of the same path."""
    good = good_site(tmp_path, static={"css/style.css": "body { color: red }\n",
                                       "_redirects": "/shop  https://shop.example.com  302\n"})
    assert (good.out / "css" / "style.css").read_text() == "body { color: red }\n"
    add_alias(good, "/old-beta/")
    result = run_cli("build", "-s", str(good.site), "-o", str(good.out))
    assert result.returncode == 0, result.stderr
    assert (good.out / "_redirects").read_text().startswith(
        "/shop  https://shop.example.com  302\n# Written by sitegen")


# --- the check itself -----------------------------------------------------------------------

def claims(paths: list[str]) -> list[list[tuple[str, Claimant]]]:
    return [[(path, Claimant(f"claim {i}", f"f{i}")) for i, path in enumerate(paths)]]


def test_collisions_of_files_and_folders() -> None:
    found = _collisions(claims(["a/b", "a/b/c.html", "a", "x/y.html", "x/y.html", "x/z"]))
    assert [str(p) for p in found] == [
        "f1: claim 1 collides with claim 0 (f0): it would write a/b/c.html, but a/b is a file; "
        "rename one of them",
        "f2: claim 2 collides with claim 0 (f0): it would write a as a file, but a/b needs a to "
        "be a folder; rename one of them",
        "f4: claim 4 collides with claim 3 (f3): both would write x/y.html; rename one of them",
    ]
    assert _collisions(claims(["ab", "a/b", "a.b/c", "b/a", "a/bc", "a/b.html"])) == []
