"""The preview's first build: every core when it runs before the preview's threads, and only
the files that differ from the kept preview's (serve/kept.py).

Each job is fingerprinted; a file whose record (from the last run) has the same fingerprint
and whose stat is still the recorded one is left as it is, the rest are rendered (in forked
workers, as `sitegen build` renders, when `workers` > 1) and written, and every other file in
the folder is removed, in one output transaction. The folder then equals a fresh full build
of the same files with the same options, as every rebuild of the preview leaves it.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

from sitegen.errors import BuildError, SiteError
from sitegen.incremental.cache import OutputRecord
from sitegen.incremental.fingerprint import Fingerprints
from sitegen.pipeline.build import write_plan
from sitegen.pipeline.stages import Progress, Settings, prepare
from sitegen.serve.live import LiveSite, Rebuilt
from sitegen.write import search
from sitegen.write.writer import updating


def first_build(live: LiveSite, workers: int, records: dict[str, OutputRecord],
                indexed: bool = True, progress: Progress | None = None) -> Rebuilt:
    """Bring `live`'s folder from what `records` vouch for to the site as it is now, and hand
    the result to `live` (`LiveSite.adopt`). `indexed`: the folder's search index matched its
    pages when recorded (else it is removed, and indexed anew). Forks only when `workers` > 1:
    the caller passes 1 once other threads run."""
    started = time.perf_counter()
    folder = live.folder
    try:
        prepared = prepare(Settings(replace(live.options, workers=workers), live.cache,
                                    progress=progress, gone_ok=True))
        fingerprints = Fingerprints.of_theme(prepared.theme)
        jobs = prepared.plan.jobs
        prints = {}
        todo = []
        for job in jobs:  # a page's record names its assets: kept while they are unchanged
            record, data = records.get(job.path), fingerprints.of(job)
            if record is not None and fingerprints.again(data, record.fingerprint) \
                    == record.fingerprint:
                prints[job.path] = record.fingerprint
            else:
                todo.append(job)
        planned = {job.path for job in jobs}
        bundle = search.BUNDLE_DIR + "/"
        gone = sorted(rel for rel in files_in(folder) if rel not in planned and not (
            indexed and prepared.search and rel.startswith(bundle)))
        if todo or gone:
            with updating(folder, wait=True) as staging:
                staging.path  # opened here: forked workers write into it  # noqa: B018
                prints.update(write_plan(replace(prepared.plan, jobs=tuple(todo)),
                                         prepared.theme, staging, workers, progress=progress,
                                         record=True))
                staging.changed.update(job.path for job in todo)  # written in other processes
                for rel in gone:
                    staging.remove(rel)
    except BuildError as exc:
        return Rebuilt(False, tuple(exc.problems), seconds=time.perf_counter() - started)
    except SiteError as exc:
        return Rebuilt(False, (exc.problem,), seconds=time.perf_counter() - started)
    return live.adopt(prepared, prints, tuple(sorted(job.path for job in todo)), tuple(gone),
                      time.perf_counter() - started)


def files_in(folder: Path) -> list[str]:
    """Every file in `folder`, as paths relative to it."""
    found = []
    for top, _, names in os.walk(folder):
        base = Path(top).relative_to(folder)
        found += [(base / name).as_posix() for name in names]
    return found
