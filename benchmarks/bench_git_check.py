#!/usr/bin/env python3
"""What `sitegen build`'s check for a committed .sitegen-cache/ costs (sitegen/commands/vcs.py).

    python benchmarks/bench_git_check.py                 # 1,000 articles
    python benchmarks/bench_git_check.py --count 200 --runs 30

A corpus from ../shared/bench/make_corpus.py is built once, put in a git repository (sources
committed, the cache ignored, as `sitegen init` sets it up), then timed:
- the check alone, started and waited for at once (`git ls-files`): its full cost;
- the check outside any repository (a walk up for `.git`, no process);
- warm `sitegen build` runs (cli.main, in this process) with git on PATH and without it, so
  the check's share of a real warm build shows (it runs beside the build).
Medians of --runs runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sitegen.commands import vcs  # noqa: E402
from sitegen.commands.cli import main  # noqa: E402
from sitegen.incremental.cache import CACHE_DIR  # noqa: E402

MAKE_CORPUS = REPO.parent / "shared" / "bench" / "make_corpus.py"


def median_ms(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def build(site: Path) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["build", "-s", str(site), "-q"]) == 0


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        site = Path(temp) / "site"
        subprocess.run([sys.executable, str(MAKE_CORPUS), "--count", str(args.count), "--out",
                        str(site)], check=True, capture_output=True)
        (site / ".gitignore").write_text(f"output/\n{CACHE_DIR}/\n.*.sitegen-*\n",
                                         encoding="utf-8")
        build(site)
        git = ["git", "-C", str(site), "-c", "user.name=b", "-c", "user.email=b@example.com"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "corpus"], check=True)
        tracked = subprocess.run([*git, "ls-files"], capture_output=True, text=True).stdout
        print(f"{args.count} articles, {len(tracked.splitlines())} files tracked by git; "
              f"medians of {args.runs} runs")
        alone = median_ms(lambda: vcs.TrackedCheck(site, CACHE_DIR).tracked(), args.runs)
        print(f"check alone (git ls-files, started and waited for): {alone:.2f} ms")
        outside = Path(temp) / "outside"
        outside.mkdir()
        if not any((p / ".git").exists() for p in (outside, *outside.parents)):
            none = median_ms(lambda: vcs.TrackedCheck(outside, CACHE_DIR).tracked(), args.runs)
            print(f"check outside a repository (no process): {none:.3f} ms")
        build(site)  # warm, and the quick path's snapshot in place
        path, no_git = os.environ["PATH"], str(Path(temp) / "no-git")
        with_git, without = [], []
        for _ in range(args.runs):  # interleaved, so the machine's load falls on both alike
            for env, times in ((path, with_git), (no_git, without)):
                os.environ["PATH"] = env
                try:
                    times.append(median_ms(lambda: build(site), 1))
                finally:
                    os.environ["PATH"] = path
        with_git, without = statistics.median(with_git), statistics.median(without)
        print(f"warm build with the check: {with_git:.1f} ms; without git: {without:.1f} ms; "
              f"difference {with_git - without:+.1f} ms")


if __name__ == "__main__":
    main_()
