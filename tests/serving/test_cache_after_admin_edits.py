"""An admin edit to what the catalog pages show is on those pages at the very next request:
the header's categories, the home shelves and every cached page (a book's, a category's) are
forgotten once the edit is committed, also for the visitor served by the front door."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.core.extensions import db
from app.models import Book, Review, ReviewStatus
from tests.factories import (
    make_book,
    make_category,
    make_member,
)
from tests.helpers import counting_statements


@pytest.fixture
def shop(app) -> dict:
    with app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        poetry = make_category(slug="poetry", name="Poetry")
        dune = make_book(title="Dune", authors="Frank Herbert", category=fiction,
                         price=Decimal("12.50"), stock_on_hand=0, sold_count=9)
        make_book(title="Emma", category=fiction, stock_on_hand=3)
        reader = make_member(email="reader@example.test")
        db.session.add(Review(member_id=reader.id, book_id=dune.id, rating=5,
                              body="Spice and sand, a classic."))
        db.session.commit()
        review_id = db.session.scalar(sa.select(Review.id))
        return {"fiction": fiction.id, "poetry": poetry.id, "dune": dune.id,
                "review": review_id}


@pytest.fixture
def visitor(app, shop):
    """A visitor who has seen (and so cached) the home, a category and a book page."""
    client = app.test_client()
    for url in ("/", "/category/fiction", f"/book/{shop['dune']}"):
        assert client.get(url).status_code == 200
    return client


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _book_form(app, book_id: int, **changes) -> dict:
    with app.app_context():
        book = db.session.get(Book, book_id)
        data = {"title": book.title, "authors": book.authors, "year": "",
                "isbn": "", "language": book.language or "en", "publisher": "",
                "description": "", "price": str(book.price),
                "stock_on_hand": str(book.stock_on_hand),
                "category_id": str(book.category_id or 0), "is_active": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_a_new_category_shows_in_the_header_of_cached_pages_at_once(app, shop, staff, visitor):
    response = staff.post("/admin/categories/new",
                          data={"slug": "history", "name": "History", "position": "9"})
    assert response.status_code == 302

    for url in ("/", "/category/fiction", f"/book/{shop['dune']}"):
        assert 'href="/category/history">History</a>' in _page(visitor, url)
    assert "<h1>History</h1>" in _page(visitor, "/category/history")


def test_a_renamed_category_shows_in_the_header_and_on_the_home_shelves_at_once(
        app, shop, staff, visitor):
    response = staff.post(f"/admin/categories/{shop['fiction']}/edit",
                          data={"slug": "novels", "name": "Novels", "position": "1"})
    assert response.status_code == 302

    home = _page(visitor, "/")
    assert 'href="/category/novels">Novels</a>' in home and "/category/fiction" not in home
    assert "/category/fiction" not in _page(visitor, f"/book/{shop['dune']}")
    assert visitor.get("/category/fiction").status_code == 404


def test_a_deleted_category_leaves_the_header_at_once(app, shop, staff, visitor):
    response = staff.post(f"/admin/categories/{shop['poetry']}/delete")
    assert response.status_code == 302

    for url in ("/", "/category/fiction", f"/book/{shop['dune']}"):
        assert "/category/poetry" not in _page(visitor, url)


def test_an_edited_book_shows_its_new_title_on_every_cached_page_at_once(
        app, shop, staff, visitor):
    response = staff.post(f"/admin/books/{shop['dune']}/edit",
                          data=_book_form(app, shop["dune"], title="Dune Messiah"))
    assert response.status_code == 302

    for url in ("/", "/category/fiction", f"/book/{shop['dune']}"):
        assert "Dune Messiah" in _page(visitor, url)


def test_an_edited_book_shows_its_new_title_among_another_book_s_related_books_at_once(
        app, shop, staff, visitor):
    emma = f"/book/{_book_id(app, 'Emma')}"
    assert ">Dune</a>" in _page(visitor, emma)  # the category's best sellers, cached now

    staff.post(f"/admin/books/{shop['dune']}/edit",
               data=_book_form(app, shop["dune"], title="Dune Messiah"))

    assert ">Dune Messiah</a>" in _page(visitor, emma)


def test_the_books_of_a_category_share_its_best_sellers_for_their_related_books(
        app, shop, visitor):
    # The visitor has seen Dune's page: Emma's first view reads no best sellers.
    emma = f"/book/{_book_id(app, 'Emma')}"
    with counting_statements(app) as statements:
        page = _page(visitor, emma)

    assert ">Dune</a>" in page
    assert not any("ORDER BY book.sold_count DESC" in s for s in statements), statements


def _book_id(app, title: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Book.id).where(Book.title == title))


def test_a_book_taken_off_sale_leaves_the_shelves_and_comes_back_when_put_on_sale(
        app, shop, staff, visitor):
    staff.post(f"/admin/books/{shop['dune']}/edit",
               data=_book_form(app, shop["dune"], is_active=None))
    assert ">Dune<" not in _page(visitor, "/category/fiction")
    assert "Dune" not in _page(visitor, "/")

    staff.post(f"/admin/books/{shop['dune']}/edit", data=_book_form(app, shop["dune"]))
    assert "Dune" in _page(visitor, "/category/fiction") and "Dune" in _page(visitor, "/")


def test_a_new_book_is_on_the_home_shelves_at_once(app, shop, staff, visitor):
    response = staff.post("/admin/books/new", data={
        "title": "Brand New Arrival", "authors": "A. Writer", "language": "en",
        "price": "9.90", "stock_on_hand": "4", "category_id": str(shop["fiction"]),
        "is_active": "y"})
    assert response.status_code == 302

    assert "Brand New Arrival" in _page(visitor, "/")
    assert "Brand New Arrival" in _page(visitor, "/category/fiction")


def test_stock_received_shows_the_book_in_stock_at_once(app, shop, staff, visitor):
    assert "Dune" not in _page(visitor, "/category/fiction?in_stock=y")

    response = staff.post("/admin/stock/receipts", data={"book": str(shop["dune"]),
                                                         "quantity": "5"})
    assert response.status_code == 302

    assert "Dune" in _page(visitor, "/category/fiction?in_stock=y")


def test_an_approved_review_shows_on_the_cached_book_page_at_once(app, shop, staff, visitor):
    assert "Spice and sand" not in _page(visitor, f"/book/{shop['dune']}")

    response = staff.post(f"/admin/reviews/{shop['review']}/moderate",
                          data={"action": "approve"})
    assert response.status_code == 302

    with app.app_context():
        assert db.session.get(Review, shop["review"]).status is ReviewStatus.APPROVED
    assert "Spice and sand" in _page(visitor, f"/book/{shop['dune']}")
