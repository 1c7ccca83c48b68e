"""Minify the newsroom theme's stylesheets: themes/newsroom/src/css/*.css, readable and
commented, become themes/newsroom/static/css/*.css, which sites get.

Run it after editing a source stylesheet and commit both; tests/e2e/test_theme_assets.py
fails when a shipped file is not what this makes of its source. rcssmin (a small, long-kept
minifier with a C speed-up, in the test extra) does the work: a hand-written one would have
to know strings, comments and calc()'s spaces as well as it does.

    python tools/build_theme_css.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import rcssmin

THEME = Path(__file__).resolve().parents[1] / "themes" / "newsroom"
SOURCES = THEME / "src" / "css"
SHIPPED = THEME / "static" / "css"


def minified(source: Path) -> str:
    """The shipped text of one source stylesheet."""
    body = rcssmin.cssmin(source.read_text(encoding="utf-8"))
    return f"/* newsroom theme: minified from src/css/{source.name} */\n{body}\n"


def main() -> int:
    SHIPPED.mkdir(parents=True, exist_ok=True)
    for source in sorted(SOURCES.glob("*.css")):
        text = minified(source)
        (SHIPPED / source.name).write_text(text, encoding="utf-8")
        print(f"{source.name}: {source.stat().st_size:,} -> {len(text.encode()):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
