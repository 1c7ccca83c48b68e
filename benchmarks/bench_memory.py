#!/usr/bin/env python3
"""Peak memory of a cold `sitegen build`, with each process's share at the peak.

    python benchmarks/bench_memory.py --site /tmp/site10k --code before=/tmp/before after=. \
        --runs 2

For each run and each code folder in turn (paired: before, after, before, after, ...), the
site's `.sitegen-cache/` is emptied of everything but its image store (`images/`, so no
variant is encoded: the build is cold otherwise; `--encode` empties that too), the output
and its spare are deleted, and `python -m sitegen build -s SITE -o OUT -q` runs from that
folder (PYTHONPATH set to it). The process tree's RSS is sampled every 20 ms (and PSS,
from smaps_rollup, at the same time); at the highest tree RSS the script keeps each
process's RSS, and reports:

  peak tree RSS  the sum over the tree (a forked child counts its parent's shared pages again)
  shares         each process's RSS at that moment, the build's own process first
  peak tree PSS  the highest sum of PSS (shared pages counted once), sampled alongside
  wall, CPU      wall time; user + system CPU seconds of the build and its reaped children

Why apart from bench_build.py: issue 18's target is the tree RSS of the images site, and what
holds the peak is the question (which process, at which step), not the build's speed alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_build import (  # noqa: E402 (after the path is set)
    MIB,
    SamplerThread,
    _pss,
    _rss,
    _tree,
    run_sampled,
)

SAMPLE_SECONDS = 0.020


class PeakSampler(SamplerThread):
    """The process tree's summed RSS every SAMPLE_SECONDS, with each process's RSS at the
    highest sum; the summed PSS alongside."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.peak_rss = self.peak_pss = 0
        self.shares: list[tuple[int, int]] = []
        self.samples = 0
        self.timeline: list[tuple[float, list[int]]] = []  # (seconds, RSS of each process)

    def run(self) -> None:
        while not self.stop.is_set():
            pids = _tree(self.pid)
            rss = [(p, _rss(p)) for p in pids]
            total = sum(r for _, r in rss)
            self.timeline.append((time.perf_counter(), [r for p, r in rss if p == self.pid]
                                  + sorted((r for p, r in rss if p != self.pid), reverse=True)))
            if total > self.peak_rss:
                self.peak_rss, self.shares = total, rss
            self.peak_pss = max(self.peak_pss, sum(_pss(p) for p in pids))
            self.samples += 1
            self.stop.wait(SAMPLE_SECONDS)


def cold(site: Path, encode: bool = False) -> None:
    """Everything but the image variants forgotten (with `encode`, those too): the build
    reads, renders and writes all."""
    cache = site / ".sitegen-cache"
    if cache.is_dir():
        for entry in cache.iterdir():
            if entry.name == "images" and not encode:
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def measure(code: Path, site: Path, output: Path, encode: bool = False) -> dict:
    cold(site, encode)
    for folder in output.parent.glob(f".{output.name}.sitegen-*"):
        shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(output, ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=str(code))
    cmd = [sys.executable, "-m", "sitegen", "build", "-s", str(site), "-o", str(output), "-q"]
    run = run_sampled(cmd, PeakSampler, env, code)
    if run.returncode != 0:
        raise SystemExit(f"build failed in {code}:\n{run.text[-3000:]}")
    sampler, usage, started, wall = run.sampler, run.usage, run.started, run.seconds
    main = [r for p, r in sampler.shares if p == sampler.pid]
    others = sorted((r for p, r in sampler.shares if p != sampler.pid), reverse=True)
    timeline = [(at - started, [r / MIB for r in each]) for at, each in sampler.timeline]
    return {"timeline": timeline, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "user": usage.ru_utime, "sys": usage.ru_stime, "rss": sampler.peak_rss / MIB,
            "pss": sampler.peak_pss / MIB,
            "shares": [r / MIB for r in main + others], "samples": sampler.samples}


def print_timeline(timeline: list[tuple[float, list[float]]], step: float) -> None:
    """Each `step` seconds' sample with the largest tree RSS, its processes' shares."""
    slots: dict[int, tuple[float, list[float]]] = {}
    for at, each in timeline:
        slot = int(at // step)
        if slot not in slots or sum(each) > sum(slots[slot][1]):
            slots[slot] = (at, each)
    for at, each in slots.values():
        print(f"    {at:6.1f}s {sum(each):5.0f} MiB = " + " + ".join(f"{r:.0f}" for r in each))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, required=True)
    parser.add_argument("--code", nargs="+", default=[f"this={ROOT}"],
                        help="LABEL=FOLDER of a sitegen checkout (or `git archive`), in turn")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--output", type=Path, help="default: a folder beside the site")
    parser.add_argument("--encode", action="store_true",
                        help="empty the image store too: every variant is encoded (minutes)")
    parser.add_argument("--timeline", type=float, metavar="SECONDS",
                        help="also print each process's RSS every SECONDS (the largest sum)")
    args = parser.parse_args()
    site = args.site.resolve()
    output = (args.output or site.parent / f"{site.name}-bench-memory-out").resolve()
    codes = [(label, Path(folder).resolve()) for label, folder in
             (spec.split("=", 1) for spec in args.code)]
    print(f"{'code':<12} {'tree RSS':>9} {'shares (main first)':<28} {'tree PSS':>9} "
          f"{'wall':>7} {'CPU (user + sys)':>22}")
    for _ in range(args.runs):
        for label, code in codes:
            r = measure(code, site, output, args.encode)
            shares = " + ".join(f"{s:.0f}" for s in r["shares"])
            print(f"{label:<12} {r['rss']:>5.0f} MiB {shares:<28} {r['pss']:>5.0f} MiB "
                  f"{r['wall']:>6.1f}s {r['cpu']:>6.1f} ({r['user']:.1f} + {r['sys']:.1f})",
                  flush=True)
            if args.timeline:
                print_timeline(r["timeline"], args.timeline)
    shutil.rmtree(output, ignore_errors=True)
    for folder in output.parent.glob(f".{output.name}.sitegen-*"):
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
