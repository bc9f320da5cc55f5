"""The catalog: categories and books."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import utcnow
from app.extensions import db


class Category(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str | None] = mapped_column(sa.String(500))
    position: Mapped[int] = mapped_column(default=0)

    books: Mapped[list[Book]] = relationship(back_populates="category", lazy="raise_on_sql")

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"


class Book(db.Model):
    """A title we sell. `stock_on_hand` is the live count; it never goes below zero."""

    __table_args__ = (
        sa.CheckConstraint("stock_on_hand >= 0", name="stock_not_negative"),
        sa.CheckConstraint("price >= 0", name="price_not_negative"),
        sa.Index("ix_book_category_sold", "category_id", "sold_count"),
        # Category pages (issue 8): count a category's books on sale from the index alone, and
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

    category: Mapped[Category | None] = relationship(back_populates="books")

    @property
    def in_stock(self) -> bool:
        return self.stock_on_hand > 0

    def __repr__(self) -> str:
        return f"<Book {self.id} {self.title!r}>"
