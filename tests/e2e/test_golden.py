"""Golden test: a tiny fixed site (tests/sites/golden/) builds to exactly the committed output
in tests/golden/expected/, byte for byte.

Any intended change to the output (templates, theme CSS, feeds, Markdown rendering) shows up
here; review it, then regenerate the expected tree with

    SITEGEN_UPDATE_GOLDEN=1 python -m pytest tests/e2e/test_golden.py

and commit tests/golden/expected/ with the change.
"""

from __future__ import annotations

import difflib
import os
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import TESTS, Built, broken_links, build_site, file_hashes

GOLDEN_SITE = TESTS / "sites" / "golden"
EXPECTED = TESTS / "golden" / "expected"
GOLDEN_NOW = datetime(2023, 4, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
UPDATE = os.environ.get("SITEGEN_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def golden_built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    # A copy: the build keeps its cache in the site folder, and one left in the repository by
    # an older sitegen would add a warning.
    site = shutil.copytree(GOLDEN_SITE, tmp_path_factory.mktemp("golden") / "site",
                           ignore=shutil.ignore_patterns(".sitegen-cache"))
    return build_site(site, site.parent / "out", now=GOLDEN_NOW)


def _diff(rel: str, expected: Path, actual: Path) -> str:
    try:
        old = expected.read_text(encoding="utf-8").splitlines(keepends=True)
        new = actual.read_text(encoding="utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return f"{rel}: binary files differ\n"
    return "".join(difflib.unified_diff(old, new, f"expected/{rel}", f"built/{rel}", n=2))


def test_golden_site_builds_to_the_committed_output(golden_built: Built) -> None:
    if UPDATE:
        if EXPECTED.exists():
            shutil.rmtree(EXPECTED)
        shutil.copytree(golden_built.output, EXPECTED)
        pytest.skip(f"SITEGEN_UPDATE_GOLDEN=1: rewrote {EXPECTED}; review `git diff` and commit")
    assert EXPECTED.is_dir(), (f"{EXPECTED} is missing; create it with "
                               "SITEGEN_UPDATE_GOLDEN=1 python -m pytest tests/e2e/test_golden.py")
    expected, actual = file_hashes(EXPECTED), file_hashes(golden_built.output)
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    changed = sorted(rel for rel in set(expected) & set(actual) if expected[rel] != actual[rel])
    if missing or extra or changed:
        report = [f"missing (expected but not built): {missing}" if missing else "",
                  f"extra (built but not expected): {extra}" if extra else "",
                  f"differ: {changed}" if changed else ""]
        if changed:
            report.append(_diff(changed[0], EXPECTED / changed[0],
                                golden_built.output / changed[0])[:6000])
        report.append("If the change is intended: SITEGEN_UPDATE_GOLDEN=1 python -m pytest "
                      "tests/e2e/test_golden.py, then commit tests/golden/expected/")
        pytest.fail("\n".join(r for r in report if r))
    assert len(expected) > 30


def test_golden_site_publishes_three_and_holds_back_two(golden_built: Built) -> None:
    report = golden_built.report
    assert (report.articles, report.drafts_skipped, report.scheduled_skipped) == (3, 1, 1)
    assert report.next_due == datetime(2030, 5, 1, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def test_golden_site_warns_about_one_tag_spelled_three_ways(golden_built: Built) -> None:
    warnings = [str(w) for w in golden_built.report.warnings]
    assert len(warnings) == 1, warnings
    assert "Late-Night TV" in warnings[0]
    assert '"late night TV"' in warnings[0] and '"Late Night TV"' in warnings[0]
    assert (golden_built.output / "tags" / "late-night-tv" / "index.html").is_file()


def test_golden_site_links_resolve_under_its_base_path(golden_built: Built) -> None:
    assert golden_built.base_path == "/desk"
    problems, checked = broken_links(golden_built)
    assert not problems, "\n".join(problems)
    assert checked > 200


def test_committed_golden_output_is_a_sitegen_output_folder() -> None:
    if not EXPECTED.is_dir():
        pytest.skip(f"{EXPECTED} not generated yet")
    assert (EXPECTED / ".sitegen-manifest.json").is_file()
    article = EXPECTED / "2023" / "03" / "14" / "harbour-lights-renewed-for-a-third-series"
    assert (article / "index.html").is_file()
    assert not list(EXPECTED.rglob("*coming-soon*")) and not (EXPECTED / "2030").exists()
