"""The quick path of `sitegen build`: when only the Markdown of published articles changed
since the last build, render those bodies and the pages and feeds that show them, and write
just those files, into a copy of the output that the output transaction (writer.py) then
commits whole.

Whether it applies is decided from the last build's snapshot (`snapshot.py`) and a stat of
each article file, without reading the rest of the site: the build's options, configuration,
theme and the site's other files must be as they were; no article added, removed or changed
in its front matter; nothing due to change by itself yet (a scheduled article, an expiry, the
news sitemap's window, a new year); and the output holding exactly the files the last build
left there, each as it left it (the commit replaces the folder: a file someone added would
otherwise leave with the old site; the folders changed since the last commit are read to
prove none was).
Anything else, and any doubt (a damaged snapshot, a body that does not render), takes the
full path, which also reports the problems. On a site with search, a quick build that
changed a page has Pagefind index the new pages in that copy (it cannot update an index),
before the commit, so pages, index and manifest change together. The output is the same
either way: tests/pipeline/test_quick.py builds both and compares them file by file.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from stat import S_ISDIR

from sitegen.config import Config, load_config
from sitegen.content.images import LocalImages
from sitegen.content.sources import source_stamps
from sitegen.errors import Problem, SiteError
from sitegen.incremental.cache import (
    COMPILED_DIR,
    OutputRecord,
    digest,
    matches,
    read_outputs,
    record_of,
    remove_stale_temporaries,
    save_failure,
)
from sitegen.incremental.fingerprint import Fingerprints
from sitegen.incremental.snapshot import FileStamp, OpenSnapshot, Snapshot, forget, site_files
from sitegen.model import Article, Source
from sitegen.parallel import beside
from sitegen.pipeline.stages import own_pages, replan, site_images, update
from sitegen.render.plan import Job, Plan, render_job
from sitegen.render.theme import Theme
from sitegen.report import BuildReport, OptionsKey
from sitegen.write import search
from sitegen.write.writer import (
    MANIFEST,
    Staging,
    committed_at,
    manifest_data,
    manifest_files,
    updating,
)


@dataclass(frozen=True)
class QuickBuild:
    """What a quick build did, and the last full build's report (it changes no count)."""

    written: tuple[str, ...]  # the pages and feeds that show the changed bodies
    report: BuildReport
    index: tuple[str, ...] = ()  # the search index's files it replaced or added
    problems: tuple[Problem, ...] = ()  # the cache could not be saved after the commit


@dataclass
class _Rendered:
    """A quick build decided and rendered, not yet written."""

    files: dict[str, bytes]
    prints: dict[str, str]  # by output path
    restamped: dict[str, FileStamp]  # article files touched or edited
    articles: list[Article]
    jobs: dict[int, Job]  # the snapshot's job index -> the job as it is now
    theme: Theme
    index: str | None = None  # when pages changed on a site with search: Pagefind's glob
    records: _OutputRecords | None = None  # every output file sitegen wrote


@dataclass
class _OutputRecords:
    """Every file sitegen wrote into the output, with its record: the last full build's, and
    quick builds' since. Read on first use, in the checker's process (and in this one only
    when a search index changes); None when they describe another output folder or cannot
    be read."""

    site_dir: Path
    output: Path
    snapshot: Snapshot

    @cached_property
    def mapping(self) -> dict[str, OutputRecord] | None:
        last = read_outputs(self.site_dir)
        if last is None or last[1] != str(self.output):
            return None
        records = {**last[0], **self.snapshot.records}
        for path in self.snapshot.gone:
            records.pop(path, None)
        return records


def quick_build(site_dir: Path, output: Path, key: OptionsKey,
                now: datetime | None) -> QuickBuild | None:
    """Bring `output` up to date the quick way, or return None (nothing written) when the
    full path must run. `key`: the build's options, as `snapshot.Inputs` keeps them.
    Raises OutputError when the files cannot be written."""
    # The collector would walk the snapshot's hundred thousand objects again and again while
    # they load (a tenth of a quick build); nothing here makes cycles worth collecting.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _quick_build(site_dir, output, key, now)
    finally:
        if collecting:
            gc.enable()


def _quick_build(site_dir: Path, output: Path, key: OptionsKey,
                 now: datetime | None) -> QuickBuild | None:
    if not (output / MANIFEST).is_file():
        return None  # not a folder sitegen wrote (the full path says so): not even a lock
    loaded = OpenSnapshot.load(site_dir)
    if loaded is None:
        return None
    index: list[str] = []
    removed: list[str] = []
    try:
        # One transaction: the pages, the search index Pagefind makes of them and the
        # manifest are committed together, or nothing is (writer.py).
        with updating(output) as staging:
            try:
                work = _decide(loaded, site_dir, output, key, now)
            except Exception:  # noqa: BLE001 (it only reads: on any doubt the full path runs)
                work = None
            if work is None:
                return None
            for path, data in sorted(work.files.items()):
                staging.write(path, data)
            if work.index is not None and work.records is not None:
                records = work.records.mapping
                if records is None:
                    return None  # nothing is committed: the full path runs
                index, removed = _reindex(output, staging, records, work.index)
    finally:
        loaded.close()
    problems: tuple[Problem, ...] = ()
    try:
        remove_stale_temporaries(site_dir)
        work.theme.save_compiled()
        if work.files or work.restamped:
            prints = {**work.prints, **dict.fromkeys(index, "")}  # the index: checked by stat
            written = {path: record_of(os.stat(output / path), fingerprint)
                       for path, fingerprint in prints.items()}
            loaded.update(work.restamped, work.articles, work.jobs, written, removed)
    except OSError as exc:  # after the commit: the new site is in place, whatever happens here
        with contextlib.suppress(OSError):
            forget(site_dir)
        problems = (save_failure(exc, output),)
    return QuickBuild(tuple(sorted(work.files)), loaded.snapshot.report, tuple(index), problems)


def _decide(loaded: OpenSnapshot, site_dir: Path, output: Path, key: OptionsKey,
            now: datetime | None) -> _Rendered | None:
    snapshot = loaded.snapshot
    if snapshot.inputs.options != key:
        return None
    # Every output file is checked against its record while the rest is decided and
    # rendered, in a process beside this one (in a thread, the loop contended with the
    # build's for the GIL), which reads the records too. A build that writes must also know
    # that nothing was added to the output, as its commit replaces the folder: the same
    # process looks once the records are checked, and is stopped when nothing is written (a
    # build with nothing changed only needs the recorded files as they were).
    records = _OutputRecords(site_dir, output, snapshot)
    since = committed_at(output)
    checks = beside(lambda: _unchanged(output, records.mapping),
                    lambda: _nothing_added(output, records.mapping, since))
    work: _Rendered | None = None
    try:
        work = _render(loaded, site_dir, output, key.base_url, now)
    finally:  # waited for or stopped even when rendering failed: no process left behind
        try:
            checked = checks() if work is not None and work.files else checks(0)
        finally:
            checks.cancel()
    if work is None or not checked:
        return None
    work.records = records
    return work


def _render(loaded: OpenSnapshot, site_dir: Path, output: Path, base_url: str | None,
            now: datetime | None) -> _Rendered | None:
    snapshot = loaded.snapshot
    config = load_config(site_dir, base_url)
    if config != snapshot.inputs.config:
        return None
    now = now or datetime.now(config.tz)
    if snapshot.valid_until is not None and now >= snapshot.valid_until:
        return None
    if now.year != snapshot.built_at.year:  # the footer's year, in whatever zone `now` is
        return None
    if site_files(site_dir) != snapshot.inputs.files:
        return None
    theme = Theme(config, site_dir / COMPILED_DIR)
    salt = theme.fingerprint()
    if salt != snapshot.inputs.theme:
        return None
    stamps = source_stamps(site_dir)
    if stamps is None:
        return None  # content/ missing or not readable whole: the full path reports it
    if len(stamps) != len(snapshot.sources) or any(p not in snapshot.sources for p in stamps):
        return None  # an article added, removed or renamed
    restamped = {}
    edited: list[Path] = []
    for path, stamp in stamps.items():
        old = snapshot.sources[path]
        if stamp == (old.mtime_ns, old.size):
            continue
        new_digest = digest(Path(path))
        restamped[path] = FileStamp(*stamp, new_digest)
        if new_digest != old.digest:  # else touched, not changed
            edited.append(Path(path))
    images = site_images(theme.static_files, config)
    edit = update(_Before(loaded, config, images), edited)
    if edit is None:
        return None
    index = None
    if edit.articles and snapshot.search:  # pages change: the index is built anew over all
        if search.unavailable() is not None:
            return None  # Pagefind is gone: the full path says so and builds without search
        index = search.pages_glob(config.permalink)
    plan = replan(edit, Plan(tuple(loaded.job(i) for i in edit.jobs)), range(len(edit.jobs)),
                  snapshot.info, theme.static_files, snapshot.built_at)
    jobs = [*own_pages(edit, snapshot.info, theme.static_files, snapshot.built_at), *plan.jobs]
    prints = Fingerprints.of_theme(theme)
    files, settled = {}, {}
    for job in jobs:
        assets: set[str] = set()
        files[job.path] = render_job(job, theme, assets)
        settled[job.path] = prints.settle(prints.of(job), assets) or ""  # "": never matches
    return _Rendered(files, settled, restamped,
                 list(edit.articles.values()), dict(zip(edit.jobs, plan.jobs, strict=True)),
                 theme, index)


@dataclass(frozen=True)
class _Before:
    """The last build's snapshot, as the pipeline's updates read it (`stages.Before`)."""

    loaded: OpenSnapshot
    config: Config
    images: LocalImages

    @property
    def by_source(self) -> Mapping[str, str]:
        return self.loaded.snapshot.by_source

    def source(self, path: Path) -> Source | None:
        known = str(path) in self.loaded.snapshot.sources
        return self.loaded.source(str(path)) if known else None

    def article(self, rel_path: str) -> Article | None:
        published = rel_path in self.loaded.snapshot.articles
        return self.loaded.article(rel_path) if published else None

    def holders(self, rel_path: str) -> Iterable[int]:
        return self.loaded.snapshot.holders.get(rel_path, ())


def _reindex(output: Path, staging: Staging, records: Mapping[str, OutputRecord],
             glob: str) -> tuple[list[str], list[str]]:
    """Index the new pages (in `staging`, a copy of the output on its way in) anew and bring
    its pagefind/ folder up to date; the manifest lists the bundle as it now is. Returns the
    index files written and those removed. Raises SiteError when Pagefind fails."""
    prefix = search.BUNDLE_DIR + "/"
    current = {path for path in records if path.startswith(prefix)}  # sitegen's, not a reader's
    listed = manifest_files(output)
    if listed is None:
        raise SiteError(MANIFEST, "the output's manifest cannot be read; build again with "
                        "--no-cache to write the whole site anew")
    changed, removed = search.update_index(staging, output, glob, current)
    if changed or removed:
        added = {path for path in changed if path not in current}
        staging.write(MANIFEST, manifest_data(set(listed).difference(removed) | added))
    return changed, removed


def _unchanged(output: Path, records: Mapping[str, OutputRecord] | None) -> bool:
    """Every file the last build wrote is there as it wrote it (none edited or deleted):
    enough for a build that writes nothing."""
    if records is None or not (output / MANIFEST).is_file():
        return False
    folder = os.open(output, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for rel, record in records.items():
            try:
                stat = os.stat(rel, dir_fd=folder, follow_symlinks=False)
            except OSError:
                return False
            if not matches(record, stat):
                return False
    finally:
        os.close(folder)
    return True


def _nothing_added(output: Path, records: Mapping[str, OutputRecord] | None,
                   since: int | None) -> bool:
    """The output holds no file but those the last build wrote (and its manifest), `records`
    having been checked by `_unchanged`. A commit replaces the whole folder, so a file
    someone dropped into the output would otherwise go with the replaced site.

    `since`: when the output was committed (`writer.committed_at`). Adding, removing or
    renaming an entry sets its folder's ctime, which no one can set back, so only the folders
    changed since then are read, the others stat'ed (at 16,000 folders, a third of the time
    of reading them all). Without it, every folder is read."""
    if records is None:
        return False
    if since is None:
        return _nothing_added_anywhere(output, records)
    expected: dict[str, set[str]] = {"": {MANIFEST}}
    for rel in records:
        folder, _, name = rel.rpartition("/")
        while folder not in expected:  # a folder first seen: name it in its parent too
            expected[folder] = {name}
            folder, _, name = folder.rpartition("/")
        expected[folder].add(name)
    top = os.open(output, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for folder, names in expected.items():
            try:
                stat = os.stat(folder or ".", dir_fd=top, follow_symlinks=False)
                if not S_ISDIR(stat.st_mode):
                    return False
                if stat.st_ctime_ns >= since and \
                        set(os.listdir(os.path.join(output, folder))) != names:
                    return False
            except OSError:
                return False
    finally:
        os.close(top)
    return True


def _nothing_added_anywhere(output: Path, records: Mapping[str, OutputRecord]) -> bool:
    """`_nothing_added` by a walk of every folder's names."""
    seen = 0
    pending = [(str(output), "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            return False
        with entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, rel + "/"))
                elif rel == MANIFEST and not prefix:
                    continue
                elif rel not in records:
                    return False
                else:
                    seen += 1
    return seen == len(records)
