"""Broken sites and dangerous output folders, through the command line as a user meets them.

Each case first builds a good site into out/ and records every file's hash, then breaks the
site, runs `sitegen build` (sitegen.commands.cli.main) and checks: exit code 1, a message naming the
file (and line) with a useful phrase, no traceback, and out/ byte for byte as it was.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import MANIFEST, article, file_hashes, write_site

from sitegen.commands.cli import main
from sitegen.incremental import snapshot

GOOD_ARTICLES = {
    "alpha.md": article(title="Alpha", date="2020-01-01", tags=["Drama"]),
    "beta.md": article(title="Beta", date="2020-01-02", tags=["Drama", "Comedy"]),
}


@dataclass
class Good:
    root: Path  # tmp_path
    site: Path
    out: Path
    hashes: dict[str, str]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def good_template(tmp_path_factory: pytest.TempPathFactory) -> Good:
    """A good site and its output, built once with the CLI; `good` hands out copies."""
    root = tmp_path_factory.mktemp("good")
    site = write_site(root / "site", GOOD_ARTICLES)
    out = root / "out"
    assert main(["build", "-s", str(site), "-o", str(out)]) == 0
    hashes = file_hashes(out)
    assert MANIFEST in hashes and "2020/01/alpha/index.html" in hashes
    return Good(root, site, out, hashes)


@pytest.fixture
def good(good_template: Good, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Good:
    site, out = tmp_path / "site", tmp_path / "out"
    shutil.copytree(good_template.site, site, symlinks=True)
    shutil.copytree(good_template.out, out, symlinks=True)
    capsys.readouterr()
    good = Good(tmp_path, site, out, file_hashes(out))
    assert good.hashes == good_template.hashes
    return good


def assert_output_unchanged(good: Good) -> None:
    assert file_hashes(good.out) == good.hashes
    leftovers = [p.name for p in good.out.parent.glob(f".{good.out.name}.sitegen-*")
                 if p.is_dir()]
    assert leftovers == []


# --- ways to break a site -------------------------------------------------------------------------

def write(rel: str, text: str | bytes) -> Callable[[Path], None]:
    def breaker(site: Path) -> None:
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return breaker


def append_config(line: str) -> Callable[[Path], None]:
    def breaker(site: Path) -> None:
        config = site / "sitegen.toml"
        config.write_text(config.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    return breaker


def huge_article(site: Path) -> None:
    body = ("All work and no play makes a very long article. " * 90_000)  # ~4.4 MB
    (site / "content" / "huge.md").write_text(
        article(title="Huge", date="2020-01-05", body=body), encoding="utf-8")


ALIAS_BOMB = """---
title: Bomb
date: 2020-01-03
author: Ann
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
---
Body
"""


@dataclass(frozen=True)
class Case:
    breaker: Callable[[Path], None]
    where: str  # regex for the start of the message line: file, optional line
    phrase: str  # must follow on the same line
    exact: str  # regex: the start of the message line, with the right line (or no line)


CASES = {
    # file line 4 holds the bad colon
    "invalid-yaml": Case(write("content/broken.md",
                               "---\ntitle: Broken\ndate: 2020-01-03\nauthor: Ann: Example\n"
                               "---\nBody\n"),
                         r"content/broken\.md:\d+", "invalid YAML in front matter",
                         r"content/broken\.md:4: "),
    "unclosed-quote": Case(write("content/broken.md",
                                 '---\ntitle: "Broken\ndate: 2020-01-03\nauthor: Ann\n---\nBody\n'),
                           r"content/broken\.md:\d+", "invalid YAML in front matter",
                           r"content/broken\.md:2: "),
    "missing-title": Case(write("content/broken.md", "---\ndate: 2020-01-03\nauthor: Ann\n---\n"
                                                     "Body\n"),
                          r"content/broken\.md:\d+", "missing 'title' in front matter",
                          r"content/broken\.md:[12]: "),  # the front matter's start
    "missing-date": Case(write("content/broken.md", "---\ntitle: Broken\nauthor: Ann\n---\n"
                                                    "Body\n"),
                         r"content/broken\.md:\d+", "missing 'date' in front matter",
                         r"content/broken\.md:[12]: "),
    "unreadable-date": Case(write("content/broken.md", "---\ntitle: Broken\nauthor: Ann\n"
                                                       "date: next tuesday\n---\nBody\n"),
                            r"content/broken\.md:\d+", "cannot read 'date' value 'next tuesday'",
                            r"content/broken\.md:4: "),
    "tags-mapping": Case(write("content/broken.md", "---\ntitle: Broken\nauthor: Ann\n"
                                                    "date: 2020-01-03\ntags: {a: b}\n---\nBody\n"),
                         r"content/broken\.md:\d+", "'tags' must be a list",
                         r"content/broken\.md:5: "),
    "not-utf8": Case(write("content/broken.md", b"---\ntitle: Broken\nauthor: Ann\n"
                                                b"date: 2020-01-03\n---\nCaf\xe9 au lait\n"),
                     r"content/broken\.md:\d+", "not UTF-8 text (byte 0xe9)",
                     r"content/broken\.md:6: "),
    "alias-bomb": Case(write("content/broken.md", ALIAS_BOMB), r"content/broken\.md:\d+",
                       "YAML aliases", r"content/broken\.md:[1-9]: "),  # within the front matter
    "huge-file": Case(huge_article, r"content/huge\.md", "over the limit of 1 MiB",
                      r"content/huge\.md(:1)?: "),
    "same-url": Case(write("content/clash.md", article(title="Alpha", date="2020-01-20")),
                     r"content/clash\.md(:\d+)?", "would share the URL /2020/01/alpha/",
                     r"content/clash\.md:2: "),  # line 2: the title that makes the slug
    "no-front-matter": Case(write("content/broken.md", "Just text, no front matter.\n"),
                            r"content/broken\.md:\d+", "no front matter",
                            r"content/broken\.md:1: "),
    "unclosed-front-matter": Case(write("content/broken.md", "---\ntitle: Broken\n"),
                                  r"content/broken\.md:\d+", "front matter is not closed",
                                  r"content/broken\.md:1: "),
    "unknown-config-key": Case(append_config("per_pgae = 3"), r"sitegen\.toml:\d+",
                               "unknown key 'per_pgae'; did you mean 'per_page'?",
                               r"sitegen\.toml:4: "),
    "invalid-toml": Case(append_config('per_page = = 3\nlanguage = "en"'), r"sitegen\.toml:\d+",
                         "invalid TOML", r"sitegen\.toml:4: "),
    "template-syntax": Case(write("templates/article.html",
                                  '{% extends "base.html" %}\n{% block content %}\n'
                                  "<h1>{{ article.title }</h1>\n{% endblock %}\n"),
                            r"templates/article\.html:\d+", "template syntax error",
                            r"templates/article\.html:3: "),
    "template-runtime": Case(write("templates/article.html",
                                   '{% extends "base.html" %}\n{% block content %}\n'
                                   "<h1>{{ article.no_such_field.upper() }}</h1>\n"
                                   "{% endblock %}\n"),
                             r"templates/article\.html:\d+", "template error",
                             r"templates/article\.html:3: "),
    "bad-theme": Case(append_config('theme = "no-such-theme"'), r"sitegen\.toml(:\d+)?",
                      "theme 'no-such-theme' not found", r"sitegen\.toml:4: "),
    # Dates at the calendar's edges: converted to UTC or the site's zone they left Python's
    # datetime (years 1 to 9999), and the build ended in an OverflowError.
    "date-after-9999": Case(write("content/edge.md", "---\ntitle: Edge\nauthor: Ann\n"
                                  "date: 9999-12-31T23:59:59-12:00\n---\nBody\n"),
                            r"content/edge\.md:\d+", "'date' '9999-12-31 23:59:59-12:00' is "
                            "out of range", r"content/edge\.md:4: "),
    "date-before-year-1": Case(write("content/edge.md", "---\ntitle: Edge\nauthor: Ann\n"
                                     "date: 0001-01-01T00:00:00+14:00\n---\nBody\n"),
                               r"content/edge\.md:\d+", "'date' '0001-01-01 00:00:00+14:00' is "
                               "out of range", r"content/edge\.md:4: "),
    "date-quoted-before-year-1": Case(write("content/edge.md", "---\ntitle: Edge\nauthor: Ann\n"
                                            'date: "0001-01-01T00:00:00+14:00"\n---\nBody\n'),
                                      r"content/edge\.md:\d+", "is out of range",
                                      r"content/edge\.md:4: "),
    "date-year-9999": Case(write("content/edge.md", "---\ntitle: Edge\nauthor: Ann\n"
                                 "date: 9999-12-31\n---\nBody\n"),
                           r"content/edge\.md:\d+", "is out of range: sitegen takes dates "
                           "from the year 1 to 9998", r"content/edge\.md:4: "),
    "updated-after-9999": Case(write("content/edge.md", "---\ntitle: Edge\nauthor: Ann\n"
                                     "date: 2020-01-03\nupdated: 9999-12-31T23:59:59-12:00\n---\n"
                                     "Body\n"),
                               r"content/edge\.md:\d+", "'updated' '9999-12-31 23:59:59-12:00' "
                               "is out of range", r"content/edge\.md:5: "),
    "expires-after-9999": Case(write("content/edge.md", "---\ntitle: Edge\nauthor: Ann\n"
                                     "date: 2020-01-03\nexpires: 9999-12-31T23:59:59-12:00\n"
                                     "---\nBody\n"),
                               r"content/edge\.md:\d+", "'expires' '9999-12-31 23:59:59-12:00' "
                               "is out of range", r"content/edge\.md:5: "),
}



@pytest.mark.parametrize("name", list(CASES))
def test_broken_site_fails_with_a_located_message_and_keeps_output(
        good: Good, capsys: pytest.CaptureFixture[str], name: str) -> None:
    case = CASES[name]
    case.breaker(good.site)
    code, stdout, err = run(capsys, "build", "-s", str(good.site), "-o", str(good.out))
    assert code == 1, err
    assert re.search(rf"^{case.where}: .*{re.escape(case.phrase)}", err, re.MULTILINE), err
    assert "Build failed: 1 error." in err
    assert "Nothing was written; the previous output is unchanged." in err
    assert "Traceback" not in err + stdout
    assert "Built " not in stdout
    assert_output_unchanged(good)


@pytest.mark.parametrize("name", [
    name for name in CASES])
def test_broken_site_message_points_at_the_right_line(
        good: Good, capsys: pytest.CaptureFixture[str], name: str) -> None:
    case = CASES[name]
    case.breaker(good.site)
    code, _, err = run(capsys, "build", "-s", str(good.site), "-o", str(good.out))
    assert code == 1
    assert [line for line in err.splitlines() if re.match(case.exact, line)], err


def test_every_broken_file_is_reported_with_a_count(good: Good,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    CASES["invalid-yaml"].breaker(good.site)
    write("content/b-missing-title.md", "---\ndate: 2020-01-03\nauthor: Ann\n---\nBody\n")(good.site)
    write("content/c-bad-date.md", "---\ntitle: C\nauthor: Ann\ndate: soon\n---\nBody\n")(good.site)
    write("content/reviews/d-tags.md", "---\ntitle: D\nauthor: Ann\ndate: 2020-01-03\n"
                                       "tags: {a: b}\n---\nBody\n")(good.site)
    code, _, err = run(capsys, "build", "-s", str(good.site), "-o", str(good.out))
    assert code == 1
    lines = err.splitlines()
    located = [line.split(":", 1)[0] for line in lines if line.startswith("content/")]
    assert located == ["content/b-missing-title.md", "content/broken.md", "content/c-bad-date.md",
                       "content/reviews/d-tags.md"]  # all of them, sorted by file
    assert "Build failed: 4 errors." in err
    assert "Traceback" not in err
    assert_output_unchanged(good)


def test_config_problems_are_all_reported_together(good: Good,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    for line in ("per_pgae = 3", 'words_per_minute = "fast"', "[feeds]", "itemz = 3"):
        append_config(line)(good.site)
    code, _, err = run(capsys, "build", "-s", str(good.site), "-o", str(good.out))
    assert code == 1
    assert re.search(r"^sitegen\.toml:4: unknown key 'per_pgae'", err, re.MULTILINE), err
    assert re.search(r"^sitegen\.toml:5: 'words_per_minute' must be a whole number", err,
                     re.MULTILINE), err
    assert re.search(r"^sitegen\.toml:7: unknown key 'feeds.itemz'; did you mean 'feeds.items'",
                     err, re.MULTILINE), err
    assert "Build failed: 3 errors." in err
    assert_output_unchanged(good)


def test_fixing_the_site_builds_again(good: Good, capsys: pytest.CaptureFixture[str]) -> None:
    CASES["unreadable-date"].breaker(good.site)
    assert run(capsys, "build", "-s", str(good.site), "-o", str(good.out))[0] == 1
    (good.site / "content" / "broken.md").write_text(article(title="Fixed", date="2020-01-04"),
                                                     encoding="utf-8")
    code, stdout, err = run(capsys, "build", "-s", str(good.site), "-o", str(good.out))
    assert code == 0, err
    assert "Built 3 articles" in stdout
    assert (good.out / "2020" / "01" / "fixed" / "index.html").is_file()


# --- the output guard ---------------------------------------------------------------------------------

def test_refuses_a_non_empty_folder_sitegen_did_not_make(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    site = write_site(tmp_path / "site", GOOD_ARTICLES)
    mine = tmp_path / "my-documents"
    (mine / "taxes").mkdir(parents=True)
    (mine / "notes.txt").write_text("do not lose me", encoding="utf-8")
    (mine / "taxes" / "2023.pdf").write_bytes(b"%PDF-1.4 not really")
    before = file_hashes(mine, dirs=True)
    code, _, err = run(capsys, "build", "-s", str(site), "-o", str(mine))
    assert code == 1
    assert "was not made by sitegen" in err and MANIFEST in err
    assert "Traceback" not in err
    assert file_hashes(mine, dirs=True) == before
    assert not list(tmp_path.glob(".my-documents.sitegen-*"))


def test_refuses_own_output_with_a_foreign_file(good: Good,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (good.out / "tags" / "handmade.html").write_text("<p>mine</p>", encoding="utf-8")
    before = file_hashes(good.out)
    code, _, err = run(capsys, "build", "-s", str(good.site), "-o", str(good.out))
    assert code == 1
    assert "holds files sitegen did not write (tags/handmade.html)" in err
    assert file_hashes(good.out) == before


def test_refuses_own_output_with_a_damaged_manifest(good: Good,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (good.out / MANIFEST).write_text("{not json", encoding="utf-8")
    before = file_hashes(good.out)
    code, _, err = run(capsys, "build", "-s", str(good.site), "-o", str(good.out))
    assert code == 1
    assert "is damaged" in err
    assert file_hashes(good.out) == before


@pytest.mark.parametrize(("output", "phrase"), [
    (".", "it holds the site itself"),
    ("content", "inside the site's content/ folder"),
    ("content/built", "inside the site's content/ folder"),
    ("templates", "inside the site's templates/ folder"),
    ("..", "it holds the site itself"),
    ("HOME", "it is the home folder"),
])
def test_refuses_output_folders_that_would_destroy_sources(
        good: Good, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        output: str, phrase: str) -> None:
    home = good.root / "home"
    (home / ".config").mkdir(parents=True)
    (home / ".config" / "settings.ini").write_text("[x]\n", encoding="utf-8")
    (good.site / "templates").mkdir()
    (good.site / "templates" / "keep.html").write_text("{# mine #}", encoding="utf-8")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(good.site)
    before = file_hashes(good.root, dirs=True)
    target = str(home) if output == "HOME" else output
    code, stdout, err = run(capsys, "build", "-s", ".", "-o", target)
    assert code == 1
    assert "refusing to use" in err and phrase in err, err
    assert "Traceback" not in err and "Built" not in stdout
    assert file_hashes(good.root, dirs=True) == before  # nothing deleted, nothing created


def test_refuses_an_output_that_is_a_symbolic_link(good: Good,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    link = good.root / "published"
    link.symlink_to(good.out, target_is_directory=True)
    code, _, err = run(capsys, "build", "-s", str(good.site), "-o", str(link))
    assert code == 1
    assert "symbolic link" in err
    assert link.is_symlink()
    assert_output_unchanged(good)


def test_refuses_an_output_under_a_symbolic_link(good: Good,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    real = good.root / "real"
    real.mkdir()
    (good.root / "via").symlink_to(real, target_is_directory=True)
    code, _, err = run(capsys, "build", "-s", str(good.site), "-o", str(good.root / "via" / "out"))
    assert code == 1
    assert "symbolic link" in err
    assert list(real.iterdir()) == []


def test_refuses_an_output_that_is_a_file(good: Good, capsys: pytest.CaptureFixture[str]) -> None:
    target = good.root / "site.zip"
    target.write_bytes(b"PK\x03\x04")
    code, _, err = run(capsys, "build", "-s", str(good.site), "-o", str(target))
    assert code == 1
    assert "is not a folder" in err
    assert target.read_bytes() == b"PK\x03\x04"


def test_empty_existing_folder_is_accepted(good: Good, capsys: pytest.CaptureFixture[str]) -> None:
    empty = good.root / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "build", "-s", str(good.site), "-o", str(empty))
    assert code == 0, err
    assert file_hashes(empty) == good.hashes  # the same site, built the same way


# --- the output guard, every spelling: refuses, and a hash of the whole tree proves nothing
# --- was deleted or created ---------------------------------------------------------------------

def _guard_tree(root: Path) -> tuple[Path, Path]:
    """A site with sources of every kind, a home folder, sitegen's own output, and links."""
    site = write_site(root / "site", GOOD_ARTICLES)
    for folder, name, text in (("templates", "article.html", "mine\n"), ("static", "logo.svg", "mine\n"),
                               ("themes/mine/templates", "base.html", "mine\n"),
                               ("data", "shows.toml", 'mine = "yes"\n')):  # data/ is read: valid TOML
        (site / folder).mkdir(parents=True, exist_ok=True)
        (site / folder / name).write_text(text, encoding="utf-8")
    home = root / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("secret\n", encoding="utf-8")
    (home / "notes.txt").write_text("keep\n", encoding="utf-8")
    assert main(["build", "-s", str(site), "-o", str(root / "out")]) == 0
    deploy = root / "deploy"  # a gh-pages style folder: sitegen's files plus a .git
    assert main(["build", "-s", str(site), "-o", str(deploy)]) == 0
    (deploy / ".git").mkdir()
    (deploy / ".git" / "HEAD").write_text("ref: refs/heads/gh-pages\n", encoding="utf-8")
    linked = root / "linked"  # sitegen's output, holding a link to the home folder
    assert main(["build", "-s", str(site), "-o", str(linked)]) == 0
    (linked / "home-link").symlink_to(home, target_is_directory=True)
    (root / "to-content").symlink_to(site / "content", target_is_directory=True)
    (root / "to-home").symlink_to(home, target_is_directory=True)
    (root / "to-out").symlink_to(root / "out", target_is_directory=True)
    (root / "to-root").symlink_to(root, target_is_directory=True)
    # The guard is the full path's, which replaces the output. A quick build (nothing changed
    # since the build into linked/) replaces only its own files and leaves others be.
    snapshot.forget(site)
    return site, home


GUARD_CASES = {
    "dot": (".", "it holds the site itself"),
    "dot-slash": ("./", "it holds the site itself"),
    "content-dot-dot": ("content/..", "it holds the site itself"),
    "dot-dot": ("..", "it holds the site itself"),
    "dot-dot-twice": ("../..", "it holds the site itself"),
    "site-by-way-of-parent": ("../site", "it holds the site itself"),
    "content": ("content", "inside the site's content/ folder"),
    "content-slash": ("content/", "inside the site's content/ folder"),
    "inside-content": ("content/../content/public", "inside the site's content/ folder"),
    "static": ("static", "inside the site's static/ folder"),
    "themes": ("themes/mine", "inside the site's themes/ folder"),
    "data": ("data", "inside the site's data/ folder"),
    "home": ("HOME", "it is the home folder"),
    "home-spelled-oddly": ("HOME/../home/", "it is the home folder"),
    "root": ("/", "file system root"),
    "foreign-hidden-git": ("ROOT/deploy", "holds files sitegen did not write (.git/HEAD)"),
    "link-inside-output": ("ROOT/linked", "holds files sitegen did not write (home-link)"),
    "symlink-to-content": ("ROOT/to-content", "symbolic link"),
    "symlink-to-home": ("ROOT/to-home", "symbolic link"),
    "symlink-to-own-output": ("ROOT/to-out", "symbolic link"),
    "under-a-symlink": ("ROOT/to-root/out", "symbolic link"),
}


@pytest.mark.parametrize("name", list(GUARD_CASES))
def test_output_guard_refuses_and_the_whole_tree_is_unchanged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        name: str) -> None:
    site, home = _guard_tree(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(site)
    output, phrase = GUARD_CASES[name]
    output = output.replace("HOME", str(home)).replace("ROOT", str(tmp_path))
    before = file_hashes(tmp_path, dirs=True)
    capsys.readouterr()
    code, stdout, err = run(capsys, "build", "-s", ".", "-o", output)
    assert code == 1, err
    assert phrase in err, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")  # one clear line
    assert "Traceback" not in err and "Built" not in stdout
    assert file_hashes(tmp_path, dirs=True) == before  # nothing deleted, nothing created
    assert not list(Path("/").glob(".sitegen-*")) and not list(Path("/").glob("..sitegen-*"))


# --- likely mistakes the build survives: a warning naming the file and line, exit 0 ----------

WARNED = {
    "duplicate-key": ("---\ntitle: Gamma\ndate: 2020-01-03\nauthor: Ann\ntitle: Gamma Two\n---\nB\n",
                      "content/gamma.md:5: 'title' is given twice in front matter (first on line "
                      "2); the last one is used: remove the other"),
    "slug-path": ('---\ntitle: Gamma\ndate: 2020-01-03\nauthor: Ann\nslug: "../../news/x"\n---\n'
                  "B\n", "content/gamma.md:5: 'slug' '../../news/x' is a path, but a slug is one "
                  "part of the URL: sitegen made it 'news-x'; write 'slug: news-x'"),
    "noncharacter": ('---\ntitle: "Gamma\\uFFFE"\ndate: 2020-01-03\nauthor: Ann\n---\nB\n',
                     "content/gamma.md:2: 'title' holds the character U+FFFE, which pages and "
                     "feeds cannot carry; sitegen left it out: remove it"),
}


@pytest.mark.parametrize("name", list(WARNED))
def test_a_likely_mistake_is_a_warning_with_file_and_line(
        good: Good, capsys: pytest.CaptureFixture[str], name: str) -> None:
    text, warning = WARNED[name]
    write("content/gamma.md", text)(good.site)
    code, stdout, err = run(capsys, "build", "-s", str(good.site), "-o", str(good.out))
    assert code == 0, err
    assert "Built 3 articles" in stdout
    assert [line for line in err.splitlines() if line.startswith(f"warning: {warning}")], err
    # A build that reuses the cached article still warns.
    code, _, again = run(capsys, "build", "-s", str(good.site), "-o", str(good.out))
    assert code == 0 and f"warning: {warning}" in again, again


def test_a_path_as_slug_cannot_leave_its_folder(good: Good,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    write("content/gamma.md", WARNED["slug-path"][0])(good.site)
    code, _, err = run(capsys, "build", "-s", str(good.site), "-o", str(good.out))
    assert code == 0, err
    assert (good.out / "2020" / "01" / "news-x" / "index.html").is_file()
    assert not (good.out.parent / "news").exists() and not (good.out / "news").exists()
