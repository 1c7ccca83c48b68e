"""The preview HTTP server: serves one folder safely, and tells open tabs when to reload.

- Only files inside the folder are served, whatever the request's encoding (`..`, `%2e%2e`,
  `%2f`, double encoding, backslashes) or symbolic links inside it; hidden files are not.
- Requests whose Host header is not a local name (or the address the server was told to bind)
  get 403, so a web page elsewhere cannot read the preview by DNS rebinding.
- No CORS headers are sent.
- A request target longer than `MAX_TARGET` gets 414, as nginx and Apache answer (8 KiB); a
  path no file can have (a name over NAME_MAX, a path over PATH_MAX) is 404, never 500.
- Connections queue up to the system's limit (`SOMAXCONN`) while the server is busy, and one
  idle for `IDLE_SECONDS` is closed: open sockets cannot pile up threads or stall others.
- A page requested while a rebuild runs waits for it, so a browser never sees half a site
  (the model is MkDocs' livereload: a build number behind a condition variable). A quick
  rebuild of an edited article publishes its page first and the pages that list it right
  after; until then those pages are `pending`, and a request for one waits.
- Every HTML page gets a small script that long-polls `/__sitegen/wait` for a newer build,
  then reloads the page, swaps the stylesheets (a CSS-only change), or shows the build's
  errors in an overlay.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import mimetypes
import re
import socket
import stat
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sitegen.errors import Problem

LIVE_PREFIX = "/__sitegen/"
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WAIT_SECONDS = 20.0
MAX_TARGET = 8190  # bytes in the request target: Apache's LimitRequestLine, about nginx's 8k
IDLE_SECONDS = 5.0  # a connection that sends nothing for this long is closed (Apache's default)
NOT_FOUND_PAGE = "404.html"
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)

LIVE_SCRIPT = (Path(__file__).parent / "live.js").read_bytes()


@dataclass
class BuildState:
    """The newest build's number and problems, shared by the builder and request threads."""

    number: int = 0
    building: bool = False
    css_only: bool = False
    last_full: int = 0  # the newest build that was not CSS-only: tabs older than it reload
    problems: tuple[Problem, ...] = ()
    pending: frozenset[str] = frozenset()  # output files a published build still rewrites
    _published: bool = False  # the running build published its first files
    _cond: threading.Condition = field(default_factory=threading.Condition)
    # A cold start (serve/cold.py): its build's writers run in other processes, and each file is
    # served from that build's staging folder once written there (`landed`); a request
    # for one not yet written asks for it (`want`: its job's index) and waits for it alone.
    cold: bool = False
    early: Path | None = None  # the staging folder, while its files may be read
    planned: dict[str, int] | None = None  # every file of the plan: its job's index
    landed: set[str] = field(default_factory=set)
    want: Callable[[int], None] | None = None

    def start(self) -> None:
        with self._cond:
            self.building = True
            self._published = False

    def publish(self, pending: frozenset[str]) -> None:
        """The rebuild's first files are written: tabs may reload now; requests for the
        `pending` files (output paths) still wait for `finish`. Called again, it only says
        which files still wait (a replaced photo's variants, written once encoded)."""
        with self._cond:
            if not self._published:
                self._done(())
            self.pending, self._published = pending, True
            self._cond.notify_all()

    def finish(self, problems: tuple[Problem, ...] = (), css_only: bool = False,
               pending: frozenset[str] = frozenset()) -> None:
        """The rebuild ended; `pending`: files it left to the next one (which starts at once),
        and requests for them wait on."""
        with self._cond:
            if not (self._published and not problems):  # else the rest of a published build
                self._done(problems, css_only)
            self.pending, self._published = pending, False
            self._cond.notify_all()

    def _done(self, problems: tuple[Problem, ...], css_only: bool = False) -> None:
        self.building = False
        self.number += 1
        self.problems = problems
        self.css_only = css_only and not problems
        if not self.css_only:
            self.last_full = self.number

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Block while a rebuild runs."""
        with self._cond:
            self._cond.wait_for(lambda: not self.building, timeout)

    def wait_ready(self, url_path: str, timeout: float = 60.0) -> Path | None:
        """Block while a rebuild runs, or while the file behind `url_path` is pending. During
        a cold start, block until that file (or, for a path the plan lacks, the 404 page) is
        written, and return the folder to read it from (else None: the preview's)."""
        rel = unquote(url_path).lstrip("/")
        names = (rel, f"{rel}index.html", f"{rel}/index.html")
        asked = False
        with self._cond:
            while self.cold:
                early, planned = self.early, self.planned
                if early is not None and planned is not None:
                    found = next((n for n in names if n in planned), None) or (
                        NOT_FOUND_PAGE if NOT_FOUND_PAGE in planned else None)
                    if found is None or found in self.landed:
                        return early
                    if not asked and self.want is not None:
                        self.want(planned[found])  # ahead of the rest
                        asked = True
                self._cond.wait(1.0)
            self._cond.wait_for(lambda: not self.building and not set(names) & self.pending,
                                timeout)
        return None

    def still_early(self, folder: Path, rel: str) -> bool:
        """A cold start's file `rel`, opened in `folder`, was read before its build's commit
        (which puts another folder at that path) and had landed there."""
        with self._cond:
            return self.early == folder and rel in self.landed

    def cold_start(self, want: Callable[[int], None]) -> None:
        """A cold start's build runs: its files are that build's (its number: tabs showing
        them reload only when a later build changed something)."""
        with self._cond:
            self.cold, self.want = True, want
            self._done(())

    def cold_planned(self, paths: list[str], staging: Path) -> None:
        with self._cond:
            self.planned = {path: index for index, path in enumerate(paths)}
            self.early = staging
            self._cond.notify_all()

    def cold_landed(self, paths: Iterable[str]) -> None:
        with self._cond:
            self.landed.update(paths)
            self._cond.notify_all()

    def cold_closing(self) -> None:
        """The build commits next: no more reads from its staging folder."""
        with self._cond:
            self.early = None

    def cold_end(self) -> None:
        """Committed (or failed): requests read the preview's folder again."""
        with self._cond:
            self.cold, self.early, self.planned, self.want = False, None, None, None
            self.landed = set()
            self._cond.notify_all()

    def wait_newer(self, since: int, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        """Block until a build newer than `since` finished (or time out); its summary."""
        with self._cond:
            self._cond.wait_for(lambda: self.number != since and not self.building, timeout)
            return self.snapshot(since)

    def snapshot(self, since: int | None = None) -> dict[str, Any]:
        """The state as a tab that has seen build `since` needs it: CSS-only only if every
        build after `since` was."""
        css_only = self.css_only and (since is None or since >= self.last_full)
        return {"build": self.number, "css_only": css_only,
                "problems": [{"file": p.file, "line": p.line, "message": p.message,
                              "text": str(p)} for p in self.problems]}


def resolve(root: Path, raw_path: str) -> Path | None:
    """The file under `root` (absolute, resolved) that a request path names, or None.

    The path is percent-decoded once; anything that still looks like a way out (a `..`
    segment, a backslash, a NUL, a path that resolves outside `root` through a link) or names
    a hidden file is refused. A second layer of encoding stays literal: `%252e%252e` names a
    file called `%2e%2e`, never the parent folder.
    """
    path = unquote(urlsplit(raw_path).path, errors="strict") if raw_path else ""
    if not path.startswith("/") or "\\" in path or "\x00" in path:
        return None
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") or p.startswith(".") for p in parts):
        return None
    candidate = root.joinpath(*parts)
    try:
        real = candidate.resolve(strict=False)
    except (OSError, RuntimeError):
        return None
    if real != root and not real.is_relative_to(root):
        return None
    return candidate


def host_allowed(host_header: str | None, bind_host: str) -> bool:
    """Accept local names, the bound address, and (when bound to all addresses) IP literals."""
    if not host_header:
        return False
    match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\](?::\d+)?|([^:\[\]]+)(?::\d+)?", host_header.strip())
    if not match:
        return False
    name = (match.group(1) or match.group(2) or "").lower().rstrip(".")
    if name in LOCAL_NAMES or name == bind_host.lower():
        return True
    if bind_host in ("0.0.0.0", "::"):
        try:
            ipaddress.ip_address(name)  # an address, never a name that could be rebound
            return True
        except ValueError:
            return False
    return False


def inject_live_script(html: bytes, build: int) -> bytes:
    tag = (f'<script src="{LIVE_PREFIX}live.js" data-build="{build}" defer></script>').encode()
    matches = list(_BODY_END.finditer(html))
    if not matches:
        return html + tag
    at = matches[-1].start()
    return html[:at] + tag + html[at:]


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default of 5 dropped connections (a browser opens six at once, and 50
    # clients saw 1-4 s stalls: the kernel retries a dropped SYN after 1 s, then 3 s).
    request_queue_size = socket.SOMAXCONN

    def __init__(self, address: tuple[str, int], root: Path, state: BuildState) -> None:
        self.root = root.resolve()
        self.state = state
        self.bind_host = address[0]
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, PreviewHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A failing request is that request's problem; the server keeps serving."""


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"
    server_version = "sitegen"
    sys_version = ""
    # Headers and body go out in separate writes; with Nagle's algorithm on, a keep-alive
    # client's delayed ACK held each response back about 40 ms.
    disable_nagle_algorithm = True
    # Each connection holds a thread while it waits for a request: an idle one is closed. A
    # long poll is not idle (the handler waits on the build, not on the socket).
    timeout = IDLE_SECONDS

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        """Quiet: the terminal is for build results and errors."""

    def do_HEAD(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        try:
            if not host_allowed(self.headers.get("Host"), self.server.bind_host):
                self._send(HTTPStatus.FORBIDDEN, b"Forbidden: unknown Host\n", "text/plain",
                           head)
                return
            if len(self.path) > MAX_TARGET:
                self._send(HTTPStatus.REQUEST_URI_TOO_LONG, b"URI too long\n", "text/plain",
                           head)
                return
            path = urlsplit(self.path).path
            if path.startswith(LIVE_PREFIX):
                self._live(path[len(LIVE_PREFIX):], head)
                return
            while True:
                early = self.server.state.wait_ready(path)
                answer = self._answer(early or self.server.root, early is not None)
                if early is None or answer.rel is None or self.server.state.still_early(
                        early, answer.rel):
                    break  # else read as the cold start's build committed: read again
            if answer.location is not None:
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", answer.location)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._send(answer.status, answer.data, answer.kind, head)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:  # never let one request take the server down
            with contextlib.suppress(OSError):
                self._send(HTTPStatus.INTERNAL_SERVER_ERROR, b"Internal error\n", "text/plain",
                           head)

    def _live(self, name: str, head: bool) -> None:
        state = self.server.state
        if name == "live.js":
            self._send(HTTPStatus.OK, LIVE_SCRIPT, "text/javascript", head)
        elif name == "state":
            self._json(state.snapshot(), head)
        elif name == "wait":
            query = parse_qs(urlsplit(self.path).query)
            try:
                since = int(query.get("since", ["-1"])[0])
            except ValueError:
                since = -1
            self._json(state.wait_newer(since), head)
        else:
            self._send(HTTPStatus.NOT_FOUND, b"Not found\n", "text/plain", head)

    def _answer(self, root: Path, early: bool) -> _Answer:
        """What to answer from `root`. `early`: a cold start's staging folder, of which only
        the files its build wrote (`landed`) may be read; the rest may be a stale copy."""
        try:
            target = resolve(root, self.path)
        except UnicodeDecodeError:
            target = None
        kind = _kind(target) if target is not None else None
        if target is not None and kind == "folder":
            if not urlsplit(self.path).path.endswith("/"):
                return _Answer(location=urlsplit(self.path).path + "/")
            target = target / "index.html"
            kind = _kind(target)
        rel = target.relative_to(root).as_posix() if target is not None else ""
        if target is None or kind != "file" or (early and rel not in self.server.state.landed):
            return self._not_found(root, early)
        return self._read(HTTPStatus.OK, target, rel if early else None)

    def _not_found(self, root: Path, early: bool) -> _Answer:
        page = root / NOT_FOUND_PAGE
        if page.is_file() and (not early or NOT_FOUND_PAGE in self.server.state.landed):
            return self._read(HTTPStatus.NOT_FOUND, page, NOT_FOUND_PAGE if early else None)
        # no site yet (the first build failed): still a page that shows the errors
        html = b"<!DOCTYPE html><title>Not found</title><body><h1>Not found</h1></body>"
        return _Answer(HTTPStatus.NOT_FOUND, inject_live_script(html, self.server.state.number),
                       "text/html")

    def _read(self, status: HTTPStatus, path: Path, rel: str | None) -> _Answer:
        data = path.read_bytes()
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind == "text/html":
            data = inject_live_script(data, self.server.state.number)
        return _Answer(status, data, kind, rel=rel)

    def _json(self, value: dict[str, Any], head: bool) -> None:
        self._send(HTTPStatus.OK, json.dumps(value).encode(), "application/json", head)

    def _send(self, status: HTTPStatus, data: bytes, kind: str, head: bool) -> None:
        if kind.startswith("text/") or kind in ("application/json", "application/xml"):
            kind += "; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(data)


@dataclass(frozen=True)
class _Answer:
    """A response to send: a file's bytes, or a redirect to `location`. `rel`: the cold
    start's file it was read from (checked once read: `BuildState.still_early`)."""

    status: HTTPStatus = HTTPStatus.OK
    data: bytes = b""
    kind: str = ""
    location: str | None = None
    rel: str | None = None


def _kind(path: Path) -> str | None:
    """"file", "folder", or None when there is neither: missing, or a path no file can have
    (a name longer than NAME_MAX, a path longer than PATH_MAX), which the file system refuses
    with an error rather than "not found"."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return None
    return "folder" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else None
