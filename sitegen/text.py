"""Characters pages and feeds cannot carry: how sitegen finds them and what it puts instead.

XML 1.0 forbids C0 control characters (tab and line breaks aside), lone surrogates and
U+FFFE/U+FFFF: one of them makes a feed unreadable. HTML also counts C1 controls and the
other noncharacters as errors. They reach a site from pasted text, from YAML and JSON escapes
("\\ud800", "\\uFFFE") and from broken conversions, and never carry meaning, so readers of
articles replace them (with a warning) and config and data files refuse them.
"""

from __future__ import annotations

import re

# U+FDD0..U+FDEF and the last two code points of every plane.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    chr(plane * 0x10000 + 0xFFFE) + chr(plane * 0x10000 + 0xFFFF) for plane in range(17))
UNWANTED = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff{_NONCHARACTERS}]")
# The same, but with the noncharacters of planes 1 to 16 as one range (each candidate there is
# checked on its own): a class listing them makes `re` ten times slower on every text.
_CANDIDATE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
                        "\ufffe\uffff\U0001fffe-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _unwanted(char: str) -> bool:
    return char < "\U0001fffe" or ord(char) & 0xFFFE == 0xFFFE


def find_unwanted(text: str) -> int | None:
    """Where the first character of `text` that pages and feeds cannot carry is, if any."""
    for match in _CANDIDATE.finditer(text):
        if _unwanted(match.group()):
            return match.start()
    return None


def first_unwanted(text: str) -> str | None:
    """The first character of `text` that pages and feeds cannot carry, if any."""
    at = find_unwanted(text)
    return text[at] if at is not None else None


def clean(text: str) -> str:
    """`text` without such characters. Controls become spaces (a pasted vertical tab or
    form feed stood between words); a lone surrogate becomes U+FFFD, as browsers do, and a
    surrogate pair (how JSON, and YAML without libyaml, read "\\ud83d\\ude00") the
    character it encodes; noncharacters are left out."""
    if find_unwanted(text) is None:
        return text
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _CANDIDATE.sub(_replacement, text)


def _replacement(match: re.Match[str]) -> str:
    char = match.group()
    return char if not _unwanted(char) else " " if char < "\xa0" else ""


def code_point(char: str) -> str:
    """How messages name a character: U+FFFE."""
    return f"U+{ord(char):04X}"


def escaped(text: str) -> str:
    """`text` for a message, with such characters written as escapes ("A\\uffff")."""
    return UNWANTED.sub(lambda m: m.group().encode("unicode-escape",
                                                   "backslashreplace").decode("ascii"), text)


def line_of_char(text: str, char: str) -> int | None:
    """The line of the first place `char` is written in a file's `text`, as itself or as an
    escape of TOML, JSON or YAML ("\\uFFFE", "\\U0001FFFE", "\\x01"), if anywhere."""
    number = ord(char)
    places = [at for at in [text.find(char)] if at >= 0]
    for escape in (f"\\u{number:04x}", f"\\U{number:08x}", f"\\x{number:02x}"):
        match = re.search(re.escape(escape), text, re.IGNORECASE)
        if match:
            places.append(match.start())
    return text.count("\n", 0, min(places)) + 1 if places else None
