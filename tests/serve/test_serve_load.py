"""The dev server under load, bounded: benchmarks/load_serve.py for a few seconds with 50
concurrent clients and 20 live-reload long polls while articles are saved every 200 ms, all
on 127.0.0.1. The full 30-second run is the script itself; its figures go in the issue."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import REPO

SCRIPT = REPO / "benchmarks" / "load_serve.py"


def test_preview_under_load_serves_whole_pages_and_tells_every_tab(tmp_path: Path) -> None:
    figures_file = tmp_path / "figures.json"
    result = subprocess.run([sys.executable, str(SCRIPT), "--seconds", "8", "--clients", "50",
                             "--live", "20", "--edit-every", "0.2", "--json", str(figures_file)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert figures_file.is_file(), result.stdout + result.stderr
    figures = json.loads(figures_file.read_text(encoding="utf-8"))
    report = result.stdout
    assert figures["requests"] >= 200, report  # the load was real
    assert figures["edits"] >= 20 and figures["rebuilds"] >= 5, report
    assert figures["failed_requests"] == 0, figures["failures"]
    assert figures["half_written_pages"] == 0, figures["half_written"]
    assert figures["went_back"] == [], figures["went_back"]
    assert figures["saves_a_tab_never_heard_of"] == 0, report
    assert figures["tabs_not_at_last_build"] == 0 and figures["tabs_out_of_order"] == 0, report
    assert figures["final_pages_stale"] == {}, report  # the last save is what is served
    assert figures["rss_growth_mb"] <= 15, report
    assert figures["server_exit"] == 0 and figures["server_unexpected_errors"] == [], report
    assert figures["passed"] is True and result.returncode == 0, report
