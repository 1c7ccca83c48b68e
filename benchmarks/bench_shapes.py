#!/usr/bin/env python3
"""Build one worst-case article of each shape at the size limit and time it: no single file
should stall a build.

    python benchmarks/bench_shapes.py                         # every shape at 256 KiB and 1 MiB
    python benchmarks/bench_shapes.py --sizes 256K 1M --shapes tags headings
    python benchmarks/bench_shapes.py --timeout 60 --json shapes.json

Each shape (a "1 MiB" file is MAX_SOURCE_BYTES, the largest article sitegen reads) is written
as the only article of a fresh site in a temporary folder and built with
`python -m sitegen build -s SITE -o OUT -q -j 1 --no-cache` (search off: Pagefind is not
sitegen's code). Printed per shape and size: the wall time of the build, its CPU time (user +
system: steadier than wall time on a busy machine), its exit code (1 is
fine when the shape is refused with a clear error, shown beside it), and the ratio of its CPU
time to the one at the previous size: a step that is linear in the file's size gives about the
ratio of the sizes (4 between 256 KiB and 1 MiB), a quadratic one about its square. A build that
takes longer than --timeout is stopped and shown as such.

The same shapes, cut to the fuzzer's input size, are seeds of benchmarks/fuzz_content.py.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
LIMIT = 4 * MIB  # sitegen.content.sources.MAX_SOURCE_BYTES (not imported: this runs any checkout)

SITE_TOML = """title = "Shapes"
base_url = "https://shapes.example.com"
timezone = "UTC"

[search]
enabled = false
"""
RAW_HTML = "\n[markdown]\nhtml = true\n"

HEAD = "---\ntitle: Worst case\ndate: 2020-01-01\nauthor: Ann\n"


def _fill(head: str, unit: Callable[[int], str], tail: str, size: int) -> str:
    """`head`, then unit(0), unit(1), ... while the UTF-8 text stays within `size` bytes,
    then `tail`."""
    parts, used, i = [head], len(head.encode()) + len(tail.encode()), 0
    while True:
        piece = unit(i)
        cost = len(piece.encode())
        if used + cost > size:
            break
        parts.append(piece)
        used += cost
        i += 1
    parts.append(tail)
    return "".join(parts)


def _body(unit: Callable[[int], str], tail: str = "") -> Callable[[int], str]:
    return lambda size: _fill(HEAD + "---\n", unit, tail, size)


def _nested(open_: str, close: str) -> Callable[[int], str]:
    """Elements nested as deep as the size allows: open * n, text, close * n."""
    def make(size: int) -> str:
        head = HEAD + "---\n"
        n = (size - len(head) - 10) // (len(open_) + len(close))
        return head + open_ * n + "x" + close * n + "\n"
    return make


# name -> (raw HTML on?, text of the article at a size in bytes)
SHAPES: dict[str, tuple[bool, Callable[[int], str]]] = {
    # front matter
    "tags": (False, lambda size: _fill(HEAD + "tags:\n", lambda i: f"- t{i}\n", "---\nx\n", size)),
    "same-tag": (False, lambda size: _fill(HEAD + "tags:\n", lambda i: "- Tag\n", "---\nx\n", size)),
    "keys": (False, lambda size: _fill(HEAD, lambda i: f"k{i}: {i}\n", "---\nx\n", size)),
    "keys-no-title": (False, lambda size: _fill("---\ndate: 2020-01-01\n",
                                                lambda i: f"k{i}: {i}\n", "---\nx\n", size)),
    "aliases": (False, lambda size: _fill(HEAD + "aliases:\n", lambda i: f"- /old/{i}/\n",
                                          "---\nx\n", size)),
    "title": (False, lambda size: _fill("---\ndate: 2020-01-01\nauthor: Ann\ntitle: ",
                                        lambda i: f"word{i} ", "\n---\nx\n", size)),
    "summary": (False, lambda size: _fill(HEAD + "summary: ", lambda i: f"word{i} ",
                                          "\n---\nx\n", size)),
    # Markdown
    "long-line": (False, _body(lambda i: f"word{i} ", "\n")),
    "long-word": (False, _body(lambda i: "abcdefgh", "\n")),
    "paragraphs": (False, _body(lambda i: f"Paragraph {i}.\n\n")),
    "headings": (False, _body(lambda i: "## Same heading\n\n")),
    "headings-unique": (False, _body(lambda i: f"## Heading {i}\n\n")),
    "links": (False, _body(lambda i: f"[link {i}](/a/{i}/) ")),
    "md-links": (False, _body(lambda i: f"[link](other{i}.md) ")),
    "ref-links": (False, _body(lambda i: f"[r{i}]\n\n[r{i}]: /r/{i}/\n\n")),
    "bare-urls": (False, _body(lambda i: f"https://example.com/{i} ")),
    "images": (False, _body(lambda i: f"![image {i}](/img/{i}.png) ")),
    "footnotes": (False, _body(lambda i: f"Claim[^{i}].\n\n[^{i}]: Note {i}.\n\n")),
    "emphasis": (False, _body(lambda i: "*a **b ")),
    "brackets": (False, _body(lambda i: "[")),
    "backticks": (False, _body(lambda i: "`" * (i % 50 + 1) + "x ")),
    "nested-lists": (False, _body(lambda i: " " * (2 * min(i, 1000)) + "- item\n")),
    "nested-quotes": (False, _nested("> ", "")),
    "table-rows": (False, _body(lambda i: "| a | b |\n| - | - |\n" if i == 0 else f"| {i} | x |\n")),
    "table-columns": (False, _body(lambda i: "|" if i == 0 else "a|", "\n|-|\n")),
    "code-fences": (False, _body(lambda i: "```python\nx = 1\n```\n\n")),
    "more-in-code": (False, _body(lambda i: "```\n<!--more-->\n```\n\n")),
    "figures": (False, _body(lambda i: f"::: figure\n![f{i}](/img/{i}.png)\nCaption {i}\n:::\n\n")),
    "embeds": (False, _body(lambda i: '::: youtube aqz-KE-bpKQ title="Trailer"\n:::\n\n')),
    "nested-figures": (False, _nested("::: figure\n", ":::\n")),
    # raw HTML (`[markdown] html = true`)
    "html-nested-div": (True, _nested("<div>", "</div>")),
    "html-nested-bi": (True, _nested("<b><i>", "</i></b>")),
    "html-unclosed-div": (True, _body(lambda i: "<div>")),
    "html-flat": (True, _body(lambda i: f"<span class=c{i}>x</span>")),
}


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MIB}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units \
        else int(text)


def label(size: int) -> str:
    return f"{size / MIB:g} MiB" if size >= MIB else f"{size / 1024:g} KiB"


def build_once(folder: Path, shape: str, size: int, timeout: float) -> dict[str, object]:
    raw, make = SHAPES[shape]
    site = folder / f"{shape}-{size}"
    (site / "content").mkdir(parents=True)
    (site / "sitegen.toml").write_text(SITE_TOML + (RAW_HTML if raw else ""), encoding="utf-8")
    text = make(size)
    data = text.encode("utf-8")
    assert len(data) <= size <= LIMIT or len(data) <= LIMIT, (shape, len(data))
    (site / "content" / "worst.md").write_bytes(data)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "sitegen", "build", "-s", str(site), "-o",
               str(site / "output"), "-q", "-j", "1", "--no-cache"]
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True,
                                timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"shape": shape, "bytes": len(data), "seconds": None, "cpu": None, "exit": None,
                "message": f"stopped after {timeout:g} s"}
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    lines = (result.stderr.strip() or result.stdout.strip()).splitlines()
    message = lines[0] if result.returncode else ""
    return {"shape": shape, "bytes": len(data), "seconds": round(seconds, 2),
            "cpu": round(cpu, 2), "exit": result.returncode, "message": message[:100]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["256K", "1M"],
                        help="file sizes (bytes, or with K or M); default 256K 1M")
    parser.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=list(SHAPES))
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per build")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args()
    sizes = sorted(min(parse_size(s), LIMIT) for s in args.sizes)
    rows = []
    print(f"{'shape':<18} {'size':>9} {'seconds':>8} {'cpu':>7} {'ratio':>6} {'exit':>4}  message")
    with tempfile.TemporaryDirectory(prefix="sitegen-shapes-") as folder:
        for shape in args.shapes:
            previous = None
            for size in sizes:
                row = build_once(Path(folder), shape, size, args.timeout)
                row["size"] = size
                seconds, used = row["seconds"], row["cpu"]
                ratio = f"{used / previous:.1f}" if isinstance(used, float) and previous else ""
                previous = used if isinstance(used, float) and used > 0 else None
                shown = f"{seconds:.2f}" if isinstance(seconds, float) else "timeout"
                cpu = f"{row['cpu']:.2f}" if isinstance(row["cpu"], float) else ""
                exit_code = "" if row["exit"] is None else str(row["exit"])
                print(f"{shape:<18} {label(size):>9} {shown:>8} {cpu:>7} {ratio:>6} {exit_code:>4}  "
                      f"{row['message']}", flush=True)
                rows.append(row)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
