"""The tag registry: a newsroom's agreed tag vocabulary, so one subject keeps one page.

Optional, in `sitegen.toml` (`[tags."Jessica Jones"]`) or in a data file `data/tags.toml`,
`.yaml` or `.json` (the same tables at the top level). Each entry gives a tag's canonical
spelling (its name), `aliases` that file under it ("JJ"), a `description` and `image` for the
tag page, and `former_slugs` whose old URLs redirect to it, and a `group` (show, network, person...) that
the tags index files it under. Tags are still matched by slug,
so "jessica jones" finds the entry too; the registry decides the name and the page.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from sitegen.config import CONFIG_NAME, Config, TagConfig, config_line, is_link
from sitegen.content.data import SiteData
from sitegen.errors import Problem
from sitegen.slugs import slugify

DATA_NAME = "tags"
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class TagEntry:
    name: str  # the canonical spelling
    slug: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    image: str | None = None
    image_alt: str | None = None
    former_slugs: tuple[str, ...] = ()
    group: str = ""
    origin: str = CONFIG_NAME  # the file that defines it, for messages
    line: int | None = None
    former_line: int | None = None


@dataclass(frozen=True)
class TagRegistry:
    entries: tuple[TagEntry, ...] = ()
    by_slug: Mapping[str, TagEntry] = field(default_factory=dict)  # name and alias slugs

    def lookup(self, name: str) -> TagEntry | None:
        """The entry a tag as written files under, if any."""
        return self.by_slug.get(slugify(name)) if self.by_slug else None

    def slug_of(self, name: str) -> str:
        entry = self.lookup(name)
        return entry.slug if entry else slugify(name)

    def canonical(self) -> dict[str, str]:
        """Slug of every registered name and alias -> the canonical name, for grouping."""
        return {slug: entry.name for slug, entry in self.by_slug.items()}

    @staticmethod
    def is_registered_spelling(entry: TagEntry, name: str) -> bool:
        return name == entry.name or name in entry.aliases


def load_registry(config: Config, data: SiteData) -> tuple[TagRegistry, list[Problem]]:
    """The registry from sitegen.toml or data/tags.*; problems are collected, not raised."""
    problems: list[Problem] = []
    raw = data.values.get(DATA_NAME)
    if config.tags and raw is not None:
        problems.append(Problem(data.file_of(DATA_NAME), "the tag registry is both in "
                                "sitegen.toml ([tags]) and in this file; keep one of them"))
        return TagRegistry(), problems
    if config.tags:
        entries = [_entry(name, value, CONFIG_NAME,
                          config_line(config.site_dir, f'tags."{name}"'), problems,
                          lambda key, n=name: config_line(config.site_dir, f'tags."{n}".{key}'))
                   for name, value in config.tags.items()]
    elif raw is not None:
        origin = data.file_of(DATA_NAME)
        entries = _entries_from_data(raw, origin, _file_text(config, origin), problems)
    else:
        return TagRegistry(), problems
    return _index([e for e in entries if e is not None], problems), problems


def _entry(name: str, value: TagConfig, origin: str, line: int | None, problems: list[Problem],
           key_line: Callable[[str], int | None] = lambda key: None) -> TagEntry | None:
    slug = slugify(name)
    if not slug:
        problems.append(Problem(origin, f'tag "{name}" gives an empty URL slug; use letters or '
                                "digits", line))
        return None
    for alias in value.aliases:
        if not slugify(alias):
            problems.append(Problem(origin, f'alias "{alias}" of tag "{name}" gives an empty URL '
                                    "slug; use letters or digits", key_line("aliases") or line))
    if value.image and not is_link(value.image):
        problems.append(Problem(origin, f'image "{value.image}" of tag "{name}" must be a site '
                                "path like '/images/tag.jpg' or an http(s) URL",
                                key_line("image") or line))
    for old in value.former_slugs:
        if not _SLUG.fullmatch(old):
            problems.append(Problem(origin, f'former slug "{old}" of tag "{name}" must be a URL '
                                    "slug: lowercase letters, digits and '-'",
                                    key_line("former_slugs") or line))
    return TagEntry(name=name, slug=slug, aliases=tuple(value.aliases),
                    description=value.description.strip(), image=value.image or None,
                    image_alt=value.image_alt or None,
                    former_slugs=tuple(s for s in value.former_slugs if _SLUG.fullmatch(s)),
                    group=" ".join(value.group.split()), origin=origin, line=line,
                    former_line=key_line("former_slugs") or line)


def _entries_from_data(raw: Any, origin: str, text: str,
                       problems: list[Problem]) -> list[TagEntry | None]:
    """Entries of data/tags.*, checked like sitegen.toml's [tags] tables."""
    if not isinstance(raw, Mapping):
        problems.append(Problem(origin, "the tag registry must map each tag's name to its "
                                "settings (aliases, description, image, image_alt, former_slugs, group)"))
        return []
    known = [f.name for f in fields(TagConfig)]
    entries: list[TagEntry | None] = []
    for name, value in raw.items():
        line = _line_of(text, name)
        value = value if value is not None else {}
        if not isinstance(value, Mapping):
            problems.append(Problem(origin, f'tag "{name}" must have settings ({", ".join(known)}), '
                                    "or none", line))
            continue
        settings: dict[str, Any] = {}
        for key, item in value.items():
            if key not in known:
                near = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean '{near[0]}'?" if near else ""
                problems.append(Problem(origin, f"unknown key '{key}' for tag \"{name}\"{hint} "
                                        f"(valid keys: {', '.join(known)})",
                                        _line_of(text, str(key), line)))
                continue
            wants_list = key in ("aliases", "former_slugs")
            if isinstance(item, str) and wants_list:
                item = (item,)
            ok = (isinstance(item, tuple) and all(isinstance(i, str) for i in item)) if wants_list \
                else isinstance(item, str)
            if not ok:
                kind = "a list of strings" if wants_list else "a string"
                problems.append(Problem(origin, f"'{key}' of tag \"{name}\" must be {kind}",
                                        _line_of(text, str(key), line)))
                continue
            settings[key] = item
        entries.append(_entry(str(name), TagConfig(**settings), origin, line, problems,
                              lambda key, at=line: _line_of(text, key, at)))
    return entries


def _index(entries: list[TagEntry], problems: list[Problem]) -> TagRegistry:
    """Every slug a tag can be written as must lead to one entry, and no old slug may be one."""
    by_slug: dict[str, TagEntry] = {}
    for entry in entries:
        for spelling in (entry.name, *entry.aliases):
            slug = slugify(spelling)
            if not slug:
                continue
            other = by_slug.get(slug)
            if other is not None and other is not entry:
                problems.append(Problem(entry.origin, f'"{spelling}" of tag "{entry.name}" is '
                                        f'also tag "{other.name}" (both are /tags/{slug}/); '
                                        "keep it in one entry", entry.line))
                continue
            by_slug[slug] = entry
    former: dict[str, TagEntry] = {}
    for entry in entries:
        for old in entry.former_slugs:
            if old in by_slug or former.setdefault(old, entry) is not entry:
                owner = by_slug.get(old) or former[old]
                problems.append(Problem(entry.origin, f'former slug "{old}" of tag "{entry.name}" '
                                        f'is in use by tag "{owner.name}"; remove it from one',
                                        entry.former_line))
    return TagRegistry(tuple(entries), by_slug)


def _file_text(config: Config, rel: str) -> str:
    try:
        return (config.site_dir / rel).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return ""


def _line_of(text: str, word: str, after: int | None = None) -> int | None:
    """Best-effort line of a name in a data file (no parser here gives positions for all three
    formats): the first line at or after `after` that holds it as a key."""
    start = after or 1
    pattern = re.compile(rf"""(^|[\s"'\[{{,]){re.escape(word)}($|[\s"'\]:=,])""")
    for number, line in enumerate(text.splitlines()[start - 1:], start):
        if pattern.search(line):
            return number
    return after
