#!/usr/bin/env python3
"""Benchmark `sitegen build` on generated TV-news corpora: wall time, peak memory, pages/s.

    python benchmarks/bench_build.py                  # 1,000 and 10,000 articles
    python benchmarks/bench_build.py --sizes 1000     # just one size
    python benchmarks/bench_build.py --json out.json  # also write the figures as JSON

Corpora come from ../shared/bench/make_corpus.py (deterministic), so runs are comparable
across machines and commits. Each build runs in its own process; peak memory is that
process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"

SITE_TOML = """title = "Benchmark News"
base_url = "https://bench.example.com"
timezone = "UTC"
per_page = 10
"""


def make_site(count: int, folder: Path) -> Path:
    site = folder / f"site-{count}"
    if not (site / "content").is_dir():
        subprocess.run([sys.executable, str(MAKE_CORPUS), "--count", str(count), "--out",
                        str(site / "content")], check=True)
        (site / "sitegen.toml").write_text(SITE_TOML, encoding="utf-8")
    return site


def timed_build(site: Path, output: Path) -> dict[str, float]:
    """Run one build in a child process; return seconds, peak RSS (MiB) and files written."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "sitegen", "build", "-s", str(site), "-o",
                             str(output)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"build of {site} failed:\n{out}\n{err}")
    files = sum(1 for p in output.rglob("*") if p.is_file())
    return {"seconds": round(seconds, 3), "peak_mib": round(usage.ru_maxrss / 1024, 1),
            "files": files, "files_per_second": round(files / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--keep", type=Path, help="keep corpora in this folder (reused next run)")
    args = parser.parse_args()
    if not MAKE_CORPUS.exists():
        raise SystemExit(f"corpus generator not found at {MAKE_CORPUS}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        for count in args.sizes:
            site = make_site(count, work)
            output = Path(tmp) / f"out-{count}"
            cold = timed_build(site, output)
            again = timed_build(site, output)  # rebuild into an existing output (swap path)
            results.append({"articles": count, "cold": cold, "rebuild": again})
    print(f"{'articles':>9} {'build s':>8} {'rebuild s':>10} {'peak MiB':>9} {'files':>7} "
          f"{'files/s':>8}")
    for r in results:
        print(f"{r['articles']:>9} {r['cold']['seconds']:>8} {r['rebuild']['seconds']:>10} "
              f"{r['cold']['peak_mib']:>9} {r['cold']['files']:>7} "
              f"{r['cold']['files_per_second']:>8}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
