"""A short run of the fuzzer (benchmarks/fuzz_content.py) as part of the suite: the article
path (front matter and Markdown, read, rendered, planned, pages and feeds) takes generated
and mutated input for a few seconds without one crash. Longer runs: the script itself with
--seconds. The harness is itself checked: a planted bug must be caught and reported."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

SCRIPT = REPO / "benchmarks" / "fuzz_content.py"


def fuzz(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    figures = tmp_path / "figures.json"
    result = subprocess.run([sys.executable, str(SCRIPT), "--json", str(figures),
                             "--crashes", str(tmp_path / "crashes"), *args],
                            capture_output=True, text=True, timeout=300, check=False)
    assert figures.is_file(), result.stdout + result.stderr
    return result, json.loads(figures.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("engine", "seconds"), [("atheris", "12"), ("hypothesis", "6")])
def test_short_fuzz_run_finds_no_crash(tmp_path: Path, engine: str, seconds: str) -> None:
    if engine == "atheris" and importlib.util.find_spec("atheris") is None:
        pytest.skip("atheris is not installed (pip install atheris; CI installs it)")
    result, figures = fuzz(tmp_path, "--engine", engine, "--seconds", seconds)
    assert result.returncode == 0, result.stdout + result.stderr
    assert figures["engine"] == engine
    assert figures["crashes"] == 0 and figures["distinct_crashes"] == []
    assert figures["inputs"] >= 100, figures  # it really ran
    assert figures["built"] >= 5, figures  # and reached the pages and feeds, not just reading
    assert "no crashes" in result.stdout


def test_fuzz_harness_catches_and_reports_a_planted_crash(tmp_path: Path) -> None:
    result, figures = fuzz(tmp_path, "--engine", "hypothesis", "--seconds", "3", "--plant-bug")
    assert result.returncode == 1
    assert figures["crashes"] >= 1
    assert any(name.startswith("RuntimeError at ") for name in figures["distinct_crashes"])
    saved = sorted((tmp_path / "crashes").glob("crash-*"))
    assert {p.suffix for p in saved} == {".bin", ".txt"}
    assert any(b"PLANTED-FUZZ-BUG" in p.read_bytes() for p in saved if p.suffix == ".bin")
    assert "the planted bug" in result.stdout
