"""A one-line progress bar for long builds, on a terminal only.

It appears only once a build has run for about a second (short builds stay quiet), redraws
at most ten times a second, and erases itself when the build ends, leaving the summary.
"""

from __future__ import annotations

import time
from typing import TextIO

SHOW_AFTER_SECONDS = 1.0
REDRAW_SECONDS = 0.1
WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self._drawn_at = 0.0
        self._shown = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.started < SHOW_AFTER_SECONDS or (now - self._drawn_at < REDRAW_SECONDS
                                                         and done < total):
            return
        filled = WIDTH * done // max(total, 1)
        self.stream.write(f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {stage} "
                          f"{done}/{total}\x1b[K")
        self.stream.flush()
        self._drawn_at = now
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
