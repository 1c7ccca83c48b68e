"""Prove that a change kept sitegen's output byte-identical: build the same sites with an
earlier revision and with this working tree, and compare the output trees file by file.

    python benchmarks/compare_output.py                     # against HEAD
    python benchmarks/compare_output.py main                # against any revision
    python benchmarks/compare_output.py --merge-base main   # against where this branch left main
    python benchmarks/compare_output.py --articles 200 --search on --sites corpus

The sites: the repository's example site (its content/, static/ and sitegen.toml), a site of
the seed article alone (../shared/seeds/jessica-jones-season-2.md, as tests/conftest.py makes
it) and a generated corpus (../shared/bench/make_corpus.py, default 1,000 articles). Each is
built cold by both versions and compared; then one article's body is edited in both copies
and each version builds again from its own last build (the quick path, where the version has
one) and the outputs are compared again. Exit 0 when every tree is the same in paths and
bytes, 1 at the first site whose trees differ (the first differences are listed), 2 when a
build fails or the revision cannot be checked out.

Why this shape:
- The earlier revision is exported with `git archive` into a temporary folder, not checked out
  as a git worktree: nothing is added to the repository's git metadata, so an interrupted run
  leaves nothing behind in .git (the temporary folder is removed at the end unless --keep).
- Every build runs in its own process with PYTHONPATH set to one tree alone, so the two
  versions never share a module. The builds go through the Python API (`BuildOptions`,
  `build`) rather than the `sitegen build` command because the command has no way to fix
  the clock, and the output depends on it (scheduled articles, feeds' dates, the news
  sitemap's two-day window). The driver looks the API up by name (`sitegen.build`,
  `sitegen.pipeline.build`, `sitegen.cli`, ..., then any module of the package that defines
  both), so a tree whose modules moved into sub-packages still builds.
- Each version keeps its own copy of each site, so its build cache (.sitegen-cache/, whose
  format a change may alter) is never read by the other.
"""
# relayout: skip (it finds the build API in the old layout and the new one, on purpose)

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED_ARTICLE = SHARED / "seeds" / "jessica-jones-season-2.md"
MAKE_CORPUS = SHARED / "bench" / "make_corpus.py"

# The example and seed sites are built at tests/conftest.py's FIXED_NOW (the example site then
# publishes ten articles and holds one back); the corpus (dated 2015 to late 2025) the day
# after its newest article, so all are published and the news sitemap lists some.
EXAMPLE_NOW = "2024-06-01T12:00:00-04:00"
CORPUS_NOW = "2025-11-19T12:00:00+00:00"

SEED_TOML = """title = "Seed Desk"
base_url = "https://seed.example.org"
timezone = "America/New_York"
language = "en"
"""
CORPUS_TOML = """title = "Benchmark News"
base_url = "https://bench.example.com"
timezone = "UTC"
per_page = 10
"""
# The example site's folders a build reads (themes/ is left out: each version uses its own).
EXAMPLE_PARTS = ("sitegen.toml", "content", "static", "data", "templates")
EDIT = "\nA paragraph *appended* by compare_output.py, with [a link](https://example.org/).\n"

# Run as `python -c DRIVER TREE SITE OUTPUT NOW WORKERS` with PYTHONPATH=TREE; prints one JSON
# line about the build. Kept to the standard library and the public names, so it runs against
# any version of sitegen.
DRIVER = r'''
import dataclasses, importlib, json, pkgutil, sys, time
from datetime import datetime
from pathlib import Path

tree, site, output, now, workers = sys.argv[1:6]
import sitegen
where = Path(sitegen.__file__).resolve()
if not where.is_relative_to(Path(tree).resolve()):
    sys.exit(f"imported sitegen from {where}, not from {tree}: is sitegen installed in a way "
             "that outranks PYTHONPATH?")

def api():
    for name in ("sitegen.build", "sitegen.pipeline.build", "sitegen.pipeline", "sitegen.cli",
                 "sitegen.commands.cli", "sitegen.api", "sitegen"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "BuildOptions") and callable(getattr(module, "build", None)):
            return module.BuildOptions, module.build
    for info in pkgutil.walk_packages(sitegen.__path__, "sitegen."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue  # importing it would run the command line
        try:
            module = importlib.import_module(info.name)
        except Exception:
            continue
        if hasattr(module, "BuildOptions") and callable(getattr(module, "build", None)):
            return module.BuildOptions, module.build
    sys.exit("found no module of sitegen that defines BuildOptions and build()")

BuildOptions, build = api()
wanted = dict(site_dir=Path(site), output_dir=Path(output), now=datetime.fromisoformat(now),
              workers=int(workers))
known = {f.name for f in dataclasses.fields(BuildOptions)}
started = time.perf_counter()
try:
    report = build(BuildOptions(**{k: v for k, v in wanted.items() if k in known}))
except Exception as exc:
    sys.exit(f"the build failed: {type(exc).__name__}: {exc}")
print(json.dumps({"sitegen": str(where), "seconds": time.perf_counter() - started,
                  "quick": getattr(report, "quick", None), "search": getattr(report, "search", None),
                  "files": getattr(report, "files", None),
                  "articles": getattr(report, "articles", None)}))
'''


class BuildFailed(Exception):
    pass


@dataclass(frozen=True)
class Site:
    name: str
    source: Path  # the pristine site folder, copied once for each version
    now: str
    edited: str  # the article (relative to the site) whose body the quick-path round edits


# --- the two trees -------------------------------------------------------------------------------

def git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise BuildFailed(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def export_revision(rev: str, dest: Path) -> str:
    """The files of `rev` in `dest`; returns the full commit id."""
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    dest.mkdir(parents=True)
    archive = dest.parent / "base.tar"
    with archive.open("wb") as out:
        done = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit],
                              stdout=out, stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:
        raise BuildFailed(f"git archive {commit}: {done.stderr.decode().strip()}")
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    return commit


def run_build(tree: Path, site: Path, output: Path, now: str, workers: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)  # this tree alone: the versions never mix
    done = subprocess.run([sys.executable, "-c", DRIVER, str(tree), str(site), str(output), now,
                           str(workers)], cwd=tree, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise BuildFailed(f"building {site} with {tree} failed (exit {done.returncode}):\n"
                          f"{done.stderr.strip()[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the sites -----------------------------------------------------------------------------------

def set_search(site: Path, search: str) -> None:
    """Turn search on or off in the site's sitegen.toml ('as-is' leaves it)."""
    if search == "as-is":
        return
    config = site / "sitegen.toml"
    lines = config.read_text(encoding="utf-8").splitlines()
    value = search == "on"
    header = next((i for i, line in enumerate(lines) if re.match(r"\[search\]\s*(#.*)?$", line)),
                  None)
    if header is None:
        lines += ["", "[search]"]
        header = len(lines) - 1
    end = next((i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")),
               len(lines))
    table = [line for line in lines[header + 1:end] if not re.match(r"\s*enabled\s*=", line)]
    lines[header + 1:end] = [f"enabled = {'true' if value else 'false'}", *table]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if tomllib.loads(config.read_text(encoding="utf-8")).get("search", {}).get("enabled") != value:
        raise BuildFailed(f"could not set [search] enabled = {value} in {config}")


def first_published(site: Path) -> str:
    """The first article (sorted by path) that is not a draft: the one the edit round changes."""
    for path in sorted((site / "content").rglob("*.md")):
        head = path.read_text(encoding="utf-8").split("\n---", 1)[0]
        if "draft: true" not in head:
            return path.relative_to(site).as_posix()
    raise BuildFailed(f"no article to edit in {site}/content")


def make_sites(names: list[str], work: Path, articles: int, search: str,
               now: str | None) -> list[Site]:
    sites = []
    for name in names:
        folder = work / "sites" / name
        folder.mkdir(parents=True)
        edited = None
        if name == "example":
            for part in EXAMPLE_PARTS:
                src = ROOT / part
                if src.is_dir():
                    shutil.copytree(src, folder / part)
                elif src.is_file():
                    shutil.copy2(src, folder / part)
            default_now = EXAMPLE_NOW
        elif name == "seed":
            if not SEED_ARTICLE.is_file():
                raise BuildFailed(f"the seed article is not at {SEED_ARTICLE}")
            (folder / "sitegen.toml").write_text(SEED_TOML, encoding="utf-8")
            (folder / "content").mkdir()
            shutil.copyfile(SEED_ARTICLE, folder / "content" / SEED_ARTICLE.name)
            default_now = EXAMPLE_NOW
            edited = f"content/{SEED_ARTICLE.name}"
        else:
            (folder / "sitegen.toml").write_text(CORPUS_TOML, encoding="utf-8")
            print(f"writing {articles:,} articles with {MAKE_CORPUS.relative_to(ROOT.parent)}",
                  flush=True)
            subprocess.run([sys.executable, str(MAKE_CORPUS), "--count", str(articles), "--out",
                            str(folder / "content")], check=True, stdout=subprocess.DEVNULL)
            default_now = CORPUS_NOW
            names_sorted = sorted(p.relative_to(folder).as_posix()
                                  for p in (folder / "content").rglob("*.md"))
            edited = names_sorted[len(names_sorted) // 2]
        # The corpus is a benchmark site: search off unless asked for (Pagefind would take
        # most of the run), as in benchmarks/bench_build.py.
        set_search(folder, "off" if name == "corpus" and search == "as-is" else search)
        sites.append(Site(name, folder, now or default_now, edited or first_published(folder)))
    return sites


# --- comparing -----------------------------------------------------------------------------------

def snapshot_tree(folder: Path) -> dict[str, str]:
    """Every entry under `folder` by relative path: files by sha256, links by target, folders
    as 'dir' (so an empty folder made or left shows too)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        base = Path(dirpath)
        for name in dirnames + filenames:
            path = base / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                out[rel + "/"] = "dir"
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def first_difference(a: Path, b: Path) -> str:
    """Where two differing files first differ, as a short note for the listing."""
    x, y = a.read_bytes(), b.read_bytes()
    at = next((i for i, (p, q) in enumerate(zip(x, y, strict=False)) if p != q), min(len(x), len(y)))
    line = x.count(b"\n", 0, at) + 1
    def around(data: bytes) -> str:
        return data[max(0, at - 40):at + 60].decode("utf-8", "replace").replace("\n", "\\n")
    return (f"sizes {len(x)} vs {len(y)}, first difference at byte {at} (line {line})\n"
            f"        base: {around(x)!r}\n        work: {around(y)!r}")


def compare(base: Path, work: Path, show: int) -> list[str]:
    """The differences between two output trees, as lines to print (empty: identical)."""
    a, b = snapshot_tree(base), snapshot_tree(work)
    problems = []
    for rel in sorted(a.keys() | b.keys()):
        if rel not in b:
            problems.append(f"only in base: {rel}")
        elif rel not in a:
            problems.append(f"only in work: {rel}")
        elif a[rel] != b[rel]:
            note = first_difference(base / rel, work / rel) \
                if not a[rel].startswith(("link:", "dir")) else f"{a[rel]} vs {b[rel]}"
            problems.append(f"differs: {rel}: {note}")
    if len(problems) > show:
        problems = problems[:show] + [f"... and {len(problems) - show} more"]
    return problems


# --- the run -------------------------------------------------------------------------------------

def run(args: argparse.Namespace, scratch: Path) -> int:
    rev = git("merge-base", "HEAD", args.merge_base) if args.merge_base else args.rev
    base_tree = scratch / "base-tree"
    commit = export_revision(rev, base_tree)
    dirty = git("status", "--porcelain", "--untracked-files=no")
    print(f"base: {rev} = {commit[:12]} (exported to {base_tree})")
    print(f"work: {ROOT} at {git('rev-parse', '--short=12', 'HEAD')}"
          f"{' with uncommitted changes' if dirty else ''}")
    sites = make_sites(args.sites, scratch, args.articles, args.search, args.now)
    trees = {"base": base_tree, "work": ROOT}
    copies = {}
    for site in sites:
        for side in trees:
            copy = scratch / side / site.name
            shutil.copytree(site.source, copy / "site")
            copies[side, site.name] = copy
    failed = False
    for site in sites:
        for round_name in ("full", "quick"):
            if round_name == "quick":
                for side in trees:
                    path = copies[side, site.name] / "site" / site.edited
                    path.write_text(path.read_text(encoding="utf-8") + EDIT, encoding="utf-8")
            reports = {}
            for side, tree in trees.items():
                copy = copies[side, site.name]
                reports[side] = run_build(tree, copy / "site", copy / "output", site.now,
                                          args.jobs)
            label = f"{site.name:8} {round_name:5}"
            timing = "  ".join(f"{side} {r['seconds']:6.2f} s" + (" (quick path)" if r["quick"]
                                                                 else "")
                               for side, r in reports.items())
            problems = compare(copies["base", site.name] / "output",
                               copies["work", site.name] / "output", args.show)
            if round_name == "quick" and reports["base"]["quick"] != reports["work"]["quick"]:
                problems.insert(0, f"the quick path was taken by "
                                   f"{'base' if reports['base']['quick'] else 'work'} only")
            files = f"{reports['work']['files']} files" + (", search" if reports["work"]["search"]
                                                           else "")
            verdict = "identical" if not problems else "DIFFERENT"
            print(f"{label} {verdict:9} {files:18} {timing}"
                  + (f"   (edited {site.edited})" if round_name == "quick" else ""), flush=True)
            for line in problems:
                print(f"    {line}")
            if problems:
                failed = True
                if not args.keep_going:
                    return 1
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rev", nargs="?", default="HEAD",
                        help="the revision to compare with (default: HEAD)")
    parser.add_argument("--merge-base", metavar="REF",
                        help="compare with the merge base of HEAD and REF instead of REV")
    parser.add_argument("--sites", nargs="+", choices=("example", "seed", "corpus"),
                        default=["example", "seed", "corpus"], help="which sites (default: all)")
    parser.add_argument("--articles", type=int, default=1000,
                        help="articles in the generated corpus (default: 1000)")
    parser.add_argument("--search", choices=("as-is", "on", "off"), default="as-is",
                        help="search in every site: on, off, or as-is (default: the example and "
                             "seed sites as configured, on when Pagefind is installed; the "
                             "corpus off)")
    parser.add_argument("--now", metavar="ISO",
                        help=f"the build's clock for every site (default: {EXAMPLE_NOW} for the "
                             f"example and seed sites, {CORPUS_NOW} for the corpus)")
    parser.add_argument("-j", "--jobs", type=int, default=0,
                        help="processes per build (default 0: one per core)")
    parser.add_argument("--show", type=int, default=20, help="differences listed per site")
    parser.add_argument("--keep-going", action="store_true",
                        help="compare every site even after one differs")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (trees, sites, outputs) and print it")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="sitegen-compare-"))
    started = time.perf_counter()
    try:
        code = run(args, scratch)
    except BuildFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"{'identical' if code == 0 else 'NOT identical' if code == 1 else 'failed'} "
          f"({time.perf_counter() - started:.1f} s)")
    return code


if __name__ == "__main__":
    sys.exit(main())
