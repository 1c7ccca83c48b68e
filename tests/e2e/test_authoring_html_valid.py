"""The pages the authoring features add pass the Nu HTML Checker: a site made by `sitegen init`,
a tag page with the registry's description and image, a config menu, and redirect pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import article, build_site, html_files, require_vnu, run_vnu, vnu_errors, write_site

from sitegen.commands.cli import main

CONFIG = '''title = "Desk & <Co>"
base_url = "https://desk.example.com"

[[menu]]
name = "Home"
url = "/"

[[menu]]
name = "Reviews & more"
url = "/tags/reviews/"

[tags."Reviews"]
description = """What we thought of it.

Scores out of ten."""
image = "/images/reviews.svg"
image_alt = "A television with a star on its screen"
former_slugs = ["our-reviews"]
'''


def test_authoring_pages_are_valid_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_vnu()
    site = write_site(tmp_path / "site", {
        "a.md": article(title='A "Review" <of> Something', tags=["Reviews"], summary="S.",
                        body="Words.").replace("\n---\n", '\naliases: ["old-review"]\n---\n', 1),
    }, config=CONFIG)
    (site / "static" / "images").mkdir(parents=True)
    (site / "static" / "images" / "reviews.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>', encoding="utf-8")
    built = build_site(site, tmp_path / "out")
    assert main(["init", str(tmp_path / "fresh")]) == 0
    assert main(["build", "-s", str(tmp_path / "fresh")]) == 0
    capsys.readouterr()

    wanted = [built.output / "tags" / "reviews" / "index.html",
              built.output / "tags" / "our-reviews" / "index.html",
              built.output / "2020" / "01" / "old-review" / "index.html",
              built.output / "index.html"]
    assert all(p.is_file() for p in wanted)
    fresh = html_files(tmp_path / "fresh" / "output")
    assert len(fresh) >= 8
    messages = run_vnu([*wanted, *fresh])
    errors = vnu_errors(messages, tmp_path)
    assert not errors, "\n".join(errors[:40])
