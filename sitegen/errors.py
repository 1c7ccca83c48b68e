"""Typed errors: every problem the user can fix names the file, the line where known, and what to do.

Stages raise or collect `SiteError`s; the build gathers them into one `BuildError`; only the
command line turns them into text and an exit code, so no stage prints or exits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Line breaks and other control characters a value quoted in a message may hold (a base_url
# of "\r\n", a file named with a newline): shown escaped, so a problem is always one line.
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the site, as `FILE:LINE: message`, always on one line."""

    file: str  # relative to the site folder where possible
    message: str
    line: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "file", _one_line(self.file))
        object.__setattr__(self, "message", _one_line(self.message))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class SiteError(Exception):
    """A problem in the user's site (content, config, templates), not a bug in sitegen."""

    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        super().__init__(str(Problem(file, message, line)))
        self.problem = Problem(file, message, line)


class BuildError(Exception):
    """Every problem that stopped a build, collected so the author can fix them in one pass."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.message))
        count = len(self.problems)
        super().__init__(f"{count} error{'s' if count != 1 else ''}")


class OutputError(Exception):
    """The output folder cannot be used safely (it holds files sitegen did not make, say)."""
