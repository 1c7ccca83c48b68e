"""On-site search with Pagefind: index the written pages and add the search bundle.

Pagefind (the `pagefind` package from PyPI, with its `bin` extra that ships the binary) reads
the built article pages, only the part of each the theme marks with `data-pagefind-body`
(title, byline, body and tags), and writes a static index plus the JavaScript and
WebAssembly that query it in the browser, so search works on any static host. Without
Pagefind the build says how to get it and leaves search out; nothing else changes.
"""

from __future__ import annotations

import ctypes
import filecmp
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from sitegen.errors import Problem, SiteError
from sitegen.folders import BUNDLE_DIR
from sitegen.write.writer import Staging, scratch, updating

INSTALL = "pip install 'pagefind[bin]'"
SECONDS = 900  # a stuck Pagefind must not hang the build for ever
EVERY_PAGE = "**/*.html"  # Pagefind's own choice of files
KILLED = "it was stopped"  # the preview stopped while it ran

Started = Callable[["subprocess.Popen[str]"], None]  # told of each Pagefind process started


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


def version() -> str:
    """Pagefind's version: a new one may write a different bundle for the same pages."""
    import importlib.metadata  # here, not above: it costs a quick build a tenth of its time

    try:
        return importlib.metadata.version("pagefind")
    except importlib.metadata.PackageNotFoundError:
        return ""


def pages_glob(permalink: str) -> str:
    """The files Pagefind reads, as its glob: the article pages, by the permalink pattern
    ("/{year}/{month}/{slug}/" gives "*/*/*/index.html").

    Search finds articles, and only their pages carry `data-pagefind-body`, but Pagefind
    parses every file it is given to look for one: at 10,000 articles the tag, author and
    list pages took 13 of its 32 s, and the bundle without them is byte for byte the same.
    A permalink holds only letters, digits, "-", "_", "/" and fields (the config checks),
    so nothing in it needs escaping, and each field fills part of one folder name."""
    return re.sub(r"\{\w+\}", "*", permalink).lstrip("/") + "index.html"


def add_index(staging: Staging, glob: str, output: Path, previous: Path | None = None
              ) -> list[str]:
    """Index the pages written into `staging` that match `glob` (`pages_glob`) and add the
    bundle under pagefind/; returns the bundle's paths. Pagefind writes into scratch space
    beside `output`, where the next build finds and removes it should this one be killed.
    A file equal to the one at the same path under `previous` (the last site) is linked
    from there, as unchanged pages are. Raises SiteError if Pagefind fails."""
    written = []
    with scratch(output) as temporary:
        bundle = temporary / BUNDLE_DIR
        build_bundle(staging.path, bundle, glob)
        for rel, file in sorted(bundle_files(bundle).items()):
            old = previous / rel if previous is not None else None
            if old is not None and old.is_file() and not old.is_symlink() and filecmp.cmp(
                    old, file, shallow=False):
                staging.link(rel, old)
            else:
                staging.copy(rel, file)
            written.append(rel)
    staging.files.extend(written)  # for the manifest: sitegen wrote them
    return written


def update_index(staging: Staging, output: Path, glob: str,
                 current: Iterable[str]) -> tuple[list[str], list[str]]:
    """Index the pages of `staging` (a copy of the output on its way in) anew and bring its
    pagefind/ folder up to date: files that changed are replaced, new ones added, those of
    `current` (the bundle's files now) no longer in it removed. Returns the files written
    and those removed. Raises SiteError when Pagefind fails."""
    with scratch(output) as temporary:
        fresh = temporary / BUNDLE_DIR
        build_bundle(staging.path, fresh, glob)
        bundle = bundle_files(fresh)
        changed = []
        for path, file in sorted(bundle.items()):
            existing = staging.path / path
            if not (existing.is_file() and filecmp.cmp(existing, file, shallow=False)):
                staging.copy(path, file)
                changed.append(path)
        removed = sorted(set(current) - bundle.keys())
        for path in removed:
            staging.remove(path)
    return changed, removed


def bundle_files(bundle: Path) -> dict[str, Path]:
    """The files of a bundle Pagefind wrote into `bundle`, by their path in the output
    ("pagefind/pagefind.js")."""
    return {f"{BUNDLE_DIR}/{file.relative_to(bundle).as_posix()}": file
            for file in bundle.rglob("*") if file.is_file()}


class BackgroundIndexer:
    """Keeps the dev server's preview searchable without holding up its rebuilds: indexing a
    big site takes seconds, a rebuild of one article well under one. Runs one re-index at a
    time on a thread of its own; requests that arrive meanwhile merge into one more run."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problem: Problem | None = None  # the last run's failure, if it failed
        self._cond = threading.Condition()
        self._wanted = False
        self._running = False
        self._glob = ""
        self._closed = False
        self._process: subprocess.Popen[str] | None = None  # Pagefind, while it runs
        self._until: threading.Event | None = None  # no run starts before it is set

    def defer(self, until: threading.Event) -> None:
        """Start no run before `until` is set (or the indexer closes): the serve command
        links the spare after a cold start first, which Pagefind, reading every page beside
        it on every core, slows several times while the first save waits for it."""
        self._until = until

    def request(self, glob: str) -> None:
        """Index the pages matching `glob` (`pages_glob`; the permalink may have changed)."""
        with self._cond:
            if self._closed:
                return
            self._wanted = True
            self._glob = glob
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="sitegen-search", daemon=True).start()

    def wait(self, timeout: float = 120.0) -> bool:
        """Block until no re-index is running or wanted; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._running, timeout)

    def close(self, timeout: float = 30.0) -> bool:
        """Stop: drop a queued re-index and cut a running one short (Pagefind is killed, its
        scratch folder removed, nothing committed), so the preview stops at once; a big
        site's index takes a minute. True when the index matched the pages (none was
        running, queued or failed), so the next run may keep it; else it indexes anew."""
        with self._cond:
            self._closed = True
            whole = not self._wanted and not self._running and self.problem is None
            self._wanted = False
            if self._process is not None:
                self._process.kill()
        return self.wait(timeout) and whole

    def _started(self, process: subprocess.Popen[str]) -> None:
        """Pagefind started for this indexer: killed at once if it is closing."""
        with self._cond:
            self._process = process
            if self._closed:
                process.kill()

    def _run(self) -> None:
        while True:
            while self._until is not None and not self._until.wait(0.2) and not self._closed:
                pass
            with self._cond:
                if not self._wanted:
                    self._running = False
                    self._cond.notify_all()
                    return
                self._wanted = False
                glob = self._glob
            try:
                refresh_index(self.folder, glob, self._started)
                problem = None
            except SiteError as exc:
                problem = exc.problem
            except Exception as exc:  # noqa: BLE001 (the thread must end its run, or close() hangs)
                problem = Problem("search", f"re-indexing the preview failed: {exc!r}")
            with self._cond:
                self.problem = problem
                self._process = None


def refresh_index(folder: Path, glob: str, started: Started | None = None) -> None:
    """Rebuild the bundle of a site folder (the dev server's preview) through the output
    transaction, as every write to an output goes: Pagefind reads the folder as it is and
    writes into scratch space beside it, then the bundle's changed files are committed at
    once, so a search never reads half an index. Waits for a rebuild that holds the folder.
    `started`: told of each Pagefind process (to stop it early)."""
    with scratch(folder) as temporary:
        fresh = temporary / BUNDLE_DIR
        build_bundle(folder, fresh, glob, started)
        bundle = bundle_files(fresh)
        with updating(folder, wait=True) as staging:
            target = folder / BUNDLE_DIR
            current = {f"{BUNDLE_DIR}/{file.relative_to(target).as_posix()}"
                       for file in target.rglob("*") if file.is_file()} \
                if target.is_dir() else set()
            for path, file in sorted(bundle.items()):
                existing = folder / path
                if not (existing.is_file() and filecmp.cmp(existing, file, shallow=False)):
                    staging.copy(path, file)
            for path in sorted(current - bundle.keys()):
                staging.remove(path)


def remove_index(folder: Path) -> None:
    """Take the bundle out of a site folder (search was switched off while serving)."""
    target = folder / BUNDLE_DIR
    if not target.is_dir():
        return
    with updating(folder, wait=True) as staging:
        for file in sorted(target.rglob("*")):
            if file.is_file():
                staging.remove(f"{BUNDLE_DIR}/{file.relative_to(target).as_posix()}")


def build_bundle(site: Path, bundle: Path, glob: str, started: Started | None = None) -> None:
    """Run Pagefind over the pages in `site` that match `glob`, writing the bundle into
    `bundle`. Pagefind fails when those pages give it nothing to index (no article published
    yet, or a theme whose article pages are not HTML documents); it then reads every page,
    as it does by default, and indexes them all, since none is marked as an article body.

    The command-line binary, not the package's async service API: the service answers before
    its files are fully written and is stopped right after, which can leave them truncated."""
    from pagefind.service import get_executable

    binary = get_executable()
    if binary is None:
        raise SiteError("search", unavailable() or "the Pagefind binary is missing")
    reason = _pagefind(binary, site, bundle, glob, started)
    if reason is not None and glob != EVERY_PAGE and reason != KILLED:
        shutil.rmtree(bundle, ignore_errors=True)
        reason = _pagefind(binary, site, bundle, EVERY_PAGE, started)
    if reason is not None:
        raise SiteError("search", f"Pagefind could not build the search index: {reason}; set "
                        "[search] enabled = false in sitegen.toml to build without search")


def _pagefind(binary: Path, site: Path, bundle: Path, glob: str,
              started: Started | None = None) -> str | None:
    """Run Pagefind; None when it wrote a bundle, else what went wrong (KILLED: stopped
    through `started`'s handle)."""
    command = [str(binary), "--site", str(site), "--output-path", str(bundle), "--glob", glob,
               "--silent"]
    try:
        # In the scratch folder that holds `bundle` (nothing else there yet), so no
        # pagefind.yml lying around changes what is indexed, and nothing is left in the
        # system's temporary folder should the build be killed.
        process = subprocess.Popen(command, cwd=bundle.parent, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   preexec_fn=_die_with_parent())
    except OSError as exc:
        return str(exc)
    with process:
        if started is not None:
            started(process)
        try:
            out, err = process.communicate(timeout=SECONDS)
        except subprocess.TimeoutExpired as exc:  # not tried again: that could take as long
            process.kill()
            raise SiteError("search", f"Pagefind could not build the search index: {exc}; "
                            "set [search] enabled = false in sitegen.toml to build without "
                            "search") from None
    if process.returncode == -signal.SIGKILL and started is not None:
        return KILLED
    if process.returncode != 0 or not (bundle / "pagefind.js").is_file():
        return (err or out).strip()[-2000:] or f"it exited with code {process.returncode}"
    return None


def _die_with_parent() -> Callable[[], None] | None:
    """Pagefind ends when the build that started it is killed (Linux PR_SET_PDEATHSIG), so
    it cannot write on into scratch space the next build removes. Only from the main
    thread: a function run between fork and exec is unsafe where other threads run, and
    the signal is tied to the thread that started the child (serve's indexer thread lives
    as long as its Pagefind)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1
