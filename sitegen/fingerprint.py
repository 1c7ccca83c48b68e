"""Fingerprints of render jobs: a digest of everything a job's output depends on.

A page is a pure function of its template set and the plain data it is given, so two builds
whose job for a path has the same fingerprint write the same bytes there, and the second can
reuse the first's file instead of rendering it. The digest walks the job's data; objects
met again (an article on many list pages, a tag on each of its pages) are digested once per
build and then stand in by their digest.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sitegen.plan import CopyJob, DataJob, FeedJob, Job, PageJob


class Fingerprints:
    def __init__(self, salt: bytes) -> None:
        """`salt`: what every output depends on besides its own data (templates, assets,
        sitegen's version)."""
        self._salt = salt
        self._memo: dict[int, bytes] = {}
        self._keep: list[Any] = []  # memo keys are ids: keep the objects alive

    def of(self, job: Job) -> str:
        digest = hashlib.blake2b(self._salt, digest_size=20)
        digest.update(job.path.encode())
        if isinstance(job, PageJob):
            digest.update(job.template.encode())
            self._feed(digest, job.context)
        elif isinstance(job, FeedJob):
            self._feed(digest, job.spec)
        elif isinstance(job, DataJob):
            digest.update(job.data)
        elif isinstance(job, CopyJob):
            digest.update(job.source.read_bytes())
        return digest.hexdigest()

    def _feed(self, digest: Any, value: Any) -> None:
        if isinstance(value, str):
            digest.update(b"s%d:" % len(value))
            digest.update(value.encode("utf-8", "surrogatepass"))
        elif value is None or isinstance(value, (bool, int, float)):
            digest.update(repr(value).encode())
        elif isinstance(value, (datetime, date)):
            digest.update(value.isoformat().encode())
        elif isinstance(value, (tuple, list)):
            digest.update(b"(%d" % len(value))
            for item in value:
                self._feed(digest, item)
        elif isinstance(value, dict):
            digest.update(b"{%d" % len(value))
            for key in sorted(value, key=repr):
                self._feed(digest, key)
                self._feed(digest, value[key])
        elif dataclasses.is_dataclass(value):
            digest.update(self._object(value))
        elif isinstance(value, Path):
            digest.update(str(value).encode())
        else:  # anything else that reaches a template: its repr must be stable to be used
            digest.update(type(value).__qualname__.encode() + repr(value).encode())

    def _object(self, value: Any) -> bytes:
        known = self._memo.get(id(value))
        if known is None:
            inner = hashlib.blake2b(type(value).__qualname__.encode(), digest_size=20)
            for item in dataclasses.fields(value):
                inner.update(item.name.encode())
                self._feed(inner, getattr(value, item.name))
            known = self._memo[id(value)] = inner.digest()
            self._keep.append(value)
        return known
