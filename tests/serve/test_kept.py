"""The preview kept between runs (serve/kept.py, serve/start.py): a restart serves the last
preview at once when it was made with the same settings, renders only what changed, and
settles equal to a fresh full build; other settings or a cache made by `build` never leak in,
and a `build` after a `serve` is still exact and quick."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from serve_helpers import (
    STORIES,
    ServeProcess,
    article_text,
    compare_folders,
    editor_save,
    free_port,
    make_site,
    wait_until,
)

from sitegen.pipeline.build import build
from sitegen.report import BuildOptions

NO_SEARCH = "\n[search]\nenabled = false\n"
DRAFT = article_text("Exclusive: Harbor Lights Spin-off in Early Talks", "2021-08-02",
                     tags=["Renewals"], body="Nothing is signed yet.", draft=True)
DRAFT_URL = "/2021/08/exclusive-harbor-lights-spin-off-in-early-talks/"
EARLY = "the last preview; bringing it up to date"


def _site(root: Path) -> Path:
    site = make_site(root, extra={"content/draft.md": DRAFT})
    with (site / "sitegen.toml").open("a", encoding="utf-8") as handle:
        handle.write(NO_SEARCH)
    return site


def _kept(site: Path) -> Path:
    return site / ".sitegen-cache" / "preview" / "site"


def _run(site: Path, tmp: Path, port: int, *args: str) -> ServeProcess:
    """Start a kept preview and wait until its first build is done; the caller stops it."""
    server = ServeProcess(site, tmp, *args, port=port, kept=True).start()
    server.wait_for_line(r"^Rebuilt in \d+ ms: \d+ files? changed")
    return server


def _same_as_fresh_build(site: Path, tmp: Path, port: int, drafts: bool = False) -> list[str]:
    full = tmp / f"full-{drafts}"
    build(BuildOptions(site_dir=site, output_dir=full, drafts=drafts,
                       base_url=f"http://127.0.0.1:{port}"), use_cache=False)
    return compare_folders(full, _kept(site))


def test_a_restart_serves_the_kept_preview_at_once_and_renders_nothing(tmp_path: Path) -> None:
    site, port = _site(tmp_path / "site"), free_port()
    with _run(site, tmp_path / "tmp", port) as server:
        assert EARLY not in server.stderr  # nothing kept yet
        assert server.get(STORIES[0].url).status == 200
        assert server.stop() == 0
    assert _same_as_fresh_build(site, tmp_path, port) == []
    with _run(site, tmp_path / "tmp", port) as server:
        assert EARLY in server.stderr
        assert server.wait_for_line(r"^Rebuilt in \d+ ms: (\d+) files? changed").group(1) == "0"
        assert STORIES[0].title in server.get(STORIES[0].url).text
        assert server.stop() == 0
    assert _same_as_fresh_build(site, tmp_path, port) == []


def test_a_kept_preview_is_served_early_only_while_its_front_page_is_as_recorded(
        tmp_path: Path) -> None:
    """A restart serves the kept folder before it checks every file (a stat each: a second
    at 50,000 articles), so it looks at the front page first: a kept folder whose front page
    was changed (or removed) by anyone but sitegen is built anew, and a file changed deeper
    down is put right by the restart's first build; both settle equal to a fresh build."""
    site, port = _site(tmp_path / "site"), free_port()
    with _run(site, tmp_path / "tmp", port) as server:
        assert server.stop() == 0
    deep = _kept(site) / STORIES[1].url.strip("/") / "index.html"
    deep.write_text("tampered", encoding="utf-8")
    with _run(site, tmp_path / "tmp", port) as server:
        assert EARLY in server.stderr  # the front page is as recorded
        rewritten = server.wait_for_line(r"^Rebuilt in \d+ ms: (\d+) files? changed").group(1)
        assert rewritten == "1"  # the tampered page, found by its stat
        assert server.stop() == 0
    assert _same_as_fresh_build(site, tmp_path, port) == []
    (_kept(site) / "index.html").write_text("tampered", encoding="utf-8")
    with _run(site, tmp_path / "tmp", port) as server:
        assert EARLY not in server.stderr  # not served as it is: built anew
        assert server.stop() == 0
    assert _same_as_fresh_build(site, tmp_path, port) == []


def test_a_cold_start_leaves_the_spare_ready_so_the_first_edit_links_nothing_more(
        tmp_path: Path) -> None:
    """The cold start's commit replaced an empty folder: its build then links the whole site
    into the transaction's spare (serve/cold.py), so the first edit's transaction starts from
    a spare the journal vouches for, differing in nothing."""
    site, port = _site(tmp_path / "site"), free_port()
    with _run(site, tmp_path / "tmp", port) as server:
        home = _kept(site).parent

        def differ() -> list[str] | None:  # None while the spare is being brought up
            try:
                journal = (home / ".site.sitegen-journal").read_text(encoding="utf-8")
            except FileNotFoundError:
                return None
            return json.loads(journal)["differ"]

        # A thread of the preview does it once the build has committed.
        wait_until(lambda: differ() == [], what="the spare to be ready")
        spare = home / ".site.sitegen-spare"
        files = [p.relative_to(_kept(site)) for p in _kept(site).rglob("*") if p.is_file()]
        assert len(files) > 20
        assert all((spare / rel).stat().st_ino == (_kept(site) / rel).stat().st_ino
                   for rel in files)
        editor_save(site / "content" / STORIES[0].name, STORIES[0].text(body="Now in May."))
        server.wait_for_page(STORIES[0].url, lambda r: "Now in May." in r.text)
        assert server.stop() == 0
    assert _same_as_fresh_build(site, tmp_path, port) == []


def test_a_stylesheet_saved_after_a_cold_start_reaches_every_page(tmp_path: Path) -> None:
    """The cold start's build records which assets each page used, as every build does: a
    saved stylesheet then renders again the pages that link it (its URL carries its hash)."""
    site = make_site(tmp_path / "site", css_override=True)
    with (site / "sitegen.toml").open("a", encoding="utf-8") as handle:
        handle.write(NO_SEARCH)
    port = free_port()
    with _run(site, tmp_path / "tmp", port) as server:
        before = server.get(STORIES[0].url).text
        css = site / "static" / "css" / "style.css"
        editor_save(css, css.read_text(encoding="utf-8") + "\nbody { color: #123456; }\n")
        server.wait_for_page(STORIES[0].url, lambda r: r.text != before, timeout=30)
        assert server.stop() == 0
    assert _same_as_fresh_build(site, tmp_path, port) == []


def test_edits_made_while_stopped_are_in_the_settled_preview(tmp_path: Path) -> None:
    site, port = _site(tmp_path / "site"), free_port()
    with _run(site, tmp_path / "tmp", port) as server:
        assert server.stop() == 0
    content = site / "content"
    (content / STORIES[0].name).write_text(STORIES[0].text(body="Filming starts in May."),
                                           encoding="utf-8")
    (content / STORIES[1].name).write_text(STORIES[1].text(title="Relay Finale Sets a Record"),
                                           encoding="utf-8")
    (content / STORIES[2].name).unlink()
    with _run(site, tmp_path / "tmp", port) as server:
        assert EARLY in server.stderr
        changed = server.wait_for_line(r"^Rebuilt in \d+ ms: (\d+) files? changed").group(1)
        assert int(changed) > 3
        assert "Filming starts in May." in server.get(STORIES[0].url).text
        assert server.get(STORIES[2].url).status == 404
        assert server.stop() == 0
    assert _same_as_fresh_build(site, tmp_path, port) == []


def test_a_preview_with_other_settings_is_never_served(tmp_path: Path) -> None:
    """A kept preview with drafts is not served to one without (nor its pages kept), and back."""
    site, port = _site(tmp_path / "site"), free_port()
    with _run(site, tmp_path / "tmp", port, "--drafts") as server:
        assert server.get(DRAFT_URL).status == 200
        assert server.stop() == 0
    with _run(site, tmp_path / "tmp", port) as server:
        assert EARLY not in server.stderr
        assert server.get(DRAFT_URL).status == 404
        assert server.stop() == 0
    assert _same_as_fresh_build(site, tmp_path, port) == []
    other = free_port()  # another address: every page's canonical link differs
    with _run(site, tmp_path / "tmp", other, "--drafts") as server:
        assert EARLY not in server.stderr
        assert f"http://127.0.0.1:{other}/" in server.get(DRAFT_URL).text
        assert server.stop() == 0
    assert _same_as_fresh_build(site, tmp_path, other, drafts=True) == []


def test_a_cache_made_by_build_with_other_flags_and_a_build_after_serve(tmp_path: Path) -> None:
    site, port = _site(tmp_path / "site"), free_port()
    output = tmp_path / "out"
    build(BuildOptions(site_dir=site, output_dir=output, drafts=True, future=True))
    with _run(site, tmp_path / "tmp", port) as server:
        assert server.get(DRAFT_URL).status == 404
        assert server.stop() == 0
    assert _same_as_fresh_build(site, tmp_path, port) == []
    again = build(BuildOptions(site_dir=site, output_dir=output, drafts=True, future=True))
    assert again.quick  # serve left the build's cache and snapshot as they were
    fresh = tmp_path / "fresh"
    build(BuildOptions(site_dir=site, output_dir=fresh, drafts=True, future=True),
          use_cache=False)
    assert compare_folders(fresh, output) == []


def test_a_link_in_the_kept_folder_s_place_is_removed_never_followed(tmp_path: Path) -> None:
    site, port = _site(tmp_path / "site"), free_port()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (site / ".sitegen-cache" / "preview").mkdir(parents=True)
    _kept(site).symlink_to(elsewhere, target_is_directory=True)
    with _run(site, tmp_path / "tmp", port) as server:
        assert server.get(STORIES[0].url).status == 200
        assert server.stop() == 0
    assert list(elsewhere.iterdir()) == []
    assert _kept(site).is_dir() and not _kept(site).is_symlink()


def test_a_stop_cuts_a_running_search_index_short_and_the_next_run_remakes_it(
        tmp_path: Path) -> None:
    """Stopping does not wait for Pagefind (a minute at 10,000 articles): it is killed, its
    scratch folder removed, nothing of it committed; the next run indexes anew and settles
    equal to a full build."""
    pytest.importorskip("pagefind_bin", reason="Pagefind is not installed")
    body = " ".join(["The network confirmed another season after strong ratings."] * 6)
    bulk = {f"content/bulk/bulletin-{i:03d}.md": article_text(
        f"Overnight Bulletin {i}", f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}", body=body)
        for i in range(400)}  # enough pages that Pagefind still runs when the stop comes
    site, port = make_site(tmp_path / "site", extra=bulk), free_port()
    with _run(site, tmp_path / "tmp", port) as server:
        assert server.stop() == 0  # most likely while Pagefind runs
    home = _kept(site).parent
    assert [p.name for p in home.iterdir() if "scratch" in p.name] == []
    assert not _pagefind_running(_kept(site))
    bundle = _kept(site) / "pagefind" / "pagefind.js"
    with _run(site, tmp_path / "tmp", port) as server:
        assert EARLY in server.stderr
        wait_until(bundle.is_file, timeout=120, what="the search index")
        assert server.stop() == 0
    full = tmp_path / "full"
    build(BuildOptions(site_dir=site, output_dir=full, base_url=f"http://127.0.0.1:{port}"),
          use_cache=False)
    assert compare_folders(full, _kept(site)) == []


def _pagefind_running(folder: Path) -> bool:
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"pagefind" in command and str(folder).encode() in command:
            return True
    return False
