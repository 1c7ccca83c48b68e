"""Shared helpers for the `sitegen serve` tests: tiny TV-news sites, a real server process, HTTP.

The server is always the real thing: `python -m sitegen serve` in a child process, on a free
port of 127.0.0.1, with its own TMPDIR so that the private folder it builds into can be found
(and shown to be removed) without looking at anyone else's. All traffic goes to 127.0.0.1 only,
and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
THEME = REPO / "themes" / "newsroom"
THEME_CSS = THEME / "static" / "css" / "style.css"
MANIFEST = ".sitegen-manifest.json"
LIVE_TAG = '<script src="/__sitegen/live.js"'
WAIT = 10.0  # seconds: the longest any test waits for one thing to happen
FIXED_NOW = datetime(2024, 6, 1, 12, 0, tzinfo=ZoneInfo("UTC"))

SITE_TOML = ('title = "Channel Nine Desk"\n'
             'base_url = "https://channel-nine.example.com"\n'
             'timezone = "UTC"\n'
             'per_page = 3\n')

FIRST_BUILD_ENDED = r"^(Rebuilt in \d+ ms|Build failed)"
_SERVING = re.compile(r"Serving (?P<site>.+) at http://(?P<host>\[[^\]]+\]|[^:/\s]+):(?P<port>\d+)/ ")


# --- sites ---------------------------------------------------------------------------------------

def article_text(title: str, date: str, author: str = "Mara Quill", tags: Iterable[str] = (),
                 body: str = "A short report from the newsroom.", **extra: object) -> str:
    """The text of one article file; strings are written as JSON scalars, which YAML reads."""
    lines = ["---", f"title: {json.dumps(title)}", f"date: {date}", f"author: {json.dumps(author)}"]
    tag_list = list(tags)
    if tag_list:
        lines.append("tags:")
        lines.extend(f"  - {json.dumps(t)}" for t in tag_list)
    lines.extend(f"{key}: {json.dumps(value)}" for key, value in extra.items())
    lines += ["---", "", body, ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class Story:
    """One of the default site's articles: its file, title, tags and where it is served."""

    name: str
    title: str
    date: str
    author: str
    tags: tuple[str, ...]
    body: str
    url: str

    def text(self, **changes: Any) -> str:
        fields = {"title": self.title, "date": self.date, "author": self.author,
                  "tags": self.tags, "body": self.body, **changes}
        return article_text(**fields)


STORIES = (
    Story("harbor-lights.md", "Harbor Lights Renewed for a Third Season", "2021-02-03",
          "Mara Quill", ("Renewals", "Harbor Lights"),
          "The coastal drama returns next spring with eight episodes and the same writers' room.",
          "/2021/02/harbor-lights-renewed-for-a-third-season/"),
    Story("midnight-relay.md", "Midnight Relay Finale Draws a Record Audience", "2021-03-14",
          "Tomas Reyes", ("Ratings", "Midnight Relay"),
          "Overnight figures put the finale well ahead of the premiere, a rare climb for a thriller.",
          "/2021/03/midnight-relay-finale-draws-a-record-audience/"),
    Story("lantern-keepers.md", "The Lantern Keepers Adds Two Leads", "2021-05-20",
          "Mara Quill", ("Casting", "Renewals"),
          "Two stage actors join the fantasy series as rival lighthouse keepers.",
          "/2021/05/the-lantern-keepers-adds-two-leads/"),
    Story("salt-road.md", "Review: Salt Road Is a Slow, Confident Western", "2021-07-08",
          "Priya Nand", ("Reviews",),
          "The new western takes its time, and the patience mostly pays off by the fourth hour.",
          "/2021/07/review-salt-road-is-a-slow-confident-western/"),
)


def make_site(root: Path, stories: Iterable[Story] = STORIES, css_override: bool = False,
              extra: Mapping[str, str] | None = None) -> Path:
    """A site folder: sitegen.toml, content/ with `stories`, and `extra` files (relative path ->
    text). `css_override` gives the site its own static/css/style.css, a copy of the theme's."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sitegen.toml").write_text(SITE_TOML, encoding="utf-8")
    (root / "content").mkdir(exist_ok=True)
    for story in stories:
        (root / "content" / story.name).write_text(story.text(), encoding="utf-8")
    if css_override:
        css = root / "static" / "css" / "style.css"
        css.parent.mkdir(parents=True, exist_ok=True)
        css.write_bytes(THEME_CSS.read_bytes())
    for rel, text in (extra or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def editor_save(path: Path, text: str) -> None:
    """Save as many editors do: write a temporary file beside the target, then rename it over."""
    temporary = path.with_name(f".{path.name}.swp-{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


# --- folders -------------------------------------------------------------------------------------

def folder_listing(folder: Path) -> dict[str, str]:
    """Every file (sha256), link (its target) and folder ('<dir>') under `folder`, by relative path."""
    out: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[rel] = "symlink:" + os.readlink(path)
        elif path.is_dir():
            out[rel] = "<dir>"
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def folder_digest(folder: Path) -> str:
    return hashlib.sha256(json.dumps(folder_listing(folder), sort_keys=True).encode()).hexdigest()


def compare_folders(expected: Path, actual: Path, ignore: Iterable[str] = (MANIFEST,)) -> list[str]:
    """How `actual` differs from `expected`, file by file (and folder by folder): [] when equal.

    Each difference is one line; for the first few differing text files a short unified diff
    follows, so a failing test shows what changed.
    """
    import difflib

    skip = set(ignore)
    want, got = folder_listing(expected), folder_listing(actual)
    problems: list[str] = []
    diffs_shown = 0
    for rel in sorted(want.keys() | got.keys()):
        if rel in skip:
            continue
        if rel not in got:
            problems.append(f"missing: {rel}")
        elif rel not in want:
            problems.append(f"unexpected: {rel}")
        elif want[rel] != got[rel]:
            problems.append(f"differs: {rel}")
            if diffs_shown < 3 and want[rel] != "<dir>" and got[rel] != "<dir>":
                diffs_shown += 1
                a = (expected / rel).read_text(encoding="utf-8", errors="replace").splitlines()
                b = (actual / rel).read_text(encoding="utf-8", errors="replace").splitlines()
                diff = list(difflib.unified_diff(a, b, "expected/" + rel, "actual/" + rel,
                                                 n=1, lineterm=""))
                problems.extend("    " + line[:200] for line in diff[:30])
    return problems


# --- waiting -------------------------------------------------------------------------------------

def wait_until(predicate: Callable[[], Any], timeout: float = WAIT, interval: float = 0.02,
               what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- HTTP ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def has_header(self, name: str) -> bool:
        return any(k.lower() == name.lower() for k, _ in self.headers)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


_DEFAULT_HOST = object()


def http_request(port: int, path: str, method: str = "GET", host: object = _DEFAULT_HOST,
                 headers: Mapping[str, str] | None = None, address: str = "127.0.0.1",
                 timeout: float = WAIT) -> Response:
    """One request with the path sent exactly as given (no normalising, no encoding).

    `host`: the Host header; by default `127.0.0.1:PORT`, None to send none at all.
    """
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if host is _DEFAULT_HOST:
            conn.putheader("Host", f"127.0.0.1:{port}")
        elif host is not None:
            conn.putheader("Host", str(host))
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        return Response(resp.status, list(resp.getheaders()), body)
    finally:
        conn.close()


def raw_exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, return whatever comes back until the server closes or `timeout` passes."""
    chunks: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close the connection before reading everything
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, OSError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


# --- the server process --------------------------------------------------------------------------

def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ServeProcess:
    """`python -m sitegen serve` in a child process, with its stderr read by a thread."""

    def __init__(self, site: Path, tmpdir: Path | None, *args: str, port: int | None = None,
                 host: str | None = None, kept: bool = False,
                 sigint_ignored: bool = False) -> None:
        """`kept`: the preview kept in the site's cache between runs (serve's default); else
        `--no-cache`, a private temporary folder removed on stop (what `build_folders` finds).
        `sigint_ignored`: started as a script's `sitegen serve &` is, with SIGINT ignored."""
        self.sigint_ignored = sigint_ignored
        self.site = site
        self.tmpdir = tmpdir
        self.requested_port = port if port is not None else free_port()
        self.args = [*args, *(["--host", host] if host else []), "--port",
                     str(self.requested_port), *([] if kept else ["--no-cache"])]
        self.port = 0
        self.host = ""
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._closed = False
        self.proc: subprocess.Popen[str] | None = None
        self.returncode: int | None = None

    # starting and stopping

    def start(self, wait_ready: bool = True, timeout: float = 60.0,
              settled: bool = True) -> ServeProcess:
        """Start it; with `wait_ready`, wait until it serves, and with `settled` too until its
        first build has ended (a cold start serves while its build runs)."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if self.tmpdir is not None:
            self.tmpdir.mkdir(parents=True, exist_ok=True)
            env["TMPDIR"] = str(self.tmpdir)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sitegen", "serve", "-s", str(self.site), *self.args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", env=env, cwd=str(REPO),
            preexec_fn=_ignore_sigint if self.sigint_ignored else None)
        threading.Thread(target=self._read, name="serve-stderr", daemon=True).start()
        if wait_ready:
            self.wait_ready(timeout)
            if settled:
                self.wait_for_line(FIRST_BUILD_ENDED, timeout)
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait_for_line(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        """The first stderr line matching the regular expression `pattern` (waits for it)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    match = regex.search(line)
                    if match:
                        return match
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise AssertionError(f"no stderr line matching {pattern!r} within {timeout} s "
                                         f"(exit code {self.proc and self.proc.poll()}); "
                                         f"stderr so far:\n{self.stderr}")
                self._cond.wait(min(left, 0.5))

    def wait_ready(self, timeout: float = 60.0) -> None:
        match = self.wait_for_line(_SERVING.pattern, timeout)
        self.host = match.group("host")
        self.port = int(match.group("port"))

    @property
    def stderr(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> int:
        """Send `sig` and wait for the process to exit; returns its exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"sitegen serve did not exit within {timeout} s of signal {sig}; "
                                 f"stderr:\n{self.stderr}") from None
        with self._cond:  # let the reader thread take the last lines
            self._cond.wait_for(lambda: self._closed, timeout=5)
        return self.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(AssertionError):
                self.stop()
        self.kill()

    # the private build folder

    def build_folders(self) -> list[Path]:
        """The folder(s) the server serves, each inside its private folder in its TMPDIR
        (normally one while it runs; none once it has stopped and removed it)."""
        assert self.tmpdir is not None
        return sorted(private / "site" for private in self.tmpdir.glob("sitegen-serve-*"))

    # HTTP

    def request(self, path: str, method: str = "GET", host: object = _DEFAULT_HOST,
                headers: Mapping[str, str] | None = None, timeout: float = WAIT) -> Response:
        return http_request(self.port, path, method, host, headers, timeout=timeout)

    def get(self, path: str, timeout: float = WAIT) -> Response:
        return self.request(path, timeout=timeout)

    def state(self) -> dict[str, Any]:
        resp = self.get("/__sitegen/state")
        assert resp.status == 200, resp
        return resp.json()

    def build_number(self) -> int:
        return int(self.state()["build"])

    def wait_for_build(self, after: int, timeout: float = WAIT) -> dict[str, Any]:
        """Wait until a build newer than `after` has finished; its state."""
        return wait_until(lambda: (s := self.state())["build"] > after and s,
                          timeout, what=f"a build after #{after}")

    def wait_for_page(self, path: str, predicate: Callable[[Response], bool],
                      timeout: float = WAIT, what: str = "") -> Response:
        """Poll `path` until `predicate(response)` holds; the matching response."""
        return wait_until(lambda: (r := self.get(path)) and predicate(r) and r, timeout,
                          interval=0.05, what=what or f"{path} to change")


@contextlib.contextmanager
def running_preview(work: Path) -> Iterator[ServeProcess]:
    """`sitegen serve` of a small site with its own copy of the theme's stylesheet, stopped
    afterwards; it must exit cleanly and leave no build folder."""
    site = make_site(work / "site", css_override=True)
    with ServeProcess(site, work / "tmp") as server:
        server.start()
        yield server
        assert server.stop() == 0, server.stderr
        assert server.build_folders() == []
