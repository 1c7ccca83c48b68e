#!/usr/bin/env python3
"""Pair this checkout's `sitegen build` with another checkout's, on the same corpora, in turn.

    git worktree add /tmp/before 3ea378a        # or `git archive COMMIT | tar -x -C DIR`
    python benchmarks/bench_against.py /tmp/before --sizes 1000 10000 --pairs 3

Each pair runs `bench_build.py --code DIR` (cold, second, warm, one changed) for one checkout
and then for the other, first one, then the other first, so the two see alike whatever else
loads the machine. Both are measured by this checkout's bench_build.py, on the same corpus
folder (`--keep`), each from a cold start (its cache, output and spare deleted), so neither
reads the other's cache. Prints every run's wall and CPU (user + system) seconds and the
median of each; the JSON of every run goes to --out.

"Within noise" is for the reader to judge from the spread of each column: on a shared
2-core virtual machine, identical runs differ by 10 to 20 % in wall time and in system time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS = ("cold", "second", "warm", "first_change", "one_changed")


def run(code: Path, sizes: list[int], keep: Path, out: Path, edits: int) -> dict:
    cmd = [sys.executable, str(HERE / "bench_build.py"), "--code", str(code), "--keep", str(keep),
           "--json", str(out), "--edits", str(edits), "--sizes", *map(str, sizes)]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text(encoding="utf-8"))


def cell(run: dict) -> str:
    return (f"{run['seconds']:.2f} / {run['cpu_seconds']:.1f} "
            f"({run['user_seconds']:.1f} + {run['system_seconds']:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the checkout to compare with (e.g. before)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--after", type=Path, help="the checkout compared (default: this one)")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--edits", type=int, default=1,
                        help="one-changed builds per run, after the first change (default 1)")
    parser.add_argument("--keep", type=Path, default=Path(tempfile.gettempdir()) / "benchcorpora")
    parser.add_argument("--out", type=Path, help="folder for each run's JSON (default: a temp one)")
    args = parser.parse_args()
    this, other = (args.after or HERE.parent).resolve(), args.other.resolve()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-against-"))
    out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for pair in range(args.pairs):
        order = [("before", other), ("after", this)]
        for name, code in order if pair % 2 == 0 else order[::-1]:
            runs[name].append(run(code, args.sizes, args.keep, out / f"{name}-{pair + 1}.json",
                                  args.edits))
    print(f"\nbefore = {other}  ({runs['before'][0]['git']['commit'][:9]})")
    print(f"after  = {this}  ({runs['after'][0]['git']['commit'][:9]})")
    print("each cell: wall s / CPU s (user + system); load average before each build in []")
    for index, size in enumerate(args.sizes):
        print(f"\n{size:,} articles")
        for row in ROWS:
            for name in ("before", "after"):
                results = [r["results"][index]["sitegen"][row] for r in runs[name]]
                cells = "; ".join(f"{cell(r)} [{r['load_before']:.1f}]" for r in results)
                wall = statistics.median(r["seconds"] for r in results)
                cpu = statistics.median(r["cpu_seconds"] for r in results)
                print(f"  {row:<11} {name:<6} median {wall:6.2f} / {cpu:5.1f}   runs: {cells}")
    print(f"\nJSON of every run: {out}")


if __name__ == "__main__":
    main()
