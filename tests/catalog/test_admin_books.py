"""Staff keep the catalog: adding and editing books, and the categories they sit in."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.models import Book, Category
from tests.factories import make_book, make_category
from tests.pages import csrf_token as _csrf_token

DUNE = {
    "title": "Dune",
    "authors": "Frank Herbert",
    "year": "1965",
    "isbn": "0-441-17271-7",
    "language": "en",
    "publisher": "Chilton Books",
    "description": "A desert planet.",
    "price": "12.50",
    "stock_on_hand": "7",
    "category_id": "0",
    "is_active": "y",
}


def _books(app) -> list[Book]:
    with app.app_context():
        books = db.session.scalars(sa.select(Book).order_by(Book.id)).all()
        db.session.expunge_all()
        return books


def _book(app, book_id: int) -> Book:
    with app.app_context():
        book = db.session.get(Book, book_id)
        db.session.expunge(book)
        return book


# --------------------------------------------------------------------------- adding


def test_staff_add_a_book_with_its_isbn_stored_as_isbn13_and_isbn10(app, staff):
    response = staff.post("/admin/books/new", data=DUNE)

    (book,) = _books(app)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/books/{book.id}/edit"
    assert (book.title, book.authors, book.year) == ("Dune", "Frank Herbert", 1965)
    assert (book.isbn13, book.isbn10) == ("9780441172719", "0441172717")
    assert book.price == Decimal("12.50")
    assert book.stock_on_hand == 7
    assert book.is_active is True
    assert "dune" in book.search_text and "9780441172719" in book.search_text


def test_a_new_book_can_be_put_in_a_category(app, staff):
    with app.app_context():
        category_id = make_category(slug="sci-fi", name="Science fiction").id
        db.session.commit()

    staff.post("/admin/books/new", data={**DUNE, "category_id": str(category_id)})

    (book,) = _books(app)
    assert book.category_id == category_id


def test_a_new_book_is_found_by_the_admin_search(app, staff):
    staff.post("/admin/books/new", data={**DUNE, "authors": "Émile Zola"})

    by_author = staff.get("/admin/books?q=EMILE").get_data(as_text=True)
    by_isbn = staff.get("/admin/books?q=978-0-441-17271-9").get_data(as_text=True)
    nothing = staff.get("/admin/books?q=tolstoy").get_data(as_text=True)

    assert "Dune" in by_author and "Dune" in by_isbn
    assert "Dune" not in nothing and "No books match." in nothing


def test_a_search_for_a_wildcard_matches_only_that_character(app, staff):
    with app.app_context():
        make_book(title="100% Cotton")
        make_book(title="Plain Title")
        db.session.commit()

    page = staff.get("/admin/books?q=%25").get_data(as_text=True)

    assert "100% Cotton" in page and "Plain Title" not in page


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("price", "-1", "Enter a number from 0 to 100000."),
        ("price", "100000.01", "Enter a number from 0 to 100000."),
        ("price", "12.345", "Use at most two decimals"),
        ("price", "twelve", "Enter an amount such as 12.50."),
        ("price", "NaN", "Enter an amount such as 12.50."),
        ("price", "Infinity", "Enter an amount such as 12.50."),
        ("price", "", "This field is required."),
        ("stock_on_hand", "-3", "Enter a number from 0 to 100000."),
        ("stock_on_hand", "100001", "Enter a number from 0 to 100000."),
        ("stock_on_hand", "2.5", "Not a valid integer value."),
        ("stock_on_hand", "", "This field is required."),
        ("isbn", "978-0-441-17271-0", "This is not a valid ISBN-10 or ISBN-13."),
        ("year", "99999", "Enter a number from -3000 to 2100."),
        ("title", "", "This field is required."),
        ("title", "x" * 501, "Field cannot be longer than 500 characters."),
        ("category_id", "999", "Not a valid choice."),
    ],
)
def test_a_bad_book_is_shown_again_with_400_the_message_and_what_was_typed(
    app, staff, field, typed, message
):
    response = staff.post("/admin/books/new", data={**DUNE, field: typed})

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert 'value="Frank Herbert"' in page  # the other fields keep what was typed
    if typed and field not in {"title", "category_id"}:
        assert f'value="{typed}"' in page
    assert _books(app) == []


def test_a_zero_stock_and_zero_price_are_accepted(app, staff):
    response = staff.post("/admin/books/new",
                          data={**DUNE, "price": "0", "stock_on_hand": "0"})

    (book,) = _books(app)
    assert response.status_code == 302
    assert (book.price, book.stock_on_hand) == (Decimal("0.00"), 0)


def test_a_second_book_with_the_same_isbn_is_refused(app, staff):
    with app.app_context():
        make_book(title="Dune (first)", isbn13="9780441172719", isbn10="0441172717")
        db.session.commit()

    response = staff.post("/admin/books/new", data={**DUNE, "isbn": "9780441172719"})

    assert response.status_code == 400
    assert "already has this ISBN" in response.get_data(as_text=True)
    assert [b.title for b in _books(app)] == ["Dune (first)"]


def test_the_same_isbn_typed_as_isbn10_is_also_a_duplicate(app, staff):
    with app.app_context():
        make_book(title="Dune (first)", isbn13="9780441172719")
        db.session.commit()

    response = staff.post("/admin/books/new", data=DUNE)  # 0-441-17271-7 is the same book

    assert response.status_code == 400
    assert len(_books(app)) == 1


# --------------------------------------------------------------------------- editing


@pytest.fixture
def dune_id(app) -> int:
    with app.app_context():
        book = make_book(title="Dune", authors="Frank Herbert", isbn13="9780441172719",
                         isbn10="0441172717", price=Decimal("12.50"), stock_on_hand=4)
        db.session.commit()
        return book.id


def test_the_edit_form_shows_the_book_as_stored(staff, dune_id):
    page = staff.get(f"/admin/books/{dune_id}/edit").get_data(as_text=True)

    assert 'value="Dune"' in page
    assert 'value="9780441172719"' in page
    assert 'value="12.50"' in page
    assert 'value="4"' in page


def test_editing_a_book_saves_it_and_refreshes_its_search_text(app, staff, dune_id):
    response = staff.post(f"/admin/books/{dune_id}/edit",
                          data={**DUNE, "title": "Children of Dune", "isbn": "9780441172719",
                                "price": "15.00", "stock_on_hand": "0", "is_active": ""})

    book = _book(app, dune_id)
    assert response.status_code == 302
    assert book.title == "Children of Dune"
    assert (book.price, book.stock_on_hand, book.is_active) == (Decimal("15.00"), 0, False)
    assert "children of dune" in book.search_text
    assert "Children of Dune" in staff.get("/admin/books?q=children").get_data(as_text=True)


def test_a_book_keeps_its_own_isbn_when_edited(app, staff, dune_id):
    response = staff.post(f"/admin/books/{dune_id}/edit", data=DUNE)  # same ISBN, as ISBN-10

    assert response.status_code == 302
    assert _book(app, dune_id).isbn13 == "9780441172719"


def test_negative_stock_is_refused_and_nothing_changes(app, staff, dune_id):
    response = staff.post(f"/admin/books/{dune_id}/edit",
                          data={**DUNE, "title": "Changed", "stock_on_hand": "-1"})

    book = _book(app, dune_id)
    assert response.status_code == 400
    assert 'value="-1"' in response.get_data(as_text=True)
    assert (book.title, book.stock_on_hand) == ("Dune", 4)


def test_taking_another_books_isbn_is_refused(app, staff, dune_id):
    with app.app_context():
        other = make_book(title="Emma", isbn13="9780141439587").id
        db.session.commit()

    response = staff.post(f"/admin/books/{other}/edit",
                          data={**DUNE, "title": "Emma", "isbn": "0441172717"})

    assert response.status_code == 400
    assert f"Another book (no. {dune_id}) already has this ISBN." in response.get_data(
        as_text=True)
    assert _book(app, other).isbn13 == "9780141439587"


def test_an_isbn_saved_by_someone_else_a_moment_ago_is_refused_by_the_index(
        app, staff, dune_id, monkeypatch):
    """The look-up for a taken ISBN misses a book saved at the same moment; the unique index
    refuses the write, and the form is shown again with nothing changed."""
    from app.catalog import editing, isbn

    with app.app_context():
        other = make_book(title="Emma", isbn13="9780141439587").id
        db.session.commit()
    monkeypatch.setattr(editing, "_checked_isbn", lambda typed, book_id: (
        isbn.normalize(typed), isbn.to_isbn10(isbn.normalize(typed))))

    response = staff.post(f"/admin/books/{other}/edit",
                          data={**DUNE, "title": "Emma, again", "isbn": "0441172717"})

    assert response.status_code == 400
    assert "Another book already has this ISBN." in response.get_data(as_text=True)
    assert (_book(app, other).title, _book(app, other).isbn13) == ("Emma", "9780141439587")


def test_editing_a_missing_book_is_not_found(staff):
    assert staff.get("/admin/books/4242/edit").status_code == 404
    assert staff.post("/admin/books/4242/edit", data=DUNE).status_code == 404


# --------------------------------------------------------------------------- listing


def test_the_list_filters_low_out_of_stock_and_inactive_books(app, staff):
    with app.app_context():
        make_book(title="Plenty", stock_on_hand=50)
        make_book(title="Nearly gone", stock_on_hand=2)
        make_book(title="Sold out", stock_on_hand=0)
        make_book(title="Withdrawn", stock_on_hand=10, is_active=False)
        db.session.commit()

    def titles(query: str) -> set[str]:
        page = staff.get(f"/admin/books?{query}").get_data(as_text=True)
        return {t for t in ("Plenty", "Nearly gone", "Sold out", "Withdrawn") if t in page}

    assert titles("stock=low") == {"Nearly gone", "Sold out"}
    assert titles("stock=out") == {"Sold out"}
    assert titles("stock=inactive") == {"Withdrawn"}
    assert titles("") == {"Plenty", "Nearly gone", "Sold out", "Withdrawn"}


def test_the_list_sorts_by_price(app, staff):
    with app.app_context():
        make_book(title="Dear", price=Decimal("30.00"))
        make_book(title="Cheap", price=Decimal("3.00"))
        db.session.commit()

    page = staff.get("/admin/books?sort=price_desc").get_data(as_text=True)

    assert page.index("Dear") < page.index("Cheap")


@pytest.mark.parametrize("query", ["sort=drop+table", "stock=lots", "q=" + "x" * 201])
def test_a_bad_filter_is_a_400_with_a_message(staff, query):
    response = staff.get(f"/admin/books?{query}")

    assert response.status_code == 400
    assert "Please correct the filters above." in response.get_data(as_text=True)


def test_the_list_is_paginated(app, staff):
    with app.app_context():
        for n in range(30):
            make_book(title=f"Volume {n:02d}")
        db.session.commit()

    first = staff.get("/admin/books").get_data(as_text=True)
    second = staff.get("/admin/books?page=2").get_data(as_text=True)

    assert "Volume 00" in first and "Volume 29" not in first
    assert "Volume 29" in second and "Page 2 of 2" in second


# --------------------------------------------------------------------------- categories


def test_staff_create_a_category(app, staff):
    response = staff.post("/admin/categories/new",
                          data={"name": "Science fiction", "slug": "science-fiction",
                                "description": "Spaceships.", "position": "3"})

    assert response.status_code == 302
    with app.app_context():
        category = db.session.scalar(sa.select(Category))
        assert (category.slug, category.name, category.position) == (
            "science-fiction", "Science fiction", 3)


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Science Fiction", "Use lowercase letters, digits and single hyphens"),
        ("sci--fi", "Use lowercase letters, digits and single hyphens"),
        ("-scifi", "Use lowercase letters, digits and single hyphens"),
        ("fiction", "Another category already uses this slug."),
    ],
)
def test_a_bad_or_taken_slug_is_refused(app, staff, slug, message):
    with app.app_context():
        make_category(slug="fiction", name="Fiction")
        db.session.commit()

    response = staff.post("/admin/categories/new",
                          data={"name": "New", "slug": slug, "position": "0"})

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Category.id))) == 1


def test_the_category_list_counts_books(app, staff):
    with app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        make_category(slug="poetry", name="Poetry")
        make_book(category_id=fiction.id)
        make_book(category_id=fiction.id, is_active=False)
        db.session.commit()

    page = staff.get("/admin/categories").get_data(as_text=True)

    assert 'data-testid="count-fiction">2<' in page
    assert 'data-testid="count-poetry">0<' in page


def test_an_empty_category_can_be_deleted(app, staff):
    with app.app_context():
        category_id = make_category(slug="poetry", name="Poetry").id
        db.session.commit()

    response = staff.post(f"/admin/categories/{category_id}/delete")

    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Category, category_id) is None


def test_a_category_with_books_is_not_deleted_and_staff_are_told_why(app, staff):
    with app.app_context():
        category_id = make_category(slug="fiction", name="Fiction").id
        make_book(category_id=category_id)
        db.session.commit()

    response = staff.post(f"/admin/categories/{category_id}/delete", follow_redirects=True)

    assert "“Fiction” still holds 1 book" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Category, category_id) is not None


def test_editing_a_category_keeps_its_own_slug(app, staff):
    with app.app_context():
        category_id = make_category(slug="fiction", name="Fiction").id
        db.session.commit()

    response = staff.post(f"/admin/categories/{category_id}/edit",
                          data={"name": "Fiction & Prose", "slug": "fiction", "position": "1"})

    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Category, category_id).name == "Fiction & Prose"


# --------------------------------------------------------------------------- CSRF


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/books/new", DUNE),
        ("/admin/categories/new", {"name": "Poetry", "slug": "poetry", "position": "0"}),
    ],
)
def test_a_staff_post_without_a_csrf_token_is_refused(app, staff, path, data):
    response = staff.post(path, data=data)

    assert response.status_code == 400
    assert _books(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Category.id))) == 0


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_book_form_works_with_its_csrf_token(app, staff):
    token = _csrf_token(staff, "/admin/books/new")

    response = staff.post("/admin/books/new", data={**DUNE, "csrf_token": token})

    assert response.status_code == 302
    assert len(_books(app)) == 1


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_deleting_a_category_without_a_csrf_token_is_refused(app, staff):
    with app.app_context():
        category_id = make_category(slug="poetry", name="Poetry").id
        db.session.commit()

    response = staff.post(f"/admin/categories/{category_id}/delete")

    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Category, category_id) is not None


# --------------------------------------------------------------------------- low stock (issue 4)


@pytest.fixture
def shelf(app) -> None:
    with app.app_context():
        make_book(title="Plenty", stock_on_hand=9)
        make_book(title="Three left", stock_on_hand=3, sold_count=5)
        make_book(title="Three left, popular", stock_on_hand=3, sold_count=50)
        gone = make_book(title="Gone", stock_on_hand=0,
                         category_id=make_category(slug="fiction", name="Fiction").id)
        make_book(title="Withdrawn", stock_on_hand=0, is_active=False)
        from tests.factories import make_demand
        make_demand(book=gone)
        make_demand(book=gone)
        db.session.commit()


def _low(staff, query: str = "") -> list[str]:
    page = staff.get(f"/admin/books/low-stock?{query}").get_data(as_text=True)
    return re.findall(r'data-testid="low-stock-book">\s*<td><a href="[^"]+">([^<]+)</a>', page)


def test_the_low_stock_view_lists_books_for_sale_at_or_below_the_threshold(staff, shelf):
    assert _low(staff) == ["Gone", "Three left, popular", "Three left"]


@pytest.mark.parametrize("app_config", [{"LOW_STOCK_THRESHOLD": 0}])
def test_the_low_stock_threshold_comes_from_the_config(staff, shelf):
    assert _low(staff) == ["Gone"]


def test_the_low_stock_threshold_can_be_changed_on_the_page(staff, shelf):
    assert _low(staff, "threshold=9") == ["Gone", "Three left, popular", "Three left", "Plenty"]


def test_the_low_stock_view_shows_the_readers_waiting(staff, shelf):
    page = staff.get("/admin/books/low-stock").get_data(as_text=True)

    row = re.search(r'data-testid="low-stock-book">.*?</tr>', page, re.S).group(0)
    assert "Gone" in row and '<td class="num">2</td>' in row


@pytest.mark.parametrize("query", ["threshold=-1", "threshold=abc", "threshold=100001"])
def test_a_bad_low_stock_threshold_is_a_400(staff, query):
    assert staff.get(f"/admin/books/low-stock?{query}").status_code == 400


def test_the_low_stock_view_runs_a_fixed_number_of_queries(app, staff, shelf):
    from tests.helpers import counting_statements

    staff.get("/admin/books/low-stock")
    with counting_statements(app) as few:
        staff.get("/admin/books/low-stock")
    with app.app_context():
        category = make_category(slug="sci", name="Sci")
        for n in range(8):
            make_book(title=f"Scarce {n}", stock_on_hand=1, category_id=category.id)
        db.session.commit()
    with counting_statements(app) as many:
        staff.get("/admin/books/low-stock")

    assert len(many) == len(few)
