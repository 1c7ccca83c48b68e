#!/usr/bin/env python3
"""Time the theme alone: render every page of a corpus in one process, by template.

    python benchmarks/bench_render.py                             # this checkout, 1,000 articles
    python benchmarks/bench_render.py --code /tmp/before --runs 4 # beside another checkout

A build's cold time mixes reading, Markdown, planning, feeds and writing with the theme;
this measures the pages' renders alone. Each checkout's sitegen runs in a process of its
own (PYTHONPATH set to that checkout, as compare_output.py does): it prepares the site
(read, render bodies, plan) in one process, then renders every page job `--rounds` times,
its rendered partials forgotten before each round as a build starts without them, and
prints the CPU seconds of the best round by template. `--runs` such processes per checkout
alternate, and each figure is the least of all: on a shared machine the CPU time of the
same work swings by a third between runs, and the least is the one least disturbed. The
pages' digest tells whether the checkouts rendered the same bytes.

Runs the checkout layouts since 3ea378a (`sitegen.build.prepare` and `sitegen.plan`) and
after the pipeline moved into sub-packages.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_build import sitegen_site  # noqa: E402 (after the path is set)

# Run as `python -c DRIVER SITE ROUNDS` with PYTHONPATH set to one checkout; prints one line
# of JSON: the best round's CPU seconds by template (and in all), and the pages' digest.
DRIVER = r'''
import gc, hashlib, json, sys, time
from pathlib import Path

site, rounds = Path(sys.argv[1]), int(sys.argv[2])
try:  # the pipeline in sub-packages
    from sitegen.incremental.cache import BuildCache
    from sitegen.pipeline.stages import Settings, prepare
    from sitegen.render.plan import PageJob, render_job
    from sitegen.report import BuildOptions
    options = BuildOptions(site_dir=site, output_dir=site / "unused-output", workers=1)
    prepared = prepare(Settings(options, BuildCache()))
    def render(job, theme):
        return render_job(job, theme, set())
except ImportError:  # 3ea378a's layout
    from sitegen.build import BuildOptions, prepare
    from sitegen.cache import BuildCache
    from sitegen.plan import PageJob, render_job
    options = BuildOptions(site_dir=site, output_dir=site / "unused-output", workers=1)
    prepared = prepare(options, BuildCache())
    def render(job, theme):
        return render_job(job, theme)
theme = prepared.theme
jobs = [job for job in prepared.plan.jobs if isinstance(job, PageJob)]

def forget():
    if hasattr(theme, "forget_partials"):
        theme.forget_partials()
    else:
        theme._partials = type(theme._partials)(theme._partials.limit)

gc.collect()
gc.freeze()  # the prepared site is not garbage: keep the collector off it
best, digest = {}, None
for _ in range(rounds):
    forget()
    spent, pages = {}, hashlib.sha256()
    for job in jobs:
        started = time.process_time()
        data = render(job, theme)
        spent[job.template] = spent.get(job.template, 0.0) + time.process_time() - started
        pages.update(job.path.encode() + b"\0" + data)
    spent["all pages"] = sum(spent.values())
    for name, seconds in spent.items():
        best[name] = min(best.get(name, seconds), seconds)
    digest = pages.hexdigest()[:16]
print(json.dumps({"seconds": best, "pages": len(jobs), "digest": digest}))
'''


def measure(code: Path, site: Path, rounds: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(code))
    done = subprocess.run([sys.executable, "-c", DRIVER, str(site), str(rounds)], env=env,
                          cwd=code, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{code}: the render failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="articles (default 1,000)")
    parser.add_argument("--code", type=Path, action="append", default=[],
                        help="another checkout to time beside this one (repeatable)")
    parser.add_argument("--runs", type=int, default=3, help="processes per checkout")
    parser.add_argument("--rounds", type=int, default=5, help="renders of every page per process")
    parser.add_argument("--keep", type=Path, default=Path(tempfile.gettempdir()) / "benchcorpora")
    args = parser.parse_args()
    site = sitegen_site(args.size, args.keep)
    codes = [HERE.parent, *(c.resolve() for c in args.code)]
    best: dict[Path, dict[str, float]] = {code: {} for code in codes}
    digests: dict[Path, str] = {}
    for run in range(args.runs):
        for code in codes if run % 2 == 0 else codes[::-1]:
            result = measure(code, site, args.rounds)
            digests[code] = result["digest"]
            for name, seconds in result["seconds"].items():
                best[code][name] = min(best[code].get(name, seconds), seconds)
    print(f"{args.size:,} articles; CPU seconds of the best of {args.runs} x {args.rounds} "
          "renders of every page, by template")
    names = sorted(best[codes[0]], key=lambda n: -best[codes[0]][n])
    print(f"{'':20}" + "".join(f"{str(code)[-22:]:>24}" for code in codes))
    for name in names:
        print(f"{name:20}" + "".join(f"{best[code].get(name, float('nan')):24.3f}"
                                      for code in codes))
    print(f"{'pages digest':20}" + "".join(f"{digests[code]:>24}" for code in codes))


if __name__ == "__main__":
    main()
