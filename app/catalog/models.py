"""The catalog: categories and books."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import utcnow
from app.core.extensions import db
from app.core.text import fold

TITLE_SORT_LENGTH = 300
_NON_WORD = re.compile(r"[^\w]+")  # punctuation sorts as a word break
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def title_sort_key(title: str | None) -> str:
    """What lists sort titles by: folded words, Chinese characters spelt in toneless
    pinyin with word breaks, so 三体 files as "san ti" among the S titles and 重庆 as "chong qing"
    (pypinyin reads polyphones from its phrase list). Latin titles never load pypinyin."""
    title = title or ""
    if _HAN.search(title):
        from pypinyin import lazy_pinyin  # loads its phrase list on first use (slow)

        title = " ".join(lazy_pinyin(title))
    return " ".join(_NON_WORD.sub(" ", fold(title)).split())[:TITLE_SORT_LENGTH]


def _title_sort_default(context) -> str:
    return title_sort_key(context.get_current_parameters().get("title"))


class Category(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str | None] = mapped_column(sa.String(500))
    position: Mapped[int] = mapped_column(default=0)

    books: Mapped[list[Book]] = relationship(back_populates="category", lazy="raise_on_sql")
    # The name in other languages than English; `name` is the English one and the fallback.
    # Shopper pages read them through the header's cached list (app.catalog.browse.nav_categories).
    translations: Mapped[list[CategoryName]] = relationship(
        back_populates="category", cascade="all, delete-orphan", order_by="CategoryName.locale")

    def name_in(self, locale: str | None) -> str:
        """The name in `locale` (a language code such as zh_Hans), else the English name."""
        for translation in self.translations:
            if translation.locale == locale:
                return translation.name
        return self.name

    @property
    def names(self) -> dict[str, str]:
        """{locale: name} of the translations (what the audit log records)."""
        return {t.locale: t.name for t in self.translations}

    @property
    def descriptions(self) -> dict[str, str]:
        """{locale: description} of the translations that have one."""
        return {t.locale: t.description for t in self.translations if t.description}

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"


class CategoryName(db.Model):
    """A category's name, and optionally its description, in one language other than English
    (one row per category and language)."""

    __tablename__ = "category_name"
    __table_args__ = (sa.UniqueConstraint("category_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(
        sa.ForeignKey("category.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str | None] = mapped_column(sa.String(500))

    category: Mapped[Category] = relationship(back_populates="translations")


class Book(db.Model):
    """A title we sell. `stock_on_hand` is the live count; it never goes below zero."""

    __table_args__ = (
        sa.CheckConstraint("stock_on_hand >= 0", name="stock_not_negative"),
        sa.CheckConstraint("price >= 0", name="price_not_negative"),
        sa.Index("ix_book_category_sold", "category_id", "sold_count"),
        # Category pages: count a category's books on sale from the index alone, and
        # read the first page of best sellers in index order instead of sorting the category.
        sa.Index("ix_book_category_listing", "category_id", "is_active",
                 sa.text("sold_count DESC"), sa.text("ratings_count DESC"), "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(500))
    authors: Mapped[str] = mapped_column(sa.String(500))
    year: Mapped[int | None]
    isbn10: Mapped[str | None] = mapped_column(sa.String(10), index=True)
    isbn13: Mapped[str | None] = mapped_column(sa.String(13), unique=True)
    language: Mapped[str | None] = mapped_column(sa.String(16))
    publisher: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    price: Mapped[Decimal]
    stock_on_hand: Mapped[int] = mapped_column(default=0)
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("category.id"), index=True)
    average_rating: Mapped[float | None]
    ratings_count: Mapped[int] = mapped_column(default=0)
    sold_count: Mapped[int] = mapped_column(default=0, index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Lower-cased, accent-free title/authors/ISBNs: what the full-text index reads.
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    # Sort key for titles (`title_sort_key`): set whenever the title is, and by the
    # column default for Core inserts such as the seed loader's.
    title_sort: Mapped[str] = mapped_column(
        sa.String(TITLE_SORT_LENGTH), default=_title_sort_default, server_default="", index=True
    )

    category: Mapped[Category | None] = relationship(back_populates="books")
    # Other names the book is known by (read by the search text and the staff's form only).
    alt_titles: Mapped[list[BookAltTitle]] = relationship(
        back_populates="book", cascade="all, delete-orphan", order_by="BookAltTitle.id")

    @property
    def alt_title_pairs(self) -> list[list[str]]:
        """[[kind, title], ...] of the alternative titles (what the audit log records)."""
        return [[t.kind, t.title] for t in self.alt_titles]

    @property
    def in_stock(self) -> bool:
        return self.stock_on_hand > 0

    def __repr__(self) -> str:
        return f"<Book {self.id} {self.title!r}>"


@event.listens_for(Book.title, "set")
def _keep_title_sort(target: Book, value: str | None, _old, _initiator) -> None:
    target.title_sort = title_sort_key(value)


ALT_TITLE_KINDS = ("original", "english", "pinyin", "other", "author")


class BookAltTitle(db.Model):
    """Another name a book is known by, which search finds it by: its title in the original
    language, in English, in pinyin (also indexed without tones and spaces: "hongloumeng"),
    another title, or ("author") another spelling of its authors' names ("Cao Xueqin")."""

    __tablename__ = "book_alt_title"
    __table_args__ = (
        sa.CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in ALT_TITLE_KINDS) + ")",
            name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(sa.ForeignKey("book.id", ondelete="CASCADE"),
                                         index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(500))

    book: Mapped[Book] = relationship(back_populates="alt_titles")


class InfoPage(db.Model):
    """A shop information page (shipping and returns, privacy, terms) in one language, as the
    admins wrote it. The body is plain text: paragraphs, "- " lists and "## " headings
    (app.catalog.info_pages renders it, escaped; no HTML)."""

    __tablename__ = "info_page"
    __table_args__ = (sa.UniqueConstraint("slug", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(40))
    locale: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.String(300), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
