"""data/*.toml|yaml|json reach templates as read-only `site.data`; broken files are reported
with their line, and a change to a data file reaches the dev server's next rebuild."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest
from conftest import FIXED_NOW, article, build_site, parse_html, text_of, write_site

from sitegen.content.data import load_data
from sitegen.errors import BuildError
from sitegen.pipeline.stages import Settings, prepare
from sitegen.report import BuildOptions
from sitegen.serve.live import LiveSite

SCHEDULE_TEMPLATE = """{% extends "base.html" %}
{% block content %}
<h1>Schedule</h1>
<ul id="schedule">
{% for slot in site.data.schedule.monday %}<li>{{ slot.time }} {{ slot.show }}</li>
{% endfor %}</ul>
<p id="network">{{ site.data.network.name }} ({{ site.data.network.founded }})</p>
<p id="lineup">{{ site.data.shows.lineup.shows | join(", ") }}</p>
{% endblock %}
"""


def data_site(tmp_path: Path) -> Path:
    site = write_site(tmp_path / "site", {"a.md": article()})
    data = site / "data"
    (data / "shows").mkdir(parents=True)
    (data / "schedule.yaml").write_text(
        "monday:\n  - {time: '20:00', show: The Quiz Show}\n  - {time: '21:00', show: "
        "'Harbour <Lights>'}\n", encoding="utf-8")
    (data / "network.toml").write_text('name = "Channel Nine"\nfounded = 1987\n',
                                       encoding="utf-8")
    (data / "shows" / "lineup.json").write_text('{"shows": ["Static", "Late Desk"]}',
                                                encoding="utf-8")
    (data / ".hidden.json").write_text("not json", encoding="utf-8")
    (data / "notes.txt").write_text("ignored", encoding="utf-8")
    (site / "templates").mkdir()
    (site / "templates" / "archive.html").write_text(SCHEDULE_TEMPLATE, encoding="utf-8")
    return site


def test_data_files_reach_templates(tmp_path: Path) -> None:
    built = build_site(data_site(tmp_path), tmp_path / "out")
    doc = parse_html(built.output / "archive" / "index.html")
    assert [text_of(li) for li in doc.xpath("//ul[@id='schedule']/li")] == [
        "20:00 The Quiz Show", "21:00 Harbour <Lights>"]
    assert "Harbour &lt;Lights&gt;" in (built.output / "archive" / "index.html").read_text()
    assert text_of(doc.get_element_by_id("network")) == "Channel Nine (1987)"
    assert text_of(doc.get_element_by_id("lineup")) == "Static, Late Desk"


def test_data_values_are_read_only(tmp_path: Path) -> None:
    data, problems = load_data(data_site(tmp_path))
    assert problems == []
    assert isinstance(data.values, MappingProxyType)
    assert isinstance(data.values["schedule"]["monday"], tuple)
    assert isinstance(data.values["schedule"]["monday"][0], MappingProxyType)
    assert set(data.values) == {"schedule", "network", "shows"}
    with pytest.raises(TypeError):
        data.values["network"]["name"] = "Other"  # type: ignore[index]


def test_a_template_cannot_change_data(tmp_path: Path) -> None:
    site = data_site(tmp_path)
    (site / "templates" / "archive.html").write_text(
        '{% extends "base.html" %}{% block content %}'
        "{{ site.data.shows.lineup.shows.append('Mine') }}{% endblock %}", encoding="utf-8")
    with pytest.raises(BuildError) as info:
        build_site(site, tmp_path / "out")
    assert "templates/archive.html:1: template error:" in str(info.value.problems[0])
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name,text,expected", [
    ("bad.toml", 'a = 1\nb = "unclosed\n', "data/bad.toml:2: invalid TOML:"),
    ("bad.json", '{\n  "a": 1,\n  "b": \n}', "data/bad.json:4: invalid JSON: Expecting value"),
    ("bad.yaml", "a: 1\nb: [1, 2\n", "data/bad.yaml:2: invalid YAML:"),
    ("bomb.yaml", "a: &x [1, 2]\nb: *x\n", "data/bomb.yaml:2: YAML aliases (*name) are not allowed"),
    ("latin.json", b'{"a": "caf\xe9"}', "data/latin.json: not UTF-8 text"),
])
def test_broken_data_files_are_reported_with_their_line(tmp_path: Path, name: str,
                                                         text: str | bytes, expected: str) -> None:
    site = write_site(tmp_path / "site", {"a.md": article()})
    (site / "data").mkdir()
    path = site / "data" / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(BuildError) as info:
        prepare(Settings(BuildOptions(site_dir=site, now=FIXED_NOW)))
    assert len(info.value.problems) == 1
    assert str(info.value.problems[0]).startswith(expected)


def test_two_files_with_one_name_are_an_error(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"a.md": article()})
    (site / "data" / "shows").mkdir(parents=True)
    (site / "data" / "shows.json").write_text("{}", encoding="utf-8")
    (site / "data" / "shows.yaml").write_text("a: 1\n", encoding="utf-8")
    (site / "data" / "shows" / "x.toml").write_text("", encoding="utf-8")
    _, problems = load_data(site)
    assert [str(p) for p in problems] == [
        "data/shows.yaml: data/shows.json gives the same name 'site.data.shows'; rename or "
        "remove one",
        "data/shows/x.toml: 'site.data.shows.x' is both a file and a folder of data files; "
        "rename one",
    ]


def test_a_changed_data_file_reaches_the_next_live_rebuild(tmp_path: Path) -> None:
    site = data_site(tmp_path)
    live = LiveSite(BuildOptions(site_dir=site, now=FIXED_NOW), tmp_path / "preview")
    assert live.rebuild(everything=True).ok
    page = tmp_path / "preview" / "archive" / "index.html"
    assert "Channel Nine (1987)" in page.read_text(encoding="utf-8")
    (site / "data" / "network.toml").write_text('name = "Channel Ten"\nfounded = 1990\n',
                                                encoding="utf-8")
    outcome = live.rebuild()
    assert outcome.ok
    assert "archive/index.html" in outcome.written
    assert "Channel Ten (1990)" in page.read_text(encoding="utf-8")


def test_a_changed_data_file_reaches_the_next_cached_build(tmp_path: Path) -> None:
    from sitegen.pipeline.build import build

    site = data_site(tmp_path)
    options = BuildOptions(site_dir=site, output_dir=tmp_path / "out", now=FIXED_NOW)
    build(options)
    assert (site / ".sitegen-cache").is_dir()
    page = tmp_path / "out" / "archive" / "index.html"
    assert "Channel Nine (1987)" in page.read_text(encoding="utf-8")
    (site / "data" / "network.toml").write_text('name = "Channel Ten"\nfounded = 1990\n',
                                                encoding="utf-8")
    build(options)
    assert "Channel Ten (1990)" in page.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "text", "line", "char"), [
    ("shows.json", '{"shows": ["Static",\n "Late\\ufffeDesk"]}', 2, "U+FFFE"),
    ("shows.json", '{"shows": ["Static",\n "half \\ud83d"]}', 2, "U+D83D"),  # json keeps it
    ("shows.json", '{"a": 1,\n "k\\u0001": 2}', 2, "U+0001"),  # in a key
    ("shows.yaml", "shows:\n  - Static\n  - \"Late\\uFFFFDesk\"\n", 3, "U+FFFF"),
    ("shows.toml", 'a = 1\nshows = ["Static", "Late\\u0001Desk"]\n', 2, "U+0001"),
    ("shows.toml", 'a = 1\n\nb = "\\U0001FFFE"\n', 3, "U+1FFFE"),
])
def test_characters_pages_cannot_carry_in_a_data_file_are_errors(
        tmp_path: Path, name: str, text: str, line: int, char: str) -> None:
    site = write_site(tmp_path / "site", {"a.md": article()})
    (site / "data").mkdir()
    (site / "data" / name).write_text(text, encoding="utf-8")
    _, problems = load_data(site)
    (problem,) = problems
    assert (problem.file, problem.line) == (f"data/{name}", line)
    assert problem.message == (f"a value holds the character {char}, which pages and feeds "
                               "cannot carry; remove it")
