"""Feedback: book reviews, the post-delivery satisfaction survey, and the snapshots
the satisfaction / loyalty / recommendation analyses are read from.

A `Review` is one member's rating (1-5) of one book, with optional text; one per member and
book (a second rating edits the first). Text shows on the book page only once staff approved
it; an edit sends it back to moderation. A `SurveyResponse` is the answer to "how likely are
you to recommend us" (0-10, NPS) for one delivered order.

`BookAssociation` holds "members who bought A also bought B" (support, confidence, lift), and
`FeedbackSnapshot` one JSON document per analysis (monthly satisfaction, cohorts, forecast);
both are rebuilt by `flask analytics feedback` (app.analytics.*), never per page view.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Book
from app.core.db import utcnow
from app.core.extensions import db
from app.membership.models import Member

REVIEW_TEXT_MAX = 2000
COMMENT_MAX = 2000


class ReviewStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for staff (a rating without text is approved at once)
    APPROVED = "approved"
    REJECTED = "rejected"


def _enum(e: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(e, native_enum=False, length=16, values_callable=lambda x: [m.value for m in x])


class Review(db.Model):
    __table_args__ = (
        sa.UniqueConstraint("member_id", "book_id", name="uq_review_member_book"),
        sa.CheckConstraint("rating >= 1 AND rating <= 5", name="rating_in_range"),
        sa.Index("ix_review_book_status", "book_id", "status", "created_at"),
        sa.Index("ix_review_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"))
    book_id: Mapped[int] = mapped_column(sa.ForeignKey("book.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id", ondelete="SET NULL"))
    rating: Mapped[int]
    body: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[ReviewStatus] = mapped_column(_enum(ReviewStatus),
                                                 default=ReviewStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    moderated_at: Mapped[datetime | None]
    moderated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("member.id", ondelete="SET NULL"))
    moderation_note: Mapped[str | None] = mapped_column(sa.String(500))

    member: Mapped[Member] = relationship(foreign_keys=[member_id])
    book: Mapped[Book] = relationship()

    def __repr__(self) -> str:
        return f"<Review {self.id} book={self.book_id} {self.rating}/5 {self.status}>"


class SurveyResponse(db.Model):
    """One answer to the satisfaction question per delivered order (editable by its member)."""

    __table_args__ = (
        sa.CheckConstraint("score >= 0 AND score <= 10", name="score_in_range"),
        sa.Index("ix_survey_response_score_created", "score", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("member.id", ondelete="CASCADE"),
                                           index=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"),
                                          unique=True)
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Member] = relationship()


class BookAssociation(db.Model):
    """Snapshot row: of the members who bought `book_id`, how many also bought `other_book_id`.

    support = both / members, confidence = both / bought(book), lift = confidence / share of
    members who bought the other book. `rank` orders a book's rows for display (1 = best).
    When and from how many members it was computed is in the "associations" FeedbackSnapshot.
    """

    __table_args__ = (sa.Index("ix_book_association_book_rank", "book_id", "rank"),)

    book_id: Mapped[int] = mapped_column(sa.ForeignKey("book.id", ondelete="CASCADE"),
                                         primary_key=True)
    other_book_id: Mapped[int] = mapped_column(sa.ForeignKey("book.id", ondelete="CASCADE"),
                                               primary_key=True)
    rank: Mapped[int]
    both_count: Mapped[int]
    support: Mapped[float]
    confidence: Mapped[float]
    lift: Mapped[float]


class FeedbackSnapshot(db.Model):
    """One computed analysis as a JSON document, keyed by name (e.g. "satisfaction.monthly")."""

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    seconds: Mapped[float] = mapped_column(default=0.0)
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
