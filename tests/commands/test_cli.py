"""The command line: `python -m sitegen` as a subprocess, and sitegen.commands.cli.main in-process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import DRAFT_URL, REPO, SCHEDULED_URL, article, file_hashes, write_site

from sitegen import __version__
from sitegen.commands.cli import main


def sitegen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sitegen", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, check=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_python_m_sitegen_build_prints_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = sitegen("build", "-s", str(REPO), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "Built 10 articles:" in result.stdout
    assert f"into {out}" in result.stdout
    assert "Left out 1 draft (--drafts to include) and 1 scheduled article (--future to include)." \
        in result.stdout
    assert "Next scheduled article is due 2031-08-18 09:00" in result.stdout
    assert result.stderr == ""
    assert (out / "index.html").is_file() and (out / "feed.xml").is_file()


def test_the_command_exits_at_once_yet_says_everything(tmp_path: Path) -> None:
    """`sitegen` leaves without tearing the interpreter down (cli.run): what it printed to a
    pipe still arrives, the exit code is kept, and a reader that went away is no error."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "content", site / "content")
    shutil.copytree(REPO / "static", site / "static")  # the articles' pictures
    shutil.copy(REPO / "sitegen.toml", site / "sitegen.toml")
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}

    def command(*args: str, **options: Any) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "sitegen", *args], text=True,
                                env=buffered, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                **options)

    built = command("build", "-s", str(site), "-o", str(tmp_path / "out"))
    out, err = built.communicate(timeout=120)
    assert built.returncode == 0 and out.startswith("Built 10 articles:") and err == ""
    broken = command("build", "-s", str(tmp_path / "missing"))
    out, err = broken.communicate(timeout=120)
    assert broken.returncode == 1 and "site folder not found" in err
    gone = command("build", "-s", str(site), "-o", str(tmp_path / "again"))
    assert gone.stdout is not None and gone.stderr is not None
    gone.stdout.close()  # like `sitegen build | head -c 0`
    assert gone.wait(timeout=120) == 0
    assert gone.stderr.read() == ""
    assert (tmp_path / "again" / "index.html").is_file()


def test_summary_counts_match_the_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = sitegen("build", "-s", str(REPO), "-o", str(out))
    files = len(file_hashes(out)) - 1  # the manifest is not counted
    pages = len(list(out.rglob("*.html")))
    assert f"({files} files)" in result.stdout
    assert f": {pages} pages," in result.stdout


def test_no_arguments_is_a_usage_error() -> None:
    result = sitegen()
    assert result.returncode == 2
    assert "usage: sitegen" in result.stderr
    assert "build" in result.stderr


def test_main_without_arguments_returns_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2
    assert "usage: sitegen" in err


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    result = sitegen("build", "--frobnicate", "-s", str(REPO), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "unrecognized arguments: --frobnicate" in result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_command_is_a_usage_error() -> None:
    result = sitegen("publish")
    assert result.returncode == 2
    assert "invalid choice: 'publish'" in result.stderr


def test_main_with_an_unknown_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    # argparse ends the process itself (SystemExit), which the console script turns into exit 2
    with pytest.raises(SystemExit) as info:
        main(["build", "--frobnicate"])
    assert info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_version_option() -> None:
    result = sitegen("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"sitegen {__version__}"


def test_build_help_lists_every_option() -> None:
    result = sitegen("build", "--help")
    assert result.returncode == 0
    for option in ("--site", "--output", "--drafts", "--future", "--base-url", "--verbose"):
        assert option in result.stdout


@pytest.fixture
def broken_site(tmp_path: Path) -> Path:
    return write_site(tmp_path / "site", {
        "good.md": article(title="Good"),
        "broken.md": "---\ntitle: Broken\ndate: whenever\nauthor: Ann\n---\nBody\n",
    })


def test_broken_site_without_verbose_shows_no_traceback(broken_site: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, err = run(capsys, "build", "-s", str(broken_site), "-o", str(tmp_path / "out"))
    assert code == 1
    assert "content/broken.md:" in err and "cannot read 'date'" in err
    assert "Traceback" not in err + stdout
    assert not (tmp_path / "out").exists()


def test_broken_site_with_verbose_shows_the_traceback(broken_site: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "build", "-v", "-s", str(broken_site), "-o", str(tmp_path / "out"))
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert "BuildError" in err
    assert "content/broken.md:" in err and "cannot read 'date'" in err


def test_broken_site_subprocess_exit_code_is_1(broken_site: Path, tmp_path: Path) -> None:
    result = sitegen("build", "-s", str(broken_site), "-o", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "content/broken.md:" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_site_folder_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "build", "-s", str(tmp_path / "nowhere"), "-o", str(tmp_path / "o"))
    assert code == 1
    assert "site folder not found" in err
    assert "Traceback" not in err


def test_flags_reach_the_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "build", "-s", str(REPO), "-o", str(out), "--drafts",
                            "--future", "--base-url", "https://preview.example.org")
    assert code == 0, err
    assert "Built 12 articles" in stdout
    assert "Left out" not in stdout
    assert (out / DRAFT_URL.strip("/") / "index.html").is_file()
    assert (out / SCHEDULED_URL.strip("/") / "index.html").is_file()
    assert "Sitemap: https://preview.example.org/sitemap.xml" in (out / "robots.txt").read_text()


def test_default_site_is_the_current_folder_and_output_is_its_output(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    site = write_site(tmp_path / "site", {"a.md": article(title="Hello")})
    monkeypatch.chdir(site)
    code, stdout, err = run(capsys, "build")
    assert code == 0, err
    assert f"into {site / 'output'}" in stdout
    assert (site / "output" / "2020" / "01" / "hello" / "index.html").is_file()
    assert (site / "content" / "a.md").is_file()


def test_warnings_go_to_stderr_and_do_not_fail_the_build(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = write_site(tmp_path / "site", {
        "a.md": article(title="One", tags=["Late-Night TV"]),
        "b.md": article(title="Two", date="2020-01-02", tags=["Late Night TV"]),
    })
    code, stdout, err = run(capsys, "build", "-s", str(site), "-o", str(tmp_path / "out"))
    assert code == 0
    assert err.startswith("warning: content")
    assert len(err.splitlines()) == 1
    assert '"Late-Night TV"' in err and '"Late Night TV"' in err
    assert "Built 2 articles" in stdout


def test_a_second_build_at_the_same_time_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import fcntl

    site = write_site(tmp_path / "site", {"a.md": article()})
    out = tmp_path / "out"
    with open(tmp_path / ".out.sitegen-lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running build holds it
        code, _, err = run(capsys, "build", "-s", str(site), "-o", str(out))
    assert code == 1
    assert "another sitegen build is writing" in err
    assert not out.exists()
