"""Lighthouse scores of the example site: every kind of page the newsroom theme makes.

Builds the repository's example site into a temporary folder, serves it on 127.0.0.1 (with
base_url set to that address, so canonical URLs and feeds point at the server), runs the
`lighthouse` command (npm package) with Debian's Chromium on each page and prints the four
category scores, the page's cumulative layout shift and its bytes (Lighthouse's total byte
weight: HTML, CSS, scripts, images and the search index the page fetched), and the CPU
seconds Lighthouse and Chromium used, and any finding of Lighthouse's image audits (an image
too large for its box, an old format, no width and height, a lazy lead image...). A
measurement, not a test: run it by hand.

    python benchmarks/lighthouse.py                 # mobile (Lighthouse's default)
    python benchmarks/lighthouse.py --desktop --json scores.json

Needs: `npm install -g lighthouse` and /usr/bin/chromium (both installed by .ci/run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sitegen.pipeline.build import build  # noqa: E402 (after the path is set)
from sitegen.report import BuildOptions  # noqa: E402 (after the path is set)

CHROMIUM = "/usr/bin/chromium"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
# Lighthouse's audits of how images are delivered (their ids in Lighthouse 12 and 13; an id a
# version lacks is skipped): the images issue asks that none of them find anything.
IMAGE_AUDITS = ("uses-responsive-images", "modern-image-formats", "uses-optimized-images",
                "offscreen-images", "unsized-images", "image-size-responsive",
                "image-aspect-ratio", "efficient-animated-content", "lcp-lazy-loaded",
                "prioritize-lcp-image", "image-delivery-insight")
PAGES = {
    "front page": "/",
    "article": "/2017/03/why-our-video-embeds-wait-for-you/",  # picture, figure, video
    "tag page": "/tags/netflix/",
    "author page": "/authors/dana-whitfield/",
    "archive year": "/archive/2016/",
    "search": "/search/?q=defenders",  # noindex: a results page, by design
    "404": "/404.html",  # noindex
}


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass


def image_findings(audits: dict[str, Any]) -> str:
    """The image audits that found something (scored below full marks), or "none"."""
    found = [name for name in IMAGE_AUDITS
             if isinstance(audits.get(name, {}).get("score"), (int, float))
             and audits[name]["score"] < 1]
    return " ".join(found) or "none"


def lighthouse(url: str, out: Path, desktop: bool) -> dict[str, Any]:
    command = [shutil.which("lighthouse") or "lighthouse", url, "--quiet", "--output=json",
               f"--output-path={out}", f"--only-categories={','.join(CATEGORIES)}",
               "--chrome-flags=--headless=new --no-sandbox --disable-gpu "
               "--disable-background-networking --disable-component-update --no-first-run "
               "--disable-sync"]
    if desktop:
        command.append("--preset=desktop")
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": CHROMIUM},
                   timeout=300)
    report = json.loads(out.read_text(encoding="utf-8"))
    audits = report["audits"]
    return {**{name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES},
            "CLS": round(audits["cumulative-layout-shift"]["numericValue"], 3),
            "bytes": audits["total-byte-weight"]["numericValue"],
            "image findings": image_findings(audits)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--desktop", action="store_true", help="desktop preset (default: mobile)")
    parser.add_argument("--json", type=Path, help="also write the scores to this file")
    args = parser.parse_args()
    if shutil.which("lighthouse") is None or not Path(CHROMIUM).is_file():
        print("needs `npm install -g lighthouse` and /usr/bin/chromium (see .ci/run)",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="sitegen-lighthouse-") as temporary:
        root = Path(temporary)
        output = root / "site"
        server = ThreadingHTTPServer(("127.0.0.1", 0),
                                     partial(QuietHandler, directory=str(output)))
        base = f"http://127.0.0.1:{server.server_port}"
        report = build(BuildOptions(site_dir=REPO, output_dir=output, base_url=base))
        print(f"Built {report.articles} articles into {output} (search: {report.search}); "
              f"serving at {base}/")
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        scores: dict[str, dict[str, Any]] = {}
        try:
            for label, path in PAGES.items():
                scores[label] = lighthouse(base + path, root / f"{label}.json", args.desktop)
        finally:
            server.shutdown()
            server.server_close()
    columns = (*CATEGORIES, "CLS", "bytes")
    width = max(map(len, PAGES))
    print(f"\n{'page':<{width}}  " + "  ".join(f"{c:>14}" for c in columns) + "  image findings")
    for label, values in scores.items():
        print(f"{label:<{width}}  " + "  ".join(f"{values[c]:>14,}" for c in columns)
              + f"  {values['image findings']}")
    if args.json:
        args.json.write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    lowest = min(values[c] for values in scores.values() for c in CATEGORIES)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"\nlowest score: {lowest}; Lighthouse and Chromium used "
          f"{used.ru_utime + used.ru_stime:.1f} s of CPU "
          f"({used.ru_utime:.1f} user, {used.ru_stime:.1f} system)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
