"""`sitegen serve` as a user runs it: stopping cleanly, never touching output/, the --drafts,
--future, --base-url and --open options, refusing -o, and starting even when the site is
broken."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from serve_helpers import (
    LIVE_TAG,
    STORIES,
    THEME,
    WAIT,
    ServeProcess,
    article_text,
    editor_save,
    folder_digest,
    make_site,
    wait_until,
)

from sitegen.pipeline.build import build
from sitegen.report import BuildOptions

DRAFT = article_text("Exclusive: Harbor Lights Spin-off in Early Talks", "2021-08-02",
                     tags=["Renewals"], body="Nothing is signed yet, two people close to the "
                     "production said.", draft=True)
DRAFT_URL = "/2021/08/exclusive-harbor-lights-spin-off-in-early-talks/"
SCHEDULED = article_text("Salt Road Season Two Premiere Date", "2099-01-05", tags=["Premieres"],
                         body="Set for a winter launch.")
SCHEDULED_URL = "/2099/01/salt-road-season-two-premiere-date/"


# --- stopping ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_exits_0_and_removes_the_build_folder(tmp_path: Path, sig: int) -> None:
    """With the ordinary temporary folder: find ours among /tmp/sitegen-serve-* (other
    previews may run meanwhile) by the unique article it holds."""
    mark = uuid.uuid4().hex[:12]
    site = make_site(tmp_path / "site", extra={
        "content/unique.md": article_text(f"Night Shift Ratings {mark}", "2021-09-09")})
    rel = Path("2021", "09", f"night-shift-ratings-{mark}", "index.html")
    temp = Path(tempfile.gettempdir())
    before = set(temp.glob("sitegen-serve-*"))
    with ServeProcess(site, None) as server:
        server.start()
        ours = [p for p in set(temp.glob("sitegen-serve-*")) - before
                if (p / "site" / rel).is_file()]
        assert len(ours) == 1, ours
        assert server.get("/" + rel.parent.as_posix() + "/").status == 200
        assert server.stop(sig) == 0, server.stderr
        assert "Stopping." in server.stderr
    assert not ours[0].exists(), f"{ours[0]} was left behind"


def test_sigint_stops_a_preview_started_with_sigint_ignored(tmp_path: Path) -> None:
    """A script's `sitegen serve &` starts with SIGINT ignored: `kill -INT` still stops it
    cleanly (it did nothing: a benchmark's stop waited its full 120 s, then killed it)."""
    site = make_site(tmp_path / "site")
    with ServeProcess(site, tmp_path / "tmp", sigint_ignored=True) as server:
        server.start()
        (folder,) = server.build_folders()
        assert server.stop(signal.SIGINT) == 0, server.stderr
        assert "Stopping." in server.stderr
    assert not folder.exists()


def test_sigint_after_edits_and_failures_still_cleans_up(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    with ServeProcess(site, tmp_path / "tmp") as server:
        server.start()
        (folder,) = server.build_folders()
        article = site / "content" / STORIES[0].name
        n = server.build_number()
        article.write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
        server.wait_for_build(n)
        editor_save(article, STORIES[0].text(body="Back on air."))
        server.wait_for_page(STORIES[0].url, lambda r: "Back on air." in r.text)
        assert server.stop() == 0
    assert not folder.exists()
    assert server.build_folders() == []


@pytest.mark.parametrize(("sig", "ignored"), [(signal.SIGINT, False), (signal.SIGTERM, False),
                                             (signal.SIGINT, True)],
                         ids=["SIGINT", "SIGTERM", "SIGINT-ignored-at-start"])
def test_signal_during_the_first_build_removes_the_folder(tmp_path: Path, sig: int,
                                                          ignored: bool) -> None:
    """A cold start serves while its build's writers run in forked processes (serve/cold.py):
    a signal then stops the build and its writers too, and the folder goes; so does SIGINT
    when the preview started with it ignored (a script's `sitegen serve &`)."""
    para = " ".join(["The network confirmed another season after strong overnight ratings."] * 8)
    extra = {f"content/bulk/bulletin-{i:03d}.md": article_text(
        f"Overnight Bulletin {i}", f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}",
        tags=[f"Desk {i % 40}", "Bulletins"], body=(para + "\n\n") * 4) for i in range(300)}
    site = make_site(tmp_path / "site", extra=extra)
    server = ServeProcess(site, tmp_path / "tmp", sigint_ignored=ignored)
    try:
        server.start(settled=False)
        assert "building 304 articles in the background" in server.stderr
        if "Rebuilt in" in server.stderr:
            pytest.skip("the first build finished before the signal could be sent")
        server.proc.send_signal(sig)  # type: ignore[union-attr]
        code = server.proc.wait(timeout=60)  # type: ignore[union-attr]
        assert "Rebuilt in" not in server.stderr, "the signal came too late to test this"
        assert code in (0, 130), code
        assert server.build_folders() == [], "the build folder was left behind"
        wait_until(lambda: not _processes_naming(site), timeout=10,
                   what="the first build's processes to end")
    finally:
        server.kill()


def _processes_naming(site: Path) -> list[int]:
    """Processes whose command line names `site`: the server and any it forked."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(site).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


# --- output/ --------------------------------------------------------------------------------------

def test_serving_never_creates_output(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", extra={"content/draft.md": DRAFT})
    with ServeProcess(site, tmp_path / "tmp", "--drafts") as server:
        server.start()
        assert server.get(DRAFT_URL).status == 200
        editor_save(site / "content" / STORIES[1].name, STORIES[1].text(body="Edited live."))
        server.wait_for_page(STORIES[1].url, lambda r: "Edited live." in r.text)
        assert server.stop() == 0
    assert not (site / "output").exists()
    assert sorted(p.name for p in site.iterdir()) == ["content", "sitegen.toml"]


def test_serving_leaves_an_existing_output_unchanged(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", extra={"content/draft.md": DRAFT})
    build(BuildOptions(site_dir=site))
    before = folder_digest(site / "output")
    with ServeProcess(site, tmp_path / "tmp", "--drafts") as server:
        server.start()
        editor_save(site / "content" / STORIES[2].name, STORIES[2].text(title="Lead Actors Named"))
        server.wait_for_page("/2021/05/lead-actors-named/", lambda r: r.status == 200)
        assert server.get(DRAFT_URL).status == 200
        assert server.stop() == 0
    assert folder_digest(site / "output") == before
    assert DRAFT_URL.strip("/") not in {p.relative_to(site / "output").parent.as_posix()
                                        for p in (site / "output").rglob("index.html")}


@pytest.mark.parametrize("args", [["-o", "/"], ["-o", "{other}"], ["--output", "{other}"],
                                  ["--output={other}"], ["-o/"], ["-o"]],
                         ids=["-o /", "-o DIR", "--output DIR", "--output=DIR", "-o/", "-o"])
def test_serve_refuses_an_output_folder(tmp_path: Path, args: list[str]) -> None:
    """serve builds into a private folder: an output folder was accepted and ignored, so
    `serve -o /` looked like it would write there. It is a usage error (exit 2) that says
    why, and nothing is served or written."""
    site = make_site(tmp_path / "site")
    other = tmp_path / "elsewhere"
    argv = [sys.executable, "-m", "sitegen", "serve", "-s", str(site), "--port", "0",
            *(a.replace("{other}", str(other)) for a in args)]
    try:  # a process of its own: a serve that accepted the option would run until stopped
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"serve accepted {args} and ran: {exc.stderr!r}")
    assert result.returncode == 2, result
    assert "serve" in result.stderr and ("-o" in result.stderr or "--output" in result.stderr)
    if args != ["-o"]:
        assert "not an option of serve" in result.stderr and "sitegen build -o" in result.stderr
    assert "Serving" not in result.stderr + result.stdout
    assert not other.exists()
    assert sorted(p.name for p in site.iterdir()) == ["content", "sitegen.toml"]


# --- drafts, scheduled articles, base URL -----------------------------------------------------------

@pytest.mark.parametrize("drafts", [False, True])
def test_drafts_only_with_the_option(tmp_path: Path, drafts: bool) -> None:
    site = make_site(tmp_path / "site", extra={"content/draft.md": DRAFT})
    args = ["--drafts"] if drafts else []
    with ServeProcess(site, tmp_path / "tmp", *args) as server:
        server.start()
        page = server.get(DRAFT_URL)
        home = server.get("/").text + server.get("/tags/renewals/").text
        if drafts:
            assert page.status == 200 and "Nothing is signed yet" in page.text
            assert DRAFT_URL in home
        else:
            assert page.status == 404 and "Nothing is signed yet" not in page.text
            assert DRAFT_URL not in home
        assert server.stop() == 0


@pytest.mark.parametrize("future", [False, True])
def test_scheduled_articles_only_with_future(tmp_path: Path, future: bool) -> None:
    site = make_site(tmp_path / "site", extra={"content/scheduled.md": SCHEDULED})
    args = ["--future"] if future else []
    with ServeProcess(site, tmp_path / "tmp", *args) as server:
        server.start()
        assert server.get(SCHEDULED_URL).status == (200 if future else 404)
        assert server.stop() == 0


def test_canonical_links_use_the_preview_address_or_base_url(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    with ServeProcess(site, tmp_path / "tmp") as server:
        server.start()
        page = server.get(STORIES[0].url).text
        assert f'href="http://127.0.0.1:{server.port}{STORIES[0].url}"' in page
        assert server.stop() == 0
    with ServeProcess(site, tmp_path / "tmp", "--base-url", "https://staging.example.org") as server:
        server.start()
        page = server.get(STORIES[0].url).text
        assert f'href="https://staging.example.org{STORIES[0].url}"' in page
        assert server.stop() == 0


def test_open_starts_the_browser_at_the_preview(tmp_path: Path, monkeypatch) -> None:
    opened = tmp_path / "opened.txt"
    fake = tmp_path / "fake_browser.py"
    fake.write_text("import sys, pathlib\n"
                    f"pathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n", encoding="utf-8")
    monkeypatch.setenv("BROWSER", f"{sys.executable} {fake} %s")
    site = make_site(tmp_path / "site")
    with ServeProcess(site, tmp_path / "tmp", "--open") as server:
        server.start()
        wait_until(opened.exists, what="the browser to be started")
        assert opened.read_text() == f"http://127.0.0.1:{server.port}/"
        # Requests are answered only once serve() is past opening the browser.
        assert server.get("/").status == 200
        assert server.stop() == 0


# --- broken sites ----------------------------------------------------------------------------------

BROKEN_YAML = ('---\ntitle: "Midnight Relay Finale Draws a Record Audience"\ndate: 2021-03-14\n'
               'tags: [Ratings, "Midnight Relay"\nauthor: Tomas Reyes\n---\n\nOvernight figures.\n')


def test_a_broken_first_build_still_serves_and_reports(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    article = site / "content" / STORIES[1].name
    article.write_text(BROKEN_YAML, encoding="utf-8")
    with ServeProcess(site, tmp_path / "tmp") as server:
        server.start()
        assert f"content/{STORIES[1].name}:" in server.stderr
        assert "Build failed: 1 error" in server.stderr
        home = server.get("/")
        assert home.status == 404
        assert LIVE_TAG in home.text and home.text.index(LIVE_TAG) < home.text.index("</body>")
        state = server.state()
        (problem,) = state["problems"]
        assert problem["file"] == f"content/{STORIES[1].name}"
        assert 2 <= problem["line"] <= 6, problem
        assert "invalid YAML" in problem["message"]
        assert server.get("/__sitegen/live.js").status == 200
        # Fixing it brings the site up.
        n = state["build"]
        editor_save(article, STORIES[1].text())
        server.wait_for_build(n)
        wait_until(lambda: not server.state()["problems"], what="the fix")
        assert server.get("/").status == 200
        assert server.get(STORIES[1].url).status == 200
        assert server.stop() == 0
    assert server.build_folders() == []


def test_a_date_out_of_range_still_serves_and_reports(tmp_path: Path) -> None:
    """It was an OverflowError, and serve would not start."""
    site = make_site(tmp_path / "site")
    article = site / "content" / STORIES[1].name
    article.write_text("---\ntitle: Edge\nauthor: Ann\ndate: 9999-12-31T23:59:59-12:00\n---\n"
                       "Body\n", encoding="utf-8")
    with ServeProcess(site, tmp_path / "tmp") as server:
        server.start()
        assert f"content/{STORIES[1].name}:4: 'date'" in server.stderr
        assert "Traceback" not in server.stderr and "unexpectedly" not in server.stderr
        home = server.get("/")
        assert LIVE_TAG in home.text  # the error overlay's script
        (problem,) = server.state()["problems"]
        assert (problem["file"], problem["line"]) == (f"content/{STORIES[1].name}", 4)
        assert "is out of range" in problem["message"]
        assert server.stop() == 0


def _template_with_error(error: str) -> tuple[str, int]:
    """The theme's article.html with `error` inserted as a new line; (text, its line number)."""
    lines = (THEME / "templates" / "article.html").read_text(encoding="utf-8").splitlines(True)
    at = next(i for i, line in enumerate(lines) if "article-body" in line) + 1
    lines.insert(at, error + "\n")
    return "".join(lines), at + 1


@pytest.mark.parametrize(("error", "message"), [
    ("{% if article.title %}<p>unclosed", "template syntax error"),
    ("{{ article.title | no_such_filter }}", "template syntax error"),
    ("<p>{{ article.no_such_field }}</p>", "template error"),
], ids=["unclosed-if", "unknown-filter", "undefined"])
def test_a_template_error_is_reported_with_file_and_line(tmp_path: Path, error: str,
                                                         message: str) -> None:
    text, line = _template_with_error(error)
    site = make_site(tmp_path / "site", extra={"templates/article.html": text})
    with ServeProcess(site, tmp_path / "tmp") as server:
        server.start()
        state = server.state()
        assert state["problems"], state
        problem = state["problems"][0]
        assert problem["file"] == "templates/article.html", problem
        assert problem["message"].startswith(message), problem
        if "unclosed" not in error:  # an unclosed block is reported where the file ends
            assert problem["line"] == line, (problem, line)
        else:
            assert problem["line"] >= line
        assert "templates/article.html:" in server.stderr
        assert LIVE_TAG in server.get(STORIES[0].url).text
        assert server.stop() == 0


def test_a_template_broken_while_serving_keeps_the_last_good_site(tmp_path: Path) -> None:
    good = (THEME / "templates" / "article.html").read_text(encoding="utf-8")
    site = make_site(tmp_path / "site", extra={"templates/article.html": good})
    template = site / "templates" / "article.html"
    with ServeProcess(site, tmp_path / "tmp") as server:
        server.start()
        page = server.get(STORIES[3].url)
        assert page.status == 200
        n = server.build_number()
        broken, line = _template_with_error("{{ article.title | no_such_filter }}")
        editor_save(template, broken)
        state = server.wait_for_build(n)
        state = wait_until(lambda: (s := server.state())["problems"] and s, what="the problem")
        assert (state["problems"][0]["file"], state["problems"][0]["line"]) == (
            "templates/article.html", line)
        server.wait_for_line(r"^Build failed: 1 error; still serving the last good site")
        # The last good page, as it was but for the build number live.js is given (a
        # second failed build, from a second event of the same save, may have moved it on).
        served = server.get(STORIES[3].url).body
        number = re.search(rb'data-build="(\d+)"', served)
        assert number is not None and int(number[1]) >= state["build"]
        assert served == page.body.replace(f'data-build="{n}"'.encode(),
                                           b'data-build="' + number[1] + b'"')
        editor_save(template, good.replace('class="article"', 'class="article" data-fixed="1"'))
        server.wait_for_page(STORIES[3].url, lambda r: 'data-fixed="1"' in r.text)
        assert server.state()["problems"] == []
        assert server.stop() == 0


@pytest.mark.parametrize("case", ["missing-site", "port-out-of-range"])
def test_a_failed_start_says_why_and_leaves_nothing(tmp_path: Path, case: str) -> None:
    site = tmp_path / "no-such-site" if case == "missing-site" else make_site(tmp_path / "site")
    server = ServeProcess(site, tmp_path / "tmp", port=70000 if case != "missing-site" else None)
    try:
        server.start(wait_ready=False)
        assert server.proc is not None
        code = server.proc.wait(timeout=WAIT * 3)
        server.stop()
    finally:
        server.kill()
    assert code in (1, 2), (code, server.stderr)
    assert "Traceback" not in server.stderr
    assert "unexpectedly" not in server.stderr, server.stderr
    assert "still serving" not in server.stderr, server.stderr
    assert server.build_folders() == [], "the temporary folder was left behind"


# --- sources removed while serving (issue 16) ------------------------------------------------------

def _take_away(site: Path, name: str, how: str) -> None:
    if how == "mv":
        (site / name).rename(site / f"{name}.moved")
    else:  # rm -r, keeping a copy to restore
        shutil.copytree(site / name, site.parent / "kept")
        shutil.rmtree(site / name)


def _put_back(site: Path, name: str, how: str) -> None:
    if how == "mv":
        (site / f"{name}.moved").rename(site / name)
    else:
        shutil.copytree(site.parent / "kept", site / name)


@pytest.mark.parametrize(("name", "how"), [("content", "mv"), ("content", "rm-r"),
                                           ("sitegen.toml", "mv")])
def test_a_source_removed_while_serving_shows_the_error_and_keeps_the_preview(
        tmp_path: Path, name: str, how: str) -> None:
    """`mv content c` (or `rm -r content`, or sitegen.toml moved) while serving: the error
    shows over the page, the last good preview is still served, and putting it back brings
    the site back."""
    site = make_site(tmp_path / "site")
    with ServeProcess(site, tmp_path / "tmp") as server:
        server.start()
        page = server.get(STORIES[0].url)
        assert page.status == 200
        n = server.build_number()
        _take_away(site, name, how)
        state = wait_until(lambda: (s := server.state())["build"] > n and s["problems"] and s,
                           what=f"the error for the missing {name}")
        assert [p["file"] for p in state["problems"]] == [name], state
        server.wait_for_line(r"^Build failed: 1 error; still serving the last good site")
        still = server.get(STORIES[0].url)
        assert still.status == 200 and LIVE_TAG in still.text
        assert STORIES[0].title in still.text  # the article, not an empty site
        n = state["build"]
        _put_back(site, name, how)
        wait_until(lambda: (s := server.state())["build"] > n and not s["problems"],
                   what=f"the site back after {name} was restored")
        assert server.get(STORIES[0].url).status == 200
        assert "unexpectedly" not in server.stderr and "Traceback" not in server.stderr
        assert server.stop() == 0


def test_a_static_link_out_of_the_site_is_refused_while_serving(tmp_path: Path) -> None:
    """The build refuses a static/ link leading outside the site, naming it, and the file
    it points to is never served."""
    secret = tmp_path / f"secret-{uuid.uuid4().hex}.txt"
    secret.write_text("TOP-SECRET\n", encoding="utf-8")
    site = make_site(tmp_path / "site")
    (site / "static").mkdir()
    (site / "static" / "leak.txt").symlink_to(secret)
    with ServeProcess(site, tmp_path / "tmp") as server:
        server.start()
        (problem,) = server.state()["problems"]
        assert problem["file"] == "static/leak.txt" and "outside the site" in problem["message"]
        leak = server.get("/leak.txt")
        assert leak.status == 404 and "TOP-SECRET" not in leak.text
        assert server.stop() == 0
