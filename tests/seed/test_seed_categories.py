"""The rules that file each goodbooks book under a category (app.seed.categories)."""

from __future__ import annotations

import pytest

from app.seed.categories import (
    AUTHOR_CATEGORY,
    CATEGORIES,
    CATEGORY_SLUGS,
    author_category,
    categorize,
)


@pytest.mark.parametrize(("title", "authors", "year", "expected"), [
    ("The Shining (The Shining #1)", "Stephen King", 1977, "horror"),
    ("And Then There Were None", "Agatha Christie", 1939, "mystery-thriller"),
    ("Guards! Guards!", "Terry Pratchett", 1989, "fantasy"),
    ("Green Eggs and Ham", "Dr. Seuss", 1960, "children"),
    ("Saga, Vol. 1 (Saga, #1)", "Brian K. Vaughan, Fiona Staples", 2012,
     "comics-graphic-novels"),
    ("Romeo and Juliet", "William Shakespeare", 1597, "classics"),
    ("Foundation (Foundation #1)", "Isaac Asimov", 1951, "science-fiction"),
])
def test_well_known_authors_are_filed_by_the_author_table(title, authors, year, expected):
    assert categorize(title, authors, year) == expected


@pytest.mark.parametrize(("title", "authors", "year", "expected"), [
    ("Naruto, Vol. 01: The Tests of the Ninja", "Masashi Kishimoto, Katy Bridges", 2003,
     "comics-graphic-novels"),
    ("The Sandman, Vol. 1: Preludes and Nocturnes", "Neil Gaiman, Sam Kieth", 1991,
     "comics-graphic-novels"),
    ("Some Unknown Manga, Vol. 3", "Nobody Known", 2005, "comics-graphic-novels"),
    ("The Barefoot Contessa Cookbook", "Ina Garten, Melanie Acevedo", 1999, "food-drink"),
    ("The Collected Poems", "Sylvia Plath, Ted Hughes", 1981, "poetry"),
    ("A History of Somewhere", "An Unknown Historian", 2001, "history"),
    ("Walking Home: A Memoir", "An Unknown Walker", 2010, "biography-memoir"),
    ("A Very Old Tale", "An Unknown Writer", 1850, "classics"),
    ("The Odyssey", "Homer, Robert Fagles", -720, "classics"),
    ("A Novel Nobody Filed", "An Unknown Writer", 2010, "fiction"),
    ("A Novel With No Year", "An Unknown Writer", None, "fiction"),
])
def test_title_markers_and_the_year_decide_for_authors_not_in_the_table(title, authors, year,
                                                                         expected):
    assert categorize(title, authors, year) == expected


def test_the_author_table_beats_weak_title_markers():
    assert categorize("Diary of a Wimpy Kid", "Jeff Kinney", 2007) == "children"
    assert categorize("The Princess Diaries", "Meg Cabot", 2000) == "young-adult"


def test_poems_inside_tales_and_stories_collections_do_not_make_poetry():
    assert categorize("The Complete Tales and Poems", "Edgar Allan Poe", 1845) == "classics"


def test_a_later_listed_author_counts_when_the_first_is_unknown():
    assert author_category("Robin Furth, Stephen King") == "horror"


def test_author_names_are_matched_despite_doubled_spaces():
    assert author_category("Michael  Grant") == "young-adult"


def test_the_table_only_uses_known_categories_and_about_fifteen_exist():
    assert set(AUTHOR_CATEGORY.values()) <= CATEGORY_SLUGS
    assert len(AUTHOR_CATEGORY) > 300
    assert 12 <= len(CATEGORIES) <= 16
    assert [c.position for c in CATEGORIES] == sorted(c.position for c in CATEGORIES)
