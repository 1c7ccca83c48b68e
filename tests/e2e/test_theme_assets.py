"""The newsroom theme's stylesheets: shipped minified, made from the readable sources by
tools/build_theme_css.py, and each page loads only what it uses (article styles on articles,
code colours where there is highlighted code)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from conftest import PUBLISHED, REPO, Built, article, build_site, parse_html, write_site

THEME = REPO / "themes" / "newsroom"


def _tool():  # noqa: ANN202 (the tool's module)
    pytest.importorskip("rcssmin", reason="rcssmin is in the test extra: pip install -e '.[test]'")
    spec = importlib.util.spec_from_file_location("build_theme_css",
                                                  REPO / "tools" / "build_theme_css.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_shipped_stylesheet_is_its_source_minified() -> None:
    tool = _tool()
    sources = sorted(p.name for p in (THEME / "src" / "css").glob("*.css"))
    assert sources == sorted(p.name for p in (THEME / "static" / "css").glob("*.css"))
    for name in sources:
        shipped = (THEME / "static" / "css" / name).read_text(encoding="utf-8")
        assert shipped == tool.minified(THEME / "src" / "css" / name), (
            f"static/css/{name} is not src/css/{name} minified: python tools/build_theme_css.py")
        assert shipped.count("\n") == 2  # a banner line and the rules: no readable copy shipped


def stylesheets(page: Path) -> list[str]:
    return [str(href).split("?")[0] for href in
            parse_html(page).xpath("//link[@rel='stylesheet']/@href")]


def test_pages_load_only_the_styles_they_use(example_built: Built, tmp_path: Path) -> None:
    out = example_built.output
    for rel in ("index.html", "tags/index.html", "archive/index.html", "feeds/index.html",
                "404.html", "search/index.html", "authors/zoe-muller/index.html"):
        assert stylesheets(out / rel) == ["/css/style.css"], rel
    for url, rel in PUBLISHED.items():  # code colours only where a fenced block has them
        code = "```" in (REPO / rel).read_text(encoding="utf-8")
        assert stylesheets(out / url.strip("/") / "index.html") == [
            "/css/style.css", *(["/css/pygments.css"] if code else []), "/css/article.css"], url
    site = write_site(tmp_path / "site", {
        "code.md": article(title="Code", body="```python\nprint('on air')\n```\n"),
        "plain.md": article(title="Plain", date="2020-01-02", body="```\nno language\n```\n")})
    built = build_site(site, tmp_path / "out")
    assert stylesheets(built.output / "2020" / "01" / "code" / "index.html") == [
        "/css/style.css", "/css/pygments.css", "/css/article.css"]
    assert stylesheets(built.output / "2020" / "01" / "plain" / "index.html") == [
        "/css/style.css", "/css/article.css"]
