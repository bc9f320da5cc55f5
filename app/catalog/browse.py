"""The public catalog: what a shopper can browse and find.

Search runs on the full-text index from `app.catalog.search_index`: the FTS5 trigram table
`book_fts` on SQLite, `pg_trgm` on PostgreSQL. Both read `Book.search_text`, which
`search_text_for` builds (folded title, a separator, folded authors, ISBNs, year, the book's
alternative titles). Everything user-typed reaches the database as a bound parameter; nothing
here formats user text into SQL.

These functions only read (or, for `refresh_search_text`, set an attribute); they never commit.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from app.catalog import isbn as isbn_rules
from app.catalog.models import Book, BookAltTitle, Category, CategoryName
from app.core.errors import NotFound
from app.core.extensions import db
from app.core.money import round_money
from app.core.paging import CountedPage, PagerMixin
from app.core.reads import columns_only, rows
from app.core.text import contains_pattern, fold, search_terms

# Between the title and the rest of `search_text`, so ranking can tell a title hit from an
# author hit. `fold()` turns every whitespace character (U+001F included) into a space, so this
# character never occurs inside a folded title.
TITLE_END = "\x1f"
# Dropped from a pinyin title to index it written together: spaces, hyphens, apostrophes
# ("Chén'āi"), any punctuation.
_PINYIN_JOIN = re.compile(r"[\W_]+")

SORTS = ("relevance", "price_asc", "price_desc", "newest", "bestselling")
MAX_QUERY_LENGTH = 200
MAX_PER_PAGE = 96
# The trigram index needs three characters; shorter terms are looked for as substrings.
MIN_INDEXED_TERM = 3
# Matches are ranked by how well they match (bm25 on SQLite, word_similarity on PostgreSQL)
# up to this many; beyond, by title hit, whole title words and popularity (see search()).
RANK_BY_SIMILARITY_UP_TO = 1000


class SearchFields(Protocol):
    """What `search_text_for` reads: a Book, or any object with these attributes (the seed)."""

    title: str
    authors: str
    isbn10: str | None
    isbn13: str | None
    year: int | None


class NavCategory(NamedTuple):
    slug: str
    name: str


class BookCard(NamedTuple):
    """What a book's card in a listing shows (templates/shop/_macros.html `book_card`), read
    as a plain row: building a Book for each of a listing's 24 cards cost about as much as
    running its query."""

    id: int
    title: str
    authors: str
    price: Decimal
    stock_on_hand: int


_CARD_COLUMNS = (Book.id, Book.title, Book.authors, Book.price, Book.stock_on_hand)


@dataclass(frozen=True)
class CategoryCount:
    category: Category
    count: int


@dataclass(frozen=True)
class SearchResult(PagerMixin):
    """One page of search results; quacks like a Pagination for templates/_macros/pagination.

    `notice` is None for an ordinary search, otherwise one of:
    "empty" (nothing typed and no filter), "unsearchable" (only punctuation or symbols),
    "truncated" (the query was cut to MAX_QUERY_LENGTH characters).
    """

    query: str
    items: tuple[Book, ...] | tuple[BookCard, ...]
    total: int
    page: int
    per_page: int
    notice: str | None = None
    isbn: str | None = None

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.per_page) if self.total else 0



# --------------------------------------------------------------------------- search text


def search_text_for(book: SearchFields, alt_titles: Iterable[tuple[str, str]] = ()) -> str:
    """What the full-text index reads for a book: case-, accent- and width-folded.

    Layout: `<title> U+001F <authors> <isbn13> <isbn10> <year> <alternative names>`. The ISBNs
    are stored without hyphens, so typing any part of one finds the book; the ISBN-10 is
    derived from a 978 ISBN-13 when the book has none. `alt_titles` are (kind, text) pairs
    (app.catalog.models.BookAltTitle): they come after the title's end, so a hit on one ranks
    below a hit on the title (search()); a pinyin one is also indexed without its tones (fold)
    and its spaces, so "hongloumeng" finds 红楼梦 ("Hóng Lóu Mèng").
    """
    isbn13 = isbn_rules.clean(book.isbn13 or "")
    isbn10 = isbn_rules.clean(book.isbn10 or "") or (
        isbn_rules.to_isbn10(isbn13) if isbn13 else None
    )
    rest = " ".join(
        part
        for part in (fold(book.authors or ""), isbn13.lower(), (isbn10 or "").lower(),
                     str(book.year) if book.year else "", *_alt_search_words(alt_titles))
        if part
    )
    return f"{fold(book.title or '')} {TITLE_END} {rest}".strip()


def _alt_search_words(alt_titles: Iterable[tuple[str, str]]) -> Iterator[str]:
    for kind, text in alt_titles:
        folded = fold(text or "")
        yield folded
        if kind == "pinyin":
            joined = _PINYIN_JOIN.sub("", folded)
            if joined != folded:
                yield joined


def refresh_search_text(book: Book) -> None:
    """Recompute `book.search_text`; call after changing the title, authors, ISBNs, year or
    alternative titles."""
    book.search_text = search_text_for(book, [(t.kind, t.title) for t in book.alt_titles])


# --------------------------------------------------------------------------- listings


def _active() -> sa.ColumnElement[bool]:
    # `= true`, not `IS true`: PostgreSQL can use an index for the former only.
    return Book.is_active == sa.true()


def new_arrivals(limit: int = 12) -> list[Book]:
    """The most recently added books on sale."""
    stmt = sa.select(Book).where(_active()).order_by(Book.created_at.desc(), Book.id.desc())
    return list(db.session.scalars(stmt.limit(limit)))


def best_sellers(limit: int = 12) -> list[Book]:
    """The books that sold most copies, best rated first among equals."""
    stmt = (
        sa.select(Book)
        .where(_active())
        .order_by(Book.sold_count.desc(), Book.ratings_count.desc(), Book.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def categories_with_counts() -> list[CategoryCount]:
    """Every category in display order, with how many books on sale it holds (one query)."""
    count = sa.func.count(Book.id)
    stmt = (
        sa.select(Category, count)
        .outerjoin(Book, sa.and_(Book.category_id == Category.id, _active()))
        .group_by(Category.id)
        .order_by(Category.position, Category.name)
    )
    return [CategoryCount(category, n) for category, n in db.session.execute(stmt)]


def nav_categories(locale: str | None = None) -> list[NavCategory]:
    """(slug, name in `locale`) of every category, for the header (one query, cheap enough to
    cache): the English name where the category has none in that language. Every shopper page
    takes its category names from this list (app.catalog.web.views.category_name)."""
    translated = aliased(CategoryName)
    name = sa.func.coalesce(translated.name, Category.name)
    stmt = (
        sa.select(Category.slug, name)
        .outerjoin(translated, sa.and_(translated.category_id == Category.id,
                                       translated.locale == (locale or "")))
        .order_by(Category.position, Category.name)
    )
    return [NavCategory(slug, name) for slug, name in db.session.execute(stmt)]


class ShownCategory(NamedTuple):
    """A category as its listing page shows it: the name is the English one (the page shows
    the reader's from the header's list, app.catalog.web.views.category_name)."""

    id: int
    slug: str
    name: str


@dataclass(frozen=True)
class CategoryPage:
    """A category with its description in the reader's language (its English one where it
    has none there)."""

    category: ShownCategory
    description: str | None


@functools.cache
def _category_pages_statement() -> sa.Select:
    """category_pages()'s query, built once, of plain columns (core.reads.rows)."""
    translated = aliased(CategoryName)
    description = sa.func.coalesce(sa.func.nullif(translated.description, ""),
                                   Category.description)
    return columns_only(
        sa.select(Category.id, Category.slug, Category.name, description)
        .outerjoin(translated, sa.and_(translated.category_id == Category.id,
                                       translated.locale == sa.bindparam("locale"))))


def category_pages(locale: str | None) -> dict[str, tuple[int, str, str, str | None]]:
    """Every category as its listing page shows it, by slug: (id, slug, English name, the
    description in `locale`, else the English one), in one query; plain tuples, which a
    cache reads back cheaply (`category_page` makes a CategoryPage of one)."""
    return {row[1]: tuple(row) for row in rows(_category_pages_statement(),
                                               {"locale": locale or ""})}


def category_page(slug: str, pages: Mapping[str, tuple[int, str, str, str | None]]
                  ) -> CategoryPage:
    """The category `slug` of `pages` (category_pages()); NotFound."""
    found = pages.get(slug)
    if found is None:
        raise NotFound(_("There is no such category."))
    category_id, slug, name, description = found
    return CategoryPage(ShownCategory(category_id, slug, name), description)


def category_by_slug(slug: str) -> Category:
    category = db.session.scalar(sa.select(Category).where(Category.slug == slug))
    if category is None:
        raise NotFound(_("There is no such category."))
    return category


class CategoryRef(NamedTuple):
    """A book's category as its page shows it (a link and the name)."""

    id: int
    slug: str
    name: str


class AltTitle(NamedTuple):
    kind: str
    title: str


@dataclass(frozen=True, slots=True)
class ShownBook:
    """A book as its page (and the API's book) shows it, read as plain rows: loading a Book
    with its category and alternative titles through the ORM cost more than the query.
    `shown_with` holds what features asked to read with it (`show_with_book`), by name."""

    id: int
    title: str
    authors: str
    year: int | None
    isbn10: str | None
    isbn13: str | None
    language: str | None
    publisher: str | None
    description: str | None
    price: Decimal
    stock_on_hand: int
    category_id: int | None
    average_rating: float | None
    ratings_count: int
    is_active: bool
    category: CategoryRef | None
    alt_titles: tuple[AltTitle, ...]
    shown_with: Mapping[str, Any] = field(default_factory=dict)

    @property
    def in_stock(self) -> bool:
        return self.stock_on_hand > 0


_SHOWN_BOOK_COLUMNS = (Book.id, Book.title, Book.authors, Book.year, Book.isbn10, Book.isbn13,
                       Book.language, Book.publisher, Book.description, Book.price,
                       Book.stock_on_hand, Book.category_id, Book.average_rating,
                       Book.ratings_count, Book.is_active)
_SHOWN_WITH = "bookstation.shown_with_book"  # app.extensions: name -> expression
_BOOK_STATEMENT = "bookstation.book_page_statement"  # app.extensions: built at first use


def show_with_book(app: Flask, name: str, expression: sa.ColumnElement) -> None:
    """Have `book_for_page` also read `expression`, a scalar SQL expression over the book's
    row (an EXISTS over the feature's own table, say), into `ShownBook.shown_with[name]`.
    Called by a feature's init_app: the book page then learns in its one query whether the
    feature has anything to show for the book."""
    app.extensions.setdefault(_SHOWN_WITH, {})[name] = expression
    app.extensions.pop(_BOOK_STATEMENT, None)


def _book_statement() -> tuple[sa.Select, tuple[str, ...]]:
    """The book page's query for this app (the book with its category, the expressions
    features registered, and its alternative titles, a row for each), with the expressions'
    names; built once per app: every book page that misses the page cache runs it, and
    building it cost about as much as running it."""
    extensions = current_app.extensions
    built = extensions.get(_BOOK_STATEMENT)
    if built is None:
        shown_with = extensions.get(_SHOWN_WITH, {})
        statement = columns_only(
            sa.select(*_SHOWN_BOOK_COLUMNS, Category.slug, Category.name,
                      *(expression.label(f"shown_with_{name}")
                        for name, expression in shown_with.items()),
                      BookAltTitle.kind, BookAltTitle.title.label("alt_title"))
            .outerjoin(Category, Category.id == Book.category_id)
            .outerjoin(BookAltTitle, BookAltTitle.book_id == Book.id)
            .where(Book.id == sa.bindparam("book_id"))
            .order_by(BookAltTitle.id))
        built = extensions[_BOOK_STATEMENT] = (statement, tuple(shown_with))
    return built


@functools.cache
def _best_sellers_statement() -> sa.Select:
    """A category's best sellers as cards, built once (the book page's related books)."""
    return columns_only(sa.select(*_CARD_COLUMNS)
                        .where(_active(), Book.category_id == sa.bindparam("category_id"))
                        .order_by(Book.sold_count.desc(), Book.id)
                        .limit(sa.bindparam("limit", type_=sa.Integer)))


def book_for_page(book_id: int) -> ShownBook:
    """A book with its category, its alternative titles and what features asked to read with
    it (`show_with_book`), in one query (for the book page and the API)."""
    statement, names = _book_statement()
    found = rows(statement, {"book_id": book_id}).all()
    if not found:
        raise NotFound(_("There is no such book."))
    first = found[0]
    columns = len(_SHOWN_BOOK_COLUMNS)
    category = (CategoryRef(first.category_id, first.slug, first.name)
                if first.category_id is not None else None)
    alt_titles = tuple(AltTitle(row.kind, row.alt_title) for row in found
                       if row.kind is not None)
    values = first._mapping
    return ShownBook(*first[:columns], category=category, alt_titles=alt_titles,
                     shown_with={name: values[f"shown_with_{name}"] for name in names})


def category_best_sellers(category_id: int, limit: int) -> tuple[BookCard, ...]:
    """The best sellers on sale of a category, most copies sold first, as cards."""
    return tuple(BookCard(*row) for row in rows(
        _best_sellers_statement(), {"category_id": category_id, "limit": limit}))


def related_books(book: Book | ShownBook, limit: int = 6, *,
                  best_sellers: Callable[[int, int], Sequence[BookCard]] = category_best_sellers
                  ) -> list[BookCard]:
    """Other best sellers from the same category, as cards: the category's first `limit` + 1
    (`best_sellers`, which a caller may serve from a cache) without the book itself."""
    if book.category_id is None:
        return []
    return [card for card in best_sellers(book.category_id, limit + 1)
            if card.id != book.id][:limit]


def stock_level(stock_on_hand: int, low_threshold: int) -> str:
    """"in", "low" (1..low_threshold copies left) or "out"."""
    if stock_on_hand <= 0:
        return "out"
    if stock_on_hand <= low_threshold:
        return "low"
    return "in"


def _sorted(stmt: sa.Select, sort: str, relevance: list[sa.ColumnElement] | None = None):
    """Apply a sort; id breaks ties so pages never repeat or skip a book."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    if sort == "price_asc":
        order = [Book.price.asc()]
    elif sort == "price_desc":
        order = [Book.price.desc()]
    elif sort == "newest":
        order = [Book.created_at.desc()]
    elif sort == "relevance" and relevance:
        order = list(relevance)
    else:  # bestselling, and relevance when there is nothing to be relevant to
        order = [Book.sold_count.desc(), Book.ratings_count.desc()]
    return stmt.order_by(*order, Book.id)


def _page_args(page: int, per_page: int) -> tuple[int, int]:
    return max(1, page), min(max(1, per_page), MAX_PER_PAGE)


def books_in_category(
    category: Category | ShownCategory,
    sort: str = "bestselling",
    page: int = 1,
    per_page: int = 24,
    in_stock_only: bool = False,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    cards: bool = False,
) -> CountedPage:
    """One page of a category's books on sale (Books; with `cards`, BookCards), with their
    number."""
    return _listing(sort, page, per_page, category_id=category.id, in_stock_only=in_stock_only,
                    min_price=min_price, max_price=max_price, cards=cards)


def books_on_sale(sort: str = "bestselling", page: int = 1, per_page: int = 24) -> CountedPage:
    """One page of every book on sale, with their number: the API's listing with no search
    and no filter."""
    return _listing(sort, page, per_page)


def _listing(sort: str, page: int, per_page: int, category_id: int | None = None,
             in_stock_only: bool = False, min_price: Decimal | None = None,
             max_price: Decimal | None = None, cards: bool = False) -> CountedPage:
    page, per_page = _page_args(page, per_page)
    filters = {"category_id": category_id, "min_price": min_price, "max_price": max_price}
    shape = _ListingShape(
        dialect=db.session.get_bind().dialect.name, sort=sort,
        category=category_id is not None, in_stock=bool(in_stock_only),
        min_price=min_price is not None, max_price=max_price is not None, cards=cards)
    total, items = _counted_page(shape, _listing_values(shape, filters, page, per_page))
    return CountedPage(items, total, page, per_page)


# --------------------------------------------------------------------------- search

_book_fts = sa.table(
    "book_fts", sa.column("rowid", sa.Integer), sa.column("search_text", sa.Text)
)


def fts_phrase(term: str) -> str:
    """An FTS5 string literal: operators (AND, OR, NEAR, *, ^) inside it are plain text."""
    return '"' + term.replace('"', '""') + '"'


def _contains(i: int, dialect: str, indexed: bool) -> sa.ColumnElement[bool]:
    """`search_text` holds term `i`. An `indexed` term on PostgreSQL (SQLite matches those
    through FTS5) is an ILIKE of `like_<i>`, contains_pattern of it, which the trigram index
    serves. A shorter one, which no index serves, is looked for in every book as a plain
    substring (`term_<i>`): text and term are both folded (app.core.text.fold), and
    strpos/instr costs a fraction of a case-blind LIKE per row."""
    if indexed:
        return Book.search_text.ilike(sa.bindparam(f"like_{i}", type_=sa.String), escape="\\")
    find = sa.func.strpos if dialect == "postgresql" else sa.func.instr
    return find(Book.search_text, sa.bindparam(f"term_{i}", type_=sa.String)) > 0


def _title_hits(count: int, dialect: str) -> sa.ColumnElement[int]:
    """How many of the `count` terms (bound as `term_<i>`) occur in the title part of
    `search_text` (before TITLE_END)."""
    find = sa.func.strpos if dialect == "postgresql" else sa.func.instr
    title_end = find(Book.search_text, TITLE_END)
    hits = []
    for i in range(count):
        term = sa.bindparam(f"term_{i}", type_=sa.String)
        hits.append(sa.case((sa.and_(find(Book.search_text, term) > 0,
                                     find(Book.search_text, term) < title_end), 1), else_=0))
    return sum(hits[1:], hits[0])


# What may follow a whole word in a title ("king:" in "stephen king: a life").
_AFTER_WORD = (" ", ",", ":", ";", ".", ")", "!", "?", '"', "/", "]", TITLE_END)


def _title_words(count: int, dialect: str) -> sa.ColumnElement[int]:
    """How many terms begin a word in the title part of `search_text` and end there too:
    "king" in "The Return of the King" or "Stephen King: A Life", not in "To Kill a
    Mockingbird". Only each term's first place in the text is looked at. Plain string
    functions, cheap enough for every match of a common word (search())."""
    find = sa.func.strpos if dialect == "postgresql" else sa.func.instr
    padded = sa.literal(" ") + Book.search_text
    title_end = find(padded, TITLE_END)
    hits = []
    for i in range(count):  # bound: `word_<i>` (a space and the term) and `length_<i>`
        at = find(padded, sa.bindparam(f"word_{i}", type_=sa.String))
        after = sa.func.substr(padded, at + 1 + sa.bindparam(f"length_{i}", type_=sa.Integer), 1)
        hits.append(sa.case((sa.and_(at > 0, at < title_end, after.in_(_AFTER_WORD)), 1),
                            else_=0))
    return sum(hits[1:], hits[0])


class _ListingShape(NamedTuple):
    """What a listing's statements (a search, a category, every book on sale) depend on, apart
    from the values they bind: listings of one shape share their statements
    (`_listing_statements`)."""

    dialect: str
    sort: str
    category: bool  # the filters given
    in_stock: bool
    min_price: bool
    max_price: bool
    isbn: str = ""  # "13" or "13/10": an ISBN, found by ISBN-13 (or -10)
    indexed: tuple[bool, ...] = ()  # per term: 3+ characters, which the trigram index serves
    by_title_words: bool = False  # relevance past RANK_BY_SIMILARITY_UP_TO matches (search())
    cards: bool = False  # the page as BookCard rows, not Books


class _ListingStatements(NamedTuple):
    count: sa.Select
    page: sa.Select  # limit and offset bound too
    ranked: bool  # ordered by a similarity: search() counts first, to know how to rank
    # The page with the count of all matches as its last column, so that one statement does
    # both: for a search whose every term is too short for an index, which reads every book,
    # a window over the matches; on PostgreSQL for a ranked search, whose count picks its
    # ranking (`_ranked_with_count`); for any other listing not ranked, a subquery. None for
    # a ranked search on SQLite, which counts first.
    counted: sa.Select | None = None


@functools.lru_cache(maxsize=1024)  # shapes in real traffic: a few dozen
def _listing_statements(shape: _ListingShape) -> _ListingStatements:
    """One shape's count and page statements, built once with bind parameters for every value
    (`_listing_values` gives them): building a listing's statement and its cache key cost
    about as much as running it."""
    scans = bool(shape.indexed) and not any(shape.indexed)
    stmt = (sa.select(*_CARD_COLUMNS) if shape.cards else sa.select(Book)).where(
        _active_unindexed() if scans and shape.dialect == "sqlite" else _active())
    if shape.category:
        stmt = stmt.where(Book.category_id == sa.bindparam("category_id"))
    if shape.in_stock:
        stmt = stmt.where(Book.stock_on_hand > 0)
    if shape.min_price:
        stmt = stmt.where(Book.price >= sa.bindparam("min_price"))
    if shape.max_price:
        stmt = stmt.where(Book.price <= sa.bindparam("max_price"))
    relevance: list[sa.ColumnElement] | None = None
    similarity = None
    if shape.isbn:
        match = Book.isbn13 == sa.bindparam("isbn13")
        stmt = stmt.where(sa.or_(match, Book.isbn10 == sa.bindparam("isbn10"))
                          if shape.isbn == "13/10" else match)
    elif shape.indexed:
        stmt, relevance, similarity = _text_search(stmt, shape)
        if shape.by_title_words:
            words = _title_words(len(shape.indexed), shape.dialect).desc()
            relevance = [words if order is similarity else order for order in relevance]
    page = _paged(stmt, shape.sort, relevance)
    count = sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    ranked = similarity is not None and shape.sort == "relevance"
    if scans:
        counted = page.add_columns(sa.func.count().over())
    elif ranked and shape.dialect == "postgresql" and relevance and not shape.by_title_words:
        counted = _ranked_with_count(stmt, relevance, similarity, len(shape.indexed))
        ranked = False  # counted and ranked in that one statement
    elif ranked:
        counted = None  # counted first: past RANK_BY_SIMILARITY_UP_TO it ranks otherwise
    else:
        # The count as a subquery of its own, which the database runs once (uncorrelated: an
        # InitPlan on PostgreSQL, computed once on SQLite): the same work as counting apart,
        # in one statement and, on PostgreSQL, one round trip.
        counted = page.add_columns(count.scalar_subquery())
    return _ListingStatements(count, page, ranked, counted)


def _ranked_with_count(stmt: sa.Select, relevance: list[sa.ColumnElement],
                       similarity: sa.UnaryExpression, terms: int) -> sa.Select:
    """PostgreSQL: a search ranked by relevance, its page with the count of all its matches
    as the last column, in one statement. The count (a window over every match, taken before
    the LIMIT) picks the ranking search() picks after counting first: word similarity up to
    RANK_BY_SIMILARITY_UP_TO matches (bound as `rank_up_to`), whole title words past it. A
    CASE computes only the branch it takes, so past the limit no match is scored."""
    matches = sa.func.count().over()
    up_to = sa.bindparam("rank_up_to", type_=sa.Integer)
    words = _title_words(terms, "postgresql")
    order: list[sa.ColumnElement] = []
    for key in relevance:
        if key is similarity:
            order += [sa.case((matches <= up_to, similarity.element)).desc(),
                      sa.case((matches > up_to, words)).desc()]
        else:
            order.append(key)
    return _paged(stmt, "relevance", order).add_columns(matches)


def _paged(stmt: sa.Select, sort: str, relevance: list[sa.ColumnElement] | None) -> sa.Select:
    """`stmt` sorted (`_sorted`), one page of it: `limit` and `offset` bound."""
    return (_sorted(stmt, sort, relevance)
            .limit(sa.bindparam("limit", type_=sa.Integer))
            .offset(sa.bindparam("offset", type_=sa.Integer)))


def _active_unindexed() -> sa.ColumnElement[bool]:
    """_active() in a form no index serves (the column inside a CAST), for a listing that
    reads every book anyway: SQLite's planner otherwise walks ix_book_category_listing for
    `is_active` and looks each book up from it, two to three times a plain scan of the table
    (even with ANALYZE's statistics)."""
    return sa.cast(Book.is_active, sa.Integer) == 1


def _text_search(stmt: sa.Select, shape: _ListingShape
                 ) -> tuple[sa.Select, list[sa.ColumnElement], sa.ColumnElement | None]:
    """Narrow `stmt` to books matching every term; return it with its relevance ordering
    and the part of that ordering computed for every match (bm25 or word_similarity), which
    search() swaps for whole title words past RANK_BY_SIMILARITY_UP_TO matches. The terms
    are bound: `fts` (SQLite's MATCH string), `like_<i>`, `words` (PostgreSQL's similarity)."""
    dialect = shape.dialect
    relevance: list[sa.ColumnElement] = [_title_hits(len(shape.indexed), dialect).desc()]
    similarity = None
    if dialect == "sqlite":
        if any(shape.indexed):
            stmt = stmt.join(_book_fts, _book_fts.c.rowid == Book.id).where(
                _book_fts.c.search_text.match(sa.bindparam("fts")))
            similarity = sa.func.bm25(sa.literal_column("book_fts")).asc()
            relevance.append(similarity)
        for i, indexed in enumerate(shape.indexed):
            if not indexed:
                stmt = stmt.where(_contains(i, dialect, indexed=False))
    else:
        # pg_trgm: the GIN trigram index serves ILIKE '%term%' for terms of 3+ characters.
        for i, indexed in enumerate(shape.indexed):
            stmt = stmt.where(_contains(i, dialect, indexed))
        if dialect == "postgresql":
            similarity = sa.func.word_similarity(sa.bindparam("words"), Book.search_text).desc()
            relevance.append(similarity)
    relevance.append(Book.ratings_count.desc())
    return stmt, relevance, similarity


def _counted_page(shape: _ListingShape, values: dict
                  ) -> tuple[int, list[Book] | list[BookCard]]:
    """How many books a listing of `shape` finds with `values`, and its page. Most listings
    read both in one statement (`statements.counted`). A ranked search on SQLite counts first
    (and reads no page when it finds nothing): scoring every match of a common word is slow,
    so past RANK_BY_SIMILARITY_UP_TO matches it orders its page by title hit, whole title
    words and popularity (fewer matches are ranked by similarity)."""
    statements = _listing_statements(shape)
    if statements.counted is not None:
        return _page_with_count(shape, statements, values)
    total = rows(statements.count, values).scalar_one()
    if not total:
        return 0, []
    if statements.ranked and total > RANK_BY_SIMILARITY_UP_TO:
        statements = _listing_statements(shape._replace(by_title_words=True))
    if shape.cards:
        return total, [BookCard(*row) for row in rows(statements.page, values)]
    return total, list(db.session.execute(statements.page, values).unique().scalars())


def _page_with_count(shape: _ListingShape, statements: _ListingStatements, values: dict
                     ) -> tuple[int, list[Book] | list[BookCard]]:
    """_counted_page for a listing whose page and count come in one pass
    (`statements.counted`). A page past the last counts apart; a ranked one past
    RANK_BY_SIMILARITY_UP_TO matches is read again, ordered by title words, unless that
    statement ranks by its own count (`_ranked_with_count`)."""
    read = rows if shape.cards else db.session.execute  # a page of Books is loaded by the ORM
    found = read(statements.counted, values).unique().all()
    if found:
        total = found[0][-1]
    elif values["offset"]:
        total = rows(statements.count, values).scalar_one()
    else:
        total = 0
    if statements.ranked and total > RANK_BY_SIMILARITY_UP_TO:
        by_words = _listing_statements(shape._replace(by_title_words=True))
        found = read(by_words.counted, values).unique().all()
    if shape.cards:
        return total, [BookCard(*row[:-1]) for row in found]
    return total, [row[0] for row in found]


def _listing_values(shape: _ListingShape, filters: dict, page: int, per_page: int,
                    terms: Sequence[str] = (), code: str | None = None,
                    isbn10: str | None = None) -> dict:
    """The values `_listing_statements(shape)` binds, for one listing."""
    values: dict = {"limit": per_page, "offset": (page - 1) * per_page}
    if shape.category:
        values["category_id"] = filters["category_id"]
    low, high = filters["min_price"], filters["max_price"]
    if low is not None and high is not None and low > high:
        low, high = high, low
    if low is not None:
        values["min_price"] = round_money(low)
    if high is not None:
        values["max_price"] = round_money(high)
    if code:
        values["isbn13"], values["isbn10"] = code, isbn10
    for i, term in enumerate(terms):
        values[f"term_{i}"] = term
        values[f"word_{i}"] = " " + term
        values[f"length_{i}"] = len(term)
        values[f"like_{i}"] = contains_pattern(term)
    if terms:
        values["rank_up_to"] = RANK_BY_SIMILARITY_UP_TO  # read now: tests change it
        values["fts"] = " AND ".join(fts_phrase(t) for t, indexed in zip(terms, shape.indexed,
                                                                          strict=True) if indexed)
        values["words"] = " ".join(terms)
    return values


def search(
    query: str,
    category_slug: str | None = None,
    in_stock_only: bool = False,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 24,
    cards: bool = False,
    categories: Mapping[str, tuple[int, str, str, str | None]] | None = None,
) -> SearchResult:
    """Find books on sale by title, authors, ISBN (10 or 13, hyphens or not) or year.

    Tolerant of case, accents and partial words (substring matching, also for Chinese). Never
    raises for odd input: an empty, over-long or punctuation-only query gives an empty or
    truncated result with a `notice`. Raises NotFound only for an unknown category slug,
    looked up in `categories` (category_pages(), as a caller may keep it) when given. The
    page's items are Books, or with `cards` BookCards.
    """
    page, per_page = _page_args(page, per_page)
    raw = (query or "").strip()
    notice = None
    if len(raw) > MAX_QUERY_LENGTH:
        raw, notice = raw[:MAX_QUERY_LENGTH], "truncated"
    category_id = None
    if category_slug:
        category_id = (category_by_slug(category_slug).id if categories is None
                       else category_page(category_slug, categories).category.id)
    filters = {
        "category_id": category_id,
        "in_stock_only": in_stock_only,
        "min_price": min_price,
        "max_price": max_price,
    }

    code = isbn_rules.normalize(raw) if raw else None
    terms = [] if code else search_terms(raw)
    isbn10 = isbn_rules.to_isbn10(code) if code else None
    if not code and not terms:
        if raw:
            return SearchResult(raw, (), 0, page, per_page, notice="unsearchable")
        if not any((category_id, in_stock_only, min_price is not None,
                    max_price is not None)):
            return SearchResult(raw, (), 0, page, per_page, notice="empty")
    dialect = db.session.get_bind().dialect.name
    shape = _ListingShape(
        dialect=dialect, sort=sort, category=category_id is not None,
        in_stock=bool(in_stock_only), min_price=min_price is not None,
        max_price=max_price is not None, isbn=("13/10" if isbn10 else "13") if code else "",
        indexed=tuple(len(t) >= MIN_INDEXED_TERM for t in terms),
        cards=cards)
    total, items = _counted_page(
        shape, _listing_values(shape, filters, page, per_page, terms, code, isbn10))
    return SearchResult(
        query=raw,
        items=tuple(items),
        total=total,
        page=page,
        per_page=per_page,
        notice=notice,
        isbn=code,
    )
