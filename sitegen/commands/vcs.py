"""Whether git tracks a path in the site. `sitegen build` warns when the build cache is
committed: it is pickles, which run code when read, so a cache that came with a checkout (or
a pull request) is someone else's code run by the build.

The check runs `git ls-files` beside the build (started before, read after), so a warm build
waits for it only if git is slower than the build; it is skipped without a process when no
`.git` is found above the site, and any failure of git (missing, not a repository, too slow)
is no warning and no error."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

GIT_TIMEOUT = 2.0  # seconds git may take after the build is done


class TrackedCheck:
    """`git ls-files -- PATH` in `folder`, started now; `tracked()` waits for its answer."""

    def __init__(self, folder: Path, path: str) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        git = shutil.which("git") if _in_repository(folder) else None
        if git is None:
            return
        with contextlib.suppress(OSError):
            self._process = subprocess.Popen(
                [git, "-C", str(folder), "ls-files", "-z", "--", path],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})

    def tracked(self) -> bool:
        """Does git track anything under the path? False when git could not tell."""
        process, self._process = self._process, None
        if process is None:
            return False
        try:
            out, _ = process.communicate(timeout=GIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return False
        return process.returncode == 0 and bool(out)

    def close(self) -> None:
        """Stop git if its answer is no longer wanted (the build failed)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
        if process is not None:
            process.communicate()


def _in_repository(folder: Path) -> bool:
    """A `.git` in the folder or above (or GIT_DIR set): else git need not be asked."""
    if os.environ.get("GIT_DIR"):
        return True
    folder = folder.absolute()
    return any(os.path.exists(os.path.join(parent, ".git")) for parent in (folder, *folder.parents))
