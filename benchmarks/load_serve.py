#!/usr/bin/env python3
"""Load on `sitegen serve`, on loopback only and bounded in time.

    python benchmarks/load_serve.py                          # 30 s, 50 clients, 20 live tabs
    python benchmarks/load_serve.py --seconds 8 --json figures.json

The real `python -m sitegen serve` runs in a child process bound to 127.0.0.1. For
--seconds, --clients threads fetch the site's pages, feeds and stylesheet over keep-alive
connections, --live threads hold live-reload long polls (`/__sitegen/wait?since=N`, as the
page script does) and an editor saves one of a few articles every --edit-every seconds
(rewriting the file in place, as many editors do, so some rebuilds may read a file mid-write
and fail, which the server must survive). Then the edits stop, the last rebuild is awaited,
and the server is stopped with SIGTERM.

It passes (exit 0) when:
- no request failed (every status 200, every body complete, no connection error);
- no half-written page: every HTML page is a whole document with the live script, and an
  edited article's revision marker at the top of its body matches the one at the bottom;
  no client ever saw an article go back to an older revision;
- every live tab was told of every rebuild: after each save each tab heard of a newer build
  (in order; a tab that polls again after two quick rebuilds hears of the newest at once,
  as a browser tab would, so the numbers it saw exactly are reported as a figure), and all
  tabs end at the last build;
- memory is steady: the server's resident memory over the last fifth of the run is within
  --max-growth-mb of the first fifth (after a warm-up);
- the server exits cleanly and reported no unexpected error.
Every request goes to 127.0.0.1; the loops stop at the deadline.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
SERVING = re.compile(r"Serving .* at http://127\.0\.0\.1:(\d+)/")
REVISION = re.compile(r"REV-START-(\d+)\b.*REV-END-(\d+)\b", re.DOTALL)
LIVE_SCRIPT = '<script src="/__sitegen/live.js"'
FILLER = ("The network confirmed the renewal on a quiet Tuesday, and the cast found out from "
          "their agents before the announcement went out. ")


@dataclass
class Figures:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    half_written: list[str] = field(default_factory=list)
    went_back: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    edits: int = 0
    edit_times: list[float] = field(default_factory=list)
    tabs: list[list[tuple[float, int]]] = field(default_factory=list)
    rss_mb: list[tuple[float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, kind: list[str], message: str) -> None:
        with self.lock:
            if len(kind) < 50:
                kind.append(message)


def article_text(number: int, revision: int) -> str:
    body = "\n\n".join(FILLER * 3 for _ in range(6))
    return (f"---\ntitle: \"Renewal Watch {number}\"\ndate: 2021-0{1 + number % 9}-1{number % 10}"
            f"\nauthor: \"Desk Editor\"\ntags: [\"Renewals\", \"Desk {number % 4}\"]\n---\n\n"
            f"REV-START-{revision} opens the story.\n\n{body}\n\nREV-END-{revision} closes it.\n")


def make_site(folder: Path, articles: int) -> Path:
    site = folder / "site"
    (site / "content").mkdir(parents=True)
    (site / "sitegen.toml").write_text('title = "Load Desk"\nbase_url = "https://load.example.com"'
                                       '\nper_page = 5\n', encoding="utf-8")
    for number in range(articles):
        (site / "content" / f"renewal-{number}.md").write_text(article_text(number, 0),
                                                               encoding="utf-8")
    return site


def site_paths(site: Path, base_url: str) -> list[str]:
    """Every URL the preview serves, from sitegen's own render plan."""
    sys.path.insert(0, str(ROOT))
    from sitegen.pipeline.stages import Settings, prepare
    from sitegen.report import BuildOptions

    plan = prepare(Settings(BuildOptions(site_dir=site, base_url=base_url, future=True))).plan
    paths = []
    for job in plan.jobs:
        path = "/" + job.path
        paths.append(path[:-len("index.html")] if path.endswith("/index.html") else path)
    return paths


class Server:
    def __init__(self, site: Path, folder: Path) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1", TMPDIR=str(folder))
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        self.proc = subprocess.Popen([sys.executable, "-m", "sitegen", "serve", "-s", str(site),
                                      "--host", HOST, "--port", "0"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self.port = 0
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(120) or not self.port:
            self.proc.kill()
            raise RuntimeError("the server did not start: " + "\n".join(self.lines))

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            match = SERVING.search(line)
            if match:
                self.port = int(match.group(1))
                self._ready.set()
        self._ready.set()

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9


def get(connection: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    connection.request("GET", path, headers={"Host": f"{HOST}:{connection.port}"})
    response = connection.getresponse()
    return response.status, response.read()


def client(port: int, paths: list[str], deadline: float, figures: Figures, seed: int) -> None:
    rng = random.Random(seed)
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    seen_revision: dict[str, int] = {}
    while time.monotonic() < deadline:
        path = rng.choice(paths)
        started = time.monotonic()
        try:
            status, body = get(connection, path)
        except (OSError, http.client.HTTPException) as exc:
            figures.fail(figures.failures, f"{path}: {exc!r}")
            connection.close()
            connection = http.client.HTTPConnection(HOST, port, timeout=60)
            continue
        with figures.lock:
            figures.requests += 1
            figures.latencies.append(time.monotonic() - started)
        if status != 200:
            figures.fail(figures.failures, f"{path}: HTTP {status}")
            continue
        if path.endswith("/") or path.endswith(".html"):
            check_page(path, body.decode("utf-8", "replace"), seen_revision, figures)
        elif path.endswith(".xml"):
            try:
                ET.fromstring(body)
            except ET.ParseError as exc:
                figures.fail(figures.half_written, f"{path}: feed does not parse: {exc}")
    connection.close()


def check_page(path: str, html: str, seen: dict[str, int], figures: Figures) -> None:
    if not (html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
            and html.count(LIVE_SCRIPT) == 1):
        figures.fail(figures.half_written, f"{path}: not a whole page ({len(html)} bytes)")
        return
    match = REVISION.search(html)
    if match is None or "/renewal-watch-" not in path:
        return
    start, end = int(match.group(1)), int(match.group(2))
    if start != end:
        figures.fail(figures.half_written, f"{path}: revision {start} at the top, {end} at the end")
    if start < seen.get(path, 0):
        figures.fail(figures.went_back, f"{path}: revision {start} after {seen[path]}")
    seen[path] = max(start, seen.get(path, 0))


def live_tab(port: int, since: int, stop: threading.Event, seen: list[tuple[float, int]],
             figures: Figures) -> None:
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    while not stop.is_set():
        try:
            status, body = get(connection, f"/__sitegen/wait?since={since}")
        except (OSError, http.client.HTTPException) as exc:
            if stop.is_set():
                break  # the server is being stopped under a waiting poll: expected
            figures.fail(figures.failures, f"live tab: {exc!r}")
            connection.close()
            connection = http.client.HTTPConnection(HOST, port, timeout=60)
            continue
        if status != 200:
            figures.fail(figures.failures, f"live tab: HTTP {status}")
            continue
        build = int(json.loads(body)["build"])
        if build != since:
            seen.append((time.monotonic(), build))
            since = build
    connection.close()


def editor(site: Path, articles: int, every: float, deadline: float, figures: Figures) -> None:
    revision = 0
    edited = list(range(min(3, articles)))
    while time.monotonic() < deadline:
        revision += 1
        number = edited[revision % len(edited)]
        # In place (truncate, then write), as many editors save.
        (site / "content" / f"renewal-{number}.md").write_text(article_text(number, revision),
                                                               encoding="utf-8")
        figures.edits += 1
        figures.edit_times.append(time.monotonic())
        time.sleep(every)


def sample_memory(server: Server, stop: threading.Event, figures: Figures) -> None:
    started = time.monotonic()
    while not stop.wait(0.5):
        try:
            figures.rss_mb.append((time.monotonic() - started, server.rss_mb()))
        except (OSError, AttributeError):
            return


def state(port: int) -> dict:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        return json.loads(get(connection, "/__sitegen/state")[1])
    finally:
        connection.close()


def run(seconds: float, clients: int, live: int, edit_every: float, articles: int,
        max_growth_mb: float) -> dict:
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="sitegen-load-") as folder:
        site = make_site(Path(folder), articles)
        server = Server(site, Path(folder))
        port = server.port
        paths = site_paths(site, f"http://{HOST}:{port}")
        stop_live, stop_memory = threading.Event(), threading.Event()
        first_build = state(port)["build"]
        tabs = [[] for _ in range(live)]  # type: list[list[tuple[float, int]]]
        figures.tabs = tabs
        threads = [threading.Thread(target=live_tab, args=(port, first_build, stop_live,
                                                           tabs[i], figures), daemon=True)
                   for i in range(live)]
        memory = threading.Thread(target=sample_memory, args=(server, stop_memory, figures),
                                  daemon=True)
        memory.start()
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # the tabs are waiting before the first edit
        started = time.monotonic()
        deadline = started + seconds
        workers = [threading.Thread(target=client, args=(port, paths, deadline, figures, i),
                                    daemon=True) for i in range(clients)]
        workers.append(threading.Thread(target=editor, args=(site, articles, edit_every,
                                                             deadline, figures), daemon=True))
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=seconds + 120)
        elapsed = time.monotonic() - started
        # The last edit's rebuild: wait until the server is idle and every tab has its number.
        settle_until = time.monotonic() + 30
        final = state(port)
        while time.monotonic() < settle_until:
            time.sleep(0.5)
            now = state(port)
            if now["build"] == final["build"] and all(t and t[-1][1] == now["build"]
                                                      for t in tabs):
                break
            final = now
        stop_memory.set()
        rss_at_end = server.rss_mb()
        last_pages = {}  # the edited articles' pages, as served after the last save
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        for number in range(min(3, articles)):
            path = next(p for p in paths if p.endswith(f"/renewal-watch-{number}/"))
            match = REVISION.search(get(connection, path)[1].decode("utf-8"))
            last_pages[number] = int(match.group(1)) if match else -1
        connection.close()
        stop_live.set()
        exit_code = server.stop()
        for thread in threads:
            thread.join(timeout=WAIT_AFTER_STOP)
        final_source_revisions = {}
        for number in range(min(3, articles)):
            text = (site / "content" / f"renewal-{number}.md").read_text(encoding="utf-8")
            final_source_revisions[number] = int(re.search(r"REV-START-(\d+)", text).group(1))  # type: ignore[union-attr]
    return summarize(figures, server, final, first_build, elapsed, exit_code, rss_at_end,
                     last_pages, final_source_revisions, max_growth_mb, seconds, clients, live,
                     edit_every)


WAIT_AFTER_STOP = 5


def summarize(figures: Figures, server: Server, final: dict, first_build: int, elapsed: float,
              exit_code: int, rss_at_end: float, last_pages: dict[int, int],
              final_source_revisions: dict[int, int], max_growth_mb: float, seconds: float,
              clients: int, live: int, edit_every: float) -> dict:
    builds = list(range(first_build + 1, final["build"] + 1))
    # A tab re-polling after two rebuilds is told of the newest at once (and reloads once):
    # the numbers it saw exactly are a figure; what must hold is that every tab heard of a
    # newer build after every save, in order, up to the last build.
    exact = [len({b for _, b in tab} & set(builds)) for tab in figures.tabs]
    out_of_order = sum(1 for tab in figures.tabs
                       if [b for _, b in tab] != sorted({b for _, b in tab}))
    not_final = sum(1 for tab in figures.tabs if not tab or tab[-1][1] != final["build"])
    delays, unheard = [], 0  # seconds from each save to each tab's next notice
    for edit in figures.edit_times:
        for tab in figures.tabs:
            later = [t for t, _ in tab if t >= edit]
            if later:
                delays.append(later[0] - edit)
            else:
                unheard += 1
    samples = figures.rss_mb
    warm = [mb for t, mb in samples if t >= min(3.0, seconds / 4)]
    fifth = max(1, len(warm) // 5)
    growth = (statistics.median(warm[-fifth:]) - statistics.median(warm[:fifth])) if warm else 0.0
    rebuilt = sum(1 for line in server.lines if line.startswith("Rebuilt in "))
    failed_builds = sum(1 for line in server.lines if line.startswith("Build failed:"))
    unexpected = [line for line in server.lines if "unexpectedly" in line or "Traceback" in line]
    latencies = sorted(figures.latencies)
    expected_revision = max(final_source_revisions.values()) if final_source_revisions else 0
    stale_pages = {n: r for n, r in last_pages.items() if r != final_source_revisions[n]}
    result = {
        "seconds": round(elapsed, 1), "clients": clients, "live_tabs": live,
        "edit_every": edit_every, "requests": figures.requests,
        "requests_per_second": round(figures.requests / elapsed) if elapsed else 0,
        "latency_ms_median": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "latency_ms_p99": round(1000 * latencies[int(len(latencies) * 0.99)], 1)
        if latencies else None,
        "latency_ms_max": round(1000 * latencies[-1], 1) if latencies else None,
        "failed_requests": len(figures.failures), "failures": figures.failures[:10],
        "half_written_pages": len(figures.half_written), "half_written": figures.half_written[:10],
        "went_back": figures.went_back[:10],
        "edits": figures.edits, "rebuilds": len(builds), "rebuilds_ok": rebuilt,
        "rebuilds_failed_mid_save": failed_builds,
        "live_notices_per_tab_min": min(map(len, figures.tabs), default=0),
        "live_notices_per_tab_max": max(map(len, figures.tabs), default=0),
        "builds_seen_exactly_per_tab_min": min(exact, default=0),
        "saves_a_tab_never_heard_of": unheard, "tabs_not_at_last_build": not_final,
        "tabs_out_of_order": out_of_order,
        "edit_to_notice_ms_median": round(1000 * statistics.median(delays), 1) if delays else None,
        "edit_to_notice_ms_max": round(1000 * max(delays), 1) if delays else None,
        "rss_mb_start": round(warm[0], 1) if warm else None,
        "rss_mb_end": round(rss_at_end, 1), "rss_mb_max": round(max(warm), 1) if warm else None,
        "rss_growth_mb": round(growth, 1), "server_exit": exit_code,
        "server_unexpected_errors": unexpected[:5], "final_pages_stale": stale_pages,
        "final_revision": expected_revision,
    }
    result["passed"] = bool(
        figures.requests and not figures.failures and not figures.half_written
        and not figures.went_back and builds and not unheard and not not_final
        and not out_of_order
        and growth <= max_growth_mb and exit_code == 0 and not unexpected and not stale_pages)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--live", type=int, default=20, help="live-reload long polls held open")
    parser.add_argument("--edit-every", type=float, default=0.2, help="seconds between saves")
    parser.add_argument("--articles", type=int, default=30)
    parser.add_argument("--max-growth-mb", type=float, default=15.0,
                        help="resident memory growth that still counts as steady")
    parser.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args()
    result = run(args.seconds, args.clients, args.live, args.edit_every, args.articles,
                 args.max_growth_mb)
    for key, value in result.items():
        print(f"{key}: {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
