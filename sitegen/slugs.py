"""URL slugs: the one place that decides how names become path segments.

Tags and authors are identified by their slug, and slugs become folder names in the output,
so this function must only ever return `[a-z0-9][a-z0-9-]*` or the empty string.
"""

from __future__ import annotations

import re
from functools import lru_cache

from slugify import slugify as _slugify

# Dots split words ("S.H.I.E.L.D."), apostrophes join them ("Grey's"), "+" is a word ("Disney+").
_REPLACEMENTS = [[".", "-"], ["'", ""], ["\u2019", ""], ["+", " plus"], ["&", " and "]]
_SAFE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@lru_cache(maxsize=65536)  # tags and names repeat across thousands of articles
def slugify(text: str) -> str:
    """Transliterate and slugify: "Shōgun" -> "shogun", "Agents of S.H.I.E.L.D." -> "agents-of-s-h-i-e-l-d".

    Returns "" when nothing usable is left; callers turn that into an error.
    """
    slug = _slugify(text, max_length=80, replacements=_REPLACEMENTS)
    slug = slug.strip("-")
    return slug if _SAFE.match(slug) else ""
