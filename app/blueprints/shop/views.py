"""The public catalog pages: home, category, book, search, and the generated covers."""

from __future__ import annotations

import hashlib
import time

from flask import Response, abort, current_app, g, render_template, request
from flask_babel import format_decimal, format_number
from sqlalchemy.exc import SQLAlchemyError

from app.blueprints.shop import bp
from app.blueprints.shop.forms import ListingForm, SearchForm
from app.errors import NotFound
from app.extensions import db
from app.models import Book
from app.services import catalog
from app.services.covers import cover_svg

# Ids beyond a 32-bit integer cannot exist; refusing them in the URL keeps them away from SQL.
MAX_ID = 2**31 - 1
HOME_SHELF = 12
COVER_MAX_AGE = 30 * 24 * 3600
_NAV_CACHE_KEY = "bookstation.shop.nav_cache"


# --------------------------------------------------------------------------- header categories


def cached_nav_categories() -> list[catalog.NavCategory]:
    """The header's categories: at most one query per request, and one per TTL per process.

    The cache lives on the app (not the module) so separate apps, such as tests, never share it.
    """
    if "nav_categories" in g:
        return g.nav_categories
    ttl = current_app.config.get("NAV_CATEGORIES_TTL", 60)
    cache = current_app.extensions.setdefault(_NAV_CACHE_KEY, {})
    now = time.monotonic()
    if cache.get("expires", 0) > now:
        categories = cache["value"]
    else:
        try:
            categories = catalog.nav_categories()
        except SQLAlchemyError:
            # The header must not turn an error page into a second error.
            current_app.logger.exception("could not load the header categories")
            categories = []
        else:
            cache.update(value=categories, expires=now + ttl)
    g.nav_categories = categories
    return categories


def forget_nav_categories() -> None:
    """Drop the cached header categories (call after adding, renaming or removing one)."""
    current_app.extensions.pop(_NAV_CACHE_KEY, None)
    g.pop("nav_categories", None)


@bp.app_context_processor
def inject_nav_categories() -> dict:
    return {"nav_categories": cached_nav_categories()}


@bp.app_template_global()
def stock_level(book: Book) -> str:
    """"in", "low" or "out" for a book, by the shop's LOW_STOCK_THRESHOLD."""
    return catalog.stock_level(book.stock_on_hand, current_app.config["LOW_STOCK_THRESHOLD"])


@bp.app_template_filter("number")
def number_filter(value: int | float | None, decimals: int | None = None) -> str:
    """A locale-formatted count (1,234) or, with decimals, a rating (4.3)."""
    if value is None:
        return ""
    if decimals is None:
        return format_number(value)
    return format_decimal(round(value, decimals), format="#,##0." + "0" * decimals)


# --------------------------------------------------------------------------- pages


@bp.get("/")
def home():
    return render_template(
        "shop/home.html",
        new_arrivals=catalog.new_arrivals(HOME_SHELF),
        best_sellers=catalog.best_sellers(HOME_SHELF),
        categories=catalog.categories_with_counts(),
    )


@bp.get("/category/<slug>")
def category(slug: str):
    if len(slug) > 80:
        abort(404)
    try:
        category = catalog.category_by_slug(slug)
    except NotFound:
        abort(404)
    form = ListingForm(request.args)
    if not form.validate():
        return render_template(
            "shop/category.html", category=category, form=form, result=None,
            categories=cached_nav_categories(),
        ), 400
    result = catalog.books_in_category(
        category,
        sort=form.sort.data,
        page=form.page_number,
        per_page=current_app.config["BOOKS_PER_PAGE"],
        in_stock_only=form.in_stock.data,
        min_price=form.min_price.data,
        max_price=form.max_price.data,
    )
    _check_page(form.page_number, result.pages)
    return render_template(
        "shop/category.html", category=category, form=form, result=result,
        categories=cached_nav_categories(),
    )


@bp.get(f"/book/<int(max={MAX_ID}):book_id>")
def book(book_id: int):
    try:
        book = catalog.book_for_page(book_id)
    except NotFound:
        abort(404)
    return render_template(
        "shop/book.html",
        book=book,
        related=catalog.related_books(book),
        max_quantity=current_app.config["MAX_LINE_QUANTITY"],
    )


@bp.get("/search")
def search():
    form = SearchForm(request.args)
    form.set_categories(cached_nav_categories())
    popular: list[Book] = []
    if not form.validate():
        return render_template("shop/search.html", form=form, result=None, popular=popular), 400
    result = catalog.search(
        form.q.data or "",
        category_slug=form.category.data or None,
        in_stock_only=form.in_stock.data,
        min_price=form.min_price.data,
        max_price=form.max_price.data,
        sort=form.sort.data,
        page=form.page_number,
        per_page=current_app.config["BOOKS_PER_PAGE"],
    )
    _check_page(form.page_number, result.pages)
    if not result.total:
        popular = catalog.best_sellers(8)
    return render_template("shop/search.html", form=form, result=result, popular=popular)


@bp.get(f"/covers/<int(max={MAX_ID}):book_id>.svg")
def cover(book_id: int):
    book = db.get_or_404(Book, book_id)
    svg = cover_svg(book)
    response = Response(svg, mimetype="image/svg+xml")
    response.set_etag(hashlib.sha256(svg.encode()).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = COVER_MAX_AGE
    return response.make_conditional(request)


def _check_page(page: int, pages: int) -> None:
    """Page 1 always exists (it may be empty); later pages only if they hold books."""
    if page > max(pages, 1):
        abort(404)
