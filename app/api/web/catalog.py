"""Catalog: books (search, category, in stock) and categories. Public: no token needed."""

from __future__ import annotations

from flask_babel import gettext as _

from app.admin.common import ID
from app.api.web import ApiBlueprint
from app.api.web import schemas as s
from app.api.web.paging import envelope
from app.catalog import browse
from app.core.errors import NotFound

PATH = "/"
blp = ApiBlueprint("api_catalog", __name__, description="Books and categories (public)")


def book_out(book) -> dict:
    return {
        "id": book.id, "title": book.title, "authors": book.authors, "year": book.year,
        "isbn10": book.isbn10, "isbn13": book.isbn13, "language": book.language,
        "publisher": book.publisher, "price": book.price,
        "stock_on_hand": book.stock_on_hand, "in_stock": book.stock_on_hand > 0,
        "category": book.category.slug if book.category_id and book.category else None,
        "average_rating": book.average_rating, "ratings_count": book.ratings_count,
    }


@blp.route("books")
@blp.public()
@blp.etag
@blp.arguments(s.BookQuery, location="query", as_kwargs=True)
@blp.response(200, s.BookPage)
def list_books(page, per_page, in_stock, sort, q=None, category=None):
    """Books on sale: searched (`q`: title, authors, ISBN or year), in a category (its
    slug), in stock only; paged by `page` and `per_page`."""
    if (q or "").strip() or category or in_stock:
        result = browse.search(q or "", category_slug=category, in_stock_only=in_stock,
                               sort=sort, page=page, per_page=per_page)
    else:
        result = browse.books_on_sale(sort="bestselling" if sort == "relevance" else sort,
                                      page=page, per_page=per_page)
    return envelope(result, [book_out(book) for book in result.items])


@blp.route(f"books/<{ID}:book_id>")
@blp.public()
@blp.etag
@blp.response(200, s.BookDetailSchema)
def get_book(book_id):
    """One book on sale."""
    book = browse.book_for_page(book_id)
    if not book.is_active:
        raise NotFound(_("There is no such book."))
    return {**book_out(book), "description": book.description}


@blp.route("categories")
@blp.public()
@blp.etag
@blp.response(200, s.CategoryList)
def list_categories():
    """Every category, in display order, with how many books on sale it holds."""
    return {"items": [{"id": c.category.id, "slug": c.category.slug, "name": c.category.name,
                       "books": c.count} for c in browse.categories_with_counts()]}
