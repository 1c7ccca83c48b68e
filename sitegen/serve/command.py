"""`sitegen serve`: build into a folder of its own, serve it, rebuild on every save.

Three threads cooperate: the watcher reports debounced batches of changes, one builder
thread runs one rebuild at a time (changes that arrive meanwhile queue up and trigger the
next), and the HTTP server answers requests, holding any page request while a rebuild runs.
The preview is built into a folder of its own (kept in the site's cache for the next run,
kept.py, or a private temporary one), so drafts shown while writing never end up in the
output/ that gets deployed. The server answers from the start: a kept preview made with the
same settings is served while the first build (start.py) brings it up to date; else the first
build runs on every core in a process forked before those threads (cold.py), and its files
are served as it writes them, the ones asked for first.
"""

from __future__ import annotations

import errno
import shutil
import signal
import sys
import tempfile
import threading
import webbrowser
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from sitegen.content.sources import scan_sources
from sitegen.incremental.cache import BuildCache, OutputRecord
from sitegen.parallel import default_workers
from sitegen.report import BuildOptions, OptionsKey
from sitegen.serve.cold import ColdStart, Outcome, progress_line
from sitegen.serve.http import BuildState, PreviewServer
from sitegen.serve.kept import Kept
from sitegen.serve.live import LiveSite, Rebuilt
from sitegen.serve.start import first_build
from sitegen.serve.watch import Changes, Watcher
from sitegen.tree import require_site, why
from sitegen.write.writer import ready_spare

PORT_TRIES = 20
SWITCH_INTERVAL = 0.0005  # seconds a thread holds the GIL before others may run
SIGNAL_POLL_SECONDS = 1.0  # the main thread wakes this often to run a signal's handler


class Builder:
    """Runs rebuilds one at a time on its own thread, merging requests that queue up."""

    def __init__(self, live: LiveSite, state: BuildState, log: TextIO) -> None:
        self.live, self.state, self.log = live, state, log
        self._pending: Changes | None = None
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="sitegen-build", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self.started:
            self._thread.join(timeout=30)

    def request(self, changes: Changes) -> None:
        with self._cond:
            old = self._pending
            self._pending = changes if old is None else Changes(
                old.paths | changes.paths, old.everything or changes.everything,
                old.css_only and changes.css_only)
            self._cond.notify_all()

    def build_now(self, everything: bool, css_only: bool = False,
                  paths: frozenset[Path] = frozenset()) -> Rebuilt:
        self.state.start()
        outcome = self.live.rebuild(everything, paths, publish=self.state.publish,
                                    interrupted=lambda: self._pending is not None)
        self.state.finish(outcome.problems, css_only=css_only, pending=outcome.pending)
        self._say(outcome)
        self.live.ready_quick()  # pages are served meanwhile
        return outcome

    def first(self, records: dict[str, OutputRecord], indexed: bool) -> Rebuilt:
        """The first build (`start.first_build`, in this process: threads run), while the
        kept preview is served: open tabs reload only if it changed a file or failed."""
        outcome = first_build(self.live, 1, records, indexed)
        if not outcome.ok or outcome.written or outcome.removed:
            self.state.finish(outcome.problems)
        self._say(outcome)
        self.live.ready_quick()
        return outcome

    def adopt(self, cold: Outcome, cache: BuildCache) -> Rebuilt:
        """The cold start's build, done in this process, becomes the last good build: its
        files were served as they landed, so no tab reloads."""
        assert cold.prepared is not None
        self.live.cache = cache
        outcome = self.live.adopt(cold.prepared, cold.prints, cold.written, cold.removed,
                                  cold.seconds)
        self._say(outcome)  # the index for quick rebuilds is made by the builder's thread
        return outcome

    def failed(self, cold: Outcome) -> None:
        """The cold start's build failed: its problems are shown; the next save rebuilds."""
        self.state.finish(cold.problems)
        self._say(Rebuilt(False, cold.problems, seconds=cold.seconds))

    def _run(self) -> None:
        # Before the first change is taken (a cold start adopted its build without it), so
        # that the serve command's thread goes on meanwhile: the first save needs it.
        self.live.ready_quick()
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._stopped)
                if self._stopped:
                    return
                changes, self._pending = self._pending, None
            assert changes is not None
            try:
                self.build_now(changes.everything, changes.css_only, changes.paths)
            except Exception as exc:  # a bug in sitegen: report it, keep the preview alive
                self.state.finish()
                print(f"error: rebuild failed unexpectedly: {exc!r}", file=self.log, flush=True)

    def _say(self, outcome: Rebuilt) -> None:
        for warning in outcome.warnings:
            print(f"warning: {warning}", file=self.log)
        if outcome.ok:
            changed = len(outcome.written) + len(outcome.removed)
            first = "" if outcome.published_seconds is None else \
                f" (the edited page first, in {outcome.published_seconds * 1000:.0f} ms)"
            print(f"Rebuilt in {outcome.seconds * 1000:.0f} ms: {changed} "
                  f"file{'' if changed == 1 else 's'} changed{first}.", file=self.log, flush=True)
        else:
            for problem in outcome.problems:
                print(str(problem), file=self.log)
            count = len(outcome.problems)
            print(f"Build failed: {count} error{'' if count == 1 else 's'}; still serving the "
                  "last good site. Fix and save to try again.", file=self.log, flush=True)


def bind(host: str, port: int, state: BuildState, root: Path, log: TextIO) -> PreviewServer:
    """Bind the preview server; if the port is taken, the next free one (and say so)."""
    for candidate in range(port, port + PORT_TRIES):
        try:
            server = PreviewServer((host, candidate), root, state)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or port == 0:
                raise
            continue
        if candidate != port:
            print(f"Port {port} is in use; using {candidate} instead.", file=log)
        return server
    raise OSError(errno.EADDRINUSE, f"ports {port} to {port + PORT_TRIES - 1} are all in use; "
                  "choose another with --port")


def serve(options: BuildOptions, host: str = "127.0.0.1", port: int = 8000,
          open_browser: bool = False, poll: bool = False, log: TextIO = sys.stderr,
          ready: threading.Event | None = None, use_cache: bool = True) -> int:
    """Run the preview until interrupted (Ctrl-C), then clean up; returns the exit code.

    With `use_cache` the preview is kept in the site's cache folder between runs (kept.py):
    a restart serves the last preview at once, when it was made with the same settings, and
    brings it up to date behind it. Otherwise (or when another preview holds the kept one) it
    is built in a private temporary folder, removed however the preview stops: everything
    after that folder is made runs inside one try/finally."""
    site_dir = options.site_dir.resolve()
    require_site(site_dir if site_dir.is_dir() else options.site_dir)
    if host in ("0.0.0.0", "::"):
        print("warning: serving on every network interface: anyone who can reach this machine "
              "can read the preview, drafts included.", file=log)
    # The builder thread is CPU-bound while it renders list pages; with Python's default 5 ms
    # switch interval each system call of a request waits that long for the GIL, and a page
    # request took some 60 ms. A short interval keeps the preview answering promptly.
    previous_interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if on_main else None
    # Ctrl-C stops the preview however it was started: a script's `sitegen serve &` starts
    # with SIGINT ignored (so Python installs no handler of its own), and `kill -INT` then did
    # nothing, nor the cold start's stop of its build process, which inherits the handler.
    previous_int = signal.signal(signal.SIGINT, _interrupt) if on_main else None
    # Ctrl-C or SIGTERM between making the folder and entering the try would leave it behind:
    # the signals wait until the try/finally that removes it is in force.
    stops = {signal.SIGINT, signal.SIGTERM}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, stops) if on_main else None
    kept = Kept.claim(site_dir) if use_cache else None
    private = None if kept is not None else Path(tempfile.mkdtemp(prefix="sitegen-serve-"))
    # The preview is a folder inside a private one: the output transaction keeps its spare,
    # journal and lock beside the folder it replaces (writer.py), and all go with it.
    folder = kept.folder if kept is not None else private / "site"  # type: ignore[operator]
    server: PreviewServer | None = None
    serving: threading.Thread | None = None
    live: LiveSite | None = None
    builder: Builder | None = None
    watcher: Watcher | None = None
    key: OptionsKey | None = None
    cold: ColdStart | None = None
    saving: threading.Thread | None = None
    try:
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        folder.mkdir(exist_ok=kept is not None)
        state = BuildState()
        server = bind(host, port, state, folder, log)
        shown_host = f"[{host}]" if ":" in host else host
        url = f"http://{shown_host}:{server.server_port}"
        settings = replace(options, site_dir=site_dir, output_dir=folder, workers=1,
                           base_url=options.base_url or url)
        key = settings.key(folder)
        live = LiveSite(settings, folder)
        kept_state = kept.state() if kept is not None else None
        # Served before it is brought up to date only when made with the same settings: a
        # page may be out of date for a moment (its tab reloads), never from other settings.
        early = kept is not None and kept_state is not None and kept_state.key == key and \
            kept.servable(kept_state)
        builder = Builder(live, state, log)
        watcher = Watcher(site_dir, builder.request, poll=poll,
                          ignored=[private or folder.parent, site_dir / "output", *(
                              [options.output_dir] if options.output_dir else [])])
        serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                   name="sitegen-serve", daemon=True)
        indexed = kept_state is None or kept_state.indexed
        if early:
            _started(serving, watcher, site_dir, url, open_browser, ready, log,
                     " (the last preview; bringing it up to date)")
            # After serving starts, both: at 50,000 articles each takes a second or more.
            assert kept is not None and kept_state is not None
            records = kept.trusted(kept_state)  # the files still as recorded: a stat each
            live.cache = kept.cache()
            # It renders only what changed since the last run.
            builder.first(records, indexed)
        else:
            # No thread but this one yet: the cold start plans the site and forks its
            # writers now, as `sitegen build` does; its files are served as they land.
            articles = len(scan_sources(site_dir)[0])
            _announce(site_dir, url, open_browser, log,
                      f" — building {articles:,} articles in the background")
            progress = _Progress(log, url, articles)
            cache = kept.cache() if kept is not None else BuildCache()
            cold = ColdStart(settings, folder, options.workers or default_workers(), cache,
                             state, progress)
            _start(serving, watcher, ready)
            outcome = cold.run(state, keep=None if kept is None else
                               lambda: _keep_sources(kept, cache, log))
            progress.close()
            if outcome.ok:
                spared = threading.Event()
                live.indexer.defer(spared)  # the first re-index comes after the spare
                builder.adopt(outcome, cache)
                # Behind the preview, on a thread: the transaction's spare (the first edit's
                # transaction waits for it, the lock, instead of linking the whole site),
                # then the records of the files (the sources and bodies are kept already).
                # Started first, and the builder next, so that the spare's link, the
                # builder's index for quick rebuilds and the look for files changed during
                # the build below overlap: the first save waits for the longest of them,
                # not for their sum.
                saving = threading.Thread(target=_keep_after_cold, name="sitegen-keep",
                                          args=(folder, kept, key, live.made(), spared,
                                                log),
                                          daemon=True)
                saving.start()
                builder.start()
                # A file changed since the build began, before the watcher ran, is rebuilt
                # next, as a save is.
                if changed := cold.changed_since():
                    builder.request(Changes.sort(site_dir, changed))
            else:
                builder.failed(outcome)
        if not builder.started:
            builder.start()
        # Until Ctrl-C or SIGTERM. Woken every second: a signal the kernel hands to another
        # thread only marks its handler due, which runs once this thread runs again.
        while not threading.Event().wait(SIGNAL_POLL_SECONDS):
            pass
    except KeyboardInterrupt:
        print("\nStopping.", file=log)
    finally:
        if watcher is not None:
            watcher.stop()
        if builder is not None:
            builder.stop()
        if serving is not None and serving.ident is not None:
            server.shutdown()  # type: ignore[union-attr]
        if cold is not None:
            cold.stop()
        indexed = False
        if live is not None:
            # A re-index still running is cut short, one queued is dropped: the next run
            # indexes anew.
            indexed = live.indexer.close()
        if server is not None:
            server.server_close()
        if saving is not None:  # it and the save below write the same files: one at a time
            saving.join()
        if kept is not None:
            if live is not None and key is not None and live.made():  # else nothing built
                _save(kept, key, live.made(), live.cache, indexed, log)
            kept.release()
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)
        sys.setswitchinterval(previous_interval)
    return 0


def _started(serving: threading.Thread, watcher: Watcher, site_dir: Path, url: str,
             open_browser: bool, ready: threading.Event | None, log: TextIO, note: str) -> None:
    _start(serving, watcher, ready)
    _announce(site_dir, url, open_browser, log, note)


def _start(serving: threading.Thread, watcher: Watcher, ready: threading.Event | None) -> None:
    watcher.start()
    serving.start()
    if ready is not None:
        ready.set()


def _announce(site_dir: Path, url: str, open_browser: bool, log: TextIO, note: str) -> None:
    """Say where the preview is (its socket listens already: a request made before the
    server's thread runs waits in the socket's queue)."""
    print(f"Serving {site_dir} at {url}/ (Ctrl-C to stop){note}", file=log, flush=True)
    if open_browser:
        webbrowser.open(url + "/")


def _save(kept: Kept, key: OptionsKey, made: dict[str, str], cache: BuildCache | None,
          indexed: bool, log: TextIO) -> None:
    """Keep the preview for the next run (`made`: `LiveSite.made`, `cache`: its sources and
    bodies); a failure only costs that run its head start. `indexed`: the search index was up
    to date (no re-index running or queued)."""
    try:
        kept.save(key, made, indexed, cache)
    except OSError as exc:
        print(f"warning: the preview could not be kept for the next run ({why(exc)}); it "
              "will be built anew", file=log, flush=True)


def _keep_after_cold(folder: Path, kept: Kept | None, key: OptionsKey, made: dict[str, str],
                     spared: threading.Event, log: TextIO) -> None:
    try:
        ready_spare(folder, whole=True)  # the cold start wrote every file
    finally:
        spared.set()
    if kept is not None:  # the search index is still being made: not recorded as indexed
        _save(kept, key, made, None, False, log)


def _keep_sources(kept: Kept, cache: BuildCache, log: TextIO) -> None:
    """The cold start's sources and bodies, kept for the next run while its writers write."""
    try:
        kept.save_sources(cache)
    except Exception as exc:  # noqa: BLE001 (the build goes on: the stop keeps them again)
        reason = why(exc) if isinstance(exc, OSError) else repr(exc)
        print(f"warning: the preview's sources could not be kept for the next run ({reason}); "
              "it will read them again", file=log, flush=True)


class _Progress:
    """The cold start's progress: one line redrawn in place on a terminal, else a line at
    every tenth (a log stays short)."""

    def __init__(self, log: TextIO, url: str, articles: int) -> None:
        self.log, self.url, self.articles = log, url, articles
        self.tty = log.isatty()
        self.shown = -1

    def __call__(self, fraction: float) -> None:
        step = int(fraction * 100) if self.tty else int(fraction * 10) * 10
        if step != self.shown:
            self.shown = step
            line = progress_line(self.url, self.articles, step / 100)
            print(f"\r{line}\x1b[K" if self.tty else line, end="" if self.tty else "\n",
                  file=self.log, flush=True)

    def close(self) -> None:
        if self.tty and self.shown >= 0:
            print(file=self.log, flush=True)  # what follows starts a line of its own


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM, and SIGINT however the process started, stop the preview as Ctrl-C does."""
    raise KeyboardInterrupt
