"""Does a refactor keep the output byte-identical? Build the same sites with the code of an
earlier commit and with the working tree, on the full path and then the quick path (three
article bodies edited), and compare the output folders file by file.

    python benchmarks/compare_output.py --rev HEAD~1 --count 1000

Sites: the repository's example site, the seed article's site (when ../shared/seeds is there)
and a generated corpus of `--count` articles (../shared/bench/make_corpus.py). Each build runs
at one fixed moment, in a process of its own, with the earlier commit's code taken by
`git archive` (so its imports, whatever its layout, are its own). Prints one line per site and
path and exits 1 on any difference, listing the first differing files.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
NOW = "2024-06-01T12:00:00-04:00"
EDITED = 3  # article bodies edited for the quick path

# Run in the child, with PYTHONPATH set to one version of sitegen; it knows both layouts
# (relayout: skip, so the import-rewriting script leaves the old one here).
DRIVER = """
import sys
from datetime import datetime
from pathlib import Path
try:
    from sitegen.pipeline.build import build
    from sitegen.report import BuildOptions
except ImportError:
    from sitegen.build import BuildOptions, build
report = build(BuildOptions(site_dir=Path(sys.argv[1]), output_dir=Path(sys.argv[2]),
                            now=datetime.fromisoformat(sys.argv[3])))
print("quick" if report.quick else "full")
"""


def build(code: Path, site: Path, output: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(code)}
    # -P and the site as the working folder: `python -c` would otherwise put the working
    # folder first on sys.path, and from the repository that is the working tree's sitegen.
    done = subprocess.run([sys.executable, "-P", "-c", DRIVER, str(site), str(output), NOW],
                          env=env, cwd=site, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"build of {site} with {code} failed:\n{done.stderr}")
    return done.stdout.strip()


def differences(a: Path, b: Path) -> list[str]:
    """Paths (relative) that differ between two folders: missing on one side or other bytes."""
    found: list[str] = []

    def walk(cmp: filecmp.dircmp[str], rel: Path) -> None:
        found.extend(str(rel / n) for n in cmp.left_only + cmp.right_only + cmp.funny_files)
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        found.extend(str(rel / n) for n in mismatch + errors)
        for name, sub in cmp.subdirs.items():
            walk(sub, rel / name)

    walk(filecmp.dircmp(a, b, ignore=[]), Path())
    return sorted(found)


def sites(work: Path, count: int) -> dict[str, Path]:
    made: dict[str, Path] = {}
    example = work / "example"
    example.mkdir()
    for name in ("content", "static", "sitegen.toml", "netlify.toml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, example / name)
        elif source.is_file():
            shutil.copy2(source, example / name)
    made["example"] = example
    seeds = sorted((SHARED / "seeds").glob("*.md"))
    if seeds:
        seed = work / "seed"
        (seed / "content").mkdir(parents=True)
        shutil.copy2(seeds[0], seed / "content" / seeds[0].name)
        (seed / "sitegen.toml").write_text('title = "Seed Desk"\nbase_url = "https://seed.example.com"\n'
                                           'timezone = "America/New_York"\n', encoding="utf-8")
        made["seed"] = seed
    maker = SHARED / "bench" / "make_corpus.py"
    if count and maker.is_file():
        corpus = work / "corpus"
        subprocess.run([sys.executable, str(maker), "--count", str(count), "--out",
                        str(corpus / "content")], check=True, capture_output=True)
        (corpus / "sitegen.toml").write_text('title = "Corpus Desk"\nbase_url = "https://corpus.example.com"\n'
                                             'timezone = "America/New_York"\n', encoding="utf-8")
        made["corpus"] = corpus
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", default="HEAD~1", help="the earlier commit (default HEAD~1)")
    parser.add_argument("--count", type=int, default=1000, help="articles in the corpus (0: none)")
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory(prefix="sitegen-compare-") as temporary:
        work = Path(temporary)
        before = work / "before-code"
        before.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.rev, "sitegen", "themes"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        (work / "sites").mkdir()
        for name, site in sites(work / "sites", args.count).items():
            pair = {}
            for label in ("before", "after"):
                copy = work / label / name
                shutil.copytree(site, copy)
                pair[label] = copy
            for path in ("full", "quick"):
                if path == "quick":
                    for copy in pair.values():
                        for source in sorted((copy / "content").rglob("*.md"))[:EDITED]:
                            with source.open("a", encoding="utf-8") as file:
                                file.write("\nA paragraph added to compare the quick path.\n")
                kinds = [build(code, pair[label], pair[label] / "output")
                         for label, code in (("before", before), ("after", ROOT))]
                diff = differences(pair["before"] / "output", pair["after"] / "output")
                failed |= bool(diff)
                print(f"{name:8} {path:5} ({'/'.join(kinds)}): "
                      + ("identical" if not diff else f"{len(diff)} differ: {', '.join(diff[:5])}"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
