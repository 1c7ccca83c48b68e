"""A damaged cache of any kind (a cache file replaced by a folder, a symbolic link or a pipe,
truncated, garbage, a pickle of something else, the whole `.sitegen-cache` a file) is
discarded and rebuilt: the build succeeds, warns as for other damage, and its output is a
fresh build's. Each case is a real build of a real site; the quick path's files are damaged
after a quick build made them all (the snapshot, its objects and deltas, compiled templates)."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXED_NOW, file_hashes
from test_cache import make_site

from sitegen.incremental import snapshot
from sitegen.incremental.cache import CACHE_DIR, CACHE_FILE, FORMAT, MAGIC, OUTPUTS_FILE, SPARE_FILE
from sitegen.pipeline.build import build
from sitegen.report import BuildOptions, BuildReport

COMPILED = "templates"  # the compiled templates' folder in the cache
STORY = "content/story-3.md"


def run(site: Path, out: Path, use_cache: bool = True) -> BuildReport:
    return build(BuildOptions(site_dir=site, output_dir=out, now=FIXED_NOW), use_cache=use_cache)


def edit(site: Path, text: str) -> None:
    story = site / STORY
    story.write_text(story.read_text(encoding="utf-8") + f"\n{text}\n", encoding="utf-8")


def fresh_build(site: Path, tmp: Path) -> dict[str, str]:
    """What a build without any cache makes of the site as it is now."""
    reference = tmp / "reference"
    shutil.rmtree(reference, ignore_errors=True)
    run(site, reference, use_cache=False)
    return file_hashes(reference)


def checked_pickle(value: object) -> bytes:
    """A cache file with a good header and checksum that holds a pickle of something else."""
    payload = pickle.dumps(value)
    return MAGIC + FORMAT + b"\n" + hashlib.sha256(payload).hexdigest().encode() + b"\n\n" \
        + payload


def _replace(path: Path, make: Callable[[Path], None]) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    make(path)


def _folder(path: Path) -> None:
    path.mkdir()
    (path / "inside").write_bytes(b"something")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "folder": lambda p: _replace(p, _folder),
    "empty-folder": lambda p: _replace(p, Path.mkdir),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:p.stat().st_size // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(bytes(range(256)) * 4),
    "other-pickle": lambda p: p.write_bytes(checked_pickle({"not": "a cache"})),
    "dangling-link": lambda p: _replace(p, lambda q: q.symlink_to(q.parent / "nowhere")),
    "link-loop": lambda p: _replace(p, lambda q: q.symlink_to(q)),
    "link-to-folder": lambda p: _replace(p, lambda q: q.symlink_to(q.parent.parent / "content")),
    "pipe": lambda p: _replace(p, lambda q: os.mkfifo(q)),
}
FILES = [CACHE_FILE, OUTPUTS_FILE, SPARE_FILE, snapshot.SNAPSHOT_FILE, snapshot.OBJECTS_FILE,
         snapshot.DELTA_FILE]


def _compiled_file(cache: Path) -> Path:
    return next(p for p in sorted((cache / COMPILED).iterdir()) if p.is_file())


SOME_KINDS = ["folder", "dangling-link", "pipe", "garbage"]  # the rest: the same code paths
CASES = [(CACHE_FILE, kind) for kind in DAMAGE] + [
    (name, kind) for name in [OUTPUTS_FILE, SPARE_FILE, snapshot.SNAPSHOT_FILE, snapshot.OBJECTS_FILE,
                              snapshot.DELTA_FILE, COMPILED, "compiled-template"]
    for kind in SOME_KINDS if not (name == COMPILED and kind == "garbage")]


def change_config(site: Path) -> None:
    """A change that makes the next build a full one."""
    toml = site / "sitegen.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("per_page = 4", "per_page = 5") if "per_page = 4" in text
                    else text.replace("per_page = 5", "per_page = 4"), encoding="utf-8")


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_a_damaged_cache_file_is_discarded_and_rebuilt(tmp_path: Path, name: str,
                                                       kind: str) -> None:
    site, out = make_site(tmp_path / "site", count=6), tmp_path / "out"
    cache = site / CACHE_DIR
    run(site, out)
    edit(site, "First edit.")
    assert run(site, out).quick  # the quick path made its delta and compiled templates
    target = _compiled_file(cache) if name == "compiled-template" else cache / name
    outside = site / "content" / "story-1.md"
    before = outside.read_bytes()
    DAMAGE[kind](target)

    # An edit (the quick path, if what it reads is intact), then a full build.
    warnings = []
    for full in (False, True):
        change_config(site) if full else edit(site, "Second edit.")
        report = run(site, out)
        assert file_hashes(out) == fresh_build(site, tmp_path)
        warnings += report.warnings
    if name in (CACHE_FILE, OUTPUTS_FILE, SPARE_FILE):
        assert [w.file for w in warnings] == [f"{CACHE_DIR}/"], warnings
        assert "rebuilt it" in warnings[0].message
    else:
        assert warnings == []  # the quick path's files: it takes the full path without them
    if name in (CACHE_FILE, OUTPUTS_FILE, SPARE_FILE, snapshot.SNAPSHOT_FILE,
                snapshot.OBJECTS_FILE):
        assert target.is_file() and not target.is_symlink()  # written anew
    assert outside.read_bytes() == before  # a link was replaced, never written through

    # The cache works again: the next edit takes the quick path.
    edit(site, "Third edit.")
    report = run(site, out)
    assert report.quick and report.warnings == []
    assert file_hashes(out) == fresh_build(site, tmp_path)


@pytest.mark.parametrize("kind", ["file", "link-to-file", "dangling-link", "empty-file"])
def test_a_cache_folder_that_is_no_folder_is_replaced_by_one(tmp_path: Path, kind: str) -> None:
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    run(site, out)
    cache = site / CACHE_DIR
    shutil.rmtree(cache)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"not sitegen's")
    if kind == "file":
        cache.write_bytes(b"a file where the cache folder was")
    elif kind == "empty-file":
        cache.write_bytes(b"")
    elif kind == "link-to-file":
        cache.symlink_to(elsewhere)
    else:
        cache.symlink_to(tmp_path / "nowhere")
    edit(site, "An edit.")
    report = run(site, out)
    assert file_hashes(out) == fresh_build(site, tmp_path)
    if kind in ("file", "empty-file", "link-to-file"):
        assert [str(w) for w in report.warnings] == [
            f"{CACHE_DIR}/: the build cache was damaged ({CACHE_DIR} is not a folder); "
            "rebuilt it"]
    assert cache.is_dir() and not cache.is_symlink()
    assert elsewhere.read_bytes() == b"not sitegen's"  # the link went, not what it named
    edit(site, "Another edit.")
    assert run(site, out).quick


def test_a_cache_folder_linked_elsewhere_is_used_where_it_is(tmp_path: Path) -> None:
    """A link to a folder may be on purpose (the cache on another disk): it is kept."""
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    (tmp_path / "cache-elsewhere").mkdir()
    (site / CACHE_DIR).symlink_to(tmp_path / "cache-elsewhere")
    run(site, out)
    assert (tmp_path / "cache-elsewhere" / CACHE_FILE).is_file()
    edit(site, "An edit.")
    report = run(site, out)
    assert report.quick and report.warnings == []
    assert (site / CACHE_DIR).is_symlink()


def test_the_cache_s_gitignore_is_never_written_through_a_link(tmp_path: Path) -> None:
    site, out = make_site(tmp_path / "site"), tmp_path / "out"
    run(site, out)
    ours = site / ".gitignore"
    ours.write_text("output/\n", encoding="utf-8")
    ignore = site / CACHE_DIR / ".gitignore"
    ignore.unlink()
    ignore.symlink_to(ours)
    edit(site, "An edit.")
    shutil.rmtree(site / CACHE_DIR / snapshot.SNAPSHOT_FILE, ignore_errors=True)
    snapshot.forget(site)
    run(site, out)
    assert ours.read_text(encoding="utf-8") == "output/\n"
    assert ignore.read_text(encoding="utf-8") == "*\n" and not ignore.is_symlink()


def _modes_apply() -> bool:
    """Do file modes bind this process? Not root's (unless run without CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH, e.g. `setpriv --bounding-set -dac_override,-dac_read_search`)."""
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe"
        probe.write_bytes(b"")
        probe.chmod(0)
        try:
            probe.read_bytes()
        except PermissionError:
            return True
        return False


SETPRIV = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")


@pytest.fixture
def elsewhere(request: pytest.FixtureRequest) -> bool:
    """For tests that need file modes to bind. Where they do, False: the test runs here. As
    root they do not, so the test runs again in a pytest of its own without the two
    capabilities that override them (setpriv, from util-linux), which must pass it; True: the
    test has been run there, and its body here returns at once. Skips only on a machine with
    neither (a developer's laptop as root without util-linux); CI has setpriv."""
    if _modes_apply():
        return False
    if shutil.which(SETPRIV[0]) is None:
        pytest.skip("file modes do not bind this process (root) and setpriv is missing")
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run([*SETPRIV, sys.executable, "-m", "pytest", "-q", "-p",
                             "no:cacheprovider", request.node.nodeid],
                            cwd=repo, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
    return True


@pytest.mark.parametrize("name", [CACHE_FILE, OUTPUTS_FILE, snapshot.SNAPSHOT_FILE])
def test_an_unreadable_cache_file_is_discarded_and_rebuilt(tmp_path: Path, name: str,
                                                           elsewhere: bool) -> None:
    if elsewhere:
        return
    site, out = make_site(tmp_path / "site", count=6), tmp_path / "out"
    run(site, out)
    (site / CACHE_DIR / name).chmod(0)
    warnings = []
    for full in (False, True):  # an edit (the quick path, if it can), then a full build
        change_config(site) if full else edit(site, "An edit.")
        warnings += run(site, out).warnings
        assert file_hashes(out) == fresh_build(site, tmp_path)
    if name != snapshot.SNAPSHOT_FILE:
        assert [w.file for w in warnings] == [f"{CACHE_DIR}/"], warnings
        assert "Permission denied" in warnings[0].message
    assert os.access(site / CACHE_DIR / name, os.R_OK)  # replaced by a readable one
    edit(site, "Another edit.")
    assert run(site, out).quick


def test_a_cache_that_cannot_be_saved_is_a_warning_not_a_failed_build(tmp_path: Path,
                                                                      elsewhere: bool) -> None:
    """The output is built and in place by then: a cache file that cannot be written is a
    warning (the next build starts without it), not an error claiming nothing changed."""
    if elsewhere:
        return
    site, out = make_site(tmp_path / "site", count=6), tmp_path / "out"
    run(site, out)
    stuck = site / CACHE_DIR / f".{CACHE_FILE}.{os.getpid()}.tmp" / "locked"  # its temporary
    stuck.mkdir(parents=True)
    (stuck / "file").write_bytes(b"cannot be removed")
    stuck.chmod(0o555)
    try:
        change_config(site)  # a full build that must write the sources anew
        report = run(site, out)
    finally:
        stuck.chmod(0o755)
    assert file_hashes(out) == fresh_build(site, tmp_path)
    assert [w.file for w in report.warnings] == [f"{CACHE_DIR}/"]
    assert "cannot save the build cache" in report.warnings[0].message
    assert "Permission denied" in report.warnings[0].message
