"""text.clean and friends: the characters pages and feeds cannot carry, found and replaced."""

from __future__ import annotations

import pytest
from lxml import etree

from sitegen.text import UNWANTED, clean, code_point, first_unwanted


@pytest.mark.parametrize(("text", "cleaned"), [
    ("plain text, tab\tand\nnewline", "plain text, tab\tand\nnewline"),
    ("bell\x07here", "bell here"), ("C1\x85next", "C1 next"), ("del\x7f", "del "),
    ("non\ufffechar", "nonchar"), ("non\uffffchar", "nonchar"), ("\ufdd0x\U0010ffff", "x"),
    ("lone \ud800 high", "lone \ufffd high"), ("lone \udc00 low", "lone \ufffd low"),
    ("pair \ud83d\ude00 joined", "pair \U0001f600 joined"),
    ("\U0001f600 real emoji and \u2028 separator", "\U0001f600 real emoji and \u2028 separator"),
])
def test_clean(text: str, cleaned: str) -> None:
    assert clean(text) == cleaned
    assert first_unwanted(clean(text)) is None


def test_what_is_left_is_valid_xml() -> None:
    every = "".join(chr(c) for c in range(0x110000))
    root = etree.fromstring(f"<t>{clean(every).replace('&', '').replace('<', '')}</t>".encode())
    assert root.text is not None and len(root.text) > 1_000_000


def test_first_unwanted_and_its_name() -> None:
    assert first_unwanted("ok \ufffe then \x01") == "\ufffe"
    assert first_unwanted("fine") is None
    assert code_point("\ufffe") == "U+FFFE" and code_point("\x01") == "U+0001"
    assert UNWANTED.search("\U0010fffe")
