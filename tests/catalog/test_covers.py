"""Generated covers: valid, escaped, deterministic SVG for any title (no app, no database)."""

from __future__ import annotations

from types import SimpleNamespace
from xml.etree import ElementTree

import pytest

from app.catalog.covers import PALETTES, cover_svg, display_width, render_cover, wrap

SVG = "{http://www.w3.org/2000/svg}"


def book(id=1, title="Dune", authors="Frank Herbert"):
    return SimpleNamespace(id=id, title=title, authors=authors)


def texts(svg: str) -> list[str]:
    root = ElementTree.fromstring(svg)
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


def test_a_cover_is_a_well_formed_svg_document():
    root = ElementTree.fromstring(cover_svg(book()))

    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == "0 0 400 600"


def test_title_and_authors_are_printed_on_the_cover():
    title_text, author_text = texts(cover_svg(book()))

    assert title_text == "Dune"
    assert author_text == "Frank Herbert"


def test_markup_characters_in_a_title_are_escaped_not_interpreted():
    title = "Tom & Jerry <script>alert('x')</script> \"Quoted\""

    svg = cover_svg(book(title=title, authors="A & B <c>"))

    root = ElementTree.fromstring(svg)
    assert "<script>" not in svg
    assert not list(root.iter(f"{SVG}script"))
    assert "Tom & Jerry" in "".join(texts(svg)[0])
    assert root.find(f"{SVG}title").text.startswith("Tom & Jerry <script>")
    assert "A & B <c>" in texts(svg)[1]


def test_control_characters_that_xml_forbids_are_dropped():
    svg = cover_svg(book(title="Bad\x00\x08 byte\ufffe", authors="X\x1b"))

    assert texts(svg)[0] == "Bad byte"


def test_a_chinese_title_is_printed_and_wrapped_by_character_width():
    svg = cover_svg(book(title="三体II：黑暗森林与死神永生的故事", authors="刘慈欣"))

    lines = [el.text for el in ElementTree.fromstring(svg).iter(f"{SVG}tspan")]
    assert "".join(lines[:-1]) == "三体II：黑暗森林与死神永生的故事"
    assert lines[-1] == "刘慈欣"
    assert len(lines) > 2


def test_the_same_book_always_gets_the_same_cover():
    assert cover_svg(book(id=7)) == cover_svg(book(id=7))


def test_neighbouring_books_get_different_palettes():
    backgrounds = {render_cover(i, "Same", "Same").split('fill="')[1][:7] for i in range(3)}

    assert len(backgrounds) == 3
    assert len(PALETTES) >= 8


def test_a_very_long_title_is_cut_with_an_ellipsis():
    svg = cover_svg(book(title="word " * 200))

    lines = [el.text for el in ElementTree.fromstring(svg).iter(f"{SVG}tspan")]
    assert lines[-2].endswith("…")
    assert len(lines) <= 7


def test_a_cover_without_a_title_still_renders():
    svg = cover_svg(book(id=None, title="", authors=""))

    assert texts(svg)[0] == "Untitled"


def test_many_authors_are_shortened():
    svg = cover_svg(book(authors="Ann One, Bob Two, Cy Three, Di Four"))

    assert texts(svg)[1] == "Ann One, Bob Two …"


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("The Hunger Games", 10, ["The Hunger", "Games"]),
        ("Supercalifragilistic", 8, ["Supercal", "ifragili", "stic"]),
        ("三体黑暗森林", 6, ["三体黑", "暗森林"]),
        ("", 10, []),
    ],
)
def test_wrapping_breaks_at_spaces_and_between_wide_characters(text, width, expected):
    assert wrap(text, width, max_lines=5) == expected


def test_wide_characters_count_double():
    assert display_width("ab三") == 4
