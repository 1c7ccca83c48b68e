"""What a build is asked to do and what it did: the options and the report that the command line,
the pipeline, the quick path, its snapshot and the dev server pass between them. Here, below all
of them, so each can name the types (the quick path and the snapshot repeat the last report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sitegen.errors import Problem


@dataclass(frozen=True)
class BuildOptions:
    site_dir: Path = Path(".")
    output_dir: Path | None = None  # default: output/ in the site folder
    drafts: bool = False
    future: bool = False
    base_url: str | None = None
    now: datetime | None = None  # the moment that decides what is scheduled; default: now
    workers: int = 0  # processes for reading and rendering; 0: one per core

    def key(self, output: Path) -> OptionsKey:
        """The options that decide what a build into `output` writes."""
        return OptionsKey(self.drafts, self.future, self.base_url, str(output))


@dataclass(frozen=True)
class OptionsKey:
    """The options that decide what a build writes: a quick build needs them as the last
    build's snapshot recorded them (`workers` and `now` change no byte; the moment is
    checked on its own)."""

    drafts: bool
    future: bool
    base_url: str | None  # as given on the command line (the configuration's is checked apart)
    output: str  # the output folder, resolved


@dataclass(frozen=True)
class BuildReport:
    output_dir: Path
    articles: int
    pages: int
    tags: int
    authors: int
    feeds: int
    files: int
    drafts_skipped: int
    scheduled_skipped: int
    next_due: datetime | None
    seconds: float
    warnings: list[Problem] = field(default_factory=list)
    expired: int = 0  # articles past `expires`: pages kept, out of listings and feeds
    next_expiry: datetime | None = None
    search: bool = False  # a search index was built
    quick: bool = False  # only article bodies changed: just the files showing them were written
    rewritten: int = 0  # quick: how many files that was
    reindexed: int = 0  # quick: files of the search index it replaced or added (indexed anew)
    images_encoded: int = 0  # image variants encoded; 0 when the cache had every one
