"""select and assemble: what is published, and how articles link to tags, authors and each other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sitegen.config import AuthorConfig, Config, load_config
from sitegen.content.markdown import MarkdownRenderer
from sitegen.content.sources import read_source
from sitegen.errors import BuildError, Problem
from sitegen.model import Site, Source
from sitegen.site.assemble import assemble, select, source_urls, with_body
from sitegen.site.urls import Urls
from sitegen.slugs import slugify

TZ = ZoneInfo("America/New_York")
NOW = datetime(2017, 8, 18, 12, 0, tzinfo=TZ)


def day(year: int, month: int, d: int, hour: int = 9) -> datetime:
    return datetime(year, month, d, hour, 0, tzinfo=TZ)


def source(title: str, date: datetime, *, rel: str | None = None, tags: Sequence[str] = (),
           author: str = "Dana Whitfield", role: str | None = None, draft: bool = False,
           slug: str | None = None, summary: str | None = None, description: str | None = None,
           body: str = "Some body text.\n", expires: datetime | None = None) -> Source:
    slug = slug or slugify(title)
    rel = rel or f"content/{slug}.md"
    return Source(path=Path("/site") / rel, rel_path=rel, title=title, date=date, updated=None,
                  expires=expires, author=author, author_role=role, tags=tuple(tags), summary=summary,
                  description=description, slug=slug, draft=draft, image=None, image_alt=None,
                  extra={}, body=body, body_line=5)


def make_config(**changes: object) -> Config:
    values: dict[str, object] = {"base_url": "https://example.com", "timezone": "America/New_York",
                                 "site_dir": Path("/site")}
    values.update(changes)
    return Config(**values)  # type: ignore[arg-type]


def build_site(sources: Sequence[Source], config: Config | None = None) -> tuple[Site, list[Problem]]:
    config = config or make_config()
    urls = Urls(config)
    renderer = MarkdownRenderer(config.markdown)
    bodies = {s.rel_path: renderer.render(s.body, urls.absolute(urls.article(s.date, s.slug)))
              for s in sources}
    return assemble(config, sources, bodies, NOW)


# --- select -------------------------------------------------------------------------------

def test_drafts_and_future_articles_are_held_back_and_counted() -> None:
    sources = [source("Old", day(2017, 1, 1)), source("Draft", day(2017, 2, 1), draft=True),
               source("Later", day(2017, 9, 1)), source("Much later", day(2018, 1, 1)),
               source("Just now", NOW)]
    selection = select(sources, NOW)
    assert [s.title for s in selection.published] == ["Old", "Just now"]
    assert selection.drafts == 1
    assert selection.scheduled == 2
    assert selection.next_due == day(2017, 9, 1)


def test_next_due_is_the_earliest_future_article_whatever_the_order() -> None:
    sources = [source("C", day(2018, 1, 1)), source("A", day(2017, 8, 18, 13)), source("B", day(2017, 9, 1))]
    assert select(sources, NOW).next_due == day(2017, 8, 18, 13)


def test_next_due_is_none_without_future_articles() -> None:
    selection = select([source("Old", day(2017, 1, 1))], NOW)
    assert selection.next_due is None and selection.scheduled == 0 and selection.drafts == 0


def test_next_due_ignores_future_drafts() -> None:
    sources = [source("Draft", day(2017, 9, 1), draft=True), source("Sched", day(2017, 10, 1))]
    assert select(sources, NOW).next_due == day(2017, 10, 1)


def test_drafts_flag_includes_drafts() -> None:
    sources = [source("Old", day(2017, 1, 1)), source("Draft", day(2017, 2, 1), draft=True)]
    selection = select(sources, NOW, drafts=True)
    assert [s.title for s in selection.published] == ["Old", "Draft"]
    assert selection.drafts == 0


def test_future_flag_includes_scheduled_but_still_reports_next_due() -> None:
    sources = [source("Old", day(2017, 1, 1)), source("Later", day(2017, 9, 1))]
    selection = select(sources, NOW, future=True)
    assert [s.title for s in selection.published] == ["Old", "Later"]
    assert selection.scheduled == 0
    assert selection.next_due == day(2017, 9, 1)


def test_future_draft_needs_both_flags() -> None:
    sources = [source("Future draft", day(2017, 9, 1), draft=True)]
    assert select(sources, NOW).published == ()
    assert select(sources, NOW, drafts=True).published == ()
    assert select(sources, NOW, drafts=True).scheduled == 1
    assert select(sources, NOW, future=True).published == ()
    assert len(select(sources, NOW, drafts=True, future=True).published) == 1


def test_future_is_compared_as_instants_across_timezones() -> None:
    utc_now = NOW.astimezone(ZoneInfo("UTC"))
    sources = [source("Past", NOW - timedelta(minutes=1)), source("Future", NOW + timedelta(minutes=1))]
    assert [s.title for s in select(sources, utc_now).published] == ["Past"]


# --- assemble: order and neighbours -------------------------------------------------------

def test_articles_sorted_newest_first() -> None:
    sources = [source("B", day(2016, 5, 1)), source("C", day(2017, 1, 1)), source("A", day(2015, 11, 20))]
    site, _ = build_site(sources)
    assert [a.title for a in site.articles] == ["C", "B", "A"]


def test_same_moment_is_ordered_by_title() -> None:
    site, _ = build_site([source("Zed", day(2016, 5, 1)), source("Alpha", day(2016, 5, 1))])
    assert [a.title for a in site.articles] == ["Alpha", "Zed"]


def test_previous_is_older_and_next_is_newer() -> None:
    sources = [source("Old", day(2015, 1, 1)), source("Mid", day(2016, 1, 1)), source("New", day(2017, 1, 1))]
    site, _ = build_site(sources)
    new, mid, old = site.articles
    assert new.next is None and new.previous is not None and new.previous.title == "Mid"
    assert mid.next is not None and mid.next.title == "New"
    assert mid.previous is not None and mid.previous.title == "Old"
    assert mid.previous.url == "/2015/01/old/" and mid.previous.date == day(2015, 1, 1)
    assert old.previous is None and old.next is not None and old.next.title == "Mid"


def test_article_urls_and_fields() -> None:
    config = make_config(base_url="https://example.com/news")
    site, _ = build_site([source("Jessica Jones renewed", day(2016, 3, 8), tags=["Netflix"],
                                 body="Word " * 461)], config)
    (article,) = site.articles
    assert article.url == "/news/2016/03/jessica-jones-renewed/"
    assert article.abs_url == "https://example.com/news/2016/03/jessica-jones-renewed/"
    assert article.source_path == "content/jessica-jones-renewed.md"
    assert article.tags[0].url == "/news/tags/netflix/"
    assert article.author.url == "/news/authors/dana-whitfield/"
    assert article.words == 461
    assert article.reading_minutes == 3  # 461 / 230 rounded up


def test_short_article_reads_in_at_least_one_minute() -> None:
    site, _ = build_site([source("Short", day(2016, 3, 8), body="Hi.")])
    assert site.articles[0].reading_minutes == 1


def test_front_matter_summary_is_escaped_and_wins_over_first_paragraph() -> None:
    site, _ = build_site([source("S", day(2016, 3, 8), summary="Tom & <Jerry>", body="First para.\n")])
    article = site.articles[0]
    assert str(article.summary) == "<p>Tom &amp; &lt;Jerry&gt;</p>"
    assert article.description == "Tom & <Jerry>"


def test_description_falls_back_to_summary_text() -> None:
    site, _ = build_site([source("S", day(2016, 3, 8), body="First *para*.\n\nSecond.\n")])
    assert site.articles[0].description == "First para."
    assert str(site.articles[0].summary) == "<p>First <em>para</em>.</p>\n"


def test_related_articles_exclude_self_and_cap_at_three() -> None:
    sources = [source(f"Story {i}", day(2016, 1, i + 1), tags=["Marvel"]) for i in range(6)]
    site, _ = build_site(sources)
    for article in site.articles:
        assert len(article.related) == 3
        assert article.url not in {link.url for link in article.related}


# --- assemble: URL clashes ----------------------------------------------------------------

def test_same_month_and_slug_is_an_error_naming_both_files() -> None:
    sources = [source("Renewed", day(2016, 3, 1), rel="content/renewed.md"),
               source("Renewed!", day(2016, 3, 20), rel="content/news/renewed-again.md", slug="renewed")]
    with pytest.raises(BuildError) as info:
        build_site(sources)
    (problem,) = info.value.problems
    assert "/2016/03/renewed/" in problem.message
    assert "content/renewed.md" in problem.message
    assert "content/news/renewed-again.md" in problem.message
    assert "slug:" in problem.message


def test_same_slug_in_different_months_is_fine() -> None:
    site, _ = build_site([source("Renewed", day(2016, 3, 1)), source("Renewed", day(2016, 4, 1),
                                                                     rel="content/b.md")])
    assert [a.url for a in site.articles] == ["/2016/04/renewed/", "/2016/03/renewed/"]


def test_two_author_spellings_with_one_slug_is_an_error() -> None:
    sources = [source("A", day(2016, 3, 1), author="Zoë Müller"),
               source("B", day(2016, 3, 2), author="Zoe Muller")]
    with pytest.raises(BuildError) as info:
        build_site(sources)
    message = info.value.problems[0].message
    assert '"Zoë Müller"' in message and '"Zoe Muller"' in message and "/authors/zoe-muller/" in message


# --- assemble: tags -----------------------------------------------------------------------

def test_tag_spellings_merge_with_a_warning_naming_both() -> None:
    sources = [source("A", day(2016, 3, 3), tags=["Jessica Jones"]),
               source("B", day(2016, 3, 2), tags=["jessica jones"]),
               source("C", day(2016, 3, 1), tags=["Jessica Jones", "Netflix"])]
    site, warnings = build_site(sources)
    assert len(warnings) == 1
    assert '"Jessica Jones"' in warnings[0].message and '"jessica jones"' in warnings[0].message
    assert warnings[0].file == "content/b.md"
    assert "content/b.md" in warnings[0].message and "content/a.md" not in warnings[0].message
    tag = next(t for t in site.tags if t.slug == "jessica-jones")
    assert tag.name == "Jessica Jones"
    assert tag.spellings == ("Jessica Jones", "jessica jones")
    assert tag.count == 3
    assert [a.title for a in tag.articles] == ["A", "B", "C"]
    assert all(a.tags[0].name == "Jessica Jones" for a in site.articles)


def test_a_tag_spelled_three_ways_once_each_is_shown_in_mixed_case_everywhere() -> None:
    """It took the newest article's spelling: the site showed "jessica jones"."""
    sources = [source("A", day(2016, 3, 3), tags=["jessica jones"]),
               source("B", day(2016, 3, 2), tags=["JESSICA JONES"]),
               source("C", day(2016, 3, 1), tags=["Jessica Jones"])]
    site, warnings = build_site(sources)
    (tag,) = site.tags
    assert (tag.slug, tag.name, tag.count) == ("jessica-jones", "Jessica Jones", 3)
    assert all(a.tags[0].name == "Jessica Jones" for a in site.articles)
    (warning,) = warnings
    assert warning.message.startswith('tag "Jessica Jones" is also spelled "jessica jones", '
                                      '"JESSICA JONES"'), warning.message
    assert warning.file == "content/a.md"


def test_spelling_warning_lists_at_most_three_files() -> None:
    sources = [source("Main", day(2016, 4, 1), tags=["Netflix"]),
               source("Main 2", day(2016, 4, 2), tags=["Netflix"])]
    sources += [source(f"Odd {i}", day(2016, 3, i + 1), tags=["NETFLIX"]) for i in range(5)]
    sources += [source(f"More {i}", day(2016, 5, i + 1), tags=["Netflix"]) for i in range(5)]
    _, warnings = build_site(sources)
    (warning,) = warnings
    assert '"NETFLIX"' in warning.message
    assert warning.message.count("content/") == 3
    assert "and 2 more" in warning.message


def test_no_warning_when_spellings_agree() -> None:
    _, warnings = build_site([source("A", day(2016, 3, 3), tags=["Netflix"]),
                              source("B", day(2016, 3, 2), tags=["Netflix"])])
    assert warnings == []


def test_tags_sorted_by_name_case_insensitively() -> None:
    site, _ = build_site([source("A", day(2016, 3, 3), tags=["netflix", "Amazon", "HBO"])])
    assert [t.name for t in site.tags] == ["Amazon", "HBO", "netflix"]


def test_same_tag_twice_in_one_article_is_listed_once() -> None:
    site, _ = build_site([source("A", day(2016, 3, 3), tags=["Marvel", "marvel"])])
    assert [t.slug for t in site.articles[0].tags] == ["marvel"]
    assert site.tags[0].count == 1


# --- assemble: authors --------------------------------------------------------------------

def test_author_role_from_config_table() -> None:
    config = make_config(authors={"Dana Whitfield": AuthorConfig(role="Senior TV Editor", bio="Bio.",
                                                                 avatar="/dana.png")})
    site, _ = build_site([source("A", day(2016, 3, 3))], config)
    assert site.articles[0].author.role == "Senior TV Editor"
    (author,) = site.authors
    assert (author.role, author.bio, author.avatar) == ("Senior TV Editor", "Bio.", "/dana.png")


def test_article_author_role_overrides_config_role() -> None:
    config = make_config(authors={"Dana Whitfield": AuthorConfig(role="Senior TV Editor")})
    site, _ = build_site([source("A", day(2016, 3, 3), role="Guest Critic"),
                          source("B", day(2016, 3, 2))], config)
    assert site.articles[0].author.role == "Guest Critic"
    assert site.articles[1].author.role == "Senior TV Editor"


def test_author_role_from_front_matter_when_config_has_none() -> None:
    sources = [source("A", day(2016, 3, 3), author="Marcus Oyelaran", role="Streaming Reporter"),
               source("B", day(2016, 3, 2), author="Marcus Oyelaran"),
               source("C", day(2016, 3, 1), author="Marcus Oyelaran", role="Streaming Reporter")]
    site, _ = build_site(sources)
    assert {a.author.role for a in site.articles} == {"Streaming Reporter"}
    (author,) = site.authors
    assert author.role == "Streaming Reporter" and author.bio == "" and author.avatar is None


def test_author_role_most_used_in_front_matter_wins() -> None:
    sources = [source("A", day(2016, 3, 3), role="Reporter"), source("B", day(2016, 3, 2), role="Editor"),
               source("C", day(2016, 3, 1), role="Editor")]
    site, _ = build_site(sources)
    assert site.authors[0].role == "Editor"


def test_author_with_config_entry_but_empty_role_uses_front_matter() -> None:
    config = make_config(authors={"Dana Whitfield": AuthorConfig(bio="Only a bio.")})
    site, _ = build_site([source("A", day(2016, 3, 3), role="Critic")], config)
    assert site.authors[0].role == "Critic" and site.authors[0].bio == "Only a bio."


def test_author_without_any_role_has_empty_role() -> None:
    site, _ = build_site([source("A", day(2016, 3, 3))])
    assert site.authors[0].role == ""


def test_authors_sorted_by_name_and_hold_their_articles() -> None:
    sources = [source("A", day(2016, 3, 3), author="Zoë Müller"), source("B", day(2016, 3, 2)),
               source("C", day(2016, 3, 1), author="Zoë Müller")]
    site, _ = build_site(sources)
    assert [(a.name, a.slug, a.count) for a in site.authors] == [("Dana Whitfield", "dana-whitfield", 1),
                                                                   ("Zoë Müller", "zoe-muller", 2)]
    assert [a.title for a in site.authors[1].articles] == ["A", "C"]


# --- assemble: archive and site info ------------------------------------------------------

def test_archive_groups_by_year_and_month_newest_first() -> None:
    sources = [source("Nov A", day(2015, 11, 20)), source("Nov B", day(2015, 11, 3)),
               source("Mar", day(2016, 3, 8)), source("Jan", day(2016, 1, 15)),
               source("Dec", day(2015, 12, 24))]
    site, _ = build_site(sources)
    assert [y.year for y in site.archive] == [2016, 2015]
    assert [(m.year, m.month, m.label) for m in site.archive[0].months] == [
        (2016, 3, "March 2016"), (2016, 1, "January 2016")]
    assert [m.label for m in site.archive[1].months] == ["December 2015", "November 2015"]
    november = site.archive[1].months[1]
    assert [a.title for a in november.articles] == ["Nov A", "Nov B"]


def test_empty_site_assembles() -> None:
    site, warnings = build_site([])
    assert site.articles == () and site.tags == () and site.authors == () and site.archive == ()
    assert warnings == []


def test_site_info_and_feeds() -> None:
    config = make_config(title="Dispatch", base_url="https://example.com/news/", extra={"x": 1})
    site, _ = build_site([], config)
    assert site.info.title == "Dispatch"
    assert site.info.base_url == "https://example.com/news"
    assert site.info.year == NOW.year
    assert site.info.generator.startswith("sitegen ")
    assert site.info.extra == {"x": 1}
    assert [(f.url, f.mime) for f in site.info.feeds] == [
        ("https://example.com/news/feed.xml", "application/rss+xml"),
        ("https://example.com/news/atom.xml", "application/atom+xml"),
        ("https://example.com/news/feed.json", "application/feed+json")]


# --- from real files ----------------------------------------------------------------------

def test_select_and_assemble_from_files(tmp_path: Path) -> None:
    (tmp_path / "sitegen.toml").write_text(
        'timezone = "America/New_York"\nbase_url = "https://example.com"\n'
        '[authors."Dana Whitfield"]\nrole = "Senior TV Editor"\n', encoding="utf-8")
    content = tmp_path / "content"
    content.mkdir()
    files = {
        "a.md": "---\ntitle: Renewed\ndate: 2016-03-08 09:00\nauthor: Dana Whitfield\n"
                "tags: Marvel, Netflix\n---\nA.\n",
        "b.md": "---\ntitle: Casting\ndate: 2016-04-01\nauthor: Dana Whitfield\ntags: [marvel]\n---\nB.\n",
        "c.md": "---\ntitle: Draft\ndate: 2016-04-02\nauthor: Dana Whitfield\ndraft: true\n---\nC.\n",
    }
    for name, text in files.items():
        (content / name).write_text(text, encoding="utf-8")
    config = load_config(tmp_path)
    sources = [read_source(content / name, config) for name in sorted(files)]
    selection = select(sources, NOW)
    assert selection.drafts == 1
    site, warnings = build_site(selection.published, config)
    assert [a.title for a in site.articles] == ["Casting", "Renewed"]
    assert site.articles[0].author.role == "Senior TV Editor"
    # one article each: the tie goes to the spelling in mixed case, not the newer "marvel"
    assert [t.name for t in site.tags] == ["Marvel", "Netflix"]
    assert len(warnings) == 1 and '"marvel"' in warnings[0].message
    assert warnings[0].file == "content/b.md"


def test_an_article_shares_its_rendered_body_instead_of_copying_it() -> None:
    """Markup(markup) copies the string: at 10,000 articles a copy of every body is 40 MB
    more in the build and in each process forked from it."""
    config = make_config()
    sources = [source("Plain", day(2017, 3, 1), body="Words, and [a link](/about/).\n"),
               source("Linking", day(2017, 2, 1), body="See [plain](plain.md).\n")]
    urls = Urls(config)
    renderer = MarkdownRenderer(config.markdown)
    bodies = {s.rel_path: renderer.render(s.body, urls.absolute(urls.article(s.date, s.slug)))
              for s in sources}
    site, _ = assemble(config, sources, bodies, NOW)
    plain, linking = (next(a for a in site.articles if a.title == title)
                      for title in ("Plain", "Linking"))
    assert plain.content is bodies[sources[0].rel_path].html
    assert "/2017/03/plain/" in linking.content  # rewritten: a new string, rightly


# --- with_body (the dev server's quick path) ----------------------------------------------

@pytest.mark.parametrize("summary", [None, "A summary from the front matter."])
def test_with_body_gives_the_article_a_full_assemble_would(summary: str | None) -> None:
    """Swapping in a new body changes exactly the fields a fresh assemble would."""
    config = make_config()
    old = [source("Renewed", day(2017, 3, 1), tags=["Drama"], summary=summary,
                  body="First words.\n\nMore words.\n"),
           source("Other", day(2017, 2, 1), tags=["Drama"],
                  body="See [the renewal](/content/renewed.md).\n")]
    site, _ = build_site(old)
    edited = replace(old[0], body="## Cast\n\nAn entirely new first paragraph, much longer "
                                  "than before.\n\nAnd a second one [back](other.md).\n")
    fresh, _ = build_site([edited, old[1]])
    urls = Urls(config)
    body = MarkdownRenderer(config.markdown).render(
        edited.body, urls.absolute(urls.article(edited.date, edited.slug)))
    article = next(a for a in site.articles if a.title == "Renewed")
    swapped = with_body(article, edited, body, config, source_urls(site))
    expected = next(a for a in fresh.articles if a.title == "Renewed")
    assert swapped == expected
    assert swapped.content != article.content and "/2017/02/other/" in swapped.content
    assert (swapped.summary == article.summary) == (summary is not None)


def test_description_from_the_body_is_taken_in_one_pass(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """markupsafe's striptags rebuilds the string for each tag it removes: a first paragraph
    of many links made the description quadratic. sitegen strips them in one pass."""
    from conftest import article, build_site, write_site
    from markupsafe import Markup

    def refuse(self: Markup) -> str:
        raise AssertionError("Markup.striptags is quadratic in the tags")

    links = " ".join(f"[link {i}](/a/{i}/) &amp;" for i in range(2000))
    site = write_site(tmp_path / "site", {"a.md": article(title="Links", body=links)})
    monkeypatch.setattr(Markup, "striptags", refuse)
    built = build_site(site, tmp_path / "out")
    page = (built.output / "2020" / "01" / "links" / "index.html").read_text(encoding="utf-8")
    assert "link 0 &amp; link 1 &amp; link 2" in page
