"""Data files: `data/**/*.toml|yaml|yml|json` read into plain, read-only values for templates.

A template reads `data/schedule.yaml` as `site.data.schedule`, and `data/shows/lineup.json` as
`site.data.shows.lineup`. Tables become read-only mappings and arrays tuples, so a template
can loop over a show schedule but never change what another page sees. A file that cannot be
read is a problem naming the file and line; the others are still read.
"""

from __future__ import annotations

import copyreg
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from sitegen.errors import Problem
from sitegen.folders import DATA_DIR
from sitegen.text import code_point, first_unwanted, line_of_char
from sitegen.tree import list_folder, why

SUFFIXES = (".toml", ".yaml", ".yml", ".json")
MAX_DATA_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 50

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class SiteData:
    """Every data file's values (`values`), and which file each top-level name came from."""

    values: Mapping[str, Any]
    files: Mapping[str, str]  # top-level name -> file relative to the site, for messages

    def file_of(self, name: str) -> str:
        return self.files.get(name, f"{DATA_DIR}/{name}")


EMPTY = SiteData(MappingProxyType({}), MappingProxyType({}))


def load_data(site_dir: Path) -> tuple[SiteData, list[Problem]]:
    """Read every data file of the site; problems are collected, not raised."""
    root = site_dir / DATA_DIR
    if not os.path.lexists(root):
        return EMPTY, []
    listing = list_folder(root, site_dir, skip=(".", "_"))
    tree = _Folder()
    files: dict[str, str] = {}
    claimed: dict[tuple[str, ...], str] = {}
    problems: list[Problem] = listing.problems
    for rel_parts, found in sorted(listing.files, key=lambda item: "/".join(item[0])):
        path = Path(found)
        if path.suffix.lower() not in SUFFIXES:
            continue
        rel = path.relative_to(site_dir).as_posix()
        key = (*rel_parts[:-1], path.stem)
        if key in claimed:
            problems.append(Problem(rel, f"{claimed[key]} gives the same name "
                                    f"'site.data.{'.'.join(key)}'; rename or remove one"))
            continue
        try:
            value = _read(path, rel)
        except _Unreadable as exc:
            problems.append(exc.problem)
            continue
        node: Any = tree
        for part in key[:-1]:
            node = node.setdefault(part, _Folder())
            if not isinstance(node, _Folder):
                break
        if not isinstance(node, _Folder) or key[-1] in node:
            problems.append(Problem(rel, f"'site.data.{'.'.join(key)}' is both a file and a "
                                    "folder of data files; rename one"))
            continue
        claimed[key] = rel
        node[key[-1]] = value
        files.setdefault(key[0], rel if len(key) == 1 else f"{DATA_DIR}/{key[0]}/")
    return SiteData(read_only(tree), MappingProxyType(files)), problems


def _proxy(items: dict[str, Any]) -> MappingProxyType[str, Any]:
    return MappingProxyType(items)


# Read-only data can be pickled (as its items), so the build's snapshot can keep the site's info.
copyreg.pickle(MappingProxyType, lambda proxy: (_proxy, (dict(proxy),)))


def read_only(value: Any) -> Any:
    """A deep read-only copy: mappings become MappingProxyType, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): read_only(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(read_only(v) for v in value)
    return value


class _Folder(dict):  # type: ignore[type-arg]
    """A folder of data files in the tree being built (a file's own tables are plain dicts)."""


class _Unreadable(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _read(path: Path, rel: str) -> Any:
    try:
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_size > MAX_DATA_BYTES:
                raise _Unreadable(Problem(rel, "file is over the limit of "
                                               f"{MAX_DATA_BYTES // 1048576} MiB for a data file"))
            raw = file.read()
    except OSError as exc:  # unreadable, or deleted or renamed since it was listed
        raise _Unreadable(Problem(rel, f"cannot be read: {why(exc)}")) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Unreadable(Problem(rel, f"not UTF-8 text ({exc.reason}); save it as UTF-8")) from None
    value = _parse(path.suffix.lower(), text, rel)
    char = _first_unwanted_in(value)
    if char is not None:
        raise _Unreadable(Problem(rel, f"a value holds the character {code_point(char)}, which "
                                       "pages and feeds cannot carry; remove it",
                                  line_of_char(text, char)))
    return value


def _first_unwanted_in(value: Any) -> str | None:
    """The first character pages cannot carry in any string (or key) of a file's values.
    Written as escapes ("\\uFFFE", "\\ud800") they pass every parser."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            char = first_unwanted(item)
            if char is not None:
                return char
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _parse(suffix: str, text: str, rel: str) -> Any:
    if suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"line (\d+)", str(exc))
            raise _Unreadable(Problem(rel, f"invalid TOML: {exc}",
                                      int(match.group(1)) if match else None)) from None
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise _Unreadable(Problem(rel, f"invalid JSON: {exc.msg}", exc.lineno)) from None
    return _read_yaml(text, rel)


def _read_yaml(text: str, rel: str) -> Any:
    try:
        # Aliases let a few bytes expand into billions of values; data files never need them.
        depth = 0
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _Unreadable(Problem(rel, f"nested more than {MAX_DEPTH} levels deep",
                                              event.start_mark.line + 1))
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                raise _Unreadable(Problem(rel, "YAML aliases (*name) are not allowed in data "
                                               "files; write the values out",
                                          event.start_mark.line + 1))
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and mark and mark.line >= text.rstrip().count("\n"):
            mark = exc.context_mark  # an unclosed bracket or quote shows at the end: point at it
        raise _Unreadable(Problem(rel, f"invalid YAML: {exc.problem or exc.context}",
                                  mark.line + 1 if mark else None)) from None
    except (yaml.YAMLError, ValueError) as exc:
        raise _Unreadable(Problem(rel, f"invalid YAML: {exc}")) from None
