"""`sitegen serve` over real HTTP: path safety, Host checks, no CORS, binding, robustness,
the injected live script and the long-poll endpoint.

Each server is `python -m sitegen serve` in a child process on 127.0.0.1 (see serve_helpers);
requests go out with http.client or a raw socket so that paths and Host headers are sent
exactly as written here.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from serve_helpers import (
    LIVE_TAG,
    STORIES,
    WAIT,
    ServeProcess,
    editor_save,
    http_request,
    make_site,
    raw_exchange,
    running_preview,
    wait_until,
)

from sitegen.errors import Problem
from sitegen.serve.http import (
    IDLE_SECONDS,
    MAX_TARGET,
    BuildState,
    PreviewServer,
    host_allowed,
    inject_live_script,
    resolve,
)

PASSWD_MARK = "root:x:0:0"


# --- one server for the read-only tests ----------------------------------------------------------

class Served:
    """The module's server, its site, and the secret files it must never give away."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.secret = f"TOP-SECRET-{uuid.uuid4().hex}"
        self.tmpdir = root / "tmp"
        self.tmpdir.mkdir()
        # A secret beside the served folder (which the server makes inside tmpdir), one beside
        # the site, and one in the folder above both.
        for folder in (self.tmpdir, root):
            (folder / "secret.txt").write_text(self.secret, encoding="utf-8")
        self.site = make_site(root / "site")
        static = self.site / "static"
        static.mkdir()
        # A static/ link out of the site fails the build (serve/test_command.py,
        # test_a_static_link_out_of_the_site_is_refused_while_serving), so none is planted here.
        (static / "notes.txt").write_text("Studio notes for the preview.\n", encoding="utf-8")
        self.server = ServeProcess(self.site, self.tmpdir).start()

    @property
    def port(self) -> int:
        return self.server.port

    def assert_no_leak(self, body: bytes) -> None:
        text = body.decode("utf-8", errors="replace")
        assert self.secret not in text
        assert PASSWD_MARK not in text


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    s = Served(tmp_path_factory.mktemp("served"))
    try:
        yield s
    finally:
        code = s.server.stop()
        assert code == 0, s.server.stderr
        assert s.server.build_folders() == [], "the private build folder was left behind"


@pytest.fixture()
def fresh(tmp_path: Path):
    """A server of its own, for tests that edit the site."""
    with running_preview(tmp_path) as server:
        yield server


# --- path traversal ------------------------------------------------------------------------------

TRAVERSALS = [
    "/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/..%2f..%2fetc%2fpasswd",
    "/..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "/%252e%252e/%252e%252e/etc/passwd",
    "/%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "/..\\..\\etc\\passwd",
    "/%5c..%5c..%5cetc%5cpasswd",
    "/%00",
    "/%00/../../etc/passwd",
    "/etc/passwd%00.html",
    "/css/../../../../etc/passwd",
    "/.%2e/.%2e/etc/passwd",
    "//etc/passwd",
    "/%2f%2fetc%2fpasswd",
    "http://127.0.0.1/../../etc/passwd",
    "/../secret.txt",
    "/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2e%2e/%2e%2e/secret.txt",
    "/..%2fsecret.txt",
    "/..%5csecret.txt",
    "/%252e%252e/secret.txt",
    "/2021/../../secret.txt",
    "/leak.txt",
    "/%ff%fe",
    "/%ff%fe/../../etc/passwd",
    "/.sitegen-manifest.json",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_never_returns_files_outside(served: Served, path: str) -> None:
    for method in ("GET", "HEAD"):
        resp = http_request(served.port, path, method)
        assert resp.status in (400, 403, 404), (path, method, resp.status)
        served.assert_no_leak(resp.body)


def test_the_served_files_are_there(served: Served) -> None:
    """The control for the test above: the same server does serve its own files."""
    home = http_request(served.port, "/")
    assert home.status == 200
    assert STORIES[-1].title.split(":")[0] in home.text
    notes = http_request(served.port, "/notes.txt")
    assert (notes.status, notes.text) == (200, "Studio notes for the preview.\n")
    for story in STORIES:
        assert http_request(served.port, story.url).status == 200


def test_symlinks_planted_in_the_served_folder_are_refused(served: Served) -> None:
    """Links put into the server's own build folder, pointing outside it, are never followed."""
    (folder,) = served.server.build_folders()
    planted = [folder / "planted-file.txt", folder / "planted-dir", folder / "css" / "up.txt"]
    planted[0].symlink_to(served.root / "secret.txt")
    planted[1].symlink_to(served.root)
    planted[2].symlink_to(Path("..") / ".." / "secret.txt")
    (folder / ".hidden.txt").write_text(served.secret, encoding="utf-8")
    try:
        for path in ("/planted-file.txt", "/planted-dir/secret.txt", "/planted-dir/tmp/secret.txt",
                     "/planted-dir/", "/css/up.txt", "/.hidden.txt", "/%2ehidden.txt"):
            resp = http_request(served.port, path)
            assert resp.status in (403, 404), (path, resp.status)
            served.assert_no_leak(resp.body)
    finally:
        for link in planted:
            link.unlink()
        (folder / ".hidden.txt").unlink()


def test_the_sites_static_files_are_published(served: Served) -> None:
    (folder,) = served.server.build_folders()
    assert (folder / "notes.txt").is_file()


# --- resolve() directly ---------------------------------------------------------------------------

@pytest.fixture()
def root_with_links(tmp_path: Path) -> Path:
    base = tmp_path.resolve()
    (base / "secret.txt").write_text("secret", encoding="utf-8")
    (base / "outside").mkdir()
    (base / "outside" / "more.txt").write_text("more", encoding="utf-8")
    root = base / "served"
    (root / "2021" / "02").mkdir(parents=True)
    (root / "index.html").write_text("<p>home</p>", encoding="utf-8")
    (root / "2021" / "02" / "index.html").write_text("<p>month</p>", encoding="utf-8")
    (root / "%2e%2e").mkdir()
    (root / "%2e%2e" / "literal.txt").write_text("a file in a folder named %2e%2e")
    (root / "link-out.txt").symlink_to(base / "secret.txt")
    (root / "link-out-relative.txt").symlink_to(Path("..") / "secret.txt")
    (root / "link-dir").symlink_to(base / "outside")
    (root / "link-dangling").symlink_to(base / "nowhere.txt")
    (root / "loop-a").symlink_to(root / "loop-b")
    (root / "loop-b").symlink_to(root / "loop-a")
    (root / "link-in.html").symlink_to(root / "index.html")
    (root / ".hidden").write_text("hidden", encoding="utf-8")
    return root


@pytest.mark.parametrize("path", [
    "/link-out.txt", "/link-out-relative.txt", "/link-dir/more.txt", "/link-dir/",
    "/link-dir", "/link-dangling", "/loop-a", "/loop-a/x", "/.hidden", "/%2ehidden",
    "/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/..\\secret.txt",
    "/%5c..%5csecret.txt", "/%00", "/a%00b", "relative/path", "", "/2021/./02/",
    "/2021/%2e/02/", "/2021/02/%2e%2e/%2e%2e/%2e%2e/secret.txt",
])
def test_resolve_refuses(root_with_links: Path, path: str) -> None:
    assert resolve(root_with_links, path) is None


@pytest.mark.parametrize(("path", "rel"), [
    ("/", ""),
    ("/index.html", "index.html"),
    ("/2021/02/", "2021/02"),
    ("/2021//02/index.html", "2021/02/index.html"),
    ("/2021/02/index.html?v=1#top", "2021/02/index.html"),
    ("/%32021/02/", None),  # "%32" is "2": /22021/02/ does not exist, but stays inside
    ("/link-in.html", "link-in.html"),  # a link that stays inside is fine
    ("/%252e%252e/literal.txt", "%2e%2e/literal.txt"),  # double encoding stays literal
])
def test_resolve_accepts_paths_inside(root_with_links: Path, path: str, rel: str | None) -> None:
    target = resolve(root_with_links, path)
    assert target is not None
    assert target.resolve().is_relative_to(root_with_links)
    if rel == "":
        assert target == root_with_links
    elif rel is not None:
        assert target == root_with_links / rel


def test_resolve_rejects_invalid_percent_encoding(root_with_links: Path) -> None:
    """Invalid UTF-8 after decoding raises (the handler turns it into a 404)."""
    with pytest.raises(UnicodeDecodeError):
        resolve(root_with_links, "/%ff%fe")


# --- Host header --------------------------------------------------------------------------------

LIVE_PATHS = ["/", STORIES[0].url, "/__sitegen/live.js", "/__sitegen/state",
              "/__sitegen/wait?since=0", "/css/style.css", "/feed.xml", "/no-such-page/"]


@pytest.mark.parametrize("path", LIVE_PATHS)
@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "localhost.evil.example",
                                  "127.0.0.1.nip.io:{port}", "[::2]:{port}", "10.0.0.1:{port}",
                                  "localhost:{port}@evil.example", ""])
def test_foreign_host_is_forbidden(served: Served, path: str, host: str) -> None:
    resp = http_request(served.port, path, host=host.format(port=served.port), timeout=WAIT)
    assert resp.status == 403, (host, path, resp.status)
    assert b"Forbidden" in resp.body
    served.assert_no_leak(resp.body)


@pytest.mark.parametrize("path", LIVE_PATHS[:4])
def test_missing_host_is_forbidden(served: Served, path: str) -> None:
    resp = http_request(served.port, path, host=None)
    assert resp.status == 403
    raw = raw_exchange(served.port, f"GET {path} HTTP/1.0\r\n\r\n".encode())
    assert raw.startswith(b"HTTP/1.0 403") or raw.startswith(b"HTTP/1.1 403"), raw[:80]


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}",
                                  "localhost", "LOCALHOST:{port}", "127.0.0.1", "localhost.:{port}"])
def test_local_host_names_are_served(served: Served, host: str) -> None:
    for path in ("/", STORIES[1].url, "/__sitegen/live.js", "/__sitegen/state"):
        resp = http_request(served.port, path, host=host.format(port=served.port))
        assert resp.status == 200, (host, path, resp.status)


def test_host_allowed_unit() -> None:
    assert host_allowed("localhost:8000", "127.0.0.1")
    assert host_allowed("[::1]:8000", "127.0.0.1")
    assert host_allowed("192.168.1.5:8000", "192.168.1.5")  # the address it was told to bind
    assert host_allowed("192.168.1.5:8000", "0.0.0.0")  # any IP literal when bound to all
    assert not host_allowed("evil.example:8000", "0.0.0.0")  # but never a name
    assert not host_allowed("192.168.1.5:8000", "127.0.0.1")
    assert not host_allowed(None, "127.0.0.1")
    assert not host_allowed("", "127.0.0.1")
    assert not host_allowed("localhost:80:90", "127.0.0.1")


# --- CORS ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("origin", [None, "http://evil.example", "null", "http://localhost:1"])
def test_no_cors_headers(served: Served, origin: str | None) -> None:
    headers = {"Origin": origin} if origin else {}
    for method, path in (("GET", "/"), ("GET", STORIES[2].url), ("GET", "/__sitegen/state"),
                         ("GET", "/__sitegen/live.js"), ("GET", "/__sitegen/wait?since=-5"),
                         ("GET", "/css/style.css"), ("GET", "/feed.xml"), ("GET", "/missing"),
                         ("HEAD", "/"), ("OPTIONS", "/__sitegen/state"), ("POST", "/")):
        resp = http_request(served.port, path, method, headers=headers)
        assert resp.status < 500 or resp.status == 501, (method, path, resp.status)
        cors = [k for k, _ in resp.headers if k.lower().startswith("access-control-")]
        assert cors == [], (method, path, cors)
    evil = http_request(served.port, "/__sitegen/state", host="evil.example",
                        headers={"Origin": "http://evil.example"})
    assert evil.status == 403 and not evil.has_header("Access-Control-Allow-Origin")


# --- binding -------------------------------------------------------------------------------------

def _listening(port: int) -> list[tuple[str, str]]:
    """(file, local address in hex) of every listening socket on `port`, from /proc/net."""
    found = []
    for name in ("tcp", "tcp6"):
        table = Path("/proc/net") / name
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.append((name, address))
    return found


def test_binds_loopback_only_by_default(served: Served) -> None:
    assert served.server.host == "127.0.0.1"
    if Path("/proc/net/tcp").exists():
        assert _listening(served.port) == [("tcp", "0100007F")]  # 127.0.0.1, little-endian
    # Another loopback address reaches every socket bound to all addresses, but not this one.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", served.port), timeout=5).close()


def test_host_0000_warns_and_listens_everywhere(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    with ServeProcess(site, tmp_path / "tmp", host="0.0.0.0") as server:
        server.start()
        warning = server.wait_for_line(r"^warning: serving on every network interface")
        assert "drafts included" in warning.string
        assert server.host == "0.0.0.0"
        # Only loopback traffic: 127.0.0.2 is reachable now, and IP literals pass the Host check.
        resp = http_request(server.port, "/", address="127.0.0.2",
                            host=f"127.0.0.2:{server.port}")
        assert resp.status == 200
        assert http_request(server.port, "/", host="evil.example").status == 403
        assert server.stop() == 0
    assert server.build_folders() == []


def test_default_host_prints_no_warning(served: Served) -> None:
    assert "warning: serving on every network interface" not in served.server.stderr


def test_port_in_use_moves_to_the_next(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        taken = blocker.getsockname()[1]
        with ServeProcess(site, tmp_path / "tmp", port=taken) as server:
            server.start()
            moved = server.wait_for_line(rf"^Port {taken} is in use; using (\d+) instead\.$")
            assert int(moved.group(1)) == server.port
            assert taken < server.port < taken + 20
            assert http_request(server.port, "/").status == 200
            assert server.stop() == 0


# --- malformed requests ---------------------------------------------------------------------------

def _malformed(port: int) -> list[bytes]:
    host = f"Host: 127.0.0.1:{port}\r\n".encode()
    return [
        b"\x00\xff\xfe garbage \x01\x02\r\n\r\n",
        os.urandom(4096),
        b"GET / HT",
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n" + host + b"\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n" + host + b"\r\n",
        b"GET / HTTP/1.1\r\n" + host + b"X-Huge: " + b"h" * 70000 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + host + b"".join(b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\n",
        b"GET /%ff%fe HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n",
        b"GET /%ff%fe/%c0%ae%c0%ae/etc/passwd HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n",
        b"GET /__sitegen/wait?since=%ff HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + host + b"Content-Length: -5\r\nConnection: close\r\n\r\n",
        b"BREW /pot HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: \xff\xfe\r\nConnection: close\r\n\r\n",
    ]


def test_malformed_requests_do_not_kill_the_server(served: Served) -> None:
    for data in _malformed(served.port):
        reply = raw_exchange(served.port, data, timeout=5)
        served.assert_no_leak(reply)
        assert served.server.proc is not None and served.server.proc.poll() is None
        after = http_request(served.port, "/")
        assert after.status == 200, data[:60]
    bad = http_request(served.port, "/%ff%fe")
    assert bad.status == 404


def test_many_open_idle_connections_do_not_block_others(served: Served) -> None:
    idle = [socket.create_connection(("127.0.0.1", served.port), timeout=5) for _ in range(20)]
    try:
        for sock in idle[:10]:
            sock.sendall(b"GET / HTTP/1.1\r\n")  # a request that never ends
        assert http_request(served.port, STORIES[0].url).status == 200
    finally:
        for sock in idle:
            sock.close()


# --- long paths, the listen queue, idle connections ----------------------------------------------

def _long_paths() -> list[tuple[str, str]]:
    """Request paths of many lengths (the issue's 1,000 characters among them): names up to
    and past NAME_MAX (255), whole paths past PATH_MAX (4096), percent-encoded ones, up to and
    past the request-target limit. Each with an id."""
    return [
        ("1000", "/" + "a" * 1000),
        ("1000-slash", "/" + "a" * 1000 + "/"),
        ("1000-under-a-folder", STORIES[0].url + "b" * 1000),
        ("name-255", "/" + "n" * 255),
        ("name-256", "/" + "n" * 256),
        ("name-256-html", "/" + "n" * 251 + ".html"),
        ("encoded-name-300", "/" + "%61" * 300),
        ("names-100x50", "/" + "/".join(["d" * 100] * 50)),
        ("path-4096", "/" + "/".join(["e" * 8] * 455)),
        ("path-5000-short-names", "/" + "/x" * 2500),
        ("live-1000", "/__sitegen/" + "w" * 1000),
        ("at-the-limit", "/" + "f" * (MAX_TARGET - 1)),
        ("query-at-the-limit", "/?" + "q" * (MAX_TARGET - 2)),
    ]


@pytest.mark.parametrize("path", [p for _, p in _long_paths()], ids=[i for i, _ in _long_paths()])
def test_a_long_path_is_not_found_never_an_error(served: Served, path: str) -> None:
    assert len(path) <= MAX_TARGET
    for method in ("GET", "HEAD"):
        status = http_request(served.port, path, method).status
        expected = 200 if path.startswith("/?") else 404
        assert status == expected, (method, len(path), status)
    assert http_request(served.port, "/").status == 200


@pytest.mark.parametrize("length", [MAX_TARGET + 1, 20_000, 65_000])
def test_a_request_target_over_the_limit_is_414(served: Served, length: int) -> None:
    for path in ("/" + "g" * (length - 1), "/" + "%2e" * ((length - 1) // 3 + 1)):
        for method in ("GET", "HEAD"):
            assert http_request(served.port, path, method).status == 414, (method, len(path))
    assert http_request(served.port, "/").status == 200


def test_connections_queue_up_while_the_server_is_busy() -> None:
    """socketserver's listen backlog was 5: with nobody accepting (a busy server), the kernel
    dropped the seventh client's handshake, and it waited 1 s, then 3 s, to try again. The
    real PreviewServer, never serving: 100 clients all connect at once."""
    with tempfile.TemporaryDirectory() as folder:
        server = PreviewServer(("127.0.0.1", 0), Path(folder), BuildState())
        clients = []
        try:
            for _ in range(100):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                sock.connect_ex(("127.0.0.1", server.server_port))
                clients.append(sock)
            _, writable, _ = select.select([], clients, [], 2.0)  # connected: writable
            connected = [s for s in writable if s.getsockopt(socket.SOL_SOCKET,
                                                             socket.SO_ERROR) == 0]
            assert len(connected) == 100
        finally:
            for sock in clients:
                sock.close()
            server.server_close()


def test_idle_connections_are_closed_and_do_not_hold_up_others(served: Served) -> None:
    """200 connections that never send a request: a request is still served, and the server
    closes each idle one once IDLE_SECONDS pass (bounded: the test gives up 10 s later)."""
    idle = [socket.create_connection(("127.0.0.1", served.port), timeout=5) for _ in range(200)]
    try:
        opened = time.monotonic()
        assert http_request(served.port, STORIES[0].url, timeout=5).status == 200
        open_ = {sock.fileno(): sock for sock in idle}
        deadline = opened + IDLE_SECONDS + 10
        while open_ and time.monotonic() < deadline:
            readable, _, _ = select.select(list(open_.values()), [], [], 0.5)
            for sock in readable:
                try:
                    data = sock.recv(1024)
                except ConnectionResetError:
                    data = b""
                assert data == b"", data  # nothing was asked: nothing is said, only closed
                del open_[sock.fileno()]
        assert not open_, f"{len(open_)} of 200 idle connections still open"
        assert time.monotonic() - opened >= IDLE_SECONDS - 0.5  # not closed at once
    finally:
        for sock in idle:
            sock.close()
    assert http_request(served.port, "/").status == 200


# --- pages, the live script, redirects -----------------------------------------------------------

def test_html_gets_the_live_script_before_body_end(served: Served) -> None:
    for path in ("/", STORIES[0].url, "/tags/renewals/", "/archive/", "/no-such-page/"):
        resp = http_request(served.port, path)
        assert resp.status in (200, 404)
        assert resp.header("Content-Type") == "text/html; charset=utf-8"
        html = resp.text
        assert html.count(LIVE_TAG) == 1, path
        assert html.index(LIVE_TAG) < html.rindex("</body>"), path
        assert html.rindex("</body>") > html.rindex("</script>")
        assert resp.header("Cache-Control") == "no-store"


def test_non_html_has_no_live_script(served: Served) -> None:
    for path, kind in (("/css/style.css", "text/css"), ("/feed.xml", "application/xml"),
                       ("/sitemap.xml", "application/xml"), ("/robots.txt", "text/plain"),
                       ("/notes.txt", "text/plain")):
        resp = http_request(served.port, path)
        assert resp.status == 200, path
        assert (resp.header("Content-Type") or "").split(";")[0] in (kind, "text/xml")
        assert LIVE_TAG.encode() not in resp.body


def test_live_endpoints(served: Served) -> None:
    js = http_request(served.port, "/__sitegen/live.js")
    assert js.status == 200 and js.header("Content-Type", ).startswith("text/javascript")
    assert b"/__sitegen/wait?since=" in js.body and b"sitegen-error-overlay" in js.body
    state = http_request(served.port, "/__sitegen/state").json()
    assert state["problems"] == [] and state["build"] >= 1
    assert http_request(served.port, "/__sitegen/nothing").status == 404
    # A client that is behind (or confused) gets the current state at once.
    for since in ("0", "-1", "abc", str(state["build"] + 1000)):
        resp = http_request(served.port, f"/__sitegen/wait?since={since}", timeout=5)
        assert resp.json()["build"] == state["build"]


def test_head_matches_get(served: Served) -> None:
    get = http_request(served.port, STORIES[3].url)
    head = http_request(served.port, STORIES[3].url, "HEAD")
    assert head.status == 200 and head.body == b""
    assert head.header("Content-Length") == str(len(get.body))


def test_folder_without_slash_redirects(served: Served) -> None:
    resp = http_request(served.port, STORIES[0].url.rstrip("/"))
    assert resp.status == 301
    assert resp.header("Location") == STORIES[0].url
    odd = http_request(served.port, "//evil.example/2021")
    assert not (odd.header("Location") or "").startswith("//"), odd.header("Location")


def test_inject_live_script_unit() -> None:
    html = b"<html><body><p>x</p></body>\n</html>"
    out = inject_live_script(html, 7)
    assert out == (b'<html><body><p>x</p><script src="/__sitegen/live.js" data-build="7" defer>'
                   b"</script></body>\n</html>")
    assert inject_live_script(b"<p>no body end</p>", 1).endswith(b"defer></script>")
    two = inject_live_script(b"<body><code>&lt;/body&gt;</code></BODY >", 2)
    assert two.index(b"<script") > two.index(b"</code>")


# --- the long poll --------------------------------------------------------------------------------

def test_wait_blocks_until_an_edit_rebuilds(fresh: ServeProcess) -> None:
    current = fresh.build_number()
    result: dict[str, object] = {}

    def poll() -> None:
        try:
            result["response"] = fresh.get(f"/__sitegen/wait?since={current}", timeout=30)
        except Exception as exc:  # reported below
            result["error"] = exc

    waiter = threading.Thread(target=poll, daemon=True)
    waiter.start()
    waiter.join(0.7)
    assert waiter.is_alive(), f"/__sitegen/wait answered with no new build: {result}"
    story = STORIES[0]
    editor_save(fresh.site / "content" / story.name,
                story.text(body="Production moves to a new harbour town in the autumn."))
    waiter.join(WAIT)
    assert not waiter.is_alive(), "/__sitegen/wait did not answer after the rebuild"
    assert "error" not in result, result
    resp = result["response"]
    assert resp.status == 200  # type: ignore[attr-defined]
    state = resp.json()  # type: ignore[attr-defined]
    assert state["build"] > current
    assert state["problems"] == [] and state["css_only"] is False
    page = fresh.wait_for_page(story.url, lambda r: "new harbour town" in r.text)
    assert page.status == 200


def test_wait_reports_problems_then_their_fix(fresh: ServeProcess) -> None:
    story = STORIES[1]
    article = fresh.site / "content" / story.name
    n = fresh.build_number()
    article.write_text('---\ntitle: "Unclosed\ndate: 2021-03-14\n---\nBody\n', encoding="utf-8")
    state = fresh.get(f"/__sitegen/wait?since={n}", timeout=30).json()
    assert state["build"] > n
    state = wait_until(lambda: (s := fresh.state())["problems"] and s, what="the YAML problem")
    (problem,) = state["problems"]
    assert problem["file"] == f"content/{story.name}" and problem["line"] >= 2
    assert problem["text"].startswith(f"content/{story.name}:{problem['line']}: ")
    assert "invalid YAML" in problem["message"]
    # The last good page is still served while the problem stands.
    page = fresh.get(story.url)
    assert page.status == 200 and story.title in page.text
    n = state["build"]
    article.write_text(story.text(body="Fixed: the finale drew a record audience."),
                       encoding="utf-8")
    fixed = fresh.get(f"/__sitegen/wait?since={n}", timeout=30).json()
    assert fixed["build"] > n
    wait_until(lambda: not fresh.state()["problems"], what="the fix to build")
    fresh.wait_for_page(story.url, lambda r: "Fixed: the finale" in r.text)


def test_css_edit_is_reported_css_only(fresh: ServeProcess) -> None:
    n = fresh.build_number()
    css = fresh.site / "static" / "css" / "style.css"
    with css.open("a", encoding="utf-8") as handle:
        handle.write("\n.sitegen-test { color: rgb(9, 8, 7); }\n")
    fresh.wait_for_page("/css/style.css", lambda r: b"rgb(9, 8, 7)" in r.body)
    state = fresh.wait_for_build(n)
    assert state["problems"] == []
    assert state["css_only"] is True


def test_wait_newer_css_only_for_a_tab_one_build_behind() -> None:
    state = BuildState()
    for css_only in (False, False, True):  # the first build, a content build, a CSS build
        state.start()
        state.finish(css_only=css_only)
    assert state.wait_newer(2, timeout=1) == {"build": 3, "css_only": True, "problems": []}
    assert state.wait_newer(3, timeout=0.05)["build"] == 3  # nothing newer: times out


def test_wait_newer_is_not_css_only_when_content_changed_since() -> None:
    """A tab at build 1 that asks after a content build 2 and a CSS-only build 3 (it was
    loading, or between two polls, or build 3 started before its request thread woke) must
    reload, not just swap stylesheets."""
    state = BuildState()
    for css_only in (False, False, True):
        state.start()
        state.finish(css_only=css_only)
    snapshot = state.wait_newer(1, timeout=1)
    assert snapshot["build"] == 3
    assert snapshot["css_only"] is False


def test_a_published_build_reloads_tabs_once_and_holds_only_its_pending_pages() -> None:
    """The quick path publishes the edited article's page, then writes the lists: tabs reload
    at once, a request for a list page waits until it is written, others do not wait."""
    state = BuildState()
    state.start()
    state.finish()
    state.start()
    state.publish(frozenset({"tags/renewals/index.html", "index.html", "feed.xml"}))
    assert state.wait_newer(1, timeout=1)["build"] == 2  # tabs reload now
    started = time.monotonic()
    state.wait_ready("/2021/02/harbor-lights/", timeout=5)  # the article: not pending
    assert time.monotonic() - started < 1
    served: list[str] = []

    def request(path: str) -> None:
        state.wait_ready(path, timeout=10)
        served.append(path)

    threads = [threading.Thread(target=request, args=(path,))
               for path in ("/tags/renewals/", "/", "/feed.xml")]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    assert served == [], "a pending page was served before it was written"
    state.finish()  # the lists are written
    for thread in threads:
        thread.join(5)
    assert sorted(served) == ["/", "/feed.xml", "/tags/renewals/"]
    assert state.number == 2  # the rest of a published build is not a new build
    assert state.pending == frozenset()


def test_files_an_interrupted_build_left_wait_for_the_next_build() -> None:
    state = BuildState()
    state.start()
    state.publish(frozenset({"tags/renewals/index.html", "feed.xml"}))
    state.finish(pending=frozenset({"feed.xml"}))  # stopped for a newer save
    assert state.number == 1
    served: list[str] = []
    thread = threading.Thread(target=lambda: (state.wait_ready("/feed.xml", timeout=10),
                                              served.append("feed")))
    thread.start()
    state.wait_ready("/tags/renewals/", timeout=5)  # written: not held
    time.sleep(0.3)
    assert served == []
    state.start()  # the next build: its own article first, then what was left
    state.publish(frozenset())
    state.finish()
    thread.join(5)
    assert served == ["feed"] and state.number == 2


def test_a_published_build_whose_lists_fail_reports_the_problem() -> None:
    state = BuildState()
    state.start()
    state.publish(frozenset({"index.html"}))
    problem = Problem("templates/list.html", "template error", 3)
    state.finish((problem,))
    snapshot = state.wait_newer(1, timeout=1)
    assert snapshot["build"] == 2 and snapshot["problems"][0]["file"] == "templates/list.html"
    assert state.pending == frozenset()


def test_sigint_with_a_pending_long_poll_exits_promptly(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    server = ServeProcess(site, tmp_path / "tmp").start()
    try:
        n = server.build_number()
        conn = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        conn.sendall(f"GET /__sitegen/wait?since={n} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        conn.settimeout(0.5)
        with pytest.raises(TimeoutError):  # held: no answer until a newer build
            conn.recv(1)
        assert server.stop(signal.SIGINT, timeout=WAIT) == 0
        conn.close()
        assert server.build_folders() == []
    finally:
        server.kill()

