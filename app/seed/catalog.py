"""The demo catalog: the shipped goodbooks derivative plus our Chinese titles, priced and stocked.

Everything a book gets that the data does not have (price, stock, arrival date) is derived from
a hash of its source id, so it is the same on every machine and every run, and does not depend
on how many books are loaded.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from app.catalog.browse import search_text_for

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "catalog"
BOOKS_FILE = DATA_DIR / "books.csv.gz"
CHINESE_FILE = DATA_DIR / "chinese_books.csv"

MIN_PRICE = 19
MAX_PRICE = 128
# Typical shelf price (CNY) per category, before popularity, age and a per-book spread.
CATEGORY_BASE_PRICE: dict[str, Decimal] = {
    "fiction": Decimal("52"),
    "classics": Decimal("42"),
    "fantasy": Decimal("58"),
    "science-fiction": Decimal("56"),
    "mystery-thriller": Decimal("49"),
    "romance": Decimal("42"),
    "horror": Decimal("48"),
    "young-adult": Decimal("45"),
    "children": Decimal("32"),
    "comics-graphic-novels": Decimal("66"),
    "history": Decimal("78"),
    "biography-memoir": Decimal("68"),
    "poetry": Decimal("38"),
    "non-fiction": Decimal("62"),
    "food-drink": Decimal("98"),
}
# Much-read books are a little cheaper: (ratings at least, price factor), first match wins.
POPULARITY_DISCOUNT: tuple[tuple[int, Decimal], ...] = (
    (1_000_000, Decimal("0.88")),
    (300_000, Decimal("0.93")),
    (100_000, Decimal("0.97")),
    (30_000, Decimal("1.02")),
    (10_000, Decimal("1.07")),
    (0, Decimal("1.12")),
)
# Our Chinese titles have no Goodreads ratings; for prices and demand they count as this many.
CHINESE_POPULARITY = 400_000
# Editions used to vary the catalog for the large data set (no ISBN: we never invent one).
LARGE_EDITIONS = (
    "Paperback", "Anniversary Edition", "Illustrated Edition", "Large Print",
    "Collector's Edition", "Pocket Edition", "Annotated Edition", "Gift Edition",
    "Book Club Edition",
)


@dataclass(frozen=True)
class CatalogEntry:
    """One book as read from the shipped files (no price or stock yet)."""

    source_id: str
    title: str
    authors: str
    year: int | None
    isbn10: str | None
    isbn13: str | None
    language: str | None
    average_rating: float | None
    ratings_count: int
    category: str
    description: str | None = None
    # (kind, text) of the other names the book is known by (app.catalog.models.BookAltTitle).
    alt_titles: tuple[tuple[str, str], ...] = ()

    @property
    def popularity(self) -> int:
        """How much demand the book sees: its Goodreads ratings count (or our stand-in)."""
        if self.ratings_count > 0:
            return self.ratings_count
        return CHINESE_POPULARITY if self.language == "zh" else 1_000


class _SearchFields(NamedTuple):
    """The attributes `search_text_for` reads, without building an ORM object per row."""

    title: str
    authors: str
    isbn10: str | None
    isbn13: str | None
    year: int | None


def _int_or_none(text: str) -> int | None:
    text = (text or "").strip()
    return int(text) if text else None


def read_goodbooks(path: Path = BOOKS_FILE, limit: int | None = None) -> list[CatalogEntry]:
    """The shipped goodbooks rows in file order (most-rated first), at most `limit` of them."""
    entries: list[CatalogEntry] = []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if limit is not None and len(entries) >= limit:
                break
            entries.append(
                CatalogEntry(
                    source_id=f"gb-{row['source_id']}",
                    title=row["title"],
                    authors=row["authors"],
                    year=_int_or_none(row["year"]),
                    isbn10=row["isbn10"] or None,
                    isbn13=row["isbn13"] or None,
                    language=row["language"] or None,
                    average_rating=float(row["average_rating"]) if row["average_rating"] else None,
                    ratings_count=int(row["ratings_count"] or 0),
                    category=row["category"],
                )
            )
    return entries


def read_chinese(path: Path = CHINESE_FILE) -> list[CatalogEntry]:
    """Our well-known Chinese books (facts we added; no ISBN, no ratings)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            CatalogEntry(
                source_id=f"zh-{n:03d}",
                title=row["title"],
                authors=row["authors"],
                year=_int_or_none(row["year"]),
                isbn10=None,
                isbn13=None,
                language="zh",
                average_rating=None,
                ratings_count=0,
                category=row["category"],
                # Known in English as: the book page shows its alternative titles.
                alt_titles=_chinese_alt_titles(row),
            )
            for n, row in enumerate(csv.DictReader(fh), start=1)
        ]


def _chinese_alt_titles(row: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The English title, the pinyin and the authors' names in Latin letters (`;` between
    several spellings) of a row of our Chinese titles."""
    pairs = [("english", row.get("english_title") or ""), ("pinyin", row.get("pinyin") or "")]
    pairs += [("author", name) for name in (row.get("authors_en") or "").split(";")]
    return tuple((kind, text.strip()) for kind, text in pairs if text.strip())


def large_variants(entries: list[CatalogEntry], copies: int) -> Iterator[CatalogEntry]:
    """`copies - 1` further editions of every book, for benchmarking with a big catalog.

    Deterministic: edition k of a book is always called the same and priced from its own id.
    Editions carry no ISBN (we never invent one) and see less demand than the original.
    """
    for k in range(1, copies):
        edition = LARGE_EDITIONS[(k - 1) % len(LARGE_EDITIONS)]
        for entry in entries:
            yield replace(
                entry,
                source_id=f"{entry.source_id}-e{k}",
                title=f"{entry.title} ({edition})"[:500],
                isbn10=None,
                isbn13=None,
                ratings_count=max(1, entry.popularity // (k + 2)),
            )


# --------------------------------------------------------------------------- derived figures


def unit(key: str) -> Decimal:
    """A stable number in [0, 1) for `key`: the same on every machine and every run."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return Decimal(int.from_bytes(digest, "big")) / Decimal(2**64)


def price_for(entry: CatalogEntry) -> Decimal:
    """A plausible shelf price in CNY: 19.00 to 128.00, ending in .00 or .90.

    Category sets the level; much-read and older (out-of-copyright) books are a bit cheaper;
    a per-book spread of ±25 % keeps neighbours from looking alike.
    """
    base = CATEGORY_BASE_PRICE.get(entry.category, CATEGORY_BASE_PRICE["fiction"])
    popularity = next(factor for floor, factor in POPULARITY_DISCOUNT if entry.popularity >= floor)
    if entry.year is None:
        age = Decimal("1")
    elif entry.year < 1900:
        age = Decimal("0.72")
    elif entry.year < 1950:
        age = Decimal("0.85")
    elif entry.year < 2000:
        age = Decimal("0.95")
    elif entry.year >= 2014:
        age = Decimal("1.08")
    else:
        age = Decimal("1")
    spread = Decimal("0.75") + Decimal("0.5") * unit(f"price:{entry.source_id}")
    yuan = int(base * popularity * age * spread)
    yuan = min(MAX_PRICE, max(MIN_PRICE, yuan))
    ends_in_90 = yuan < MAX_PRICE and unit(f"cents:{entry.source_id}") < Decimal("0.6")
    return Decimal(yuan) + (Decimal("0.90") if ends_in_90 else Decimal("0.00"))


def stock_for(entry: CatalogEntry) -> int:
    """Copies on the shelf: ~8 % sold out, ~5 % down to the last 1-3, the rest 4-40."""
    u = unit(f"stock:{entry.source_id}")
    spread = unit(f"stock-n:{entry.source_id}")
    if u < Decimal("0.08"):
        return 0
    if u < Decimal("0.13"):
        return 1 + int(spread * 3)
    return 4 + int(spread * 37)


def arrival_for(entry: CatalogEntry, start: datetime, window: timedelta) -> datetime:
    """When the shop started selling the book, within the two-year history.

    Most of the catalog was stocked in the opening month; the rest (more often the recently
    published books) arrived over the two years, which gives the home page real new arrivals.
    """
    u = unit(f"arrival:{entry.source_id}")
    late_share = Decimal("0.6") if (entry.year or 0) >= 2014 else Decimal("0.25")
    opening = Decimal("0.04")  # the first ~29 days of the window
    if u >= late_share:
        fraction = opening * unit(f"arrival-day:{entry.source_id}")
    else:
        fraction = opening + (1 - opening) * (u / late_share)
    return start + window * float(fraction)


def search_text(entry: CatalogEntry) -> str:
    """The same recipe as the shop uses (`app.catalog.browse.search_text_for`)."""
    return search_text_for(
        _SearchFields(entry.title, entry.authors, entry.isbn10, entry.isbn13, entry.year),
        entry.alt_titles,
    )


def book_row(entry: CatalogEntry, book_id: int, category_id: int, price: Decimal,
             created_at: datetime, sold_count: int) -> dict[str, object]:
    """Column values for one `Book` insert."""
    return {
        "id": book_id,
        "title": entry.title,
        "authors": entry.authors,
        "year": entry.year,
        "isbn10": entry.isbn10,
        "isbn13": entry.isbn13,
        "language": entry.language,
        "description": entry.description,
        "price": price,
        "stock_on_hand": stock_for(entry),
        "category_id": category_id,
        "average_rating": entry.average_rating,
        "ratings_count": entry.ratings_count,
        "sold_count": sold_count,
        "is_active": True,
        "created_at": created_at,
        "search_text": search_text(entry),
    }
