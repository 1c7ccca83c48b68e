#!/usr/bin/env python3
"""Fuzz the article path (front matter and Markdown) for a given time; report every crash.

    python benchmarks/fuzz_content.py --seconds 600             # atheris if installed
    python benchmarks/fuzz_content.py --seconds 60 --engine hypothesis
    python benchmarks/fuzz_content.py --seconds 20 --json figures.json --crashes crashes/

Each input is the bytes of one article file (its first byte picks a site configuration:
raw HTML on or off, typographer, linkify, a base path). It is read, rendered and planned
exactly as `sitegen build` does (`sitegen.pipeline.build.prepare`, the theme reused between inputs),
then the article page, the front page and the site feeds are rendered. A crash is:
- any exception but sitegen's own SiteError/BuildError (those are the author's problems);
- a problem message that is not one line naming the file, or a line outside the file;
- a slug outside [a-z0-9][a-z0-9-]*, or an output path that could leave the output folder;
- a rendered page with a <script> element, an on* attribute or a code point HTML forbids;
- a feed that is not well-formed XML.

Engines: atheris (libFuzzer, coverage-guided, with sitegen, markdown-it, mdit-py-plugins,
linkify-it and python-frontmatter instrumented), or hypothesis at high example counts when
atheris is not installed. Seeds are the example site's articles, the Markdown fixtures and
the worst-case shapes of bench_shapes.py (many tags, keys, same headings, nested HTML...).
Each crash is saved (input and traceback) and the run exits 1 if there was any.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED_FOLDERS = [ROOT / "content", ROOT / "tests" / "fixtures" / "markdown"]
MAX_INPUT = 16 * 1024
SHAPE_SEED_BYTES = 2048
SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffe\uffff]")
PLANTED = b"PLANTED-FUZZ-BUG"  # --plant-bug: proves crashes are caught and reported
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
CONFIGS = [
    "",
    "[markdown]\nhtml = true\n",
    "[markdown]\nhtml = true\ntypographer = false\nlinkify = false\n",
    'base_url = "https://example.com/news"\n[markdown]\nanchors = false\nhighlight = false\n',
]
HOSTILE_SEEDS = [
    b'\x00---\ntitle: "<sg-inj>x</sg-inj>"\ndate: 2020-01-01\nauthor: "\\" onmouseover=x"\n'
    b'tags: ["]]>", "{{ 7*7 }}"]\nslug: "../../etc"\nimage: "lead photo.jpg"\n---\n'
    b"<script>alert(1)</script>\n\n[x](javascript:alert(1))\n",
    b"\x01---\ntitle: Raw\ndate: 2020-01-01\nauthor: Ann\n---\n<img src=x onerror=alert(1)>\n"
    b'<a href="jav&#x09;ascript:x">y</a>\n<iframe srcdoc="<script>x</script>"></iframe>\n',
    b"\x02---\ntitle: [a, b]\ndate: soon\n---\n",
    # Found by this fuzzer: a character reference to a control character in raw HTML.
    b'\x01---\ntitle: Refs\ndate: 2020-01-01\nauthor: Ann\n---\n<a href="jav&#x10;ascript:x">y</a>\n',
    b"\x03---\ntitle: Notes\ndate: 2020-01-01\nauthor: Ann\n---\nClaim[^1]\n\n[^1]: note\n"
    b"<!--more-->\n| a |\n| - |\n| b |\n```python\nx = 1\n```\n",
]


# --- the target ---------------------------------------------------------------------------------

class Target:
    """Sites on a RAM disk, one per configuration, and the check of one input."""

    def __init__(self, plant_bug: bool) -> None:
        from sitegen.report import BuildOptions  # imported here: atheris instruments first

        self.plant_bug = plant_bug
        base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
        self.folder = Path(tempfile.mkdtemp(prefix="sitegen-fuzz-", dir=base))
        self.sites = []
        for number, extra in enumerate(CONFIGS):
            site = self.folder / f"site{number}"
            (site / "content").mkdir(parents=True)
            config = 'title = "Fuzz Desk"\ndefault_author = "Desk"\n'
            if not extra.startswith("base_url"):
                config += 'base_url = "https://fuzz.example.com"\n'
            (site / "sitegen.toml").write_text(config + extra, encoding="utf-8")
            self.sites.append(site)
        self.options = [BuildOptions(site_dir=s, now=NOW, drafts=True, future=True)
                        for s in self.sites]
        self.themes: dict[int, Any] = {}
        self.configs: dict[int, Any] = {}
        self.inputs = 0
        self.built = 0

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def check(self, data: bytes) -> None:
        """Raise on anything that counts as a crash; return quietly otherwise."""
        from sitegen.config import load_config
        from sitegen.content.sources import read_source
        from sitegen.errors import BuildError, SiteError
        from sitegen.pipeline.stages import Settings, prepare
        from sitegen.render.plan import FeedJob, PageJob, render_job
        from sitegen.render.theme import Theme

        self.inputs += 1
        variant = data[0] % len(CONFIGS) if data else 0
        text = data[1:MAX_INPUT]
        if self.plant_bug and PLANTED in text:
            raise RuntimeError("the planted bug")
        path = self.sites[variant] / "content" / "fuzz.md"
        path.write_bytes(text)
        # Lines as sitegen (and editors) count them: a lone CR ends a line too.
        lines = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1
        # Reading alone first: most inputs stop there, and it needs no config load per input.
        if variant not in self.configs:
            self.configs[variant] = load_config(self.sites[variant])
        try:
            read_source(path, self.configs[variant])
        except SiteError as exc:
            check_problem(exc.problem, lines)
            return
        try:
            theme = self.themes.get(variant)
            prepared = prepare(Settings(self.options[variant], theme=theme))
        except BuildError as exc:
            for problem in exc.problems:
                check_problem(problem, lines)
            return
        except SiteError as exc:
            check_problem(exc.problem, lines)
            return
        if theme is None:
            self.themes[variant] = Theme(prepared.config)
        self.built += 1
        for article in prepared.site.articles:
            assert SLUG.fullmatch(article.slug), f"slug {article.slug!r}"
        for job in prepared.plan.jobs:
            parts = job.path.split("/")
            assert not job.path.startswith("/") and "\\" not in job.path and not any(
                p in ("", ".", "..") for p in parts), f"unsafe output path {job.path!r}"
        for job in prepared.plan.jobs:
            if isinstance(job, PageJob) and job.template in ("article.html", "list.html"):
                check_page(render_job(job, prepared.theme).decode("utf-8"), job.path)
            elif isinstance(job, FeedJob) and "/" not in job.path:
                check_feed(render_job(job, prepared.theme), job.path)


def check_problem(problem: Any, lines: int) -> None:
    assert problem.message.strip() and "\n" not in problem.message and "\n" not in problem.file, \
        f"problem is not one line: {problem}"
    assert problem.file in ("content/fuzz.md", "sitegen.toml"), f"problem names {problem.file}"
    assert problem.line is None or 1 <= problem.line <= lines, \
        f"line {problem.line} outside a file of {lines} lines: {problem}"


def check_page(html: str, where: str) -> None:
    import lxml.html

    bad = FORBIDDEN.search(html)
    assert bad is None, f"{where}: forbidden code point U+{ord(bad.group()):04X}" if bad else ""
    document = lxml.html.document_fromstring(html)
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag.lower() == "script":
            _check_own_script(element, where)
        assert "sg-inj" not in element.tag.lower(), f"{where}: unescaped <{element.tag}>"
        for name in element.attrib:
            assert not name.lower().startswith("on"), f"{where}: <{element.tag} {name}>"


_THEME_SCRIPT = re.compile(r"/(?:[\w.-]+/)*(?:js|pagefind)/[\w.-]+(?:\?v=\w+)?")


def _check_own_script(element: Any, where: str) -> None:
    """The only scripts a page may hold are the theme's: JSON-LD that parses as JSON, or one of
    the site's own script files. Text from front matter or a body can make neither."""
    if element.get("type") == "application/ld+json":
        json.loads(element.text or "")  # an injected </script> or quote would break it (a crash)
        return
    src = element.get("src") or ""
    assert _THEME_SCRIPT.fullmatch(src) and not (element.text or "").strip(), \
        f"{where}: <script> element that is not the theme's ({src or 'inline'})"


def check_feed(data: bytes, where: str) -> None:
    """Each feed parses: JSON Feed as JSON, RSS and Atom as XML (else a crash is recorded)."""
    import lxml.etree

    if where.endswith(".json"):
        feed = json.loads(data)
        assert isinstance(feed.get("items"), list), f"{where}: no items list"
    else:
        lxml.etree.fromstring(data)


# --- engines ------------------------------------------------------------------------------------

class Recorder:
    """Saves each distinct crash (by exception type and where it was raised) once."""

    def __init__(self, folder: Path, seconds: float, stats: Path) -> None:
        self.folder, self.seconds, self.stats = folder, seconds, stats
        self.seen: set[str] = set()
        self.crashes = 0
        self.start()

    def start(self) -> None:
        """Start the clock (after instrumenting and setting up, which take a while)."""
        self.started = time.monotonic()
        self.deadline = self.started + self.seconds

    def run(self, target: Target, data: bytes) -> None:
        try:
            target.check(data)
        except Exception as exc:  # noqa: BLE001 (every exception is a finding)
            self.crashes += 1
            frames = traceback.extract_tb(exc.__traceback__)
            where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
            key = f"{type(exc).__name__} at {where}"
            if key not in self.seen:
                self.seen.add(key)
                name = hashlib.sha1(data).hexdigest()[:12]
                (self.folder / f"crash-{name}.bin").write_bytes(data)
                (self.folder / f"crash-{name}.txt").write_text(
                    f"{key}\n\n{traceback.format_exc()}", encoding="utf-8")
        if target.inputs % 200 == 0 or time.monotonic() >= self.deadline:
            self.save(target)
        if time.monotonic() >= self.deadline:
            self.save(target)
            target.close()
            os._exit(0)  # libFuzzer offers no way back from Fuzz(): stop here, stats saved

    def save(self, target: Target) -> None:
        self.stats.write_text(json.dumps({
            "inputs": target.inputs, "built": target.built, "crashes": self.crashes,
            "distinct_crashes": sorted(self.seen),
            "seconds": round(time.monotonic() - self.started, 1)}), encoding="utf-8")


def shape_seeds() -> list[bytes]:
    """bench_shapes.py's worst-case shapes (many tags, keys, same headings, deeply nested
    HTML...) at SHAPE_SEED_BYTES, small enough that the seeds leave time to fuzz; the first
    byte picks raw HTML on for the HTML shapes."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_shapes import SHAPES

    return [bytes([1 if raw else 0]) + make(SHAPE_SEED_BYTES).encode("utf-8")
            for raw, make in SHAPES.values()]


def seeds() -> list[bytes]:
    out = list(HOSTILE_SEEDS) + shape_seeds()
    for folder in SEED_FOLDERS:
        for number, path in enumerate(sorted(folder.rglob("*.md"))):
            out.append(bytes([number % len(CONFIGS)]) + path.read_bytes()[:MAX_INPUT])
    return out


def run_atheris(recorder: Recorder, plant_bug: bool, seconds: float, work: Path) -> None:
    import atheris

    with atheris.instrument_imports(include=["sitegen", "markdown_it", "mdit_py_plugins",
                                             "linkify_it", "frontmatter"]):
        import sitegen.pipeline.build  # noqa: F401  (instrumented on import)
        import sitegen.render.theme  # noqa: F401
    target = Target(plant_bug)
    corpus = work / "corpus"
    corpus.mkdir()
    for number, seed in enumerate(seeds() + ([b"\x00" + PLANTED] if plant_bug else [])):
        (corpus / f"seed-{number}").write_bytes(seed)
    argv = [sys.argv[0], str(corpus), f"-max_total_time={int(seconds) + 30}", "-timeout=20",
            f"-max_len={MAX_INPUT}", "-rss_limit_mb=4096", f"-artifact_prefix={work}/",
            "-print_final_stats=0", "-close_fd_mask=3"]
    atheris.Setup(argv, lambda data: recorder.run(target, data))
    recorder.start()
    atheris.Fuzz()


def run_hypothesis(recorder: Recorder, plant_bug: bool) -> None:
    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st

    target = Target(plant_bug)
    seed_list = seeds() + ([b"\x00" + PLANTED] if plant_bug else [])

    def mutate(seed: bytes, cut: int, insert: bytes) -> bytes:
        at = cut % (len(seed) + 1)
        return seed[:at] + insert + seed[at:]

    inputs = st.one_of(
        st.binary(max_size=2048),
        st.builds(mutate, st.sampled_from(seed_list), st.integers(0, MAX_INPUT),
                  st.binary(max_size=64)),
        st.builds(lambda b, t: b + t.encode("utf-8", "surrogatepass"),
                  st.binary(min_size=1, max_size=1), st.text(max_size=400)),
    )

    @settings(max_examples=10**9, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(inputs)
    def fuzz(data: bytes) -> None:
        recorder.run(target, data)

    for seed in seed_list:
        fuzz = example(seed)(fuzz)
    recorder.start()
    fuzz()


def child(args: argparse.Namespace) -> None:
    work = Path(args.work)
    recorder = Recorder(work / "crashes", args.seconds, work / "stats.json")
    if args.engine == "atheris":
        run_atheris(recorder, args.plant_bug, args.seconds, work)
    else:
        run_hypothesis(recorder, args.plant_bug)


# --- the parent: run, collect, report ---------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to fuzz")
    parser.add_argument("--engine", choices=["auto", "atheris", "hypothesis"], default="auto")
    parser.add_argument("--crashes", type=Path, default=None,
                        help="folder to copy crashing inputs and tracebacks into")
    parser.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    parser.add_argument("--plant-bug", action="store_true",
                        help="make one seed input crash, to prove crashes are caught")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401
            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    with tempfile.TemporaryDirectory(prefix="sitegen-fuzz-run-") as folder:
        work = Path(folder)
        (work / "crashes").mkdir()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        command = [sys.executable, __file__, "--child", "--engine", engine, "--seconds",
                   str(args.seconds), "--work", str(work)] + (["--plant-bug"] if args.plant_bug
                                                               else [])
        started = time.monotonic()
        result = subprocess.run(command, env=env, capture_output=True, text=True,
                                timeout=args.seconds + 300, check=False)
        elapsed = time.monotonic() - started
        stats = json.loads((work / "stats.json").read_text()) if (
            work / "stats.json").is_file() else {"inputs": 0, "built": 0, "crashes": 0,
                                                 "distinct_crashes": []}
        # libFuzzer's own findings: a hang (timeout-*), memory (oom-*), or a native crash.
        native = sorted(p.name for p in work.glob("*-*") if p.is_file() and
                        p.name.split("-")[0] in ("crash", "timeout", "oom", "leak"))
        if result.returncode != 0:
            native.append(f"fuzzer exited with {result.returncode}: {result.stderr[-2000:]}")
        reports = [p.read_text(encoding="utf-8")
                   for p in sorted((work / "crashes").glob("crash-*.txt"))[:5]]
        if args.crashes:
            args.crashes.mkdir(parents=True, exist_ok=True)
            for path in (work / "crashes").iterdir():
                shutil.copy2(path, args.crashes / path.name)
            for name in native:
                if (work / name).is_file():
                    shutil.copy2(work / name, args.crashes / name)
        figures = {"engine": engine, "seconds": round(elapsed, 1), "inputs": stats["inputs"],
                   "inputs_per_second": round(stats["inputs"] / max(stats.get("seconds", 0), 0.1)),
                   "built": stats["built"], "crashes": stats["crashes"] + len(native),
                   "distinct_crashes": stats["distinct_crashes"] + native}
    print(f"fuzzed {figures['inputs']} inputs in {figures['seconds']} s with {engine} "
          f"({figures['inputs_per_second']}/s; {figures['built']} built, the rest refused "
          f"with a clear problem)")
    if figures["crashes"]:
        print(f"{figures['crashes']} crashing inputs, {len(figures['distinct_crashes'])} distinct:")
        for name in figures["distinct_crashes"]:
            print(f"  {name}")
        for text in reports:
            print(text)
    else:
        print("no crashes")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 1 if figures["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
