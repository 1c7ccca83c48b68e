"""A missing or unreadable source never empties the site (issue 16, item 1), symbolic links
are followed only inside the site (item 5), and a file that vanishes between listing and
reading is reported, not a crash.

Every case builds a real site with the real command line, then looks at the exit code, the
message and every byte of the output. Unreadable files cannot be made for root, who reads
anything: as root, those builds run in a subprocess without the capabilities that let root
ignore file permissions (setpriv drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH), so the
permission bits hold for it as for any user.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from conftest import (
    FIXED_NOW,
    REPO,
    article,
    build_site,
    file_hashes,
    run_cli,
    write_site,
)

from sitegen.errors import BuildError, SiteError
from sitegen.incremental import snapshot
from sitegen.pipeline import build as build_module
from sitegen.pipeline import quick as quick_module
from sitegen.pipeline import stages
from sitegen.pipeline.build import build
from sitegen.report import BuildOptions
from sitegen.tree import list_folder, require_site

ARTICLES = {
    "first.md": article(title="First Story", date="2020-01-01"),
    "sub/second.md": article(title="Second Story", date="2020-01-02"),
    "sub/deeper/third.md": article(title="Third Story", date="2020-01-03"),
}


def _site(root: Path) -> Path:
    site = write_site(root / "site", ARTICLES)
    (site / "static" / "img").mkdir(parents=True)
    (site / "static" / "img" / "logo.svg").write_text("<svg/>\n", encoding="utf-8")
    (site / "data").mkdir()
    (site / "data" / "shows.toml").write_text('name = "Harbor Lights"\n', encoding="utf-8")
    return site


@pytest.fixture()
def built(tmp_path: Path) -> Path:
    """A site built once with the command line, as a newsroom's would be before the mistake."""
    site = _site(tmp_path)
    result = run_cli("build", "-s", str(site), "-q")
    assert result.returncode == 0, result.stderr
    assert (site / "output" / "2020" / "01" / "second-story" / "index.html").is_file()
    return site


def _fails_and_keeps_output(site: Path, *args: str, names: str, says: str) -> str:
    """Build again: exit 1, an error naming `names` that says `says`, output byte for byte
    as it was (and no folder added or removed). Returns the error output."""
    before = file_hashes(site / "output", dirs=True)
    result = run_cli("build", "-s", str(site), *args)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Built" not in result.stdout
    assert names in result.stderr and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "Errno" not in result.stderr, result.stderr
    assert "unexpectedly" not in result.stderr
    assert file_hashes(site / "output", dirs=True) == before
    return result.stderr


# --- content/ missing, a file, a dangling link --------------------------------------------------

def _move_away(site: Path) -> None:
    (site / "content").rename(site / "c")


def _remove(site: Path) -> None:
    shutil.rmtree(site / "content")


def _a_file(site: Path) -> None:
    shutil.rmtree(site / "content")
    (site / "content").write_text("oops\n", encoding="utf-8")


def _dangling(site: Path) -> None:
    (site / "content").rename(site / "c")
    (site / "content").symlink_to(site / "elsewhere", target_is_directory=True)


def _outside(site: Path) -> None:
    elsewhere = site.parent / "elsewhere"
    (site / "content").rename(elsewhere)
    (site / "content").symlink_to(elsewhere, target_is_directory=True)


CONTENT_GONE = {
    "mv-content": (_move_away, "folder not found"),
    "rm-r-content": (_remove, "folder not found"),
    "content-is-a-file": (_a_file, "is a file, not a folder"),
    "content-is-a-dangling-link": (_dangling, "which does not exist"),
    "content-links-outside-the-site": (_outside, "outside the site folder"),
}


@pytest.mark.parametrize("cached", [True, False], ids=["cache", "no-cache"])
@pytest.mark.parametrize("case", list(CONTENT_GONE))
def test_a_missing_content_folder_fails_and_keeps_the_site(built: Path, case: str,
                                                            cached: bool) -> None:
    """`sitegen build; mv content c; sitegen build` used to exit 0 with "Built 0 articles"
    and swap an empty site into output/. With the cache, the quick path is asked first."""
    damage, says = CONTENT_GONE[case]
    damage(built)
    err = _fails_and_keeps_output(built, *([] if cached else ["--no-cache"]), names="content",
                                  says=says)
    assert err.startswith("content:"), err


def test_a_content_folder_removed_from_an_empty_site_is_noticed_by_the_quick_path(
        tmp_path: Path) -> None:
    """A site with no article yet, built: its snapshot lists no article file, the same as a
    site whose content/ is gone, so the quick path must look for the folder itself."""
    site = write_site(tmp_path / "site", {})
    assert run_cli("build", "-s", str(site)).returncode == 0
    assert run_cli("build", "-s", str(site)).returncode == 0  # and again, the quick way
    (site / "content").rmdir()
    _fails_and_keeps_output(site, names="content", says="folder not found")


def test_an_empty_content_folder_still_builds(tmp_path: Path) -> None:
    """A new site with no article yet is a site: only a missing content/ is an error."""
    site = write_site(tmp_path / "site", {})
    result = run_cli("build", "-s", str(site))
    assert result.returncode == 0, result.stderr
    assert "Built 0 articles" in result.stdout
    assert (site / "output" / "index.html").is_file()


def test_content_linked_to_a_folder_inside_the_site_builds(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "content").rename(site / "articles")
    (site / "content").symlink_to("articles", target_is_directory=True)
    built = build_site(site, site / "output")
    assert built.report.articles == 3


def test_check_reports_a_missing_content_folder(built: Path) -> None:
    _move_away(built)
    result = run_cli("check", "-s", str(built), "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert not report["ok"]
    assert [p["file"] for p in report["problems"]] == ["content"]


# --- no site at all ---------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["build", "check"])
def test_no_site_here_is_an_error_not_an_empty_build(tmp_path: Path, command: str) -> None:
    folder = tmp_path / "somewhere"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a site\n", encoding="utf-8")
    result = run_cli(command, cwd=folder)
    assert result.returncode == 1, result.stdout
    assert "no site here" in result.stderr and "sitegen init" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]  # no output/, no cache


def test_serve_where_there_is_no_site_refuses_to_start(tmp_path: Path) -> None:
    folder = tmp_path / "somewhere"
    folder.mkdir()
    result = subprocess.run([sys.executable, "-m", "sitegen", "serve", "--port", "0"],
                            cwd=folder, capture_output=True, text=True, timeout=60, check=False,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 1, result.stderr
    assert "no site here" in result.stderr and "Serving" not in result.stderr
    assert list(folder.iterdir()) == []


def test_a_missing_site_folder_is_an_error(tmp_path: Path) -> None:
    result = run_cli("build", "-s", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "site folder not found" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_a_missing_sitegen_toml_fails_and_keeps_the_site(built: Path) -> None:
    """Built with the defaults instead, the site would go out with localhost links."""
    (built / "sitegen.toml").unlink()
    _fails_and_keeps_output(built, names="sitegen.toml", says="not found")
    result = run_cli("check", "-s", str(built))
    assert result.returncode == 1 and "sitegen.toml: not found" in result.stdout, result


def test_sitegen_toml_that_is_a_folder_is_an_error(built: Path) -> None:
    (built / "sitegen.toml").unlink()
    (built / "sitegen.toml").mkdir()
    _fails_and_keeps_output(built, names="sitegen.toml", says="cannot be read")


def test_sitegen_toml_that_is_a_dangling_link_is_an_error(built: Path) -> None:
    (built / "sitegen.toml").rename(built / "settings.toml")
    (built / "sitegen.toml").symlink_to("moved.toml")
    _fails_and_keeps_output(built, names="sitegen.toml", says="is a symbolic link to moved.toml, "
                            "which does not exist")


def test_require_site_accepts_what_sitegen_init_makes(tmp_path: Path) -> None:
    result = run_cli("init", str(tmp_path / "new"))
    assert result.returncode == 0, result.stderr
    require_site(tmp_path / "new")  # no exception
    with pytest.raises(SiteError, match="no site here"):
        require_site(tmp_path)


# --- unreadable files and folders, as a user without root's powers --------------------------

@cache
def _unprivileged_prefix() -> tuple[str, ...] | None:
    """The command prefix that runs a program as root without the capabilities that let it
    read any file; () when not root; None when that cannot be done here."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search")
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"sitegen-probe-{os.getpid()}"
    probe.write_text("x", encoding="utf-8")
    try:
        probe.chmod(0)
        result = subprocess.run([*prefix, "cat", str(probe)], capture_output=True, check=False)
    finally:
        probe.unlink()
    return prefix if result.returncode != 0 else None


def run_unprivileged(*args: str) -> subprocess.CompletedProcess[str]:
    prefix = _unprivileged_prefix()
    if prefix is None:
        pytest.skip("running as root without setpriv (util-linux) able to drop "
                    "CAP_DAC_OVERRIDE: root reads any file, so none can be made unreadable")
    return subprocess.run([*prefix, sys.executable, "-m", "sitegen", *args], text=True,
                          capture_output=True, check=False, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


UNREADABLE = {  # path made unreadable -> what the error names
    "sitegen.toml": "sitegen.toml",
    "themes/local/theme.toml": "themes/local/theme.toml",
    "content": "content",
    "content/sub": "content/sub",
    "content/sub/deeper": "content/sub/deeper",
    "content/first.md": "content/first.md",
    "static/img": "static/img",
    "static/img/logo.svg": "static/img/logo.svg",
    "data": "data",
    "data/shows.toml": "data/shows.toml",
    "templates": "templates",
    "templates/article.html": "templates/article.html",
    "themes/local/static/local.css": "themes/local/static/local.css",
}


@pytest.fixture()
def built_with_theme(tmp_path: Path) -> Path:
    """A site with a template override and a theme of its own (whose parent is the default
    theme), built by the unprivileged command so its files are the ones it can read."""
    site = _site(tmp_path)
    theme = REPO / "themes" / "newsroom"
    (site / "templates").mkdir()
    shutil.copyfile(theme / "templates" / "article.html", site / "templates" / "article.html")
    local = site / "themes" / "local"
    (local / "static").mkdir(parents=True)
    (local / "theme.toml").write_text('parent = "newsroom"\n', encoding="utf-8")
    (local / "static" / "local.css").write_text("p { margin: 0 }\n", encoding="utf-8")
    with (site / "sitegen.toml").open("a", encoding="utf-8") as config:
        config.write('theme = "local"\n')
    result = run_unprivileged("build", "-s", str(site), "-q")
    assert result.returncode == 0, result.stderr
    return site


@pytest.mark.parametrize("cached", [True, False], ids=["cache", "no-cache"])
@pytest.mark.parametrize("target", list(UNREADABLE))
def test_an_unreadable_file_or_folder_is_an_error_naming_it(built_with_theme: Path,
                                                            target: str, cached: bool) -> None:
    """`chmod 000 content` emptied the site; `chmod 000 content/sub` dropped its articles
    silently. Each unreadable source is now an error naming it, and output/ is untouched."""
    site = built_with_theme
    before = file_hashes(site / "output", dirs=True)
    path = site / target
    path.chmod(0)
    try:
        result = run_unprivileged("build", "-s", str(site), *([] if cached else ["--no-cache"]))
        checked = run_unprivileged("check", "-s", str(site))
    finally:
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert f"{UNREADABLE[target]}:" in result.stderr, result.stderr
    assert "permission denied" in result.stderr, result.stderr
    assert "Errno" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert file_hashes(site / "output", dirs=True) == before
    assert checked.returncode == 1, checked.stdout
    assert f"{UNREADABLE[target]}:" in checked.stdout, checked.stdout


def test_an_unreadable_folder_gives_a_sentence_with_what_to_do(built_with_theme: Path) -> None:
    (built_with_theme / "content" / "sub").chmod(0)
    try:
        result = run_unprivileged("build", "-s", str(built_with_theme))
    finally:
        (built_with_theme / "content" / "sub").chmod(0o755)
    assert "content/sub: folder cannot be read: permission denied; give yourself read " \
           "access (chmod u+r, and u+x for a folder) and build again" in result.stderr


# --- symbolic links -----------------------------------------------------------------------------

def _outside_file(root: Path, text: str) -> Path:
    outside = root / "outside"
    outside.mkdir(exist_ok=True)
    secret = outside / "secret.md"
    secret.write_text(text, encoding="utf-8")
    return secret


SECRET = "NOT-FOR-PUBLICATION"


@pytest.mark.parametrize("where", ["content/leak.md", "content/sub/leak.md",
                                   "static/leak.txt", "data/leak.toml"])
def test_a_link_to_a_file_outside_the_site_is_an_error(built: Path, where: str) -> None:
    """An article linked from outside the site was published; static and data links were
    skipped without a word. Each is now an error naming the link."""
    text = (article(title="Leaked", date="2020-02-02", body=SECRET) if where.endswith(".md")
            else f'secret = "{SECRET}"\n')
    (built / where).symlink_to(_outside_file(built.parent, text))
    err = _fails_and_keeps_output(built, names=f"{where}: is a symbolic link to",
                                  says="outside the site folder")
    assert "copy the file into the site instead" in err
    assert not any(SECRET in p.read_text(errors="replace")
                   for p in (built / "output").rglob("*") if p.is_file())


@pytest.mark.parametrize("where", ["content/elsewhere", "static/elsewhere", "data/elsewhere"])
def test_a_link_to_a_folder_outside_the_site_is_an_error(built: Path, where: str) -> None:
    _outside_file(built.parent, article(title="Leaked", date="2020-02-02", body=SECRET))
    (built / where).symlink_to(built.parent / "outside", target_is_directory=True)
    _fails_and_keeps_output(built, names=where, says="outside the site folder")


@pytest.mark.parametrize("folder", ["content", "static", "data"])
def test_a_symlink_loop_is_a_plain_sentence(built: Path, folder: str) -> None:
    (built / folder / "loop-a.md").symlink_to("loop-b.md")
    (built / folder / "loop-b.md").symlink_to("loop-a.md")
    err = _fails_and_keeps_output(built, names=f"{folder}/loop-a.md",
                                  says="is a symbolic link that leads round in a loop")
    assert f"{folder}/loop-b.md" in err and "Errno 40" not in err


@pytest.mark.parametrize("folder", ["content", "static", "data"])
def test_a_dangling_link_is_an_error(built: Path, folder: str) -> None:
    (built / folder / "gone.md").symlink_to("nowhere.md")
    _fails_and_keeps_output(built, names=f"{folder}/gone.md", says="which does not exist")


@pytest.mark.parametrize("target", [".", "..", "../..", "../sub", "deeper"])
def test_a_link_back_into_content_is_an_error_not_a_loop(built: Path, target: str) -> None:
    """Followed, content/again -> . would read every article twice, or forever."""
    (built / "content" / "sub" / "again").symlink_to(target, target_is_directory=True)
    _fails_and_keeps_output(built, names="content/sub/again", says="is read already")


@pytest.mark.parametrize("target", ["output", "output/index.html", ".sitegen-cache",
                                    ".git/config"])
def test_a_link_into_the_output_or_a_hidden_folder_is_an_error(built: Path, target: str) -> None:
    """Inside the site, but no source: output/ linked into static/ would be copied into
    itself at every build, and the cache or .git would be published."""
    (built / ".git").mkdir()
    (built / ".git" / "config").write_text("[core]\n", encoding="utf-8")
    (built / "static" / "linked").symlink_to(built / target)
    _fails_and_keeps_output(built, names="static/linked: is a symbolic link to " + target,
                            says="output or a hidden file")


def test_links_inside_the_site_are_followed(tmp_path: Path) -> None:
    """An article, a folder of articles, a static file and a data file, each kept elsewhere
    in the site folder and linked in: all published (links were skipped before)."""
    site = _site(tmp_path)
    archive = site / "archive"
    (archive / "2019").mkdir(parents=True)
    (archive / "2019" / "old.md").write_text(article(title="Old Story", date="2019-05-05"),
                                             encoding="utf-8")
    (archive / "linked.md").write_text(article(title="Linked Story", date="2019-06-06"),
                                       encoding="utf-8")
    (archive / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (archive / "lineup.json").write_text('{"nights": 7}', encoding="utf-8")
    (site / "content" / "linked.md").symlink_to(archive / "linked.md")
    (site / "content" / "2019").symlink_to(Path("..") / "archive" / "2019",
                                           target_is_directory=True)
    (site / "static" / "logo.png").symlink_to(archive / "logo.png")
    (site / "data" / "lineup.json").symlink_to(archive / "lineup.json")
    (site / "templates").mkdir()
    shutil.copyfile(REPO / "themes" / "newsroom" / "templates" / "base.html",
                    site / "templates" / "base.html")
    with (site / "templates" / "base.html").open("a", encoding="utf-8") as template:
        template.write("<!-- nights: {{ site.data.lineup.nights }} -->\n")
    built = build_site(site, site / "output")
    assert built.report.articles == 5
    out = site / "output"
    assert (out / "2019" / "05" / "old-story" / "index.html").is_file()
    assert (out / "2019" / "06" / "linked-story" / "index.html").is_file()
    assert (out / "logo.png").read_bytes() == b"\x89PNG\r\n\x1a\n"
    assert not (out / "logo.png").is_symlink()
    assert "<!-- nights: 7 -->" in (out / "index.html").read_text(encoding="utf-8")


def test_two_links_to_one_folder_are_an_error(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "archive").mkdir()
    (site / "archive" / "old.md").write_text(article(title="Old", date="2019-05-05"),
                                             encoding="utf-8")
    (site / "content" / "a").symlink_to(site / "archive", target_is_directory=True)
    (site / "content" / "b").symlink_to(site / "archive", target_is_directory=True)
    with pytest.raises(BuildError) as info:
        build(BuildOptions(site_dir=site, now=FIXED_NOW))
    (problem,) = info.value.problems
    assert problem.file in ("content/a", "content/b") and "read already" in problem.message


def test_list_folder_lists_in_path_order_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "f" / "b" / ".git").mkdir(parents=True)
    for name in ("f/z.md", "f/a.md", "f/b/c.md", "f/b/.hidden.md", "f/b/.git/x.md", "f/_d.md"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    listing = list_folder(tmp_path / "f", tmp_path, skip=(".", "_"))
    assert listing.problems == []
    assert [Path(p).relative_to(tmp_path).as_posix() for p in listing.paths()] == [
        "f/a.md", "f/b/c.md", "f/z.md"]
    assert list_folder(tmp_path / "missing", tmp_path).problems == []  # not required
    (problem,) = list_folder(tmp_path / "missing", tmp_path, required=True).problems
    assert problem.file == "missing"


# --- a file deleted between listing and reading ----------------------------------------------

@pytest.mark.parametrize("cached", [True, False], ids=["cache", "no-cache"])
def test_an_article_deleted_between_listing_and_reading_is_reported(
        built: Path, monkeypatch: pytest.MonkeyPatch, cached: bool) -> None:
    """An editor's save deletes and writes the file again; a build that lists content/ just
    before the delete and reads just after must say so, not crash. The race is made exact:
    the real listing runs, the file is deleted, then the real reading runs."""
    real_scan = stages.scan_sources
    victim = built / "content" / "sub" / "second.md"
    victim.write_text(article(title="Second Story", date="2020-01-02", body="Edited."),
                      encoding="utf-8")  # changed: the cache cannot answer for it

    def scan_then_delete(site_dir: Path):  # type: ignore[no-untyped-def]
        found = real_scan(site_dir)
        if victim.exists():
            victim.unlink()
        return found

    monkeypatch.setattr(stages, "scan_sources", scan_then_delete)
    snapshot.forget(built)  # the full path, with the cache of sources (or without it)
    before = file_hashes(built / "output", dirs=True)
    result = run_cli("build", "-s", str(built), "-j", "1", *([] if cached else ["--no-cache"]))
    assert result.returncode == 1, result.stdout
    assert "content/sub/second.md: cannot be read: it vanished while sitegen was reading it " \
           "(deleted or renamed, perhaps by an editor saving); build again" in result.stderr
    assert "Errno" not in result.stderr and "unexpectedly" not in result.stderr
    assert file_hashes(built / "output", dirs=True) == before


def test_an_article_deleted_while_the_quick_path_reads_it_leaves_it_to_the_full_path(
        built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quick path lists the article files' stamps, then reads the changed ones: one
    deleted in between makes it give way to the full path, which lists content/ again and
    builds the site as it now is, without that article."""
    victim = built / "content" / "sub" / "second.md"
    victim.write_text(article(title="Second Story", date="2020-01-02", body="Edited."),
                      encoding="utf-8")
    real_stamps = quick_module.source_stamps

    def stamps_then_delete(site_dir: Path):  # type: ignore[no-untyped-def]
        stamps = real_stamps(site_dir)
        victim.unlink(missing_ok=True)
        return stamps

    monkeypatch.setattr(quick_module, "source_stamps", stamps_then_delete)
    result = run_cli("build", "-s", str(built), "-j", "1")
    assert result.returncode == 0, result.stderr
    assert "Built 2 articles" in result.stdout and "Only article bodies" not in result.stdout
    assert not (built / "output" / "2020" / "01" / "second-story").exists()


def test_a_static_file_deleted_between_listing_and_copying_is_reported(
        built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write_plan = build_module.write_plan
    logo = built / "static" / "img" / "logo.svg"
    logo.write_text("<svg>new</svg>\n", encoding="utf-8")  # changed: copied, not linked

    def delete_then_write(*args, **kwargs):  # type: ignore[no-untyped-def]
        logo.unlink()
        return real_write_plan(*args, **kwargs)

    monkeypatch.setattr(build_module, "write_plan", delete_then_write)
    before = file_hashes(built / "output", dirs=True)
    result = run_cli("build", "-s", str(built), "-j", "1", "--no-cache")
    assert result.returncode == 1, result.stdout
    assert "static/img/logo.svg: cannot be read: it vanished" in result.stderr, result.stderr
    assert file_hashes(built / "output", dirs=True) == before


def test_a_data_file_deleted_between_listing_and_reading_is_reported(
        built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sitegen.content import data as data_module

    real_list = data_module.list_folder

    def list_then_delete(*args, **kwargs):  # type: ignore[no-untyped-def]
        listing = real_list(*args, **kwargs)
        (built / "data" / "shows.toml").unlink()
        return listing

    monkeypatch.setattr(data_module, "list_folder", list_then_delete)
    with pytest.raises(BuildError) as info:
        build(BuildOptions(site_dir=built, now=FIXED_NOW, workers=1))
    (problem,) = info.value.problems
    assert problem.file == "data/shows.toml" and "vanished" in problem.message
