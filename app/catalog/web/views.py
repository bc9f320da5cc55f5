"""The public catalog pages: home, category, book, search, and the generated covers."""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Sequence

from babel import Locale
from babel import numbers as babel_numbers
from flask import (
    Response,
    abort,
    current_app,
    g,
    has_request_context,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from wtforms import Field

from app.analytics import associations
from app.catalog import browse as catalog
from app.catalog.browse import BookCard
from app.catalog.covers import cover_svg
from app.catalog.models import Book
from app.catalog.web import bp, category_bar
from app.catalog.web.forms import ListingForm, SearchForm
from app.core.errors import NotFound
from app.core.extensions import db
from app.core.i18n import locale_name
from app.feedback import reviews
from app.serving import caching, page_cache, page_store

# Ids beyond a 32-bit integer cannot exist; refusing them in the URL keeps them away from SQL.
MAX_ID = 2**31 - 1
HOME_SHELF = 12
COVER_MAX_AGE = 30 * 24 * 3600


# --------------------------------------------------------------------------- shared caches

NAV_KEY = "shop:nav"
CATEGORY_PAGES_KEY = "shop:category-pages"
HOME_KEY = "shop:home"  # the shelves, per language and script root (home_key)


def cached_nav_categories() -> list[catalog.NavCategory]:
    """The header's categories: at most one query per request, one per TTL in the shared cache.

    Flask-Caching holds them (Redis with REDIS_URL, else per process), for NAV_CATEGORIES_TTL
    seconds (0: no cache). A database error gives an empty header, never a second error page.
    """
    locale = locale_name()
    kept = g.get("nav_categories")
    if kept is not None and kept[0] == locale:
        return kept[1]

    def load() -> list[tuple[str, str]] | None:
        try:  # kept as plain pairs: a list of named tuples took several times as long to read
            return [tuple(category) for category in catalog.nav_categories(locale)]
        except SQLAlchemyError:
            current_app.logger.exception("could not load the header categories")
            return None  # not cached: the next request tries again

    categories = caching.remember(f"{NAV_KEY}:{locale}", current_app.config["NAV_CATEGORIES_TTL"],
                                  load)
    g.nav_categories = (locale, [catalog.NavCategory(*c) for c in categories or []])
    return g.nav_categories[1]


@bp.app_template_filter("category_name")
def category_name(category) -> str:
    """A category's name in the reader's language (its English name where it has none), from
    the header's cached list: no query on a page that shows the header anyway."""
    if category is None:
        return ""
    categories = cached_nav_categories()
    kept = g.get("nav_category_names")
    if kept is None or kept[0] is not categories:  # another language's list, or a new one
        kept = g.nav_category_names = (categories, dict(categories))
    return kept[1].get(category.slug) or category.name


def cached_category_pages() -> dict[str, tuple[int, str, str, str | None]]:
    """Every category as its page shows it, in the reader's language (catalog.category_pages),
    kept with the header's categories (NAV_CATEGORIES_TTL, forgot with them): a category page
    that misses the page cache reads only its books."""
    locale = locale_name()
    return caching.remember(f"{CATEGORY_PAGES_KEY}:{locale}",
                            current_app.config["NAV_CATEGORIES_TTL"],
                            lambda: catalog.category_pages(locale))


def forget_nav_categories() -> None:
    """Drop the cached header categories, the categories' pages' heads and the home shelves
    (after a category changes)."""
    caching.forget(*caching.per_locale(NAV_KEY), *caching.per_locale(CATEGORY_PAGES_KEY))
    forget_home_shelves()
    g.pop("nav_categories", None)


def home_key(locale: str) -> str:
    """The shelves' key in `locale` under this request's script root: their links start with
    it, and behind a proxy it comes from the request (X-Forwarded-Prefix)."""
    root = request.script_root if has_request_context() else ""
    return f"{HOME_KEY}:{locale}" + (f"@{root}" if root else "")


def forget_home_shelves() -> None:
    """Drop the cached home page (new arrivals, best sellers, category counts) at once."""
    caching.forget(*(home_key(lang) for lang in current_app.config["LANGUAGES"]),
                   *page_cache.keys_for("home", "/?"))


def forget_catalog() -> None:
    """After an admin edit to what the catalog pages show (a category, a book, stock received),
    once it is committed: the header's categories, the home shelves and every cached page
    (app.serving.page_cache.forget_pages) show it on the next request, in every process."""
    forget_nav_categories()
    page_cache.forget_pages()


def _home_shelves() -> str:
    """The home page's shelves as HTML (rendered without the per-request context processors)."""
    template = current_app.jinja_env.get_template("shop/_home_shelves.html")
    return template.render(
        new_arrivals=catalog.new_arrivals(HOME_SHELF),
        best_sellers=catalog.best_sellers(HOME_SHELF),
        categories=catalog.categories_with_counts(),
    )


CATEGORY_NAVS_KEPT = 64


@bp.app_template_global()
def category_nav() -> Markup:
    """The header's category links (templates/shop/_category_nav.html), kept per language and
    list of categories: the same on every page a member or the staff see rendered, where its
    links cost 5 % of the cart page. A changed list (forget_nav_categories) is a new key."""
    categories = cached_nav_categories()
    key = (locale_name(), request.script_root, tuple(categories))

    def render() -> str:
        needs, all_fit = category_bar.thresholds([str(c.name) for c in categories])
        return render_template("shop/_category_nav.html", categories=categories, needs=needs,
                               all_fit=all_fit)

    return page_cache.kept("category_navs", key, render, CATEGORY_NAVS_KEPT)


@bp.app_template_global()
def stock_level(book: Book) -> str:
    """"in", "low" or "out" for a book, by the shop's LOW_STOCK_THRESHOLD."""
    return catalog.stock_level(book.stock_on_hand, current_app.config["LOW_STOCK_THRESHOLD"])


_URL_SENTINEL = MAX_ID
#: URL templates kept per process (two endpoints per script root); the lot is dropped when full:
#: behind a proxy the script root comes from the request's X-Forwarded-Prefix.
FAST_URLS_KEPT = 16


def _fast_url(endpoint: str, book_id: int) -> str:
    """url_for(endpoint, book_id=...) for an int-only route, from a template built once.

    Listings link every book two or three times; Flask's url_for costs tens of microseconds a
    call, this a string concatenation. The template is built by url_for itself, per app and
    script root, so it follows the route.
    """
    key = (endpoint, request.script_root if request else "")
    templates = current_app.extensions.setdefault("bookstation.fast_urls", {})
    parts = templates.get(key)
    if parts is None:
        built = url_for(endpoint, book_id=_URL_SENTINEL)
        head, _, tail = built.partition(str(_URL_SENTINEL))
        if len(templates) >= FAST_URLS_KEPT:
            templates.clear()
        parts = templates[key] = (head, tail)
    return f"{parts[0]}{int(book_id)}{parts[1]}"


@bp.app_template_global()
def book_url(book_id: int) -> str:
    return _fast_url("shop.book", book_id)


@bp.app_template_global()
def cover_url(book_id: int) -> str:
    return _fast_url("shop.cover", book_id)


BOOK_CARDS_KEPT = 4096  # about 0.7 KB each


@bp.app_template_global()
def book_cards(books, heading: str = "h3") -> Markup:
    """The grid items of `books` (templates/shop/_macros.html `book_card`), each kept per
    process under everything it shows: the language, the title, authors, price and stock badge.
    A book whose title, price or stock changes is another key, so no card is ever stale; a
    listing that misses the page cache renders only the cards no page has shown yet."""
    macro = current_app.jinja_env.get_template("shop/_macros.html").module.book_card
    locale = locale_name()
    low = current_app.config["LOW_STOCK_THRESHOLD"]
    root = request.script_root
    cards = []
    for book in books:
        stock = book.stock_on_hand
        level = catalog.stock_level(stock, low)
        key = (locale, root, heading, book.id, book.title, book.authors, book.price, level,
               stock if level == "low" else None)
        cards.append(page_store.kept("book_cards", key, lambda book=book: macro(book, heading),
                                     BOOK_CARDS_KEPT))
    return Markup("".join(cards))  # each card is Markup already: Markup.join escapes each


FILTERS_KEPT = 512
BOOK_FEEDBACK_KEPT = 1024


@bp.app_template_global()
def kept_book_feedback(reader_feedback, also_bought) -> Markup:
    """The book page's readers' section (templates/feedback/_book_reviews.html), kept per
    process under the language and the plain data it shows (BookFeedback and the also-bought
    tuple, both frozen): new reviews or prices make another key. It names no book, so every
    book nobody has reviewed and with nothing bought alongside shares one."""
    key = (locale_name(), request.script_root, reader_feedback, tuple(also_bought))
    return page_store.kept("book_feedback", key, lambda: render_template(
        "feedback/_book_reviews.html", reader_feedback=reader_feedback,
        also_bought=also_bought), BOOK_FEEDBACK_KEPT)
MACROS_KEPT = 512


@bp.app_template_global()
def kept_macro(name: str, *args) -> Markup:
    """templates/shop/_macros.html's macro `name` called with `args`, kept per process under
    the language, the script root and the arguments (a form or a field by its state,
    page_cache.form_state; lists as tuples): for small parts of listings that depend on
    nothing else, such as the category list and the sort control (given the sort field
    alone, so that neither the search words nor the page number make another key)."""
    key = (name, locale_name(), request.script_root,
           *(page_cache.form_state(a) if hasattr(a, "_fields")
             else page_cache.form_state((a,)) if isinstance(a, Field)
             else tuple(a) if isinstance(a, list) else a for a in args))
    macro = getattr(current_app.jinja_env.get_template("shop/_macros.html").module, name)
    return page_store.kept("listing_parts", key, lambda: macro(*args), MACROS_KEPT)


# Where filters_rendered leaves the hidden fields (a search's words): they are put in per
# request, so that one kept sidebar serves every search with the same filters.
_HIDDEN_FIELDS = Markup("<!--hidden fields-->")


def _shown_filter_fields(form, show_sort: bool) -> list[Field]:
    """The fields templates/shop/_macros.html `filters_rendered` shows: the category (where
    the form has one), in stock, the price range, the sort when `show_sort`, and the page
    number only when it is wrong. The sidebar follows from these alone."""
    names = ["category"] if "category" in form else []
    names += ["in_stock", "min_price", "max_price"]
    if show_sort:
        names.append("sort")
    if form.page.errors:
        names.append("page")
    return [form[name] for name in names]


@bp.app_template_global()
def kept_filters(form, action: str, hidden: dict | None, show_sort: bool) -> Markup:
    """A listing's filter sidebar (templates/shop/_macros.html `filters_rendered`), kept per
    process under the language, the action and the state of the fields it shows
    (page_cache.form_state): the same filters are rendered once, whatever was searched for
    or whichever page is open. The `hidden` fields (name: value) are written into it per
    request."""
    key = (locale_name(), request.script_root, action, bool(show_sort),
           page_cache.form_state(_shown_filter_fields(form, show_sort)))
    macro = current_app.jinja_env.get_template("shop/_macros.html").module.filters_rendered
    html = page_store.kept("listing_filters", key,
                           lambda: macro(form, action, _HIDDEN_FIELDS, show_sort),
                           FILTERS_KEPT)
    head, _mark, tail = html.partition(_HIDDEN_FIELDS)
    fields = Markup("").join(Markup('<input type="hidden" name="{}" value="{}">').format(
        name, value) for name, value in (hidden or {}).items())
    return Markup(head) + fields + Markup(tail)


@bp.app_template_filter("number")
def number_filter(value: int | float | None, decimals: int | None = None) -> str:
    """A locale-formatted count (1,234) or, with decimals, a rating (4.3)."""
    if value is None:
        return ""
    locale = locale_name()
    kind = type(value)
    if (kind is int or kind is float) and value >= 0 and (decimals is None) is (kind is int):
        separators = _plain_separators(locale)
        if separators is not None and value != math.inf:
            # as Babel writes it (below), without parsing its pattern again
            group, point = separators
            if decimals is None:
                return f"{value:,}".replace(",", group)
            return f"{round(value, decimals):,.{decimals}f}".translate(
                {ord(","): group, ord("."): point})
    return _format_number(value, decimals, locale)


@functools.cache
def _plain_separators(locale: str) -> tuple[str, str] | None:
    """The group and decimal separators of `locale` when its numbers group by threes (Babel's
    decimal pattern "#,##0.###" with grouping (3, 3): English, Chinese), so that a count is
    Python's `f"{n:,}"` and a rating `f"{x:,.1f}"` of the value rounded as `_format_number`
    rounds it, with those separators; None for another grouping (Hindi's 1,23,456), left to
    Babel. A book page shows its ratings count and average: a different number on nearly
    every book, which `_format_number`'s cache does not help."""
    pattern = Locale.parse(locale).decimal_formats[None]
    if pattern.grouping != (3, 3) or pattern.pattern != "#,##0.###":
        return None
    return babel_numbers.get_group_symbol(locale), babel_numbers.get_decimal_symbol(locale)


@functools.lru_cache(maxsize=4096)
def _format_number(value: int | float, decimals: int | None, locale: str) -> str:
    # Babel parses the pattern on every call; a page shows a few counts and ratings, and the
    # same ones recur across pages (as app.core.formatting does for prices and dates).
    if decimals is None:
        return babel_numbers.format_decimal(value, locale=locale)
    return babel_numbers.format_decimal(round(value, decimals),
                                        format="#,##0." + "0" * decimals, locale=locale)


# --------------------------------------------------------------------------- pages


@bp.get("/")
def home():
    # The shelves are the same for everyone: rendered once per HOME_CACHE_SECONDS and language.
    # The whole page, header holes aside, is shared through the page cache.
    ttl = current_app.config["HOME_CACHE_SECONDS"]
    locale = locale_name()
    return page_cache.serve("home", lambda: _render_home(locale, ttl), seconds=ttl)


def _render_home(locale: str, ttl: int) -> str:
    shelves = caching.remember(home_key(locale), ttl, _home_shelves)
    return render_template("shop/home.html", shelves=Markup(shelves))


@bp.get("/category/<slug>")
def category(slug: str):
    if len(slug) > 80:
        abort(404)
    try:
        page = catalog.category_page(slug, cached_category_pages())
    except NotFound:
        abort(404)
    return page_cache.serve(f"category:{page.category.id}", lambda: _category_page(page))


def _category_page(page: catalog.CategoryPage):
    category = page.category
    form = ListingForm(request.args)
    if not form.validate():
        return render_template(
            "shop/category.html", category=category, description=page.description,
            form=form, result=None, categories=cached_nav_categories(),
        ), 400
    result = catalog.books_in_category(
        category,
        sort=form.sort.data,
        page=form.page_number,
        per_page=current_app.config["BOOKS_PER_PAGE"],
        in_stock_only=form.in_stock.data,
        min_price=form.min_price.data,
        max_price=form.max_price.data,
        cards=True,
    )
    _check_page(form.page_number, result.pages)
    return render_template(
        "shop/category.html", category=category, description=page.description, form=form,
        result=result, categories=cached_nav_categories(),
    )


@bp.get(f"/book/<int(max={MAX_ID}):book_id>")
def book(book_id: int):
    # Shared by visitors and members; a book out of stock shows a member their own demand and
    # held copies (templates/demand/_book_actions.html says so with per_reader()).
    return page_cache.serve(f"book:{book_id}", lambda: _book_page(book_id))


def _book_page(book_id: int):
    try:
        book = catalog.book_for_page(book_id)
    except NotFound:
        abort(404)
    return render_template(
        "shop/book.html",
        book=book,
        related=catalog.related_books(book, best_sellers=_kept_best_sellers),
        max_quantity=current_app.config["MAX_LINE_QUANTITY"],
        reader_feedback=reviews.feedback_for(book),
        also_bought=associations.also_bought_for(book),
    )


def _kept_best_sellers(category_id: int, limit: int) -> Sequence[BookCard]:
    """A category's best sellers for a book page's related books, cached with the page's own
    generation for as long as a page (app.serving.page_cache.current_generation): every book
    of a category shows the same few, and a catalog edit starts a new generation. Read
    afresh when the page is not one the page cache keeps."""
    generation = page_cache.current_generation()
    if generation is None:
        return catalog.category_best_sellers(category_id, limit)
    return caching.remember(f"best-sellers:{generation}:{category_id}:{limit}",
                            current_app.config["PAGE_CACHE_SECONDS"],
                            lambda: catalog.category_best_sellers(category_id, limit))


@bp.get("/search")
def search():
    return page_cache.serve("search", _search_page)


def _search_page():
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
        cards=True,
        categories=cached_category_pages() if form.category.data else None,
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
