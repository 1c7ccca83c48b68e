"""slugify: the one function that turns names into URL path segments."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sitegen.slugs import slugify

SAFE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@pytest.mark.parametrize(("text", "expected"), [
    ("Shōgun", "shogun"),
    ("Zoë Müller", "zoe-muller"),
    ("Agents of S.H.I.E.L.D.", "agents-of-s-h-i-e-l-d"),
    ("Disney+", "disney-plus"),
    ("Apple TV+", "apple-tv-plus"),
    ("Grey's Anatomy", "greys-anatomy"),
    ("Grey\u2019s Anatomy", "greys-anatomy"),
    ("Law & Order", "law-and-order"),
    ("Москва", "moskva"),
])
def test_transliterates_and_joins_words_with_hyphens(text: str, expected: str) -> None:
    assert slugify(text) == expected


@pytest.mark.parametrize("spelling", ["Jessica Jones", "jessica jones", "JESSICA JONES",
                                      "  Jessica   Jones  ", "Jessica-Jones"])
def test_spellings_differing_in_case_and_spacing_share_one_slug(spelling: str) -> None:
    assert slugify(spelling) == "jessica-jones"


@pytest.mark.parametrize("text", ["!!!", "", "   ", "---", "...", "\x00", "/", "\\"])
def test_text_without_letters_or_digits_gives_empty_slug(text: str) -> None:
    assert slugify(text) == ""


@pytest.mark.parametrize("text", ["../../etc/passwd", "..\\..\\windows", "/absolute/path", "a/../b"])
def test_path_like_text_becomes_a_single_safe_segment(text: str) -> None:
    slug = slugify(text)
    assert SAFE.match(slug)
    assert "/" not in slug and "\\" not in slug and ".." not in slug


def test_very_long_titles_are_cut_to_at_most_80_characters() -> None:
    slug = slugify("word " * 100)
    assert 0 < len(slug) <= 80
    assert SAFE.match(slug) and not slug.endswith("-")


def test_leading_and_trailing_separators_are_stripped() -> None:
    assert slugify("--The Crown--") == "the-crown"


@given(st.text())
def test_any_text_gives_empty_or_safe_slug(text: str) -> None:
    slug = slugify(text)
    assert slug == "" or SAFE.match(slug), slug
    assert ".." not in slug and "/" not in slug and "\\" not in slug


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_slugify_is_idempotent_on_its_output(text: str) -> None:
    slug = slugify(text)
    assert slugify(slug) == slug
