"""RSS and Atom feeds of real builds, read back with feedparser."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import feedparser
import lxml.html
import pytest
from conftest import (
    FIXED_NOW,
    Built,
    article,
    build_site,
    copy_example_site,
    feed_files,
    file_hashes,
    url_to_file,
    write_site,
)

from sitegen.text import UNWANTED

BASE = "https://small-screen-dispatch.netlify.app"


@cache
def _parse(path: Path, mtime_ns: int) -> feedparser.FeedParserDict:
    return feedparser.parse(path.read_bytes())


def parse(path: Path) -> feedparser.FeedParserDict:
    """The feed as feedparser reads it (cached per file version); fails on any XML error."""
    parsed = _parse(path, path.stat().st_mtime_ns)
    assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')}"
    return parsed


def content_links(entry: feedparser.FeedParserDict) -> list[str]:
    html = entry.content[0].value
    return lxml.html.fragment_fromstring(html, create_parent="div").xpath(".//@href | .//@src")


def test_every_example_feed_parses_without_errors(example_built: Built) -> None:
    feeds = feed_files(example_built.output)  # RSS and Atom; JSON Feed: test_json_feed.py
    listings = 1 + example_built.report.tags + example_built.report.authors
    assert len(feeds) == 2 * listings
    assert example_built.report.feeds == 3 * listings
    for path in feeds:
        parsed = parse(path)
        assert parsed.version == ("rss20" if path.name == "feed.xml" else "atom10"), path
        assert parsed.entries, f"{path} has no items"


def test_every_feed_item_links_to_an_absolute_built_page(example_built: Built) -> None:
    for path in feed_files(example_built.output):
        for entry in parse(path).entries:
            assert entry.link.startswith(BASE + "/"), (path, entry.link)
            assert entry.id == entry.link, path
            target = url_to_file(example_built.output, entry.link, BASE)
            assert target is not None and target.is_file(), (path, entry.link)


def test_feed_items_carry_author_categories_and_dates_with_timezone(example_built: Built) -> None:
    for path in feed_files(example_built.output):
        for entry in parse(path).entries:
            assert entry.author in ("Dana Whitfield", "Marcus Oyelaran", "Zoë Müller"), path
            assert entry.tags, (path, entry.link)
            raw = entry.published
            assert raw.endswith(("-0400", "-0500", "-04:00", "-05:00")), (path, raw)
            assert entry.published_parsed is not None


def test_feed_items_are_newest_first(example_built: Built) -> None:
    for path in feed_files(example_built.output):
        dates = [e.published_parsed for e in parse(path).entries]
        assert dates == sorted(dates, reverse=True), path


def test_feed_full_content_links_are_absolute(example_built: Built) -> None:
    seen = 0
    for path in feed_files(example_built.output):
        for entry in parse(path).entries:
            assert entry.content and entry.content[0].value.strip(), (path, entry.link)
            for url in content_links(entry):
                if url.startswith("#"):
                    continue  # footnote anchors: see the xfail test below
                seen += 1
                assert url.startswith(("https://", "http://", "mailto:")), (path, url)
    assert seen > 0  # the example site links between articles in Markdown


def test_feed_footnote_links_are_absolute(example_built: Built) -> None:
    parsed = parse(example_built.output / "atom.xml")
    (entry,) = [e for e in parsed.entries if e.link.endswith("/luke-cage-season-one-review/")]
    footnote_links = [u for u in content_links(entry) if "fn" in u]
    assert footnote_links, "the Luke Cage review has a footnote"
    for url in footnote_links:
        assert url.startswith(f"{entry.link}#"), url


def test_relative_markdown_link_becomes_absolute_in_the_feed(example_built: Built) -> None:
    parsed = parse(example_built.output / "feed.xml")
    (entry,) = [e for e in parsed.entries if e.link.endswith("/the-defenders-arrives/")]
    assert f"{BASE}/2016/04/defenders-production-calendar/" in content_links(entry)


def test_feeds_hold_at_most_the_configured_number_of_items(example_built: Built) -> None:
    for path in feed_files(example_built.output):
        assert len(parse(path).entries) <= 20, path


def test_feed_items_setting_limits_every_feed_to_the_newest(tmp_path: Path) -> None:
    site = copy_example_site(tmp_path / "site")
    config = site / "sitegen.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("items = 20", "items = 2"),
                      encoding="utf-8")
    built = build_site(site, tmp_path / "out")
    for path in feed_files(built.output):
        assert len(parse(path).entries) <= 2, path
    for name in ("feed.xml", "atom.xml"):
        links = [e.link for e in parse(built.output / name).entries]
        assert links == [f"{BASE}/2017/08/the-defenders-arrives/",
                         f"{BASE}/2017/06/why-shogun-keeps-coming-back-on-european-television/"]
    netflix = parse(built.output / "tags" / "netflix" / "feed.xml")
    assert len(netflix.entries) == 2


def test_summary_only_feeds_when_full_content_is_off(tmp_path: Path) -> None:
    site = copy_example_site(tmp_path / "site")
    config = site / "sitegen.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("full_content = true",
                                                                 "full_content = false"),
                      encoding="utf-8")
    built = build_site(site, tmp_path / "out")
    for name in ("feed.xml", "atom.xml"):
        for entry in parse(built.output / name).entries:
            assert "content" not in entry, (name, entry.link)
            assert entry.summary.strip(), (name, entry.link)


def test_each_build_feeds_the_body_it_read(tmp_path: Path) -> None:
    """Feed bodies are worked out once per article object in a process; builds run one after
    another in one process (as `serve` does) must each carry the body they read."""
    for n in range(4):
        site = write_site(tmp_path / f"site{n}", {
            "a.md": article(title="Same article", body=f"Body version {n}."),
        })
        built = build_site(site, tmp_path / f"out{n}")
        for name in ("feed.xml", "atom.xml"):
            (entry,) = parse(built.output / name).entries
            assert f"Body version {n}." in entry.content[0].value, (n, name)


def test_feed_updated_date_is_the_newest_article_not_the_clock(example_built: Built) -> None:
    atom = parse(example_built.output / "atom.xml")
    assert atom.feed.updated_parsed[:6] == (2017, 8, 18, 13, 15, 0)  # 09:15 EDT
    rss = (example_built.output / "feed.xml").read_text(encoding="utf-8")
    assert "<lastBuildDate>Fri, 18 Aug 2017 09:15:00 -0400</lastBuildDate>" in rss


CONTROL_TITLE = "Breaking\vnews:\x01 renewal\x0c confirmed"


@pytest.fixture(scope="module")
def control_built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """An article with control characters in its title, summary, tag, author and body."""
    root = tmp_path_factory.mktemp("control")
    site = write_site(root / "site", {"control.md": article(
        title=CONTROL_TITLE, author="Ann\x01 Example", tags=["Renew\x02als", "Drama"],
        summary="A summary\x0b with\x1f controls",
        body="Body text with a vertical tab \x0b and a bell \x07 in it.\n\n[link](/x/)")})
    return build_site(site, root / "out")


def test_control_characters_do_not_break_feeds(control_built: Built) -> None:
    feeds = feed_files(control_built.output)
    assert len(feeds) == 2 * (1 + 2 + 1)
    for path in feeds:
        raw = path.read_bytes()
        assert b"\x0b" not in raw and b"\x01" not in raw and b"\x07" not in raw, path
        (entry,) = parse(path).entries
        assert entry.title.startswith("Breaking"), path
        assert entry.title.endswith("confirmed"), path
        assert "renewal" in entry.title
        assert "vertical tab" in entry.content[0].value


def test_control_characters_in_title_reach_feeds_as_plain_text(control_built: Built) -> None:
    (entry,) = parse(control_built.output / "atom.xml").entries
    assert " ".join(entry.title.split()) == "Breaking news: renewal confirmed"


# Lone surrogates cannot be written to a file as UTF-8, nor read by libyaml as escapes (an
# error at their line, see content/test_sources.py); what can reach sitegen is noncharacters and
# controls, as YAML escapes (the article helper writes JSON escapes) or raw in the body.
ODD = "\ufffe\uffff\ufdd0\x01\x85"


@pytest.fixture(scope="module")
def odd_built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Noncharacters and controls in every text field of an article, a data file... and the
    body, with raw HTML allowed (its character references are decoded by the sanitizer)."""
    root = tmp_path_factory.mktemp("odd")
    site = write_site(root / "site", {"odd.md": article(
        title=f"Jessica{ODD} Jones renewed", author=f"Ann{ODD} Example",
        tags=[f"Jessica{ODD} Jones", "Drama"], summary=f"A summary{ODD} here",
        description=f"About{ODD} it", image_alt=f"Alt{ODD}", image="https://odd.example.com/x.png",
        body=f"Body{ODD} text &#xFFFE; &#xFFFF; <b title='&#xfffe;'>raw</b>.\n\nMore.")},
        config='title = "Odd Desk"\nbase_url = "https://odd.example.com"\ntimezone = "UTC"\n'
               '[markdown]\nhtml = true\n')
    return build_site(site, root / "out")


def test_odd_characters_never_reach_pages_or_feeds(odd_built: Built) -> None:
    files = [p for p in odd_built.output.rglob("*") if p.suffix in (".html", ".xml", ".json")]
    assert len(files) > 20
    for path in files:
        text = path.read_text(encoding="utf-8")
        found = UNWANTED.search(text)
        assert found is None, (path, hex(ord(found.group())))
    for path in feed_files(odd_built.output):
        for entry in parse(path).entries:
            assert entry.title == "Jessica Jones renewed", path
    page = (odd_built.output / "2020" / "01" / "jessica-jones-renewed" / "index.html")
    assert "Jessica Jones renewed" in page.read_text(encoding="utf-8")


def test_odd_characters_are_warned_about_at_their_lines(odd_built: Built) -> None:
    warned = {(w.file, w.line) for w in odd_built.report.warnings
              if "which pages and feeds cannot carry" in w.message}
    lines = (odd_built.site / "content" / "odd.md").read_text(encoding="utf-8").split("\n")
    keys = {lines[line - 1].split(":")[0][:4] for file, line in warned if file == "content/odd.md"}
    assert keys == {"titl", "auth", "tags", "summ", "desc", "imag", "Body"}  # the body's too


def _empty_site(root: Path) -> Path:
    return write_site(root, {"draft.md": article(title="Not yet", draft=True)})


def test_empty_site_feeds_parse(tmp_path: Path) -> None:
    built = build_site(_empty_site(tmp_path / "site"), tmp_path / "out")
    assert built.report.articles == 0
    for name in ("feed.xml", "atom.xml"):
        assert parse(built.output / name).entries == []


def test_empty_site_feeds_are_deterministic(tmp_path: Path) -> None:
    site = _empty_site(tmp_path / "site")
    first = file_hashes(build_site(site, tmp_path / "one").output)
    second = file_hashes(build_site(site, tmp_path / "two").output)
    assert first["atom.xml"] == second["atom.xml"]
    assert first["feed.xml"] == second["feed.xml"]


def test_empty_site_feed_is_dated_by_the_build_moment(tmp_path: Path) -> None:
    built = build_site(_empty_site(tmp_path / "site"), tmp_path / "out")
    atom = parse(built.output / "atom.xml")
    updated = datetime(*atom.feed.updated_parsed[:6], tzinfo=UTC)
    assert updated == FIXED_NOW.astimezone(UTC)


# --- no step grows with the square of an article's tags -------------------------------------------

def _feed_work(tmp_path: Path, tags: int) -> tuple[int, bytes]:
    """Lines run in sitegen and feedgen to render the site's RSS feed, whose one article has
    `tags` tags (and the feed itself)."""
    import feedgen
    from conftest import line_events, package_folder

    import sitegen
    from sitegen.pipeline.stages import Settings, prepare
    from sitegen.render.plan import FeedJob, render_job
    from sitegen.report import BuildOptions

    site = write_site(tmp_path / f"tags-{tags}", {
        "a.md": article(tags=[f"Tag {i}" for i in range(tags)])})
    prepared = prepare(Settings(BuildOptions(site_dir=site, now=FIXED_NOW)))
    job = next(j for j in prepared.plan.jobs if isinstance(j, FeedJob) and j.path == "feed.xml")
    out: list[bytes] = []
    work = line_events(lambda: out.append(render_job(job, prepared.theme)),
                       package_folder(sitegen), package_folder(feedgen))
    return work, out[0]


def test_feed_work_grows_linearly_with_an_articles_tags(tmp_path: Path) -> None:
    """feedgen rebuilds its RSS category list on every `category()` call: one call per tag
    made each feed entry quadratic in its tags (1,000 tags took minutes to build). 4x the
    tags must be at most about 4x the work (it was about 11x)."""
    small, _ = _feed_work(tmp_path, 25)
    large, feed = _feed_work(tmp_path, 100)
    assert large < 5 * small, (small, large)
    entry = feedparser.parse(feed).entries[0]
    assert [t.term for t in entry.tags] == [f"Tag {i}" for i in range(100)]
