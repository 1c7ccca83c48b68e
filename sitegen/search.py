"""On-site search with Pagefind: index the written pages and add the search bundle.

Pagefind (the `pagefind` package from PyPI, with its `bin` extra that ships the binary) reads
the built HTML, only the part of each page the theme marks with `data-pagefind-body` (an
article: title, byline, body and tags), and writes a static index plus the JavaScript and
WebAssembly that query it in the browser, so search works on any static host. Without
Pagefind the build says how to get it and leaves search out; nothing else changes.
"""

from __future__ import annotations

import asyncio
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sitegen.errors import SiteError
from sitegen.writer import Staging

BUNDLE_DIR = "pagefind"
INSTALL = "pip install 'pagefind[bin]'"


def unavailable() -> str | None:
    """Why this machine cannot build the search index, or None when it can."""
    try:
        from pagefind.service import get_executable
    except ImportError:
        return (f"on-site search skipped: Pagefind is not installed; run {INSTALL} to enable "
                "it (or set [search] enabled = false in sitegen.toml to build without search)")
    if get_executable() is None:
        return (f"on-site search skipped: the Pagefind binary is missing; run {INSTALL} to "
                "install it with its binary")
    return None


def add_index(staging: Staging) -> None:
    """Index the pages written into `staging` and add the bundle under pagefind/. Raises
    SiteError if Pagefind fails."""
    with tempfile.TemporaryDirectory(prefix="sitegen-pagefind-") as temporary:
        bundle = Path(temporary) / BUNDLE_DIR
        build_bundle(staging.path, bundle)
        for file in sorted(p for p in bundle.rglob("*") if p.is_file()):
            staging.copy(f"{BUNDLE_DIR}/{file.relative_to(bundle).as_posix()}", file)


def refresh_index(folder: Path) -> None:
    """Rebuild the bundle of a site folder in place (the dev server's preview): built beside
    it, then swapped in, so a search never reads half an index."""
    target = folder / BUNDLE_DIR
    with tempfile.TemporaryDirectory(prefix=".sitegen-pagefind-", dir=folder.parent) as temporary:
        fresh = Path(temporary) / BUNDLE_DIR
        build_bundle(folder, fresh)
        if target.exists():
            old = Path(temporary) / "old"
            target.rename(old)
        fresh.rename(target)


def build_bundle(site: Path, bundle: Path) -> None:
    """Run Pagefind over the HTML in `site`, writing the bundle into `bundle`."""
    try:
        # A thread of its own: the caller may already run an event loop (a notebook, a
        # test driving a browser), and asyncio.run refuses to nest.
        with ThreadPoolExecutor(max_workers=1) as worker:
            worker.submit(asyncio.run, _index(site, bundle)).result()
    except Exception as exc:  # the service's errors have no common type
        raise SiteError("search", f"Pagefind could not build the search index: {exc}; set "
                        "[search] enabled = false in sitegen.toml to build without "
                        "search") from None


async def _index(site: Path, bundle: Path) -> None:
    from pagefind.index import IndexConfig, PagefindIndex

    async with PagefindIndex(config=IndexConfig(output_path=str(bundle))) as index:
        await index.add_directory(str(site))
