#!/usr/bin/env python3
"""Benchmark `sitegen serve` when a photo is replaced: from the new file landing in static/
to every page that showed the old one serving the new one's variants (issue 18: < 1 s).

    python benchmarks/bench_serve_image.py --site /tmp/imgbench/site-1000-images --replaces 5

The site is a bench_images.py corpus (copied to a temporary folder first, so it is left as it
was; `--warm-images` copies its encoded variants too, so the cold start encodes nothing and
the run takes minutes less). The real `python -m sitegen serve` runs in a child process; the
pages showing the chosen photo (its articles and the front page, when it shows one) are found
by the photo's variant names in their HTML. Each replacement writes a new JPEG of the same size
(Pillow) beside it and renames it over the old one, then polls every such page over HTTP (one
keep-alive connection) until none holds an old variant name and all hold a new one, then
asks for every new variant those pages name (a browser's next requests: the preview may hold
them until they are encoded) until each is served whole. Figures: wall seconds to the pages
and to their variants, and the server's CPU seconds (its user + system time, from /proc) over the
whole run and for each replacement (to the end of the second after it, so a rebuild's tail
counts). Each replacement is made on a settled preview: the first after the cold start's
"Rebuilt" line, each next one after the full rebuild that follows the last, and then only once
the server has been idle for a second (`wait_idle`): a replacement made while the cold start
still keeps the preview for the next run and links its spare took 1.1 to 1.5 s, against 0.3
to 0.5 s on an idle one.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_build import _FM_DATE, _FM_SLUG  # noqa: E402 (after the path is set)
from bench_serve import Client, Server  # noqa: E402


def pages_of(site: Path, url: str) -> list[str]:
    """The article pages whose lead image is `url`, and the front page."""
    pages = ["/"]
    for path in sorted((site / "content").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        if f'image: "{url}"' in text:
            date, slug = _FM_DATE.search(text), _FM_SLUG.search(text)
            if date and slug:
                pages.append(f"/{date.group(1)}/{date.group(2)}/{slug.group(1)}/")
    return pages


def server_cpu(pid: int) -> float:
    """User + system seconds of a process and its reaped children (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, quiet: float = 1.0, timeout: float = 300) -> None:
    """Until the server has used under 2 % of a CPU for `quiet` seconds: a settled preview."""
    deadline = time.monotonic() + timeout
    before = server_cpu(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = server_cpu(pid)
        if now - before < 0.02 * quiet:
            return
        before = now
    raise SystemExit(f"the server did not settle within {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--site", type=Path, required=True)
    parser.add_argument("--photo", default="photo-0019.jpg")
    parser.add_argument("--replaces", type=int, default=5)
    parser.add_argument("--warm-images", action="store_true",
                        help="copy the site's encoded variants too (.sitegen-cache/images/): "
                             "the preview's cold start then encodes nothing")
    args = parser.parse_args()
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="bench-serve-image-") as tmp:
        site = Path(tmp) / "site"
        shutil.copytree(args.site, site, ignore=shutil.ignore_patterns(".sitegen-cache"))
        variants = args.site / ".sitegen-cache" / "images"
        if args.warm_images and variants.is_dir():
            shutil.copytree(variants, site / ".sitegen-cache" / "images")
        photo = site / "static" / "images" / "corpus" / args.photo
        url = f"/images/corpus/{args.photo}"
        stem = re.escape(photo.stem)
        server = Server(site, Path(tmp) / "tmp")
        try:
            client = Client(server.wait_port(900))
            while not server.rebuild_ms(0):  # the cold start's build ended
                time.sleep(0.05)
            wait_idle(server.proc.pid)  # and the work after it (the kept preview, the spare)
            shown = [page for page in pages_of(site, url)
                     if re.search(rf"/_img/{stem}-", client.get(page)[1].decode())]
            print(f"{len(shown)} pages show {url}", flush=True)
            with Image.open(photo) as image:
                size = image.size
            cpu_before = server_cpu(server.proc.pid)
            times, cpus, served = [], [], []
            for n in range(args.replaces):
                old = {page: set(re.findall(rf"/_img/{stem}-[^\" ,]+", client.get(page)[1].decode()))
                       for page in shown}
                new = Path(tmp) / f"new-{n}.jpg"
                Image.new("RGB", size, (30 * n % 255, 90, 160)).save(new, "JPEG", quality=85)
                lines_before = len(server.lines)
                start, cpu_start = time.monotonic(), server_cpu(server.proc.pid)
                os.replace(new, photo)
                pending = set(shown)
                while pending:
                    for page in list(pending):
                        names = set(re.findall(rf"/_img/{stem}-[^\" ,]+",
                                               client.get(page)[1].decode()))
                        if names and not names & old[page]:
                            pending.discard(page)
                    if time.monotonic() - start > 120:
                        raise SystemExit(f"not updated after 120 s: {sorted(pending)}")
                times.append(time.monotonic() - start)
                wanted = set().union(*(re.findall(rf"/_img/{stem}-[^\" ,]+",
                                                  client.get(page)[1].decode())
                                       for page in shown))
                for name in sorted(wanted):
                    while client.get(name)[0] != 200:
                        if time.monotonic() - start > 120:
                            raise SystemExit(f"{name} not served after 120 s")
                served.append(time.monotonic() - start)
                while not server.rebuild_ms(lines_before):  # the full rebuild that follows
                    if time.monotonic() - start > 120:
                        raise SystemExit("no rebuild ended within 120 s")
                    time.sleep(0.05)
                wait_idle(server.proc.pid)  # and its tail (the search index, the spare)
                cpus.append(server_cpu(server.proc.pid) - cpu_start)
                print(f"  replace {n + 1}: pages {times[-1]:.3f} s, their {len(wanted)} variants "
                      f"{served[-1]:.3f} s, server {cpus[-1]:.2f} CPU-s", flush=True)
            cpu = server_cpu(server.proc.pid) - cpu_before
        finally:
            server.stop()
    print(f"photo replaced -> all {len(shown)} pages updated: median {statistics.median(times):.3f}"
          f" s, worst {max(times):.3f} s wall; their new variants served: median "
          f"{statistics.median(served):.3f} s, worst {max(served):.3f} s; server {cpu:.2f} "
          f"CPU-s over {len(times)} replacements (each to its settling), median "
          f"{statistics.median(cpus):.2f} a replacement")


if __name__ == "__main__":
    main()
