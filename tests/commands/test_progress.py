"""The progress bar: drawn only on long builds, and erased at the end."""

from __future__ import annotations

import io

import pytest

from sitegen.commands import progress
from sitegen.commands.progress import ProgressBar


def test_short_builds_draw_nothing() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar("writing", 10, 100)
    bar.close()
    assert stream.getvalue() == ""


def test_long_builds_draw_a_bar_and_erase_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "SHOW_AFTER_SECONDS", 0.0)
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 0.0)
    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar("Markdown", 50, 200)
    bar("Markdown", 200, 200)
    bar.close()
    out = stream.getvalue()
    assert "Markdown 50/200" in out and "Markdown 200/200" in out
    assert "[" + "#" * 7 + "." * 23 + "]" in out  # a quarter of 30 cells
    assert out.endswith("\r\x1b[K")  # the line is cleared for the summary
