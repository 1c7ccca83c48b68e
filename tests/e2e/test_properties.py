"""Property-based tests (hypothesis): whole sites of generated front matter and Markdown.

Whatever the articles hold, `sitegen build` either builds or fails with one clear line per
problem (FILE:LINE: message) and a count, never a traceback. When it builds:
- every article, tag and author slug is non-empty, matches [a-z0-9][a-z0-9-]* and every file
  is inside the output folder (nothing is written beside it);
- no text from front matter appears unescaped: values carry marker elements and attribute
  breakers, and no page or feed, parsed, holds a marker element or attribute;
- every feed parses (feedparser, no bozo; lxml as strict XML), and so does the sitemap;
- every page is valid HTML5: the pages of all examples are checked in one Nu HTML Checker
  run at the end, since the JVM starts slowly.

Example counts are modest so the suite stays quick; `benchmarks/fuzz_content.py` runs the same
kind of input for as long as asked.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import tempfile
from datetime import date
from pathlib import Path

import feedparser
import lxml.etree
import lxml.html
import pytest
import yaml
from conftest import run_vnu, vnu_errors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sitegen.commands.cli import main
from sitegen.content.sources import read_source
from sitegen.errors import SiteError

SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
PROBLEM_LINE = re.compile(r"^(content/[^\n]+\.md|sitegen\.toml)(:\d+)?: \S.*$")
FAILED_LINE = re.compile(r"^Build failed: (\d+) errors?\. Nothing was written; the previous "
                         r"output is unchanged\.$")
# Examples per run: modest in the suite; SITEGEN_PROPERTY_EXAMPLES=2000 for a deep local run.
EXAMPLES = int(os.environ.get("SITEGEN_PROPERTY_EXAMPLES", "70"))
MARKER_TAG = "sg-inj"
MARKER_ATTR = "data-sg-inj"

# Text meant to break out of wherever it lands: HTML text and attributes, XML, CDATA, Jinja,
# YAML, URLs and paths.
HOSTILE = [f"<{MARKER_TAG}>x</{MARKER_TAG}>", f'"><{MARKER_TAG} {MARKER_ATTR}="1">',
           f"' {MARKER_ATTR}='1", f'" {MARKER_ATTR}="1', "]]>", "<![CDATA[", "{{ 7 * 7 }}",
           "{% raw %}", "&amp;", "&#0;", "&", "<", ">", "../../../etc/passwd", "/abs/path",
           "..", ".", "%2e%2e%2f", "\\..\\", "\x00", "\x0b", "\x1b[31m", "\u2028", "\u0085",
           "\ufeff", "\u202e", "\ud7ff", "\U0001f4fa", "Shōgun", "Agents of S.H.I.E.L.D.",
           "--", "---", "<!--", "-->", "javascript:alert(1)", "data:text/html,x", "#", ": ",
           "- ", "*", "\t", "\r\n", "?", "@", "\\", "`"]
texts = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=30),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8)), max_size=5).map("".join),
)
dates = st.one_of(
    st.sampled_from(["2020-01-01", "2019-12-31 23:59", "2018-02-28T10:00:00-05:00",
                     "2016-02-30", "2020-13-01", "next tuesday", "", "2020-01-01T25:00:00",
                     "0001-01-01", "9999-12-31", "2024-06-01T12:00:00+14:00"]),
    st.dates().map(str),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
)
scalars = st.one_of(texts, st.integers(), st.floats(allow_nan=True), st.booleans(), st.none())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(texts, inner, max_size=3)),
                      max_leaves=6)


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True about once in `n` draws (hypothesis favours small integers, so not integers)."""
    return st.sampled_from([False] * (n - 1) + [True])


def with_letters(text: str) -> str:
    """Text that still gives a slug: the hostile part plus a word."""
    return f"{text} Story"


@st.composite
def front_matter(draw: st.DrawFn) -> dict[str, object]:
    """Usually the fields an article has, well typed but holding hostile text; sometimes
    anything at all (missing keys, wrong types, impossible dates)."""
    if draw(one_in(6)):
        wild: dict[str, object] = {}
        for key in ("title", "date", "author", "tags", "slug", "draft", "updated"):
            if not draw(one_in(4)):
                wild[key] = draw(st.one_of(texts, dates, scalars, values))
        return wild
    data: dict[str, object] = {
        "title": draw(texts.map(with_letters)),
        "date": draw(st.one_of(st.dates(min_value=date(1990, 1, 1),
                                        max_value=date(2030, 1, 1)).map(str),
                               st.sampled_from(["2020-01-01", "2019-12-31 23:59",
                                                "2018-02-28T10:00:00-05:00"]))),
        "author": draw(st.one_of(*[st.sampled_from(["Ann Example", "Zoë Müller", "O'Brien"])] * 3,
                                 texts.map(with_letters))),
    }
    optional = {"tags": st.one_of(st.lists(texts.map(with_letters), max_size=4),
                                  texts.map(with_letters)),
                "summary": texts, "description": texts, "slug": texts.map(with_letters),
                "author_role": texts, "image": st.one_of(texts, st.sampled_from(URLS)),
                "image_alt": texts, "draft": st.booleans(),
                "updated": st.sampled_from(["2021-05-05", "2021-05-05T08:00:00Z"])}
    for key, strategy in optional.items():
        if draw(one_in(3)):
            data[key] = draw(strategy)
    for key in draw(st.lists(texts, max_size=2)):
        data[key] = draw(values)
    return data


BLOCKS = [
    "## {t}", "### {t}\n\nText under it.", "{t}", "> {t}", "- {t}\n- second", "1. {t}",
    "```{lang}\n{t}\n```", "    indented {t}", "[{t}]({url})", "![{t}]({url})", "<{url}>",
    "| a | {t} |\n| - | -: |\n| 1 | 2 |", "Claim.[^n]\n\n[^n]: {t}", "<!--more-->",
    "*{t}* **{t}** ~~{t}~~ `{t}`", "<div onclick=\"x()\">{t}</div>", "<script>{t}</script>",
    "---", "{t}\n===", "[ref]: {url}\n\n[{t}][ref]", "Visit www.example.com or {t}.",
]
URLS = ["https://example.com/a?b=1&c=2", "/2020/01/x/", "javascript:alert(1)", "#top",
        "mailto:desk@example.com", "../up", "data:text/html,x", "<>", " ", "(x)"]


@st.composite
def markdown_bodies(draw: st.DrawFn) -> str:
    blocks = []
    for _ in range(draw(st.integers(0, 6))):
        template = draw(st.sampled_from(BLOCKS))
        blocks.append(template.format(t=draw(texts).replace("{", "(").replace("}", ")"),
                                      url=draw(st.sampled_from(URLS)),
                                      lang=draw(st.sampled_from(["", "python", "{t}", "x\"y",
                                                                "no-such-lang"]))))
    if draw(st.booleans()):
        blocks.append(draw(st.text(max_size=60)))
    body = "\n\n".join(blocks)
    return body if draw(one_in(20)) else body.replace("\x00", "")  # NUL: not a text file


@st.composite
def article_files(draw: st.DrawFn) -> str:
    """The text of one article file: usually well-formed YAML (so the fields are what is
    tested), sometimes broken on purpose."""
    data = draw(front_matter())
    try:
        fm = yaml.safe_dump(data, allow_unicode=draw(st.booleans()), sort_keys=False)
    except yaml.YAMLError:
        fm = "title: x\n"
    damage = draw(st.sampled_from(["none"] * 30 + ["cut", "tab", "unclosed", "no-end"]))
    if damage == "cut":
        fm = fm[:draw(st.integers(0, len(fm)))]
    elif damage == "tab":
        fm = "\t" + fm
    elif damage == "unclosed":
        fm += 'extra: "never closed\n'
    text = f"---\n{fm}{'' if damage == 'no-end' else '---'}\n{draw(markdown_bodies())}\n"
    return text


@st.composite
def sites(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    per_page = draw(st.integers(1, 4))
    permalink = draw(st.sampled_from(["/{year}/{month}/{slug}/", "/{slug}/",
                                      "/news/{year}/{month}/{day}/{slug}/"]))
    base_url = draw(st.sampled_from(["https://tv.example.com", "https://example.com/news",
                                     "http://localhost:8000"]))
    names = st.sampled_from(["Small Screen Dispatch", f'<{MARKER_TAG}>TV</{MARKER_TAG}> & "Co"',
                             f"' {MARKER_ATTR}='1 Zoë's Desk", "]]> {{ 7 * 7 }}"])
    title = draw(texts if draw(one_in(8)) else names)  # now and then an empty or odd one
    description = draw(texts if draw(one_in(3)) else names)
    config = (f"title = {toml_str(title)}\ndescription = {toml_str(description)}\n"
              f'base_url = "{base_url}"\nper_page = {per_page}\npermalink = "{permalink}"\n'
              f"default_author = {toml_str(draw(st.sampled_from(['', 'Desk Editor'])))}\n")
    names = draw(st.lists(st.sampled_from(["a.md", "b.md", "sub/c.md", "d e.md", "ö.md"]),
                          min_size=1, max_size=3, unique=True))
    return config, {name: draw(article_files()) for name in names}


def toml_str(text: str) -> str:
    """A TOML basic string holding exactly `text` (TOML escapes differ from JSON's: no
    surrogate pairs, and DEL must be escaped too)."""
    escaped = json.dumps(text, ensure_ascii=False)
    return re.sub("[\x7f]", lambda m: f"\\u{ord(m.group()):04x}", escaped)


def _control_free(text: str) -> str:
    return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", " ", text)


def check_no_marker(root: lxml.etree._Element, where: str) -> None:
    for element in root.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        assert MARKER_TAG not in tag.lower(), f"{where}: unescaped <{tag}>"
        for name in element.attrib:
            assert MARKER_ATTR not in str(name).lower(), f"{where}: unescaped attribute {name}"


def check_failure(stderr: str, site: Path) -> None:
    lines = stderr.strip().splitlines()
    assert lines, "a failed build said nothing"
    *problems, last = lines
    counted = FAILED_LINE.match(last)
    assert counted, f"last line is not the summary: {last!r}"
    assert len(problems) == int(counted.group(1)), stderr
    for line in problems:
        assert PROBLEM_LINE.match(line), f"not one clear line: {line!r}"
        assert (site / re.split(r":\d+: |: ", line, maxsplit=1)[0]).is_file(), line


def check_built(out: Path, workdir: Path, html_pages: list[Path]) -> None:
    files = [p for p in out.rglob("*") if p.is_file() or p.is_symlink()]
    for path in files:
        assert not path.is_symlink() and path.resolve().is_relative_to(out.resolve()), path
    beside = {p.name for p in workdir.iterdir()}
    # Nothing outside out/ but sitegen's own bookkeeping beside it (writer.py): the spare (the
    # site before last) and the journal of the last commit.
    assert beside <= {"site", "out", ".out.sitegen-lock", ".out.sitegen-spare",
                      ".out.sitegen-journal"}, beside
    for path in files:
        rel = path.relative_to(out)
        parts = rel.parts
        if parts[0] in ("tags", "authors") and len(parts) > 2 and parts[1] != "page":
            assert SLUG.fullmatch(parts[1]), rel
        if path.name == "index.html" and parts[0] not in ("tags", "authors", "page",
                                                          "archive") and len(parts) > 1:
            assert SLUG.fullmatch(parts[-2]), rel  # the article's slug
        if path.suffix == ".html":
            text = path.read_text(encoding="utf-8")
            assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
            check_no_marker(lxml.html.document_fromstring(text), str(rel))
            html_pages.append(path)
        elif path.name in ("feed.xml", "atom.xml"):
            data = path.read_bytes()
            parsed = feedparser.parse(data)
            assert not parsed.bozo, f"{rel}: {parsed.bozo_exception}"
            tree = lxml.etree.fromstring(data)  # strict XML
            check_no_marker(tree, str(rel))
            items = tree.findall("channel/item") + tree.findall("{*}entry")
            for entry in [e for item in items for e in item.iter(
                    "{*}content", "{*}summary", "description", "{*}encoded")]:
                if entry.text and entry.text.strip():  # the HTML each item carries
                    check_no_marker(lxml.html.fragment_fromstring(
                        _control_free(entry.text), create_parent="div"), f"{rel} (item HTML)")
        elif path.name == "sitemap.xml":
            lxml.etree.fromstring(path.read_bytes())


def build_generated(config: str, articles: dict[str, str], workdir: Path) -> tuple[int, str]:
    site = workdir / "site"
    (site / "content").mkdir(parents=True)
    (site / "sitegen.toml").write_text(config, encoding="utf-8")
    for name, text in articles.items():
        path = site / "content" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    stderr, stdout = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        code = main(["build", "-s", str(site), "-o", str(workdir / "out"), "--future"])
    return code, stderr.getvalue()


def test_generated_sites_build_or_fail_cleanly_and_build_safe_valid_output(
        tmp_path: Path) -> None:
    pages: list[Path] = []
    outcomes = {"built": 0, "failed": 0}
    keep = tmp_path / "pages"
    keep.mkdir()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(sites())
    def check(generated: tuple[str, dict[str, str]]) -> None:
        config, articles = generated
        with tempfile.TemporaryDirectory() as folder:
            workdir = Path(folder)
            code, stderr = build_generated(config, articles, workdir)
            assert "Traceback" not in stderr and "unexpectedly" not in stderr, stderr
            assert code in (0, 1), stderr
            if code == 1:
                outcomes["failed"] += 1
                check_failure(stderr, workdir / "site")
                assert not (workdir / "out").exists()
                return
            outcomes["built"] += 1
            built: list[Path] = []
            check_built(workdir / "out", workdir, built)
            # Keep a few pages of each example for one validator run at the end.
            for page in [p for p in built if "/tags/" not in p.as_posix()][:6]:
                copy = keep / f"{len(pages):05d}.html"
                shutil.copyfile(page, copy)
                pages.append(copy)

    check()
    assert outcomes["built"] >= 10 and outcomes["failed"] >= 5, outcomes  # both paths explored
    errors = vnu_errors(run_vnu(pages), keep)
    assert errors == [], "\n".join(errors[:20])


# --- the reading stage alone, at many more examples -------------------------------------------

@settings(max_examples=EXAMPLES * 6, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(article_files())
def test_any_article_file_reads_or_gives_one_located_problem(text: str) -> None:
    from sitegen.config import Config

    with tempfile.TemporaryDirectory() as folder:
        site = Path(folder)
        path = site / "content" / "story.md"
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
        try:
            source = read_source(path, Config(site_dir=site))
        except SiteError as exc:
            problem = exc.problem
            assert problem.file == "content/story.md"
            assert "\n" not in problem.message and problem.message.strip()
            lines = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
            assert problem.line is None or 1 <= problem.line <= lines
            return
        assert SLUG.fullmatch(source.slug)
        assert source.title.strip() and "\n" not in source.title
        assert source.date.tzinfo is not None
        for tag in source.tags:
            assert tag.strip()


@pytest.mark.parametrize("slug", ["../../../etc", "/etc/passwd", "..", ".", "%2e%2e",
                                  "a/../../b", "C:\\Windows", "\x00", "~root", "-", "---x---"])
def test_hostile_slugs_become_safe_or_are_refused(tmp_path: Path, slug: str) -> None:
    text = ("---\n" + yaml.safe_dump({"title": "Story", "date": "2020-01-01", "author": "Ann",
                                      "slug": slug}) + "---\nBody\n")
    code, stderr = build_generated('title = "T"\n', {"a.md": text}, tmp_path)
    if code == 1:
        check_failure(stderr, tmp_path / "site")
        assert "gives an empty URL slug" in stderr
        return
    assert code == 0, stderr
    pages = [p.relative_to(tmp_path / "out") for p in (tmp_path / "out" / "2020").rglob("*.html")]
    assert len(pages) == 1 and SLUG.fullmatch(pages[0].parts[-2]), pages
    check_built(tmp_path / "out", tmp_path, [])


# --- sitegen.toml: any keys, any values ---------------------------------------------------------

CONFIG_KEYS = ["title", "description", "base_url", "language", "timezone", "theme", "per_page",
               "permalink", "default_author", "words_per_minute", "tilte", "extra"]
TABLES = {"feeds": ["items", "full_content", "itemz"],
          "markdown": ["html", "typographer", "linkify", "anchors", "highlight", "htlm"],
          'authors."Ann"': ["role", "bio", "avatar", "roel"], "extra": ["anything", "nested"]}


def toml_value(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["text", "int", "bool", "float", "list", "path", "url", "zone"]))
    if kind == "text":
        return toml_str(draw(texts))
    if kind == "int":
        return str(draw(st.integers(-10, 10**12)))
    if kind == "bool":
        return draw(st.sampled_from(["true", "false"]))
    if kind == "float":
        return draw(st.sampled_from(["1.5", "-0.0", "inf", "nan", "1e300"]))
    if kind == "list":
        return "[" + ", ".join(toml_str(t) for t in draw(st.lists(texts, max_size=3))) + "]"
    if kind == "path":
        return toml_str(draw(st.sampled_from(["/{slug}/", "{slug}", "/{year}/{nope}/{slug}/",
                                              "/../{slug}/", "/{slug}//", "/a b/{slug}/"])))
    if kind == "url":
        return toml_str(draw(st.sampled_from(["https://x.example.com/news/", "ftp://x", "x",
                                              "https://", "http://[::1]:8000", ""])))
    return toml_str(draw(st.sampled_from(["UTC", "America/New_York", "Mars/Olympus", "../etc",
                                          ""])))


@st.composite
def config_files(draw: st.DrawFn) -> str:
    lines = [f"{key} = {toml_value(draw)}"
             for key in draw(st.lists(st.sampled_from(CONFIG_KEYS[:-1]), unique=True, max_size=6))]
    for table in draw(st.lists(st.sampled_from(sorted(TABLES)), unique=True, max_size=3)):
        lines.append(f"[{table}]")
        lines += [f"{key} = {toml_value(draw)}"
                  for key in draw(st.lists(st.sampled_from(TABLES[table]), unique=True, max_size=3))]
    if draw(one_in(10)):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(
            ["title = ", "[feeds", "= 3", "per_page = 1 = 2", '"unclosed = "x'])))
    return "\n".join(lines) + "\n"


@settings(max_examples=EXAMPLES * 4, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(config_files())
def test_any_config_file_loads_or_gives_located_problems(text: str) -> None:
    from sitegen.config import load_config
    from sitegen.errors import BuildError

    with tempfile.TemporaryDirectory() as folder:
        site = Path(folder)
        (site / "sitegen.toml").write_text(text, encoding="utf-8")
        try:
            config = load_config(site)
        except (BuildError, SiteError) as exc:
            problems = exc.problems if isinstance(exc, BuildError) else [exc.problem]
            assert problems
            for problem in problems:
                assert problem.file == "sitegen.toml" and "\n" not in problem.message
                lines = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
            assert problem.line is None or 1 <= problem.line <= lines
            return
        assert config.per_page >= 1 and config.title.strip()
        assert config.base_url.startswith(("http://", "https://"))
