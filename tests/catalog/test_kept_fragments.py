"""Parts of listings and book pages are rendered once per process and kept under what they
show (app.catalog.web.views: book_cards, kept_filters, kept_macro, kept_book_feedback), so a
page that misses the page cache renders only what no page has shown yet. What is kept is never
stale: a changed title, price or stock, another query, language or review is another key."""

from __future__ import annotations

from decimal import Decimal

import pytest
from markupsafe import escape

from app.catalog.models import Book
from app.core.extensions import db
from app.feedback import reviews
from app.feedback.models import Review, ReviewStatus
from app.serving import page_store
from tests.factories import make_book, make_category, make_member

pytestmark = pytest.mark.parametrize("app_config", [{"PAGE_CACHE_SECONDS": 0}])


@pytest.fixture
def shelf(app):
    with app.app_context():
        fiction = make_category(slug="fiction", name="Fiction")
        make_category(slug="poetry", name="Poetry")
        book = make_book(title="The Kept Lighthouse", authors="Ada Keeper", category=fiction,
                         price=Decimal("12.50"), stock_on_hand=40, sold_count=99)
        others = [make_book(title=f"Neighbour {n}", category=fiction, sold_count=n,
                            stock_on_hand=9) for n in range(3)]
        db.session.commit()
        return {"book": book.id, "other": others[0].id}


def _change(app, book_id: int, **values) -> None:
    with app.app_context():
        book = db.session.get(Book, book_id)
        for name, value in values.items():
            setattr(book, name, value)
        db.session.commit()


def _approved_review(app, book_id: int, email: str, name: str, rating: int, body: str) -> None:
    """A new member's approved review of the book, saved as moderation saves it (the book's
    cached feedback forgotten)."""
    with app.app_context():
        reader = make_member(email=email, name=name)
        db.session.add(Review(book_id=book_id, member_id=reader.id, rating=rating, body=body,
                              status=ReviewStatus.APPROVED))
        db.session.commit()
        reviews.forget_book(book_id)


def _card(html: str, title: str) -> str:
    start = html.index(f">{title}</a>")
    begin = html.rindex('<article class="book-card">', 0, start)
    return html[begin:html.index("</article>", start)]


def test_a_listed_card_follows_its_book_s_price_stock_and_title(app, client, shelf):
    page = client.get("/category/fiction").get_data(as_text=True)
    assert "12.50" in _card(page, "The Kept Lighthouse")
    assert "In stock" in _card(page, "The Kept Lighthouse")

    _change(app, shelf["book"], price=Decimal("9.75"), stock_on_hand=2)
    card = _card(client.get("/category/fiction").get_data(as_text=True), "The Kept Lighthouse")
    assert "9.75" in card and "12.50" not in card
    assert "Only 2 left" in card

    _change(app, shelf["book"], stock_on_hand=1)
    card = _card(client.get("/category/fiction").get_data(as_text=True), "The Kept Lighthouse")
    assert "Only 1 left" in card

    _change(app, shelf["book"], stock_on_hand=0, title="The Kept Lighthouse, Revised")
    page = client.get("/category/fiction?in_stock=").get_data(as_text=True)
    card = _card(page, "The Kept Lighthouse, Revised")
    assert "Out of stock" in card


def test_the_same_card_is_shown_in_the_reader_s_language(app, client, shelf):
    english = _card(client.get("/category/fiction").get_data(as_text=True), "The Kept Lighthouse")
    client.set_cookie("lang", "zh_Hans")
    chinese = _card(client.get("/category/fiction").get_data(as_text=True), "The Kept Lighthouse")

    assert "In stock" in english
    assert "In stock" not in chinese and "有货" in chinese


def test_the_filters_and_sort_control_show_each_query_s_own_state(client, shelf):
    plain = client.get("/category/fiction").get_data(as_text=True)
    priced = client.get("/category/fiction?min_price=5&sort=price_asc").get_data(as_text=True)
    wrong = client.get("/category/fiction?min_price=abc")

    assert 'name="min_price" type="text" value=""' in plain
    assert 'value="5"' in priced
    assert '<option selected value="price_asc">' in priced
    assert '<option selected value="price_asc">' not in plain
    assert wrong.status_code == 400 and 'aria-invalid="true"' in wrong.get_data(as_text=True)
    # the first page again: its own state, not the last one kept
    assert client.get("/category/fiction").get_data(as_text=True) == plain


def test_one_kept_sidebar_and_sort_control_serve_every_search_with_the_same_filters(
        app, client, shelf):
    words = ["lighthouse", "neighbour", 'kept "<b>" & co', "keeper"]
    pages = [client.get("/search", query_string={"q": word, "in_stock": "1"})
             .get_data(as_text=True) for word in words]
    client.get("/search?q=neighbour&in_stock=1&page=2")

    assert page_store.kept_size(app, "listing_filters") == 1
    assert page_store.kept_size(app, "listing_parts") == 1  # the sort control
    for word, page in zip(words, pages, strict=True):
        hidden = [f'<input type="hidden" name="q" value="{escape(w)}">' for w in words]
        assert [field in page for field in hidden] == [w == word for w in words]
        assert '<input checked id="in_stock" name="in_stock"' in _sidebar(page)
    assert '<b>' not in _sidebar(pages[2]) and escape('kept "<b>" & co') in _sidebar(pages[2])


def test_a_search_s_sidebar_follows_its_own_filters(client, shelf):
    plain = _sidebar(client.get("/search?q=neighbour").get_data(as_text=True))
    priced = _sidebar(client.get("/search?q=neighbour&min_price=5&category=fiction")
                      .get_data(as_text=True))
    wrong_page = client.get("/search?q=neighbour&page=abc")

    assert 'value="5"' in priced and 'value="5"' not in plain
    assert '<option selected value="fiction">' in priced
    assert '<option selected value="fiction">' not in plain
    assert wrong_page.status_code == 400
    assert 'name="page"' in _sidebar(wrong_page.get_data(as_text=True))
    assert 'name="page"' not in plain


def _sidebar(html: str) -> str:
    return html[html.index('<aside class="filters"'):html.index("</aside>")]


def test_the_category_list_marks_the_category_being_read(client, shelf):
    fiction = client.get("/category/fiction").get_data(as_text=True)
    poetry = client.get("/category/poetry").get_data(as_text=True)

    assert 'href="/category/fiction" aria-current="page"' in fiction
    assert 'href="/category/poetry" aria-current="page"' in poetry
    assert 'href="/category/fiction" aria-current="page"' not in poetry


def test_the_book_page_shows_a_review_approved_since_it_was_last_rendered(app, client, shelf):
    url = f"/book/{shelf['book']}"
    assert "None of our members has rated this book yet" in client.get(url).get_data(as_text=True)

    _approved_review(app, shelf["book"], "reader@example.test", "Rosa Reader", 5,
                     "Kept me up all night.")

    page = client.get(url).get_data(as_text=True)
    assert "Kept me up all night." in page
    assert "None of our members has rated this book yet" not in page


def test_books_nobody_has_reviewed_share_one_kept_readers_section(app, client, shelf):
    _approved_review(app, shelf["book"], "fan@example.test", "Fan Reader", 5, "Bright.")
    reviewed = client.get(f"/book/{shelf['book']}").get_data(as_text=True)
    unreviewed = [client.get(f"/book/{book_id}").get_data(as_text=True)
                  for book_id in (shelf["other"], shelf["other"] + 1, shelf["other"] + 2)]

    assert page_store.kept_size(app, "book_feedback") == 2
    assert "Bright." in reviewed
    for page in unreviewed:
        assert "None of our members has rated this book yet" in page and "Bright." not in page


def test_a_reviewer_without_a_name_is_a_reader_in_each_page_s_language(app, shelf):
    _approved_review(app, shelf["book"], "nameless@example.test", "", 4, "Quietly good.")
    url = f"/book/{shelf['book']}"

    english = app.test_client().get(url).get_data(as_text=True)  # the feedback is cached now
    chinese_client = app.test_client()
    chinese_client.set_cookie("lang", "zh_Hans")
    chinese = chinese_client.get(url).get_data(as_text=True)

    assert "<strong>A reader</strong>" in english
    assert "<strong>一位读者</strong>" in chinese
    assert "A reader" not in chinese
