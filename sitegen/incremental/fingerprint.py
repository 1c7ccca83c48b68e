"""Fingerprints of render jobs: a digest of everything a job's output depends on.

A page is a pure function of its template set and the plain data it is given, so two builds
whose job for a path has the same fingerprint write the same bytes there, and the second can
reuse the first's file instead of rendering it. The digest walks the job's data; objects
met again (an article on many list pages, a tag on each of its pages) are digested once per
build and then stand in by their digest.

The walk runs for every job of every cached build, so it is kept cheap: it writes the data
as one string of self-delimiting tokens (a string's length before it, a ";" after any other
atom) and hashes that once, and it picks each value's handler by its exact type from a table
filled on first sight of the type.

A page depends on its data and on the static files it names with `asset()`, whose URLs carry
hashes of their bytes; which ones, only rendering tells. So a page's fingerprint is settled
after it is rendered (`settle`): a digest of its data's fingerprint and of those assets'
versions, followed by the assets' names (each after a NUL, which no path holds). The next
build reads the names back from the record and works out, before rendering, what the
fingerprint would be now (`again`): only the pages that named a changed file (a replaced
photo, the stylesheet) render again, not every page of the site.

A processed image (`model.Image` with a `key`) is treated the same way: the data's digest holds
only its key and alt text, and a page whose template read it names it among its assets
(`theme.image_asset`), its version being the digest of everything else (the variants' names,
sizes and lengths) as this build's data holds it. A photo's new variants then change the
fingerprints of the pages that show it, and not those whose data only carries it (a
neighbour's previous/next link, a feed item's related stories). A feed, rendered in Python,
shows its articles' lead images and its logo: their versions are part of its data's digest.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable
from datetime import date, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

from sitegen.model import Image
from sitegen.render.plan import CopyJob, DataJob, FeedJob, Job, PageJob
from sitegen.render.theme import IMAGE_ASSET, Theme, image_asset
from sitegen.tree import content_stamp

_Handler = Callable[[Any, list[str]], None]
_SHARED_LENGTH = 16  # tuples this long are memoized by id: walking one costs more than a look-up
ASSETS = "\0"  # in a page's fingerprint, before each asset it named


class Fingerprints:
    def __init__(self, salt: bytes,
                 versions: Callable[[str], str | None] | None = None) -> None:
        """`salt`: what every output depends on besides its own data and assets (templates,
        sitegen's version); `versions`: each asset's version now (`Theme.asset_version`)."""
        self._salt = salt
        self._versions = versions
        self._memo: dict[int, str] = {}  # id of a dataclass object or long tuple -> digest
        self._keep: list[Any] = []  # memo keys are ids: keep the objects alive
        self._handlers: dict[type, _Handler] = {
            str: _string, int: _atom, bool: _atom, float: _atom, type(None): _atom,
            datetime: _moment, date: _moment, tuple: self._tuple, list: self._sequence,
            dict: self._mapping}
        self._fields: dict[type, Callable[[Any], tuple[Any, ...]]] = {}  # a dataclass's values
        self._handler(Image)  # its fields, for an image published as it is (`_image`)
        self._handlers[Image] = self._image
        self._images: dict[str, str | None] = {}  # name -> version (None: two, unequal)
        self._image_versions: dict[int, str] = {}  # id of an Image -> its version

    @classmethod
    def of_theme(cls, theme: Theme) -> Fingerprints:
        return cls(theme.salt(), theme.asset_version)

    def settle(self, fingerprint: str, assets: Iterable[str]) -> str | None:
        """The fingerprint of an output whose job's data has `fingerprint` (`of`) and whose
        render named `assets`; None when one of them is not a readable static file now."""
        names = sorted(set(assets))
        if not names:
            return fingerprint
        digest = hashlib.blake2b(fingerprint.encode(), digest_size=20)
        for name in names:
            version = self._version(name)
            if version is None:
                return None
            digest.update(b"%d:%s%s;" % (len(name), name.encode("utf-8", "surrogatepass"),
                                         version.encode()))
        return digest.hexdigest() + "".join(ASSETS + name for name in names)

    def again(self, fingerprint: str, recorded: str) -> str | None:
        """What `recorded`, the fingerprint an output was written with, would be now for a
        job whose data's fingerprint is `fingerprint`: equal when the output would be the
        same bytes (same data, and the assets it named unchanged)."""
        return self.settle(fingerprint, recorded.split(ASSETS)[1:])

    def _version(self, name: str) -> str | None:
        if name.startswith(IMAGE_ASSET):  # an image met in the data walked so far
            return self._images.get(name)
        return self._versions(name) if self._versions is not None else None

    def of(self, job: Job) -> str:
        """The fingerprint of a job's data (a page's, before its assets are known)."""
        digest = hashlib.blake2b(self._salt, digest_size=20)
        path = job.path.encode()
        digest.update(b"%d:%s" % (len(path), path))
        if isinstance(job, PageJob):
            out = ["page"]
            _string(job.template, out)
            self._walk(job.context, out)
            digest.update(_encode(out))
        elif isinstance(job, FeedJob):
            out = ["feed"]
            self._walk(job.spec, out)
            for image in (*(article.lead_image for article in job.spec.articles),
                          job.spec.logo):
                if image is not None and image.key:
                    out += ("v", self._image_versions[id(image)])  # walked above
            digest.update(_encode(out))
        elif isinstance(job, DataJob):
            digest.update(job.data)
        elif isinstance(job, CopyJob):
            digest.update(content_stamp(job.source))  # photos are large: not read
        return digest.hexdigest()

    def _walk(self, value: Any, out: list[str]) -> None:
        self._walk_all((value,), out)

    def _walk_all(self, values: Iterable[Any], out: list[str]) -> None:
        """Write each of `values`. Strings, None and objects already digested, the most
        common, are written here, without a call."""
        handlers, memo = self._handlers, self._memo
        for value in values:
            kind = type(value)
            if kind is str:
                out += ("s", str(len(value)), ":", value)
            elif value is None:
                out.append("None;")
            elif (known := memo.get(id(value))) is not None:
                out += ("o", known)
            else:
                handler = handlers.get(kind)
                if handler is None:
                    handler = handlers[kind] = self._handler(kind)
                handler(value, out)

    def _handler(self, kind: type) -> _Handler:
        """How to write a value of a type met for the first time: by what it is an instance
        of, so a subclass of tuple or dict is written as one (a str subclass, Markup, keeps
        its name: a template escapes a str, not Markup)."""
        for base, handler in ((str, _text), (bool, _atom), (int, _atom), (float, _atom),
                              (datetime, _moment), (date, _moment), (tuple, self._tuple),
                              (list, self._sequence), (dict, self._mapping),
                              (set, self._set), (frozenset, self._set)):
            if issubclass(kind, base):
                return handler
        if dataclasses.is_dataclass(kind):
            names = [item.name for item in dataclasses.fields(kind)]
            # attrgetter gives a tuple of the values, of one name the value alone
            self._fields[kind] = attrgetter(*names) if len(names) > 1 \
                else lambda value: (getattr(value, names[0]),)
            return self._object
        if issubclass(kind, Path):
            return _path
        return _other

    def _sequence(self, value: tuple[Any, ...] | list[Any], out: list[str]) -> None:
        out += ("(", str(len(value)), ";")
        self._walk_all(value, out)

    def _tuple(self, value: tuple[Any, ...], out: list[str]) -> None:
        """A long tuple is digested once and then stands in by its digest, like an object:
        a paginated list's page URLs are one tuple on each of its (maybe 1,000) pages."""
        if len(value) < _SHARED_LENGTH:
            self._sequence(value, out)
        else:
            inner: list[str] = []
            self._sequence(value, inner)
            self._remember(value, inner, out)

    def _mapping(self, value: dict[Any, Any], out: list[str]) -> None:
        """Keys in their order: a template that loops over a dict shows that order."""
        out += ("{", str(len(value)), ";")
        for pair in value.items():
            self._walk_all(pair, out)

    def _set(self, value: set[Any] | frozenset[Any], out: list[str]) -> None:
        """Members in the order of their tokens: a set's own order follows str hashes, which
        differ between processes."""
        members = []
        for member in value:
            tokens: list[str] = []
            self._walk(member, tokens)
            members.append("".join(tokens))
        out += ("{", str(len(value)), "|", *sorted(members))

    def _object(self, value: Any, out: list[str]) -> None:
        kind = type(value)
        inner: list[str] = []
        _string(kind.__qualname__, inner)
        self._walk_all(self._fields[kind](value), inner)
        self._remember(value, inner, out)

    def _image(self, value: Image, out: list[str]) -> None:
        """A processed image stands in by its key and alt text; the rest is its version,
        which a page that read it names (see the module's docstring)."""
        if not value.key:
            self._object(value, out)
            return
        inner: list[str] = []  # all but the alt text, which differs between uses
        self._walk_all(_IMAGE_VERSION(value), inner)
        version = self._image_versions[id(value)] = _digest(inner)
        name = image_asset(value.key)
        known = self._images.setdefault(name, version)
        if known != version:  # cannot happen (a key's variants are one); never reused if so
            self._images[name] = None
        light = ["I"]
        _string(value.key, light)
        _string(value.alt, light)
        self._remember(value, light, out)

    def _remember(self, value: Any, inner: list[str], out: list[str]) -> None:
        """Write the digest of `inner`, `value`'s tokens, and note it by the id of `value`:
        `_walk_all` writes it when it meets the object again."""
        known = self._memo[id(value)] = _digest(inner)
        self._keep.append(value)
        out += ("o", known)


_IMAGE_VERSION = attrgetter(*(f.name for f in dataclasses.fields(Image)
                              if f.name not in ("alt", "key")))


def _encode(tokens: list[str]) -> bytes:
    return "".join(tokens).encode("utf-8", "surrogatepass")


def _digest(tokens: list[str]) -> str:
    return hashlib.blake2b(_encode(tokens), digest_size=20).hexdigest()


def _string(value: str, out: list[str]) -> None:
    out += ("s", str(len(value)), ":", value)


def _text(value: str, out: list[str]) -> None:
    """A str subclass: Markup is not escaped where a str with the same text would be."""
    out += ("S", type(value).__qualname__, ":", str(len(value)), ":", value)


def _atom(value: bool | int | float | None, out: list[str]) -> None:
    out += (repr(value), ";")  # no such repr holds a ";"


def _moment(value: date, out: list[str]) -> None:
    out += ("t", value.isoformat(), ";")


def _path(value: Path, out: list[str]) -> None:
    out += ("p", str(len(str(value))), ":", str(value))


def _other(value: Any, out: list[str]) -> None:
    """Anything else that reaches a template: its repr must be stable to be used."""
    text = type(value).__qualname__ + repr(value)
    out += ("r", str(len(text)), ":", text)
